"""What a learner's own Jupyter needs: the notebooks import only what the library installs,
the student notebooks hold plain Markdown, and no saved output names the build machine's folders.

The learner's route itself, a fresh venv with only the installed library and a kernel running
every notebook, is `make test-learner` (tools/learner_route.py)."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import requires
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.ipynb"))
STUDENTS = sorted((REPO / "student").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOKS = CHAPTERS + STUDENTS

# The import name of each distribution the library depends on (pyproject.toml).
IMPORT_NAMES = {"ipython": "IPython"}
OPTIONAL = {"torch"}  # compared against where installed; imported only inside try/except


def library_modules() -> set[str]:
    names = {re.split(r"[ ;<>=!~\[]", requirement)[0].lower()
             for requirement in requires("backprop-from-scratch") or [] if "extra ==" not in requirement}
    return {IMPORT_NAMES.get(name, name.replace("-", "_")) for name in names} | {"backprop"}


def code_of(cell) -> str:
    """A code cell without its IPython magics, so ``ast`` can read it."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in cell.source.split("\n"))


def test_the_library_declares_what_the_notebooks_need():
    assert {"numpy", "matplotlib", "sympy", "IPython", "backprop"} <= library_modules()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_import_is_the_library_a_dependency_or_the_standard_library(path):
    allowed = library_modules() | set(sys.stdlib_module_names)
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(code_of(cell))
        guarded = {id(node) for handler in ast.walk(tree) if isinstance(handler, ast.Try)
                   and any("ImportError" in ast.unparse(h.type or ast.Name("")) for h in
                           handler.handlers)
                   for node in ast.walk(ast.Module(body=handler.body, type_ignores=[]))}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in (m.split(".")[0] for m in modules):
                if module in OPTIONAL:
                    assert id(node) in guarded, (
                        f"cell {index}: {module} is optional; import it inside "
                        "try/except ImportError")
                else:
                    assert module in allowed, (
                        f"cell {index} imports {module}, which a learner's `pip install` of the "
                        "library does not install: use the library, or add it to pyproject.toml")


MYST_LEFT = [
    (re.compile(r"\{[a-z]+(?::[a-z]+)?\}<code>"), "a MyST role"),
    (re.compile(r'class="language-\{'), "a MyST directive"),
    (re.compile(r"^<p>\([\w:.-]+\)=", re.M), "a MyST target"),
    (re.compile(r"^:(class|label|name):", re.M), "a directive's option"),
    (re.compile(r"\{(glue|doc|term|cite|ref|numref|download)"), "a MyST role's name"),
]


@pytest.mark.parametrize("path", STUDENTS, ids=lambda p: p.name)
def test_student_markdown_renders_in_plain_commonmark_with_no_myst_left(path):
    """What JupyterLab, Colab and GitHub show: CommonMark with raw HTML (and $ math)."""
    renderer = MarkdownIt("commonmark")
    notebook = nbformat.read(path, as_version=4)
    hints = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        html = renderer.render(cell.source)
        for pattern, what in MYST_LEFT:
            found = pattern.search(html)
            assert not found, f"cell {index}: {what} left: {html[found.start():][:120]!r}"
        for link in re.findall(r'href="([^"]*)"', html):
            assert re.match(r"https?://|#|mailto:", link), (
                f"cell {index}: the relative link {link!r} breaks outside the chapters folder")
        hints += html.count("<summary>Hint</summary>")
        assert html.count("<details>") == html.count("</details>"), f"cell {index}"
    chapter = nbformat.read(REPO / "chapters" / path.name, as_version=4)
    expected = sum(len(re.findall(r"\{admonition\} Hint\n:class: dropdown", cell.source))
                   for cell in chapter.cells if cell.cell_type == "markdown")
    assert hints == expected, "every hint of the chapter is a closed <details> block"


MACHINE_PATHS = [str(REPO), str(REPO.parent), str(Path.home()), "site-packages"]
# An absolute path under a folder that only a machine has (wherever this clone lives).
ABSOLUTE = re.compile(r"(?<![\w.:/])/(?:work|home|root|tmp|usr|opt|var|mnt|srv|Users|private)/")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_saved_output_names_a_folder_of_the_machine_that_ran_it(path):
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for output in cell.get("outputs", []):
            texts = [output.get("text", "")] + [
                value for mime, value in output.get("data", {}).items()
                if mime.startswith("text/") and isinstance(value, str)]
            for text in texts:
                for folder in MACHINE_PATHS:
                    assert folder not in text, f"cell {index} prints {folder!r}"
                found = ABSOLUTE.search(text)
                assert not found, f"cell {index} prints {text[found.start():][:60]!r}"


def test_glue_without_myst_nb_does_nothing_visible(monkeypatch, capsys):
    from backprop.show import glue

    monkeypatch.setitem(sys.modules, "myst_nb", None)  # as in a learner's plain Jupyter
    glue("a_number", 1.5, display=False)
    assert capsys.readouterr().out == ""


def test_the_prose_names_the_repository_of_config_yml():
    """`_config.yml` names the repository once; pages that quote it in prose must agree."""
    import yaml

    repository = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"]
    for page in ["intro.md", "chapters/troubleshooting.md", "README.md", "CONTRIBUTING.md"]:
        for url in re.findall(r"git\+(https://[^\s\"@`]+)", (REPO / page).read_text()):
            assert url.rstrip("/") == repository.rstrip("/"), (page, url)
