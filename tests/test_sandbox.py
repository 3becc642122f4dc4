"""The sandbox itself: what a worker can see and do at each isolation level, limits, clean-up."""
import errno
import os
import socket
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from autograder.sandbox import leftovers
from autograder.sandbox.client import Worker
from autograder.sandbox.isolation import INSIDE_SUBMISSION, Limits, Sandbox, SandboxUnavailable, detect
from autograder.sandbox.kernel import seccomp_filter

PROBE = textwrap.dedent("""
    import os, socket, sys
    seen = []
    for root, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
        seen += [os.path.join(root, f) for f in files if f in ("rubric.toml", "test_selfcheck.py", "engine.py")]
        seen += [os.path.join(root, d) for d in dirs if d in ("micrograd_reference", "hidden", "solutions")]
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()
        seen.append("NETWORK")
    except OSError:
        pass
    print("\\n".join(seen))
""")


def run_probe(level, tmp_path, port):
    (tmp_path / "probe.py").write_text(PROBE)
    sandbox = Sandbox(level, Limits(), submission=tmp_path)
    try:
        result = subprocess.run(sandbox.command(["probe.py", str(port)]), capture_output=True, text=True,
                                timeout=120, **sandbox.popen_kwargs())
    finally:
        sandbox.cleanup()
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.fixture
def port():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


def test_namespaces_hide_everything_secret(tmp_path, port):
    seen = run_probe(detect("strict"), tmp_path, port)
    assert seen == [], seen


def test_without_namespaces_the_same_probe_sees_them(tmp_path, port, repo):
    """A control: the probe does find secrets and the network when nothing hides them."""
    seen = run_probe(detect("process"), tmp_path, port)
    assert "NETWORK" in seen
    assert any(str(repo / "solutions") in s for s in seen), seen


def test_process_level_says_it_is_weaker():
    level = detect("process")
    assert not level.namespaces and "process limits only" in level.describe() and level.warning


def test_strict_refuses_without_namespaces(monkeypatch):
    from autograder.sandbox import isolation
    monkeypatch.setattr(isolation.shutil, "which", lambda name: None)
    isolation._bubblewrap_level.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match="bwrap program is not installed"):
            detect("strict")
        assert detect("auto").name == "process" and "install bubblewrap" in detect("auto").warning
    finally:
        monkeypatch.undo()
        isolation._bubblewrap_level.cache_clear()


@pytest.mark.parametrize("mode", ["strict", "process"])
@pytest.mark.parametrize("code, expected", [
    ("x = bytearray(8 * 2 ** 30)", "MemoryError"),
    ("open(os.path.join(os.environ['TMPDIR'], 'big'), 'wb').write(b'x' * 64 * 2 ** 20)", "File too large"),
    ("print(len([os.open(os.devnull, os.O_RDONLY) for _ in range(1000)]))", "Too many open files"),
])
def test_resource_limits(mode, code, expected, tmp_path):
    sandbox = Sandbox(detect(mode), Limits(), submission=tmp_path)
    try:
        result = subprocess.run(sandbox.command(["-c", f"import os\n{code}"]), capture_output=True, text=True,
                                timeout=120, **sandbox.popen_kwargs())
    finally:
        sandbox.cleanup()
    assert expected in result.stderr


@pytest.mark.parametrize("mode", ["strict", "process"])
def test_process_count_is_limited(mode, tmp_path):
    code = textwrap.dedent("""
        import os, time
        made = 0
        try:
            for _ in range(200):
                if os.fork() == 0:
                    time.sleep(20)
                    os._exit(0)
                made += 1
        except OSError:
            pass
        print(made)
    """)
    sandbox = Sandbox(detect(mode), Limits(processes=16), submission=tmp_path)
    try:
        process = subprocess.Popen(sandbox.command(["-c", code]), stdout=subprocess.PIPE, text=True,
                                   **sandbox.popen_kwargs())
        made = int(process.stdout.readline())
        sandbox.kill(process)
    finally:
        sandbox.cleanup()
    assert made < 16


def test_cpu_time_is_limited(tmp_path):
    sandbox = Sandbox(detect("strict"), Limits(cpu_seconds=1), submission=tmp_path)
    try:
        result = subprocess.run(sandbox.command(["-c", "while True: pass"]), capture_output=True, timeout=60,
                                **sandbox.popen_kwargs())
    finally:
        sandbox.cleanup()
    assert sandbox.exit_status(result.returncode) in (-9, -24)  # SIGKILL or SIGXCPU


def test_scratch_folder_is_removed(tmp_path):
    sandbox = Sandbox(detect("strict"), Limits(), submission=tmp_path)
    assert sandbox.scratch.exists()
    sandbox.cleanup()
    assert not sandbox.scratch.exists()


def add_key_number():
    import pyseccomp
    return pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, "add_key")


@pytest.mark.parametrize("mode", ["strict", "process"])
def test_kernel_keyrings_are_out_of_reach(mode, tmp_path):
    """Keyrings are not namespaced: a key one worker adds would outlive it and reach the next one."""
    code = (f"import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            f"print(libc.syscall({add_key_number()}, b'user', b'autograder-leak', b'x', 1, -3), ctypes.get_errno())")
    sandbox = Sandbox(detect(mode), Limits(), submission=tmp_path)
    try:
        result = subprocess.run(sandbox.command(["-c", code]), capture_output=True, text=True, timeout=60,
                                **sandbox.popen_kwargs())
    finally:
        sandbox.cleanup()
    assert result.stdout.split() == ["-1", str(errno.EPERM)], result.stderr


def test_the_filter_and_the_cgroup_are_in_use():
    """CI installs pyseccomp and runs as root: a sandbox without them would be weaker than documented."""
    assert seccomp_filter() is not None
    assert "seccomp filter" in detect("strict").describe() and "cgroup" in detect("strict").describe()


@pytest.mark.parametrize("mode", ["strict", "process"])
def test_other_workers_cannot_enter_a_workers_scratch_folder(mode, tmp_path):
    (tmp_path / "engine.py").write_text("SECRET = 1\n")
    first = Sandbox(detect(mode), Limits(), submission=tmp_path)
    second = Sandbox(detect("process"), Limits(), submission=None)
    code = f"import os\ntry:\n    print(open({str(first.submission / 'engine.py')!r}).read())\nexcept OSError as e:\n    print('denied')"
    try:
        result = subprocess.run(second.command(["-c", code]), capture_output=True, text=True, timeout=60,
                                **second.popen_kwargs())
    finally:
        first.cleanup()
        second.cleanup()
    assert result.stdout.strip() == "denied", result.stdout + result.stderr


LOCKS_ITS_TMP = """
import os, tempfile
tops = {tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"}
if any(os.path.lexists(os.path.join(top, "NAME")) for top in tops):
    LEFT_BEHIND = True
for top in tops:
    try:
        os.makedirs(os.path.join(top, "NAME", "inner"))
        open(os.path.join(top, "NAME", "inner", "note"), "w").write("x")
        os.chmod(os.path.join(top, "NAME", "inner"), 0)
        os.chmod(os.path.join(top, "NAME"), 0)
        LOCKED_A_FOLDER = True
    except OSError:
        pass
try:
    os.chmod(tempfile.gettempdir(), 0)
except OSError:
    pass
class Value:
    pass
"""


@pytest.mark.parametrize("mode", ["strict", "process"])
def test_nothing_in_tmp_survives_a_part_whatever_its_mode(mode, tmp_path):
    """Each part locks a folder of mode 000 (holding another) in every /tmp it can write, and its
    /tmp itself where it may; the next part finds none of them, nor does the machine after."""
    name = f"locked-{uuid.uuid4().hex[:8]}"
    (tmp_path / "engine.py").write_text(LOCKS_ITS_TMP.replace("NAME", name))
    worker = Worker(Sandbox(detect(mode), Limits(), submission=tmp_path)).start()
    base = INSIDE_SUBMISSION if detect(mode).namespaces else str(worker.sandbox.submission)
    try:
        seen = []
        for _ in range(2):
            part = worker.open_part("flat", base, time.monotonic() + 30)
            seen.append(part.receive()["engine_names"])
            part.close()
    finally:
        worker.close()
    assert all("LOCKED_A_FOLDER" in names for names in seen), seen
    assert not any("LEFT_BEHIND" in names for names in seen), seen
    assert not any(Path(top, name).exists() for top in ("/tmp", "/var/tmp", "/dev/shm"))
    assert not worker.sandbox.scratch.exists()


def test_what_killed_graders_left_is_removed_by_the_next(tmp_path):
    ended = subprocess.Popen(["true"])
    ended.wait()
    gone, alive = f"autograder-stage-{ended.pid}-x", f"autograder-worker-{os.getpid()}-y"
    for name in (gone, alive, "autograder-stage-notes", "autograder-export-1-z"):
        (tmp_path / name / "locked").mkdir(parents=True)
    (tmp_path / gone / "locked").chmod(0)
    leftovers._remove_stale_in(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive, "autograder-stage-notes",
                                                                 "autograder-export-1-z"])
