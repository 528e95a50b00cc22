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


# --- Same results on every computer -------------------------------------------------------------
# nbval compares every output of a cell not tagged `nbval-ignore-output` byte for byte with the
# saved one. A number at rounding-noise level (1e-17, the difference of two ways of computing the
# same thing) differs with the CPU, the BLAS kernels and the thread count, so printing its digits
# makes the test pass only on the machine that saved the notebook. Such numbers are printed as a
# verdict or a bound instead ("agree to within 1e-12: True"). A cell that prints a small number
# that is exact rather than noise (e^-40 = 4.2e-18) says so with the tag below.
TINY_IS_EXACT_TAG = "tiny-values-are-exact"
ROUNDING_NOISE = re.compile(r"\d(?:\.\d*)?e-(\d+)|0\.(0{12,})\d")


def compared_output_texts(path):
    """(cell index, text) for every text output nbval compares in a saved notebook."""
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or "nbval-ignore-output" in tags or TINY_IS_EXACT_TAG in tags:
            continue
        for output in cell.get("outputs", []):
            texts = [output.get("text", "")]
            texts += [output.get("data", {}).get(kind, "")
                      for kind in ("text/plain", "text/markdown", "text/html", "text/latex")]
            for text in texts:
                yield index, text if isinstance(text, str) else "".join(text)


BOUND_WORDS = ("within", "to", "below", "under", "<", "≤", "<=", "tolerance")


def rounding_noise_in(text):
    """The numbers in `text` small enough to be rounding noise: below 1e-12, unless a word before
    them makes them a stated bound ("agree to within 1e-12")."""
    return [match.group(0) for match in ROUNDING_NOISE.finditer(text)
            if (match.group(2) or int(match.group(1)) >= 12)
            and not text[:match.start()].rstrip().endswith(BOUND_WORDS)]


def test_rounding_noise_detector_catches_what_it_should():
    assert rounding_noise_in("max_abs 1.3877787807814457e-17, rel 2.1e-16") == [
        "1.3877787807814457e-17", "2.1e-16"]
    assert rounding_noise_in("x = 0.0000000000001234") == ["0.0000000000001"]
    assert rounding_noise_in("largest difference: 1e-17, and 4e-18") == ["1e-17", "4e-18"]
    assert rounding_noise_in("error 9.9e-08, loss 2.19, lr 1e-3, 0.000001") == []
    assert rounding_noise_in("agree to within 1e-12: True; error < 1e-15") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_compared_outputs_print_no_rounding_noise(path):
    noisy = [(index, number) for index, text in compared_output_texts(path)
             for number in rounding_noise_in(text)]
    assert not noisy, (
        f"{path.name}: cells {sorted({i for i, _ in noisy})} print numbers at rounding-noise level "
        f"{[n for _, n in noisy][:5]}, which another CPU prints differently. Print a verdict or a "
        f"bound instead (f'{{error < 1e-12}}'), or tag the cell nbval-ignore-output and assert "
        f"what must hold; if the tiny number is exact, not noise, tag it {TINY_IS_EXACT_TAG}."
    )


LITERAL_SEED = re.compile(r"\b(?:seed|rng)=\d|default_rng\(\d")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_randomness_comes_from_the_book_seed(path):
    code = [c.source for c in nbformat.read(path, as_version=4).cells[1:] if c.cell_type == "code"]
    literal = [line.strip() for source in code for line in source.splitlines()
               if LITERAL_SEED.search(line)]
    assert not literal, (
        f"{path.name} seeds with a literal number, so the seed-1 and seed-2 test runs cannot vary "
        f"it: {literal[:3]}. Derive it from SEED (rng=SEED + 1)."
    )
    if any("SEED" in source for source in code):
        assert "SEED = book_seed()" in code[0], (
            f"{path.name} uses SEED: define it in the first code cell with SEED = book_seed()")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_headings_carry_no_numbers_of_their_own(path):
    """The site numbers every heading ("1.6.1."): a heading typed "1. ..." reads "1.6.1. 1."."""
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type == "markdown":
            numbered = re.findall(r"^#{2,6} \d+(?:\.\d+)*\.? .*$", cell.source, re.M)
            assert not numbered, f"cell {index}: {numbered}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_directions_to_the_student_notebook_are_site_only(path):
    """A student notebook must not tell its reader to go and open the student notebook."""
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type == "markdown" and "student notebook" in cell.source:
            outside = re.sub(r"<!-- site-only -->.*?<!-- /site-only -->", "", cell.source, flags=re.S)
            assert "open this chapter's student notebook" not in outside, f"cell {index}"
            assert not re.search(r"(download|Colab)[^\n]*student/", outside), (
                f"cell {index}: a way to the student notebook outside <!-- site-only -->")


def test_the_front_pages_example_prints_what_its_comment_says():
    """intro.md opens with a few lines of the engine and the gradients they print: run them."""
    import contextlib
    import io
    import re

    text = (REPO / "intro.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {})
    said = re.findall(r"print\(.*\)\s*# ([-\d.]+(?: [-\d.]+)*)", code)
    assert len(said) == 2, said  # the forward value, then the two gradients
    assert printed.getvalue().split() == " ".join(said).split()


def test_the_front_pages_count_of_chapters_with_exercises_is_right():
    """intro.md and README.md say how many chapters have checked *Your turn* exercises."""
    import re

    with_checks = sorted(
        path.name for path in (REPO / "chapters").glob("[0-9][0-9]_*.ipynb")
        if re.search(r"check\.\w+\(", path.read_text())
    )
    count = len(with_checks)
    words = {10: "Every chapter asks", 9: "Nine of the ten chapters ask"}
    assert words[count] in (REPO / "intro.md").read_text(), with_checks
    readme = (REPO / "README.md").read_text()
    assert ("Every chapter has *Your turn*" in readme) == (count == 10), with_checks
