"""One notation for the whole book: the glossary's (chapters/glossary.md, "Notation").

Each rule below is a drift an independent review found in a chapter's math; the test fails when one
comes back. It reads the math of every chapter's Markdown ($...$ and $$...$$).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.ipynb"))

# (pattern in the math, what the glossary writes instead)
DRIFTS = [
    (r"\\delta_\{?[ij][jk]\}?", "[i = k] for 'one if i = k', never Kronecker's delta: "
                                "δ is a unit's delta"),
    (r"\\operatorname\{softmax\}\s*\(\s*[zZ]", "u for a softmax's input: s = softmax(u)"),
    (r"(?<![\w\\])Z\s*=\s*X\s*W", "Y = X W^T + b for a layer's output"),
    (r"(?<![\w\\])[pP]_?\{?i?\}?\s*-\s*[yY](?![\w])", "t for a target: p - t"),
    (r"\\hat\{?y", "p for a prediction and t for a target, not ŷ and y"),
    (r"(?<![\w\\])s_\{?t\}?(?![\w])", "Adam's second moment is v, as in the code"),
]


def math_of(path: Path) -> list[tuple[int, str]]:
    """(cell index, formula) for every $...$ and $$...$$ in a chapter's Markdown."""
    formulas = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"`[^`]*`", "", cell.source)  # code spans are code, not math
        for match in re.finditer(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", text, re.S):
            formulas.append((index, match[1] or match[2]))
    return formulas


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_the_math_follows_the_glossarys_notation(path):
    found = []
    for index, formula in math_of(path):
        for pattern, instead in DRIFTS:
            if re.search(pattern, formula):
                found.append(f"cell {index}: {formula.strip()[:70]!r}: write {instead}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("formula, pattern_index", [
    (r"\partial s_i/\partial u_k = s_i(\delta_{ik} - s_k)", 0),
    (r"p = \operatorname{softmax}(z)", 1),
    (r"Z = X W^\top + b", 2),
    (r"\partial L/\partial u = p - y", 3),
    (r"\hat{y}", 4),
    (r"s_t = \beta_2 s_{t-1}", 5),
])
def test_each_rule_catches_the_drift_it_names(formula, pattern_index):
    assert re.search(DRIFTS[pattern_index][0], formula)


@pytest.mark.parametrize("formula", [
    r"\delta_{o1} = (a_{o1} - t_1)", r"s = \operatorname{softmax}(u)", r"Y = X W^\top + b",
    r"p - t", r"\partial s_i/\partial u_k = s_i([i = k] - s_k)", r"v_t = \beta_2 v_{t-1}",
    r"\delta_{h1}",
])
def test_the_glossarys_own_notation_passes(formula):
    assert not any(re.search(pattern, formula) for pattern, _ in DRIFTS)
