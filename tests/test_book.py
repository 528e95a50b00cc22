"""The book's structure: what a reader and a maintainer rely on, checked on the sources."""

import re
from pathlib import Path

import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
TOC_TEXT = (REPO / "_toc.yml").read_text()
NOTEBOOKS = sorted((REPO / "chapters").glob("*.ipynb"))


def test_there_are_chapters():
    assert NOTEBOOKS, "chapters/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_is_in_the_table_of_contents(path):
    assert f"chapters/{path.stem}" in TOC_TEXT, f"{path.name} is missing from _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_installs_the_library_from_the_configured_repository(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "code" and "remove-cell" in first.metadata.get("tags", [])
    assert f"git+{CONFIG['repository']['url']}" in first.source, (
        f"{path.name}: the set-up cell must install from repository.url in _config.yml"
    )
    # Figures must be embedded whatever MPLBACKEND the environment sets.
    assert "%matplotlib inline" in first.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_saved_executed_without_errors(path):
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert all(c.execution_count for c in cells[1:]), f"{path.name} has unexecuted cells"
    for cell in cells:
        assert not any(o.output_type == "error" for o in cell.outputs), cell.source[:80]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_source_display_cells_hide_their_input(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and re.fullmatch(r"(?s)(from .*?\n+)?show_source\(.*\)",
                                                     cell.source.strip()):
            assert "remove-input" in cell.metadata.get("tags", []), cell.source
