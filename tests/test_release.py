"""The release pipeline: markers, stubs, the committed student folder."""
import ast
import shutil
import subprocess
import sys
import textwrap

import pytest

from autograder import release
from autograder.release import MarkerError, find_regions, make_stub, solution_lines, without_markers
from leaks import substantive_lines

EXPECTED_REGIONS = {
    "engine.py": ["Value.__add__._backward", "Value.__mul__._backward", "Value.__pow__._backward",
                  "Value.tanh._backward", "Value.exp._backward", "Value.relu._backward", "Value.backward"],
    "nn.py": ["MLP.parameters"],
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
        if path.name not in EXPECTED_REGIONS and path.is_file():
            assert find_regions(path.read_text().splitlines(), path.name) == []


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
    drift = release.release(solutions, released, check=True)
    assert not drift, "assignments/ drifted from solutions/; run `autograder release`:\n" + "\n".join(drift.lines())


def test_assignments_hold_no_solution_text(solutions, released):
    for filename in EXPECTED_REGIONS:
        secret = set(solution_lines((solutions / filename).read_text()))
        released_lines = {line.strip() for path in released.rglob("*") if path.is_file()
                          for line in path.read_text(errors="replace").splitlines()}
        assert secret and not secret & released_lines


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
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


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
