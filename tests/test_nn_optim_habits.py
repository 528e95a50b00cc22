"""Modules, losses and optimisers used the way a PyTorch user would: each former silent trap
either works or fails at once with a message that names the mistake and the fix."""

from __future__ import annotations

import numpy as np
import pytest

from backprop import functional as F
from backprop import manual, nn
from backprop.autograd import Tensor, no_grad
from backprop.optim import SGD, Adam, clip_grad_norm_, clip_grad_value_


# --- parameters kept in containers ----------------------------------------------------------------
class _Heads(nn.Module):
    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.heads = {"digit": nn.Linear(4, 10, rng=rng), "parity": nn.Linear(4, 2, rng=rng)}
        self.blocks = [[nn.Linear(4, 4, rng=rng)], (nn.Linear(4, 4, rng=rng),)]
        self.scales = {"a": Tensor(np.ones(4), requires_grad=True)}


def test_parameters_in_dicts_and_nested_lists_are_found() -> None:
    names = [name for name, _ in _Heads().named_parameters()]
    assert names == [
        "heads.digit.weight",
        "heads.digit.bias",
        "heads.parity.weight",
        "heads.parity.bias",
        "blocks.0.0.weight",
        "blocks.0.0.bias",
        "blocks.1.0.weight",
        "blocks.1.0.bias",
        "scales.a",
    ]
    model = _Heads()
    assert len(model.children()) == 4
    model.eval()
    assert not model.heads["digit"].training and not model.blocks[1][0].training


# --- state_dict ----------------------------------------------------------------------------------
def _net(seed: int) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(3, 5, rng=rng), nn.ReLU(), nn.Linear(5, 2, rng=rng))


def test_a_trained_model_saved_to_a_file_and_loaded_gives_the_same_outputs(tmp_path) -> None:
    model, x, y = _net(0), np.random.default_rng(1).normal(size=(8, 3)), np.arange(8) % 2
    optimizer = SGD(model.parameters(), lr=0.5)
    for _ in range(5):
        optimizer.zero_grad()
        F.cross_entropy(model(Tensor(x)), y).backward()
        optimizer.step()
    np.savez(tmp_path / "model.npz", **model.state_dict())
    fresh = _net(1)
    assert not np.allclose(fresh(Tensor(x)).data, model(Tensor(x)).data)
    fresh.load_state_dict(np.load(tmp_path / "model.npz"))
    np.testing.assert_array_equal(fresh(Tensor(x)).data, model(Tensor(x)).data)
    assert sorted(model.state_dict()) == [
        "layers.0.bias",
        "layers.0.weight",
        "layers.2.bias",
        "layers.2.weight",
    ]


def test_state_dict_is_a_snapshot_not_a_view() -> None:
    model = _net(0)
    snapshot = model.state_dict()
    model.layers[0].weight.data += 1.0
    assert not np.allclose(snapshot["layers.0.weight"], model.layers[0].weight.data)


def test_load_state_dict_names_missing_unexpected_and_misshapen_parameters() -> None:
    state = _net(0).state_dict()
    with pytest.raises(KeyError, match=r"missing \['layers.2.bias'\], unexpected \['extra'\]"):
        _net(1).load_state_dict(
            {**{k: v for k, v in state.items() if k != "layers.2.bias"}, "extra": np.zeros(1)}
        )
    state["layers.0.bias"] = np.zeros(4)
    with pytest.raises(ValueError, match=r"layers.0.bias has shape \(5,\) here but \(4,\)"):
        _net(1).load_state_dict(state)


# --- Sequential and Linear check their arguments ----------------------------------------------
@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("relu", r"argument 1 is the string 'relu': pass a layer object, e.g. nn.ReLU\(\)"),
        (nn.ReLU, r"argument 1 is the class ReLU, not a layer: create one, ReLU\(\)"),
        ([nn.ReLU()], r"argument 1 is a list: unpack it, Sequential\(\*layers\)"),
        (np.tanh, r"argument 1 is the function tanh, not a Module: use the module"),
        (manual.ReLU(), r"argument 1 is the ManualGrad layer ReLU\(\).*use backprop.nn.ReLU"),
        (3, r"argument 1 is 3 \(int\), not a Module"),
    ],
)
def test_autograd_sequential_refuses_non_modules_at_construction(argument, message) -> None:
    with pytest.raises(TypeError, match=message):
        nn.Sequential(nn.Linear(2, 2), argument)


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (nn.Linear(2, 2), r"argument 0 is the autograd module Linear.*manual.Linear"),
        (manual.ReLU, r"argument 0 is the class ReLU, not a layer: create one"),
        ([manual.ReLU()], r"argument 0 is a list: pass layers as separate arguments"),
        (np.tanh, r"argument 0 is the function tanh, not a layer"),
        ("relu", r"argument 0 is a str \('relu'\), not a layer"),
    ],
)
def test_manual_sequential_refuses_non_layers_at_construction(argument, message) -> None:
    with pytest.raises(TypeError, match=message):
        manual.Sequential(argument)


@pytest.mark.parametrize("make", [nn.Linear, manual.Linear])
@pytest.mark.parametrize(
    ("sizes", "name"),
    [
        ((0, 5), "in_features"),
        ((-1, 5), "in_features"),
        ((3, 0), "out_features"),
        ((2.5, 3), "in_features"),
    ],
)
def test_linear_refuses_sizes_that_are_not_positive_integers(make, sizes, name) -> None:
    with pytest.raises(
        ValueError,
        match=f"{name} must be a positive integer, got {sizes[0 if name == 'in_features' else 1]}",
    ):
        make(*sizes)


# --- Flatten, Dropout, loss modules ------------------------------------------------------------
def test_flatten_module_keeps_the_batch_axis() -> None:
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = nn.Flatten()(x)
    assert y.shape == (2, 12)
    y.sum().backward()
    assert x.grad.shape == (2, 3, 4)
    assert nn.Flatten(0)(x).shape == (24,)


def test_dropout_drops_and_rescales_in_training_and_is_the_identity_in_eval() -> None:
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    drop = nn.Dropout(0.25, rng=np.random.default_rng(0))
    y = drop(x)
    assert set(np.unique(y.data)) == {0.0, 1 / 0.75}
    assert abs(np.mean(y.data == 0) - 0.25) < 0.01
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # gradient: mask / (1 - p)
    drop.eval()
    assert drop(x) is x
    net = nn.Sequential(nn.Linear(50, 50), nn.Dropout(0.5))
    net.eval()
    np.testing.assert_array_equal(net(x).data, net(x).data)


def test_dropout_is_reproducible_with_a_seeded_rng_and_checks_p() -> None:
    x = Tensor(np.ones(100))
    first = nn.Dropout(rng=np.random.default_rng(3))(x).data
    again = nn.Dropout(rng=np.random.default_rng(3))(x).data
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, np.zeros(100))
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).data, np.ones(100))
    assert nn.Dropout(0.5)(Tensor(np.ones(3, dtype=np.float32))).dtype == np.float32
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)


def test_loss_modules_and_reduction() -> None:
    logits = Tensor(np.random.default_rng(0).normal(size=(4, 3)), requires_grad=True)
    targets = np.array([0, 2, 1, 2])
    per_example = F.cross_entropy(logits, targets, reduction="none")
    assert per_example.shape == (4,)
    np.testing.assert_allclose(per_example.data.mean(), nn.CrossEntropyLoss()(logits, targets).data)
    np.testing.assert_allclose(
        per_example.data.sum(), nn.CrossEntropyLoss(reduction="sum")(logits, targets).data
    )
    np.testing.assert_allclose(
        nn.MSELoss(reduction="sum")(logits, np.zeros((4, 3))).data, np.sum(logits.data**2)
    )
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum', 'none'\)"):
        F.mse_loss(logits, np.zeros((4, 3)), reduction="average")


# --- optimisers -----------------------------------------------------------------------------------
def _w() -> Tensor:
    w = Tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward()
    return w


def test_clipping_accepts_a_single_tensor_like_pytorch() -> None:
    w = _w()  # grad [2, -4], norm sqrt(20)
    assert clip_grad_norm_(w, 1.0) == pytest.approx(np.sqrt(20))
    assert np.linalg.norm(w.grad) == pytest.approx(1.0, rel=1e-5)
    w = _w()
    clip_grad_value_(w, 3.0)
    np.testing.assert_array_equal(w.grad, [2.0, -3.0])


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        (lambda net: net.layers[0].weight, TypeError, r"got a single one; write SGD\(\[w\], ...\)"),
        (
            lambda net: net.parameters,
            TypeError,
            r"function or method; call it: SGD\(model.parameters\(\)",
        ),
        (lambda net: net, TypeError, r"got the model itself; pass its parameters"),
        (lambda net: [np.zeros(3)], TypeError, r"parameter 0 is a ndarray.*requires_grad=True"),
        (lambda net: 3, TypeError, "takes a list of parameters, got int"),
        (
            lambda net: [Tensor([1.0])],
            ValueError,
            r"parameter 0 \(shape \(1,\)\) has requires_grad=False",
        ),
        (lambda net: [Tensor([1.0], requires_grad=True) * 2], ValueError, "not a leaf"),
    ],
)
def test_optimisers_refuse_what_they_could_never_update(params, error, message) -> None:
    with pytest.raises(error, match=message):
        SGD(params(_net(0)), lr=0.1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"lr": "0.1"}, TypeError, "lr must be a number, got str '0.1'"),
        ({"lr": float("nan")}, ValueError, "lr must be a finite number >= 0, got nan"),
        ({"lr": -0.1}, ValueError, "lr must be a finite number >= 0"),
        ({"lr": 0.1, "momentum": -0.9}, ValueError, "momentum must be a finite number >= 0"),
        ({"lr": 0.1, "weight_decay": -1e-4}, ValueError, "weight_decay must be a finite"),
    ],
)
def test_sgd_refuses_bad_hyperparameters(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        SGD(_net(0).parameters(), **kwargs)


def test_adam_refuses_bad_hyperparameters() -> None:
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
        Adam(_net(0).parameters(), weight_decay=-1.0)
    with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
        Adam(_net(0).parameters(), eps=float("nan"))


def test_optimisers_still_take_manual_parameters_and_update_in_place() -> None:
    layer = manual.Linear(2, 2, rng=0)
    weight = layer.weight.data
    layer.forward(np.ones((1, 2)))
    layer.backward(np.ones((1, 2)))
    SGD(layer.parameters(), lr=0.1).step()
    assert layer.weight.data is weight and not np.allclose(
        weight, manual.Linear(2, 2, rng=0).weight.data
    )


def test_sgd_updates_tensor_parameters_in_place() -> None:
    w = _w()
    array = w.data
    SGD([w], lr=0.5).step()
    assert w.data is array
    np.testing.assert_array_equal(w.data, [0.0, 0.0])
    with no_grad():
        loss = (w * w).sum()
    assert not loss.requires_grad
