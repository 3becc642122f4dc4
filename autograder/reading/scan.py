"""The static scan: every line of every graded module, checked against the allowlists of
rules.py, and against rebinding what the reading resolves.

Two kinds of findings, each located and scoped (the module's top level, or a function):
  - tampering: a construct no honest submission needs (rules.py says which and why);
  - rebinding: code that would change, after the fact, a class, function or module the reading
    resolved: a second definition of a name, an attribute assigned to a class or module (or a
    method's name assigned to anything), a `global` rebinding a class or function.
The scan walks trees iteratively, of at most MAX_NODES nodes, so no submission can make it recurse
or run long; it never raises.
"""
import ast
import string
from dataclasses import dataclass

from autograder.reading import rules

MAX_NODES = 400_000  # a module larger than this is not read, and not graded (reading.parsed)
TAMPERING, REBINDING, TOO_LARGE = "tampering", "rebinding", "too large"


@dataclass(frozen=True)
class Finding:
    kind: str
    file: str
    line: int
    message: str
    scope: str  # "" for the module's top level, else the name of the function it is in

    @property
    def where(self):
        return f"{self.file}, line {self.line}"


class Scan:
    """Findings of one module."""

    def __init__(self, file, tree, submission_modules, method_names):
        self.file, self.tree = file, tree
        self.submission_modules = submission_modules
        self.method_names = method_names
        self.findings = []
        self.bound = _names_bound_anywhere(tree)
        self.modules = _module_aliases(tree)
        self.definitions = _top_level_definitions(tree)

    def add(self, kind, node, message, scope):
        self.findings.append(Finding(kind, self.file, getattr(node, "lineno", 0), message, scope))

    def run(self):
        """The findings of the module (whose tree holds at most MAX_NODES nodes: see reading.parsed)."""
        self.check_definitions()
        for node, scope, parent in _walk_with_scopes(self.tree):
            self.check(node, scope, parent)
        return self.findings

    def check(self, node, scope, parent):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self.check_import(node, scope)
        elif isinstance(node, ast.Attribute):
            self.check_attribute(node, scope, parent)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in self.bound:
            self.check_builtin(node, scope, parent)
        elif isinstance(node, ast.Call):
            self.check_call(node, scope)
        elif isinstance(node, ast.Global):
            for name in node.names:
                if name in self.definitions:
                    self.add(REBINDING, node, f"rebinds {name} at run time (`global {name}`): the grader reads each "
                                              "class and function where it is defined", scope)

    def check_definitions(self):
        for name, lines in self.definitions.items():
            if len(lines) > 1:
                self.findings.append(Finding(REBINDING, self.file, lines[1], (
                    f"defines {name} more than once (lines {', '.join(map(str, lines))}): the grader reads one "
                    f"definition of each class and function; keep only the one you mean"), ""))

    def check_import(self, node, scope):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            if node.level or node.module is None or node.module.partition(".")[0] in self.submission_modules:
                return
            names = [node.module]
            for alias in node.names:
                problem = rules.module_attribute_problem(node.module, alias.name) if alias.name != "*" else ""
                if problem:
                    self.add(TAMPERING, node, problem, scope)
        for name in names:
            if name.partition(".")[0] in self.submission_modules:
                continue
            problem = rules.module_problem(name)
            if problem:
                self.add(TAMPERING, node, problem, scope)

    def check_attribute(self, node, scope, parent):
        problem = rules.attribute_problem(node.attr)
        if problem:
            self.add(TAMPERING, node, problem, scope)
            return
        base = node.value
        if isinstance(base, ast.Name) and base.id in self.modules:
            problem = rules.module_attribute_problem(self.modules[base.id], node.attr)
            if problem:
                self.add(TAMPERING, node, problem, scope)
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            value = parent.value if isinstance(parent, (ast.Assign, ast.AnnAssign)) else None
            self.check_store(node, base, node.attr, scope, value)

    def check_store(self, node, base, name, scope, value=None):
        """An attribute written to a class or a module: refused when it can replace code (a method's
        name, a function as the value, anything on a module); a class's counters are data."""
        owner = _class_like(base, self.definitions, self.modules)
        if not owner:
            return
        replaces_code = (owner in self.modules or name in self.method_names or name.startswith("__")
                         or isinstance(value, ast.Lambda)
                         or isinstance(value, ast.Name) and value.id in self.definitions)
        if replaces_code:
            self.add(REBINDING, node, f"assigns `{owner}.{name}` outside the definition of {owner}: the grader reads "
                                      "each class, function and module where it is defined, so define it there", scope)

    def check_builtin(self, node, scope, parent):
        name = node.id
        if name in rules.CODE_BUILTINS:
            self.add(TAMPERING, node, f"uses {name}(), which runs or finds code the grader cannot read", scope)
        elif name in rules.BY_NAME and not (isinstance(parent, ast.Call) and parent.func is node):
            self.add(TAMPERING, node, f"passes {name} around as a value: an attribute looked up by a name given as "
                                      "data is something the grader cannot follow", scope)

    def check_call(self, node, scope):
        func = node.func
        if isinstance(func, ast.Name) and func.id not in self.bound:
            if func.id in rules.BY_NAME:
                self.check_by_name(node, func.id, scope)
            elif func.id == "type" and len(node.args) == 3:
                self.add(TAMPERING, node, "calls type() with three arguments, which builds a class at run time", scope)
        if isinstance(func, ast.Attribute) and func.attr in ("format", "format_map"):
            self.check_format(node, func, scope)

    def check_by_name(self, node, builtin, scope):
        name = node.args[1] if len(node.args) > 1 else None
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            self.add(TAMPERING, node, f"calls {builtin}() with a computed name: an attribute looked up by a name given "
                                      "as data is something the grader cannot follow; write `x.name`", scope)
            return
        problem = rules.attribute_problem(name.value)
        if problem:
            self.add(TAMPERING, node, problem, scope)
        elif builtin in ("setattr", "delattr"):
            self.check_store(node, node.args[0], name.value, scope, node.args[2] if len(node.args) > 2 else None)

    def check_format(self, node, func, scope):
        template = func.value
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            return
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(template.value) if field]
        except ValueError:
            return
        for field in fields:
            for part in field.replace("[", ".").replace("]", "").split(".")[1:]:
                problem = rules.attribute_problem(part)
                if problem:
                    self.add(TAMPERING, node, problem + " (in a format string)", scope)
                    return


def _walk_with_scopes(tree):
    """(node, scope, parent) for every node, iteratively: scope is the qualified name of the
    innermost function the node is in ("Value.tanh._backward"), or "" for code that runs when
    the module is imported (its top level and class bodies)."""
    stack = [(tree, "", "", None)]
    while stack:
        node, qualname, scope, parent = stack.pop()
        yield node, scope, parent
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            inner = f"{qualname}.{node.name}" if qualname else node.name
            body_scope = inner if not isinstance(node, ast.ClassDef) else scope
            for child in ast.iter_child_nodes(node):  # decorators, defaults and bases run outside
                in_body = child in node.body
                stack.append((child, inner if in_body else qualname, body_scope if in_body else scope, node))
            continue
        for child in ast.iter_child_nodes(node):
            stack.append((child, qualname, scope, node))


def _names_bound_anywhere(tree):
    """Every name the module binds in any scope: a name never bound is a built-in's."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).partition(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


def _module_aliases(tree):
    """{name: module} for every name an import binds to a module (`import math as m`, `from os import path`)."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.partition(".")[0]] = alias.name if alias.asname else \
                    alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in rules.ALLOWED_MODULES:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _top_level_definitions(tree):
    """{name: [lines]} of the classes and functions defined at the module's top level, and of any
    other top-level binding of the same names."""
    defined, bindings = {}, {}
    for node in _top_level_statements(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.setdefault(node.name, []).append(node.lineno)
        else:
            for name in _statement_bindings(node):
                bindings.setdefault(name, []).append(node.lineno)
    return {name: sorted(lines + bindings.get(name, [])) for name, lines in defined.items()}


def _top_level_statements(tree):
    """Statements that run at the module's top level, inside top-level if/try/for/while/with too."""
    stack = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                stack.extend(reversed(getattr(node, field, [])))
        elif isinstance(node, ast.ExceptHandler):
            stack.extend(reversed(node.body))


def _statement_bindings(node):
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).partition(".")[0] for a in node.names]
    return []


def _class_like(base, definitions, modules):
    """The name of the class, function or module that an attribute store's base denotes, or ""."""
    if isinstance(base, ast.Name) and (base.id in definitions or base.id in modules):
        return base.id
    if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id in ("type", "super"):
        return f"{base.func.id}(...)"
    if isinstance(base, ast.Attribute) and base.attr == "__class__":
        return "__class__"
    return ""


def method_names(trees):
    """The names of the methods defined in any class of the submission."""
    return {n.name for tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
            for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def scan(modules):
    """Findings of every module: `modules` maps file names to syntax trees."""
    methods = method_names(modules.values())
    submission = {name.rpartition(".")[0].partition("/")[0] for name in modules} | {
        name.rpartition("/")[-1].rpartition(".")[0] for name in modules}
    findings = []
    for file, tree in modules.items():
        findings += Scan(file, tree, submission, methods).run()
    return sorted(findings, key=lambda f: (f.file, f.line))
