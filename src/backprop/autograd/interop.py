"""How a Tensor behaves as a Python and NumPy object, and the PyTorch habits it accepts.

``float(loss)``, ``f"{loss:.3f}"``, ``np.mean(losses)`` and ``plt.plot(losses)`` read a
Tensor as its values; comparisons (``t > 0``) and ``argmax`` return NumPy arrays
(boolean and int64), since a Tensor always holds floats; ``detach()`` copies instead of
sharing memory; PyTorch's names for arguments (``dim=``, ``keepdim=``) are translated
here, so the ops themselves take NumPy's (``backward()`` takes ``gradient=`` and
``retain_graph=`` itself). None of this is differentiation: ``__init__.py`` binds these
to ``Tensor``.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from backprop.autograd.elementwise import lift
from backprop.autograd.tensor import Tensor, is_grad_enabled


def ndim(t: Tensor) -> int:
    """The number of axes of ``data``."""
    return t.data.ndim


def size(t: Tensor) -> int:
    """The number of elements of ``data``."""
    return t.data.size


def dtype(t: Tensor) -> np.dtype:
    """The dtype of ``data`` (float64 unless you passed float32 or float16 data)."""
    return t.data.dtype


def numel(t: Tensor) -> int:
    """The number of elements (PyTorch's name for ``size``)."""
    return t.data.size


def is_leaf(t: Tensor) -> bool:
    """True for a tensor you created (and anything not computed from a tracked tensor):
    the ones ``backward()`` leaves a ``.grad`` in for good."""
    return not t.inputs


def requires_grad_(t: Tensor, requires_grad: bool = True) -> Tensor:
    """Start (or stop) tracking this leaf, in place; returns it, so
    ``Tensor(x).requires_grad_()`` reads as one expression."""
    if t.inputs:
        raise RuntimeError(
            "requires_grad_() changes leaves only; this tensor was computed from "
            "others. "
            "Use t.detach().requires_grad_() for a new leaf with its values"
        )
    t.requires_grad = bool(requires_grad)
    return t


def detach(t: Tensor) -> Tensor:
    """A constant with a copy of this tensor's values, cut from the graph.

    Gradients do not flow through it. (PyTorch's ``detach`` shares memory instead; a
    copy means changing one can never silently change the other.)
    """
    return Tensor(t.data)


def length(t: Tensor) -> int:
    if t.ndim == 0:
        raise TypeError(
            "len() of a 0-d tensor (a single number): use t.item() or t.numel()"
        )
    return len(t.data)


def represent(t: Tensor) -> str:
    values = np.array2string(t.data, separator=", ", prefix="Tensor(")
    extras = "" if t.dtype == np.float64 else f", dtype={t.dtype}"
    extras += ", requires_grad=True" if t.requires_grad else ""
    return f"Tensor({values}{extras})"


def item(t: Tensor) -> float:
    """The value of a one-element tensor as a Python float (e.g. for logging a loss)."""
    if t.size != 1:
        raise ValueError(
            f"item() needs a one-element tensor, this one has shape {t.shape}: pick an "
            "element (t[0]) or reduce first (t.sum(), t.mean())"
        )
    return t.data.item()


def as_float(t: Tensor) -> float:
    return float(item(t))


def as_int(t: Tensor) -> int:
    return int(item(t))


def as_bool(t: Tensor) -> bool:
    if t.size != 1:
        raise RuntimeError(
            f"the truth value of a tensor of shape {t.shape} is ambiguous: use "
            "(t > 0).any() or (t > 0).all(), or t.item() for a one-element tensor"
        )
    return bool(t.data.item())


def format_(t: Tensor, spec: str) -> str:
    if not spec:
        return repr(t)
    if t.size != 1:
        raise TypeError(
            f"format spec {spec!r} needs a one-element tensor, this one has shape "
            f"{t.shape}: format t.item() or t.detach().numpy() instead"
        )
    return format(item(t), spec)


def as_array(t: Tensor, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
    """``np.asarray(t)``: the values. Refused for an array that requires grad, as
    PyTorch refuses it: the values would leave the graph silently. A one-element tensor
    (a loss) reads as its number, as ``float(t)`` does, so a list of losses plots."""
    if t.requires_grad and t.data.size != 1:
        raise TypeError(
            "np.asarray(t) (or np.array(t)) of a tensor that requires grad would give "
            "its values without a gradient: whatever is computed from them never "
            "reaches t. Use the Tensor's own ops, or t.detach().numpy() for values you "
            "do not differentiate"
        )
    values = np.asarray(t.data, dtype=dtype)
    return values.copy() if copy else values


def array_function(t: Tensor, func: Any, types: Any, args: tuple,
                   kwargs: dict) -> Any:
    """NumPy's functions given a Tensor (``np.dot``, ``np.where``, ``np.sum`` ...)
    compute on its values and record nothing: a gradient would stop there, silently.
    So they refuse a tensor that requires grad (as PyTorch's ``.numpy()`` does), and
    run on the values of the others."""
    values = _values_for(f"np.{func.__name__}")
    return func(*values(args), **{key: values(v) for key, v in kwargs.items()})


# `ndarray + t` makes NumPy call np.add(array, t): each such ufunc is the Tensor's
# reflected operator (array < t is t > array)
_REFLECTED = {
    np.add: "__radd__", np.subtract: "__rsub__", np.multiply: "__rmul__",
    np.true_divide: "__rtruediv__", np.power: "__rpow__", np.matmul: "__rmatmul__",
    np.equal: "__eq__", np.not_equal: "__ne__", np.less: "__gt__",
    np.less_equal: "__ge__", np.greater: "__lt__", np.greater_equal: "__le__",
}
_OWN_OP = {"exp": "t.exp()", "log": "t.log()", "tanh": "t.tanh()", "sqrt": "t.sqrt()",
           "absolute": "t.abs()", "maximum": "t.relu() or t.clamp(min=...)",
           "minimum": "t.clamp(max=...)", "clip": "t.clamp(min, max)"}


def array_ufunc(t: Tensor, ufunc: np.ufunc, method: str, *inputs: Any,
                **kwargs: Any) -> Any:
    """NumPy's ufuncs given a Tensor. ``ndarray + t`` (and ``-``, ``*``, ``/``, ``**``,
    ``@``, comparisons) runs the Tensor's reflected operator, ``t.__radd__(array)``;
    any other ufunc (``np.exp(t)``) refuses a tensor that requires grad, naming the
    Tensor's own op, and runs on the values of the others, like ``array_function``."""
    if (method == "__call__" and not kwargs and ufunc in _REFLECTED
            and len(inputs) == 2 and inputs[1] is t
            and not isinstance(inputs[0], Tensor)):
        return getattr(t, _REFLECTED[ufunc])(inputs[0])
    values = _values_for(f"np.{ufunc.__name__}", _OWN_OP.get(ufunc.__name__))
    return getattr(ufunc, method)(*values(inputs),
                                  **{key: values(v) for key, v in kwargs.items()})


def _values_for(name: str, own_op: str | None = None) -> Callable[[Any], Any]:
    """A function that replaces each Tensor in NumPy's arguments by its values, and
    refuses a tensor that requires grad: NumPy records nothing, so no gradient would
    flow through ``name``."""
    advice = (f"Use {own_op}" if own_op else "Use the Tensor's own ops (t.sum(), "
              "a @ b, t.exp(), t.clamp(...), t.reshape(...))")

    def values(x: Any) -> Any:
        if isinstance(x, Tensor):
            if x.requires_grad and is_grad_enabled():
                raise TypeError(
                    f"{name} got a Tensor that requires grad: NumPy's functions "
                    f"record nothing, so no gradient would flow through it. {advice}, "
                    "or t.detach() for values you do not differentiate"
                )
            return x.data
        return type(x)(values(item) for item in x) if type(x) in (list, tuple) else x

    return values


def tolist(t: Tensor) -> Any:
    """The values as (nested) Python lists of floats, or a float for a 0-d tensor."""
    return t.data.tolist()


def numpy(t: Tensor) -> np.ndarray:
    """The underlying array (shared, not copied, like PyTorch's ``.numpy()``). Refused,
    as PyTorch does, for a tensor that requires grad: a change through the array would
    silently change the values its ops' backward reads."""
    if t.requires_grad:
        raise RuntimeError(
            "numpy() on a tensor that requires grad: the array shares its memory, and "
            "the graph would not see a change made through it. Use t.detach().numpy() "
            "(a copy, cut from the graph)"
        )
    return t.data


def power(t: Tensor, exponent: Any) -> Tensor:
    """``t.pow(b)`` is ``t ** b``."""
    return t**exponent


def matmul(t: Tensor, other: Any) -> Tensor:
    """``a.matmul(b)`` is ``a @ b``."""
    return t @ other


def comparison(compare: np.ufunc) -> Any:
    """An elementwise comparison giving a NumPy boolean array: a mask to index with, or
    to count (``(pred == y).mean()``). It has no gradient (a step's slope is 0 or
    undefined)."""

    def method(t: Tensor, other: object) -> Any:
        if isinstance(other, Tensor):
            return compare(t.data, other.data)
        if isinstance(other, (numbers.Real, np.ndarray)):
            return compare(t.data, other)
        return NotImplemented

    method.__name__ = compare.__name__
    return method


def reflected(op: Any) -> Any:
    """``2 * t``, ``1 - t``, ``ndarray @ t``: the left operand becomes a constant."""

    def method(t: Tensor, other: Any) -> Tensor:
        return op(lift(other, t), t)

    method.__name__ = f"__r{op.__name__}__"
    return method


def pytorch_axis_names(op: Callable) -> Callable:
    """``op`` (a reduction, or softmax) as a method that also takes PyTorch's ``dim=``
    for ``axis=`` and ``keepdim=`` for ``keepdims=``."""

    @functools.wraps(op)
    def method(t: Tensor, *args: Any, dim: Any = None, keepdim: bool | None = None,
               **kwargs: Any) -> Any:
        if dim is not None:
            if args or "axis" in kwargs:
                raise TypeError(
                    "give the axis once: axis= (NumPy's name) or dim= (PyTorch's)"
                )
            kwargs["axis"] = dim
        if keepdim is not None:
            kwargs["keepdims"] = keepdim
        return op(t, *args, **kwargs)

    return method
