"""The MNIST loader: the offline folder, every kind of bad input, and the download path.

Downloads are tested against a small HTTP server on 127.0.0.1 started by the test itself; no
internet is involved. The two test-set files of the offline folder are byte-identical to the
canonical MNIST files, so the server can serve real files with their real SHA-256 sums.
"""

from __future__ import annotations

import gzip
import http.server
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from backprop import data
from backprop.data import MNIST_FILES, MNISTError, MnistFile, load_mnist, mnist_files, read_idx

REPO = Path(__file__).resolve().parents[1]
OFFLINE = data.COURSE_MNIST_DIR  # the course's MNIST, shipped with the library
needs_offline = pytest.mark.skipif(
    not OFFLINE.is_dir(), reason=f"the library's MNIST folder {OFFLINE} is missing"
)


def write_idx(path: Path, values: np.ndarray, magic: int) -> Path:
    """Write ``values`` as a gzip-compressed IDX file with the given magic number."""
    header = struct.pack(">I", magic) + struct.pack(f">{values.ndim}I", *values.shape)
    path.write_bytes(gzip.compress(header + values.astype(np.uint8).tobytes()))
    return path


def write_folder(folder: Path, n_train: int = 6, n_test: int = 4) -> Path:
    """A tiny but valid MNIST folder: random images, labels cycling through the digits."""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28))
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images, data.IMAGES_MAGIC)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10, data.LABELS_MAGIC)
    return folder


# --- a valid folder --------------------------------------------------------------------------


def test_small_folder_reads_with_documented_types(tmp_path, capsys):
    x_train, y_train, x_test, y_test = load_mnist(write_folder(tmp_path))
    assert x_train.shape == (6, 784) and x_test.shape == (4, 784)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert list(y_test) == [0, 1, 2, 3]
    assert "6 training and 4 test images" in capsys.readouterr().out


def test_environment_variable_names_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_MNIST_DIR", str(write_folder(tmp_path, n_train=3)))
    x_train, *_ = load_mnist(verbose=False)
    assert len(x_train) == 3


def test_pixels_scale_exactly_to_unit_interval(tmp_path):
    write_folder(tmp_path)
    images = np.zeros((6, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[1, 5, 5] = 255, 51
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, data.IMAGES_MAGIC)
    x_train, *_ = load_mnist(tmp_path, verbose=False)
    assert x_train[0, 0] == 1.0 and x_train[1, 5 * 28 + 5] == pytest.approx(0.2)


# --- bad input: each names the file and the fix ----------------------------------------------


def test_missing_folder(tmp_path):
    with pytest.raises(MNISTError, match="does not exist.*BACKPROP_MNIST_DIR"):
        load_mnist(tmp_path / "nowhere")


def test_missing_file(tmp_path):
    (write_folder(tmp_path) / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MNISTError, match="t10k-labels-idx1-ubyte.gz is missing"):
        load_mnist(tmp_path)


def test_wrong_magic_number(tmp_path):
    write_folder(tmp_path)
    labels_as_images = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(labels_as_images, np.zeros(6), data.LABELS_MAGIC)
    with pytest.raises(MNISTError, match=r"train-images-idx3-ubyte.gz has IDX magic number 2049"):
        load_mnist(tmp_path)


def test_truncated_gzip(tmp_path):
    path = write_folder(tmp_path) / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(MNISTError, match="train-images-idx3-ubyte.gz is not a complete gzip"):
        load_mnist(tmp_path)


def test_not_gzip_at_all(tmp_path):
    path = write_folder(tmp_path) / "t10k-images-idx3-ubyte.gz"
    path.write_text("<html>404 Not Found</html>")
    with pytest.raises(MNISTError, match="t10k-images-idx3-ubyte.gz is not a complete gzip"):
        load_mnist(tmp_path)


def test_truncated_payload(tmp_path):
    write_folder(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = struct.pack(">IIII", data.IMAGES_MAGIC, 6, 28, 28)
    path.write_bytes(gzip.compress(header + bytes(5 * 28 * 28)))  # one image short
    with pytest.raises(MNISTError, match="train-images-idx3-ubyte.gz is truncated"):
        load_mnist(tmp_path)


def test_truncated_header(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(struct.pack(">I", data.LABELS_MAGIC)))
    with pytest.raises(MNISTError, match="labels.gz ends inside its header"):
        read_idx(path, data.LABELS_MAGIC)


def test_count_mismatch_between_images_and_labels(tmp_path):
    write_folder(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(5), data.LABELS_MAGIC)
    with pytest.raises(MNISTError, match=r"6 images but .*train-labels-idx1-ubyte.gz holds 5"):
        load_mnist(tmp_path)


def test_label_that_is_not_a_digit(tmp_path):
    write_folder(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 42]), data.LABELS_MAGIC)
    with pytest.raises(MNISTError, match="t10k-labels-idx1-ubyte.gz holds a label 42"):
        load_mnist(tmp_path)


# --- the offline copy CI uses ------------------------------------------------------------------


@needs_offline
def test_offline_folder_shapes_types_and_balance():
    x_train, y_train, x_test, y_test = load_mnist(OFFLINE, verbose=False)
    assert x_train.shape == (5000, 784) and x_test.shape == (10000, 784)
    for x in (x_train, x_test):
        assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    for y in (y_train, y_test):
        assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
    assert np.bincount(y_train).tolist() == [500] * 10


@needs_offline
def test_offline_test_set_is_the_canonical_file():
    paths = mnist_files(OFFLINE)
    for part in ("test_images", "test_labels"):
        assert _sha256(paths[part]) == MNIST_FILES[part].sha256


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- downloads, against a local server ---------------------------------------------------------


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves files from ``self.server.files``; ``/corrupt/`` flips bytes, ``/drop/`` hangs up
    half-way through the body after promising all of it."""

    def do_GET(self):  # noqa: N802 (the name http.server expects)
        mode, _, name = self.path.strip("/").partition("/")
        body = self.server.files.get(name)
        self.server.requests.append(self.path)
        if body is None:
            self.send_error(404)
            return
        if mode == "corrupt":
            body = bytes(b ^ 0xFF for b in body[:64]) + body[64:]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if mode == "drop" else body)
        if mode == "drop":
            self.wfile.flush()
            self.close_connection = True

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def no_local_folder(monkeypatch):
    """Downloads happen only when BACKPROP_MNIST_DIR is unset (CI sets it)."""
    monkeypatch.delenv("BACKPROP_MNIST_DIR", raising=False)


def _serve(folder):
    """A local HTTP server holding the .gz files of ``folder``: yields (server, its address)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MirrorHandler)
    server.files = {p.name: p.read_bytes() for p in folder.glob("*.gz")}
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def mirror(no_local_folder):
    """A local HTTP server holding the canonical test-set files (and the offline train files)."""
    if not OFFLINE.is_dir():
        pytest.skip(f"offline MNIST folder {OFFLINE} not found")
    yield from _serve(OFFLINE)


@pytest.fixture
def offline_train_hashes(monkeypatch):
    """Make the loader expect the offline folder's 5,000-image training files, so a whole
    download can be tested end to end (the test-set files keep their canonical hashes)."""
    sums = dict(line.split()[::-1] for line in (OFFLINE / "SHA256SUMS").read_text().splitlines())
    for part in ("train_images", "train_labels"):
        spec = MNIST_FILES[part]
        fake = MnistFile(spec.name, 0, sums[spec.name], spec.magic)
        monkeypatch.setitem(MNIST_FILES, part, fake)


def cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*") if p.is_file())


def test_download_good_files_verifies_and_caches(mirror, offline_train_hashes, tmp_path):
    server, url = mirror
    x_train, y_train, x_test, y_test = load_mnist(full=True, cache_dir=tmp_path, base_url=url + "/good",
                                                  verbose=False)
    assert x_train.shape == (5000, 784) and x_test.shape == (10000, 784)
    assert cache_files(tmp_path) == sorted(spec.name for spec in MNIST_FILES.values())
    served = len(server.requests)
    load_mnist(full=True, cache_dir=tmp_path, base_url=url + "/good", verbose=False)
    assert len(server.requests) == served, "a verified cached file must not be downloaded again"


def test_download_corrupt_file_is_rejected_and_discarded(mirror, offline_train_hashes, tmp_path):
    _, url = mirror
    with pytest.raises(MNISTError, match="train-images-idx3-ubyte.gz .*SHA-256 does not match"):
        load_mnist(full=True, cache_dir=tmp_path, base_url=url + "/corrupt", verbose=False)
    assert cache_files(tmp_path) == []


def test_download_dropped_half_way_leaves_nothing(mirror, offline_train_hashes, tmp_path):
    _, url = mirror
    with pytest.raises(MNISTError, match="train-images-idx3-ubyte.gz"):
        load_mnist(full=True, cache_dir=tmp_path, base_url=url + "/drop", verbose=False)
    assert cache_files(tmp_path) == []


def test_corrupt_cached_file_is_downloaded_again(mirror, offline_train_hashes, tmp_path):
    _, url = mirror
    load_mnist(full=True, cache_dir=tmp_path, base_url=url + "/good", verbose=False)
    cached = next(tmp_path.rglob("t10k-labels-idx1-ubyte.gz"))
    cached.write_bytes(b"garbage")
    *_, y_test = load_mnist(full=True, cache_dir=tmp_path, base_url=url + "/good", verbose=False)
    assert len(y_test) == 10000 and _sha256(cached) == MNIST_FILES["test_labels"].sha256


def test_download_when_offline_says_what_to_do(no_local_folder, tmp_path):
    closed = _closed_port()
    with pytest.raises(MNISTError, match="Could not download train-images.*BACKPROP_MNIST_DIR"):
        load_mnist(full=True, cache_dir=tmp_path, base_url=f"http://127.0.0.1:{closed}", verbose=False)
    assert cache_files(tmp_path) == [] and list(tmp_path.iterdir()) == [], "not even a folder"


def _closed_port() -> int:
    """A loopback port with nothing listening on it."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- Fashion-MNIST: the same two paths, its own variable, MD5 sums ------------------------------
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def no_fashion_folder(monkeypatch):
    """No variable and no Debian package: Fashion-MNIST has to be downloaded."""
    monkeypatch.delenv("BACKPROP_FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", Path("/nonexistent/fashion-mnist"))


def test_fashion_folder_from_argument_and_variable(tmp_path, monkeypatch, capsys):
    folder = write_folder(tmp_path, n_train=7, n_test=3)
    x_train, y_train, x_test, _ = data.load_fashion_mnist(folder)
    assert x_train.shape == (7, 784) and x_test.shape == (3, 784) and y_train.dtype == np.int64
    assert "Fashion-MNIST from" in capsys.readouterr().out
    monkeypatch.setenv("BACKPROP_FASHION_MNIST_DIR", str(folder))
    monkeypatch.setenv("BACKPROP_MNIST_DIR", str(tmp_path / "not-this-one"))
    assert len(data.load_fashion_mnist(verbose=False)[0]) == 7


def test_fashion_missing_folder_names_its_variable_and_the_debian_package(tmp_path):
    with pytest.raises(MNISTError, match="Fashion-MNIST folder .* BACKPROP_FASHION_MNIST_DIR.*"
                                         "dataset-fashion-mnist"):
        data.load_fashion_mnist(tmp_path / "nowhere")


def test_fashion_broken_folder_file_says_what_to_do(tmp_path):
    write_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01"))
    with pytest.raises(MNISTError, match="t10k-labels.*original Fashion-MNIST file"):
        data.load_fashion_mnist(tmp_path, verbose=False)


def test_fashion_checksums_are_the_published_md5_sums():
    sums = {spec.name: spec.known_hash for spec in data.FASHION_MNIST_FILES.values()}
    assert sums == {
        "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
    }
    assert MNIST_FILES["train_images"].known_hash.startswith("sha256:")


@pytest.fixture
def fashion_mirror(no_fashion_folder, tmp_path, monkeypatch):
    """A local HTTP server with a tiny synthetic Fashion-MNIST, whose MD5 sums the loader is told
    to expect (the real files are too big to serve in a unit test)."""
    import hashlib

    (tmp_path / "served").mkdir()
    source = write_folder(tmp_path / "served", n_train=5, n_test=2)
    for part, spec in data.FASHION_MNIST_FILES.items():
        md5 = hashlib.md5((source / spec.name).read_bytes()).hexdigest()
        monkeypatch.setitem(data.FASHION_MNIST_FILES, part, MnistFile(spec.name, 0, "", spec.magic,
                                                                      md5=md5))
    yield from _serve(source)


def test_fashion_download_is_verified_and_cached(fashion_mirror, tmp_path):
    server, url = fashion_mirror
    cache = tmp_path / "cache"
    x_train, *_ = data.load_fashion_mnist(cache_dir=cache, base_url=url + "/good", verbose=False)
    assert len(x_train) == 5
    assert cache_files(cache) == sorted(s.name for s in data.FASHION_MNIST_FILES.values())
    assert all(p.parent.name == "fashion-mnist" for p in cache.rglob("*.gz"))
    served = len(server.requests)
    data.load_fashion_mnist(cache_dir=cache, base_url=url + "/good", verbose=False)
    assert len(server.requests) == served


def test_fashion_corrupt_or_interrupted_download_leaves_nothing(fashion_mirror, tmp_path):
    _, url = fashion_mirror
    cache = tmp_path / "cache"
    with pytest.raises(MNISTError, match="train-images.*MD5 does not match the original Fashion"):
        data.load_fashion_mnist(cache_dir=cache, base_url=url + "/corrupt", verbose=False)
    assert cache_files(cache) == []
    with pytest.raises(MNISTError, match="train-images-idx3-ubyte.gz"):
        data.load_fashion_mnist(cache_dir=cache, base_url=url + "/drop", verbose=False)
    assert cache_files(cache) == []


def test_fashion_offline_download_names_its_variable(no_fashion_folder, tmp_path):
    with pytest.raises(MNISTError, match="Could not download.*BACKPROP_FASHION_MNIST_DIR.*"
                                         "apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist(cache_dir=tmp_path, base_url=f"http://127.0.0.1:{_closed_port()}",
                                verbose=False)
    assert cache_files(tmp_path) == []


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(),
                    reason="apt-get install dataset-fashion-mnist (.ci/run installs it)")
def test_debian_fashion_mnist_package_reads_as_a_folder():
    x_train, y_train, x_test, y_test = data.load_fashion_mnist(DEBIAN_FASHION, verbose=False)
    assert x_train.shape == (60_000, 784) and x_test.shape == (10_000, 784)
    assert x_train.dtype == np.float32 and 0.0 <= x_train.min() and x_train.max() == 1.0
    assert np.bincount(y_train).tolist() == [6_000] * 10
    assert np.bincount(y_test).tolist() == [1_000] * 10
    assert len(data.FASHION_MNIST_CLASSES) == 10


# --- the course's MNIST, shipped with the library ------------------------------------------------


@pytest.fixture
def no_mnist_variables(monkeypatch):
    monkeypatch.delenv("BACKPROP_MNIST_DIR", raising=False)
    monkeypatch.delenv("BACKPROP_MNIST", raising=False)


def test_the_course_copy_is_the_default_and_its_message_names_no_folder(no_mnist_variables,
                                                                        capsys):
    x_train, y_train, x_test, y_test = load_mnist()
    out = capsys.readouterr().out
    assert out.strip() == "MNIST, the course's copy: 5,000 training and 10,000 test images."
    assert x_train.shape == (5000, 784) and np.bincount(y_train).tolist() == [500] * 10
    assert data.is_course_mnist(x_train)


def test_the_course_copy_matches_its_recorded_sums():
    sums = dict(line.split()[::-1] for line in (OFFLINE / "SHA256SUMS").read_text().splitlines())
    assert sorted(sums) == sorted(spec.name for spec in MNIST_FILES.values())
    for name, digest in sums.items():
        assert _sha256(OFFLINE / name) == digest, name
    assert "CC BY-SA 3.0" in (OFFLINE / "README.md").read_text()


def test_a_folder_is_reported_without_its_path(tmp_path, capsys):
    load_mnist(write_folder(tmp_path))
    out = capsys.readouterr().out
    assert out.startswith("MNIST from your folder: 6 training")
    assert str(tmp_path) not in out and "/" not in out


def test_full_mnist_is_downloaded_when_asked_for(no_mnist_variables, monkeypatch, tmp_path):
    closed = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("BACKPROP_MNIST", "full")
    with pytest.raises(MNISTError, match="Could not download train-images"):
        load_mnist(cache_dir=tmp_path, base_url=closed, verbose=False)
    monkeypatch.setenv("BACKPROP_MNIST", "course")
    assert len(load_mnist(verbose=False)[0]) == 5000
    assert len(load_mnist(full=False, verbose=False)[0]) == 5000


def test_a_misspelt_size_variable_is_an_error_that_says_what_it_takes(no_mnist_variables,
                                                                      monkeypatch):
    monkeypatch.setenv("BACKPROP_MNIST", "all")
    with pytest.raises(MNISTError, match="BACKPROP_MNIST='all'.*'full'.*'course'"):
        load_mnist(verbose=False)


def test_course_only_checks_on_the_course_data_and_says_why_it_skips_elsewhere(capsys):
    assert data.course_only("a claim", np.zeros((5000, 784)))
    assert capsys.readouterr().out == ""
    assert not data.course_only("momentum wins by 10 points", np.zeros((60000, 784)))
    out = capsys.readouterr().out
    assert "Not checked on these 60,000 training images: momentum wins by 10 points" in out


def test_fashion_mnist_reads_debians_package_with_no_variable(no_fashion_folder, monkeypatch,
                                                              tmp_path, capsys):
    folder = write_folder(tmp_path, n_train=8, n_test=2)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", folder)
    assert len(data.load_fashion_mnist()[0]) == 8
    assert "Fashion-MNIST from Debian's package: 8 training" in capsys.readouterr().out


def test_download_options_without_full_are_an_error_not_ignored(no_mnist_variables, tmp_path):
    with pytest.raises(MNISTError, match="cache_dir and base_url .* Pass full=True"):
        load_mnist(cache_dir=tmp_path, verbose=False)
    with pytest.raises(MNISTError, match="downloads nothing"):
        load_mnist(base_url="http://127.0.0.1:9/", verbose=False)
