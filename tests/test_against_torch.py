"""PyTorch as an oracle: our values and gradients must match torch.autograd in float64.

Every op, every loss, a whole small network and several optimiser steps are run through both
libraries from the same numbers; values and gradients must agree to 1e-10 relative. Skipped,
with a hint, where PyTorch is not installed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backprop import functional as F
from backprop.autograd import Tensor
from backprop.nn import Linear, ReLU, Sequential
from backprop.optim import SGD, Adam, clip_grad_norm_

torch = pytest.importorskip(
    "torch", reason="PyTorch not installed: pip install torch==2.13.0 to run the oracle tests"
)
torch_functional = torch.nn.functional

RTOL = 1e-10
ATOL = 1e-12  # for elements that are ~0, where a relative error means nothing
PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)


def assert_matches(ours: np.ndarray, theirs: torch.Tensor, what: str) -> None:
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=what)


def run_both(
    ours: Callable[..., Tensor],
    theirs: Callable[..., torch.Tensor],
    arrays: list[np.ndarray],
    seed: int = 0,
) -> None:
    """Run both functions on the same inputs, backprop the same random upstream gradient,
    and compare the outputs and every input's gradient."""
    our_leaves = [Tensor(a, requires_grad=True) for a in arrays]
    torch_leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    our_out, torch_out = ours(*our_leaves), theirs(*torch_leaves)
    assert_matches(our_out.data, torch_out, "output")
    upstream = np.random.default_rng(seed).standard_normal(our_out.shape)
    our_out.backward(upstream)
    torch_out.backward(torch.tensor(upstream, dtype=torch.float64))
    for position, (mine, reference) in enumerate(zip(our_leaves, torch_leaves, strict=True)):
        assert mine.grad.shape == mine.shape
        assert_matches(mine.grad, reference.grad, f"gradient of input {position}")


def normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape)


def positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def both(expression: Callable) -> tuple[Callable, Callable]:
    """The same expression works on our Tensors and on torch's (operators, shared method names)."""
    return expression, expression


# name -> (ours, torch's, [(shape, generator) per input])
OPS: dict[str, tuple[Callable, Callable, list]] = {
    "add": (*both(lambda a, b: a + b), [((3, 1), normal), ((4,), normal)]),
    "sub": (*both(lambda a, b: a - b), [((2, 3), normal), ((1, 3), normal)]),
    "mul": (*both(lambda a, b: a * b), [((2, 1, 3), normal), ((4, 1), normal)]),
    "div": (*both(lambda a, b: a / b), [((3, 4), normal), ((4,), positive)]),
    "pow tensor": (*both(lambda a, b: a**b), [((3, 2), positive), ((2,), normal)]),
    "pow number": (*both(lambda a: a**3), [((2, 3), normal)]),
    "sqrt via pow": (*both(lambda a: a**0.5), [((4,), positive)]),
    "neg": (*both(lambda a: -a), [((3,), normal)]),
    "radd rsub rmul rdiv": (*both(lambda a: (2 - a) * 3 / (1 + a * a) + 1), [((2, 2), normal)]),
    "rpow": (*both(lambda a: 2.0**a), [((3,), normal)]),
    "matmul 2d": (*both(lambda a, b: a @ b), [((3, 4), normal), ((4, 2), normal)]),
    "matmul vector": (*both(lambda a, b: a @ b), [((4,), normal), ((4, 2), normal)]),
    "matmul matrix-vector": (*both(lambda a, b: a @ b), [((3, 4), normal), ((4,), normal)]),
    "matmul dot": (*both(lambda a, b: a @ b), [((4,), normal), ((4,), normal)]),
    "matmul batched": (*both(lambda a, b: a @ b), [((2, 1, 3, 4), normal), ((3, 4, 2), normal)]),
    "exp": (*both(lambda a: a.exp()), [((2, 3), normal)]),
    "log": (*both(lambda a: a.log()), [((2, 3), positive)]),
    "relu": (*both(lambda a: a.relu()), [((3, 3), normal)]),
    "sigmoid": (*both(lambda a: a.sigmoid()), [((3, 3), normal)]),
    "tanh": (*both(lambda a: a.tanh()), [((3, 3), normal)]),
    "abs": (*both(lambda a: a.abs()), [((3, 3), normal)]),
    "sum all": (*both(lambda a: a.sum()), [((2, 3), normal)]),
    "sum axis": (lambda a: a.sum(axis=1), lambda a: a.sum(dim=1), [((2, 3, 4), normal)]),
    "sum axes keepdims": (
        lambda a: a.sum(axis=(0, 2), keepdims=True),
        lambda a: a.sum(dim=(0, 2), keepdim=True),
        [((2, 3, 4), normal)],
    ),
    "mean all": (*both(lambda a: a.mean()), [((2, 3), normal)]),
    "mean axis": (lambda a: a.mean(axis=-1), lambda a: a.mean(dim=-1), [((2, 3, 4), normal)]),
    "max all": (lambda a: a.max(), lambda a: a.amax(dim=(0, 1)), [((3, 4), normal)]),
    "max axis keepdims": (
        lambda a: a.max(axis=0, keepdims=True),
        lambda a: a.amax(dim=0, keepdim=True),
        [((3, 4), normal)],
    ),
    "reshape": (*both(lambda a: a.reshape(4, 3)), [((2, 6), normal)]),
    "T": (*both(lambda a: a.T), [((2, 5), normal)]),
    "transpose": (*both(lambda a: a.transpose(0, 2)), [((2, 3, 4), normal)]),
    "permute": (*both(lambda a: a.permute(2, 0, 1)), [((2, 3, 4), normal)]),
    "index int": (*both(lambda a: a[1]), [((3, 4), normal)]),
    "index slice": (*both(lambda a: a[1:, ::2]), [((3, 4), normal)]),
    "index repeated": (*both(lambda a: a[[0, 2, 0, 0]]), [((3, 4), normal)]),
    "index pairs": (
        lambda a: a[np.array([0, 1, 1]), np.array([2, 0, 2])],
        lambda a: a[torch.tensor([0, 1, 1]), torch.tensor([2, 0, 2])],
        [((3, 4), normal)],
    ),
    "softplus": (F.softplus, torch_functional.softplus, [((3, 4), normal)]),
    "softmax": (
        lambda a: F.softmax(a, axis=0),
        lambda a: torch.softmax(a, dim=0),
        [((3, 4), normal)],
    ),
    "log_softmax": (F.log_softmax, lambda a: torch.log_softmax(a, dim=-1), [((3, 4), normal)]),
}


@pytest.mark.parametrize("name", OPS)
def test_op_matches_torch(name):
    ours, theirs, inputs = OPS[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # a fixed seed per op
    arrays = [make(rng, shape) * 2 for shape, make in inputs]
    run_both(ours, theirs, arrays)


BROADCASTING = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


@pytest.mark.parametrize("symbol", BROADCASTING)
@PROPERTY
@given(
    pair=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_broadcasting_ops_match_torch(symbol, pair, seed):
    rng = np.random.default_rng(seed)
    arrays = [positive(rng, shape) for shape in pair.input_shapes]
    run_both(BROADCASTING[symbol], BROADCASTING[symbol], arrays, seed=seed)


# --------------------------------------------------------------------------- losses
def test_cross_entropy_matches_torch():
    rng = np.random.default_rng(1)
    targets = rng.integers(0, 5, 6)
    run_both(
        lambda a: F.cross_entropy(a, targets),
        lambda a: torch_functional.cross_entropy(a, torch.tensor(targets)),
        [rng.standard_normal((6, 5)) * 3],
    )


def test_binary_cross_entropy_with_logits_matches_torch():
    rng = np.random.default_rng(2)
    targets = rng.uniform(0, 1, (4, 3))
    run_both(
        lambda a: F.binary_cross_entropy_with_logits(a, targets),
        lambda a: torch_functional.binary_cross_entropy_with_logits(a, torch.tensor(targets)),
        [rng.standard_normal((4, 3)) * 3],
    )


def test_mse_loss_matches_torch():
    rng = np.random.default_rng(3)
    target = rng.standard_normal((5, 2))
    run_both(
        lambda a: F.mse_loss(a, target),
        lambda a: torch_functional.mse_loss(a, torch.tensor(target)),
        [rng.standard_normal((5, 2))],
    )


def test_losses_match_torch_at_logits_of_1e4():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    targets = np.array([1, 0])
    run_both(
        lambda a: F.cross_entropy(a, targets),
        lambda a: torch_functional.cross_entropy(a, torch.tensor(targets)),
        [logits],
    )
    binary_targets = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 1.0]])
    torch_targets = torch.tensor(binary_targets)
    run_both(
        lambda a: F.binary_cross_entropy_with_logits(a, binary_targets),
        lambda a: torch_functional.binary_cross_entropy_with_logits(a, torch_targets),
        [logits],
    )


# --------------------------------------------------------------------------- a whole network
def make_twin_networks(seed: int = 0) -> tuple[Sequential, torch.nn.Sequential]:
    """Linear(4, 8) - ReLU - Linear(8, 3) in both libraries, with identical weights."""
    rng = np.random.default_rng(seed)
    ours = Sequential(Linear(4, 8, rng=rng), ReLU(), Linear(8, 3, rng=rng))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    theirs = theirs.double()
    with torch.no_grad():
        for mine, reference in zip(ours.parameters(), theirs.parameters(), strict=True):
            reference.copy_(torch.tensor(mine.data))
    return ours, theirs


BATCH = np.random.default_rng(10).standard_normal((6, 4))
LABELS = np.array([0, 2, 1, 1, 0, 2])


def our_loss(net: Sequential) -> Tensor:
    return F.cross_entropy(net(Tensor(BATCH)), LABELS)


def torch_loss(net: torch.nn.Sequential) -> torch.Tensor:
    return torch_functional.cross_entropy(net(torch.tensor(BATCH)), torch.tensor(LABELS))


def assert_networks_match(ours: Sequential, theirs: torch.nn.Sequential, what: str) -> None:
    pairs = zip(ours.parameters(), theirs.parameters(), strict=True)
    for position, (mine, reference) in enumerate(pairs):
        assert mine.shape == tuple(reference.shape)
        assert_matches(mine.data, reference, f"{what}: parameter {position}")
        if reference.grad is not None:
            assert_matches(mine.grad, reference.grad, f"{what}: gradient {position}")


def test_network_loss_and_gradients_match_torch():
    ours, theirs = make_twin_networks()
    loss, reference_loss = our_loss(ours), torch_loss(theirs)
    assert_matches(loss.data, reference_loss, "loss")
    loss.backward()
    reference_loss.backward()
    assert_networks_match(ours, theirs, "after backward")


OPTIMISERS = {
    "sgd": (lambda ps: SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "sgd momentum": (
        lambda ps: SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    ),
    "sgd momentum weight decay": (
        lambda ps: SGD(ps, lr=0.1, momentum=0.8, weight_decay=0.01),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.8, weight_decay=0.01),
    ),
    "adam": (lambda ps: Adam(ps, lr=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
    "adam betas weight decay": (
        lambda ps: Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
        lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    ),
}


@pytest.mark.parametrize("name", OPTIMISERS)
def test_optimiser_steps_match_torch(name):
    make_ours, make_theirs = OPTIMISERS[name]
    ours, theirs = make_twin_networks(seed=5)
    our_optimizer, torch_optimizer = make_ours(ours.parameters()), make_theirs(theirs.parameters())
    for step in range(4):
        our_optimizer.zero_grad()
        torch_optimizer.zero_grad()
        our_loss(ours).backward()
        torch_loss(theirs).backward()
        our_optimizer.step()
        torch_optimizer.step()
        assert_networks_match(ours, theirs, f"after step {step + 1}")
    assert not np.allclose(ours[0].weight.data, make_twin_networks(seed=5)[0][0].weight.data)


def test_clip_grad_norm_matches_torch():
    ours, theirs = make_twin_networks(seed=7)
    our_loss(ours).backward()
    torch_loss(theirs).backward()
    total = clip_grad_norm_(ours.parameters(), max_norm=0.1)
    reference_total = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm=0.1)
    assert total == pytest.approx(reference_total.item(), rel=RTOL)
    assert total > 0.1  # so clipping really happened
    assert_networks_match(ours, theirs, "after clipping")
