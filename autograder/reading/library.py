"""The built-in functions and the standard-library modules, as the reading models them.

Most built-ins are Python's own, applied to modelled values: `len`, `sum`, `max`, `sorted`,
`zip`, list and dict methods all work on `Real`s and on proxies of the submission's objects,
because those implement Python's data model. The ones that must know about the reading
(`float`, `isinstance`, `type`, `getattr`, `super`, ...) are implemented by the interpreter
(`Interpreter.call_builtin`). The `math` functions compute exact sympy expressions.
`random` gives fixed stand-ins: no op's gradient code depends on a random number.
"""
import bisect
import builtins
import collections
import collections.abc
import functools
import heapq
import itertools
import math
import numbers as number_types
import operator
import os.path
import string
import sys
import textwrap

import sympy

from autograder.reading import rules
from autograder.reading.errors import Tampering, Unreadable
from autograder.reading.numbers import Real, ZERO, exact, here
from autograder.reading.objects import Native, Opaque


class Denied:
    """A built-in that only serves to reach or run code the reading cannot see."""

    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise Tampering(f"calls {self.name}(), which runs or finds code the grader cannot read")

    def __repr__(self):
        return f"<built-in {self.name}>"


def builtins_namespace():
    namespace = {}
    for name, value in vars(builtins).items():
        if name in rules.CODE_BUILTINS:
            namespace[name] = Denied(name)
        elif isinstance(value, type) and issubclass(value, BaseException) or name in PLAIN_BUILTINS:
            namespace[name] = value
        elif not name.startswith("_"):
            namespace[name] = Opaque(f"the built-in {name}")
    namespace.update(NotImplemented=NotImplemented, Ellipsis=Ellipsis, print=Native("print", _print),
                     open=Native("open", _open))
    return namespace


# Python's own built-ins, fine to apply to modelled values (or modelled by Interpreter.call_builtin).
PLAIN_BUILTINS = frozenset({
    "abs", "all", "any", "bool", "callable", "chr", "classmethod", "complex", "delattr", "dict", "divmod",
    "enumerate", "filter", "float", "format", "frozenset", "getattr", "hasattr", "hash", "id", "int", "isinstance",
    "issubclass", "iter", "len", "list", "map", "max", "min", "next", "object", "ord", "pow", "property", "range",
    "repr", "reversed", "round", "set", "setattr", "slice", "sorted", "staticmethod", "str", "sum", "super", "tuple",
    "type", "zip", "bin", "hex", "oct", "ascii", "bytes"})


def _print(interpreter, *args, **kwargs):
    return None  # what a submission prints changes nothing the reading looks at


class Sink:
    """A file opened for writing: what is written goes nowhere the reading looks."""

    def write(self, text):
        return len(text)

    def writelines(self, lines):
        return None

    def flush(self):
        return None

    def close(self):
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class NullContext:
    """A context manager that changes nothing the reading looks at (warnings.catch_warnings())."""

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


CONTEXT_MANAGERS = (Sink, NullContext)


def _open(interpreter, file, mode="r", *args, **kwargs):
    if isinstance(mode, str) and any(c in mode for c in "wax"):
        return Sink()
    raise Unreadable("reads a file, which the grader does not read")


class ModuleModel:
    """A standard-library module as the reading knows it: `attributes` (name -> value), the
    real module to tell a misspelt name (AttributeError) from one not modelled (unreadable)."""

    def __init__(self, name, attributes, real=None):
        self.name, self.attributes, self.real = name, attributes, real

    def __repr__(self):
        return f"<module {self.name!r}>"


# ---------------------------------------------------------------- math: exact expressions

def real_argument(interpreter, value, function):
    """The sympy expression of a math function's argument, as Python would accept it."""
    if isinstance(value, Real):
        if value.is_complex:
            raise TypeError("must be real number, not complex")
        return value.expr
    if isinstance(value, (bool, int, float)):
        return exact(value)
    converted = interpreter.convert_to_float(value, f"math.{function}")
    return converted.expr


def _domain_error(condition):
    if condition:
        raise ValueError("math domain error")


def _unary(name, build, domain=None):
    def implementation(interpreter, x):
        expr = real_argument(interpreter, x, name)
        if domain is not None:
            _domain_error(domain(Real(expr)))
        return Real(build(expr))
    return Native(f"math.{name}", implementation)


def _log(interpreter, x, base=None):
    expr = real_argument(interpreter, x, "log")
    _domain_error(Real(expr) <= 0)
    if base is None:
        return Real(sympy.log(expr))
    base_expr = real_argument(interpreter, base, "log")
    _domain_error(Real(base_expr) <= 0)
    return Real(sympy.log(expr) / sympy.log(base_expr))


def _pow(interpreter, x, y):
    base, exponent = real_argument(interpreter, x, "pow"), real_argument(interpreter, y, "pow")
    if Real(base) < 0 and not Real(exponent).is_integer():
        raise ValueError("math domain error")
    if Real(base) == 0 and Real(exponent) < 0:
        raise ValueError("math domain error")
    return Real(sympy.Pow(base, exponent))


def _isclose(interpreter, a, b, *, rel_tol=1e-09, abs_tol=0.0):
    a, b = Real(real_argument(interpreter, a, "isclose")), Real(real_argument(interpreter, b, "isclose"))
    return abs(a - b) <= max(rel_tol * max(abs(a), abs(b)), abs_tol)


def _finite(interpreter, x):
    value = here().evaluate(real_argument(interpreter, x, "isfinite"))
    return bool(value.is_finite)


def _overflow_guard(limit):
    def check(value):
        if value > limit:
            raise OverflowError("math range error")
        return False
    return check


def _fsum(interpreter, values):
    total = Real(ZERO)
    for value in values:
        total = total + Real(real_argument(interpreter, value, "fsum"))
    return total


def _prod(interpreter, values, *, start=1):
    product = start
    for value in values:
        product = product * value
    return product


def _rounding(name, method):
    def implementation(interpreter, x):
        if isinstance(x, (bool, int)):
            return int(x)
        return getattr(Real(real_argument(interpreter, x, name)), method)()
    return Native(f"math.{name}", implementation)


MATH = {
    "e": Real(sympy.E), "pi": Real(sympy.pi), "tau": Real(2 * sympy.pi), "inf": Real(sympy.oo), "nan": Real(sympy.nan),
    "tanh": _unary("tanh", sympy.tanh), "sinh": _unary("sinh", sympy.sinh, _overflow_guard(710)),
    "cosh": _unary("cosh", sympy.cosh, _overflow_guard(710)),
    "exp": _unary("exp", sympy.exp, _overflow_guard(709.782712893384)),
    "expm1": _unary("expm1", lambda x: sympy.exp(x) - 1), "exp2": _unary("exp2", lambda x: 2 ** x),
    "sqrt": _unary("sqrt", sympy.sqrt, lambda x: x < 0), "cbrt": _unary("cbrt", sympy.cbrt),
    "log": Native("math.log", _log), "log2": _unary("log2", lambda x: sympy.log(x, 2), lambda x: x <= 0),
    "log10": _unary("log10", lambda x: sympy.log(x, 10), lambda x: x <= 0),
    "log1p": _unary("log1p", lambda x: sympy.log(1 + x), lambda x: x <= -1),
    "sin": _unary("sin", sympy.sin), "cos": _unary("cos", sympy.cos), "tan": _unary("tan", sympy.tan),
    "asin": _unary("asin", sympy.asin, lambda x: abs(x) > 1), "acos": _unary("acos", sympy.acos, lambda x: abs(x) > 1),
    "atan": _unary("atan", sympy.atan), "asinh": _unary("asinh", sympy.asinh),
    "acosh": _unary("acosh", sympy.acosh, lambda x: x < 1), "atanh": _unary("atanh", sympy.atanh, lambda x: abs(x) >= 1),
    "erf": _unary("erf", sympy.erf), "erfc": _unary("erfc", sympy.erfc),
    "degrees": _unary("degrees", lambda x: x * 180 / sympy.pi), "radians": _unary("radians", lambda x: x * sympy.pi / 180),
    "fabs": Native("math.fabs", lambda interpreter, x: abs(Real(real_argument(interpreter, x, "fabs")))),
    "pow": Native("math.pow", _pow), "isclose": Native("math.isclose", _isclose),
    "isfinite": Native("math.isfinite", _finite),
    "isinf": Native("math.isinf", lambda i, x: bool(here().evaluate(real_argument(i, x, "isinf")).is_infinite)),
    "isnan": Native("math.isnan", lambda i, x: here().evaluate(real_argument(i, x, "isnan")) is sympy.nan),
    "floor": _rounding("floor", "__floor__"), "ceil": _rounding("ceil", "__ceil__"),
    "trunc": _rounding("trunc", "__trunc__"), "fsum": Native("math.fsum", _fsum), "prod": Native("math.prod", _prod),
    "hypot": Native("math.hypot", lambda i, *xs: Real(sympy.sqrt(sum(real_argument(i, x, "hypot") ** 2 for x in xs)))),
    "copysign": Native("math.copysign", lambda i, x, y: abs(Real(real_argument(i, x, "copysign")))
                       * (-1 if Real(real_argument(i, y, "copysign")) < 0 else 1)),
}


# ---------------------------------------------------------------- random: fixed stand-ins

RANDOM = {
    "seed": Native("random.seed", lambda i, *a, **k: None),
    "random": Native("random.random", lambda i: Real(sympy.Rational(1, 2))),
    "uniform": Native("random.uniform", lambda i, a, b: (a + b) / 2),
    "gauss": Native("random.gauss", lambda i, mu=0.0, sigma=1.0: mu),
    "normalvariate": Native("random.normalvariate", lambda i, mu=0.0, sigma=1.0: mu),
    "randint": Native("random.randint", lambda i, a, b: a),
    "choice": Native("random.choice", lambda i, seq: seq[0]),
    "shuffle": Native("random.shuffle", lambda i, seq: None),
    "sample": Native("random.sample", lambda i, population, k: list(population)[:k]),
}


# ---------------------------------------------------------------- decorators and helpers

def _identity_decorator(interpreter, *args, **kwargs):
    """`@cache`, `@lru_cache`, `@lru_cache(maxsize=None)`: the function itself."""
    if len(args) == 1 and not kwargs and callable(args[0]):
        return args[0]
    return Native("decorator", lambda interpreter, function: function)


def _wraps(interpreter, wrapped, *args, **kwargs):
    """`@wraps(f)`: the wrapper itself (its name and docstring do not change what it computes)."""
    return Native("decorator", lambda interpreter, wrapper: wrapper)


def _update_wrapper(interpreter, wrapper, wrapped, *args, **kwargs):
    return wrapper


def _not_modelled(name):
    def implementation(interpreter, *args, **kwargs):
        raise Unreadable(f"uses {name}, which the grader does not model")
    return Native(name, implementation)


class FieldSpec:
    """What `dataclasses.field(...)` returns, read by the dataclass model."""

    def __init__(self, default=None, default_factory=None, init=True, repr=True, compare=True, has_default=False,
                 has_factory=False):
        self.default, self.default_factory, self.init = default, default_factory, init
        self.repr, self.compare = repr, compare
        self.has_default, self.has_factory = has_default, has_factory
        self.name = None


_MISSING = object()


def _field(interpreter, *, default=_MISSING, default_factory=_MISSING, init=True, repr=True, hash=None, compare=True,
           metadata=None, kw_only=False):
    return FieldSpec(None if default is _MISSING else default, None if default_factory is _MISSING else default_factory,
                     init, repr, compare, default is not _MISSING, default_factory is not _MISSING)


def module_models(interpreter_dataclass):
    """{module name: ModuleModel}; `interpreter_dataclass` is the dataclass decorator (it needs the
    interpreter's class machinery)."""
    typing = {name: Opaque(f"typing.{name}") for name in rules.ALLOWED_MODULES["typing"]}
    typing.update(TYPE_CHECKING=False, cast=Native("typing.cast", lambda i, kind, value: value),
                  overload=Native("typing.overload", lambda i, f: f), final=Native("typing.final", lambda i, f: f))
    public = lambda module: {n: getattr(module, n) for n in dir(module) if not n.startswith("_")}  # noqa: E731
    models = {
        "math": ModuleModel("math", MATH, math),
        "random": ModuleModel("random", RANDOM, __import__("random")),
        "typing": ModuleModel("typing", typing, __import__("typing")),
        "dataclasses": ModuleModel("dataclasses", {
            "dataclass": interpreter_dataclass, "field": Native("dataclasses.field", _field),
            "InitVar": Opaque("dataclasses.InitVar"), "KW_ONLY": Opaque("dataclasses.KW_ONLY")},
            __import__("dataclasses")),
        "functools": ModuleModel("functools", {
            "reduce": functools.reduce, "partial": functools.partial, "cmp_to_key": functools.cmp_to_key,
            "wraps": Native("functools.wraps", _wraps),
            "update_wrapper": Native("functools.update_wrapper", _update_wrapper),
            "lru_cache": Native("functools.lru_cache", _identity_decorator),
            "cache": Native("functools.cache", _identity_decorator),
            "total_ordering": Native("functools.total_ordering", lambda i, klass: klass)}, functools),
        "itertools": ModuleModel("itertools", public(itertools), itertools),
        "collections": ModuleModel("collections", {
            "deque": collections.deque, "defaultdict": collections.defaultdict, "OrderedDict": collections.OrderedDict,
            "Counter": collections.Counter, "ChainMap": collections.ChainMap}, collections),
        "collections.abc": ModuleModel("collections.abc", public(collections.abc), collections.abc),
        "operator": ModuleModel("operator", {n: getattr(operator, n) for n in rules.ALLOWED_MODULES["operator"]},
                                operator),
        "numbers": ModuleModel("numbers", public(number_types), number_types),
        "abc": ModuleModel("abc", {"ABC": ABC_BASE, "abstractmethod": Native("abc.abstractmethod", lambda i, f: f)},
                           __import__("abc")),
        "heapq": ModuleModel("heapq", public(heapq), heapq),
        "bisect": ModuleModel("bisect", public(bisect), bisect),
        "string": ModuleModel("string", {n: getattr(string, n) for n in rules.ALLOWED_MODULES["string"]}, string),
        "textwrap": ModuleModel("textwrap", public(textwrap), textwrap),
        "time": ModuleModel("time", {"time": Native("time.time", lambda i: Real(ZERO)),
                                     "perf_counter": Native("time.perf_counter", lambda i: Real(ZERO)),
                                     "monotonic": Native("time.monotonic", lambda i: Real(ZERO)),
                                     "process_time": Native("time.process_time", lambda i: Real(ZERO)),
                                     "sleep": Native("time.sleep", lambda i, seconds: None)}, __import__("time")),
        "warnings": ModuleModel("warnings", {"warn": Native("warnings.warn", lambda i, *a, **k: None),
                                             "catch_warnings": Native("warnings.catch_warnings",
                                                                      lambda i, *a, **k: NullContext()),
                                             "simplefilter": Native("warnings.simplefilter", lambda i, *a, **k: None),
                                             "filterwarnings": Native("warnings.filterwarnings",
                                                                      lambda i, *a, **k: None)},
                                __import__("warnings")),
        "sys": ModuleModel("sys", {
            "setrecursionlimit": Native("sys.setrecursionlimit", lambda i, n: None),
            "getrecursionlimit": Native("sys.getrecursionlimit", lambda i: 1000),
            "maxsize": sys.maxsize, "float_info": sys.float_info, "int_info": sys.int_info, "version": sys.version,
            "version_info": sys.version_info, "platform": sys.platform, "byteorder": sys.byteorder,
            "stdout": Opaque("sys.stdout"), "stderr": Opaque("sys.stderr"), "argv": [""],
            "exit": Native("sys.exit", _exit)}, sys),
        "os.path": ModuleModel("os.path", {n: getattr(os.path, n) for n in ("join", "dirname", "basename", "splitext")},
                               os.path),  # the others look at files the reading cannot see
        "__future__": ModuleModel("__future__", {}, __import__("__future__")),
    }
    models["os"] = ModuleModel("os", {"path": models["os.path"], "sep": os.sep, "linesep": os.linesep,
                                      "getcwd": Native("os.getcwd", lambda i: "/submission")}, os)
    models["collections"].attributes["abc"] = models["collections.abc"]
    for name in ("statistics", "copy", "enum", "graphlib", "json", "pprint", "re"):
        real = __import__(name)
        allowed = rules.ALLOWED_MODULES[name]
        names = [n for n in dir(real) if not n.startswith("_")] if allowed is None else allowed
        models[name] = ModuleModel(name, {n: _not_modelled(f"{name}.{n}") for n in names}, real)
    return models


def _exit(interpreter, code=None):
    raise SystemExit(code)


class _AbstractBase:
    """`abc.ABC` as a base class: it adds nothing the reading needs."""


ABC_BASE = _AbstractBase
