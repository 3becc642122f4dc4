"""What the reading is asked and what it answers: the Cases of an op part (each call of the op's
`_backward` that the part's checks make, worked out from their requests) and the Outcome of its
proof. Plain data and float arithmetic only: the grading process uses this module, and only the
reading's own process needs sympy."""
from dataclasses import dataclass

from autograder.exercise import numeric


@dataclass(frozen=True)
class Case:
    """One call of an op's `_backward`, as the worker makes it (see the `op` and `graph` requests)."""
    leaves: tuple
    leaf_grads: tuple
    operands: tuple  # a leaf index, or ("const", value)
    upstream: float
    exponent: object = None
    children: tuple = ()  # per leaf, the data of the nodes it is made from (inside a graph); () for a leaf


def cases_from_requests(requests, op):
    """The Cases of an op part, in the order its checks make them: each `op` request is one, and
    each node of the op in a `graph` request is one, with the inputs it meets there (worked out as
    the grader's own reference walk of the graph works them out)."""
    found = []
    for operation, args in requests:
        if operation == "op":
            operands = tuple(o if isinstance(o, int) else ("const", o["const"]) for o in args["operands"])
            found.append(Case(tuple(args["leaves"]), tuple(args["leaf_grads"]), operands, args["upstream"],
                              args.get("exponent")))
        elif operation == "graph":
            found += graph_cases(args["program"], args["seed"], args["closures"], op)
    return found


def graph_cases(program, seed, closures, op):
    data, inputs = [], []
    for name, *rest in program:
        if name == "leaf":
            data.append(rest[0])
            inputs.append([])
        elif name == "node":
            data.append(rest[0])
            inputs.append(list(rest[1]))
        else:
            x = data[rest[0]]
            y = None if op.kind != "binary" else data[rest[1]] if isinstance(rest[1], int) else rest[1]["const"]
            data.append(numeric(op.forward)(x, y, rest[1] if op.kind == "power" else None))
            inputs.append([r for r in rest if isinstance(r, int)] if op.kind != "power" else [rest[0]])
    grads = [0.0] * len(program)
    grads[-1] = seed
    found = []
    for index in reversed(range(len(program))):
        name, *rest = program[index]
        if name == "node":
            for child, weight in closures.get(str(index), []):
                grads[child] += weight * grads[index]
        elif name != "leaf":
            found.append(_focus_case(program, index, data, inputs, grads, op))
    return found


def _focus_case(program, index, data, inputs, grads, op):
    """The Case of one op node of a graph, and the walk's update of its inputs' grads."""
    name, *rest = program[index]
    operand_nodes = [rest[0]] if op.kind != "binary" else rest
    distinct = sorted({r for r in operand_nodes if isinstance(r, int)})
    operands = tuple(distinct.index(r) if isinstance(r, int) else ("const", r["const"]) for r in operand_nodes)
    exponent = rest[1] if op.kind == "power" else None
    case = Case(tuple(data[i] for i in distinct), tuple(grads[i] for i in distinct), operands, grads[index], exponent,
                tuple(tuple(data[c] for c in inputs[i]) for i in distinct))
    x = data[rest[0]]
    y = None if op.kind != "binary" else data[rest[1]] if isinstance(rest[1], int) else rest[1]["const"]
    upstream = grads[index]
    for position, node in enumerate(operand_nodes):
        if isinstance(node, int):
            grads[node] += numeric(op.derivative[position])(x, y, exponent) * upstream
    return case


@dataclass(frozen=True)
class Outcome:
    """`proven`, or not: `message` says why, `kind` is "not the derivative" or "unreadable"."""
    proven: bool
    message: str = ""
    kind: str = ""
    where: str = ""
