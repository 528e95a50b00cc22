"""backprop.normalisation (chapter 9): the fused LayerNorm op's hand-written backward
agrees with the engine's chain of ops, with finite differences and with PyTorch; the
module and the network built with it start as the chapter says."""

import numpy as np
import pytest

from backprop.autograd import Tensor
from backprop.gradcheck import numerical_grad
from backprop.mlp import mlp
from backprop.normalisation import LayerNorm, layer_norm, mlp_with_layernorm


def _by_the_engine(x: Tensor, eps: float) -> Tensor:
    centred = x - x.mean(axis=-1, keepdims=True)
    return centred / ((centred * centred).mean(axis=-1, keepdims=True) + eps) ** 0.5


@pytest.mark.parametrize("shape, eps",
                         [((4, 6), 0.1), ((1, 7), 1e-2), ((3, 5, 8), 1e-5)])
def test_backward_matches_the_engine_chain(shape, eps):
    rng = np.random.default_rng(0)
    values, g = 1.0 + 3.0 * rng.normal(size=shape), rng.normal(size=shape)
    fused = Tensor(values, requires_grad=True)
    chained = Tensor(values, requires_grad=True)
    out = layer_norm(fused, eps)
    (out * g).sum().backward()
    reference = _by_the_engine(chained, eps)
    (reference * g).sum().backward()
    np.testing.assert_allclose(out.data, reference.data, atol=1e-12)
    np.testing.assert_allclose(fused.grad, chained.grad, atol=1e-12)
    assert fused.grad.shape == fused.shape


def test_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    values, g = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    x = Tensor(values, requires_grad=True)
    (layer_norm(x, 0.05) * g).sum().backward()

    def loss(v):
        return float((layer_norm(Tensor(v), 0.05).data * g).sum())

    np.testing.assert_allclose(x.grad, numerical_grad(loss, values.copy()), atol=1e-6)


def test_module_normalises_each_row_and_trains_gain_and_bias():
    rng = np.random.default_rng(2)
    norm = LayerNorm(6)
    x = Tensor(5.0 + 2.0 * rng.normal(size=(4, 6)), requires_grad=True)
    y = norm(x)
    np.testing.assert_allclose(y.data.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.data.std(axis=1), 1.0, atol=1e-5)
    (y * y).sum().backward()
    assert len(norm.parameters()) == 2
    assert norm.weight.grad.shape == (6,) and norm.bias.grad.shape == (6,)


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    values, g = rng.normal(size=(5, 9)), rng.normal(size=(5, 9))
    norm = LayerNorm(9)
    norm.weight.data[...] = rng.normal(size=9)
    norm.bias.data[...] = rng.normal(size=9)
    x = Tensor(values, requires_grad=True)
    (norm(x) * g).sum().backward()
    tx = torch.tensor(values, requires_grad=True)
    tw = torch.tensor(norm.weight.data, requires_grad=True)
    tb = torch.tensor(norm.bias.data, requires_grad=True)
    ty = torch.nn.functional.layer_norm(tx, (9,), tw, tb, eps=1e-5)
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(norm.weight.grad, tw.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(norm.bias.grad, tb.grad.numpy(), atol=1e-10)


def test_network_starts_from_the_plain_mlps_weights():
    plain, normed = mlp([12, 8, 6, 3], 4), mlp_with_layernorm([12, 8, 6, 3], 4)
    linears = [layer for layer in normed if hasattr(layer, "in_features")]
    assert [type(layer).__name__ for layer in normed] == [
        "Linear", "LayerNorm", "ReLU", "Linear", "LayerNorm", "ReLU", "Linear"]
    for old, new in zip(plain[::2], linears):
        np.testing.assert_array_equal(old.weight.data, new.weight.data)
        np.testing.assert_array_equal(old.bias.data, new.bias.data)
