"""What backpropagation costs: the memory a recorded graph keeps alive, and the time it takes.

Reverse mode gets every gradient in one backward sweep, but the sweep runs *after* the forward
pass and needs the forward pass's intermediate results: a Linear layer's weight gradient is
G^T X, so X must still be there when G arrives. The engine keeps them by keeping the graph, and
``graph_memory`` counts exactly what that graph holds, by walking it from the loss.

Arrays that share memory (``W.T`` is a view of ``W``) are counted once, by the buffer they
view. Each ``_backward`` closure may hold a little more (ReLU's gradient reads its input, which
is already counted; indexing keeps its index array), so the count is what the graph's tensors
hold, not every byte of the process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["GraphMemory", "graph_memory", "time_forward_backward"]


@dataclass(frozen=True)
class GraphMemory:
    """Bytes held by a recorded graph, split by role.

    - ``activations``: results of operations (the tensors with inputs), kept for backward;
    - ``inputs``: leaves that need no gradient (the data batch, targets, constants);
    - ``parameters``: leaves with ``requires_grad=True`` (weights and biases);
    - ``tensors``: how many distinct tensors the graph holds.
    """

    activations: int
    inputs: int
    parameters: int
    tensors: int

    @property
    def saved_for_backward(self) -> int:
        """Activations plus inputs: what exists only because a backward pass may follow."""
        return self.activations + self.inputs


def _owner(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory ``array`` looks at (itself unless it is a view)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _all_tensors(root: Any) -> list[Any]:
    """Every tensor reachable from ``root`` through ``_prev``, constants included, each once.

    An explicit stack, not recursion, so a deep graph does not hit the recursion limit.
    """
    found: list[Any] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        found.append(node)
        stack.extend(node._prev)
    return found


def graph_memory(root: Any) -> GraphMemory:
    """Walk the graph that computed ``root`` (e.g. a loss) and sum the bytes its tensors hold.

    Every buffer is counted once, under the first role that claims it: parameters first, so
    ``W.T`` (a view of ``W``) costs nothing extra, then inputs, then activations.
    """
    tensors = _all_tensors(root)
    roles: dict[str, list[Any]] = {"parameters": [], "inputs": [], "activations": []}
    for tensor in tensors:
        if tensor._prev:
            roles["activations"].append(tensor)
        elif tensor.requires_grad:
            roles["parameters"].append(tensor)
        else:
            roles["inputs"].append(tensor)
    counted: set[int] = set()
    totals: dict[str, int] = {}
    for role in ("parameters", "inputs", "activations"):
        totals[role] = 0
        for tensor in roles[role]:
            owner = _owner(tensor.data)
            if id(owner) not in counted:
                counted.add(id(owner))
                totals[role] += owner.nbytes
    return GraphMemory(tensors=len(tensors), **totals)


def time_forward_backward(
    forward: Callable[[], Any], repeats: int = 20, warmup: int = 2
) -> dict[str, float]:
    """Median seconds of ``forward()`` alone, and of ``forward()`` followed by ``.backward()``.

    ``forward`` computes a one-element tensor (a loss) from scratch each call, so each timed
    backward runs on a fresh graph (gradients accumulate in the leaves; that costs no extra
    time). The median resists the odd slow run caused by other programs. Returns ``forward``,
    ``forward_backward``, ``backward`` (their difference) and ``ratio`` = forward_backward /
    forward. Timings depend on the machine: report them, never assert them.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")

    def forward_and_backward() -> None:
        forward().backward()

    forward_time = _median_seconds(forward, repeats, warmup)
    both_time = _median_seconds(forward_and_backward, repeats, warmup)
    return {
        "forward": forward_time,
        "forward_backward": both_time,
        "backward": both_time - forward_time,
        "ratio": both_time / forward_time,
    }


def _median_seconds(function: Callable[[], Any], repeats: int, warmup: int) -> float:
    """Run ``function`` ``warmup`` times untimed, then ``repeats`` times; the median duration."""
    for _ in range(warmup):
        function()
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        durations.append(time.perf_counter() - start)
    return float(np.median(durations))
