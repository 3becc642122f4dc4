"""Kernel mechanisms the sandbox uses when the machine offers them: a seccomp filter, a cgroup
per worker, and killing every process of a uid at once.

Each is optional: `seccomp_filter()` and `Cgroup.create()` return None where the machine (or
the user the grader runs as) cannot have them, and the sandbox's description says what was used.
"""
import ctypes
import errno
import os
import re
import signal
import tempfile
import uuid
from functools import cache
from pathlib import Path

# System calls no worker needs, which would let student code leave state behind (keyrings),
# reach into another process (ptrace, process_vm_*), or get at the kernel more widely.
DENIED_SYSCALLS = (
    "add_key", "keyctl", "request_key",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "perf_event_open", "bpf", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_by_handle_at", "name_to_handle_at",
    "kexec_load", "init_module", "finit_module", "delete_module", "acct", "swapon", "swapoff", "syslog",
    # System V IPC and message queues: objects that would outlive a part and reach the next
    # submission graded in the same sandbox
    "shmget", "shmat", "msgget", "msgsnd", "msgrcv", "semget", "semop", "semtimedop", "mq_open",
)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
try:
    PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # looked up once, so that a forked child need not
except (OSError, AttributeError):
    PRCTL = None


@cache
def seccomp_filter():
    """The compiled BPF program that denies DENIED_SYSCALLS with EPERM (clone3 with ENOSYS, so
    that the C library falls back to clone), or None without pyseccomp and libseccomp."""
    try:
        import pyseccomp
        rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            try:
                rules.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
            except (ValueError, RuntimeError, OSError):
                pass  # not a system call on this architecture
        rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
        with tempfile.TemporaryFile() as compiled:
            rules.export_bpf(compiled)
            compiled.seek(0)
            return compiled.read()
    except Exception:  # no pyseccomp, no libseccomp, or an old kernel: no filter
        return None


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class FilterLoader:
    """Loads the filter into the current process; built in the parent, called between fork and
    exec (so it only makes system calls: no Python objects are created there)."""

    def __init__(self, program):
        self._buffer = ctypes.create_string_buffer(program, len(program))
        self._fprog = SockFprog(len(program) // 8, ctypes.addressof(self._buffer))
        self._prctl = ctypes.CDLL(None, use_errno=True).prctl

    def __call__(self):
        self._prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if self._prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(self._fprog), 0, 0) != 0:
            os._exit(126)  # never run a worker without the filter it was promised


class Cgroup:
    """A cgroup (version 1, cpu and pids controllers) holding one worker and all its processes:
    together they get at most `cpus` CPUs and `processes` processes, however many they fork."""

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, folders):
        self.folders = folders
        self._procs = [str(folder / "cgroup.procs").encode() for folder in folders]

    @classmethod
    def create(cls, cpus, processes):
        """A new cgroup, or None where cgroups v1 cannot be written (not root, cgroups v2, a container)."""
        name = f"autograder-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        settings = {"cpu": {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": str(int(cpus * 100000))},
                    "pids": {"pids.max": str(processes)}}
        folders = []
        try:
            for controller, values in settings.items():
                folder = cls.ROOT / controller / name
                folder.mkdir()
                folders.append(folder)
                for file, value in values.items():
                    (folder / file).write_text(value)
        except OSError:
            cls(folders).remove()
            return None
        return cls(folders)

    @classmethod
    def remove_stale(cls):
        """Remove the cgroups of grading processes that are gone (killed before removing them),
        and whatever still runs in them; once per process."""
        _remove_stale_cgroups(cls.ROOT)

    def join(self):
        """Move the calling process into the cgroup (between fork and exec: system calls only)."""
        for procs in self._procs:
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

    def remove(self):
        """Kill whatever is still in the cgroup, then delete it."""
        for folder in self.folders:
            for _ in range(50):
                try:
                    pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                except OSError:
                    pids = []
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    os.sched_yield()


@cache
def _remove_stale_cgroups(root):
    for controller in ("cpu", "pids"):
        for folder in (root / controller).glob("autograder-*"):
            found = re.fullmatch(r"autograder-(\d+)-[0-9a-f]+", folder.name)
            if found and not process_alive(int(found[1])):
                Cgroup([folder]).remove()


def process_alive(pid):
    """Whether a process `pid` runs (it may be another program than the one that had it); a
    zombie does not, and a killed process may stay one for a while if init reaps lazily."""
    if Path("/proc/self/stat").exists():
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def kill_all_of(uid):
    """SIGKILL every process running as `uid`, at once: a helper process takes that uid and
    calls kill(-1), which the kernel applies to all of them while no new one can be forked."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        except BaseException:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def become_subreaper():
    """Make orphaned descendants of our workers our children instead of init's."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def die_with_parent(parent):
    """Have the kernel SIGKILL this process the moment its parent (pid `parent`) dies, by any
    signal: nothing a grader started outlives it. If the parent is already gone, exit now.
    Safe between fork and exec (it makes system calls only)."""
    if PRCTL is not None:
        PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
