"""The op parts again (autograder/exercise.py): each op's `_backward` inside generated DAGs.

Only the nodes of the op under test are the student's (built with the student's operator,
keeping the student's `_backward`); the grader supplies every other node and walks the graph
itself. Forward values and gradients are compared with the reference and with central finite
differences; a failure is shrunk to the smallest graph.
"""
import textwrap
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder import exercise
from autograder.hidden import graphs, scenarios
from autograder.hidden.checks import GRADING, close, expected_got, fail, per_part, show
from autograder.hidden.graphs import name
from autograder.sandbox.student import malformed


def grader_closures(program, evaluated):
    """Local derivatives, from the reference, for every node not of the op under test."""
    return {i: [[j, d] for j, d in local] for i, local in evaluated.local.items()
            if program.instructions[i][0] != program.focus}


def node_as_scenario(program, index, data, step):
    """The node's _backward call as a single-node Scenario (so its mistakes can be named)."""
    op, *rest = program.instructions[index]
    power = exercise.op(op).kind == "power"
    distinct = sorted(set(program.operands(index)))
    operands = tuple(distinct.index(r) if isinstance(r, int) else r for r in (rest[:1] if power else rest))
    return scenarios.Scenario(op, tuple(data[i] for i in distinct), tuple(step.before), operands, step.out_grad,
                              rest[1] if power else None)


def check_values(program, evaluated, got):
    """Every node's value: the op under test computes its own, the rest come from the grader."""
    for i, (g, e) in enumerate(zip(got.data, evaluated.data)):
        if close(g, e):
            continue
        if program.instructions[i][0] == program.focus:
            fail(f"the forward value of `{program.line(i)}` is wrong (did you change the given forward code?):",
                 shown(program), f"  {expected_got(f'{name(i)}.data = ', e, g)}")
        fail(f"Value({show(e)}).data is {show(g)}, not the number it was given: the graph cannot be checked "
             "(does Value.__init__ change its data?)", shown(program))


def check_nodes(program, evaluated, got):
    """Each node of the op under test: what its _backward added."""
    for step in got.steps:
        if program.instructions[step.node][0] != program.focus:
            continue
        if step.error is not None:
            raise step.error
        distinct = sorted(set(program.operands(step.node)))
        if not len(step.before) == len(step.after) == len(distinct):
            raise malformed(f"the gradients of {len(distinct)} inputs of a node")
        if type(step.out_grad) is not float or not all(type(b) is float for b in step.before):
            fail(f"in a larger graph, a gradient was already wrong before the _backward of "
                 f"`{program.line(step.node)}` ran ({name(step.node)}.grad = {show(step.out_grad)}):", shown(program),
                 evidence=[program.evidence("the graph", got.grads)])
        scenario = node_as_scenario(program, step.node, evaluated.data, step)
        _, expected, wrong = scenarios.compare(scenario, step.after)
        if wrong:
            diagnosis = scenarios.diagnose(scenario, step.after)
            fail(f"in a larger graph, the _backward of `{program.line(step.node)}` went wrong:", shown(program),
                 f"  with {name(step.node)}.grad = {show(step.out_grad)}:",
                 *(f"  {expected_got(f'{name(distinct[k])}.grad to become ', expected[k], step.after[k])}"
                   for k in wrong),
                 f"  likely: {diagnosis}" if diagnosis else "",
                 misconceptions=diagnosis.split("; and ") if diagnosis else [],
                 evidence=[program.evidence(f"the _backward of {program.line(step.node)}", got.grads)])
    if not any(program.instructions[step.node][0] == program.focus for step in got.steps):
        fail(f"in a larger graph, the _backward of {program.focus} never ran", shown(program))


def check_leaves(program, evaluated, got):
    """End to end: every leaf's gradient against the reference and finite differences."""
    for leaf, approx in graphs.leaf_slopes(program).items():
        g, e = got.grads[leaf], evaluated.grads[leaf]
        if not close(g, e, scale=evaluated.scale[leaf]):
            fail("in a larger graph, a leaf's gradient is wrong:", shown(program),
                 f"  {expected_got(f'{name(leaf)}.grad = ', e, g)} (finite differences give {approx:.6g})",
                 evidence=[program.evidence("a leaf's gradient", got.grads)])


def shown(program):
    """The program as code the student can run, for a failure's message."""
    return textwrap.indent(program.code(), "    ")


@cache
def request(program):
    """The graph request for a program (the same for every submission)."""
    return program.request(grader_closures(program, graphs.evaluate(program)))


def check_program(student, program):
    evaluated = graphs.evaluate(program)
    got = student.graph(**request(program))
    check_values(program, evaluated, got)
    check_nodes(program, evaluated, got)
    check_leaves(program, evaluated, got)


@pytest.mark.parametrize("op", per_part(scenarios.OPS))
@GRADING
@given(data=st.data())
def test_generated_graphs(student, op, data):
    check_program(student, data.draw(graphs.programs(op)))
