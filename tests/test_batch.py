"""Batches: one hostile submission never changes another's score and never stops the batch.

The hostile code here is refused by the grader's reading before it runs (it marks the submission
for review, and the submission scores nothing); what these tests are after is the sandbox, the
layer behind the reading, so they grade each batch twice: with the whole grader, and with the
sandbox alone, where the hostile code does run and must still leave the others alone."""
import json
import shutil

import pytest
from rich.console import Console

from autograder import grade as grade_command
from autograder.grading import session
from autograder.grading.rubric import load_rubric
from autograder.release import without_markers
from autograder.sandbox.isolation import detect
from test_attacks import worker_processes

FULL = load_rubric().max_score  # a correct submission's score

FINDS_ENGINES = '''
import os, time
def engines():
    for top, _, names in os.walk("/tmp"):
        for name in names:
            if name == "engine.py":
                yield os.path.join(top, name)
'''
TAMPERER = FINDS_ENGINES + '''
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        end = time.time() + 60
        while time.time() < end:  # wait for the next submission's scratch copy, then break it
            for path in engines():
                try:
                    open(path, "w").write("raise SystemExit")
                except OSError:
                    pass
            time.sleep(0.01)
        os._exit(0)
    os._exit(0)
'''


@pytest.fixture
def solution_copy(repo, tmp_path):
    def copy(name, prelude=""):
        folder = tmp_path / name
        shutil.copytree(repo / "solutions" / "micrograd", folder)
        engine = folder / "engine.py"
        engine.write_text(prelude + without_markers(engine.read_text()))
        return folder
    return copy


SNOOPER = FINDS_ENGINES + '''
if os.fork() == 0:
    os.setsid()
    end = time.time() + 60
    while time.time() < end:
        if os.fork() != 0:  # a new process every round, faster than anyone scanning /proc
            os._exit(0)
        for n, path in enumerate(engines()):
            try:
                open(os.path.join("DROP", f"{os.getpid()}-{n}.py"), "w").write(open(path).read())
            except OSError:
                pass
        time.sleep(0.002)
    os._exit(0)
'''


def run_batch(paths, sandbox="auto", layer="whole grader"):
    """The results of grading `paths` as one batch, in one worker, as `autograder grade a b c` does."""
    results = grade_command.grade_all([str(p) for p in paths], load_rubric(), detect(sandbox), Console(quiet=True),
                                      read_source=layer == "whole grader")
    return [(result.score, result.review) for result in results]


LAYERS = ["whole grader", "sandbox alone"]


def hostile_score(layer):
    """The hostile submissions below are correct but for the code they add: the whole grader does
    not grade them (and marks them for review); with the sandbox alone, they score in full."""
    return 0.0 if layer == "whole grader" else FULL


@pytest.mark.slow
@pytest.mark.parametrize("layer", LAYERS)
def test_a_tampering_daemon_cannot_touch_the_next_submission(solution_copy, layer):
    attacker = solution_copy("attacker", TAMPERER)
    victims = [solution_copy(f"victim{i}") for i in range(2)]
    results = run_batch([attacker, *victims], layer=layer)
    assert [score for score, _ in results] == [hostile_score(layer), FULL, FULL]
    assert bool(results[0][1]) == (layer == "whole grader")  # marked for review
    for victim in victims:
        assert "raise SystemExit" not in (victim / "engine.py").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("sandbox", ["strict", "process"])
def test_a_daemon_that_keeps_forking_is_gone_before_the_next_submission(solution_copy, tmp_path, sandbox, layer):
    drop = tmp_path / "drop"
    drop.mkdir(mode=0o777)
    drop.chmod(0o1777)
    attacker = solution_copy("attacker", SNOOPER.replace("DROP", str(drop)))
    victims = [solution_copy(f"victim{i}", f"# VICTIM {i}\n") for i in range(2)]
    results = run_batch([attacker, *victims], sandbox, layer)
    assert [score for score, _ in results[1:]] == [FULL] * 2  # the attacker may run out of processes
    copied = [path.read_text() for path in drop.iterdir()]
    assert not any("VICTIM" in text for text in copied), "a daemon of one submission read the next one's code"
    assert worker_processes() == []


NOTE_WRITER = '''
import os, time
for folder in (os.environ.get("TMPDIR", "/tmp"), "/tmp", "/var/tmp", "/dev/shm"):
    try:
        open(os.path.join(folder, "note-for-the-next-submission"), "w").write("x")
    except OSError:
        pass
if os.fork() == 0:
    os.setsid()
    time.sleep(60)
    os._exit(0)
'''
NOTE_READER = '''
import os
if any(os.path.exists(os.path.join(folder, "note-for-the-next-submission"))
       for folder in (os.environ.get("TMPDIR", "/tmp"), "/tmp", "/var/tmp", "/dev/shm")):
    raise SystemExit("a note from the submission before")
'''


@pytest.mark.slow
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("sandbox", ["strict", "process"])
def test_a_submission_leaves_nothing_for_the_next_one_in_the_same_worker(solution_copy, sandbox, layer):
    writer, reader = solution_copy("writer", NOTE_WRITER), solution_copy("reader", NOTE_READER)
    results = run_batch([writer, reader], sandbox, layer)
    assert [score for score, _ in results] == [hostile_score(layer)] * 2
    assert worker_processes() == []


@pytest.mark.slow
def test_one_broken_submission_does_not_stop_the_batch(solution_copy, tmp_path, capsys):
    unsafe = tmp_path / "unsafe.zip"
    unsafe.write_bytes(b"PK\x03\x04 not really a zip")
    hanging = solution_copy("hanging", "import os\nos._exit(3)\n")
    good = solution_copy("good")
    code = grade_command.main(paths=[str(p) for p in (unsafe, hanging, good)], as_json=True)
    results = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["score"] for r in results] == [0.0, 0.0, FULL]
    assert "cannot be unpacked" in results[0]["output"] or "not a valid zip" in results[0]["output"]


@pytest.mark.slow
def test_a_grader_failure_is_one_submissions_result(solution_copy, monkeypatch, capsys):
    first, second = solution_copy("first"), solution_copy("second")
    real_grade = session.grade

    def flaky_grade(path, **kwargs):
        if str(path).endswith("first"):
            raise RuntimeError("disk on fire")
        return real_grade(path, **kwargs)

    monkeypatch.setattr(session, "grade", flaky_grade)
    code = grade_command.main(paths=[str(first), str(second)], as_json=True)
    results = json.loads(capsys.readouterr().out)
    assert code == 3  # the grader itself failed somewhere
    assert results[0]["score"] == 0 and "internal grader error (RuntimeError: disk on fire)" in results[0]["output"]
    assert results[1]["score"] == FULL
