"""The 2-2-2 network of chapter 1: hand-written gradients against finite differences, and the
published numbers of the example it comes from."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop.gradcheck import compare, numerical_grad
from backprop.tinynet import (
    INPUTS,
    MAZUR_BIASES,
    TARGETS,
    WEIGHTS,
    forward,
    gradient,
    loss,
    sgd_step,
    sigmoid,
    train,
)


# Matt Mazur, "A Step by Step Backpropagation Example" (2015): the same network with biases
# 0.35 (hidden) and 0.60 (outputs). He rounds intermediate values to 9 digits, so his later
# numbers (after a step, after 10,000 steps) agree with exact arithmetic only to ~1e-7.
def test_published_values_before_the_update():
    assert loss(WEIGHTS, biases=MAZUR_BIASES) == pytest.approx(0.298371109, abs=1e-9)
    grad = gradient(WEIGHTS, biases=MAZUR_BIASES)
    assert grad[4] == pytest.approx(0.082167041, abs=1e-9)  # dE/dw5
    assert grad[0] == pytest.approx(0.000438568, abs=1e-9)  # dE/dw1


def test_published_values_of_the_forward_pass():
    f = forward(WEIGHTS, biases=MAZUR_BIASES)
    assert f.h1 == pytest.approx(0.3775)
    assert f.a_h1 == pytest.approx(0.593269992, abs=1e-9)
    assert f.a_h2 == pytest.approx(0.596884378, abs=1e-9)
    assert f.a_o1 == pytest.approx(0.75136507, abs=1e-8)
    assert f.a_o2 == pytest.approx(0.772928465, abs=1e-9)


def test_published_values_after_one_step_and_after_training():
    updated = sgd_step(WEIGHTS, 0.5, biases=MAZUR_BIASES)
    assert updated[4] == pytest.approx(0.35891648, abs=1e-8)  # w5+
    assert updated[0] == pytest.approx(0.149780716, abs=1e-9)  # w1+
    assert loss(updated, biases=MAZUR_BIASES) == pytest.approx(0.291027924, abs=5e-7)
    history = train(WEIGHTS, 0.5, 10_000, biases=MAZUR_BIASES)
    assert history[-1] == pytest.approx(0.0000351085, rel=1e-3)


def test_the_chapter_network_without_biases():
    assert loss(WEIGHTS) == pytest.approx(0.2425198573, abs=1e-10)
    grad = gradient(WEIGHTS)
    assert grad[4] == pytest.approx(0.0721570729, abs=1e-10)
    assert grad[0] == pytest.approx(0.0001882557, abs=1e-10)


@pytest.mark.parametrize("biases", [np.zeros(4), MAZUR_BIASES], ids=["no biases", "biases"])
def test_gradient_matches_finite_differences_at_the_chapter_weights(biases):
    numeric = numerical_grad(lambda w: loss(w, biases=biases), WEIGHTS)
    assert compare(gradient(WEIGHTS, biases=biases), numeric)["rel_error"] < 1e-7


values = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(
    weights=st.lists(values, min_size=8, max_size=8),
    inputs=st.lists(values, min_size=2, max_size=2),
    targets=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2),
    biases=st.lists(values, min_size=4, max_size=4),
)
def test_gradient_matches_finite_differences_anywhere(weights, inputs, targets, biases):
    analytic = gradient(weights, inputs, targets, biases)
    numeric = numerical_grad(lambda w: loss(w, inputs, targets, biases), weights)
    assert np.allclose(analytic, numeric, rtol=1e-5, atol=1e-9)


def test_sigmoid_is_stable_and_symmetric():
    assert sigmoid(0.0) == 0.5
    assert sigmoid(-1000.0) == 0.0 and sigmoid(1000.0) == 1.0  # no OverflowError
    for x in [-5.0, -0.3, 0.7, 12.0]:
        assert sigmoid(-x) == pytest.approx(1 - sigmoid(x))
        assert sigmoid(x) == pytest.approx(1 / (1 + math.exp(-x)))


def test_forward_values_are_consistent():
    f = forward(WEIGHTS)
    assert f.h1 == pytest.approx(WEIGHTS[0] * INPUTS[0] + WEIGHTS[1] * INPUTS[1])
    assert f.a_o2 == pytest.approx(sigmoid(WEIGHTS[6] * f.a_h1 + WEIGHTS[7] * f.a_h2))
    expected = 0.5 * (TARGETS[0] - f.a_o1) ** 2 + 0.5 * (TARGETS[1] - f.a_o2) ** 2
    assert f.E_total == pytest.approx(expected)


def test_sgd_step_returns_new_weights_and_leaves_the_old_ones():
    weights = WEIGHTS.copy()
    updated = sgd_step(weights, 0.5)
    assert np.array_equal(weights, WEIGHTS)
    assert np.allclose(updated, WEIGHTS - 0.5 * gradient(WEIGHTS))
    assert loss(updated) < loss(WEIGHTS)


def test_train_history_starts_at_the_initial_loss_and_repeats():
    history = train(WEIGHTS, 0.5, 20)
    assert history.shape == (21,)
    assert history[0] == loss(WEIGHTS)
    assert history[1] == loss(sgd_step(WEIGHTS, 0.5))
    assert np.all(np.diff(history) < 0)
    assert np.array_equal(history, train(WEIGHTS, 0.5, 20))
    assert train(WEIGHTS, 0.5, 0).tolist() == [loss(WEIGHTS)]


def test_train_survives_huge_learning_rates():
    history = train(WEIGHTS, 1e6, 5)
    assert np.all(np.isfinite(history))
