"""Drawing what autograd recorded (``autograd_graph``, ``draw_autograd_graph``) and the picture of
broadcasting (``draw_broadcast``)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from backprop.autograd import Tensor  # noqa: E402
from backprop.plots import autograd_graph, draw_autograd_graph, draw_broadcast  # noqa: E402


def diamond():
    """Chapter 1's f = (x + y)(x y): x and y are each used twice."""
    x, y = Tensor(2.0, requires_grad=True), Tensor(3.0, requires_grad=True)
    q, r = x + y, x * y
    f = q * r
    f.backward()
    return f, {"x": x, "y": y, "q": q, "r": r, "f": f}


def test_each_tensor_is_one_node_and_each_op_a_node_between_inputs_and_result():
    f, names = diamond()
    labels, edges, kinds, edge_labels = autograd_graph(f, names)
    assert sorted(kinds.values()) == ["leaf", "leaf", "op", "op", "op", "value", "value", "value"]
    assert len(edges) == 9  # x, y into + and *, q and r into *, and three op -> result arrows
    assert edge_labels == {}
    assert sorted(labels[f"t{id(t)}"] for t in names.values()) == sorted(
        ["x = 2\ngrad 21", "y = 3\ngrad 16", "q = 5\ngrad 6", "r = 6\ngrad 5", "f = 30\ngrad 1"]
    )
    assert labels[f"op{id(f)}"] == "*"
    position = {node: index for index, node in enumerate(labels)}
    assert all(position[source] < position[target] for source, target in edges)


def test_an_input_used_twice_by_one_op_gets_a_times_two_edge_and_constants_are_marked():
    x = Tensor(3.0, requires_grad=True)
    y = x * x + 1
    labels, edges, kinds, edge_labels = autograd_graph(y, {"x": x}, grads=False)
    assert edge_labels == {(f"t{id(x)}", f"op{id(y.inputs[0])}"): "×2"}
    assert list(kinds.values()).count("constant") == 1
    assert "grad" not in "".join(labels.values())


def test_non_scalar_tensors_show_their_shape():
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    out = (Tensor(np.ones((4, 3))) @ w).sum()
    labels, _, _, _ = autograd_graph(out, {"W": w})
    assert labels[f"t{id(w)}"] == "W\n(3, 2)"


def test_a_deep_graph_is_walked_without_recursion():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    labels, edges, _, _ = autograd_graph(y)
    assert len(labels) == 1 + 3000 * 3  # x, and per step a constant, an op and a result


def test_draw_autograd_graph_draws_every_edge_and_puts_constants_beside_their_op():
    x = Tensor(2.0, requires_grad=True)
    y = (x * 3.0) ** 2
    fig = draw_autograd_graph(y, {"x": x, "y": y}, title="a graph")
    arrows = [child for child in fig.axes[0].get_children() if isinstance(child, Annotation)]
    assert len(arrows) == len(autograd_graph(y)[1]) == 6
    positions = {text.get_text(): text.get_position() for text in fig.axes[0].texts}
    # each constant sits one column before its op, not in the first column with x
    assert positions["3"][0] == positions["x = 2"][0]
    assert positions["2"][0] > positions["3"][0]
    plt.close(fig)


@pytest.mark.parametrize(("a", "b", "sums"), [
    ((4, 3), (3,), ["22", "26", "30"]),
    ((4, 1), (1, 3), ["22", "26", "30"]),
    ((2, 3), (2, 1), ["6", "15"]),
    ((2, 2), (), ["10"]),
])
def test_draw_broadcast_sums_the_gradient_of_each_copy(a, b, sums):
    fig = draw_broadcast(a, b)
    texts = [text.get_text() for text in fig.axes[0].texts]
    out = np.broadcast_shapes(a, b)
    numbered = [str(n) for n in range(1, int(np.prod(out)) + 1)]
    assert texts[: len(numbered)] == numbered
    assert texts[len(numbered): len(numbered) + len(sums)] == sums
    assert f"gradient of b {b}" in texts
    plt.close(fig)


def test_draw_broadcast_refuses_three_axes():
    with pytest.raises(ValueError, match="at most 2 axes"):
        draw_broadcast((2, 2, 2), (2,))


def test_draw_broadcast_uses_the_given_operand_names():
    fig = draw_broadcast((4, 3), (3,), names=("x", "bias"))
    texts = [text.get_text() for text in fig.axes[0].texts]
    expected = {"x (4, 3)", "bias (3,) → (4, 3)", "x + bias (4, 3)", "gradient of bias (3,)"}
    assert expected <= set(texts)
    plt.close(fig)
