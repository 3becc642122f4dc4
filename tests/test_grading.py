"""Grading whole submissions: the acceptance cases, determinism, reports and the command line."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.grading.rubric import DEFAULT_RUBRIC, PART_IDS, RubricError, load_rubric
from autograder.grading.session import grade
from autograder.release import without_markers
from autograder.reports import gradescope
from predating import unwritten_ops

GRADESCOPE_TEST_KEYS = {"name", "score", "max_score", "status", "output", "output_format", "visibility", "tags"}


@pytest.fixture(scope="module")
def solution_result(repo):
    return grade(repo / "solutions" / "micrograd")


@pytest.fixture(scope="module")
def stub_result(repo):
    return grade(repo / "assignments" / "micrograd")


@pytest.fixture(scope="module")
def karpathy(tmp_path_factory):
    """Karpathy's micrograd 0.1.0 (a test dependency), copied as a student's package folder."""
    import micrograd
    folder = tmp_path_factory.mktemp("karpathy") / "submission"
    shutil.copytree(Path(micrograd.__file__).parent, folder / "micrograd",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_the_solution_scores_full_marks(solution_result):
    assert solution_result.score == solution_result.max_score == load_rubric().max_score
    assert [part.id for part in solution_result.parts] == list(PART_IDS)
    assert solution_result.internal_errors == [] and solution_result.problem == ""
    assert "bubblewrap" in solution_result.isolation


def test_the_stubs_score_zero_with_not_implemented_feedback(stub_result):
    assert stub_result.score == 0 and stub_result.internal_errors == []
    for part in stub_result.parts:
        assert part.feedback and part.feedback[0].startswith("not implemented yet ("), (part.id, part.feedback)


def test_karpathys_micrograd_is_graded_without_a_crash(karpathy):
    result = grade(karpathy)
    assert result.internal_errors == []
    lost = {part.id: part.feedback for part in result.parts if not part.passed}
    unwritten = unwritten_ops(karpathy / "micrograd" / "engine.py")  # relu only: no tanh, no exp
    assert {"tanh", "exp"} <= set(unwritten) and set(lost) == {*unwritten, "convergence"}
    assert all(lost[part] == [f"Value has no method {method}"] for part, method in unwritten.items())


def test_grading_is_deterministic(repo, tmp_path, monkeypatch):
    folder = tmp_path / "submission"
    shutil.copytree(repo / "examples" / "submission", folder)
    monkeypatch.chdir(tmp_path)
    first, second = grade(folder), grade(folder)
    outcome = lambda r: [(p.id, p.points, p.feedback) for p in r.parts]
    assert outcome(first) == outcome(second)
    assert sorted(p.name for p in folder.iterdir()) == ["engine.py", "nn.py"]  # nothing written into it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["submission"]  # no .hypothesis or caches


def test_gradescope_json_has_one_test_per_part(solution_result, stub_result):
    for result in (solution_result, stub_result):
        data = json.loads(json.dumps(gradescope.results_json(result)))
        assert data["score"] == result.score
        assert [t["name"].split(":")[0] for t in data["tests"]] == list(PART_IDS)
        for test in data["tests"]:
            assert set(test) == GRADESCOPE_TEST_KEYS
            assert test["status"] in ("passed", "failed") and test["visibility"] == "visible"
            assert 0 <= test["score"] <= test["max_score"]


def autograder(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_cli_json_and_exit_code(repo):
    result = autograder("grade", "--json", str(repo / "assignments" / "micrograd"))
    assert result.returncode == 0
    assert json.loads(result.stdout)["score"] == 0


@pytest.mark.parametrize("args, message", [
    (["grade", "no/such/folder"], "no such file or folder: no/such/folder"),
    (["grade", "--rubric", "missing.toml", "."], "rubric file not found: missing.toml"),
    (["grade", "--sandbox", "nonsense", "."], "invalid choice: 'nonsense'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_cli_errors_are_clear(args, message, tmp_path):
    result = autograder(*args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_help_explains_the_commands():
    result = autograder("grade", "--help")
    assert result.returncode == 0
    for words in ("folder or a .zip", "--json", "--rubric", "--sandbox", "strict"):
        assert words in result.stdout


@pytest.mark.parametrize("text, message", [
    ("[parts.typo]\npoints = 1\n", "unknown part ids ['typo']"),
    ("parts = 3\n", "no [parts.ID] tables"),
    ("[parts]\n", "no [parts.ID] tables"),
    ("[parts]\nadd = 1\n", "parts.add must be a table"),
    ("[parts\n", "cannot read rubric"),
])
def test_rubric_errors(text, message, tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    with pytest.raises(RubricError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_rubric(path)


@pytest.mark.parametrize("edit, message", [
    (lambda text: text + 'mode = "fast"\n', "parts.convergence.mode must be one of trajectory, threshold, not 'fast'"),
    (lambda text: text.replace("[parts.add]\n", '[parts.add]\nmode = "threshold"\n'),
     "parts.add has no mode to choose (only convergence has)"),
], ids=["unknown-mode", "mode-of-another-part"])
def test_rubric_modes_are_validated(tmp_path, edit, message):
    path = tmp_path / "rubric.toml"
    path.write_text(edit(DEFAULT_RUBRIC.read_text()))
    with pytest.raises(RubricError, match=re.escape(message)):
        load_rubric(path)


def test_rubric_points_are_validated(repo, tmp_path):
    text = (repo / "autograder" / "rubric.toml").read_text().replace("points = 2", "points = -2", 1)
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    with pytest.raises(RubricError, match="parts.backward.points must be a number >= 0"):
        load_rubric(path)


def test_an_edited_rubric_changes_the_points(repo, tmp_path):
    text = (repo / "autograder" / "rubric.toml").read_text()
    assert load_rubric().part("backward").points == 2 and text.count("points = 2") == 1
    path = tmp_path / "rubric.toml"
    path.write_text(text.replace("points = 2", "points = 5"))
    before = grade(repo / "examples" / "submission")
    after = grade(repo / "examples" / "submission", rubric=load_rubric(path))
    assert before.parts[PART_IDS.index("backward")].passed
    assert (after.score, after.max_score) == (before.score + 3, before.max_score + 3)


def test_a_part_left_out_of_the_rubric_is_not_graded(repo, tmp_path):
    """A course without relu deletes [parts.relu]; nothing else changes."""
    text = (repo / "autograder" / "rubric.toml").read_text()
    path = tmp_path / "rubric.toml"
    path.write_text(text.replace('[parts.relu]\ntitle = "the _backward of relu"\npoints = 1\n', ""))
    rubric = load_rubric(path)
    assert [part.id for part in rubric.parts] == [p for p in PART_IDS if p != "relu"]
    result = grade(repo / "solutions" / "micrograd", rubric=rubric)
    assert [part.id for part in result.parts] == [part.id for part in rubric.parts]
    assert result.score == result.max_score == load_rubric().max_score - load_rubric().part("relu").points


def rubric_with_convergence_mode(folder, mode):
    path = folder / f"{mode}.toml"
    text = DEFAULT_RUBRIC.read_text()
    assert text.endswith("[parts.convergence]\ntitle = \"training on the 3-example dataset\"\npoints = 1\n")
    path.write_text(text + f"mode = {json.dumps(mode)}\n")
    return load_rubric(path)


@pytest.fixture(scope="module")
def biases_not_updated(repo, tmp_path_factory):
    """parameters() leaves the biases out: the network still trains below the lesson's threshold,
    on a loss curve that leaves the reference's after the first update."""
    folder = tmp_path_factory.mktemp("no-biases") / "submission"
    folder.mkdir()
    (folder / "engine.py").write_text(without_markers((repo / "solutions" / "micrograd" / "engine.py").read_text()))
    nn = without_markers((repo / "solutions" / "micrograd" / "nn.py").read_text())
    every = "return [p for layer in self.layers for p in layer.parameters()]"
    assert nn.count(every) == 1
    (folder / "nn.py").write_text(nn.replace(every, "return [p for layer in self.layers for n in layer.neurons for p in n.w]"))
    return folder


def test_the_default_convergence_mode_follows_the_reference_step_by_step():
    assert load_rubric().part("convergence").mode == "trajectory"
    assert {part.mode for part in load_rubric().parts if part.id != "convergence"} == {""}


@pytest.mark.parametrize("mode, passed", [("trajectory", False), ("threshold", True)])
def test_the_convergence_mode_decides_whether_a_near_miss_is_charged_twice(biases_not_updated, tmp_path, mode,
                                                                             passed):
    result = grade(biases_not_updated, rubric=rubric_with_convergence_mode(tmp_path, mode))
    parts = {part.id: part for part in result.parts}
    assert not parts["parameters"].passed and "the biases are missing" in parts["parameters"].feedback[0]
    assert parts["convergence"].passed == passed, parts["convergence"].feedback
    assert [p.id for p in result.parts if not p.passed] == ["parameters"] + ([] if passed else ["convergence"])


def test_in_threshold_mode_a_run_that_stays_above_the_threshold_fails_and_says_where_it_left_the_reference(
        repo, tmp_path):
    result = grade(repo / "examples" / "submission", rubric=rubric_with_convergence_mode(tmp_path, "threshold"))
    [message] = next(part for part in result.parts if part.id == "convergence").feedback
    assert message.startswith("after 50 steps the loss is ") and "not below 0.05" in message
    assert "the loss differs from the reference at step 1" in message


@pytest.mark.slow
def test_same_score_and_feedback_in_a_fresh_process(repo, tmp_path):
    """A bug only generated cases find: the shrunk example must not depend on the process
    (what it has imported, how the grader is installed); see session.no_local_constants."""
    folder = tmp_path / "far"
    folder.mkdir()
    engine = without_markers((repo / "solutions" / "micrograd" / "engine.py").read_text())
    correct = "            self.grad += (1 - t ** 2) * out.grad\n"
    assert engine.count(correct) == 1
    (folder / "engine.py").write_text(engine.replace(
        correct, "            self.grad += ((1 - t ** 2) if abs(self.data) < 1.5 else 0.5) * out.grad\n"))
    (folder / "nn.py").write_text(without_markers((repo / "solutions" / "micrograd" / "nn.py").read_text()))
    in_process = gradescope.results_json(grade(folder))
    fresh = json.loads(autograder("grade", "--json", str(folder)).stdout)
    outputs = lambda data: [(t["name"], t["score"], t["output"]) for t in data["tests"]]
    assert outputs(in_process) == outputs(fresh)
    tanh = next(t for t in fresh["tests"] if t["name"].startswith("tanh"))
    assert tanh["score"] == 0 and "a generated case (the smallest that fails)" in tanh["output"]
