"""Chapter 2, ManualGrad: the backward of ``Linear``, of ``Sigmoid``, and (chapter 7) of softmax
with cross-entropy, each written as a function of plain arrays.

The references are the library's layers (``backprop.manual``): each check runs the layer's
``forward`` and ``backward`` on the same seeded inputs the learner's function gets, in several
cases chosen to split near misses (a batch of one, other sizes, large logits, a batch that lacks
classes). Calling the layer's own ``backward`` (or an autograd engine) does not count.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from backprop import manual, mlp
from backprop.exercises._core import (KEEPDIMS, BadReturn, Case, CheckResult, Mistake,
                                      autograd_engines, library, run_cases, run_check)

__all__ = ["linear_backward", "sigmoid_backward", "softmax_cross_entropy_backward",
           "softmax_backward"]

# Batch, inputs and outputs all differ, so a transposed product has a telltale shape.
BATCH, IN, OUT = 5, 3, 4


def _rng(seed: int = 2024) -> np.random.Generator:
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------- Linear


def _linear_args(batch: int, fan_in: int, fan_out: int, seed: int) -> Callable[[], tuple]:
    def args() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = _rng(seed)
        return (rng.normal(size=(batch, fan_in)), rng.normal(size=(fan_out, fan_in)),
                rng.normal(size=(batch, fan_out)))
    return args


LINEAR_CASES = (
    Case("batch 5", _linear_args(BATCH, IN, OUT, 2024), BATCH),
    Case("batch 1", _linear_args(1, IN, OUT, 1), 1,
         "a batch of ONE example: does something assume several rows (a squeeze, a size "
         "written in)?"),
    Case("batch 7, in 2, out 1", _linear_args(7, 2, 1, 2), 7,
         "other sizes (batch 7, 2 inputs, 1 output): is a size of the first case (5, 3 or 4) "
         "written into your code instead of read from the arguments' shapes?"),
)


def _linear_reference(x: np.ndarray, weight: np.ndarray, grad_out: np.ndarray) -> tuple:
    layer = manual.Linear(weight.shape[1], weight.shape[0])
    layer.weight.data = weight
    layer.forward(x)
    grad_x = layer.backward(grad_out)
    return layer.weight.grad, layer.bias.grad, grad_x


def _linear_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, LINEAR_CASES, ("dW", "db", "dX"))


LINEAR_MISTAKES = (
    Mistake("the bias gradient is the SUM of grad_out over the batch, not its mean: b is added "
            "to every row, and each row's loss counts fully.",
            lambda x, w, g: (g.T @ x, g.mean(axis=0), g @ w), ("db",)),
    Mistake("the bias gradient sums over the batch axis (axis=0), one number per OUTPUT; "
            "summing over axis=1 gives one number per example.",
            lambda x, w, g: (g.T @ x, g.sum(axis=1), g @ w), ("db",)),
    Mistake("dX must go back through the weight matrix the forward pass used, as it is: each "
            "input feeds every output through its weight. Write the shapes down (grad_out is "
            "(batch, out), dX must be (batch, in)): is the transpose needed, or is it one too "
            "many?",
            lambda x, w, g: (g.T @ x, g.sum(axis=0), g @ w.T), ("dX",)),
    Mistake("dW pairs each output's gradient with each INPUT that weight multiplied in the "
            "forward pass, not with the weights themselves: which array holds the inputs?",
            lambda x, w, g: (g.T @ w, g.sum(axis=0), g @ w), ("dW",)),
    Mistake("db holds the first example's gradient only (grad_out[0]): b is added to EVERY "
            "row, so every example's gradient reaches it, not only the first one's.",
            lambda x, w, g: (g.T @ x, g[0], g @ w), ("db",)),
    Mistake("dW is the SUM over examples of each example's own product g_k x_kᵀ; summing "
            "grad_out and x over the batch first and multiplying the sums pairs every "
            "example's gradient with every OTHER example's input too.",
            lambda x, w, g: (np.outer(g.sum(axis=0), x.sum(axis=0)), g.sum(axis=0), g @ w),
            ("dW",)),
    Mistake("dW holds the first example's contribution only (grad_out[0] with x[0]): each "
            "weight is used by EVERY example of the batch, so its gradient gathers a share from "
            "every row, not from the first one alone (it looks right with a batch of 1).",
            lambda x, w, g: (np.outer(g[0], x[0]), g.sum(axis=0), g @ w), ("dW",)),
    Mistake("dW holds the last example's contribution only: is a loop over the examples "
            "writing each one's product over the previous one's (`dW = ...` where it should "
            "add, `dW += ...`)? Each weight gathers a share from every row.",
            lambda x, w, g: (np.outer(g[-1], x[-1]), g.sum(axis=0), g @ w), ("dW",)),
    Mistake("db holds the last example's gradient only: is a loop over the examples "
            "writing over db instead of adding to it? b is added to EVERY row.",
            lambda x, w, g: (g.T @ x, g[-1], g @ w), ("db",)),
)

# A product whose shapes do not line up fails inside NumPy; the message names the matmul.
LINEAR_ERRORS = (
    (ValueError, "matmul", "the shapes of a matrix product do not line up. Write each shape "
     "down: x (batch, in), W (out, in), G (batch, out); dW must come out (out, in), dX (batch, "
     "in). Which transposes make that happen?"),
)

LINEAR_FORBID = {**library((manual.Linear, "backward", "backprop.manual.Linear.backward"),
                           (manual.Sequential, "backward", "backprop.manual.Sequential.backward"),
                           (mlp.HandMLP, "backward", "backprop.mlp.HandMLP.backward")),
                 **autograd_engines()}


def linear_backward(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(x, weight, grad_out) -> (dW, db, dX)`` for ``y = x @ weight.T + b``.

    Shapes: x (batch, in), weight (out, in), grad_out = dL/dy (batch, out); return dL/dW
    (out, in), dL/db (out,) and dL/dx (batch, in). Checked at batch 5, in 3, out 4; at a batch
    of 1; and at batch 7, in 2, out 1, against ``backprop.manual.Linear.backward``. The
    arguments must be left unchanged. Allowed: NumPy only (not the library's layers, nor an
    autograd engine).
    """
    return run_check("Linear.backward", solution, _linear_run, _linear_reference,
                     mistakes=LINEAR_MISTAKES, error_hints=LINEAR_ERRORS,
                     forbid=LINEAR_FORBID, allowed="NumPy only")


# ----------------------------------------------------------------------------- Sigmoid


def _sigmoid_args(shape: tuple[int, ...], spread: float, seed: int) -> Callable[[], tuple]:
    def args() -> tuple[np.ndarray, np.ndarray]:
        rng = _rng(seed)
        x = spread * rng.normal(size=shape)
        return manual.Sigmoid().forward(x), rng.normal(size=shape)
    return args


def _sigmoid_exact_args() -> tuple[np.ndarray, np.ndarray]:
    """Saturated outputs that are exactly 0.0 and 1.0 (x = -800, 800, 40), and ordinary ones."""
    x = np.array([[-800.0, -40.0, 800.0, 40.0], [0.5, -750.0, 37.5, -2.0]])
    return manual.Sigmoid().forward(x), _rng(5).normal(size=x.shape)


SIGMOID_CASES = (
    Case("batch 5", _sigmoid_args((BATCH, OUT), 2.0, 2024), BATCH),
    Case("saturated", _sigmoid_args((3, 4), 12.0, 3), 3,
         "outputs close to 0 and 1 (a saturated sigmoid): its slope there is nearly 0."),
    Case("one value", _sigmoid_args((1, 1), 1.0, 4), 1,
         "a single value, shape (1, 1): does something assume a larger array?"),
    Case("exactly 0 and 1", _sigmoid_exact_args, 2,
         "some outputs are EXACTLY 0.0 or 1.0, as a float64 sigmoid gives for x above about 37 "
         "(and float32 from about 17): the slope there is 0. An answer that recovers x from "
         "`out` (a log of out / (1 - out)) or divides by out or 1 - out gets inf or nan "
         "there; write the slope with `out` itself."),
)


def _sigmoid_reference(out: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    layer = manual.Sigmoid()
    layer._out = out  # the cache forward would have filled: the layer is checked from there on
    return layer.backward(grad_out)


def _sigmoid_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, SIGMOID_CASES, ("dX",))


def _sigma(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


SIGMOID_MISTAKES = (
    Mistake("that is grad_out times σ(x), the sigmoid itself; backward needs its "
            "DERIVATIVE, written with the output `out` (chapter 1 derived it).",
            lambda out, g: g * out),
    Mistake("the local derivative is right, but the chain rule multiplies it by the incoming "
            "gradient grad_out.", lambda out, g: out * (1 - out)),
    Mistake("`out` is already σ(x): applying the sigmoid to it again computes σ(σ(x)). "
            "Write σ'(x) with `out` itself.",
            lambda out, g: g * _sigma(out) * (1 - _sigma(out))),
    Mistake("a factor is missing: the sigmoid's derivative, written with `out`, has two "
            "factors.",
            lambda out, g: g * (1 - out)),
    Mistake("check the sign inside the derivative: σ(x)(1 + σ(x)) grows where the sigmoid "
            "flattens out, but σ' must vanish as σ(x) approaches 1.",
            lambda out, g: g * out * (1 + out)),
    Mistake("1 - out² is the derivative of tanh (tanh' = 1 - tanh²), not of the sigmoid: write "
            "σ' in terms of σ itself, from σ = 1 / (1 + e^-x).",
            lambda out, g: g * (1 - out**2)),
    Mistake("(1 - out)² squares one factor of σ' and drops the other: the two factors "
            "differ.",
            lambda out, g: g * (1 - out) ** 2),
    Mistake("the chain rule MULTIPLIES grad_out by the local derivative out (1 - out); "
            "dividing by it goes the wrong way.", lambda out, g: g / (out * (1 - out))),
    Mistake("σ(x)² is one of the two terms of σ'(x), multiplied out; the other is missing.",
            lambda out, g: g * out**2),
    Mistake("your slope is inf or nan where the output is exactly 0.0 or 1.0 (a saturated "
            "sigmoid), where it should be 0: does your code recover x from `out` (a log of "
            "out / (1 - out)) and compute the slope from x with exponentials? Write the slope "
            "with `out` itself, which needs no log and no division.",
            lambda out, g: g * _slope_via_logit(out)),
)


def _slope_via_logit(out: np.ndarray) -> np.ndarray:
    """x recovered from out, then e^-x / (1 + e^-x)^2: nan where out is exactly 0."""
    x = np.log(out) - np.log1p(-out)
    e = np.exp(-x)
    return e / (1 + e) ** 2

SIGMOID_FORBID = {**library((manual.Sigmoid, "backward", "backprop.manual.Sigmoid.backward"),
                            (manual.Sequential, "backward",
                             "backprop.manual.Sequential.backward")),
                  **autograd_engines()}


def sigmoid_backward(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(out, grad_out) -> dX`` for the sigmoid layer.

    ``out`` = σ(x) is what forward cached; ``grad_out`` = dL/d(out); return dL/dx, same shape.
    Checked on a batch of 5 x 4, on saturated outputs, on a single value, and on outputs that
    are exactly 0.0 and 1.0 (a float64 sigmoid rounds to 1.0 from x of about 37), where the
    slope is 0: an answer that recovers x from ``out`` by a log and gets inf or nan there fails
    and is told so (one that recovers x and still returns 0 there passes: its values are
    right). Against ``backprop.manual.Sigmoid.backward``; the arguments must be left
    unchanged. Allowed: NumPy only.
    """
    return run_check("Sigmoid.backward", solution, _sigmoid_run, _sigmoid_reference,
                     mistakes=SIGMOID_MISTAKES, products=False, forbid=SIGMOID_FORBID,
                     allowed="NumPy only")


# ----------------------------------------------------------------------------- softmax + CE


def _softmax_args(batch: int, classes: int, seed: int, *, targets: tuple[int, ...] | None = None,
                  scale: float = 2.0, offsets: tuple[float, ...] | None = None,
                  rows: dict[int, tuple[float, ...]] | None = None) -> Callable[[], tuple]:
    def args() -> tuple[np.ndarray, np.ndarray]:
        rng = _rng(seed)
        logits = scale * rng.normal(size=(batch, classes))
        if offsets is not None:
            logits += np.array(offsets)[:, None]
        for row, values in (rows or {}).items():  # a row written out: a spread over 710
            logits[row] = values
        labels = (np.array(targets) if targets is not None
                  else rng.integers(0, classes, size=batch))
        return logits, labels
    return args


SOFTMAX_CASES = (
    Case("batch 5", _softmax_args(BATCH, OUT, 2024, targets=(2, 0, 3, 1, 2)), BATCH),
    Case("large logits", _softmax_args(4, OUT, 7, targets=(0, 3, 1, 2), scale=300.0,
                                       offsets=(900.0, -1500.0, 0.0, 200.0),
                                       rows={2: (1000.0, 0.0, -1000.0, 300.0)}), 4,
         "logits in the hundreds and thousands, one row spread from -1000 to 1000: e^z "
         "overflows (e^710 is inf in float64) unless each row's maximum is subtracted first; "
         "softmax is unchanged by that shift."),
    Case("batch lacking classes", _softmax_args(3, OUT, 8, targets=(1, 1, 2)), 3,
         "these targets hold only classes 1 and 2 of 4: the one-hot must have one column per "
         "class of the logits (logits.shape[1]), whatever labels the batch happens to hold."),
    Case("batch 1, 7 classes", _softmax_args(1, 7, 9, targets=(6,)), 1,
         "one example and 7 classes: is a size of the first case (batch 5, 4 classes) "
         "written in, instead of read from logits.shape and len(targets)?"),
)


def _softmax_reference(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    loss = manual.SoftmaxCrossEntropy()
    loss.forward(logits, targets)
    return loss.backward()


def _softmax_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, SOFTMAX_CASES, ("dlogits",))


def _softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _onehot(targets: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes)[targets]


def _naive_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


SOFTMAX_MISTAKES = (
    Mistake("divided by the number of classes; the MEAN is over the batch, so divide by the "
            "number of examples, len(targets).",
            lambda z, y: (_softmax(z) - _onehot(y, z.shape[1])) / z.shape[1]),
    Mistake("the target's part is missing: your gradient is the same whatever the targets are. "
            "The loss of an example is -log of its TARGET class's probability: which column "
            "does that term add to, and what does it add there?",
            lambda z, y: _softmax(z) / len(y)),
    Mistake("the logits are used where the probabilities belong: the loss sees the logits only "
            "through the softmax, so compute softmax(z) first.",
            lambda z, y: (z - _onehot(y, z.shape[1])) / len(y)),
    Mistake("softmax is taken over the wrong axis: each ROW (one example) must sum to 1, so "
            "normalise over axis=1.",
            lambda z, y: (_softmax(z, axis=0) - _onehot(y, z.shape[1])) / len(y)),
    Mistake("softmax is normalised over the wrong axis: `e.sum(axis=0)` adds up each COLUMN "
            "(one class over the batch); each ROW (one example) must sum to 1, so divide by "
            "`e.sum(axis=1, keepdims=True)`.",
            lambda z, y: (_col_normalised(z) - _onehot(y, z.shape[1])) / len(y)),
    Mistake("the targets are subtracted as numbers (y[:, None]), not as a one-hot: class 2 is a "
            "1 in column 2 and 0 elsewhere, not the number 2 in every column. Build "
            "onehot(y) (np.eye(K)[y]) and subtract that.",
            lambda z, y: (_softmax(z) - y[:, None]) / len(y)),
    Mistake("only the target's column is non-zero: every logit changes the loss, through the "
            "softmax's normaliser (the sum in its denominator), so the wrong classes' columns "
            "get a gradient too. (Keeping only the diagonal of the softmax's Jacobian, "
            "ds_i/dz_i, drops its off-diagonal terms, with the same result.)",
            lambda z, y: _onehot(y, z.shape[1]) * (_softmax(z) - 1) / len(y)),
    Mistake("the 1 is subtracted in the wrong places: `grad[y]` picks whole rows and "
            "`grad[:, y]` whole columns; for row i it goes in column y[i] only, "
            "`grad[np.arange(N), y]`.", lambda z, y: _minus_one_at(z, y, rows_only=True)),
    Mistake("the 1 is subtracted in the wrong places: `grad[y]` picks whole rows and "
            "`grad[:, y]` whole columns; for row i it goes in column y[i] only, "
            "`grad[np.arange(N), y]`.", lambda z, y: _minus_one_at(z, y, rows_only=False)),
    Mistake("e^z overflows for large logits (inf / inf is nan): subtract each row's maximum "
            "before np.exp; softmax does not change when a row is shifted.",
            lambda z, y: (_naive_softmax(z) - _onehot(y, z.shape[1])) / len(y)),
    *(Mistake(f"each row is shifted by its {name.upper()}: softmax is unchanged by any "
              "shift, but only the row's MAXIMUM keeps every exponent <= 0 (the largest term "
              f"becomes e^0 = 1). Shifted by the {name}, a row spread over more than about "
              f"710 (here -1000 to 1000) still overflows: {overflow} is inf.",
              lambda z, y, shift=shift: (_naive_softmax(z - shift(z, axis=1, keepdims=True))
                                         - _onehot(y, z.shape[1])) / len(y))
      for name, shift, overflow in (("minimum", np.min, "e^2000"),
                                    ("mean", np.mean, "e^(1000 - mean)"))),
    Mistake("your gradient carries the softmax's slope s (1 - s) as an extra factor: that "
            "is the diagonal of softmax's Jacobian, and the cross-entropy's log has already "
            "cancelled it. Derive dL/dz once more through the log and the softmax together: "
            "the slopes cancel and leave something simpler.",
            lambda z, y: (_softmax(z) - _onehot(y, z.shape[1])) * _softmax(z)
            * (1 - _softmax(z)) / len(y)),
    Mistake("the maximum subtracted must be each ROW's (axis=1, keepdims=True), not the whole "
            "batch's: a row far below the batch's maximum underflows to 0 / 0.",
            lambda z, y: (_naive_softmax(z - z.max()) - _onehot(y, z.shape[1])) / len(y)),
    Mistake("the one-hot is off by one column: row i's 1 belongs in column y[i] itself "
            "(class 0 is column 0).",
            lambda z, y: (_softmax(z) - _onehot((y + 1) % z.shape[1], z.shape[1])) / len(y)),
    Mistake("the one-hot is off by one column: row i's 1 belongs in column y[i] itself "
            "(class 0 is column 0, nothing subtracted).",
            lambda z, y: (_softmax(z) - _onehot((y - 1) % z.shape[1], z.shape[1])) / len(y)),
    Mistake("that is dL/ds, the gradient with respect to the PROBABILITIES (it stops at the "
            "log): the exercise asks for the gradient with respect to the logits, so it must "
            "still go back through the softmax, where each probability depends on every logit "
            "of its row. Multiply by the softmax's Jacobian and simplify.",
            lambda z, y: -_onehot(y, z.shape[1]) / _softmax(z) / len(y)),
    Mistake("your probabilities come from a sigmoid applied to each logit on its own: this "
            "loss uses the SOFTMAX, which normalises each row (one example) so that its "
            "probabilities sum to 1.",
            lambda z, y: (1 / (1 + np.exp(-z)) - _onehot(y, z.shape[1])) / len(y)),
    Mistake("the log went into the gradient: log-probabilities (or log of the softmax) appear "
            "where the probabilities themselves belong. Differentiate -log s_target through "
            "the softmax again: what is left of the log?",
            lambda z, y: (np.log(_softmax(z)) - _onehot(y, z.shape[1])) / len(y)),
)


def _col_normalised(z: np.ndarray) -> np.ndarray:
    """Each row's maximum subtracted, then each COLUMN normalised."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _minus_one_at(z: np.ndarray, y: np.ndarray, rows_only: bool) -> np.ndarray:
    """The one-hot subtracted with a single index array, as ``grad[y] -= 1`` or ``grad[:, y]``."""
    grad = _softmax(z)
    if rows_only:
        grad[y] -= 1
    else:
        grad[:, y] -= 1
    return grad / len(y)


SOFTMAX_ERRORS = (
    (ValueError, KEEPDIMS, "an array of shape (N, K) met one of shape (N,): the row sums (or "
     "maxima) lost their axis. `e.sum(axis=1)` has shape (N,), which NumPy lines up with the "
     "K columns, not the N rows; keep the axis, `e.sum(axis=1, keepdims=True)`, so that each "
     "row of e is divided by its own total."),
    (ValueError, "broadcast", "two arrays of different widths meet: is the one-hot sized from "
     "the labels (their largest, or how many differ) instead of from the number of classes, "
     "logits.shape[1]? A batch may lack some classes."),
    (IndexError, "out of bounds", "an index runs past the array: is the one-hot (or the "
     "array you index with the targets) sized from the labels instead of from the number of "
     "classes, logits.shape[1]?"),
)

SOFTMAX_FORBID = {**library(
    (manual.SoftmaxCrossEntropy, "backward", "backprop.manual.SoftmaxCrossEntropy.backward"),
    (mlp, "softmax_cross_entropy", "backprop.mlp.softmax_cross_entropy")),
    **autograd_engines()}


def softmax_cross_entropy_backward(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(logits, targets) -> dlogits`` for the MEAN cross-entropy of softmax.

    ``logits`` (batch, classes), ``targets`` integer classes (batch,); return dL/dlogits, shaped
    like the logits. Checked on a batch of 5 x 4, on large logits (in the thousands), on a batch
    that lacks some classes, and on one example of 7 classes, against
    ``backprop.manual.SoftmaxCrossEntropy.backward``; the arguments must be left unchanged.
    float32 answers pass up to float32 rounding (chapter 7 trains in float32). Allowed: NumPy
    only.
    """
    return run_check("Softmax + cross-entropy backward", solution, _softmax_run,
                     _softmax_reference, mistakes=SOFTMAX_MISTAKES, float32=True,
                     products=False, forbid=SOFTMAX_FORBID, allowed="NumPy only",
                     error_hints=SOFTMAX_ERRORS)


# ----------------------------------------------------------------------------- a softmax layer


def _softmax_layer_args(batch: int, n: int, seed: int, scale: float = 1.0) -> Callable[[], tuple]:
    def args() -> tuple[np.ndarray, np.ndarray]:
        rng = _rng(seed)
        s = _softmax(scale * rng.normal(size=(batch, n)))
        return s, rng.normal(size=(batch, n))
    return args


SOFTMAX_LAYER_CASES = (
    Case("batch 4, n 5", _softmax_layer_args(4, 5, 31), 4),
    Case("batch 1, n 6", _softmax_layer_args(1, 6, 32), 1,
         "a batch of ONE row: does something assume several rows, or sum over the batch?"),
    Case("large logits", _softmax_layer_args(3, 5, 33, scale=40.0), 3,
         "logits in the tens, so each row's s is nearly one-hot (entries near 0 and near 1)"),
    Case("n 1", _softmax_layer_args(3, 1, 34), 3,
         "a softmax over ONE unit: s is 1 in every row whatever u is, so dL/du is 0"),
)


def _softmax_layer_reference(s: np.ndarray, grad: np.ndarray) -> np.ndarray:
    layer = manual.Softmax()
    layer._out = np.array(s, dtype=np.float64)
    return layer.backward(np.array(grad, dtype=np.float64))


# The O(n) case: rows of 1,500 units. An n x n Jacobian per row is 18 MB; the
# vector-Jacobian product allocates a few arrays of the batch's size (24 kB). The bound
# lies between, far from both: it needs no timing and holds on any machine.
WIDE = Case("batch 2, n 1500, memory", _softmax_layer_args(2, 1500, 35), 2,
            "rows of 1,500 units: the check also measures the largest memory your "
            "function allocates at once")
WIDE_BOUND = 64 * 2 * 1500 * 8  # 64 arrays of the batch's size: 1.5 MB


def _peak_bytes(call: Callable[[], Any]) -> tuple[Any, int]:
    """``call()`` and the most memory it held at once beyond what was held before
    (tracemalloc; NumPy reports its arrays to it), whether or not tracing was on."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = call()
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        if not was_tracing:
            tracemalloc.stop()


def _softmax_layer_run(solution: Callable[..., Any]) -> dict[str, Any]:
    out = run_cases(solution, SOFTMAX_LAYER_CASES, ("dL/du",))
    wide, peak = _peak_bytes(lambda: run_cases(solution, (WIDE,), ("dL/du",)))
    if peak > WIDE_BOUND:
        raise BadReturn(
            f"allocated {peak / 2**20:.0f} MiB at once for a batch of 2 rows of 1,500 "
            "units (the arrays themselves are 24 kB): that is an n x n array per row, "
            "the O(n^2) Jacobian the exercise asks you not to form.",
            hint="the sum over i, Σ_i g_i s_i, is one number per row: compute it once "
                 "(np.sum(g * s, axis=1, keepdims=True)) and use it for every k, with "
                 "no (n, n) array, no np.outer, np.diag or einsum into a matrix.")
    return {**out, **wide}


SOFTMAX_LAYER_MISTAKES = (
    Mistake("that uses only the DIAGONAL of the softmax's Jacobian, ds_i/du_i: each output "
            "s_i also depends on every other input u_k (through the sum in the denominator). "
            "dL/du_k must add up what u_k does through EVERY output s_i.",
            lambda s, g: s * (1 - s) * g),
    Mistake("a term is missing: the off-diagonal entries of the Jacobian add a part that is "
            "the same for every unit k of a row (one number per row). Split the sum over i "
            "into i = k and the rest.", lambda s, g: s * g),
    Mistake("the sum Σ_i g_i s_i is over the wrong axis: it runs over the units of ONE row "
            "(axis=1, keepdims=True), not over the batch.",
            lambda s, g: s * (g - np.sum(g * s, axis=0, keepdims=True))),
    Mistake("your sum runs over the whole batch; it must be one number per row, each "
            "example's own (axis=1, keepdims=True).", lambda s, g: s * (g - np.sum(g * s))),
    Mistake("the shared term is Σ_i g_i s_i, the incoming gradient WEIGHTED by s; Σ_i g_i "
            "alone leaves out s.",
            lambda s, g: s * (g - np.sum(g, axis=1, keepdims=True))),
    Mistake("the row sums lost their axis: np.sum(g * s, axis=1) has shape (batch,), which "
            "NumPy lines up with the units, not the rows; keep it, keepdims=True.",
            lambda s, g: s * (g - np.sum(g * s, axis=1))),
    Mistake("the factor s_k in front is missing: every entry of the softmax's Jacobian, "
            "ds_i/du_k, carries a factor of s. Your bracket is right; multiply it by the "
            "output of unit k.", lambda s, g: g - np.sum(g * s, axis=1, keepdims=True)),
    Mistake("the shared term is a MEAN over the row's units, not a SUM: it is divided by n. "
            "The chain rule adds up what u_k does through every output, with no 1/n.",
            lambda s, g: s * (g - np.mean(g * s, axis=1, keepdims=True))),
    Mistake("the sign of the shared term is flipped: the off-diagonal entries of the softmax's "
            "Jacobian are NEGATIVE (raising u_k lowers every other s_i, since each row sums "
            "to 1).", lambda s, g: s * (g + np.sum(g * s, axis=1, keepdims=True))),
)

SOFTMAX_LAYER_ERRORS = (
    (ValueError, KEEPDIMS, "an array of shape (batch, n) met one of shape (batch,): the row "
     "sum Σ_i g_i s_i lost its axis. Keep it, `np.sum(g * s, axis=1, keepdims=True)` (shape "
     "(batch, 1)), so that each row subtracts its own sum."),
)

SOFTMAX_LAYER_FORBID = {**library((manual.Softmax, "backward", "backprop.manual.Softmax.backward"),
                                  (manual.Sequential, "backward",
                                   "backprop.manual.Sequential.backward")),
                        **autograd_engines()}


def softmax_backward(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(s, grad) -> dL/du`` for a HIDDEN softmax layer, s = softmax(u) row by
    row: ``s`` (batch, n) is the layer's output, ``grad`` (batch, n) the gradient that reaches
    it; dL/du has the shape of s.

    dL/du_k = s_k (g_k - Σ_i g_i s_i), the vector-Jacobian product of ds_i/du_k = s_i ([i = k]
    - s_k). Checked at batch 4 x 5, at a batch of one row, on nearly
    one-hot rows (logits in the tens), with n = 1 (s is 1, dL/du is 0) and on 2 rows of
    1,500 units, where the memory allocated at once must stay under ``WIDE_BOUND`` (1.5
    MB): the O(n) product passes, a full n x n Jacobian per row (18 MB) is refused.
    Against ``backprop.manual.Softmax.backward``; the arguments must be left unchanged.
    The Jacobian is symmetric, so a transposed one is not a mistake here. Allowed: NumPy; not
    the library's ``Softmax.backward`` or an autograd engine.
    """
    return run_check("A softmax layer's backward", solution, _softmax_layer_run,
                     _softmax_layer_reference, mistakes=SOFTMAX_LAYER_MISTAKES,
                     error_hints=SOFTMAX_LAYER_ERRORS, forbid=SOFTMAX_LAYER_FORBID,
                     allowed="NumPy", products=False)
