"""The hidden suite's handle on one submission: typed calls to a sandboxed worker.

`StudentCode` is what the hidden checks get as their `student` fixture. It turns each reply
into typed values (numbers arrive as float or Invalid, never anything that could pass a
comparison by accident; anything of the wrong shape is a malformed reply, the student's
fault). Underneath, a transport carries the requests:
  - `LiveTransport`: one request, one reply, over a part's channel;
  - `PipelinedTransport`: the requests a check will make, known in advance, all sent at once
    (the replies are read as the checks consume them);
  - `ReferenceTransport`: no worker at all; the same probes run on the reference engine in
    this process, to learn which requests the checks make (autograder/grading/casebook.py).
Once a part's worker has died (crash, timeout, broken protocol), every later call of that
part raises the same failure at once.
"""
import json
from dataclasses import dataclass

from autograder.sandbox.client import StudentError, WorkerDied, WorkerFailure, decode_number, student_error, text


@dataclass(frozen=True)
class OpResult:
    out: object
    leaf_grads: list
    changed: bool


@dataclass(frozen=True)
class BackwardResult:
    calls: list
    grads: list
    equal_by_data: bool = False  # two new Values holding the same number compare equal; for feedback only


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


@dataclass(frozen=True)
class Anatomy:
    """An op's node taken apart (see the worker's `anatomy` probe); evidence for diagnoses only."""
    default_origin: str  # __qualname__ of a new Value's _backward, e.g. "Value.__init__.<locals>.<lambda>"
    attached_is_default: bool  # out._backward is still that function
    other_functions: list  # names of out's other attributes that hold functions
    inputs_rehooked: list  # [bool] per leaf: its _backward was replaced when out was built
    hook_inside: bool  # a function nested in the op's method sets an attribute `_backward` itself
    out_op: str  # out._op
    direct_inputs: object  # [bool] per leaf: it is in out._prev; None if out has no _prev to read
    returned: object  # what out._backward() returned: None, a float or Invalid
    written: list  # per leaf, the names of its attributes other than .grad that out._backward() wrote


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


def flags(value, length):
    if not isinstance(value, list) or len(value) != length or not all(type(b) is bool for b in value):
        raise malformed("a list of flags")
    return value


def names(value, limit=10):
    if not isinstance(value, list) or len(value) > limit or not all(isinstance(n, str) for n in value):
        raise malformed("a list of names")
    return [text(n, 60) for n in value]


def failure_from_error(error):
    if not isinstance(error, dict) or not isinstance(error.get("kind"), str):
        raise malformed("an error")
    return student_error(error)


# ---------------------------------------------------------------- transports

class LiveTransport:
    """One request, one reply."""

    def __init__(self, channel, loaded):
        self.channel, self.loaded = channel, loaded
        self.failure = None

    def call(self, operation, args):
        if self.failure is not None:
            raise self.failure.with_traceback(None)  # a fresh traceback, not one growing with each raise
        try:
            return self.channel.call(operation, **args)
        except WorkerDied as died:
            self.failure = died
            raise


class PipelinedTransport(LiveTransport):
    """The requests a part's checks make on a correct submission, sent before the checks run.

    A check that asks something else (after a failure, to tell mistakes apart) gets the reply
    of an identical earlier request, or its request is sent after the planned ones."""

    def __init__(self, channel, loaded, planned, encoded=None):
        super().__init__(channel, loaded)
        self.planned = list(planned)  # in the order they are sent
        self.replies = []  # reply value or StudentError of each planned request received so far
        channel.send_all(planned, encoded)

    def call(self, operation, args):
        if self.failure is not None:
            raise self.failure.with_traceback(None)
        request = (operation, args)
        try:
            if len(self.replies) < len(self.planned) and self.planned[len(self.replies)] == request:
                return self._answer(self._consume())
            if request not in self.planned[:len(self.replies)]:
                self.channel.send(operation, **args)
                self.planned.append(request)
                while self.planned[len(self.replies)] != request:
                    self._consume()
                return self._answer(self._consume())
        except WorkerDied as died:
            self.failure = died
            raise
        return self._answer(self.replies[self.planned.index(request)])

    def _consume(self):
        """The next reply in order (a value or a StudentError), kept for a later identical request."""
        try:
            reply = self.channel.receive()
        except StudentError as error:
            reply = error
        self.replies.append(reply)
        return reply

    @staticmethod
    def _answer(reply):
        if isinstance(reply, StudentError):
            raise reply.with_traceback(None)
        return reply


class ReferenceTransport:
    """The worker's probes on the reference engine, in this process; records every request."""

    def __init__(self, probes):
        self.probes = probes
        self.loaded = {"value_attributes": [], "instance_attributes": [], "engine_names": [], "mlp_attributes": [],
                       "layer_attributes": [], "neuron_attributes": [], "nn_loaded": True, "nn_error": None}
        self.requests = []

    def call(self, operation, args):
        self.requests.append((operation, json.loads(json.dumps(args))))
        try:
            value = self.probes.handlers()[operation](**args)
        except Exception as error:  # the reference failing is a grader bug: say so loudly
            raise AssertionError(f"the reference engine failed on a {operation} request: {error!r}") from error
        return json.loads(json.dumps(value, allow_nan=False))


# ---------------------------------------------------------------- typed calls

class StudentCode:
    """Typed calls to student code for one part (the protocol's docstring describes each)."""

    def __init__(self, transport):
        self.transport = transport

    @property
    def loaded(self):
        return self.transport.loaded

    def call(self, operation, **args):
        return self.transport.call(operation, args)

    def op(self, op, method, kind, leaves, leaf_grads, operands, upstream, exponent=None):
        args = dict(op=op, method=method, kind=kind, leaves=leaves, leaf_grads=leaf_grads, operands=operands,
                    upstream=upstream)
        if exponent is not None:
            args["exponent"] = exponent
        value = self.call("op", **args)
        return OpResult(decode_number(value.get("out")), numbers(value.get("leaf_grads"), len(leaves)),
                        value.get("changed") is True)

    def anatomy(self, op, method, kind, leaves, leaf_grads, operands, upstream, exponent=None):
        args = dict(op=op, method=method, kind=kind, leaves=leaves, leaf_grads=leaf_grads, operands=operands,
                    upstream=upstream)
        if exponent is not None:
            args["exponent"] = exponent
        value = self.call("anatomy", **args)
        direct, written = value.get("direct_inputs"), value.get("written")
        if not isinstance(written, list) or len(written) != len(leaves):
            raise malformed("the attributes written")
        returned = value.get("returned")
        return Anatomy(text(value.get("default_origin"), 200), value.get("attached_is_default") is True,
                       names(value.get("other_functions")), flags(value.get("inputs_rehooked"), len(leaves)),
                       value.get("hook_inside") is True, text(value.get("out_op"), 20),
                       None if direct is None else flags(direct, len(leaves)),
                       None if returned is None else decode_number(returned), [names(w) for w in written])

    def forward(self, nin, nouts, weights, xs):
        value = self.call("forward", nin=nin, nouts=nouts, weights=weights, xs=xs)
        return numbers(value.get("outputs"), len(xs))

    def backward(self, nodes, root):
        value = self.call("backward", nodes=nodes, root=root)
        return BackwardResult(ints(value.get("calls"), len(nodes)), numbers(value.get("grads"), len(nodes)),
                              value.get("equal_by_data") is True)

    def graph(self, program, seed, closures, method, kind):
        value = self.call("graph", program=program, seed=seed, closures=closures, method=method, kind=kind)
        steps = []
        for step in value.get("steps") if isinstance(value.get("steps"), list) else []:
            if not isinstance(step, dict) or type(step.get("node")) is not int or not 0 <= step["node"] < len(program):
                raise malformed("a graph step")
            error = step.get("error")
            steps.append(GraphStep(step["node"], decode_number(step.get("out_grad")), numbers(step.get("before")),
                                   numbers(step.get("after")), None if error is None else failure_from_error(error)))
        return GraphResult(numbers(value.get("data"), len(program)), steps, numbers(value.get("grads"), len(program)))

    def parameters(self, nin, nouts):
        value = self.call("parameters", nin=nin, nouts=nouts)
        walk = value.get("walk")
        if not isinstance(walk, list) or not all(
                isinstance(w, list) and len(w) == 3 and type(w[0]) is int and type(w[1]) is int and w[2] in ("w", "b")
                for w in walk):
            raise malformed("the network's parameters")
        used = value.get("used")
        if used is not None and not (isinstance(used, list) and len(used) == len(walk)
                                     and all(type(u) is bool for u in used)):
            raise malformed("which parameters are used")
        returned = value.get("returned")
        if not isinstance(returned, dict):
            raise malformed("what parameters() returned")
        items = None
        if isinstance(returned.get("items"), list):
            items = [self._item(item, len(walk)) for item in returned["items"]]
        length = returned.get("length") if type(returned.get("length")) is int else 0
        return ParametersResult([tuple(w) for w in walk], used, text(returned.get("type", "?"), 60), items, length)

    @staticmethod
    def _item(item, walked):
        if not isinstance(item, dict):
            raise malformed("a returned parameter")
        if "value" in item:
            index = item["value"]
            return ("value", index if type(index) is int and -1 <= index < walked else -1)
        if "nested" in item:
            return ("nested", text(item["nested"], 60), item.get("length") if type(item.get("length")) is int else 0)
        return ("other", text(item.get("other", "?"), 60))

    def train(self, nin, nouts, weights, xs, ys, learning_rate, steps):
        value = self.call("train", nin=nin, nouts=nouts, weights=weights, xs=xs, ys=ys,
                          learning_rate=learning_rate, steps=steps)
        return numbers(value.get("losses"), steps)


__all__ = ["StudentCode", "StudentError", "WorkerDied", "WorkerFailure"]
