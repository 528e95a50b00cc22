"""Modules: objects that hold parameters and compute a forward pass, as in ``torch.nn``.

A ``Module`` is just a Python object with a ``forward`` method. Its parameters are ordinary
attributes holding ``Tensor(..., requires_grad=True)``; ``parameters()`` finds them by
looking through the attributes, sub-modules, and lists, tuples and dicts of them. There is no
registration step: assign a Tensor or a Module to ``self.something`` (or put it in
``self.layers = [...]`` or ``self.heads = {...}``) and it is found. Autograd does the backward
pass, so a module never writes one.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from backprop import functional as F
from backprop.autograd import Tensor

__all__ = [
    "Module", "Linear", "ReLU", "Sigmoid", "Tanh", "Softmax", "Flatten", "Dropout",
    "Sequential", "CrossEntropyLoss", "MSELoss", "copy_parameters",
]


def _attribute_items(owner: object) -> Iterator[tuple[str, Any]]:
    """(name, value) for each attribute, with lists, tuples and dicts opened (also inside each
    other) as name.0, name.1, ... and name.key, so no parameter kept in a container is lost."""

    def opened(name: str, value: Any) -> Iterator[tuple[str, Any]]:
        if isinstance(value, (list, tuple)):
            value = dict(enumerate(value))
        if isinstance(value, dict):
            for key, item in value.items():
                yield from opened(f"{name}.{key}", item)
        else:
            yield name, value

    for name, value in vars(owner).items():
        yield from opened(name, value)


def _is_parameter(value: Any) -> bool:
    """A tensor a module trains: a leaf (created, not computed) that requires grad."""
    return isinstance(value, Tensor) and value.requires_grad and not value.inputs


def _check_size(name: str, value: Any) -> None:
    """A layer size must be a positive integer: NumPy would fail later, obscurely."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


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

    def __setattr__(self, name: str, value: Any) -> None:
        """Refuse to replace a parameter with anything but a parameter (or None), as PyTorch
        does: ``net.weight = net.weight - lr * grad`` would make the weight a node of this
        step's graph, so every later step would backpropagate through all the earlier ones."""
        if _is_parameter(vars(self).get(name)) and not (value is None or _is_parameter(value)):
            what = "a Tensor computed from other tensors" if isinstance(value, Tensor) and (
                value.inputs) else f"a {type(value).__name__} that is not a parameter"
            raise TypeError(
                f"cannot assign {what} to the parameter {name!r} of {type(self).__name__}: "
                "update it in place instead, `with no_grad(): "
                f"model.{name} -= lr * model.{name}.grad` (or use an optimiser, "
                "backprop.optim.SGD); to start a new parameter, assign "
                "Tensor(values, requires_grad=True)"
            )
        object.__setattr__(self, name, value)

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

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's values, by dotted name (``"layers.0.weight"``).

        Save a trained model with ``np.savez(path, **model.state_dict())`` and load it into a
        model of the same architecture with ``model.load_state_dict(np.load(path))``. The
        arrays are copies (PyTorch's share memory), so a snapshot taken during training keeps
        its values while training goes on.
        """
        return {name: tensor.data.copy() for name, tensor in self.named_parameters()}

    def load_state_dict(self, state_dict: Mapping[str, ArrayLike]) -> None:
        """Copy values saved by ``state_dict()`` into this model's parameters, in place.

        Every parameter must be given, with its shape, and nothing else: a mismatch means the
        model is not the one that was saved, and raises naming the parameters concerned.
        """
        parameters = dict(self.named_parameters())
        missing = sorted(set(parameters) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(parameters))
        if missing or unexpected:
            raise KeyError(
                f"load_state_dict: missing {missing}, unexpected {unexpected}; the saved model "
                "and this one must have the same layers"
            )
        for name, tensor in parameters.items():
            values = np.asarray(state_dict[name])
            if values.shape != tensor.shape:
                raise ValueError(
                    f"load_state_dict: {name} has shape {tensor.shape} here but {values.shape} "
                    "in the saved state"
                )
            tensor.data = np.array(values, dtype=tensor.dtype)

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
        _check_size("in_features", in_features)
        _check_size("out_features", out_features)
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
        return F.linear(x, self.weight, self.bias)  # x @ W.T + b, as one op

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


class Flatten(Module):
    """Merge the axes ``start_dim`` to ``end_dim`` into one: images (N, 28, 28) -> (N, 784)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return F._as_tensor(x).flatten(self.start_dim, self.end_dim)

    def __repr__(self) -> str:
        return f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim})"


class Dropout(Module):
    """In training mode, zero each element with probability ``p`` and scale the rest by 1/(1-p).

    Dropping random units stops the network relying on any single one; the scaling keeps each
    output's expected value unchanged, so in evaluation mode (``model.eval()``) the layer can
    simply pass its input through. The gradient flows through the kept elements only, times
    1/(1-p): the mask is a constant of the forward pass. ``rng`` is the NumPy random generator
    the masks are drawn from; pass ``np.random.default_rng(seed)`` for reproducible masks.
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must lie in [0, 1], got {p}")
        self.p = p
        self.rng = np.random.default_rng() if rng is None else rng

    def forward(self, x: Tensor) -> Tensor:
        x = F._as_tensor(x)
        if not self.training or self.p == 0.0:
            return x
        keep = self.rng.random(x.shape) >= self.p
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        return x * (keep * scale).astype(x.dtype)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


def _not_a_module(position: int, value: Any) -> str:
    """Why ``value`` cannot be layer ``position`` of a ``Sequential``, and what to write instead."""
    where = f"Sequential argument {position}"
    if isinstance(value, type) and issubclass(value, Module):
        return f"{where} is the class {value.__name__}, not a layer: create one, {value.__name__}()"
    if isinstance(value, (list, tuple)):
        return f"{where} is a {type(value).__name__}: unpack it, Sequential(*layers)"
    if type(value).__module__ == "backprop.manual":
        return (
            f"{where} is the ManualGrad layer {value!r}, which works on arrays with a "
            f"hand-written backward; use backprop.nn.{type(value).__name__} in an autograd model"
        )
    if isinstance(value, str):
        return f"{where} is the string {value!r}: pass a layer object, e.g. nn.ReLU()"
    if callable(value):
        name = getattr(value, "__name__", type(value).__name__)
        return (
            f"{where} is the function {name}, not a Module: use the module that wraps it "
            "(nn.ReLU(), nn.Tanh(), nn.Sigmoid()), or write a Module whose forward calls it"
        )
    return f"{where} is {value!r} ({type(value).__name__}), not a Module such as nn.Linear(2, 3)"


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``.

    It can be indexed (``net[0]`` is the first module, ``net[1:]`` a Sequential of the rest),
    iterated and measured with ``len``. Anything that is not a module is refused here, with
    its position, rather than failing later inside ``forward``.
    """

    def __init__(self, *modules: Module) -> None:
        for position, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(_not_a_module(position, module))
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


class CrossEntropyLoss(Module):
    """Cross-entropy as a module: ``loss_fn = CrossEntropyLoss()``, then
    ``loss_fn(logits, targets)``.

    It computes ``F.cross_entropy``'s value and gradient through ``F.softmax_cross_entropy``,
    the fused op whose backward is softmax - one_hot: one node in the graph instead of nine.
    """

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor | ArrayLike) -> Tensor:
        return F.softmax_cross_entropy(logits, targets, reduction=self.reduction)

    def __repr__(self) -> str:
        return f"CrossEntropyLoss(reduction={self.reduction!r})"


class MSELoss(Module):
    """``F.mse_loss`` as a module: ``loss_fn = MSELoss(); loss_fn(predictions, targets)``."""

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = reduction

    def forward(self, input: Tensor, target: Tensor | ArrayLike) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)

    def __repr__(self) -> str:
        return f"MSELoss(reduction={self.reduction!r})"


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
