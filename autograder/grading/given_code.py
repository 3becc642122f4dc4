"""Changes to the given code: what a submission changed outside the blanks it fills in.

Students receive stubs (`autograder release` makes them from solutions/): most of engine.py and
nn.py is given, and they write the bodies that say `raise NotImplementedError()`. The rubric
scores those blanks only; an edit elsewhere costs nothing by itself, but it changes what the
blanks run with (a changed `__rsub__`, a renamed `layers`, a zero_grad that zeroes nothing),
so it is reported: one unscored warning per changed function or method, quoting the given
lines and the submission's.

Both files are compared as syntax trees, read as text and never run: whitespace, comments,
blank lines, docstrings and type annotations never count, and a blank matches whatever the
submission wrote in its place. What a submission adds (helper methods, imports, a demo under
`if __name__ == "__main__":`) is not given code and is not reported; nor is the package form of
nn.py's import (`from micrograd.engine import Value`, `from .engine import Value`), which the
grader accepts.
"""
import ast
import copy
import difflib
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from autograder.release import make_stub
from autograder.text import printable

PACKAGE = Path(__file__).resolve().parent.parent
EXERCISE = PACKAGE.parent / "solutions" / "micrograd"  # in a checkout: the single source of truth
INSTALLED = PACKAGE / "given"  # in an installed grader: the released stubs (pyproject's autograder.given)
GIVEN_FILES = ("engine.py", "nn.py")
BLOCKS = ("body", "orelse", "finalbody")
MAX_HUNKS = 3
MAX_LINES = 4
BLANK = "<blank>"


@dataclass(frozen=True)
class Hunk:
    """Given lines and the submission's lines in their place (either may be empty)."""
    given: tuple
    yours: tuple
    line: int  # the submission's line number, 0 when it has no line in their place


@cache
def given_files():
    """{file name: text of the released stub}, made from the solutions in a checkout, read as
    released in an installed grader."""
    if all((EXERCISE / name).is_file() for name in GIVEN_FILES):
        return {name: make_stub((EXERCISE / name).read_text("utf-8"), name) for name in GIVEN_FILES}
    return {name: (INSTALLED / name).read_text("utf-8") for name in GIVEN_FILES if (INSTALLED / name).is_file()}


def warnings(staged):
    """The given-code warnings for a staged submission (autograder.grading.submission.Staged)."""
    found = []
    for name, given in given_files().items():
        path = Path(staged.folder, staged.root, name)
        if path.is_file():
            found += compare(given, path.read_text("utf-8", "replace"), name)
    return found


def compare(given_text, submitted_text, file):
    """One warning per unit (function, method, class or module line) of the given code that the
    submission changed; [] when it only filled in the blanks, or cannot be parsed (the worker
    reports a syntax error itself)."""
    try:
        submitted = Source(submitted_text)
        messages = Comparison(given_source(given_text), submitted, file).messages()
    except (SyntaxError, ValueError, RecursionError):  # unparsable, or nested too deeply to walk
        return []
    return [printable(message) for message in messages]


@cache
def given_source(text):
    """The given file parsed once (comparisons never change a Source)."""
    return Source(text)


class Source:
    """A file's text and its syntax tree, normalised: no docstrings, no annotations."""

    def __init__(self, text):
        self.lines = text.splitlines()
        self.tree = Normaliser().visit(ast.parse(text))

    def quote(self, node, header_only=False):
        """The lines of a statement (only its header, up to its colon, for a compound one), dedented;
        a decorated one's decorators too."""
        start = first_line(node)
        if not (header_only and getattr(node, "body", None)):
            return tuple(textwrap.dedent("\n".join(self.lines[start - 1:node.end_lineno])).splitlines())
        end = node.lineno
        while end < node.body[0].lineno - 1 and not self.lines[end - 1].rstrip().endswith(":"):
            end += 1
        return (*textwrap.dedent("\n".join(self.lines[start - 1:end])).splitlines(), "    ...")


class Normaliser(ast.NodeTransformer):
    """Removes what does not change behaviour: docstrings, annotations, an explicit `object` base;
    writes nn.py's import of Value the same way in every layout."""

    def generic_visit(self, node):
        node = super().generic_visit(node)
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body \
                and is_docstring(body[0]):
            node.body = body[1:] or [ast.Pass(lineno=body[0].lineno, end_lineno=body[0].end_lineno)]
        return node

    def visit_arg(self, node):
        node.annotation = None
        return node

    def visit_FunctionDef(self, node):
        node.returns = None
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_AnnAssign(self, node):
        if node.value is None:
            return node
        return ast.copy_location(ast.Assign(targets=[node.target], value=self.visit(node.value)), node)

    def visit_ClassDef(self, node):
        node.bases = [b for b in node.bases if not (isinstance(b, ast.Name) and b.id == "object")]
        return self.generic_visit(node)

    def visit_ImportFrom(self, node):
        if node.module == "engine" or (node.module or "").endswith(".engine"):
            node.module, node.level = "engine", 0
        return node


def with_canonical_locals(function):
    """A copy of a function whose local variables (and those of the functions nested in it) are
    named by order of first appearance in the text, so that naming a local `sz` instead of
    `sizes` changes nothing. Parameters keep their names: they are part of how a function is
    called."""
    function = copy.deepcopy(function)
    for node in ast.walk(function):  # names change below: no key worked out before holds for the copy
        node.__dict__.pop("key", None)
    parameters = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    declared = {n for node in ast.walk(function) if isinstance(node, ast.Global) for n in node.names}
    bound = {}
    for node in sorted((n for n in ast.walk(function) if bound_name(n, function)), key=position):
        name = bound_name(node, function)
        if name not in parameters and name not in declared:
            bound.setdefault(name, f"_local{len(bound)}")
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id in bound:
            node.id = bound[node.id]
        elif isinstance(node, ast.arg) and node.arg in bound:
            node.arg = bound[node.arg]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not function \
                and node.name in bound:
            node.name = bound[node.name]
        elif isinstance(node, ast.Nonlocal):
            node.names = [bound.get(n, n) for n in node.names]
    return function


def first_line(node):
    """The line a statement starts on, its decorators included."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])


def position(node):
    return node.lineno, node.col_offset


def bound_name(node, function):
    """The name that `node` binds inside `function`, if it binds one."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return node.id
    if isinstance(node, ast.arg):
        return node.arg
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not function:
        return node.name
    return None


def is_docstring(statement):
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
        and isinstance(statement.value.value, str)


def is_blank(statement):
    """`raise NotImplementedError()`: in the stubs, a blank the student fills in."""
    return isinstance(statement, ast.Raise) and isinstance(statement.exc, ast.Call) \
        and isinstance(statement.exc.func, ast.Name) and statement.exc.func.id == "NotImplementedError"


def holds_blank(node):
    return any(is_blank(inner) for inner in ast.walk(node))


def key(statement):
    """What must match for two statements to be the same: all of a simple one; the header of a
    compound one (its blocks are compared one by one). Worked out once per statement: the given
    files' statements are compared with every submission's."""
    if not hasattr(statement, "key"):
        statement.key = statement_key(statement)
    return statement.key


def statement_key(statement):
    if is_blank(statement):
        return BLANK
    if not any(getattr(statement, block, None) for block in BLOCKS) and not getattr(statement, "handlers", None):
        return ast.dump(statement)
    header = copy.copy(statement)
    for block in (*BLOCKS, "handlers"):
        if hasattr(header, block):
            setattr(header, block, [])
    return ast.dump(header)


def generated_members(cls):
    """{name: [the statements that make it]} for the members a class gets without a def of their
    own: from class-level assignments (`__radd__ = __add__`, `grad = property(...)`), from the names
    `__slots__` lists, and from @dataclass (its fields make `__init__`; `__repr__` and `__eq__` come
    from the decorator, unless it turns them off)."""
    made = {}
    assignments = [s for s in cls.body if isinstance(s, (ast.Assign, ast.AnnAssign))]
    for statement in assignments:
        for target in getattr(statement, "targets", [getattr(statement, "target", None)]):
            if isinstance(target, ast.Name):
                made[target.id] = [statement]
                if target.id == "__slots__":
                    made.update((name, [statement]) for name in constant_strings(statement.value))
    for decorator in cls.decorator_list:
        options = dataclass_options(decorator)
        if options is not None:
            for name, option in (("__init__", "init"), ("__repr__", "repr"), ("__eq__", "eq")):
                if options.get(option, True):
                    made.setdefault(name, assignments if name == "__init__" and assignments else [decorator])
    return made


def dataclass_options(decorator):
    """{option: bool} given to `@dataclass` / `@dataclasses.dataclass(...)`; None for another decorator."""
    function = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
    if name != "dataclass":
        return None
    keywords = decorator.keywords if isinstance(decorator, ast.Call) else []
    return {k.arg: bool(k.value.value) for k in keywords if isinstance(k.value, ast.Constant)}


def constant_strings(node):
    """The strings of a literal: `"a"`, `("a", "b")`, `["a"]`."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [item.value for item in items if isinstance(item, ast.Constant) and isinstance(item.value, str)]


def last_definitions(body, kind):
    """{name: the last definition of that name} among the statements of one kind in a body."""
    return {node.name: node for node in body if isinstance(node, kind)}


class Comparison:
    """The given file against the submission's, unit by unit."""

    def __init__(self, given, submitted, file):
        self.given, self.submitted, self.file = given, submitted, file

    def messages(self):
        given_body, submitted_body = self.given.tree.body, self.submitted.tree.body
        found = self.module_lines(given_body, submitted_body)
        classes = last_definitions(submitted_body, ast.ClassDef)
        functions = last_definitions(submitted_body, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in given_body:
            if isinstance(node, ast.ClassDef):
                found += self.class_changes(node, classes.get(node.name))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found += self.function_changes(node.name, node, functions.get(node.name))
        return found

    def module_lines(self, given_body, submitted_body):
        """Given module-level lines (imports, assignments) that the submission lacks."""
        present = {key(node) for node in submitted_body}
        return [f"{self.file}: the given line `{' '.join(self.given.quote(node))}` is missing or changed"
                for node in given_body if not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and key(node) not in present]

    def class_changes(self, given, submitted):
        if submitted is None:
            return [f"{self.file}: class {given.name} is missing; it is given code"]
        found = []
        if key(given) != key(submitted):
            found.append(self.message(given.name, [self.hunk([given], [submitted], header_only=True)], submitted))
        methods = last_definitions(submitted.body, (ast.FunctionDef, ast.AsyncFunctionDef))
        generated = generated_members(submitted)
        for node in given.body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            name = f"{given.name}.{node.name}"
            if node.name not in methods and node.name in generated:  # made without a def of its own
                makers = generated[node.name]
                found.append(self.message(name, [self.hunk([node], makers)], makers[0]))
            else:
                found += self.function_changes(name, node, methods.get(node.name))
        return found

    def function_changes(self, name, given, submitted):
        """The function's changes, read with its local variables as named and as renamed in order
        (a renamed local is no change; a local added before others does not rename them all):
        whichever reading finds fewer."""
        if submitted is None:  # one that is all blank may come from elsewhere (a base class, say)
            return [] if all(map(is_blank, given.body)) else [f"{self.file}: {name} is missing; it is given code"]
        hunks = self.function_hunks(given, submitted)
        if hunks:
            renamed = self.function_hunks(with_canonical_locals(given), with_canonical_locals(submitted))
            hunks = min(hunks, renamed, key=lambda found: (len(found), sum(len(h.given) + len(h.yours) for h in found)))
        return [self.message(name, hunks, submitted)] if hunks else []

    def function_hunks(self, given, submitted):
        hunks = [self.hunk([given], [submitted], header_only=True)] if key(given) != key(submitted) else []
        return hunks + self.block_changes(given.body, submitted.body)

    def block_changes(self, given, submitted):
        """Hunks where a block of statements differs; a blank matches any statements in its place."""
        given_keys, submitted_keys = [key(s) for s in given], [key(s) for s in submitted]
        if given_keys and all(k == BLANK for k in given_keys):
            return []
        hunks = []
        matcher = difflib.SequenceMatcher(None, given_keys, submitted_keys, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for g, s in zip(given[i1:i2], submitted[j1:j2]):
                    hunks += self.compound_changes(g, s)
            elif BLANK in given_keys[i1:i2]:  # the student's code in a blank, perhaps with given lines lost
                hunks += [self.hunk([g], []) for g in given[i1:i2] if not is_blank(g)]
            elif not (tag == "insert" and BLANK in given_keys[max(i1 - 1, 0):i1 + 1]):
                hunks.append(self.hunk(given[i1:i2], submitted[j1:j2]))
        return hunks

    def compound_changes(self, given, submitted):
        hunks = []
        for block in BLOCKS:
            hunks += self.block_changes(getattr(given, block, []), getattr(submitted, block, []))
        for g, s in zip(getattr(given, "handlers", []), getattr(submitted, "handlers", [])):
            hunks += self.block_changes(g.body, s.body)
        return hunks

    def hunk(self, given, submitted, header_only=False):
        def quote(source, nodes):
            return tuple(line for node in nodes for line in source.quote(node, header_only or holds_blank(node)))
        return Hunk(quote(self.given, given), quote(self.submitted, submitted),
                    first_line(submitted[0]) if submitted else 0)

    def message(self, name, hunks, submitted):
        lines = [f"{self.file}, line {first_line(submitted)}: {name} differs from the given code:"]
        for hunk in hunks[:MAX_HUNKS]:
            lines += quoted("given", hunk.given) + quoted(f"yours (line {hunk.line})" if hunk.line else "yours",
                                                          hunk.yours)
        if len(hunks) > MAX_HUNKS:
            lines.append(f"  ... and {len(hunks) - MAX_HUNKS} more changes")
        return "\n".join(lines)


def quoted(label, lines):
    if not lines:
        return [f"  {label}: (nothing in its place)"]
    shown = list(lines[:MAX_LINES]) + (["..."] if len(lines) > MAX_LINES else [])
    return [f"  {label}: {shown[0]}"] + [f"  {' ' * len(label)}  {line}" for line in shown[1:]]
