"""The README's "Adding an op", done as an instructor would, in a copy of this repository.

One test adds `Value.sigmoid()` through the documented places only (the model answer with its
solution region, the reference's op table, the exercise's row, the rubric), runs `autograder
release`, and grades with the copy's own code; another removes relu from the rubric and grades
without changing any code. Each copy runs in fresh processes whose `autograder` and
`micrograd_reference` are the copy's (PYTHONPATH), with a rehearsal cache of its own.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder import exercise
from autograder.grading.rubric import load_rubric
from autograder.release import IGNORED_PARTS, without_markers
from checkout import clone

SIGMOID_METHOD = '''
    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        out = Value(s, (self,), 'sigmoid')

        def _backward():
            ### BEGIN SOLUTION
            self.grad += s * (1 - s) * out.grad
            ### END SOLUTION
        out._backward = _backward
        return out
'''
SIGMOID_REFERENCE_ROW = '''    "sigmoid": Op("sigmoid", lambda a: 1 / (1 + math.exp(-a)),
                  lambda a, out: (out * (1 - out),)),
'''
SIGMOID_REFERENCE_METHOD = '''
    def sigmoid(self):
        return Value.apply(OPS["sigmoid"], self)
'''
SIGMOID_ROW = '''    Op("sigmoid", "sigmoid", "unary", forward="1 / (1 + exp(-x))",
       derivative=("exp(-x) / (1 + exp(-x))**2",), symbol="sigmoid", in_training=False,
       single_node=(0.7,), accumulating=(-0.4,), inputs=Inputs(0.0, 5.0),
       graph_inputs=Inputs(0.0, 8.0),
       mistakes=((("1 / (1 + exp(-x))",), "the derivative of sigmoid is s * (1 - s), not s itself (out.data)"),)),
'''
SIGMOID_PART = '''
[parts.sigmoid]
title = "the _backward of sigmoid"
points = 1
'''
RIGHT = "            self.grad += s * (1 - s) * out.grad\n"
WRONG = "            self.grad += s * out.grad\n"


def insert(path, before, text):
    """Put `text` in the file just before the one occurrence of `before`."""
    content = path.read_text("utf-8")
    assert content.count(before) == 1, f"{path.name}: {before!r} occurs {content.count(before)} times"
    path.write_text(content.replace(before, text + before))


def fingerprints(folder):
    """{relative path: digest} of the folder's files, caches aside."""
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in folder.rglob("*") if path.is_file() and not IGNORED_PARTS.intersection(path.parts)}


@pytest.fixture
def course(repo, tmp_path):
    """(copy, run): a copy of the repository, and `run(*args)` of its own `autograder` command."""
    copy = clone(repo, tmp_path / "copy")
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "micrograd_reference").symlink_to(copy / "reference", target_is_directory=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(copy), str(shim)]),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def run(*args):
        result = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=copy, env=env,
                                capture_output=True, text=True, timeout=600)
        assert "Traceback" not in result.stderr, result.stderr
        return result
    return copy, run


def graded(run, *paths):
    """[{part: (score, max score, output)}] for each path, from the copy's `autograder grade --json`."""
    result = run("grade", "--json", *map(str, paths))
    assert result.returncode == 0, result.stderr
    return [{test["tags"][0]: (test["score"], test["max_score"], test["output"]) for test in payload["tests"]}
            for payload in json.loads(result.stdout)]


def lost(parts):
    return {part for part, (score, top, _) in parts.items() if score < top}


def add_sigmoid(copy):
    """The four documented places, and nothing else."""
    insert(copy / "solutions" / "micrograd" / "engine.py", "\n    def backward(self):", SIGMOID_METHOD)
    insert(copy / "reference" / "engine.py", "}\n\n\ndef power(k):", SIGMOID_REFERENCE_ROW)
    insert(copy / "reference" / "engine.py", "\n    # derived operations", SIGMOID_REFERENCE_METHOD)
    insert(copy / "autograder" / "exercise.py", ")\n\nPART_IDS = ", SIGMOID_ROW)
    with open(copy / "autograder" / "rubric.toml", "a", encoding="utf-8") as rubric:
        rubric.write(SIGMOID_PART)


@pytest.mark.slow
def test_adding_sigmoid_through_the_documented_places(course, tmp_path):
    copy, run = course
    before = fingerprints(copy)
    add_sigmoid(copy)
    assert run("release", "--check").returncode == 1
    released = run("release")
    assert released.returncode == 0, released.stderr
    assert run("release", "--check").returncode == 0
    changed = {name for name, digest in fingerprints(copy).items() if before.get(name) != digest}
    assert changed == {"solutions/micrograd/engine.py", "reference/engine.py", "autograder/exercise.py",
                       "autograder/rubric.toml",  # by hand; the rest written by `autograder release`:
                       "assignments/micrograd/engine.py", "assignments/micrograd/grading.ipynb",
                       "solutions/micrograd/grading.ipynb"}
    cells = nbformat.read(copy / "assignments" / "micrograd" / "grading.ipynb", as_version=4).cells
    assert "part-sigmoid" in [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in cells]

    wrong = tmp_path / "wrong"
    shutil.copytree(copy / "solutions" / "micrograd", wrong)
    engine = without_markers((wrong / "engine.py").read_text("utf-8"))
    assert engine.count(RIGHT) == 1
    (wrong / "engine.py").write_text(engine.replace(RIGHT, WRONG))
    model, stubs, mistaken = graded(run, copy / "solutions" / "micrograd", copy / "assignments" / "micrograd", wrong)
    parts = [*(op.part for op in exercise.OPS), "sigmoid", *exercise.OTHER_PARTS]
    assert list(model) == list(stubs) == list(mistaken) == parts
    assert lost(model) == set() and sum(top for _, top, _ in model.values()) == load_rubric().max_score + 1
    assert lost(stubs) == set(parts) and stubs["sigmoid"][2].startswith("not implemented yet (engine.py, line ")
    assert lost(mistaken) == {"sigmoid"}
    output = mistaken["sigmoid"][2]
    assert "out = a.sigmoid()" in output and "expected a.grad = " in output
    assert "likely: the derivative of sigmoid is s * (1 - s), not s itself (out.data)" in output


RELU_PART = '[parts.relu]\ntitle = "the _backward of relu"\npoints = 1\n'
RELU_LINE = "            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad\n"


@pytest.mark.slow
def test_a_course_without_relu_deletes_its_rubric_part_and_changes_no_code(course, tmp_path):
    copy, run = course
    rubric = copy / "autograder" / "rubric.toml"
    assert rubric.read_text("utf-8").count(RELU_PART) == 1
    rubric.write_text(rubric.read_text("utf-8").replace(RELU_PART, ""))
    released = run("release")
    assert released.returncode == 0, released.stderr
    cells = nbformat.read(copy / "assignments" / "micrograd" / "grading.ipynb", as_version=4).cells
    assert "part-relu" not in [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in cells]
    broken_relu = tmp_path / "broken-relu"
    shutil.copytree(copy / "solutions" / "micrograd", broken_relu)
    engine = without_markers((broken_relu / "engine.py").read_text("utf-8"))
    assert engine.count(RELU_LINE) == 1
    (broken_relu / "engine.py").write_text(engine.replace(RELU_LINE, "            self.grad = 1.0\n"))
    model, relu_wrong = graded(run, copy / "solutions" / "micrograd", broken_relu)
    parts = [part for part in exercise.PART_IDS if part != "relu"]
    assert list(model) == list(relu_wrong) == parts
    assert lost(model) == lost(relu_wrong) == set()
    assert sum(top for _, top, _ in model.values()) == load_rubric().max_score - load_rubric().part("relu").points
