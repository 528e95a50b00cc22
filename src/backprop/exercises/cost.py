"""What backprop costs: predict, before measuring, the multiply-adds of the forward and the
backward pass of an MLP, and the bytes its layers keep for the backward pass.

The network is ``backprop.manual``'s: ``Linear`` layers with a ``ReLU`` between each pair, then
``SoftmaxCrossEntropy``, for a list of layer sizes such as [784, 128, 64, 10] and a batch size B.
The conventions the prediction must follow:

- multiply-adds are those of the matrix products only (bias additions and activations are
  cheap by comparison): forward, one product per layer, ``X W^T``; backward, ``G^T X`` for every
  weight, and ``G W`` for every layer's input gradient EXCEPT the first layer's, since nobody
  needs the gradient of the data (autograd skips it: the images do not require grad);
- the bytes kept are what the layers' caches hold after ``forward``, measured here on the real
  objects: each ``Linear`` keeps its input, each ``ReLU`` a boolean mask of where its input was
  positive (one byte per element), and the loss its softmax probabilities and the targets
  (int64); floats are float64, 8 bytes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from backprop import cost as cost_module
from backprop import manual
from backprop import mlp as mlp_module
from backprop.exercises._core import (BadReturn, CheckResult, Mistake, NotDone, library,
                                      note_case, note_values, run_check)

__all__ = ["backprop_cost", "finite_difference_cost", "measured_bytes_kept"]

KEYS = ("forward_macs", "backward_macs", "bytes_kept")
CASES = (((784, 128, 64, 10), 64), ((5, 3, 2), 4), ((100, 50, 50, 50, 10), 32))
CASE_NOTES = {
    ((5, 3, 2), 4): "a network of two layers (one ReLU) and a batch of 4: is a count of "
                    "layers, or a size of the first network, written in?",
    ((100, 50, 50, 50, 10), 32): "a network of four layers (three ReLUs): does every count "
                                 "follow the list of sizes, however long it is?",
}


def measured_bytes_kept(sizes: tuple[int, ...], batch: int) -> int:
    """Run a ManualGrad MLP forward and add up the bytes of every array its caches hold."""
    layers: list[manual.Layer] = []
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(manual.Linear(fan_in, fan_out, rng=k))
        if k < len(sizes) - 2:
            layers.append(manual.ReLU())
    network, loss = manual.Sequential(*layers), manual.SoftmaxCrossEntropy()
    rng = np.random.default_rng(0)
    loss.forward(network.forward(rng.normal(size=(batch, sizes[0]))),
                 rng.integers(0, sizes[-1], size=batch))
    cached = [getattr(layer, name) for layer in network.layers for name in ("_x", "_positive")
              if hasattr(layer, name)] + [loss._grad_rows, loss._targets]
    return sum({id(array): array.nbytes for array in cached}.values())


def _reference(sizes: list[int], batch: int) -> dict[str, int]:
    products = [fan_in * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
    forward = batch * sum(products)
    return {"forward_macs": forward,
            "backward_macs": 2 * forward - batch * products[0],
            "bytes_kept": measured_bytes_kept(tuple(sizes), batch)}


def _run(solution: Callable[..., Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sizes, batch in CASES:
        note_case(f"{list(sizes)}, B={batch}", batch, CASE_NOTES.get((sizes, batch), ""))
        result = solution(list(sizes), batch)
        if result is None or result is Ellipsis:
            raise NotDone
        if not isinstance(result, dict) or not set(KEYS) <= set(result):
            raise BadReturn(f"must return a dict with the keys {', '.join(KEYS)}.")
        label = f"{list(sizes)}, B={batch}"
        out.update({f"{key}, {label}": result[key] for key in KEYS})
        note_values({f"{key}, {label}": result[key] for key in KEYS})
    return out


def _variant(*, first_dx: bool = False, batch_factor: bool = True, mask_bytes: int = 1,
             first_input: bool = True, parameters: bool = False, targets: bool = True,
             probabilities: bool = True, last_mask: bool = False,
             unit: float = 1, skip_last: bool = False, count_products: bool = False,
             onehot_targets: bool = False, float_bytes: int = 8, outputs: bool = False,
             mask_bits: bool = False, image_bytes: int = 8, op_factor: int = 1,
             bias_macs: bool = False, logits_kept: bool = False, target_bytes: int = 8,
             drop_last_layer: bool = False, weight_grads: bool = True,
             input_grads: bool = True, with_forward: bool = False) -> Callable[..., dict]:
    """The prediction with one known mistake: the checker's catalogue of wrong answers."""

    def predict(sizes: list[int], batch: int) -> dict[str, int]:
        b = batch if batch_factor else 1
        products = [i * o for i, o in zip(sizes[:-1], sizes[1:])]
        inputs = sizes[:-1] if first_input else sizes[1:-1]
        if outputs:
            inputs = sizes[1:]
        loss_kept = (float_bytes * b * sizes[-1] * (probabilities + logits_kept)
                     + target_bytes * b * targets * (sizes[-1] if onehot_targets else 1))
        masked = sizes[1:] if last_mask else sizes[1:-1]
        mask_kept = (sum(-(-b * n // 8) for n in masked) if mask_bits
                     else mask_bytes * b * sum(masked))
        kept = float_bytes * b * sum(inputs) + mask_kept + loss_kept
        if first_input and not outputs:  # the batch itself, as the first layer's input
            kept += (image_bytes - float_bytes) * b * sizes[0]
        if parameters:
            kept = 8 * sum(p + o for p, o in zip(products, sizes[1:]))
        if unit != 1:
            kept = kept / unit
        if count_products:
            return {"forward_macs": len(products), "backward_macs": 2 * len(products) - 1,
                    "bytes_kept": kept}
        skipped = products[-1] if skip_last else products[0]
        counted = products[:-1] if drop_last_layer else products
        extra = b * sum(sizes[1:]) if bias_macs else 0
        forward = op_factor * (b * sum(counted) + extra)
        inputs_part = b * sum(counted) - (0 if first_dx else b * skipped)
        backward = op_factor * (weight_grads * b * sum(counted) + input_grads * inputs_part
                                + extra) + with_forward * forward
        return {"forward_macs": forward, "backward_macs": backward, "bytes_kept": kept}

    return predict


MISTAKES = (
    Mistake("the first layer's input gradient G W is never needed (the data needs no gradient), "
            "so backward does one product fewer than twice the forward.",
            _variant(first_dx=True), ("backward_macs",)),
    Mistake("the count is for one example: every product has the batch size B as a factor.",
            _variant(batch_factor=False)),
    Mistake("a ReLU mask is boolean: one byte per element, not eight.",
            _variant(mask_bytes=8), ("bytes_kept",)),
    Mistake("the first Linear layer keeps its input too (the batch X): dW1 = G^T X needs it.",
            _variant(first_input=False), ("bytes_kept",)),
    Mistake("that is the parameters' size; the question is what the FORWARD PASS keeps for "
            "backward (inputs, masks, probabilities, targets), which grows with the batch.",
            _variant(parameters=True), ("bytes_kept",)),
    Mistake("the loss keeps two arrays for its backward: the probabilities and the targets "
            "(one int64 label per example). One of them is missing from your count.",
            _variant(targets=False), ("bytes_kept",)),
    Mistake("the loss keeps two arrays for its backward: the probabilities and the targets "
            "(one int64 label per example). One of them is missing from your count.",
            _variant(probabilities=False), ("bytes_kept",)),
    Mistake("a mask is counted where there is no ReLU: which layers does a ReLU follow, and "
            "which one feeds the loss directly?", _variant(last_mask=True), ("bytes_kept",)),
    Mistake("bytes_kept is asked for in bytes: the number is smaller by the factor of a "
            "larger unit.", _variant(unit=1024), ("bytes_kept",)),
    Mistake("bytes_kept is asked for in bytes: the number is smaller by the factor of a "
            "larger unit.", _variant(unit=1000), ("bytes_kept",)),
    Mistake("bytes_kept is asked for in BYTES: your number is 8 times too large, as if counted "
            "in bits.", _variant(unit=1 / 8), ("bytes_kept",)),
    Mistake("the product that backward leaves out is the FIRST layer's input gradient G W1 "
            "(the data needs no gradient), not the last layer's: every other layer's input "
            "gradient feeds the layer before it.", _variant(skip_last=True),
            ("backward_macs",)),
    Mistake("that counts matrix products, not multiply-adds: a product of a (B, in) batch by "
            "an (in, out) matrix does B * in * out multiply-adds.",
            _variant(count_products=True), ("forward_macs", "backward_macs")),
    Mistake("the targets are kept as the labels themselves (one int64 per example, as the "
            "loss receives them), not as a one-hot array of the classes.",
            _variant(onehot_targets=True), ("bytes_kept",)),
    Mistake("the arrays here are float64, 8 bytes per number, not float32's 4 (the course's "
            "ManualGrad MLP keeps float64 inputs and probabilities).",
            _variant(float_bytes=4), ("bytes_kept",)),
    Mistake("the batch is given in float64 here, 8 bytes per pixel: load_mnist's images are "
            "float32, but this exercise counts a float64 batch, as ManualGrad's layers keep it.",
            _variant(image_bytes=4), ("bytes_kept",)),
    Mistake("each Linear layer keeps its INPUT for the backward pass (the weight gradient "
            "pairs the output gradient with it), not its output: count the arrays that go into "
            "the layers.", _variant(outputs=True), ("bytes_kept",)),
    Mistake("a NumPy boolean array takes a whole byte per element, not a bit: the ReLU's mask "
            "is not packed.", _variant(mask_bits=True), ("bytes_kept",)),
    Mistake("your count is exactly twice the multiply-adds: is a multiply and an add counted "
            "as two operations (as FLOPs are)? Here one multiply-add is one unit: a product "
            "of (B, in) by (in, out) is B * in * out of them.", _variant(op_factor=2),
            ("forward_macs", "backward_macs")),
    Mistake("the bias additions are counted: the count is of the matrix products' "
            "multiply-adds only (adding a bias is one addition per output, cheap next to "
            "them, and not a multiply-add).", _variant(bias_macs=True),
            ("forward_macs", "backward_macs")),
    Mistake("a layer is left out: a list of n sizes makes n - 1 Linear layers, and the "
            "count runs over every one of them, the last (the one that makes the logits) "
            "too. Does a loop stop one layer early (range(len(sizes) - 2))?",
            _variant(drop_last_layer=True), ("forward_macs", "backward_macs")),
    Mistake("the logits are counted among the kept arrays: the loss keeps its softmax "
            "PROBABILITIES (and the targets) for its backward, not the logits, and the last "
            "Linear layer keeps its input, not its output.", _variant(logits_kept=True),
            ("bytes_kept",)),
    Mistake("backward counts the weight gradients G^T X only: each layer but the first also "
            "passes the gradient on to its input, G W, a product of the same size.",
            _variant(input_grads=False), ("backward_macs",)),
    Mistake("backward counts the input gradients G W only: every layer's weights need their "
            "gradient too, G^T X, a product of the same size as the forward one.",
            _variant(weight_grads=False), ("backward_macs",)),
    Mistake("backward_macs includes the forward pass: that is the whole training step. Count "
            "the backward pass's own products only (G^T X and G W).",
            _variant(with_forward=True), ("backward_macs",)),
    Mistake("the targets are counted at 4 bytes each: the labels are int64 (NumPy's default "
            "integer), 8 bytes per example.", _variant(target_bytes=4), ("bytes_kept",)),
)


FORBID = library(
    (cost_module, "predicted_multiply_adds", "backprop.cost.predicted_multiply_adds"),
    (cost_module, "counted_multiply_adds", "backprop.cost.counted_multiply_adds"),
    (cost_module, "observed_multiply_adds", "backprop.cost.observed_multiply_adds"),
    (cost_module, "graph_memory", "backprop.cost.graph_memory"),
    (mlp_module.HandMLP, "kept_bytes", "backprop.mlp.HandMLP.kept_bytes"),
    (sys.modules[__name__], "measured_bytes_kept",
     "backprop.exercises.cost.measured_bytes_kept"))
ALLOWED = "Python arithmetic on sizes and batch (no network is needed, nor built)"


def backprop_cost(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(sizes, batch) -> dict`` with the keys ``forward_macs``,
    ``backward_macs`` and ``bytes_kept`` (integers), for three networks.

    See this module's docstring for what counts; the bytes are measured on ``backprop.manual``
    layers after a forward pass. Allowed: Python arithmetic; not the library's counters
    (``backprop.cost``) or byte measurements.
    """
    return run_check("What backprop costs", solution, _run, _reference, mistakes=MISTAKES,
                     tol=0.0, products=False, gradient=False, forbid=FORBID, allowed=ALLOWED)


# ----------------------------------------------------------------------------- finite differences

FD_KEYS = ("parameters", "forward_passes", "macs")


def _reference_finite_differences(sizes: list[int], batch: int) -> dict[str, int]:
    """Central differences nudge each parameter twice: 2P forward passes of B * sum(in * out)."""
    parameters = sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:]))
    forward = batch * sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
    return {"parameters": parameters, "forward_passes": 2 * parameters,
            "macs": 2 * parameters * forward}


def _forward_macs(sizes: list[int], batch: int) -> int:
    return batch * sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))


def _backward_macs(sizes: list[int], batch: int) -> int:
    return 2 * _forward_macs(sizes, batch) - batch * sizes[0] * sizes[1]


def _fd_run(solution: Callable[..., Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sizes, batch in CASES:
        note_case(f"{list(sizes)}, B={batch}", batch)
        result = solution(list(sizes), batch)
        if result is None or result is Ellipsis:
            raise NotDone
        if not isinstance(result, dict) or not set(FD_KEYS) <= set(result):
            raise BadReturn(f"must return a dict with the keys {', '.join(FD_KEYS)}.")
        label = f"{list(sizes)}, B={batch}"
        out.update({f"{key}, {label}": result[key] for key in FD_KEYS})
        note_values({f"{key}, {label}": result[key] for key in FD_KEYS})
    return out


def _fd_variant(*, biases: bool = True, passes_per_parameter: int = 2,
                batch_factor: bool = True, bias_in: bool = False) -> Callable[..., dict]:
    def predict(sizes: list[int], batch: int) -> dict[str, int]:
        parameters = sum(i * o + (i if bias_in else o * biases)
                         for i, o in zip(sizes[:-1], sizes[1:]))
        passes = passes_per_parameter * parameters + (passes_per_parameter == 1)
        forward = (batch if batch_factor else 1) * sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
        return {"parameters": parameters, "forward_passes": passes, "macs": passes * forward}
    return predict


FD_MISTAKES = (
    Mistake("the biases are parameters too: each Linear(in, out) has in * out weights and out "
            "biases, and each one needs its own nudges.", _fd_variant(biases=False),
            ("parameters",)),
    Mistake("that counts a one-sided difference (P nudged passes and one at x itself); the "
            "chapter's central difference evaluates f(x + eps) and f(x - eps) for every "
            "parameter.", _fd_variant(passes_per_parameter=1), ("forward_passes",)),
    Mistake("each forward pass runs the whole batch: its multiply-adds have the batch size B "
            "as a factor.", _fd_variant(batch_factor=False), ("macs",)),
    Mistake("a central difference evaluates f twice per parameter, at x + eps and at x - eps: "
            "2P forward passes, not P.",
            lambda sizes, batch: {**_reference_finite_differences(sizes, batch), "forward_passes":
                                  _reference_finite_differences(sizes, batch)["parameters"]},
            ("forward_passes",)),
    Mistake("a layer Linear(in, out) has one bias per OUTPUT unit (out of them), not per "
            "input: its parameters are in * out + out.", _fd_variant(bias_in=True),
            ("parameters",)),
    Mistake("a central difference evaluates f twice per parameter, 2P passes: the loss at x "
            "itself is not needed (it is the one-sided difference that uses it).",
            lambda sizes, batch: {**_reference_finite_differences(sizes, batch), "forward_passes":
                                  2 * _reference_finite_differences(sizes, batch)["parameters"]
                                  + 1}, ("forward_passes",)),
    Mistake("the number of multiply-adds overflowed: a fixed-size integer (np.int32 holds up "
            "to about 2.1e9) wrapped around. Count with Python's int, which has no limit (or "
            "np.int64).", lambda sizes, batch: {
                **_reference_finite_differences(sizes, batch),
                "macs": int(np.array(_reference_finite_differences(sizes, batch)["macs"])
                            .astype(np.int64).astype(np.int32))}, ("macs",)),
    Mistake("your multiply-adds are exactly twice the count: is each multiply-add counted as "
            "two operations (a multiply and an add, as FLOPs are)? Here one multiply-add is one "
            "unit, as in the chapter. (Nor is a backward pass counted with each nudged one: "
            "finite differences run forward passes only.)",
            lambda sizes, batch: {**_reference_finite_differences(sizes, batch),
                                  "macs": 2 * _reference_finite_differences(sizes, batch)["macs"]},
            ("macs",)),
    Mistake("finite differences run forward passes only: no backward pass is counted.",
            lambda sizes, batch: {**_reference_finite_differences(sizes, batch),
                                  "macs": _reference_finite_differences(sizes, batch)["macs"]
                                  + _backward_macs(sizes, batch)}, ("macs",)),
    Mistake("finite differences run forward passes only: no backward pass is counted.",
            lambda sizes, batch: {**_reference_finite_differences(sizes, batch),
                                  "macs": _reference_finite_differences(sizes, batch)[
                                      "forward_passes"] * (_forward_macs(sizes, batch)
                                                           + _backward_macs(sizes, batch))},
            ("macs",)),
    Mistake("a layer is a PAIR of consecutive sizes: a list of n sizes makes n - 1 Linear "
            "layers, and every one of them counts; is a layer left out (or one made up)?",
            lambda sizes, batch: _reference_finite_differences(sizes[:-1], batch),
            ("parameters",)),
    Mistake("a layer is a PAIR of consecutive sizes: a list of n sizes makes n - 1 Linear "
            "layers, and every one of them counts; is a layer left out (or one made up)?",
            lambda sizes, batch: _reference_finite_differences(sizes[1:], batch),
            ("parameters",)),
    Mistake("macs counts ONE nudge per parameter: the gradient takes forward_passes forward "
            "passes (two per parameter), and each costs the multiply-adds of a whole "
            "forward pass.",
            lambda sizes, batch: {**_reference_finite_differences(sizes, batch),
                                  "macs": _reference_finite_differences(sizes, batch)[
                                      "parameters"] * _forward_macs(sizes, batch)},
            ("macs",)),
    Mistake("macs is the cost of ONE forward pass: the gradient by finite differences takes "
            "forward_passes of them.",
            lambda sizes, batch: {**_reference_finite_differences(sizes, batch),
                                  "macs": _forward_macs(sizes, batch)}, ("macs",)),
    Mistake("the bias additions are counted in a forward pass's multiply-adds: as in "
            "backprop_cost, only the matrix products' multiply-adds count.",
            lambda sizes, batch: {**_reference_finite_differences(sizes, batch),
                                  "macs": _reference_finite_differences(sizes, batch)[
                                      "forward_passes"] * (_forward_macs(sizes, batch)
                                                           + batch * sum(sizes[1:]))},
            ("macs",)),
    Mistake("a bias is counted for every size in the list, the input's too: biases belong "
            "to the Linear layers, one per OUTPUT unit of each, and the input has none.",
            lambda sizes, batch: _fd_from_parameters(
                sum(i * o for i, o in zip(sizes[:-1], sizes[1:])) + sum(sizes), sizes, batch),
            ("parameters",)),
    Mistake("the number of parameters does not depend on the batch: the batch size enters "
            "the multiply-adds of each forward pass, not the count of weights and biases.",
            lambda sizes, batch: _fd_from_parameters(
                batch * _reference_finite_differences(sizes, batch)["parameters"], sizes,
                batch), ("parameters",)),
)


def _fd_from_parameters(parameters: int, sizes: list[int], batch: int) -> dict[str, int]:
    """The rest of the count, right, from a (wrong) number of parameters."""
    return {"parameters": parameters, "forward_passes": 2 * parameters,
            "macs": 2 * parameters * _forward_macs(sizes, batch)}


def finite_difference_cost(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(sizes, batch) -> dict`` with the keys ``parameters``, ``forward_passes``
    and ``macs``: the cost of the gradient by central differences for an MLP of Linear layers of
    the given sizes (weights and biases), one forward pass per nudge, counting the multiply-adds
    of the matrix products only, as ``backprop_cost`` does."""
    return run_check("What finite differences cost", solution, _fd_run,
                     _reference_finite_differences, mistakes=FD_MISTAKES, tol=0.0,
                     products=False, gradient=False, forbid=FORBID, allowed=ALLOWED)
