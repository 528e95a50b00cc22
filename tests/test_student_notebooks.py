"""The student notebooks: made by tools/make_student_notebooks.py, kept in step with the
chapters, and runnable to the end with every exercise unsolved."""

import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_student_notebooks",
                                               REPO / "tools" / "make_student_notebooks.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)

EXERCISE = '''\
def sigmoid_backward(out, grad_out):
    """dL/dx of the sigmoid, from its cached output."""
    ### BEGIN SOLUTION
    local = out * (1 - out)
    return grad_out * local
    ### END SOLUTION'''


def synthetic_chapter():
    """A small chapter: a set-up cell, a "Your turn" exercise with its check, and a thinking
    exercise whose dropdown solution spans a code cell and two markdown cells."""
    setup = new_code_cell("%matplotlib inline", metadata={"tags": ["remove-cell"]})
    exercise = new_code_cell(EXERCISE, execution_count=3)
    exercise.outputs = [new_output("stream", name="stdout", text="secret output\n")]
    return new_notebook(cells=[
        setup,
        new_markdown_cell("## Your turn"),
        exercise,
        new_code_cell("from backprop import exercises as check\n"
                      "check.sigmoid_backward(sigmoid_backward)"),
        new_markdown_cell("```{exercise} Think\n:label: think\n\nWhy?\n```\n\n"
                          "```{solution-start} think\n:class: dropdown\n```\n\nBecause SECRET-1."),
        new_code_cell("print('SECRET-2')"),
        new_markdown_cell("SECRET-3\n\n```{solution-end}\n```\n\n## Summary\n\nKept."),
    ], metadata={"kernelspec": {"name": "python3", "language": "python",
                                "display_name": "Python 3"}})


def test_solutions_become_an_indented_stub_and_outputs_go():
    student = make.make_student(synthetic_chapter(), "99_synthetic")
    source = "\n".join(cell.source for cell in student.cells)
    assert 'def sigmoid_backward(out, grad_out):\n    """dL/dx of the sigmoid, from its cached ' \
           'output."""\n    ...' in source
    assert "local" not in source and "SOLUTION" not in source
    code = [cell for cell in student.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


def test_dropdown_solutions_are_removed_across_cells_keeping_the_text_around_them():
    student = make.make_student(synthetic_chapter(), "99_synthetic")
    source = "\n".join(cell.source for cell in student.cells)
    assert "SECRET" not in source and "{solution" not in source
    assert "```{exercise} Think\n:label: think\n\nWhy?\n```" in source
    assert "## Summary\n\nKept." in source
    # 7 cells, less the solution's code cell, plus the note and a cell to work in
    assert len(student.cells) == 8
    sources = [cell.source for cell in student.cells]
    after = sources[sources.index("```{exercise} Think\n:label: think\n\nWhy?\n```") + 1]
    assert after == make.WORK_HERE  # the exercise's code was in its solution: a cell to work in


def test_the_note_comes_after_the_set_up_cell_and_the_input_is_unchanged():
    chapter = synthetic_chapter()
    student = make.make_student(chapter, "99_synthetic")
    assert "remove-cell" in student.cells[0].metadata["tags"]
    assert "chapters/99_synthetic.ipynb" in student.cells[1].source
    assert "### BEGIN SOLUTION" in chapter.cells[2].source and chapter.cells[2].outputs


@pytest.mark.parametrize("source, problem", [
    ("### BEGIN SOLUTION\nx = 1", "without its END"),
    ("x = 1\n### END SOLUTION", "without its BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
])
def test_unpaired_markers_are_an_error(source, problem):
    with pytest.raises(ValueError, match=problem):
        make.make_student(new_notebook(cells=[new_code_cell(source)]), "x")


def test_an_unclosed_dropdown_is_an_error():
    chapter = new_notebook(cells=[new_markdown_cell("```{solution-start} a\n```\nanswer")])
    with pytest.raises(ValueError, match="without its"):
        make.make_student(chapter, "x")


def test_the_synthetic_student_notebook_runs_to_the_end_and_says_not_done(tmp_path):
    student = make.make_student(synthetic_chapter(), "99_synthetic")
    NotebookClient(student, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    check_output = student.cells[4].outputs[0]["data"]
    assert "not done yet" in check_output["text/plain"]
    assert "<table>" in check_output["text/html"]


@pytest.mark.parametrize("chapter", make.chapters(), ids=lambda p: p.name)
def test_the_committed_student_notebook_is_up_to_date(chapter):
    target = make.STUDENT / chapter.name
    assert target.exists() and target.read_text() == make.student_text(chapter), (
        f"student/{chapter.name} is out of date: run .venv/bin/python "
        "tools/make_student_notebooks.py")


@pytest.mark.parametrize("chapter", make.chapters(), ids=lambda p: p.name)
def test_every_chapter_starts_with_the_set_up_cell_of_config_yml(chapter):
    assert chapter.read_text() == make.chapter_text(chapter), (
        f"chapters/{chapter.name}'s set-up cell is not the one _config.yml makes: run "
        ".venv/bin/python tools/make_student_notebooks.py")
    repository = make.book_config()["repository"]["url"]
    assert f"git+{repository}" in nbformat.read(chapter, as_version=4).cells[0].source


def test_the_promise_of_solutions_to_unfold_points_to_the_site():
    notebook = synthetic_chapter()
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(
        "These ask you to build; each has a worked solution to unfold once\nyou have tried."))
    student = make.make_student(notebook, "99_synthetic")
    source = "\n".join(cell.source for cell in student.cells)
    assert "to unfold" not in source and "in the chapter on the course site" in source
