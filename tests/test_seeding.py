"""The book's one seed: read from BACKPROP_SEED, 0 by default, clear errors for bad values."""

import random

import numpy as np
import pytest

from backprop.seeding import book_seed


def test_default_seed_is_zero(monkeypatch):
    monkeypatch.delenv("BACKPROP_SEED", raising=False)
    assert book_seed() == 0


def test_seed_comes_from_the_environment_and_seeds_the_global_generators(monkeypatch):
    monkeypatch.setenv("BACKPROP_SEED", " 2 ")
    assert book_seed() == 2
    first = (random.random(), np.random.random())
    book_seed()
    assert (random.random(), np.random.random()) == first
    monkeypatch.setenv("BACKPROP_SEED", "1")
    book_seed()
    assert (random.random(), np.random.random()) != first


@pytest.mark.parametrize("value, message", [("one", "not a whole number"), ("1.5", "not a whole"),
                                            ("-1", "out of range"), (str(2**32), "out of range")])
def test_a_bad_seed_is_named_in_the_error(monkeypatch, value, message):
    monkeypatch.setenv("BACKPROP_SEED", value)
    with pytest.raises(ValueError, match=message) as error:
        book_seed()
    assert "BACKPROP_SEED" in str(error.value)
