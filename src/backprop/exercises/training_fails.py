"""When training fails: watch the gradient's size, clip it, and name the cause of a failing
run from its records.

Both checks take a list of gradient arrays (one per parameter, of different shapes), as an
optimiser sees them. The reference is ``backprop.optim.clip_grad_norm_``, which returns the
global norm and clips in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from backprop import optim
from backprop import train as training
from backprop.exercises._core import (BadReturn, Case, CheckResult, Mistake, NotDone, Row,
                                      _learner_error, _snapshot, _unchanged, is_skeleton,
                                      library, run_cases, run_check, then_harder)
from backprop.optim import clip_grad_norm_

__all__ = ["grad_norm", "clip_grad_norm", "diagnose_run", "record_of", "LABELS"]

SHAPES = ((4, 3), (2, 4), (4,))


def _grads(scale: float, shapes: tuple = SHAPES, seed: int = 7) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [scale * np.asarray(rng.normal(size=shape)) for shape in shapes]


FORBID = library((optim, "clip_grad_norm_", "backprop.optim.clip_grad_norm_"),
                 (optim, "clip_grad_value_", "backprop.optim.clip_grad_value_"),
                 (training, "_joint_norm", "backprop.train._joint_norm"))


def _reference_clip(grads: list[np.ndarray], max_norm: float) -> list[np.ndarray]:
    params = [SimpleNamespace(grad=np.array(g, dtype=np.float64)) for g in grads]
    clip_grad_norm_(params, max_norm)
    return [p.grad for p in params]


def _reference_norm(grads: list[np.ndarray]) -> float:
    params = [SimpleNamespace(grad=np.array(g, dtype=np.float64)) for g in grads]
    return clip_grad_norm_(params, np.inf)


# ----------------------------------------------------------------------------- the norm


NORM_CASES = (
    Case("3 arrays", lambda: (_grads(1.0),)),
    Case("1 array", lambda: (_grads(1.0, ((6,),), 8),), None,
         "a list of ONE array: is something assuming several (grads[1], a fixed count)?"),
    Case("5 arrays, one a scalar", lambda: (_grads(3.0, ((2, 2), (), (3,), (1, 5), (2,)), 9),),
         None, "five arrays, one of them a scalar of shape (): is the number of arrays (3) "
         "written in, or does a scalar break something?"),
)


def _norm_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, NORM_CASES, ("global norm",))


def _last_only(grads: list[np.ndarray]) -> float:
    total = 0.0
    for g in grads:
        total = np.sum(g**2)
    return float(np.sqrt(total))


_OVERFLOW32 = ("your norm is inf where the right one is finite: the squares overflow. float32 "
               "holds numbers up to about 3.4e38, so the square of a gradient above about 1.8e19 "
               "is inf in float32 (the exploding gradients this norm is meant to watch). "
               "Keep the gradients' own dtype (float64 here, up to about 1e308): no "
               "astype(np.float32) on the way.")

NORM_MISTAKES = (
    Mistake("that is the sum of each array's own norm. The global norm treats all the arrays as "
            "ONE long vector: add up every squared element first, take one square root at the end.",
            lambda grads: sum(np.sqrt(np.sum(g**2)) for g in grads)),
    Mistake("the square root is missing: the L2 norm is sqrt(sum of squares).",
            lambda grads: sum(np.sum(g**2) for g in grads)),
    Mistake("that is a root-mean-square: the norm SUMS the squares, it does not average them.",
            lambda grads: np.sqrt(np.mean(np.concatenate([g.ravel() for g in grads]) ** 2))),
    Mistake("only the last array counts: the running total is overwritten (`total = ...`) "
            "instead of accumulated (`total += ...`).", _last_only),
    Mistake("that is the largest of the arrays' norms. The global norm combines all of them.",
            lambda grads: max(np.sqrt(np.sum(g**2)) for g in grads)),
    Mistake("that is the sum of absolute values (the L1 norm); square the elements instead.",
            lambda grads: sum(np.sum(np.abs(g)) for g in grads)),
    Mistake("that is the average of the arrays' norms. The global norm treats all the arrays as "
            "ONE long vector: add up every squared element first, take one square root at the end.",
            lambda grads: np.mean([np.sqrt(np.sum(g**2)) for g in grads])),
    Mistake("that is the largest |value| (the max norm); the L2 norm squares every element and "
            "adds them all up.", lambda grads: max(np.max(np.abs(g)) for g in grads)),
    Mistake("np.linalg.norm(g, 2) of a 2-D array is its SPECTRAL norm (its largest singular "
            "value), not the square root of the sum of its squared elements. Square and add the "
            "elements yourself (np.sum(g ** 2)), or use np.linalg.norm(g) with no second "
            "argument, which is the Frobenius norm for a matrix.",
            lambda grads: float(np.sqrt(sum(np.linalg.norm(g, 2) ** 2 if np.ndim(g) == 2
                                            else np.sum(np.square(g)) for g in grads)))),
    Mistake("there are two square roots: one per array and one at the end. Add up the SQUARED "
            "elements of all the arrays first, and take a single square root of that total.",
            lambda grads: float(np.sqrt(sum(np.sqrt(np.sum(np.square(g))) for g in grads)))),
    Mistake("only the first array counts: the norm must add up the squares of EVERY array in "
            "the list (a loop over all of them, not grads[0]).",
            lambda grads: float(np.sqrt(np.sum(np.square(grads[0]))))),
    Mistake("that squares each array's SUM (the values cancel before they are squared); square "
            "every element first, then add them up: np.sum(g ** 2), not np.sum(g) ** 2.",
            lambda grads: float(np.sqrt(sum(np.sum(g) ** 2 for g in grads)))),
    Mistake(_OVERFLOW32, lambda grads: float(np.sqrt(sum(
        np.sum(np.square(np.asarray(g, dtype=np.float32))) for g in grads)))),
)

NORM_ERRORS = (
    (ValueError, "concatenation axis", "np.concatenate joins arrays along an existing axis, so "
     "arrays of different shapes do not fit together. Flatten each one first (g.ravel()), or "
     "add up the squares array by array."),
)


def grad_norm(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(grads) -> float``, the global L2 norm of a list of gradient arrays.

    The norm is that of all their elements taken together, as
    ``backprop.optim.clip_grad_norm_`` computes it. Checked on three arrays of shapes (4, 3),
    (2, 4), (4,), on one array, and on five arrays of which one is a scalar; the arrays given
    must be left unchanged. Allowed: NumPy (np.linalg.norm too); not the library's
    ``clip_grad_norm_``.
    """
    name = "Gradient-norm monitor"
    options = dict(mistakes=NORM_MISTAKES, error_hints=NORM_ERRORS, products=False,
                   forbid=FORBID, allowed="NumPy (np.linalg.norm too)")
    # Once the three cases pass: exploding gradients, of 1e20 (their squares, 1e40, exceed
    # float32's range), the case this monitor is for. Shown only when it fails.
    return then_harder(run_check(name, solution, _norm_run, _reference_norm, **options),
                       lambda: run_check(name, solution, _huge_run, _reference_norm, **options),
                       "right on ordinary gradients, but not on exploding ones (of about "
                       "1e20): ")


HUGE_CASES = (Case("3 arrays of about 1e20", lambda: (_grads(1e20),), None,
                   "the gradients are about 1e20 here, an exploding run: their squares exceed "
                   "float32's range (about 3.4e38)."),)


def _huge_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, HUGE_CASES, ("global norm",))


# ----------------------------------------------------------------------------- clipping

# The norm far above max_norm, so the gradients shrink; below it, and they must come back
# unchanged; one array alone; all zeros, a norm of 0 (unchanged, with nothing divided by it).
def _clip_args(scale: float, max_norm: float, shapes: tuple = SHAPES, seed: int = 7) -> Callable:
    return lambda: ([g.copy() for g in _grads(scale, shapes, seed)], max_norm)


CASES = (
    Case("norm above max_norm", _clip_args(2.0, 1.0)),
    Case("norm below max_norm", _clip_args(0.1, 5.0), None,
         "the norm is below max_norm here: the gradients must come back unchanged."),
    Case("1 array, norm above", _clip_args(4.0, 0.5, ((5,),), 8), None,
         "a list of ONE array: is the number of arrays written in?"),
    Case("all gradients zero", _clip_args(0.0, 1.0), None,
         "every gradient is zero here, so the norm is 0 (a step at a minimum): the gradients "
         "must come back as they are, zeros, with no division by that 0 on the way."),
)


def _clip_run(solution: Callable[..., Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for case in CASES:
        count = len(case.args()[0])

        def read(result: Any, names: Any, count: int = count) -> dict[str, Any]:
            if result is None or result is Ellipsis:
                raise NotDone
            if not isinstance(result, (list, tuple)) or len(result) != count:
                raise BadReturn(f"must return a list of {count} arrays, the clipped "
                                "gradients in the order given.", _clip_return_hint(result))
            return {f"grads[{k}]": g for k, g in enumerate(result)}

        # The course's rule for exercises that return new values: the given arrays are left
        # alone (unlike PyTorch's clip_grad_norm_, whose trailing _ marks an in-place op).
        out.update(run_cases(solution, (case,), (), read=read))
    return out


def _clip_return_hint(result: Any) -> str:
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], (list, tuple)):
        return ("you return a pair (a list and something else, the norm?): return only the "
                "list of clipped arrays (PyTorch's clip_grad_norm_ returns the norm because it "
                "clips in place; this function returns the new arrays instead).")
    if np.ndim(result) == 0 and not isinstance(result, (list, tuple)):
        return ("you return one number (the norm?): the function returns the clipped "
                "gradients themselves, a list with one array per array given.")
    return ("return a list with one array per array given, in the same order and shapes: "
            "[g * factor for g in grads].")


def _per_array(grads: list[np.ndarray], max_norm: float) -> list[np.ndarray]:
    return [g * min(1.0, max_norm / np.sqrt(np.sum(g**2))) for g in grads]


def _norm(grads: list[np.ndarray]) -> float:
    return float(np.sqrt(sum(np.sum(g**2) for g in grads)))


_MAX_NORM_IGNORED = ("your clipped gradients do not depend on max_norm: they are scaled to a norm "
                     "of 1 (g / norm, or max_norm written in as 1.0), whatever max_norm is given. "
                     "Scale by max_norm / norm, with the max_norm passed in: the check tries "
                     "several values.")

CLIP_MISTAKES = (
    Mistake("the gradients come back unchanged although their global norm exceeds max_norm: "
            "then every array must be scaled by max_norm / norm.",
            lambda grads, m: [g.copy() for g in grads]),
    Mistake("each array is clipped by its own norm, which changes the direction of the whole "
            "update. Compute ONE global norm and scale every array by the same factor.",
            _per_array),
    Mistake("small gradients must be left alone: scale only when the norm exceeds max_norm, "
            "`factor = max_norm / norm if norm > max_norm else 1.0` (which never divides by a "
            "norm of 0).",
            lambda grads, m: [g * m / _norm(grads) for g in grads]),
    Mistake(_MAX_NORM_IGNORED, lambda grads, m: [g / _norm(grads) if _norm(grads) > m else g
                                                 for g in grads]),
    Mistake(_MAX_NORM_IGNORED, lambda grads, m: [g * min(1.0, 1.0 / _norm(grads))
                                                 if _norm(grads) > 0 else g for g in grads]),
    Mistake("the factor is max_norm / norm, with the norm itself, not its square: "
            "divide by the norm once.",
            lambda grads, m: [g * (m / _norm(grads) ** 2) if _norm(grads) > m else g
                              for g in grads]),
    Mistake("the factor is upside down: to bring the norm down to max_norm, multiply by "
            "max_norm / norm.",
            lambda grads, m: [g * min(1.0, _norm(grads) / m) for g in grads]),
    Mistake("the factor is upside down: to bring the norm down to max_norm, multiply by "
            "max_norm / norm, which is below 1 when the norm is too large.",
            lambda grads, m: [g * (_norm(grads) / m) if _norm(grads) > m else g
                              for g in grads]),
    Mistake("clipping each VALUE into [-max_norm, max_norm] changes the gradient's direction; "
            "clipping by norm scales all values by one factor instead.",
            lambda grads, m: [np.clip(g, -m, m) for g in grads]),
    Mistake("the norm is 0 here (all gradients zero), and something is divided by it: 0 / 0 "
            "is nan. Zero gradients are below any max_norm, so they need no scaling; divide "
            "only where the norm is known to be large (or guard the denominator).",
            lambda grads, m: [g / _norm(grads) * min(_norm(grads), m) for g in grads]),
)

CLIP_ERRORS = (
    (ZeroDivisionError, "", "your function raises ZeroDivisionError when every gradient is 0: "
     "the norm is 0 here, and max_norm / norm divides by it (a Python float raises; a NumPy "
     "float would give inf). That is a real bug: a step at a minimum has zero gradients. Zero "
     "gradients need no scaling, so compute the factor only when the norm exceeds max_norm: "
     "`factor = max_norm / norm if norm > max_norm else 1.0`."),
)


def _explain_clip(solution: Callable[..., Any]) -> str | None:
    """The answer scales the gradients, but to the same result for two different max_norm."""
    outs = []
    for max_norm in (0.5, 2.0):
        grads = [g.copy() for g in _grads(3.0)]
        try:
            with np.errstate(all="ignore"):
                result = solution(grads, max_norm)
            outs.append([np.asarray(g, dtype=np.float64) for g in result])
        except Exception:
            return None
    given = _grads(3.0)
    if len(outs[0]) != len(given) or len(outs[1]) != len(given):
        return None
    try:
        same = all(np.allclose(a, b, rtol=1e-9, atol=0) for a, b in zip(*outs))
        changed = any(not np.allclose(a, g) for a, g in zip(outs[0], given))
    except (ValueError, TypeError):
        return None
    return _MAX_NORM_IGNORED if same and changed else None


def clip_grad_norm(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(grads, max_norm) -> list of arrays``, gradient clipping by global norm.

    Returns NEW arrays, the gradients scaled together so that their global norm is at most
    ``max_norm`` (unchanged when it already is), and leaves the given arrays as they were: like
    every exercise that returns its result, and unlike PyTorch's ``clip_grad_norm_``, whose
    trailing ``_`` marks an in-place op; clipping in place fails, and says so. Checked with a
    norm above and one below ``max_norm`` (max_norm 1, 5 and 0.5), with a single array, and with
    all gradients zero (a norm of 0: no division by it, and no ZeroDivisionError). PyTorch's
    ``max_norm / (norm + 1e-6)`` and the exact ``max_norm / norm`` both pass. Allowed: NumPy and
    your own ``grad_norm``; not the library's ``clip_grad_norm_``.
    """
    return run_check("Clipping by norm", solution, _clip_run, _reference_clip,
                     mistakes=CLIP_MISTAKES, error_hints=CLIP_ERRORS, products=False,
                     forbid=FORBID, explain=_explain_clip, changed_hint=CLIP_CHANGED,
                     allowed="NumPy and your own grad_norm")


CLIP_CHANGED = ("your function scales the given arrays in place (`g *= factor`, or "
                "`np.multiply(g, factor, out=g)`). This exercise returns the clipped gradients "
                "as NEW arrays and leaves the caller's as they were (PyTorch's clip_grad_norm_, "
                "whose trailing _ marks an in-place op, does otherwise): write "
                "`[g * factor for g in grads]`.")


# ----------------------------------------------------------------------------- diagnose a run

LABELS = ("exploding", "steps too large", "saddle", "healthy")


def _record(cause: str, seed: int, *, constant: float, epochs: int = 20,
            steps_per_epoch: int = 12, lr: float = 0.01, escapes: bool = True,
            nan: bool = False, start: float = 0.02, escape_at: int | None = None,
            slowness: float = 1.0, noise: float = 0.03) -> dict[str, Any]:
    """A run's records, shaped like what ``backprop.failing.train`` keeps (see ``record_of``),
    for a run whose cause of failure is ``cause``. Synthetic, so that the label is known by
    construction and the check gives the same verdict on every machine: each cause has the
    signature chapter 3 measures on its own runs, with noise, at the scale ``constant`` (the
    validation MSE of a constant prediction, in the units of ``val_mse``: 68 on the chapter's
    targets; other problems, other scales). ``escape_at``: the epoch a saddle's plateau ends
    (else 60 % of the run); ``slowness``: how many times slower a healthy run learns;
    ``noise``: how much a healthy run's validation loss bounces (its lognormal sd)."""
    rng = np.random.default_rng(seed)
    steps, e = epochs * steps_per_epoch, np.arange(epochs + 1, dtype=np.float64)
    t = np.arange(steps, dtype=np.float64)
    wobble = lambda n, sd=0.15: rng.lognormal(0.0, sd, n)  # noqa: E731
    scale = np.sqrt(constant)
    if cause == "healthy":
        val = constant * (0.03 + 0.97 * np.exp(-e / (slowness * epochs / 5))) * wobble(
            epochs + 1, noise)
        grad = 0.7 * scale * (0.2 + np.exp(-t / steps * 3)) * wobble(steps)
        first = 0.85 * grad * wobble(steps, 0.1)  # both layers learn
        largest = 1.2 + 1.8 * (1 - np.exp(-t / steps * 4)) * wobble(steps, 0.02)
        saturated = 0.03 * wobble(epochs + 1)
    elif cause == "exploding":
        growth = (1e6 * rng.uniform(1, 30)) ** (1 / steps)
        largest = rng.uniform(1.5, 3.0) * growth**t
        grad = 5.0 * scale * growth**t * wobble(steps, 0.4)
        first = 0.01 * grad * wobble(steps, 0.4)  # the read-out's parameters run away
        val = constant * (1.0 + 0.5 * np.log10(largest[::steps_per_epoch][: epochs] + 1))
        val = np.concatenate([[constant * 1.4], val])
        saturated = np.clip(np.log10(np.concatenate([[1.0], largest[::steps_per_epoch]]))
                            / 3, 0, 0.99)[: epochs + 1]
        if nan:
            cut = int(0.7 * steps)
            grad, first, largest = grad[:cut], first[:cut], largest[:cut]
            val, saturated = val[:1], saturated[:1]
    elif cause == "steps too large":
        # chapter 3's Road 2: large first-layer steps collapse the softmax onto a few units
        # within the first epoch; from then on no gradient reaches the first layer, and the
        # loss bounces around the constant's level as the read-out chases the examples
        largest = rng.uniform(20.0, 150.0) * (1 - 0.9 * np.exp(-t / steps_per_epoch)) * wobble(
            steps, 0.01)
        grad = 1.5 * scale * wobble(steps, 0.5)
        first = grad * np.exp(-t / steps_per_epoch * 10) * wobble(steps, 0.5)
        val = constant * rng.uniform(0.85, 1.7, size=epochs + 1)
        saturated = np.clip(rng.uniform(0.9, 0.99) + 0.01 * rng.normal(size=epochs + 1), 0, 1)
        saturated[0] = 0.1
    elif cause == "saddle":
        escape = (escape_at if escape_at is not None else int(0.6 * epochs)) if escapes \
            else 10 * epochs
        # the read-out's bias moves to the mean target, so the TOTAL gradient is of the
        # targets' scale, while the first layer's stays tiny until the escape (chapter 3's run
        # from N(0, 0.01))
        grad = 0.2 * scale * wobble(steps, 0.2)
        step_escape = escape * steps_per_epoch
        first = grad * np.where(t < step_escape, 0.005 * np.exp(t / max(step_escape, 1) * 2),
                                0.8) * wobble(steps, 0.2)
        largest = start + 0.9 * scale * (1 - np.exp(-t / steps * 5)) * wobble(steps, 0.02)
        val = constant * np.where(e < escape, 1.0 + 0.002 * rng.normal(size=epochs + 1),
                                  0.08 + 0.9 * np.exp(-(e - escape)))
        saturated = np.zeros(epochs + 1)
    else:
        raise ValueError(cause)
    return {"val_mse": val, "grad_norm": grad, "first_layer_grad_norm": first,
            "largest_parameter": largest, "saturated_share": saturated,
            "constant_loss": float(constant), "lr": float(lr),
            "steps_per_epoch": steps_per_epoch}


# (label shown, cause, record): two records per cause, at different scales, lengths and
# learning rates, so that a rule tuned to one record (a threshold at 60, a fixed step) fails.
RECORDS = (
    ("run A", "exploding", lambda: _record("exploding", 1, constant=68.0, lr=0.05)),
    ("run B", "saddle", lambda: _record("saddle", 2, constant=68.0, lr=0.01)),
    ("run C", "steps too large", lambda: _record("steps too large", 3, constant=68.0, lr=0.1)),
    ("run D", "healthy", lambda: _record("healthy", 4, constant=68.0, lr=0.01)),
    ("run E", "steps too large", lambda: _record("steps too large", 5, constant=1.0, epochs=30,
                                                 lr=0.5)),
    ("run F", "exploding", lambda: _record("exploding", 6, constant=1.0, lr=1.0, nan=True)),
    ("run G", "saddle", lambda: _record("saddle", 7, constant=250.0, epochs=12, lr=0.003,
                                        escapes=False)),
    ("run H", "healthy", lambda: _record("healthy", 8, constant=1.0, epochs=40, lr=0.1)),
)

# Tried once the eight pass, shown only when one is misdiagnosed: longer and shorter runs at
# much smaller and larger scales, so that a rule read at a fixed epoch or against an absolute
# threshold (a first-layer gradient below 0.1) fails, as the chapter says it must.
MORE_RECORDS = (
    ("run I", "healthy", lambda: _record("healthy", 11, constant=0.01, epochs=100, lr=0.02)),
    ("run J", "saddle", lambda: _record("saddle", 12, constant=1e4, epochs=60, lr=0.01,
                                        start=2.0)),
    ("run K", "steps too large", lambda: _record("steps too large", 13, constant=3000.0,
                                                 epochs=8, lr=0.3)),
    ("run L", "exploding", lambda: _record("exploding", 14, constant=0.01, epochs=10, lr=0.5)),
)

# Tried after the twelve above (so that their hints stay as they were): the near misses a
# learner trial found, each a rule that passed the twelve. A run's third element maps the wrong
# label the broken assumption gives to a hint naming that assumption.
_ABSOLUTE_LOSS = ("the loss is compared with a fixed number (60, about this chapter's "
                  "constant_loss of 68): on other targets the losses are on another scale. "
                  "Measure the loss against the run's own constant_loss.")
NEAR_MISS_RECORDS = (
    ("run M", "saddle", lambda: _record("saddle", 21, constant=1.0, epochs=20, lr=0.3), {
        "healthy": "this saddle's constant_loss is 1, so its plateau sits near 1, never above "
                   "60: " + _ABSOLUTE_LOSS}),
    ("run N", "healthy", lambda: _record("healthy", 22, constant=1e4, epochs=30, lr=0.001), {
        "saddle": "this run learns, but its constant_loss is 1e4, so its loss stays above 60 "
                  "for every epoch: " + _ABSOLUTE_LOSS}),
    ("run O", "saddle", lambda: _record("saddle", 23, constant=68.0, epochs=12, lr=0.01,
                                        escape_at=8), {
        "healthy": "this saddle's plateau lasts 8 of its 12 epochs and ends before epoch 10: "
                   "a rule that reads the loss at a fixed epoch (epoch 10) sees the escape, "
                   "not the plateau. Read the whole run: on how many epochs does the loss sit "
                   "at constant_loss, and how small is the first layer's gradient against the "
                   "total, over the run (its median)?"}),
    ("run P", "healthy", lambda: _record("healthy", 24, constant=68.0, epochs=120, lr=0.001,
                                         slowness=5.0), {
        "saddle": "this run learns slowly: at epoch 10 its loss is still within 10 % of "
                  "constant_loss, yet it ends far below it, and its first layer gets a "
                  "gradient all along. A rule that reads a fixed epoch (epoch 10) takes a "
                  "slow start for a plateau: read the end of the run and the first layer's "
                  "gradient against the total."}),
    ("run Q", "steps too large", lambda: _record("steps too large", 25, constant=1e8,
                                                 epochs=20, lr=0.1), {
        "exploding": "this run's targets are large (constant_loss 1e8), so its gradient "
                     "norm exceeds 1e4 from the first step without anything growing: an "
                     "absolute threshold on the gradient (a fixed number such as 1e4) "
                     "depends on the targets' scale. An explosion is growth: compare "
                     "largest_parameter (and grad_norm) with their start, or with "
                     "sqrt(constant_loss)."}),
    ("run R", "healthy", lambda: _record("healthy", 26, constant=68.0, epochs=30, lr=0.01,
                                         noise=0.3), {
        "steps too large": "this run's validation loss bounces from epoch to epoch (a noisy "
                           "estimate, a small validation set) and still ends far below "
                           "constant_loss: a bouncing loss alone is not the sign of steps "
                           "too large. Look at saturated_share (is the softmax saturated?) "
                           "and at whether the first layer gets a gradient."}),
)

MORE_HINT = ("this run is longer or shorter than the first eight, and at another scale "
             "(look at its constant_loss): a rule that reads the loss at a fixed epoch, or "
             "compares a gradient or a loss with a fixed number, holds for the runs it was "
             "tuned on only. Read the whole record (its last epoch, its median), and measure "
             "each quantity against its own run: the loss against constant_loss, the first "
             "layer's gradient against the total grad_norm.")

CONFUSIONS = {
    ("exploding", "steps too large"): "look at the size of the parameters: how large does "
    "largest_parameter get? A run whose steps are merely too large keeps them moderate.",
    ("exploding", "saddle"): "look at how much the gradient norm and the largest parameter GROW "
    "over the run, not at the flat loss.",
    ("exploding", "healthy"): "look at the size of the parameters and of the gradient over the "
    "run; does the loss get below the constant's?",
    ("steps too large", "saddle"): "the first layer gets no gradient in both, but here the "
    "softmax is saturated (saturated_share): what made it so, and can a small gradient undo it?",
    ("steps too large", "exploding"): "the parameters here stay moderate: nothing exploded. The "
    "loss bounces around the constant's level and the softmax is saturated: what was too large?",
    ("steps too large", "healthy"): "the validation loss never gets below the loss of a "
    "constant prediction (constant_loss): this run learns nothing.",
    ("saddle", "steps too large"): "look at the first layer's gradient (first_layer_grad_norm), "
    "not at the total, which the read-out dominates; and is the softmax saturated?",
    ("saddle", "exploding"): "no parameter runs away here (the largest stays near the targets' "
    "scale): compare with an exploding run's.",
    ("saddle", "healthy"): "the loss sits at the constant's level (constant_loss) for most of "
    "the run, while the first layer's gradient is tiny against the total, which the read-out "
    "dominates: a plateau, even if it ends.",
    ("healthy", "exploding"): "this run's loss ends far below the constant's: it learned. "
    "What grows here, and by how much?",
    ("healthy", "steps too large"): "this run's loss ends far below the constant's, and both "
    "layers get a gradient: it learned.",
    ("healthy", "saddle"): "this run's loss ends far below the constant's, and its first layer "
    "gets a gradient as large as the read-out's: it learned.",
}


def record_of(run: Any, saturation_share: Sequence[float] | None = None,
              constant_loss: float | None = None, lr: float | None = None) -> dict[str, Any]:
    """The records of a ``backprop.failing.Run``, in the form ``diagnose_run`` passes them: so
    that a learner's ``diagnose`` can be tried on the chapter's own runs too. The saturated
    share is the run's own (``run.saturated``) unless given; the learning rate the one the run
    was trained with (``run.settings["lr"]``) unless given, so that a rule reading ``lr`` does
    not meet nan (every comparison with nan is False) on the page's runs."""
    layers = getattr(run, "layer_grad_norm", {}) or {}
    first = (np.sqrt(np.asarray(layers["W"], dtype=np.float64) ** 2
                     + np.asarray(layers["b"], dtype=np.float64) ** 2)
             if {"W", "b"} <= set(layers) else np.full(len(run.grad_norm), np.nan))
    if saturation_share is None:
        saturation_share = getattr(run, "saturated", None) or [np.nan] * len(run.val_mse)
    return {"val_mse": np.asarray(run.val_mse, dtype=np.float64),
            "grad_norm": np.asarray(run.grad_norm, dtype=np.float64),
            "first_layer_grad_norm": first,
            "largest_parameter": np.asarray(run.largest_parameter, dtype=np.float64),
            "saturated_share": np.asarray(saturation_share, dtype=np.float64),
            "constant_loss": float(constant_loss if constant_loss is not None else np.nan),
            "lr": float(lr if lr is not None else (getattr(run, "settings", None) or {}).get(
                "lr", np.nan)),
            "steps_per_epoch": max(1, len(run.grad_norm) // max(1, len(run.val_mse) - 1))}


def diagnose_run(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(record) -> label``: name the cause of a failing run from its records.

    ``record`` is a dict: ``val_mse`` (validation MSE before training and after every epoch),
    ``grad_norm``, ``first_layer_grad_norm`` (the first layer's W and b together) and
    ``largest_parameter`` (every step), ``saturated_share`` (every epoch: the
    share of inputs whose softmax's largest output exceeds 0.99), ``constant_loss`` (the MSE of
    predicting the mean target, in the units of ``val_mse``), ``lr`` and ``steps_per_epoch``. A run that stopped on a
    non-finite loss has fewer steps and one MSE. The label is one of "exploding",
    "steps too large", "saddle" or "healthy". Tried on eight runs of known cause, two per cause at
    different scales, then (shown only if one is misdiagnosed) on ten more, longer and shorter
    and at much smaller and larger scales, a plateau that ends early, a slow start, a bouncing
    loss, so that a fixed epoch or an absolute threshold fails;
    the records must be left unchanged. Allowed: anything.
    """
    name = "Diagnose a failing run"
    exercise_rows: list[Row] = []
    if not callable(solution):
        return CheckResult(name, "error", message="expected a function: pass the function "
                           "itself, without calling it.")
    function = getattr(solution, "__name__", "your function")
    wrong: list[tuple[str, str, str]] = []
    notes: dict[str, dict[str, str]] = {label: note for label, _, _, note in NEAR_MISS_RECORDS}
    runs = RECORDS + MORE_RECORDS + tuple(run[:3] for run in NEAR_MISS_RECORDS)
    for index, (label, cause, make) in enumerate(runs):
        if index in (len(RECORDS), len(RECORDS) + len(MORE_RECORDS)) and wrong:
            break
        record = make()
        before = _snapshot(record)
        try:
            with np.errstate(all="ignore"):
                answer = solution(record)
        except NotImplementedError:
            answer = None
            if not exercise_rows:
                return _not_done_table(name, function)
        except Exception as error:
            result = _learner_error(name, function, solution, error, ())
            result.message += f" on {label}"
            result.rows = exercise_rows + [Row(label, _shape_of(record), "—", "— raised here",
                                               False, False)]
            _table(result)
            result.hint = ("does your function cope with a run that stopped early (a "
                           "non-finite loss: one val_mse, fewer steps) and with any length?"
                           if "index" in str(error).lower() or isinstance(error, IndexError)
                           else ("the record's keys are " + ", ".join(record) + "."
                                 if isinstance(error, KeyError) else result.hint))
            return result
        if answer is None or answer is Ellipsis:
            if not exercise_rows and is_skeleton(solution):
                return _not_done_table(name, function)
            return CheckResult(name, "failed", exercise_rows, f"`{function}` returned None on "
                               f"{label}. Is a `return` missing on some path?")
        if not _unchanged(record, before):
            return CheckResult(name, "failed", exercise_rows, f"`{function}` changed the "
                               f"records of {label} in place (a sort, an update of an array); "
                               "read them without changing them.",
                               "work on a copy (np.sort(a) rather than a.sort()).")
        if not isinstance(answer, str) or answer not in LABELS:
            return _table(CheckResult(name, "failed", exercise_rows, (
                f"`{function}` returned {answer!r} on {label}; it must return one of "
                + ", ".join(f'"{x}"' for x in LABELS) + "."),
                "the check compares labels as strings: return exactly one of the four, spelled "
                "as listed, in lower case (not a number, a list or another word)."))
        ok = answer == cause
        exercise_rows.append(Row(label, _shape_of(record), f'"{answer}"',
                                 "✓ right" if ok else "✗ wrong", ok))
        if not ok:
            wrong.append((label, cause, answer))
    if not wrong:
        return _table(CheckResult(name, "passed", exercise_rows[:len(RECORDS)],
                                  f"all {len(RECORDS)} runs diagnosed right."))
    label, cause, answer = wrong[0]
    hint = CONFUSIONS[(cause, answer)]
    tried = len(exercise_rows)
    message = (f"{len(wrong)} of {tried} runs misdiagnosed; the first is "
               f'{label} (not "{answer}").')
    if answer in notes.get(label, {}):
        hint = notes[label][answer] + " (Here: " + hint + ")"
    elif tried > len(RECORDS):
        hint = MORE_HINT + " (Here: " + hint + ")"
    if tried > len(RECORDS):
        message = (f"the first {len(RECORDS)} runs are right, but {len(wrong)} of the "
                   f"{tried - len(RECORDS)} further runs, of other lengths and scales, are not; "
                   f'the first is {label} (not "{answer}").')
    return _table(CheckResult(name, "failed", exercise_rows, message, hint))


def _not_done_table(name: str, function: str) -> CheckResult:
    return _table(CheckResult(name, "not done", [
        Row(label, _shape_of(make()), "—", "… not done", False, False)
        for label, _, make in RECORDS
    ], f"not done yet: write the body of `{function}`, then run this cell again."))


def _table(result: CheckResult) -> CheckResult:
    result.columns = ("run", "its record", "your answer", "verdict")
    return result


def _shape_of(record: dict[str, Any]) -> str:
    """What a run's record holds, in a few words: how long it ran, and whether it stopped."""
    steps, epochs = len(record["grad_norm"]), len(record["val_mse"]) - 1
    if epochs < 1:
        return f"stopped after {steps} steps (non-finite loss)"
    return f"{epochs} epochs, {steps} steps"
