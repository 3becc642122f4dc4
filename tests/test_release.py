"""The release pipeline: markers, stubs, the committed student folder."""
import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import exercise, release
from autograder.grading.rubric import load_rubric
from autograder.release import (STUB_LINES, MarkerError, ReleaseError, find_regions, make_stub, make_stub_notebook,
                                notebook_solution_lines, solution_lines, without_markers)
from leaks import substantive_lines

EXPECTED_REGIONS = {  # the blanks: each op's _backward, in the exercise's order, then backward() and parameters()
    "engine.py": [*(f"Value.{op.method}._backward" for op in exercise.OPS), "Value.backward"],
    "nn.py": ["MLP.parameters"],
}
# Notebooks: the grade_id of every cell that holds a solution region.
EXPECTED_NOTEBOOK_REGIONS = {
    "04_backpropagation.ipynb": ["backprop_by_hand"],
}


@pytest.fixture
def solutions(repo):
    return repo / "solutions" / "micrograd"


@pytest.fixture
def released(repo):
    return repo / "assignments" / "micrograd"


def enclosing_function(tree, line):
    """Qualified name of the innermost function holding `line`."""
    best = None

    def visit(node, prefix):
        nonlocal best
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if isinstance(child, ast.FunctionDef) and child.lineno <= line <= child.end_lineno:
                    best = name
                visit(child, name + ".")
    visit(tree, "")
    return best


@pytest.mark.parametrize("filename", EXPECTED_REGIONS)
def test_regions_are_exactly_the_graded_bodies(solutions, filename):
    text = (solutions / filename).read_text()
    tree = ast.parse(text)
    regions = find_regions(text.splitlines(), filename)
    assert [enclosing_function(tree, r.begin + 1) for r in regions] == EXPECTED_REGIONS[filename]


def test_only_the_model_answer_files_have_regions(solutions):
    for path in solutions.iterdir():
        if path.name not in EXPECTED_REGIONS and path.is_file() and path.suffix != ".ipynb":
            assert find_regions(path.read_text().splitlines(), path.name) == []


def region_cells(path):
    """The grade_id of each code cell of a notebook that holds a solution region."""
    notebook = nbformat.read(path, as_version=4)
    return [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells
            if cell.cell_type == "code" and find_regions(cell.source.splitlines(), path.name)]


def test_notebook_regions_are_exactly_the_expected_cells(solutions):
    notebooks = sorted(solutions.glob("*.ipynb"))
    assert set(EXPECTED_NOTEBOOK_REGIONS) <= {path.name for path in notebooks}
    for path in notebooks:
        assert region_cells(path) == EXPECTED_NOTEBOOK_REGIONS.get(path.name, []), path.name


def test_stub_keeps_the_marker_indentation():
    text = "def f():\n    x = 1\n        ### BEGIN SOLUTION\n        return x\n        ### END SOLUTION\n"
    assert make_stub(text) == "def f():\n    x = 1\n        # YOUR CODE HERE\n        raise NotImplementedError()\n"


def test_without_markers_keeps_every_answer_line(solutions):
    for filename, expected in EXPECTED_REGIONS.items():
        text = (solutions / filename).read_text()
        plain = without_markers(text)
        assert len(plain.splitlines()) == len(text.splitlines()) - 2 * len(expected)
        assert "SOLUTION" not in plain and set(solution_lines(text)) <= {line.strip() for line in plain.splitlines()}
        assert find_regions(plain.splitlines()) == []


def test_text_without_regions_is_unchanged():
    text = "a = 1\n\n# a comment\nb = 2"
    assert make_stub(text) == text


@pytest.mark.parametrize("text, problem", [
    ("### BEGIN SOLUTION\nx\n", "f.py:1: BEGIN SOLUTION is never closed"),
    ("x\n### END SOLUTION\n", "f.py:2: END SOLUTION without a BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "f.py:2: BEGIN SOLUTION inside the region opened at line 1"),
    ("x = 1  ### BEGIN SOLUTION\n", "f.py:1: not a marker line"),
    ("### BEGIN SOLUTION here\n", "f.py:1: not a marker line"),
])
def test_malformed_markers_are_located(text, problem):
    with pytest.raises(MarkerError, match=problem):
        make_stub(text, "f.py")


def test_release_is_idempotent(solutions, tmp_path):
    dest = tmp_path / "out"
    assert release.release(solutions, dest)  # first run writes everything
    before = {p: p.read_bytes() for p in dest.rglob("*")}
    assert not release.release(solutions, dest)
    assert {p: p.read_bytes() for p in dest.rglob("*")} == before


def test_release_removes_stale_files_and_repairs_edits(solutions, tmp_path):
    dest = tmp_path / "out"
    release.release(solutions, dest)
    (dest / "stale.py").write_text("x = 1\n")
    (dest / "engine.py").write_text("edited\n")
    drift = release.release(solutions, dest, check=True)
    assert drift.extra == ["stale.py"] and drift.changed == ["engine.py"]
    release.release(solutions, dest)
    assert not release.release(solutions, dest, check=True)
    assert not (dest / "stale.py").exists()


def test_committed_assignments_match_the_release(solutions, released):
    drift = release.release(solutions, released, check=True, derived=release.derived_files(load_rubric()))
    assert not drift, "assignments/ drifted from solutions/; run `autograder release`:\n" + "\n".join(drift.lines())


def graded_parts(path):
    """The part of each graded cell of a graded notebook, and its points."""
    cells = nbformat.read(path, as_version=4).cells
    return [(cell.metadata.nbgrader.grade_id, cell.metadata.nbgrader.points)
            for cell in cells if "nbgrader" in cell.metadata]


def test_release_writes_the_graded_notebook_from_the_rubric(repo, tmp_path):
    """A rubric without relu and with other points: release writes grading.ipynb into the solutions
    (nbgrader's source) and the assignments, and --check catches it being out of date."""
    shutil.copytree(repo / "solutions", tmp_path / "solutions")
    shutil.copytree(repo / "assignments", tmp_path / "assignments")
    rubric = tmp_path / "course.toml"
    rubric.write_text('[parts.add]\npoints = 2\n\n[parts.backward]\npoints = 3\n')
    result = run_cli("release", "--check", "--rubric", rubric.name, cwd=tmp_path)
    assert result.returncode == 1 and "out of date in the solutions: grading.ipynb" in result.stderr
    assert "changed: grading.ipynb" in result.stderr and f"--rubric {rubric.name}" in result.stderr
    assert run_cli("release", "--rubric", rubric.name, cwd=tmp_path).returncode == 0
    for folder in ("solutions", "assignments"):
        graded = graded_parts(tmp_path / folder / "micrograd" / "grading.ipynb")
        assert graded == [("part-add", 2), ("part-backward", 3)]
    assert run_cli("release", "--check", "--rubric", rubric.name, cwd=tmp_path).returncode == 0
    result = run_cli("release", "--check", cwd=tmp_path)  # the bundled rubric: every part again
    assert result.returncode == 1 and "out of date in the solutions: grading.ipynb" in result.stderr


def test_the_committed_graded_notebook_has_a_cell_per_rubric_part(solutions):
    assert graded_parts(solutions / "grading.ipynb") == [(f"part-{p.id}", p.points) for p in load_rubric().parts]


def test_a_hand_edited_graded_notebook_is_drift(repo, tmp_path):
    shutil.copytree(repo / "solutions", tmp_path / "solutions")
    shutil.copytree(repo / "assignments", tmp_path / "assignments")
    graded = tmp_path / "solutions" / "micrograd" / "grading.ipynb"
    graded.write_text(graded.read_text().replace('"points": 2', '"points": 7'))
    result = run_cli("release", "--check", cwd=tmp_path)
    assert result.returncode == 1 and "out of date in the solutions: grading.ipynb" in result.stderr
    assert run_cli("release", cwd=tmp_path).returncode == 0
    assert graded.read_bytes() == (repo / "solutions" / "micrograd" / "grading.ipynb").read_bytes()


def test_a_bad_rubric_stops_the_release_with_a_clear_message(tmp_path, repo):
    shutil.copytree(repo / "solutions", tmp_path / "solutions")
    (tmp_path / "bad.toml").write_text("[parts.typo]\npoints = 1\n")
    result = run_cli("release", "--rubric", "bad.toml", cwd=tmp_path)
    assert result.returncode == 2 and "unknown part ids ['typo']" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "assignments").exists()


def readable_lines(path):
    """The stripped lines a reader of the file sees: for a notebook, those of its cells and outputs."""
    text = path.read_text(errors="replace")
    if path.suffix == ".ipynb":
        notebook = nbformat.reads(text, as_version=4)
        text = "\n".join([cell.source for cell in notebook.cells]
                         + [str(output) for cell in notebook.cells for output in cell.get("outputs", [])])
    return {line.strip() for line in text.splitlines()}


def secret_lines(path):
    text = path.read_text()
    return set(notebook_solution_lines(text, path.name) if path.suffix == ".ipynb" else solution_lines(text, path.name))


def test_assignments_hold_no_solution_text(solutions, released):
    released_lines = set().union(*(readable_lines(path) for path in released.rglob("*") if path.is_file()))
    for filename in [*EXPECTED_REGIONS, *EXPECTED_NOTEBOOK_REGIONS]:
        secret = secret_lines(solutions / filename)
        assert secret, filename
        assert not secret & released_lines, (filename, secret & released_lines)
    every_secret = set().union(*(secret_lines(path) for path in solutions.rglob("*") if path.suffix in (".py", ".ipynb")))
    assert not every_secret & released_lines


def test_the_leak_check_sees_notebook_cells(tmp_path):
    """The check above reads a notebook's cells, where its JSON would hide a leaked line."""
    leaked = tmp_path / "leaky.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("L.grad = 1.0\nf.grad = d.data  # L = d * f")]), leaked)
    assert "f.grad = d.data  # L = d * f" in readable_lines(leaked)
    assert "f.grad = d.data  # L = d * f" not in {line.strip() for line in leaked.read_text().splitlines()}


def test_assignments_hold_no_hidden_test(repo, released):
    hidden = set().union(*(substantive_lines(p.read_text()) for p in (repo / "autograder" / "hidden").glob("*.py")))
    for path in released.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert "autograder" not in text and "micrograd_reference" not in text, path
            assert not substantive_lines(text) & hidden, path


def test_stubs_import_build_the_network_and_run_forward(released, tmp_path):
    copy = tmp_path / "student"
    shutil.copytree(released, copy)
    script = textwrap.dedent("""
        from engine import Value
        from nn import MLP
        model = MLP(3, [4, 4, 1])
        out = model([1.2, 3.5, 5.2])
        loss = (out - 1.0) ** 2 + out.exp() + out.relu() + 2 * out / 3 - out
        print(type(out).__name__, round(loss.data, 6) == round(loss.data, 6))
        for blank in (loss.backward, model.parameters, loss._backward):
            try:
                blank()
            except NotImplementedError:
                print("blank")
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=copy, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Value", "True", "blank", "blank", "blank"]


def run_cli(*args, cwd):
    """`autograder ARGS` in `cwd`, run with the code under test (not another installed copy)."""
    code = Path(release.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def test_cli_release_check_reports_drift(repo, tmp_path):
    shutil.copytree(repo / "solutions", tmp_path / "solutions")
    shutil.copytree(repo / "assignments", tmp_path / "assignments")
    assert run_cli("release", "--check", cwd=tmp_path).returncode == 0
    (tmp_path / "assignments" / "micrograd" / "nn.py").write_text("# edited by hand\n")
    result = run_cli("release", "--check", cwd=tmp_path)
    assert result.returncode == 1 and "changed: nn.py" in result.stderr
    assert run_cli("release", cwd=tmp_path).returncode == 0
    assert run_cli("release", "--check", cwd=tmp_path).returncode == 0


def test_cli_release_errors_are_clear(tmp_path):
    result = run_cli("release", "--source", "nowhere", cwd=tmp_path)
    assert result.returncode == 2 and "solutions folder not found: nowhere" in result.stderr
    bad = tmp_path / "solutions" / "ex"
    bad.mkdir(parents=True)
    (bad / "engine.py").write_text("x = 1\n### BEGIN SOLUTION\n")
    result = run_cli("release", cwd=tmp_path)
    assert result.returncode == 2 and "engine.py:2: BEGIN SOLUTION is never closed" in result.stderr
    assert "Traceback" not in result.stderr


# Notebooks: the same marker rules, cell by cell, and nbgrader's rules for solution cells.

NBGRADER_SOLUTION = {"nbgrader": {"solution": True, "grade": False, "locked": False, "grade_id": "answer",
                                  "schema_version": 3}}


def release_cells(*cells):
    """The cells of the released version of a notebook made of `cells`."""
    text = nbformat.writes(new_notebook(cells=list(cells)))
    return nbformat.reads(make_stub_notebook(text, "nb.ipynb"), as_version=4).cells


def test_notebook_regions_become_stubs_and_outputs_are_cleared():
    cell = new_code_cell("x = 1\n### BEGIN SOLUTION\ny = x + 1\n### END SOLUTION\nprint(y)",
                         metadata=NBGRADER_SOLUTION, execution_count=3,
                         outputs=[nbformat.v4.new_output("stream", name="stdout", text="2\n")])
    [released] = release_cells(cell)
    assert released.source == "x = 1\n# YOUR CODE HERE\nraise NotImplementedError()\nprint(y)"
    assert released.outputs == [] and released.execution_count is None
    assert released.metadata == NBGRADER_SOLUTION and released.id == cell.id


def test_cells_without_regions_keep_their_source_and_lose_their_outputs():
    prose = new_markdown_cell("Look for **4**.")
    code = new_code_cell("2 + 2", execution_count=1,
                         outputs=[nbformat.v4.new_output("execute_result", data={"text/plain": "4"}, execution_count=1)])
    released = release_cells(prose, code)
    assert [cell.source for cell in released] == ["Look for **4**.", "2 + 2"]
    assert released[1].outputs == [] and released[1].execution_count is None


def test_solution_cells_without_a_region_are_replaced_whole():
    """nbgrader's rule, so that a model answer in an unmarked solution cell cannot leak."""
    code = new_code_cell("answer = 42", metadata=NBGRADER_SOLUTION)
    prose = new_markdown_cell("Because the gradient adds up.", metadata=NBGRADER_SOLUTION)
    assert [cell.source for cell in release_cells(code, prose)] == ["\n".join(STUB_LINES), "YOUR ANSWER HERE"]


@pytest.mark.parametrize("cells, problem", [
    ([new_markdown_cell("Fill in the region\n### BEGIN SOLUTION")],
     "nb.ipynb, cell 1:2: a markdown cell mentions a marker"),
    ([new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")],
     "nb.ipynb, cell 1: a solution region in a cell that is not a solution cell"),
    ([new_markdown_cell("prose"), new_code_cell("### BEGIN SOLUTION\nx = 1", metadata=NBGRADER_SOLUTION)],
     "nb.ipynb, cell 2:1: BEGIN SOLUTION is never closed"),
    ([new_code_cell("x = 1  ### END SOLUTION", metadata=NBGRADER_SOLUTION)],
     "nb.ipynb, cell 1:1: not a marker line"),
    ([new_code_cell("### BEGIN HIDDEN TESTS\nassert x == 1\n### END HIDDEN TESTS")],
     "nb.ipynb, cell 1:1: hidden test regions are not released"),
])
def test_notebook_marker_errors_are_located(cells, problem):
    with pytest.raises(MarkerError, match=problem):
        release_cells(*cells)


def test_unreadable_notebooks_are_clear_errors():
    with pytest.raises(ReleaseError, match=r"nb.ipynb: not a notebook \(invalid JSON"):
        make_stub_notebook("{not json", "nb.ipynb")
    with pytest.raises(ReleaseError, match="nb.ipynb: not an nbformat 4 notebook"):
        make_stub_notebook('{"nbformat": 3, "worksheets": []}', "nb.ipynb")
    without_ids = nbformat.writes(new_notebook(cells=[new_code_cell("x = 1")])).replace('"id"', '"no_id"')
    with pytest.raises(ReleaseError, match="nb.ipynb, cell 1: the cell has no id"):
        make_stub_notebook(without_ids, "nb.ipynb")
    with pytest.raises(ReleaseError, match="nb.ipynb: not a valid notebook"):
        make_stub_notebook('{"nbformat": 4, "nbformat_minor": 4, "cells": [{"cell_type": "code"}]}', "nb.ipynb")


def test_releasing_notebooks_is_byte_stable(solutions):
    first, second = release.released_files(solutions), release.released_files(solutions)
    notebooks = [name for name in first if name.endswith(".ipynb")]
    assert notebooks and all(first[name] == second[name] for name in notebooks)


def put_answers_back(stub, solution):
    """The released `stub` source with each stub replaced, in order, by the solution's region."""
    lines = solution.splitlines()
    answers = [lines[r.begin + 1:r.end] for r in find_regions(lines)]
    out, stub_lines, i = [], stub.splitlines(), 0
    while i < len(stub_lines):
        if [line.strip() for line in stub_lines[i:i + 2]] == list(STUB_LINES):
            out += answers.pop(0)
            i += 2
        else:
            out.append(stub_lines[i])
            i += 1
    assert not answers, "a region has no stub in the released cell"
    return "\n".join(out)


def test_notebook_round_trip(solutions, released):
    """Released cell by cell: the same ids, types and metadata; the answers put back give the solution."""
    for path in sorted(solutions.glob("*.ipynb")):
        source_cells = nbformat.read(path, as_version=4).cells
        released_cells = nbformat.read(released / path.name, as_version=4).cells
        assert [(c.id, c.cell_type, c.metadata) for c in released_cells] == \
               [(c.id, c.cell_type, c.metadata) for c in source_cells], path.name
        for solution, stub in zip(source_cells, released_cells):
            assert put_answers_back(stub.source, solution.source) == without_markers(solution.source).rstrip("\n")
            assert stub.get("outputs", []) == [] and stub.get("execution_count") is None


def test_cli_release_reports_a_broken_notebook(tmp_path):
    exercise = tmp_path / "solutions" / "ex"
    exercise.mkdir(parents=True)
    (exercise / "lesson.ipynb").write_text(nbformat.writes(new_notebook(cells=[
        new_markdown_cell("prose"), new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])))
    result = run_cli("release", cwd=tmp_path)
    assert result.returncode == 2 and "lesson.ipynb, cell 2: a solution region in a cell that is not a solution cell" \
        in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr and not (tmp_path / "assignments").exists()


def solution_code_cell(source, grade_id):
    return new_code_cell(source, metadata={"nbgrader": dict(NBGRADER_SOLUTION["nbgrader"], grade_id=grade_id)})


EDGE_CASES = new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
                          cells=[
    solution_code_cell("x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\n", "trailing-newline"),
    solution_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", "indented"),
    solution_code_cell("### BEGIN SOLUTION\na\n### END SOLUTION\nb\n### BEGIN SOLUTION\nc\n### END SOLUTION", "two"),
    solution_code_cell("answer = 42", "no-region"),
    new_markdown_cell("Because.", metadata={"nbgrader": dict(NBGRADER_SOLUTION["nbgrader"], grade_id="prose")}),
])


def test_notebook_release_agrees_with_nbgrader(solutions):
    """Cell for cell, the same sources as nbgrader's own ClearSolutions and ClearOutput give."""
    from nbgrader.preprocessors import ClearOutput, ClearSolutions
    notebooks = {path.name: path.read_text() for path in solutions.glob("*.ipynb")}
    notebooks["edge_cases.ipynb"] = nbformat.writes(EDGE_CASES)
    for name, text in notebooks.items():
        theirs, _ = ClearSolutions().preprocess(nbformat.reads(text, as_version=4), {})
        theirs, _ = ClearOutput().preprocess(theirs, {})
        ours = nbformat.reads(make_stub_notebook(text, name), as_version=4)
        assert [(c.source, c.get("outputs"), c.get("execution_count")) for c in ours.cells] == \
               [(c.source, c.get("outputs"), c.get("execution_count")) for c in theirs.cells], name
