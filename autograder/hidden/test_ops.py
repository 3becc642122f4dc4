"""Parts add, mul, pow, tanh, exp, relu: each op's `_backward` on a single node.

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
    code = textwrap.indent(scenario.code(), "    ")
    if not close(got.out, out):
        fail(f"{what}: the forward value is wrong (did you change the given forward code?)", code,
             f"  {expected_got('out.data = ', out, got.out)}")
    if wrong:
        diagnosis = scenarios.diagnose(scenario, got.leaf_grads, got.changed)
        if diagnosis is None:  # several mistakes may fit this one case: the op's fixed cases can tell them apart
            diagnosis = scenarios.diagnose(scenario, got.leaf_grads, got.changed, answers(student, scenario.op))
        fail(f"{what}:", code,
             *(f"  {expected_got(f'{scenarios.NAMES[i]}.grad = ', grads[i], got.leaf_grads[i])}" for i in wrong),
             f"  likely: {diagnosis}" if diagnosis else "")


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
