"""Tests for backprop.functional: values, finite-difference gradients, and stability at +-1e4."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backprop import functional as F
from backprop.autograd import Tensor
from backprop.gradcheck import numerical_grad

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
batch_and_classes = st.tuples(st.integers(1, 5), st.integers(1, 5))


def assert_loss_grad_matches_finite_differences(loss_of_input, x: np.ndarray) -> None:
    """The autograd gradient of a scalar loss equals central differences, and has x's shape."""
    leaf = Tensor(x, requires_grad=True)
    loss_of_input(leaf).backward()
    numeric = numerical_grad(lambda values: loss_of_input(Tensor(values)).item(), x)
    assert leaf.grad.shape == x.shape
    np.testing.assert_allclose(leaf.grad, numeric, rtol=1e-5, atol=1e-8)


def reference_log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# --------------------------------------------------------------------------- softmax family
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@PROPERTY
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data(), seed=seeds)
def test_softmax_family_values_and_gradients(name, shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3
    function = getattr(F, name)
    expected = reference_log_softmax(x, axis)
    expected = np.exp(expected) if name == "softmax" else expected
    values = function(Tensor(x), axis=axis).data
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-15)
    projection = rng.standard_normal(shape)
    assert_loss_grad_matches_finite_differences(
        lambda t: (function(t, axis=axis) * projection).sum(), x
    )


def test_softmax_rows_are_probabilities():
    probabilities = F.softmax(Tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])).data
    np.testing.assert_allclose(probabilities.sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(probabilities[1], [1 / 3, 1 / 3, 1 / 3])
    assert np.all(np.diff(probabilities[0]) > 0)


# --------------------------------------------------------------------------- losses
@PROPERTY
@given(sizes=batch_and_classes, seed=seeds)
def test_cross_entropy_value_and_gradient(sizes, seed):
    batch, classes = sizes
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((batch, classes)) * 3
    targets = rng.integers(0, classes, batch)
    expected = -reference_log_softmax(logits, 1)[np.arange(batch), targets].mean()
    assert F.cross_entropy(Tensor(logits), targets).item() == pytest.approx(expected, rel=1e-12)
    assert_loss_grad_matches_finite_differences(lambda t: F.cross_entropy(t, targets), logits)


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_batch():
    logits = Tensor([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]], requires_grad=True)
    targets = np.array([0, 2])
    F.cross_entropy(logits, targets).backward()
    one_hot = np.eye(3)[targets]
    np.testing.assert_allclose(logits.grad, (F.softmax(logits).data - one_hot) / 2, rtol=1e-12)


@pytest.mark.parametrize(
    ("logits", "targets", "message"),
    [
        (np.zeros((2, 3)), [0, 3], r"\[0, 2\]"),
        (np.zeros((2, 3)), [0, -1], r"\[0, 2\]"),
        (np.zeros((2, 3)), [0, 1, 2], r"shape \(2,\)"),
        (np.zeros((2, 3)), [0.5, 1.0], "integer"),
        (np.zeros(3), [0], r"\(batch, classes\)"),
    ],
)
def test_cross_entropy_rejects_bad_targets_and_shapes(logits, targets, message):
    with pytest.raises(ValueError, match=message):
        F.cross_entropy(Tensor(logits), targets)


def test_cross_entropy_accepts_targets_as_tensor_or_list():
    logits = Tensor([[1.0, 2.0], [3.0, -1.0]])
    reference = F.cross_entropy(logits, np.array([1, 0])).item()
    assert F.cross_entropy(logits, Tensor([1, 0])).item() == reference
    assert F.cross_entropy(logits, [1, 0]).item() == reference


@PROPERTY
@given(shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=5), seed=seeds)
def test_binary_cross_entropy_with_logits_value_and_gradient(shape, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal(shape) * 3
    targets = rng.uniform(0, 1, shape)
    probabilities = 1 / (1 + np.exp(-logits))
    naive = -(targets * np.log(probabilities) + (1 - targets) * np.log(1 - probabilities)).mean()
    loss = F.binary_cross_entropy_with_logits(Tensor(logits), targets).item()
    assert loss == pytest.approx(naive, rel=1e-10)
    assert_loss_grad_matches_finite_differences(
        lambda t: F.binary_cross_entropy_with_logits(t, targets), logits
    )


def test_binary_cross_entropy_gradient_at_logit_zero_is_half_minus_target():
    # Built from relu and abs, softplus would get gradient 0 at exactly 0; the fused op gets 0.5.
    logits = Tensor([0.0, 0.0, 0.0, 0.0], requires_grad=True)
    targets = np.array([0.0, 1.0, 0.0, 1.0])
    F.binary_cross_entropy_with_logits(logits, targets).backward()
    np.testing.assert_allclose(logits.grad, (0.5 - targets) / 4)


@PROPERTY
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), seed=seeds)
def test_mse_loss_value_and_gradient(shape, seed):
    rng = np.random.default_rng(seed)
    prediction, target = rng.standard_normal(shape), rng.standard_normal(shape)
    assert F.mse_loss(Tensor(prediction), target).item() == pytest.approx(
        np.mean((prediction - target) ** 2), rel=1e-12
    )
    assert_loss_grad_matches_finite_differences(lambda t: F.mse_loss(t, target), prediction)


def test_losses_refuse_to_broadcast_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        F.mse_loss(Tensor(np.zeros((4, 1))), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 1\)"):
        F.binary_cross_entropy_with_logits(Tensor(np.zeros(3)), np.zeros((3, 1)))


@PROPERTY
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), seed=seeds)
def test_softplus_value_and_gradient(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * 4
    np.testing.assert_allclose(F.softplus(Tensor(x)).data, np.log1p(np.exp(x)), rtol=1e-12)
    assert_loss_grad_matches_finite_differences(lambda t: F.softplus(t).sum(), x)


def test_activation_functions_match_tensor_methods():
    x = Tensor([-2.0, 0.5, 3.0])
    np.testing.assert_array_equal(F.relu(x).data, [0.0, 0.5, 3.0])
    np.testing.assert_allclose(F.sigmoid(x).data, 1 / (1 + np.exp([2.0, -0.5, -3.0])))
    np.testing.assert_allclose(F.tanh(x).data, np.tanh([-2.0, 0.5, 3.0]))


# --------------------------------------------------------------------------- stability
def finite_loss_and_grad(loss_of_input, x: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss and its gradient, failing on any overflow, divide-by-zero or NaN on the way."""
    leaf = Tensor(x, requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        loss = loss_of_input(leaf)
        loss.backward()
    assert np.isfinite(loss.item())
    assert np.all(np.isfinite(leaf.grad))
    return loss.item(), leaf.grad


def test_cross_entropy_is_finite_for_logits_of_1e4():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    loss, grad = finite_loss_and_grad(lambda t: F.cross_entropy(t, [1, 0]), logits)
    assert loss == pytest.approx((2e4 + 2e4 + np.log(2)) / 2)
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0.0], [-0.5, 0.25, 0.25]], atol=1e-12)


def test_binary_cross_entropy_is_finite_for_logits_of_1e4():
    logits = np.array([1e4, -1e4, 1e4, -1e4])
    targets = np.array([0.0, 1.0, 1.0, 0.0])
    loss, grad = finite_loss_and_grad(
        lambda t: F.binary_cross_entropy_with_logits(t, targets), logits
    )
    assert loss == pytest.approx(2e4 / 4)
    np.testing.assert_allclose(grad, [0.25, -0.25, 0.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_is_finite_for_logits_of_1e4(name):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    projection = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    finite_loss_and_grad(lambda t: (getattr(F, name)(t) * projection).sum(), logits)
    np.testing.assert_allclose(F.softmax(Tensor(logits)).data[1], [1 / 3, 1 / 3, 1 / 3])
    assert F.log_softmax(Tensor(logits)).data[0, 1] == pytest.approx(-2e4)


def test_losses_keep_float32():
    logits = Tensor(np.array([[1.0, -1.0], [0.5, 2.0]], dtype=np.float32), requires_grad=True)
    for loss in (
        F.cross_entropy(logits, [0, 1]),
        F.binary_cross_entropy_with_logits(logits, np.ones((2, 2), dtype=np.float32)),
        F.mse_loss(logits, np.zeros((2, 2), dtype=np.float32)),
    ):
        assert loss.dtype == np.float32
        logits.zero_grad()
        loss.backward()
        assert logits.grad.dtype == np.float32
