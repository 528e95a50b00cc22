"""Graph and network drawing: the layout puts every edge left to right, and every node, edge
and label that was asked for is drawn."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from backprop.plots import draw_graph, draw_network, graph_layers  # noqa: E402

DIAMOND = [("x", "q"), ("y", "q"), ("x", "r"), ("y", "r"), ("q", "f"), ("r", "f")]


def arrows(fig):
    return [child for child in fig.axes[0].get_children() if isinstance(child, Annotation)]


def texts(fig):
    return [text.get_text() for text in fig.axes[0].texts if not isinstance(text, Annotation)]


def test_layers_follow_the_longest_path_and_keep_the_given_order():
    assert graph_layers(["x", "y", "q", "r", "f"], DIAMOND) == [["x", "y"], ["q", "r"], ["f"]]
    # a skip connection does not pull f into the second column
    assert graph_layers(["a", "b", "c"], [("a", "b"), ("b", "c"), ("a", "c")]) == [["a"], ["b"], ["c"]]


def test_layers_of_a_deep_chain_need_no_recursion():
    nodes = [f"n{i}" for i in range(5000)]
    columns = graph_layers(nodes, list(zip(nodes, nodes[1:])))
    assert len(columns) == 5000 and columns[-1] == ["n4999"]


def test_layer_errors():
    with pytest.raises(ValueError, match="cycle"):
        graph_layers(["a", "b"], [("a", "b"), ("b", "a")])
    with pytest.raises(ValueError, match="not in nodes"):
        graph_layers(["a"], [("a", "z")])


def test_draw_graph_draws_every_node_edge_and_label():
    labels = {"x": "$x$", "y": "$y$", "q": "$q$", "r": "$r$", "f": "$f$"}
    fig = draw_graph(labels, DIAMOND, edge_labels={("x", "r"): "$y$"}, highlight=[("x", "q")])
    assert len(arrows(fig)) == len(DIAMOND)
    assert sorted(texts(fig)) == sorted([*labels.values(), "$y$"])
    colours = {arrow.arrow_patch.get_edgecolor() for arrow in arrows(fig)}
    assert len(colours) == 2  # highlighted and plain
    plt.close(fig)


def test_draw_graph_rejects_layers_that_leave_out_a_node():
    with pytest.raises(ValueError, match="missing"):
        draw_graph(["a", "b"], [("a", "b")], layers=[["a"]])


def test_draw_network_connects_consecutive_layers_fully():
    layers = [["i1", "i2"], ["h1", "h2"], ["o1", "o2"], ["E"]]
    weights = {("i1", "h1"): "$w_1$", ("h2", "o2"): "$w_8$"}
    fig, ax = plt.subplots()
    assert draw_network(layers, weights, labels={"E": "$E$"}, ax=ax) is fig
    assert len(arrows(fig)) == 4 + 4 + 2
    assert {"$w_1$", "$w_8$", "$E$", "i1"} <= set(texts(fig))
    plt.close(fig)


def test_label_offset_lifts_edge_labels_off_the_line():
    def label_centre_y(offset):
        fig = draw_graph(["a", "b"], [("a", "b")], edge_labels={("a", "b"): "L"},
                         label_offset=offset)
        fig.canvas.draw()
        label = next(text for text in fig.axes[0].texts if text.get_text() == "L")
        box = label.get_window_extent()
        plt.close(fig)
        return (box.y0 + box.y1) / 2, fig.dpi

    on_line, dpi = label_centre_y(0)
    above, _ = label_centre_y(10)
    assert above - on_line == pytest.approx(10 * dpi / 72, abs=1)
