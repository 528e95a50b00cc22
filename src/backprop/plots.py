"""The figures the chapters draw, in one place so every chapter's plots look alike.

Each function draws on a matplotlib ``Axes`` (a new figure if none is given) and returns the
figure, so a notebook cell can show it and a test can inspect it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np

from backprop import autograd


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
    outputs: dict[str, list[str]] = {node: [] for node in nodes}
    for source, target in edges:
        waiting[target] += 1
        outputs[source].append(target)
    ready = [node for node in nodes if waiting[node] == 0]
    placed = 0
    while ready:
        node = ready.pop()
        placed += 1
        for target in outputs[node]:
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
    label_offset: float = 0.0,
) -> plt.Figure:
    """Draw a directed graph left to right, one column per layer: a computational graph (values
    and the operations between them) or a network (units and the weights that join them).

    - ``nodes``: node ids, or a mapping from id to label. Labels may hold matplotlib math
      (``"$w_1$"``) and several lines.
    - ``edges``: ``(source, target)`` pairs, drawn as arrows.
    - ``layers``: the columns, left to right, each listing node ids top to bottom; by default
      ``graph_layers`` computes them.
    - ``edge_labels``: text beside an edge (a weight, a local derivative), placed at
      ``label_position`` along it (0 at the source, 1 at the target). With ``label_offset``
      (in points) the label moves off the line, to the left of the arrow's direction
      (above a left-to-right arrow), and the line stays whole.
    - ``highlight``: edges drawn thick and in colour, e.g. the paths from a weight to the loss.
    - ``colors``: fill colour per node; ``shapes``: box style per node (``"circle"``,
      ``"round"``, ``"square"``), ``shape`` for the rest.
    - ``spacing``: distance between columns and between rows, in inches when a new figure is made.
    """
    from matplotlib.transforms import offset_copy

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
            at = (x0 + t * (x1 - x0), y0 + t * (y1 - y0))
            length = max(float(np.hypot(x1 - x0, y1 - y0)), 1e-12)
            shifted = offset_copy(ax.transData, fig=ax.figure, units="points",
                                  x=-(y1 - y0) / length * label_offset,
                                  y=(x1 - x0) / length * label_offset)
            ax.text(*at, label, ha="center", va="center", fontsize=fontsize - 2, color=color,
                    zorder=4, transform=shifted,
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


def _format_number(value: float) -> str:
    """A short label for a scalar: 2, -0.5, 1.2e+03."""
    return f"{float(value):.4g}"


def _tensor_label(tensor, name: str | None, grads: bool) -> str:
    """``name = value`` (and the gradient) for a one-element tensor, ``name (shape)`` otherwise."""
    if tensor.size == 1:
        text = _format_number(tensor.data.item())
        text = f"{name} = {text}" if name else text
        if grads and tensor.grad is not None:
            text += f"\ngrad {_format_number(np.asarray(tensor.grad).item())}"
        return text
    return f"{name or 'tensor'}\n{tuple(tensor.shape)}"


def autograd_graph(
    root, names: Mapping[str, object] | None = None, *, grads: bool = True
) -> tuple[dict[str, str], list[tuple[str, str]], dict[str, str], dict[tuple[str, str], str]]:
    """The graph an autograd ``Tensor`` recorded, as nodes and edges ``draw_graph`` can draw.

    Walks back from ``root`` through each tensor's ``inputs`` and ``op`` (with the engine's
    ``nodes``), so each tensor appears once however often it is used. Every operation becomes
    a node of its own between its inputs and its result,
    as in micrograd's drawings. ``names`` maps a name to a tensor (``{"a": a}``) to label it;
    one-element tensors show their value and, if ``grads``, their gradient.

    Returns ``(labels, edges, kinds, edge_labels)``: node id -> text; (source, target) pairs,
    inputs first; node id -> "leaf" (requires grad), "constant", "value" (an op's result) or
    "op"; and "×2" on an edge that an input takes twice (``x * x``).
    """
    name_of = {id(tensor): name for name, tensor in (names or {}).items()}
    labels: dict[str, str] = {}
    kinds: dict[str, str] = {}
    counts: dict[tuple[str, str], int] = {}
    for tensor in autograd.nodes(root, constants=True):
        node = f"t{id(tensor)}"
        if tensor.inputs:
            op = f"op{id(tensor)}"
            labels[op], kinds[op] = tensor.op, "op"
            for parent in tensor.inputs:
                edge = (f"t{id(parent)}", op)
                counts[edge] = counts.get(edge, 0) + 1
            counts[(op, node)] = 1
            kinds[node] = "value"
        else:
            kinds[node] = "leaf" if tensor.requires_grad else "constant"
        labels[node] = _tensor_label(tensor, name_of.get(id(tensor)), grads)
    edge_labels = {edge: f"×{count}" for edge, count in counts.items() if count > 1}
    return labels, list(counts), kinds, edge_labels


def _sources_late(labels: Mapping[str, str], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    """``graph_layers``, then each node without inputs moved right to just before its first use,
    so a constant such as the 2 in ``d ** 2`` sits beside its operation."""
    columns = graph_layers(list(labels), edges)
    column_of = {node: index for index, column in enumerate(columns) for node in column}
    has_input = {target for _, target in edges}
    for node in labels:
        uses = [column_of[target] for source, target in edges if source == node]
        if node not in has_input and uses:
            column_of[node] = min(uses) - 1
    layers: list[list[str]] = [[] for _ in columns]
    for node in labels:
        layers[column_of[node]].append(node)
    return layers


_KIND_COLORS = {"leaf": "#d6e9f8", "constant": "#eeeeee", "value": "#ffffff", "op": "#fdebc8"}


def draw_autograd_graph(
    root, names: Mapping[str, object] | None = None, *, grads: bool = True, **options
) -> plt.Figure:
    """Draw the graph behind an autograd ``Tensor``: values in boxes, operations in circles.

    Leaves that require grad are blue, constants grey, operations orange. See
    ``autograd_graph`` for ``names`` and ``grads``; other keyword arguments (``title``,
    ``spacing``, ``highlight``, ``ax``, ...) go to ``draw_graph``.
    """
    labels, edges, kinds, edge_labels = autograd_graph(root, names, grads=grads)
    options.setdefault("spacing", (1.6, 1.3))
    options.setdefault("fontsize", 11)
    options.setdefault("layers", _sources_late(labels, edges))
    return draw_graph(
        labels, edges, edge_labels={**edge_labels, **options.pop("edge_labels", {})},
        colors={node: _KIND_COLORS[kind] for node, kind in kinds.items()},
        shapes={node: "circle" for node, kind in kinds.items() if kind == "op"},
        **options,
    )


def _as_grid_shape(shape: Sequence[int]) -> tuple[int, int]:
    """(rows, columns) of a shape with at most two axes: () -> (1, 1), (n,) -> (1, n)."""
    shape = tuple(shape)
    if len(shape) > 2:
        raise ValueError(f"can only draw shapes with at most 2 axes, got {shape}")
    return (1,) * (2 - len(shape)) + shape


def _draw_cells(
    ax: plt.Axes,
    origin: tuple[float, float],
    rows: int,
    columns: int,
    color_of: Callable[[int, int], object],
    *,
    ghost: Callable[[int, int], bool] | None = None,
    values: Callable[[int, int], str] | None = None,
) -> None:
    """Draw a rows x columns grid of unit squares with its top-left corner at ``origin``."""
    from matplotlib.patches import Rectangle

    x0, y0 = origin
    for r in range(rows):
        for c in range(columns):
            faded = ghost is not None and ghost(r, c)
            ax.add_patch(Rectangle((x0 + c, y0 - r - 1), 1, 1, fc=color_of(r, c),
                                   ec="#2c3e50", lw=1.0, ls="--" if faded else "-",
                                   alpha=0.45 if faded else 1.0))
            if values is not None:
                ax.text(x0 + c + 0.5, y0 - r - 0.5, values(r, c), ha="center", va="center",
                        fontsize=10, alpha=0.5 if faded else 1.0)


def draw_broadcast(
    shape_a: Sequence[int],
    shape_b: Sequence[int],
    *,
    op: str = "+",
    names: tuple[str, str] = ("a", "b"),
    title: str | None = None,
) -> plt.Figure:
    """Picture broadcasting and its backward for two shapes with at most 2 axes each.

    Top row, forward: ``a op b``, each operand drawn at the output's shape, its real cells
    solid and the copies broadcasting makes dashed and faded. Cells are coloured by the element
    of ``b`` they come from. Bottom row, backward: the gradient that reaches each copy of ``b``
    (example numbers 1, 2, 3, ...; for ``+`` it is the output's gradient itself), coloured the
    same way, and ``b``'s gradient, whose every element is the sum of the cells of its colour:
    the un-broadcast rule. ``names`` are the operands' names in the labels.
    """
    a, b = names
    out_shape = np.broadcast_shapes(tuple(shape_a), tuple(shape_b))
    (ra, ca), (rb, cb), (ro, co) = (_as_grid_shape(s) for s in (shape_a, shape_b, out_shape))
    palette = plt.get_cmap("Pastel1" if rb * cb <= 9 else "tab20")

    def source_in_b(r: int, c: int) -> int:  # which element of b feeds output cell (r, c)
        return (r % rb if rb > 1 else 0) * cb + (c % cb if cb > 1 else 0)

    def b_color(r: int, c: int) -> str:
        return palette(source_in_b(r, c) % palette.N)

    grad = np.arange(1, ro * co + 1).reshape(ro, co)
    sums = np.zeros(rb * cb, dtype=int)
    for r in range(ro):
        for c in range(co):
            sums[source_in_b(r, c)] += grad[r, c]

    fig, ax = plt.subplots(figsize=(max(6.0, 0.62 * (3 * co + 6)), 0.62 * (2 * ro + 5)))
    gap = 1.4
    xs = [0, co + gap, 2 * (co + gap)]
    top, bottom = 0.0, -(ro + 1.8)
    a_label = f"{a} {tuple(shape_a)}" + (" → " + str(out_shape) if (ra, ca) != (ro, co) else "")
    b_label = f"{b} {tuple(shape_b)}" + (" → " + str(out_shape) if (rb, cb) != (ro, co) else "")
    _draw_cells(ax, (xs[0], top), ro, co, lambda r, c: "#d6e9f8",
                ghost=lambda r, c: (ra == 1 and r > 0) or (ca == 1 and c > 0))
    _draw_cells(ax, (xs[1], top), ro, co, b_color,
                ghost=lambda r, c: (rb == 1 and r > 0) or (cb == 1 and c > 0))
    _draw_cells(ax, (xs[2], top), ro, co, b_color)
    _draw_cells(ax, (xs[0], bottom), ro, co, b_color, values=lambda r, c: str(grad[r, c]))
    _draw_cells(ax, (xs[2], bottom), rb, cb, lambda r, c: palette((r * cb + c) % palette.N),
                values=lambda r, c: str(sums[r * cb + c]))
    for x, text, y in [(xs[0], a_label, top), (xs[1], b_label, top),
                       (xs[2], f"{a} {op} {b} {out_shape}", top),
                       (xs[0], f"gradient reaching each copy of {b}", bottom),
                       (xs[2], f"gradient of {b} {tuple(shape_b)}", bottom)]:
        ax.text(x, y + 0.25, text, ha="left", va="bottom", fontsize=10)
    middle = top - ro / 2
    ax.text(xs[1] - gap / 2, middle, op, ha="center", va="center", fontsize=16)
    ax.text(xs[2] - gap / 2, middle, "=", ha="center", va="center", fontsize=16)
    ax.annotate("sum the cells\nof each colour", xy=(xs[2] - 0.2, bottom - rb / 2),
                xytext=(xs[0] + co + 0.2, bottom - rb / 2), ha="left", va="center", fontsize=9,
                arrowprops=dict(arrowstyle="-|>", color="#555555"))
    ax.set_xlim(-0.3, xs[2] + co + 0.3)
    ax.set_ylim(bottom - ro - 0.3, top + 0.9)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def weight_grid(
    weights: np.ndarray,
    columns: int = 16,
    title: str | None = None,
    size: float = 0.75,
    colorbar: bool = False,
) -> plt.Figure:
    """Draw each row of a first-layer weight matrix (out, 784) as a 28x28 image.

    A hidden unit's 784 weights say how much each pixel pushes it up (red) or down (blue), so
    its image shows the pattern the unit responds to. Each image is scaled symmetrically to its
    own largest |weight|, so white is always zero.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] != 784:
        raise ValueError(f"weight_grid expects weights of shape (units, 784), got {weights.shape}")
    rows = int(np.ceil(len(weights) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(weights):
            limit = float(np.abs(weights[index]).max()) or 1.0
            image = ax.imshow(weights[index].reshape(28, 28), cmap="RdBu_r", vmin=-limit,
                              vmax=limit)
    if title:
        fig.suptitle(title)
    fig.tight_layout(pad=0.3)
    if colorbar:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="weight")
    return fig


def confusion_heatmap(
    counts: np.ndarray, ax: plt.Axes | None = None, title: str | None = None
) -> plt.Figure:
    """Draw a (classes, classes) confusion matrix: rows the true class, columns the prediction.

    Every count is written in its cell; the colour scale is logarithmic so that the few
    off-diagonal mistakes stay visible next to the large diagonal.
    """
    from matplotlib.colors import LogNorm

    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"confusion_heatmap expects a square matrix, got shape {counts.shape}")
    ax = _new_axes(ax, (6.5, 5.5))
    norm = LogNorm(vmin=0.5, vmax=max(counts.max(), 1))  # zeros drawn at 0.5: the palest blue
    image = ax.imshow(np.maximum(counts, 0.5), cmap="Blues", norm=norm)
    threshold = np.sqrt(max(counts.max(), 1))  # white text on dark cells (log scale's middle)
    for (row, column), value in np.ndenumerate(counts):
        if value:
            ax.text(column, row, str(value), ha="center", va="center", fontsize=7,
                    color="white" if value > threshold else "black")
    classes = range(len(counts))
    ax.set_xticks(classes)
    ax.set_yticks(classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.figure.colorbar(image, ax=ax, label="examples (log scale)")
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure
