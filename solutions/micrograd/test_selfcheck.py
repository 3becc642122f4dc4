"""Self-checks for your micrograd. Run `pytest` in this folder (get it with `pip install pytest`).

Each test checks one piece that you write and, when it fails, says in one line what to
implement or fix next. Passing them is a good sign, not a grade: the grader tries many more
cases. Like the grader, they expect Python's standard library only.
"""
import ast
import math
import sys
from pathlib import Path

import pytest

from blanks import name_of_blank
from engine import Value
from nn import MLP

HERE = Path(__file__).resolve().parent
UPSTREAM = 2.0  # out.grad is not 1, so that a missing `* out.grad` shows
HELD = 0.5  # what an input's grad holds already, as if it were used elsewhere too: `=` for `+=` shows


def run(step):
    """Run step(); turn a blank `raise NotImplementedError()` into a clear message."""
    try:
        return step()
    except NotImplementedError as error:
        missing = name_of_blank(error)
    fail(f"not implemented yet: {missing}")  # outside `except`: no chained traceback


def fail(message):
    pytest.fail(message, pytrace=False)  # the message alone, on one line


def close(got, want):
    return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)


# The _backward of each op: one node, its own _backward called once ---------------------------

def check_backward_of(out, inputs, derivatives):
    """Call `out._backward()` once with out.grad = UPSTREAM and every input's grad = HELD;
    inputs is {name: Value}, derivatives {name: (the local derivative's value, its formula)}."""
    for value in inputs.values():
        value.grad = HELD
    out.grad = UPSTREAM
    run(out._backward)
    for name, value in inputs.items():
        slope, formula = derivatives[name]
        want = HELD + slope * UPSTREAM
        if not close(value.grad, want):
            fail(f"{name}.grad held {HELD} and out.grad is {UPSTREAM}, so it should gain {formula} * out.grad: "
                 f"expected {name}.grad = {want!r}, got {value.grad!r}{likely(value.grad, slope, name)}")


def likely(got, slope, name):
    """The mistake that gives exactly `got`, if one of the two most common ones does."""
    if close(got, slope * UPSTREAM):
        return f"; {name}.grad lost the {HELD} it held: gradients from several uses add up, so use `+=`, not `=`"
    if close(got, HELD + slope):
        return "; the factor out.grad is missing: the chain rule multiplies the local derivative by out.grad"
    if close(got, HELD):
        return f"; calling out._backward() left {name}.grad as it was"
    return ""


def test_add():
    a, b = Value(1.5), Value(-2.0)
    check_backward_of(a + b, {"a": a, "b": b}, {"a": (1.0, "d(a + b)/da = 1"), "b": (1.0, "d(a + b)/db = 1")})


def test_mul():
    a, b = Value(1.5), Value(-2.0)
    check_backward_of(a * b, {"a": a, "b": b}, {"a": (-2.0, "d(a * b)/da = b.data"),
                                               "b": (1.5, "d(a * b)/db = a.data")})


def test_pow():
    a = Value(1.5)
    check_backward_of(a ** 3, {"a": a}, {"a": (3 * 1.5 ** 2, "d(a ** 3)/da = 3 * a.data ** 2")})


def test_tanh():
    a = Value(0.5)
    out = a.tanh()
    check_backward_of(out, {"a": a}, {"a": (1 - math.tanh(0.5) ** 2, "d(a.tanh())/da = 1 - out.data ** 2")})


def test_exp():
    a = Value(0.5)
    check_backward_of(a.exp(), {"a": a}, {"a": (math.exp(0.5), "d(a.exp())/da = out.data")})


def test_relu():
    a, b = Value(1.5), Value(-1.5)
    check_backward_of(a.relu(), {"a": a}, {"a": (1.0, "d(a.relu())/da = 1 where a > 0")})
    check_backward_of(b.relu(), {"b": b}, {"b": (0.0, "d(b.relu())/db = 0 where b < 0")})


# backward(): graphs whose _backward functions are written here, so that only backward() counts -

class Graph:
    """Values whose _backward is written here, not by you, and notes each call: test_backward
    checks your backward() alone, whatever your ops' _backward do."""

    def __init__(self, **leaves):
        self.values = {name: Value(data) for name, data in leaves.items()}
        self.calls = []

    def node(self, name, data, slopes):
        """A Value named `name` made from the Values `slopes` names; its _backward passes
        slope * out.grad to each."""
        inputs = [(self.values[input_name], slope) for input_name, slope in slopes.items()]
        out = Value(data, tuple(value for value, _ in inputs))

        def _backward():
            self.calls.append(name)
            for value, slope in inputs:
                value.grad += slope * out.grad
        out._backward = _backward
        self.values[name] = out
        return out


def check_backward(graph, out, expected, expression):
    """Run out.backward() and compare what it did with a topological order's result."""
    run(out.backward)
    if not close(out.grad, 1.0):
        fail(f"{expression}: backward() must start by setting the output's own grad to 1, it is {out.grad!r}")
    inner = [name for name, value in graph.values.items() if value._prev]
    twice = [name for name in inner if graph.calls.count(name) > 1]
    if twice:
        fail(f"{expression}: the _backward of {twice[0]} ran {graph.calls.count(twice[0])} times; it must run "
             f"once, after every path to {twice[0]} has added to its grad: build a topological order (with a "
             "`visited` set, so each node enters it once) and call _backward walking it in reverse")
    missing = [name for name in inner if name not in graph.calls]
    if missing:
        fail(f"{expression}: the _backward of {missing[0]} never ran: backward() must call it for every node")
    for user in inner:
        for child in graph.values[user]._prev:
            early = next((name for name in inner if graph.values[name] is child), None)
            if early and graph.calls.index(early) < graph.calls.index(user):
                fail(f"{expression}: the _backward of {early} ran before that of {user}, which uses {early}: call "
                     "them in reverse topological order, each node after every node that uses it")
    for name, want in expected.items():
        if not close(graph.values[name].grad, want):
            fail(f"{expression}: expected {name}.grad = {want!r}, got {graph.values[name].grad!r}")


def test_backward():
    graph = Graph(a=2.0, b=-3.0)
    graph.node("c", -6.0, {"a": -3.0, "b": 2.0})  # c = a * b
    d = graph.node("d", -4.0, {"c": 1.0, "a": 1.0})  # d = c + a: a reaches d along two paths
    check_backward(graph, d, {"a": -2.0, "b": 2.0, "c": 1.0}, "d = a * b + a")


def test_backward_shared_node():
    graph = Graph(a=2.0, b=-3.0)
    graph.node("c", -6.0, {"a": -3.0, "b": 2.0})  # c = a * b, used twice below
    graph.node("e", -12.0, {"c": 2.0, "a": -6.0})  # e = c * a
    graph.node("f", -15.0, {"e": 1.0, "b": 1.0})  # f = e + b
    d = graph.node("d", -21.0, {"f": 1.0, "c": 1.0})  # d = f + c: c reaches d along two paths of unequal length
    check_backward(graph, d, {"c": 3.0, "a": -15.0, "b": 7.0}, "d = (c * a + b) + c, where c = a * b")


# MLP.parameters() ------------------------------------------------------------------------------

def test_parameters():
    model = MLP(3, [4, 4, 1])
    params = run(model.parameters)
    if not isinstance(params, list):
        fail(f"parameters() should return a list, got {type(params).__name__}")
    if not all(isinstance(p, Value) for p in params):
        fail("parameters() should return a flat list of Values, one per weight and bias")
    weights = {id(w) for layer in model.layers for neuron in layer.neurons for w in neuron.w}
    if len(params) == len(weights) and {id(p) for p in params} == weights:
        fail("parameters() returned the weights without the biases: each neuron's b is a parameter too")
    if len(params) != 41 or len({id(p) for p in params}) != 41:
        fail(f"MLP(3, [4, 4, 1]) has 41 parameters (4*3+4 + 4*4+4 + 1*4+1 weights and biases), each once; "
             f"parameters() returned {len(params)} items, {len({id(p) for p in params})} of them different")


# What the grader can import --------------------------------------------------------------------

def imported_modules(path):
    """The top-level names of the modules that a file imports (relative imports aside)."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.partition(".")[0]


# The modules of Python's standard library that the grader lets a submission use (and nothing
# outside the standard library: the grader has no numpy, torch or sympy).
ALLOWED_MODULES = {"__future__", "abc", "bisect", "collections", "copy", "dataclasses", "enum", "functools",
                   "graphlib", "heapq", "itertools", "json", "math", "numbers", "operator", "os", "pprint",
                   "random", "re", "statistics", "string", "sys", "textwrap", "time", "typing", "warnings"}


def check_standard_library_only(file):
    if not hasattr(sys, "stdlib_module_names"):
        pytest.skip("this Python (before 3.10) cannot list its standard library")
    own = {path.stem for path in HERE.glob("*.py")} | {path.name for path in HERE.iterdir() if path.is_dir()}
    imported = set(imported_modules(HERE / file)) - own
    outside = sorted(imported - set(sys.stdlib_module_names))
    if outside:
        fail(f"{file} imports {', '.join(outside)}, which the grader does not have: it runs your files with "
             "Python's standard library only, so the import fails there and every part that needs it scores 0; "
             "`math` and plain floats do all the exercise needs")
    refused = sorted(imported - ALLOWED_MODULES - set(outside))
    if refused:
        fail(f"{file} imports {', '.join(refused)}, which no part of this exercise needs: the grader does not grade "
             f"code that uses it (the parts it reaches score 0); a submission may use "
             f"{', '.join(sorted(ALLOWED_MODULES - {'__future__'}))}")


def test_engine_imports_the_standard_library_only():
    check_standard_library_only("engine.py")


def test_nn_imports_the_standard_library_only():
    check_standard_library_only("nn.py")
