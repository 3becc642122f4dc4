"""The public self-checks, run the way a student runs them: plain `pytest` in their folder."""
import ast
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograder.release import make_stub

SELF_CHECK_FILE = Path(__file__).resolve().parent.parent / "solutions" / "micrograd" / "test_selfcheck.py"
SELF_CHECKS = [node.name for node in ast.parse(SELF_CHECK_FILE.read_text("utf-8")).body
               if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]


def run_self_checks(folder):
    """{test name: (outcome, message)} from `pytest` run inside `folder`."""
    report = folder / "report.xml"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
                            cwd=folder, capture_output=True, text=True, timeout=120)
    assert report.exists(), result.stdout + result.stderr
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        problem = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
        outcomes[case.get("name")] = ("passed", "") if problem is None else (problem.tag, problem.get("message", ""))
    return outcomes


@pytest.fixture
def student_folder(tmp_path):
    def copy(source):
        target = tmp_path / "student"
        shutil.copytree(source, target)
        return target
    return copy


def test_the_self_checks_are_read_from_their_file():
    assert len(SELF_CHECKS) >= 9 and {"test_add", "test_backward", "test_parameters"} <= set(SELF_CHECKS)


def test_all_pass_on_the_solution(repo, student_folder):
    outcomes = run_self_checks(student_folder(repo / "solutions" / "micrograd"))
    assert sorted(outcomes) == sorted(SELF_CHECKS)
    assert all(outcome == "passed" for outcome, _ in outcomes.values()), outcomes


def test_each_fails_as_not_implemented_on_the_stubs(repo, student_folder):
    outcomes = run_self_checks(student_folder(repo / "assignments" / "micrograd"))
    assert sorted(outcomes) == sorted(SELF_CHECKS)
    for name, (outcome, message) in outcomes.items():
        assert outcome == "failure", (name, outcome, message)  # a failure, not a collection/import error
        assert message.startswith("Failed: not implemented yet: "), (name, message)


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
    assert all(outcomes[name][0] == "failure" for name in SELF_CHECKS if name != "test_add")


def test_a_common_mistake_gets_a_teaching_message(repo, student_folder):
    folder = student_folder(repo / "solutions" / "micrograd")
    engine = folder / "engine.py"
    engine.write_text(engine.read_text().replace("self.grad += other.data * out.grad", "self.grad = other.data * out.grad"))
    outcomes = run_self_checks(folder)
    outcome, message = outcomes["test_gradients_accumulate"]
    assert outcome == "failure" and "use `+=`, not `=`" in message
