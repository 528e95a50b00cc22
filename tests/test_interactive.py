"""The step-through figures: the recorded backward pass is the engine's, and the page is offline."""

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from backprop import tinynet
from backprop.autograd import Tensor
from backprop.interactive import (backward_stepthrough, explorable, network_stepthrough,
                                  record_backward, tinynet_tensors)


def diamond():
    x, y = Tensor(2.0, requires_grad=True), Tensor(3.0, requires_grad=True)
    q, r = x * y, x + y
    return x, y, q, r, q * r


def test_record_backward_leaves_the_gradients_backward_gives():
    x, y, _, _, f = diamond()
    record_backward(f)
    recorded = (x.grad.item(), y.grad.item())
    x2, y2, _, _, f2 = diamond()
    f2.backward()
    assert recorded == (x2.grad.item(), y2.grad.item()) == (21.0, 16.0)  # d(xy(x+y)) by hand


def test_steps_come_in_reverse_topological_order_and_shares_add_up():
    x, y, q, r, f = diamond()
    steps = [step for step in record_backward(f) if step.node.inputs]
    order = [step.node for step in steps]
    assert order[0] is f and {id(order[1]), id(order[2])} == {id(q), id(r)}
    shares_to_x = [share.item() for step in steps for parent, share in step.sent if parent is x]
    assert sorted(shares_to_x) == [6.0, 15.0] and sum(shares_to_x) == x.grad.item()


def test_a_constant_receives_nothing():
    x = Tensor(2.0, requires_grad=True)
    steps = record_backward(x * 3.0)
    assert [len(step.sent) for step in steps if step.node.inputs] == [1]


def test_record_backward_restores_the_graph_after_an_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    original = y.backward_fn
    with pytest.raises(RuntimeError, match="grad="):
        record_backward(y)  # two elements: backward() needs grad=
    assert y.backward_fn is original


def test_the_network_tensors_give_the_hand_derived_gradient():
    tensors = tinynet_tensors()
    tensors["E"].backward()
    engine = [tensors[f"w{k}"].grad.item() for k in range(1, 9)]
    assert np.allclose(engine, tinynet.gradient(tinynet.WEIGHTS), rtol=1e-12, atol=0)
    assert np.isclose(tensors["E"].item(), tinynet.loss(tinynet.WEIGHTS), rtol=1e-14)


def frames_of(html):
    return re.findall(r'frames\[\d+\] = "data:image/png;base64', html)


def assert_offline(html):
    assert "://" not in html, "the player must not load anything from the internet"
    assert "fa fa-" not in html, "icon fonts are not served: buttons must be plain characters"


def test_the_diamond_step_through_has_a_frame_per_operation_plus_the_forward_pass():
    x, y, q, r, f = diamond()
    html = backward_stepthrough(f, {"x": x, "y": y, "q": q, "r": r, "f": f}).data
    assert len(frames_of(html)) == 3 + 1
    assert_offline(html)


def test_the_step_through_refuses_tensors_with_many_elements():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="one-element"):
        backward_stepthrough((x * x).sum(), {"x": x})


def test_the_network_step_through_has_a_frame_per_named_quantity():
    html = network_stepthrough(dpi=40).data
    assert len(frames_of(html)) == 1 + 9  # the forward pass, then E, a_o1, o1, ..., h2
    assert_offline(html)


def test_explorable_makes_one_frame_per_value_and_refuses_none():
    html = explorable(lambda figure, value: figure.add_subplot().plot([0, value]), [1, 2, 3],
                      dpi=30).data
    assert len(frames_of(html)) == 3
    assert_offline(html)
    with pytest.raises(ValueError, match="at least one"):
        explorable(lambda figure, value: None, [])


def test_gradient_descent_on_the_valley_follows_the_closed_form():
    from backprop import optim
    from backprop.interactive import VALLEY_STEEPNESS, optimizer_paths

    paths = optimizer_paths({"SGD": lambda params: optim.SGD(params, lr=0.015)},
                            start=(-4.0, 0.4), steps=30)
    k = np.arange(31)
    expected = np.stack([-4.0 * (1 - 0.015) ** k, 0.4 * (1 - 0.015 * VALLEY_STEEPNESS) ** k], 1)
    assert paths["SGD"].shape == (31, 2)
    assert np.allclose(paths["SGD"], expected, rtol=1e-12, atol=1e-15)


def test_the_race_and_the_learning_rate_explorer_are_offline_players():
    from backprop import optim
    from backprop.interactive import learning_rate_explorer, optimizer_paths, optimizer_race

    paths = optimizer_paths({"SGD": lambda params: optim.SGD(params, lr=0.01)}, steps=10)
    race = optimizer_race(paths, frames=4, dpi=30).data
    rates = learning_rate_explorer([0.5, 5.0], steps=5, dpi=30).data
    assert len(frames_of(race)) == 4 and len(frames_of(rates)) == 2
    assert_offline(race)
    assert_offline(rates)


@pytest.mark.parametrize("make", [
    network_stepthrough,
    lambda: backward_stepthrough(diamond()[-1], {}),
])
def test_every_frame_shows_one_caption_not_the_earlier_ones_too(monkeypatch, make):
    import backprop.interactive as interactive

    made = {}
    monkeypatch.setattr(interactive, "_player",
                        lambda figure, draw, **_: made.update(figure=figure, draw=draw))
    make()
    counts = []
    for frame in range(4):
        made["draw"](frame)
        counts.append(len(made["figure"].texts))
    plt.close(made["figure"])
    assert len(set(counts)) == 1, f"texts per frame {counts}: captions pile up"
