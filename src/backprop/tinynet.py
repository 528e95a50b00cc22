"""The 2-2-2 sigmoid network of chapter 1: small enough to differentiate on paper.

Two inputs, two hidden sigmoid units, two sigmoid outputs and a squared error, with
the eight weights numbered as in the chapter's figure:

    h1 = w1*i1 + w2*i2,   a_h1 = sigmoid(h1),   o1 = w5*a_h1 + w6*a_h2,   a_o1 = sigmoid(o1)
    h2 = w3*i1 + w4*i2,   a_h2 = sigmoid(h2),   o2 = w7*a_h1 + w8*a_h2,   a_o2 = sigmoid(o2)
    E_total = 1/2 (t1 - a_o1)^2 + 1/2 (t2 - a_o2)^2

Every quantity is a plain Python float and every derivative is written out by hand,
one line per chain-rule factor, so the code reads like the derivation. The numbers
(inputs, targets, starting weights) are those of Matt Mazur's well-known step-by-step
example. His version also gives every unit a bias; ``biases`` puts them back
(``MAZUR_BIASES``), which reproduces his published values. Biases stay fixed: only the
eight weights learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from backprop.train import progress

__all__ = [
    "INPUTS", "TARGETS", "WEIGHTS", "NO_BIASES", "MAZUR_BIASES",
    "sigmoid", "Forward", "forward", "loss", "gradient", "sgd_step", "train",
]

INPUTS = np.array([0.05, 0.10])
"""The two inputs ``i1, i2``."""

TARGETS = np.array([0.01, 0.99])
"""The two targets ``t1, t2`` the outputs should reach."""

WEIGHTS = np.array([0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55])
"""The starting weights ``w1, ..., w8``."""

NO_BIASES = np.zeros(4)
"""Biases ``(b_h1, b_h2, b_o1, b_o2)`` all zero: the chapter's network has none."""

MAZUR_BIASES = np.array([0.35, 0.35, 0.60, 0.60])
"""The published example's biases: 0.35 on both hidden units, 0.60 on both outputs."""


def sigmoid(x: float) -> float:
    """The logistic function 1 / (1 + e^(-x)), squashing any x into (0, 1).

    For negative x it uses the equal form e^x / (1 + e^x), so that e^(-x) is
    never computed for a very negative x, where it would overflow (a large
    learning rate gets there quickly).
    """
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@dataclass(frozen=True)
class Forward:
    """Every intermediate value of one forward pass: what the backward pass reuses."""

    h1: float
    h2: float
    a_h1: float
    a_h2: float
    o1: float
    o2: float
    a_o1: float
    a_o2: float
    E_total: float


def forward(
    weights: ArrayLike,
    inputs: ArrayLike = INPUTS,
    targets: ArrayLike = TARGETS,
    biases: ArrayLike = NO_BIASES,
) -> Forward:
    """Run the network on one example; return every intermediate value."""
    w1, w2, w3, w4, w5, w6, w7, w8 = (float(w) for w in weights)
    i1, i2 = (float(i) for i in inputs)
    t1, t2 = (float(t) for t in targets)
    b_h1, b_h2, b_o1, b_o2 = (float(b) for b in biases)

    h1 = w1 * i1 + w2 * i2 + b_h1
    h2 = w3 * i1 + w4 * i2 + b_h2
    a_h1, a_h2 = sigmoid(h1), sigmoid(h2)
    o1 = w5 * a_h1 + w6 * a_h2 + b_o1
    o2 = w7 * a_h1 + w8 * a_h2 + b_o2
    a_o1, a_o2 = sigmoid(o1), sigmoid(o2)
    E_total = 0.5 * (t1 - a_o1) ** 2 + 0.5 * (t2 - a_o2) ** 2
    return Forward(h1, h2, a_h1, a_h2, o1, o2, a_o1, a_o2, E_total)


def loss(
    weights: ArrayLike,
    inputs: ArrayLike = INPUTS,
    targets: ArrayLike = TARGETS,
    biases: ArrayLike = NO_BIASES,
) -> float:
    """E_total as a function of the weights: what finite differences check."""
    return forward(weights, inputs, targets, biases).E_total


def gradient(
    weights: ArrayLike,
    inputs: ArrayLike = INPUTS,
    targets: ArrayLike = TARGETS,
    biases: ArrayLike = NO_BIASES,
) -> np.ndarray:
    """The eight partial derivatives dE_total/dw1 ... dE_total/dw8, by hand.

    Each output's delta dE/do = dE/da_o * da_o/do is computed once and reused:
    by the two weights into that output, and by both hidden units, whose deltas
    sum the paths through the two outputs.
    """
    w1, w2, w3, w4, w5, w6, w7, w8 = (float(w) for w in weights)
    i1, i2 = (float(i) for i in inputs)
    t1, t2 = (float(t) for t in targets)
    f = forward(weights, inputs, targets, biases)

    # Output layer: dE/do1 = dE/da_o1 * da_o1/do1, and sigmoid' = a (1 - a).
    delta_o1 = (f.a_o1 - t1) * f.a_o1 * (1 - f.a_o1)
    delta_o2 = (f.a_o2 - t2) * f.a_o2 * (1 - f.a_o2)

    # Hidden layer: a_h1 reaches E_total via o1 (weight w5) and o2 (weight w7).
    delta_h1 = (delta_o1 * w5 + delta_o2 * w7) * f.a_h1 * (1 - f.a_h1)
    delta_h2 = (delta_o1 * w6 + delta_o2 * w8) * f.a_h2 * (1 - f.a_h2)

    # Each weight: delta of the unit it feeds, times the value it multiplies.
    return np.array([
        delta_h1 * i1,      # dE/dw1   (h1 = w1*i1 + w2*i2)
        delta_h1 * i2,      # dE/dw2
        delta_h2 * i1,      # dE/dw3   (h2 = w3*i1 + w4*i2)
        delta_h2 * i2,      # dE/dw4
        delta_o1 * f.a_h1,  # dE/dw5   (o1 = w5*a_h1 + w6*a_h2)
        delta_o1 * f.a_h2,  # dE/dw6
        delta_o2 * f.a_h1,  # dE/dw7   (o2 = w7*a_h1 + w8*a_h2)
        delta_o2 * f.a_h2,  # dE/dw8
    ])


def sgd_step(
    weights: ArrayLike,
    lr: float,
    inputs: ArrayLike = INPUTS,
    targets: ArrayLike = TARGETS,
    biases: ArrayLike = NO_BIASES,
) -> np.ndarray:
    """One step of gradient descent, w <- w - lr * dE/dw, as new weights.

    All eight gradients are computed at the old weights before any changes.
    """
    weights = np.asarray(weights, dtype=np.float64)
    return weights - lr * gradient(weights, inputs, targets, biases)


def train(
    weights: ArrayLike,
    lr: float,
    steps: int,
    inputs: ArrayLike = INPUTS,
    targets: ArrayLike = TARGETS,
    biases: ArrayLike = NO_BIASES,
    show_progress: bool = False,
) -> np.ndarray:
    """Take ``steps`` steps of gradient descent; return E_total's history.

    The history has ``steps + 1`` entries: E_total before the first step and
    after each step. The starting weights are not changed. ``show_progress``
    shows a progress bar.
    """
    weights = np.array(weights, dtype=np.float64)
    history = [loss(weights, inputs, targets, biases)]
    bar = progress(range(steps), desc=f"lr={lr:g}", enabled=show_progress)
    for _ in bar:
        weights = sgd_step(weights, lr, inputs, targets, biases)
        history.append(loss(weights, inputs, targets, biases))
    return np.array(history)
