"""Losses and activations on Tensors, written to stay finite for any input.

Most are compositions of ``Tensor`` ops, so autograd derives their backward for free. The
textbook formulas overflow, though: softmax's e^x is ``inf`` for x = 1000, and
log(sigmoid(x)) is log(0) = -inf for x = -1000. Two rewrites fix that without changing the
mathematical value:

- the log-sum-exp trick: softmax(x) = softmax(x - max(x)), so every exponent is <= 0 and
  the largest term is e^0 = 1; the sum is then at least 1 and its log is safe;
- softplus: log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), whose exponent is never positive.

``softmax`` and ``log_softmax`` live with the engine's reductions (``Tensor.softmax`` uses
them) and are re-exported here. ``softplus`` is a fused op with a hand-written backward, in
the same style as the engine's ops: built from ``relu`` and ``abs`` its gradient at exactly
x = 0 would come out as 0 (both kinks take gradient 0 there) instead of the true
sigmoid(0) = 0.5, and a model starting from zero logits would learn from a wrong gradient.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from backprop.autograd import Tensor, stable_sigmoid
from backprop.autograd.numerics import softmax_cross_entropy as _softmax_cross_entropy
from backprop.autograd import reduce
from backprop.autograd.matmul import linear  # x @ W.T + b as one op (nn.Linear's)
from backprop.autograd.interop import pytorch_axis_names

__all__ = [
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softplus",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "softmax_cross_entropy",
    "binary_cross_entropy_with_logits",
    "mse_loss",
]


softmax = pytorch_axis_names(reduce.softmax)  # dim= (PyTorch's name) as well as axis=
log_softmax = pytorch_axis_names(reduce.log_softmax)


def _as_tensor(values: Tensor | ArrayLike) -> Tensor:
    """Targets (and, in ``nn``, inputs) may come as arrays or lists; wrap them as constants."""
    return values if isinstance(values, Tensor) else Tensor(values)


REDUCTIONS = ("mean", "sum", "none")


def _reduce(losses: Tensor, reduction: str, name: str) -> Tensor:
    """One loss per example, combined as PyTorch's ``reduction=`` says: their ``"mean"`` (the
    default), their ``"sum"``, or ``"none"`` to keep them all (to weight or inspect them)."""
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _require_same_shape(name: str, input: Tensor, target: Tensor) -> None:
    """Refuse to broadcast a loss: predictions (N, 1) minus targets (N,) would silently
    compare every prediction with every target and give an (N, N) matrix."""
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input has shape {input.shape} but target has shape {target.shape}; "
            "they must match (reshape one of them, e.g. input.reshape(-1))"
        )


def relu(x: Tensor) -> Tensor:
    """max(0, x) elementwise."""
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x) elementwise, without overflow."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent elementwise."""
    return x.tanh()


def softplus(x: Tensor) -> Tensor:
    """log(1 + e^x) elementwise, computed as max(x, 0) + log(1 + e^-|x|) so it never overflows.

    Its derivative is sigmoid(x), which we write by hand (see the module docstring for why).
    """
    values = np.maximum(x.data, 0) + np.log1p(np.exp(-np.abs(x.data)))
    out = Tensor(values, inputs=(x,), op="softplus")

    def backward(grad: np.ndarray) -> None:  # d/dx log(1 + e^x) = sigmoid(x)
        x.add_grad(grad * stable_sigmoid(x.data))

    out.backward_fn = backward
    return out


def _class_indices(targets: Tensor | ArrayLike, logits: Tensor) -> np.ndarray:
    """Check that ``targets`` hold one valid class index per row of ``logits``.

    NumPy would accept -1 or a float silently (-1 picks the last class), so we refuse them.
    """
    if logits.ndim != 2:
        raise ValueError(
            f"cross_entropy expects logits of shape (batch, classes), got {logits.shape}"
        )
    indices = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    batch, classes = logits.shape
    if indices.shape != (batch,):
        raise ValueError(
            f"cross_entropy expects one class index per example, shape ({batch},), "
            f"got targets of shape {indices.shape}"
        )
    if indices.dtype.kind not in "iu" and not np.array_equal(indices, np.round(indices)):
        raise ValueError("cross_entropy targets must be integer class indices")
    if batch and (indices.min() < 0 or indices.max() >= classes):
        raise ValueError(
            f"cross_entropy targets must lie in [0, {classes - 1}], "
            f"got values from {indices.min()} to {indices.max()}"
        )
    return indices.astype(np.intp)


def cross_entropy(
    logits: Tensor, targets: Tensor | ArrayLike, reduction: str = "mean"
) -> Tensor:
    """Mean over the batch of -log softmax(logits)[target], for logits of shape (batch, classes).

    ``targets`` are integer class indices, shape (batch,). Going through ``log_softmax`` (not
    log of ``softmax``) keeps both the loss and its gradient, softmax - one_hot, finite.
    """
    indices = _class_indices(targets, logits)
    log_probs = log_softmax(logits, axis=-1)
    return -_reduce(log_probs[np.arange(len(indices)), indices], reduction, "cross_entropy")


def softmax_cross_entropy(
    logits: Tensor, targets: Tensor | ArrayLike, reduction: str = "mean"
) -> Tensor:
    """``cross_entropy`` as one op, whose backward is the one chapter 7 derives by hand.

    ``cross_entropy`` records nine ops (subtract the max, exp, sum, log, subtract, pick the
    target's entry, and sum, divide, negate for the mean), and autograd runs each one's
    backward. The chain rule through all of them collapses to dL/dz = (softmax(z) -
    one_hot(y)) / N, so this op computes the loss with the same log-sum-exp trick and writes
    that gradient directly (``autograd.numerics.softmax_cross_entropy``, which the hand-written
    MLP uses too). Same value, same gradient, about a tenth of the bookkeeping;
    ``nn.CrossEntropyLoss`` uses it.
    """
    indices = _class_indices(targets, logits)
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"cross_entropy: reduction must be one of {REDUCTIONS}, got {reduction!r}"
        )
    losses, grad_rows = _softmax_cross_entropy(logits.data, indices)
    if reduction == "none":
        value = losses
    else:  # a sum divided by the count is what losses.mean() computes, without its overhead
        value = losses.sum() / len(indices) if reduction == "mean" else losses.sum()
    out = Tensor(value, inputs=(logits,), op="softmax_cross_entropy")

    def backward(grad: np.ndarray) -> None:  # dL/dz = softmax(z) - one_hot(y), per example
        if reduction == "none":
            scale = grad[:, np.newaxis]
        else:
            scale = grad / len(indices) if reduction == "mean" else grad
        logits.add_grad(grad_rows * scale)

    out.backward_fn = backward
    return out


def binary_cross_entropy_with_logits(
    logits: Tensor, targets: Tensor | ArrayLike, reduction: str = "mean"
) -> Tensor:
    """Mean of -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], from logits x.

    Using -log sigmoid(x) = softplus(x) - x and -log(1 - sigmoid(x)) = softplus(x), the loss
    is softplus(x) - x y: no sigmoid is rounded to 0 or 1 and then logged, so it stays finite
    for any logit, and its gradient is sigmoid(x) - y.
    """
    targets = _as_tensor(targets)
    _require_same_shape("binary_cross_entropy_with_logits", logits, targets)
    return _reduce(softplus(logits) - logits * targets, reduction, "binary_cross_entropy")


def mse_loss(input: Tensor, target: Tensor | ArrayLike, reduction: str = "mean") -> Tensor:
    """Mean of (input - target)^2 over all elements. The shapes must match exactly."""
    target = _as_tensor(target)
    _require_same_shape("mse_loss", input, target)
    return _reduce((input - target) ** 2, reduction, "mse_loss")
