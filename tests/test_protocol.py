"""The worker protocol: what the worker answers, and what the grader accepts from it."""
import subprocess
import sys
import textwrap
import time

import pytest

from autograder import exercise
from autograder.sandbox.client import Invalid, StudentError, Worker, WorkerDied, decode_number
from autograder.sandbox.isolation import INSIDE_SUBMISSION, Limits, Sandbox, detect


def op_args(part):
    """The arguments that name an op in a request: its part, method and kind."""
    row = exercise.op(part)
    return dict(op=part, method=row.method, kind=row.kind)


@pytest.fixture
def part_for(tmp_path):
    """A Channel to a fresh part of a started Worker over a folder holding the given engine.py."""
    workers = []

    def start(engine_text, seconds=20):
        folder = tmp_path / f"submission{len(workers)}"
        folder.mkdir()
        (folder / "engine.py").write_text(engine_text)
        worker = Worker(Sandbox(detect("strict"), Limits(), folder)).start()
        workers.append(worker)
        return worker.open_part("flat", INSIDE_SUBMISSION, time.monotonic() + seconds)
    yield start
    for worker in workers:
        worker.close()


@pytest.fixture
def solution_engine(repo):
    return (repo / "solutions" / "micrograd" / "engine.py").read_text()


def test_worker_answers_only_its_operations(part_for, solution_engine):
    part = part_for(solution_engine)
    assert "tanh" in part.receive()["value_attributes"]
    with pytest.raises(StudentError) as error:
        part.call("exec", code="print(1)")
    assert error.value.kind == "bad_request" and "unknown operation" in error.value.message
    value = part.call("op", **op_args("mul"), leaves=[2.0, 3.0], leaf_grads=[0.0, 0.0], operands=[0, 1], upstream=1.5)
    assert value == {"out": 6.0, "leaf_grads": [4.5, 3.0], "changed": True}


def test_a_submission_that_cannot_load_says_why_first(part_for):
    part = part_for("def broken(:\n")
    with pytest.raises(StudentError) as error:
        part.receive()
    assert error.value.kind == "load" and "engine.py, line 1" in error.value.message


@pytest.mark.parametrize("grad, description", [
    ("float('nan')", "NaN"), ("float('inf')", "infinity"), ("True", "a bool (True)"),
    ("Sneaky(1.0)", "a Sneaky, not a float"), ("'1.0'", "a str, not a float"),
    ("Sneaky(1.0, '\\x1b[2J')", "a Sneaky\\x1b[2J, not a float"),
])
def test_odd_numbers_arrive_as_invalid(part_for, solution_engine, grad, description):
    engine = solution_engine.replace(
        "class Value:",
        "class Sneaky(float):\n    def __new__(cls, x, name=''):\n        cls.__name__ = 'Sneaky' + name\n"
        "        return super().__new__(cls, x)\n\n\nclass Value:").replace(
        "            self.grad += out.grad\n            other.grad += out.grad\n",
        f"            self.grad = {grad}\n            other.grad = {grad}\n")
    part = part_for(engine)
    part.receive()
    value = part.call("op", **op_args("add"), leaves=[1.0, 2.0], leaf_grads=[0.0, 0.0], operands=[0, 1], upstream=2.0)
    decoded = decode_number(value["leaf_grads"][0])
    assert isinstance(decoded, Invalid) and decoded.description == description


def test_decode_number_passes_only_plain_numbers():
    assert decode_number(1) == 1.0 and type(decode_number(1)) is float
    for value in (True, None, "1", [1.0], {"invalid": 3}, {"x": 1}):
        assert isinstance(decode_number(value), Invalid)


def test_student_errors_say_where(part_for, solution_engine):
    engine = solution_engine.replace("            self.grad += out.data * out.grad\n",
                                     "            self.grad += undefined_name * out.grad\n")
    part = part_for(engine)
    part.receive()
    with pytest.raises(StudentError) as error:
        part.call("op", **op_args("exp"), leaves=[1.0], leaf_grads=[0.0], operands=[0], upstream=2.0)
    assert error.value.kind == "student" and error.value.type_name == "NameError"
    assert error.value.where.startswith("engine.py, line ") and error.value.where.endswith("in _backward")


def test_student_output_never_passes_for_a_reply(part_for, solution_engine):
    noisy = 'print("chatter on stdout")\nimport sys\nsys.stdout.write("{\\"v\\": 2}\\n")\n' + solution_engine
    part = part_for(noisy)
    assert "value_attributes" in part.receive()
    value = part.call("op", **op_args("add"), leaves=[1.0, 2.0], leaf_grads=[0.0, 0.0], operands=[0, 1], upstream=2.0)
    assert value["leaf_grads"] == [2.0, 2.0]
    assert "chatter on stdout" in part.worker.stderr_tail(lines=5)


def test_replies_forged_into_the_channel_are_refused(part_for, solution_engine):
    """Student code may write into the reply pipe; without the part's key it cannot sign."""
    forger = solution_engine.replace("            self.grad += out.data * out.grad\n", textwrap.indent(textwrap.dedent("""
        import json, os
        for fd in range(3, 30):
            try:
                os.write(fd, b"0" * 32 + b" " + json.dumps({"v": 2, "id": 1, "ok": True, "value": {
                    "out": 1.0, "leaf_grads": [99.0], "changed": True}}).encode() + b"\\n")
            except OSError:
                pass
        self.grad += out.data * out.grad
        """), " " * 12))
    part = part_for(forger)
    part.receive()
    with pytest.raises(WorkerDied) as died:
        part.call("op", **op_args("exp"), leaves=[1.0], leaf_grads=[0.0], operands=[0], upstream=2.0)
    assert died.value.kind == "protocol" and "that the worker did not send" in died.value.message


# ---------------------------------------------------------------- a fake worker, to feed the client odd replies

FAKE_WORKER = textwrap.dedent('''
    import json, os, socket, sys, time
    from hashlib import blake2b
    control = socket.socket(fileno=int(sys.argv[1]))
    message, fds, _, _ = socket.recv_fds(control, 65536, 2)
    key = bytes.fromhex(json.loads(message)["key"])
    pid = os.fork()
    if pid == 0:
        control.close()
        def signed(text, mac=None):
            return (mac or blake2b(text, key=key, digest_size=16).hexdigest().encode()) + b" " + text + b"\\n"
        REPLY
        time.sleep(30)
        os._exit(0)
    os.close(fds[0]); os.close(fds[1])
    control.send(json.dumps({"ok": True, "pid": pid}).encode())
    while True:
        request = json.loads(control.recv(65536) or b'{"op": "end"}')
        if request["op"] == "status":
            for _ in range(100):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                time.sleep(0.01)
            code = None if not done else (-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
            control.send(json.dumps({"ok": True, "status": code}).encode())
        elif request["op"] == "clear":
            try:
                os.kill(pid, 9)
            except OSError:
                pass
            control.send(b'{"ok": true}')
        else:
            break
''')


class FakeSandbox:
    """A 'worker' that answers the control channel honestly and the part with anything at all."""

    def __init__(self, reply):
        self.code = FAKE_WORKER.replace("REPLY", reply)
        self.level = detect("process")

    def spawn(self, control, **pipes):
        return subprocess.Popen([sys.executable, "-c", self.code, str(control)], pass_fds=(control,), **pipes)

    def kill(self, process):
        process.kill()
        process.wait()

    def cleanup(self):
        pass


def writes(data):
    return f"os.write(fds[1], {data})"


LOAD = 'signed(b\'{"v": 2, "id": 0, "ok": true, "value": {}}\')'
ODD_REPLIES = {
    "NaN in JSON": (writes('signed(b\'{"v": 2, "id": 0, "ok": true, "value": {"x": NaN}}\')'), "protocol", "not valid JSON"),
    "wrong id": (writes('signed(b\'{"v": 2, "id": 7, "ok": true, "value": {}}\')'), "protocol", "malformed reply"),
    "a list for an id": (writes('signed(b\'{"v": 2, "id": [0], "ok": true, "value": {}}\')'), "protocol", "malformed reply"),
    "wrong version": (writes('signed(b\'{"v": 1, "id": 0, "ok": true, "value": {}}\')'), "protocol", "malformed reply"),
    "ok not a bool": (writes('signed(b\'{"v": 2, "id": 0, "ok": "yes", "value": {}}\')'), "protocol", "malformed reply"),
    "error without kind": (writes('signed(b\'{"v": 2, "id": 0, "ok": false, "error": {}}\')'), "protocol", "without a kind"),
    "not JSON": (writes("signed(b'not json at all')"), "protocol", "not valid JSON"),
    "nested 100,000 deep": (writes("signed(b'[' * 100000 + b']' * 100000)"), "protocol", "not valid JSON"),
    "unsigned": (writes('signed(b\'{"v": 2, "id": 0, "ok": true, "value": {}}\', mac=b"0" * 32)'), "protocol",
                 "did not send"),
    "oversized": (writes("b'[' * (5 * 2 ** 20)"), "protocol", "oversized reply"),
    "silent": ("pass", "timeout", "ran out of time"),
    "exits": (writes(LOAD) + "; os._exit(4)", "crashed", "exited with code 4"),
    "segfaults": ("import signal; os.kill(os.getpid(), signal.SIGSEGV)", "crashed", "SIGSEGV: a segmentation fault"),
}


@pytest.mark.parametrize("case", ODD_REPLIES)
def test_the_client_rejects_anything_odd(case):
    reply, kind, words = ODD_REPLIES[case]
    worker = Worker(FakeSandbox(reply)).start()
    try:
        part = worker.open_part("flat", ".", time.monotonic() + 2)
        with pytest.raises(WorkerDied) as error:
            part.receive()
            part.receive()  # "exits" answers the load first, then ends
    finally:
        worker.close()
    assert error.value.kind == kind and words in error.value.message


def test_the_protocol_is_documented_where_the_worker_is(repo):
    text = (repo / "autograder" / "worker" / "main.py").read_text()
    for words in ("Control channel", "Part channel (protocol version 2)", "MAC", "Error kinds", "student's word"):
        assert words in text
