"""The PyTorch idioms learners reach for, run through both libraries from the same numbers.

Values and gradients must agree in float64 (to 1e-10) and in float32 (to float32 rounding, and
with float32 results and gradients: a dtype that silently widens is a bug too). Where our
behaviour deliberately differs (comparisons and argmax give NumPy arrays; max/min with an axis
give values only), the test says so. Skipped, with a hint, where PyTorch is not installed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from backprop import functional as F
from backprop import nn
from backprop.autograd import Tensor

torch = pytest.importorskip(
    "torch", reason="PyTorch not installed: pip install torch==2.13.0 to run the oracle tests"
)

DTYPES = {
    "float64": (np.float64, torch.float64, {"rtol": 1e-10, "atol": 1e-12}),
    "float32": (np.float32, torch.float32, {"rtol": 1e-5, "atol": 1e-6}),
}


def run_both(
    ours: Callable[[Tensor], Tensor],
    theirs: Callable[[torch.Tensor], torch.Tensor],
    array: np.ndarray,
    dtype_name: str,
) -> None:
    """Same input, same upstream gradient: outputs, gradients and their dtypes must agree."""
    np_dtype, torch_dtype, tolerance = DTYPES[dtype_name]
    array = array.astype(np_dtype)
    mine = Tensor(array, requires_grad=True)
    reference = torch.tensor(array, dtype=torch_dtype, requires_grad=True)
    our_out, torch_out = ours(mine), theirs(reference)
    assert our_out.dtype == np_dtype, "the result changed dtype"
    np.testing.assert_allclose(our_out.data, torch_out.detach().numpy(), **tolerance)
    upstream = np.random.default_rng(1).standard_normal(our_out.shape).astype(np_dtype)
    our_out.backward(gradient=upstream)
    torch_out.backward(gradient=torch.tensor(upstream))
    assert mine.grad.dtype == np_dtype and mine.grad.shape == mine.shape
    np.testing.assert_allclose(mine.grad, reference.grad.numpy(), **tolerance)


X = np.random.default_rng(0).standard_normal((3, 4, 5))
POSITIVE = np.abs(X) + 0.1

DIFFERENTIABLE = {
    "min": (lambda t: t.min(), lambda t: t.min(), X),
    "min(dim=1)": (lambda t: t.min(dim=1), lambda t: t.amin(dim=1), X),
    "min(dim=-1, keepdim)": (
        lambda t: t.min(dim=-1, keepdim=True),
        lambda t: t.amin(-1, keepdim=True),
        X,
    ),
    "max(dim=[0, 2])": (lambda t: t.max(dim=[0, 2]), lambda t: t.amax(dim=[0, 2]), X),
    "sum(dim=(0, 1), keepdim)": (
        lambda t: t.sum(dim=(0, 1), keepdim=True),
        lambda t: t.sum(dim=(0, 1), keepdim=True),
        X,
    ),
    "sum(dim=[2, 0])": (lambda t: t.sum(dim=[2, 0]), lambda t: t.sum(dim=[2, 0]), X),
    "mean(dim=-1)": (lambda t: t.mean(dim=-1), lambda t: t.mean(dim=-1), X),
    "mean(axis=[0, 1], keepdims)": (
        lambda t: t.mean(axis=[0, 1], keepdims=True),
        lambda t: t.mean(dim=[0, 1], keepdim=True),
        X,
    ),
    "view(12, 5)": (lambda t: t.view(12, 5), lambda t: t.view(12, 5), X),
    "view(-1)": (lambda t: t.view(-1), lambda t: t.view(-1), X),
    "flatten()": (lambda t: t.flatten(), lambda t: t.flatten(), X),
    "flatten(1)": (lambda t: t.flatten(1), lambda t: t.flatten(1), X),
    "flatten(0, 1)": (lambda t: t.flatten(0, 1), lambda t: t.flatten(0, 1), X),
    "flatten(-2, -1)": (lambda t: t.flatten(-2, -1), lambda t: t.flatten(-2, -1), X),
    "unsqueeze(0)": (lambda t: t.unsqueeze(0), lambda t: t.unsqueeze(0), X),
    "unsqueeze(-1)": (lambda t: t.unsqueeze(-1), lambda t: t.unsqueeze(-1), X),
    "squeeze()": (lambda t: t.squeeze(), lambda t: t.squeeze(), X[:, :1, None, :]),
    "squeeze(1)": (lambda t: t.squeeze(1), lambda t: t.squeeze(1), X[:, :1, None, :]),
    "squeeze(0) keeps a long axis": (lambda t: t.squeeze(0), lambda t: t.squeeze(0), X),
    "clone": (lambda t: t.clone() * t, lambda t: t.clone() * t, X),
    "sqrt": (lambda t: t.sqrt(), lambda t: t.sqrt(), POSITIVE),
    "clamp(min, max)": (lambda t: t.clamp(-0.5, 0.5), lambda t: t.clamp(-0.5, 0.5), X),
    "clamp(min=)": (lambda t: t.clamp(min=0.0), lambda t: t.clamp(min=0.0), X),
    "clamp(max=) at the bound": (
        lambda t: t.clamp(max=1.0),
        lambda t: t.clamp(max=1.0),
        np.array([0.0, 1.0, 2.0]),
    ),
    "pow(3) method": (lambda t: t.pow(3), lambda t: t.pow(3), X),
    "pow(tensor) method": (lambda t: t.pow(t), lambda t: t.pow(t), POSITIVE),
    "matmul method": (
        lambda t: t.matmul(t.permute(0, 2, 1)),
        lambda t: t.matmul(t.permute(0, 2, 1)),
        X,
    ),
    "softmax method": (lambda t: t.softmax(dim=1), lambda t: t.softmax(dim=1), X),
    "log_softmax method": (lambda t: t.log_softmax(-1), lambda t: t.log_softmax(-1), X),
    "F.softmax(dim=)": (
        lambda t: F.softmax(t, dim=0),
        lambda t: torch.nn.functional.softmax(t, dim=0),
        X,
    ),
    "permute(-1, 0, 1)": (lambda t: t.permute(-1, 0, 1), lambda t: t.permute(-1, 0, 1), X),
    "x ** 0 at 0": (lambda t: t**0, lambda t: t**0, np.array([0.0, 1.0, -2.0])),
    "0 ** x": (
        lambda t: Tensor(np.zeros(3, t.dtype)) ** t,
        lambda t: torch.zeros(3, dtype=t.dtype) ** t,
        np.array([0.0, 1.0, 2.0]),
    ),
    "max over a NaN": (lambda t: t.max(), lambda t: t.max(), np.array([1.0, np.nan, 3.0])),
    "max(dim=1) over a NaN": (
        lambda t: t.max(dim=1),
        lambda t: t.max(dim=1).values,
        np.array([[1.0, np.nan], [4.0, 3.0]]),
    ),
    "float32 + int array": (lambda t: t + np.arange(5), lambda t: t + torch.arange(5), X[0]),
}


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_differentiable_idioms_match_pytorch(name: str, dtype_name: str) -> None:
    ours, theirs, array = DIFFERENTIABLE[name]
    run_both(ours, theirs, array, dtype_name)


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_reductions_and_modules_match_pytorch(reduction: str, dtype_name: str) -> None:
    targets = np.array([0, 4, 2])
    run_both(
        lambda t: nn.CrossEntropyLoss(reduction=reduction)(t, targets),
        lambda t: torch.nn.CrossEntropyLoss(reduction=reduction)(t, torch.tensor(targets)),
        X[0, :3],
        dtype_name,
    )
    run_both(
        lambda t: F.mse_loss(t, np.ones((3, 5), t.dtype), reduction=reduction),
        lambda t: torch.nn.functional.mse_loss(
            t, torch.ones(3, 5, dtype=t.dtype), reduction=reduction
        ),
        X[0, :3],
        dtype_name,
    )
    run_both(
        lambda t: nn.MSELoss(reduction=reduction)(t, np.ones((3, 5), t.dtype)),
        lambda t: torch.nn.MSELoss(reduction=reduction)(t, torch.ones(3, 5, dtype=t.dtype)),
        X[0, :3],
        dtype_name,
    )
    labels = (X[1, :3] > 0).astype(float)
    run_both(
        lambda t: F.binary_cross_entropy_with_logits(
            t, labels.astype(t.dtype), reduction=reduction
        ),
        lambda t: torch.nn.functional.binary_cross_entropy_with_logits(
            t, torch.tensor(labels, dtype=t.dtype), reduction=reduction
        ),
        X[0, :3],
        dtype_name,
    )


def test_flatten_module_matches_pytorch() -> None:
    run_both(lambda t: nn.Flatten()(t), lambda t: torch.nn.Flatten()(t), X, "float64")
    run_both(lambda t: nn.Flatten(0, 1)(t), lambda t: torch.nn.Flatten(0, 1)(t), X, "float32")


@pytest.mark.parametrize("dtype_name", DTYPES)
def test_dropout_follows_pytorchs_rule(dtype_name: str) -> None:
    """The masks are random on both sides, so compare the rule: each output is 0 or x/(1-p),
    the gradient is the output divided by x, and eval() passes the input through."""
    np_dtype, _, tolerance = DTYPES[dtype_name]
    x = POSITIVE.astype(np_dtype)
    ours = nn.Dropout(0.3, rng=np.random.default_rng(0))
    theirs = torch.nn.Dropout(0.3)
    for module, wrap in [
        (ours, lambda a: Tensor(a, requires_grad=True)),
        (theirs, lambda a: torch.tensor(a, requires_grad=True)),
    ]:
        leaf = wrap(x)
        out = module(leaf)
        out.sum().backward()
        values = out.data if isinstance(out, Tensor) else out.detach().numpy()
        grad = leaf.grad if isinstance(leaf, Tensor) else leaf.grad.numpy()
        assert values.dtype == np_dtype
        kept = values != 0
        np.testing.assert_allclose(values[kept], x[kept] / 0.7, **tolerance)
        np.testing.assert_allclose(grad, kept / 0.7, **tolerance)
        module.eval()
        evaluated = module(wrap(x))
        np.testing.assert_array_equal(
            evaluated.data if isinstance(evaluated, Tensor) else evaluated.detach().numpy(), x
        )


def test_argmax_argmin_match_pytorch_as_int64_arrays() -> None:
    mine, reference = Tensor(X), torch.tensor(X)
    for dim in [None, 0, 1, -1]:
        for keepdim in [False, True]:
            if dim is None and keepdim:
                continue
            ours = mine.argmax(dim=dim, keepdim=keepdim)
            assert ours.dtype == np.int64
            np.testing.assert_array_equal(ours, reference.argmax(dim=dim, keepdim=keepdim).numpy())
            np.testing.assert_array_equal(
                mine.argmin(dim=dim, keepdim=keepdim),
                reference.argmin(dim=dim, keepdim=keepdim).numpy(),
            )
    np.testing.assert_array_equal(mine.argmax(axis=1), reference.argmax(1).numpy())
    with pytest.raises(TypeError, match="axis= .* or dim="):
        mine.argmax(axis=0, dim=1)


@pytest.mark.parametrize("dtype_name", DTYPES)
def test_comparisons_match_pytorch_and_carry_no_gradient(dtype_name: str) -> None:
    np_dtype, _, _ = DTYPES[dtype_name]
    a, b = X[0].astype(np_dtype), np.round(X[1]).astype(np_dtype)
    mine, reference = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    other, other_ref = Tensor(b), torch.tensor(b)
    for op in ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"]:
        for right, right_ref in [(other, other_ref), (0.0, 0.0)]:
            ours = getattr(mine, op)(right)
            assert isinstance(ours, np.ndarray) and ours.dtype == bool
            np.testing.assert_array_equal(ours, getattr(reference, op)(right_ref).numpy())
    assert (mine > 0).sum() == (reference > 0).sum().item()
    np.testing.assert_array_equal(mine[mine > 0].data, reference[reference > 0].detach().numpy())


def test_shape_helpers_match_pytorch() -> None:
    mine, reference = Tensor(X), torch.tensor(X)
    assert mine.numel() == reference.numel()
    assert mine.tolist() == reference.tolist()
    assert Tensor(2.5).tolist() == torch.tensor(2.5).tolist()
    with pytest.raises(ValueError, match="start_dim 2 comes after end_dim 1"):
        mine.flatten(2, 1)
    assert Tensor(3.0).flatten().shape == tuple(torch.tensor(3.0).flatten().shape)


def test_backward_gradient_keyword_retain_graph_and_leaves_match_pytorch() -> None:
    upstream = np.random.default_rng(2).standard_normal((4, 5))
    mine, reference = Tensor(X[0], requires_grad=True), torch.tensor(X[0], requires_grad=True)
    ours, theirs = (mine * mine).exp(), (reference * reference).exp()
    ours.backward(gradient=upstream, retain_graph=True)
    theirs.backward(gradient=torch.tensor(upstream), retain_graph=True)
    ours.backward(upstream)  # positional, as before
    theirs.backward(torch.tensor(upstream))
    np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-10)
    assert (mine.is_leaf, ours.is_leaf, Tensor(1.0).is_leaf) == (
        reference.is_leaf,
        theirs.is_leaf,
        torch.tensor(1.0).is_leaf,
    )
    with pytest.raises(TypeError, match="grad= or gradient="):
        ours.backward(upstream, gradient=upstream)


def test_requires_grad_in_place_matches_pytorch() -> None:
    mine = Tensor(X[0]).requires_grad_()
    reference = torch.tensor(X[0]).requires_grad_()
    assert mine.requires_grad and reference.requires_grad
    (mine * 3).sum().backward()
    (reference * 3).sum().backward()
    np.testing.assert_array_equal(mine.grad, reference.grad.numpy())
    with pytest.raises(RuntimeError, match=r"t.detach\(\).requires_grad_\(\)"):
        (mine * 2).requires_grad_(False)
    with pytest.raises(RuntimeError):
        (reference * 2).requires_grad_(False)
    assert not mine.requires_grad_(False).requires_grad


def test_in_place_update_under_no_grad_matches_pytorch() -> None:
    from backprop.autograd import no_grad

    mine, reference = Tensor(X[0], requires_grad=True), torch.tensor(X[0], requires_grad=True)
    for _ in range(3):
        for leaf, grad_off in [(mine, no_grad), (reference, torch.no_grad)]:
            leaf.grad = None
            ((leaf * leaf).sum() * 0.5).backward()
            with grad_off():
                leaf -= 0.1 * leaf.grad
    np.testing.assert_allclose(mine.data, reference.detach().numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError):
        reference -= 1.0
    with pytest.raises(RuntimeError):
        mine -= 1.0


def test_state_dict_round_trips_into_a_pytorch_model() -> None:
    rng = np.random.default_rng(0)
    ours = nn.Sequential(nn.Linear(5, 4, rng=rng), nn.ReLU(), nn.Linear(4, 3, rng=rng))
    theirs = torch.nn.Sequential(
        torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3)
    ).double()
    renamed = {
        name.removeprefix("layers."): torch.tensor(v) for name, v in ours.state_dict().items()
    }
    theirs.load_state_dict(renamed)
    np.testing.assert_allclose(
        ours(Tensor(X[0])).data, theirs(torch.tensor(X[0])).detach().numpy(), rtol=1e-12
    )
    ours.load_state_dict({f"layers.{k}": v.numpy() + 1 for k, v in theirs.state_dict().items()})
    np.testing.assert_allclose(ours.layers[0].bias.data, theirs[0].bias.detach().numpy() + 1)
