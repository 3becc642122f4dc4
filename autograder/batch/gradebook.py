"""The class gradebook as CSV: `student,<part ids in rubric order>,total,problem,review`, one row
per student in student order. `problem` says why a submission could not be graded (empty when it
was); `review` why the instructor should look at it (code the grader does not grade, or could not
read), empty for most. A text cell that a spreadsheet would run as a formula is defused with a
leading quote."""
import csv
import io

from autograder.batch.records import write_atomically
from autograder.batch.students import printable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text):
    """`text` that a spreadsheet shows as text: control characters escaped, no formula."""
    text = printable(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def rows(graded, rubric):
    """The gradebook's rows (header first) for `graded`: (student id, GradeResult) pairs."""
    yield ["student", *(part.id for part in rubric.parts), "total", "problem", "review"]
    for student, result in graded:
        points = {part.id: part.points for part in result.parts}
        yield [spreadsheet_safe(student), *(f"{points.get(part.id, 0.0):g}" for part in rubric.parts),
               f"{result.score:g}", spreadsheet_safe(result.problem), spreadsheet_safe("; ".join(result.review))]


def write_gradebook(path, graded, rubric):
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows(graded, rubric))
    write_atomically(path, text.getvalue())
