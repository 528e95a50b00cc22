"""The AutoGrad chapter's plain and broken versions behave as the chapter says."""

import sys

import numpy as np
import pytest

from backprop.autograd import Tensor
from backprop.lessons import (overwriting_gradients, recursive_topological_order,
                              reverse_topological_order)


def test_recursive_order_equals_the_engine_order_on_a_small_graph():
    x, y = Tensor(2.0, requires_grad=True), Tensor(3.0, requires_grad=True)
    f = (x + y) * (x * y)
    assert [id(t) for t in recursive_topological_order(f)][0] == id(f)
    assert {id(t) for t in recursive_topological_order(f)} == {
        id(t) for t in reverse_topological_order(f)}


def test_recursive_order_fails_on_a_deep_chain_and_the_engine_does_not():
    chain = start = Tensor(1.0, requires_grad=True)
    for _ in range(sys.getrecursionlimit() + 10):
        chain = chain * 1.0
    with pytest.raises(RecursionError):
        recursive_topological_order(chain)
    chain.backward()
    assert start.grad == 1.0


def test_overwriting_gradients_loses_a_contribution_and_restores_the_engine():
    with overwriting_gradients():
        x = Tensor(2.0, requires_grad=True)
        (x * x * x).backward()
        assert x.grad == 4.0
    x = Tensor(2.0, requires_grad=True)
    (x * x * x).backward()
    assert np.isclose(x.grad, 12.0)
