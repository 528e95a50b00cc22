"""Broadcasting undone, and the axes of reductions.

``unbroadcast`` is the one rule every broadcasting op's backward uses: an input that
NumPy stretched to the output's shape fed several output elements, so its gradient is
the SUM of theirs.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

from backprop.autograd import guards

Axis = int | tuple[int, ...] | list[int] | None


def unbroadcast(grad: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``, undoing NumPy broadcasting: sum over the axes it
    prepended ((3,) acts like (1, 3)), then over the axes of length 1 it stretched
    ((4, 1) becomes (4, 3)), keeping them."""
    grad = np.asarray(grad)
    if grad.shape == shape:
        return grad  # nothing was broadcast (the usual case): nothing to undo
    guards.check_broadcast(grad.shape, shape)  # refuses shapes broadcasting can't make
    extra_leading_axes = grad.ndim - len(shape)
    if extra_leading_axes > 0:
        grad = grad.sum(axis=tuple(range(extra_leading_axes)))
    stretched_axes = tuple(
        axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1
    )
    if stretched_axes:
        grad = grad.sum(axis=stretched_axes, keepdims=True)
    return np.asarray(grad)


def expand_reduced(
    grad: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool
) -> np.ndarray:
    """Stretch the gradient of a reduction (sum, max) back over the axes it reduced."""
    if not keepdims:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, shape)


def normalize_axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes (``None`` means all of them)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
    return tuple(sorted(int(a) % ndim for a in axes))
