"""The helpers around the engine (checks, training loop, data loader) refuse misuse clearly,
and never report success for something they did not check."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from backprop import manual
from backprop.autograd import Tensor
from backprop.data import MNIST_FILES, MNISTError, load_mnist
from backprop.gradcheck import gradcheck, numerical_grad
from backprop.symbolic import check_derivative, check_gradient, check_gradient_where
from backprop.train import accuracy, fit

a, b = sp.symbols("a b")
E = a**2 * b


# --- symbolic -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "check", [check_gradient, lambda *args, **kw: check_gradient_where(*args, {}, **kw)]
)
def test_a_wrong_second_claim_is_never_skipped(check) -> None:
    with pytest.raises(ValueError, match="2 variables but 1 names"):
        check(E, [a, b], [2 * a * b, 12345 * a], names=["dE/da"])
    with pytest.raises(ValueError, match="2 variables but 1 claimed"):
        check(E, [a, b], [2 * a * b])
    with pytest.raises(AssertionError, match="does not match SymPy"):
        check(E, [a, b], [2 * a * b, 12345 * a])
    assert len(check(E, [a, b], [2 * a * b, a**2], names=["dE/da", "dE/db"])) == 2


@pytest.mark.parametrize("claim", ["2*x", 2 * sp.Symbol("x")])
def test_a_correct_claim_about_a_positive_symbol_is_accepted(claim) -> None:
    x = sp.Symbol("x", positive=True)
    assert check_derivative(sp.sqrt(x**4), x, claim)
    assert check_gradient(sp.sqrt(x**4), [x], [claim])
    assert check_gradient_where(sp.sqrt(x**4), [x], [claim], {})
    with pytest.raises(AssertionError):
        check_derivative(sp.sqrt(x**4), x, "3*x")


def test_check_equal_matches_symbols_by_name_too() -> None:
    from backprop.symbolic import check_equal

    x = sp.Symbol("x", positive=True)
    assert check_equal("2*x", 2 * x)
    with pytest.raises(AssertionError, match="does not match SymPy"):
        check_equal("3*x", 2 * x)


def test_symbolic_helpers_name_a_lambda_or_a_single_symbol() -> None:
    with pytest.raises(
        TypeError, match=r"Python function \(a lambda\?\).*x\*\*2 instead of lambda"
    ):
        check_derivative(lambda x: x**2, a, 2 * a)
    with pytest.raises(TypeError, match=r"Python function"):
        check_gradient_where(lambda x: x, [a], [1], {})
    with pytest.raises(TypeError, match=r"wrts must be a list, e.g. \[a, b\].*check_derivative"):
        check_gradient(E, a, 2 * a * b)
    with pytest.raises(TypeError, match=r"claimed must be a list"):
        check_gradient(E, [a], 2 * a * b)


# --- gradcheck ------------------------------------------------------------------------------------
def test_gradcheck_treats_a_single_array_as_one_input_not_its_rows() -> None:
    seen = []

    def f(x: Tensor) -> Tensor:
        seen.append(x.shape)
        return (x * x).sum()

    assert gradcheck(f, np.ones((1, 3)))
    assert gradcheck(f, Tensor(np.ones((1, 3))))
    assert set(seen) == {(1, 3)}


@pytest.mark.parametrize(
    ("f", "inputs", "error", "message"),
    [
        (
            lambda x: (x * x).sum(),
            [np.ones(2), np.ones(2)],
            TypeError,
            r"with 2 input\(s\).*one argument per input",
        ),
        (
            lambda x: float((x * x).sum()),
            [np.ones(2)],
            TypeError,
            r"f returned float, not a Tensor",
        ),
        (lambda x: None, [np.ones(2)], TypeError, r"f returned None \(a missing return\?\)"),
        (lambda x: x * x, [np.ones(2)], ValueError, r"got shape \(2,\): reduce it"),
        (lambda x: Tensor(np.sum(x.data)), [np.ones(2)], ValueError, "requires_grad=False"),
    ],
)
def test_gradcheck_explains_a_wrong_f(f, inputs, error, message) -> None:
    with pytest.raises(error, match=message):
        gradcheck(f, inputs)


@pytest.mark.parametrize("eps", [0, -1e-6, float("nan")])
def test_finite_differences_need_a_positive_step(eps) -> None:
    with pytest.raises(ValueError, match="eps must be a small positive number"):
        gradcheck(lambda x: (x * x).sum(), [np.ones(2)], eps=eps)
    with pytest.raises(ValueError, match="eps must be a small positive number"):
        numerical_grad(lambda x: np.sum(x**2), np.ones(2), eps=eps)


def test_numerical_grad_names_a_function_that_returns_a_vector_or_none() -> None:
    with pytest.raises(ValueError, match=r"f must return one number, got shape \(2,\)"):
        numerical_grad(lambda x: x**2, np.ones(2))
    with pytest.raises(TypeError, match="returned None"):
        numerical_grad(lambda x: None, np.ones(2))


# --- check_layer, accuracy, fit ------------------------------------------------------------------
def test_check_layer_passes_integer_targets_to_softmax_cross_entropy() -> None:
    logits = np.random.default_rng(0).normal(size=(4, 3))
    table = manual.check_layer(manual.SoftmaxCrossEntropy(), logits, np.array([0, 2, 1, 1]))
    assert table.passed and len(table) == 1


def test_accuracy_refuses_column_labels_instead_of_broadcasting() -> None:
    scores = np.eye(10)
    labels = np.arange(10)
    assert accuracy(scores, labels) == 1.0
    with pytest.raises(ValueError, match=r"labels of shape \(N,\).*labels.reshape\(-1\)"):
        accuracy(scores, labels.reshape(-1, 1))
    assert accuracy(Tensor(scores), labels) == 1.0


def test_fit_checks_batch_size_before_anything_else() -> None:
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        fit(lambda idx: 0.0, 10, epochs=1, batch_size=0, show_progress=False)


def test_fit_accepts_a_loss_tensor_and_names_a_missing_return() -> None:
    history = fit(
        lambda idx: Tensor([[0.5]], requires_grad=True),
        4,
        epochs=1,
        batch_size=2,
        show_progress=False,
    )
    assert history["batch_loss"] == [0.5, 0.5]
    with pytest.raises(TypeError, match=r"got NoneType \(did it forget to return\?\)"):
        fit(lambda idx: None, 4, epochs=1, batch_size=2, show_progress=False)
    with pytest.raises(TypeError, match=r"one number \(e.g. loss.item\(\)\), got Tensor"):
        fit(lambda idx: Tensor(np.ones(2)), 4, epochs=1, batch_size=2, show_progress=False)


# --- MNIST loader ---------------------------------------------------------------------------------
def _labels_file(path: Path, labels: bytes = b"\x01\x02") -> None:
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + len(labels).to_bytes(4, "big") + labels))


def _folder(tmp_path: Path) -> Path:
    images = b"\x00\x00\x08\x03" + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    for part, spec in MNIST_FILES.items():
        if "images" in part:
            (tmp_path / spec.name).write_bytes(gzip.compress(images + bytes(2 * 784)))
        else:
            _labels_file(tmp_path / spec.name)
    return tmp_path


@pytest.fixture
def no_local_folder(monkeypatch):
    monkeypatch.delenv("BACKPROP_MNIST_DIR", raising=False)


def test_folder_mode_never_promises_a_download(tmp_path) -> None:
    folder = _folder(tmp_path)
    (folder / MNIST_FILES["test_labels"].name).write_bytes(b"not gzip")
    with pytest.raises(MNISTError) as caught:
        load_mnist(folder, verbose=False)
    assert "downloaded again" not in str(caught.value)
    assert "Replace it with the original MNIST file" in str(caught.value)


def test_an_unreadable_file_is_not_called_corrupt(tmp_path, monkeypatch) -> None:
    folder = _folder(tmp_path)
    denied = folder / MNIST_FILES["train_labels"].name
    real_open = gzip.open

    def open_unless_denied(path, *args, **kwargs):  # chmod 0 does not stop root, so simulate it
        if Path(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(gzip, "open", open_unless_denied)
    with pytest.raises(MNISTError, match=r"cannot be read \(Permission denied\)") as caught:
        load_mnist(folder, verbose=False)
    assert "corrupt" not in str(caught.value) and "truncated" not in str(caught.value)


def test_a_tilde_in_the_environment_variable_is_expanded(tmp_path, monkeypatch) -> None:
    _folder(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path.parent))
    monkeypatch.setenv("BACKPROP_MNIST_DIR", f"~/{tmp_path.name}")
    x_train, *_ = load_mnist(verbose=False)
    assert x_train.shape == (2, 784)


def test_a_folder_that_is_not_a_path_is_named() -> None:
    with pytest.raises(TypeError, match="data_dir must be a folder path .* got int 123"):
        load_mnist(123)
    with pytest.raises(TypeError, match="cache_dir must be a folder path"):
        load_mnist(full=True, cache_dir=4.5)


@pytest.mark.parametrize("url", ["not a url", "127.0.0.1:8000/mnist", "htps//example"])
def test_a_malformed_base_url_is_not_called_a_checksum_mismatch(
    no_local_folder, tmp_path, url
) -> None:
    with pytest.raises(MNISTError, match="is not a download address") as caught:
        load_mnist(full=True, cache_dir=tmp_path, base_url=url, verbose=False)
    assert "SHA-256" not in str(caught.value)


def test_a_cache_dir_that_is_a_file_is_named(no_local_folder, tmp_path) -> None:
    (tmp_path / "cache").write_text("")
    with pytest.raises(MNISTError, match="part of that path is a file. Pass cache_dir=") as caught:
        load_mnist(full=True, cache_dir=tmp_path / "cache", base_url="http://127.0.0.1:9/", verbose=False)
    assert "internet" not in str(caught.value)


def test_a_read_only_cache_dir_is_named(no_local_folder, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # root may write anywhere
    with pytest.raises(MNISTError, match="is read-only. Pass cache_dir=") as caught:
        load_mnist(full=True, cache_dir=tmp_path, base_url="http://127.0.0.1:9/", verbose=False)
    assert "internet" not in str(caught.value)


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_offline_with_a_stale_cached_file_says_the_checksum_failed(
    no_local_folder, tmp_path
) -> None:
    (tmp_path / "mnist").mkdir()
    stale = tmp_path / "mnist" / MNIST_FILES["train_images"].name
    stale.write_bytes(b"an old or partial copy")
    with pytest.raises(
        MNISTError, match=r"failed its SHA-256 check .* downloaded again, and that failed"
    ):
        load_mnist(full=True, cache_dir=tmp_path, base_url=f"http://127.0.0.1:{_closed_port()}", verbose=False)


def test_offline_shows_one_message_not_a_chain_of_tracebacks(no_local_folder, tmp_path) -> None:
    with pytest.raises(MNISTError, match="Could not download") as caught:
        load_mnist(full=True, cache_dir=tmp_path, base_url=f"http://127.0.0.1:{_closed_port()}", verbose=False)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "failed its SHA-256" not in str(caught.value)
