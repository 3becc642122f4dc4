"""The reading's interpreter against Python itself: each program below runs in CPython and in the
interpreter (on exact numbers), and `result` must come out the same. The programs exercise what
honest micrograd code leans on: scopes and closures, classes with their MRO and descriptors,
operator dispatch with reflected fallbacks, dataclasses, exceptions, comprehensions."""
import ast
import math
import textwrap

import pytest
import sympy

from autograder.reading.errors import OverBudget, Tampering, Unreadable
from autograder.reading.interpreter import Interpreter
from autograder.reading.numbers import Point, Real, reading_at

PROGRAMS = {
    "closures see later assignments": """
        def outer():
            x = 1
            def inner():
                return x * 2
            x = 5
            return inner()
        result = outer()
        """,
    "nonlocal and global": """
        counter = 0
        def bump():
            global counter
            counter += 1
        def make():
            n = 0
            def add(k):
                nonlocal n
                n += k
                return n
            return add
        add = make()
        add(2); add(3); bump(); bump()
        result = (add(0), counter)
        """,
    "class attributes, instance attributes, methods": """
        class A:
            scale = 2.0
            def __init__(self, x):
                self.x = x
            def twice(self):
                return self.x * self.scale
        a = A(1.5)
        a.scale = 3.0
        result = (a.twice(), A(1.5).twice())
        """,
    "reflected operators and NotImplemented": """
        class V:
            def __init__(self, d):
                self.d = d
            def __add__(self, other):
                if not isinstance(other, V):
                    return NotImplemented
                return V(self.d + other.d)
            def __radd__(self, other):
                return V(self.d + other)
            def __mul__(self, other):
                other = other if isinstance(other, V) else V(other)
                return V(self.d * other.d)
            __rmul__ = __mul__
        result = (sum([V(1.0), V(2.5)]).d, (3 * V(0.5)).d, (V(2.0) * 4).d)
        """,
    "MRO and super": """
        class A:
            def f(self):
                return 1.0
        class B(A):
            def f(self):
                return super().f() + 10
        class C(A):
            def f(self):
                return super().f() + 100
        class D(B, C):
            def f(self):
                return super().f() + 1000
        result = D().f()
        """,
    "properties with setters": """
        class P:
            def __init__(self):
                self._v = 1.0
            @property
            def v(self):
                return self._v * 2
            @v.setter
            def v(self, value):
                self._v = value + 1
        p = P()
        p.v = 3.0
        result = p.v
        """,
    "staticmethod and classmethod": """
        class K:
            base = 3
            @staticmethod
            def s(x):
                return x + 1
            @classmethod
            def c(cls, x):
                return cls.base * x
        result = (K.s(1.5), K().c(2.0), K.c(0.5))
        """,
    "dataclasses": """
        from dataclasses import dataclass, field
        @dataclass
        class D:
            a: float
            b: float = 2.0
            c: list = field(default_factory=list)
            def __post_init__(self):
                self.c.append(self.a + self.b)
        d = D(1.5)
        e = D(1.5)
        result = (d.c[0], d == e, D(1.0, b=4.0).c[0])
        """,
    "exceptions": """
        class MyError(ValueError):
            pass
        def f(x):
            try:
                if x > 0:
                    raise MyError("positive")
                return -x
            except ValueError as error:
                return 100.0
            finally:
                pass
        try:
            {}["missing"]
            caught = 0
        except KeyError:
            caught = 1
        result = (f(2.0), f(-3.0), caught)
        """,
    "comprehensions and generators": """
        xs = [0.5, -1.5, 2.0]
        result = (sum(x * x for x in xs if x > 0), [y for y in range(3)], {k: v for k, v in zip("ab", xs)},
                  sorted(xs), max(xs), min(xs, key=abs))
        """,
    "unpacking and slicing": """
        a, *b, c = [1.0, 2.0, 3.0, 4.0]
        result = (a, b, c, [1, 2, 3, 4][::-1], "abc"[1:])
        """,
    "math functions": """
        import math
        x = 0.7
        result = (math.tanh(x), math.exp(x), math.log(x), math.sqrt(2.0), math.e ** x, abs(-x), x ** 0.5, 2 ** -1)
        """,
    "truth and chained comparisons": """
        x = 0.25
        result = (0 < x < 1, bool(0.0), not [], x or 5.0, None and 1, 1 if x else 2)
        """,
    "int arithmetic stays int": """
        result = (7 // 2, 7 % 3, 2 ** 10, 7 / 2, divmod(7, 2), int(3.9), round(2.5), round(3.5))
        """,
    "lambdas with defaults and keyword arguments": """
        f = lambda x, k=2, *rest, scale=1.0, **extra: (x ** k) * scale + len(rest) + len(extra)
        result = (f(3.0), f(2.0, 3), f(1.0, 1, 9, 9, scale=2.0, z=1))
        """,
    "set and dict keys of instances": """
        class N:
            pass
        a, b = N(), N()
        seen = {a, b, a}
        order = {a: 1, b: 2}
        result = (len(seen), order[b], a in seen)
        """,
    "__eq__ and __hash__ by data": """
        class E:
            def __init__(self, d):
                self.d = d
            def __eq__(self, other):
                return self.d == other.d
            def __hash__(self):
                return hash(self.d)
        result = (len({E(1.0), E(1.0), E(2.0)}), E(3.0) == E(3.0))
        """,
    "f-strings and repr": """
        class R:
            def __repr__(self):
                return "R!"
        k = 2
        result = (f"**{k}", f"{1.5:.2f}", repr(R()), str(R()), f"{R()}")
        """,
    "callable instances and decorators": """
        def twice(f):
            def wrapper(*args):
                return 2 * f(*args)
            return wrapper
        class Scale:
            def __init__(self, s):
                self.s = s
            def __call__(self, x):
                return self.s * x
        @twice
        def g(x):
            return x + 1
        result = (g(1.5), Scale(3.0)(2.0))
        """,
}


def python_result(source):
    namespace = {}
    exec(compile(textwrap.dedent(source), "<program>", "exec"), namespace)
    return namespace["result"]


def read_result(source):
    tree = ast.parse(textwrap.dedent(source))
    with Interpreter({"program": ("program.py", tree, False)}) as interpreter:
        with reading_at(Point({})):
            module = interpreter.import_module("program")
            return plain(module.namespace["result"])


def plain(value):
    """A read value as the Python value it stands for."""
    if isinstance(value, Real):
        number = complex(sympy.N(value.expr, 30)) if value.is_complex else float(sympy.N(value.expr, 30))
        return number
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    return value


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-15, abs_tol=1e-300)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_interpreter_computes_what_python_computes(name):
    expected, got = python_result(PROGRAMS[name]), read_result(PROGRAMS[name])
    assert same(got, expected), (got, expected)


STOPS = {
    "exec": ("exec('x = 1')", Tampering),
    "a frame": ("import sys\nf = sys._getframe()", Tampering),
    "a function's globals": ("def f():\n    pass\ng = f.__globals__", Tampering),
    "a module outside the allowlist": ("import inspect", Tampering),
    "a class rebound through an alias": ("class A:\n    def f(self):\n        return 1\nB = A\nB.f = lambda self: 2",
                                         Tampering),
    "an endless loop": ("while True:\n    pass", OverBudget),
    "a string of a billion characters": ("s = 'x' * 10 ** 9", OverBudget),
    "an integer of a billion digits": ("n = 10 ** 10 ** 9", OverBudget),
    "a range of a trillion numbers": ("n = len(range(10 ** 12))", OverBudget),
    "infinite recursion": ("def f(n):\n    return f(n + 1)\nf(0)", OverBudget),
    "a metaclass": ("class M(type):\n    pass\nclass A(metaclass=M):\n    pass", Unreadable),
    "a generator function": ("def g():\n    yield 1\nx = g()", Unreadable),
}


@pytest.mark.parametrize("name", STOPS)
def test_the_interpreter_stops_where_it_must(name):
    source, stop = STOPS[name]
    with pytest.raises(stop):
        read_result(source)
