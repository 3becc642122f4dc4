"""How a worker process is isolated: the strongest level this machine offers.

Every level:
  - a fresh interpreter (`-P -s -S -B`: no site-packages, no bytecode written) in a scrubbed
    environment with a fixed hash seed (the same set order of strings on every machine), a
    private scratch folder holding a copy of the worker's code and of the submission;
  - resource limits: CPU time, address space, file size, open files, no core dumps; where the
    grader may create cgroups (root, cgroups v1), a cgroup that bounds the CPU and the number of
    processes of the worker and everything it forks, together;
  - a seccomp filter (where pyseccomp and libseccomp are installed) denying the system calls no
    worker needs: kernel keyrings, ptrace and reading other processes' memory, namespaces, ...;
  - its own session, killed as a whole with SIGKILL when done or out of time;
  - an unprivileged uid of its own when the grader runs as root, so that a process-count limit
    holds and every process the worker left behind dies in one kill(-1) under that uid.

Level "bubblewrap" (Linux namespaces, needs the `bwrap` program and root or user namespaces) adds:
  a file-system view that holds only /usr, the interpreter, the worker's code and the submission
  copy (read-only; site-packages, /usr/local, the grader, reference, solutions and other
  submissions are not there, and neither is /proc), a small private /tmp, no network, its own
  pid namespace (every process in it dies with it), ipc and uts namespaces.

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
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from autograder.sandbox import leftovers
from autograder.sandbox.compiler import relative_parts
from autograder.sandbox.kernel import Cgroup, FilterLoader, become_subreaper, kill_all_of, seccomp_filter
from autograder.worker.main import remove_tree

WORKER_DIR = Path(__file__).resolve().parent.parent / "worker"
WORKER_FILES = ("main.py", "probes.py", "handed.py", "lesson.py", "guard.py")
INSIDE_GRADER = "/grader"
INSIDE_SUBMISSION = "/submission"
FIRST_UID = 200000  # workers run as uids FIRST_UID.. when the grader is root; no account needed
UIDS_PER_PROCESS = 16
ADDR_NO_RANDOMIZE = 0x0040000  # personality flag: the same addresses from run to run


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
    compile_seconds: float = 10.0  # byte-compiling a submission's graded modules (compiler.py), before any part
    cpus: float = 1.0  # the cgroup's CPU quota for the worker and everything it forks
    fixed_addresses: bool = True  # ADDR_NO_RANDOMIZE; tests turn it off to vary the memory layout
    hash_seed: str = "0"  # PYTHONHASHSEED; tests vary it to show that no verdict depends on it


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
        text += "; unprivileged uid" if self.drop_uid else "; the grader's own uid"
        text += "; seccomp filter" if seccomp_filter() else "; no seccomp filter (install pyseccomp)"
        return text + ("; cgroup CPU and process quota" if cgroups_available() else "")


@cache
def cgroups_available():
    cgroup = Cgroup.create(1, 8)
    if cgroup is None:
        return False
    cgroup.remove()
    return True


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
_issued_uids = set()


def _fresh_uid():
    """A uid no other sandbox of any grading process uses at the same time: kill(-1) under it
    kills this sandbox's processes and nothing else."""
    uid = FIRST_UID + os.getpid() * UIDS_PER_PROCESS + next(_uids) % UIDS_PER_PROCESS
    _issued_uids.add(uid)
    return uid


def issued_uids():
    """The uids this process has given to workers."""
    return frozenset(_issued_uids)


class Sandbox:
    """The scratch folder, command line, limits and clean-up of one worker process; the worker
    reads `submission`: {relative path: bytes} (see hold), or a folder, copied whole."""

    def __init__(self, level, limits, submission, scratch_root=None):
        self.level, self.limits = level, limits
        if not level.namespaces and not level.drop_uid:
            become_subreaper()
        self.uid = _fresh_uid() if level.drop_uid else None
        self.scratch = Path(tempfile.mkdtemp(prefix=leftovers.prefix("worker"), dir=scratch_root))
        self.scratch.chmod(0o755)
        if self.uid is not None:  # only this worker's uid may enter: no other worker reads this submission
            os.chown(self.scratch, 0, self.uid)
            self.scratch.chmod(0o750)
        self._copy_worker()
        self.submission = self.scratch / "submission"
        self.tmp = self.scratch / "tmp"
        self.tmp.mkdir(mode=0o700)
        self.submission.mkdir(mode=0o755)
        if submission is not None:
            self.hold(submission if isinstance(submission, Mapping) else files_in(submission))
        if self.uid is not None:
            os.chown(self.tmp, self.uid, self.uid)
        self._fds = {}  # name -> fd the sandboxed process inherits (bwrap's options, the filter, the control socket)
        self.cgroup = Cgroup.create(limits.cpus, limits.processes) if cgroups_available() else None
        program = seccomp_filter()
        self._load_filter = FilterLoader(program) if program and not level.namespaces else None

    def hold(self, files):
        """Make `files` ({path relative to the submission: bytes}: the graded modules and their
        bytecode) the submission the worker reads, in place of any before it. The folder's
        contents change, never the folder itself: a running sandbox has it bound."""
        for entry in self.submission.iterdir():
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        for name, data in files.items():
            target = self.submission.joinpath(*relative_parts(name))
            for folder in reversed([p for p in target.parents if self.submission in p.parents]):
                folder.mkdir(mode=0o755, exist_ok=True)
            target.write_bytes(data)
            target.chmod(0o644)

    def _copy_worker(self):
        grader = self.scratch / "grader"
        grader.mkdir(mode=0o755)
        for name in WORKER_FILES:
            shutil.copyfile(WORKER_DIR / name, grader / name)
            (grader / name).chmod(0o644)

    # -- command line

    def command(self, python_args):
        """The argv that runs the interpreter with python_args inside this sandbox."""
        python = [self.level.python, "-P", "-s", "-S", "-B", *python_args]
        if not self.level.namespaces:
            return python
        return ["bwrap", "--args", str(self._inherited("args", self._bwrap_args_bytes())), "--",
                *self._drop_privileges(), *python]

    def _inherited(self, name, data):
        """An fd the sandboxed process inherits, reading `data` (bwrap's options on the command line
        would show host paths to the sandbox in /proc/1/cmdline)."""
        if name not in self._fds:
            path = self.scratch / name
            path.write_bytes(data)
            self._fds[name] = os.open(path, os.O_RDONLY)
        return self._fds[name]

    def _bwrap_args_bytes(self):
        args = [*host_view(self.level.python),
                "--perms", "1777", "--size", str(self.limits.tmp_bytes), "--tmpfs", "/tmp",
                "--ro-bind", str(self.scratch / "grader"), INSIDE_GRADER,
                "--ro-bind", str(self.submission), INSIDE_SUBMISSION,
                "--chdir", INSIDE_SUBMISSION]
        program = seccomp_filter()
        if program:
            args += ["--seccomp", str(self._inherited("seccomp", program))]
        return b"\0".join(arg.encode() for arg in args) + b"\0"

    def worker_command(self, control):
        grader = INSIDE_GRADER if self.level.namespaces else str(self.scratch / "grader")
        clear_mode = "user" if self.uid is not None else "groups"
        return self.command([f"{grader}/main.py", clear_mode, str(control)])

    def _drop_privileges(self):
        if self.uid is None:
            return []
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]

    def spawn(self, control, **pipes):
        """Start the worker process; `control` is the fd of its end of the control socket."""
        command = self.worker_command(control)
        self._fds["control"] = control
        try:
            return subprocess.Popen(command, **pipes, **self.popen_kwargs())
        finally:
            del self._fds["control"]

    # -- process attributes

    def popen_kwargs(self):
        inside = self.level.namespaces
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": self.limits.hash_seed,
               "HOME": "/tmp" if inside else str(self.tmp), "TMPDIR": "/tmp" if inside else str(self.tmp)}
        return {"cwd": str(self.submission), "env": env, "start_new_session": True,
                "preexec_fn": self._prepare_child, "close_fds": True, "pass_fds": tuple(self._fds.values())}

    def _prepare_child(self):
        """Runs in the child between fork and exec (system calls only): limits, cgroup, filter, uid."""
        limits = self.limits
        for name, value in ((resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_AS, limits.memory_bytes),
                            (resource.RLIMIT_FSIZE, limits.file_bytes), (resource.RLIMIT_NOFILE, limits.open_files),
                            (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(name, (value, value))
        if self.uid is not None:  # counts processes of this uid only; root itself is exempt
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        if limits.fixed_addresses:
            _personality(ADDR_NO_RANDOMIZE)
        if self.cgroup is not None:
            self.cgroup.join()
        if self._load_filter is not None:
            self._load_filter()
        if self.uid is not None and not self.level.namespaces:
            os.setgroups([])
            os.setresgid(self.uid, self.uid, self.uid)
            os.setresuid(self.uid, self.uid, self.uid)

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
        if self.uid is not None:
            kill_all_of(self.uid)
        if self.cgroup is not None:
            self.cgroup.remove()

    def cleanup(self):
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        remove_tree(str(self.scratch))  # whatever modes student code gave the folders in its /tmp


def _personality(flags):
    try:
        ctypes.CDLL(None).personality(flags)
    except (OSError, AttributeError):
        pass


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
    return tuple(args + ["--dev", "/dev"])  # no /proc: nothing of any process to read


def _within(path, folder):
    return path == folder or folder in path.parents


def _site_packages(prefix):
    """Folders of installed packages under the interpreter's prefix and /usr/lib."""
    candidates = [*prefix.glob("lib/python3*/site-packages"), *prefix.glob("lib/python3*/dist-packages"),
                  Path("/usr/lib/python3"), *Path("/usr/lib").glob("python3*/dist-packages")]
    return [str(p) for p in candidates if p.is_dir()]


def files_in(folder):
    """{relative path: bytes} of the regular files under `folder` (symbolic links are skipped)."""
    folder = Path(folder)
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and not path.is_symlink()}
