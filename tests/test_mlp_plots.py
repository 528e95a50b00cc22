"""Tests for the chapter-5 figures in backprop.plots: weight_grid and confusion_heatmap."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backprop.plots import confusion_heatmap, weight_grid  # noqa: E402


def test_weight_grid_draws_one_image_per_unit():
    weights = np.random.default_rng(0).normal(size=(20, 784))
    fig = weight_grid(weights, columns=8, title="w")
    images = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 24 and len(images) == 20
    first = images[0].images[0]
    assert first.get_array().shape == (28, 28)
    low, high = first.get_clim()
    assert low == -high == -np.abs(weights[0]).max()  # symmetric: white is zero
    plt.close(fig)


def test_weight_grid_rejects_wrong_shape():
    with pytest.raises(ValueError, match="784"):
        weight_grid(np.zeros((4, 100)))


def test_weight_grid_handles_all_zero_row():
    fig = weight_grid(np.zeros((2, 784)))
    plt.close(fig)


def test_confusion_heatmap_writes_every_nonzero_count():
    counts = np.array([[5, 0, 1], [0, 7, 0], [2, 0, 9]])
    fig = confusion_heatmap(counts, title="c")
    ax = fig.axes[0]
    texts = sorted(text.get_text() for text in ax.texts)
    assert texts == sorted(["5", "1", "7", "2", "9"])
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    plt.close(fig)


def test_confusion_heatmap_rejects_non_square():
    with pytest.raises(ValueError, match="square"):
        confusion_heatmap(np.zeros((2, 3)))
