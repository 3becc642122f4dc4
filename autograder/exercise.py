"""The exercise as data: one row per primitive op of `Value`, in rubric order, then the other parts.

Everything that concerns the ops reads this table, never a list of its own: the rubric's part
ids, the hidden suite's cases and their inputs, the diagnoses of known mistakes, the drawings
and code shown in feedback, the worker's requests (which carry an op's method name and kind).
Adding an op is a row here, the model answer (solutions/micrograd/engine.py), the reference's
op table (reference/engine.py) and a [parts.ID] table in the rubric: see the README.

Formulas are strings over x (the first operand), y (the second, for a binary op) and k (the
constant exponent of a power), written with numbers, + - * / **, parentheses and the functions
tanh, exp, log, sqrt, step(x) (1 if x > 0 else 0) and relu(x) (max(x, 0)). They are the
grader's own trusted data: `numeric` turns one into a Python function over floats.
"""
import ast
import math
from dataclasses import dataclass
from functools import cache

KINDS = ("binary", "unary", "power")
OPERANDS = {"binary": ("x", "y"), "unary": ("x",), "power": ("x", "k")}  # what a kind's formulas may name
OTHER_PARTS = ("backward", "parameters", "convergence")  # graded after the ops, in this order


class ExerciseError(ValueError):
    """A row of the definition that cannot work, named with the reason."""


def step(x):
    return 1.0 if x > 0 else 0.0


def relu(x):
    return max(x, 0.0)


FUNCTIONS = {"tanh": math.tanh, "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "step": step, "relu": relu}


@dataclass(frozen=True)
class Inputs:
    """Where an operand may lie: low <= |x| <= high of either sign (signed), else low <= x <= high."""
    low: float
    high: float
    signed: bool = True

    def holds(self, x):
        return self.low <= (abs(x) if self.signed else x) <= self.high

    def positive(self):
        """The part of it above 0 (a non-integer power needs a positive base)."""
        return Inputs(max(self.low, 0.0), self.high, signed=False)

    def for_exponent(self, k):
        return self if k is None or float(k).is_integer() else self.positive()


ANYWHERE = Inputs(0.0, math.inf)


@dataclass(frozen=True)
class Op:
    """One primitive op: the `_backward` students write in one method of Value, graded as one part."""
    part: str  # the rubric's part id
    method: str  # the method of Value that students complete: "__add__", "tanh", ...
    kind: str  # "binary" (other operand a Value or a plain number), "unary", "power" (a constant exponent k)
    forward: str  # formula of the op's value
    derivative: tuple  # formulas of its local derivative by each operand (binary: d/dx, d/dy; else d/dx)
    symbol: str  # what drawings and code show: `a + b` for "+", `a.tanh()` and a node labelled "tanh"
    in_training: bool  # whether the lesson's training (the convergence part) runs this op
    single_node: tuple  # operand values of the check on one node with fresh inputs
    accumulating: tuple  # operand values of the check whose inputs already hold a gradient
    inputs: Inputs  # where generated single-node cases draw every operand (or plain-number operand)
    graph_inputs: Inputs = ANYWHERE  # where the op's first operand must lie in a generated graph
    fixed_exponents: tuple = ()  # power: the exponents of the single-node and accumulating checks
    exponents: tuple = ()  # power: the exponents that generated cases and graphs draw from
    mistakes: tuple = ()  # (derivative formulas, hint): wrong derivatives seen in student code
    glue: bool = False  # whether generated graphs use it to join the nodes around the op under test

    def __post_init__(self):
        check_row(self)

    def local_derivatives(self, x, y=None, k=None):
        """The right local derivatives at these operands, as floats."""
        return derivatives(self.derivative)(x, y, k)

    def expression(self, a, b=None, k=None):
        """The op as code: `a + b`, `a ** 2`, `a.tanh()`, `a.max(b)`."""
        if self.kind == "unary":
            return f"{a}.{self.method}()"
        other = repr(k) if self.kind == "power" else b
        return f"{a} {self.symbol} {other}" if is_operator(self.method) else f"{a}.{self.method}({other})"

    def label(self, k=None):
        """The op as a drawing labels its node: "+", "**2", "tanh"."""
        return f"{self.symbol}{k}" if self.kind == "power" else self.symbol


def is_operator(method):
    return method.startswith("__") and method.endswith("__")


# ---------------------------------------------------------------- formulas

def numeric(formula):
    """The formula as a function f(x, y=None, k=None) over floats (an int result becomes a float)."""
    first = derivatives((formula,))
    return lambda x, y=None, k=None: first(x, y, k)[0]


@cache
def derivatives(formulas):
    """The formulas as one function (x, y=None, k=None) -> a tuple of floats, one per formula."""
    for formula in formulas:
        check_formula(formula, ("x", "y", "k"))
    values = "".join(f"_real({formula}), " for formula in formulas)
    # eval of the grader's own formulas (checked above), with nothing but the formula functions in reach
    return eval(f"lambda x, y=None, k=None: ({values})", {"__builtins__": {}, "_real": _real, **FUNCTIONS})


def _real(value):
    return float(value) if type(value) is int else value


ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Call, ast.Load, ast.Add,
                 ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)


def check_formula(formula, names):
    """Raise ExerciseError unless `formula` is arithmetic over `names` and the formula functions."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as error:
        raise ExerciseError(f"formula {formula!r} is not an expression: {error.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED_NODES):
            raise ExerciseError(f"formula {formula!r}: {type(node).__name__} is not formula vocabulary")
        if isinstance(node, ast.Constant) and (type(node.value) not in (int, float)):
            raise ExerciseError(f"formula {formula!r}: {node.value!r} is not a number")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
                                               and len(node.args) == 1 and not node.keywords):
            raise ExerciseError(f"formula {formula!r}: calls one of {', '.join(FUNCTIONS)} with one argument only")
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in names:
            raise ExerciseError(f"formula {formula!r}: {node.id!r} is not one of {', '.join(names)}")


def check_row(row):
    """Raise ExerciseError naming the row and what is wrong with it."""
    try:
        if row.kind not in KINDS:
            raise ExerciseError(f"kind {row.kind!r} is not one of {', '.join(KINDS)}")
        arity = 2 if row.kind == "binary" else 1
        if not row.part.isidentifier() or not row.method.isidentifier() or not row.symbol:
            raise ExerciseError("part and method must be identifiers and symbol not empty")
        if len(row.derivative) != arity or len(row.single_node) != arity or len(row.accumulating) != arity:
            raise ExerciseError(f"a {row.kind} op has {arity} operand(s): as many derivatives and fixed inputs")
        if (row.kind == "power") != bool(row.exponents) or (row.kind == "power") != (len(row.fixed_exponents) == 2):
            raise ExerciseError("a power (and only a power) has exponents and two fixed_exponents")
        for formula in (row.forward, *row.derivative, *(f for formulas, _ in row.mistakes for f in formulas)):
            check_formula(formula, OPERANDS[row.kind])
        if any(len(formulas) != arity or not hint for formulas, hint in row.mistakes):
            raise ExerciseError("each mistake is (one formula per operand, a hint)")
    except ExerciseError as error:
        raise ExerciseError(f"exercise op {row.part!r}: {error}") from None


# ---------------------------------------------------------------- the exercise

OPS = (
    Op("add", "__add__", "binary", forward="x + y", derivative=("1", "1"), symbol="+", in_training=True,
       single_node=(0.7, -1.3), accumulating=(1.1, 0.4), inputs=Inputs(0.0, 5.0), glue=True),
    Op("mul", "__mul__", "binary", forward="x * y", derivative=("y", "x"), symbol="*", in_training=True,
       single_node=(0.7, -1.3), accumulating=(1.1, -0.4), inputs=Inputs(0.0, 3.0), glue=True,
       mistakes=((("x", "y"), "each operand gets its own value: d(a*b)/da is b.data, not a.data"),)),
    Op("pow", "__pow__", "power", forward="x ** k", derivative=("k * x**(k - 1)",), symbol="**", in_training=True,
       single_node=(1.3,), accumulating=(0.8,), fixed_exponents=(3, -2), exponents=(2, 3, 4, -1, -2, 0.5, 1.5, 2.5),
       inputs=Inputs(0.2, 2.5), graph_inputs=Inputs(0.2, 3.0),
       mistakes=((("k * x**k",), "wrong exponent: the derivative of x**k is k * x**(k - 1), not k * x**k"),
                 (("k * x**(k - 2)",), "wrong exponent: the derivative of x**k is k * x**(k - 1)"),
                 (("x**(k - 1)",), "the factor k is missing: the derivative of x**k is k * x**(k - 1)"))),
    Op("tanh", "tanh", "unary", forward="tanh(x)", derivative=("1 - tanh(x)**2",), symbol="tanh", in_training=True,
       # inputs where analytic forms of the derivative agree to ~1e-14
       single_node=(0.7,), accumulating=(-0.9,), inputs=Inputs(0.05, 3.0), graph_inputs=Inputs(0.0, 3.0),
       mistakes=((("1 - tanh(x)",), "`1 - t` instead of `1 - t**2`: the derivative of tanh is 1 - tanh(x)**2"),
                 (("1 - x**2",), "the derivative is computed from the input x (1 - x**2) instead of the output "
                                 "t = tanh(x) (1 - t**2)"),
                 (("tanh(x)**2",), "`t**2` instead of `1 - t**2`"))),
    Op("exp", "exp", "unary", forward="exp(x)", derivative=("exp(x)",), symbol="exp", in_training=False,
       single_node=(0.7,), accumulating=(-0.3,), inputs=Inputs(-4.0, 4.0, signed=False),
       graph_inputs=Inputs(-8.0, 3.0, signed=False),
       mistakes=((("x",), "the derivative is computed from the input x instead of the output: d/dx e**x is e**x, "
                          "i.e. out.data"),
                 (("1",), "the derivative of exp is exp itself (out.data), not 1"),
                 (("x * exp(x - 1)",), "the power rule does not apply to e**x: its derivative is e**x itself"))),
    Op("relu", "relu", "unary", forward="relu(x)", derivative=("step(x)",), symbol="relu", in_training=False,
       # inputs away from the kink at 0
       single_node=(0.7,), accumulating=(-0.6,), inputs=Inputs(0.01, 5.0), graph_inputs=Inputs(0.01, math.inf),
       mistakes=((("relu(x)",), "relu's slope is 1 for a positive input and 0 otherwise; it is not out.data"),
                 (("1",), "relu's slope is 0 for a negative input, not 1"),
                 (("1 - step(x)",), "relu's slope is 1 for a positive input and 0 for a negative one, not the "
                                    "other way round"))),
)

PART_IDS = (*(op.part for op in OPS), *OTHER_PARTS)
BY_PART = {op.part: op for op in OPS}


def op(part):
    """The row of the op graded as `part`."""
    return BY_PART[part]


def check_table(ops):
    """Raise ExerciseError if two rows share a part, a method or a part id of the other parts."""
    for field in ("part", "method"):
        values = [getattr(row, field) for row in ops]
        repeated = sorted({v for v in values if values.count(v) > 1} | ({*values} & {*OTHER_PARTS}))
        if repeated:
            raise ExerciseError(f"exercise ops: {field} {', '.join(repeated)} is taken")


check_table(OPS)
