"""Elementwise ops: each computes its result, then defines the backward right under it.

Every op follows one pattern (micrograd's): compute the output array with NumPy; make
``out = Tensor(data, inputs=(...), op=name)``; define ``backward(grad)``, which receives
dL/d(out) and sends each input dL/d(out) times the op's local derivative with
``input.add_grad(...)``; attach it as ``out.backward_fn``; return ``out``. An input that
was broadcast gets its gradient summed back to its own shape by ``unbroadcast``, and
``lift`` makes a number (or array) operand a constant Tensor.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

from backprop.autograd.broadcast import unbroadcast
from backprop.autograd.numerics import stable_sigmoid
from backprop.autograd.tensor import Tensor

Operand = Tensor | ArrayLike


def lift(value: object, like: Tensor) -> Tensor:
    """``value`` as a Tensor; a number or an array becomes a constant, a number (or an
    integer array) of ``like``'s dtype: ``float32 * 2`` stays float32."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, numbers.Real):
        return Tensor(np.asarray(value, like.data.dtype))
    if isinstance(value, np.ndarray):
        integers = value.dtype.kind in "iub"
        return Tensor(value.astype(like.data.dtype) if integers else value)
    raise TypeError(f"an op on a Tensor takes a Tensor, a NumPy array or a number, not "
                    f"{type(value).__name__}")


def add(a: Tensor, b: Operand) -> Tensor:
    b = lift(b, a)
    out = Tensor(a.data + b.data, inputs=(a, b), op="+")

    def backward(grad: np.ndarray) -> None:  # d(a+b)/da = d(a+b)/db = 1
        if a.requires_grad:
            a.add_grad(unbroadcast(grad, a.shape))
        if b.requires_grad:
            b.add_grad(unbroadcast(grad, b.shape))

    out.backward_fn = backward
    return out


def sub(a: Tensor, b: Operand) -> Tensor:
    b = lift(b, a)
    out = Tensor(a.data - b.data, inputs=(a, b), op="-")

    def backward(grad: np.ndarray) -> None:  # d(a-b)/da = 1, d(a-b)/db = -1
        if a.requires_grad:
            a.add_grad(unbroadcast(grad, a.shape))
        if b.requires_grad:
            b.add_grad(unbroadcast(-grad, b.shape))

    out.backward_fn = backward
    return out


def mul(a: Tensor, b: Operand) -> Tensor:
    b = lift(b, a)
    out = Tensor(a.data * b.data, inputs=(a, b), op="*")

    def backward(grad: np.ndarray) -> None:  # d(ab)/da = b, d(ab)/db = a
        if a.requires_grad:
            a.add_grad(unbroadcast(grad * b.data, a.shape))
        if b.requires_grad:
            b.add_grad(unbroadcast(grad * a.data, b.shape))

    out.backward_fn = backward
    return out


def div(a: Tensor, b: Operand) -> Tensor:
    b = lift(b, a)
    out_data = a.data / b.data
    out = Tensor(out_data, inputs=(a, b), op="/")

    def backward(grad: np.ndarray) -> None:  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        if a.requires_grad:
            a.add_grad(unbroadcast(grad / b.data, a.shape))
        if b.requires_grad:  # -a/b^2 as -(a/b)/b: finite wherever a/b is, unlike b^2
            b.add_grad(unbroadcast(-grad * out_data / b.data, b.shape))

    out.backward_fn = backward
    return out


def power(a: Tensor, b: Operand) -> Tensor:
    b = lift(b, a)
    out_data = a.data**b.data
    out = Tensor(out_data, inputs=(a, b), op="**")

    def backward(grad: np.ndarray) -> None:
        x, y = a.data, b.data
        with np.errstate(divide="ignore", invalid="ignore"):  # 0^-1 below is masked out
            if a.requires_grad:  # d(x^y)/dx = y x^(y-1); 0 where y = 0 (x^0 is flat)
                local = np.where(y == 0, 0, y * x ** (y - 1))
                a.add_grad(unbroadcast(grad * local, a.shape))
            if b.requires_grad:  # d(x^y)/dy = x^y ln(x); 0 at x = 0, as in PyTorch
                local = np.where((x == 0) & (y >= 0), 0, out_data * np.log(x))
                b.add_grad(unbroadcast(grad * local, b.shape))

    out.backward_fn = backward
    return out


def neg(a: Tensor) -> Tensor:
    out = Tensor(-a.data, inputs=(a,), op="neg")

    def backward(grad: np.ndarray) -> None:  # d(-a)/da = -1
        a.add_grad(-grad)

    out.backward_fn = backward
    return out


def exp(x: Tensor) -> Tensor:
    """e to the power of each element."""
    out_data = np.exp(x.data)
    out = Tensor(out_data, inputs=(x,), op="exp")

    def backward(grad: np.ndarray) -> None:  # d(e^x)/dx = e^x: reuse the output
        x.add_grad(grad * out_data)

    out.backward_fn = backward
    return out


def log(x: Tensor) -> Tensor:
    """Natural logarithm of each element."""
    out = Tensor(np.log(x.data), inputs=(x,), op="log")

    def backward(grad: np.ndarray) -> None:  # d(ln x)/dx = 1/x
        x.add_grad(grad / x.data)

    out.backward_fn = backward
    return out


def relu(x: Tensor) -> Tensor:
    """max(0, x) elementwise. Its gradient at exactly 0 is taken as 0, as in PyTorch."""
    out_data = np.maximum(x.data, 0)
    out = Tensor(out_data, inputs=(x,), op="relu")

    def backward(grad: np.ndarray) -> None:  # 1 where the input was positive, else 0
        x.add_grad(grad * (out_data > 0))

    out.backward_fn = backward
    return out


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x) elementwise, without overflow (see ``stable_sigmoid``)."""
    out_data = stable_sigmoid(x.data)
    out = Tensor(out_data, inputs=(x,), op="sigmoid")

    def backward(grad: np.ndarray) -> None:  # s'(x) = s(x) (1 - s(x))
        x.add_grad(grad * out_data * (1 - out_data))

    out.backward_fn = backward
    return out


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent elementwise."""
    out_data = np.tanh(x.data)
    out = Tensor(out_data, inputs=(x,), op="tanh")

    def backward(grad: np.ndarray) -> None:  # tanh'(x) = 1 - tanh(x)^2
        x.add_grad(grad * (1 - out_data**2))

    out.backward_fn = backward
    return out


def absolute(x: Tensor) -> Tensor:
    """|x| elementwise. Its gradient at exactly 0 is taken as 0, as in PyTorch."""
    out = Tensor(np.abs(x.data), inputs=(x,), op="abs")

    def backward(grad: np.ndarray) -> None:  # d|x|/dx = sign(x)
        x.add_grad(grad * np.sign(x.data))

    out.backward_fn = backward
    return out


def sqrt(x: Tensor) -> Tensor:
    """Square root of each element (its gradient is infinite at 0, as in PyTorch)."""
    out_data = np.sqrt(x.data)
    out = Tensor(out_data, inputs=(x,), op="sqrt")

    def backward(grad: np.ndarray) -> None:  # d(sqrt x)/dx = 1 / (2 sqrt x)
        with np.errstate(divide="ignore"):
            x.add_grad(grad / (2 * out_data))

    out.backward_fn = backward
    return out


def clamp(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """Each element limited to [min, max] (either bound may be None).

    The gradient passes where the input lay inside the bounds (bounds included, as in
    PyTorch) and is 0 where it was cut off: moving a clamped input changes nothing.
    """
    if min is None and max is None:
        raise ValueError("clamp needs min=, max= or both")
    low = -np.inf if min is None else min
    high = np.inf if max is None else max
    clamped = np.minimum(np.maximum(x.data, low), high).astype(x.data.dtype)
    out = Tensor(clamped, inputs=(x,), op="clamp")

    def backward(grad: np.ndarray) -> None:  # 1 inside [min, max], 0 outside
        x.add_grad(grad * ((x.data >= low) & (x.data <= high)))

    out.backward_fn = backward
    return out
