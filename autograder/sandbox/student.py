"""The hidden suite's handle on one submission: typed calls to a sandboxed worker.

One StudentCode serves one rubric part, with a worker of its own started on first use, so
whatever student code does while one part is checked cannot touch another part. Once the
worker dies (crash, timeout, exit) or the submission fails to load, every later call of the
part raises that same failure at once: a part with a hanging `_backward` costs its own time
budget and nothing more. Replies are checked for shape here; numbers arrive as float or
Invalid (never anything that could pass a comparison by accident).
"""
import time
from dataclasses import dataclass

from autograder.sandbox.client import StudentError, Worker, WorkerDied, WorkerFailure, decode_number
from autograder.sandbox.isolation import INSIDE_SUBMISSION, Sandbox


@dataclass(frozen=True)
class OpResult:
    out: object
    leaf_grads: list
    changed: bool


@dataclass(frozen=True)
class BackwardResult:
    calls: list
    grads: list


@dataclass(frozen=True)
class GraphStep:
    node: int
    out_grad: object
    before: list
    after: list
    error: object  # None, or a WorkerFailure raised by that node's _backward


@dataclass(frozen=True)
class GraphResult:
    data: list
    steps: list
    grads: list


@dataclass(frozen=True)
class ParametersResult:
    walk: list  # [(layer, neuron, "w"|"b")] of every weight and bias in the network
    used: object  # [bool] per walked parameter: reached by the forward pass; None if unknown
    returned_type: str
    items: object  # per returned item: ("value", walk index or -1) | ("nested", type, len) | ("other", type)
    length: int


def malformed(what):
    return WorkerDied("protocol", f"the code under test sent a malformed reply ({what})")


def numbers(value, length=None):
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise malformed("a list of numbers")
    return [decode_number(x) for x in value]


def ints(value, below):
    if not isinstance(value, list) or not all(type(i) is int and 0 <= i < below for i in value):
        raise malformed("a list of node numbers")
    return value


def failure_from_error(error):
    if not isinstance(error, dict) or not isinstance(error.get("kind"), str):
        raise malformed("an error")
    return StudentError(error["kind"], str(error.get("message", ""))[:500], str(error.get("where", ""))[:200],
                        str(error.get("type", ""))[:60])


class StudentCode:
    """Student code for one part: `prepare()` may start its worker early; the part's time
    budget starts with `begin()` (or the first call)."""

    def __init__(self, staged, level, limits, seconds, failure=None):
        self.staged, self.level, self.limits, self.seconds = staged, level, limits, seconds
        self.worker = None
        self.failure = failure  # once set, every call raises it
        self.loaded = None
        self.begun = False

    @property
    def failed_to_load(self):
        """The submission could not even be imported (or hung or died while importing)."""
        return self.failure is not None and self.loaded is None

    def prepare(self):
        """Start the worker and ask it to load the submission, without waiting."""
        if self.worker is None and self.failure is None:
            sandbox = Sandbox(self.level, self.limits, self.staged.folder)
            self.worker = Worker(sandbox, time.monotonic() + self.seconds).start()
            base = INSIDE_SUBMISSION if self.level.namespaces else str(sandbox.submission)
            self.worker.send("load", layout=self.staged.layout, root=f"{base}/{self.staged.root}")
        return self

    def begin(self):
        """The part starts now: its time budget runs from here."""
        self.prepare()
        if not self.begun and self.worker is not None:
            self.worker.deadline = time.monotonic() + self.seconds
        self.begun = True
        return self

    def close(self):
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    def call(self, operation, **args):
        if self.failure is not None:
            raise self.failure.with_traceback(None)  # a fresh traceback, not one growing with each raise
        try:
            self.begin()
            if self.loaded is None:
                self._finish_loading()
            return self.worker.call(operation, **args)
        except WorkerDied as died:
            self.failure = died
            raise

    def _finish_loading(self):
        try:
            self.loaded = self.worker.receive()
        except StudentError as error:
            self.failure = error
            raise

    # -- typed operations (the protocol's docstring describes each)

    def op(self, op, leaves, leaf_grads, operands, upstream, exponent=None):
        args = dict(op=op, leaves=leaves, leaf_grads=leaf_grads, operands=operands, upstream=upstream)
        if exponent is not None:
            args["exponent"] = exponent
        value = self.call("op", **args)
        return OpResult(decode_number(value.get("out")), numbers(value.get("leaf_grads"), len(leaves)),
                        value.get("changed") is True)

    def backward(self, nodes, root):
        value = self.call("backward", nodes=nodes, root=root)
        return BackwardResult(ints(value.get("calls"), len(nodes)), numbers(value.get("grads"), len(nodes)))

    def graph(self, program, seed, closures):
        value = self.call("graph", program=program, seed=seed, closures=closures)
        steps = []
        for step in value.get("steps") if isinstance(value.get("steps"), list) else []:
            if not isinstance(step, dict) or type(step.get("node")) is not int:
                raise malformed("a graph step")
            error = step.get("error")
            steps.append(GraphStep(step["node"], decode_number(step.get("out_grad")), numbers(step.get("before")),
                                   numbers(step.get("after")), None if error is None else failure_from_error(error)))
        return GraphResult(numbers(value.get("data"), len(program)), steps, numbers(value.get("grads"), len(program)))

    def parameters(self, nin, nouts):
        value = self.call("parameters", nin=nin, nouts=nouts)
        walk = value.get("walk")
        if not isinstance(walk, list) or not all(isinstance(w, list) and len(w) == 3 for w in walk):
            raise malformed("the network's parameters")
        used = value.get("used")
        if used is not None and not (isinstance(used, list) and len(used) == len(walk)):
            raise malformed("which parameters are used")
        returned = value.get("returned")
        if not isinstance(returned, dict):
            raise malformed("what parameters() returned")
        items = None
        if isinstance(returned.get("items"), list):
            items = [self._item(item, len(walk)) for item in returned["items"]]
        length = returned.get("length") if type(returned.get("length")) is int else 0
        return ParametersResult([tuple(w) for w in walk], used, str(returned.get("type", "?"))[:60], items, length)

    @staticmethod
    def _item(item, walked):
        if not isinstance(item, dict):
            raise malformed("a returned parameter")
        if "value" in item:
            index = item["value"]
            return ("value", index if type(index) is int and -1 <= index < walked else -1)
        if "nested" in item:
            return ("nested", str(item["nested"])[:60], item.get("length") if type(item.get("length")) is int else 0)
        return ("other", str(item.get("other", "?"))[:60])

    def train(self, nin, nouts, weights, xs, ys, learning_rate, steps):
        value = self.call("train", nin=nin, nouts=nouts, weights=weights, xs=xs, ys=ys,
                          learning_rate=learning_rate, steps=steps)
        return numbers(value.get("losses"), steps)


__all__ = ["StudentCode", "StudentError", "WorkerDied", "WorkerFailure"]
