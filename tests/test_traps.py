"""Two traps from the misuse probe, closed as PyTorch closes them."""

from __future__ import annotations

import numpy as np
import pytest

from backprop import nn
from backprop.autograd import Tensor, no_grad, unbroadcast


# --- a parameter replaced by a graph node
# ------------------------------------------------------
def test_assigning_a_computed_tensor_to_a_parameter_is_refused_with_the_fix():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    layer(Tensor(np.ones((4, 3)))).sum().backward()
    expected = r"parameter 'weight'.*with no_grad\(\):.*-= lr \*"
    with pytest.raises(TypeError, match=expected):
        layer.weight = layer.weight - 0.1 * layer.weight.grad
    before = layer.weight
    with no_grad():
        layer.weight -= 0.1 * layer.weight.grad  # the update the message shows
    assert layer.weight is before and layer.weight.is_leaf


def test_a_parameter_may_be_replaced_by_a_new_parameter_or_none():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    layer.weight = Tensor(np.zeros((2, 3)), requires_grad=True)
    layer.bias = None
    assert [p.shape for p in layer.parameters()] == [(2, 3)]
    with pytest.raises(TypeError, match="not a parameter"):
        layer.weight = np.zeros((2, 3))


def test_a_model_trained_by_reassignment_would_have_grown_its_graph():
    """What the refusal prevents: the weight turning into last step's graph output."""
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    with pytest.raises(TypeError):
        layer.weight = layer.weight * 1.0
    assert layer.weight.is_leaf and not layer.weight.inputs


# --- division's backward where the denominator's square overflows
# --------------------------------
def test_tanh_as_a_quotient_of_exponentials_has_the_right_gradient_up_to_overflow():
    x = Tensor(np.array([0.5, 3.0, 356.0, 500.0, 709.0]), requires_grad=True)
    e, e_minus = x.exp(), (-x).exp()
    tanh = (e - e_minus) / (e + e_minus)
    tanh.sum().backward()
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(x.grad, 1 - np.tanh(x.data) ** 2, atol=1e-15)


def test_division_gradients_are_finite_wherever_the_quotient_is():
    a = Tensor(np.array([1.0, 3.0, 1e300]), requires_grad=True)
    b = Tensor(np.array([2.0, 1e200, 1e160]), requires_grad=True)
    (a / b).sum().backward()
    assert np.all(np.isfinite(b.grad)) and np.all(np.isfinite(a.grad))
    np.testing.assert_allclose(b.grad, -a.data / b.data / b.data, rtol=1e-15)
    np.testing.assert_allclose(a.grad, 1 / b.data, rtol=1e-15)


@pytest.mark.parametrize("grad_shape, shape",
                         [((2, 3), (3, 2)), ((6,), (2, 3)), ((3,), (3, 1))])
def test_unbroadcast_refuses_a_gradient_broadcasting_cannot_make(grad_shape, shape):
    """A forgotten .T in a custom op's backward used to be reshaped into place."""
    with pytest.raises(ValueError, match="cannot come from broadcasting"):
        unbroadcast(np.ones(grad_shape), shape)


def test_a_backward_that_returns_its_gradient_is_refused():
    """A backward sends gradients with add_grad; a returned one would be lost."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    out = Tensor(x.data * 3, inputs=(x,), op="triple")
    out.backward_fn = lambda grad: grad * 3  # returns, does not send
    with pytest.raises(TypeError, match="returned a value.*add_grad"):
        out.backward(np.ones(2))
