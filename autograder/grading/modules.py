"""The graded modules of a staged submission: the files grading runs, and no others.

Grading imports `engine` and `nn` (`micrograd.engine` and `micrograd.nn` in a package layout),
and Python then runs whatever they import: the package's `__init__.py` files on the way, and
the submission's own modules (`import helpers`, `from helpers import f`, `from micrograd.utils
import f`, `from .utils import f`, at the top, in a branch or inside a function). Those files
are the graded modules: the sandbox holds them and nothing else, and the grader reads and
compiles them and nothing else, so the files a submission does not use (a dataset that nothing
imports, an old draft) cost nothing at all.

`graded_modules(staged)` finds them by reading import statements, never by running anything:
Python's tokenizer finds each statement and `ast` parses it, so a file is never parsed whole
(parsing 1 MiB of source can take 900 MB). A file without the word `import` is not even
tokenized. Reading is bounded (source bytes, AST nodes, seconds: `Budget`) and never raises;
a file that does not parse is still graded (the worker reports its syntax error), and when the
budget runs out, the files found so far are graded and those whose imports were left unread
are named. Imports that name no file of the submission (the standard library, a package that
is not there) are left for the worker to resolve or report.

The result maps each graded file's path (relative to the staged folder) to its bytes: callers
hand these same bytes to the reader and to the sandbox.
"""
import ast
import io
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.sandbox.isolation import INSIDE_SUBMISSION
from autograder.text import printable

ENTRY_MODULES = ("engine", "nn")  # what the worker imports (worker/probes.py, load)
TOP_PACKAGE = PurePosixPath(INSIDE_SUBMISSION).name  # a package at the submission's top is imported by this name
CHECK_EVERY = 512  # tokens between looks at the clock


@dataclass(frozen=True)
class Budget:
    """What finding a submission's imports may cost, in all."""
    bytes: int = 8 << 20  # source tokenized
    nodes: int = 50_000  # AST nodes of the import statements parsed
    seconds: float = 2.0


@dataclass(frozen=True)
class Modules:
    files: dict  # {path relative to the staged folder: bytes}, in the order found (engine.py first)
    unread: tuple = ()  # graded files whose imports were not all read: the budget ran out

    def warnings(self):
        """What the report says when some imports were left unread."""
        if not self.unread:
            return []
        return [f"the grader's budget for finding the modules a submission imports ran out: the imports of "
                f"{printable(', '.join(self.unread[:5]))} were not read, so modules that only they import are "
                "missing when grading runs"]


class OutOfBudget(Exception):
    pass


def graded_modules(staged, budget=Budget()):
    """The Modules that grading `staged` (a grading.submission.Staged) imports."""
    return _Reader(staged, budget).read()


@dataclass
class _Reader:
    """Paths here are relative to the folder that holds the submission's folder, which the
    sandbox names TOP_PACKAGE: `submission/engine.py`. So a package at the submission's top is
    found as Python finds it, by the name of that folder."""
    staged: object
    budget: Budget
    files: dict = field(default_factory=dict)  # {path relative to the submission's folder: bytes}
    unread: list = field(default_factory=list)
    spent_bytes: int = 0
    spent_nodes: int = 0

    def read(self):
        self.deadline = time.monotonic() + self.budget.seconds
        root = PurePosixPath(TOP_PACKAGE, self.staged.root)
        search = root if self.staged.layout == "flat" else root.parent  # the worker's sys.path[0]
        entry = () if self.staged.layout == "flat" else (root.name,)
        queue = [path for name in ENTRY_MODULES for path in self._under(search, [*entry, name])]
        while queue:
            path = queue.pop(0)
            name = path.relative_to(TOP_PACKAGE).as_posix()
            data = None if name in self.files else self._bytes(path)
            if data is None:
                continue
            self.files[name] = data
            try:
                for statement in self._imports(data):
                    queue += self._resolve(statement, path, search)
            except OutOfBudget:  # it stays spent: every later file with imports is left unread too
                self.unread.append(name)
        return Modules(dict(self.files), tuple(self.unread))

    # -- reading one file's import statements

    def _imports(self, data):
        """The import statements (ast.Import, ast.ImportFrom) of one file's source, one by one."""
        text = decoded(data)
        if text is None or "import" not in text:
            return
        self._spend(len(data), 0)
        for statement in import_texts(text, lambda: self._spend(0, 0)):
            node = parsed(statement)
            if node is not None:
                self._spend(0, sum(1 for _ in ast.walk(node)))
                yield node

    def _spend(self, size, nodes):
        self.spent_bytes += size
        self.spent_nodes += nodes
        if (self.spent_bytes > self.budget.bytes or self.spent_nodes > self.budget.nodes
                or time.monotonic() > self.deadline):
            raise OutOfBudget()

    # -- from module names to files

    def _resolve(self, statement, importer, search):
        """The files that running `statement` in the file `importer` imports."""
        if isinstance(statement, ast.Import):
            return [path for alias in statement.names for path in self._under(search, alias.name.split("."))]
        base = search
        if statement.level:  # relative to the importer's package
            base = importer.parent
            for _ in range(statement.level - 1):
                base = base.parent
        module = statement.module.split(".") if statement.module else []
        found = self._under(base, module)
        package = base.joinpath(*module)
        if statement.names[0].name == "*" and self._is_dir(package):  # it may import any module of the package
            return found + sorted(package / p.name for p in self._on_disk(package).glob("*.py"))
        return found + [path for alias in statement.names for path in self._under(package, [alias.name])]

    def _under(self, base, parts):
        """The files Python runs to import `parts` from the folder `base`: each package's
        `__init__.py` on the way, then the module (a package's `__init__.py`, or `name.py`)."""
        found = []
        for name in parts:  # Python's order: a package, a module, a namespace package
            package = base / name
            if self._is_file(package / "__init__.py"):
                found.append(package / "__init__.py")
            elif self._is_file(base / f"{name}.py"):
                return [*found, base / f"{name}.py"]
            elif not self._is_dir(package):
                break
            base = package
        return found

    def _on_disk(self, path):
        """Where `path` is in the staged folder; None if it is outside."""
        if path.parts[:1] != (TOP_PACKAGE,) or ".." in path.parts:
            return None
        return Path(self.staged.folder, *path.parts[1:])

    def _is_file(self, path):
        on_disk = self._on_disk(path)
        return on_disk is not None and on_disk.is_file()

    def _is_dir(self, path):
        on_disk = self._on_disk(path)
        return on_disk is not None and on_disk.is_dir()

    def _bytes(self, path):
        try:
            return self._on_disk(path).read_bytes()  # a path found by _under: in the staged folder
        except OSError:
            return None


def decoded(data):
    """Source bytes as text, in their declared encoding; None if Python could not read them."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError, ValueError):
        return None


def import_texts(text, every_while):
    """The text of each import statement in `text`, found with Python's tokenizer: a statement
    starts at the keyword `import`, or at a `from` followed by a dotted name and `import`, and
    ends at the end of its logical line or at a `;`. Stops quietly where tokenizing fails (the
    file then does not compile, and imports nothing). Calls `every_while()` every
    CHECK_EVERY tokens."""
    statement, opening = None, None
    try:
        for count, token in enumerate(tokenize.generate_tokens(io.StringIO(text, newline=None).readline)):
            if count % CHECK_EVERY == 0:
                every_while()
            if statement is not None:
                if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or token.exact_type == tokenize.SEMI:
                    yield " ".join(statement)
                    statement = None
                elif token.type not in (tokenize.NL, tokenize.COMMENT):
                    statement.append(token.string)
            elif token.type == tokenize.NAME and token.string == "import":
                statement, opening = [*(opening or []), "import"], None
            elif token.type == tokenize.NAME and token.string == "from":
                opening = ["from"]
            elif opening is not None and (token.type == tokenize.NAME or token.string in (".", "...")):
                opening.append(token.string)
            else:
                opening = None
    except (tokenize.TokenError, SyntaxError):
        pass
    if statement is not None:
        yield " ".join(statement)


def parsed(statement):
    """The ast.Import or ast.ImportFrom that one statement's text parses to, or None."""
    try:
        body = ast.parse(statement).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return body[0] if len(body) == 1 and isinstance(body[0], (ast.Import, ast.ImportFrom)) else None
