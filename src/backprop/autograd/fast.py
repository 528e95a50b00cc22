"""The speed paths: faster twins of a few plain ops, switched on and off as a whole.

Each function here computes the same numbers as the plain op it names, with less work
where a training step spends its time. ``tests/`` runs every engine test with these on
and off and finds the same values and gradients; ``benchmarks/`` and chapter 10 measure
what each one gains. On by default; ``with fast_paths(False):`` runs the plain ops.

- ``take_grad`` replaces ``Tensor.add_grad`` in these twins, where an op has just built
  a gradient for one input alone: the first such gradient becomes ``.grad`` without a
  copy.
- ``matmul`` replaces ``matmul.matmul`` for two matrices: it skips the reshaping that
  vectors and stacks need, multiplies ``x @ W.T`` as ``(W @ x.T).T`` (the same numbers,
  a result laid out like the next product wants it; little faster on its own), and lays
  each gradient out in memory like its input, so the optimiser's update walks both
  arrays in the same order.
- ``transposed`` replaces ``shape.transposed`` (``W.T``): it marks its result as the
  transpose of ``W`` (``transpose_of``, an attribute only this file sets and reads), so
  a product with ``W.T`` sends its gradient to ``W`` directly and ``W.T``'s backward (a
  transposed copy) never runs.
- ``relu`` replaces ``elementwise.relu``: its masked gradient is handed over, not
  copied.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from backprop.autograd import elementwise, shape
from backprop.autograd import matmul as plain_matmul
from backprop.autograd.elementwise import Operand, lift
from backprop.autograd.guards import check_unchanged
from backprop.autograd.tensor import Tensor, ops

_enabled = False


def take_grad(t: Tensor, grad: np.ndarray) -> None:
    """``t.add_grad(grad)`` for a ``grad`` built for ``t`` alone, which nobody else
    holds: as ``t``'s first gradient it is kept as it is instead of copied."""
    if _enabled and t.grad is None and t.requires_grad and grad.dtype == t.data.dtype:
        if grad.shape == t.data.shape and grad.flags.writeable:
            t.grad = grad
            return
    t.add_grad(grad)


def matmul(a: Tensor, b: Operand) -> Tensor:
    """``matmul.matmul``, with a shorter path for two matrices (``x @ W.T``)."""
    b = lift(b, a)
    if a.data.ndim != 2 or b.data.ndim != 2:
        return plain_matmul.matmul(a, b)
    out = Tensor(_product(a.data, b.data), inputs=(a, b), op="@")

    def backward(grad: np.ndarray) -> None:  # dA = G B^T, dB = A^T G, as the plain op
        if a.requires_grad:
            take_grad(a, _laid_out_like(grad, b.data.T, a.data))
        if not b.requires_grad:
            return
        weight = getattr(b, "transpose_of", None)  # b is W.T, made by `transposed`
        if weight is None:
            take_grad(b, _laid_out_like(a.data.T, grad, b.data))
        else:  # d(W.T) = A^T G, so dW = G^T A: sent to W itself, in W's layout
            check_unchanged(b)  # W.T's own backward, which would check W, is skipped
            take_grad(weight, _laid_out_like(grad.T, a.data, weight.data))

    out.backward_fn = backward
    return out


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b``. When ``b`` is a transposed view (``W.T``), the same numbers come from
    ``(W @ a.T).T`` without copying ``W.T`` to a row-major array first; the result is a
    transposed view, which NumPy's elementwise ops and the next product accept as it
    is. (Measured alone, the reordering gains only a few per cent or nothing.)"""
    if b.flags.f_contiguous and not b.flags.c_contiguous:
        try:
            return (b.T @ a.T).T
        except ValueError:
            pass  # plain_matmul.product names the shapes
    return plain_matmul.product(a, b)


def _laid_out_like(left: np.ndarray, right: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``left @ right``, stored in memory the way ``like`` (its input) is: as
    (L R)^T = R^T L^T, ``(R^T L^T)^T`` gives a transposed view's gradient in W's
    order."""
    if like.flags.f_contiguous and not like.flags.c_contiguous:
        return (right.T @ left.T).T
    return left @ right


def transposed(x: Tensor) -> Tensor:
    """``shape.transposed`` (``x.T``), marked: a product sends ``x`` its gradient.

    ``matmul`` above computes the gradient of ``W`` in ``x @ W.T`` directly, as G^T X:
    ``W.T`` then receives none, its backward does not run, and no gradient is computed
    transposed and then copied into ``W``'s layout. Any other use of ``W.T`` sends its
    gradient through ``W.T`` as the plain op does.
    """
    out = shape.transposed(x)
    out.transpose_of = x
    return out


def relu(x: Tensor) -> Tensor:
    """``elementwise.relu``, whose masked gradient is handed over, not copied."""
    out_data = np.maximum(x.data, 0)
    out = Tensor(out_data, inputs=(x,), op="relu")

    def backward(grad: np.ndarray) -> None:
        take_grad(x, grad * (out_data > 0))  # out > 0 exactly where x > 0

    out.backward_fn = backward
    return out


# each speed path (named as you write it: a @ b, W.T, x.relu()): where the op is looked
# up (Tensor.__matmul__ calls ops.matmul), the plain op, and its twin here
TWINS = {
    "__matmul__": (ops, "matmul", plain_matmul.matmul, matmul),
    "T": (Tensor, "T", property(shape.transposed), property(transposed)),
    "relu": (Tensor, "relu", elementwise.relu, relu),
}
PATHS = ("take_grad", *TWINS)  # every speed path, by name
_on = dict.fromkeys(PATHS, False)


def enable(on: bool = True, names: tuple[str, ...] = PATHS) -> None:
    """Switch the speed paths ``names`` (default: all) on, or off if not ``on``."""
    global _enabled
    for name in names:
        _on[name] = bool(on)
        if name in TWINS:
            where, attribute, plain, twin = TWINS[name]
            setattr(where, attribute, twin if on else plain)
    _enabled = _on["take_grad"]


def enabled() -> dict[str, bool]:
    """Which speed paths are on, by name."""
    return dict(_on)


@contextlib.contextmanager
def fast_paths(on: bool = True, names: tuple[str, ...] = PATHS) -> Iterator[None]:
    """``with fast_paths(False):`` runs the plain ops inside the block; ``names`` picks
    some of the paths only (``PATHS`` lists them)."""
    previous = dict(_on)
    enable(on, names)
    try:
        yield
    finally:
        for name, was_on in previous.items():
            enable(was_on, (name,))
