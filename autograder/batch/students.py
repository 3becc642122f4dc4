"""Which student handed in what: one submission per student, found in a class folder.

Two layouts:
  - plain: one folder or .zip per student, named by student id (`alice/`, `bob.zip`);
  - nbgrader's: `submitted/<student>/<assignment>/`, recognised when the folder is named
    `submitted` or holds one.

A student id is a file name, so it is hostile text: it may hold control characters, bidi
overrides, bytes that are not UTF-8 or a leading `=`. `printable` is how it is shown and
`file_name` how it is stored; neither trusts it.
"""
import hashlib
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from autograder import text

NBGRADER_FOLDER = "submitted"
SKIPPED_NAMES = {"__MACOSX", "Thumbs.db", "desktop.ini"}  # litter of zip tools and file browsers
MAX_NAME_CHARS = 160


class ClassFolderError(ValueError):
    """The class folder cannot be used at all; the message says why."""


@dataclass(frozen=True)
class Submission:
    student: str  # the id as found on disk
    path: Path  # the folder or file to grade
    problem: str = ""  # why it cannot be graded, when that is known before grading


def find_submissions(folder, *, assignment="micrograd", exclude=()):
    """The submissions in `folder`, one per student, in student order.

    `exclude` lists paths to pass over (the output folder, when it lies inside `folder`).
    Raises ClassFolderError for a missing or empty folder.
    """
    folder = Path(folder)
    if not folder.exists():
        raise ClassFolderError(f"no such folder: {folder}")
    if not folder.is_dir():
        raise ClassFolderError(f"{folder} is not a folder (expected one folder or .zip per student in it)")
    nbgrader = nbgrader_root(folder)
    excluded = {Path(p).resolve() for p in exclude}
    entries = [e for e in _entries(nbgrader or folder) if e.resolve() not in excluded]
    if nbgrader:
        found = [_nbgrader_submission(entry, assignment) for entry in entries]
    else:
        found = [_plain_submission(entry) for entry in entries]
    if not found:
        layout = f"{nbgrader}/<student>/{assignment}/" if nbgrader else "one folder or .zip per student"
        raise ClassFolderError(f"no submissions in {folder} (expected {layout})")
    return _one_per_student(found)


def nbgrader_root(folder):
    """nbgrader's `submitted/` folder when `folder` is it or holds it, else None."""
    if folder.name == NBGRADER_FOLDER:
        return folder
    inner = folder / NBGRADER_FOLDER
    return inner if inner.is_dir() else None


def _entries(folder):
    return sorted(e for e in folder.iterdir() if not e.name.startswith(".") and e.name not in SKIPPED_NAMES)


def _plain_submission(entry):
    if entry.is_dir() or entry.suffix.lower() != ".zip":
        return Submission(entry.name, entry)  # anything else is refused by grading, with its reason
    return Submission(entry.stem, entry)


def _nbgrader_submission(entry, assignment):
    if not entry.is_dir():
        return Submission(entry.name, entry, f"{entry.name} in {entry.parent.name}/ is not a student's folder")
    handed_in = entry / assignment
    if handed_in.is_dir():
        return Submission(entry.name, handed_in)
    others = ", ".join(e.name for e in _entries(entry) if e.is_dir()) or "nothing"
    return Submission(entry.name, handed_in, f"no {assignment}/ folder in {entry.parent.name}/{entry.name}/ "
                                             f"(found: {others}); is --assignment right?")


def _one_per_student(found):
    by_student = {}
    for submission in found:
        by_student.setdefault(submission.student, []).append(submission)
    chosen = []
    for student, submissions in by_student.items():
        if len(submissions) == 1:
            chosen.append(submissions[0])
        else:
            names = ", ".join(printable(s.path.name) for s in submissions)
            chosen.append(Submission(student, submissions[0].path,
                                     f"several submissions for one student ({names}); keep one and grade again"))
    return sorted(chosen, key=lambda s: (s.student.casefold(), s.student))


def printable(student):
    """`student` on one line, for display: every control or format character (line breaks and
    tabs too) and every undecodable byte written as its escape, e.g. `\\x0a` or `\\u202e`."""
    return "".join(text.escape(c) if c in text.KEPT else c for c in text.printable(student))


def file_name(student):
    """A distinct, safe file stem for `student`: letters, digits, `_`, `-`, `~` and %-escapes
    only (so no `/`, no `..`, no leading dot, no control characters), at most MAX_NAME_CHARS
    long (a long id ends in a hash of the whole)."""
    raw = student.encode("utf-8", "surrogateescape")
    name = urllib.parse.quote_from_bytes(raw, safe="").replace(".", "%2E")
    if len(name) > MAX_NAME_CHARS:
        name = name[:MAX_NAME_CHARS - 17] + "~" + hashlib.sha256(raw).hexdigest()[:16]
    return name
