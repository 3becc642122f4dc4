"""The graded notebook, `grading.ipynb`: an introduction, then one graded cell per rubric part
(grade_id `part-<id>`, the part's points), as nbgrader reads them. `autograder release` writes it
from the rubric; the nbgrader adapter (nbgrader.py) puts the grader's scores and feedback under
its cells. Only nbformat is needed here, so releasing needs no nbgrader; it is imported where it
is used, since grading imports this module (through release.py) and never needs it."""
from autograder.grading.rubric import PART_IDS, load_rubric

GRADED_NOTEBOOK = "grading.ipynb"
CELL_PREFIX = "part-"  # the grade_id of the cell that holds rubric part `add` is `part-add`
INTRO = """\
# What is graded, and for how much

Each code cell below is one part of your grade, with its points. The grade comes from your
`engine.py` and `nn.py`, not from this notebook: the course's grader runs your files in a
sandbox, tries many more cases than the self-checks, and writes each part's score and feedback
(the failing case, expected against got, the likely mistake) under that part's cell. Nothing
you run or change in this notebook changes a score.

Check yourself as you go: run `pytest` in this folder. nbgrader's Validate button (or
`nbgrader validate grading.ipynb`) runs each part's self-checks under its cell (see `validate.py`)."""



def cell_id(part_id):
    return CELL_PREFIX + part_id


def part_of(grade_id):
    """The rubric part whose cell has this grade_id, or None."""
    if isinstance(grade_id, str) and grade_id.startswith(CELL_PREFIX) and grade_id[len(CELL_PREFIX):] in PART_IDS:
        return grade_id[len(CELL_PREFIX):]
    return None


def part_cell_source(part):
    """The code of the part's graded cell. Run in a kernel it is worth 0, except under nbgrader
    validate, where it runs the part's self-checks (validate.py in the students' folder)."""
    unit = "point" if part.points == 1 else "points"
    return (f"# {part.id}: {part.title} ({part.points:g} {unit})\n"
            "# Graded by the course's grader, which runs your engine.py and nn.py in a\n"
            "# sandbox: what a notebook runs never counts. After grading, this part's\n"
            "# score and feedback appear below. Under nbgrader validate (the Validate\n"
            "# button), this cell runs the part's self-checks instead.\n"
            "from validate import graded_part\n"
            f"graded_part({part.id!r})")


def part_cell_metadata(grade_id, points, locked=True):
    return {"grade": True, "grade_id": grade_id, "locked": locked, "points": points,
            "schema_version": 3, "solution": False, "task": False}


def part_cell(part):
    import nbformat
    cell = nbformat.v4.new_code_cell(part_cell_source(part))
    cell.id = cell_id(part.id)
    cell.metadata = nbformat.from_dict({"deletable": False, "editable": False,
                                        "nbgrader": part_cell_metadata(cell_id(part.id), part.points)})
    return cell


def graded_notebook(rubric=None):
    """The graded notebook: an introduction, then one graded cell per rubric part."""
    import nbformat
    rubric = rubric or load_rubric()
    intro = nbformat.v4.new_markdown_cell(INTRO)
    intro.id = "what-is-graded"
    notebook = nbformat.v4.new_notebook(cells=[intro, *(part_cell(part) for part in rubric.parts)])
    notebook.metadata = nbformat.from_dict({
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    return notebook
