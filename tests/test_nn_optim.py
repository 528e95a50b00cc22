"""Tests for backprop.nn (modules) and backprop.optim (optimisers and gradient clipping)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from backprop import functional as F
from backprop.autograd import Tensor
from backprop.nn import Linear, Module, ReLU, Sequential, Sigmoid, Tanh
from backprop.optim import SGD, Adam, clip_grad_norm_, clip_grad_value_


def bare_param(data, grad=None) -> SimpleNamespace:
    """A parameter as ManualGrad provides it: only ``.data`` and ``.grad``, no Tensor."""
    grad = None if grad is None else np.array(grad, dtype=np.float64)
    return SimpleNamespace(data=np.array(data, dtype=np.float64), grad=grad)


# --------------------------------------------------------------------------- modules
class TwoLayer(Module):
    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.hidden = Linear(3, 4, rng=rng)
        self.extra = [Linear(4, 4, rng=rng)]
        self.scale = Tensor(2.0, requires_grad=True)
        self.constant = Tensor([1.0, 2.0])  # no requires_grad: not a parameter
        self.not_a_tensor = np.ones(3)

    def forward(self, x: Tensor) -> Tensor:
        return self.extra[0](self.hidden(x).relu()) * self.scale


def test_parameters_are_found_in_attributes_submodules_and_lists():
    model = TwoLayer()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["hidden.weight", "hidden.bias", "extra.0.weight", "extra.0.bias", "scale"]
    assert [p.shape for p in model.parameters()] == [(4, 3), (4,), (4, 4), (4,), ()]


def test_a_shared_parameter_is_listed_once():
    shared = Linear(2, 2, rng=np.random.default_rng(0))
    net = Sequential(shared, ReLU(), shared)
    assert len(net.parameters()) == 2


def test_module_zero_grad_clears_every_parameter():
    model = TwoLayer()
    model(Tensor(np.ones((2, 3)))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_and_eval_reach_submodules():
    model = TwoLayer()
    assert model.training and model.hidden.training
    model.eval()
    assert not model.training and not model.hidden.training and not model.extra[0].training
    model.train()
    assert model.extra[0].training


def test_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="forward"):
        Module()(Tensor(1.0))


def test_linear_shapes_init_bounds_and_forward():
    layer = Linear(16, 5, rng=np.random.default_rng(0))
    assert layer.weight.shape == (5, 16) and layer.bias.shape == (5,)
    bound = 1 / np.sqrt(16)
    for parameter in layer.parameters():
        assert parameter.requires_grad
        assert np.all(np.abs(parameter.data) <= bound)
    assert np.abs(layer.weight.data).max() > 0.8 * bound  # spread over the range, not tiny
    x = np.random.default_rng(1).standard_normal((7, 16))
    np.testing.assert_allclose(layer(Tensor(x)).data, x @ layer.weight.data.T + layer.bias.data)
    np.testing.assert_allclose(layer(x).data, layer(Tensor(x)).data)  # a plain array works too
    assert repr(layer) == "Linear(in_features=16, out_features=5, bias=True)"


def test_linear_rng_makes_init_reproducible():
    first = Linear(4, 3, rng=np.random.default_rng(42))
    again = Linear(4, 3, rng=np.random.default_rng(42))
    other = Linear(4, 3, rng=np.random.default_rng(43))
    np.testing.assert_array_equal(first.weight.data, again.weight.data)
    assert not np.array_equal(first.weight.data, other.weight.data)


def test_linear_without_bias():
    layer = Linear(3, 2, bias=False, rng=np.random.default_rng(0))
    assert layer.bias is None and len(layer.parameters()) == 1
    x = np.ones((1, 3))
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T)


def test_activation_modules():
    x = Tensor([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(ReLU()(x).data, [0.0, 0.0, 2.0])
    np.testing.assert_allclose(Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)))
    np.testing.assert_allclose(Tanh()(x).data, np.tanh(x.data))
    assert ReLU().parameters() == []


def test_sequential_is_indexable_iterable_and_chains_its_modules():
    rng = np.random.default_rng(0)
    first, second = Linear(2, 3, rng=rng), Linear(3, 1, rng=rng)
    net = Sequential(first, Tanh(), second)
    assert len(net) == 3 and net[0] is first and net[-1] is second
    assert list(net)[1].__class__ is Tanh
    assert isinstance(net[1:], Sequential) and len(net[1:]) == 2
    x = Tensor(np.ones((4, 2)))
    np.testing.assert_allclose(net(x).data, second(first(x).tanh()).data)
    assert len(net.parameters()) == 4
    assert "(2): Linear(in_features=3, out_features=1, bias=True)" in repr(net)


# --------------------------------------------------------------------------- SGD
def test_sgd_plain_step():
    param = bare_param([1.0, 2.0], grad=[0.5, -1.0])
    SGD([param], lr=0.1).step()
    np.testing.assert_allclose(param.data, [0.95, 2.1])


def test_sgd_momentum_buffer_starts_at_the_gradient_then_accumulates():
    param = bare_param([0.0], grad=[1.0])
    optimizer = SGD([param], lr=1.0, momentum=0.9)
    optimizer.step()  # b = g = 1
    np.testing.assert_allclose(param.data, [-1.0])
    optimizer.step()  # b = 0.9 * 1 + 1 = 1.9
    np.testing.assert_allclose(param.data, [-2.9])
    optimizer.step()  # b = 0.9 * 1.9 + 1 = 2.71
    np.testing.assert_allclose(param.data, [-5.61])


def test_sgd_weight_decay_adds_to_the_gradient():
    param = bare_param([2.0], grad=[0.0])
    SGD([param], lr=0.5, weight_decay=0.1).step()
    np.testing.assert_allclose(param.data, [2.0 - 0.5 * 0.1 * 2.0])


def test_optimisers_update_in_place_and_skip_params_without_grad():
    with_grad = bare_param([1.0, 1.0], grad=[1.0, 1.0])
    without_grad = bare_param([5.0])
    # With weight decay, a parameter that was not skipped would move even with a zero gradient.
    for optimizer in (
        SGD([with_grad, without_grad], lr=0.1, momentum=0.5, weight_decay=0.1),
        Adam([with_grad, without_grad], weight_decay=0.1),
    ):
        array_before = with_grad.data
        optimizer.step()
        assert with_grad.data is array_before  # same array, changed in place
        np.testing.assert_array_equal(without_grad.data, [5.0])
    assert np.all(with_grad.data < 1.0)


def test_optimisers_reject_empty_parameter_lists():
    with pytest.raises(ValueError, match="no parameters"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="no parameters"):
        Adam(iter([]))


def test_optimiser_zero_grad_sets_none_or_zeros():
    first, second = bare_param([1.0], grad=[3.0]), bare_param([1.0], grad=[4.0])
    optimizer = SGD([first, second], lr=0.1)
    optimizer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(first.grad, [0.0])
    optimizer.zero_grad()
    assert first.grad is None and second.grad is None


# --------------------------------------------------------------------------- Adam
def test_adam_first_step_moves_each_element_by_lr():
    # After bias correction m_hat = g and v_hat = g^2, so the step is lr * g / |g|.
    param = bare_param([1.0, 1.0, 1.0], grad=[1e-3, -50.0, 2.0])
    Adam([param], lr=0.01).step()
    np.testing.assert_allclose(param.data, [0.99, 1.01, 0.99], rtol=1e-6)


def test_adam_second_step_follows_the_bias_corrected_formula():
    param = bare_param([0.0], grad=[1.0])
    optimizer = Adam([param], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    optimizer.step()
    param.grad = np.array([-2.0])
    optimizer.step()
    m = 0.9 * 0.1 * 1.0 + 0.1 * -2.0
    v = 0.999 * 0.001 * 1.0 + 0.001 * 4.0
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    np.testing.assert_allclose(param.data, [-0.1 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8)])


def test_adam_rejects_betas_outside_zero_one():
    with pytest.raises(ValueError, match="betas"):
        Adam([bare_param([1.0])], betas=(0.9, 1.0))


# --------------------------------------------------------------------------- clipping
def test_clip_grad_norm_returns_the_norm_before_clipping_and_scales_jointly():
    first, second = bare_param([0.0, 0.0], grad=[3.0, 0.0]), bare_param([0.0], grad=[4.0])
    no_grad = bare_param([0.0])
    total = clip_grad_norm_([first, second, no_grad], max_norm=1.0)
    assert total == pytest.approx(5.0)
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(first.grad, [3.0 * scale, 0.0])
    np.testing.assert_allclose(second.grad, [4.0 * scale])
    assert no_grad.grad is None


def test_clip_grad_norm_leaves_small_gradients_alone():
    param = bare_param([0.0, 0.0], grad=[0.3, 0.4])
    assert clip_grad_norm_([param], max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(param.grad, [0.3, 0.4])


def test_clip_grad_value_clips_each_element():
    param = bare_param([0.0, 0.0, 0.0], grad=[-5.0, 0.2, 3.0])
    clip_grad_value_([param, bare_param([1.0])], clip_value=1.0)
    np.testing.assert_array_equal(param.grad, [-1.0, 0.2, 1.0])


# --------------------------------------------------------------------------- end to end
@pytest.mark.parametrize(
    "make_optimizer",
    [lambda ps: SGD(ps, lr=0.5, momentum=0.9), lambda ps: Adam(ps, lr=0.05)],
    ids=["sgd-momentum", "adam"],
)
def test_a_small_network_learns_xor(make_optimizer):
    rng = np.random.default_rng(0)
    net = Sequential(Linear(2, 8, rng=rng), Tanh(), Linear(8, 2, rng=rng))
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    optimizer = make_optimizer(net.parameters())
    first_loss = F.cross_entropy(net(x), y).item()
    for _ in range(300):
        optimizer.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05 < first_loss
    np.testing.assert_array_equal(net(x).data.argmax(axis=1), y)
