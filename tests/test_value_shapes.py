"""Every honest shape of Value: the worker builds graph nodes the way the submission does.

Real code takes a node's inputs under many names and at many positions of its constructor (a
@dataclass's fields, `Value(data, label, _prev, _op)`, keyword-only `parents`, `*children`), keeps
them in any collection, or sets them after construction. The worker's probes run here, in this
process, on such classes (trusted test code standing in for a submission): each must pass the
backward() check on every fixed graph, with its inputs met in the grader's order.
"""
from collections import deque
from dataclasses import dataclass

import pytest

from autograder.grading.session import casebook, run_rehearsed
from autograder.sandbox.student import ReferenceTransport, StudentCode
from autograder.worker import handed, probes


class Engine:
    """The lecture's `+` and backward(), over however a shape makes a node and keeps its inputs."""

    def __add__(self, other):
        out = self.node(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v.inputs():
                    build(child)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


class Lecture(Engine):
    def __init__(self, data, _children=(), _op='', label=''):
        self.data, self.grad, self._backward, self._prev = data, 0.0, lambda: None, set(_children)

    def node(self, data, children):
        return Lecture(data, children)

    def inputs(self):
        return self._prev


@dataclass(eq=False)
class Fields(Engine):
    data: float
    grad: float = 0.0
    _backward: object = lambda: None
    _prev: set = frozenset()
    _op: str = ''

    def node(self, data, children):
        return Fields(data, _prev=set(children), _op='+')

    def inputs(self):
        return self._prev


class LabelFirst(Engine):
    def __init__(self, data, label='', _prev=None, _op=''):
        self.data, self.label, self.grad, self._backward = data, label, 0.0, lambda: None
        self._prev = list(_prev) if _prev else []

    def node(self, data, children):
        return LabelFirst(data, '', list(children), '+')

    def inputs(self):
        return self._prev


class KeywordOnly(Engine):
    def __init__(self, data, *, parents=()):
        self.data, self.grad, self._backward, self._parents = data, 0.0, lambda: None, frozenset(parents)

    def node(self, data, children):
        return KeywordOnly(data, parents=children)

    def inputs(self):
        return self._parents


class StarChildren(Engine):
    __slots__ = ("data", "grad", "_backward", "children")

    def __init__(self, data, *children):
        self.data, self.grad, self._backward, self.children = data, 0.0, lambda: None, deque(children)

    def node(self, data, children):
        return StarChildren(data, *children)

    def inputs(self):
        return self.children


class KeptInADict(Engine):
    def __init__(self, data, inputs=()):
        self.data, self.grad, self._backward, self._prev = data, 0.0, lambda: None, dict.fromkeys(inputs, "+")

    def node(self, data, children):
        return KeptInADict(data, children)

    def inputs(self):
        return self._prev


class SetAfterwards(Engine):
    """A constructor that takes the data only: `+` gives the new node its inputs afterwards."""

    def __init__(self, data):
        self.data, self.grad, self._backward, self.sources = data, 0.0, lambda: None, ()

    def node(self, data, children):
        out = SetAfterwards(data)
        out.sources = tuple(children)
        return out

    def inputs(self):
        return self.sources


SHAPES = [Lecture, Fields, LabelFirst, KeywordOnly, StarChildren, KeptInADict, SetAfterwards]


@pytest.mark.parametrize("shape, parameter", [
    (Lecture, ("_children", 1, "positional")),
    (Fields, ("_prev", 3, "positional")),  # the dataclass's generated __init__
    (LabelFirst, ("_prev", 2, "positional")),
    (KeywordOnly, ("parents", None, "keyword")),
    (StarChildren, ("children", 1, "star")),
    (KeptInADict, ("inputs", 1, "positional")),
    (SetAfterwards, None),
])
def test_the_parameter_for_the_inputs_is_found_by_name_at_any_position(shape, parameter):
    assert probes.children_parameter(shape.__init__) == parameter


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.__name__)
def test_every_shape_passes_the_backward_part(shape):
    """Every check of the part, fixed and generated graphs, as grading runs them."""
    student = StudentCode(ReferenceTransport(probes.Probes(shape)))
    failures = {r.check.name: run_rehearsed(r, student) for r in casebook().part("backward")}
    assert {name: error for name, error in failures.items() if error is not None} == {}


@pytest.mark.parametrize("shape, attribute, kind", [
    (Lecture, "_prev", probes.handed.OrderedPrev), (Fields, "_prev", tuple), (LabelFirst, "_prev", list),
    (KeywordOnly, "_parents", probes.handed.OrderedFrozenPrev), (StarChildren, "children", deque),
    (KeptInADict, "_prev", dict), (SetAfterwards, "sources", tuple),
])
def test_a_nodes_inputs_are_met_in_the_graders_order_in_their_own_type(shape, attribute, kind):
    children = [shape(float(x)) for x in (3, 1, 2, 5, 4)]
    node = probes.Probes(shape).new_value(0.5, children)
    kept = getattr(node, attribute)
    assert type(kept) is kind and all(a is b for a, b in zip(kept, children)) and len(kept) == len(children)


def test_a_dict_keeps_what_it_held_for_each_input():
    children = [KeptInADict(1.0), KeptInADict(2.0)]
    assert list(probes.Probes(KeptInADict).new_value(0.5, children[::-1])._prev.values()) == ["+", "+"]


class Unreadable(Engine):
    """Keeps its inputs nowhere the grader can see."""

    def __init__(self, data):
        self.data, self.grad, self._backward = data, 0.0, lambda: None

    def node(self, data, children):
        return Unreadable(data)


def test_a_shape_that_cannot_be_told_fails_with_a_reason():
    with pytest.raises(probes.Failure) as raised:
        probes.Probes(Unreadable).new_value(0.5, [Unreadable(1.0), Unreadable(2.0)])
    assert raised.value.kind == "bad_output"
    assert raised.value.message.startswith("the grader could not tell where a Value keeps its inputs")


@pytest.mark.parametrize("shape", [KeywordOnly, Fields], ids=lambda shape: shape.__name__)
def test_creation_order_puts_a_set_of_inputs_in_the_constructors_order(shape):
    """Training builds the nodes with the submission's own operators: their sets of inputs iterate in the
    order the constructor got them (a sequence), or else in the order the inputs were made."""
    parameter = probes.children_parameter(shape.__init__)
    with handed.creation_order(shape, parameter, probes.Children(shape).attribute_names()):
        made = [shape(float(x)) for x in range(6)]
        node = shape.node(made[0], 0.0, made[::-1])  # a sequence for KeywordOnly, a set for Fields
    expected = made[::-1] if shape is KeywordOnly else made
    assert all(a is b for a, b in zip(node.inputs(), expected))
