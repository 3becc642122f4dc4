"""Numbers as the reading sees them: exact, symbolic, and deciding branches at a point.

A `Real` stands for a Python float (or complex) whose exact value is a sympy expression in the
inputs of the case being read (a.data, b.data, the gradients, ...). Arithmetic is exact, a float
literal being its exact binary value, so `(f(x + h) - f(x - h)) / (2 * h)` stays exactly that and
can never pass for f'(x), however small h is.

Whenever Python would need a concrete answer (`x > 0`, `abs(x)`, `max(a, b)`, `bool(x)`,
`int(x)`), the answer is taken at the case's concrete inputs (the `Point` being read) and the
decision is recorded on it. The reading thus follows the very path Python takes on those inputs,
and the recorded decisions say which other inputs take the same path.
"""
import contextlib
import contextvars
import functools
import math
from dataclasses import dataclass, field

import mpmath
import sympy

from autograder.reading.errors import Unreadable

DIGITS = 30  # precision of the concrete evaluations that decide branches
ZERO = sympy.Integer(0)


@dataclass
class Decision:
    """`left - right` had this sign (-1, 0, 1) at the point: what one branch of the path assumed."""
    left: sympy.Expr
    right: sympy.Expr
    sign: int
    equality: bool = False  # only whether they were equal counts (sign 0: equal, 1: not)

    def holds(self, values):
        """Whether the decision comes out the same at `values` ({symbol: exact value})."""
        difference, symbols = _compiled(self.left - self.right)
        with mpmath.workdps(DIGITS):
            try:
                value = difference(*(mpmath.mpf(values[s].p) / values[s].q if s in values else mpmath.nan
                                     for s in symbols))
            except (ZeroDivisionError, ValueError, TypeError, OverflowError):
                return False
            zero = abs(value) <= mpmath.mpf(10) ** -25 * max(1, abs(value))
            if self.equality or isinstance(value, mpmath.mpc):
                return zero == (self.sign == 0)
            return (0 if zero else 1 if value > 0 else -1) == self.sign


@functools.lru_cache(maxsize=4096)
def _compiled(expression):
    symbols = tuple(sorted(expression.free_symbols, key=str))
    return sympy.lambdify(symbols, expression, "mpmath"), symbols


@dataclass
class Point:
    """The concrete inputs of one case ({symbol: exact value}) and the decisions taken there."""
    values: dict
    decisions: list = field(default_factory=list)
    concrete_used: bool = False  # a value of the inputs was used as a plain number (hash, text): no reuse

    def evaluate(self, expression):
        """The expression's value at this point, as an mpmath number (real or complex)."""
        number = sympy.N(sympy.sympify(expression).xreplace(self.values), DIGITS)
        if not number.is_number:
            raise Unreadable(f"a value the grader cannot evaluate ({short(expression)})")
        return number

    def sign(self, left, right):
        """The sign of left - right here (0 when they agree to DIGITS - 5 digits); recorded."""
        a, b = self.evaluate(left), self.evaluate(right)
        if not (a.is_real and b.is_real):
            raise TypeError("complex numbers have no order")
        a, b = float(a), float(b)  # ample for deciding; agreement is judged relative to their size
        scale = max(abs(a), abs(b))
        difference = a - b
        sign = 0 if abs(difference) <= 1e-25 * scale or difference == 0 else (1 if difference > 0 else -1)
        self.record(left, right, sign)
        return sign

    def equal(self, left, right):
        """Whether left == right here (complex values allowed); recorded."""
        a, b = self.evaluate(left), self.evaluate(right)
        same = abs(complex(a) - complex(b)) <= 1e-25 * max(abs(complex(a)), abs(complex(b)))
        self.record(left, right, 0 if same else 1, equality=True)
        return same

    def record(self, left, right, sign, equality=False):
        left, right = sympy.sympify(left), sympy.sympify(right)
        if left.free_symbols or right.free_symbols:  # a decision between constants holds everywhere
            self.decisions.append(Decision(left, right, sign, equality))

    def holds_at(self, other_values):
        """Whether every decision recorded here comes out the same at `other_values`."""
        return all(decision.holds(other_values) for decision in self.decisions)


_point = contextvars.ContextVar("point")


@contextlib.contextmanager
def reading_at(point):
    """Decide branches at `point` while the block runs."""
    token = _point.set(point)
    try:
        yield point
    finally:
        _point.reset(token)


def here():
    try:
        return _point.get()
    except LookupError:
        raise Unreadable("a number had to be decided outside of any case") from None


def short(expression, limit=120):
    text = str(expression)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def exact(number):
    """The exact sympy value of a Python int, bool or float (inf and nan included)."""
    if isinstance(number, bool) or isinstance(number, int):
        return sympy.Integer(int(number))
    if math.isnan(number):
        return sympy.nan
    if math.isinf(number):
        return sympy.oo if number > 0 else -sympy.oo
    return sympy.Rational(number)


def operand(value):
    """The sympy expression of a number operand, or None if `value` is not a number."""
    if isinstance(value, Real):
        return value.expr
    if isinstance(value, (bool, int, float)):
        return exact(value)
    return None


class Real:
    """A float (or complex, `is_complex`) whose exact value is `expr`."""
    __slots__ = ("expr", "is_complex")

    def __init__(self, expr, is_complex=False):
        self.expr, self.is_complex = expr, is_complex

    @classmethod
    def of(cls, number):
        if isinstance(number, complex):
            return cls(exact(number.real) + sympy.I * exact(number.imag), True)
        return cls(exact(number))

    # -- arithmetic: exact, Python's rules for which operands mix

    def _binary(self, other, combine, reflected=False):
        theirs = operand(other)
        if theirs is None:
            return NotImplemented
        complex_ = self.is_complex or isinstance(other, Real) and other.is_complex
        left, right = (theirs, self.expr) if reflected else (self.expr, theirs)
        return Real(combine(left, right), complex_)

    def __add__(self, other):
        return self._binary(other, lambda a, b: a + b)

    def __radd__(self, other):
        return self._binary(other, lambda a, b: a + b, reflected=True)

    def __sub__(self, other):
        return self._binary(other, lambda a, b: a - b)

    def __rsub__(self, other):
        return self._binary(other, lambda a, b: a - b, reflected=True)

    def __mul__(self, other):
        return self._binary(other, lambda a, b: a * b)

    def __rmul__(self, other):
        return self._binary(other, lambda a, b: a * b, reflected=True)

    def __truediv__(self, other):
        return self._binary(other, divide)

    def __rtruediv__(self, other):
        return self._binary(other, divide, reflected=True)

    def __pow__(self, other, modulo=None):
        if modulo is not None:
            return NotImplemented
        return self._power(other)

    def __rpow__(self, other):
        return self._power(other, reflected=True)

    def _power(self, other, reflected=False):
        theirs = operand(other)
        if theirs is None:
            return NotImplemented
        base, exponent = (theirs, self.expr) if reflected else (self.expr, theirs)
        complex_ = self.is_complex or isinstance(other, Real) and other.is_complex
        point = here()
        if not complex_ and point.sign(exponent, ZERO) < 0 and point.equal(base, ZERO):
            raise ZeroDivisionError("0.0 cannot be raised to a negative power")
        if not complex_ and not exponent.is_integer and point.sign(base, ZERO) < 0:
            complex_ = True  # Python: a negative float to a fractional power is complex
        return Real(sympy.Pow(base, exponent), complex_)

    def __floordiv__(self, other):
        return self._floor_division(other)

    def __rfloordiv__(self, other):
        return self._floor_division(other, reflected=True)

    def __mod__(self, other):
        quotient = self._floor_division(other)
        return quotient if quotient is NotImplemented else self - quotient * other

    def __rmod__(self, other):
        quotient = self._floor_division(other, reflected=True)
        return quotient if quotient is NotImplemented else other - quotient * self

    def _floor_division(self, other, reflected=False):
        theirs = operand(other)
        if theirs is None or self.is_complex or isinstance(other, Real) and other.is_complex:
            return NotImplemented
        numerator, denominator = (theirs, self.expr) if reflected else (self.expr, theirs)
        return Real(integer_part(divide(numerator, denominator), math.floor))

    def __neg__(self):
        return Real(-self.expr, self.is_complex)

    def __pos__(self):
        return self

    def __abs__(self):
        if self.is_complex:
            return Real(sympy.Abs(self.expr))
        return Real(-self.expr) if here().sign(self.expr, ZERO) < 0 else self

    # -- comparisons and truth, decided at the point

    def _order(self, other, wanted):
        theirs = operand(other)
        if theirs is None:
            return NotImplemented
        if self.is_complex or isinstance(other, Real) and other.is_complex:
            raise TypeError("'<' not supported between complex numbers")
        return here().sign(self.expr, theirs) in wanted

    def __lt__(self, other):
        return self._order(other, (-1,))

    def __le__(self, other):
        return self._order(other, (-1, 0))

    def __gt__(self, other):
        return self._order(other, (1,))

    def __ge__(self, other):
        return self._order(other, (1, 0))

    def __eq__(self, other):
        theirs = operand(other)
        return NotImplemented if theirs is None else here().equal(self.expr, theirs)

    def __ne__(self, other):
        theirs = operand(other)
        return NotImplemented if theirs is None else not here().equal(self.expr, theirs)

    def __bool__(self):
        return not here().equal(self.expr, ZERO)

    def __hash__(self):
        return hash(self.concrete())

    # -- conversions

    def concrete(self):
        """The Python number this stands for at the point (for text and hashing only)."""
        point = here()
        if self.expr.free_symbols:
            point.concrete_used = True
        value = point.evaluate(self.expr)
        return complex(value) if self.is_complex else float(value)

    def __int__(self):
        if self.is_complex:
            raise TypeError("int() argument must be a string, a bytes-like object or a real number, not 'complex'")
        return int(integer_part(self.expr, math.trunc))

    def __trunc__(self):
        return self.__int__()

    def __floor__(self):
        return int(integer_part(self.expr, math.floor))

    def __ceil__(self):
        return int(integer_part(self.expr, math.ceil))

    def __round__(self, digits=None):
        if digits is None:
            return int(integer_part(self.expr, round))
        return Real(integer_part(self.expr * 10 ** digits, round) / sympy.Integer(10) ** digits)

    def __float__(self):
        raise Unreadable("a number converted to a plain float where the grader cannot follow it")

    def __complex__(self):
        raise Unreadable("a number converted to a plain complex where the grader cannot follow it")

    def __repr__(self):
        return repr(self.concrete())

    __str__ = __repr__

    def __format__(self, spec):
        return format(self.concrete(), spec)

    @property
    def real(self):
        return Real(sympy.re(self.expr)) if self.is_complex else self

    @property
    def imag(self):
        return Real(sympy.im(self.expr)) if self.is_complex else Real(ZERO)

    def conjugate(self):
        return Real(sympy.conjugate(self.expr), self.is_complex)

    def is_integer(self):
        if self.is_complex:
            raise AttributeError("'complex' object has no attribute 'is_integer'")
        return here().equal(self.expr, integer_part(self.expr, round))


def divide(numerator, denominator):
    if here().equal(denominator, ZERO):
        raise ZeroDivisionError("float division by zero")
    return numerator / denominator


def integer_part(expression, rounding):
    """rounding(value) as an exact integer, with the decisions that pin it to this integer:
    the value lies in the same unit interval at every point of the same path."""
    point = here()
    value = point.evaluate(expression)
    if not value.is_real:
        raise TypeError("complex numbers cannot be rounded")
    n = rounding(float(value))
    low, high = (n - 0.5, n + 0.5) if rounding is round else (n - 1, n + 1) if rounding is math.trunc else (n, n + 1)
    if rounding is math.ceil:
        low, high = n - 1, n
    point.sign(expression, sympy.Rational(low))
    point.sign(expression, sympy.Rational(high))
    return sympy.Integer(n)
