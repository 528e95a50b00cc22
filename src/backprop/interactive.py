"""Watch the backward pass: figures that play on the static site, with no kernel and no network.

``record_backward(loss)`` calls the engine's real ``loss.backward()`` and notes, for every node it
visits, the gradient the node holds and what it sends to each input. ``backward_stepthrough``
turns those notes into frames, one per node in reverse topological order, and ``explorable``
turns any drawing function into frames over a list of values (learning rates, steps). Both
return matplotlib's JavaScript player (its ``HTMLWriter``): the frames are images made when
the book is built, and the page plays them with a few lines of its own script, so they work
offline and need no CDN.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML
from matplotlib.animation import HTMLWriter

from backprop.autograd import Tensor, nodes, watch_backward
from backprop.plots import _sources_late, autograd_graph, draw_graph

__all__ = ["Step", "record_backward", "backward_stepthrough", "network_stepthrough",
           "explorable", "learning_rate_explorer", "optimizer_paths", "optimizer_race"]


@dataclass
class Step:
    """One node's turn in the backward pass.

    ``node`` holds the complete gradient ``grad`` = dL/dnode when its turn comes; ``sent`` lists,
    per input that requires grad, the share of the gradient it received from this node.
    """

    node: Tensor
    grad: np.ndarray
    sent: list[tuple[Tensor, np.ndarray]] = field(default_factory=list)


def record_backward(loss: Tensor) -> list[Step]:
    """Run ``loss.backward()`` and return the steps it took, in the order it took them.

    It watches the engine's own backward pass (``watch_backward``), so the recorded numbers
    are the engine's: each input's ``.grad`` is noted before and after the node passes its
    gradient back, and the difference is what that input received.
    """
    steps: list[Step] = []

    def recording(node: Tensor, grad: np.ndarray, backward_fn: Callable) -> None:
        inputs = list({id(parent): parent for parent in node.inputs}.values())
        before = [_copy_grad(parent) for parent in inputs]
        backward_fn(grad)
        step = Step(node, np.array(grad, copy=True))
        for parent, old in zip(inputs, before, strict=True):
            if parent.requires_grad:
                step.sent.append((parent, _copy_grad(parent) - old))
        steps.append(step)

    with watch_backward(recording):
        loss.backward()
    return steps


def _copy_grad(tensor: Tensor) -> np.ndarray:
    """A tensor's gradient so far, zero if none has arrived."""
    return np.zeros(tensor.shape) if tensor.grad is None else np.array(tensor.grad, copy=True)


def _number(value: np.ndarray, digits: int = 4) -> str:
    return f"{float(np.asarray(value).item()):.{digits}g}"


def _received_after(steps: Sequence[Step], shown: int) -> dict[int, list[np.ndarray]]:
    """Every gradient share each tensor (by id) has received in the first ``shown`` steps."""
    received: dict[int, list[np.ndarray]] = {}
    for step in steps[:shown]:
        for parent, share in step.sent:
            received.setdefault(id(parent), []).append(share)
    return received


def backward_stepthrough(
    loss: Tensor,
    names: Mapping[str, Tensor],
    *,
    title: str = "The backward pass, one node at a time",
    spacing: tuple[float, float] = (1.6, 1.3),
    dpi: int = 90,
) -> HTML:
    """Step through ``loss.backward()`` on a graph of one-element tensors, frame by frame.

    Frame 0 shows the forward values. Each later frame is one node's turn, in reverse
    topological order: the node is outlined in red and its gradient is complete; the caption
    gives the local derivative of the operation that made it and what each input receives
    (incoming gradient × local derivative). A value used twice shows both contributions being
    added ("2 + 4 = 6") when the second one arrives. Every number comes from the engine's run
    (see ``record_backward``). Needs tensors with one element each, so the labels stay short.
    """
    big = [name for name, tensor in names.items() if tensor.size != 1]
    if big:
        raise ValueError(f"backward_stepthrough draws one-element tensors only; {big} have more "
                         "elements. Step through a scalar version of the expression instead.")
    names = _name_everything(loss, names)
    for tensor in names.values():
        tensor.grad = None
    steps = [step for step in record_backward(loss) if step.node.inputs]
    name_of = {id(tensor): name for name, tensor in names.items()}
    labels, edges, kinds, edge_labels = autograd_graph(loss, names, grads=False)
    layers = _sources_late(labels, edges)
    width = max(4.0, (len(layers) - 1) * spacing[0] + 1.8)
    height = max(2.4, (max(len(c) for c in layers) - 1) * spacing[1] + 2.2)
    figure, ax = plt.subplots(figsize=(width, height), dpi=dpi)

    def draw(frame: int) -> None:
        for text in list(figure.texts):  # a copy: removing shortens the list
            text.remove()
        ax.clear()
        received = _received_after(steps, frame)
        frame_labels, colors, highlight = dict(labels), {}, []
        for tensor in nodes(loss, constants=True):
            node_id = f"t{id(tensor)}"
            shares = received.get(id(tensor), [])
            text = labels[node_id]
            if tensor is loss and frame > 0:
                text += "\ngrad 1"
            elif shares:
                total = sum(shares)
                parts = " + ".join(_number(s) for s in shares)
                text += f"\ngrad {parts} = {_number(total)}" if len(shares) > 1 else (
                    f"\ngrad {_number(total)}")
            frame_labels[node_id] = text
        caption = "Forward pass done: every value is known, no gradient yet."
        if frame > 0:
            step = steps[frame - 1]
            current = f"t{id(step.node)}"
            colors[current] = "#f9d56e"
            operation = f"op{id(step.node)}"
            colors[operation] = "#f9d56e"
            highlight = [(source, operation) for source, target in edges if target == operation]
            for parent, _ in step.sent:
                colors[f"t{id(parent)}"] = "#f6b8b0"
            caption = _caption(step, name_of, frame, len(steps))
        base = {node: {"leaf": "#d6e9f8", "constant": "#eeeeee", "value": "#ffffff",
                       "op": "#fdebc8"}[kind] for node, kind in kinds.items()}
        draw_graph(frame_labels, edges, layers=layers, edge_labels=edge_labels,
                   colors={**base, **colors}, highlight=highlight, spacing=spacing,
                   shapes={node: "circle" for node, kind in kinds.items() if kind == "op"},
                   fontsize=10, ax=ax, title=title)
        figure.subplots_adjust(bottom=0.24)
        figure.text(0.5, 0.03, caption, ha="center", va="bottom", fontsize=10)

    return _player(figure, draw, frames=len(steps) + 1, interval=1500)


def _name_everything(loss: Tensor, names: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``names``, plus v1, v2, ... for each unnamed tensor that takes part in the backward pass."""
    names = dict(names)
    named = {id(tensor) for tensor in names.values()}
    unnamed = [t for t in nodes(loss, constants=True) if t.requires_grad and id(t) not in named]
    for number, tensor in enumerate(unnamed, start=1):
        names[f"v{number}"] = tensor
    return names


def _caption(step: Step, name_of: Mapping[int, str], frame: int, frames: int) -> str:
    """Step k of n: which node passes back which gradient, and what each input gets."""
    name = name_of[id(step.node)]
    grad = float(np.asarray(step.grad).item())
    parts = []
    for parent, share in step.sent:
        value = float(np.asarray(share).item())
        local = f" (local derivative {value / grad:.4g})" if grad != 0 else ""
        parts.append(f"{name_of[id(parent)]} gets {value:.4g}{local}")
    sends = "; ".join(parts) if parts else "no input needs a gradient"
    inputs = [name_of.get(id(parent), _number(parent.data)) for parent in step.node.inputs]
    formula = (f" {step.node.op} ".join(inputs) if len(inputs) == 2
               else f"{step.node.op}({', '.join(inputs)})")
    return (f"Step {frame} of {frames}: {name} = {formula} passes back "
            f"dL/d{name} = {grad:.4g}.\n{sends}.")


def explorable(
    draw: Callable[[plt.Figure, object], None],
    values: Sequence,
    *,
    figsize: tuple[float, float] = (8.0, 3.2),
    dpi: int = 72,
) -> HTML:
    """A figure with a slider: ``draw(figure, value)`` is called for each value, one frame each.

    Use it for results computed in advance, e.g. one training run per learning rate: the page
    holds every frame, and the slider (or the player's buttons) picks one, with no kernel.
    """
    if len(values) == 0:
        raise ValueError("explorable needs at least one value to show")
    figure = plt.figure(figsize=figsize, dpi=dpi)

    def frame(index: int) -> None:
        figure.clear()
        draw(figure, values[index])

    return _player(figure, frame, frames=len(values), interval=800)


# matplotlib's player draws its buttons with Font Awesome icons from a CDN, which a reader
# offline (or a page that must not leave its own site) cannot load: plain characters instead.
_ICONS = {"fa-minus": "−", "fa-plus": "+", "fa-fast-backward": "|◀◀", "fa-step-backward": "◀|",
          "fa-play fa-flip-horizontal": "◀", "fa-pause": "||", "fa-play": "▶",
          "fa-step-forward": "|▶", "fa-fast-forward": "▶▶|"}


def _player(figure: plt.Figure, draw: Callable[[int], None], *, frames: int,
            interval: int) -> HTML:
    """``draw(0)``, ..., ``draw(frames - 1)`` as matplotlib's JavaScript player: self-contained
    HTML, every frame embedded as an image, no request leaving the page.

    We render each frame once, into the player's writer. (``FuncAnimation.to_jshtml`` makes
    the same HTML but renders every frame twice, and the first frame once more; rendering once
    took about a third less time for each of the book's players, measured.)
    """
    writer = HTMLWriter(fps=1000 / interval, embed_frames=True, default_mode="once")
    with tempfile.TemporaryDirectory() as folder, plt.rc_context({"savefig.bbox": None}):
        path = Path(folder) / "player.html"
        with writer.saving(figure, path, dpi=figure.dpi):
            for frame in range(frames):
                draw(frame)
                writer.grab_frame()
        html = path.read_text()
    plt.close(figure)
    html = re.sub(r'<link rel="stylesheet"\s+href="[^"]*font-awesome[^"]*">', "", html)
    for icon, text in _ICONS.items():
        html = html.replace(f'<i class="fa {icon}"></i>', text)
    if "fa fa-" in html or "://" in html:
        raise RuntimeError("matplotlib's player changed: an icon or a link to the internet is "
                           "left in it; update backprop.interactive._ICONS")
    return HTML(html)


def tinynet_tensors(weights: Sequence[float] | None = None) -> dict[str, Tensor]:
    """The chain-rule chapter's 2-2-2 network built from one-element autograd tensors.

    The same formulas as ``backprop.tinynet`` (no biases), one tensor per named quantity, so the
    engine's backward pass can be watched unit by unit. Returns every named tensor: the weights
    ``w1`` ... ``w8``, the net inputs ``h1, h2, o1, o2``, the activations ``a_h1`` ... ``a_o2``,
    and the error ``E``.
    """
    from backprop import tinynet

    values = tinynet.WEIGHTS if weights is None else weights
    w = {f"w{k}": Tensor(float(v), requires_grad=True) for k, v in enumerate(values, start=1)}
    (i1, i2), (t1, t2) = tinynet.INPUTS, tinynet.TARGETS
    t = dict(w)
    t["h1"] = w["w1"] * i1 + w["w2"] * i2
    t["h2"] = w["w3"] * i1 + w["w4"] * i2
    t["a_h1"], t["a_h2"] = t["h1"].sigmoid(), t["h2"].sigmoid()
    t["o1"] = w["w5"] * t["a_h1"] + w["w6"] * t["a_h2"]
    t["o2"] = w["w7"] * t["a_h1"] + w["w8"] * t["a_h2"]
    t["a_o1"], t["a_o2"] = t["o1"].sigmoid(), t["o2"].sigmoid()
    t["E"] = 0.5 * (t1 - t["a_o1"]) ** 2 + 0.5 * (t2 - t["a_o2"]) ** 2
    return t


_UNITS = [["i1", "i2"], ["h1", "h2"], ["o1", "o2"], ["E"]]
_WEIGHT_EDGES = {("i1", "h1"): "w1", ("i2", "h1"): "w2", ("i1", "h2"): "w3", ("i2", "h2"): "w4",
                 ("h1", "o1"): "w5", ("h2", "o1"): "w6", ("h1", "o2"): "w7", ("h2", "o2"): "w8"}


def network_stepthrough(*, dpi: int = 80) -> HTML:
    """Step through the engine's backward pass on the 2-2-2 network, one unit per frame.

    Frame 0 is the forward pass. Each later frame is one named quantity's turn (E, then
    a_o1 and o1, ..., in the order ``loss.backward()`` visits them), with every gradient that
    has arrived by then written on the figure: on a unit, dE/d(its activation) and its delta
    dE/d(net input); on a connection, dE/dw. a_h1 and a_h2 feed both outputs, so their gradient
    arrives in two parts that are added, the sum over paths of the chain rule.
    """
    tensors = tinynet_tensors()
    name_of = {id(tensor): name for name, tensor in tensors.items()}
    steps = record_backward(tensors["E"])
    turns = [index for index, step in enumerate(steps)
             if id(step.node) in name_of and step.node.inputs]
    figure, (ax, panel) = plt.subplots(1, 2, figsize=(10.0, 4.4), dpi=dpi,
                                       gridspec_kw={"width_ratios": [3.2, 1]})

    # The title is drawn once: removing it with the captions leaves Matplotlib (before 3.11)
    # holding a removed title, which the next frame's layout trips over.
    title = figure.suptitle("The backward pass through the 2-2-2 network", fontsize=11)

    def draw(frame: int) -> None:
        for text in [text for text in figure.texts if text is not title]:  # the captions
            text.remove()
        ax.clear()
        panel.clear()
        # a frame shows its turn and the unnamed steps after it (the products that pass the
        # gradient on to the weights), up to the next named quantity's turn
        end = 0 if frame == 0 else turns[frame] if frame < len(turns) else len(steps)
        received = _received_after(steps, end)
        shares = {name: [float(np.asarray(s).item()) for s in received.get(id(t), [])]
                  for name, t in tensors.items()}
        current = name_of[id(steps[turns[frame - 1]].node)] if frame else None
        labels, colors = _unit_labels(tensors, shares, current)
        from backprop.plots import draw_network

        draw_network(_UNITS, {edge: name for edge, name in _WEIGHT_EDGES.items()},
                     labels=labels, colors=colors, shape="round", ax=ax, fontsize=9,
                     label_position=0.6, spacing=(2.6, 1.6))
        _weight_panel(panel, tensors, shares)
        figure.subplots_adjust(left=0.01, right=0.99, top=0.9, bottom=0.14, wspace=0.02)
        caption = ("Forward pass done: every value is known, no gradient yet." if not frame else
                   f"Turn {frame} of {len(turns)}: {current} has its whole gradient and passes "
                   "it back to what it was computed from.")
        figure.text(0.5, 0.02, caption, ha="center", va="bottom", fontsize=10)

    return _player(figure, draw, frames=len(turns) + 1, interval=1500)


def _sum_text(shares: Sequence[float]) -> str:
    """'0.04' for one share, '0.03 + 0.01 = 0.04' for several (a value used twice)."""
    total = _number(sum(shares), 3)
    if len(shares) == 1:
        return total
    return " + ".join(f"({_number(s, 3)})" if s < 0 else _number(s, 3) for s in shares) + (
        f" = {total}")


def _gradient_lines(name: str, shares: Sequence[float]) -> list[str]:
    """'dE/da_h1 = 0.0151' and, for a value used twice, its parts on a line of their own below
    ('= 0.0569 + (-0.0419)'), so the unit's box stays narrow enough not to hide the weights."""
    symbol = f"δ_{name}" if not name.startswith("a_") else f"dE/d{name}"
    if len(shares) == 1:
        return [f"{symbol} = {_sum_text(shares)}"]
    parts = " + ".join(f"({_number(s, 3)})" if s < 0 else _number(s, 3) for s in shares)
    return [f"{symbol} = {_number(sum(shares), 3)}", f"= {parts}"]


def _unit_labels(tensors: Mapping[str, Tensor], shares: Mapping[str, list[float]],
                 current: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """Each unit's text (value, dE/d activation, delta) and the colour of the unit whose turn it is."""
    from backprop import tinynet

    labels = {f"i{k}": f"i{k} = {_number(v)}" for k, v in enumerate(tinynet.INPUTS, start=1)}
    colors = {}
    for unit in ("h1", "h2", "o1", "o2"):
        activation = f"a_{unit}"
        lines = [f"{activation} = {_number(tensors[activation].data, 3)}"]
        for name in (activation, unit):
            if shares[name]:
                lines += _gradient_lines(name, shares[name])
        labels[unit] = f"{unit}\n" + "\n".join(lines)
        if current in (unit, activation):
            colors[unit] = "#f9d56e"
    labels["E"] = f"E = {_number(tensors['E'].data)}" + ("\ndE/dE = 1" if current else "")
    if current == "E":
        colors["E"] = "#f9d56e"
    return labels, colors


def _weight_panel(panel: plt.Axes, tensors: Mapping[str, Tensor],
                  shares: Mapping[str, list[float]]) -> None:
    """The eight weights, and dE/dw for each one whose gradient has arrived."""
    panel.axis("off")
    panel.text(0.0, 0.97, "weight    dE/dw", family="monospace", fontsize=9, va="top",
               weight="bold")
    for row, k in enumerate(range(1, 9), start=1):
        name = f"w{k}"
        grad = _sum_text(shares[name]) if shares[name] else "·"
        panel.text(0.0, 0.97 - 0.1 * row, f"{name} = {_number(tensors[name].data, 2):<5} {grad}",
                   family="monospace", fontsize=9, va="top",
                   color="#c0392b" if shares[name] else "#555555")


def learning_rate_explorer(rates: Sequence[float], steps: int, *, dpi: int = 72) -> HTML:
    """A slider over learning rates for the 2-2-2 network: E_total and the two outputs per step.

    Each rate is trained with ``backprop.tinynet`` (plain gradient descent from the chapter's
    starting weights) when the book is built; the slider picks which run is drawn in colour.
    """
    from backprop import tinynet

    runs = {}
    for rate in rates:
        weights, errors, outputs = np.array(tinynet.WEIGHTS), [], []
        for _ in range(steps + 1):
            state = tinynet.forward(weights)
            errors.append(state.E_total)
            outputs.append((state.a_o1, state.a_o2))
            weights = tinynet.sgd_step(weights, rate)
        runs[rate] = (np.array(errors), np.array(outputs))

    def draw(figure: plt.Figure, rate: float) -> None:
        left, right = figure.subplots(1, 2)
        for other, (errors, _) in runs.items():
            left.plot(errors, color="#cccccc", lw=1)
        errors, outputs = runs[rate]
        left.plot(errors, color="#c0392b", lw=2)
        left.set(yscale="log", xlabel="step", ylabel="E_total", title=f"lr = {rate:g}")
        for k, target in enumerate(tinynet.TARGETS):
            right.plot(outputs[:, k], lw=2, label=f"a_o{k + 1}")
            right.axhline(target, color="#555555", ls=":", lw=1)
        right.set(ylim=(-0.05, 1.05), xlabel="step", ylabel="output",
                  title="outputs (dotted: targets)")
        right.legend(loc="center right")
        figure.tight_layout()

    return explorable(draw, list(rates), dpi=dpi)


VALLEY_STEEPNESS = 100.0


def _valley(point: Tensor) -> Tensor:
    """f(x, y) = (x^2 + 100 y^2) / 2: a long, narrow valley, 100 times steeper across than along
    (curvatures 1 and 100), the shape that makes plain gradient descent zigzag."""
    return 0.5 * (point * point * Tensor([1.0, VALLEY_STEEPNESS])).sum()


def optimizer_paths(
    optimizers: Mapping[str, Callable[[list[Tensor]], object]],
    *,
    start: tuple[float, float] = (-4.0, 0.4),
    steps: int = 50,
) -> dict[str, np.ndarray]:
    """Where each optimiser goes on the valley f(x, y) = (x^2 + 100 y^2) / 2, step by step.

    ``optimizers`` maps a name to a function that makes the optimiser from a parameter list,
    e.g. ``{"SGD": lambda params: optim.SGD(params, lr=0.09)}``. Each path has shape
    (steps + 1, 2) and starts at ``start``; the minimum is at (0, 0).
    """
    paths = {}
    for name, make in optimizers.items():
        point = Tensor(np.array(start, dtype=np.float64), requires_grad=True)
        optimizer = make([point])
        path = [point.data.copy()]
        for _ in range(steps):
            optimizer.zero_grad()
            _valley(point).backward()
            optimizer.step()
            path.append(np.array(point.data, copy=True))
        paths[name] = np.array(path)
    return paths


def optimizer_race(paths: Mapping[str, np.ndarray], *, frames: int = 21, dpi: int = 64) -> HTML:
    """A slider over steps: each optimiser's path on the valley so far, and its loss.

    The axes, the contours and the layout are made once; each frame only moves the lines' ends.
    (Redrawing the whole figure per frame, as ``explorable`` does, spent most of its time laying
    out the log-scale ticks again: 21 frames took 10 s instead of 2.4.)
    """
    steps = len(next(iter(paths.values()))) - 1
    shown = [int(step) for step in np.unique(np.linspace(0, steps, frames).round())]
    x, y = np.meshgrid(np.linspace(-4.5, 1.5, 121), np.linspace(-1.6, 1.6, 81))
    surface = 0.5 * (x**2 + VALLEY_STEEPNESS * y**2)
    losses = {name: 0.5 * (path[:, 0] ** 2 + VALLEY_STEEPNESS * path[:, 1] ** 2)
              for name, path in paths.items()}
    colors = dict(zip(paths, plt.rcParams["axes.prop_cycle"].by_key()["color"]))

    figure, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.4), dpi=dpi,
                                         gridspec_kw={"width_ratios": [1.6, 1]})
    left.contour(x, y, surface, levels=np.geomspace(0.05, 150, 12), colors="#bbbbbb",
                 linewidths=0.8)
    left.plot(0, 0, "k*", ms=10)
    where = {name: left.plot([], [], "-o", ms=2.5, lw=1.2, color=colors[name], label=name)[0]
             for name in paths}
    loss = {name: right.semilogy([], [], color=colors[name], lw=1.8)[0] for name in paths}
    left.set(xlim=(-4.5, 1.5), ylim=(-1.6, 1.6), xlabel="x", ylabel="y")
    left.legend(loc="lower right", fontsize=8)
    right.set(xlim=(0, steps), ylim=(1e-6, 150), xlabel="step", ylabel="f(x, y)", title="loss")
    figure.tight_layout()

    def draw(frame: int) -> None:
        step = shown[frame]
        for name, path in paths.items():
            where[name].set_data(path[: step + 1, 0], path[: step + 1, 1])
            loss[name].set_data(np.arange(step + 1), losses[name][: step + 1])
        left.set_title(f"after {step} steps")

    return _player(figure, draw, frames=len(shown), interval=800)
