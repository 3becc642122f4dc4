"""The grader's own bounds, whatever the submission: the grading process's memory, measured on
reply and source balloons, and the processes left when grade-all is killed (none)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

import classroom
from attacks import ATTACKS, Attack, compromised_worker
from test_attacks import build_submission

GIB = 1 << 30

GRADE_AND_MEASURE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from autograder.grading.session import grade
    from autograder.sandbox import isolation
    normal = isolation.WORKER_DIR

    def peak_rss():  # this process's own high-water mark (ru_maxrss would count its parent's, copied at fork)
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return int(status["VmHWM"].split()[0]) * 1024

    for name, submission, worker in json.loads(sys.argv[1]):
        isolation.WORKER_DIR = Path(worker) if worker else normal
        result = grade(submission)
        print(json.dumps([name, result.score, len(result.internal_errors), peak_rss()]), flush=True)
""")


def attack(name):
    return next(a for a in ATTACKS if a.name == name)


@pytest.mark.slow
def test_the_grading_process_stays_under_1_gib(repo, tmp_path):
    """One grading process grades, one after another: 15 unused modules of 1 MiB of dense
    statements (parsed whole, 900 MB each; all compiled inside the first part's deadline, before
    issue 14), a 1 MiB data module that nn.py imports, and the model answer from a worker whose
    every reply is padded with 400,000 empty objects (85 MB decoded each; 1.8 GB in all before
    issue 14), then with 49,000 (read, then dropped), and a dense 1 MiB module that nn.py imports
    (parsed by the reading, in a process of its own). Its peak RSS stays under 1 GiB."""
    model = build_submission(Attack("the model answer", "solution", frozenset()), tmp_path / "model", repo, {})
    cases = [
        ("unused modules", str(build_submission(attack("a zip of 15 unused 1 MiB modules"), tmp_path / "a", repo, {})),
         None, 10),
        ("a data module", str(build_submission(attack("nn.py imports a 1 MiB data module, beside 14 unused ones"),
                                               tmp_path / "b", repo, {})), None, 10),
        ("reply balloons", str(model), str(compromised_worker(tmp_path / "worker-over", 400_000)), 0),
        ("smaller balloons", str(model), str(compromised_worker(tmp_path / "worker-within", 49_000)), 10),
        ("an imported dense module", str(build_submission(attack("nn.py imports a dense 1 MiB module"), tmp_path / "c",
                                                          repo, {})), None, 8),
    ]
    run = subprocess.run([sys.executable, "-c", GRADE_AND_MEASURE, json.dumps([c[:3] for c in cases])],
                         capture_output=True, text=True, timeout=900, cwd=repo)
    assert run.returncode == 0, run.stderr
    measured = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(name, score, errors) for name, score, errors, _ in measured] == [(c[0], c[3], 0) for c in cases]
    assert max(peak for *_, peak in measured) < GIB, measured


# ---------------------------------------------------------------- kill -9

KILL_HALFWAY = textwrap.dedent("""
    import ctypes, json, os, signal, subprocess, sys, time
    from pathlib import Path
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans of all we start come to us
    command, results = json.loads(sys.argv[1]), Path(sys.argv[2])
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(results.glob("*.json")):
        time.sleep(0.02)

    def alive():
        parents = {}
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            except (OSError, ValueError):
                continue
            parents.setdefault(int(parent), []).append((int(entry.name), state))
        found, todo = [], [os.getpid()]
        while todo:
            for pid, state in parents.get(todo.pop(), []):
                todo.append(pid)
                if state != "Z":
                    found.append(pid)
        return found

    def reap():
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    return
            except ChildProcessError:
                return

    started = alive()
    run.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive() and time.monotonic() < deadline:
        reap()
        time.sleep(0.05)
    reap()
    left = {}
    for pid in alive():
        try:
            left[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\\0", b" ").decode()[:200]
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    print(json.dumps({"started": started, "left": left}))
""")


@pytest.fixture
def shared_tmp():
    """A temporary folder for grade-all that a sandbox's unprivileged uid may traverse."""
    folder = Path(tempfile.mkdtemp(prefix="autograder-test-tmp-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", ["auto", "process"])
def test_a_killed_grade_all_leaves_nothing_behind(repo, tmp_path, sandbox, shared_tmp):
    """grade-all on two cores is killed with SIGKILL as the first result is written, while
    students whose code starts daemons of its own are being graded: nothing it started is alive
    10 s later (its pool, their workers and compilers, bubblewrap, the students' processes).
    Its temporary folders and cgroups are gone once the same command has run again."""
    folder, out = tmp_path / "class", tmp_path / "out"
    folder.mkdir()
    daemon = attack("daemon that outlives the worker").prelude
    for n in range(6):
        classroom.correct(repo, folder / f"s{n}", prelude=daemon if n % 2 else "")
    command = [sys.executable, "-m", "autograder", "grade-all", str(folder), "--out", str(out), "--jobs", "2",
               "--sandbox", sandbox]
    env = {**os.environ, "TMPDIR": str(shared_tmp)}
    run = subprocess.run([sys.executable, "-c", KILL_HALFWAY, json.dumps(command), str(out / "results")],
                         capture_output=True, text=True, timeout=600, cwd=repo, env=env)
    assert run.returncode == 0, run.stderr
    counted = json.loads(run.stdout)
    assert len(counted["started"]) >= 5, counted  # grade-all, its two grader processes, their workers, ...
    assert counted["left"] == {}, counted
    assert 1 <= len(list((out / "results").glob("*.json"))) < 6, "the run was not killed halfway"
    assert list(shared_tmp.iterdir()), "a killed run leaves its temporary folders (the next one removes them)"

    assert subprocess.run(command, capture_output=True, timeout=600, cwd=repo, env=env).returncode == 0
    deadline = time.monotonic() + 10  # the grader processes remove their own folders as they exit
    while list(shared_tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list(shared_tmp.iterdir())
    stale = [path for pid in counted["started"] for path in Path("/sys/fs/cgroup").glob(f"*/autograder-{pid}-*")]
    assert stale == []


def test_grader_processes_ask_to_die_with_their_parent():
    """The mechanism the test above relies on: a child that asks dies with its parent's SIGKILL."""
    code = textwrap.dedent("""
        import os, time
        from autograder.sandbox.kernel import die_with_parent
        parent = os.getpid()
        child = os.fork()
        if child == 0:
            die_with_parent(parent)  # exits at once if the parent is already gone
            time.sleep(60)
            os._exit(0)
        print(child, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), "the child outlived its parent's SIGKILL"


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
