"""The matrix product. For matrices, C = A B gives dL/dA = G B^T and dL/dB = A^T G.

``matmul`` writes exactly that for two matrices. np.matmul also takes vectors and
stacks of matrices; ``stacked_backward`` covers them with the same two products:
``as_matrices`` turns vectors into matrices, and ``unbroadcast`` sums the gradient of
a matrix shared across a stack. ``linear`` is a layer's ``x @ W.T + b`` as one op,
the same two products with B = W^T (``nn.Linear`` runs it).
"""

from __future__ import annotations

import numpy as np

from backprop.autograd.broadcast import unbroadcast
from backprop.autograd.elementwise import Operand, lift
from backprop.autograd.tensor import Tensor


def matmul(a: Tensor, b: Operand) -> Tensor:
    """``a @ b``. For two matrices, dL/da = grad @ b.T and dL/db = a.T @ grad."""
    b = lift(b, a)
    out = Tensor(product(a.data, b.data), inputs=(a, b), op="@")

    def backward(grad: np.ndarray) -> None:
        if a.requires_grad:
            a.add_grad(grad @ b.data.T)
        if b.requires_grad:
            b.add_grad(a.data.T @ grad)

    matrices = a.data.ndim == 2 and b.data.ndim == 2
    out.backward_fn = backward if matrices else stacked_backward(a, b)
    return out


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` as one op, the layer ``nn.Linear`` runs (PyTorch's
    ``F.linear``). Its backward is ``matmul``'s two products with B = W^T, each written
    in the layout of what it updates: dX = G W, dW = G^T X (not its transpose), and the
    bias, added to every row, gets the gradient summed over the rows."""
    x = lift(x, weight)
    if x.data.ndim != 2:  # a vector, or a stack of matrices: the general ops
        out = matmul(x, weight.T)
        return out if bias is None else out + bias
    data = product(x.data, weight.data.T)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    out = Tensor(data if bias is None else data + bias.data, inputs=inputs, op="linear")

    def backward(grad: np.ndarray) -> None:
        if x.requires_grad:
            x.add_grad(grad @ weight.data)
        if weight.requires_grad:
            weight.add_grad(grad.T @ x.data)
        if bias is not None and bias.requires_grad:
            bias.add_grad(unbroadcast(grad, bias.shape))  # summed over the rows

    out.backward_fn = backward
    return out


def stacked_backward(a: Tensor, b: Tensor):
    """The same two products for vectors and stacks of matrices: vectors are viewed as
    matrices, and a matrix shared across a stack gets the sum of its gradients."""

    def backward(grad: np.ndarray) -> None:
        x, y, g = as_matrices(a.data, b.data, grad)
        if a.requires_grad:
            grad_a = g @ y.swapaxes(-1, -2)
            a.add_grad(unbroadcast(grad_a, x.shape).reshape(a.shape))
        if b.requires_grad:
            grad_b = x.swapaxes(-1, -2) @ g
            b.add_grad(unbroadcast(grad_b, y.shape).reshape(b.shape))

    return backward


def as_matrices(
    a: np.ndarray, b: np.ndarray, grad: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-D operands of ``a @ b`` viewed as matrices, as np.matmul does, ``grad`` to
    match.

    A 1-D left operand (k,) acts as a row (1, k) whose row axis is dropped from the
    result; a 1-D right operand (k,) acts as a column (k, 1) whose column axis is
    dropped. Putting those axes back lets one matrix formula cover every case.
    """
    if b.ndim == 1:
        b, grad = b[:, np.newaxis], np.expand_dims(grad, -1)
    if a.ndim == 1:
        a, grad = a[np.newaxis, :], np.expand_dims(grad, -2)
    return a, b, grad


def product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` with an error message that names both shapes."""
    try:
        return a @ b
    except ValueError as error:
        raise ValueError(
            f"@ cannot multiply shapes {a.shape} and {b.shape}: the last axis of the "
            "left operand must equal the second-to-last axis of the right one (its "
            "only axis if it is 1-D), and any leading batch axes must broadcast"
        ) from error
