"""Every chapter within the guide's budget for what a reader sees (tools/chapter_budget.py):
at most 4,000 words of Markdown, 40 code cells shown, 30 lines in a shown cell and 88
characters in a shown line of code or text output. The page-level half (sideways scrolling,
cut equations, shrunk figures, screens) is measured in the browser by tests/test_site.py."""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("chapter_budget",
                                               REPO / "tools" / "chapter_budget.py")
budget = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(budget)


@pytest.mark.parametrize("path", sorted((REPO / "chapters").glob("[0-9][0-9]_*.ipynb")),
                         ids=lambda p: p.name)
def test_chapter_is_within_the_budget(path):
    numbers = budget.measure(path)
    over = {key: (numbers[key], limit) for key, limit in budget.BUDGET.items()
            if numbers[key] > limit}
    assert not over, f"{path.name} over the budget (measured, limit): {over}"
