"""The op parts (one per row of autograder/exercise.py): each op's `_backward` on a single node.

Every case calls `out._backward()` once with an upstream gradient other than 1 (so a missing
`* out.grad` shows); some pre-set the inputs' grads (so `=` instead of `+=` shows) or use one
value as both operands (`a * a`).
"""
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.hidden import scenarios
from autograder.hidden.checks import GRADING, close, expected_got, fail, per_part
from autograder.sandbox.client import WorkerFailure


def answers(student, op):
    """(scenario, leaf grads) for each of the op's fixed cases that the student's code answers."""
    found = []
    for case in scenarios.fixed(op):
        try:
            found.append((case, student.op(**case.request()).leaf_grads))
        except WorkerFailure:
            pass
    return found


def check(student, scenario, what):
    got = student.op(**scenario.request())
    out, grads, wrong = scenarios.compare(scenario, got.leaf_grads)
    if not close(got.out, out):
        fail(f"{what}: the forward value is wrong (did you change the given forward code?)",
             textwrap.indent(scenario.code(), "    "), f"  {expected_got('out.data = ', out, got.out)}")
    if wrong:
        line, misconceptions = likely_mistake(student, scenario, got)
        fail(f"{what}:", textwrap.indent(scenario.code(), "    "),
             *(f"  {expected_got(f'{scenarios.NAMES[i]}.grad = ', grads[i], got.leaf_grads[i])}" for i in wrong),
             f"  likely: {line}" if line else "",
             misconceptions=misconceptions,
             evidence=[scenarios.evidence(scenario, got.leaf_grads, what)])


def likely_mistake(student, scenario, got):
    """(feedback line, misconceptions) naming the mistake the evidence shows, or ("", []).

    A `_backward` that changed no gradient is first taken apart (how `out` was built, what its
    `_backward` is, returned and wrote): that names mistakes that no gradient formula explains.
    Otherwise the leaf grads are matched against known wrong formulas, which must explain the op's
    fixed cases too: one case may fit several mistakes (when nothing changed, it always does: a
    `_backward` that does nothing at all fits a relu slope the wrong way round at a positive
    input), or fit one that the others refute (`other.grad` read where `out.grad` belongs looks,
    on fresh inputs, like only the first operand updated)."""
    if not got.changed:
        cause = structural_cause(student, scenario)
        if cause is not None:
            return cause[0], [cause[1]]
    diagnosis = scenarios.diagnose(scenario, got.leaf_grads, answers(student, scenario.op))
    return (diagnosis, diagnosis.split("; and ")) if diagnosis else ("", [])


def structural_cause(student, scenario):
    """What the op's node, taken apart by the worker, shows about a _backward that changed nothing."""
    try:
        anatomy = student.anatomy(**scenario.request())
    except WorkerFailure:
        return None
    return scenarios.unchanged_cause(scenario, anatomy)


@pytest.mark.parametrize("op", per_part(scenarios.OPS))
def test_single_node(student, op):
    check(student, scenarios.single_node(op), "one node, fresh inputs, out.grad not 1")


@pytest.mark.parametrize("op", per_part(scenarios.OPS))
def test_gradient_accumulates(student, op):
    check(student, scenarios.accumulating(op), "inputs whose grad already holds a value")


@pytest.mark.parametrize("op", per_part(scenarios.BINARY))
def test_same_value_twice(student, op):
    check(student, scenarios.reused(op), "the same value as both operands")


@pytest.mark.parametrize("op", per_part(scenarios.BINARY))
def test_number_operand(student, op):
    check(student, scenarios.with_constant(op), "a plain number as the other operand")


@pytest.mark.parametrize("op", per_part(scenarios.OPS))
@GRADING
@given(data=st.data())
def test_generated_cases(student, op, data):
    check(student, data.draw(scenarios.scenarios(op)), "a generated case (the smallest that fails)")
