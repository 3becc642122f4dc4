"""The teaching notebooks: how they are written (fast checks) and what they do when run (slow).

Run against the solutions, every notebook executes top to bottom and shows its plots and
drawings. Run as released, against the blank stubs, each stops at the first blank with a
message, in the notebook itself, that names what to write.
"""
import ast
import base64
import importlib.util
import os
import re
import shutil
import xml.etree.ElementTree as ET

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.release import without_markers
from autograder.worker import lesson

NOTEBOOKS = ["01_derivatives.ipynb", "02_value.ipynb", "03_drawing_graphs.ipynb", "04_backpropagation.ipynb",
             "05_neural_network.ipynb", "06_two_moons.ipynb"]
# The pictures each notebook's run must produce: plots (png) and computation graphs (svg).
PICTURES = {
    "01_derivatives.ipynb": {"image/png": 2},  # the parabola, its tangent lines
    "02_value.ipynb": {},
    "03_drawing_graphs.ipynb": {"image/svg+xml": 4},
    "04_backpropagation.ipynb": {"image/svg+xml": 4},
    "05_neural_network.ipynb": {"image/svg+xml": 1, "image/png": 1},  # the MLP's graph, the loss curve
    "06_two_moons.ipynb": {"image/png": 2},  # the data, the decision boundary
}
# Run as released against the blank stubs: where each one stops (None: it needs no blank).
FIRST_BLANK = {
    "01_derivatives.ipynb": None,
    "02_value.ipynb": None,
    "03_drawing_graphs.ipynb": None,
    "04_backpropagation.ipynb": "this cell",  # the gradients by hand, in the notebook
    "05_neural_network.ipynb": "MLP.parameters (nn.py, line ",
    "06_two_moons.ipynb": "MLP.parameters (nn.py, line ",
}
LIBRARIES = {"math", "random", "inspect", "numpy", "matplotlib"}  # what notebooks may import besides the folder's modules
MAX_CODE_LINES = 20


@pytest.fixture(scope="module")
def solutions(repo):
    return repo / "solutions" / "micrograd"


@pytest.fixture(scope="module")
def notebooks(solutions):
    return {name: nbformat.read(solutions / name, as_version=4) for name in NOTEBOOKS}


def code_of(cell):
    """A code cell's Python, its IPython magics (`%matplotlib inline`) left out."""
    return "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%"))


# How the notebooks are written.

def test_the_notebooks_are_the_lesson_in_order(solutions):
    assert sorted(path.name for path in solutions.glob("[0-9]*.ipynb")) == NOTEBOOKS


def test_the_readme_lists_the_notebooks_in_order(repo):
    for_students = (repo / "README.md").read_text().split("## For students", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"`(\d\d_\w+)`", for_students) == [name.removesuffix(".ipynb") for name in NOTEBOOKS]


def test_each_notebook_is_valid_and_committed_without_outputs(notebooks):
    for name, notebook in notebooks.items():
        nbformat.validate(notebook)
        assert notebook.metadata.kernelspec.name == "python3", name
        for cell in notebook.cells:
            assert cell.get("id"), name
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (name, cell.source[:60])


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_prose_says_what_to_look_for_before_each_short_code_cell(notebooks, name):
    cells = notebooks[name].cells
    number = int(name[:2])
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith(f"# {number}. "), cells[0].source[:40]
    for before, cell in zip(cells, cells[1:]):
        if cell.cell_type == "code":
            assert before.cell_type == "markdown" and len(before.source.split()) >= 5, cell.source[:60]
            assert len(cell.source.splitlines()) <= MAX_CODE_LINES, cell.source[:60]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_hide_nothing(solutions, notebooks, name):
    """Notebooks use the student's engine and modules that sit, readable, beside them."""
    own_modules = {path.stem for path in solutions.glob("*.py")}
    imported, defined = set(), set()
    for cell in notebooks[name].cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(code_of(cell))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.ClassDef):
                defined.add(node.name)
    assert imported <= LIBRARIES | own_modules, imported - LIBRARIES - own_modules
    assert "Value" not in defined
    if name >= "02":
        assert imported & {"engine", "nn"}, "the notebook does not use the student's code"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_that_use_the_students_files_reload_them(notebooks, name):
    """No kernel restart after an edit: IPython's autoreload, switched on before the first import."""
    first = next(cell for cell in notebooks[name].cells if cell.cell_type == "code").source.splitlines()
    uses_them = any(re.match(r"(from|import) (engine|nn)\b", line) for cell in notebooks[name].cells
                    if cell.cell_type == "code" for line in cell.source.splitlines())
    if uses_them:
        assert "%load_ext autoreload" in first and "%autoreload 2" in first
        assert first.index("%autoreload 2") < min(i for i, line in enumerate(first) if line.startswith(("from", "import")))


def assigned_literals(notebook):
    """{name: value} of every `name = <literal>` in the notebook's code."""
    found = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(code_of(cell))):
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                    try:
                        found[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        pass
    return found


def test_notebook_5_trains_the_network_the_grader_trains(notebooks):
    """The data, the network and the loop of notebook 5 are the lesson's (autograder/worker/lesson.py)."""
    notebook = notebooks["05_neural_network.ipynb"]
    literals = assigned_literals(notebook)
    assert literals["xs"] == lesson.XS and literals["ys"] == lesson.YS
    code = "\n".join(code_of(cell) for cell in notebook.cells if cell.cell_type == "code")
    assert f"MLP({lesson.NIN}, {lesson.NOUTS})" in code
    assert f"range({lesson.STEPS})" in code
    assert set(re.findall(r"p\.data -= ([\d.]+) \* p\.grad", code)) == {str(lesson.LEARNING_RATE)}


def load(path, name):
    """The module at `path`, imported under `name` (so the solutions never shadow another `engine`)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_blanks_name_a_notebook_cell_or_the_function(solutions):
    blanks = load(solutions / "blanks.py", "blanks_under_test")

    def error_of(source, filename, module="__main__"):
        try:
            exec(compile(source, filename, "exec"), {"__name__": module})
        except NotImplementedError as error:
            return error

    assert blanks.name_of_blank(error_of("raise NotImplementedError()", "<cell>")) == "this cell"
    assert blanks.name_of_blank(error_of("raise NotImplementedError()", "/x/nn.py", "nn")) == "<module> (nn.py, line 1)"
    engine_like = "class Value:\n    def tanh(self):\n        def _backward():\n            raise NotImplementedError()\n" \
                  "        _backward()\nValue().tanh()\n"
    assert blanks.name_of_blank(error_of(engine_like, "/x/engine.py")) == "the _backward of Value.tanh (engine.py, line 4)"
    assert "save the file and run this cell again" in blanks.what_to_do("Value.backward (engine.py, line 9)")
    assert "this cell says # YOUR CODE HERE" in blanks.what_to_do("this cell")


def test_draw_shows_every_value_with_its_data_grad_and_op(solutions, tmp_path):
    engine = tmp_path / "engine.py"
    engine.write_text(without_markers((solutions / "engine.py").read_text()))
    Value = load(engine, "engine_under_test").Value
    draw = load(solutions / "draw.py", "draw_under_test")
    a, b = Value(2.0, label="a"), Value(-3.0, label="b|{x}")
    out = (a * b + a).tanh()
    out.label = "out"
    out.backward()
    nodes, edges = draw.trace(out)
    assert len(nodes) == 5 and len(edges) == 5  # a, b, a*b, a*b + a, out; `a` is used twice
    svg = draw.draw_dot(out).pipe(format="svg").decode()
    texts = [t.text for t in ET.fromstring(svg).iter() if t.tag.endswith("text") and t.text]
    assert {"a", "b|{x}", "out", "*", "+", "tanh"} <= set(texts)
    assert f"grad {a.grad:.4f}" in texts and f"data {out.data:.4f}" in texts and "grad 1.0000" in texts


# Running them (slow: a kernel per notebook, a few seconds each).

def execute(path, folder):
    """Run the notebook at `path` with `folder` as its working directory; (notebook, error or None)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    try:
        client.execute()
    except CellExecutionError as error:
        return notebook, error
    return notebook, None


@pytest.fixture(scope="module")
def solution_folder(solutions, tmp_path_factory):
    """The solutions as a student who wrote every blank would have them: marker lines removed."""
    folder = tmp_path_factory.mktemp("solved") / "micrograd"
    shutil.copytree(solutions, folder)
    for path in folder.glob("*.py"):
        path.write_text(without_markers(path.read_text(), str(path)))
    return folder


@pytest.fixture(scope="module")
def blank_folder(repo, tmp_path_factory):
    """The released folder, as a student receives it."""
    folder = tmp_path_factory.mktemp("blank") / "micrograd"
    shutil.copytree(repo / "assignments" / "micrograd", folder)
    return folder


@pytest.fixture(scope="module")
def solved_runs(solution_folder):
    """Each notebook executed against the solutions, once per module: {name: executed notebook}."""
    runs = {}

    def run(name):
        if name not in runs:
            notebook, error = execute(solution_folder / name, solution_folder)
            assert error is None, f"{name} failed on the solutions:\n{error}"
            runs[name] = notebook
        return runs[name]
    return run


def pictures(notebook):
    """{mime type: [decoded picture]} of every png and svg output."""
    found = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for mime in ("image/png", "image/svg+xml"):
                if mime in output.get("data", {}):
                    data = output.data[mime]
                    found.setdefault(mime, []).append(base64.b64decode(data) if mime == "image/png" else data)
    return found


def assert_pictures_are_real(notebook, expected):
    found = pictures(notebook)
    assert {mime: len(items) for mime, items in found.items()} == expected
    for png in found.get("image/png", []):
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    for svg in found.get("image/svg+xml", []):
        texts = [t.text for t in ET.fromstring(svg).iter() if t.tag.endswith("text") and t.text]
        assert any(text.startswith("data ") for text in texts) and any(text.startswith("grad ") for text in texts)


def printed(notebook):
    return "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []))


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_the_solutions_and_shows_its_pictures(solved_runs, name):
    notebook = solved_runs(name)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs, f"no output after: {cell.source[:60]}"
    assert_pictures_are_real(notebook, PICTURES[name])


@pytest.mark.slow
def test_an_edit_of_engine_py_reaches_the_next_cell_without_a_restart(solution_folder, tmp_path):
    folder = tmp_path / "micrograd"
    shutil.copytree(solution_folder, folder)
    notebook = nbformat.read(folder / "02_value.ipynb", as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    with client.setup_kernel():
        client.execute_cell(first, notebook.cells.index(first))
        engine = folder / "engine.py"
        engine.write_text(engine.read_text().replace('return f"Value(data={self.data}, grad={self.grad})"',
                                                     'return f"Value(data={self.data}, edited)"'))
        os.utime(engine, (engine.stat().st_atime, engine.stat().st_mtime + 2))  # a later time, however fast
        shown = nbformat.v4.new_code_cell("a")
        notebook.cells.append(shown)
        client.execute_cell(shown, len(notebook.cells) - 1)
    assert shown.outputs[0].data["text/plain"] == "Value(data=2.0, edited)"


@pytest.mark.slow
def test_backprop_by_hand_agrees_with_nudging(solved_runs):
    rows = re.findall(r"(\w+): by hand ([+-][\d.]+)   by nudging ([+-][\d.]+)",
                      printed(solved_runs("04_backpropagation.ipynb")))
    assert [(leaf, float(hand)) for leaf, hand, _ in rows] == [("a", 6.0), ("b", -4.0), ("c", -2.0), ("f", 4.0)]
    assert all(hand == nudged for _, hand, nudged in rows)
    rows = re.findall(r"(\w+): node by node ([+-][\d.]+)   backward\(\) ([+-][\d.]+)",
                      printed(solved_runs("04_backpropagation.ipynb")))
    assert len(rows) == 5 and all(one == other for _, one, other in rows)


@pytest.mark.slow
def test_training_brings_the_loss_below_the_graders_threshold(solved_runs):
    first, last = re.search(r"loss at step 1: ([\d.]+)   at step 50: ([\d.]+)",
                            printed(solved_runs("05_neural_network.ipynb"))).groups()
    assert float(last) < lesson.LOSS_THRESHOLD < float(first)


@pytest.mark.slow
def test_two_moons_are_learnt(solved_runs):
    accuracies = re.findall(r"accuracy (\d+)%", printed(solved_runs("06_two_moons.ipynb")))
    assert int(accuracies[-1]) >= 90 and int(accuracies[-1]) > int(accuracies[0])


def failed_cell(notebook):
    """(index, cell) of the cell whose output is an error."""
    for index, cell in enumerate(notebook.cells):
        if any(output.output_type == "error" for output in cell.get("outputs", [])):
            return index, cell
    raise AssertionError("no cell shows an error")


def assert_stopped_at_blank(notebook, error, expected):
    """The run stopped at one cell, whose output says, readably, which blank to write."""
    assert error is not None, "the notebook ran through a blank"
    index, cell = failed_cell(notebook)
    [shown] = [output for output in cell.outputs if output.output_type == "error"]
    assert shown.ename == "NotImplementedError"
    assert shown.traceback[0].startswith(f"not implemented yet: {expected}"), shown.traceback
    assert "\x1b[" not in "".join(shown.traceback) and len(shown.traceback) == 2  # plain words, no traceback
    assert "not implemented yet" in str(error)
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    position = code_cells.index(cell)
    assert all(c.outputs for c in code_cells[:position]) and not any(c.outputs for c in code_cells[position + 1:])
    return cell


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_released_notebook_stops_at_its_first_blank(blank_folder, name):
    notebook, error = execute(blank_folder / name, blank_folder)
    if FIRST_BLANK[name] is None:
        assert error is None, f"{name} needs no blank but failed:\n{error}"
        assert_pictures_are_real(notebook, PICTURES[name])
        return
    cell = assert_stopped_at_blank(notebook, error, FIRST_BLANK[name])
    if FIRST_BLANK[name] == "this cell":
        assert cell.metadata["nbgrader"]["solution"]
    else:
        assert "parameters()" in cell.source


@pytest.mark.slow
def test_a_blank_of_the_engine_is_named_in_the_notebook(solutions, blank_folder, tmp_path):
    """Notebook 4 with its own cell answered, against the blank engine: the first `_backward` named."""
    name = "04_backpropagation.ipynb"
    notebook = nbformat.read(blank_folder / name, as_version=4)
    answered = {cell.id: cell.source for cell in nbformat.read(solutions / name, as_version=4).cells
                if cell.metadata.get("nbgrader", {}).get("solution")}
    for cell in notebook.cells:
        cell.source = answered.get(cell.id, cell.source)
    nbformat.write(notebook, tmp_path / name)
    notebook, error = execute(tmp_path / name, blank_folder)
    cell = assert_stopped_at_blank(notebook, error, "the _backward of Value.tanh (engine.py, line ")
    assert cell.source.startswith("o.grad = 1.0\no._backward()")
