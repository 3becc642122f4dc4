"""Reading a submission: what its code is, on the grader's side, without running it.

The worker's replies are the student's word; this package is what the grader knows for itself,
from the very source the sandbox runs (the graded modules: engine.py, nn.py and the
submission's modules they import, and nothing else). Two things come out of a reading:

  - `scan` findings, per part they reach: constructs no honest submission needs (tampering: the
    allowlists of `rules.py`), and code that would rebind what the reading resolved. A part that
    such code reaches is not graded at all: it scores 0 with the finding, and the submission is
    marked for the instructor's review;
  - `proof(part)` for each op part: the op's gradient code executed by the reading's interpreter
    on exact symbols, at every input the part's checks give it, and compared with the op's
    derivative as a formula (`proofs.py`). An op scores only when its numeric checks pass and
    this proof holds.

Nothing here raises: any trouble becomes a finding or an outcome with a message.
"""
import ast
import sys
import time
from dataclasses import dataclass
from pathlib import PurePosixPath

from autograder.reading import scan as scanning
from autograder.reading.cases import Case, Outcome, cases_from_requests
from autograder.reading.errors import OverBudget, ReadingStopped, Tampering, Unreadable

__all__ = ["Job", "Reading", "Blocked", "Case", "Outcome", "analyse", "cases_from_requests", "module_name",
           "NETWORK_PARTS", "UNREADABLE_NOTE"]
RECURSION_LIMIT = 20_000  # the reading's interpreter is recursive; its own depth budget comes first
NETWORK_PARTS = ("parameters", "convergence")
FINDING_MISCONCEPTIONS = {scanning.TAMPERING: "code the grader does not grade",
                          scanning.REBINDING: "a class, function or module rebound after its definition",
                          scanning.TOO_LARGE: "code the grader could not read"}
UNREADABLE_NOTE = ("this is the grader's limit, not necessarily your mistake: the submission is marked for your "
                   "instructor's review")


@dataclass(frozen=True)
class Blocked:
    """A part that is not graded: why, and what the instructor's review list says."""
    message: str
    misconception: str
    review: str


@dataclass(frozen=True)
class Job:
    """What a reading needs: the graded modules' sources ({module name: (file, text, is a
    package)}), the module names op parts and network parts import, the op rows of the exercise
    and, per op part, the Cases its checks make (cases.cases_from_requests); `prove` names the
    one op part to prove ("" for the scan alone)."""
    sources: dict
    engine: str
    network: str
    ops: tuple
    cases: dict
    prove: str = ""


@dataclass
class Reading:
    """What the grader knows of a submission from its source; plain data."""
    findings: list
    reach: dict  # part id -> {(file, scope)} the part's code reaches; "" scope = a module's top level
    proofs: dict  # op part id -> Outcome
    stopped: str = ""  # why the reading as a whole failed (then every part is blocked)
    seconds: float = 0.0

    def blocked(self, part):
        """Blocked for a part that a tampering or rebinding finding reaches, else None."""
        if self.stopped:
            return Blocked(f"the grader could not read your code: {self.stopped}; {UNREADABLE_NOTE}",
                           "code the grader could not read", self.stopped)
        for finding in self.findings:
            if _reaches(self.reach.get(part, set()), finding):
                message = f"{finding.where}: your code {finding.message}. No part that this code reaches is graded"
                if finding.kind == scanning.TOO_LARGE:
                    message = f"{finding.file} {finding.message}, so no part that imports it is graded"
                if finding.kind != scanning.REBINDING:
                    message += ": the submission is marked for your instructor's review"
                return Blocked(message, FINDING_MISCONCEPTIONS[finding.kind], f"{finding.where}: {finding.message}")
        return None

    def proof(self, part):
        """The Outcome of an op part."""
        return self.proofs.get(part) or Outcome(False, f"the grader did not read the formula of {part}; "
                                                              f"{UNREADABLE_NOTE}", "unreadable")


def _at(stop):
    return f"{stop.where}: " if stop.where else ""


def _reaches(reached, finding):
    if not finding.scope:
        return (finding.file, "") in reached
    scope = finding.scope.split(".")
    return any((finding.file, ".".join(scope[:n])) in reached for n in range(1, len(scope) + 1))


def analyse(job):
    """The Reading of a Job, computed in this process (ReadingService runs it in a bounded one):
    the scan and what each part reaches, or the proof of the op part `job.prove`."""
    started = time.monotonic()
    modules, too_large = {}, []
    for name, (file, text, is_package) in job.sources.items():
        tree = parsed(text, file)
        if tree is TOO_LARGE:  # read no further: it is not graded, nor is anything that imports it
            too_large.append(scanning.Finding(scanning.TOO_LARGE, file, 1, f"is too large for the grader to read "
                                                                            f"(more than {scanning.MAX_NODES:,} "
                                                                            "syntax nodes)", ""))
            tree = ast.Module(body=[], type_ignores=[])
        if tree is not None:
            modules[name] = (file, tree, is_package)
    if job.prove:
        op = next(op for op in job.ops if op.part == job.prove)
        outcome = prove(modules, job.engine, op, job.cases.get(op.part, []))
        return Reading([], {}, {op.part: outcome}, seconds=time.monotonic() - started)
    findings = too_large + scanning.scan({file: tree for file, tree, _ in modules.values()})
    reach = _reach(modules, _import_graph(modules), job.engine, job.network, {op.part: op.method for op in job.ops})
    return Reading(findings, reach, {}, seconds=time.monotonic() - started)


TOO_LARGE = object()


def parsed(text, file):
    """The module's syntax tree; None when it does not parse (the worker reports the syntax error
    itself, on import); TOO_LARGE past the scan's node budget, told from its lines of code before
    parsing where that is enough (a million statements take seconds to parse)."""
    code_lines = sum(1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    if code_lines + text.count(";") > scanning.MAX_NODES // 2:
        return TOO_LARGE
    try:
        tree = ast.parse(text, file)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for count, _ in enumerate(ast.walk(tree)):
        if count > scanning.MAX_NODES:
            return TOO_LARGE
    return tree


def prove(modules, engine, op, cases):
    """The Outcome of one op part: a fresh interpreter, as a fresh worker child runs it."""
    from autograder.reading import proofs  # sympy: only the reading's own process needs it
    from autograder.reading.interpreter import Interpreter
    from autograder.reading.numbers import Point, reading_at
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
    try:
        with Interpreter(modules) as interpreter:
            with reading_at(Point({})):
                module = interpreter.import_module(engine)
            return proofs.prove(interpreter, module.namespace.get("Value"), op, cases)
    except Tampering as stop:
        return Outcome(False, f"{_at(stop)}your code {stop.message}", "tampering", stop.where)
    except (Unreadable, OverBudget) as stop:
        return Outcome(False, f"the grader could not read the gradient code of this op ({_at(stop)}"
                                     f"{stop.message}); {UNREADABLE_NOTE}", "unreadable", stop.where)
    except ReadingStopped as stop:
        return Outcome(False, stop.message, "unreadable", stop.where)
    except Exception as error:  # a module that fails to import here failed in the worker too
        return Outcome(False, f"the grader could not read the gradient code of this op "
                                     f"({type(error).__name__}: {error}); {UNREADABLE_NOTE}", "unreadable")
    finally:
        sys.setrecursionlimit(limit)


# ---------------------------------------------------------------- what each part's code reaches

def _import_graph(modules):
    """{module name: names of the graded modules it imports}."""
    graph = {}
    for name, (file, tree, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".") if package else []
                    base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
                imported.add(base)
                imported.update(f"{base}.{alias.name}" if base else alias.name for alias in node.names)
        graph[name] = {m for m in imported if m in modules} | {
            p for m in imported for p in _parents(m) if p in modules}
    return graph


def _parents(name):
    parts = name.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts))]


def _closure(graph, roots):
    seen, todo = set(), [r for r in roots if r in graph]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph[name] | {p for p in _parents(name) if p in graph})
    return seen


def _reach(modules, graph, engine, network, op_methods):
    """{part: {(file, scope)}}: the top levels of the modules a part imports, and the functions
    its entry points may call. Calls are followed generously: a name reaches the functions it
    can denote lexically (a nested def, else a module's function of that name), an attribute
    `x.f` every method named f; a function reached reaches the functions nested in it."""
    by_name, by_attribute, nested, refers = {}, {}, {}, {}
    for _, (file, tree, _) in modules.items():
        for qualname, node, parent, in_class in _functions(tree):
            key = (file, qualname)
            refers[key] = _references(node)
            if parent is not None:
                nested.setdefault((file, parent), []).append(key)
            elif in_class:
                by_attribute.setdefault(node.name, []).append(key)
                by_name.setdefault(node.name, []).append(key)  # super().f(), Class.f(self)
            else:
                by_name.setdefault(node.name, []).append(key)
    files = {name: modules[name][0] for name in modules}
    always = {"__init__", "__post_init__", "__setattr__", "__getattr__", "__new__", "__hash__", "__eq__"}

    def reached(module_names, roots):
        imported = {files[m] for m in module_names}
        names, attributes = set(roots) | always, set(roots) | always
        for m in module_names:
            top_names, top_attributes = _references(modules[m][1], top_level=True)
            names |= top_names
            attributes |= top_attributes
        seen = {(file, "") for file in imported}
        todo = [f for n in names for f in by_name.get(n, [])] + [f for a in attributes for f in by_attribute.get(a, [])]
        while todo:
            item = todo.pop()
            if item in seen or item[0] not in imported:
                continue
            seen.add(item)
            todo.extend(nested.get(item, []))
            called_names, called_attributes = refers[item]
            todo.extend(f for n in called_names for f in by_name.get(n, []))
            todo.extend(f for a in called_attributes for f in by_attribute.get(a, []))
        return seen

    op_modules = _closure(graph, [engine])
    network_modules = _closure(graph, [engine, network])
    own = {"grad", "_backward", "data"}  # what the worker itself reads and writes on a Value
    reach = {part: reached(op_modules, {method} | own) for part, method in op_methods.items()}
    reach["backward"] = reached(op_modules, {"backward"} | own)
    network_entry = {n for m in network_modules - op_modules for _, node, _, _ in _functions(modules[m][1])
                     for n in (node.name,)}
    for part in NETWORK_PARTS:
        reach[part] = reached(network_modules, network_entry | TRAINING | own)
    return reach


# What the lesson's training loop and the worker's network probes call on a network: the model,
# its parameters() and layers, the loss's -, ** and sum(), backward().
TRAINING = {"__call__", "parameters", "layers", "neurons", "w", "b", "backward", "__sub__", "__rsub__", "__pow__",
            "__add__", "__radd__", "__neg__", "__mul__", "__rmul__"}


def _functions(tree):
    """(qualified name, node, qualified name of the enclosing function or None, defined in a
    class body) of every function and method, nested ones included."""
    stack = [(tree, "", None, False)]
    while stack:
        node, prefix, function, in_class = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}.{child.name}" if prefix else child.name
                yield name, child, function, in_class
                stack.append((child, name, name, False))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, f"{prefix}.{child.name}" if prefix else child.name, function, True))
            else:
                stack.append((child, prefix, function, in_class and isinstance(node, ast.ClassDef) and False))


# The special methods that syntax calls without naming them.
IMPLICIT = {
    ast.Add: ("__add__", "__radd__", "__iadd__"), ast.Sub: ("__sub__", "__rsub__", "__isub__", "__neg__", "__add__"),
    ast.Mult: ("__mul__", "__rmul__", "__imul__"), ast.Div: ("__truediv__", "__rtruediv__", "__itruediv__", "__pow__",
                                                               "__mul__"),
    ast.Pow: ("__pow__", "__rpow__", "__ipow__"), ast.USub: ("__neg__", "__mul__"), ast.UAdd: ("__pos__",),
    ast.FloorDiv: ("__floordiv__", "__rfloordiv__"), ast.Mod: ("__mod__", "__rmod__"), ast.MatMult: ("__matmul__",),
    ast.Compare: ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__contains__", "__hash__"),
    ast.Subscript: ("__getitem__", "__setitem__", "__delitem__"), ast.For: ("__iter__", "__next__"),
    ast.comprehension: ("__iter__", "__next__"), ast.Call: ("__call__", "__init__", "__post_init__"),
    ast.JoinedStr: ("__format__", "__repr__", "__str__"), ast.If: ("__bool__", "__len__"),
    ast.While: ("__bool__", "__len__"), ast.BoolOp: ("__bool__", "__len__"), ast.IfExp: ("__bool__", "__len__"),
    ast.Set: ("__hash__", "__eq__"), ast.Dict: ("__hash__", "__eq__"),
}
IMPLICIT_IN_BUILTINS = {"sum": ("__add__", "__radd__"), "len": ("__len__",), "abs": ("__abs__",),
                        "sorted": ("__lt__", "__gt__"), "max": ("__lt__", "__gt__"), "min": ("__lt__", "__gt__"),
                        "set": ("__hash__", "__eq__"), "hash": ("__hash__",), "str": ("__str__", "__repr__"),
                        "repr": ("__repr__",), "print": ("__str__", "__repr__"), "float": ("__float__",),
                        "int": ("__int__", "__index__"), "bool": ("__bool__", "__len__"), "iter": ("__iter__",),
                        "reversed": ("__reversed__", "__len__", "__getitem__"), "round": ("__round__",)}


def _references(tree, top_level=False):
    """(names, attribute names) that code refers to, the special methods its syntax calls
    included; for a module's top level (`top_level`), only code run on import (class bodies, not
    function bodies)."""
    names, attributes = set(), set()
    stack = list(tree.body) if top_level else [tree]
    while stack:
        node = stack.pop()
        if top_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack.extend(getattr(node, "decorator_list", []))
            continue
        if isinstance(node, ast.Name):
            names.add(node.id)
            attributes.update(IMPLICIT_IN_BUILTINS.get(node.id, ()))
        elif isinstance(node, ast.Attribute):
            attributes.add(node.attr)
        attributes.update(IMPLICIT.get(type(node), ()))
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.AugAssign)):
            attributes.update(IMPLICIT.get(type(node.op), ()))
        stack.extend(ast.iter_child_nodes(node))
    return names, attributes


def module_name(path, layout, root):
    """The import name of a graded file (relative to the staged folder)."""
    relative = PurePosixPath(path)
    base = PurePosixPath(root) if layout == "flat" else PurePosixPath(root).parent
    parts = list(relative.relative_to(base).with_suffix("").parts) if str(base) != "." else list(
        relative.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)
