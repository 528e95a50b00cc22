"""Chapter 2, ManualGrad: the backward of ``Linear``, of ``Sigmoid``, and of softmax with
cross-entropy, each written as a function of plain arrays.

The references are the library's layers (``backprop.manual``): each check runs the layer's
``forward`` and ``backward`` on the same seeded inputs the learner's function gets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backprop import manual
from backprop.exercises._core import CheckResult, Mistake, returned, run_check

__all__ = ["linear_backward", "sigmoid_backward", "softmax_cross_entropy_backward"]

# Batch, inputs and outputs all differ, so a transposed product has a telltale shape.
BATCH, IN, OUT = 5, 3, 4


def _rng() -> np.random.Generator:
    return np.random.default_rng(2024)


# ----------------------------------------------------------------------------- Linear


def _linear_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = _rng()
    return (rng.normal(size=(BATCH, IN)), rng.normal(size=(OUT, IN)), rng.normal(size=OUT),
            rng.normal(size=(BATCH, OUT)))


def _linear_reference(x: np.ndarray, weight: np.ndarray, grad_out: np.ndarray) -> tuple:
    layer = manual.Linear(IN, OUT)
    layer.weight.data = weight
    layer.forward(x)
    grad_x = layer.backward(grad_out)
    return layer.weight.grad, layer.bias.grad, grad_x


def _linear_run(solution: Callable[..., Any]) -> dict[str, Any]:
    x, weight, _, grad_out = _linear_inputs()
    return returned(solution(x, weight, grad_out), ("dW", "db", "dX"))


LINEAR_MISTAKES = (
    Mistake("the bias gradient is the SUM of grad_out over the batch, not its mean: b is added "
            "to every row, and each row's loss counts fully.",
            lambda x, w, g: (g.T @ x, g.mean(axis=0), g @ w), ("db",)),
)

# A product whose shapes do not line up fails inside NumPy; the message names the matmul.
LINEAR_ERRORS = (
    (ValueError, "matmul", "the shapes of a matrix product do not line up. Write each shape "
     "down: x (batch, in), W (out, in), G (batch, out); dW must come out (out, in), dX (batch, "
     "in). Which transposes make that happen?"),
)


def linear_backward(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(x, weight, grad_out) -> (dW, db, dX)`` for ``y = x @ weight.T + b``.

    Shapes: x (batch, in), weight (out, in), grad_out = dL/dy (batch, out); return dL/dW
    (out, in), dL/db (out,) and dL/dx (batch, in). Checked on batch 5, in 3, out 4 against
    ``backprop.manual.Linear.backward``.
    """
    return run_check("Linear.backward", solution, _linear_run, _linear_reference,
                     mistakes=LINEAR_MISTAKES, batch=BATCH, error_hints=LINEAR_ERRORS)


# ----------------------------------------------------------------------------- Sigmoid


def _sigmoid_inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = _rng()
    x = 2.0 * rng.normal(size=(BATCH, OUT))
    out = manual.Sigmoid().forward(x)
    return out, rng.normal(size=(BATCH, OUT))


def _sigmoid_reference(out: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    layer = manual.Sigmoid()
    layer._out = out  # the cache forward would have filled: the layer is checked from there on
    return layer.backward(grad_out)


def _sigmoid_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return returned(solution(*_sigmoid_inputs()), ("dX",))


def _sigma(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


SIGMOID_MISTAKES = (
    Mistake("that is grad_out times σ(x), the sigmoid itself; backward needs its DERIVATIVE, "
            "σ'(x) = σ(x)(1 - σ(x)).", lambda out, g: g * out),
    Mistake("the local derivative is right, but the chain rule multiplies it by the incoming "
            "gradient grad_out.", lambda out, g: out * (1 - out)),
    Mistake("`out` is already σ(x): applying the sigmoid to it again computes σ(σ(x)). Use "
            "σ'(x) = out (1 - out).", lambda out, g: g * _sigma(out) * (1 - _sigma(out))),
    Mistake("a factor is missing: σ'(x) = σ(x)(1 - σ(x)) has two factors.",
            lambda out, g: g * (1 - out)),
)


def sigmoid_backward(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(out, grad_out) -> dX`` for the sigmoid layer.

    ``out`` = σ(x) is what forward cached (batch 5, 4 features); ``grad_out`` = dL/d(out);
    return dL/dx, same shape. Reference: ``backprop.manual.Sigmoid.backward``.
    """
    return run_check("Sigmoid.backward", solution, _sigmoid_run, _sigmoid_reference,
                     mistakes=SIGMOID_MISTAKES, batch=BATCH)


# ----------------------------------------------------------------------------- softmax + CE


def _softmax_inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = _rng()
    logits = 2.0 * rng.normal(size=(BATCH, OUT))
    targets = np.array([2, 0, 3, 1, 2])
    return logits, targets


def _softmax_reference(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    loss = manual.SoftmaxCrossEntropy()
    loss.forward(logits, targets)
    return loss.backward()


def _softmax_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return returned(solution(*_softmax_inputs()), ("dlogits",))


def _softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _onehot(targets: np.ndarray, classes: int = OUT) -> np.ndarray:
    return np.eye(classes)[targets]


SOFTMAX_MISTAKES = (
    Mistake("divided by the number of classes; the MEAN is over the batch, so divide by the "
            "number of examples, len(targets).",
            lambda z, y: (_softmax(z) - _onehot(y)) / z.shape[1]),
    Mistake("the one-hot target is missing: dL/dz = (softmax(z) - onehot(y)) / N, so subtract 1 "
            "at each example's target class.",
            lambda z, y: _softmax(z) / len(y)),
    Mistake("the formula is applied to the logits: compute the probabilities softmax(z) first.",
            lambda z, y: (z - _onehot(y)) / len(y)),
    Mistake("softmax is taken over the wrong axis: each ROW (one example) must sum to 1, so "
            "normalise over axis=1.",
            lambda z, y: (_softmax(z, axis=0) - _onehot(y)) / len(y)),
    Mistake("the 1 is subtracted in the wrong places: `grad[y]` picks whole rows and "
            "`grad[:, y]` whole columns; for row i it goes in column y[i] only, "
            "`grad[np.arange(N), y]`.", lambda z, y: _minus_one_at(z, y, rows_only=True)),
    Mistake("the 1 is subtracted in the wrong places: `grad[y]` picks whole rows and "
            "`grad[:, y]` whole columns; for row i it goes in column y[i] only, "
            "`grad[np.arange(N), y]`.", lambda z, y: _minus_one_at(z, y, rows_only=False)),
)


def _minus_one_at(z: np.ndarray, y: np.ndarray, rows_only: bool) -> np.ndarray:
    """The one-hot subtracted with a single index array, as ``grad[y] -= 1`` or ``grad[:, y]``."""
    grad = _softmax(z)
    if rows_only:
        grad[y] -= 1
    else:
        grad[:, y] -= 1
    return grad / len(y)


def softmax_cross_entropy_backward(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(logits, targets) -> dlogits`` for the MEAN cross-entropy of softmax.

    ``logits`` (batch 5, 4 classes), ``targets`` integer classes (5,); return dL/dlogits,
    shape (5, 4). Reference: ``backprop.manual.SoftmaxCrossEntropy.backward``.
    """
    return run_check("Softmax + cross-entropy backward", solution, _softmax_run,
                     _softmax_reference, mistakes=SOFTMAX_MISTAKES, batch=BATCH)
