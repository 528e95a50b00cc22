"""The plain versions and the broken versions the AutoGrad chapter shows next to the real engine.

Nothing here is used by the engine. ``recursive_topological_order`` is the textbook recursive
depth-first search, correct but limited by Python's recursion depth, shown before the engine's
iterative version (``backprop.autograd.nodes``; ``reverse_topological_order`` is the order
``backward()`` runs in). ``overwriting_gradients`` makes, for one ``with`` block, every
gradient that arrives replace the one before instead of adding to it: the classic bug that
only a reused tensor reveals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np

from backprop.autograd import Tensor, nodes, watch_backward

__all__ = ["recursive_topological_order", "reverse_topological_order", "overwriting_gradients"]


def recursive_topological_order(root: Tensor) -> list[Tensor]:
    """Every tracked tensor ``root`` depends on, ``root`` first, each before its inputs.

    Depth-first: visit all of a node's inputs, then append the node (post-order), so every node
    lands after everything it was computed from; reversed, every node comes before its inputs.
    One Python call per level of the graph: a chain deeper than the recursion limit fails.
    """
    post_order: list[Tensor] = []
    visited: set[int] = set()

    def visit(node: Tensor) -> None:
        if id(node) in visited:
            return
        visited.add(id(node))
        for parent in node.inputs:
            if parent.requires_grad:
                visit(parent)
        post_order.append(node)  # after all its inputs

    visit(root)
    return post_order[::-1]


def reverse_topological_order(root: Tensor) -> list[Tensor]:
    """The order ``backward()`` visits the graph in: ``nodes(root)`` reversed, root first."""
    return nodes(root)[::-1]


@contextlib.contextmanager
def overwriting_gradients() -> Iterator[None]:
    """Inside the block, a gradient sent to a tensor REPLACES what it had (``grad = g``
    instead of ``grad += g``). DELIBERATELY WRONG, to show what the bug does."""

    def storing(tensor: Tensor) -> Callable[[np.ndarray], None]:
        def add_grad(grad: np.ndarray) -> None:
            if tensor.requires_grad:
                tensor.grad = np.array(grad, dtype=tensor.data.dtype)

        return add_grad

    def watcher(node: Tensor, grad: np.ndarray, backward_fn: Callable) -> None:
        for parent in node.inputs:  # this node's inputs store instead of add
            parent.add_grad = storing(parent)
        try:
            backward_fn(grad)
        finally:
            for parent in node.inputs:
                vars(parent).pop("add_grad", None)

    with watch_backward(watcher):
        yield
