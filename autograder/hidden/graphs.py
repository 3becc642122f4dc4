"""Graphs for the hidden suite: expression DAGs for the ops, closure graphs for backward().

Program: an expression DAG in which only the nodes of one op (the part under test) are built
with the student's operator and keep the student's `_backward`; every other node is built with
the plain constructor from the reference's value and gets a closure from the grader whose local
derivatives come from the reference. The grader walks the graph itself, so `Value.backward()`
plays no part and whatever goes wrong belongs to that one op.

BackwardGraph: nodes whose `_backward` closures the grader supplies (each adds weight * grad to
its inputs and records that it ran), so the student's `backward()` alone decides the order.
"""
import math
import random
from dataclasses import dataclass, replace
from functools import cache

from hypothesis import assume
from hypothesis import strategies as st

import micrograd_reference as reference
from autograder import exercise
from autograder.hidden.scenarios import UPSTREAM, build, signed


def name(i):
    return "abcdefghijklmnopqrstuvwxyz"[i] if i < 26 else f"n{i}"


def plain(number):
    """A got value for evidence: a float, or the description of what came instead."""
    return number if type(number) is float else repr(number)


# ---------------------------------------------------------------- expression DAGs

@dataclass(frozen=True)
class Program:
    instructions: tuple  # ("leaf", x) | (op, i) | (op, i, j) | (op, i, ("const", c)) | (power op, i, k)
    seed: float
    focus: str

    @property
    def size(self):
        return len(self.instructions)

    def operands(self, index):
        """Node indices read by instruction `index`, one per operand position."""
        op, *rest = self.instructions[index]
        if op in ("leaf",):
            return []
        if exercise.op(op).kind == "power":
            return [rest[0]]
        return [r for r in rest if isinstance(r, int)]

    def request(self, weights):
        """The program as the worker builds it: the nodes of the op under test with the student's
        operator, every other node with the plain constructor from the reference's value (so that
        only the op under test decides what happens); `weights` are the grader's local
        derivatives for the nodes whose _backward the grader supplies."""
        data = evaluate(self).data
        program = []
        for index, (op, *rest) in enumerate(self.instructions):
            if op in ("leaf", self.focus):
                program.append([op, *({"const": r[1]} if isinstance(r, tuple) else r for r in rest)])
            else:
                program.append(["node", data[index], sorted(set(self.operands(index)))])
        grader = {str(i): w for i, w in weights.items()}
        focus = exercise.op(self.focus)
        return dict(program=program, seed=self.seed, closures=grader, method=focus.method, kind=focus.kind)

    def evidence(self, title, got_grads):
        """The program as a graph for a report: every node's value, expected and got gradient."""
        evaluated = evaluate(self)
        nodes = [{"name": name(i), "op": self.symbol(i), "data": evaluated.data[i],
                  "inputs": [name(j) for j in self.operands(i)], "expected_grad": evaluated.grads[i],
                  "got_grad": plain(got_grads[i])} for i in range(self.size)]
        return {"kind": "graph", "title": title, "root": name(self.size - 1), "nodes": nodes}

    def symbol(self, index):
        op, *rest = self.instructions[index]
        row = exercise.op(op)
        return row.label(rest[1] if row.kind == "power" else None)

    def line(self, index):
        op, *rest = self.instructions[index]
        if op == "leaf":
            return f"{name(index)} = Value({rest[0]!r})"
        row = exercise.op(op)
        if row.kind == "power":
            return f"{name(index)} = {row.expression(name(rest[0]), k=rest[1])}"
        return f"{name(index)} = {row.expression(*(name(r) if isinstance(r, int) else repr(r[1]) for r in rest))}"

    def code(self):
        lines = [self.line(i) for i in range(self.size)]
        lines.append(f"# then: {name(self.size - 1)}.grad = {self.seed!r}, and each node's _backward "
                     f"from {name(self.size - 1)} back to the leaves")
        return "\n".join(lines)


@dataclass
class Evaluated:
    """The reference's view of a Program."""
    data: list  # forward value of every node
    grads: list  # gradient of every node after the reverse walk
    scale: list  # the same walk with absolute values: how large the summed terms are
    local: dict  # node -> [(input node, local derivative)] for each operand position


def node_values(program, leaf_overrides=None):
    """Every node of the program as a reference Value; leaf i takes leaf_overrides[i] if given."""
    overrides = leaf_overrides or {}
    values = []
    for op, *rest in program.instructions:
        if op == "leaf":
            values.append(reference.Value(overrides.get(len(values), rest[0])))
        elif exercise.op(op).kind == "power":
            values.append(build(op, [values[rest[0]]], rest[1]))
        else:
            values.append(build(op, [values[r] if isinstance(r, int) else r[1] for r in rest]))
    return values


@cache
def evaluate(program):
    data = [v.data for v in node_values(program)]
    local = {i: list(zip(program.operands(i), local_derivatives(program, i, data)))
             for i in range(program.size) if program.operands(i)}
    return Evaluated(data, walk(program, local, abs_values=False), walk(program, local, abs_values=True), local)


def local_derivatives(program, index, data):
    """d node / d operand for each operand position, by the exercise's derivative of the op."""
    op, *rest = program.instructions[index]
    row = exercise.op(op)
    x = data[rest[0]]
    y = None
    if row.kind == "binary":
        y = data[rest[1]] if isinstance(rest[1], int) else rest[1][1]
    derivatives = row.local_derivatives(x, y, rest[1] if row.kind == "power" else None)
    if row.kind == "binary" and not isinstance(rest[1], int):
        derivatives = derivatives[:1]  # the constant is not a node of the program
    return derivatives


def walk(program, local, abs_values):
    grads = [0.0] * program.size
    grads[-1] = abs(program.seed) if abs_values else program.seed
    for i in reversed(range(program.size)):
        for j, d in local.get(i, []):
            grads[j] += (abs(d) if abs_values else d) * grads[i]
    return grads


@cache
def leaf_slopes(program):
    """Central differences of the root with respect to each leaf, at the program's own inputs."""
    return finite_differences(program, evaluate(program).data)


def finite_differences(program, data, h=1e-6):
    """Central differences of the root with respect to each leaf."""
    def root(leaf, value):
        return node_values(program, {leaf: value})[-1].data
    leaves = [i for i, ins in enumerate(program.instructions) if ins[0] == "leaf"]
    return {leaf: (root(leaf, data[leaf] + h) - root(leaf, data[leaf] - h)) / (2 * h) * program.seed
            for leaf in leaves}


def safe(program, data):
    """Inputs away from kinks and overflow, where analytic forms agree to ~1e-14."""
    if not all(type(v) is float and math.isfinite(v) and abs(v) <= 50 for v in data):
        return False
    for op, *rest in program.instructions:
        if op == "leaf":
            continue
        row = exercise.op(op)
        if not row.graph_inputs.for_exponent(rest[1] if row.kind == "power" else None).holds(data[rest[0]]):
            return False
    return True


LEAF, CONSTANT = signed(0.1, 1.5), signed(0.5, 2.0)
GLUE = tuple(op.part for op in exercise.OPS if op.glue)  # the other ops of a graph (their forward code is given)


@cache
def programs(focus):
    """Generated Programs for one op (built once: hypothesis analyses each strategy object)."""
    return _programs(focus, st.sampled_from(tuple(dict.fromkeys((focus, *GLUE)))))


@st.composite
def _programs(draw, focus, ops):
    """A DAG over 1-3 leaves with shared subexpressions, holding at least one `focus` node."""
    instructions = [("leaf", draw(LEAF)) for _ in range(draw(st.integers(1, 3)))]
    count = draw(st.integers(2, 7))
    focus_at = draw(st.integers(0, count - 1))
    for step in range(count):
        op = focus if step == focus_at else draw(ops)
        row = exercise.op(op)
        i = draw(st.integers(0, len(instructions) - 1))
        if row.kind == "power":
            instructions.append((op, i, draw(st.sampled_from(row.exponents))))
        elif row.kind == "unary":
            instructions.append((op, i))
        elif draw(st.booleans()):
            instructions.append((op, i, draw(st.integers(0, len(instructions) - 1))))
        else:
            instructions.append((op, i, ("const", draw(CONSTANT))))
    program = Program(tuple(instructions), draw(UPSTREAM), focus)
    try:
        evaluated = evaluate(program)
    except (ArithmeticError, ValueError, TypeError):  # 0 ** -1, overflow, ...
        assume(False)
    assume(safe(program, evaluated.data))
    fd = leaf_slopes(program)
    # well-conditioned: the reference's gradients and finite differences agree
    assume(all(abs(fd[leaf] - evaluated.grads[leaf]) <= 1e-6 * max(1.0, evaluated.scale[leaf]) for leaf in fd))
    return program


# ---------------------------------------------------------------- graphs for backward()

@dataclass(frozen=True)
class BackwardGraph:
    """Nodes and their inputs, in an order where inputs come first. backward() is called on
    `root` (the last node unless `output` says otherwise); nodes outside its graph (other outputs,
    nodes built from the output) may hold a gradient left from an earlier backward (`stale`)."""
    inputs: tuple  # per node: ((input node, weight), ...); () for a leaf; inputs come before the node
    data: tuple
    stale: tuple = ()  # per node: its grad before backward() runs; () for all 0
    output: int = -1  # the node backward() is called on; -1 for the last one

    @property
    def root(self):
        return self.output if self.output >= 0 else len(self.inputs) - 1

    @property
    def grads_before(self):
        return self.stale or (0.0,) * len(self.inputs)

    def reachable(self):
        """The nodes of the root's graph: the root and everything it reaches through inputs."""
        found, stack = {self.root}, [self.root]
        while stack:
            for child, _ in self.inputs[stack.pop()]:
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return frozenset(found)

    def layout(self):
        """The order in which the request lists the nodes: a fixed shuffle that is neither a
        topological order nor its reverse (where the graph allows), so the request's layout
        gives nothing away; layout()[position] is a node."""
        rng, order = random.Random(repr(self.inputs)), list(range(len(self.inputs)))
        for _ in range(100):
            rng.shuffle(order)
            position = {node: p for p, node in enumerate(order)}
            edges = [(position[c], position[u]) for u, ins in enumerate(self.inputs) for c, _ in ins if c != u]
            if not (all(c < u for c, u in edges) or all(c > u for c, u in edges)):
                break
        return order

    def request(self):
        order = self.layout()
        position = {node: p for p, node in enumerate(order)}
        before = self.grads_before
        nodes = [{"data": self.data[n], "inputs": [[position[c], w] for c, w in self.inputs[n]], "grad": before[n]}
                 for n in order]
        return dict(nodes=nodes, root=position[self.root])

    def in_node_order(self, got):
        """A reply to request() with the node numbers of this graph instead of the request's."""
        order = self.layout()
        position = {node: p for p, node in enumerate(order)}
        return replace(got, calls=[order[p] for p in got.calls], grads=[got.grads[position[n]] for n in range(len(order))])

    def evidence(self, title, got_grads):
        """The graph for a report: each node's weights on its inputs, expected and got gradient."""
        expected = self.expected_grads()
        nodes = [{"name": name(i), "op": "" if self.is_leaf(i) else "f", "data": self.data[i],
                  "inputs": [name(c) for c, _ in ins], "expected_grad": expected[i], "got_grad": plain(got_grads[i])}
                 for i, ins in enumerate(self.inputs)]
        return {"kind": "graph", "title": title, "root": name(self.root), "nodes": nodes}

    def is_leaf(self, i):
        return not self.inputs[i]

    def users(self, i):
        return sorted({u for u, ins in enumerate(self.inputs) for c, _ in ins if c == i})

    def expected_grads(self):
        """Every node's grad after a right backward() from the root: nodes outside its graph keep theirs."""
        grads, graph = list(self.grads_before), self.reachable()
        grads[self.root] = 1.0
        for i in reversed(range(len(self.inputs))):
            for child, weight in self.inputs[i] if i in graph else ():
                grads[child] += weight * grads[i]
        return grads

    def describe(self):
        lines = []
        for i, ins in enumerate(self.inputs):
            if ins:
                uses = ", ".join(f"{name(c)} (weight {w:g})" for c, w in ins)
                lines.append(f"{name(i)} <- {uses}")
        graph, before = self.reachable(), self.grads_before
        lines += [f"{name(i)}.grad = {g:g} before backward() (left from an earlier one)"
                  for i, g in enumerate(before) if g]
        leaves = [name(i) for i in sorted(graph) if self.is_leaf(i)]
        lines.append(f"leaves: {', '.join(leaves)}; output: {name(self.root)}")
        outside = [name(i) for i in range(len(self.inputs)) if i not in graph]
        if outside:
            lines.append(f"not in the graph of {name(self.root)}: {', '.join(outside)}; backward() is called on "
                         f"{name(self.root)}")
        if len(lines) > 14:
            lines = lines[:6] + [f"... ({len(self.inputs)} nodes in all) ..."] + lines[-6:]
        return "\n".join(lines)


WEIGHTS = (2.0, -0.5, 1.5, 3.0, -2.0, 0.25)


def graph_from(edges, data=None, stale=(), output=-1):
    """A BackwardGraph from [(input nodes)] per node, with weights cycling through WEIGHTS."""
    counter = iter(range(10 ** 6))
    inputs = tuple(tuple((c, WEIGHTS[next(counter) % len(WEIGHTS)]) for c in children) for children in edges)
    return BackwardGraph(inputs, tuple(data or (0.5 + 0.1 * i for i in range(len(edges)))), tuple(stale), output)


def chain(length):
    return graph_from([()] + [(i,) for i in range(length - 1)])


def diamond():
    # a -> b, a -> c, (b, c) -> d
    return graph_from([(), (0,), (0,), (1, 2)])


def unequal_paths(direct_first):
    """out uses x directly and through g: a level-by-level (BFS) walk reaches x too early. x is not
    a leaf: a leaf's _backward does nothing, so reaching it too early would do no harm."""
    return graph_from([(), (0,), (1, 0), (1, 2) if direct_first else (2, 1)])


def reused_input():
    """out = f(x, x): the same input twice."""
    return graph_from([(), (0, 0), (1,)])


def wide(width):
    return graph_from([()] * width + [tuple(range(width))])


def ladder(rungs, direct_first):
    """Many unequal-path motifs in a row: wrong orders fail whichever way sets happen to iterate."""
    edges = [()]
    for _ in range(rungs):
        x = len(edges) - 1
        edges.append((x,))  # g = f(x)
        g = len(edges) - 1
        edges.append((x, g) if direct_first else (g, x))  # next x uses x and g
    return graph_from(edges)


def same_data_same_inputs():
    """c = a*b; d = a*b; out = c + d: two distinct nodes with equal data. A Value that compares (or
    hashes) by data takes them for one in `visited` or in out's inputs."""
    return graph_from([(), (), (0, 1), (0, 1), (2, 3)], data=[0.5, 1.5, 0.75, 0.75, 1.5])


def same_data_unequal_depths():
    """c = f(a, b) and e = f(f(b), a) hold the same data; out uses both."""
    return graph_from([(), (), (0, 1), (1,), (3, 0), (2, 4)], data=[0.5, 1.5, 2.0, 3.0, 2.0, -1.0])


def beside_another_output():
    """x = f(a, b) is another output, holding the grad of an earlier x.backward(); backward() is
    called on out = f(f(a), b): x shares out's inputs but is not in its graph."""
    return graph_from([(), (), (0, 1), (0,), (3, 1)], stale=[0.0, 0.0, 1.0, 0.0, 0.0])


def built_from_the_output():
    """z = f(out) and w = f(z, a) are made from the output after it, and hold grads from earlier
    backward() calls: a backward() from out must not touch them (nor let them touch out)."""
    return graph_from([(), (), (0, 1), (2,), (3, 0)], stale=[0.0, 0.0, 0.0, 2.0, -1.0], output=2)


def shared_at_unequal_depths():
    """s = f(a, b); p = f(s); q = f(p, a); r = f(q); out = f(r, s, p): the interior nodes s and p
    are used both near the output and far from it."""
    return graph_from([(), (), (0, 1), (2,), (3, 0), (4,), (5, 2, 3)])


FIXED_GRAPHS = {
    "a chain of 3 nodes": chain(3),
    "a diamond": diamond(),
    "a node used directly and through another node (direct first)": unequal_paths(True),
    "a node used directly and through another node (indirect first)": unequal_paths(False),
    "a node that is both inputs of the same op": reused_input(),
    "a chain of 300 nodes": chain(300),
    "one node with 50 inputs": wide(50),
    "a ladder of 40 unequal paths": ladder(40, True),
    "a ladder of 40 unequal paths, inputs in the other order": ladder(40, False),
    "two nodes with equal data made from the same inputs (c = a*b; d = a*b; c + d)": same_data_same_inputs(),
    "two nodes with equal data at unequal depths": same_data_unequal_depths(),
    "an output beside another output that shares its inputs": beside_another_output(),
    "an output with nodes made from it afterwards": built_from_the_output(),
    "interior nodes shared at unequal depths": shared_at_unequal_depths(),
}


DATA = (0.5, 1.5, -1.0, 2.0)  # few values, so that distinct nodes often hold equal data
STALE = (0.0, 1.0, -1.5, 2.0)


@st.composite
def backward_graphs(draw):
    """Random DAGs: every node up to the output reachable from it, shared inputs, weights not 1,
    nodes with equal data; then maybe nodes outside the output's graph (other outputs, nodes made
    from the output) holding gradients from an earlier backward()."""
    n_leaves = draw(st.integers(1, 4))
    edges = [()] * n_leaves
    for _ in range(draw(st.integers(1, 25))):
        k = draw(st.integers(1, 3))
        edges.append(tuple(draw(st.integers(0, len(edges) - 1)) for _ in range(k)))
    used = {c for children in edges for c in children}
    dangling = tuple(i for i in range(len(edges) - 1) if i not in used)
    if dangling:
        edges.append(dangling + (len(edges) - 1,))
    output = len(edges) - 1
    for _ in range(draw(st.integers(0, 3))):
        edges.append(tuple(draw(st.integers(0, len(edges) - 1)) for _ in range(draw(st.integers(1, 2)))))
    weights = draw(st.lists(st.sampled_from(WEIGHTS), min_size=sum(map(len, edges)), max_size=sum(map(len, edges))))
    it = iter(weights)
    inputs = tuple(tuple((c, next(it)) for c in children) for children in edges)
    data = draw(st.lists(st.sampled_from(DATA), min_size=len(edges), max_size=len(edges)))
    stale = [0.0] * (output + 1) + [draw(st.sampled_from(STALE)) for _ in range(len(edges) - output - 1)]
    return BackwardGraph(inputs, tuple(data), tuple(stale), output)
