"""A tensor autograd engine: reverse-mode automatic differentiation on NumPy arrays.

micrograd's idea, scaled up from numbers to arrays. Where to read what:

- ``tensor.py``      the core: ``Tensor`` (with its operators), ``backward()``,
  ``add_grad``, ``nodes``, ``no_grad``
- ``elementwise.py`` + - * / ** exp log relu sigmoid tanh abs sqrt clamp, and ``lift``
- ``matmul.py``      @, written as dA = G B^T and dB = A^T G; ``linear`` (x W^T + b)
- ``reduce.py``      sum mean max min argmax argmin softmax log_softmax
- ``shape.py``       reshape, transposes, indexing, clone
- ``broadcast.py``   ``unbroadcast``: broadcasting undone in one place
- ``guards.py``      what the engine refuses (changed inputs, in-place updates of
  parameters)
- ``interop.py``     Python, NumPy and PyTorch manners (``float(t)``, ``t > 0``,
  ``dim=``)
- ``fast.py``        the speed paths, twins of plain ops (``relu``), on unless
  ``fast_paths(False)``

The op-writer's contract (what ``elementwise.py`` uses, and what a new op needs):
``Tensor(data, inputs=(x, ...), op="name")`` records an op's result; ``out.backward_fn``
is a function of dL/d(out) that sends each input its gradient with ``x.add_grad(g)``;
``lift(other, like)`` makes a number or an array operand a constant Tensor;
``unbroadcast(g, x.shape)`` sums a gradient back to a broadcast input's shape;
``nodes(root)`` lists a graph, inputs first; ``watch_backward(watcher)`` watches each
step of a backward pass. ``t.inputs`` and ``t.op`` say how a tensor was made.

How ``a * b`` runs, forward to backward: the note at the top of ``tensor.py``. The
operators (``a * b``, ``a @ b``) are methods of ``Tensor`` that call ``ops.mul``
(``elementwise.mul``), ``ops.matmul`` (``matmul.matmul``), ...: this file fills in
``ops``, since the op modules import ``Tensor``, then binds the named methods
(``t.exp()``, ``t.sum()``) and the Python manners to ``Tensor`` in one table.
"""

from __future__ import annotations

import operator

import numpy as np

from backprop.autograd import elementwise as ew
from backprop.autograd import fast, guards, interop, matmul, reduce, shape
from backprop.autograd.broadcast import expand_reduced, unbroadcast
from backprop.autograd.elementwise import lift
from backprop.autograd.fast import fast_paths
from backprop.autograd.numerics import stable_sigmoid
from backprop.autograd.shape import stack
from backprop.autograd.tensor import (
    Tensor,
    is_grad_enabled,
    no_grad,
    nodes,
    ops,
    watch_backward,
)

__all__ = [
    "Tensor", "no_grad", "is_grad_enabled", "unbroadcast", "expand_reduced",
    "stable_sigmoid", "nodes", "watch_backward", "fast_paths", "lift", "stack",
]

# the op function each operator of Tensor calls: Tensor.__mul__ calls ops.mul, ...
ops.add, ops.sub, ops.mul, ops.div = ew.add, ew.sub, ew.mul, ew.div
ops.power, ops.neg, ops.matmul = ew.power, ew.neg, matmul.matmul
_pytorch_axes = interop.pytorch_axis_names  # t.sum(dim=0, keepdim=True) as well

_METHODS = {
    # differentiable ops
    "exp": ew.exp, "log": ew.log, "relu": ew.relu, "sigmoid": ew.sigmoid,
    "tanh": ew.tanh,
    "abs": ew.absolute, "sqrt": ew.sqrt, "clamp": ew.clamp, "clip": ew.clamp,
    "sum": _pytorch_axes(reduce.sum), "mean": _pytorch_axes(reduce.mean),
    "max": _pytorch_axes(reduce.max), "min": _pytorch_axes(reduce.min),
    "argmax": _pytorch_axes(reduce.argmax), "argmin": _pytorch_axes(reduce.argmin),
    "softmax": _pytorch_axes(reduce.softmax),
    "log_softmax": _pytorch_axes(reduce.log_softmax),
    "reshape": shape.reshape, "view": shape.reshape, "flatten": shape.flatten,
    "squeeze": shape.squeeze, "unsqueeze": shape.unsqueeze, "permute": shape.permute,
    "transpose": shape.transpose, "__getitem__": shape.getitem, "clone": shape.clone,
    "T": property(shape.transposed),
    # the same ops under other names, and with the number on the left (2 * t)
    "pow": interop.power, "matmul": interop.matmul,
    "__radd__": interop.reflected(operator.add),
    "__rsub__": interop.reflected(operator.sub),
    "__rmul__": interop.reflected(operator.mul),
    "__rtruediv__": interop.reflected(operator.truediv),
    "__rpow__": interop.reflected(operator.pow),
    "__rmatmul__": interop.reflected(operator.matmul),
    # in-place updates, with PyTorch's rules (guards.in_place)
    "__iadd__": guards.in_place("+", np.add, operator.add, is_grad_enabled),
    "__isub__": guards.in_place("-", np.subtract, operator.sub, is_grad_enabled),
    "__imul__": guards.in_place("*", np.multiply, operator.mul, is_grad_enabled),
    "__itruediv__": guards.in_place(
        "/", np.true_divide, operator.truediv, is_grad_enabled
    ),
    # Python and NumPy manners
    "ndim": property(interop.ndim),
    "size": property(interop.size), "dtype": property(interop.dtype),
    "is_leaf": property(interop.is_leaf), "numel": interop.numel,
    "requires_grad_": interop.requires_grad_, "detach": interop.detach,
    "__len__": interop.length, "__repr__": interop.represent, "item": interop.item,
    "__float__": interop.as_float, "__int__": interop.as_int,
    "__bool__": interop.as_bool,
    "__format__": interop.format_, "__array__": interop.as_array,
    "__array_function__": interop.array_function,
    "__array_ufunc__": interop.array_ufunc,  # ndarray + t calls t.__radd__
    "tolist": interop.tolist, "numpy": interop.numpy,
    "__eq__": interop.comparison(np.equal), "__ne__": interop.comparison(np.not_equal),
    "__lt__": interop.comparison(np.less), "__le__": interop.comparison(np.less_equal),
    "__gt__": interop.comparison(np.greater),
    "__ge__": interop.comparison(np.greater_equal),
}
for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)

# The speed paths (fast.py) then replace one of the plain ops above by a faster twin:
# "relu" (fast.relu). What the chapters teach is the plain op; `with
# fast_paths(False):` runs it.
fast.enable()
