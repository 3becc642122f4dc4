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
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from rich.console import Console

from attacks import ALL, ATTACKS, Attack, compromised_worker
from leaks import substantive_lines
from autograder.grading.rubric import load_rubric
from autograder.grading.session import grade
from autograder.release import solution_lines, without_markers
from autograder.reports import gradescope, table
from autograder.sandbox import isolation
from autograder.sandbox.isolation import detect, issued_uids

PART_SECONDS = 3
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
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
    # what students are given is public, even where the reference happens to read the same
    # (`for layer in self.layers:`); the given-code warnings quote it
    public = {line.strip() for path in (repo / "assignments" / "micrograd").glob("*.py")
              for line in path.read_text().splitlines()}
    return {line for line in lines - public if len(line) >= 20}


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
def private_tmp(tmp_path, monkeypatch):
    """The grader's temporary folders (staging, compiling, the worker's scratch) go here: empty
    again once a submission is graded."""
    folder = tmp_path / "grader-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    assert not list(folder.iterdir()), "grading left files behind"


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
    """Processes running as a uid that this test process gave to one of its workers (a killed
    process that its parent has not yet reaped, a zombie, runs nothing and is not counted)."""
    ours = {str(uid) for uid in issued_uids()}
    found = []
    for entry in Path("/proc").iterdir():
        try:
            status = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if ours.intersection(status.get("Uid", "").split()) and not status.get("State", "").strip().startswith("Z"):
            found.append(entry.name)
    return found


def build_submission(attack, folder, repo, context):
    solution = (repo / "solutions" / "micrograd")
    stub = (repo / "assignments" / "micrograd")
    plain = without_markers((solution / "engine.py").read_text())
    folder.mkdir()
    (folder / "engine.py").write_text(attack.engine(plain, (stub / "engine.py").read_text(), context))
    nn_source = solution if attack.base == "solution" else stub
    nn_text = without_markers((nn_source / "nn.py").read_text())
    (folder / "nn.py").write_text(attack.nn_edit(nn_text) if attack.nn_edit else nn_text)
    for name, text in attack.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text() if callable(text) else text)
    return zip_folder(folder) if attack.archive else folder


def zip_folder(folder):
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(folder).as_posix())
    return archive


def report_text(result):
    console = Console(record=True, width=200, file=open(os.devnull, "w"))
    console.print(table.render(result))
    return console.export_text() + json.dumps(gradescope.results_json(result))


LAYERS = [pytest.param((a, "whole grader"), id=a.name, marks=[pytest.mark.slow] if a.slow else []) for a in ATTACKS] + [
    pytest.param((a, "sandbox alone"), id=f"{a.name} (sandbox alone)", marks=[pytest.mark.slow])
    for a in ATTACKS if a.runtime is not None]


@pytest.mark.parametrize("attack_and_layer", LAYERS)
def test_attack(attack_and_layer, repo, tmp_path, level, fast_rubric, secret_lines, canary, listener, private_tmp):
    """The whole grader takes away `lost`; the sandbox alone, with the reading of the source
    switched off, `runtime_lost`: each layer holds on its own."""
    attack, layer = attack_and_layer
    protected = tree_digest(repo / "solutions", repo / "reference", repo / "autograder")
    context = {"CANARY": canary, "PORT": listener.getsockname()[1]}
    folder = build_submission(attack, tmp_path / "submission", repo, context)

    started = time.monotonic()
    result = grade(folder, rubric=fast_rubric, level=level, read_source=layer == "whole grader")
    elapsed = time.monotonic() - started

    expected = attack.lost if layer == "whole grader" else attack.runtime
    lost = {p.id for p in result.parts} if expected == ALL or attack.base == "stub" else expected
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
    assert not CONTROL.search(report), "student text reached the report with control characters"
    feedback = {p.id: "\n".join(p.feedback) for p in result.parts if p.id in lost}
    assert layer != "whole grader" or not attack.feedback or any(attack.feedback in text for text in feedback.values()), \
        report
    assert not any("different results" in text for text in feedback.values()), report


@pytest.mark.parametrize("pad, lost", [(400_000, ALL), (30_000, frozenset())], ids=["over the bound", "within it"])
def test_signed_reply_balloons(pad, lost, repo, tmp_path, level, fast_rubric, monkeypatch, private_tmp):
    """A worker taken over pads every reply of the model answer with empty objects: 400,000 of
    them (1.2 MB, 85 MB decoded) is refused as oversized; 30,000 is read, and dropped once
    checked. (tests/test_bounds.py measures the grader's memory meanwhile.)"""
    monkeypatch.setattr(isolation, "WORKER_DIR", compromised_worker(tmp_path / "worker", pad))
    folder = build_submission(Attack("the model answer", "solution", frozenset()), tmp_path / "submission", repo, {})
    started = time.monotonic()
    result = grade(folder, rubric=fast_rubric, level=level)
    assert time.monotonic() - started <= PART_SECONDS * len(result.parts) + MARGIN_SECONDS
    assert result.internal_errors == []
    assert {p.id for p in result.parts if not p.passed} == ({p.id for p in result.parts} if lost == ALL else lost)
    assert all(p.feedback == ["the code under test sent an oversized reply"] for p in result.parts if not p.passed)
    time.sleep(0.1)
    assert worker_processes() == []


# ---------------------------------------------------------------- hostile archives

def many_entries(path, count=100_000):
    """A real zip whose table of contents lists `count` empty files (built byte by byte: fast)."""
    local, central = bytearray(), bytearray()
    for n in range(count):
        name = f"f{n}".encode()
        offset = len(local)
        local += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
        central += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0,
                               offset) + name
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF), min(count, 0xFFFF), len(central),
                      len(local), 0)
    path.write_bytes(bytes(local + central + end))


def zipped(entries):
    def build(path):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return build


HOSTILE_ARCHIVES = {
    "a name longer than the file system allows": (zipped([("a" * 300 + ".py", "x = 1"), ("engine.py", "")]),
                                                  "File name too long"),
    "a file and a folder of the same name": (zipped([("m.py", "x"), ("m.py/engine.py", "x")]), "cannot be read"),
    "a table of contents of 100,000 entries": (many_entries, "that is too many"),
    "an archive of 40 MB": (lambda path: path.write_bytes(b"PK\x03\x04" + os.urandom(40 << 20)), "over the limit"),
    "a zip bomb": (zipped([("engine.py", b"#" * (300 << 20))]), "over the limit of"),
    "a path outside the folder": (zipped([("../../escape.py", "x")]), "unsafe archive"),
    "escape sequences in names": (zipped([("\x1b[2J\x1b[Hscore 10.py", "x")]), "no engine.py"),
}


@pytest.mark.parametrize("case", HOSTILE_ARCHIVES)
def test_hostile_archive(case, tmp_path, level, fast_rubric):
    build, words = HOSTILE_ARCHIVES[case]
    archive = tmp_path / "submission.zip"
    build(archive)
    started = time.monotonic()
    result = grade(archive, rubric=fast_rubric, level=level)
    assert time.monotonic() - started < 10
    assert result.score == 0 and result.internal_errors == [] and words in result.problem, result.problem
    report = report_text(result)
    assert "autograder-stage" not in report and not CONTROL.search(report)
    assert not list(tmp_path.glob("escape.py")) and not Path("/tmp/escape.py").exists()


def test_a_hostile_archive_exits_0_from_the_command_line(tmp_path):
    archive = tmp_path / "submission.zip"
    HOSTILE_ARCHIVES["a file and a folder of the same name"][0](archive)
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", str(archive)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "cannot be read or unpacked" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout
