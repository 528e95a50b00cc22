"""The speed paths: faster twins of plain ops, switched on and off as a whole.

Each function here computes what the plain op it names computes, with less work where
a training step spends its time; the values are the same to the last bit (the twins
skip a copy, they do no arithmetic of their own), which ``tests/`` checks by running
every engine test with these on and off. ``benchmarks/`` measures what they gain
(``benchmarks/README.md``). On by default; ``with fast_paths(False):`` runs the plain
ops.

- ``take_grad`` replaces ``Tensor.add_grad`` in these twins, where an op has just built
  a gradient for one input alone: the first such gradient becomes ``.grad`` without a
  copy.
- ``relu`` replaces ``elementwise.relu``: its masked gradient is handed over, not
  copied.

(``nn.Linear`` needs no twin: it runs one op, ``matmul.linear``, whose backward
computes each gradient in its parameter's layout.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from backprop.autograd import elementwise
from backprop.autograd.tensor import Tensor

_enabled = False


def take_grad(t: Tensor, grad: np.ndarray) -> None:
    """``t.add_grad(grad)`` for a ``grad`` built for ``t`` alone, which nobody else
    holds: as ``t``'s first gradient it is kept as it is instead of copied."""
    if _enabled and t.grad is None and t.requires_grad and grad.dtype == t.data.dtype:
        if grad.shape == t.data.shape and grad.flags.writeable:
            t.grad = grad
            return
    t.add_grad(grad)


def relu(x: Tensor) -> Tensor:
    """``elementwise.relu``, whose masked gradient is handed over, not copied."""
    out_data = np.maximum(x.data, 0)
    out = Tensor(out_data, inputs=(x,), op="relu")

    def backward(grad: np.ndarray) -> None:
        take_grad(x, grad * (out_data > 0))  # out > 0 exactly where x > 0

    out.backward_fn = backward
    return out


# each speed path (named as you write it: x.relu()): where the op is looked up, the
# plain op, and its twin here
TWINS = {
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
