"""``backprop.train.manual_step``: one ManualGrad training step, with optional clipping."""

import numpy as np
import pytest

from backprop.data import paraboloid, quadratic_1d
from backprop.manual import Linear, MSELoss, Sequential, Sigmoid, Softmax
from backprop.optim import SGD
from backprop.train import History, fit, manual_step


def network(seed: int = 0) -> Sequential:
    return Sequential(Linear(2, 10, rng=seed), Softmax(), Linear(10, 1, rng=seed + 1))


def gradients(model, x, y):
    """Parameter gradients of the MSE on (x, y), by a plain forward and backward."""
    loss = MSELoss()
    value = loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    return value, [p.grad.copy() for p in model.parameters()]


def test_one_step_is_forward_backward_then_sgd_on_the_batch():
    x, y = paraboloid(32, seed=0)
    model, reference = network(), network()
    indices = np.array([3, 1, 4, 15, 9, 2])
    value, grads = gradients(reference, x[indices], y[indices])
    step = manual_step(model, MSELoss(), SGD(model.parameters(), lr=0.01), x, y)
    assert step(indices) == pytest.approx(value)  # the loss before the update
    for after, before, grad in zip(model.parameters(), reference.parameters(), grads):
        np.testing.assert_allclose(after.data, before.data - 0.01 * grad, rtol=1e-12)


def test_log_records_the_gradient_norm_before_clipping():
    x, y = paraboloid(32, seed=0)
    model, log = network(), History()
    _, grads = gradients(network(), x, y)
    expected = np.sqrt(sum(np.sum(g**2) for g in grads))
    before = [p.data.copy() for p in model.parameters()]
    step = manual_step(model, MSELoss(), SGD(model.parameters(), lr=1.0), x, y,
                       clip_norm=1e-3, log=log)
    step(np.arange(32))
    assert log["grad_norm"] == [pytest.approx(expected)]
    assert expected > 1.0  # so the clipping below really acted
    moved = np.sqrt(sum(np.sum((p.data - b) ** 2) for p, b in zip(model.parameters(), before)))
    assert moved == pytest.approx(1e-3, rel=1e-3)  # lr 1 times the clipped norm


def test_clip_value_bounds_every_gradient_element():
    x, y = paraboloid(32, seed=0)
    model = network()
    before = [p.data.copy() for p in model.parameters()]
    step = manual_step(model, MSELoss(), SGD(model.parameters(), lr=1.0), x, y, clip_value=0.01)
    step(np.arange(32))
    changes = np.concatenate([(p.data - b).ravel() for p, b in zip(model.parameters(), before)])
    assert np.abs(changes).max() == pytest.approx(0.01)


def test_fit_with_manual_step_learns_the_quadratic_and_is_reproducible():
    def train():
        x, y = quadratic_1d(200, seed=0)
        model = Sequential(Linear(1, 8, rng=0), Sigmoid(), Linear(8, 1, rng=1))
        step = manual_step(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y)
        return fit(step, len(x), epochs=60, batch_size=16, seed=0, show_progress=False)

    history = train()
    assert history["loss"][-1] < 0.1 * history["loss"][0]
    assert history["batch_loss"] == train()["batch_loss"]
