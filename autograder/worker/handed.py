"""What the worker hands to student code: the grader's `_backward` closures and `_prev` collections.

Student code holds these objects, so it can reach whatever they reach (a function's
`__globals__`, its closure cells). This module therefore holds nothing but them: the worker
loads it privately, and nothing here leads back to the worker's requests or handlers.
Standard library only.
"""
from collections import deque
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


class OrderedFrozenPrev(frozenset):
    """A frozenset that iterates in the order the grader chose (see OrderedPrev)."""
    __slots__ = ("_order",)

    def __new__(cls, items):
        made = super().__new__(cls, items)
        made._order = tuple(dict.fromkeys(items))
        return made

    def __iter__(self):
        return iter(self._order)


KEPT = (set, frozenset, list, tuple, deque, dict)  # the collections a Value may keep its inputs in


def as_kind(kind, items, original=None):
    """`items` as a collection of type `kind` (one of KEPT) that iterates in their order; a dict
    keeps the values `original` held for them."""
    if kind is set:
        return OrderedPrev(items)
    if kind is frozenset:
        return OrderedFrozenPrev(items)
    if kind is dict:
        return {item: original[item] for item in items} if original is not None else dict.fromkeys(items)
    return kind(items)


def in_order(kept, order):
    """The inputs a Value keeps (`kept`, of a type in KEPT), as the same type, met in the order of
    the list `order`, matched by identity; None for another type, or if `kept` holds anything
    that `order` does not."""
    members = ranked(kept, order)
    return None if members is None else as_kind(type(kept), members, kept)


def ranked(kept, order):
    """The members of `kept` (of a type in KEPT) sorted by their place in `order` (by identity);
    None for another type, or if `kept` holds anything that `order` does not."""
    if type(kept) not in KEPT:
        return None
    members, placed = list(kept), []
    for index, member in enumerate(members):  # plain loops: this runs for every node training makes
        for rank, item in enumerate(order):
            if item is member:
                placed.append((rank, index))
                break
        else:
            return None
    placed.sort()
    return [members[index] for _, index in placed]


def children_argument(parameter, args, kwargs):
    """What a call of Value.__init__ (without self) passed for the inputs: `parameter` is
    (name, position, kind) of the parameter that takes them, kind "positional", "keyword" or "star"."""
    name, position, kind = parameter
    if kind == "star":
        return args[position:]
    if kind == "positional" and len(args) > position:
        return args[position]
    return kwargs.get(name, ())


def grader_closure(node, inputs, on_call=None):
    """A _backward written by the grader: adds weight * node.grad to each (input, weight)."""
    def _backward():
        if on_call is not None:
            on_call()
        for child, weight in inputs:
            child.grad += weight * node.grad
    return _backward


class CallLog:
    """The order in which one backward() ran the nodes' _backward closures. Closed once that
    backward() has returned: a later one that runs these nodes again (replaying every Value ever
    made, say) neither adds to it nor is stopped by it."""

    def __init__(self, limit):
        self.calls, self.limit, self.open = [], limit, True

    def recorder(self, index):
        """Records that node `index`'s _backward ran; stops a backward() that never ends."""
        def record():
            if self.open:
                self.calls.append(index)
                if len(self.calls) > self.limit:
                    raise Runaway()
        return record


@contextmanager
def creation_order(value_class, parameter=None, attributes=("_prev",)):
    """While active, the set (or frozenset) of inputs a new Value keeps in each of `attributes`
    iterates them in a fixed order: the order its constructor got them in a sequence (through
    `parameter`, see children_argument), or else the order they were created in. An
    order-dependent backward() then behaves the same on every machine."""
    own_init = value_class.__dict__.get("__init__")
    init = value_class.__init__
    born = {}  # value -> creation number

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        try:
            born[self] = len(born)  # keyed by the value itself: id() would raise an audit event each time
        except TypeError:
            return  # an unhashable Value is in no set: nothing to put in order
        for name in attributes:
            prev = getattr(self, name, None)
            if type(prev) in (set, frozenset) and len(prev) > 1:
                given = children_argument(parameter, args, kwargs) if parameter is not None else ()
                if not (type(given) in (tuple, list, deque) and len(given) == len(prev) and prev.issuperset(given)):
                    given = sorted(prev, key=lambda child: born.get(child, -1))
                if any(a is not b for a, b in zip(prev, given)):  # (a set already in that order stays as it is)
                    setattr(self, name, as_kind(type(prev), given))

    value_class.__init__ = __init__
    try:
        yield
    finally:
        if own_init is None:
            del value_class.__init__
        else:
            value_class.__init__ = own_init
