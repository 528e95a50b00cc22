"""Reductions (sum, mean, max, min) and the softmax family built on them.

A reduction's backward stretches the output's gradient back over the axes it reduced
(``expand_reduced``). Each takes NumPy's ``axis=``/``keepdims=`` or PyTorch's
``dim=``/``keepdim=``.
"""

from __future__ import annotations

import numpy as np

from backprop.autograd.broadcast import Axis, axis_args, expand_reduced, normalize_axes
from backprop.autograd.tensor import Tensor


def sum(  # noqa: A001 (the method's name, Tensor.sum)
    x: Tensor, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Sum over ``axis`` (all if None); each element summed gets the output's grad."""
    axis, keepdims = axis_args(axis, keepdims, dim, keepdim)
    out = Tensor(x.data.sum(axis=axis, keepdims=keepdims), inputs=(x,), op="sum")
    axes = normalize_axes(axis, x.ndim)

    def backward(grad: np.ndarray) -> None:  # d(sum)/d(each element) = 1
        x.add_grad(expand_reduced(grad, x.shape, axes, keepdims))

    out.backward_fn = backward
    return out


def mean(
    x: Tensor, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Mean over ``axis`` (all if None), built as sum / count: it needs no backward."""
    axis, keepdims = axis_args(axis, keepdims, dim, keepdim)
    count = int(np.prod([x.shape[a] for a in normalize_axes(axis, x.ndim)]))
    return sum(x, axis=axis, keepdims=keepdims) / count


def max(  # noqa: A001
    x: Tensor, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Maximum over ``axis`` (all axes if None).

    The gradient flows only to the element(s) that were the maximum; if several tie,
    they share it equally (as ``torch.amax`` does), which keeps the total gradient
    right. A NaN is the maximum of its slice, so it alone gets the gradient there (as
    ``torch.max``).
    """
    axis, keepdims = axis_args(axis, keepdims, dim, keepdim)
    axes = normalize_axes(axis, x.ndim)
    peak = x.data.max(axis=axis, keepdims=True)
    out_data = peak if keepdims else np.squeeze(peak, axis=axes)
    out = Tensor(out_data, inputs=(x,), op="max")

    def backward(grad: np.ndarray) -> None:
        is_peak = (x.data == peak) | np.isnan(x.data)
        share = is_peak / is_peak.sum(axis=axes, keepdims=True)
        x.add_grad(share * expand_reduced(grad, x.shape, axes, keepdims))

    out.backward_fn = backward
    return out


def min(  # noqa: A001
    x: Tensor, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Minimum over ``axis``: min(x) = -max(-x), so ``max``'s backward does the work."""
    return -max(-x, axis, keepdims, dim=dim, keepdim=keepdim)


def argmax(
    x: Tensor, axis: int | None = None, keepdims: bool = False, *,
    dim: int | None = None, keepdim: bool | None = None,
) -> np.ndarray:
    """Index of the largest element along ``axis`` (of the flattened tensor if None), as
    an int64 NumPy array: an index is not differentiable, so it leaves the graph."""
    axis, keepdims = axis_args(axis, keepdims, dim, keepdim)
    return np.argmax(x.data, axis=axis, keepdims=keepdims).astype(np.int64)


def argmin(
    x: Tensor, axis: int | None = None, keepdims: bool = False, *,
    dim: int | None = None, keepdim: bool | None = None,
) -> np.ndarray:
    """Index of the smallest element along ``axis``, like ``argmax``."""
    axis, keepdims = axis_args(axis, keepdims, dim, keepdim)
    return np.argmin(x.data, axis=axis, keepdims=keepdims).astype(np.int64)


def _shift_by_max(x: Tensor, axis: int) -> Tensor:
    """x - max(x) along ``axis`` (a constant max: shifts leave softmax unchanged)."""
    return x - Tensor(x.data.max(axis=axis, keepdims=True))


def softmax(x: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """e^x / sum(e^x) along ``axis`` (or ``dim``): scores made probabilities."""
    axis = axis if dim is None else dim
    exps = _shift_by_max(x, axis).exp()
    return exps / exps.sum(axis=axis, keepdims=True)


def log_softmax(x: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """log(softmax(x)) = x - log(sum(e^x)), computed without ever taking log(0).

    After the shift the largest term of the sum is e^0 = 1, so the log's argument is >=
    1.
    """
    axis = axis if dim is None else dim
    shifted = _shift_by_max(x, axis)
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()
