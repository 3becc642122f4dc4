"""How a worker process is isolated: the strongest level this machine offers.

Every level:
  - a fresh interpreter in isolated mode (`-I -S -B`: no environment variables, no site-packages,
    no bytecode written), a scrubbed environment, a private scratch folder holding a copy of the
    worker's code and of the submission, which is the working directory;
  - resource limits: CPU time, address space, file size, open files, no core dumps;
  - its own session, killed as a whole with SIGKILL when done or out of time;
  - an unprivileged uid of its own when the grader runs as root (so a process-count limit holds).

Level "bubblewrap" (Linux namespaces, needs the `bwrap` program and root or user namespaces) adds:
  a file-system view that holds only /usr, the interpreter, the worker's code and the submission
  copy (read-only; site-packages, /usr/local, the grader, reference, solutions and other
  submissions are not there), a small private /tmp, no network, its own pid namespace (every
  process in it dies with it), ipc and uts namespaces.

Level "process" is all that remains without namespaces; `detect("strict")` refuses it.
"""
import ctypes
import itertools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

WORKER_DIR = Path(__file__).resolve().parent.parent / "worker"
WORKER_FILES = ("main.py", "lesson.py")
INSIDE_GRADER = "/grader"
INSIDE_SUBMISSION = "/submission"
FIRST_UID = 61000  # workers run as uids FIRST_UID.. when the grader is root; no account needed
ADDR_NO_RANDOMIZE = 0x0040000  # personality flag: same addresses, same set order, same result


class SandboxUnavailable(RuntimeError):
    """The requested isolation level cannot be had on this machine."""


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 30
    memory_bytes: int = 1 << 30
    file_bytes: int = 16 << 20
    open_files: int = 64
    processes: int = 32
    tmp_bytes: int = 32 << 20


@dataclass(frozen=True)
class Level:
    name: str  # "bubblewrap" or "process"
    python: str  # interpreter that runs the worker
    drop_uid: bool  # run as an unprivileged uid of its own (only possible as root)
    warning: str = ""  # why this is weaker than it could be

    @property
    def namespaces(self):
        return self.name == "bubblewrap"

    def describe(self):
        if self.namespaces:
            text = "bubblewrap: namespaces (files, network, pids), read-only view of the submission"
        else:
            text = "process limits only: no namespaces, the worker can read files and use the network"
        return text + ("; unprivileged uid" if self.drop_uid else "; the grader's own uid")


# ---------------------------------------------------------------- which level this machine offers

def base_interpreter():
    """The real interpreter behind sys.executable (outside any virtual environment)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidate = Path(sys.base_prefix) / "bin" / version
    return str(candidate if candidate.exists() else Path(sys.executable).resolve())


def detect(mode="auto"):
    """The Level to use. mode: "auto" (strongest available), "strict" (namespaces or error), "process"."""
    if mode not in ("auto", "strict", "process"):
        raise ValueError(f"unknown sandbox mode {mode!r}: use auto, strict or process")
    if mode != "process":
        level, problem = _bubblewrap_level()
        if level:
            return level
        if mode == "strict":
            raise SandboxUnavailable(f"--sandbox=strict needs namespace isolation, which is unavailable: {problem}")
        return _process_level(f"no namespace isolation ({problem}); install bubblewrap (apt-get install bubblewrap)")
    return _process_level("namespace isolation turned off (--sandbox=process)")


@cache
def _bubblewrap_level():
    if not shutil.which("bwrap"):
        return None, "the bwrap program is not installed"
    level = Level("bubblewrap", base_interpreter(), drop_uid=os.geteuid() == 0 and bool(shutil.which("setpriv")))
    probe = _probe(level)
    return (level, "") if probe is None else (None, probe)


@cache
def _process_level(warning):
    python, drop_uid = base_interpreter(), False
    if os.geteuid() == 0:
        # an unprivileged uid must be able to run the interpreter (pyenv's under /root cannot)
        for candidate in (python, "/usr/bin/python3"):
            if Path(candidate).exists() and _probe(Level("process", candidate, True)) is None:
                python, drop_uid = candidate, True
                break
    if not drop_uid and os.geteuid() == 0:
        warning += "; no interpreter an unprivileged user can run, so the worker runs as root"
    return Level("process", python, drop_uid, warning)


def _probe(level):
    """None when a worker can start at this level, else the reason it cannot."""
    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as scratch:
        sandbox = Sandbox(level, Limits(), submission=None, scratch_root=scratch)
        try:
            result = subprocess.run(sandbox.command(["-c", "print('ok')"]), capture_output=True, text=True,
                                    timeout=20, **sandbox.popen_kwargs())
        except (OSError, subprocess.SubprocessError) as error:
            return str(error)
        finally:
            sandbox.cleanup()
    if result.returncode == 0 and result.stdout.strip() == "ok":
        return None
    return (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]


# ---------------------------------------------------------------- one sandbox per worker process

_uids = itertools.count()
_live_workers = set()  # pids of workers not yet killed
_issued_uids = set()


def _fresh_uid():
    uid = FIRST_UID + (os.getpid() * 97 + next(_uids)) % 4000
    _issued_uids.add(uid)
    return uid


def issued_uids():
    """The uids this process has given to workers."""
    return frozenset(_issued_uids)


class Sandbox:
    """The scratch folder, command line and clean-up of one worker process."""

    def __init__(self, level, limits, submission, scratch_root=None):
        self.level, self.limits = level, limits
        if not level.namespaces and not level.drop_uid:
            become_subreaper()
        self.uid = _fresh_uid() if level.drop_uid else None
        self.scratch = Path(tempfile.mkdtemp(prefix="autograder-worker-", dir=scratch_root))
        self.scratch.chmod(0o755)
        self._copy_worker()
        self.submission = self.scratch / "submission"
        self.tmp = self.scratch / "tmp"
        self.tmp.mkdir(mode=0o700)
        if submission is not None:
            _copy_tree(Path(submission), self.submission)
        else:
            self.submission.mkdir()
        self._args_fd = None
        if self.uid is not None:
            os.chown(self.tmp, self.uid, self.uid)

    def _copy_worker(self):
        grader = self.scratch / "grader"
        grader.mkdir(mode=0o755)
        for name in WORKER_FILES:
            shutil.copyfile(WORKER_DIR / name, grader / name)
            (grader / name).chmod(0o644)

    # -- command line

    def command(self, python_args):
        """The argv that runs the interpreter with python_args inside this sandbox."""
        python = [self.level.python, "-I", "-S", "-B", *python_args]
        if not self.level.namespaces:
            return python
        return ["bwrap", "--args", str(self._bwrap_args_fd()), "--", *self._drop_privileges(), *python]

    def _bwrap_args_fd(self):
        """bwrap's options, handed over through a file descriptor: passed on the command line
        they would show host paths to the sandbox in /proc/1/cmdline."""
        if self._args_fd is None:
            path = self.scratch / "bwrap-args"
            path.write_bytes(b"\0".join(arg.encode() for arg in self._bwrap_args()) + b"\0")
            self._args_fd = os.open(path, os.O_RDONLY)
        return self._args_fd

    def worker_command(self):
        grader = INSIDE_GRADER if self.level.namespaces else str(self.scratch / "grader")
        return self.command([f"{grader}/main.py"])

    def _drop_privileges(self):
        if self.uid is None:
            return []
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]

    def _bwrap_args(self):
        return [*host_view(self.level.python),
                "--perms", "1777", "--size", str(self.limits.tmp_bytes), "--tmpfs", "/tmp",
                "--ro-bind", str(self.scratch / "grader"), INSIDE_GRADER,
                "--ro-bind", str(self.submission), INSIDE_SUBMISSION,
                "--chdir", INSIDE_SUBMISSION]

    def spawn(self, **pipes):
        """Start the worker process."""
        command = self.worker_command()
        process = subprocess.Popen(command, **pipes, **self.popen_kwargs())
        _live_workers.add(process.pid)
        return process

    # -- process attributes

    def popen_kwargs(self):
        inside = self.level.namespaces
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
               "HOME": "/tmp" if inside else str(self.tmp), "TMPDIR": "/tmp" if inside else str(self.tmp)}
        kwargs = {"cwd": str(self.submission), "env": env, "start_new_session": True,
                  "preexec_fn": self._limit_child, "close_fds": True,
                  "pass_fds": () if self._args_fd is None else (self._args_fd,)}
        if self.uid is not None and not inside:
            kwargs.update(user=self.uid, group=self.uid, extra_groups=[])
        return kwargs

    def _limit_child(self):
        """Runs in the child between fork and exec: resource limits and fixed addresses."""
        limits = self.limits
        for name, value in ((resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_AS, limits.memory_bytes),
                            (resource.RLIMIT_FSIZE, limits.file_bytes), (resource.RLIMIT_NOFILE, limits.open_files),
                            (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(name, (value, value))
        if self.uid is not None:  # counts processes of this uid only; root itself is exempt
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        try:
            ctypes.CDLL(None).personality(ADDR_NO_RANDOMIZE)
        except (OSError, AttributeError):
            pass

    def exit_status(self, returncode):
        """The worker's own exit status: negative for a signal, as subprocess reports it
        (bwrap reports a signal N as 128 + N)."""
        if self.level.namespaces and returncode is not None and 128 < returncode < 128 + 65:
            return -(returncode - 128)
        return returncode

    # -- clean-up

    def kill(self, process):
        """SIGKILL the worker's session and everything it left behind."""
        for target in (lambda: os.killpg(process.pid, signal.SIGKILL), lambda: process.kill()):
            try:
                target()
            except (ProcessLookupError, PermissionError, OSError):
                pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        _live_workers.discard(process.pid)
        if self.uid is not None:
            kill_uid(self.uid)
        elif not self.level.namespaces:
            kill_adopted_orphans()

    def cleanup(self):
        if self._args_fd is not None:
            os.close(self._args_fd)
            self._args_fd = None
        shutil.rmtree(self.scratch, ignore_errors=True)


@cache
def host_view(python):
    """The bwrap options that every worker shares: namespaces, and a read-only view of /usr and
    the interpreter with installed packages hidden. Machine facts, so worked out once."""
    args = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    if os.geteuid() != 0:
        args.append("--unshare-user")
    args += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    prefix = Path(python).resolve().parent.parent
    local = Path("/usr/local")
    if local.is_dir() and not _within(prefix, local):
        args += ["--tmpfs", str(local)]  # pip's system-wide packages
    if not _within(prefix, Path("/usr")) or _within(prefix, local):
        for parent in reversed(prefix.parents):
            if not (_within(parent, Path("/usr")) or parent == Path("/")):
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", str(prefix), str(prefix)]
    for hidden in _site_packages(prefix):  # installed packages, the grader's own among them
        args += ["--tmpfs", hidden]
    return tuple(args + ["--proc", "/proc", "--dev", "/dev"])


def _within(path, folder):
    return path == folder or folder in path.parents


def _site_packages(prefix):
    """Folders of installed packages under the interpreter's prefix and /usr/lib."""
    candidates = [*prefix.glob("lib/python3*/site-packages"), *prefix.glob("lib/python3*/dist-packages"),
                  Path("/usr/lib/python3"), *Path("/usr/lib").glob("python3*/dist-packages")]
    return [str(p) for p in candidates if p.is_dir()]


def _copy_tree(source, target):
    """Copy regular files and folders only (the staged submission has nothing else)."""
    target.mkdir(mode=0o755)
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_symlink():
            continue
        if path.is_dir():
            destination.mkdir(mode=0o755, exist_ok=True)
        elif path.is_file():
            shutil.copyfile(path, destination)
            destination.chmod(0o644)


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Make orphaned descendants of our workers our children instead of init's, so that
    kill_adopted_orphans can find processes that escaped a worker's session."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def kill_adopted_orphans():
    """SIGKILL our children that left our session: daemons a worker started and abandoned."""
    ours = os.getsid(0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid, parent, session = int(entry.name), int(fields[1]), int(fields[3])
        if parent == os.getpid() and session != ours and pid not in _live_workers:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (OSError, ChildProcessError):
                pass


def kill_uid(uid):
    """SIGKILL every process that runs as `uid` (a worker uid, used by nothing else)."""
    for _ in range(3):
        found = False
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            uids = next((line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")), [])
            if str(uid) in uids:
                found = True
                try:
                    os.kill(int(entry.name), signal.SIGKILL)
                except OSError:
                    pass
        if not found:
            return
