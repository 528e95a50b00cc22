"""The figures the chapters draw, in one place so every chapter's plots look alike.

Each function draws on a matplotlib ``Axes`` (a new figure if none is given) and returns the
figure, so a notebook cell can show it and a test can inspect it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def _new_axes(ax: plt.Axes | None, size: tuple[float, float]) -> plt.Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def digit_grid(
    images: np.ndarray,
    labels: Sequence[int] | np.ndarray | None = None,
    columns: int = 10,
    title: str | None = None,
) -> plt.Figure:
    """Draw flat 784-pixel images as a grid of 28x28 digits, each titled with its label."""
    images = np.asarray(images).reshape(-1, 28, 28)
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 1.0), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(images):
            ax.imshow(images[index], cmap="gray_r", vmin=0.0, vmax=1.0)
            if labels is not None:
                ax.set_title(str(labels[index]), fontsize=9, pad=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def class_counts(
    counts: Mapping[str, np.ndarray],
    ax: plt.Axes | None = None,
    title: str | None = None,
    ylabel: str = "examples",
) -> plt.Figure:
    """Bar chart of how many examples each digit has, one group of bars per named split."""
    ax = _new_axes(ax, (7, 3))
    width = 0.8 / len(counts)
    for offset, (name, values) in enumerate(counts.items()):
        positions = np.arange(len(values)) + (offset - (len(counts) - 1) / 2) * width
        ax.bar(positions, values, width=width, label=name)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.set_ylabel(ylabel)
    ax.legend()
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


def loss_curves(
    curves: Mapping[str, Sequence[float]],
    ax: plt.Axes | None = None,
    xlabel: str = "step",
    ylabel: str = "loss",
    log_y: bool = False,
    title: str | None = None,
) -> plt.Figure:
    """Plot several named curves (loss against step or epoch) on one set of axes."""
    ax = _new_axes(ax, (7, 4))
    for name, values in curves.items():
        ax.plot(np.arange(len(values)), values, label=str(name))
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(curves) > 1:
        ax.legend()
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure
