"""The core of the engine: a tensor that remembers how it was made, and ``backward()``.

An op computes its result with NumPy, wraps it as ``Tensor(data, inputs=..., op=...)``
and sets ``out.backward_fn``: a function that receives dL/d(out) and sends each input
its share with ``input.add_grad(...)``. ``backward()`` lists the graph so every tensor
comes after its inputs, then runs the backward functions from the loss down to the
leaves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from backprop.autograd import guards

_grad_enabled = True
_watchers: list[Callable] = []


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
    """A NumPy array (``data``) with a gradient (``grad``) and a record of its op."""

    __array_ufunc__ = None  # `ndarray + Tensor` calls our __radd__, not NumPy's loop
    version = changed_at = 0  # changes of .data: see guards.note_change

    def __init__(self, data: ArrayLike, requires_grad: bool = False,
                 inputs: tuple[Tensor, ...] = (), op: str = "") -> None:
        # an op's fresh result is kept as it is; data from outside is copied
        self._data = guards.as_float_array(data, copy=not inputs)
        tracked = _grad_enabled and any([t.requires_grad for t in inputs])
        self.requires_grad = bool(requires_grad) or tracked
        self.grad: np.ndarray | None = None
        self.inputs = tuple(inputs) if tracked else ()  # what this was computed from
        self.op = op if tracked else ""  # the op's name, for drawings
        self.backward_fn: Callable[[np.ndarray], None] | None = None
        self.created_at = guards.changes  # for guards.check_unchanged

    @property
    def data(self) -> np.ndarray:
        """The values. Assigning to ``.data`` (``t.data -= g``) counts as a change of
        ``version``; writing through an index (``w.data[0] = 1``) is not seen."""
        return self._data

    @data.setter
    def data(self, values: ArrayLike) -> None:
        self._data = guards.as_float_array(values, copy=False)
        guards.note_change(self)  # backward() refuses ops that saw the old values

    def add_grad(self, grad: np.ndarray) -> None:
        """Add ``grad`` into ``.grad``: a tensor used twice gets a gradient per use."""
        if not self.requires_grad:
            return  # a constant keeps no gradient
        if np.shape(grad) != self._data.shape:
            guards.wrong_grad_shape(self, grad)  # raises, saying what to fix
        if self.grad is None:
            self.grad = np.empty_like(self._data)  # the first share: a copy of it
            self.grad[...] = grad
        else:
            self.grad += grad

    def backward(self, grad: ArrayLike | None = None, retain_graph: bool | None = None,
                 *, gradient: ArrayLike | None = None) -> None:
        """Add dL/dx into ``x.grad`` for every tracked x this was computed from.

        Leave ``grad`` out for a one-element loss (dL/dL = 1); ``gradient=`` is
        PyTorch's name for it; ``retain_graph`` is accepted and ignored (the graph is
        always kept). Gradients accumulate: call ``zero_grad()`` between steps.
        """
        seed = guards.starting_gradient(self, grad, gradient)
        order = nodes(self)[::-1]  # the loss first, every tensor before its inputs
        for node in order:
            if node.inputs:
                node.grad = None  # an intermediate holds this call's gradient only
        self.add_grad(seed)
        for node in order:
            if node.inputs and node.backward_fn is None:
                guards.missing_backward(node)  # raises: its inputs would get nothing
            if node.backward_fn and node.grad is not None:  # a leaf has no backward
                guards.check_unchanged(node)  # refuses inputs changed since forward
                if _watchers:  # a watcher (a step-through figure) makes the call
                    _watchers[-1](node, node.grad, node.backward_fn)
                else:
                    node.backward_fn(node.grad)

    def zero_grad(self) -> None:
        """Forget the gradient (``grad = None``, as PyTorch's optimisers do)."""
        self.grad = None


def nodes(root: Tensor, constants: bool = False) -> list[Tensor]:
    """Every tensor ``root`` was computed from, and ``root``, each once, inputs first.

    Tracked tensors only, unless ``constants``. A depth-first search with an explicit
    stack, not recursion, so a graph 10,000 ops deep does not hit Python's recursion
    limit: a tensor is appended after all its inputs (post-order).
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
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
