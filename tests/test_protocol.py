"""The worker protocol: what the worker answers, and what the grader accepts from it."""
import json
import subprocess
import sys
import time

import pytest

from autograder.sandbox.client import Invalid, StudentError, Worker, WorkerDied, decode_number
from autograder.sandbox.isolation import Limits, Sandbox, detect

WORKER = ["-I", "-S", "-B"]


@pytest.fixture
def worker_at(tmp_path):
    """A started Worker over a folder holding the given engine.py text."""
    started = []

    def start(engine_text, seconds=20):
        folder = tmp_path / f"submission{len(started)}"
        folder.mkdir()
        (folder / "engine.py").write_text(engine_text)
        worker = Worker(Sandbox(detect("strict"), Limits(), folder), time.monotonic() + seconds).start()
        started.append(worker)
        return worker
    yield start
    for worker in started:
        worker.close()


@pytest.fixture
def solution_engine(repo):
    return (repo / "solutions" / "micrograd" / "engine.py").read_text()


def load(worker):
    return worker.call("load", layout="flat", root="/submission")


def test_worker_answers_only_its_operations(worker_at, solution_engine):
    worker = worker_at(solution_engine)
    assert "tanh" in load(worker)["value_attributes"]
    with pytest.raises(StudentError) as error:
        worker.call("exec", code="print(1)")
    assert error.value.kind == "bad_request" and "unknown operation" in error.value.message
    value = worker.call("op", op="mul", leaves=[2.0, 3.0], leaf_grads=[0.0, 0.0], operands=[0, 1], upstream=1.5)
    assert value == {"out": 6.0, "leaf_grads": [4.5, 3.0], "changed": True}


def test_nothing_runs_before_load(worker_at, solution_engine):
    worker = worker_at(solution_engine)
    with pytest.raises(StudentError, match="load must succeed"):
        worker.call("op", op="add", leaves=[1.0], leaf_grads=[0.0], operands=[0, 0], upstream=1.0)


@pytest.mark.parametrize("grad, description", [
    ("float('nan')", "NaN"), ("float('inf')", "infinity"), ("True", "a bool (True)"),
    ("Sneaky(1.0)", "a Sneaky, not a float"), ("'1.0'", "a str, not a float"),
])
def test_odd_numbers_arrive_as_invalid(worker_at, solution_engine, grad, description):
    engine = solution_engine.replace("class Value:", "class Sneaky(float):\n    pass\n\n\nclass Value:") \
        .replace("            self.grad += out.grad\n            other.grad += out.grad\n",
                 f"            self.grad = {grad}\n            other.grad = {grad}\n")
    worker = worker_at(engine)
    load(worker)
    value = worker.call("op", op="add", leaves=[1.0, 2.0], leaf_grads=[0.0, 0.0], operands=[0, 1], upstream=2.0)
    decoded = decode_number(value["leaf_grads"][0])
    assert isinstance(decoded, Invalid) and decoded.description == description


def test_decode_number_passes_only_plain_numbers():
    assert decode_number(1) == 1.0 and type(decode_number(1)) is float
    for value in (True, None, "1", [1.0], {"invalid": 3}, {"x": 1}):
        assert isinstance(decode_number(value), Invalid)


def test_student_errors_say_where(worker_at, solution_engine):
    engine = solution_engine.replace("            self.grad += out.data * out.grad\n",
                                     "            self.grad += undefined_name * out.grad\n")
    worker = worker_at(engine)
    load(worker)
    with pytest.raises(StudentError) as error:
        worker.call("op", op="exp", leaves=[1.0], leaf_grads=[0.0], operands=[0], upstream=2.0)
    assert error.value.kind == "student" and error.value.type_name == "NameError"
    assert error.value.where.startswith("engine.py, line ") and error.value.where.endswith("in _backward")


class FakeSandbox:
    """A 'worker' that is any Python one-liner: to feed the client replies a worker never would."""

    def __init__(self, code):
        self.code = code
        self.level = detect("process")

    def spawn(self, **pipes):
        return subprocess.Popen([sys.executable, "-c", self.code], **pipes)

    def kill(self, process):
        process.kill()
        process.wait()

    def exit_status(self, returncode):
        return returncode

    def cleanup(self):
        pass


def reply_with(text):
    """Code for a fake worker that reads one request and answers with `text` (a Python expression)."""
    return f"import sys\nsys.stdin.readline()\nsys.stdout.write({text})\nsys.stdout.flush()\nimport time\ntime.sleep(30)"


ODD_REPLIES = {
    "NaN in JSON": (reply_with(repr('{"v": 1, "id": 1, "ok": true, "value": {"x": NaN}}\n')), "protocol", "not valid JSON"),
    "wrong id": (reply_with(repr('{"v": 1, "id": 7, "ok": true, "value": {}}\n')), "protocol", "malformed reply"),
    "wrong version": (reply_with(repr('{"v": 2, "id": 1, "ok": true, "value": {}}\n')), "protocol", "malformed reply"),
    "ok not a bool": (reply_with(repr('{"v": 1, "id": 1, "ok": "yes", "value": {}}\n')), "protocol", "malformed reply"),
    "error without kind": (reply_with(repr('{"v": 1, "id": 1, "ok": false, "error": {}}\n')), "protocol", "without a kind"),
    "not JSON": (reply_with(repr("not json at all\n")), "protocol", "not valid JSON"),
    "oversized": (reply_with('"[" * (5 * 2 ** 20)'), "protocol", "oversized reply"),
    "silent": ("import time\ntime.sleep(30)", "timeout", "ran out of time"),
    "exits": ("import os\nos._exit(4)", "crashed", "exited with code 4"),
    "segfaults": ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", "crashed", "SIGSEGV: a segmentation fault"),
}


@pytest.mark.parametrize("case", ODD_REPLIES)
def test_the_client_rejects_anything_odd(case):
    code, kind, words = ODD_REPLIES[case]
    worker = Worker(FakeSandbox(code), time.monotonic() + 2).start()
    try:
        with pytest.raises(WorkerDied) as error:
            worker.call("load", layout="flat", root=".")
    finally:
        worker.close()
    assert error.value.kind == kind and words in error.value.message


def test_a_reply_is_json_lines_with_no_student_output(worker_at, solution_engine):
    noisy = 'print("chatter on stdout")\nimport sys\nsys.stdout.write("{\\"v\\": 1}\\n")\n' + solution_engine
    worker = worker_at(noisy)
    assert "value_attributes" in load(worker)
    assert "chatter on stdout" in worker.stderr_tail(lines=5)
    value = worker.call("op", op="add", leaves=[1.0, 2.0], leaf_grads=[0.0, 0.0], operands=[0, 1], upstream=2.0)
    assert json.dumps(value) and value["leaf_grads"] == [2.0, 2.0]
