"""The multi-layer perceptron of the MLP chapter, two ways: built on the autograd engine, and
with its backward pass written by hand in NumPy, as the chapter derives it.

``mlp(sizes, rng)`` stacks ``backprop.nn`` layers (Linear, ReLU, ..., Linear); the engine
differentiates it. ``HandMLP`` is the same network on plain arrays: ``forward`` keeps what the
backward pass needs and nothing else (each layer's input, from which the ReLU masks follow),
``backward`` applies the three rules of the chapter, layer by layer:

    dL/dW = G^T X,    dL/db = sum over the batch of G,    dL/dX = G W,  then the ReLU mask.

``hand_step`` is the ``train_step`` that ``backprop.train.fit`` calls, so the hand-written
network trains with the same loop, batches and optimisers as the autograd one. ``jvp`` is the
forward-mode counterpart: one directional derivative per forward sweep, used by the cost
chapter to compare the two modes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from backprop import nn
from backprop.autograd import numerics
from backprop.manual import Parameter
from backprop.optim import Optimizer

__all__ = ["mlp", "HandMLP", "softmax_cross_entropy", "hand_step"]


def mlp(sizes: Sequence[int], rng: np.random.Generator | int) -> nn.Sequential:
    """Linear layers of the given sizes with ReLUs between them (none after the last
    layer, whose outputs are the logits), their weights drawn from ``rng`` (a generator
    or a seed)."""
    if len(sizes) < 2:
        raise ValueError(
            f"an MLP needs at least an input and an output size, got {sizes}")
    rng = np.random.default_rng(rng)
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out, rng=rng), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer ``labels`` under softmax(``logits``), and its gradient
    (P - Y) / B with respect to the logits, from a log-softmax that subtracts the row maximum
    (the engine's kernel, ``autograd.numerics.softmax_cross_entropy``, the fused op's too)."""
    losses, grad = numerics.softmax_cross_entropy(logits, labels)
    return float(losses.mean()), grad / len(labels)


class HandMLP:
    """Linear-ReLU-...-Linear on NumPy arrays, with the backward pass written by hand.

    ``weights[k]`` has shape (out, in) and ``biases[k]`` shape (out,), PyTorch's layout; both
    are ``Parameter`` objects (``.data``, ``.grad``), so ``backprop.optim`` updates them.
    """

    def __init__(self, sizes: Sequence[int], rng: np.random.Generator | int) -> None:
        self.sizes = list(sizes)
        self.weights: list[Parameter] = []
        self.biases: list[Parameter] = []
        for k, layer in enumerate(mlp(sizes, rng)[::2], start=1):  # mlp(sizes, rng)'s values
            self.weights.append(Parameter(layer.weight.data.copy(), name=f"W{k}"))
            self.biases.append(Parameter(layer.bias.data.copy(), name=f"b{k}"))
        self._inputs: list[np.ndarray] = []

    def parameters(self) -> list[Parameter]:
        """[W1, b1, W2, b2, ...], in the order of ``mlp(...).parameters()``."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The logits; keeps each layer's input (X, then each ReLU output) for
        ``backward``."""
        self._inputs = []
        a = x
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            self._inputs.append(a)
            z = a @ w.data.T + b.data
            a = np.maximum(z, 0) if k < len(self.weights) - 1 else z
        return a

    def backward(self, grad_logits: np.ndarray) -> None:
        """Set every parameter's ``.grad`` from G = dL/dlogits, last layer first."""
        g = grad_logits
        for k in reversed(range(len(self.weights))):
            x = self._inputs[k]
            self.weights[k].grad = g.T @ x            # dL/dW = G^T X
            self.biases[k].grad = g.sum(axis=0)       # dL/db = sum_b G
            if k > 0:                                  # the pixels need no gradient
                g = (g @ self.weights[k].data) * (x > 0)  # dL/dX = G W, then ReLU's mask

    def loss_and_backward(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Forward, softmax cross-entropy, backward: the batch loss; every ``.grad`` set."""
        loss, grad_logits = softmax_cross_entropy(self.forward(x), labels)
        self.backward(grad_logits)
        return loss

    def kept_bytes(self) -> int:
        """Bytes ``forward`` keeps for ``backward``: the input of every layer."""
        return sum(a.nbytes for a in self._inputs)

    def jvp(
        self, x: np.ndarray, labels: np.ndarray, directions: Sequence[np.ndarray]
    ) -> tuple[float, float]:
        """Forward mode: the loss and its derivative along ``directions`` (one array per
        parameter, in ``parameters()`` order), carried forward with the values in one sweep.

        Each value a travels with its tangent da = d a / d t along the direction; a product
        a W^T has the tangent da W^T + a dW^T, a ReLU passes the tangent where it passes the value.
        """
        a, da = x, np.zeros((len(x), x.shape[1]))
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            dw, db = directions[2 * k], directions[2 * k + 1]
            z = a @ w.data.T + b.data
            dz = a @ dw.T + db if k == 0 else da @ w.data.T + a @ dw.T + db
            if k < last:
                mask = z > 0
                a, da = z * mask, dz * mask
            else:
                a, da = z, dz
        loss, grad_logits = softmax_cross_entropy(a, labels)
        return loss, float(np.sum(grad_logits * da))


def hand_step(
    model: HandMLP, optimizer: Optimizer, inputs: np.ndarray, labels: np.ndarray
) -> Callable[[np.ndarray], float]:
    """Build the ``train_step`` that ``backprop.train.fit`` calls: on the mini-batch
    ``inputs[indices]``, the hand-written forward and backward, then one optimiser step.
    It returns the batch loss, measured before the update. The backward *sets* each
    ``.grad``, so no ``zero_grad()`` is needed."""

    def train_step(indices: np.ndarray) -> float:
        loss = model.loss_and_backward(inputs[indices], labels[indices])
        optimizer.step()
        return loss

    return train_step
