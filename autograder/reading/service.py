"""The reading in a process of its own, so that every resource it uses is bounded.

Reading never runs a submission, but it does follow the submission's code: its loops, its
arithmetic, its strings. `"x" * 10 ** 10`, `10 ** 10 ** 9` or `sum(range(10 ** 15))` cost the
reader what they would cost Python. So the grader reads in a child process of its own (trusted
code, no sandbox needed): an address-space limit turns a memory bomb into a MemoryError there,
and the grader kills the child when a reading outlasts its wall-clock budget. Either way the
reading is "could not read", which fails closed, and the child is started afresh for the next
submission. The child is kept from one submission to the next (start-up imports sympy).

Protocol: the grader writes a Job, the child answers with a Reading; each message is a
pickle of plain data, prefixed by its length (8 bytes, big-endian). Both ends are the grader's
own code.
"""
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time

from dataclasses import replace

from autograder.reading import UNREADABLE_NOTE, Job, Outcome, Reading, analyse

SECONDS = 10  # for one job (the scan, or one op's proof); an honest one needs a small fraction of it
SUBMISSION_SECONDS = 15  # for all the jobs of one submission together
START_SECONDS = 60  # for the child to start (it imports sympy): never counted against a submission
MEMORY_BYTES = 1536 << 20
HEADER = struct.Struct(">Q")
READY = "ready"


class ReadingService:
    """The reading child of one grading process."""

    def __init__(self, seconds=SECONDS, memory_bytes=MEMORY_BYTES, submission_seconds=SUBMISSION_SECONDS):
        self.seconds, self.memory_bytes, self.submission_seconds = seconds, memory_bytes, submission_seconds
        self.process = None
        self.ready = False
        self.ends = None  # when the current submission's reading time runs out

    def scan(self, job):
        """The scan of a submission (findings, and what each part reaches); starts its reading time."""
        self.ends = None
        self._start()
        self.ends = time.monotonic() + self.submission_seconds
        return self.read(replace(job, cases={}))

    def prove(self, job, part):
        """The Outcome of one op part."""
        reading = self.read(replace(job, prove=part, cases={part: job.cases.get(part, [])}))
        return reading.proof(part) if not reading.stopped else Outcome(
            False, f"the grader could not read the gradient code of this op: {reading.stopped}; "
                   f"{UNREADABLE_NOTE}", "unreadable")

    def read(self, job):
        """The Reading of `job`; a reading that runs out of time or memory fails closed."""
        try:
            self._start()
            now = time.monotonic()
            deadline = min(now + self.seconds, self.ends or now + self.seconds)
            if deadline <= now:
                return stopped(f"reading it took longer than the {self.submission_seconds:g} s a submission has")
            _send(self.process.stdin, job)
            result = _receive(self.process.stdout, deadline)
        except TimeoutError:
            self.close()
            return stopped(f"reading it took longer than the {min(self.seconds, self.submission_seconds):g} s "
                           "it may")
        except (OSError, EOFError, pickle.UnpicklingError, ValueError):
            status = self.close()
            return stopped("reading it needed more memory than the grader allows" if status == -signal.SIGKILL
                           or status == 3 else "the reader stopped")
        if not isinstance(result, Reading):
            self.close()
            return stopped("the reader stopped")
        return result

    def start_soon(self):
        """Start the child without waiting for it: it imports while the grader gets ready too."""
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "autograder.reading.service", str(self.memory_bytes)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "PYTHONHASHSEED": "0"})
            self.ready = False

    def _start(self):
        """The child, started if it is not running, once it has said it is ready."""
        self.start_soon()
        if self.ready:
            return
        try:
            if _receive(self.process.stdout, time.monotonic() + START_SECONDS) != READY:
                raise EOFError()
        except (TimeoutError, EOFError, OSError, pickle.UnpicklingError):
            self.close()
            raise OSError("the reader did not start")
        self.ready = True

    def close(self):
        """Stop the child; its exit status, or None."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        try:
            process.kill()
        except OSError:
            pass
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            return process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None


def stopped(why):
    return Reading([], {}, {}, stopped=why)


def _send(stream, message):
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream, deadline=None):
    header = _read_exactly(stream, HEADER.size, deadline)
    (length,) = HEADER.unpack(header)
    return pickle.loads(_read_exactly(stream, length, deadline))


def _read_exactly(stream, count, deadline):
    fd = stream.fileno()
    chunks, remaining = [], count
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError()
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError()
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def die_with(parent):
    """Exit as soon as `parent` (the grading process) is gone, however it ended."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def main():
    """The child: answer Jobs with Readings until the grader closes the pipe."""
    memory = int(sys.argv[1]) if len(sys.argv) > 1 else MEMORY_BYTES
    threading.Thread(target=die_with, args=(os.getppid(),), daemon=True).start()
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    incoming, outgoing = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing printed may corrupt the replies
    from autograder.reading import interpreter, proofs  # imported now, so that no job's time pays for it
    del interpreter, proofs
    _send(outgoing, READY)
    while True:
        try:
            job = _receive(incoming)
        except (EOFError, OSError):
            return
        try:
            reading = analyse(job) if isinstance(job, Job) else stopped("not a reading job")
        except MemoryError:
            reading = stopped("reading it needed more memory than the grader allows")
        except RecursionError:
            reading = stopped("its code is nested too deeply to read")
        try:
            _send(outgoing, reading)
        except MemoryError:
            os._exit(3)


if __name__ == "__main__":
    main()
