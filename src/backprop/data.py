"""Data sets for the course: MNIST and Fashion-MNIST, read from their IDX files, and toy sets.

MNIST comes as four gzip-compressed IDX files. The course's own MNIST, 5,000 training images
(500 per class) and the full 10,000-image test set, ships with this library
(``data_files/mnist-5k``), so ``load_mnist()`` needs no download and every machine trains on the
same images. ``load_mnist(full=True)`` (or ``BACKPROP_MNIST=full``) downloads all 60,000 training
images once into a per-user cache, checking each file's SHA-256 so that a corrupt or half-finished
download is never trusted; ``BACKPROP_MNIST_DIR`` names a folder of your own instead.
Fashion-MNIST (Zalando's 28x28 photos of clothes in ten classes, a harder drop-in replacement)
comes in the same four files; ``load_fashion_mnist`` reads them from ``BACKPROP_FASHION_MNIST_DIR``,
from Debian's ``dataset-fashion-mnist`` package, or downloads them once.

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
MNIST_SIZE_VARIABLE = "BACKPROP_MNIST"  # "full": all 60,000 training images; "course" (default)
COURSE_MNIST_DIR = Path(__file__).parent / "data_files" / "mnist-5k"
COURSE_TRAIN_SIZE = 5_000  # the course's training images: 500 of each digit
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FASHION_MNIST_DIR_VARIABLE = "BACKPROP_FASHION_MNIST_DIR"
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")  # dataset-fashion-mnist
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (count, rows, columns)
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (count)


class MNISTError(RuntimeError):
    """MNIST could not be read or downloaded; the message names the file and the fix."""


@dataclass(frozen=True)
class MnistFile:
    """One of the four canonical MNIST files, with the size and SHA-256 of the original (or, for
    Fashion-MNIST, whose authors publish MD5 sums, the MD5 and an empty ``sha256``)."""

    name: str
    size: int
    sha256: str
    magic: int
    md5: str = ""

    @property
    def known_hash(self) -> str:
        """The checksum a download must match, as pooch writes it: ``"sha256:..."``/``"md5:..."``."""
        return f"sha256:{self.sha256}" if self.sha256 else f"md5:{self.md5}"


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

# The published MD5 sums (the data set's README, also in Debian's dataset-fashion-mnist package).
# Debian's own copies are re-compressed, so they differ byte for byte: read them as a folder.
FASHION_MNIST_FILES = {
    "train_images": MnistFile(
        "train-images-idx3-ubyte.gz", 26_421_880, "", IMAGES_MAGIC,
        md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    "train_labels": MnistFile(
        "train-labels-idx1-ubyte.gz", 29_515, "", LABELS_MAGIC,
        md5="25c81989df183df01b3e8a0aad5dffbe",
    ),
    "test_images": MnistFile(
        "t10k-images-idx3-ubyte.gz", 4_422_102, "", IMAGES_MAGIC,
        md5="bef4ecab320f06d8554ea6380940ec79",
    ),
    "test_labels": MnistFile(
        "t10k-labels-idx1-ubyte.gz", 5_148, "", LABELS_MAGIC,
        md5="bb300cfdad3c16e7a12a480ee83cd310",
    ),
}


@dataclass(frozen=True)
class _DataSet:
    """Where one IDX data set comes from: its name in messages, folder variable, files, mirror."""

    title: str
    variable: str
    files: dict[str, MnistFile]
    url: str
    cache_name: str


_MNIST = _DataSet("MNIST", MNIST_DIR_VARIABLE, MNIST_FILES, MNIST_URL, "mnist")
_FASHION = _DataSet(
    "Fashion-MNIST", FASHION_MNIST_DIR_VARIABLE, FASHION_MNIST_FILES, FASHION_MNIST_URL,
    "fashion-mnist",
)


def _default_source(data: _DataSet) -> str:
    """What the loader does with no folder given."""
    if data is _MNIST:
        return "read the course's copy shipped with the library"
    return f"read Debian's package or download {data.title} into the cache"


def _how_to_fix(data: _DataSet, cached: bool) -> str:
    """What to do about a broken file: a folder is read as it is (nothing is downloaded), while
    a cached file is downloaded again once deleted."""
    if cached:
        return (
            f"Delete the file so it is downloaded again, or set {data.variable} to a folder that "
            f"holds the four original {data.title} .gz files."
        )
    instead = _default_source(data)
    return (
        f"Replace it with the original {data.title} file, or unset {data.variable} (and pass no "
        f"data_dir) to {instead} instead."
    )


_DEBIAN_HINT = (
    " Or, on Debian or Ubuntu, `sudo apt-get install dataset-fashion-mnist` puts them in "
    "/usr/share/datasets/fashion-mnist, where they are read with no variable set."
)
_COURSE_HINT = (
    " Or, offline, use the course's 5,000 training images, shipped with the library: unset "
    "BACKPROP_MNIST (or call load_mnist() without full=True)."
)
_HOW_TO_FIX = _how_to_fix(_MNIST, cached=False)
_HOW_TO_FIX_CACHED = _how_to_fix(_MNIST, cached=True)


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    full: bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    base_url: str = MNIST_URL,
    verbose: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return MNIST as ``(x_train, y_train, x_test, y_test)``.

    Images are float32 in [0, 1] with shape (N, 784), one row per 28x28 image; labels are int64
    digits 0-9 with shape (N,).

    Where the files come from, in order:

    1. ``data_dir``, or else the folder named by the environment variable ``BACKPROP_MNIST_DIR``:
       the four files are read as they are (a folder may hold a subset of MNIST, so no checksum).
    2. ``full=True``, or ``full=None`` with ``BACKPROP_MNIST=full`` in the environment: all
       60,000 training images, from a per-user cache (``cache_dir``, default
       ``~/.cache/backprop`` or your OS's equivalent), downloading from ``base_url`` any file that
       is missing or whose SHA-256 does not match the original. A download that fails half-way
       leaves nothing in the cache.
    3. Otherwise the course's MNIST, shipped with the library: 5,000 training images (500 per
       digit) and the 10,000 test images. No download, and the same images on every machine,
       so the book's numbers are the ones you get.

    With ``verbose`` it prints which of these it read and how many images it found (never a
    folder's path: notebooks' saved outputs must not carry one machine's folders).
    """
    if full is None:
        full = _full_mnist_requested()
    downloading = full and data_dir is None and not os.environ.get(MNIST_DIR_VARIABLE)
    if not downloading and (cache_dir is not None or base_url != MNIST_URL):
        raise MNISTError(
            "cache_dir and base_url say where to download MNIST from and keep it, but this call "
            "reads " + ("a folder" if not full or data_dir is not None else
                        f"the folder in {MNIST_DIR_VARIABLE}") + " and downloads nothing. Pass "
            "full=True (and no data_dir) to download all 60,000 training images."
        )
    return _load(_MNIST, data_dir, cache_dir, base_url, verbose, full=full)


def _full_mnist_requested() -> bool:
    """Read ``BACKPROP_MNIST``: ``full`` for all 60,000 images, ``course`` (or unset) for 5,000."""
    value = os.environ.get(MNIST_SIZE_VARIABLE, "").strip().lower()
    if value not in ("", "course", "full"):
        raise MNISTError(
            f"{MNIST_SIZE_VARIABLE}={value!r} is not understood: set it to 'full' (all 60,000 "
            "training images, downloaded once) or 'course' (the 5,000 shipped with the "
            "library), or unset it."
        )
    return value == "full"


def is_course_mnist(x_train: np.ndarray) -> bool:
    """True when ``x_train`` is the course's 5,000-image training set, on which the chapters'
    assertions about accuracies and margins were established."""
    return len(x_train) == COURSE_TRAIN_SIZE


def course_only(claim: str, x_train: np.ndarray) -> bool:
    """Whether to check a claim that holds for the course's MNIST but need not for other data.

    ``if course_only("momentum beats SGD by 10 points", x_train): assert ...`` checks the claim on
    the course's 5,000 images; on any other training set it prints that the check is skipped and
    why, so a chapter rerun on all 60,000 images still runs to its end.
    """
    if is_course_mnist(x_train):
        return True
    print(f"Not checked on these {len(x_train):,} training images: {claim} (a claim measured "
          f"on the course's {COURSE_TRAIN_SIZE:,}).")
    return False


def load_fashion_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    base_url: str = FASHION_MNIST_URL,
    verbose: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return Fashion-MNIST as ``(x_train, y_train, x_test, y_test)``, exactly like ``load_mnist``.

    60,000 training and 10,000 test images of clothes, float32 in [0, 1], shape (N, 784); labels
    int64 0-9: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle
    boot (``FASHION_MNIST_CLASSES``). Where the files come from, in order:

    1. ``data_dir``, or else the folder named by ``BACKPROP_FASHION_MNIST_DIR``, read as it is,
       without a checksum.
    2. Debian's ``dataset-fashion-mnist`` package, if installed: it puts the four files in
       ``/usr/share/datasets/fashion-mnist``, re-compressed, so their bytes (not their
       contents) differ from the originals.
    3. Otherwise the per-user cache, downloading any missing file (about 30 MB) from
       ``base_url`` and checking it against the published MD5 sum. pooch writes each download
       to a temporary file and renames it only once complete and verified, so an interrupted
       download leaves no file.
    """
    if data_dir is None and not os.environ.get(_FASHION.variable) \
            and DEBIAN_FASHION_MNIST_DIR.is_dir():
        data_dir = DEBIAN_FASHION_MNIST_DIR
    return _load(_FASHION, data_dir, cache_dir, base_url, verbose)


FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


def _load(
    data: _DataSet,
    data_dir: str | os.PathLike | None,
    cache_dir: str | os.PathLike | None,
    base_url: str,
    verbose: bool,
    full: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``load_mnist`` and ``load_fashion_mnist``: find the four files, read and check them."""
    paths, source = _find_files(data, data_dir, cache_dir, base_url, verbose, full)
    fix = _how_to_fix(data, cached=source == "downloaded")
    x_train, y_train = _read_pair(paths["train_images"], paths["train_labels"], fix)
    x_test, y_test = _read_pair(paths["test_images"], paths["test_labels"], fix)
    if verbose:
        where = {  # short: the line is printed in the book, whose column holds 88 characters
            "course": ", the course's copy",
            "downloaded": ", downloaded once",
            "debian": " from Debian's package",
            "folder": " from your folder",
        }[source]
        print(f"{data.title}{where}: {len(x_train):,} training and {len(x_test):,} test images.")
    return x_train, y_train, x_test, y_test


def mnist_files(
    data_dir: str | os.PathLike | None = None,
    *,
    full: bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    base_url: str = MNIST_URL,
    progressbar: bool = True,
) -> dict[str, Path]:
    """Paths of the four MNIST files (keys ``train_images``, ``train_labels``, ``test_images``,
    ``test_labels``), found the way ``load_mnist`` finds them."""
    if full is None:
        full = _full_mnist_requested()
    return _find_files(_MNIST, data_dir, cache_dir, base_url, progressbar, full)[0]


def _find_files(
    data: _DataSet,
    data_dir: str | os.PathLike | None,
    cache_dir: str | os.PathLike | None,
    base_url: str,
    progressbar: bool,
    full: bool = True,
) -> tuple[dict[str, Path], str]:
    """The four files of ``data``, and where they came from: ``"folder"``, ``"debian"``,
    ``"course"`` (the copy shipped with the library) or ``"downloaded"`` (the cache)."""
    _check_path_argument("data_dir", data_dir)
    _check_path_argument("cache_dir", cache_dir)
    if data_dir is not None or os.environ.get(data.variable):
        folder = Path(data_dir if data_dir is not None else os.environ[data.variable])
        source = "debian" if folder == DEBIAN_FASHION_MNIST_DIR else "folder"
        return _files_in_folder(folder.expanduser(), data), source
    if data is _MNIST and not full:
        return _files_in_folder(COURSE_MNIST_DIR, data), "course"
    return _download_all(cache_dir, base_url, progressbar, data), "downloaded"


def _check_path_argument(name: str, value: object) -> None:
    """A folder argument must be a path; ``load_mnist(123)`` should not fail inside pathlib."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a folder path (a str or pathlib.Path), got "
            f"{type(value).__name__} {value!r}"
        )


def _files_in_folder(folder: Path, data: _DataSet = _MNIST) -> dict[str, Path]:
    """Map each part to its file in ``folder``, or explain which file is missing."""
    title, variable = data.title, data.variable
    if not folder.is_dir():
        hint = _DEBIAN_HINT if data is _FASHION else ""
        raise MNISTError(
            f"{title} folder {folder} does not exist (it was given as data_dir or as "
            f"{variable}). Point it at a folder holding the four {title} .gz files, "
            f"or unset {variable} to {_default_source(data)}.{hint}"
        )
    paths = {part: folder / spec.name for part, spec in data.files.items()}
    for path in paths.values():
        if not path.is_file():
            expected = ", ".join(spec.name for spec in data.files.values())
            raise MNISTError(
                f"{title} file {path} is missing. The folder must hold all four files: {expected}."
            )
    return paths


def _download_all(
    cache_dir: str | os.PathLike | None, base_url: str, progressbar: bool,
    data: _DataSet = _MNIST,
) -> dict[str, Path]:
    """Download (or find in the cache) each file, verified by its SHA-256 (MD5 for Fashion)."""
    import pooch  # imported here: reading a local folder must not need it

    title, variable = data.title, data.variable
    address = urlparse(str(base_url))
    if address.scheme not in ("http", "https", "ftp") or not address.netloc:
        raise MNISTError(
            f"base_url {base_url!r} is not a download address: it must look like "
            f"https://host/path/ (the default is {data.url!r})."
        )
    root = Path(pooch.os_cache("backprop")) if cache_dir is None else Path(cache_dir).expanduser()
    folder = _writable_cache(root / data.cache_name, data)
    logger, level = pooch.get_logger(), pooch.get_logger().level
    logger.setLevel("WARNING")  # pooch's own messages name the cache's folder: ours do not
    try:
        return _download_each(data, folder, base_url, progressbar)
    finally:
        logger.setLevel(level)
        ours = (folder, folder.parent) if cache_dir is None else (folder,)  # not the caller's
        for empty in ours:  # a failed first download leaves no folder behind
            if empty.is_dir() and not any(empty.iterdir()):
                empty.rmdir()


def _download_each(
    data: _DataSet, folder: Path, base_url: str, progressbar: bool
) -> dict[str, Path]:
    """``_download_all``'s loop: each file from the cache if it is there and intact, else
    downloaded, verified and kept."""
    import pooch

    title, variable = data.title, data.variable
    paths = {}
    for part, spec in data.files.items():
        url = base_url.rstrip("/") + "/" + spec.name
        cached = folder / spec.name
        algorithm, expected = spec.known_hash.split(":")
        checksum = algorithm.upper().replace("SHA", "SHA-")
        stale = cached.is_file() and pooch.file_hash(str(cached), algorithm) != expected
        if progressbar and (stale or not cached.is_file()):
            print(f"Downloading {spec.name} of {title} ({spec.size / 1e6:.1f} MB) once into the "
                  "per-user cache.")
        try:
            # pooch downloads into a temporary file beside the cache and renames it only once
            # it is complete and its checksum matches: an interrupted download leaves nothing.
            found = pooch.retrieve(
                url, known_hash=spec.known_hash, fname=spec.name, path=folder,
                progressbar=progressbar,
            )
        except ValueError as error:
            if "hash" not in str(error):
                raise MNISTError(f"Could not download {spec.name} from {url}: {error}") from None
            # pooch's checksum mismatch; it already deleted the file
            raise MNISTError(
                f"Downloaded {spec.name} from {url}, but its {checksum} does not match the "
                f"original {title} file, so it was discarded. Try again later or from another "
                f"mirror (base_url=...), or set {variable} to a folder holding the "
                "four files."
            ) from None
        except Exception as error:  # network failures: requests raises many kinds
            why = (
                f"The cached {cached} failed its {checksum} check (it is not the original "
                "file), so it had to be downloaded again, and that failed: "
                if stale else ""
            )
            raise MNISTError(
                f"{why}Could not download {spec.name} from {url}: {error}. Check your internet "
                f"connection, or download the four {title} files yourself and set "
                f"{variable} to their folder.{_DEBIAN_HINT if data is _FASHION else _COURSE_HINT} "
                "Nothing partial was kept in the cache."
            ) from None  # one clear message, not the network library's chain of tracebacks
        paths[part] = Path(found)
    return paths


def _writable_cache(folder: Path, data: _DataSet = _MNIST) -> Path:
    """Create the cache folder, or say why it cannot be used (before any download is tried)."""
    title = data.title
    fix = (
        f"Pass cache_dir= a folder you can write to, or set {data.variable} to a folder "
        f"holding the four {title} files."
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise MNISTError(
            f"The {title} cache {folder} cannot be a folder: part of that path is a file. {fix}"
        ) from None
    except PermissionError:
        raise MNISTError(
            f"The {title} cache {folder} cannot be created: permission denied. {fix}"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MNISTError(f"The {title} cache {folder} is read-only. {fix}")
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


def read_idx(
    path: str | os.PathLike, expected_magic: int, *, fix: str = _HOW_TO_FIX
) -> np.ndarray:
    """Read one gzip-compressed IDX file into a ``uint8`` array, checking every size
    it claims.

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
            f"{path} has IDX magic number {magic}, but MNIST {kind} files start "
            f"with {expected_magic}: it is not the file its name says. {fix}"
        )
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise MNISTError(f"{path} ends inside its header: it is truncated. {fix}")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected_size = header_size + int(np.prod(shape))
    if len(raw) != expected_size:
        short = len(raw) < expected_size
        problem = "truncated" if short else "longer than its header says"
        raise MNISTError(
            f"{path} is {problem}: its header promises {shape} values "
            f"({expected_size:,} bytes in all) but it holds {len(raw):,} bytes. "
            f"{fix}"
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
