"""Reductions (sum, mean, max, min) and the softmax family built on them.

A reduction's backward stretches the output's gradient back over the axes it reduced
(``expand_reduced``). They take NumPy's ``axis=``/``keepdims=``; the Tensor methods
take PyTorch's ``dim=``/``keepdim=`` too (``interop.pytorch_axis_names``).
"""

from __future__ import annotations

import numpy as np

from backprop.autograd.broadcast import Axis, expand_reduced, normalize_axes
from backprop.autograd.tensor import Tensor


def sum(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all if None); each element summed gets the output's grad."""
    axes = normalize_axes(axis, x.ndim)
    out = Tensor(x.data.sum(axis=axes, keepdims=keepdims), inputs=(x,), op="sum")

    def backward(grad: np.ndarray) -> None:  # d(sum)/d(each element) = 1
        x.add_grad(expand_reduced(grad, x.shape, axes, keepdims))

    out.backward_fn = backward
    return out


def mean(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all if None), built as sum / count: it needs no backward."""
    axes = normalize_axes(axis, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes]))
    return sum(x, axes, keepdims) / count


def max(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis`` (all axes if None).

    The gradient flows only to the element(s) that were the maximum; if several tie,
    they share it equally (as ``torch.amax`` does), which keeps the total gradient
    right. A NaN is the maximum of its slice, so it alone gets the gradient there (as
    ``torch.max``).
    """
    axes = normalize_axes(axis, x.ndim)
    peak = x.data.max(axis=axes, keepdims=True)
    out_data = peak if keepdims else np.squeeze(peak, axis=axes)
    out = Tensor(out_data, inputs=(x,), op="max")

    def backward(grad: np.ndarray) -> None:
        is_peak = (x.data == peak) | np.isnan(x.data)
        share = is_peak / is_peak.sum(axis=axes, keepdims=True)
        x.add_grad(share * expand_reduced(grad, x.shape, axes, keepdims))

    out.backward_fn = backward
    return out


def min(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis``: min(x) = -max(-x), so ``max``'s backward does the work."""
    return -max(-x, axis, keepdims)


def argmax(x: Tensor, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """Index of the largest element along ``axis`` (of the flattened tensor if None), as
    an int64 NumPy array: an index is not differentiable, so it leaves the graph."""
    return np.argmax(x.data, axis=axis, keepdims=keepdims).astype(np.int64)


def argmin(x: Tensor, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """Index of the smallest element along ``axis``, like ``argmax``."""
    return np.argmin(x.data, axis=axis, keepdims=keepdims).astype(np.int64)


def _shift_by_max(x: Tensor, axis: int) -> Tensor:
    """x - max(x) along ``axis`` (a constant max: shifts leave softmax unchanged)."""
    return x - Tensor(x.data.max(axis=axis, keepdims=True))


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """e^x / sum(e^x) along ``axis``: scores made probabilities."""
    exps = _shift_by_max(x, axis).exp()
    return exps / exps.sum(axis=axis, keepdims=True)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) = x - log(sum(e^x)), computed without ever taking log(0).

    After the shift the largest term of the sum is e^0 = 1, so the log's argument is >=
    1.
    """
    shifted = _shift_by_max(x, axis)
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()
