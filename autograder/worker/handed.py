"""What the worker hands to student code: the grader's `_backward` closures and `_prev` sets.

Student code holds these objects, so it can reach whatever they reach (a function's
`__globals__`, its closure cells). This module therefore holds nothing but them: the worker
loads it privately, and nothing here leads back to the worker's requests or handlers.
Standard library only.
"""
from contextlib import contextmanager


class Runaway(Exception):
    """backward() called far more _backward closures than the graph has nodes."""


class OrderedPrev(set):
    """A set that iterates in the order the grader chose, so a student's backward() sees the
    same order on every run and every machine (a plain set of Values iterates in memory-address
    order)."""
    __slots__ = ("_order",)

    def __init__(self, items):
        super().__init__(items)
        self._order = tuple(dict.fromkeys(items))

    def __iter__(self):
        return iter(self._order)


def grader_closure(node, inputs, on_call=None):
    """A _backward written by the grader: adds weight * node.grad to each (input, weight)."""
    def _backward():
        if on_call is not None:
            on_call()
        for child, weight in inputs:
            child.grad += weight * node.grad
    return _backward


def call_recorder(calls, index, limit):
    """Records that node `index`'s _backward ran; stops a backward() that never ends."""
    def record():
        calls.append(index)
        if len(calls) > limit:
            raise Runaway()
    return record


@contextmanager
def creation_order(value_class):
    """While active, each new Value's `_prev` set iterates its inputs in a fixed order: the order
    its constructor got them, or else the order they were created in. An order-dependent
    backward() then behaves the same on every machine."""
    own_init = value_class.__dict__.get("__init__")
    init = value_class.__init__
    born = {}  # value -> creation number

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        born[self] = len(born)  # keyed by the value itself: id() would raise an audit event each time
        prev = getattr(self, "_prev", None)
        if type(prev) is set and len(prev) > 1:
            given = args[1] if len(args) > 1 else kwargs.get("_children", ())
            if not (type(given) in (tuple, list) and len(given) == len(prev) and prev.issuperset(given)):
                given = sorted(prev, key=lambda child: born.get(child, -1))
            if tuple(prev) != tuple(given):  # (a set that iterates in that order already stays as it is)
                self._prev = OrderedPrev(given)

    value_class.__init__ = __init__
    try:
        yield
    finally:
        if own_init is None:
            del value_class.__init__
        else:
            value_class.__init__ = own_init
