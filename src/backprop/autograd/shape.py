"""Ops that move elements without changing them: reshape, transpose, indexing, copy.

Each backward moves every gradient back to the place its element came from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backprop.autograd.broadcast import normalize_axes
from backprop.autograd.tensor import Tensor


def reshape(x: Tensor, *shape: int | tuple[int, ...]) -> Tensor:
    """The same elements in a new shape: ``t.reshape(2, 3)``, ``t.reshape((2, -1))``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    out = Tensor(x.data.reshape(shape), inputs=(x,), op="reshape")

    def backward(grad: np.ndarray) -> None:  # move each gradient back to its element
        x.add_grad(grad.reshape(x.shape))

    out.backward_fn = backward
    return out


def transposed(x: Tensor) -> Tensor:
    """``x.T``: all axes reversed; for a matrix, the transpose."""
    out = Tensor(x.data.T, inputs=(x,), op="permute")

    def backward(grad: np.ndarray) -> None:  # reversing all axes undoes itself
        x.add_grad(grad.T)

    out.backward_fn = backward
    return out


def permute(x: Tensor, *dims: int) -> Tensor:
    """Reorder the axes: output axis i is input axis ``dims[i]`` (``np.transpose``)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    ndim = x.ndim
    if sorted(d % ndim if -ndim <= d < ndim else d for d in dims) != list(range(ndim)):
        raise ValueError(f"permute needs each of the {ndim} axes once, got {dims}")
    dims = tuple(d % ndim for d in dims)  # the inverse below needs them non-negative
    inverse = tuple(sorted(range(ndim), key=dims.__getitem__))  # np.argsort, in Python
    out = Tensor(x.data.transpose(dims), inputs=(x,), op="permute")

    def backward(grad: np.ndarray) -> None:  # the inverse permutation undoes it
        x.add_grad(grad.transpose(inverse))

    out.backward_fn = backward
    return out


def getitem(x: Tensor, index: Any) -> Tensor:
    """``t[i]``, ``t[1:3]``, ``t[[0, 0, 2]]``, ``t[rows, cols]``: anything NumPy
    accepts.

    The backward scatters the gradient into zeros with ``np.add.at``, which (unlike
    ``zeros[index] += grad``) adds once per occurrence, so repeated indices accumulate.
    """
    index = _own_index(index)
    out = Tensor(x.data[index], inputs=(x,), op="index")

    def backward(grad: np.ndarray) -> None:
        full_grad = np.zeros_like(x.data)
        np.add.at(full_grad, index, grad)
        x.add_grad(full_grad)

    out.backward_fn = backward
    return out


def clone(x: Tensor) -> Tensor:
    """A copy that stays in the graph: the gradient flows through it unchanged."""
    out = Tensor(x.data.copy(), inputs=(x,), op="clone")

    def backward(grad: np.ndarray) -> None:  # d(copy of x)/dx = 1
        x.add_grad(grad)

    out.backward_fn = backward
    return out


def stack(tensors: list[Tensor], axis: int = 0) -> Tensor:
    """The tensors (same shape) as one, along a new axis: ``stack([l1, l2])`` has shape
    (2, ...). Each gets back its slice of the gradient."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    data = np.stack([t.data for t in tensors], axis=axis)
    out = Tensor(data, inputs=tuple(tensors), op="stack")

    def backward(grad: np.ndarray) -> None:  # slice i of the gradient goes to input i
        for position, t in enumerate(tensors):
            t.add_grad(np.take(grad, position, axis=axis))

    out.backward_fn = backward
    return out


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two axes, as ``torch.transpose`` does (any axis order: ``permute``)."""
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return permute(x, *dims)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the axes ``start_dim`` to ``end_dim`` (all by default) into one."""
    if x.ndim == 0:
        return reshape(x, 1)
    (start,), (end,) = (normalize_axes(d, x.ndim) for d in (start_dim, end_dim))
    if start > end:
        raise ValueError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim}"
        )
    merged = int(np.prod(x.shape[start : end + 1]))
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1 :])


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert an axis of length 1 at position ``dim`` (negative counts from the end)."""
    return reshape(x, np.expand_dims(x.data, dim).shape)


def squeeze(x: Tensor, dim: int | tuple[int, ...] | None = None) -> Tensor:
    """Drop axes of length 1 (only ``dim``, if given; an axis longer than 1 is kept, as
    in PyTorch)."""
    axes = normalize_axes(dim, x.ndim)
    kept = [size for axis, size in enumerate(x.shape) if axis not in axes or size != 1]
    return reshape(x, tuple(kept))


def _own_index(index: Any) -> Any:
    """A private copy of an index, so the caller changing its array after the forward
    pass (``idx[:] = ...``) cannot move the gradient to other rows."""
    if isinstance(index, tuple):
        return tuple(_own_index(part) for part in index)
    if isinstance(index, Tensor):
        raise TypeError(
            "index a Tensor with integers, slices, or NumPy arrays of integers or "
            "booleans, not a Tensor (Tensors hold floats): use "
            "t[idx.numpy().astype(int)]"
        )
    if isinstance(index, (np.ndarray, list)):
        return np.array(index)
    return index
