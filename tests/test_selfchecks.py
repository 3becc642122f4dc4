"""The public self-checks, run the way a student runs them: plain `pytest` in their folder."""
import ast
import importlib.util
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograder.grading.rubric import PART_IDS
from autograder.reading import rules
from autograder.release import make_stub, without_markers

SELF_CHECK_FILE = Path(__file__).resolve().parent.parent / "solutions" / "micrograd" / "test_selfcheck.py"
SELF_CHECKS = [node.name for node in ast.parse(SELF_CHECK_FILE.read_text("utf-8")).body
               if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
# the checks of what a file imports, which the stubs pass (they import math and random only)
IMPORT_CHECKS = ["test_engine_imports_the_standard_library_only", "test_nn_imports_the_standard_library_only"]
BLANK_CHECKS = [name for name in SELF_CHECKS if name not in IMPORT_CHECKS]  # each needs a blank written
PARAMETERS = "return [p for layer in self.layers for p in layer.parameters()]"
OVERWRITING_MUL = ("self.grad += other.data * out.grad", "self.grad = other.data * out.grad")
PER_PATH_BACKWARD = """\
        self.grad = 1.0

        def visit(node):  # each path on its own, no topological order
            node._backward()
            for child in node._prev:
                visit(child)
        visit(self)
"""


def run_self_checks(folder):
    """{test name: (outcome, message, full text)} from `pytest` run inside `folder`."""
    report = folder / "report.xml"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
                            cwd=folder, capture_output=True, text=True, timeout=120)
    assert report.exists(), result.stdout + result.stderr
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        problem = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
        outcomes[case.get("name")] = ("passed", "", "") if problem is None else \
            (problem.tag, problem.get("message", ""), problem.text or "")
    return outcomes


@pytest.fixture
def student_folder(tmp_path):
    def copy(source):
        target = tmp_path / "student"
        shutil.copytree(source, target)
        return target
    return copy


@pytest.fixture
def solved(repo, student_folder):
    """The model answer as a student hands it in; edit(file, old, new) makes one mistake in it."""
    folder = student_folder(repo / "solutions" / "micrograd")
    for name in ("engine.py", "nn.py"):
        (folder / name).write_text(without_markers((folder / name).read_text()))

    def edit(name, old, new):
        text = (folder / name).read_text()
        assert text.count(old) == 1, (name, old)
        (folder / name).write_text(text.replace(old, new))
        return folder
    return edit


def failures(outcomes):
    return {name: message for name, (outcome, message, _) in outcomes.items() if outcome != "passed"}


def test_the_self_checks_are_read_from_their_file():
    assert set(IMPORT_CHECKS) < set(SELF_CHECKS) and len(BLANK_CHECKS) >= 9 and {"test_add", "test_backward", "test_parameters"} <= set(SELF_CHECKS)


def test_all_pass_on_the_solution(repo, student_folder):
    outcomes = run_self_checks(student_folder(repo / "solutions" / "micrograd"))
    assert sorted(outcomes) == sorted(SELF_CHECKS)
    assert all(outcome == "passed" for outcome, _, _ in outcomes.values()), outcomes


def test_each_fails_as_not_implemented_on_the_stubs(repo, student_folder):
    outcomes = run_self_checks(student_folder(repo / "assignments" / "micrograd"))
    assert sorted(outcomes) == sorted(SELF_CHECKS)
    for name in BLANK_CHECKS:
        outcome, message, _ = outcomes[name]
        assert outcome == "failure", (name, outcome, message)  # a failure, not a collection/import error
        assert message.startswith("Failed: not implemented yet: "), (name, message)
    assert all(outcomes[name][0] == "passed" for name in IMPORT_CHECKS)  # the stubs import math and random only


def test_messages_name_what_to_implement(repo, student_folder):
    outcomes = run_self_checks(student_folder(repo / "assignments" / "micrograd"))
    assert "the _backward of Value.tanh (engine.py" in outcomes["test_tanh"][1]
    assert "Value.backward (engine.py" in outcomes["test_backward"][1]
    assert "MLP.parameters (nn.py" in outcomes["test_parameters"][1]


def test_progress_shows_part_by_part(repo, student_folder):
    """A student who has written only __add__'s _backward passes test_add and nothing else."""
    folder = student_folder(repo / "assignments" / "micrograd")
    solution = (repo / "solutions" / "micrograd" / "engine.py").read_text()
    add_done = solution.replace("### BEGIN SOLUTION", "#BEGIN", 1).replace("### END SOLUTION", "#END", 1)
    (folder / "engine.py").write_text(make_stub(add_done))
    outcomes = run_self_checks(folder)
    assert outcomes["test_add"][0] == "passed"
    assert all(outcomes[name][0] == "failure" for name in BLANK_CHECKS if name != "test_add")


def test_an_overwriting_gradient_fails_its_op_and_only_its_op(solved):
    """`=` for `+=` in mul: test_mul says so; backward(), checked with functions of its own, passes."""
    found = failures(run_self_checks(solved("engine.py", *OVERWRITING_MUL)))
    assert list(found) == ["test_mul"]
    assert found["test_mul"].endswith("a.grad lost the 0.5 it held: gradients from several uses add up, so use "
                                      "`+=`, not `=`")


def test_a_missing_upstream_gradient_is_named(solved):
    right = "self.grad += (1 - t ** 2) * out.grad"
    found = failures(run_self_checks(solved("engine.py", right, right.replace(" * out.grad", ""))))
    assert list(found) == ["test_tanh"]
    assert "the factor out.grad is missing" in found["test_tanh"]


def test_a_backward_without_a_topological_order_fails_on_a_shared_inner_node(solved, repo):
    """Recursion along each path is right when the shared node is a leaf (test_backward), wrong
    when it is an inner node whose _backward then runs once per path."""
    solution = without_markers((repo / "solutions" / "micrograd" / "engine.py").read_text())
    body = solution[solution.index("        # order the graph"):solution.index("    # Everything below")]
    found = failures(run_self_checks(solved("engine.py", body, PER_PATH_BACKWARD + "\n")))
    assert list(found) == ["test_backward_shared_node"]
    assert "the _backward of c ran 2 times; it must run once" in found["test_backward_shared_node"]


def test_a_level_by_level_backward_fails_on_paths_of_unequal_length(solved, repo):
    solution = without_markers((repo / "solutions" / "micrograd" / "engine.py").read_text())
    body = solution[solution.index("        # order the graph"):solution.index("    # Everything below")]
    by_level = ("        self.grad = 1.0\n        queue, seen = [self], {self}\n        while queue:\n"
                "            node = queue.pop(0)\n            node._backward()\n            for child in node._prev:\n"
                "                if child not in seen:\n                    seen.add(child)\n"
                "                    queue.append(child)\n\n")
    found = failures(run_self_checks(solved("engine.py", body, by_level)))
    assert list(found) == ["test_backward_shared_node"]
    assert "the _backward of c ran before that of e, which uses c" in found["test_backward_shared_node"]


def test_missing_biases_are_named(solved):
    found = failures(run_self_checks(solved(
        "nn.py", PARAMETERS, "return [p for layer in self.layers for n in layer.neurons for p in n.w]")))
    assert found == {"test_parameters": "Failed: parameters() returned the weights without the biases: each "
                                        "neuron's b is a parameter too"}


@pytest.mark.parametrize("file, first_line, line", [("nn.py", "import random\n", "import numpy as np\n"),
                                                    ("engine.py", "import math\n", "from sympy import diff\n")])
def test_an_import_outside_the_standard_library_is_refused_with_the_reason(solved, file, first_line, line):
    pytest.importorskip(line.split()[1])  # installed here, so only the self-check can tell
    found = failures(run_self_checks(solved(file, first_line, line + first_line)))
    check = f"test_{file.removesuffix('.py')}_imports_the_standard_library_only"
    assert list(found) == [check]
    message = found[check]
    assert f"{file} imports {line.split()[1]}, which the grader does not have" in message
    assert "standard library only" in message


@pytest.mark.parametrize("file, first_line, line", [("engine.py", "import math\n", "import inspect\n"),
                                                    ("nn.py", "import random\n", "from timeit import Timer\n")])
def test_a_standard_library_module_the_grader_refuses_is_named_with_the_reason(solved, file, first_line, line):
    found = failures(run_self_checks(solved(file, first_line, line + first_line)))
    check = f"test_{file.removesuffix('.py')}_imports_the_standard_library_only"
    assert list(found) == [check]
    assert f"{file} imports {line.split()[1]}, which no part of this exercise needs" in found[check]


def test_the_self_check_allows_the_modules_the_grader_allows(repo):
    """The students' self-check carries its own copy of the allowlist (it cannot import the
    grader): it must be the grader's, autograder/reading/rules.py."""
    tree = ast.parse((repo / "solutions" / "micrograd" / "test_selfcheck.py").read_text())
    listed = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                  and any(getattr(t, "id", "") == "ALLOWED_MODULES" for t in node.targets))
    assert ast.literal_eval(listed) == {name.partition(".")[0] for name in rules.ALLOWED_MODULES}


@pytest.mark.parametrize("file, old, new", [
    ("engine.py", *OVERWRITING_MUL),
    ("nn.py", PARAMETERS, PARAMETERS.replace("[p for", "[[p] for")),
    ("nn.py", PARAMETERS, "return 41"),
    ("nn.py", PARAMETERS, PARAMETERS + " * 2"),
], ids=["overwriting-mul", "nested-list", "not-a-list", "each-twice"])
def test_every_failure_is_one_line(solved, file, old, new):
    """No assertion dumps or tracebacks: each failing self-check prints its message alone."""
    found = run_self_checks(solved(file, old, new))
    assert failures(found)
    for outcome, message, text in found.values():
        if outcome != "passed":
            assert "\n" not in text.strip() and message == "Failed: " + text.strip(), text


def load_validate(folder):
    spec = importlib.util.spec_from_file_location("validate_under_test", folder / "validate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_validate_gives_every_self_check_to_a_graded_part_and_every_part_but_training_its_own(repo):
    validate = load_validate(repo / "solutions" / "micrograd")
    needed = {part: validate.checks_of(part, SELF_CHECKS) for part in PART_IDS}
    assert {name for names in needed.values() for name in names} == set(SELF_CHECKS)
    assert all(set(names) - set(IMPORT_CHECKS) for part, names in needed.items() if part != "convergence"), needed
    assert needed["backward"] == [validate.ENGINE_IMPORTS, "test_backward", "test_backward_shared_node"]
    assert needed["convergence"] == IMPORT_CHECKS


def test_the_students_readme_says_standard_library_only_and_how_to_get_pytest(repo):
    readme = " ".join((repo / "assignments" / "micrograd" / "README.md").read_text().split())
    assert "standard library only" in readme and "`pip install pytest`" in readme
    for_students = " ".join((repo / "README.md").read_text().split("## For students", 1)[1].split("\n## ")[0].split())
    assert "standard library only" in for_students and "`pip install pytest`" in for_students
    assert re.search(r"`import numpy` .* fails", readme)
