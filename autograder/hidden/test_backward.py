"""Part backward: `Value.backward()` on graphs whose `_backward` closures the grader supplies.

The closures record when they run and add weight * grad to their inputs, so only the order
in which backward() calls them (and whether it seeds the output with 1) decides the result:
the student's op code plays no part. Graphs include unequal path lengths, so a level-by-level
walk cannot pass by luck, and `_prev` iterates in an order the grader chooses.
"""
from collections import Counter

import pytest
from hypothesis import given

from autograder.hidden import graphs
from autograder.hidden.checks import GRADING, close, expected_got, fail, show
from autograder.hidden.graphs import name

pytestmark = pytest.mark.part("backward")

ORDER_HINT = ("build a topological order depth-first (visit a node's inputs first, append the node after "
              "them), then call _backward walking that list in reverse")


def order_problems(graph, calls):
    """What is wrong with the sequence of _backward calls, in words; [] when nothing is."""
    if not calls:
        return ["backward() did not call any node's _backward"]
    counts = Counter(calls)
    twice = [i for i, n in counts.items() if n > 1]
    if twice:
        listed = ", ".join(f"{name(i)} {counts[i]} times" for i in sorted(twice)[:5])
        return [f"some nodes were processed more than once ({listed}): keep a `visited` set so each node "
                "enters the topological order once"]
    inner = [i for i in range(len(graph.inputs)) if not graph.is_leaf(i)]
    never = [i for i in inner if counts[i] == 0]
    if never:
        return [f"the _backward of {', '.join(name(i) for i in never[:5])} never ran: the order must hold "
                "every node reachable from the output"]
    first = {node: n for n, node in reversed(list(enumerate(calls)))}
    early = [(child, user) for user in inner for child, _ in graph.inputs[user]
             if not graph.is_leaf(child) and first[child] < first[user]]
    if not early:
        return []
    if all(first[child] < first[user] for user in inner for child, _ in graph.inputs[user] if not graph.is_leaf(child)):
        return ["the _backward calls run from the leaves towards the output: walk the topological order in "
                "reverse (`for node in reversed(topo)`)"]
    child, user = early[0]
    return [f"{name(child)}'s _backward ran before that of {name(user)}, which uses {name(child)}, had passed its "
            f"gradient on: {ORDER_HINT}"]


def seed_problem(graph, grads, expected):
    root = grads[graph.root]
    if root == 0.0:
        return "the output's grad was never set to 1: set `self.grad = 1` before walking the graph"
    if root == 1.0 and all(g == 0.0 for i, g in enumerate(grads) if i != graph.root) \
            and any(e != 0.0 for i, e in enumerate(expected) if i != graph.root):
        return "no gradient reached the inputs: set `self.grad = 1` before calling any _backward, not after"
    if not close(root, 1.0):
        return f"the output's grad should be 1 after backward(), it is {show(root)}"
    return ""


def check_backward(student, graph, what):
    got = graph.in_node_order(student.backward(**graph.request()))
    expected = graph.expected_grads()
    problems = order_problems(graph, got.calls)
    seed = seed_problem(graph, got.grads, expected)
    wrong = [i for i, (g, e) in enumerate(zip(got.grads, expected)) if not close(g, e, scale=abs(e))]
    if problems or seed or wrong:
        called = ", ".join(name(i) for i in got.calls[:12]) + (" ..." if len(got.calls) > 12 else "")
        likely = ([seed] if seed else []) + problems
        fail(f"backward() on {what}:", *("    " + line for line in graph.describe().splitlines()),
             f"  your backward() called _backward on: {called or 'nothing'}",
             *(f"  {expected_got(f'{name(i)}.grad = ', expected[i], got.grads[i])}" for i in wrong[:3]),
             *(f"  likely: {p}" for p in likely),
             misconceptions=[misconception(p) for p in likely],
             evidence=[graph.evidence(f"backward() on {what}", got.grads)] if len(graph.inputs) <= 60 else [])


def misconception(problem):
    """The advice part of a problem (after the node names): the same mistake reads the same everywhere."""
    return problem.rsplit(": ", 1)[-1]


@pytest.mark.parametrize("what", graphs.FIXED_GRAPHS)
def test_fixed_graph(student, what):
    check_backward(student, graphs.FIXED_GRAPHS[what], what)


@GRADING
@given(graph=graphs.backward_graphs())
def test_generated_graph(student, graph):
    check_backward(student, graph, "a generated graph (the smallest that fails)")
