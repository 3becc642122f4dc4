"""Draw the computation graph that ends at a Value, as in Karpathy's lecture.

`trace` walks the graph back from a Value to its leaves; `draw_dot` turns it into a graphviz
picture: a box per Value (label | data | grad) and a small oval per operation, between the
operation's inputs and its result. A notebook shows the picture when `draw_dot(...)` is the
last line of a cell. Needs the graphviz Python package and graphviz's `dot` program.
"""
from graphviz import Digraph


def trace(root):
    """Every Value of the graph that ends at `root`, and every (input, result) edge between them."""
    nodes, edges = [], []
    seen = set()

    def visit(value):
        if value in seen:
            return
        seen.add(value)
        nodes.append(value)
        for child in value._prev:
            edges.append((child, value))
            visit(child)
    visit(root)
    return nodes, edges


def record_text(text):
    """`text` made safe inside a graphviz record box, where { } | < > have a meaning."""
    return "".join("\\" + char if char in "{}|<>\\" else char for char in str(text))


def draw_dot(root, rankdir="LR"):
    """A drawing of the graph that ends at `root`, read left to right (rankdir="TB": top to bottom)."""
    dot = Digraph(format="svg", graph_attr={"rankdir": rankdir})
    nodes, edges = trace(root)
    for value in nodes:
        name = str(id(value))
        dot.node(name, shape="record",
                 label=f"{{ {record_text(value.label)} | data {value.data:.4f} | grad {value.grad:.4f} }}")
        if value._op:
            dot.node(name + value._op, label=value._op)
            dot.edge(name + value._op, name)
    for child, result in edges:
        dot.edge(str(id(child)), str(id(result)) + result._op)
    return dot
