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
         "a batch of ONE example, and 7 features where the first case has 6: are the "
         "statistics taken over the features of each row, with their number read from "
         "x, whatever the number of rows? And is eps read from the arguments?"),
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
             exact_unbiased: bool = False, mean_sign: float = 1.0,
             var_sign: float = 1.0, sigma_power: float = 1.0, centred: str = "",
             var_factor: float = 1.0,
             features: int | None = None, features_in: str = "both"
             ) -> Callable[..., np.ndarray]:
    """The backward pass with one known mistake: the checker's catalogue of wrong
    answers. ``axis`` is where the dy-terms are reduced, ``stats_axis`` (default:
    ``axis``) where the mean and variance are taken."""
    stats_axis = axis if stats_axis is None else stats_axis

    def backward(dy: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
        dy, x = np.asarray(dy, dtype=np.float64), np.asarray(x, dtype=np.float64)
        x_bar = x.mean(axis=stats_axis, keepdims=True)
        var = x.var(axis=stats_axis, ddof=ddof, keepdims=True)
        sigma_x = {"inside": np.sqrt(var + eps), "outside": np.sqrt(var) + eps,
                   "none": np.sqrt(var), "squared": np.sqrt(var + eps**2)}[eps_at]
        x_hat = (x - x_bar) / sigma_x
        average = np.mean if reduce == "mean" else np.sum
        first_average = average
        if features is not None:  # a feature count written in

            def written_in(a: np.ndarray, axis: int, keepdims: bool) -> np.ndarray:
                return np.sum(a, axis=axis, keepdims=keepdims) / features

            first_average = written_in
            average = written_in if features_in == "both" else average
        term = x if raw_x else x_hat
        inner = x - x_bar if centred in ("both", "inner") else term
        outer = x - x_bar if centred in ("both", "outer") else term
        if exact_unbiased:  # the true gradient of a forward with the unbiased variance
            n = x.shape[axis]
            third = x_hat * np.sum(dy * x_hat, axis=axis, keepdims=True) / (n - 1)
        else:
            third = var_factor * outer * average(dy * inner, axis=axis, keepdims=True)
        dx = (dy - mean_sign * mean_term * first_average(dy, axis=axis, keepdims=True)
              - var_sign * var_term * third)
        return dx / sigma_x**sigma_power if over_sigma else dx

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
SIGN_TEST = (
    "Test it: a dy that is the same along a row must give dx = 0 (y does not change "
    "when a whole row of x shifts), and so must dy = x_hat with eps = 0 (y does not "
    "change when a row's deviations are scaled).")
SIGN_MEAN = (
    "the term that comes back through x_bar has the wrong sign: x_bar is SUBTRACTED in "
    "the forward pass, so what flows back along that path is subtracted too. "
    "" + SIGN_TEST)
SIGN_VAR = (
    "the term that comes back through the variance has the wrong sign: a larger "
    "variance makes sigma_x larger and every |y| smaller, so d sigma_x / d x_i enters "
    "with a minus. "
    + SIGN_TEST)
SIGN_BOTH = (
    "both correction terms have the wrong sign: x_bar is subtracted and sigma_x "
    "divides in the forward pass, so what flows back through each enters with a minus. "
    + SIGN_TEST)
CENTRED = (
    "the term that comes back through the variance uses x - x_bar where x_hat belongs: "
    "it is sigma_x**2 times too large. Test it: with eps = 0, dy = x_hat must give dx "
    "= 0 (y does not change when a row's deviations are scaled), and yours does not.")
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
    Mistake(SIGN_MEAN, _variant(mean_sign=-1.0)),
    Mistake(SIGN_VAR, _variant(var_sign=-1.0)),
    Mistake(SIGN_BOTH, _variant(mean_sign=-1.0, var_sign=-1.0)),
    Mistake("your result is multiplied by sigma_x where it should be divided by it: "
            "the forward pass DIVIDES by sigma_x, so its factor in the backward pass "
            "is 1 / sigma_x, not sigma_x.", _variant(sigma_power=-1.0)),
    Mistake("your result is divided by sigma_x**2: the forward divides by sigma_x "
            "once, so every path back carries 1 / sigma_x once. (A 1 / sigma_x**2 "
            "appears inside the variance path, d(1/sigma_x)/d var, but it is met there "
            "by an x - x_bar, which makes an x_hat.)", _variant(sigma_power=2.0)),
    Mistake(CENTRED, _variant(centred="both")),
    Mistake(CENTRED, _variant(centred="inner")),
    Mistake(CENTRED, _variant(centred="outer")),
    Mistake("the term that comes back through the variance is twice too large: d var / "
            "d x_i = 2 (x_i - x_bar) / n brings a 2, but d sigma_x / d var = 1 / (2 "
            "sigma_x) takes it away again (sigma_x is a SQUARE ROOT of the variance).",
            _variant(var_factor=2.0)),
    Mistake("that is dy itself, unchanged: y is not x (the forward pass subtracts "
            "x_bar and divides by sigma_x), so the gradient changes on the way back: a "
            "factor 1 / sigma_x and two correction terms, through x_bar and the "
            "variance.",
            lambda dy, x, eps: np.array(dy, dtype=np.float64)),
    Mistake("eps is squared: the forward pass adds eps itself under the square root, "
            "sigma_x = sqrt(var + eps), so the backward pass uses that same sigma_x.",
            _variant(eps_at="squared")),
    Mistake("the number of features is written in (6, from the first case): this case "
            "has another number of features. Read n from x (x.shape[1]), or use a mean "
            "over axis 1, which divides by it for you.", _variant(features=6)),
    Mistake("the number of features is written in (6, from the first case): this case "
            "has another number of features. Read n from x (x.shape[1]), or use a mean "
            "over axis 1, which divides by it for "
            "you.", _variant(features=6, features_in="mean")),
)

ERRORS = (
    (ValueError, "could not be broadcast", "two arrays whose shapes do not line up: a "
     "mean over axis 1 without keepdims=True has shape (B,), which does not broadcast "
     "against (B, n). Keep the axis: x.mean(axis=1, keepdims=True) is (B, 1), one per "
     "row."),
)

def _invariants(solution: Callable[..., Any]
                ) -> Callable[[str, Any, np.ndarray], str | None]:
    """When no known mistake fits: two properties every right answer has say which
    term is wrong. A dy constant along each row must give dx = 0 (shifting a row
    leaves y as it is), and so must dy = x_hat with eps = 0 (scaling a row's
    deviations leaves y as it is): the first tests the term through x_bar, the second
    the term through the variance."""

    def locate(first_wrong: str, got: Any, want: np.ndarray) -> str | None:
        x = 1.0 + np.random.default_rng(21).normal(size=(3, 6))
        x_hat = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
        try:
            with np.errstate(all="ignore"):
                shifted = np.asarray(solution(np.full_like(x, 0.7), x.copy(), 0.1),
                                     dtype=np.float64)
                scaled = np.asarray(solution(x_hat.copy(), x.copy(), 0.0),
                                    dtype=np.float64)
        except Exception:
            return None
        if shifted.shape != x.shape or scaled.shape != x.shape:
            return None
        shift_ok = bool(np.all(np.abs(shifted) < 1e-6))
        scale_ok = bool(np.all(np.abs(scaled) < 1e-6))
        tests = ("a dy that is the same along a row must give dx = 0 (y does not "
                 "change when a whole row shifts), and so must dy = x_hat with eps = 0 "
                 "(y does not change when a row's deviations are scaled)")
        both = f"two tests any right answer passes: {tests}."
        if not shift_ok and not scale_ok:
            return (f"{both} Yours fails both: look at both correction terms, the one "
                    "through x_bar (from mean(dy)) and the one through the variance "
                    "(x_hat times mean(dy * x_hat)): their signs, their 1/n, and "
                    "whether they are there at all.")
        if not shift_ok:
            return (f"{both} Yours fails the first: the term that comes back through "
                    "x_bar (from mean(dy)) is missing or wrong: its sign, its 1/n?")
        if not scale_ok:
            return (f"{both} Yours passes the first but not the second: the term that "
                    "comes back through the variance (x_hat times mean(dy * x_hat)) is "
                    "missing or wrong: its sign, a stray factor, x - x_bar where x_hat "
                    "belongs?")
        return (f"your answer passes two tests every right answer passes ({tests}), so "
                "its correction terms have the right form: look at the overall factor, "
                "1 / sigma_x (divided once, with eps inside the square root as in the "
                "forward pass).")

    return locate


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
    and ``x`` must be left unchanged. Allowed: NumPy only; not ``Tensor.backward`` or
    PyTorch's autograd (watched once torch is imported).
    """
    options = dict(mistakes=MISTAKES, batch=4, products=False,
                   forbid=autograd_engines(), allowed=ALLOWED, changed_hint=CHANGED,
                   error_hints=ERRORS, locate=_invariants(solution))
    # One float32 rule for every check: float64 inputs want a float64 answer (a
    # float32 one fails, with the float32 hint); only the float32 case, run last,
    # accepts float32 rounding.
    float64_cases = tuple(case for case in HARDER if "float32" not in case.label)

    def harder() -> CheckResult:
        return then_harder(
            run_check(NAME, solution, _run(FIRST + float64_cases),
                      reference_backward, **options),
            lambda: run_check(NAME, solution, _run(FIRST + HARDER), reference_backward,
                              float32=True, **options), "")

    return then_harder(
        run_check(NAME, solution, _run(FIRST), reference_backward, **options), harder,
        "right on the first two cases, but not on the harder ones: ")
