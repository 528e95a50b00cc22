"""Meet the data: turn the raw bytes into the arrays every later chapter trains on.

Three small functions every training script has: scaling raw ``uint8`` images into a
``float32`` matrix with one row per image, turning labels into one-hot target rows, and
standardising each pixel with statistics measured on the training split only.
"""

from __future__ import annotations

import re

from collections.abc import Callable
from typing import Any

import numpy as np

from backprop.exercises._core import (Case, CheckResult, Mistake, Row, returned, run_cases,
                                      run_check)

__all__ = ["prepare_images", "one_hot", "standardise"]


def _raw_images(count: int = 6, seed: int = 5) -> np.ndarray:
    """``count`` fake 28 x 28 images with every byte value from 0 to 255 somewhere in them."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    images[0, 0, :2] = (0, 255)
    return images


def _dim_images() -> np.ndarray:
    """4 images whose bytes span 30 to 200 only: the batch's own range is not 0 to 255."""
    rng = np.random.default_rng(8)
    images = rng.integers(30, 201, size=(4, 28, 28), dtype=np.uint8)
    images[0, 0, :2] = (30, 200)
    return images


def _flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32)


def _min_max(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    low, high = x.min(axis=axis, keepdims=True), x.max(axis=axis, keepdims=True)
    return (x - low) / (high - low)


IMAGE_CASES = (
    Case("6 images", lambda: (_raw_images(),)),
    Case("1 image", lambda: (_raw_images(1, 6),), None,
         "a single image: its matrix is (1, 784), one row; does something assume more?"),
    Case("11 images", lambda: (_raw_images(11, 7),), None,
         "11 images: is a count (6) written in instead of len(images)?"),
    Case("4 faint images", lambda: (_dim_images(),), None,
         "these images are dim: their bytes run from 30 to 200 only, not 0 to 255. A byte "
         "means the same brightness in every batch, so its scaled value must not depend on "
         "which other images came with it."),
)


def _reference_images(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / 255


def _read_images(x: Any, names: Any) -> dict[str, Any]:
    """The matrix, and the bytes each value takes (4 for float32): memory is part of the job."""
    x = returned(x, ("x",))["x"]
    itemsize = np.asarray(x).dtype.itemsize if isinstance(x, np.ndarray) else np.nan
    return {"x": x, "bytes per value": np.array(float(itemsize))}


def _images_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, IMAGE_CASES, ("x", "bytes per value"), read=_read_images)


IMAGE_MISTAKES = (
    Mistake("the values run from 0 to 255: divide by 255 so that they lie in [0, 1].",
            lambda images: images.reshape(len(images), -1).astype(np.float32), ("x",)),
    Mistake("integer division (//) truncates every value to 0 or 1: divide with / 255, which "
            "gives float64, then cast with .astype(np.float32).",
            lambda images: (images.reshape(len(images), -1) // 255).astype(np.float32), ("x",)),
    Mistake("dividing by 256 leaves the brightest pixel at 255/256, not 1: divide by 255.",
            lambda images: images.reshape(len(images), -1).astype(np.float32) / 256, ("x",)),
    Mistake("each image must become one ROW of 784 values: reshape (N, 28, 28) to (N, 784), not "
            "the other way round.",
            lambda images: images.reshape(-1, len(images)).astype(np.float32) / 255, ("x",)),
    Mistake("each row holds the right values in the wrong order: the image's rows and columns "
            "were swapped (a transpose, .T or swapaxes) before it was flattened. Flatten each "
            "image as it is stored, one pixel row after the other.",
            lambda images: images.transpose(0, 2, 1).reshape(len(images), -1).astype(
                np.float32) / 255, ("x",)),
    Mistake("the scale depends on the batch: stretching the batch's own smallest to largest "
            "byte onto [0, 1] gives the same byte a different value in a batch of other "
            "images (here they span 30 to 200 only). A byte's range is fixed, whatever the "
            "images.", lambda images: _min_max(_flat(images)), ("x",)),
    Mistake("the scale depends on the image: stretching each image's own smallest to largest "
            "byte onto [0, 1] gives the same byte a different value in another image (here "
            "they span 30 to 200 only). A byte's range is fixed, whatever the image.",
            lambda images: _min_max(_flat(images), axis=1), ("x",)),
    Mistake("the values are shifted and scaled by the batch's own mean and spread (a "
            "standardisation), so they are not in [0, 1] and the same byte gets a different "
            "value in another batch. The exercise asks for each byte's brightness on a fixed "
            "scale: what is the largest value a byte can hold?",
            lambda images: _standardised(_flat(images)), ("x",)),
    Mistake("each image is shifted and scaled by its own mean and spread (a standardisation), "
            "so the values are not in [0, 1] and the same byte gets a different value in "
            "another image. The exercise asks for each byte's brightness on a fixed scale: "
            "what is the largest value a byte can hold?",
            lambda images: _standardised(_flat(images), axis=1), ("x",)),
    Mistake("the values are centred (the batch's mean subtracted), so some are negative: the "
            "exercise asks for [0, 1], each byte divided by the largest value a byte can hold, "
            "nothing subtracted.",
            lambda images: (lambda f: f - f.mean())(_flat(images) / 255), ("x",)),
)


def _standardised(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    return (x - x.mean(axis=axis, keepdims=True)) / x.std(axis=axis, keepdims=True)


def _dtype_hint(learner: Callable[..., Any]) -> str | None:
    """float64 holds the same values in twice the memory: say so, rather than 'wrong value'."""
    try:
        with np.errstate(all="ignore"):
            x = np.asarray(learner(_raw_images()))
    except Exception:  # the learner's own error is reported by run_check
        return None
    right = _reference_images(_raw_images())
    if x.shape != right.shape or x.dtype.kind != "f" or x.dtype == np.float32:
        return None
    if x.dtype == np.float64 and np.allclose(x, right, rtol=1e-6, atol=0):
        return ("the values are right but the dtype is float64: ask for float32 (astype("
                "np.float32)), which holds these values exactly in half the memory.")
    if x.itemsize < 4 and np.allclose(x.astype(np.float64), right, rtol=1e-3, atol=1e-3):
        return (f"the values are right up to the rounding of {x.dtype}, which keeps only about "
                "3 significant digits in 2 bytes: the exercise asks for float32, which keeps "
                "about 7 in 4 bytes, the dtype every later chapter trains in.")
    return None


IMAGE_ERRORS = (
    (TypeError, "Cannot cast ufunc", "a uint8 array cannot hold fractions, so dividing it in "
     "place (`images /= 255`) fails: divide into a new array (images / 255), which also leaves "
     "the caller's images alone."),
)


def prepare_images(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(images) -> x``: ``uint8`` images of shape (N, 28, 28) become a
    ``float32`` matrix of shape (N, 784) with values in [0, 1] (each byte divided by 255).

    Checked on 6, 1 and 11 images, and on 4 dim ones (bytes 30 to 200 only, so that scaling by
    the batch's own range fails); the images given must be left unchanged. Allowed: NumPy."""
    return run_check("Images as a matrix of floats", solution, _images_run, _reference_images,
                     mistakes=IMAGE_MISTAKES, explain=_dtype_hint, float32=True,
                     error_hints=IMAGE_ERRORS,
                     products=False, gradient=False)


# ----------------------------------------------------------------------------- one-hot targets

LABELS = np.array([3, 0, 9, 3, 7, 1])

ONE_HOT_CASES = (
    Case("6 labels, 10 classes", lambda: (LABELS.copy(), 10)),
    Case("labels 0 to 2 of 5 classes", lambda: (np.array([0, 2, 1, 2]), 5), None,
         "these labels reach only 2 of classes 0 to 4: the width is num_classes, not the "
         "largest label + 1."),
    Case("1 label, 6 classes", lambda: (np.array([5]), 6), None,
         "one label, 5, of 6 classes: the result is (1, 6); is a size written in?"),
)


def _reference_one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes)[labels]


def _one_hot_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, ONE_HOT_CASES, ("targets",))


ONE_HOT_MISTAKES = (
    Mistake("the ones are in the wrong column: row i must have its 1 in column labels[i] (digit "
            "0 in column 0), with no shift by one.",
            lambda labels, c: np.eye(c)[(labels + 1) % c]),
    Mistake("that is the transpose: one ROW per example (N, num_classes), one column per class.",
            lambda labels, c: np.eye(c)[labels].T),
    Mistake("zeros and ones are swapped: the 1 marks the example's own class, every other "
            "column is 0.", lambda labels, c: 1 - np.eye(c)[labels]),
    Mistake("a one-hot row has exactly one 1: start from zeros, not ones.",
            lambda labels, c: np.ones((len(labels), c)) + np.eye(c)[labels]),
    Mistake("the ones are one column to the LEFT: labels count from 0, so label k goes in "
            "column k, with nothing subtracted (label 0 ended up in the last column).",
            lambda labels, c: np.eye(c)[labels - 1]),
    Mistake("the number of columns is num_classes, not the largest label + 1: a batch may "
            "lack the last classes.", lambda labels, c: np.eye(labels.max() + 1)[labels]),
    Mistake("a row holds a 1 in the column of EVERY label of the batch: an index `[:, labels]` "
            "sets whole columns, for all rows at once. Each row needs a single 1, in the column "
            "of its own label: pair each row index with one label.",
            lambda labels, c: np.broadcast_to(np.eye(c)[labels].max(axis=0),
                                              (len(labels), c)).copy()),
    Mistake("the last example's row holds no 1 at all: does your loop stop one example short "
            "(an off-by-one in its range)? Every row needs its 1.",
            lambda labels, c: np.eye(c)[labels] * (np.arange(len(labels)) < len(labels) - 1)[
                :, None]),
    Mistake("the first example's row holds no 1 at all: does your loop start one example late "
            "(an off-by-one in its range)? Every row needs its 1.",
            lambda labels, c: np.eye(c)[labels] * (np.arange(len(labels)) > 0)[:, None]),
    Mistake("the number of columns is num_classes, not the number of different labels in "
            "this batch.", lambda labels, c: np.eye(len(np.unique(labels)))[
                np.searchsorted(np.unique(labels), labels)]),
)

ONE_HOT_ERRORS = (
    (IndexError, re.compile(r"only integers|integer \(or boolean\) type"),
     "the labels are used as indices, and an index must be an integer: are the labels floats "
     "(an astype(float), a float array built from them)? Keep them integers, or convert them "
     "with .astype(int) before indexing."),
    (IndexError, "out of bounds", "an index runs past the last column: label k goes in column "
     "k itself (counting from 0), and there are exactly num_classes columns."),
)


def one_hot(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(labels, num_classes) -> targets``: integer labels of shape (N,) become
    an (N, num_classes) array with a 1 in column ``labels[i]`` of row i and 0 elsewhere.

    Checked on 6 labels of 10 classes, on labels that lack the last classes, and on one label;
    the labels given must be left unchanged. The result must be floats (float32 or float64):
    targets are numbers that the loss computes with, beside the network's float outputs, and
    the chapter shows what integer arithmetic does to them (uint8 wraps around: 0 - 1 is 255;
    -t of a bool array raises; an int array truncates what is written into it, t *= 0.9 leaves
    it unchanged or raises). An integer, uint8 or bool array with the right 0s and 1s fails with
    a hint saying so. Allowed: NumPy."""
    result = run_check("One-hot targets", solution, _one_hot_run, _reference_one_hot,
                       mistakes=ONE_HOT_MISTAKES, error_hints=ONE_HOT_ERRORS, float32=True,
                       products=False, gradient=False, locate=_one_hot_locate)
    return _float_policy(result, solution) if result.passed else result


def _float_policy(result: CheckResult, solution: Callable[..., Any]) -> CheckResult:
    """Right 0s and 1s in a non-float dtype: fail each such case's row, and say why floats."""
    kinds = []
    for case, row in zip(ONE_HOT_CASES, result.rows):
        try:
            with np.errstate(all="ignore"):
                dtype = np.asarray(solution(*case.args())).dtype
        except Exception:
            return result
        kinds.append(dtype)
    wrong = [dtype for dtype in kinds if dtype.kind != "f"]
    if not wrong:
        return result
    rows = [row if dtype.kind == "f" else Row(row.name, row.expected_shape, row.received_shape,
                                              f"✗ right 0s and 1s, but dtype {dtype}", False)
            for row, dtype in zip(result.rows, kinds)]
    dtype = wrong[0]
    if dtype.kind == "u":
        why = (f"{dtype} arithmetic wraps around, as the images showed: -t, or 0 - 1, is "
               f"{np.iinfo(dtype).max} in {dtype}, not -1")
    elif dtype.kind == "b":
        why = "a bool array is not numbers: -t raises a TypeError, and t - t too"
    elif dtype.kind == "i":
        why = (f"{dtype} arithmetic stays in integers: an update written into it (t *= 0.9, "
               "t -= p) is truncated to whole numbers, or raises")
    else:
        why = f"{dtype} is not a float dtype"
    return CheckResult(result.exercise, "failed", rows, (
        f"the 0s and 1s are in the right places, but the dtype is {dtype}; the targets must be "
        "floats."), f"one-hot targets are numbers the loss computes with, beside the network's "
        f"float outputs, and {why}. Build them as floats: np.zeros((N, num_classes)) is "
        "float64 (or pass dtype=np.float32), and .astype(np.float32) converts.")


def _one_hot_locate(first_wrong: str, got: Any, want: np.ndarray) -> str | None:
    """The ones are in the right columns but the values are not exactly 1 and 0."""
    array = np.asarray(got, dtype=float) if np.shape(got) == want.shape else None
    if array is None or not np.array_equal(np.argmax(array, axis=1), np.argmax(want, axis=1)):
        return None
    return ("a one-hot row holds exactly two values: 1 in the label's column and 0 everywhere "
            "else. Is the largest value of each row in the right column but not 1, or the "
            "others not 0 (a smoothing, a scaling, an offset)?")


# ----------------------------------------------------------------------------- standardising


def _split(fit_count: int, other_count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images in [0, 1] with 12 pixels; pixel 0 is blank in every fit image (its std is 0), and
    the other split is brighter, so statistics taken from it (a leak) give other numbers."""
    rng = np.random.default_rng(seed)
    fit = rng.random((fit_count, 12)) * np.linspace(0.2, 1.0, 12)
    fit[:, 0] = 0.0
    other = np.clip(rng.random((other_count, 12)) * 0.5 + 0.4, 0.0, 1.0)
    return fit, other


STANDARDISE_CASES = (
    Case("8 fit, 5 other", lambda: _split(8, 5, 11)),
    Case("20 fit, 3 other", lambda: _split(20, 3, 12), None,
         "a larger fit split with a small other split: are the statistics taken from the "
         "right one, per pixel?"),
    Case("5 fit, 1 other", lambda: _split(5, 1, 13), None,
         "ONE other image: statistics of the other split would be those of a single image."),
)


def _stats(x: np.ndarray, ddof: int = 0) -> tuple[np.ndarray, np.ndarray]:
    std = x.std(axis=0, ddof=ddof)
    return x.mean(axis=0), np.where(std > 0, std, 1.0)


def _reference_standardise(x_fit: np.ndarray, x_other: np.ndarray) -> tuple:
    mean, std = _stats(x_fit)
    return (x_fit - mean) / std, (x_other - mean) / std


def _standardise_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, STANDARDISE_CASES, ("x_fit", "x_other"))


def _with_stats(mean: np.ndarray, std: np.ndarray, x_fit: np.ndarray,
                x_other: np.ndarray) -> tuple:
    return (x_fit - mean) / std, (x_other - mean) / std


STANDARDISE_MISTAKES = (
    Mistake("the other split is standardised with ITS OWN mean and spread: that is a leak "
            "(the test set tells the model something), and one image's spread is 0. Measure "
            "both statistics on x_fit only, and apply those to both splits.",
            lambda f, o: (_reference_standardise(f, o)[0], (o - _stats(o)[0]) / _stats(o)[1]),
            ("x_other",)),
    Mistake("the statistics are measured on both splits together: the other split leaks into "
            "them. Measure the mean and the spread on x_fit alone.",
            lambda f, o: _with_stats(*_stats(np.concatenate([f, o])), f, o)),
    Mistake("one mean and one spread for the whole array: standardise each PIXEL (each "
            "column) with its own mean and spread over the images (axis=0).",
            lambda f, o: _with_stats(f.mean(), f.std(), f, o)),
    Mistake("each IMAGE (row) is standardised by its own mean and spread: the statistics "
            "belong to each pixel, over the fit images (axis=0, not axis=1).",
            lambda f, o: tuple((x - x.mean(axis=1, keepdims=True))
                               / x.std(axis=1, keepdims=True) for x in (f, o))),
    Mistake("a pixel that is blank in every fit image has spread 0, and 0 / 0 is nan: divide "
            "such pixels by 1 instead (np.where(std > 0, std, 1)).",
            lambda f, o: _with_stats(f.mean(axis=0), f.std(axis=0), f, o)),
    Mistake("the spread is the sample standard deviation (ddof=1): the exercise asks for "
            "NumPy's default std (ddof=0), the one the library uses.",
            lambda f, o: _with_stats(*_stats(f, ddof=1), f, o)),
    Mistake("the mean is subtracted but nothing is divided: standardising also divides by each "
            "pixel's spread.",
            lambda f, o: _with_stats(f.mean(axis=0), 1.0, f, o)),
    Mistake("the pixels are divided by their spread but not centred: subtract each pixel's "
            "mean first.",
            lambda f, o: _with_stats(0.0, _stats(f)[1], f, o)),
)


def standardise(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(x_fit, x_other) -> (x_fit_s, x_other_s)``: every pixel (column) minus
    its mean, divided by its standard deviation (ddof=0), both measured on ``x_fit`` ONLY and
    applied to both splits; a pixel whose std is 0 is divided by 1.

    Checked on three pairs of splits; the other split is brighter than the fit split, so
    statistics that leak from it give other numbers, and pixel 0 is blank in every fit image.
    The arrays given must be left unchanged. Allowed: NumPy."""
    return run_check("Standardise with the training split's statistics", solution,
                     _standardise_run, _reference_standardise,
                     mistakes=STANDARDISE_MISTAKES, products=False, gradient=False)
