"""The README's promises: its two set-up commands, CI running the second, the example's grade."""
import re
import shutil
import subprocess
import sys
import venv

import pytest

import classroom
from checkout import clone

EXAMPLE_SCORE = f"score: {classroom.EXAMPLE:g} / {classroom.CORRECT:g}"  # the example's two mistakes cost 3 parts


@pytest.fixture(scope="module")
def setup_commands(repo):
    readme = (repo / "README.md").read_text()
    block = re.search(r"## Set up \(two commands\)\s*```sh\n(.*?)```", readme, re.S)
    assert block, "the README has no set-up block"
    commands = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    assert len(commands) == 2, commands
    return commands


def test_ci_runs_exactly_the_readme_test_command(repo, setup_commands):
    ci = (repo / ".ci" / "run").read_text()
    assert any(line.strip().startswith(setup_commands[1]) for line in ci.splitlines())
    assert "--run-slow" in setup_commands[1]


def test_ci_treats_no_tests_as_failure(repo, tmp_path):
    """.ci/run maps pytest's exit code 5 (no tests collected) to a failure."""
    fake = tmp_path / "repo"
    (fake / ".ci").mkdir(parents=True)
    (fake / "dev").mkdir()
    shutil.copy(repo / ".ci" / "run", fake / ".ci" / "run")
    (fake / "dev" / "install-test-deps").write_text("#!/bin/sh\nexit 0\n")
    (fake / "dev" / "install-test-deps").chmod(0o755)
    (fake / "pytest.ini").write_text("[pytest]\n")
    (fake / "conftest.py").write_text("def pytest_addoption(parser):\n    parser.addoption('--run-slow', action='store_true')\n")
    result = subprocess.run(["sh", str(fake / ".ci" / "run")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "collected no tests" in result.stderr


def test_example_submission_grades_as_documented(repo):
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", "examples/submission"], cwd=repo,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert EXAMPLE_SCORE in result.stdout
    assert "the biases are missing" in result.stdout
    assert "likely: you assign the gradient (`=`)" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
def test_first_command_works_from_a_fresh_copy(repo, tmp_path, setup_commands):
    """`pip install . && autograder grade examples/submission` in a new virtual environment."""
    copy = clone(repo, tmp_path / "clone")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    command = setup_commands[0].replace("pip install", f"{bin_dir}/python -m pip install -q").replace(
        "autograder grade", f"{bin_dir}/autograder grade")
    result = subprocess.run(["sh", "-c", command], cwd=copy, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert EXAMPLE_SCORE in result.stdout
