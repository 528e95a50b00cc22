"""The hand-written MLP (backprop.mlp) against the autograd engine and finite differences."""

import numpy as np

from backprop import functional as F
from backprop import optim
from backprop.autograd import Tensor
from backprop.gradcheck import numerical_grad
from backprop.mlp import HandMLP, hand_step, mlp, softmax_cross_entropy
from backprop.train import autograd_step, fit


def _data(n=40, features=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, features)), rng.integers(0, 4, size=n)


def test_hand_gradients_equal_autograd():
    x, y = _data()
    auto, hand = mlp([12, 8, 6, 4], 3), HandMLP([12, 8, 6, 4], 3)
    F.cross_entropy(auto(Tensor(x)), y).backward()
    loss = hand.loss_and_backward(x, y)
    assert np.isclose(loss, F.cross_entropy(auto(Tensor(x)), y).item(), rtol=0, atol=1e-12)
    for a, h in zip(auto.parameters(), hand.parameters()):
        assert a.shape == h.shape and np.allclose(a.grad, h.grad, rtol=0, atol=1e-12)


def test_softmax_cross_entropy_gradient_by_finite_differences():
    x, y = _data(n=5, features=4)
    grad = softmax_cross_entropy(x, y)[1]
    assert np.allclose(grad, numerical_grad(lambda z: softmax_cross_entropy(z, y)[0], x),
                       atol=1e-8)


def test_hand_training_matches_autograd_step_for_step():
    x, y = _data(n=50)
    auto, hand = mlp([12, 8, 4], 1), HandMLP([12, 8, 4], 1)
    a = fit(autograd_step(auto, F.cross_entropy, optim.SGD(auto.parameters(), lr=0.1,
                                                           momentum=0.9), x, y),
            50, epochs=3, batch_size=16, seed=2, show_progress=False)
    h = fit(hand_step(hand, optim.SGD(hand.parameters(), lr=0.1, momentum=0.9), x, y),
            50, epochs=3, batch_size=16, seed=2, show_progress=False)
    assert np.allclose(a["batch_loss"], h["batch_loss"], rtol=0, atol=1e-12)


def test_forward_mode_equals_gradient_dot_direction():
    x, y = _data()
    hand = HandMLP([12, 8, 6, 4], 0)
    hand.loss_and_backward(x, y)
    rng = np.random.default_rng(5)
    directions = [rng.normal(size=p.shape) for p in hand.parameters()]
    loss, derivative = hand.jvp(x, y, directions)
    expected = sum(np.sum(p.grad * d) for p, d in zip(hand.parameters(), directions))
    assert np.isclose(derivative, expected, rtol=1e-12, atol=0)
