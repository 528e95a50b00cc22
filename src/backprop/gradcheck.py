"""Finite-difference gradient checks: test a backward pass against the definition of a derivative.

A derivative is a limit, df/dx = lim (f(x + h) - f(x - h)) / 2h. With a small h we can compute
it for any function we can evaluate, one input element at a time: slow, but needing no
calculus, so it is the independent referee for every gradient written by hand or by autograd.

The central difference's error shrinks like h^2, while rounding error grows like
(machine epsilon / h); h = 1e-6 in float64 balances the two and is typically good to 1e-8 or
better. That is why everything here runs in float64, and why the comparison allows a small
absolute and relative tolerance rather than demanding equality.

``numerical_grad`` and ``compare`` work on plain NumPy functions and arrays (usable before
autograd exists); ``gradcheck`` drives autograd ``Tensor``s.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["numerical_grad", "compare", "gradcheck", "agrees", "tolerance", "ATOL", "RTOL",
           "SCALE_FLOOR"]

# The course's one pass rule for a gradient check: every element must satisfy
# |analytic - numeric| <= RTOL * |numeric| + ATOL * scale, where scale is the largest |numeric|
# of the gradient being checked (the quantity's own size; SCALE_FLOOR at least). The absolute
# term is measured against the quantity itself, not fixed: a fixed 1e-5 let a 5 % error through
# in any gradient of size 1e-4, while central differences in float64 agree with a right gradient
# to about 1e-9 of its scale. The floor keeps a right but tiny gradient (largest element below
# 1e-4) from failing on the differences' own rounding, about 1e-10; a 1 % error still fails in
# any gradient larger than about 1e-7.
RTOL = 1e-3
ATOL = 1e-5
SCALE_FLOOR = 1e-4


def tolerance(numeric: ArrayLike, atol: float = ATOL, rtol: float = RTOL) -> np.ndarray:
    """The difference the pass rule allows at each element: ``rtol |n| + atol * scale``."""
    n = np.abs(np.asarray(numeric, dtype=np.float64))
    scale = max(float(np.max(n, initial=0.0)), SCALE_FLOOR)
    return rtol * n + atol * scale


def agrees(analytic: ArrayLike, numeric: ArrayLike, atol: float = ATOL, rtol: float = RTOL) -> bool:
    """True when every element passes the course's rule (``tolerance``): within ``rtol`` of its
    own value plus ``atol`` of the gradient's largest element."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"agrees: shapes differ, {a.shape} vs {n.shape}")
    return bool(np.all(np.abs(a - n) <= tolerance(n, atol, rtol)))


def _scalar(value: Any) -> float:
    """A function's result as a float: accepts a float, a one-element array or a Tensor."""
    if value is None:
        raise TypeError("f returned None (a missing return?); it must return one number")
    if np.size(value) != 1:
        raise ValueError(
            f"f must return one number, got shape {np.shape(value)}: reduce it, e.g. with .sum()"
        )
    return float(value.item()) if hasattr(value, "item") else float(value)


def _check_eps(eps: float) -> None:
    """The step of a finite difference must be a small positive number (0 divides by 0)."""
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a small positive number such as 1e-6, got {eps!r}")


def numerical_grad(f: Callable[[np.ndarray], Any], x: ArrayLike, eps: float = 1e-6) -> np.ndarray:
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / 2 eps for every element i of ``x``.

    ``f`` maps an array shaped like ``x`` to a scalar. It receives one float64 working copy that
    is perturbed in place (one element at a time, then restored), so ``f`` must not keep it.
    ``x`` itself is never changed. Returns a float64 array shaped like ``x``.
    """
    _check_eps(eps)
    point = np.array(x, dtype=np.float64)  # a copy, so the caller's array is untouched
    grad = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        original = point[index]
        point[index] = original + eps
        f_plus = _scalar(f(point))
        point[index] = original - eps
        f_minus = _scalar(f(point))
        point[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def compare(analytic: ArrayLike, numeric: ArrayLike) -> dict[str, float]:
    """How far apart two gradients are: ``max_abs`` = max |a - n| and ``rel_error`` =
    max |a - n| / max(|a| + |n|, tiny), elementwise.

    The relative error is scale-free (1e-7 is excellent whether the gradient is 1e3 or 1e-3)
    and is 0 where both are exactly 0. Rough guide in float64: below 1e-7 the gradient is
    right; above 1e-3 something is wrong.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"compare: shapes differ, {a.shape} vs {n.shape}")
    difference = np.abs(a - n)
    scale = np.maximum(np.abs(a) + np.abs(n), np.finfo(np.float64).tiny)
    return {
        "max_abs": float(difference.max(initial=0.0)),
        "rel_error": float((difference / scale).max(initial=0.0)),
    }


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = ATOL,
    rtol: float = RTOL,
) -> bool:
    """Check autograd's gradients of ``f(*inputs)``, a one-element Tensor, by finite differences.

    Every input (Tensor or array) is copied to float64 and differentiated; a single Tensor or
    array counts as one input, as in PyTorch. An element passes the course's rule (``agrees``):
    |autograd - numerical| <= rtol * |numerical| + atol * (the input's largest |numerical|).
    Returns True, or raises an AssertionError naming the input index, the largest absolute
    difference and where it is.
    """
    from backprop.autograd import Tensor  # imported here: the numerical helpers need no autograd

    _check_eps(eps)
    if isinstance(inputs, (Tensor, np.ndarray)):
        inputs = [inputs]  # not its rows: a (1, 3) array is one input, not one of shape (3,)
    arrays = [np.array(getattr(value, "data", value), dtype=np.float64) for value in inputs]
    leaves = [Tensor(array, requires_grad=True) for array in arrays]
    output = _call(f, leaves)
    output.backward()

    for position, leaf in enumerate(leaves):
        analytic = np.zeros_like(arrays[position]) if leaf.grad is None else leaf.grad
        numeric = _numerical_grad_of_input(f, arrays, position, eps)
        _assert_close(position, analytic, numeric, atol, rtol)
    return True


def _call(f: Callable[..., Any], leaves: list[Any]) -> Any:
    """``f(*leaves)``, checked to be what gradcheck can differentiate: one tracked number."""
    from backprop.autograd import Tensor

    try:
        inspect.signature(f).bind(*leaves)
    except TypeError as error:
        raise TypeError(
            f"gradcheck calls f(*inputs) with {len(leaves)} input(s), but f does not accept "
            f"that ({error}): f must take one argument per input"
        ) from None
    except ValueError:  # no signature to inspect (some built-ins): just call it
        pass
    output = f(*leaves)
    if not isinstance(output, Tensor):
        raise TypeError(
            f"f returned {'None (a missing return?)' if output is None else type(output).__name__}"
            ", not a Tensor: compute the result from the input Tensors with Tensor operations "
            "(no .item(), float() or .data), so autograd can differentiate it"
        )
    if output.size != 1:
        raise ValueError(
            f"gradcheck needs f to return one number, got shape {output.shape}: reduce it, "
            "e.g. return f(x).sum()"
        )
    if not output.requires_grad:
        raise ValueError(
            "f's result does not depend on its inputs through Tensor operations (it has "
            "requires_grad=False): did f use .data or NumPy functions?"
        )
    return output


def _numerical_grad_of_input(
    f: Callable[..., Any], arrays: list[np.ndarray], position: int, eps: float
) -> np.ndarray:
    """Finite differences of ``f`` with respect to input ``position``, the others held fixed."""
    from backprop.autograd import Tensor

    def f_of_one_input(x: np.ndarray) -> float:
        values = [Tensor(x if i == position else array) for i, array in enumerate(arrays)]
        return _scalar(f(*values))

    return numerical_grad(f_of_one_input, arrays[position], eps)


def _assert_close(
    position: int, analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float
) -> None:
    """Raise an AssertionError describing the worst element if the gradients differ."""
    difference = np.abs(analytic - numeric)
    if np.all(difference <= tolerance(numeric, atol, rtol)):
        return
    ranked = np.where(np.isnan(difference), np.inf, difference)  # a NaN counts as worst
    worst = np.unravel_index(np.argmax(ranked), difference.shape)
    raise AssertionError(
        f"gradcheck failed for input {position} (shape {analytic.shape}): "
        f"max abs difference {difference[worst]:.3g} at index {tuple(int(i) for i in worst)}: "
        f"autograd {analytic[worst]:.6g}, numerical {numeric[worst]:.6g} "
        f"(atol={atol}, rtol={rtol})"
    )
