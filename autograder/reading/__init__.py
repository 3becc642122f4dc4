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
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from autograder.reading import proofs, scan as scanning
from autograder.reading.errors import OverBudget, ReadingStopped, Tampering, Unreadable
from autograder.reading.numbers import Point, reading_at

RECURSION_LIMIT = 20_000  # the reading's interpreter is recursive; its own depth budget comes first
NETWORK_PARTS = ("parameters", "convergence")
UNREADABLE_NOTE = ("this is the grader's limit, not necessarily your mistake: the submission is marked for your "
                   "instructor's review")


@dataclass(frozen=True)
class Blocked:
    """A part that is not graded: why, and what the instructor's review list says."""
    message: str
    misconception: str
    review: str


@dataclass
class Reading:
    modules: dict  # module name -> (file, tree, is_package)
    findings: list
    reach: dict  # part id -> set of (file, scope) the part's code reaches; "" scope = top level
    engine: str  # the module name of engine.py
    review: list = field(default_factory=list)

    def blocked(self, part):
        """Blocked for a part that a tampering or rebinding finding reaches, else None."""
        for finding in self.findings:
            if _reaches(self.reach.get(part, set()), finding):
                kind = "tampering" if finding.kind == scanning.TAMPERING else "rebinding"
                message = (f"{finding.where}: your code {finding.message}. No part that this code reaches is graded"
                           + (": the submission is marked for your instructor's review" if kind == "tampering" else ""))
                return Blocked(message, "code the grader does not grade" if kind == "tampering" else
                               "a class, function or module rebound after its definition", f"{finding.where}: {finding.message}")
        return None

    def proof(self, op, cases):
        """The proofs.Outcome of an op part on its cases (the requests of the part's checks)."""
        started = time.monotonic()
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
        try:
            from autograder.reading.interpreter import Interpreter
            with Interpreter(self.modules) as interpreter:
                with reading_at(Point({})):
                    engine = interpreter.import_module(self.engine)
                return proofs.prove(interpreter, engine.namespace.get("Value"), op, cases)
        except Tampering as stop:
            return proofs.Outcome(False, f"{_at(stop)}your code {stop.message}", "tampering", stop.where)
        except (Unreadable, OverBudget) as stop:
            return proofs.Outcome(False, f"the grader could not read the gradient code of this op ({_at(stop)}"
                                         f"{stop.message}); {UNREADABLE_NOTE}", "unreadable", stop.where)
        except ReadingStopped as stop:
            return proofs.Outcome(False, stop.message, "unreadable", stop.where)
        except Exception as error:  # a module that fails to import here failed in the worker too
            return proofs.Outcome(False, f"the grader could not read the gradient code of this op "
                                         f"({type(error).__name__}: {error}); {UNREADABLE_NOTE}", "unreadable")
        finally:
            sys.setrecursionlimit(limit)
            self.seconds = getattr(self, "seconds", 0.0) + time.monotonic() - started


def _at(stop):
    return f"{stop.where}: " if stop.where else ""


def _reaches(reached, finding):
    scope = finding.scope.split(".")
    return any((finding.file, ".".join(scope[:n])) in reached for n in range(len(scope) + 1)) if finding.scope \
        else (finding.file, "") in reached


def read(sources, engine, network, op_methods):
    """The Reading of a submission.

    `sources`: {module name: (file name, source text, is a package)} of the graded modules;
    `engine`, `network`: the module names that op parts and network parts import;
    `op_methods`: {part id: the Value method it grades} for the op parts."""
    modules, findings = {}, []
    for name, (file, text, is_package) in sources.items():
        try:
            modules[name] = (file, ast.parse(text, file), is_package)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the worker reports the syntax error itself, on import
    trees = {file: tree for file, tree, _ in modules.values()}
    findings = scanning.scan(trees)
    imports = _import_graph(modules)
    reach = _reach(modules, imports, engine, network, op_methods)
    return Reading(modules, findings, reach, engine)


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
    its entry points may call (by name, generously: a call of `f` or `x.f` reaches every
    function named f)."""
    functions = {}  # simple name -> [(file, qualname)]
    calls = {}  # (file, qualname) -> names it calls or refers to
    for _, (file, tree, _) in modules.items():
        for qualname, node in _functions(tree):
            functions.setdefault(node.name, []).append((file, qualname))
            calls[(file, qualname)] = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
                n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
    op_modules = _closure(graph, [engine])
    network_modules = _closure(graph, [engine, network])
    files = {name: modules[name][0] for name in modules}
    always = {"__init__", "__post_init__", "__setattr__", "__getattr__", "__new__", "__hash__", "__eq__"}

    def reached(module_names, roots):
        seen = {(files[m], "") for m in module_names}
        top_calls = set().union(*(_top_level_names(modules[m][1]) for m in module_names))
        imported = {files[m] for m in module_names}
        todo = [f for r in roots | always | top_calls for f in functions.get(r, []) if f[0] in imported]
        while todo:
            item = todo.pop()
            if item in seen:
                continue
            seen.add(item)
            todo.extend(f for n in calls.get(item, ()) for f in functions.get(n, []))
        return seen

    reach = {part: reached(op_modules, {method}) for part, method in op_methods.items()}
    reach["backward"] = reached(op_modules, {"backward"})
    everything = {(files[m], q) for m in network_modules for q, _ in _functions(modules[m][1])}
    for part in NETWORK_PARTS:
        reach[part] = everything | {(files[m], "") for m in network_modules}
    return reach


def _functions(tree):
    """(qualified name, node) of every function and method, nested ones included."""
    stack = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}.{child.name}" if prefix else child.name
                yield name, child
                stack.append((child, name))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, f"{prefix}.{child.name}" if prefix else child.name))
            else:
                stack.append((child, prefix))


def _top_level_names(tree):
    """Names that a module's top-level code (class bodies included) calls or refers to."""
    names = set()
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            names.update(n.id for d in node.decorator_list for n in ast.walk(d) if isinstance(n, ast.Name))
            continue
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        stack.extend(ast.iter_child_nodes(node))
    return names


def module_name(path, layout, root):
    """The import name of a graded file (relative to the staged folder)."""
    relative = PurePosixPath(path)
    base = PurePosixPath(root) if layout == "flat" else PurePosixPath(root).parent
    parts = list(relative.relative_to(base).with_suffix("").parts) if str(base) != "." else list(
        relative.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)
