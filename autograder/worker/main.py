"""The worker: the only process that ever runs student code.

This folder is the untrusted side of the trust boundary. It imports nothing but the standard
library (and its sibling files, by path), runs inside the sandbox with a read-only copy of
one submission, and answers requests from the grader. The grader's side of the conversation
is `autograder/sandbox/client.py`.

Processes
---------
The grader starts this script once per submission. It never runs student code itself: it
waits on a Unix socket (the control channel, its fd given on the command line) and, for each rubric part, forks a child
that serves that part and nothing else. At the end of a part the grader asks it to clear the
part away: it kills every other process it can signal (all of the sandbox's processes, under
the sandbox's own user; with no user of its own, each child's process group) and empties the
scratch /tmp, so that nothing a part started or wrote outlives it.

Control channel (SOCK_SEQPACKET, one JSON object per message)
    {"op": "part", "key": HEX, "layout": "flat"|"package", "root": DIR, "imports": ["engine", ...],
     "allowed": [MODULE, ...] or null}, with two file descriptors attached (SCM_RIGHTS): the read end of
        the part's request pipe and the write end of its reply pipe. The child imports only the
        submission modules in "imports" (an op part needs engine.py alone), and the audit hook lets
        student code import only "allowed" modules of the standard library
                                         -> {"ok": true, "pid": N} or {"ok": false, "error": TEXT}
    {"op": "status", "pid": N}           -> {"ok": true, "status": EXIT CODE | -SIGNAL | null}
    {"op": "clear"}                      -> {"ok": true}
    end of file: clear, then exit.

Part channel (protocol version 2), between the grader and one child
    One request per line, as JSON: {"v": 2, "id": N, "op": NAME, "args": {...}}.
    One reply per request, in order, as a line `MAC JSON`, where MAC is the hex BLAKE2b of the
    JSON text keyed with the part's key; the child's first reply (id 0) answers the implicit
    request "load the submission":
        {"v": 2, "id": N, "ok": true,  "value": {...}}
        {"v": 2, "id": N, "ok": false, "error": {"kind": K, "type": T, "message": M, "where": W}}
    The key lets the grader tell the worker's replies from bytes that student code writes into
    the same pipe; the worker keeps it where the audit hook (guard.py) denies student code a
    way in. Even so, every reply is treated as the student's word: scores never rest on the
    worker being honest, only on answers that cost as much to forge as to compute.
    Before any student code runs, the child points fd 1 and `sys.stdout` at stderr, so nothing
    student code prints is mistaken for a reply.

    Only the operations of `probes.Probes.handlers()` exist (op, backward, graph, parameters,
    train, and after a failure, to tell mistakes apart, anatomy and forward; their docstrings
    give the arguments); any other NAME gets an error reply. Replies
    hold numbers, strings, booleans, lists and objects only. A number that student code
    produced is sent as a JSON number only when its type is exactly int or float and it is
    finite; otherwise as {"invalid": DESCRIPTION}. Requests never contain expected answers.
    Error kinds:
        not_implemented   student code raised NotImplementedError (a blank stub)
        missing           a class or method the exercise needs does not exist
        load              the submission could not be imported (syntax error, exception, exit)
        student           student code raised some other exception (or tried to exit)
        bad_output        student code returned something of the wrong kind
        bad_request       the request itself was malformed (a grader bug)
"""
import builtins
import importlib.util
import json
import os
import shutil
import signal
import socket
import stat
import sys
import time
import types
from _json import make_encoder
from hashlib import blake2b
from json.encoder import encode_basestring_ascii as quote

__builtins__ = dict(vars(builtins))  # the functions below keep the real builtins whatever student code patches

VERSION = 2
HERE = os.path.dirname(os.path.abspath(__file__))
WORKER_FILES = tuple(os.path.join(HERE, name) for name in ("main.py", "probes.py", "handed.py", "lesson.py", "guard.py"))
write, decode = os.write, json.JSONDecoder().decode  # taken before any student code can replace them


def private(name):
    """A sibling module, loaded so that student code cannot find it in sys.modules."""
    spec = importlib.util.spec_from_file_location(f"_worker_{name}", os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- the parent: one per submission

def main():
    clear_mode, control_fd = sys.argv[1], int(sys.argv[2])  # clear_mode: "user" or "groups", see clear()
    control = socket.socket(fileno=control_fd)
    probes, guard = private("probes"), private("guard")  # loaded once, inherited by every child
    children = []
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 65536, 2)
        except OSError:
            message, fds = b"", []
        if not message:
            clear(clear_mode, children)
            return
        request = decode(message.decode())
        if request.get("op") == "part" and len(fds) == 2:
            try:
                pid = os.fork()
            except OSError as error:  # the part before left too many processes behind
                for fd in fds:
                    os.close(fd)
                control.send(encode({"ok": False, "error": f"no process could be started ({error.strerror})"}).encode())
                continue
            if pid == 0:
                control.close()
                serve_part(fds[0], fds[1], bytes.fromhex(request["key"]), request, probes, guard)
            children.append(pid)
            for fd in fds:
                os.close(fd)
            control.send(encode({"ok": True, "pid": pid}).encode())
        elif request.get("op") == "status":
            control.send(encode({"ok": True, "status": exit_status(request.get("pid"))}).encode())
        elif request.get("op") == "clear":
            clear(clear_mode, children)
            control.send(encode({"ok": True}).encode())
        else:
            for fd in fds:
                os.close(fd)
            control.send(encode({"ok": False}).encode())


def exit_status(pid):
    """How a child ended: its exit code, or minus the signal that killed it; None if it runs on."""
    for _ in range(50):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except (ChildProcessError, TypeError):
            return None
        if done:
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        time.sleep(0.01)
    return None


def clear(mode, children):
    """Kill every process a part left behind and remove the files it wrote."""
    if mode == "user":  # one atomic kill of every process of this user but this one
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    else:
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
    while True:
        try:
            os.waitpid(-1, 0)
        except OSError:  # ChildProcessError: none left
            break
    children.clear()
    tmp = os.environ.get("TMPDIR", "/tmp")
    remove_files(tmp)
    if mode == "user":  # without namespaces, the user's files in the machine's shared folders too
        for shared in ("/tmp", "/var/tmp", "/dev/shm"):
            if shared != tmp:
                remove_files(shared, owner=os.getuid())


def remove_files(folder, owner=None):
    """Delete what `folder` holds (only what `owner` owns, if given), whatever its modes; never
    follows a link."""
    if os.path.isdir(folder) and not os.path.islink(folder) and os.lstat(folder).st_uid == os.getuid():
        _unlock(folder)  # the sandbox's own /tmp, which student code may have locked
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        path = os.path.join(folder, entry)
        try:
            info = os.lstat(path)
            if owner is not None and info.st_uid != owner:
                continue
            if stat.S_ISDIR(info.st_mode):
                remove_tree(path)
            else:
                os.unlink(path)
        except OSError:
            pass


def remove_tree(path):
    """Delete a folder and everything in it. A folder of mode 000 can be neither listed nor
    emptied, even by its owner, until the owner gives the permissions back: so, first, every
    folder of the tree is made the owner's again, from the top down."""
    _unlock(path)
    for top, folders, _ in os.walk(path):
        for name in folders:
            _unlock(os.path.join(top, name))
    shutil.rmtree(path, ignore_errors=True)


def _unlock(path):
    """Give a folder (never a link) rwx for its owner, if we may."""
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            os.chmod(path, 0o700)
    except OSError:
        pass


# ---------------------------------------------------------------- a child: one per rubric part

def serve_part(request_fd, reply_fd, key, part, probes, guard):
    """Load the submission, then answer this part's requests; never returns."""
    os.setsid()
    requests = os.fdopen(request_fd, "rb")
    take_over_stdio()
    sys.modules["__main__"] = types.ModuleType("__main__")  # nothing of the worker to find there
    for name in guard.PURGED:  # loaded by the worker; student code must import them afresh, and may not
        sys.modules.pop(name, None)
    submission = part["root"] if part["layout"] == "flat" else os.path.dirname(part["root"])
    allowed = part.get("allowed")
    guard.install(WORKER_FILES, None if allowed is None else frozenset(allowed), os.path.abspath(submission))

    def send(text):
        line = text.encode()
        data = blake2b(line, key=key, digest_size=16).hexdigest().encode() + b" " + line + b"\n"
        while data:
            data = data[write(reply_fd, data):]

    try:
        student, loaded = probes.load(part["layout"], part["root"], part.get("imports", ("engine", "nn")))
        send(encode({"v": VERSION, "id": 0, "ok": True, "value": loaded}))
    except BaseException as error:  # student code may raise anything, even SystemExit
        send(encode({"v": VERSION, "id": 0, "ok": False, "error": probes.failure_from(error, "load").as_data()}))
        os._exit(0)
    handlers = student.handlers()
    for line in requests:
        send(answer(line, handlers, probes))
    os._exit(0)  # no student atexit handlers or finalizers after the last reply


def answer(line, handlers, probes):
    """The reply to one request line, as JSON text."""
    request_id = None
    try:
        request = decode(line.decode())
        request_id = request.get("id")
        if request.get("v") != VERSION:
            raise probes.Failure("bad_request", f"protocol version {request.get('v')!r}, expected {VERSION}")
        handler = handlers.get(request.get("op"))
        if handler is None:
            raise probes.Failure("bad_request", f"unknown operation {request.get('op')!r}")
        return encode({"v": VERSION, "id": request_id, "ok": True, "value": handler(**request.get("args", {}))})
    except BaseException as error:
        return encode({"v": VERSION, "id": request_id, "ok": False, "error": probes.failure_from(error).as_data()})


def take_over_stdio():
    """Student code gets stderr only: fd 0 reads nothing, fd 1 and sys.stdout write to stderr."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)
    sys.stdout = sys.stderr


def refuse(value):
    raise TypeError(f"a reply may not hold a {type(value).__name__}")


# JSON text of plain data (dict, list, str, finite float, int, bool, None): json's own C encoder,
# made here at start-up, so that student code replacing parts of the `json` module changes nothing
_encoder = make_encoder(None, refuse, quote, None, ":", ",", False, False, False)


def encode(data):
    return "".join(_encoder(data, 0))


if __name__ == "__main__":
    main()
