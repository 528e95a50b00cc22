"""Logistic regression with a gradient derived by hand: one sigmoid neuron, p = sigmoid(x . w + b).

The logistic regression chapter derives, on paper, that for the binary cross-entropy loss the
gradient with respect to the logit z = x . w + b is simply p - t (t the target, 0 or 1), and
therefore, for a batch X of shape (B, features),

    dL/dw = X^T (p - t) / B,        dL/db = mean(p - t).

This module is those two lines on plain NumPy arrays, plus what it takes to train them with the
shared loop ``backprop.train.fit``. The parameters are ``backprop.manual.Parameter`` objects
(``.data`` and ``.grad``), so the optimisers of ``backprop.optim`` update them unchanged.

The loss is computed from the logits as softplus(z) - z t, never as log(sigmoid(z)): the
textbook formula takes log(0) = -inf as soon as a sigmoid rounds to 0 or 1 (``naive_bce``
shows it happen). The book writes t for targets, as here; ``y`` is a layer's output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from backprop.autograd import stable_sigmoid
from backprop.manual import Parameter
from backprop.optim import SGD, Optimizer
from backprop.train import History, fit

__all__ = [
    "LogisticRegression",
    "bce_with_logits",
    "naive_bce",
    "logistic_step",
    "train_logistic",
]


def bce_with_logits(logits: ArrayLike, targets: ArrayLike) -> float:
    """Mean binary cross-entropy -[t log p + (1 - t) log(1 - p)], p = sigmoid(z).

    Computed from the logits z: -log sigmoid(z) = softplus(z) - z and
    -log(1 - sigmoid(z)) = softplus(z), so the loss is mean(softplus(z) - z t), with
    softplus(z) = log(1 + e^z) = ``np.logaddexp(0, z)``, finite for any logit.
    """
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    return float(np.mean(np.logaddexp(0.0, z) - z * t))


def naive_bce(logits: ArrayLike, targets: ArrayLike) -> float:
    """The textbook formula, -mean(t log p + (1 - t) log(1 - p)) with p = 1 / (1 + e^-z).

    Kept only to show what goes wrong: for z around 37 or more, p rounds to exactly 1.0 in
    float64, so log(1 - p) = -inf, and 0 * -inf = nan even where the target makes that term
    vanish. Use ``bce_with_logits`` instead.
    """
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        p = 1.0 / (1.0 + np.exp(-z))
        return float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))


class LogisticRegression:
    """p(t = 1 | x) = sigmoid(x . w + b) for inputs x of ``in_features`` numbers.

    ``weight`` (shape (in_features,)) and ``bias`` (shape ()) start at zero. The loss is convex
    in them, so every local minimum is a global one and there is no symmetry to break: no
    random start is needed, and every prediction starts at p = 0.5. (Convex does not promise a
    minimum: on data that one plane separates, such as the chapter's 4,000 training images,
    the loss falls towards 0 as the weights grow and no weights reach it; and the weight of an
    input that is always 0 never changes the loss.)
    """

    def __init__(self, in_features: int) -> None:
        if in_features < 1:
            raise ValueError(f"in_features must be at least 1, got {in_features}")
        self.in_features = in_features
        self.weight = Parameter(np.zeros(in_features), name="weight")
        self.bias = Parameter(np.zeros(()), name="bias")

    def parameters(self) -> list[Parameter]:
        """The trainable parameters, for an optimiser: [weight, bias]."""
        return [self.weight, self.bias]

    def _check_inputs(self, x: ArrayLike) -> np.ndarray:
        """Inputs as a float64 (batch, in_features) matrix, or a clear error."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"LogisticRegression expects inputs of shape (batch, {self.in_features}), "
                f"got {x.shape}; flatten each image into one row"
            )
        return x

    def _check_targets(self, t: ArrayLike, batch: int) -> np.ndarray:
        """Targets as a float64 vector of 0s and 1s, one per row, or a clear error."""
        t = np.asarray(t)
        if t.shape != (batch,):
            raise ValueError(
                f"LogisticRegression expects one target per example, shape ({batch},), "
                f"got {t.shape}"
            )
        if not np.all((t == 0) | (t == 1)):
            raise ValueError(
                "LogisticRegression targets must be 0 or 1 (e.g. (labels == 9)), got values "
                f"{np.unique(t)[:5]}"
            )
        return t.astype(np.float64)

    def forward(self, x: ArrayLike) -> np.ndarray:
        """The logits z = X w + b, one per row of ``x`` (shape (batch,))."""
        return self._check_inputs(x) @ self.weight.data + self.bias.data

    __call__ = forward

    def predict_proba(self, x: ArrayLike) -> np.ndarray:
        """p = sigmoid(z): the model's probability that each example is a positive."""
        return stable_sigmoid(self.forward(x))

    def predict(self, x: ArrayLike, threshold: float = 0.5) -> np.ndarray:
        """1 where p >= threshold, else 0 (int64)."""
        return (self.predict_proba(x) >= threshold).astype(np.int64)

    def loss(self, x: ArrayLike, t: ArrayLike) -> float:
        """Mean binary cross-entropy of the predictions on inputs x and targets t."""
        x = self._check_inputs(x)
        return bce_with_logits(self.forward(x), self._check_targets(t, len(x)))

    def backward(self, x: ArrayLike, t: ArrayLike, loss: str = "bce") -> float:
        """Set ``weight.grad`` and ``bias.grad`` to the mean loss's gradient.

        The chapter's result by hand: dL/dz = p - t for each example, so for a
        batch dL/dw = X^T (p - t) / B and dL/db = sum(p - t) / B. Returns the loss.
        ``loss="squared"`` trains on the mean of (p - t)^2 instead (a control):
        its dL/dz = 2 (p - t) p (1 - p) carries the sigmoid's slope.
        """
        x = self._check_inputs(x)
        t = self._check_targets(t, len(x))
        z = self.forward(x)
        p = stable_sigmoid(z)
        if loss == "bce":
            error = p - t  # dL/dz for one example, before averaging
        elif loss == "squared":
            error = 2 * (p - t) * p * (1 - p)
        else:
            raise ValueError(f"loss must be 'bce' or 'squared', got {loss!r}")
        self.weight.grad = x.T @ error / len(x)
        self.bias.grad = np.asarray(error.mean())
        return bce_with_logits(z, t) if loss == "bce" else float(np.mean((p - t) ** 2))


def logistic_step(
    model: LogisticRegression, optimizer: Optimizer, inputs: np.ndarray, targets: np.ndarray,
    loss: str = "bce",
) -> Callable[[np.ndarray], float]:
    """Build the ``train_step`` that ``backprop.train.fit`` calls: on the mini-batch
    ``inputs[indices]``, compute the loss and the hand-written gradient, then take one
    optimiser step. It returns the batch loss, measured before the update."""

    def train_step(indices: np.ndarray) -> float:
        value = model.backward(inputs[indices], targets[indices], loss=loss)
        optimizer.step()
        return value

    return train_step


def train_logistic(
    model: LogisticRegression,
    inputs: np.ndarray,
    targets: np.ndarray,
    *,
    lr: float,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    weight_decay: float = 0.0,
    loss: str = "bce",
    evaluate: Callable[[], dict[str, float]] | None = None,
    desc: str = "logistic regression",
    show_progress: bool = True,
) -> History:
    """Train ``model`` with mini-batch SGD on the hand-written gradient, via ``fit``.

    ``weight_decay`` adds an L2 penalty's gradient (weight_decay * parameter) in the
    optimiser; ``loss="squared"`` trains on (p - t)^2 instead (see ``backward``).
    Returns ``fit``'s history: ``loss`` per epoch, ``batch_loss`` per step, and whatever
    ``evaluate()`` reports once per epoch.
    """
    optimizer = SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    step = logistic_step(model, optimizer, inputs, targets, loss=loss)
    return fit(step, len(inputs), epochs=epochs, batch_size=batch_size, seed=seed,
               evaluate=evaluate, desc=desc, show_progress=show_progress)
