"""Reading a submission's source as text, never running it: what the worker's replies cannot show.

A reply is the student's word, and numbers alone cannot tell a derivative computed from its
formula from one estimated numerically: complex steps, extrapolation and high-precision
arithmetic all reach the 1e-12 that the checks demand. So the grader reads, in its own process
and with `ast` only, the code that computes each part's gradients: the op's method of `Value`
(with its `_backward`), or `Value.backward()`, and every function of the submission they call.
It looks there for the signs of numerical differentiation, and for the constructs that would
hide code from this reading. A part whose gradient code shows one loses its points with the
reason; `backward()` estimated numerically also costs the convergence part, whose training it
would otherwise pass.

The signs looked for:
  - complex numbers (`1j`, `complex(...)`, `.imag`, `cmath`): the complex-step method;
  - arbitrary-precision numbers (`decimal`, `Decimal`, `fractions`, `Fraction`, `mpmath`);
  - a difference of one function at two points a step apart, `f(x + h) - f(x - h)` or
    `f(x + h) - f(x)`, also through variables (`a = f(x + h); b = f(x); (a - b) / h`), scaled or
    with a sign (`8 * f(x + h) + -f(x + 2 * h)`), or of one function called twice with the same
    arguments around a change of state (`x.data += h; up = run(); ...; up - down`); but
    `exp(x) - exp(-x)` is no such difference;
  - code built or found at run time (`eval`, `exec`, `compile`, `globals()`, `getattr` with a
    computed name, `__dict__`, `sys.modules`, ...), which this reading cannot follow.
Code the gradient code never reaches (a numerical check in a test function, a demo at the bottom
of engine.py) is not read: an honest student may well estimate a derivative to check one.
"""
import ast
from dataclasses import dataclass
from pathlib import Path

from autograder.exercise import OPS

OP_METHODS = {op.part: op.method for op in OPS}
ATTRIBUTE_HOOKS = ("__getattr__", "__getattribute__", "__setattr__", "__init__", "__new__")
COMPLEX_NAMES = {"complex", "cmath"}
PRECISE_NAMES = {"decimal", "Decimal", "fractions", "Fraction", "mpmath", "mpf", "getcontext", "localcontext"}
HIDING_CALLS = {"eval", "exec", "compile", "globals", "locals", "vars", "__import__"}
HIDING_NAMES = {"importlib", "builtins", "__builtins__", "inspect", "gc", "ctypes", "marshal", "types"}
HIDING_ATTRIBUTES = {"__dict__", "__globals__", "__code__", "__closure__", "__builtins__", "modules", "f_locals",
                     "f_globals", "__subclasses__"}
NUMERICAL = "a derivative estimated numerically"
HIDDEN = "gradient code the grader cannot read"


@dataclass(frozen=True)
class Finding:
    part: str
    message: str
    misconception: str


def inspect(staged):
    """{part id: [Finding]} for the staged submission (nothing for what cannot be parsed: the
    worker reports a syntax error itself)."""
    modules = parse_all(staged.folder)
    engine = modules.get(Path(staged.root, "engine.py").as_posix())
    value = next((node for node in ast.walk(engine) if isinstance(node, ast.ClassDef) and node.name == "Value"),
                 None) if engine else None
    if value is None:
        return {}
    index = Index(modules)
    methods = {node.name: node for node in value.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    hooks = [methods[name] for name in ATTRIBUTE_HOOKS if name in methods] + properties(value)
    findings = {}
    for part, method in [*OP_METHODS.items(), ("backward", "backward")]:
        sign = first_sign(index, [methods[method], *hooks]) if method in methods else None
        if sign:
            findings[part] = [finding(part, *sign)]
    if "backward" in findings:  # training with such a backward() shows only that the estimate is good
        findings["convergence"] = [finding("convergence", *first_sign(index, [methods["backward"], *hooks]))]
    return findings


def finding(part, what, misconception, node):
    where = f"{node.file}, line {node.lineno}: `{snippet(node)}`"
    code = "backward()" if part == "convergence" else "the gradient code of this part"
    advice = ("compute it from its formula" if misconception == NUMERICAL else
              "write the gradient code as plain Python that the grader can read")
    return Finding(part, f"{code} {what} ({where}): that does not earn this part, even when the numbers are "
                         f"right; {advice}", misconception)


def parse_all(folder):
    """{relative path: module AST} of every Python file that parses."""
    modules = {}
    for path in sorted(Path(folder).rglob("*.py")):
        name = path.relative_to(folder).as_posix()
        try:
            tree = ast.parse(path.read_text("utf-8", "replace"), name)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            node.file = name
        modules[name] = tree
    return modules


def properties(cls):
    """The getters and setters of the class's properties (they run on every attribute read)."""
    def accessor(decorator):
        return (isinstance(decorator, ast.Name) and decorator.id == "property"
                or isinstance(decorator, ast.Attribute) and decorator.attr in ("setter", "getter", "deleter"))
    return [node for node in cls.body if isinstance(node, ast.FunctionDef) and any(map(accessor, node.decorator_list))]


class Index:
    """Every function of the submission by name, to follow calls (generously: a call of `f` or
    of `x.f` reaches every function named f)."""

    def __init__(self, modules):
        self.by_name = {}
        for tree in modules.values():
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.by_name.setdefault(node.name, []).append(node)
                elif isinstance(node, ast.ClassDef):  # calling a class runs its __init__
                    init = [n for n in node.body if isinstance(n, ast.FunctionDef) and n.name in ("__init__", "__new__")]
                    self.by_name.setdefault(node.name, []).extend(init)

    def reachable(self, roots):
        """The functions `roots` may call, themselves included."""
        seen, todo = {}, list(roots)
        while todo:
            function = todo.pop()
            if id(function) in seen:
                continue
            seen[id(function)] = function
            for node in ast.walk(function):
                if isinstance(node, ast.Call):
                    todo.extend(self.callees(node.func))
        return list(seen.values())

    def callees(self, func):
        if isinstance(func, ast.Name):
            return self.by_name.get(func.id, [])
        if isinstance(func, ast.Attribute) and func.attr != "_backward":  # a node's closure, not a static call
            return self.by_name.get(func.attr, [])
        return []


def first_sign(index, roots):
    """(what, misconception, node) for the first sign found in the code `roots` reach, or None."""
    return next((sign for sign in map(sign_in, index.reachable(roots)) if sign), None)


def sign_in(function):
    """The first sign in one function, worked out once (parts share functions such as __init__)."""
    if not hasattr(function, "sign"):
        function.sign = None
        for node in ast.walk(function):
            sign = numerical_sign(node, function) or hiding_sign(node)
            if sign:
                function.sign = (*sign, node)
                break
    return function.sign


def numerical_sign(node, function):
    complex_step = "uses complex numbers, as the complex-step estimate of a derivative does", NUMERICAL
    if isinstance(node, ast.Constant) and isinstance(node.value, complex):
        return complex_step
    names = {node.id} if isinstance(node, ast.Name) else {node.attr} if isinstance(node, ast.Attribute) else set()
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = {alias.name.partition(".")[0] for alias in node.names} | {(getattr(node, "module", "") or "").partition(".")[0]}
    if names & (COMPLEX_NAMES | {"imag"}):
        return complex_step
    if names & PRECISE_NAMES:
        return "uses arbitrary-precision numbers, as a numerical estimate of a derivative may", NUMERICAL
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Sub, ast.Add)) and same_function_twice(node, function):
        return "takes the difference of one function at two points a step apart: a finite-difference estimate", \
            NUMERICAL
    return None


def hiding_sign(node):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in HIDING_CALLS:
            return f"calls {node.func.id}()", HIDDEN
        if node.func.id in ("getattr", "hasattr", "setattr", "delattr") and len(node.args) > 1 \
                and not isinstance(node.args[1], ast.Constant):
            return f"calls {node.func.id}() with a computed name", HIDDEN
    if isinstance(node, ast.Name) and node.id in HIDING_NAMES:
        return f"uses {node.id}", HIDDEN
    if isinstance(node, ast.Attribute) and node.attr in HIDING_ATTRIBUTES:
        return f"reads .{node.attr}", HIDDEN
    return None


def same_function_twice(node, function):
    """Whether the two sides of `node` (a + or -) evaluate one function at points a step apart."""
    left, right = calls_in(node.left, function), calls_in(node.right, function)
    return any(f == g and (a == b or stepped(a, b)) for f, a in left for g, b in right)


def stepped(a, b):
    """Whether arguments a and b (source text) are one base plus or minus different steps."""
    if not a or not b:
        return False
    first, second = bases(ast.parse(a, mode="eval").body), bases(ast.parse(b, mode="eval").body)
    return any(base == other and step != other_step for base, step in first for other, other_step in second)


def bases(argument):
    """(base, step) readings of an argument: `x + h` reads as (x, +h) and (h, +x); `x` as (x, none)."""
    readings = [(ast.unparse(argument), "")]
    if isinstance(argument, ast.BinOp) and isinstance(argument.op, (ast.Add, ast.Sub)):
        sign = "+" if isinstance(argument.op, ast.Add) else "-"
        readings.append((ast.unparse(argument.left), sign + ast.unparse(argument.right)))
        if sign == "+":
            readings.append((ast.unparse(argument.right), "+" + ast.unparse(argument.left)))
    return readings


def calls_in(expression, function):
    """(function, arguments) of the calls `expression` is made of: directly, scaled by a number,
    negated, or through a variable assigned from a call in `function`."""
    if isinstance(expression, ast.UnaryOp):
        return calls_in(expression.operand, function)
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, (ast.Mult, ast.Div, ast.Sub, ast.Add)):
        return calls_in(expression.left, function) + calls_in(expression.right, function)
    if isinstance(expression, ast.Call) and len(expression.args) <= 1:  # f(x + h), or f() after changing state
        return [(ast.dump(expression.func), ast.unparse(expression.args[0]) if expression.args else "")]
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.Pow):  # (x + h) ** k: a function of x
        return [("** " + ast.dump(expression.right), ast.unparse(expression.left))]
    if isinstance(expression, ast.Name):
        return [call for value in assigned(function, expression.id) for call in calls_in(value, function)
                if isinstance(value, ast.Call)]
    return []


def assigned(function, name):
    """The values assigned to `name` in `function` (`name = value`)."""
    if not hasattr(function, "assignments"):
        function.assignments = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        function.assignments.setdefault(target.id, []).append(node.value)
    return function.assignments.get(name, [])


def snippet(node):
    text = ast.unparse(node)
    return text if len(text) <= 80 else text[:77] + "..."
