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


OUTSIDE = ("walk only the nodes that the output reaches through the inputs each node keeps (`_prev`), not every "
           "Value ever made")
SAME_DATA = ("Value seems to compare (`__eq__`) or hash (`__hash__`) nodes by their data, so `visited` or a set of "
             "inputs takes distinct nodes with equal data for one; tell nodes apart by identity (keep the `__eq__` "
             "and `__hash__` of `object`)")


def order_problems(graph, calls, equal_by_data=False):
    """What is wrong with the sequence of _backward calls, in words; [] when nothing is.
    `equal_by_data`: two new Values holding the same number compare equal (the worker's word)."""
    if not calls:
        return ["backward() did not call any node's _backward"]
    counts = Counter(calls)
    twice = [i for i, n in counts.items() if n > 1]
    if twice:
        listed = ", ".join(f"{name(i)} {counts[i]} times" for i in sorted(twice)[:5])
        return [f"some nodes were processed more than once ({listed}): keep a `visited` set so each node "
                "enters the topological order once"]
    in_graph = graph.reachable()
    outside = sorted(i for i in counts if i not in in_graph)
    if outside:
        return [f"backward() ran the _backward of {', '.join(name(i) for i in outside[:5])}, outside the graph of "
                f"{name(graph.root)}: {OUTSIDE}"]
    inner = [i for i in sorted(in_graph) if not graph.is_leaf(i)]
    never = [i for i in inner if counts[i] == 0]
    if never:
        merged = same_data_problem(graph, never, counts) if equal_by_data else ""
        return [merged or f"the _backward of {', '.join(name(i) for i in never[:5])} never ran: the order must hold "
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


def same_data_problem(graph, never, counts):
    """For a Value whose instances compare equal by data: when every node whose _backward never
    ran holds the same data as one whose _backward did, they were taken for one; "" otherwise."""
    twins = [(i, next((j for j in counts if graph.data[j] == graph.data[i]), None)) for i in never]
    if not all(j is not None for _, j in twins):
        return ""
    i, j = twins[0]
    return (f"the _backward of {name(i)} never ran, while that of {name(j)}, which holds the same data "
            f"({graph.data[i]:g}), did: {SAME_DATA}")


def seed_problem(graph, grads, expected):
    root = grads[graph.root]
    if root == 0.0:
        return "the output's grad was never set to 1: set `self.grad = 1` before walking the graph"
    in_graph = graph.reachable()
    if root == 1.0 and all(g == 0.0 for i, g in enumerate(grads) if i != graph.root and i in in_graph) \
            and any(e != 0.0 for i, e in enumerate(expected) if i != graph.root and i in in_graph):
        return "no gradient reached the inputs: set `self.grad = 1` before calling any _backward, not after"
    if not close(root, 1.0):
        return f"the output's grad should be 1 after backward(), it is {show(root)}"
    return ""


def check_backward(student, graph, what):
    got = graph.in_node_order(student.backward(**graph.request()))
    expected = graph.expected_grads()
    problems = order_problems(graph, got.calls, got.equal_by_data)
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
