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
    tallest = max(float(np.max(values)) for values in counts.values())
    ax.set_ylim(0, tallest * 1.3)  # headroom, so the legend does not cover the bars
    ax.legend(loc="upper center", ncol=len(counts))
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


def graph_layers(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    """Group a directed acyclic graph's nodes into columns, left to right, so every edge points
    right: a node's column is the length of the longest path that reaches it.

    Nodes keep their given order within a column. Built iteratively (Kahn's topological sort),
    so a deep graph cannot hit Python's recursion limit. A cycle raises ValueError.
    """
    known = set(nodes)
    for source, target in edges:
        if source not in known or target not in known:
            raise ValueError(f"edge ({source!r}, {target!r}) names a node that is not in nodes")
    depth = dict.fromkeys(nodes, 0)
    waiting = dict.fromkeys(nodes, 0)  # how many inputs of each node are not yet placed
    for _, target in edges:
        waiting[target] += 1
    ready = [node for node in nodes if waiting[node] == 0]
    placed = 0
    while ready:
        node = ready.pop()
        placed += 1
        for source, target in edges:
            if source == node:
                depth[target] = max(depth[target], depth[node] + 1)
                waiting[target] -= 1
                if waiting[target] == 0:
                    ready.append(target)
    if placed < len(depth):
        raise ValueError("the graph has a cycle, so it has no left-to-right layout")
    columns: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in nodes:
        columns[depth[node]].append(node)
    return columns


def draw_graph(
    nodes: Mapping[str, str] | Sequence[str],
    edges: Sequence[tuple[str, str]],
    *,
    layers: Sequence[Sequence[str]] | None = None,
    edge_labels: Mapping[tuple[str, str], str] | None = None,
    highlight: Sequence[tuple[str, str]] = (),
    colors: Mapping[str, str] | None = None,
    shapes: Mapping[str, str] | None = None,
    shape: str = "round",
    label_position: float = 0.5,
    spacing: tuple[float, float] = (2.0, 1.2),
    fontsize: float = 12,
    ax: plt.Axes | None = None,
    title: str | None = None,
) -> plt.Figure:
    """Draw a directed graph left to right, one column per layer: a computational graph (values
    and the operations between them) or a network (units and the weights that join them).

    - ``nodes``: node ids, or a mapping from id to label. Labels may hold matplotlib math
      (``"$w_1$"``) and several lines.
    - ``edges``: ``(source, target)`` pairs, drawn as arrows.
    - ``layers``: the columns, left to right, each listing node ids top to bottom; by default
      ``graph_layers`` computes them.
    - ``edge_labels``: text beside an edge (a weight, a local derivative), placed at
      ``label_position`` along it (0 at the source, 1 at the target).
    - ``highlight``: edges drawn thick and in colour, e.g. the paths from a weight to the loss.
    - ``colors``: fill colour per node; ``shapes``: box style per node (``"circle"``,
      ``"round"``, ``"square"``), ``shape`` for the rest.
    - ``spacing``: distance between columns and between rows, in inches when a new figure is made.
    """
    labels = dict(nodes) if isinstance(nodes, Mapping) else {node: node for node in nodes}
    columns = [list(column) for column in layers] if layers is not None else graph_layers(
        list(labels), edges)
    dx, dy = spacing
    tallest = max(len(column) for column in columns)
    if ax is None:
        width = max(2.5, (len(columns) - 1) * dx + 1.8)
        _, ax = plt.subplots(figsize=(width, max(1.4, (tallest - 1) * dy + 1.2)))
    position = {
        node: (col * dx, ((len(column) - 1) / 2 - row) * dy)
        for col, column in enumerate(columns)
        for row, node in enumerate(column)
    }
    missing = set(labels) - set(position)
    if missing:
        raise ValueError(f"nodes missing from layers: {sorted(missing)}")

    boxes = {}
    for node, (x, y) in position.items():
        style = (shapes or {}).get(node, shape)
        fill = (colors or {}).get(node, "#eaf1fb")
        text = ax.text(x, y, labels.get(node, node), ha="center", va="center", fontsize=fontsize,
                       zorder=2, bbox=dict(boxstyle=f"{style},pad=0.35", fc=fill, ec="#2c3e50"))
        boxes[node] = text.get_bbox_patch()

    marked = set(highlight)
    for source, target in edges:
        hot = (source, target) in marked
        color = "#c0392b" if hot else "#555555"
        # Drawn above the nodes (zorder 3), so each arrow is clipped to box outlines already
        # laid out in the same draw: the arrow starts and ends exactly at the node's edge.
        ax.annotate("", xy=position[target], xytext=position[source], zorder=3,
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=2.4 if hot else 1.2,
                                    mutation_scale=14, shrinkA=1, shrinkB=1,
                                    patchA=boxes[source], patchB=boxes[target]))
        label = (edge_labels or {}).get((source, target))
        if label is not None:
            (x0, y0), (x1, y1) = position[source], position[target]
            t = label_position
            ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), label, ha="center", va="center",
                    fontsize=fontsize - 2, color=color, zorder=4,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))

    ax.set_xlim(-0.9, (len(columns) - 1) * dx + 0.9)
    ax.set_ylim(-((tallest - 1) / 2 * dy + 0.6), (tallest - 1) / 2 * dy + 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


def draw_network(
    layers: Sequence[Sequence[str]],
    weights: Mapping[tuple[str, str], str] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    label_position: float = 0.3,
    spacing: tuple[float, float] = (2.4, 1.5),
    **options,
) -> plt.Figure:
    """Draw a fully connected feed-forward network: each unit (a circle) feeds every unit of
    the next layer, and ``weights`` labels those connections, e.g. ``{("i1", "h1"): "$w_1$"}``.

    ``layers`` lists unit ids per layer, input first; ``labels`` maps an id to its text. The
    labels sit near each connection's source (``label_position``), where crossing connections
    are still apart. Other keyword arguments (``highlight``, ``colors``, ``shapes``, ``ax``,
    ``title``, ...) are passed on to ``draw_graph``.
    """
    edges = [(source, target) for left, right in zip(layers, layers[1:])
             for target in right for source in left]
    names = {unit: (labels or {}).get(unit, unit) for layer in layers for unit in layer}
    options.setdefault("shape", "circle")
    return draw_graph(names, edges, layers=layers, edge_labels=weights,
                      label_position=label_position, spacing=spacing, **options)
