"""When training fails: watch the gradient's size, and clip it.

Both checks take a list of gradient arrays (one per parameter, of different shapes), as an
optimiser sees them. The reference is ``backprop.optim.clip_grad_norm_``, which returns the
global norm and clips in place.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from backprop import optim
from backprop.exercises._core import (BadReturn, Case, CheckResult, Mistake, NotDone, library,
                                      run_cases, run_check)
from backprop.optim import clip_grad_norm_

__all__ = ["grad_norm", "clip_grad_norm"]

SHAPES = ((4, 3), (2, 4), (4,))


def _grads(scale: float, shapes: tuple = SHAPES, seed: int = 7) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [scale * np.asarray(rng.normal(size=shape)) for shape in shapes]


FORBID = library((optim, "clip_grad_norm_", "backprop.optim.clip_grad_norm_"),
                 (optim, "clip_grad_value_", "backprop.optim.clip_grad_value_"))


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
    return run_check("Gradient-norm monitor", solution, _norm_run, _reference_norm,
                     mistakes=NORM_MISTAKES, error_hints=NORM_ERRORS, products=False,
                     forbid=FORBID, allowed="NumPy (np.linalg.norm too)")


# ----------------------------------------------------------------------------- clipping

# The norm far above max_norm, so the gradients shrink; below it, and they must come back
# unchanged; one array alone; exactly at max_norm (unchanged either way).
def _clip_args(scale: float, max_norm: float, shapes: tuple = SHAPES, seed: int = 7) -> Callable:
    return lambda: ([g.copy() for g in _grads(scale, shapes, seed)], max_norm)


CASES = (
    Case("norm above max_norm", _clip_args(2.0, 1.0)),
    Case("norm below max_norm", _clip_args(0.1, 5.0), None,
         "the norm is below max_norm here: the gradients must come back unchanged."),
    Case("1 array, norm above", _clip_args(4.0, 0.5, ((5,),), 8), None,
         "a list of ONE array: is the number of arrays written in?"),
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
                                "gradients in the order given.")
            return {f"grads[{k}]": g for k, g in enumerate(result)}

        # Clipping in place, as PyTorch's clip_grad_norm_ does, is allowed: argument 0 may change.
        out.update(run_cases(solution, (case,), (), read=read, may_change=(0,)))
    return out


def _per_array(grads: list[np.ndarray], max_norm: float) -> list[np.ndarray]:
    return [g * min(1.0, max_norm / np.sqrt(np.sum(g**2))) for g in grads]


def _norm(grads: list[np.ndarray]) -> float:
    return float(np.sqrt(sum(np.sum(g**2) for g in grads)))


CLIP_MISTAKES = (
    Mistake("each array is clipped by its own norm, which changes the direction of the whole "
            "update. Compute ONE global norm and scale every array by the same factor.",
            _per_array),
    Mistake("small gradients must be left alone: scale only when the norm exceeds max_norm "
            "(a factor min(1, max_norm / norm)).",
            lambda grads, m: [g * m / _norm(grads) for g in grads]),
    Mistake("the factor is upside down: to bring the norm down to max_norm, multiply by "
            "max_norm / norm.",
            lambda grads, m: [g * min(1.0, _norm(grads) / m) for g in grads]),
    Mistake("clipping each VALUE into [-max_norm, max_norm] changes the gradient's direction; "
            "clipping by norm scales all values by one factor instead.",
            lambda grads, m: [np.clip(g, -m, m) for g in grads]),
)


def clip_grad_norm(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(grads, max_norm) -> list of arrays``, gradient clipping by global norm.

    Returns the gradients scaled together so that their global norm is at most ``max_norm``
    (unchanged when it already is). Checked with a norm above and one below ``max_norm``, and
    with a single array. PyTorch's ``max_norm / (norm + 1e-6)`` and the exact
    ``max_norm / norm`` both pass; clipping the given arrays in place (as PyTorch does) is
    allowed. Allowed: NumPy and your own ``grad_norm``; not the library's ``clip_grad_norm_``.
    """
    return run_check("Clipping by norm", solution, _clip_run, _reference_clip,
                     mistakes=CLIP_MISTAKES, products=False, forbid=FORBID,
                     allowed="NumPy and your own grad_norm")
