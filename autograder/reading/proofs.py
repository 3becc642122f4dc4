"""Proving an op's gradient formula: the code the worker ran, read at every input it was given.

For every call of an op's `_backward` that the part's checks make (in their order, so state a
submission keeps between calls is followed too), the reading builds the same node with the
submission's own classes, on symbols instead of numbers: a.data = a, b.data = b, the leaves'
grads ga and gb, the upstream gradient G. What the `_backward` leaves in each leaf's grad is then
an exact formula, which must equal, as a formula, ga + G * (the op's derivative), the derivative
taken from the exercise's definition. Branches are decided at the call's own inputs, so the
formula is the one of the path Python took there. A numerical estimate of the derivative, in
whatever form (differences, complex steps, extrapolation, a series), is a different formula and
fails, whatever its numerical error.
"""
from functools import cache

import sympy

from autograder.reading.cases import Outcome
from autograder.reading.errors import ReadingStopped, Unreadable
from autograder.reading.numbers import Point, Real, exact, reading_at, short
from autograder.reading.objects import Class, Function
from autograder.worker.probes import is_children_name

A, B, C = (sympy.Symbol(n, real=True) for n in ("a", "b", "c"))
GA, GB, G = (sympy.Symbol(n, real=True) for n in ("ga", "gb", "G"))
LEAF_SYMBOLS, GRAD_SYMBOLS = (A, B), (GA, GB)
X, Y, K = (sympy.Symbol(n, real=True) for n in ("x", "y", "k"))
VOCABULARY = {"tanh": sympy.tanh, "exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt, "step": sympy.Heaviside,
              "relu": lambda e: sympy.Max(e, 0), "x": X, "y": Y, "k": K}


@cache
def symbolic(formula):
    return sympy.sympify(formula, locals=VOCABULARY)


def expected_grads(op, case, values):
    """{leaf index: exact expected grad} for the case, in the case's symbols."""
    operand_values = [LEAF_SYMBOLS[o] if isinstance(o, int) else C for o in case.operands]
    substitution = {X: operand_values[0]}
    if len(operand_values) > 1:
        substitution[Y] = operand_values[1]
    if case.exponent is not None:
        substitution[K] = exact(case.exponent)
    grads = {i: GRAD_SYMBOLS[i] for i in range(len(case.leaves))}
    for position, operand in enumerate(case.operands):
        if isinstance(operand, int):
            grads[operand] += G * symbolic(op.derivative[position]).xreplace(substitution)
    return grads


def child_symbol(leaf, n):
    return sympy.Symbol(f"{LEAF_SYMBOLS[leaf]}_{n}", real=True)


def case_point(case):
    values = {LEAF_SYMBOLS[i]: exact(x) for i, x in enumerate(case.leaves)}
    values.update({child_symbol(i, n): exact(x) for i, children in enumerate(case.children) for n, x in enumerate(children)})
    values.update({GRAD_SYMBOLS[i]: exact(g) for i, g in enumerate(case.leaf_grads)})
    values[G] = exact(case.upstream)
    constants = [o[1] for o in case.operands if not isinstance(o, int)]
    if constants:
        values[C] = exact(constants[0])
    return Point(values)


def run_case(interpreter, value_class, op, case):
    """Build the case's node with the submission's Value on symbols, call its _backward, and
    return (leaf grads as read, the point)."""
    import operator

    point = case_point(case)
    with reading_at(point):
        leaves = [build_input(interpreter, value_class, i, len(case.children[i]) if case.children else 0)
                  for i in range(len(case.leaves))]
        for leaf, symbol in zip(leaves, GRAD_SYMBOLS):
            interpreter.set_attribute(leaf, "grad", Real(symbol))
        operands = [leaves[o] if isinstance(o, int) else Real(C) for o in case.operands]
        if op.kind == "binary":
            out = getattr(operator, op.method)(*operands)
        elif op.kind == "power":
            exponent = case.exponent if isinstance(case.exponent, int) else Real(exact(case.exponent))
            out = operator.pow(operands[0], exponent)
        else:
            out = interpreter.call(interpreter.get_attribute(operands[0], op.method), [], {})
        interpreter.set_attribute(out, "grad", Real(G))
        interpreter.call(interpreter.get_attribute(out, "_backward"), [], {})
        grads = [interpreter.get_attribute(leaf, "grad") for leaf in leaves]
    return leaves, grads, point


def build_input(interpreter, value_class, leaf, children):
    """An input of the node: a fresh leaf, or (inside a graph) a node made from that many
    children, built as the worker builds it: through the constructor's parameter for a node's
    inputs when it has one (worker/probes.py, `Children`), else as a leaf given them in `_prev`."""
    symbol = LEAF_SYMBOLS[leaf]
    if not children:
        return interpreter.call(value_class, [Real(symbol)], {})
    made = tuple(interpreter.call(value_class, [Real(child_symbol(leaf, n))], {}) for n in range(children))
    name, kind = children_parameter(value_class)
    if kind == "star":
        return interpreter.call(value_class, [Real(symbol), *made], {})
    if kind:
        return interpreter.call(value_class, [Real(symbol)], {name: made})
    node = interpreter.call(value_class, [Real(symbol)], {})
    interpreter.set_attribute(node, "_prev", set(made))
    return node


def children_parameter(value_class):
    """(name, "named" | "star") of the parameter of the submission's `Value.__init__` that takes a
    node's inputs, by the worker's rule for its name; (None, None) when there is none."""
    found, init = value_class.lookup("__init__")
    if isinstance(init, Function):
        spec = init.node.args
        named = [a.arg for a in (*spec.args[2:], *spec.kwonlyargs)]
        for name in named:
            if is_children_name(name):
                return name, "named"
        if spec.vararg is not None and is_children_name(spec.vararg.arg):
            return spec.vararg.arg, "star"
        return None, None
    fields = [f.name for f in value_class.namespace.get("__dataclass_fields__", {}).values() if f.init][1:]
    return next(((name, "named") for name in fields if is_children_name(name)), (None, None))


def shape(case):
    """What a case's path depends on besides its numbers: reading one case of a shape proves
    another of that shape whose numbers take the same branches."""
    operands = tuple(o if isinstance(o, int) else "const" for o in case.operands)
    exponent = (type(case.exponent).__name__, case.exponent)
    return len(case.leaves), operands, exponent, tuple(len(c) for c in case.children)


def prove(interpreter, value_class, op, cases):
    """The Outcome of reading every case of one op."""
    if not isinstance(value_class, Class):
        return Outcome(False, "the grader could not find the class Value that it grades", "unreadable")
    proven = {}  # shape -> points of cases read and proven, whose paths need no second reading
    for case in cases:
        known = proven.get(shape(case), [])
        if known and not interpreter.stateful:
            values = case_point(case).values
            if any(point.holds_at(values) for point in known):
                continue
        interpreter.begin_case()
        try:
            leaves, grads, point = run_case(interpreter, value_class, op, case)
        except ReadingStopped:
            raise
        except Exception as error:  # the worker ran this case without an error: the reading diverged
            raise Unreadable(f"the reading of this case raised {type(error).__name__}: {error}",
                             interpreter.where()) from None
        expected = expected_grads(op, case, point.values)
        for index, (leaf, got) in enumerate(zip(leaves, grads)):
            failure = compare(op, case, index, got, expected[index], point)
            if failure:
                where = interpreter.grad_writes.get(id(leaf), ("", 0))
                where = f"{where[0]}, line {where[1]}" if where[0] else ""
                return Outcome(False, failure, "not the derivative", where)
        if not point.concrete_used:
            proven.setdefault(shape(case), []).append(point)
    return Outcome(True)


def compare(op, case, index, got, wanted, point):
    """"" when the grad read equals the wanted formula at this point's path, else why not."""
    if isinstance(got, bool) or isinstance(got, int):
        got = Real(sympy.Integer(int(got)))
    if not isinstance(got, Real):
        raise Unreadable(f"a leaf's grad is a {type(got).__name__}, not a number")
    if got.is_complex:
        return describe(op, case, index, got.expr, point, "it is a complex number")
    with reading_at(point):
        wanted = pinned(wanted, point)
    substitution = equalities(point)
    verdict = equal(got.expr.xreplace(substitution), wanted.xreplace(substitution), point)
    if verdict:
        return ""
    return describe(op, case, index, got.expr, point, "" if verdict is False else
                    "which the grader cannot show to be the derivative")


def equalities(point):
    """Symbols the path fixed by an exact equality (`if self.grad == 0:`) and their values."""
    fixed = {}
    for decision in point.decisions:
        symbols = (decision.left - decision.right).free_symbols
        if decision.sign == 0 and len(symbols) == 1:
            symbol = symbols.pop()
            solutions = sympy.solve(decision.left - decision.right, symbol)
            if len(solutions) == 1:
                fixed[symbol] = solutions[0]
    return fixed


def pinned(expression, point):
    """The expression with its branches (step, max, abs, ...) taken as they are at the point."""
    def choose(node):  # each choice is recorded on the point, like a branch of the code
        args = [pinned(a, point) for a in node.args]
        if isinstance(node, sympy.Heaviside):
            return sympy.Integer(1) if point.sign(args[0], 0) > 0 else sympy.Integer(0)
        if isinstance(node, (sympy.Max, sympy.Min)):
            best = args[0]
            for other in args[1:]:
                if (point.sign(other, best) > 0) == isinstance(node, sympy.Max):
                    best = other
            return best
        if isinstance(node, sympy.Abs):
            return args[0] if point.sign(args[0], 0) >= 0 else -args[0]
        if isinstance(node, sympy.sign):
            return sympy.Integer(1) if point.sign(args[0], 0) > 0 else sympy.Integer(-1)
        return node
    branchy = (sympy.Heaviside, sympy.Max, sympy.Min, sympy.Abs, sympy.sign)
    return expression.replace(lambda e: isinstance(e, branchy), choose)


def equal(got, wanted, point):
    """True when two exact formulas are equal as formulas; False when they differ (their values
    differ at this point or near it, computed with enough digits to see even a step of 1e-300);
    None when neither could be shown within the reading's bounds."""
    key = (got, wanted)
    if key not in _decided:
        _decided[key] = _decide(got - wanted, point)
    return _decided[key]


_decided = {}
MAX_DIGITS = 2000


def _decide(difference, point):
    if difference == 0 or sympy.expand(difference) == 0:
        return True
    digits = 40 + 2 * max((len(str(abs(r.p))) + len(str(r.q)) for r in difference.atoms(sympy.Rational)), default=0)
    if digits > MAX_DIGITS:
        return None
    for nudge in (0, sympy.Rational(1, 997), -sympy.Rational(1, 1009)):
        values = {s: v + nudge * (1 + abs(v)) for s, v in point.values.items()}
        try:
            value = sympy.N(sympy.Abs(difference.xreplace(values)), digits)
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if isinstance(value, sympy.Float) and value != 0 and value._prec >= 30:
            return False  # sympy vouches for 30 bits of a nonzero value (a true zero comes with none)
    if sympy.count_ops(difference) > 300:
        return None
    return _rational_in_exponentials(difference) or None


def _rational_in_exponentials(difference):
    """Whether `difference` is zero as a rational function of the exponentials it is made of (what
    tanh written with exp, 1 - t**2 written with out.data, and the like come down to)."""
    rewritten = difference.rewrite(sympy.exp)
    generators = {}
    for power in rewritten.atoms(sympy.exp):
        exponent = sympy.expand(power.exp)
        for symbol in exponent.free_symbols:
            coefficient = exponent.coeff(symbol)
            if coefficient.is_Rational and (exponent - coefficient * symbol).is_number:
                generators.setdefault(symbol, sympy.Symbol(f"E_{symbol}", positive=True))
    if not generators:
        return sympy.cancel(sympy.together(rewritten)) == 0
    replaced = rewritten.replace(
        lambda e: isinstance(e, sympy.exp),
        lambda e: _as_powers(sympy.expand(e.exp), generators))
    numerator, _ = sympy.fraction(sympy.cancel(sympy.together(replaced)))
    return sympy.expand(numerator) == 0


def _as_powers(exponent, generators):
    result = sympy.exp(exponent.subs({s: 0 for s in generators}))
    for symbol, generator in generators.items():
        result *= generator ** exponent.coeff(symbol)
    return result


def local_derivative(op, case, index, grad):
    """d(out)/d(leaf) as the code computes it: (grad - ga) / G, in the op's own variables."""
    operand_values = [LEAF_SYMBOLS[o] if isinstance(o, int) else C for o in case.operands]
    names = {operand_values[0]: X}
    if len(operand_values) > 1 and operand_values[1] != operand_values[0]:
        names[operand_values[1]] = Y
    local = sympy.expand((grad - GRAD_SYMBOLS[index]) / G)
    return local.xreplace(names)


def describe(op, case, index, grad, point, extra=""):
    local = readable(local_derivative(op, case, index, grad))
    wanted = op.derivative[case.operands.index(index)]
    verdict = extra or "which is not the derivative"
    return (f"the grader read your gradient code for this op, and it computes d(out)/dx = `{short(local, 160)}`, "
            f"{verdict} of {op.forward}, `{wanted}`: a value close to the derivative, however close, does not earn "
            "this part; compute it from its formula")


def readable(expression):
    """The expression with long exact binary fractions shown as the floats they came from (as
    names, so that sympy does not fold `sin(1e-20)/1e-20` into 1.0)."""
    floats = {r: (1 if r > 0 else -1) * sympy.Symbol(repr(float(abs(r)))) for r in expression.atoms(sympy.Rational)
              if r.q > 1 << 20 or abs(r.p) > 1 << 40}
    return expression.xreplace(floats)
