"""`autograder release`: generate the student folder from the solutions.

Every `### BEGIN SOLUTION` ... `### END SOLUTION` region of a solution file becomes nbgrader's

    # YOUR CODE HERE
    raise NotImplementedError()

at the indentation of the BEGIN marker; everything else is copied as it is. The markers are
matched on whole lines only, and a line that mentions a marker without being one is an error,
so a typo can never leak a solution into the released files.

Notebooks (`.ipynb`) follow nbgrader's rules, so that `nbgrader generate_assignment` would
release them the same way: the regions of each code cell become the same stub lines, a
solution cell (nbgrader metadata `"solution": true`) without a region is replaced whole,
outputs and execution counts are cleared, and metadata is kept. A region in a cell that is
not a solution cell, or a marker mentioned in a markdown cell, is an error.

Some files of an exercise folder are made, not written: the graded notebook `grading.ipynb`
(one graded cell per rubric part, for nbgrader) comes from the rubric and the exercise's parts.
A release writes them into the solutions folder (nbgrader's source) before releasing it, and
`--check` reports them too when they are out of date.
"""
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.integrations.graded_notebook import GRADED_NOTEBOOK, graded_notebook  # made from the rubric

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*### END SOLUTION[ \t]*$")
MENTION = re.compile(r"(BEGIN|END) SOLUTION")
HIDDEN_TESTS = re.compile(r"(BEGIN|END) HIDDEN TESTS")
STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_STUB = "YOUR ANSWER HERE"  # nbgrader's stub for a markdown solution cell
# Never part of a release: caches and local state.
IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints"}


class ReleaseError(ValueError):
    """A solution file that cannot be released, located by file (and cell or line)."""


class MarkerError(ReleaseError):
    """A malformed solution region, located by file and line."""


@dataclass(frozen=True)
class Region:
    begin: int  # 0-based index of the BEGIN line
    end: int  # 0-based index of the END line
    indent: str


def find_regions(lines, path="<text>"):
    """The solution regions of a file's lines; raises MarkerError with file:line when malformed."""
    regions, open_at, indent = [], None, ""
    for i, line in enumerate(lines):
        if begin := BEGIN.match(line):
            if open_at is not None:
                raise MarkerError(f"{path}:{i + 1}: BEGIN SOLUTION inside the region opened at line {open_at + 1}")
            open_at, indent = i, begin["indent"]
        elif END.match(line):
            if open_at is None:
                raise MarkerError(f"{path}:{i + 1}: END SOLUTION without a BEGIN SOLUTION")
            regions.append(Region(open_at, i, indent))
            open_at = None
        elif MENTION.search(line):
            raise MarkerError(f"{path}:{i + 1}: not a marker line (a marker must be alone on its line): {line.strip()!r}")
        elif HIDDEN_TESTS.search(line):
            raise MarkerError(f"{path}:{i + 1}: hidden test regions are not released; hidden checks belong "
                              f"in the grader, not in the students' files: {line.strip()!r}")
    if open_at is not None:
        raise MarkerError(f"{path}:{open_at + 1}: BEGIN SOLUTION is never closed")
    return regions


def make_stub(text, path="<text>"):
    """The student's version of a solution file's text."""
    lines = text.splitlines(keepends=True)
    out, pos = [], 0
    for region in find_regions([line.rstrip("\r\n") for line in lines], path):
        out.extend(lines[pos:region.begin])
        out.extend(f"{region.indent}{stub}\n" for stub in STUB_LINES)
        pos = region.end + 1
    out.extend(lines[pos:])
    return "".join(out)


def without_markers(text, path="<text>"):
    """The solution as a student who wrote every region hands it in: the marker lines removed."""
    lines = text.splitlines(keepends=True)
    markers = {i for r in find_regions([line.rstrip("\r\n") for line in lines], path) for i in (r.begin, r.end)}
    return "".join(line for i, line in enumerate(lines) if i not in markers)


def solution_lines(text, path="<text>"):
    """The non-blank lines inside the solution regions of a file (for leak checks)."""
    lines = text.splitlines()
    return [
        line.strip()
        for region in find_regions(lines, path)
        for line in lines[region.begin + 1:region.end]
        if line.strip()
    ]


def read_notebook(text, path="<notebook>"):
    """A solution notebook, checked: nbformat 4, valid, and (from 4.5 on) every cell with its id,
    because nbformat would invent a random id and a release must come out the same every time."""
    import nbformat  # here, not at the top: it takes seconds to import, and grading never needs it
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReleaseError(f"{path}: not a notebook (invalid JSON: {error})") from None
    if not isinstance(raw, dict) or raw.get("nbformat") != 4:
        raise ReleaseError(f"{path}: not an nbformat 4 notebook; open and save it in a recent Jupyter first")
    cells = raw.get("cells")
    if raw.get("nbformat_minor", 0) >= 5 and isinstance(cells, list):
        for number, cell in enumerate(cells, 1):
            if isinstance(cell, dict) and "id" not in cell:
                raise ReleaseError(f"{path}, cell {number}: the cell has no id; open and save the notebook "
                                   "in Jupyter (or run nbformat's normalize) to give every cell one")
    try:
        notebook = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        raise ReleaseError(f"{path}: not a valid notebook: {error.message}") from None
    return notebook


def is_solution_cell(cell):
    nbgrader = cell.metadata.get("nbgrader")
    return isinstance(nbgrader, dict) and bool(nbgrader.get("solution"))


def stub_cell(cell, where):
    """Release one cell in place, by nbgrader's rules (see the module docstring)."""
    source = cell.source
    if cell.cell_type != "code":
        for number, line in enumerate(source.splitlines(), 1):
            if MENTION.search(line) or HIDDEN_TESTS.search(line):
                raise MarkerError(f"{where}:{number}: a {cell.cell_type} cell mentions a marker; solution "
                                  f"regions belong in code cells: {line.strip()!r}")
        if is_solution_cell(cell):
            cell.source = ANSWER_STUB
        return
    has_regions = bool(find_regions(source.splitlines(), where))
    if has_regions and not is_solution_cell(cell):
        raise MarkerError(f"{where}: a solution region in a cell that is not a solution cell; give it nbgrader "
                          'metadata {"solution": true, "grade": false, "locked": false, "grade_id": ...}')
    if has_regions:
        stub = make_stub(source, where)
        cell.source = stub if source.endswith("\n") else stub.removesuffix("\n")
    elif is_solution_cell(cell):
        cell.source = "\n".join(STUB_LINES)
    cell.outputs = []
    cell.execution_count = None


def make_stub_notebook(text, path="<notebook>"):
    """The student's version of a solution notebook's text (nbformat JSON)."""
    import nbformat
    notebook = read_notebook(text, path)
    for number, cell in enumerate(notebook.cells, 1):
        stub_cell(cell, f"{path}, cell {number}")
    return nbformat.writes(notebook) + "\n"


def notebook_solution_lines(text, path="<notebook>"):
    """The non-blank solution lines of a notebook: its regions, and the whole of solution cells without one."""
    lines = []
    for number, cell in enumerate(read_notebook(text, path).cells, 1):
        if cell.cell_type == "code" and find_regions(cell.source.splitlines(), f"{path}, cell {number}"):
            lines += solution_lines(cell.source, f"{path}, cell {number}")
        elif is_solution_cell(cell):
            lines += [line.strip() for line in cell.source.splitlines() if line.strip()]
    return lines


STUB_MAKERS = {".py": make_stub, ".ipynb": make_stub_notebook}


def decoded(data, path):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ReleaseError(f"{path}: not UTF-8 text") from None


def released_files(source):
    """{relative path: bytes} of what releasing the folder `source` produces."""
    files = {}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_dir() or IGNORED_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
            continue
        data = path.read_bytes()
        if path.suffix in STUB_MAKERS:
            data = STUB_MAKERS[path.suffix](decoded(data, path), str(path)).encode("utf-8")
        files[relative.as_posix()] = data
    return files


def derived_files(rubric):
    """{relative path: bytes} of the files made from the rubric and the exercise's parts: the
    graded notebook."""
    import nbformat  # (slow to import: grading, which imports this module, never needs it)
    return {GRADED_NOTEBOOK: (nbformat.writes(graded_notebook(rubric)) + "\n").encode("utf-8")}


def stale_files(source, derived):
    """The derived files that the folder `source` lacks or holds in another version."""
    return [rel for rel, data in derived.items() if not (source / rel).is_file() or (source / rel).read_bytes() != data]


@dataclass
class Drift:
    """How a released folder differs from what the solutions produce."""
    missing: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    extra: list = field(default_factory=list)
    stale: list = field(default_factory=list)  # derived files of the solutions folder itself

    def __bool__(self):
        return bool(self.missing or self.changed or self.extra or self.stale)

    def lines(self):
        return ([f"made from the rubric, out of date in the solutions: {p}" for p in self.stale]
                + [f"missing: {p}" for p in self.missing] + [f"changed: {p}" for p in self.changed]
                + [f"not in the solutions: {p}" for p in self.extra])


def compare(expected, dest):
    """The Drift between `expected` ({relative path: bytes}) and the folder `dest`."""
    present = {}
    if dest.is_dir():
        present = {
            p.relative_to(dest).as_posix(): p
            for p in dest.rglob("*")
            if p.is_file() and not IGNORED_PARTS.intersection(p.relative_to(dest).parts) and p.suffix != ".pyc"
        }
    drift = Drift()
    for rel, data in expected.items():
        if rel not in present:
            drift.missing.append(rel)
        elif present[rel].read_bytes() != data:
            drift.changed.append(rel)
    drift.extra = sorted(set(present) - set(expected))
    return drift


def release(source, dest, *, check=False, derived=None):
    """Regenerate `dest` from `source`, after writing the `derived` files ({relative path: bytes})
    into `source` (or, with check, only report the Drift). Returns the Drift found."""
    source, dest, derived = Path(source), Path(dest), derived or {}
    if not source.is_dir():
        raise FileNotFoundError(f"solutions folder not found: {source}")
    expected = released_files(source)
    stale = stale_files(source, derived)
    expected.update({rel: STUB_MAKERS[Path(rel).suffix](derived[rel].decode("utf-8"), rel).encode("utf-8")
                     for rel in stale})
    drift = compare(expected, dest)
    drift.stale = stale
    if check or not drift:
        return drift
    for rel in stale:
        (source / rel).write_bytes(derived[rel])
    for rel in drift.extra:
        (dest / rel).unlink()
    for rel in drift.missing + drift.changed:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(expected[rel])
    return drift


def main(*, source="solutions", dest="assignments", check=False, rubric=None, console=None):
    """Release every exercise folder under `source` into `dest`, with the graded notebook made
    from `rubric` (a path; None: the bundled rubric); returns the exit code."""
    from rich.console import Console

    from autograder.grading.rubric import RubricError, load_rubric
    console = console or Console(stderr=True)
    source, dest = Path(source), Path(dest)
    if not source.is_dir():
        console.print(f"[red]error:[/] solutions folder not found: {source}")
        return 2
    exercises = sorted(p for p in source.iterdir() if p.is_dir() and p.name not in IGNORED_PARTS)
    if not exercises:
        console.print(f"[red]error:[/] no exercise folders in {source}")
        return 2
    try:
        derived = derived_files(load_rubric(rubric))
    except RubricError as error:
        console.print(f"[red]error:[/] {error}")
        return 2
    drifted = False
    for exercise in exercises:
        try:
            drift = release(exercise, dest / exercise.name, check=check, derived=derived)
        except ReleaseError as error:
            console.print(f"[red]error:[/] {error}")
            return 2
        drifted |= bool(drift)
        verb = "out of date" if check else "updated"
        if drift:
            console.print(f"{dest / exercise.name}: {verb}")
            for line in drift.lines():
                console.print(f"  {line}")
        else:
            console.print(f"{dest / exercise.name}: up to date")
    if check and drifted:
        console.print("run `autograder release" + (f" --rubric {rubric}" if rubric else "") + "` to regenerate")
        return 1
    return 0
