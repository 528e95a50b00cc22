"""The core of the engine: a tensor that remembers how it was made, and ``backward()``.

How ``a * b`` runs, forward to backward: ``Tensor.__mul__`` (below) calls
``elementwise.mul``, which makes ``b`` a Tensor (``lift``, above it), records
``a.data * b.data`` as ``Tensor(data, inputs=(a, b), op="*")`` (``__init__``) and sets
its ``backward_fn``. ``Tensor.backward`` lists the graph (``nodes``), seeds dL/dL = 1
and calls each ``backward_fn``, the loss first; ``mul``'s sends ``a`` and ``b`` their
gradients with ``add_grad``, each summed to its input's shape by ``unbroadcast``. The
calls into ``guards`` turn the data into a float array and refuse mistakes (four
functions, most of their lines error messages): a reader following a correct program
can skip ``guards.py``. The rest is 99 lines of functions, in three places (chapter 4
counts both as it runs; ``(a * b).sum()`` adds ``reduce.sum``):

- ``tensor.py`` (58 lines): ``__init__``, ``__mul__``, ``add_grad``, ``backward``,
  ``nodes``
- ``elementwise.py`` (24): ``lift``, ``mul``
- ``broadcast.py`` (17): ``unbroadcast``
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import numpy as np
from numpy.typing import ArrayLike

from backprop.autograd import guards

_grad_enabled = True
_watchers: list[Callable] = []
# what Tensor's operators call: ops.mul is elementwise.mul, ops.add elementwise.add,
# ops.matmul matmul.matmul ... (set by __init__.py, since those modules import Tensor)
ops = SimpleNamespace()


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Inside ``with no_grad():`` results are constants: nothing is recorded."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """True unless we are inside ``no_grad()``."""
    return _grad_enabled


class Tensor:
    """A NumPy array (``data``) with a gradient (``grad``) and a record of its op.

    To write an op: compute the result's array, record it as ``out = Tensor(data,
    inputs=(x, ...), op="name")``, and set ``out.backward_fn`` to a function of
    dL/d(out) (an array) that returns nothing and sends each input its gradient, shaped
    like the input, with ``x.add_grad(g)`` (``unbroadcast(g, x.shape)`` if ``x`` was
    broadcast).
    """

    data = guards.counted_data()  # t.data is t._data; guards notes each assignment

    def __init__(self, data: ArrayLike, requires_grad: bool = False,
                 inputs: tuple[Tensor, ...] = (), op: str = "") -> None:
        # the values as floats (copied unless an op made them); refuses wrong ones
        self._data = guards.checked_data(data, inputs, op)
        tracked = _grad_enabled and any([t.requires_grad for t in inputs])
        self.requires_grad = bool(requires_grad) or tracked
        self.grad: np.ndarray | None = None
        self.inputs = tuple(inputs) if tracked else ()  # what this was computed from
        self.op = op if tracked else ""  # the op's name, for drawings
        self.backward_fn: Callable[[np.ndarray], None] | None = None
        self.created_at = guards.changes  # check_node refuses inputs changed since

    @property
    def shape(self) -> tuple[int, ...]:  # t.shape is t.data.shape
        return self._data.shape

    def add_grad(self, grad: np.ndarray) -> None:
        """Add ``grad`` into ``.grad``: a tensor used twice gets a gradient per use."""
        if not self.requires_grad:
            return  # a constant keeps no gradient
        if isinstance(grad, Tensor) or np.shape(grad) != self._data.shape:
            guards.wrong_grad_shape(self, grad)  # raises, saying what to fix
        if self.grad is None:
            self.grad = np.empty_like(self._data)  # the first share: a copy of it
            self.grad[...] = grad
        else:
            self.grad += grad

    def backward(self, grad: ArrayLike | None = None, retain_graph: object = None, *,
                 gradient: ArrayLike | None = None) -> None:
        """Add dL/dx into ``x.grad`` for every tracked x this was computed from. Leave
        ``grad`` out for a one-element loss. Gradients add up: ``zero_grad()`` between
        steps. PyTorch's ``gradient=`` is ``grad``; ``retain_graph`` changes nothing."""
        seed = guards.checked_seed(self, grad, gradient)  # 1 for a loss, else grad
        order = nodes(self)[::-1]  # the loss first, every tensor before its inputs
        for node in order:
            if node.inputs:
                node.grad = None  # an intermediate holds this call's gradient only
        self.add_grad(seed)
        call = _watchers[-1] if _watchers else lambda node, grad, fn: fn(grad)
        for node in order:
            if node.inputs and node.grad is not None:  # a leaf has no backward
                guards.check_node(node)  # refuses a missing backward_fn, changed inputs
                if call(node, node.grad, node.backward_fn) is not None:  # fn(grad)
                    guards.returned_grad(node)  # raises: a backward uses add_grad

    def zero_grad(self) -> None:
        """Forget the gradient (``grad = None``, as PyTorch's optimisers do)."""
        self.grad = None

    # Python's operators: each calls the op function that computes it and its backward
    def __add__(self, other): return ops.add(self, other)  # elementwise.add
    def __sub__(self, other): return ops.sub(self, other)  # elementwise.sub
    def __mul__(self, other): return ops.mul(self, other)  # elementwise.mul
    def __truediv__(self, other): return ops.div(self, other)  # elementwise.div
    def __pow__(self, other): return ops.power(self, other)  # elementwise.power
    def __neg__(self): return ops.neg(self)  # elementwise.neg
    def __matmul__(self, other): return ops.matmul(self, other)  # matmul.matmul
    # The named methods are bound in __init__.py's table: t.sum() is reduce.sum,
    # t.exp() elementwise.exp, t.T shape.transposed, t.reshape() shape.reshape ...
    # With the speed paths on (the default), t.relu() runs fast.py's twin, fast.relu.


def nodes(root: Tensor, constants: bool = False) -> list[Tensor]:
    """Every tensor ``root`` was computed from, and ``root``, each once, inputs first
    (tracked tensors only, unless ``constants``). A depth-first search with a stack, not
    recursion, so a graph 10,000 ops deep does not hit Python's recursion limit."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)  # after all its inputs (post-order)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))  # back to it once its inputs are done
            for parent in node.inputs:
                if (constants or parent.requires_grad) and id(parent) not in visited:
                    stack.append((parent, False))
    return order


@contextlib.contextmanager
def watch_backward(watcher: Callable) -> Iterator[None]:
    """Inside the block, ``backward()`` calls ``watcher(node, grad, backward_fn)`` in
    place of ``backward_fn(grad)`` for each node; the watcher must call ``backward_fn``
    itself. Blocks nest: the innermost watcher is the one called."""
    _watchers.append(watcher)
    try:
        yield
    finally:
        _watchers.remove(watcher)
