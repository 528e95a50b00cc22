"""Make the student notebooks, and write every notebook's set-up cell from ``_config.yml``.

    .venv/bin/python tools/make_student_notebooks.py           # write student/NN_name.ipynb
    .venv/bin/python tools/make_student_notebooks.py --check   # exit 1 if one is out of date

For each ``chapters/NN_name.ipynb`` it writes ``student/NN_name.ipynb`` in which

- the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markers) is
  replaced by ``...``, indented like the BEGIN line, so a "Your turn" cell arrives as a skeleton:
  signature, docstring, ``...``; the check cell after it then reports "not done yet";
- every sphinx-exercise solution (from ``{solution-start}`` to ``{solution-end}``, across any
  number of cells) is removed: on the site it is a dropdown, here it would be the answer;
- the Markdown is plain Jupyter Markdown (``tools/plain_markdown.py``): JupyterLab, Colab and
  GitHub do not render MyST, so glued numbers are written in, cross-references become links to
  the published site, and hints become ``<details>`` blocks that stay closed;
- outputs and execution counts are cleared, and a first note says what the file is.

Every notebook's first cell, chapters' and students', is the set-up cell that installs the
library where it is missing (Colab, Binder), from the repository named once in ``_config.yml``.

The student notebooks are committed (``student/``), because Colab opens notebooks from the
repository, and ``tests/test_student_notebooks.py`` regenerates them and fails if they differ.

Why not nbgrader itself: its ``ClearSolutions`` preprocessor is the convention followed here,
but ``import nbgrader`` loads its Jupyter server extensions, so using it pulls in about fifty
packages (JupyterLab, the notebook server, SQLAlchemy...) for twenty lines of work. This script
uses the same markers with nbformat and nbconvert's preprocessor API (``Preprocessor``,
``ClearOutputPreprocessor``), which cost eight small packages.
"""

from __future__ import annotations

import argparse
import re
import sys
from functools import cache
from pathlib import Path

import nbformat
import yaml
from nbconvert.preprocessors import ClearOutputPreprocessor, Preprocessor
from traitlets import Unicode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plain_markdown  # noqa: E402 (the converter beside this script)

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = REPO / "chapters"
STUDENT = REPO / "student"

WITH_CHECKS = """fill in every
`...` in a "Your turn" cell, then run the check cell below it. A check that says *not done yet*
is waiting for you; one that shows ✗ names the first wrong quantity and the likely mistake."""
WITHOUT_CHECKS = """its exercises ask you to
derive, run and explain: write your code in the empty cells they leave, and compare with the
chapter's numbers."""

NOTE = """\
**Your copy to work in.** This is the chapter *{title}* without its solutions: {work}
Hints stay folded until you click them. The full chapter, with its solutions, is
[on the course site]({url}).

*Generated from `chapters/{name}.ipynb` by `tools/make_student_notebooks.py`: edit the chapter,
not this file.*"""

SET_UP = """\
# Set-up for Colab, Binder or any Jupyter: make the course library `backprop` importable.
# Where it is installed already (`make lab`, `pip install`), this only sets the plots' backend.
%matplotlib inline
try:
    import backprop
except ImportError:
    %pip install --quiet "backprop-from-scratch @ git+{repository}@{branch}"
    import importlib
    importlib.invalidate_caches()
    import backprop"""


@cache
def book_config() -> dict:
    """``_config.yml``: the one place that names the repository and the published site."""
    return yaml.safe_load((REPO / "_config.yml").read_text())


def set_up_source() -> str:
    """The first cell of every notebook, with the repository from ``_config.yml``."""
    repository = book_config()["repository"]
    return SET_UP.format(repository=repository["url"].rstrip("/"),
                         branch=repository.get("branch", "main"))


@cache
def book_pages() -> tuple[str, ...]:
    """Every page of ``_toc.yml``, as paths without suffix (``chapters/01_chain_rule``)."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [entry["file"] for entry in part["chapters"]]
    return tuple(pages)


def markdown_context(chapter: Path, notebook: nbformat.NotebookNode) -> plain_markdown.Context:
    """What converting ``chapter``'s Markdown needs: the site's address, page titles, labels,
    glossary, references, and the values glued when the chapter was executed."""
    config = book_config()
    titles, labels = plain_markdown.page_titles_and_labels(REPO, list(book_pages()))
    return plain_markdown.Context(
        site=config["html"]["baseurl"].rstrip("/") + "/",
        repository=config["repository"]["url"].rstrip("/"),
        branch=config["repository"].get("branch", "main"),
        page=f"chapters/{chapter.stem}",
        titles=titles,
        labels=labels,
        glued=plain_markdown.glued_values(notebook),
        terms=plain_markdown.glossary_terms(CHAPTERS / "glossary.md"),
        citations=plain_markdown.bib_citations(CHAPTERS / "references.bib"),
    )


START = re.compile(r"^\s*(`{3,}|:{3,})\s*\{solution-start\}")
END = re.compile(r"^\s*(`{3,}|:{3,})\s*\{solution-end\}")


class ClearSolutions(Preprocessor):
    """Replace each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region of a code cell by a
    stub, indented like the BEGIN line (nbgrader's convention, without nbgrader)."""

    code_stub = Unicode("...", help="What replaces a solution region").tag(config=True)
    begin = Unicode("### BEGIN SOLUTION").tag(config=True)
    end = Unicode("### END SOLUTION").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or (self.begin not in cell.source
                                        and self.end not in cell.source):
            return cell, resources
        lines, inside = [], False
        for line in cell.source.split("\n"):
            if self.begin in line:
                if inside:
                    raise ValueError(f"cell {index}: a BEGIN SOLUTION inside another one")
                inside = True
                indent = line[: len(line) - len(line.lstrip())]
                lines += [indent + stub for stub in self.code_stub.split("\n")]
            elif self.end in line:
                if not inside:
                    raise ValueError(f"cell {index}: an END SOLUTION without its BEGIN")
                inside = False
            elif not inside:
                lines.append(line)
        if inside:
            raise ValueError(f"cell {index}: a BEGIN SOLUTION without its END SOLUTION")
        cell.source = "\n".join(lines)
        return cell, resources


class RemoveSolutionDropdowns(Preprocessor):
    """Drop every sphinx-exercise solution: from the line that opens ``{solution-start}`` to the
    closing fence of ``{solution-end}``, across cells. Text before the start and after the end
    in the same cells stays; a cell left empty goes."""

    def preprocess(self, nb, resources):
        kept, inside = [], False
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "markdown":
                if not inside:
                    kept.append(cell)
                continue
            lines, skip_fence = [], False
            for line in cell.source.split("\n"):
                if skip_fence:  # the ``` that closes the {solution-end} directive
                    skip_fence = False
                    if line.strip() in ("```", ":::") or set(line.strip()) <= {"`", ":"}:
                        continue
                if not inside and START.match(line):
                    inside = True
                elif inside and END.match(line):
                    inside, skip_fence = False, True
                elif START.match(line) or END.match(line):
                    raise ValueError(f"cell {index}: solution-start and solution-end do not pair")
                elif not inside:
                    lines.append(line)
            cell.source = "\n".join(lines).strip("\n")
            if cell.source.strip():
                kept.append(cell)
        if inside:
            raise ValueError("a {solution-start} without its {solution-end}")
        nb.cells = kept
        return nb, resources


def make_student(notebook: nbformat.NotebookNode, name: str,
                 context: plain_markdown.Context | None = None) -> nbformat.NotebookNode:
    """The student version of one chapter notebook (a new object; the input is not changed).
    With a ``context``, its Markdown is converted to plain Jupyter Markdown."""
    nb = nbformat.from_dict(notebook)  # a deep copy
    # Execution timestamps and the executing Python's version change with every run of a chapter
    # but mean nothing to a learner: dropped, so re-running a chapter leaves student/ up to date.
    clear_outputs = ClearOutputPreprocessor(
        remove_metadata_fields={"collapsed", "scrolled", "execution"})
    for preprocessor in (RemoveSolutionDropdowns(), ClearSolutions(), clear_outputs):
        nb, _ = preprocessor.preprocess(nb, {})
    nb.metadata.pop("language_info", None)
    give_each_exercise_a_cell(nb)
    title, url = name, "the course site"
    if context is not None:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                try:
                    cell.source = plain_markdown.convert(cell.source, context)
                except ValueError as error:
                    raise ValueError(f"{name}, cell {index}: {error}") from None
        title, url = context.titles.get(context.page, name), context.url(context.page)
    checked = any(cell.cell_type == "code" and "check." in cell.source for cell in nb.cells)
    note = nbformat.v4.new_markdown_cell(NOTE.format(
        name=name, title=title, url=url, work=WITH_CHECKS if checked else WITHOUT_CHECKS))
    note.id = "student-note"
    set_up_first = nb.cells and "remove-cell" in nb.cells[0].metadata.get("tags", [])
    nb.cells.insert(1 if set_up_first else 0, note)
    return nb


EXERCISE = re.compile(r"^\s*(`{3,}|:{3,})\s*\{exercise\}", re.MULTILINE)
# The chapters' "each has a worked solution to unfold once you have tried": in a student notebook
# the solutions are not there, but in the chapter on the site.
UNFOLD = re.compile(r"each has a worked solution to unfold\s+once\s+you\s+have\s+tried")
ON_THE_SITE = ("each has a worked solution in the chapter on the course site, to read once you "
               "have tried")
WORK_HERE = "# Your work here."
SITE_ONLY_REMARK = " (this cell is not shown on the site)"  # true of the chapter, not here


def give_each_exercise_a_cell(nb: nbformat.NotebookNode) -> None:
    """After a Markdown cell that sets exercises, a code cell to work in if none follows (the
    chapters' "further exercises" have their code only in the solutions, which are gone); the
    sentence that promises solutions to unfold points to the site instead, and the work cells
    drop their remark about the site."""
    cells = []
    for index, cell in enumerate(nb.cells):
        cells.append(cell)
        if cell.cell_type != "markdown":
            cell.source = cell.source.replace(SITE_ONLY_REMARK, "")
            continue
        cell.source = UNFOLD.sub(ON_THE_SITE, cell.source)
        following = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
        if EXERCISE.search(cell.source) and (following is None
                                             or following.cell_type != "code"):
            blank = nbformat.v4.new_code_cell(WORK_HERE)
            blank.id = f"work-{index}"
            cells.append(blank)
    nb.cells = cells


def student_text(chapter: Path) -> str:
    """The student notebook of ``chapter`` as the text written to disk."""
    notebook = nbformat.read(chapter, as_version=4)
    student = make_student(notebook, chapter.stem, markdown_context(chapter, notebook))
    return nbformat.writes(student) + "\n"


def chapter_text(chapter: Path) -> str:
    """``chapter`` as it should be on disk: its first cell the set-up cell of ``_config.yml``."""
    notebook = nbformat.read(chapter, as_version=4)
    first = notebook.cells[0]
    if first.cell_type != "code" or "remove-cell" not in first.metadata.get("tags", []):
        raise ValueError(f"{chapter.name}: the first cell must be the set-up cell, a code cell "
                         "tagged remove-cell")
    first.source = set_up_source()
    return nbformat.writes(notebook) + "\n"


def chapters() -> list[Path]:
    """The numbered chapter notebooks, ``chapters/NN_name.ipynb``."""
    return sorted(p for p in CHAPTERS.glob("*.ipynb") if re.match(r"\d\d_", p.name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a student notebook is missing or stale")
    args = parser.parse_args(argv)
    stale = []
    STUDENT.mkdir(exist_ok=True)
    for chapter in chapters():
        # the chapter's set-up cell first: the student notebook is made from the chapter
        for target, make in ((chapter, chapter_text), (STUDENT / chapter.name, student_text)):
            text = make(chapter)
            if target.exists() and target.read_text() == text:
                continue
            stale.append(target.relative_to(REPO))
            if not args.check:
                target.write_text(text)
    expected = {chapter.name for chapter in chapters()}
    orphans = [p.relative_to(REPO) for p in STUDENT.glob("*.ipynb") if p.name not in expected]
    for line in [f"{'stale' if args.check else 'wrote'} {p}" for p in stale] + [
            f"no chapter for {p}: delete it" for p in orphans]:
        print(line)
    return 1 if args.check and (stale or orphans) else 0


if __name__ == "__main__":
    sys.exit(main())
