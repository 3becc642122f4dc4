"""Each student's result on disk, written as soon as it is known, so a run that stops resumes.

`OUT/results/<file name>.json` holds one record:

    {"student": ID, "rubric": DIGEST, "grader": VERSION, "result": GradeResult.to_dict()}

A record is written to a temporary file in the same folder and then renamed over its final
name (atomic on POSIX): a killed run leaves a complete record or none. A record is trusted
on the next run only if it reads back whole, is for the same student, and was graded by the
same grader version with the same rubric; one whose grading failed inside the grader is
graded again.
"""
import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

from autograder import __version__
from autograder.batch.students import file_name
from autograder.grading.results import GradeResult

TEMPORARY_PREFIX = ".partial-"
PRESENTATION_ONLY = ("visibility",)  # rubric fields that change no score


def rubric_digest(rubric):
    """A digest of what in the rubric decides a result (not how Gradescope shows it)."""
    data = dataclasses.asdict(rubric)
    for part in data["parts"]:
        for key in PRESENTATION_ONLY:
            part.pop(key, None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def write_atomically(path, text):
    """Write `text` to `path` so that a reader, or a killed writer, never leaves half of it."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=TEMPORARY_PREFIX)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class RecordStore:
    """The records of one output folder."""

    def __init__(self, folder, rubric):
        self.folder = Path(folder)
        self.digest = rubric_digest(rubric)
        self.part_ids = [part.id for part in rubric.parts]

    def prepare(self):
        """Create the folder and remove what a killed run left half-written."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for leftover in self.folder.glob(TEMPORARY_PREFIX + "*"):
            leftover.unlink(missing_ok=True)

    def path(self, student):
        return self.folder / (file_name(student) + ".json")

    def save(self, student, result):
        record = {"student": student, "rubric": self.digest, "grader": __version__, "result": result.to_dict()}
        write_atomically(self.path(student), json.dumps(record, indent=1))  # ASCII: any id survives

    def load(self, student):
        """The stored GradeResult for `student`, or None when there is none to trust."""
        try:
            record = json.loads(self.path(student).read_text(encoding="utf-8"))
            result = GradeResult.from_dict(record["result"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        trusted = (record.get("student") == student and record.get("rubric") == self.digest
                   and record.get("grader") == __version__ and [p.id for p in result.parts] == self.part_ids
                   and not result.internal_errors)
        return result if trusted else None
