"""One primitive op on one node: the cases, their expected results and the mistakes we recognise.

A Scenario builds `out = a OP b` (or `a OP const`, `a OP a`, `a ** k`, `a.tanh()`...) from
leaves whose grads may be pre-set, sets `out.grad` to an upstream gradient and calls
`out._backward()` once. The reference engine runs the same scenario for the expected answer.
"""
import math
from dataclasses import dataclass
from functools import cache
from itertools import product

from hypothesis import strategies as st

import micrograd_reference as reference
from autograder.hidden.checks import close

BINARY = ("add", "mul")
UNARY = ("tanh", "exp", "relu")
OPS = ("add", "mul", "pow", "tanh", "exp", "relu")
SYMBOL = {"add": "+", "mul": "*"}
NAMES = ("a", "b")


@dataclass(frozen=True)
class Scenario:
    op: str
    leaves: tuple
    leaf_grads: tuple
    operands: tuple  # leaf index, or ("const", c)
    upstream: float
    exponent: object = None

    def request(self):
        operands = [o if isinstance(o, int) else {"const": o[1]} for o in self.operands]
        return dict(op=self.op, leaves=list(self.leaves), leaf_grads=list(self.leaf_grads), operands=operands,
                    upstream=self.upstream, exponent=self.exponent)

    def operand_values(self):
        return [self.leaves[o] if isinstance(o, int) else o[1] for o in self.operands]

    def expression(self):
        a = NAMES[self.operands[0]]
        if self.op in BINARY:
            other = self.operands[1]
            b = NAMES[other] if isinstance(other, int) else repr(other[1])
            return f"{a} {SYMBOL[self.op]} {b}"
        if self.op == "pow":
            return f"{a} ** {self.exponent!r}"
        return f"{a}.{self.op}()"

    def code(self):
        """The case as the Python a student can paste and run."""
        lines = []
        for name, data, grad in zip(NAMES, self.leaves, self.leaf_grads):
            lines.append(f"{name} = Value({data!r})" + (f"; {name}.grad = {grad!r}" if grad else ""))
        lines += [f"out = {self.expression()}", f"out.grad = {self.upstream!r}", "out._backward()"]
        return "\n".join(lines)


def build(op, args, exponent=None):
    """`args[0] OP args[1]` (or `args[0] ** exponent`, `args[0].op()`) with the operands' own class."""
    a = args[0]
    if op == "add":
        return a + args[1]
    if op == "mul":
        return a * args[1]
    if op == "pow":
        return a ** exponent
    return getattr(a, op)()


def compare(scenario, got_grads):
    """(expected out.data, expected leaf grads, indices of the wrong ones in `got_grads`). The
    tolerance scales with what a grad held before plus what the _backward added: the sum is
    rounded to that size."""
    out, grads = expected(scenario)
    wrong = [i for i, (g, e, g0) in enumerate(zip(got_grads, grads, scenario.leaf_grads))
             if not close(g, e, scale=abs(g0) + abs(e - g0))]
    return out, grads, wrong


def expected(scenario):
    """(out.data, [leaf grads]) from the reference engine."""
    leaves = [reference.Value(x) for x in scenario.leaves]
    for leaf, grad in zip(leaves, scenario.leaf_grads):
        leaf.grad = grad
    args = [leaves[o] if isinstance(o, int) else o[1] for o in scenario.operands]
    out = build(scenario.op, args, scenario.exponent)
    out.grad = scenario.upstream
    out._backward()
    return out.data, [leaf.grad for leaf in leaves]


# ---------------------------------------------------------------- fixed cases, chosen so mistakes differ

def single_node(op):
    """Fresh leaves, upstream gradient not 1."""
    leaves = {"add": (0.7, -1.3), "mul": (0.7, -1.3), "pow": (1.3,), "tanh": (0.7,), "exp": (0.7,), "relu": (0.7,)}[op]
    return Scenario(op, leaves, (0.0,) * len(leaves), tuple(range(len(leaves))), -1.5, 3 if op == "pow" else None)


def accumulating(op):
    """Leaf grads already hold something, as when a value is used in several places."""
    leaves = {"add": (1.1, 0.4), "mul": (1.1, -0.4), "pow": (0.8,), "tanh": (-0.9,), "exp": (-0.3,), "relu": (-0.6,)}[op]
    grads = (0.25, -0.5)[:len(leaves)]
    return Scenario(op, leaves, grads, tuple(range(len(leaves))), 2.5, -2 if op == "pow" else None)


def reused(op):
    """`a + a`, `a * a`: the same value is both operands."""
    return Scenario(op, (0.9,), (0.3,), (0, 0), -2.0)


def with_constant(op):
    """`a + 2.5`, `a * 2.5`: the other operand is a plain number that __add__/__mul__ wraps."""
    return Scenario(op, (-0.8,), (0.4,), (0, ("const", 2.5)), 1.75)


def fixed(op):
    """The op's fixed cases, simplest first."""
    return [single_node(op), accumulating(op)] + ([reused(op), with_constant(op)] if op in BINARY else [])


# ---------------------------------------------------------------- generated cases

def signed(low, high):
    """Floats with low <= |x| <= high, of either sign."""
    return st.tuples(st.sampled_from((1.0, -1.0)), st.floats(low, high)).map(lambda t: t[0] * t[1])


UPSTREAM = signed(0.25, 4.0).filter(lambda g: abs(g - 1.0) > 0.1)
LEAF_GRAD = st.one_of(st.just(0.0), signed(0.1, 3.0))
DOMAIN = {  # safe inputs: no relu kink, no overflow, tanh where analytic forms agree to ~1e-14
    "add": signed(0.0, 5.0), "mul": signed(0.0, 3.0), "tanh": signed(0.05, 3.0),
    "exp": st.floats(-4.0, 4.0), "relu": signed(0.01, 5.0),
}
EXPONENTS = (2, 3, 4, -1, -2, 0.5, 1.5, 2.5)
SHAPES = st.sampled_from(("two leaves", "same leaf", "constant"))
POSITIVE_BASE, ANY_BASE = st.floats(0.2, 2.5), signed(0.2, 2.5)


@cache
def scenarios(op):
    """Generated Scenarios for one op (built once: hypothesis analyses each strategy object)."""
    return _scenarios(op)


@st.composite
def _scenarios(draw, op):
    upstream = draw(UPSTREAM)
    if op == "pow":
        k = draw(st.sampled_from(EXPONENTS))
        base = draw(POSITIVE_BASE if isinstance(k, float) else ANY_BASE)
        return Scenario(op, (base,), (draw(LEAF_GRAD),), (0,), upstream, k)
    if op in UNARY:
        return Scenario(op, (draw(DOMAIN[op]),), (draw(LEAF_GRAD),), (0,), upstream)
    shape = draw(SHAPES)
    if shape == "two leaves":
        return Scenario(op, (draw(DOMAIN[op]), draw(DOMAIN[op])), (draw(LEAF_GRAD), draw(LEAF_GRAD)), (0, 1), upstream)
    if shape == "same leaf":
        return Scenario(op, (draw(DOMAIN[op]),), (draw(LEAF_GRAD),), (0, 0), upstream)
    return Scenario(op, (draw(DOMAIN[op]),), (draw(LEAF_GRAD),), (0, ("const", draw(DOMAIN[op]))), upstream)


# ---------------------------------------------------------------- recognising mistakes

def _relu_slope(x):
    return 1.0 if x > 0 else 0.0


# (description, local derivatives of out with respect to each operand) for each op;
# the first entry is right, the others are mistakes seen in real student code.
LOCAL = {
    "add": [("", lambda x, y, k: (1.0, 1.0))],
    "mul": [("", lambda x, y, k: (y, x)),
            ("each operand gets its own value: d(a*b)/da is b.data, not a.data", lambda x, y, k: (x, y))],
    "pow": [("", lambda x, y, k: (k * x ** (k - 1),)),
            ("wrong exponent: the derivative of x**k is k * x**(k - 1), not k * x**k", lambda x, y, k: (k * x ** k,)),
            ("wrong exponent: the derivative of x**k is k * x**(k - 1)", lambda x, y, k: (k * x ** (k - 2),)),
            ("the factor k is missing: the derivative of x**k is k * x**(k - 1)", lambda x, y, k: (x ** (k - 1),))],
    "tanh": [("", lambda x, y, k: (1 - math.tanh(x) ** 2,)),
             ("`1 - t` instead of `1 - t**2`: the derivative of tanh is 1 - tanh(x)**2", lambda x, y, k: (1 - math.tanh(x),)),
             ("the derivative is computed from the input x (1 - x**2) instead of the output t = tanh(x) (1 - t**2)",
              lambda x, y, k: (1 - x ** 2,)),
             ("`t**2` instead of `1 - t**2`", lambda x, y, k: (math.tanh(x) ** 2,))],
    "exp": [("", lambda x, y, k: (math.exp(x),)),
            ("the derivative is computed from the input x instead of the output: d/dx e**x is e**x, i.e. out.data",
             lambda x, y, k: (x,)),
            ("the derivative of exp is exp itself (out.data), not 1", lambda x, y, k: (1.0,)),
            ("the power rule does not apply to e**x: its derivative is e**x itself", lambda x, y, k: (x * math.exp(x - 1),))],
    "relu": [("", lambda x, y, k: (_relu_slope(x),)),
             ("relu's slope is 1 for a positive input and 0 otherwise; it is not out.data", lambda x, y, k: (max(x, 0.0),)),
             ("relu's slope is 0 for a negative input, not 1", lambda x, y, k: (1.0,)),
             ("relu's slope is 1 for a positive input and 0 for a negative one, not the other way round",
              lambda x, y, k: (1.0 - _relu_slope(x),))],
}

OVERWRITES = ("you assign the gradient (`=`) instead of adding to it (`+=`): a value used in several places "
              "must collect every contribution")
NO_UPSTREAM = ("you do not multiply by `out.grad`: the chain rule multiplies the local derivative by the "
               "gradient arriving from above")
ONLY = {(0,): "only the first operand's grad is updated; the other operand needs its share too",
        (1,): "only the second operand's grad is updated; `self.grad` needs its share too"}
NOTHING = ("calling `out._backward()` changed no gradient: is `out._backward = _backward` indented into the "
           "inner function, so that it never runs?")
INEXACT = ("close to the exact gradient but not equal to it (the check allows a relative error of 1e-12): is the "
           "derivative estimated numerically, by finite differences? Compute it from its formula")


def predict(scenario, local, accumulate, upstream, targets):
    """Leaf grads that a _backward with these traits would produce; `accumulate` holds, per
    operand line, whether that line adds (`+=`) or assigns (`=`)."""
    x, *rest = scenario.operand_values()
    derivatives = local(x, rest[0] if rest else None, scenario.exponent)
    grads = list(scenario.leaf_grads)
    g = scenario.upstream if upstream else 1.0
    for position, operand in enumerate(scenario.operands):
        if isinstance(operand, int) and position in targets:
            contribution = derivatives[position] * g
            grads[operand] = grads[operand] + contribution if accumulate[position] else contribution
    return grads


def _near(a, b):
    return type(a) is float and math.isfinite(a) and abs(a - b) <= 1e-9 * max(1.0, abs(b))


def _explains(scenario, got, local, accumulate, upstream, targets):
    try:
        prediction = predict(scenario, local, accumulate, upstream, targets)
    except (ArithmeticError, ValueError):
        return False
    return all(_near(g, p) for g, p in zip(got, prediction))


def diagnose(scenario, got, changed=True, evidence=()):
    """The mistake that explains the leaf grads `got`, if exactly one simplest one does.

    `evidence` holds more (scenario, leaf grads) answers of the same op's `_backward`; the mistake
    must explain them too. It tells apart mistakes that one case cannot: at a positive input, a
    relu slope the wrong way round changes no gradient, just like a `_backward` that never runs.
    """
    observations = [(scenario, got), *evidence]
    n = len(scenario.operands)
    all_targets = tuple(range(n))
    if _explains(scenario, got, LOCAL[scenario.op][0][1], (True,) * n, True, all_targets):
        return INEXACT  # every mistake below is then as near as the right answer: none explains it
    candidates = []
    if not changed and any(g != 0 for g in expected(scenario)[1]) \
            and all(list(g) == list(case.leaf_grads) for case, g in observations):
        candidates.append([NOTHING])
    target_choices = [all_targets] + ([(0,), (1,)] if n == 2 else [])
    line_choices = list(product((True, False), repeat=n))  # `+=` or `=` on each operand's line
    for (index, (text, local)), accumulate, upstream, targets in product(
            enumerate(LOCAL[scenario.op]), line_choices, (True, False), target_choices):
        traits = [text] if index else []
        traits += [] if all(accumulate) else [OVERWRITES]
        traits += [] if upstream else [NO_UPSTREAM]
        traits += [] if targets == all_targets else [ONLY[targets]]
        if traits and all(_explains(case, g, local, accumulate, upstream, targets) for case, g in observations):
            candidates.append(traits)
    if not candidates:
        return None
    fewest = min(len(c) for c in candidates)
    simplest = [c for c in candidates if len(c) == fewest]
    if len(simplest) == 1 or all(c == simplest[0] for c in simplest):
        return "; and ".join(simplest[0])
    return None
