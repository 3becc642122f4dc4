"""The exercise's formulas (autograder/exercise.py) read by sympy, a test dependency: the tests
check each row's derivative against sympy's derivative of its forward formula, and the sympy
oracle (oracle.py) builds the ops from their forward formulas."""
import sympy

from autograder import exercise

X, Y, K = sympy.symbols("x y k", real=True)
OPERANDS = {"binary": (X, Y), "unary": (X,), "power": (X, K)}  # the symbols of each kind's operands
FUNCTIONS = {"tanh": sympy.tanh, "exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt,
             "step": lambda a: sympy.Piecewise((1, a > 0), (0, True)),
             "relu": lambda a: sympy.Piecewise((a, a > 0), (0, True))}


def symbolic(formula):
    """The formula as a sympy expression over X, Y, K."""
    return sympy.sympify(formula, locals={**FUNCTIONS, "x": X, "y": Y, "k": K})


def applied(row):
    """The op's forward formula as a function of its operands (and, for a power, its exponent)."""
    forward = symbolic(row.forward)

    def apply(*operands):
        return forward.subs(dict(zip(OPERANDS[row.kind], operands)), simultaneous=True)
    return apply


FORWARD = {row.part: applied(row) for row in exercise.OPS}
