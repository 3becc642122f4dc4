"""The worker: the only process that ever runs student code.

This file is the untrusted side of the trust boundary. It imports nothing but the standard
library (and `lesson.py` beside it, by file path), runs inside the sandbox with a private copy
of one submission as its working directory, and answers requests from the grader.
The grader's side of the conversation is `autograder/sandbox/client.py`.

Protocol (version 1)
--------------------
One JSON object per line. The grader writes requests to the worker's stdin; the worker
writes exactly one reply per request to its stdout, in order. Before any student code runs,
the worker moves the real stdout to a private descriptor and points fd 1 and `sys.stdout` at
stderr, so whatever student code prints can never be mistaken for a reply.

    request: {"v": 1, "id": N, "op": NAME, "args": {...}}
    reply:   {"v": 1, "id": N, "ok": true,  "value": {...}}
         or  {"v": 1, "id": N, "ok": false, "error": {"kind": K, "type": T, "message": M, "where": W}}

Only the operations in HANDLERS exist; any other NAME gets an error reply. Replies hold
numbers, strings, booleans, lists and objects only. A number that student code produced is
sent as a JSON number only when its type is exactly int or float and it is finite; otherwise
it is sent as {"invalid": DESCRIPTION}. Requests never contain expected answers: the grader
computes those itself and compares. Error kinds:

    not_implemented   student code raised NotImplementedError (a blank stub)
    missing           a class or method the exercise needs does not exist
    load              the submission could not be imported (syntax error, exception, exit)
    student           student code raised some other exception (or tried to exit)
    bad_output        student code returned something of the wrong kind
    bad_request       the request itself was malformed (a grader bug)

Operations (args -> value):

    load        {layout: "flat"|"package", root: DIR}
                -> {value_attributes: [names], engine_names: [names], nn_loaded: bool, nn_error: ERR|null}
    op          one primitive op, one node, its own _backward called once:
                {op, leaves: [x...], leaf_grads: [g...], operands: [i | {"const": c}], exponent?, upstream}
                -> {out: NUM, leaf_grads: [NUM], changed: bool}
    backward    Value.backward() on a graph whose _backward closures the grader supplies
                (each records its call, then adds weight * grad to its inputs; `_prev` iterates
                in the listed order): {nodes: [{data, inputs: [[i, w]...]}], root}
                -> {calls: [i...], grads: [NUM...]}
    graph       primitive ops on a DAG; nodes named in `closures` get the grader's _backward
                (adding weight * grad to each input); then the grader's own reverse walk calls
                each node's _backward once: {program: [[op, ...]...], seed, closures: {i: [[j, w]...]}}
                -> {data: [NUM], steps: [{node, out_grad, before, after, error}], grads: [NUM]}
    parameters  {nin, nouts} -> {walk: [[layer, neuron, role]...], used: [bool], returned: DESC}
    train       {nin, nouts, weights, xs, ys, learning_rate, steps} -> {losses: [NUM]}
"""
import importlib
import importlib.util
import json
import math
import os
import sys
import traceback

VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))
MAX_NAMES = 200
MAX_MESSAGE = 500
MAX_ITEMS = 10_000


def _load_lesson():
    spec = importlib.util.spec_from_file_location("_autograder_lesson", os.path.join(HERE, "lesson.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lesson = _load_lesson()  # loaded by path before any student folder is on sys.path


class Failure(Exception):
    """A reason to reply with an error of a given kind."""

    def __init__(self, kind, message, type_="", where=""):
        super().__init__(message)
        self.kind, self.message, self.type, self.where = kind, message, type_, where


class Student:
    """The classes found in the submission."""

    def __init__(self):
        self.Value = None
        self.MLP = None
        self.nn_failure = None  # why nn.py could not be imported, if it could not
        self.root = os.getcwd()


student = Student()


# ---------------------------------------------------------------- plain data out

def number(x):
    """A student-produced number as JSON-safe data; anything odd is marked invalid."""
    if type(x) is bool:
        return {"invalid": f"a bool ({x})"}
    if type(x) is int:
        return float(x) if abs(x) < 2 ** 1000 else {"invalid": "an int too large for a float"}
    if type(x) is float:
        if math.isnan(x):
            return {"invalid": "NaN"}
        if math.isinf(x):
            return {"invalid": "infinity" if x > 0 else "-infinity"}
        return x
    return {"invalid": f"a {type_name(x)}, not a float"}


def type_name(x):
    try:
        return str(type(x).__name__)[:60]
    except BaseException:
        return "object"


def safe_text(get):
    """str() of something student code controls, bounded, never raising."""
    try:
        text = str(get())
    except BaseException:
        return "<unprintable>"
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def where_in_submission(tb):
    """'engine.py, line 42, in _backward' for the deepest frame of student code."""
    found = ""
    for frame in traceback.extract_tb(tb):
        path = os.path.abspath(frame.filename)
        if path.startswith(student.root + os.sep):
            found = f"{os.path.relpath(path, student.root)}, line {frame.lineno}, in {frame.name}"
    return found


def failure_from(error, kind="student"):
    if isinstance(error, Failure):
        return error
    if isinstance(error, NotImplementedError):
        kind = "not_implemented"
    message = safe_text(lambda: error)
    if isinstance(error, SyntaxError):
        message = f"{os.path.basename(error.filename or '?')}, line {error.lineno}: {error.msg}"
    if isinstance(error, (SystemExit, KeyboardInterrupt)):
        message = f"{type_name(error)} raised: student code may not exit or interrupt the grader"
    return Failure(kind, message, type_name(error), where_in_submission(error.__traceback__))


# ---------------------------------------------------------------- load

def load(layout, root):
    """Import engine.py and nn.py from the submission copy."""
    student.root = os.path.abspath(root)
    sys.path.insert(0, os.path.dirname(student.root) if layout == "package" else student.root)
    prefix = os.path.basename(student.root) + "." if layout == "package" else ""
    try:
        engine = importlib.import_module(prefix + "engine")
    except BaseException as error:
        raise failure_from(error, "load")
    student.Value = getattr(engine, "Value", None)
    if not isinstance(student.Value, type):
        raise Failure("missing", "engine.py defines no class named Value", "", "engine.py")
    nn_error = None
    try:
        nn = importlib.import_module(prefix + "nn")
        student.MLP = getattr(nn, "MLP", None) or getattr(engine, "MLP", None)
    except BaseException as error:
        student.nn_failure = failure_from(error, "load")
        nn_error = vars(student.nn_failure)
        student.MLP = getattr(engine, "MLP", None)
    return {
        "value_attributes": public_names(student.Value),
        "engine_names": public_names(engine),
        "nn_loaded": nn_error is None,
        "nn_error": nn_error,
    }


def public_names(obj):
    """The attribute names of obj, minus those every object has."""
    try:
        names = [str(n)[:60] for n in dir(obj) if n not in dir(object)]
    except BaseException:
        return []
    return names[:MAX_NAMES]


def need_value_method(name):
    if not callable(getattr(student.Value, name, None)):
        raise Failure("missing", f"Value has no method {name}")


def need_mlp():
    if not isinstance(student.MLP, type):
        raise student.nn_failure or Failure("missing", "no class named MLP (expected in nn.py)")


# ---------------------------------------------------------------- one op, one node

BINARY = {"add": "__add__", "mul": "__mul__"}
UNARY = {"tanh": "tanh", "exp": "exp", "relu": "relu"}


def apply_op(name, operands, exponent=None):
    """Build one node with the student's own operator."""
    a = operands[0]
    if name in BINARY:
        need_value_method(BINARY[name])
        return a + operands[1] if name == "add" else a * operands[1]
    if name == "pow":
        need_value_method("__pow__")
        return a ** exponent
    if name in UNARY:
        need_value_method(UNARY[name])
        return getattr(a, UNARY[name])()
    raise Failure("bad_request", f"unknown op {name!r}")


def new_value(x, children=()):
    return student.Value(x, tuple(children)) if children else student.Value(x)


def check_is_value(out, what):
    if not isinstance(out, student.Value):
        raise Failure("bad_output", f"{what} returned a {type_name(out)}, not a Value")


def op(op, leaves, leaf_grads, operands, upstream, exponent=None):
    values = [new_value(x) for x in leaves]
    for value, grad in zip(values, leaf_grads):
        value.grad = grad
    args = [values[i] if isinstance(i, int) else i["const"] for i in operands]
    out = apply_op(op, args, exponent)
    check_is_value(out, op)
    out.grad = upstream
    backward_fn = out._backward
    backward_fn()
    grads = [number(v.grad) for v in values]
    return {"out": number(out.data), "leaf_grads": grads, "changed": grads != [number(g) for g in leaf_grads]}


# ---------------------------------------------------------------- graphs with the grader's closures

class Runaway(Exception):
    pass


class OrderedPrev(set):
    """A set that iterates in the order the grader chose, so a student's backward() sees the
    same order on every run (a plain set of Values iterates in memory-address order)."""

    def __init__(self, items):
        super().__init__(items)
        self._order = list(dict.fromkeys(items))

    def __iter__(self):
        return iter(self._order)


def grader_closure(node, inputs, on_call=None):
    """A _backward written by the grader: adds weight * node.grad to each input."""
    def _backward():
        if on_call is not None:
            on_call()
        for child, weight in inputs:
            child.grad += weight * node.grad
    return _backward


def backward(nodes, root):
    need_value_method("backward")
    values, calls = [], []
    for spec in nodes:
        children = [values[i] for i, _ in spec["inputs"]]
        value = new_value(spec["data"], children)
        if type(getattr(value, "_prev", None)) is set:
            value._prev = OrderedPrev(children)
        values.append(value)
    limit = 10 * len(values) + 10

    def recorder(index):
        def record():
            calls.append(index)
            if len(calls) > limit:
                raise Runaway()
        return record

    for index, value in enumerate(values):
        value._backward = grader_closure(value, [(values[i], w) for i, w in nodes[index]["inputs"]], recorder(index))
    try:
        values[root].backward()
    except Runaway:
        raise Failure("student", f"backward() called _backward more than {limit} times on a graph of "
                                 f"{len(values)} nodes", "Runaway")
    return {"calls": calls, "grads": [number(v.grad) for v in values]}


def graph(program, seed, closures):
    """Build the DAG with the student's operators; nodes listed in `closures` get the grader's
    _backward; walk it in reverse, calling each node's _backward once."""
    nodes, inputs = [], []
    for name, *rest in program:
        if name == "leaf":
            nodes.append(new_value(rest[0]))
            inputs.append([])
            continue
        if name == "pow":  # ["pow", i, exponent]
            refs, out = [rest[0]], apply_op(name, [nodes[rest[0]]], rest[1])
        else:  # [op, i] or [op, i, j] or [op, i, {"const": c}]
            refs = [r for r in rest if isinstance(r, int)]
            out = apply_op(name, [nodes[r] if isinstance(r, int) else r["const"] for r in rest])
        check_is_value(out, name)
        nodes.append(out)
        inputs.append(sorted(set(refs)))
    for index, weights in closures.items():
        node = nodes[int(index)]
        node._backward = grader_closure(node, [(nodes[i], w) for i, w in weights])
    steps = []
    nodes[-1].grad = seed
    for index in reversed(range(len(nodes))):
        if not inputs[index]:
            continue
        node = nodes[index]
        before = [number(nodes[i].grad) for i in inputs[index]]
        error = None
        try:
            node._backward()
        except BaseException as raised:
            error = vars(failure_from(raised))
        steps.append({"node": index, "out_grad": number(node.grad), "before": before,
                      "after": [number(nodes[i].grad) for i in inputs[index]], "error": error})
    return {"data": [number(n.data) for n in nodes], "steps": steps, "grads": [number(n.grad) for n in nodes]}


# ---------------------------------------------------------------- the network

def walk_parameters(mlp):
    """[(layer, neuron, role, Value)] read from the given Layer/Neuron structure."""
    found = []
    try:
        for i, layer in enumerate(mlp.layers):
            for j, neuron in enumerate(layer.neurons):
                found.extend((i, j, "w", w) for w in neuron.w)
                found.append((i, j, "b", neuron.b))
    except (AttributeError, TypeError) as error:
        raise Failure("missing", "could not find the network's weights: MLP must keep .layers, Layer .neurons "
                                 f"and Neuron .w and .b as in the given code ({safe_text(lambda e=error: e)})")
    return found


def describe(item, index_of):
    if isinstance(item, student.Value):
        return {"value": index_of.get(id(item), -1)}
    if isinstance(item, (list, tuple)):
        return {"nested": type_name(item), "length": len(item)}
    return {"other": type_name(item)}


def reachable(out):
    seen, stack = set(), [out]
    while stack and len(seen) < 100_000:
        node = stack.pop()
        if isinstance(node, student.Value) and id(node) not in seen:
            seen.add(id(node))
            stack.extend(getattr(node, "_prev", ()))
    return seen


def parameters(nin, nouts):
    need_mlp()
    model = student.MLP(nin, nouts)
    walk = walk_parameters(model)
    index_of = {id(v): n for n, (_, _, _, v) in enumerate(walk)}
    try:  # which weights the forward pass really uses; unknown if the forward pass fails
        out = model([0.5] * nin)
        used = reachable(out[0] if isinstance(out, list) and out else out)
    except Exception:
        used = None
    returned = model.parameters()
    description = {"type": type_name(returned)}
    if isinstance(returned, (list, tuple)):
        description["items"] = [describe(item, index_of) for item in list(returned)[:MAX_ITEMS]]
        description["length"] = len(returned)
    return {"walk": [[i, j, role] for i, j, role, _ in walk],
            "used": None if used is None else [id(v) in used for _, _, _, v in walk],
            "returned": description}


def train(nin, nouts, weights, xs, ys, learning_rate, steps):
    need_mlp()
    model = student.MLP(nin, nouts)
    walk = walk_parameters(model)
    if len(walk) != len(weights):
        raise Failure("bad_output", f"MLP({nin}, {nouts}) has {len(walk)} weights and biases, expected {len(weights)}")
    for (_, _, _, value), weight in zip(walk, weights):
        value.data = weight
    out = model(xs[0])
    check_is_value(out, f"MLP({nin}, {nouts})(x)")
    losses = lesson.train(model, xs, ys, learning_rate, steps)
    return {"losses": [number(loss) for loss in losses]}


HANDLERS = {"load": load, "op": op, "backward": backward, "graph": graph, "parameters": parameters, "train": train}


# ---------------------------------------------------------------- the loop

def handle(request):
    try:
        if request.get("v") != VERSION:
            raise Failure("bad_request", f"protocol version {request.get('v')!r}, expected {VERSION}")
        handler = HANDLERS.get(request.get("op"))
        if handler is None:
            raise Failure("bad_request", f"unknown operation {request.get('op')!r}")
        if request["op"] != "load" and student.Value is None:
            raise Failure("bad_request", "load must succeed before any other operation")
        value = handler(**request.get("args", {}))
        return {"v": VERSION, "id": request.get("id"), "ok": True, "value": value}
    except BaseException as error:  # student code may raise anything, even SystemExit
        return {"v": VERSION, "id": request.get("id"), "ok": False, "error": vars(failure_from(error))}


def take_over_stdio():
    """Keep private copies of stdin/stdout for the protocol; give student code stderr only."""
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)
    sys.stdout = sys.stderr
    return requests, replies


def main():
    requests, replies = take_over_stdio()
    for line in requests:
        try:
            request = json.loads(line)
        except ValueError:
            request = {"v": VERSION, "op": None}
        reply = handle(request if isinstance(request, dict) else {"v": VERSION, "op": None})
        try:
            text = json.dumps(reply, allow_nan=False)
        except (TypeError, ValueError) as error:
            text = json.dumps({"v": VERSION, "id": reply.get("id"), "ok": False,
                               "error": vars(Failure("bad_output", f"reply not serialisable: {error}"))})
        replies.write(text + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
