"""``nn.Softmax``, ``nn.copy_parameters`` and ``train.autograd_step``: the pieces that let the
autograd engine rebuild chapter 2's ManualGrad network and be compared with it number for number."""

import numpy as np
import pytest

from backprop import functional as F
from backprop import manual, nn
from backprop.autograd import Tensor
from backprop.data import paraboloid
from backprop.gradcheck import gradcheck
from backprop.optim import SGD, Adam
from backprop.train import History, autograd_step, fit, manual_step


def manual_network(seed: int = 0) -> manual.Sequential:
    """Chapter 2's network for z = 5a² + 3b²: Linear(2, 10) → Softmax → Linear(10, 1)."""
    return manual.Sequential(
        manual.Linear(2, 10, rng=seed), manual.Softmax(), manual.Linear(10, 1, rng=seed + 1)
    )


def twin_networks(seed: int = 0) -> tuple[manual.Sequential, nn.Sequential]:
    """The same network in both engines, with the same weights."""
    ours = manual_network(seed)
    twin = nn.Sequential(nn.Linear(2, 10), nn.Softmax(dim=-1), nn.Linear(10, 1))
    return ours, nn.copy_parameters(ours, twin)


# --------------------------------------------------------------------------- Softmax
@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_softmax_slices_are_probabilities(dim):
    x = np.random.default_rng(0).normal(size=(4, 5)) * 3
    out = nn.Softmax(dim=dim)(Tensor(x)).data
    assert np.all(out > 0)
    np.testing.assert_allclose(out.sum(axis=dim), 1.0, rtol=1e-12)


@pytest.mark.parametrize("dim", [-1, 0])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (5,)])
def test_softmax_gradient_matches_finite_differences(dim, shape):
    rng = np.random.default_rng(len(shape) + dim)
    x, projection = rng.normal(size=shape), rng.normal(size=shape)
    assert gradcheck(lambda t: (nn.Softmax(dim=dim)(t) * projection).sum(), [x])


def test_softmax_matches_manualgrad_forward_and_backward_to_1e_12():
    rng = np.random.default_rng(1)
    x, upstream = rng.normal(size=(6, 10)) * 4, rng.normal(size=(6, 10))
    layer = manual.Softmax()
    expected_out = layer.forward(x)
    expected_grad = layer.backward(upstream)
    leaf = Tensor(x, requires_grad=True)
    out = nn.Softmax()(leaf)
    out.backward(upstream)
    np.testing.assert_allclose(out.data, expected_out, rtol=0, atol=1e-15)
    np.testing.assert_allclose(leaf.grad, expected_grad, rtol=0, atol=1e-12)


def test_softmax_stays_finite_for_huge_inputs():
    leaf = Tensor(np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]]), requires_grad=True)
    out = nn.Softmax()(leaf)
    (out * np.array([1.0, 2.0, 3.0])).sum().backward()
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(leaf.grad))
    np.testing.assert_allclose(out.data, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-12)


def test_softmax_has_no_parameters_and_a_pytorch_repr():
    assert nn.Softmax().parameters() == []
    assert repr(nn.Softmax(dim=0)) == "Softmax(dim=0)"


@pytest.mark.parametrize("dim", [-1, 0])
def test_softmax_matches_torch(dim):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: pip install torch==2.13.0")
    rng = np.random.default_rng(2)
    x, upstream = rng.normal(size=(4, 6)) * 3, rng.normal(size=(4, 6))
    leaf = Tensor(x, requires_grad=True)
    out = nn.Softmax(dim=dim)(leaf)
    out.backward(upstream)
    reference_leaf = torch.tensor(x, requires_grad=True)
    reference = torch.nn.Softmax(dim=dim)(reference_leaf)
    reference.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out.data, reference.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(leaf.grad, reference_leaf.grad.numpy(), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- copy_parameters
def test_copy_parameters_copies_values_in_order_without_sharing():
    ours, twin = twin_networks()
    for source, target in zip(ours.parameters(), twin.parameters(), strict=True):
        np.testing.assert_array_equal(source.data, target.data)
        assert not np.shares_memory(source.data, target.data)
    ours[0].weight.data += 1.0
    assert not np.allclose(ours[0].weight.data, twin[0].weight.data)


def test_copy_parameters_between_two_modules():
    source = nn.Sequential(nn.Linear(3, 2, rng=np.random.default_rng(0)))
    target = nn.Sequential(nn.Linear(3, 2, rng=np.random.default_rng(1)))
    assert nn.copy_parameters(source, target) is target
    np.testing.assert_array_equal(target[0].weight.data, source[0].weight.data)


def test_copy_parameters_refuses_networks_that_differ():
    with pytest.raises(ValueError, match="3 parameters, the target 4"):
        nn.copy_parameters(
            nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1, bias=False)),
            nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1)),
        )
    with pytest.raises(ValueError, match=r"parameter 0 \(layers.0.weight\) has shape \(3, 2\)"):
        nn.copy_parameters(manual.Linear(2, 4, rng=0), nn.Sequential(nn.Linear(2, 3)))


def test_both_engines_give_the_same_parameter_gradients_to_1e_12():
    x, z = paraboloid(64, seed=3)
    ours, twin = twin_networks(seed=4)
    loss = manual.MSELoss()
    loss.forward(ours.forward(x), z)
    ours.backward(loss.backward())
    F.mse_loss(twin(Tensor(x)), Tensor(z)).backward()
    for mine, theirs in zip(ours.parameters(), twin.parameters(), strict=True):
        assert theirs.grad.shape == mine.grad.shape
        np.testing.assert_allclose(theirs.grad, mine.grad, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- autograd_step
def test_autograd_step_is_zero_grad_forward_backward_step():
    x, z = paraboloid(40, seed=0)
    ours, twin = twin_networks()
    manual_train = manual_step(ours, manual.MSELoss(), SGD(ours.parameters(), lr=0.05), x, z)
    autograd_train = autograd_step(twin, F.mse_loss, SGD(twin.parameters(), lr=0.05), x, z)
    batch = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    for _ in range(3):  # the same batch three times: stale gradients would show up at once
        assert autograd_train(batch) == pytest.approx(manual_train(batch), rel=1e-13)
    for mine, theirs in zip(ours.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(theirs.data, mine.data, rtol=0, atol=1e-13)


def test_autograd_step_logs_and_clips_like_manual_step():
    x, z = paraboloid(32, seed=1)
    ours, twin = twin_networks()
    logs = History(), History()
    steps = [
        manual_step(ours, manual.MSELoss(), SGD(ours.parameters(), lr=1.0), x, z,
                    clip_value=0.5, clip_norm=1e-2, log=logs[0]),
        autograd_step(twin, F.mse_loss, SGD(twin.parameters(), lr=1.0), x, z,
                      clip_value=0.5, clip_norm=1e-2, log=logs[1]),
    ]
    for step in steps:
        step(np.arange(32))
    assert logs[1]["grad_norm"] == [pytest.approx(logs[0]["grad_norm"][0], rel=1e-12)]
    assert logs[1]["grad_norm"][0] > 1e-2  # so the clipping acted
    for mine, theirs in zip(ours.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(theirs.data, mine.data, rtol=0, atol=1e-13)


def test_fit_trains_both_engines_to_the_same_result():
    x, z = paraboloid(200, seed=0)
    ours, twin = twin_networks()
    runs = [
        fit(manual_step(ours, manual.MSELoss(), Adam(ours.parameters(), lr=0.05), x, z),
            len(x), epochs=10, batch_size=20, seed=0, show_progress=False),
        fit(autograd_step(twin, F.mse_loss, Adam(twin.parameters(), lr=0.05), x, z),
            len(x), epochs=10, batch_size=20, seed=0, show_progress=False),
    ]
    np.testing.assert_allclose(runs[1]["batch_loss"], runs[0]["batch_loss"], rtol=1e-10)
    assert runs[1]["loss"][-1] < 0.6 * runs[1]["loss"][0]
    for mine, theirs in zip(ours.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(theirs.data, mine.data, rtol=0, atol=1e-10)
