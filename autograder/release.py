"""`autograder release`: generate the student folder from the solutions.

Every `### BEGIN SOLUTION` ... `### END SOLUTION` region of a solution file becomes nbgrader's

    # YOUR CODE HERE
    raise NotImplementedError()

at the indentation of the BEGIN marker; everything else is copied as it is. The markers are
matched on whole lines only, and a line that mentions a marker without being one is an error,
so a typo can never leak a solution into the released files.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*### END SOLUTION[ \t]*$")
MENTION = re.compile(r"(BEGIN|END) SOLUTION")
STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()")
# Never part of a release: caches and local state.
IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints"}


class MarkerError(ValueError):
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


def released_files(source):
    """{relative path: bytes} of what releasing the folder `source` produces."""
    files = {}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_dir() or IGNORED_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
            continue
        data = path.read_bytes()
        if path.suffix == ".py":
            data = make_stub(data.decode("utf-8"), str(path)).encode("utf-8")
        files[relative.as_posix()] = data
    return files


@dataclass
class Drift:
    """How a released folder differs from what the solutions produce."""
    missing: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    extra: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.missing or self.changed or self.extra)

    def lines(self):
        return ([f"missing: {p}" for p in self.missing] + [f"changed: {p}" for p in self.changed]
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


def release(source, dest, *, check=False):
    """Regenerate `dest` from `source` (or, with check, only report the Drift). Returns the Drift found."""
    source, dest = Path(source), Path(dest)
    if not source.is_dir():
        raise FileNotFoundError(f"solutions folder not found: {source}")
    expected = released_files(source)
    drift = compare(expected, dest)
    if check or not drift:
        return drift
    for rel in drift.extra:
        (dest / rel).unlink()
    for rel in drift.missing + drift.changed:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(expected[rel])
    return drift


def main(*, source="solutions", dest="assignments", check=False, console=None):
    """Release every exercise folder under `source` into `dest`; returns the exit code."""
    from rich.console import Console
    console = console or Console(stderr=True)
    source, dest = Path(source), Path(dest)
    if not source.is_dir():
        console.print(f"[red]error:[/] solutions folder not found: {source}")
        return 2
    exercises = sorted(p for p in source.iterdir() if p.is_dir() and p.name not in IGNORED_PARTS)
    if not exercises:
        console.print(f"[red]error:[/] no exercise folders in {source}")
        return 2
    drifted = False
    for exercise in exercises:
        try:
            drift = release(exercise, dest / exercise.name, check=check)
        except MarkerError as error:
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
        console.print("run `autograder release` to regenerate")
        return 1
    return 0
