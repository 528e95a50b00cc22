"""Layer normalisation (chapter 9): one op whose backward is the formula derived by
hand.

``layer_norm(x, eps)`` centres and scales each row of ``x`` over its features::

    x_bar = mean(row),  sigma_x = sqrt(mean((row - x_bar)**2) + eps),
    x_hat = (row - x_bar) / sigma_x

and its backward sends back, per row, with g = dL/dx_hat,

    dL/dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sigma_x,

one term per path from x to x_hat (directly, through the mean, through the spread),
instead of the engine's eight ops. ``LayerNorm`` adds the usual gain and bias;
``mlp_with_layernorm`` is ``backprop.mlp.mlp`` with a LayerNorm before each ReLU,
drawing the same weights from the same seed, so the two networks start alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backprop import nn
from backprop.autograd import Tensor

__all__ = ["layer_norm", "LayerNorm", "mlp_with_layernorm"]


def layer_norm(x: Tensor, eps: float = 1e-5) -> Tensor:
    """Each row of ``x`` (batch, features) centred and divided by its spread (the
    biased variance plus ``eps``, square-rooted): one op, its backward by hand."""
    x_bar = x.data.mean(axis=-1, keepdims=True)
    sigma_x = np.sqrt(x.data.var(axis=-1, keepdims=True) + eps)
    x_hat = (x.data - x_bar) / sigma_x
    out = Tensor(x_hat, inputs=(x,), op="layer_norm")

    def backward(g: np.ndarray) -> None:  # g = dL/dx_hat; one term per path
        g_bar = g.mean(axis=-1, keepdims=True)
        g_x_hat_bar = (g * x_hat).mean(axis=-1, keepdims=True)
        x.add_grad((g - g_bar - x_hat * g_x_hat_bar) / sigma_x)

    out.backward_fn = backward
    return out


class LayerNorm(nn.Module):
    """y = gain * layer_norm(x) + bias, over the last axis; gain starts at 1, bias 0."""

    def __init__(self, features: int, eps: float = 1e-5) -> None:
        self.eps = eps
        self.weight = Tensor(np.ones(features), requires_grad=True)  # the gain
        self.bias = Tensor(np.zeros(features), requires_grad=True)

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm(x, self.eps) * self.weight + self.bias

    def __repr__(self) -> str:
        return f"LayerNorm({len(self.weight.data)}, eps={self.eps:g})"


def mlp_with_layernorm(sizes: Sequence[int],
                       rng: np.random.Generator | int) -> nn.Sequential:
    """``mlp(sizes, rng)`` with a LayerNorm between each hidden Linear and its ReLU; the
    Linear layers get the very weights ``mlp(sizes, rng)`` gets."""
    rng = np.random.default_rng(rng)
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(fan_in, fan_out, rng=rng), LayerNorm(fan_out), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1], rng=rng))
