"""Source display: the chapters show the library's code through it, so it must be exact."""

import inspect

import pytest

from backprop import data, show
from backprop.show import show_source


def test_markdown_holds_the_exact_source_with_file_and_lines():
    shown = show_source(data.read_idx)
    lines, first = inspect.getsourcelines(data.read_idx)
    markdown = shown._repr_markdown_()
    assert "".join(lines).strip() in markdown
    assert f"`src/backprop/data.py`, lines {first}–{first + len(lines) - 1}" in markdown
    assert markdown.count("```python") == 1


def test_methods_are_dedented():
    shown = show_source(show.SourceCode._repr_markdown_)
    assert shown.text.startswith("def _repr_markdown_")


def test_fence_is_longer_than_any_backticks_in_the_source():
    shown = show_source(show)  # this module's docstring mentions backticks
    assert "````python" in shown._repr_markdown_() or "```" not in shown.text


def test_objects_without_source_give_a_clear_error():
    with pytest.raises(TypeError, match="Cannot show the source of"):
        show_source(len)
