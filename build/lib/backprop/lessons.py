"""The plain versions and the broken versions the AutoGrad chapter shows next to the real engine.

Nothing here is used by the engine. ``recursive_topological_order`` is the textbook recursive
depth-first search, correct but limited by Python's recursion depth, shown before the engine's
iterative version (``reverse_topological_order``, which is ``backward()``'s own).
``overwriting_gradients`` swaps in, for one ``with`` block, an engine that stores each gradient
instead of adding it: the classic bug that only a reused tensor reveals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from backprop.autograd import Tensor
from backprop.autograd import _reverse_topological_order as reverse_topological_order

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
        for parent in node._prev:
            if parent.requires_grad:
                visit(parent)
        post_order.append(node)  # after all its inputs

    visit(root)
    return post_order[::-1]


@contextlib.contextmanager
def overwriting_gradients() -> Iterator[None]:
    """Inside the block, ``Tensor._accumulate`` keeps only the LAST gradient it receives
    (``grad = g`` instead of ``grad += g``). DELIBERATELY WRONG, to show what the bug does."""

    def overwrite(self: Any, grad: np.ndarray, *, fresh: bool = False) -> None:
        if self.requires_grad:
            self.grad = np.array(grad, dtype=self.dtype)

    real = Tensor._accumulate
    Tensor._accumulate = overwrite
    try:
        yield
    finally:
        Tensor._accumulate = real
