"""The shortcuts that make the engine fast (issue 14) must not change a single result.

``tests/conftest.py`` runs every engine test with the speed paths on and off; the tests at
the end of this file run the same training steps both ways in one test and compare them.

Each optimisation is checked against the slow, obvious computation it replaces: the fused
softmax-cross-entropy against the composed ``cross_entropy`` and finite differences, the
in-place optimisers against PyTorch over 20 steps, the version check against the cases that
must (and must not) raise, and the no-copy gradient hand-over against aliasing.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop import functional as F
from backprop import nn
from backprop.autograd import Tensor, fast_paths, no_grad
from backprop.gradcheck import numerical_grad
from backprop.optim import SGD, Adam

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)


def logits_and_targets(seed: int, batch: int, classes: int, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=3.0, size=(batch, classes)).astype(dtype), rng.integers(0, classes, batch)


# --- the fused softmax-cross-entropy ---------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 6), classes=st.integers(1, 6))
def test_fused_cross_entropy_equals_the_composed_graph(reduction, dtype, seed, batch, classes):
    z, y = logits_and_targets(seed, batch, classes, dtype)
    upstream = np.random.default_rng(seed + 1).normal(size=batch).astype(dtype)
    results = []
    for loss_fn in (F.cross_entropy, F.softmax_cross_entropy):
        leaf = Tensor(z, requires_grad=True)
        loss = loss_fn(leaf, y, reduction=reduction)
        loss.backward(upstream if reduction == "none" else None)
        results.append((loss.data, leaf.grad))
    (composed, composed_grad), (fused, fused_grad) = results
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    assert fused.dtype == composed.dtype == dtype and fused_grad.dtype == dtype
    np.testing.assert_allclose(fused, composed, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(fused_grad, composed_grad, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_fused_cross_entropy_gradient_matches_finite_differences(reduction):
    z, y = logits_and_targets(3, batch=5, classes=4)
    leaf = Tensor(z, requires_grad=True)
    F.softmax_cross_entropy(leaf, y, reduction=reduction).backward()
    numeric = numerical_grad(
        lambda values: F.softmax_cross_entropy(Tensor(values), y, reduction=reduction).item(), z
    )
    np.testing.assert_allclose(leaf.grad, numeric, rtol=1e-6, atol=1e-9)


def test_fused_cross_entropy_is_the_derived_softmax_minus_one_hot():
    z, y = logits_and_targets(4, batch=3, classes=5)
    leaf = Tensor(z, requires_grad=True)
    F.softmax_cross_entropy(leaf, y).backward()
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(leaf.grad, (softmax - np.eye(5)[y]) / 3, rtol=1e-12)


def test_fused_cross_entropy_stays_finite_at_huge_logits_and_checks_targets():
    leaf = Tensor([[1e4, -1e4, 0.0]], requires_grad=True)
    loss = F.softmax_cross_entropy(leaf, [1])
    loss.backward()
    assert loss.item() == pytest.approx(2e4) and np.isfinite(leaf.grad).all()
    with pytest.raises(ValueError, match=r"lie in \[0, 2\]"):
        F.softmax_cross_entropy(leaf, [3])
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.softmax_cross_entropy(leaf, [0], reduction="average")


def test_cross_entropy_module_records_one_node_and_backward_runs_twice():
    z, y = logits_and_targets(5, batch=4, classes=3)
    leaf = Tensor(z, requires_grad=True)
    loss = nn.CrossEntropyLoss()(leaf, y)
    assert loss.op == "softmax_cross_entropy" and loss.inputs == (leaf,)
    loss.backward()
    first = leaf.grad.copy()
    loss.backward()  # the saved exponentials are read, never overwritten
    np.testing.assert_allclose(leaf.grad, 2 * first, rtol=1e-14)


# --- the in-place optimisers -------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch", reason="PyTorch not installed: pip install torch==2.13.0")


OPTIMISERS = {
    "sgd momentum": (lambda ps: SGD(ps, lr=0.05, momentum=0.9), "SGD", dict(lr=0.05, momentum=0.9)),
    "sgd momentum weight decay": (
        lambda ps: SGD(ps, lr=0.05, momentum=0.8, weight_decay=0.01),
        "SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.01),
    ),
    "sgd": (lambda ps: SGD(ps, lr=0.1), "SGD", dict(lr=0.1)),
    "adam": (lambda ps: Adam(ps, lr=0.01), "Adam", dict(lr=0.01)),
    "adam weight decay": (
        lambda ps: Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
        "Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    ),
}


@pytest.mark.parametrize("name", OPTIMISERS)
def test_in_place_optimisers_match_torch_over_20_steps(name):
    torch = _torch()
    make_ours, torch_class, options = OPTIMISERS[name]
    rng = np.random.default_rng(11)
    model = nn.Sequential(nn.Linear(6, 5, rng=rng), nn.ReLU(), nn.Linear(5, 3, rng=rng))
    reference = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    reference = reference.double()
    with torch.no_grad():
        for ours, theirs in zip(model.parameters(), reference.parameters()):
            theirs.copy_(torch.from_numpy(ours.data.copy()))
    optimizer = make_ours(model.parameters())
    reference_optimizer = getattr(torch.optim, torch_class)(reference.parameters(), **options)
    arrays = [p.data for p in model.parameters()]
    for step in range(20):
        x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
        optimizer.zero_grad()
        nn.CrossEntropyLoss()(model(Tensor(x)), y).backward()
        optimizer.step()
        reference_optimizer.zero_grad()
        torch.nn.functional.cross_entropy(reference(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        reference_optimizer.step()
        for ours, theirs in zip(model.parameters(), reference.parameters()):
            np.testing.assert_allclose(
                ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12,
                err_msg=f"{name}, step {step + 1}",
            )
    assert all(p.data is array for p, array in zip(model.parameters(), arrays))  # in place


def test_optimiser_state_is_updated_in_the_same_arrays():
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    sgd, adam = SGD([w], lr=0.1, momentum=0.9), Adam([Tensor(np.ones(2), requires_grad=True)])
    w.grad = np.full((3, 2), 0.5)
    sgd.step()
    buffer = sgd.momentum_buffers[0]
    assert buffer is not w.grad  # the first buffer is a copy: the gradient may be changed later
    sgd.step()
    assert sgd.momentum_buffers[0] is buffer
    np.testing.assert_allclose(buffer, 0.5 * 1.9)
    adam.params[0].grad = np.ones(2)
    adam.step()
    m, v = adam.first_moments[0], adam.second_moments[0]
    adam.step()
    assert adam.first_moments[0] is m and adam.second_moments[0] is v


def test_float32_parameters_stay_float32_through_the_in_place_updates():
    w = Tensor(np.ones(4, dtype=np.float32), requires_grad=True)
    for optimizer in (SGD([w], lr=0.1, momentum=0.9), Adam([w])):
        for _ in range(2):
            w.grad = np.full(4, 0.25, dtype=np.float32)
            optimizer.step()
        assert w.dtype == np.float32


# --- the version check -------------------------------------------------------------
def test_an_optimiser_step_between_forward_and_backward_still_raises():
    model = nn.Linear(3, 2, rng=np.random.default_rng(0))
    optimizer = SGD(model.parameters(), lr=0.1)
    loss = model(Tensor(np.ones((4, 3)))).sum()
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    optimizer.step()
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(2, 3\)\), input 2 \(shape \(2,\)\) of the 'linear' op.*changed"):
        loss.backward()


def test_a_change_to_a_tensor_outside_the_graph_does_not_raise():
    w = Tensor([1.0, 2.0], requires_grad=True)
    elsewhere = Tensor([5.0], requires_grad=True)
    loss = (w * w).sum()
    elsewhere.data = np.array([6.0])  # the clock moves, but no input of this graph changed
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_a_tensor_changed_before_it_is_used_does_not_raise():
    w = Tensor([1.0, 2.0], requires_grad=True)
    first = w * 2
    with no_grad():
        w -= 1.0
    loss = (w * w).sum()  # computed after the change: its backward reads what its forward saw
    loss.backward()
    np.testing.assert_array_equal(w.grad, [0.0, 2.0])
    with pytest.raises(RuntimeError, match="changed after the forward pass"):
        first.sum().backward()


# --- first gradients handed over without a copy ------------------------------------------------
def test_gradients_passed_on_unchanged_are_never_shared():
    a, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    total = a + b
    total.sum().backward()
    assert not np.shares_memory(a.grad, b.grad) and not np.shares_memory(a.grad, total.grad)
    a.grad += 1.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0, 1.0])
    seed = np.ones(3)
    c = Tensor(np.ones(3), requires_grad=True)
    c.clone().backward(seed)
    c.grad += 1.0
    np.testing.assert_array_equal(seed, [1.0, 1.0, 1.0])  # the caller's array is untouched


def test_linear_is_the_composed_graph_x_at_w_t_plus_b_in_one_op():
    rng = np.random.default_rng(1)
    layer = nn.Linear(5, 3, rng=rng)
    x = Tensor(rng.normal(size=(4, 5)), requires_grad=True)
    upstream = rng.normal(size=(4, 3))
    out = layer(x)
    assert out.op == "linear" and out.inputs == (x, layer.weight, layer.bias)
    out.backward(upstream)
    grads = [x.grad, layer.weight.grad, layer.bias.grad]
    assert layer.weight.grad.flags.c_contiguous  # G^T X: laid out like the weight
    x.zero_grad(), layer.zero_grad()
    composed = x @ layer.weight.T + layer.bias
    np.testing.assert_allclose(out.data, composed.data, rtol=1e-14, atol=1e-14)
    composed.backward(upstream)
    for one_op, graph in zip(grads, [x.grad, layer.weight.grad, layer.bias.grad]):
        np.testing.assert_allclose(one_op, graph, rtol=1e-13, atol=1e-13)
    vector = layer(Tensor(rng.normal(size=5)))  # a vector, or a stack: the general ops
    assert vector.shape == (3,) and layer(Tensor(np.ones((2, 4, 5)))).shape == (2, 4, 3)


def test_a_weight_changed_before_its_product_backward_still_raises():
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    for loss in [(Tensor(np.ones((4, 3))) @ w.T).sum(),
                 F.linear(Tensor(np.ones((4, 3))), w).sum()]:
        w.data = w.data * 2
        with pytest.raises(RuntimeError, match="changed after the forward pass"):
            loss.backward()


def test_a_tensor_used_twice_accumulates_into_its_own_first_gradient():
    rng = np.random.default_rng(2)  # no pre-activation near 0, where ReLU's kink would be
    x = Tensor(rng.normal(size=(2, 2)), requires_grad=True)
    w = Tensor(rng.normal(size=(2, 2)), requires_grad=True)
    assert np.abs(x.data @ w.data).min() > 1e-3
    hidden = (x @ w).relu()
    loss = (hidden @ w).sum() + (hidden * 3).sum()  # w and hidden each used twice
    loss.backward()
    reference = {}
    for name, values in (("x", x.data), ("w", w.data)):
        def f(v, name=name):
            xx, ww = (v, w.data) if name == "x" else (x.data, v)
            h = np.maximum(xx @ ww, 0)
            return (h @ ww).sum() + (3 * h).sum()
        reference[name] = numerical_grad(f, values)
    np.testing.assert_allclose(x.grad, reference["x"], rtol=1e-6)
    np.testing.assert_allclose(w.grad, reference["w"], rtol=1e-6)


# --- x @ W.T with a transposed view ---------------------------------------------------------
def test_a_product_with_a_transposed_view_gives_the_same_numbers_and_errors():
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(5, 7)), rng.normal(size=(4, 7))
    out = Tensor(x) @ Tensor(w, requires_grad=True).T
    np.testing.assert_allclose(out.data, x @ w.T, rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match=r"cannot multiply shapes \(5, 7\) and \(6, 4\)"):
        Tensor(x) @ Tensor(rng.normal(size=(4, 6)), requires_grad=True).T


def test_the_matrix_backward_agrees_with_the_general_one():
    rng = np.random.default_rng(4)
    a = Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    b = Tensor(rng.normal(size=(4, 2)), requires_grad=True)
    (a @ b).sum().backward()  # two matrices: the matrix-only backward
    np.testing.assert_allclose(a.grad, np.ones((3, 2)) @ b.data.T)
    np.testing.assert_allclose(b.grad, a.data.T @ np.ones((3, 2)))
    for row in range(3):  # each row as a vector: the general backward, the same numbers
        a_row, b_copy = Tensor(a.data[row], requires_grad=True), Tensor(b.data, requires_grad=True)
        (a_row @ b_copy).sum().backward()
        np.testing.assert_allclose(a_row.grad, a.grad[row])


# --- the speed paths on and off, side by side ---------------------------------------------------
def _train(on: bool, dtype, steps: int = 5):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(9, 12)).astype(dtype)
    y = rng.integers(0, 4, 9)
    with fast_paths(on):
        model = nn.Sequential(nn.Linear(12, 8, rng=np.random.default_rng(1)), nn.ReLU(),
                              nn.Linear(8, 6, rng=np.random.default_rng(2)), nn.ReLU(),
                              nn.Linear(6, 4, rng=np.random.default_rng(3)))
        for p in model.parameters():
            p.data = p.data.astype(dtype)
        optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
        grads = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = nn.CrossEntropyLoss()(model(Tensor(x)), y)
            loss.backward()
            grads.append([p.grad.copy() for p in model.parameters()])
            optimizer.step()
        return loss.item(), grads, [p.data.copy() for p in model.parameters()]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_speed_paths_change_no_bit_of_a_training_run(dtype):
    fast, plain = _train(True, dtype, steps=100), _train(False, dtype, steps=100)
    assert fast[0] == plain[0]  # the loss after 100 steps
    for a, b in zip(fast[1][-1] + fast[2], plain[1][-1] + plain[2]):
        np.testing.assert_array_equal(a, b)  # last gradients and weights, every bit


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_training_steps_agree_with_the_speed_paths_on_and_off(dtype, tolerance):
    (fast_loss, fast_grads, fast_weights), (plain_loss, plain_grads, plain_weights) = (
        _train(True, dtype), _train(False, dtype))
    assert fast_loss == pytest.approx(plain_loss, rel=tolerance)
    for fast_step, plain_step in zip(fast_grads, plain_grads):
        for a, b in zip(fast_step, plain_step):
            assert a.dtype == b.dtype == dtype
            np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)
    for a, b in zip(fast_weights, plain_weights):
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("shapes", [((5, 4), (4, 3)), ((4,), (4, 3)), ((5, 4), (4,)),
                                    ((2, 5, 4), (4, 3)), ((5, 4), (3, 4))])
def test_products_and_transposes_agree_with_the_speed_paths_on_and_off(shapes):
    rng = np.random.default_rng(5)
    a0, b0 = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    results = []
    for on in (True, False):
        with fast_paths(on):
            a, b = Tensor(a0, requires_grad=True), Tensor(b0, requires_grad=True)
            right = b.T if shapes == ((5, 4), (3, 4)) else b
            out = (a @ right).relu()
            out.backward(np.ones(out.shape))
            results.append((out.data, a.grad, b.grad))
    for fast, plain in zip(*results):
        np.testing.assert_allclose(fast, plain, rtol=1e-12, atol=1e-12)
