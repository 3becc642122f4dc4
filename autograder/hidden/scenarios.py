"""One primitive op on one node: the cases, their expected results and the mistakes we recognise.

A Scenario builds `out = a OP b` (or `a OP const`, `a OP a`, `a ** k`, `a.tanh()`...) from
leaves whose grads may be pre-set, sets `out.grad` to an upstream gradient and calls
`out._backward()` once. The reference engine runs the same scenario for the expected answer.
"""
import math
import operator
from dataclasses import dataclass
from functools import cache
from itertools import product

from hypothesis import strategies as st

import micrograd_reference as reference
from autograder import exercise
from autograder.hidden.checks import close

OPS = tuple(op.part for op in exercise.OPS)
BINARY = tuple(op.part for op in exercise.OPS if op.kind == "binary")
NAMES = ("a", "b")


@dataclass(frozen=True)
class Scenario:
    op: str
    leaves: tuple
    leaf_grads: tuple
    operands: tuple  # leaf index, or ("const", c)
    upstream: float
    exponent: object = None

    @property
    def row(self):
        return exercise.op(self.op)

    def request(self):
        operands = [o if isinstance(o, int) else {"const": o[1]} for o in self.operands]
        return dict(op=self.op, method=self.row.method, kind=self.row.kind, leaves=list(self.leaves),
                    leaf_grads=list(self.leaf_grads), operands=operands, upstream=self.upstream,
                    exponent=self.exponent)

    def operand_values(self):
        return [self.leaves[o] if isinstance(o, int) else o[1] for o in self.operands]

    def expression(self):
        a, *other = [NAMES[o] if isinstance(o, int) else repr(o[1]) for o in self.operands]
        return self.row.expression(a, *other, k=self.exponent)

    def code(self):
        """The case as the Python a student can paste and run."""
        lines = []
        for name, data, grad in zip(NAMES, self.leaves, self.leaf_grads):
            lines.append(f"{name} = Value({data!r})" + (f"; {name}.grad = {grad!r}" if grad else ""))
        lines += [f"out = {self.expression()}", f"out.grad = {self.upstream!r}", "out._backward()"]
        return "\n".join(lines)


def evidence(scenario, got_grads, title):
    """The scenario as a graph for a report: the leaves (and a constant), the output, expected and
    got gradients of the leaves."""
    out, grads = expected(scenario)
    leaves = [{"name": NAMES[i], "op": "", "data": x, "inputs": [], "expected_grad": grads[i],
               "got_grad": got if type(got) is float else repr(got)}
              for i, (x, got) in enumerate(zip(scenario.leaves, got_grads))]
    inputs = [NAMES[o] if isinstance(o, int) else repr(o[1]) for o in scenario.operands]
    output = {"name": "out", "op": scenario.row.label(scenario.exponent), "data": out, "inputs": inputs,
              "expected_grad": scenario.upstream, "got_grad": scenario.upstream}
    return {"kind": "graph", "title": title, "root": "out", "nodes": [*leaves, output]}


def build(op, args, exponent=None):
    """`args[0] OP args[1]` (or `args[0] ** exponent`, `args[0].op()`) with the operands' own class."""
    row = exercise.op(op)
    a, *other = (args[0], exponent) if row.kind == "power" else args
    dunder = row.kind != "unary" and exercise.is_operator(row.method)
    operator_function = getattr(operator, row.method, None) if dunder else None
    if operator_function is not None:  # as `a + b` or `a ** k` would, reflected methods included
        return operator_function(a, *other)
    return getattr(a, row.method)(*other)


def compare(scenario, got_grads):
    """(expected out.data, expected leaf grads, indices of the wrong ones in `got_grads`). The
    tolerance scales with what a grad held before plus what the _backward added: the sum is
    rounded to that size."""
    out, grads = expected(scenario)
    wrong = [i for i, (g, e, g0) in enumerate(zip(got_grads, grads, scenario.leaf_grads))
             if not close(g, e, scale=abs(g0) + abs(e - g0))]
    return out, grads, wrong


@cache
def expected(scenario):
    """(out.data, (leaf grads)) from the reference engine."""
    leaves = [reference.Value(x) for x in scenario.leaves]
    for leaf, grad in zip(leaves, scenario.leaf_grads):
        leaf.grad = grad
    args = [leaves[o] if isinstance(o, int) else o[1] for o in scenario.operands]
    out = build(scenario.op, args, scenario.exponent)
    out.grad = scenario.upstream
    out._backward()
    return out.data, tuple(leaf.grad for leaf in leaves)


# ---------------------------------------------------------------- fixed cases, chosen so mistakes differ

def single_node(op):
    """Fresh leaves, upstream gradient not 1."""
    row = exercise.op(op)
    leaves = row.single_node
    return Scenario(op, leaves, (0.0,) * len(leaves), tuple(range(len(leaves))), -1.5, fixed_exponent(row, 0))


def accumulating(op):
    """Leaf grads already hold something, as when a value is used in several places."""
    row = exercise.op(op)
    leaves = row.accumulating
    grads = (0.25, -0.5)[:len(leaves)]
    return Scenario(op, leaves, grads, tuple(range(len(leaves))), 2.5, fixed_exponent(row, 1))


def fixed_exponent(row, case):
    return row.fixed_exponents[case] if row.kind == "power" else None


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


@cache
def drawn(inputs):
    """A strategy for floats in `inputs` (an exercise.Inputs)."""
    return signed(inputs.low, inputs.high) if inputs.signed else st.floats(inputs.low, inputs.high)


UPSTREAM = signed(0.25, 4.0).filter(lambda g: abs(g - 1.0) > 0.1)
LEAF_GRAD = st.one_of(st.just(0.0), signed(0.1, 3.0))
SHAPES = st.sampled_from(("two leaves", "same leaf", "constant"))


@cache
def scenarios(op):
    """Generated Scenarios for one op (built once: hypothesis analyses each strategy object)."""
    return _scenarios(op)


@st.composite
def _scenarios(draw, op):
    row = exercise.op(op)
    upstream = draw(UPSTREAM)
    if row.kind == "power":
        k = draw(st.sampled_from(row.exponents))
        base = draw(drawn(row.inputs.for_exponent(k)))
        return Scenario(op, (base,), (draw(LEAF_GRAD),), (0,), upstream, k)
    domain = drawn(row.inputs)
    if row.kind == "unary":
        return Scenario(op, (draw(domain),), (draw(LEAF_GRAD),), (0,), upstream)
    shape = draw(SHAPES)
    if shape == "two leaves":
        return Scenario(op, (draw(domain), draw(domain)), (draw(LEAF_GRAD), draw(LEAF_GRAD)), (0, 1), upstream)
    if shape == "same leaf":
        return Scenario(op, (draw(domain),), (draw(LEAF_GRAD),), (0, 0), upstream)
    return Scenario(op, (draw(domain),), (draw(LEAF_GRAD),), (0, ("const", draw(domain))), upstream)


# ---------------------------------------------------------------- recognising mistakes

def explanations(op):
    """(description, local derivatives (x, y, k) -> one per operand) for the op: the right one
    first (described by ""), then the op's known mistakes, each seen in real student code."""
    row = exercise.op(op)
    return [("", exercise.derivatives(row.derivative)),
            *((hint, exercise.derivatives(formulas)) for formulas, hint in row.mistakes)]


OVERWRITES = ("you assign the gradient (`=`) instead of adding to it (`+=`): a value used in several places "
              "must collect every contribution")
NO_UPSTREAM = ("you do not multiply by `out.grad`: the chain rule multiplies the local derivative by the "
               "gradient arriving from above")
ONLY = {(0,): "only the first operand's grad is updated; the other operand needs its share too",
        (1,): "only the second operand's grad is updated; `self.grad` needs its share too"}
INPUT_GRAD = {frozenset({0}): "`self.grad`", frozenset({1}): "`other.grad`",
              frozenset({0, 1}): "`self.grad` and `other.grad`"}
UPSTREAM_FROM_INPUT = (" in place of `out.grad`: the chain rule multiplies the local derivative by the gradient of the "
                       "op's output, not of an input")
INEXACT = ("close to the exact gradient but not equal to it (the check allows a relative error of 1e-12): is the "
           "derivative estimated numerically, by finite differences? Compute it from its formula")


def predict(scenario, local, accumulate, upstream, targets):
    """Leaf grads that a _backward with these traits would produce; `accumulate` holds, per
    operand line, whether that line adds (`+=`) or assigns (`=`); `upstream`, per operand line,
    what it multiplies by: "out" (out.grad), "one" (nothing) or the position of the operand whose
    grad it reads instead (0 for self, 1 for other), as it stands when that line runs."""
    x, *rest = scenario.operand_values()
    derivatives = local(x, rest[0] if rest else None, scenario.exponent)
    grads = list(scenario.leaf_grads)
    for position, operand in enumerate(scenario.operands):
        if isinstance(operand, int) and position in targets:
            contribution = derivatives[position] * upstream_value(scenario, upstream[position], grads)
            grads[operand] = grads[operand] + contribution if accumulate[position] else contribution
    return grads


def upstream_value(scenario, source, grads):
    if source == "out":
        return scenario.upstream
    if source == "one":
        return 1.0
    operand = scenario.operands[source]
    return grads[operand] if isinstance(operand, int) else 0.0  # a number operand is a new Value: grad 0


def upstream_choices(n):
    """What each of n operand lines may multiply by: out.grad in all, nothing in all, or an
    input's grad in some (out.grad in the others)."""
    wrong = [sources for sources in product(("out", *range(n)), repeat=n) if sources != ("out",) * n]
    return [("out",) * n, ("one",) * n, *wrong]


def upstream_trait(sources):
    if sources[0] == "one":
        return [NO_UPSTREAM]
    read = frozenset(s for s in sources if s != "out")
    return [INPUT_GRAD[read] + UPSTREAM_FROM_INPUT] if read else []


def _near(a, b):
    return type(a) is float and math.isfinite(a) and abs(a - b) <= 1e-9 * max(1.0, abs(b))


def _explains(scenario, got, local, accumulate, upstream, targets):
    try:
        prediction = predict(scenario, local, accumulate, upstream, targets)
    except (ArithmeticError, ValueError):
        return False
    return all(_near(g, p) for g, p in zip(got, prediction))


def diagnose(scenario, got, evidence=()):
    """The mistake in the gradient formula that explains the leaf grads `got`, if exactly one
    simplest one does.

    `evidence` holds more (scenario, leaf grads) answers of the same op's `_backward`; the mistake
    must explain them too. It tells apart mistakes that one case cannot: at a positive input, a
    relu slope the wrong way round changes no gradient, which `a.relu()` at a negative input shows.
    A `_backward` that changes no gradient at all for another reason is `unchanged_cause`'s to name;
    from cases that all changed nothing, nothing is named: they fit too many causes.
    """
    observations = [(scenario, got), *evidence]
    if all(list(g) == list(case.leaf_grads) for case, g in observations):
        return None
    n = len(scenario.operands)
    all_targets = tuple(range(n))
    known = explanations(scenario.op)
    if _explains(scenario, got, known[0][1], (True,) * n, ("out",) * n, all_targets):
        return INEXACT  # every mistake below is then as near as the right answer: none explains it
    candidates = []
    target_choices = [all_targets] + ([(0,), (1,)] if n == 2 else [])
    line_choices = list(product((True, False), repeat=n))  # `+=` or `=` on each operand's line
    for (index, (text, local)), accumulate, upstream, targets in product(
            enumerate(known), line_choices, upstream_choices(n), target_choices):
        traits = [text] if index else []
        traits += [] if all(accumulate) else [OVERWRITES]
        traits += upstream_trait(upstream)
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


# ---------------------------------------------------------------- a _backward that changed no gradient

# What the node itself shows (the worker's `anatomy` probe): each cause is named only when the
# node shows it. The stable texts below are the misconceptions; the feedback line adds specifics.
WRITES_ELSEWHERE = "the _backward writes the gradient to another attribute than `.grad`"
RETURNS = "the _backward returns the gradient instead of adding it to the inputs' `.grad`"
INDENTED = "`out._backward = _backward` is indented into the inner function, so it never runs"
HOOKED_TO_INPUT = "the _backward is attached to the input (`self._backward = ...`) instead of to `out`"
HOOKED_ELSEWHERE = "the _backward is attached to `out` under another name than `_backward`"
NEVER_HOOKED = "the _backward is never attached to `out` (`out._backward = _backward` is missing)"
COMPOSED = ("the op is built from other operations, so the output's `_backward` belongs to one of those: "
            "the exercise asks for the op's own `_backward`")


GRAPH_ATTRIBUTES = {"_backward", "_prev", "_op", "label"}  # written, they are not a gradient written elsewhere


def unchanged_cause(scenario, anatomy):
    """(feedback line, misconception) for why `out._backward()` changed no input's grad, as the
    node taken apart shows it; None when it shows a node made the way the exercise asks (then
    the numbers are `diagnose`'s to explain) or when it shows nothing conclusive."""
    names = [NAMES[i] for i in range(len(scenario.leaves))]
    written = [f"{name}.{attribute}" for name, attributes in zip(names, anatomy.written) for attribute in attributes
               if attribute not in GRAPH_ATTRIBUTES]
    if written:
        return (f"calling `out._backward()` left `.grad` alone but wrote `{written[0]}`: the gradient belongs in "
                "`.grad` (`self.grad += ...`), which backward() and the optimizer read", WRITES_ELSEWHERE)
    if anatomy.returned is not None:
        what = "a number" if type(anatomy.returned) is float else repr(anatomy.returned)
        return (f"`out._backward()` returned {what} and changed no `.grad`: nothing uses what a _backward "
                "returns; it must add to its inputs' grads (`self.grad += ...`)", RETURNS)
    if anatomy.attached_is_default and "__init__" in anatomy.default_origin:
        return _never_attached(anatomy)
    if anatomy.direct_inputs is not None and not all(anatomy.direct_inputs):
        outside = [name for name, direct in zip(names, anatomy.direct_inputs) if not direct]
        op = f" (a `{anatomy.out_op}` node)" if anatomy.out_op else ""
        return (f"`{scenario.expression()}` returns a node built from other operations{op} whose inputs do not "
                f"include `{outside[0]}`, so `out._backward()` passes the gradient only to an intermediate node. "
                f"The exercise asks for {scenario.op}'s own `_backward`: one node made from `self` (as the given "
                "code does), with a `_backward` that adds to `self.grad`", COMPOSED)
    return None


def _never_attached(anatomy):
    start = "the lambda that Value.__init__ gives" if anatomy.default_origin.endswith("<lambda>") else \
        f"`{anatomy.default_origin}`, which Value.__init__ gives"
    still = f"`out._backward` is still {start} every new Value, so calling it changed nothing"
    if anatomy.other_functions:
        return (f"{still}: your _backward is attached as `out.{anatomy.other_functions[0]}`; backward() calls "
                "`out._backward`", HOOKED_ELSEWHERE)
    if any(anatomy.inputs_rehooked):
        return (f"{still}: building `out` replaced the input's `_backward` instead; attach the function to the "
                "output: `out._backward = _backward`", HOOKED_TO_INPUT)
    if anatomy.hook_inside:
        return (f"{still}: `out._backward = _backward` is indented into the inner function, so it never runs; "
                "move it out, level with `def _backward():`", INDENTED)
    return (f"{still}: nothing attaches your _backward to `out`; after the inner function write "
            "`out._backward = _backward`", NEVER_HOOKED)
