"""The grader's side of the worker protocol (the protocol itself: `autograder/worker/main.py`).

`Worker` starts the sandboxed worker of one submission and, for each rubric part, asks it for
a fresh child: a `Channel` of that part's requests and replies. Every way a worker can fail
becomes an exception whose message is written for the student: an error reply is a
StudentError (the child lives on); death, silence past the deadline, a reply that is not the
child's (wrong MAC), garbage or too much output is a WorkerDied (the child is cleared away).
Replies are parsed as strict JSON (no NaN, no Infinity, bounded size, depth and number of
values, counted before decoding: 1.2 MB of `[{}, {}, ...]` would decode to 85 MB) and checked
for shape before anyone looks at them. Nothing here imports or evaluates student code.
"""
import hmac
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
from hashlib import blake2b

from autograder.text import printable

PROTOCOL_VERSION = 2
MAX_REPLY_BYTES = 4 << 20
MAX_REPLY_VALUES = 100_000  # JSON values in one reply; the probes' largest honest reply holds about 35,000
STDERR_KEEP = 4096
MAX_TEXT = 500
CONTROL_SECONDS = 5  # the worker's parent never runs student code: it answers at once


class WorkerFailure(Exception):
    """Student code could not answer a request; `message` is written for the student."""

    def __init__(self, kind, message, where="", type_name=""):
        super().__init__(message)
        self.kind, self.message, self.where, self.type_name = kind, message, where, type_name


class StudentError(WorkerFailure):
    """An error reply: student code raised, or lacks what the exercise needs."""


class WorkerDied(WorkerFailure):
    """The worker timed out, crashed, exited or broke the protocol, and has been stopped."""


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
        return Invalid(printable(x["invalid"][:MAX_TEXT]))
    return Invalid("not a number")


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)  # strict JSON: no NaN, no Infinity


class Worker:
    """The worker process of one submission, in one Sandbox."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.process = None
        self.control = None
        self._stderr = bytearray()
        self._stderr_thread = None

    @property
    def alive(self):
        return self.process is not None

    def start(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = self.sandbox.spawn(theirs.fileno(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE)
        finally:
            theirs.close()
        self.control = ours
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        return self

    def _drain_stderr(self):
        """Read everything the worker (and student code) writes to stderr, keeping only the tail."""
        stream = self.process.stderr
        while chunk := stream.read1(65536):
            self._stderr += chunk
            del self._stderr[:-STDERR_KEEP]

    def stderr_tail(self, lines=3):
        text = self._stderr.decode("utf-8", "replace").strip()
        return printable("\n".join(text.splitlines()[-lines:])[-MAX_TEXT:])

    def open_part(self, layout, root, deadline, imports=("engine", "nn"), allowed=None):
        """A fresh child that loads the submission (the modules `imports`) and serves one part
        until `deadline`; student code may import the standard-library modules `allowed` (every
        one when None: tests that probe the sandbox itself)."""
        key = os.urandom(16)
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        try:
            message = {"op": "part", "key": key.hex(), "layout": layout, "root": root, "imports": list(imports),
                       "allowed": None if allowed is None else sorted(allowed)}
            pid = self._control_call(message, [request_read, reply_write]).get("pid")
        except BaseException:
            for fd in (request_write, reply_read):
                os.close(fd)
            raise
        finally:
            os.close(request_read)
            os.close(reply_write)
        return Channel(self, request_write, reply_read, key, deadline, pid)

    def clear(self):
        """Kill everything the last part left running and empty the scratch /tmp."""
        if self.alive:
            self._control_call({"op": "clear"})

    def exit_status(self, pid):
        """How a part's child ended (see describe_exit), or None if unknown."""
        if not self.alive or type(pid) is not int:
            return None
        status = self._control_call({"op": "status", "pid": pid}).get("status")
        return status if type(status) is int else None

    def _control_call(self, message, fds=()):
        """One control request, its reply; a worker that does not answer at once is stopped (WorkerDied)."""
        try:
            socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))
            ready, _, _ = select.select([self.control], [], [], CONTROL_SECONDS)
            reply = json.loads(self.control.recv(65536) if ready else b"{}")
            if isinstance(reply, dict) and reply.get("ok") is True:
                return reply
        except (OSError, ValueError):
            reply = {}
        self.stop()
        if isinstance(reply, dict) and isinstance(reply.get("error"), str):
            raise WorkerDied("crashed", f"the grader could not start this part: {printable(reply['error'])[:200]}")
        raise WorkerDied("crashed", "the code under test stopped the grader's worker process")

    def stop(self):
        """Kill the worker and everything in its sandbox; its exit status (None if never started)."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        self.control.close()
        self.sandbox.kill(process)
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=2)
        return process.returncode

    def close(self):
        self.stop()
        self.sandbox.cleanup()


class Channel:
    """Requests and replies of one part's child, each reply checked before it is believed."""

    def __init__(self, worker, request_fd, reply_fd, key, deadline, pid=None):
        self.worker, self.key, self.deadline, self.pid = worker, key, deadline, pid
        self._requests, self._replies = request_fd, reply_fd
        self._sent = 0  # ids sent so far (the load reply has id 0)
        self._received = -1
        self._buffer = b""
        self._writer = None
        self.closed = False
        self.reply_values = 0  # at most how many JSON values the last reply held

    # -- sending

    def send(self, operation, **args):
        """Send one request without waiting for its reply; returns its id."""
        self.send_all([(operation, args)])
        return self._sent

    def send_all(self, requests, encoded=None):
        """Send many requests from a background thread (a full reply pipe must not block us);
        `encoded`, if given, is encode_requests(requests, first id) done beforehand."""
        data = encoded if encoded is not None else encode_requests(requests, self._sent + 1)
        self._sent += len(requests)
        previous = self._writer
        self._writer = threading.Thread(target=self._write, args=(previous, data), daemon=True)
        self._writer.start()

    def _write(self, previous, data):
        if previous is not None:
            previous.join()
        try:
            while data and not self.closed:
                data = data[os.write(self._requests, data):]
        except OSError:
            pass  # the child is gone; reading its replies will say how

    # -- receiving

    def receive(self):
        """The value of the next reply, in order: the load reply first, then one per request."""
        if self.closed:
            raise WorkerDied("internal", "the part's worker is not running")
        self._received += 1
        reply = self._parse(self._read_line())
        if reply["ok"]:
            return reply["value"]
        raise student_error(reply["error"])

    def call(self, operation, **args):
        self.send(operation, **args)
        while self._received < self._sent - 1:
            self.receive()
        return self.receive()

    def _read_line(self):
        while b"\n" not in self._buffer:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._replies], [], [], remaining)[0]:
                self._die("timeout", "ran out of time")
            chunk = os.read(self._replies, 65536)
            if not chunk:
                self._die("crashed", "stopped")
            self._buffer += chunk
            if len(self._buffer) > MAX_REPLY_BYTES:
                self._die("protocol", "sent an oversized reply")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _parse(self, line):
        mac, _, text = line.partition(b" ")
        if not hmac.compare_digest(mac, blake2b(text, key=self.key, digest_size=16).hexdigest().encode()):
            self._die("protocol", "wrote something into the grader's reply channel that the worker did not send")
        self.reply_values = json_values(text)
        if self.reply_values > MAX_REPLY_VALUES:
            self._die("protocol", "sent an oversized reply")
        try:
            reply = _decoder.decode(text.decode())
        except (ValueError, RecursionError):
            self._die("protocol", "sent a reply that is not valid JSON")
        if not (isinstance(reply, dict) and reply.get("v") == PROTOCOL_VERSION and type(reply.get("id")) is int
                and reply["id"] == self._received and type(reply.get("ok")) is bool):
            self._die("protocol", "sent a malformed reply")
        if reply["ok"] and not isinstance(reply.get("value"), dict):
            self._die("protocol", "sent a reply without a value")
        if not reply["ok"] and not (isinstance(reply.get("error"), dict) and isinstance(reply["error"].get("kind"), str)):
            self._die("protocol", "sent an error reply without a kind")
        return reply

    def _die(self, kind, what):
        """Clear the part away and raise WorkerDied with a message that says what happened."""
        exited = self._exit_status() if kind == "crashed" else None
        self.close()
        message = f"the code under test {what}"
        if kind == "crashed" and exited is not None:
            message += f" ({describe_exit(exited)})"
        tail = self.worker.stderr_tail()
        if tail and kind != "timeout":
            message += f"; its last output: {tail}"
        raise WorkerDied(kind, message)

    def _exit_status(self):
        """How the child ended, if the worker's parent can tell; None otherwise."""
        try:
            return self.worker.exit_status(self.pid)
        except WorkerDied:
            return None

    def close(self):
        """End the part: its child and everything it started are killed, its files removed."""
        if self.closed:
            return
        self.closed = True
        for fd in (self._requests, self._replies):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.worker.clear()
        except WorkerDied:
            pass  # the worker is stopped; the next part gets a new one


def json_values(text):
    """At most how many values the JSON `text` holds, counted without decoding it: every value
    but the first follows a `[`, `{`, `,` or `:` (those inside strings count too)."""
    return 1 + sum(text.count(mark) for mark in (b"[", b"{", b",", b":"))


def encode_requests(requests, first_id):
    """The wire form of [(operation, args)] numbered from `first_id`."""
    return b"".join(json.dumps({"v": PROTOCOL_VERSION, "id": first_id + n, "op": operation, "args": args},
                               allow_nan=False).encode() + b"\n" for n, (operation, args) in enumerate(requests))


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


def text(value, limit=MAX_TEXT):
    """Student text from a reply: a str, cut to `limit` and made printable; anything else is ""."""
    return printable(value[:limit]) if isinstance(value, str) else ""


def student_error(error):
    """The StudentError that an error reply's `error` object (a dict with a str `kind`) describes."""
    return StudentError(text(error["kind"], 40), text(error.get("message")), text(error.get("where"), 200),
                        text(error.get("type"), 60))
