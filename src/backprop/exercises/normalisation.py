"""Chapter 9, normalisation: the backward pass of layer normalisation, derived by hand.

The forward, per example (each row of ``x``, over its n features)::

    x_bar = mean(row),  var = mean((row - x_bar)**2)   (the biased variance, 1/n),
    sigma_x = sqrt(var + eps),  y = x_hat = (row - x_bar) / sigma_x

(a gain and a bias after it would only scale ``dy`` on the way in). The learner writes
``layernorm_backward(dy, x, eps) -> dx``. The reference builds the same forward from the
autograd engine's ops (mean, power, division) and lets ``Tensor.backward`` compute
``dx``: the engine's gradient, not a formula typed in a second time.

The cases split the near misses. First, rows whose variance is not much larger than eps
(0.25 against 0.1, and a batch of one with eps = 0.01), where eps outside the square
root, or no eps, is far off; then (``then_harder``) another shape with the usual
eps = 1e-5, and float32 inputs. No batch is square, so statistics taken down the columns
cannot pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backprop.autograd import Tensor
from backprop.exercises._core import (
    Case,
    CheckResult,
    Mistake,
    autograd_engines,
    run_cases,
    run_check,
    then_harder,
)

__all__ = ["layernorm_backward"]

NAME = "LayerNorm backward"


def _inputs(batch: int, features: int, seed: int, scale: float = 4.0,
            shift: float = 1.0, eps: float = 1e-5,
            dtype: type = np.float64) -> Callable[[], tuple]:
    def args() -> tuple[np.ndarray, np.ndarray, float]:
        rng = np.random.default_rng(seed)
        x = shift + scale * rng.normal(size=(batch, features))
        dy = rng.normal(size=(batch, features))
        return dy.astype(dtype), x.astype(dtype), eps
    return args


FIRST = (
    Case("batch 4, 6 features, eps 0.1", _inputs(4, 6, 11, scale=0.5, eps=0.1), 4),
    Case("batch 1, 7 features, eps 0.01", _inputs(1, 7, 12, scale=1.0, eps=0.01), 1,
         "a batch of ONE example: are the statistics taken over the features of each "
         "row, whatever the number of rows? And is eps read from the arguments?"),
)
HARDER = (
    Case("batch 3, 5 features, eps 1e-5", _inputs(3, 5, 13), 3,
         "another shape, and eps = 1e-5: is a size or an eps of the first cases "
         "written in, instead of read from the arguments?"),
    Case("batch 5, 8 features, float32", _inputs(5, 8, 14, dtype=np.float32), 5,
         "float32 inputs: the answer may be float32, right up to float32 rounding."),
)


def reference_backward(dy: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
    """dL/dx from the autograd engine: the forward built from its ops, then
    ``backward(dy)``."""
    xt = Tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    centred = xt - xt.mean(axis=1, keepdims=True)
    var = (centred ** 2).mean(axis=1, keepdims=True)
    y = centred / (var + eps) ** 0.5
    y.backward(np.asarray(dy, dtype=np.float64))
    return xt.grad


def _run(cases: tuple[Case, ...]) -> Callable[[Callable[..., Any]], dict[str, Any]]:
    def run(function: Callable[..., Any]) -> dict[str, Any]:
        return run_cases(function, cases, ("dx",))
    return run


# --------------------------------------------------------------------- known mistakes


def _variant(*, mean_term: bool = True, var_term: bool = True, ddof: int = 0,
             eps_at: str = "inside", axis: int = 1, stats_axis: int | None = None,
             reduce: str = "mean", over_sigma: bool = True, raw_x: bool = False,
             exact_unbiased: bool = False) -> Callable[..., np.ndarray]:
    """The backward pass with one known mistake: the checker's catalogue of wrong
    answers. ``axis`` is where the dy-terms are reduced, ``stats_axis`` (default:
    ``axis``) where the mean and variance are taken."""
    stats_axis = axis if stats_axis is None else stats_axis

    def backward(dy: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
        dy, x = np.asarray(dy, dtype=np.float64), np.asarray(x, dtype=np.float64)
        x_bar = x.mean(axis=stats_axis, keepdims=True)
        var = x.var(axis=stats_axis, ddof=ddof, keepdims=True)
        sigma_x = {"inside": np.sqrt(var + eps), "outside": np.sqrt(var) + eps,
                   "none": np.sqrt(var)}[eps_at]
        x_hat = (x - x_bar) / sigma_x
        average = np.mean if reduce == "mean" else np.sum
        term = x if raw_x else x_hat
        if exact_unbiased:  # the true gradient of a forward with the unbiased variance
            n = x.shape[axis]
            third = x_hat * np.sum(dy * x_hat, axis=axis, keepdims=True) / (n - 1)
        else:
            third = term * average(dy * term, axis=axis, keepdims=True)
        dx = dy - mean_term * average(dy, axis=axis, keepdims=True) - var_term * third
        return dx / sigma_x if over_sigma else dx

    return backward


THROUGH_MEAN = (
    "a path is missing: x_i reaches its row's outputs not only directly but also "
    "through the row's mean x_bar, which every x_j of the row feeds. Work out "
    "d x_bar / d x_i, and add what the outputs send back along that path.")
THROUGH_VAR = (
    "a path is missing: x_i also reaches every output of its row through the variance "
    "(and so through sigma_x). Work out d sigma_x / d x_i first, then what the outputs "
    "send back along that path.")
CONSTANTS = (
    "x_bar and sigma_x are treated as constants, but both are computed from the row: "
    "x_i reaches the outputs by three paths (directly, through x_bar, through the "
    "variance). Draw the graph and add what flows back along each.")
AXIS = (
    "the statistics run down the columns, across the batch: LayerNorm normalises each "
    "example (row) over its own features, so every sum or mean in it, forward and "
    "backward, is over axis 1, one per row.")
BIASED = (
    "the variance here is the BIASED one, as in the forward pass: its mean of squares "
    "divides by n, the number of features (NumPy's default, ddof=0), not by n - 1.")
MISTAKES = (
    Mistake(CONSTANTS, _variant(mean_term=False, var_term=False)),
    Mistake(THROUGH_MEAN, _variant(mean_term=False)),
    Mistake(THROUGH_VAR, _variant(var_term=False)),
    Mistake(BIASED, _variant(ddof=1)),
    Mistake(BIASED, _variant(ddof=1, exact_unbiased=True)),
    Mistake("your sigma_x differs from the forward pass's exactly where eps is not "
            "tiny next to the variance: look again at where eps sits in the forward "
            "pass.",
            _variant(eps_at="outside")),
    Mistake("your result would be right if eps were 0: eps is part of the forward "
            "pass's denominator, so it is part of every factor that comes from it.",
            _variant(eps_at="none")),
    Mistake(AXIS, _variant(axis=0)),
    Mistake("the mean and variance are per row, but a reduction of dy runs down the "
            "columns: the terms that come back through x_bar and the variance collect "
            "the outputs of the SAME example, over axis 1.",
            _variant(stats_axis=1, axis=0)),
    Mistake("the two terms that come back through x_bar and the variance are too "
            "large: d x_bar / d x_i is 1/n, not 1. Is a 1/n missing (a sum where a "
            "mean belongs)?", _variant(reduce="sum")),
    Mistake("every path from x to y passes through the division by sigma_x: is its "
            "factor applied to the whole result?", _variant(over_sigma=False)),
    Mistake("the term that comes back through the variance is built from the "
            "normalised x_hat (or, the same, from x - x_bar), not from the raw x.",
            _variant(raw_x=True)),
)

ERRORS = (
    (ValueError, "could not be broadcast", "two arrays whose shapes do not line up: a "
     "mean over axis 1 without keepdims=True has shape (B,), which does not broadcast "
     "against (B, n). Keep the axis: x.mean(axis=1, keepdims=True) is (B, 1), one per "
     "row."),
)

ALLOWED = "NumPy only (not an autograd engine's backward)"
CHANGED = {name: (f"an in-place operation on `{name}` (`{name} -= ...`, "
                  f"`{name} /= ...`) writes into the caller's array, which the caller "
                  f"still needs; build new arrays instead (`centred = {name} - mean`).")
           for name in ("x", "dy")}


def layernorm_backward(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(dy, x, eps) -> dx`` for y = (x - mean(x)) / sqrt(var(x) + eps),
    taken per row over the features, with the biased variance.

    ``dy`` = dL/dy and ``x`` have shape (B, n), ``eps`` is a number; ``dx`` has the
    shape of ``x``. Checked first on a batch of 4 x 6 (eps 0.1) and a batch of 1
    (eps 0.01), then (shown only if it fails) on a batch of 3 x 5 with eps = 1e-5 and
    on float32 inputs, against the gradient the autograd engine computes for the same
    forward. For the float32 inputs a float32 answer passes up to float32 rounding; for
    float64 inputs the answer must be float64 (a float32 one fails, and says so). ``dy``
    and ``x`` must be left unchanged. Allowed: NumPy only; not ``Tensor.backward`` or PyTorch's autograd
    (watched once torch is imported).
    """
    options = dict(mistakes=MISTAKES, batch=4, products=False,
                   forbid=autograd_engines(), allowed=ALLOWED, changed_hint=CHANGED,
                   error_hints=ERRORS)
    # One float32 rule for every check: float64 inputs want a float64 answer (a float32 one
    # fails, with the float32 hint); only the float32 case, run last, accepts float32 rounding.
    float64_cases = tuple(case for case in HARDER if "float32" not in case.label)

    def harder() -> CheckResult:
        return then_harder(
            run_check(NAME, solution, _run(FIRST + float64_cases), reference_backward,
                      **options),
            lambda: run_check(NAME, solution, _run(FIRST + HARDER), reference_backward,
                              float32=True, **options), "")

    return then_harder(
        run_check(NAME, solution, _run(FIRST), reference_backward, **options), harder,
        "right on the first two cases, but not on the harder ones: ")
