"""Exact derivatives of small expression DAGs, from sources independent of the reference.

An `Expr` is a straight-line program: the first `nvars` nodes are the variables, every
later node applies one operation to earlier nodes (so a node may be used many times:
shared subexpressions), and the last node is the root.

Two oracles evaluate it at the exact binary value of float inputs:

* `mpmath_oracle` - forward-mode dual numbers over mpmath at 50 significant digits.
  Each operation's local derivatives are written out by hand below (d tanh = sech^2,
  quotient rule for division, ...), not taken from the reference engine, and forward
  mode sums over paths in a different order than the reference's reverse mode.
  It is fast (well under a millisecond per expression), so it carries the bulk.
* `sympy_oracle` - the same expression built symbolically, each op of the exercise from its
  forward formula in autograder/exercise.py, and differentiated by `sympy.diff`, then
  evaluated to 50 digits: it shares no rule with either of the others, and is used on a
  subset (it costs milliseconds) to cross-check both.

`mpmath_oracle` also bounds, to first order, the rounding error that float64 evaluation
of the expression can commit (see `Local` and `Oracle.well_conditioned`), so a test can
skip the rare ill-conditioned expression (`x - x + tiny`, tanh saturated at 1.0) where
no float64 engine could meet a 1e-10 relative tolerance.
"""
from dataclasses import dataclass

import sympy
from mpmath import mp, mpf

from formulas import FORWARD

DIGITS = 50
UNIT_ROUNDOFF = mpf(2) ** -53  # float64: each correctly rounded + or * is off by at most this, relative
LIBM = 4  # math.tanh / exp / pow are within 2 ulp = 4 unit roundoffs (glibc documents <= 2 ulp)
SAFETY = 4  # the bound is first order and ignores the order of summation: leave a margin
TOLERANCE = mpf("1e-10")

# Domain limits, checked on the exact values: stay clear of kinks, poles and overflow.
MIN_RELU_INPUT = mpf("1e-3")  # |x| at a relu input
MIN_DIVISOR = mpf("1e-3")  # |x| at a negative power or a division
MIN_FRACTIONAL_BASE = mpf("1e-3")  # x ** 0.5 and the like need x at least this
MAX_EXP_INPUT = 20
MAX_MAGNITUDE = mpf("1e100")

UNARY = ("tanh", "exp", "relu", "neg")
WITH_CONSTANT = ("pow", "radd", "rsub", "rmul", "rtruediv")  # pow's constant is its exponent
BINARY = ("add", "mul", "sub", "truediv")
OPS = (*BINARY, *UNARY, *WITH_CONSTANT)


@dataclass(frozen=True)
class Node:
    op: str  # "var" or one of OPS
    args: tuple = ()  # indices of earlier nodes
    const: float | None = None  # pow: the exponent; radd/rsub/rmul/rtruediv: the left operand


@dataclass(frozen=True)
class Expr:
    nvars: int
    nodes: tuple

    def __str__(self):
        symbols = {"add": "+", "mul": "*", "sub": "-", "truediv": "/", "radd": "+", "rsub": "-",
                   "rmul": "*", "rtruediv": "/"}
        lines = []
        for i, node in enumerate(self.nodes[self.nvars:], start=self.nvars):
            a = [f"n{j}" for j in node.args]
            if node.op in BINARY:
                text = f"{a[0]} {symbols[node.op]} {a[1]}"
            elif node.op == "pow":
                text = f"{a[0]} ** {node.const!r}"
            elif node.op in WITH_CONSTANT:
                text = f"{node.const!r} {symbols[node.op]} {a[0]}"
            else:
                text = f"-{a[0]}" if node.op == "neg" else f"{a[0]}.{node.op}()"
            lines.append(f"n{i} = {text}")
        return "; ".join(lines)

    def ops(self):
        return {node.op for node in self.nodes[self.nvars:]}


# ---- mpmath forward mode, with a first-order rounding-error bound ----------------------

@dataclass
class Local:
    """One operation at one point: exact value and local derivatives, and bounds (in unit
    roundoffs, absolute) on how far float64 can be from them, given its inputs' bounds.

    value_err: |float result - exact|, from the inputs' errors plus this op's own rounding.
    deriv_errs: the same for each local derivative as the reference engine computes it
    (e.g. tanh's from its float output as 1 - t*t, which loses accuracy as t -> 1).
    """
    value: mpf
    derivs: tuple
    value_err: mpf
    deriv_errs: tuple


def _local(op, x, e, c):
    """Hand-derived rules. x: input values, e: their error bounds, c: the node's constant."""
    if op == "add":
        v = x[0] + x[1]
        return Local(v, (1, 1), e[0] + e[1] + abs(v), (0, 0))
    if op == "sub":
        v = x[0] - x[1]
        return Local(v, (1, -1), e[0] + e[1] + abs(v), (0, 0))
    if op == "mul":
        v = x[0] * x[1]
        return Local(v, (x[1], x[0]), abs(x[1]) * e[0] + abs(x[0]) * e[1] + abs(v), (e[1], e[0]))
    if op == "truediv":  # quotient rule: d/da = 1/b, d/db = -a/b^2
        a, b = x
        v = a / b
        da, db = 1 / b, -a / b ** 2
        return Local(v, (da, db), abs(da) * e[0] + abs(db) * e[1] + (LIBM + 1) * abs(v),
                     (e[1] / b ** 2 + LIBM * abs(da),
                      2 * abs(a / b ** 3) * e[1] + e[0] / b ** 2 + (LIBM + 2) * abs(db)))
    a, ea = x[0], e[0]
    if op == "neg":
        return Local(-a, (-1,), ea, (0,))
    if op == "radd":
        v = c + a
        return Local(v, (1,), ea + abs(v), (0,))
    if op == "rsub":
        v = c - a
        return Local(v, (-1,), ea + abs(v), (0,))
    if op == "rmul":
        v = c * a
        return Local(v, (c,), abs(c) * ea + abs(v), (0,))
    if op == "rtruediv":  # d(c/a)/da = -c/a^2
        v = c / a
        d = -c / a ** 2
        return Local(v, (d,), abs(d) * ea + (LIBM + 1) * abs(v),
                     (2 * abs(c / a ** 3) * ea + (LIBM + 2) * abs(d),))
    if op == "pow":  # d(a^k)/da = k a^(k-1)
        k = mpf(c)
        v = a ** k
        d = k * a ** (k - 1)
        return Local(v, (d,), abs(d) * ea + LIBM * abs(v),
                     (abs(k * (k - 1) * a ** (k - 2)) * ea + (LIBM + 1) * abs(d),))
    if op == "tanh":  # d tanh(a)/da = sech(a)^2
        v = mp.tanh(a)
        d = mp.sech(a) ** 2
        ev = d * ea + LIBM * abs(v)
        # float computes 1 - t*t from t = v +- ev: error 2|t| ev, plus rounding of t*t and of 1 - t*t
        return Local(v, (d,), ev, (2 * abs(v) * ev + v * v + d,))
    if op == "exp":  # d exp(a)/da = exp(a)
        v = mp.exp(a)
        ev = v * ea + LIBM * v
        return Local(v, (v,), ev, (ev,))
    if op == "relu":  # d relu(a)/da = 1 for a > 0, 0 for a < 0 (a near 0 is rejected)
        if a > 0:
            return Local(a, (1,), ea, (0,))
        return Local(mpf(0), (0,), mpf(0), (0,))
    raise ValueError(op)


def _out_of_domain(op, x, e, c):
    """Why inputs x (error bounds e) are unfit for this node in a 1e-10 comparison, or ''."""
    a = x[0]
    if op == "relu" and (abs(a) < MIN_RELU_INPUT or abs(a) < 1e6 * UNIT_ROUNDOFF * e[0]):
        return "relu input near its kink"
    if op == "exp" and abs(a) > MAX_EXP_INPUT:
        return "exp input too large"
    if op == "pow" and c != int(c) and a < MIN_FRACTIONAL_BASE:
        return "fractional power of a non-positive number"
    if op == "pow" and c < 0 and abs(a) < MIN_DIVISOR:
        return "negative power of a number near 0"
    if op == "rtruediv" and abs(a) < MIN_DIVISOR or op == "truediv" and abs(x[1]) < MIN_DIVISOR:
        return "division by a number near 0"
    return ""


@dataclass
class Oracle:
    value: mpf
    grads: list  # d root / d variable i
    value_err: mpf  # first-order bound on float64's error, in unit roundoffs
    grad_errs: list
    rejected: str = ""  # why some node is outside the domain (the rest is then left empty)

    @property
    def well_conditioned(self):
        """Float64 rounding alone cannot push a correct engine past TOLERANCE here."""
        quantities = [(self.value, self.value_err), *zip(self.grads, self.grad_errs)]
        return not self.rejected and all(
            SAFETY * UNIT_ROUNDOFF * err <= TOLERANCE * abs(exact) for exact, err in quantities)


def mpmath_oracle(expr, xs):
    """Value and gradient of the root by forward-mode dual numbers, at DIGITS digits.

    Alongside each node's gradient g (sum over paths of the product of local
    derivatives) it carries A, the sum over paths of |product|, and W, a bound on the
    float error of the sum over paths (each edge adds its local derivative's relative
    error plus 2 roundings: the multiplication and the accumulation).
    """
    with mp.workdps(DIGITS):
        n = expr.nvars
        vals = [mpf(x) for x in xs]  # exact: every float is a binary fraction
        errs = [mpf(0)] * n
        grads = [[mpf(int(i == j)) for j in range(n)] for i in range(n)]
        absgrads = [list(g) for g in grads]
        graderrs = [[mpf(0)] * n for _ in range(n)]
        for node in expr.nodes[n:]:
            x = [vals[i] for i in node.args]
            e = [errs[i] for i in node.args]
            c = None if node.const is None else mpf(node.const)
            rejected = _out_of_domain(node.op, x, e, c)
            if rejected:
                return Oracle(None, [], None, [], rejected)
            local = _local(node.op, x, e, c)
            if abs(local.value) > MAX_MAGNITUDE:
                return Oracle(None, [], None, [], "overflow")
            g, a, w = [mpf(0)] * n, [mpf(0)] * n, [mpf(0)] * n
            for i, d, de in zip(node.args, local.derivs, local.deriv_errs):
                for j in range(n):
                    g[j] += d * grads[i][j]
                    a[j] += abs(d) * absgrads[i][j]
                    w[j] += abs(d) * graderrs[i][j] + (de + 2 * abs(d)) * absgrads[i][j]
            vals.append(local.value)
            errs.append(local.value_err)
            grads.append(g)
            absgrads.append(a)
            graderrs.append(w)
        return Oracle(vals[-1], grads[-1], errs[-1], graderrs[-1])


# ---- sympy: symbolic differentiation ------------------------------------------------

def _exact(number):
    return sympy.Rational(number)  # the float's exact binary value, not a decimal guess


SYMPY_OPS = {  # the exercise's ops from their forward formulas (exercise.py), the derived ones by hand
    "add": lambda a, b, c: FORWARD["add"](a, b),
    "sub": lambda a, b, c: a - b,
    "mul": lambda a, b, c: FORWARD["mul"](a, b),
    "truediv": lambda a, b, c: a / b,
    "neg": lambda a, c: -a,
    "tanh": lambda a, c: FORWARD["tanh"](a),
    "exp": lambda a, c: FORWARD["exp"](a),
    "relu": lambda a, c: FORWARD["relu"](a),
    "pow": lambda a, c: FORWARD["pow"](a, c),
    "radd": lambda a, c: c + a,
    "rsub": lambda a, c: c - a,
    "rmul": lambda a, c: c * a,
    "rtruediv": lambda a, c: c / a,
}


def sympy_oracle(expr, xs):
    """Value and gradient of the root by sympy.diff, evaluated to DIGITS digits.

    Constants stay symbols until evaluation: as exact rationals (denominators up to
    2^52) sympy's assumption queries turn exp(c*x) into polynomials of astronomical
    degree and run out of memory. Exponents are small rationals, so they go in as such.
    """
    variables = sympy.symbols(f"x0:{expr.nvars}", real=True)
    point = {s: _exact(x) for s, x in zip(variables, xs)}
    exprs = list(variables)
    for i, node in enumerate(expr.nodes[expr.nvars:]):
        c = node.const
        if node.op == "pow":
            c = _exact(c)
        elif c is not None:
            c, point[c] = sympy.Symbol(f"c{i}", real=True), _exact(c)
        exprs.append(SYMPY_OPS[node.op](*(exprs[j] for j in node.args), c))
    root = exprs[-1]

    def evaluate(e):
        return mpf(str(sympy.N(e, DIGITS, subs=point)))

    with mp.workdps(DIGITS):
        return evaluate(root), [evaluate(sympy.diff(root, s)) for s in variables]


def relative_error(approx, exact):
    """|a - n| / max(|a|, |n|); 0 when both are exactly 0 (the floor only avoids 0/0)."""
    with mp.workdps(DIGITS):
        approx, exact = mpf(approx), mpf(exact)
        return abs(approx - exact) / max(abs(approx), abs(exact), mpf("1e-300"))
