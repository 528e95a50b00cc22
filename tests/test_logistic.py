"""Chapter 6's hand-derived logistic regression: its gradient against finite differences and
against the autograd engine, its loss against overflow, its training, and its error messages."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop import functional as F
from backprop import nn
from backprop.autograd import Tensor
from backprop.gradcheck import compare, numerical_grad
from backprop.logistic import LogisticRegression, bce_with_logits, naive_bce, train_logistic


def random_problem(seed: int, batch: int = 7, features: int = 5):
    """A model with random (non-zero) parameters and a random labelled batch, in float64."""
    rng = np.random.default_rng(seed)
    model = LogisticRegression(features)
    model.weight.data = rng.normal(size=features)
    model.bias.data = np.asarray(rng.normal())
    x = rng.normal(size=(batch, features))
    y = rng.integers(0, 2, size=batch).astype(np.float64)
    return model, x, y


def loss_at(model, x, y, weight=None, bias=None):
    """The model's loss with its weight or bias replaced (for finite differences)."""
    weight = model.weight.data if weight is None else weight
    bias = model.bias.data if bias is None else bias
    return bce_with_logits(x @ weight + bias, y)


@pytest.mark.parametrize("seed", range(5))
def test_hand_gradient_matches_finite_differences(seed):
    model, x, y = random_problem(seed)
    model.backward(x, y)
    numeric_w = numerical_grad(lambda w: loss_at(model, x, y, weight=w), model.weight.data)
    numeric_b = numerical_grad(lambda b: loss_at(model, x, y, bias=b), model.bias.data)
    assert compare(model.weight.grad, numeric_w)["max_abs"] < 1e-8
    assert compare(model.bias.grad, numeric_b)["max_abs"] < 1e-8
    assert model.weight.grad.shape == model.weight.shape and model.bias.grad.shape == ()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), batch=st.integers(1, 20), features=st.integers(1, 12))
def test_hand_gradient_matches_the_autograd_engine(seed, batch, features):
    model, x, y = random_problem(seed, batch, features)
    loss = model.backward(x, y)
    layer = nn.Linear(features, 1, rng=np.random.default_rng(0))
    layer.weight.data = model.weight.data[None, :].copy()
    layer.bias.data = model.bias.data.reshape(1).copy()
    autograd_loss = F.binary_cross_entropy_with_logits(layer(Tensor(x)).reshape(-1), Tensor(y))
    autograd_loss.backward()
    assert abs(loss - autograd_loss.item()) < 1e-12
    assert np.allclose(model.weight.grad, layer.weight.grad[0], rtol=0, atol=1e-12)
    assert np.allclose(model.bias.grad, layer.bias.grad[0], rtol=0, atol=1e-12)


def test_stable_loss_is_finite_where_the_naive_one_is_not():
    z, y = np.array([-40.0, 40.0, 800.0]), np.array([1.0, 0.0, 0.0])
    assert np.isnan(naive_bce(z, y)) or np.isinf(naive_bce(z, y))
    assert bce_with_logits(z, y) == pytest.approx((40 + 40 + 800) / 3)
    z, y = np.array([-2.0, 0.5, 3.0]), np.array([0.0, 1.0, 1.0])
    assert bce_with_logits(z, y) == pytest.approx(naive_bce(z, y), rel=1e-12)


def test_zero_model_predicts_one_half_and_loss_log_two():
    model = LogisticRegression(3)
    x, y = np.ones((4, 3)), np.array([0, 1, 1, 0])
    assert np.all(model.predict_proba(x) == 0.5)
    assert model.loss(x, y) == pytest.approx(np.log(2))


def test_training_separates_a_separable_toy_set():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] + 2 * x[:, 1] > 0.3).astype(np.float64)
    model = LogisticRegression(2)
    history = train_logistic(model, x, y, lr=1.0, epochs=60, batch_size=20, seed=0,
                             show_progress=False)
    assert np.mean(model.predict(x) == y) == 1.0
    assert history["loss"][-1] < 0.1 < np.log(2)  # from log 2 at the zero start
    direction = model.weight.data / np.linalg.norm(model.weight.data)
    assert np.dot(direction, [1, 2] / np.sqrt(5)) > 0.99  # the true boundary's normal


def test_training_is_seeded():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 3)), rng.integers(0, 2, size=50)
    runs = []
    for _ in range(2):
        model = LogisticRegression(3)
        train_logistic(model, x, y, lr=0.5, epochs=3, batch_size=8, seed=5, show_progress=False)
        runs.append(model.weight.data.copy())
    assert np.array_equal(*runs)


def test_weight_decay_shrinks_the_weights():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(100, 4))
    y = (x[:, 0] > 0).astype(np.float64)
    norms = []
    for decay in (0.0, 0.1):
        model = LogisticRegression(4)
        train_logistic(model, x, y, lr=0.5, epochs=20, batch_size=10, weight_decay=decay,
                       show_progress=False)
        norms.append(np.linalg.norm(model.weight.data))
    assert norms[1] < norms[0]


def test_predict_uses_the_threshold():
    model = LogisticRegression(1)
    model.weight.data = np.array([1.0])
    x = np.array([[-1.0], [0.0], [1.0]])
    assert model.predict(x).tolist() == [0, 1, 1]
    assert model.predict(x, threshold=0.9).tolist() == [0, 0, 0]


@pytest.mark.parametrize("x", [np.zeros(3), np.zeros((2, 4)), np.zeros((2, 3, 1))])
def test_bad_input_shapes_are_refused(x):
    with pytest.raises(ValueError, match=r"shape \(batch, 3\)"):
        LogisticRegression(3).forward(x)


@pytest.mark.parametrize("y, message", [
    (np.array([0, 1]), r"one target per example"),
    (np.zeros((3, 1)), r"one target per example"),
    (np.array([0, 1, 9]), r"must be 0 or 1"),
    (np.array([0.0, 0.5, 1.0]), r"must be 0 or 1"),
])
def test_bad_targets_are_refused(y, message):
    with pytest.raises(ValueError, match=message):
        LogisticRegression(2).backward(np.zeros((3, 2)), y)


def test_in_features_must_be_positive():
    with pytest.raises(ValueError, match="in_features"):
        LogisticRegression(0)



@pytest.mark.parametrize("seed", range(3))
def test_squared_error_gradient_matches_finite_differences(seed):
    model, x, y = random_problem(seed)
    value = model.backward(x, y, loss="squared")

    def squared(weight, bias):
        p = 1 / (1 + np.exp(-(x @ weight + bias)))
        return np.mean((p - y) ** 2)

    numeric_w = numerical_grad(lambda w: squared(w, model.bias.data), model.weight.data)
    numeric_b = numerical_grad(lambda b: squared(model.weight.data, b), model.bias.data)
    assert np.isclose(value, squared(model.weight.data, model.bias.data))
    assert compare(model.weight.grad, numeric_w)["max_abs"] < 1e-8
    assert compare(model.bias.grad, numeric_b)["max_abs"] < 1e-8


def test_unknown_loss_is_refused():
    model, x, y = random_problem(0)
    with pytest.raises(ValueError, match="loss must be"):
        model.backward(x, y, loss="hinge")
