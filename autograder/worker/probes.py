"""The probes: everything the worker does with a submission's classes, one function per request.

Standard library only. The worker runs these on the student's `Value` and `MLP` inside the
sandbox; the grader runs the very same code on the reference engine in its own process, to
learn which requests its checks will make (see autograder/grading/casebook.py). Every value
going back is plain data: numbers pass through `number()`, text through `safe_text()`.
"""
import builtins
import importlib
import importlib.util
import operator
import os
import random
import sys
from math import isinf, isnan
from types import CodeType

__builtins__ = dict(vars(builtins))  # the functions below keep the real builtins whatever student code patches

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_NAMES = 200
MAX_MESSAGE = 500
MAX_ITEMS = 10_000


def sibling(name):
    """A module of this folder, loaded privately: not in sys.modules, so student code cannot find it."""
    spec = importlib.util.spec_from_file_location(f"_worker_{name}", os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


handed = sibling("handed")
lesson = sibling("lesson")


class Failure(Exception):
    """A reason to reply with an error of a given kind (the kinds are listed in main.py)."""

    def __init__(self, kind, message, type_="", where=""):
        super().__init__(message)
        self.kind, self.message, self.type, self.where = kind, message, type_, where

    def as_data(self):
        return {"kind": self.kind, "message": self.message, "type": self.type, "where": self.where}


# ---------------------------------------------------------------- plain data out

def number(x):
    """A student-produced number as JSON-safe data; anything odd is marked invalid."""
    if type(x) is bool:
        return {"invalid": f"a bool ({x})"}
    if type(x) is int:
        return float(x) if abs(x) < 2 ** 1000 else {"invalid": "an int too large for a float"}
    if type(x) is float:
        if isnan(x):
            return {"invalid": "NaN"}
        if isinf(x):
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
        text = str.__str__(str(get()))  # an exact str, even if __str__ returned a subclass
    except BaseException:
        return "<unprintable>"
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


class Submission:
    """Where the submission lives, to tell student frames from others in a traceback."""
    root = os.getcwd()


def where_in_submission(tb):
    """'engine.py, line 42, in _backward' for the deepest frame of student code."""
    found = ""
    while tb is not None:
        code = tb.tb_frame.f_code
        path = in_submission(code.co_filename)
        if path:
            found = f"{path}, line {tb.tb_lineno}, in {code.co_name}"
        tb = tb.tb_next
    return found


def in_submission(filename):
    """A file's path relative to the submission, or "" for one outside it (or `<frozen ...>`)."""
    if type(filename) is not str or filename.startswith("<"):
        return ""
    path = os.path.abspath(filename)
    return os.path.relpath(path, Submission.root) if path.startswith(Submission.root + os.sep) else ""


def failure_from(error, kind="student"):
    if isinstance(error, Failure):
        return error
    if isinstance(error, NotImplementedError):
        kind = "not_implemented"
    message = safe_text(lambda: error)
    if isinstance(error, SyntaxError):
        return syntax_failure(error, kind)
    if isinstance(error, (SystemExit, KeyboardInterrupt)):
        message = f"{type_name(error)} raised: student code may not exit or interrupt the grader"
    if isinstance(error, RecursionError):
        message = "maximum recursion depth exceeded (a recursive function that never stops, or a very deep graph)"
    return Failure(kind, message, type_name(error), where_in_submission(error.__traceback__))


def syntax_failure(error, kind):
    """A file Python cannot read: where in the submission, and which Python read it (a student on a
    newer one may be writing syntax it does not know)."""
    file = in_submission(error.filename) or os.path.basename(safe_text(lambda: error.filename or "?"))
    where = f"{file}, line {error.lineno}"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    message = (f"{where}: {safe_text(lambda: error.msg)} (grading runs Python {version}; syntax that only a later "
               "Python accepts fails here)")
    return Failure(kind, message, type_name(error), where)


# ---------------------------------------------------------------- load

def load(layout, root, imports=("engine", "nn")):
    """Import engine.py, and nn.py if `imports` says so, from the submission; (Probes, the load reply)."""
    Submission.root = os.path.abspath(root)
    sys.path.insert(0, os.path.dirname(Submission.root) if layout == "package" else Submission.root)
    prefix = os.path.basename(Submission.root) + "." if layout == "package" else ""
    try:
        engine = importlib.import_module(prefix + "engine")
    except BaseException as error:
        raise failure_from(error, "load")
    value_class = getattr(engine, "Value", None)
    if not isinstance(value_class, type):
        raise Failure("missing", "engine.py defines no class named Value", "", "engine.py")
    nn_failure, nn = None, None
    if "nn" in imports:
        try:
            nn = importlib.import_module(prefix + "nn")
        except BaseException as error:
            nn_failure = failure_from(error, "load")
    network = {name: getattr(nn, name, None) or getattr(engine, name, None) for name in ("MLP", "Layer", "Neuron")}
    mlp_class = network["MLP"]
    reply = {
        "value_attributes": public_names(value_class),
        "instance_attributes": instance_names(value_class),
        "engine_names": public_names(engine),
        **{f"{name.lower()}_attributes": public_names(cls) if isinstance(cls, type) else []
           for name, cls in network.items()},
        "nn_loaded": "nn" in imports and nn_failure is None,
        "nn_error": None if nn_failure is None else nn_failure.as_data(),
    }
    return Probes(value_class, mlp_class, nn_failure), reply


def instance_names(value_class):
    """The attribute names of a new Value of its own (`grad`, `_prev`, ...): evidence for a did-you-mean."""
    try:
        return list(attributes(value_class(1.0)))[:MAX_NAMES]
    except BaseException:
        return []


def public_names(obj):
    """The attribute names of obj, minus those every object has."""
    try:
        names = [str.__str__(str(n))[:60] for n in dir(obj) if n not in dir(object)]
    except BaseException:
        return []
    return names[:MAX_NAMES]


# ---------------------------------------------------------------- the probes

# An op comes with its method name and kind ("binary", "unary" or "power": a constant exponent);
# the exercise's list of ops is the grader's (autograder/exercise.py), never the worker's.
KINDS = ("binary", "unary", "power")
OPERATORS = {name: function for name, function in vars(operator).items()  # __add__, __pow__, ...: what `a + b` calls
             if name.startswith("__") and type(function) is type(len)}
MISSING = object()


def code_of(function):
    """The code object of a function or method, or None."""
    try:
        code = getattr(function, "__code__", None)
    except Exception:
        return None
    return code if type(code) is CodeType else None


def attributes(obj):
    """{name: value} of an object's own attributes (its __dict__ and its slots), bounded."""
    try:
        own = getattr(obj, "__dict__", None)
        names = list(own) if type(own) is dict else []
        for cls in type(obj).__mro__:
            slots = cls.__dict__.get("__slots__", ())
            names += [slots] if type(slots) is str else [n for n in slots if n not in ("__dict__", "__weakref__")]
        return {str.__str__(n)[:60]: getattr(obj, n, MISSING) for n in names[:50] if type(n) is str}
    except Exception:
        return {}


def grader_sets(value, attribute, number, explain):
    """value.<attribute> = number, a step of the grader's own: if it fails outside student code,
    `explain(failure)` says so without blaming student code for the grader's step."""
    try:
        setattr(value, attribute, number)
    except Exception as error:
        failure = failure_from(error)
        if failure.where:  # student code (a property, a __setattr__) raised
            raise failure
        raise Failure("bad_output", explain(failure))


def set_grad(value, grad):
    grader_sets(value, "grad", grad, lambda failure: (
        f"the grader could not set a Value's `.grad` ({failure.type}: {failure.message}): the exercise keeps "
        "each gradient in `.grad`, as the given Value.__init__ does"))


def inputs_of(value, attribute="_prev"):
    """The nodes in value.<attribute> (a set, tuple or list), or None if it has none to read."""
    try:
        prev = getattr(value, attribute, None)
        return None if prev is None else list(iter(prev))[:1000]
    except Exception:
        return None


def unwrapped(function):
    """The function a decorator (functools.wraps) wrapped, a few levels deep."""
    for _ in range(5):
        inner = getattr(function, "__wrapped__", None)
        if inner is None:
            break
        function = inner
    return function


def assigns_backward_inside(method):
    """Whether a function nested in `method` (its inner _backward) sets an attribute `_backward`
    itself: `out._backward = _backward` indented into the function it attaches."""
    code = code_of(unwrapped(method))
    nested = [c for c in code.co_consts if type(c) is CodeType] if code is not None else []
    for _ in range(4):
        if any("_backward" in c.co_names for c in nested):
            return True
        nested = [c for n in nested for c in n.co_consts if type(c) is CodeType]
    return False


# ---------------------------------------------------------------- how a Value keeps its inputs

# Names of the constructor parameter that takes a node's inputs, without underscores and case
CHILDREN_NAMES = frozenset({"children", "child", "childs", "kids", "prev", "previous", "parents", "parent", "inputs",
                            "operands", "sources", "srcs", "deps", "dependencies", "predecessors", "preds",
                            "ancestors", "nodes"})
VARARGS = 0x04  # the code flag of a function that takes *args (inspect.CO_VARARGS)


def children_parameter(init):
    """(name, position, kind) of the parameter of a Value's `__init__` that takes a node's
    inputs, found by its name; position counts the parameters after self; kind is "positional",
    "keyword" (keyword-only) or "star" (*children). None when no parameter has such a name.
    Read from the code object, as a @dataclass's generated __init__ has one too."""
    code = code_of(unwrapped(init))
    if code is None:
        return None
    names, count = code.co_varnames, code.co_argcount
    for position, name in enumerate(names[2:count], start=1):  # after self and data
        if is_children_name(name):
            return None if position < code.co_posonlyargcount else (name, position, "positional")
    star = names[count + code.co_kwonlyargcount] if code.co_flags & VARARGS else None
    if star is not None and is_children_name(star):
        return star, count - 1, "star"
    keyword = [name for name in names[count:count + code.co_kwonlyargcount] if is_children_name(name)]
    return (keyword[0], None, "keyword") if keyword else None


def is_children_name(name):
    return type(name) is str and name.replace("_", "").lower() in CHILDREN_NAMES


def holds_all(kept, items):
    """Whether `kept` is a collection (of a type handed.KEPT lists) of `items` and nothing else,
    each of them present, by identity."""
    if type(kept) not in handed.KEPT:
        return False
    members = list(kept)
    return all(any(m is item for item in items) for m in members) and \
        all(any(m is item for m in members) for item in items)


class Children:
    """How the submission's Value keeps a node's inputs, learned once: the constructor's own
    parameter for them where its signature names one (`_children`, `_prev`, `parents`, ... at any
    position), and the attributes it keeps them in, of whatever collection type. Where the
    signature tells nothing, a node built by the submission's own `+` (or `*`) shows the
    attributes, and nodes are built as leaves that are given their inputs there."""

    def __init__(self, value_class):
        self.Value = value_class
        self.parameter = children_parameter(getattr(value_class, "__init__", None))
        self.built_by_constructor = False
        self._kept = None  # [(attribute, collection type)], once learned

    def kept(self):
        """[(attribute name, collection type)] where a node keeps its inputs."""
        if self._kept is None:
            try:
                self._kept = self._learn()
            except Failure as failure:
                self._kept = failure
        if isinstance(self._kept, Failure):
            raise self._kept
        return self._kept

    def attribute_names(self):
        """The attributes that hold a node's inputs, or `_prev` if that cannot be learned."""
        try:
            return [name for name, _ in self.kept()] or ["_prev"]
        except Exception:
            return ["_prev"]

    def inputs(self, value):
        """The nodes `value` keeps as its inputs, or None if it has none to read."""
        for name in self.attribute_names():
            found = inputs_of(value, name)
            if found is not None:
                return found
        return None

    def _learn(self):
        a, b = self.Value(2.0), self.Value(3.0)
        builds = (lambda: a + b, lambda: a * b)
        if self.parameter is not None:
            builds = (lambda: self._construct(5.0, (a, b)), *builds)
        for n, build in enumerate(builds):
            try:
                kept = kept_in(build(), (a, b))
            except Exception:
                continue
            if kept:
                self.built_by_constructor = self.parameter is not None and n == 0
                return kept
        raise Failure("bad_output", "the grader could not tell where a Value keeps its inputs: neither a node made "
                                    "with them (by the parameter of Value.__init__ for them, `_children` in the given "
                                    "code) nor `a + b` keeps a and b in a set, list or tuple (the given code keeps "
                                    "them in `_prev`)")

    def _construct(self, x, children):
        name, _, kind = self.parameter
        if kind == "star":
            return self.Value(x, *children)
        return self.Value(x, **{name: tuple(children)})

    def build(self, x, children):
        """A node holding `x` whose inputs are `children`, kept in the grader's order."""
        kept = self.kept()
        if self.built_by_constructor:
            value = self._construct(x, children)
            for name, _ in kept:
                ordered = handed.in_order(getattr(value, name, None), list(children))
                if ordered is not None:
                    setattr(value, name, ordered)
            return value
        value = self.Value(x)
        for name, kind in kept:
            setattr(value, name, handed.as_kind(kind, list(children)))
        return value


def kept_in(node, items):
    """[(attribute, collection type)] of `node`'s attributes that hold exactly `items`."""
    return [(name, type(kept)) for name, kept in attributes(node).items() if holds_all(kept, items)]


class Probes:
    """The requests a worker answers, on one submission's (or the reference's) classes."""

    def __init__(self, value_class, mlp_class=None, nn_failure=None):
        self.Value, self.MLP, self.nn_failure = value_class, mlp_class, nn_failure
        self.children = Children(value_class)

    def handlers(self):
        return {"op": self.op, "backward": self.backward, "graph": self.graph, "parameters": self.parameters,
                "train": self.train, "anatomy": self.anatomy, "forward": self.forward}

    # -- building blocks

    def need_value_method(self, name):
        if not callable(getattr(self.Value, name, None)):
            raise Failure("missing", f"Value has no method {name}")

    def need_mlp(self):
        if not isinstance(self.MLP, type):
            raise self.nn_failure or Failure("missing", "no class named MLP (expected in nn.py)")

    def new_value(self, x, children=()):
        return self.children.build(x, children) if children else self.Value(x)

    def check_is_value(self, out, what):
        if not isinstance(out, self.Value):
            raise Failure("bad_output", f"{what} returned a {type_name(out)}, not a Value")

    def apply_op(self, method, kind, operands, exponent=None):
        """Build one node with the student's own method: a binary or power dunder through the
        operator module, exactly as `a + b` or `a ** k` (Python's reflected fallback included),
        any other method called on the first operand (`a.tanh()`, `a.max(b)`)."""
        if kind not in KINDS or type(method) is not str:
            raise Failure("bad_request", f"unknown op: method {method!r} of kind {kind!r}")
        self.need_value_method(method)
        a, *other = [operands[0], exponent] if kind == "power" else operands
        if kind != "unary" and method in OPERATORS:
            return OPERATORS[method](a, *other)
        return getattr(a, method)(*other)

    # -- one primitive op, one node

    def op(self, op, method, kind, leaves, leaf_grads, operands, upstream, exponent=None):
        """`op` names the op (the rubric part) in messages; `method` and `kind` say how to build it."""
        values = [self.new_value(x) for x in leaves]
        for value, grad in zip(values, leaf_grads):
            set_grad(value, grad)
        args = [values[i] if type(i) is int else i["const"] for i in operands]
        out = self.apply_op(method, kind, args, exponent)
        self.check_is_value(out, op)
        set_grad(out, upstream)
        backward_fn = out._backward
        if not callable(backward_fn):
            what = "None" if backward_fn is None else f"a {type_name(backward_fn)}"
            same = getattr(self.new_value(0.0), "_backward", 0) is None and backward_fn is None
            raise Failure("bad_output", f"{op}: out._backward is {what}" + (", as in every new Value" if same else "")
                          + ", not a function: the op never attaches its own `_backward`, which passes out.grad on "
                            "to the inputs (`out._backward = _backward`)")
        backward_fn()
        grads = [number(v.grad) for v in values]
        return {"out": number(out.data), "leaf_grads": grads, "changed": grads != [number(g) for g in leaf_grads]}

    # -- why an op's _backward changed no gradient: evidence for the diagnosis, never for a score

    def anatomy(self, op, method, kind, leaves, leaf_grads, operands, upstream, exponent=None):
        """The op request's node taken apart: where `out._backward` comes from, whether the inputs
        are out's direct inputs, what calling `out._backward()` once returned and which attributes
        of the inputs it wrote (other than .grad)."""
        values = [self.new_value(x) for x in leaves]
        for value, grad in zip(values, leaf_grads):
            set_grad(value, grad)
        default = code_of(getattr(self.new_value(0.0), "_backward", None))
        out = self.apply_op(method, kind, [values[i] if type(i) is int else i["const"] for i in operands], exponent)
        self.check_is_value(out, op)
        backward_fn = getattr(out, "_backward", None)
        attached = code_of(backward_fn)
        inputs = self.children.inputs(out)
        before = [attributes(v) for v in values]
        set_grad(out, upstream)
        returned = backward_fn() if callable(backward_fn) else None
        return {
            "default_origin": safe_text(lambda: getattr(self.new_value(0.0)._backward, "__qualname__", "")),
            "attached_is_default": attached is not None and attached is default,
            "other_functions": [name for name, v in attributes(out).items()
                                if name != "_backward" and code_of(v) not in (None, default)][:10],
            "inputs_rehooked": [code_of(getattr(v, "_backward", None)) not in (None, default) for v in values],
            "hook_inside": assigns_backward_inside(getattr(self.Value, method, None)),
            "out_op": safe_text(lambda: out._op)[:20] if type(getattr(out, "_op", None)) is str else "",
            "direct_inputs": None if inputs is None else [any(v is x for x in inputs) for v in values],
            "returned": None if returned is None else number(returned),
            "written": [sorted(name for name, now in attributes(v).items()
                               if name != "grad" and now is not old.get(name, MISSING))[:10]
                        for v, old in zip(values, before)],
        }

    # -- Value.backward() on a graph of the grader's closures

    def backward(self, nodes, root):
        """Nodes come in any order (the grader shuffles them); each lists its inputs by index, and
        may hold a gradient left from an earlier backward() ("grad", set before this one runs)."""
        self.need_value_method("backward")
        self._scramble_addresses(len(nodes))
        values = [None] * len(nodes)
        for index in range(len(nodes)):
            self._build_backward_node(nodes, values, index)
        if not all(hasattr(value, "grad") for value in values):
            raise Failure("bad_output", "a new Value has no attribute `grad`: the exercise keeps each gradient in "
                                        "`.grad`, which the given Value.__init__ sets (`self.grad = 0.0`)")
        for node, value in zip(nodes, values):
            if node.get("grad"):
                set_grad(value, node["grad"])
        log = handed.CallLog(10 * len(values) + 10)
        for index, value in enumerate(values):
            inputs = [(values[i], w) for i, w in nodes[index]["inputs"]]
            value._backward = handed.grader_closure(value, inputs, log.recorder(index))
        try:
            values[root].backward()
        except handed.Runaway:
            raise Failure("student", f"backward() called _backward more than {log.limit} times on a graph of "
                                     f"{len(values)} nodes", "Runaway")
        finally:
            log.open = False
        return {"calls": list(log.calls), "grads": [number(v.grad) for v in values],
                "equal_by_data": self.equal_by_data()}

    def equal_by_data(self):
        """Whether two new Values holding the same number compare equal (then a set or `in` takes
        them for one): evidence for feedback, never for a score."""
        try:
            same = self.Value(1.0) == self.Value(1.0)
        except Exception:
            return False
        return type(same) is bool and same

    def _scramble_addresses(self, count):
        """Make and drop `count` Values in a shuffled order, so that the nodes built next get memory
        addresses in no particular order: sorting nodes by id() is then no topological sort."""
        spare = [self.new_value(0.0) for _ in range(count)]
        order = list(range(count))
        random.Random(count).shuffle(order)
        for index in order:
            spare[index] = None

    def _build_backward_node(self, nodes, values, index):
        """values[index], built after its inputs (iteratively: graphs may be deep)."""
        stack = [index]
        while stack:
            i = stack[-1]
            if values[i] is not None:
                stack.pop()
                continue
            missing = [j for j, _ in nodes[i]["inputs"] if values[j] is None]
            if missing:
                stack.extend(missing)
                continue
            values[i] = self.new_value(nodes[i]["data"], [values[j] for j, _ in nodes[i]["inputs"]])
            stack.pop()

    # -- one op's _backward inside a DAG, the grader walking it

    def graph(self, program, seed, closures, method, kind):
        """Build the DAG: ["leaf", x] and ["node", data, [inputs]] with the plain constructor, the op
        under test (its `method` and `kind` as for `op`) with the student's operator; nodes listed in
        `closures` get the grader's _backward. Then walk it in reverse, calling each node's _backward once."""
        nodes, inputs = [], []
        for name, *rest in program:
            if name == "leaf":
                refs, out = [], self.new_value(rest[0])
            elif name == "node":  # ["node", data, [input indices]]
                refs = list(rest[1])
                out = self.new_value(rest[0], [nodes[r] for r in refs])
            elif kind == "power":  # [op, i, exponent]
                refs, out = [rest[0]], self.apply_op(method, kind, [nodes[rest[0]]], rest[1])
            else:  # [op, i] or [op, i, j] or [op, i, {"const": c}]
                refs = [r for r in rest if type(r) is int]
                out = self.apply_op(method, kind, [nodes[r] if type(r) is int else r["const"] for r in rest])
            self.check_is_value(out, name)
            nodes.append(out)
            inputs.append(sorted(set(refs)))
        for index, weights in closures.items():
            node = nodes[int(index)]
            node._backward = handed.grader_closure(node, [(nodes[i], w) for i, w in weights])
        steps = []
        set_grad(nodes[-1], seed)
        for index in reversed(range(len(nodes))):
            if not inputs[index]:
                continue
            node = nodes[index]
            before = [number(nodes[i].grad) for i in inputs[index]]
            error = None
            try:
                node._backward()
            except BaseException as raised:
                error = failure_from(raised).as_data()
            steps.append({"node": index, "out_grad": number(node.grad), "before": before,
                          "after": [number(nodes[i].grad) for i in inputs[index]], "error": error})
        return {"data": [number(n.data) for n in nodes], "steps": steps, "grads": [number(n.grad) for n in nodes]}

    # -- the network

    def walk_parameters(self, mlp):
        """[(layer, neuron, role, Value)] read from the given Layer/Neuron structure."""
        found = []
        try:
            for i, layer in enumerate(mlp.layers):
                for j, neuron in enumerate(layer.neurons):
                    own = [(i, j, "w", w) for w in neuron.w] + [(i, j, "b", neuron.b)]
                    self.need_values(neuron, own)
                    found += own
        except (AttributeError, TypeError) as error:
            raise Failure("missing", "could not find the network's weights: MLP must keep .layers, Layer .neurons "
                                     f"and Neuron .w and .b as in the given code ({safe_text(lambda e=error: e)})")
        return found

    def need_values(self, neuron, own):
        """Every weight and bias of a neuron must be a Value, or nothing can train it: say which is not."""
        for n, (i, j, role, item) in enumerate(own):
            if not isinstance(item, self.Value):
                index = f"[{n}]" if role == "w" else ""
                raise Failure("bad_output", f"{type_name(neuron)}.{role}{index} is a {type_name(item)}, not a Value "
                                            f"(in layers[{i}].neurons[{j}]): every weight and bias must be a Value, "
                                            "as the given Neuron makes them, so that backward() gives it a gradient "
                                            "and training can update it")

    def network_with(self, nin, nouts, weights):
        """MLP(nin, nouts) with every weight and bias set to `weights` (in walk order)."""
        self.need_mlp()
        model = self.MLP(nin, nouts)
        walk = self.walk_parameters(model)
        if len(walk) != len(weights):
            raise Failure("bad_output", f"MLP({nin}, {nouts}) has {len(walk)} weights and biases, "
                                        f"expected {len(weights)}")
        for (i, j, role, value), weight in zip(walk, weights):
            grader_sets(value, "data", weight, lambda failure: (
                f"the grader could not set the weights of MLP({nin}, {nouts}): setting "
                f"layers[{i}].neurons[{j}].{role}.data raised {failure.type}: {failure.message}"))
        return model

    def describe(self, item, index_of):
        if isinstance(item, self.Value):
            return {"value": index_of.get(id(item), -1)}
        if isinstance(item, (list, tuple)):
            return {"nested": type_name(item), "length": len(item)}
        return {"other": type_name(item)}

    def reachable(self, out):
        seen, stack = set(), [out]
        while stack and len(seen) < 100_000:
            node = stack.pop()
            if isinstance(node, self.Value) and id(node) not in seen:
                seen.add(id(node))
                stack.extend(self.children.inputs(node) or ())
        return seen

    def parameters(self, nin, nouts):
        self.need_mlp()
        model = self.MLP(nin, nouts)
        walk = self.walk_parameters(model)
        index_of = {id(v): n for n, (_, _, _, v) in enumerate(walk)}
        try:  # which weights the forward pass really uses; unknown if the forward pass fails
            out = model([0.5] * nin)
            used = self.reachable(out[0] if isinstance(out, list) and out else out)
        except Exception:
            used = None
        returned = model.parameters()
        description = {"type": type_name(returned)}
        if isinstance(returned, (list, tuple)):
            description["items"] = [self.describe(item, index_of) for item in list(returned)[:MAX_ITEMS]]
            description["length"] = len(returned)
        return {"walk": [[i, j, role] for i, j, role, _ in walk],
                "used": None if used is None else [id(v) in used for _, _, _, v in walk],
                "returned": description}

    def train(self, nin, nouts, weights, xs, ys, learning_rate, steps):
        names = self.children.attribute_names()
        with handed.creation_order(self.Value, self.children.parameter, names):  # the same order on every machine
            model = self.network_with(nin, nouts, weights)
            out = model(xs[0])
            self.check_is_value(out, f"MLP({nin}, {nouts})(x)")
            try:
                losses = lesson.train(model, xs, ys, learning_rate, steps)
            except BaseException as error:
                failure = failure_from(error)
                if failure.where or failure.kind != "student":
                    raise failure
                raise Failure("bad_output", f"training failed with {failure.type}: {failure.message}, raised by the "
                                            "lesson's training loop itself (`loss = sum((yout - ygt) ** 2 ...)`, "
                                            "`p.grad = 0.0`, `loss.backward()`, `p.data -= learning_rate * p.grad`) "
                                            "on what your network and its parameters() gave it")
        return {"losses": [number(loss) for loss in losses]}

    def forward(self, nin, nouts, weights, xs):
        """The outputs of MLP(nin, nouts) with the given weights on each input of `xs`: evidence for
        naming how a network differs from the lecture's."""
        model = self.network_with(nin, nouts, weights)
        outputs = [model(x) for x in xs]
        return {"outputs": [number(out.data) if isinstance(out, self.Value) else number(out) for out in outputs]}
