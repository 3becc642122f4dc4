"""Gradient code written in the many honest ways students write it, and dishonest code in the
ways an attacker with the grader's source would: the corpus the reading (autograder/reading) is
held to.

Each shape is the model solution's engine.py with some of its lines replaced (each replaced text
occurs once), and sometimes extra modules. `HONEST` shapes must be read and every op's formula
proven; each of `DISHONEST` names the op parts whose proof must fail and how.
"""
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from autograder.release import without_markers
from mutants import ADD, EXP, MUL, POW, RELU, TANH, lines, solution_text

FORWARD_TANH = lines("t = math.tanh(self.data)", "out = Value(t, (self,), 'tanh')", indent=8)


@dataclass(frozen=True)
class Shape:
    name: str
    edits: tuple = ()  # (old, new) pairs on the solution's engine.py
    prelude: str = ""  # code put before engine.py's own
    files: dict = field(default_factory=dict)  # other modules of the submission
    engine: str = ""  # a whole engine.py instead of the solution's
    fails: dict = field(default_factory=dict)  # part -> text the reason it is not graded must hold
    everywhere: bool = False  # the failure is in code every part runs (the top of engine.py)

    def sources(self):
        """{file name: text} of the submission's modules."""
        text = self.engine or without_markers(solution_text("engine.py"))
        for old, new in self.edits:
            assert text.count(old) == 1, f"{self.name}: {old!r} occurs {text.count(old)} times"
            text = text.replace(old, new)
        if self.prelude:
            text = textwrap.dedent(self.prelude).strip() + "\n\n" + text
        return {"engine.py": text, "nn.py": without_markers(solution_text("nn.py")), **self.files}


def body(*code, indent=12):
    return lines(*code, indent=indent)


VARIANTS = Path(__file__).resolve().parent / "variants"

HONEST = (
    Shape("the model solution"),
    Shape("a lambda bound to a module name", prelude="derivative_of_tanh = lambda t: 1 - t * t",
          edits=((TANH, body("self.grad += derivative_of_tanh(t) * out.grad")),)),
    Shape("helper functions in another module of the submission", prelude="from helpers import local_grads",
          files={"helpers.py": "import math\n\n\ndef local_grads(kind, x, y=None):\n    if kind == 'mul':\n"
                               "        return y, x\n    return (1 - math.tanh(x) ** 2,)\n"},
          edits=((MUL, body("da, db = local_grads('mul', self.data, other.data)", "self.grad += da * out.grad",
                            "other.grad += db * out.grad")),
                 (TANH, body("(d,) = local_grads('tanh', self.data)", "self.grad += d * out.grad")))),
    Shape("tanh composed from exp, with its own _backward", edits=((FORWARD_TANH, lines(
        "e = (2 * self).exp()", "t = (e - 1) / (e + 1)", "out = Value(t.data, (self,), 'tanh')", indent=8)),
        (TANH, body("self.grad += (1 - t.data ** 2) * out.grad")))),
    Shape("math.tanh recomputed in the _backward",
          edits=((TANH, body("self.grad += (1 - math.tanh(self.data) ** 2) * out.grad")),)),
    Shape("1 - out.data ** 2", edits=((TANH, body("self.grad += (1 - out.data ** 2) * out.grad")),)),
    Shape("tanh clamped, by the lecture's formula", edits=((FORWARD_TANH, lines(
        "x = self.data", "if x > 20:", "    t = 1.0", "elif x < -20:", "    t = -1.0", "else:",
        "    t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)", "out = Value(t, (self,), 'tanh')", indent=8)),)),
    Shape("tanh clamped with min and max", edits=((FORWARD_TANH, lines(
        "t = math.tanh(max(-20.0, min(20.0, self.data)))", "out = Value(t, (self,), 'tanh')", indent=8)),)),
    Shape("relu written with comparisons", edits=((RELU, body("if out.data > 0:", "    self.grad += out.grad")),)),
    Shape("relu slope from the output, as a bool", edits=((RELU, body("self.grad += (out.data > 0) * out.grad")),)),
    Shape("relu with max(0, x) and an else branch", edits=((RELU, body(
        "slope = 1.0 if max(0.0, self.data) > 0 else 0.0", "self.grad += slope * out.grad")),)),
    Shape("a dataclass Value", engine=(VARIANTS / "dataclass-value" / "engine.py").read_text("utf-8")),
    Shape("from math import, and math.e for exp", prelude="from math import exp as e_to_the, tanh",
          edits=((EXP, body("self.grad += math.e ** self.data * out.grad")),
                 (TANH, body("self.grad += (1 - tanh(self.data) ** 2) * out.grad")))),
    Shape("pow with explicit floats", edits=((POW, body(
        "self.grad += float(other) * (float(self.data) ** (other - 1)) * out.grad")),)),
    Shape("grad = grad + ...", edits=((MUL, body("self.grad = self.grad + other.data * out.grad",
                                                 "other.grad = other.grad + self.data * out.grad")),)),
    Shape("a loop over (input, local gradient) pairs", edits=((MUL, body(
        "for node, local in ((self, other.data), (other, self.data)):", "    node.grad += local * out.grad")),)),
    Shape("ops inherited from a base class", prelude='''
        import math

        class Node:
            def tanh(self):
                t = math.tanh(self.data)
                out = type(self)(t, (self,), 'tanh')

                def _backward():
                    self.grad += (1 - t ** 2) * out.grad
                out._backward = _backward
                return out
        ''', edits=(("class Value:\n", "class Value(Node):\n"),
                    ("    def tanh(self):\n", "    def tanh_unused(self):\n"))),
    Shape("a decorator that checks the operand", prelude='''
        import functools

        def values_only(method):
            @functools.wraps(method)
            def wrapper(self, other):
                return method(self, other if isinstance(other, Value) else Value(other))
            return wrapper
        ''', edits=(("    def __mul__(self, other):\n", "    @values_only\n    def __mul__(self, other):\n"),)),
    Shape("a callable object as the derivative", prelude='''
        import math

        class Derivative:
            def __init__(self, function):
                self.function = function

            def __call__(self, x):
                return self.function(x)

        DTANH = Derivative(lambda x: 1 - math.tanh(x) ** 2)
        ''', edits=((TANH, body("self.grad += DTANH(self.data) * out.grad")),)),
    Shape("a static method and a property", edits=(
        ("    def __repr__(self):\n", "    @staticmethod\n    def _sech2(t):\n        return 1 - t * t\n\n"
                                    "    @property\n    def value(self):\n        return self.data\n\n"
                                    "    def __repr__(self):\n"),
        (TANH, body("self.grad += Value._sech2(t) * out.grad")),
        (EXP, body("self.grad += out.value * out.grad")))),
    Shape("super().__init__ and a counter of nodes", prelude='''
        class Counted:
            made = 0

            def __init__(self):
                Counted.made += 1
        ''', edits=(("class Value:\n", "class Value(Counted):\n"),
                    ("        self.data = data\n", "        super().__init__()\n        self.data = data\n"))),
    Shape("a demo at the bottom of engine.py", edits=((
        "    def __rtruediv__(self, other):  # other / self\n        return other * self ** -1\n",
        "    def __rtruediv__(self, other):  # other / self\n        return other * self ** -1\n\n\n"
        "a = Value(2.0, label='a')\nb = Value(-3.0, label='b')\nL = (a * b + a.tanh()) ** 2\nL.backward()\n"
        "print(f'{a.grad:.4f}', b.grad)\nif __name__ == '__main__':\n    import matplotlib\n"),)),
)

COMPLEX_STEP = body("z = complex(self.data, 1e-20)", "e2 = math.exp(2 * z.real) * complex(math.cos(2 * z.imag), "
                    "math.sin(2 * z.imag))", "self.grad += ((e2 - 1) / (e2 + 1)).imag / 1e-20 * out.grad")
NOT_THE_DERIVATIVE = "which is not the derivative"
DISHONEST = (
    # 1. the code read is not the code run
    Shape("a second class Value after the first", edits=((
        "    def __rtruediv__(self, other):  # other / self\n        return other * self ** -1\n",
        "    def __rtruediv__(self, other):  # other / self\n        return other * self ** -1\n\n\n"
        "class Value(Value):\n    pass\n"),), fails={"add": "more than once"}, everywhere=True),
    Shape("a numerical tanh inherited from a base class", prelude='''
        import math

        class Numeric:
            def tanh(self):
                out = type(self)(math.tanh(self.data), (self,), 'tanh')

                def _backward():
                    h = 1e-6
                    self.grad += (math.tanh(self.data + h) - math.tanh(self.data - h)) / (2 * h) * out.grad
                out._backward = _backward
                return out
        ''', edits=(("class Value:\n", "class Value(Numeric):\n"), ("    def tanh(self):\n", "    def _tanh(self):\n")),
        fails={"tanh": NOT_THE_DERIVATIVE}),
    Shape("Value.tanh assigned after the class", prelude='''
        import math

        def numeric_tanh(self):
            out = Value(math.tanh(self.data), (self,), 'tanh')

            def _backward():
                self.grad += (math.tanh(self.data + 1e-6) - math.tanh(self.data - 1e-6)) / 2e-6 * out.grad
            out._backward = _backward
            return out
        ''', edits=(("    def __rtruediv__(self, other):  # other / self\n        return other * self ** -1\n",
                     "    def __rtruediv__(self, other):  # other / self\n        return other * self ** -1\n\n\n"
                     "Value.tanh = numeric_tanh\n"),),
        fails={"tanh": "outside the definition"}, everywhere=True),
    Shape("a lambda helper that estimates", prelude="import math\nslope = lambda f, x: (f(x + 1e-7) - f(x - 1e-7)) / 2e-7",
          edits=((EXP, body("self.grad += slope(math.exp, self.data) * out.grad")),),
          fails={"exp": NOT_THE_DERIVATIVE}),
    Shape("a decorator that swaps in a numerical method", prelude='''
        import math

        def exact(method):
            def estimated(self):
                out = Value(math.exp(self.data), (self,), 'exp')

                def _backward():
                    self.grad += (math.exp(self.data + 1e-8) - math.exp(self.data)) / 1e-8 * out.grad
                out._backward = _backward
                return out
            return estimated
        ''', edits=(("    def exp(self):\n", "    @exact\n    def exp(self):\n"),), fails={"exp": NOT_THE_DERIVATIVE}),
    Shape("a callable instance that estimates", prelude='''
        import math

        class Slope:
            def __call__(self, f, x):
                up, down = f(x + 1e-5), f(x - 1e-5)
                return (up - down) / 2e-5

        SLOPE = Slope()
        ''', edits=((TANH, body("self.grad += SLOPE(math.tanh, self.data) * out.grad")),),
        fails={"tanh": NOT_THE_DERIVATIVE}),
    Shape("a numerical estimate on other inputs than the fixed cases", edits=((TANH, body(
        "if self.data in (0.7, -0.9):", "    self.grad += (1 - t ** 2) * out.grad", "else:",
        "    self.grad += (math.tanh(self.data + 1e-7) - math.tanh(self.data - 1e-7)) / 2e-7 * out.grad")),),
        fails={"tanh": NOT_THE_DERIVATIVE}),
    Shape("a numerical estimate inside graphs only", edits=((TANH, body(
        "if not self._prev:", "    self.grad += (1 - t ** 2) * out.grad", "else:",
        "    self.grad += (math.tanh(self.data + 1e-7) - math.tanh(self.data - 1e-7)) / 2e-7 * out.grad")),),
        fails={"tanh": NOT_THE_DERIVATIVE}),
    Shape("exact for the first calls, then estimated", prelude="CALLS = [0]", edits=((TANH, body(
        "CALLS[0] += 1", "if CALLS[0] < 3:", "    self.grad += (1 - t ** 2) * out.grad", "else:",
        "    self.grad += (math.tanh(self.data + 1e-7) - math.tanh(self.data - 1e-7)) / 2e-7 * out.grad")),),
        fails={"tanh": NOT_THE_DERIVATIVE}),
    # 2. numerical derivatives in forms no pattern lists
    Shape("a complex step with complex()", edits=((TANH, COMPLEX_STEP),), fails={"tanh": NOT_THE_DERIVATIVE}),
    Shape("a complex step without a complex token", prelude="import math\nJ = (-1) ** 0.5",
          edits=((EXP, body("w = math.e ** (self.data + J * 1e-30)",
                            "self.grad += getattr(w, 'imag') / 1e-30 * out.grad")),),
          fails={"exp": NOT_THE_DERIVATIVE}),
    Shape("Richardson extrapolation through two names", prelude='''
        import math

        def slope(f, x, h=0.1):
            up, down = f(x + h), f(x - h)
            coarse = (up - down) / (2 * h)
            up, down = f(x + h / 2), f(x - h / 2)
            fine = (up - down) / h
            return (4 * fine - coarse) / 3
        ''', edits=((TANH, body("self.grad += slope(math.tanh, self.data) * out.grad")),),
        fails={"tanh": NOT_THE_DERIVATIVE}),
    Shape("a Taylor series of exp", edits=((EXP, body(
        "term, total = 1.0, 0.0", "for n in range(1, 40):", "    total += term", "    term = term * self.data / n",
        "self.grad += total * out.grad")),), fails={"exp": NOT_THE_DERIVATIVE}),
    Shape("a step of 1e-300", edits=((EXP, body(
        "z = complex(self.data, 1e-300)", "w = math.e ** z", "self.grad += w.imag / 1e-300 * out.grad")),),
        fails={"exp": "not the derivative"}),
    # 3. code from strings, by any route
    Shape("timeit runs a string", prelude="import timeit",
          edits=((TANH, body("timeit.Timer(setup='import math').timeit(1)", "self.grad += (1 - t ** 2) * out.grad")),),
          fails={"tanh": "timeit"}, everywhere=True),
    Shape("a helper written to /tmp and imported", prelude='''
        import sys
        with open("/tmp/helper_mod.py", "w") as f:
            f.write("def d(x):\\n    return 1.0\\n")
        sys.path.insert(0, "/tmp")
        ''', fails={"add": "sys.path"}, everywhere=True),
    # 4. the worker's own state
    Shape("a signal handler that reads frames", prelude='''
        import signal

        def handler(number, frame):
            frame.f_back.f_globals.clear()
        signal.signal(signal.SIGALRM, handler)
        ''', fails={"add": "signal"}, everywhere=True),
    Shape("object.__subclasses__()", prelude="PROBES = [c for c in object.__subclasses__() if c.__name__ == 'Probes']",
          fails={"add": "__subclasses__"}, everywhere=True),
)
