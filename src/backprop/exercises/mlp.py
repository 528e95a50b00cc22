"""Chapter 7, MLPs: the whole backward pass of a ReLU MLP with softmax cross-entropy, in NumPy,
and a training run that proves it trains.

The network is ``Linear → ReLU → Linear → ReLU → Linear`` with sizes (784, 128, 64, 10) by
default, weights in PyTorch's convention (W of shape (out, in), ``Z = A @ W.T + b``), and the
mean cross-entropy of the softmax of the last layer's output. The reference is the same network
built from ``backprop.manual`` layers, whose ``backward`` methods give every intermediate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backprop import manual
from backprop import mlp as mlp_module
from backprop.exercises._core import (Case, CheckResult, Mistake, autograd_engines, library,
                                      run_cases, run_check)

__all__ = ["mlp_backward", "mlp_training"]

SIZES = (784, 128, 64, 10)
# Backward order: the loss's gradient first, then each layer from the last to the first.
ORDER = ("dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1")
MATMUL_ERRORS = (
    (ValueError, "could not be broadcast", "two arrays of different shapes meet in an "
     "elementwise operation: write their shapes down. A one-hot sized from the labels "
     "(y.max() + 1) instead of from the number of classes (Z3.shape[1]) is a common cause."),
    (ValueError, "matmul", "the shapes of a matrix product do not line up. Write the shapes "
     "down: A (batch, in), W (out, in), dZ (batch, out); dW must be (out, in) and dA (batch, "
     "in). Which transposes make that happen?"),
)


def init_params(sizes: tuple[int, ...] = SIZES, seed: int = 0) -> dict[str, np.ndarray]:
    """``{"W1", "b1", "W2", ...}`` drawn as ``manual.Linear`` draws them (PyTorch's default)."""
    params = {}
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        layer = manual.Linear(fan_in, fan_out, rng=seed + k)
        params[f"W{k}"], params[f"b{k}"] = layer.weight.data, layer.bias.data
    return params


def _network(params: dict[str, np.ndarray]) -> manual.Sequential:
    layers: list[manual.Layer] = []
    for k in (1, 2, 3):
        out_features, in_features = params[f"W{k}"].shape
        linear = manual.Linear(in_features, out_features)
        linear.weight.data, linear.bias.data = params[f"W{k}"], params[f"b{k}"]
        layers += [linear, manual.ReLU()] if k < 3 else [linear]
    return manual.Sequential(*layers)


def reference_backward(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> dict:
    """Every intermediate gradient, from the ManualGrad layers' own ``backward`` methods."""
    network, loss = _network(params), manual.SoftmaxCrossEntropy()
    loss.forward(network.forward(x), y)
    linear1, relu1, linear2, relu2, linear3 = network.layers
    grads = {"dZ3": loss.backward()}
    grads["dA2"] = linear3.backward(grads["dZ3"])
    grads["dZ2"] = relu2.backward(grads["dA2"])
    grads["dA1"] = linear2.backward(grads["dZ2"])
    grads["dZ1"] = relu1.backward(grads["dA1"])
    linear1.backward(grads["dZ1"])
    for k, linear in ((1, linear1), (2, linear2), (3, linear3)):
        grads[f"dW{k}"], grads[f"db{k}"] = linear.weight.grad, linear.bias.grad
    return {key: grads[key] for key in ORDER}


def predict(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The predicted class of each row of ``x``."""
    with np.errstate(all="ignore"):
        return np.argmax(_network(params).forward(x), axis=1)


def _batch(sizes: tuple[int, ...], batch: int, seed: int = 5,
           classes: tuple[int, ...] | None = None) -> tuple[dict, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(batch, sizes[0]))
    y = (rng.integers(0, sizes[-1], size=batch) if classes is None
         else np.array(classes)[rng.integers(0, len(classes), size=batch)])
    return init_params(sizes), x, y


def _cases(sizes: tuple[int, ...], batch: int) -> tuple[Case, ...]:
    """The learner's batch, a batch that lacks most classes, and a batch of one."""
    def args(size: int, seed: int, classes: tuple[int, ...] | None = None) -> Callable:
        params, x, y = _batch(sizes, size, seed, classes)
        return lambda: ({k: v.copy() for k, v in params.items()}, x.copy(), y.copy())

    other = 3 if batch != 3 else 4
    return (
        Case(f"batch {batch}", args(batch, 5), batch),
        Case(f"batch {other}, classes 0 and 2 only", args(other, 6, (0, 2)), other,
             "a batch whose labels are only 0 and 2: the one-hot needs a column for every "
             "class (the width of Z3), and the batch size is len(y), whatever it is."),
        Case("batch 1", args(1, 7), 1, "a batch of ONE example: does something assume several "
             "rows, or a batch size written in?"),
    )


def _variant(*, onehot: str = "onehot", mask: str = "indicator", mask1: str | None = None,
             biases: bool = True, shift: int = 0, weight_input: str = "A",
             first_input: str = "x") -> Callable[..., dict]:
    """The backward pass with one known mistake: the checker's catalogue of wrong answers.
    ``mask`` is the ReLU step of both hidden layers, ``mask1`` (when given) of layer 1 only."""

    def backward(params: dict, x: np.ndarray, y: np.ndarray) -> dict:
        W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
        Z1 = x @ W1.T + b1 * biases
        A1 = np.maximum(Z1, 0)
        Z2 = A1 @ W2.T + b2 * biases
        A2 = np.maximum(Z2, 0)
        Z3 = A2 @ W3.T + b3 * biases
        P = np.exp(Z3 - Z3.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        g: dict[str, np.ndarray] = {}
        targets = (y + shift) % P.shape[1]
        target = {"onehot": np.eye(P.shape[1])[targets], "none": 0.0,
                  "labels": np.asarray(y, dtype=float)[:, None]}[onehot]
        g["dZ3"] = (P - target) / len(y)
        steps = {"indicator": lambda G, Z, A: G * (Z > 0), "none": lambda G, Z, A: G,
                 "output": lambda G, Z, A: G * A, "sign": lambda G, Z, A: G * (G > 0),
                 "sigmoid": lambda G, Z, A: G * A * (1 - A)}
        In1, In2 = (Z1, Z2) if weight_input == "Z" else (A1, A2)
        g["dW3"], g["db3"], g["dA2"] = g["dZ3"].T @ In2, g["dZ3"].sum(0), g["dZ3"] @ W3
        g["dZ2"] = steps[mask](g["dA2"], Z2, A2)
        g["dW2"], g["db2"], g["dA1"] = g["dZ2"].T @ In1, g["dZ2"].sum(0), g["dZ2"] @ W2
        g["dZ1"] = steps[mask1 or mask](g["dA1"], Z1, A1)
        In0 = {"x": x, "A1": A1, "Z1": Z1}[first_input]
        g["dW1"], g["db1"] = g["dZ1"].T @ In0, g["dZ1"].sum(0)
        return g

    return backward


NO_MASK = ("the ReLU mask is missing, or lets everything through (A = relu(Z) is never "
           "negative, so a test on A >= 0 is always true): ReLU passes the gradient only where "
           "its input Z was positive, and blocks it elsewhere.")
MISTAKES = (
    Mistake("dZ3 has no trace of the targets: it is the same whatever the labels are. Each "
            "example's loss is -log of its TARGET class's probability: which column does that "
            "term add to, and what does it add there?",
            _variant(onehot="none")),
    Mistake("the targets are the integer labels themselves, broadcast across the columns: "
            "the softmax is compared with a ONE-HOT row per example (a 1 in its class's column "
            "and 0 elsewhere), with as many columns as there are classes.",
            _variant(onehot="labels")),
    Mistake(NO_MASK, _variant(mask="none")),
    Mistake(NO_MASK + " (Here the mask of the first hidden layer is the one missing.)",
            _variant(mask1="none")),
    Mistake("the gradient is multiplied by the ReLU's OUTPUT A; the chain rule multiplies by "
            "its DERIVATIVE, which is not A: what is the slope of max(z, 0) on each side of 0?",
            _variant(mask="output")),
    Mistake("the ReLU mask is taken from the sign of the incoming GRADIENT: whether the "
            "gradient passes depends on the forward pass, on where the ReLU's input Z was "
            "positive, not on the sign of dA.", _variant(mask="sign")),
    Mistake("the ReLU mask is taken from the sign of the incoming GRADIENT: whether the "
            "gradient passes depends on the forward pass, on where the ReLU's input Z was "
            "positive, not on the sign of dA.", _variant(mask1="sign")),
    Mistake("that is the SIGMOID's derivative, a(1 - a): the hidden layers here are ReLUs, "
            "whose derivative is 1 where the input Z was positive and 0 elsewhere.",
            _variant(mask="sigmoid")),
    Mistake("that is the SIGMOID's derivative, a(1 - a): the hidden layers here are ReLUs, "
            "whose derivative is 1 where the input Z was positive and 0 elsewhere.",
            _variant(mask1="sigmoid")),
    Mistake("a weight gradient pairs the layer's output gradient with the layer's INPUT: which "
            "array went into this layer's matrix product in the forward pass, the previous "
            "layer's Z or what its ReLU made of it?", _variant(weight_input="Z"),
            ("dW3", "dW2")),
    Mistake("dW1 pairs dZ1 with the input of the FIRST layer: which array went into layer 1's "
            "matrix product in the forward pass? Not a hidden layer's Z or A.",
            _variant(first_input="A1"), ("dW1",)),
    Mistake("dW1 pairs dZ1 with the input of the FIRST layer: which array went into layer 1's "
            "matrix product in the forward pass? Not a hidden layer's Z or A.",
            _variant(first_input="Z1"), ("dW1",)),
    Mistake("dZ3 is wrong from the start, so look at the FORWARD pass first: every layer "
            "computes Z = A @ W.T + b; are the biases added?", _variant(biases=False)),
    Mistake("the one-hot is off by one column: example i's 1 belongs in column y[i] itself "
            "(class 0 is column 0).", _variant(shift=1)),
    Mistake("the one-hot is off by one column: example i's 1 belongs in column y[i] itself "
            "(class 0 is column 0).", _variant(shift=-1)),
)

# The arrays each quantity is computed from, and what to look at when it alone is wrong.
_INPUT_OF = {"1": "the network's input", "2": "the first hidden layer's ReLU output",
             "3": "the second hidden layer's ReLU output"}


def _locate(first_wrong: str, got: Any, want: np.ndarray) -> str | None:
    """The step the mistake lies in: the first wrong quantity, when what it is computed from
    is right (rows come in backward order, so everything before it is right)."""
    key = first_wrong.split(",")[0]
    kind, layer = key[:-1], key[-1]
    if kind == "dZ" and layer == "3":
        return ("dZ3 is wrong, and it depends only on the forward pass and the labels: check "
                "the softmax (each row sums to 1, computed row by row), that the targets are a "
                "one-hot row per example with a column for every class, and the mean over the "
                "batch.")
    if kind == "dW":
        return (f"dW{layer} is wrong while dZ{layer} is right, so the mistake is in this one "
                f"step: a weight gradient pairs dZ{layer} with the array that went INTO layer "
                f"{layer}'s matrix product in the forward pass ({_INPUT_OF[layer]}), and has "
                f"W{layer}'s shape (out, in). Is it that cached array, and are the factors in "
                "the right order?")
    if kind == "db":
        return (f"db{layer} is wrong while dZ{layer} is right: a bias is shared by every "
                f"example, so its gradient collects dZ{layer} over the batch axis (axis 0).")
    if kind == "dA":
        nxt = int(layer) + 1
        return (f"dA{layer} is wrong while dZ{nxt} is right, so the mistake is in this one "
                f"step: the gradient sent back to the previous layer goes through layer {nxt}'s "
                f"weights W{nxt} (shape (out, in)) and must come out with the shape of "
                f"A{layer}, (batch, in). Is it W{nxt}, not another layer's weights or a copy "
                "changed on the way, and on the right side of the product?")
    if kind == "dZ":
        return (f"dZ{layer} is wrong while dA{layer} is right, so the mistake is in the step "
                f"back through the ReLU: multiply dA{layer} by the ReLU's derivative at its "
                f"input Z{layer} from the forward pass (1 where Z{layer} was positive, 0 "
                "elsewhere): not its output A, not a sigmoid's derivative, not a mask taken "
                "from the gradient's sign.")
    return None


MLP_FORBID = {**library(*[(layer, "backward", f"backprop.manual.{layer.__name__}.backward")
                          for layer in (manual.Linear, manual.ReLU, manual.SoftmaxCrossEntropy,
                                        manual.Sequential)],
                        (mlp_module.HandMLP, "backward", "backprop.mlp.HandMLP.backward"),
                        (mlp_module.HandMLP, "loss_and_backward",
                         "backprop.mlp.HandMLP.loss_and_backward"),
                        (mlp_module, "softmax_cross_entropy",
                         "backprop.mlp.softmax_cross_entropy")),
              **autograd_engines()}


def mlp_backward(
    solution: Callable[..., Any], sizes: tuple[int, ...] = SIZES, batch: int = 8
) -> CheckResult:
    """Check ``solution(params, x, y) -> dict`` of every gradient of the MLP's backward pass.

    ``params`` holds W1 (h1, 784), b1 (h1,), W2 (h2, h1), b2, W3 (10, h2), b3; ``x`` (batch,
    784) and ``y`` integer labels (batch,). Return the keys dZ3, dW3, db3, dA2, dZ2, dW2, db2,
    dA1, dZ1, dW1, db1 (Z the pre-activations, A the ReLU outputs, each d the gradient of the
    mean cross-entropy). ``sizes`` may be smaller for a quick test.

    Checked at ``batch`` (8), at a batch of 3 whose labels are only 0 and 2, and at a batch of
    1, against the ManualGrad layers' ``backward``; params, x and y must be left unchanged.
    The inputs are float64, as the chapter's arrays are; a float32 answer passes,
    marked "up to float32 rounding", as the chapter says.
    Allowed: NumPy only; not the library's layers, ``HandMLP`` or an autograd engine.
    """
    cases = _cases(tuple(sizes), batch)

    def run(function: Callable[..., Any]) -> dict[str, Any]:
        return run_cases(function, cases, ORDER)

    return run_check("MLP backward pass", solution, run, reference_backward, mistakes=MISTAKES,
                     batch=batch, error_hints=MATMUL_ERRORS, float32=True,
                     forbid=MLP_FORBID, allowed="NumPy only", locate=_locate)


# ----------------------------------------------------------------------------- training


def synthetic_digits(n: int, sizes: tuple[int, ...] = SIZES, seed: int = 0) -> tuple:
    """``n`` noisy examples of ``sizes[-1]`` classes in ``sizes[0]`` dimensions, in [0, 1].

    Each class is a fixed random pattern of "ink" (a fifth of the pixels); an example is its
    class's pattern at a random intensity plus strong noise. Learnable in a hundred steps, yet
    no single pixel decides: a stand-in for MNIST that needs no download and is the same on
    every machine.
    """
    rng = np.random.default_rng(seed)
    patterns = (np.random.default_rng(99).uniform(size=(sizes[-1], sizes[0])) < 0.2)
    y = rng.integers(0, sizes[-1], size=n)
    intensity = rng.uniform(0.3, 1.0, size=(n, 1))
    x = np.clip(patterns[y] * intensity + rng.normal(0.0, 0.5, size=(n, sizes[0])), 0.0, 1.0)
    return x, y


def train(
    solution: Callable[..., Any], params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
    *, steps: int, lr: float, batch: int, seed: int = 0,
) -> dict[str, np.ndarray]:
    """Plain mini-batch SGD with the gradients ``solution`` returns; returns the trained params."""
    params = {key: value.copy() for key, value in params.items()}
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):  # a wrong gradient may diverge: that shows as low accuracy
        for _ in range(steps):
            rows = rng.choice(len(x), size=batch, replace=False)
            grads = solution({k: v.copy() for k, v in params.items()}, x[rows], y[rows])
            for key in params:
                params[key] -= lr * np.asarray(grads[f"d{key}"])
    return params


def mlp_training(
    solution: Callable[..., Any],
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    *,
    sizes: tuple[int, ...] = SIZES,
    steps: int = 100,
    lr: float = 0.1,
    batch: int = 32,
    target: float = 0.9,
) -> CheckResult:
    """Train the MLP with ``solution``'s gradients and check the validation accuracy.

    Passes when the accuracy reaches ``target`` AND ``mlp_backward`` passes: a wrong gradient
    can still train (a missing ReLU mask leaves a linear model, which fits easy data), and the
    learner should hear about it.

    ``data`` = (x_train, y_train, x_val, y_val); by default ``synthetic_digits`` (1,000 training
    and 500 validation examples), so the check takes a second or two and gives the same verdict
    on every machine. The accuracy is reported only when it misses ``target``, so a passing
    output holds no number that could differ in the last digit between machines.
    """
    name = "MLP training with your backward pass"
    backward_check = mlp_backward(solution, sizes=sizes)
    if backward_check.status in ("not done", "error"):
        backward_check.exercise = name
        return backward_check
    if data is None:
        x_train, y_train = synthetic_digits(1000, tuple(sizes), seed=1)
        x_val, y_val = synthetic_digits(500, tuple(sizes), seed=2)
    else:
        x_train, y_train, x_val, y_val = data
    try:
        params = train(solution, init_params(tuple(sizes)), x_train, y_train, steps=steps,
                       lr=lr, batch=batch)
    except Exception as error:
        return CheckResult(name, "error", message=f"training stopped: `{solution.__name__}` "
                           f"raised {type(error).__name__}: {error}")
    accuracy = float(np.mean(predict(params, x_val) == y_val))
    goal = f"{target:.0%} validation accuracy after {steps} steps"
    if accuracy < target:
        message = f"missed the target of {goal}: it reached {accuracy:.0%}."
    elif not backward_check:
        message = f"reached the target of {goal}, but the backward pass is not right yet."
    else:
        return CheckResult(name, "passed", message=f"reached the target of {goal}, with a "
                           "backward pass that matches the reference.")
    if not backward_check:
        message += f" The backward check says: {backward_check.message}"
    return CheckResult(name, "failed", message=message, hint=backward_check.hint)
