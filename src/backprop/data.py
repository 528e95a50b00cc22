"""Data sets for the course: MNIST, read from its original IDX files, and small toy sets.

MNIST comes as four gzip-compressed IDX files. ``load_mnist`` either reads them from a folder you
name (``BACKPROP_MNIST_DIR``, used offline and in CI) or downloads them once into a per-user cache,
checking each file's SHA-256 so that a corrupt or half-finished download is never trusted.

The IDX format is tiny: a 4-byte *magic number* whose last byte is the number of dimensions, one
4-byte big-endian size per dimension, then the raw ``uint8`` values. Reading it by hand takes a
dozen lines and shows exactly what the arrays the chapters use are made of.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

MNIST_DIR_VARIABLE = "BACKPROP_MNIST_DIR"
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (count, rows, columns)
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (count)


class MNISTError(RuntimeError):
    """MNIST could not be read or downloaded; the message names the file and the fix."""


@dataclass(frozen=True)
class MnistFile:
    """One of the four canonical MNIST files, with the size and SHA-256 of the original."""

    name: str
    size: int
    sha256: str
    magic: int


MNIST_FILES = {
    "train_images": MnistFile(
        "train-images-idx3-ubyte.gz",
        9_912_422,
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        IMAGES_MAGIC,
    ),
    "train_labels": MnistFile(
        "train-labels-idx1-ubyte.gz",
        28_881,
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        LABELS_MAGIC,
    ),
    "test_images": MnistFile(
        "t10k-images-idx3-ubyte.gz",
        1_648_877,
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        IMAGES_MAGIC,
    ),
    "test_labels": MnistFile(
        "t10k-labels-idx1-ubyte.gz",
        4_542,
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        LABELS_MAGIC,
    ),
}

# What to do about a broken file depends on where it came from: a folder is read as it is (nothing
# is downloaded), while a cached file is downloaded again once deleted.
_HOW_TO_FIX = (
    "Replace it with the original MNIST file, or unset "
    f"{MNIST_DIR_VARIABLE} (and pass no data_dir) to download MNIST into the cache instead."
)
_HOW_TO_FIX_CACHED = (
    f"Delete the file so it is downloaded again, or set {MNIST_DIR_VARIABLE} to a folder that "
    "holds the four original MNIST .gz files."
)


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    base_url: str = MNIST_URL,
    verbose: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return MNIST as ``(x_train, y_train, x_test, y_test)``.

    Images are float32 in [0, 1] with shape (N, 784), one row per 28x28 image; labels are int64
    digits 0-9 with shape (N,).

    Where the files come from, in order:

    1. ``data_dir``, or else the folder named by the environment variable ``BACKPROP_MNIST_DIR``:
       the four files are read as they are (a folder may hold a subset of MNIST, so no checksum),
       and the number of examples found is printed, because it need not be 60,000.
    2. Otherwise a per-user cache (``cache_dir``, default ``~/.cache/backprop`` or your OS's
       equivalent), downloading from ``base_url`` any file that is missing or whose SHA-256 does
       not match the original. A download that fails half-way leaves nothing in the cache.
    """
    paths = mnist_files(data_dir, cache_dir=cache_dir, base_url=base_url, progressbar=verbose)
    fix = _HOW_TO_FIX if _folder_given(data_dir) else _HOW_TO_FIX_CACHED
    x_train, y_train = _read_pair(paths["train_images"], paths["train_labels"], fix)
    x_test, y_test = _read_pair(paths["test_images"], paths["test_labels"], fix)
    if verbose:
        folder = paths["train_images"].parent
        print(f"MNIST from {folder}: {len(x_train):,} training and {len(x_test):,} test images.")
    return x_train, y_train, x_test, y_test


def mnist_files(
    data_dir: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    base_url: str = MNIST_URL,
    progressbar: bool = True,
) -> dict[str, Path]:
    """Paths of the four MNIST files (keys ``train_images``, ``train_labels``, ``test_images``,
    ``test_labels``), found the way ``load_mnist`` finds them: in ``data_dir`` or
    ``BACKPROP_MNIST_DIR`` if set, else in the cache, downloaded and verified if needed."""
    _check_path_argument("data_dir", data_dir)
    _check_path_argument("cache_dir", cache_dir)
    if _folder_given(data_dir):
        folder = data_dir if data_dir is not None else os.environ[MNIST_DIR_VARIABLE]
        return _files_in_folder(Path(folder).expanduser())
    return _download_all(cache_dir, base_url, progressbar)


def _folder_given(data_dir: str | os.PathLike | None) -> bool:
    """True when MNIST is read from a folder (``data_dir`` or the variable), not the cache."""
    return data_dir is not None or bool(os.environ.get(MNIST_DIR_VARIABLE))


def _check_path_argument(name: str, value: object) -> None:
    """A folder argument must be a path; ``load_mnist(123)`` should not fail inside pathlib."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a folder path (a str or pathlib.Path), got "
            f"{type(value).__name__} {value!r}"
        )


def _files_in_folder(folder: Path) -> dict[str, Path]:
    """Map each MNIST part to its file in ``folder``, or explain which file is missing."""
    if not folder.is_dir():
        raise MNISTError(
            f"MNIST folder {folder} does not exist (it was given as data_dir or as "
            f"{MNIST_DIR_VARIABLE}). Point it at a folder holding the four MNIST .gz files, "
            f"or unset {MNIST_DIR_VARIABLE} to download MNIST into the cache."
        )
    paths = {part: folder / spec.name for part, spec in MNIST_FILES.items()}
    for path in paths.values():
        if not path.is_file():
            expected = ", ".join(spec.name for spec in MNIST_FILES.values())
            raise MNISTError(
                f"MNIST file {path} is missing. The folder must hold all four files: {expected}."
            )
    return paths


def _download_all(
    cache_dir: str | os.PathLike | None, base_url: str, progressbar: bool
) -> dict[str, Path]:
    """Download (or find in the cache) each MNIST file, verified by its SHA-256."""
    import pooch  # imported here: reading a local folder must not need it

    address = urlparse(str(base_url))
    if address.scheme not in ("http", "https", "ftp") or not address.netloc:
        raise MNISTError(
            f"base_url {base_url!r} is not a download address: it must look like "
            f"https://host/path/ (the default is {MNIST_URL!r})."
        )
    root = Path(pooch.os_cache("backprop")) if cache_dir is None else Path(cache_dir).expanduser()
    folder = _writable_cache(root / "mnist")
    paths = {}
    for part, spec in MNIST_FILES.items():
        url = base_url.rstrip("/") + "/" + spec.name
        cached = folder / spec.name
        stale = cached.is_file() and pooch.file_hash(str(cached)) != spec.sha256
        try:
            found = pooch.retrieve(
                url, known_hash=f"sha256:{spec.sha256}", fname=spec.name, path=folder,
                progressbar=progressbar,
            )
        except ValueError as error:
            if "hash" not in str(error):
                raise MNISTError(f"Could not download {spec.name} from {url}: {error}") from None
            # pooch's checksum mismatch; it already deleted the file
            raise MNISTError(
                f"Downloaded {spec.name} from {url}, but its SHA-256 does not match the "
                "original MNIST file, so it was discarded. Try again later or from another "
                f"mirror (base_url=...), or set {MNIST_DIR_VARIABLE} to a folder holding the "
                "four files."
            ) from None
        except Exception as error:  # network failures: requests raises many kinds
            why = (
                f"The cached {cached} failed its SHA-256 check (it is not the original file), "
                "so it had to be downloaded again, and that failed: "
                if stale else ""
            )
            raise MNISTError(
                f"{why}Could not download {spec.name} from {url}: {error}. Check your internet "
                f"connection, or download the four MNIST files yourself and set "
                f"{MNIST_DIR_VARIABLE} to their folder. Nothing partial was kept in the cache."
            ) from None  # one clear message, not the network library's chain of tracebacks
        paths[part] = Path(found)
    return paths


def _writable_cache(folder: Path) -> Path:
    """Create the cache folder, or say why it cannot be used (before any download is tried)."""
    fix = (
        f"Pass cache_dir= a folder you can write to, or set {MNIST_DIR_VARIABLE} to a folder "
        "holding the four MNIST files."
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise MNISTError(
            f"The MNIST cache {folder} cannot be a folder: part of that path is a file. {fix}"
        ) from None
    except PermissionError:
        raise MNISTError(
            f"The MNIST cache {folder} cannot be created: permission denied. {fix}"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MNISTError(f"The MNIST cache {folder} is read-only. {fix}")
    return folder


def _read_pair(
    images_path: Path, labels_path: Path, fix: str = _HOW_TO_FIX
) -> tuple[np.ndarray, np.ndarray]:
    """Read matching image and label files into (float32 images, int64 labels); ``fix`` says
    what to do about a broken file, which depends on where it came from."""
    images = read_idx(images_path, IMAGES_MAGIC, fix=fix)
    labels = read_idx(labels_path, LABELS_MAGIC, fix=fix)
    if images.shape[1:] != (28, 28):
        raise MNISTError(
            f"{images_path} holds images of shape {images.shape[1:]}, not (28, 28). {fix}"
        )
    if len(images) != len(labels):
        raise MNISTError(
            f"{images_path} holds {len(images):,} images but {labels_path} holds "
            f"{len(labels):,} labels; they must come from the same set. {fix}"
        )
    if labels.size and labels.max() > 9:
        raise MNISTError(f"{labels_path} holds a label {labels.max()}, not a digit. {fix}")
    x = images.reshape(len(images), 28 * 28).astype(np.float32) / np.float32(255.0)
    return x, labels.astype(np.int64)


def read_idx(path: str | os.PathLike, expected_magic: int, *, fix: str = _HOW_TO_FIX) -> np.ndarray:
    """Read one gzip-compressed IDX file into a ``uint8`` array, checking every size it claims.

    ``fix`` ends every error message: what to do about a broken file.
    """
    path = Path(path)
    raw = _gunzip(path, fix)
    if len(raw) < 4:
        raise MNISTError(f"{path} is too short to be an IDX file. {fix}")
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != expected_magic:
        kind = "images" if expected_magic == IMAGES_MAGIC else "labels"
        raise MNISTError(
            f"{path} has IDX magic number {magic}, but MNIST {kind} files start with "
            f"{expected_magic}: it is not the file its name says. {fix}"
        )
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise MNISTError(f"{path} ends inside its header: it is truncated. {fix}")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected_size = header_size + int(np.prod(shape))
    if len(raw) != expected_size:
        problem = "truncated" if len(raw) < expected_size else "longer than its header says"
        raise MNISTError(
            f"{path} is {problem}: its header promises {shape} values "
            f"({expected_size:,} bytes in all) but it holds {len(raw):,} bytes. {fix}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def _gunzip(path: Path, fix: str = _HOW_TO_FIX) -> bytes:
    """Decompress a whole gzip file, turning every way it can be broken into one clear error."""
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read()
    except FileNotFoundError:
        raise MNISTError(f"MNIST file {path} is missing. {fix}") from None
    except (PermissionError, IsADirectoryError) as error:  # the file is fine; we cannot read it
        raise MNISTError(
            f"MNIST file {path} cannot be read ({error.strerror}): make it a file you may read, "
            f"e.g. chmod u+r {path}"
        ) from None
    except (EOFError, OSError, zlib.error) as error:  # BadGzipFile is an OSError
        raise MNISTError(
            f"{path} is not a complete gzip file ({error}); it is truncated or corrupt. "
            f"{fix}"
        ) from error


# --- toy data sets -----------------------------------------------------------------------------
# Small, seeded regression problems for the ManualGrad chapter: cheap enough to train in a second,
# with a known answer, so a network that fails to learn them is the network's fault. Each returns
# inputs shaped (n, features) and targets shaped (n, 1): batch first, like MNIST, and the target
# keeps its feature axis so MSELoss never broadcasts (n,) against (n, 1).


def quadratic_1d(
    n: int, seed: int, noise: float = 0.1, low: float = -2.0, high: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """A noisy parabola: x ~ U(low, high) and y = x² + noise · N(0, 1), as float64 arrays
    ``(x, y)`` of shape (n, 1) each.

    The simplest curve a straight line cannot fit: a network needs a hidden layer to bend it.
    ``noise`` (the standard deviation of the added Gaussian noise) keeps the fit honest, since
    no model can get below a mean squared error of about ``noise**2``.
    """
    _check_count(n)
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=(n, 1))
    y = x**2 + noise * rng.normal(size=(n, 1))
    return x, y


def paraboloid(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """z = 5a² + 3b² with a, b ~ N(0, 1): returns ``(inputs, z)`` as float64 arrays of shape
    (n, 2) (columns a and b) and (n, 1).

    No noise: the target is an exact function of the inputs, so the best possible error is 0.
    Its statistics are known in closed form, E[z] = 5 + 3 = 8 and
    Var[z] = 25 Var[a²] + 9 Var[b²] = 2 (25 + 9) = 68 (Var[a²] = E[a⁴] - 1 = 2), which is the
    error of the best constant prediction: a network whose loss sits at 68 has learned nothing
    but the mean.
    """
    _check_count(n)
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(n, 2))
    z = 5.0 * inputs[:, :1] ** 2 + 3.0 * inputs[:, 1:] ** 2
    return inputs, z


def _check_count(n: int) -> None:
    """A toy set needs at least one example; a float or negative count is a mistake."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"the number of examples n must be a positive integer, got {n!r}")
