"""The grader's side of the worker protocol (the protocol itself: `autograder/worker/main.py`).

`Worker` starts one sandboxed worker for one submission, sends requests and returns replies as
plain data. Every way a worker can fail becomes an exception whose message is written for the
student: an error reply is a StudentError (the worker lives on); death, silence past the
deadline, garbage or too much output is a WorkerDied (the worker is killed). Replies are
parsed as strict JSON (no NaN, no Infinity) and checked for shape before anyone looks at them.
Nothing here imports or evaluates student code.
"""
import json
import os
import selectors
import signal
import subprocess
import threading
import time

PROTOCOL_VERSION = 1
MAX_REPLY_BYTES = 4 << 20
STDERR_KEEP = 4096
MAX_TEXT = 500


class WorkerFailure(Exception):
    """Student code could not answer a request; `message` is written for the student."""

    def __init__(self, kind, message, where="", type_name=""):
        super().__init__(message)
        self.kind, self.message, self.where, self.type_name = kind, message, where, type_name


class StudentError(WorkerFailure):
    """An error reply: student code raised, or lacks what the exercise needs."""


class WorkerDied(WorkerFailure):
    """The worker timed out, crashed, exited or broke the protocol, and has been killed."""


class Invalid:
    """A student 'number' that is not a finite float: NaN, infinity, a float subclass, ..."""

    def __init__(self, description):
        self.description = description

    def __repr__(self):
        return self.description


def decode_number(x):
    """A number from a reply: a float, or Invalid. Never raises, never passes a non-float."""
    if type(x) in (int, float):
        return float(x)
    if type(x) is dict and type(x.get("invalid")) is str:
        return Invalid(x["invalid"][:MAX_TEXT])
    return Invalid("not a number")


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


class Worker:
    """One worker process in one Sandbox, usable until `deadline` (a time.monotonic() value)."""

    def __init__(self, sandbox, deadline):
        self.sandbox, self.deadline = sandbox, deadline
        self.process = None
        self._next_id = 0
        self._buffer = b""
        self._stderr = bytearray()
        self._stderr_thread = None

    # -- lifetime

    def start(self):
        self.process = self.sandbox.spawn(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        return self

    def close(self):
        self._stop()
        self.sandbox.cleanup()

    def _stop(self):
        """Kill the worker, once, and release its pipes; its exit status (None if never started)."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        self.sandbox.kill(process)
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=2)
        return process.returncode

    def _drain_stderr(self):
        """Read everything the worker writes to stderr, keeping only the tail."""
        stream = self.process.stderr
        while chunk := stream.read1(65536):
            self._stderr += chunk
            del self._stderr[:-STDERR_KEEP]

    def stderr_tail(self, lines=3):
        text = self._stderr.decode("utf-8", "replace").strip()
        return "\n".join(text.splitlines()[-lines:])[-MAX_TEXT:]

    # -- requests

    def call(self, operation, **args):
        """Send one request; the reply's value, or an exception."""
        self.send(operation, **args)
        return self.receive()

    def send(self, operation, **args):
        """Send one request without waiting for its reply."""
        if self.process is None:
            raise WorkerDied("internal", "the worker is not running")
        self._next_id += 1
        request = {"v": PROTOCOL_VERSION, "id": self._next_id, "op": operation, "args": args}
        try:
            self.process.stdin.write(json.dumps(request, allow_nan=False).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            self._die("crashed", "stopped reading requests")

    def receive(self):
        """The reply to the last request sent: its value, or an exception."""
        reply = self._parse(self._read_line())
        if reply["ok"]:
            return reply["value"]
        error = reply["error"]
        raise StudentError(error["kind"], _text(error.get("message")), _text(error.get("where")), _text(error.get("type")))

    def _read_line(self):
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = self.deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    self._die("timeout", "ran out of time")
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    self._die("crashed", "stopped")
                self._buffer += chunk
                if len(self._buffer) > MAX_REPLY_BYTES:
                    self._die("protocol", "sent an oversized reply")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _parse(self, line):
        try:
            reply = json.loads(line, parse_constant=_reject_constant)
        except ValueError:
            self._die("protocol", "sent a reply that is not valid JSON")
        if not (isinstance(reply, dict) and reply.get("v") == PROTOCOL_VERSION and reply.get("id") == self._next_id
                and type(reply.get("ok")) is bool):
            self._die("protocol", "sent a malformed reply")
        if reply["ok"] and not isinstance(reply.get("value"), dict):
            self._die("protocol", "sent a reply without a value")
        if not reply["ok"] and not (isinstance(reply.get("error"), dict) and isinstance(reply["error"].get("kind"), str)):
            self._die("protocol", "sent an error reply without a kind")
        return reply

    def _die(self, kind, what):
        """Kill the worker and raise WorkerDied with a message that says what happened."""
        exited = self.process.poll()  # before the kill: whether it ended by itself, and how
        killed = self._stop()
        returncode = self.sandbox.exit_status(killed if exited is None else exited)
        message = f"the code under test {what}"
        if kind == "crashed" and returncode is not None:
            message += f" ({describe_exit(returncode)})"
        tail = self.stderr_tail()
        if tail and kind != "timeout":
            message += f"; its last output: {tail}"
        raise WorkerDied(kind, message)


def describe_exit(returncode):
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        meaning = {"SIGXCPU": "out of CPU time", "SIGSEGV": "a segmentation fault", "SIGKILL": "killed",
                   "SIGABRT": "aborted", "SIGXFSZ": "wrote too large a file"}.get(name, "")
        return f"killed by {name}" + (f": {meaning}" if meaning else "")
    return f"exited with code {returncode}"


def _text(value):
    return value[:MAX_TEXT] if isinstance(value, str) else ""
