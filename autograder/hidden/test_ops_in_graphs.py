"""Parts add, mul, pow, tanh, exp, relu again: each op's `_backward` inside generated DAGs.

Only the nodes of the op under test keep the student's `_backward`; the grader supplies every
other node's and walks the graph itself. Forward values and gradients are compared with the
reference and with central finite differences; a failure is shrunk to the smallest graph.
"""
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.hidden import graphs, scenarios
from autograder.hidden.checks import GRADING, close, expected_got, fail, per_part, show
from autograder.hidden.graphs import name


def grader_closures(program, evaluated):
    """Local derivatives, from the reference, for every node not of the op under test."""
    return {i: [[j, d] for j, d in local] for i, local in evaluated.local.items()
            if program.instructions[i][0] != program.focus}


def node_as_scenario(program, index, data, step):
    """The node's _backward call as a single-node Scenario (so its mistakes can be named)."""
    op, *rest = program.instructions[index]
    distinct = sorted(set(program.operands(index)))
    operands = tuple(distinct.index(r) if isinstance(r, int) else r for r in (rest[:1] if op == "pow" else rest))
    return scenarios.Scenario(op, tuple(data[i] for i in distinct), tuple(step.before), operands, step.out_grad,
                              rest[1] if op == "pow" else None)


def check_nodes(program, evaluated, got, code):
    """Each node of the op under test: its forward value and what its _backward added."""
    for step in got.steps:
        if program.instructions[step.node][0] != program.focus:
            continue
        if step.error is not None:
            raise step.error
        if type(step.out_grad) is not float or not all(type(b) is float for b in step.before):
            continue  # an earlier node already went wrong; that node is reported
        scenario = node_as_scenario(program, step.node, evaluated.data, step)
        _, expected, wrong = scenarios.compare(scenario, step.after)
        if wrong:
            distinct = sorted(set(program.operands(step.node)))
            diagnosis = scenarios.diagnose(scenario, step.after)
            fail(f"in a larger graph, the _backward of `{program.line(step.node)}` went wrong:", code,
                 f"  with {name(step.node)}.grad = {show(step.out_grad)}:",
                 *(f"  {expected_got(f'{name(distinct[k])}.grad to become ', expected[k], step.after[k])}"
                   for k in wrong),
                 f"  likely: {diagnosis}" if diagnosis else "")


def check_leaves(program, evaluated, got, code):
    """End to end: every leaf's gradient against the reference and finite differences."""
    fd = graphs.finite_differences(program, evaluated.data)
    for leaf, approx in fd.items():
        g, e = got.grads[leaf], evaluated.grads[leaf]
        if not close(g, e, scale=evaluated.scale[leaf]):
            fail("in a larger graph, a leaf's gradient is wrong:", code,
                 f"  {expected_got(f'{name(leaf)}.grad = ', e, g)} (finite differences give {approx:.6g})")


@pytest.mark.parametrize("op", per_part(scenarios.OPS))
@GRADING
@given(data=st.data())
def test_generated_graphs(student, op, data):
    program = data.draw(graphs.programs(op))
    evaluated = graphs.evaluate(program)
    got = student.graph(**program.request(grader_closures(program, evaluated)))
    code = textwrap.indent(program.code(), "    ")
    for i, (g, e) in enumerate(zip(got.data, evaluated.data)):
        if program.instructions[i][0] == op and not close(g, e):
            fail(f"the forward value of `{program.line(i)}` is wrong (did you change the given forward code?):",
                 code, f"  {expected_got(f'{name(i)}.data = ', e, g)}")
        if not close(g, e):
            return  # another op's forward went wrong: nothing here can be judged
    check_nodes(program, evaluated, got, code)
    check_leaves(program, evaluated, got, code)
