"""Modules: objects that hold parameters and compute a forward pass, as in ``torch.nn``.

A ``Module`` is just a Python object with a ``forward`` method. Its parameters are ordinary
attributes holding ``Tensor(..., requires_grad=True)``; ``parameters()`` finds them by
looking through the attributes, sub-modules and lists of them. There is no registration
step: assign a Tensor or a Module to ``self.something`` and it is found. Autograd does the
backward pass, so a module never writes one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from backprop import functional as F
from backprop.autograd import Tensor

__all__ = [
    "Module", "Linear", "ReLU", "Sigmoid", "Tanh", "Softmax", "Sequential", "copy_parameters",
]


def _attribute_items(owner: object) -> Iterator[tuple[str, Any]]:
    """(name, value) for each attribute, with lists and tuples opened as name.0, name.1, ..."""
    for name, value in vars(owner).items():
        if isinstance(value, (list, tuple)):
            for position, item in enumerate(value):
                yield f"{name}.{position}", item
        else:
            yield name, value


class Module:
    """Base class of every layer and network: ``module(x)`` runs ``module.forward(x)``.

    Subclasses define ``forward``; they need not call ``super().__init__()``.
    """

    training: bool = True  # a class default, so subclasses need no __init__ boilerplate

    def forward(self, *inputs: Any) -> Any:
        """Compute the output; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *inputs: Any) -> Any:
        return self.forward(*inputs)

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Tensor]]:
        """(dotted name, tensor) for every tensor with requires_grad in this module and its
        sub-modules, each tensor once even if it is shared."""
        found: list[tuple[str, Tensor]] = []
        seen: set[int] = set()
        for name, value in _attribute_items(self):
            candidates = (
                value.named_parameters(prefix=f"{prefix}{name}.")
                if isinstance(value, Module)
                else [(f"{prefix}{name}", value)]
            )
            for full_name, tensor in candidates:
                if isinstance(tensor, Tensor) and tensor.requires_grad and id(tensor) not in seen:
                    seen.add(id(tensor))
                    found.append((full_name, tensor))
        return found

    def parameters(self) -> list[Tensor]:
        """Every trainable tensor (requires_grad=True) found in attributes and sub-modules."""
        return [tensor for _, tensor in self.named_parameters()]

    def children(self) -> list[Module]:
        """The modules held directly in this module's attributes (and lists of them)."""
        return [value for _, value in _attribute_items(self) if isinstance(value, Module)]

    def zero_grad(self) -> None:
        """Clear the gradients of all parameters (``grad = None``) before the next backward."""
        for parameter in self.parameters():
            parameter.grad = None

    def train(self, mode: bool = True) -> Module:
        """Set training mode here and in every sub-module (layers such as dropout read it)."""
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linear(Module):
    """y = x @ W.T + b, with W of shape (out_features, in_features) and b of shape (out_features,).

    Weights and bias start uniform in (-1/sqrt(in_features), 1/sqrt(in_features)), PyTorch's
    default: the bound shrinks with the number of inputs so the output's scale does not grow
    with the layer's width.

    ``rng`` is the NumPy random generator to draw them from; pass
    ``np.random.default_rng(seed)`` for reproducible weights (the default draws fresh ones).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
    ) -> None:
        rng = np.random.default_rng() if rng is None else rng
        bound = 1.0 / np.sqrt(in_features)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Tensor(
            rng.uniform(-bound, bound, size=(out_features, in_features)), requires_grad=True
        )
        self.bias = (
            Tensor(rng.uniform(-bound, bound, size=(out_features,)), requires_grad=True)
            if bias
            else None
        )

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        """x of shape (batch, in_features) -> (batch, out_features)."""
        output = x @ self.weight.T
        return output if self.bias is None else output + self.bias

    def __repr__(self) -> str:
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None})"
        )


class ReLU(Module):
    """max(0, x) elementwise, as a module for ``Sequential``."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Sigmoid(Module):
    """1 / (1 + e^-x) elementwise, as a module for ``Sequential``."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Tanh(Module):
    """Hyperbolic tangent elementwise, as a module for ``Sequential``."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Softmax(Module):
    """softmax along ``dim`` (the last axis by default): each slice becomes positive and sums to 1.

    ``F.softmax`` subtracts the maximum first, so large inputs cannot overflow. Autograd
    differentiates it through exp, sum and divide; ManualGrad's ``Softmax`` writes the same
    vector-Jacobian product, s * (g - sum(g * s)), by hand.
    """

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, axis=self.dim)

    def __repr__(self) -> str:
        return f"Softmax(dim={self.dim})"


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``.

    It can be indexed (``net[0]`` is the first module, ``net[1:]`` a Sequential of the rest),
    iterated and measured with ``len``.
    """

    def __init__(self, *modules: Module) -> None:
        self.layers: list[Module] = list(modules)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __repr__(self) -> str:
        lines = [f"  ({position}): {layer!r}" for position, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)" if lines else "Sequential()"


def copy_parameters(source: Any, target: Module) -> Module:
    """Copy the values of ``source``'s parameters into ``target``'s, in order; return ``target``.

    ``source`` is anything whose ``parameters()`` lists objects with a ``.data`` array: another
    ``Module``, or a ManualGrad network (``backprop.manual``), whose ``Linear`` also stores
    ``weight`` (out, in) then ``bias``. Two engines started from the same numbers must compute
    the same gradients, which is how the chapters compare them. Values are copied, never
    shared, so training one network leaves the other alone. A different number of parameters
    or a shape mismatch raises ``ValueError`` naming the parameter.
    """
    sources, targets = list(source.parameters()), target.named_parameters()
    if len(sources) != len(targets):
        raise ValueError(
            f"copy_parameters: the source has {len(sources)} parameters, the target "
            f"{len(targets)}; the two networks must have the same layers"
        )
    for position, (values, (name, tensor)) in enumerate(zip(sources, targets)):
        data = np.asarray(values.data)
        if data.shape != tensor.shape:
            raise ValueError(
                f"copy_parameters: parameter {position} ({name}) has shape {tensor.shape} in "
                f"the target but {data.shape} in the source"
            )
        tensor.data[...] = data
    return target
