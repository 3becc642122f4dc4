"""Grading on a Dask distributed cluster: one task per submission (`grade-all --scheduler`).

Cluster workers need not share a file system with the machine that runs grade-all, so a
task carries the submission itself: a .zip (or any other file) as its bytes, a folder packed
into an in-memory zip of its Python files (all that grading reads, see grading/submission.py).
The task unpacks it into a temporary folder on its worker and grades it there with
`grade_safely`, in that worker's sandbox, and returns `GradeResult.to_dict()`: plain data.

A worker needs this package and bubblewrap installed. Grading is not thread-safe (a grader
process keeps state of its own), so a worker process grades one submission at a time whatever
its --nthreads; start workers with `--nthreads 1` and as many processes as cores.

A cluster without workers would leave tasks waiting forever: grading waits `worker_wait`
seconds for a first worker (else ClusterUnavailable), and when every worker is lost mid-run,
as long again for one to come back before the submissions still waiting are given up (each
reported as lost, so that the next run grades them).
"""
import io
import queue
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import distributed

from autograder.grading.session import grade_safely
from autograder.sandbox.isolation import detect

MAX_SENT_BYTES = 64 << 20
CONNECT_SECONDS = 20
WORKER_WAIT = 60  # seconds without any worker, at the start or mid-run, before giving up
POLL_SECONDS = 1  # how often a run that sees nothing finish checks that it still has workers
_one_at_a_time = threading.Lock()


class ClusterUnavailable(RuntimeError):
    """The scheduler cannot be reached, or no worker joined it in time."""


class WorkersLost(RuntimeError):
    """Every worker of the cluster was lost, and none came back in time."""


@dataclass(frozen=True)
class Packed:
    """A submission as it travels to a worker."""
    name: str  # its file or folder name on the instructor's machine
    kind: str  # "folder" (data: a zip of its Python files) or "file" (data: the file's bytes)
    data: bytes


def pack(path):
    """The submission at `path` as a Packed; raises OSError or ValueError if it cannot be sent."""
    path = Path(path)
    if path.is_dir():
        return Packed(path.name, "folder", _zip_python_files(path))
    if path.stat().st_size > MAX_SENT_BYTES:
        raise ValueError(f"{path.name} is over {MAX_SENT_BYTES:,} bytes, too large to send to the cluster")
    return Packed(path.name, "file", path.read_bytes())


def _zip_python_files(folder):
    buffer, total = io.BytesIO(), 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*.py")):
            if _linked(path, folder) or not path.is_file():
                continue  # grading never follows links either
            total += path.stat().st_size
            if total > MAX_SENT_BYTES:
                raise ValueError(f"the Python files of {folder.name} are over {MAX_SENT_BYTES:,} bytes, "
                                 "too large to send to the cluster")
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _linked(path, folder):
    """Whether `path` or a folder on its way down from `folder` is a symbolic link."""
    parts = path.relative_to(folder).parts
    return any(folder.joinpath(*parts[:n]).is_symlink() for n in range(1, len(parts) + 1))


def unpack(packed, into):
    """Recreate the submission inside the folder `into`; return its path there."""
    if "/" in packed.name or packed.name in ("", ".", ".."):
        raise ValueError(f"not a plain file name: {packed.name!r}")
    target = Path(into) / packed.name
    if packed.kind == "folder":
        target.mkdir()
        with zipfile.ZipFile(io.BytesIO(packed.data)) as archive:
            archive.extractall(target)  # our own archive; extractall also refuses `..` and absolute names
    else:
        target.write_bytes(packed.data)
    return target


def grade_packed(packed, rubric, sandbox):
    """The cluster task: grade one packed submission on this worker; GradeResult.to_dict()."""
    with _one_at_a_time, tempfile.TemporaryDirectory(prefix="autograder-task-") as scratch:
        path = unpack(packed, scratch)
        return grade_safely(path, rubric=rubric, level=detect(sandbox)).to_dict()


def grade_on_cluster(submissions, *, scheduler, rubric, sandbox, worker_wait=WORKER_WAIT):
    """Yield (submission, GradeResult.to_dict() or the exception that lost it) as each finishes,
    keeping a bounded number of tasks (and packed submissions) in flight."""
    client = connect(scheduler)
    try:
        wait_for_a_worker(client, scheduler, worker_wait)
        waiting, owners, finished = list(reversed(submissions)), {}, queue.SimpleQueue()
        window = max(8, 2 * sum(client.nthreads().values()))
        watch = WorkerWatch(client, worker_wait)

        def refill():
            while waiting and len(owners) < window:
                submission = waiting.pop()
                try:
                    future = client.submit(grade_packed, pack(submission.path), rubric, sandbox, pure=False)
                except (OSError, ValueError) as error:
                    yield submission, error
                    continue
                owners[future] = submission
                future.add_done_callback(finished.put)

        yield from refill()
        while owners:
            try:
                future = finished.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if watch.lost_for_good():
                    yield from give_up(client, owners, waiting, WorkersLost(
                        f"every Dask worker of {scheduler} was lost and none came back within {worker_wait:g} s; "
                        "start workers and run grade-all again to grade the rest"))
                    return
                continue
            yield owners.pop(future), outcome(future)
            yield from refill()
    finally:
        client.close()


def give_up(client, owners, waiting, reason):
    """Cancel the tasks in flight; yield (submission, reason) for them and the ones not sent."""
    client.cancel(list(owners))
    yield from ((owners.pop(future), reason) for future in list(owners))
    yield from ((submission, reason) for submission in reversed(waiting))


def wait_for_a_worker(client, scheduler, seconds):
    try:
        client.wait_for_workers(1, timeout=seconds)
    except TimeoutError:
        raise ClusterUnavailable(f"no Dask worker joined the scheduler at {scheduler} within {seconds:g} s: start "
                                 f"workers (`dask worker {scheduler} --nthreads 1`) or wait longer "
                                 "(--worker-wait)") from None


class WorkerWatch:
    """Tells when the cluster has been without any worker for `patience` seconds."""

    def __init__(self, client, patience):
        self.client, self.patience, self.since = client, patience, None

    def lost_for_good(self):
        if self.client.nthreads():
            self.since = None
            return False
        self.since = self.since or time.monotonic()
        return time.monotonic() - self.since >= self.patience


def outcome(future):
    """The task's result, or the exception that lost it (it raised, its worker died, it was cancelled)."""
    try:
        return future.result()
    except Exception as error:  # one lost task is one submission's error row, not the end of the run
        return error


def connect(scheduler):
    try:
        return distributed.Client(scheduler, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
