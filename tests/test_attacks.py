"""The attack catalogue (tests/attacks.py) against the strongest sandbox this machine offers.

Each attack must score no more than the same submission without the attack, finish within the
part budget times the number of parts (plus a margin), leave no process running and no file
changed outside its scratch space, and produce a report that quotes none of the solutions, the
reference or the hidden tests.
"""
import hashlib
import json
import os
import re
import socket
import time
import uuid
from pathlib import Path

import pytest
from rich.console import Console

from attacks import ALL, ATTACKS
from leaks import substantive_lines
from autograder.grading.rubric import load_rubric
from autograder.grading.session import grade
from autograder.release import solution_lines, without_markers
from autograder.reports import gradescope, table
from autograder.sandbox.isolation import detect, issued_uids

PART_SECONDS = 3
MARGIN_SECONDS = 30


@pytest.fixture(scope="session")
def level():
    """Namespace isolation; CI installs bubblewrap, so its absence is a failure, not a skip."""
    return detect("strict")


@pytest.fixture(scope="session")
def fast_rubric(tmp_path_factory, repo):
    text = (repo / "autograder" / "rubric.toml").read_text()
    path = tmp_path_factory.mktemp("rubric") / "rubric.toml"
    path.write_text(re.sub(r"part_seconds = \d+", f"part_seconds = {PART_SECONDS}", text))
    return load_rubric(path)


@pytest.fixture(scope="session")
def secret_lines(repo):
    lines = set()
    for path in (repo / "solutions" / "micrograd").glob("*.py"):
        lines |= set(solution_lines(path.read_text())) - {""}
    for folder in (repo / "reference", repo / "autograder" / "hidden"):
        for path in folder.glob("*.py"):
            lines |= substantive_lines(path.read_text())
    return {line for line in lines if len(line) >= 20}


def tree_digest(*folders):
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def canary():
    folder = Path(f"/tmp/autograder-canary-{uuid.uuid4().hex[:8]}")
    folder.mkdir()
    path = folder / "canary.txt"
    path.write_text("untouched")
    yield path
    assert path.read_text() == "untouched", "an attack changed a file outside its scratch space"
    path.unlink()
    folder.rmdir()


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        connection = None
    server.close()
    assert connection is None, "an attack reached a port on the grader's machine"


def worker_processes():
    """Processes running as a uid that this test process gave to one of its workers."""
    ours = {str(uid) for uid in issued_uids()}
    found = []
    for entry in Path("/proc").iterdir():
        try:
            uids = next(line.split()[1:] for line in (entry / "status").read_text().splitlines() if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if ours.intersection(uids):
            found.append(entry.name)
    return found


def build_submission(attack, folder, repo, context):
    solution = (repo / "solutions" / "micrograd")
    stub = (repo / "assignments" / "micrograd")
    plain = without_markers((solution / "engine.py").read_text())
    folder.mkdir()
    (folder / "engine.py").write_text(attack.engine(plain, (stub / "engine.py").read_text(), context))
    nn_source = solution if attack.base == "solution" else stub
    (folder / "nn.py").write_text(without_markers((nn_source / "nn.py").read_text()))
    for name, text in attack.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def report_text(result):
    console = Console(record=True, width=200, file=open(os.devnull, "w"))
    console.print(table.render(result))
    return console.export_text() + json.dumps(gradescope.results_json(result))


@pytest.mark.parametrize("attack", [pytest.param(a, id=a.name, marks=[pytest.mark.slow] if a.slow else [])
                                    for a in ATTACKS])
def test_attack(attack, repo, tmp_path, level, fast_rubric, secret_lines, canary, listener):
    protected = tree_digest(repo / "solutions", repo / "reference", repo / "autograder")
    context = {"CANARY": canary, "PORT": listener.getsockname()[1]}
    folder = build_submission(attack, tmp_path / "submission", repo, context)

    started = time.monotonic()
    result = grade(folder, rubric=fast_rubric, level=level)
    elapsed = time.monotonic() - started

    lost = {p.id for p in result.parts} if attack.lost == ALL or attack.base == "stub" else attack.lost
    scores = {p.id: p.points for p in result.parts}
    assert scores == {p.id: 0.0 if p.id in lost else p.max_points for p in result.parts}, report_text(result)
    assert result.internal_errors == []
    assert elapsed <= PART_SECONDS * len(result.parts) + MARGIN_SECONDS
    time.sleep(0.1)
    assert worker_processes() == [], "a process of the attack is still running"
    assert tree_digest(repo / "solutions", repo / "reference", repo / "autograder") == protected
    assert not (repo / "results.json").exists() and not Path("/autograder/results/results.json").exists()
    assert not any(Path(p, "pwned-by-a-submission").exists() for p in ("/tmp", "/root", "/work", "/var/tmp"))
    report = report_text(result)
    assert len(report) < 200_000
    leaked = [line for line in secret_lines if line in report]
    assert not leaked, f"the report quotes hidden material: {leaked[:3]}"
    assert "FOUND" not in report
