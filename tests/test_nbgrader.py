"""The exercise as an nbgrader assignment (nbgrader_config.py, autograder/integrations/nbgrader.py).

The slow tests run a temporary course with the real nbgrader commands, as an instructor does:
generate_assignment, autograde, generate_feedback, export. Their numbers come from nbgrader's
own gradebook and CSV export, and are compared with what `autograder grade` gives the same
files: the students include a cheater and hand-edited notebooks, and nothing the notebooks
hold may change a score.
"""
import csv
import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, SaveAutoGrades
from nbgrader.utils import compute_checksum, determine_grade, find_all_files, ignore_patterns
from traitlets.config.loader import PyFileConfigLoader

import browser
from autograder import release
from autograder.grading.results import FAILED, PASSED, CheckResult, PartResult
from autograder.grading.rubric import load_rubric
from autograder.integrations import nbgrader as sandboxed

ASSIGNMENT = "micrograd"
GRADED = Path(sandboxed.GRADED_NOTEBOOK).stem
WRONG_MUL = ("self.grad += other.data * out.grad", "self.grad = other.data * out.grad")
ANSWERS = ("engine.py", "nn.py")
CHECKOUT = Path(__file__).resolve().parent.parent  # the grader under test


# A course: this repository's nbgrader_config.py and solutions/, in a temporary folder ----------

def make_course(repo, into):
    into.mkdir()
    shutil.copy(repo / "nbgrader_config.py", into)
    shutil.copytree(repo / "solutions" / ASSIGNMENT, into / "solutions" / ASSIGNMENT,
                    ignore=shutil.ignore_patterns(*release.IGNORED_PARTS, "*.pyc"))
    return into


def load_config(course):
    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


def nbgrader(course, *args, home=None):
    """Run an nbgrader command in the course, as an instructor does (its venv's bin on PATH), or
    as a student does in their own folder (`home`: HOME, so their own ~/.jupyter and caches); the
    course's configuration imports the grader of this checkout, wherever the course lies."""
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
           "PYTHONPATH": os.pathsep.join([str(CHECKOUT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    if home is not None:
        env = {key: value for key, value in env.items() if not key.startswith("JUPYTER")} | {"HOME": str(home)}
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=home or course, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def solution_lines(folder):
    """Every non-blank line inside a solution region of the folder's files and notebooks."""
    lines = set()
    for path in folder.iterdir():
        text = path.read_text("utf-8")
        if path.suffix == ".ipynb":
            lines.update(release.notebook_solution_lines(text, path.name))
        elif path.suffix == ".py":
            lines.update(release.solution_lines(text, path.name))
    return lines


def text_lines(folder):
    """{stripped line} of every file of a folder, notebook cells included."""
    lines = set()
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_text("utf-8", "replace")
            if path.suffix == ".ipynb":
                text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
            lines.update(line.strip() for line in text.splitlines())
    return lines


# Fast: the pieces ------------------------------------------------------------------------------

def test_the_graded_notebook_has_one_locked_graded_cell_per_rubric_part(repo):
    committed = nbformat.read(repo / "solutions" / ASSIGNMENT / sandboxed.GRADED_NOTEBOOK, as_version=4)
    graded = [cell for cell in committed.cells if "nbgrader" in cell.metadata]
    assert [cell.metadata.nbgrader.grade_id for cell in graded] == [sandboxed.cell_id(p.id)
                                                                    for p in load_rubric().parts]
    assert all(cell.cell_type == "code" and cell.metadata.nbgrader.locked and cell.metadata.nbgrader.grade
               and not cell.metadata.nbgrader.solution for cell in graded)


def test_generating_the_assignment_takes_points_and_titles_from_the_rubric(repo, tmp_path):
    changed = {"add": ("addition", 3)}
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("".join(f'[parts.{p.id}]\ntitle = "{changed.get(p.id, (p.title,))[0]}"\n'
                              f"points = {changed.get(p.id, (None, p.points))[1]}\n" for p in load_rubric().parts))
    notebook = sandboxed.graded_notebook(load_rubric())
    sandboxed.ReleaseStudentFiles(rubric=str(rubric)).sync_part_cells(notebook, GRADED)
    cell = graded(notebook, "add")
    assert cell.metadata.nbgrader.points == 3 and cell.source.startswith("# add: addition (3 points)\n")
    assert graded(notebook, "backward").metadata.nbgrader.points == load_rubric().part("backward").points


def test_generating_the_assignment_with_a_rubric_the_notebook_does_not_match_says_what_to_run(tmp_path):
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("".join(f"[parts.{p.id}]\npoints = {p.points}\n" for p in load_rubric().parts if p.id != "relu"))
    with pytest.raises(sandboxed.ConfigurationError, match=r"part-relu is for part relu, which the rubric does "
                                                           r"not grade; write grading.ipynb from the rubric with "
                                                           r"`autograder release --rubric FILE`"):
        sandboxed.ReleaseStudentFiles(rubric=str(rubric)).sync_part_cells(sandboxed.graded_notebook(), GRADED)


@pytest.fixture
def course(repo, tmp_path):
    return make_course(repo, tmp_path / "course")


def test_nbgrader_never_copies_a_solution_file(course):
    """What nbgrader copies from the source folder (generate_assignment, and autograde's overwrite)
    leaves out exactly the files with solutions; a student's files of the same names are copied."""
    coursedir = CourseDirectory(config=load_config(course))
    source = coursedir.format_path(coursedir.source_directory, ".", ASSIGNMENT)
    copied = {os.path.relpath(p, source) for p in find_all_files(source, coursedir.ignore + ["*.ipynb"])}
    with_solutions = set(sandboxed.files_with_solutions(course / "solutions" / ASSIGNMENT))
    assert with_solutions >= {"engine.py", "nn.py"}
    assert not copied & with_solutions
    others = {p.name for p in (course / "solutions" / ASSIGNMENT).iterdir() if p.suffix != ".ipynb"}
    assert copied == others - with_solutions

    student = Path(coursedir.format_path(coursedir.submitted_directory, "alice", ASSIGNMENT))
    shutil.copytree(course / "solutions" / ASSIGNMENT, student)
    handed_in = {os.path.relpath(p, student) for p in find_all_files(str(student), coursedir.ignore + ["*.ipynb"])}
    assert with_solutions <= handed_in
    dropped_by_submit = ignore_patterns(exclude=coursedir.ignore, include=coursedir.include)(str(student),
                                                                                           sorted(with_solutions))
    assert dropped_by_submit == []  # `nbgrader submit` and collect filter by these patterns too


def test_autograde_keeps_the_students_files(course):
    kept = load_config(course).Autograde.exclude_overwriting
    assert kept == {ASSIGNMENT: sandboxed.files_with_solutions(course / "solutions" / ASSIGNMENT)}
    assert {"engine.py", "nn.py"} <= set(kept[ASSIGNMENT])


def test_the_pipelines_grade_in_the_sandbox_and_never_execute():
    steps = sandboxed.autograde_preprocessors()
    assert Execute not in steps and sandboxed.ExecuteOtherAssignments in steps
    assert steps.index(sandboxed.GradeInSandbox) == steps.index(SaveAutoGrades) - 1
    assert sandboxed.sanitize_preprocessors()[0] is sandboxed.ForgetUnknownCells
    assert sandboxed.generate_assignment_preprocessors()[0] is sandboxed.ReleaseStudentFiles
    defaults = Autograde.class_traits()["autograde_preprocessors"].default()
    assert [s for s in steps if s not in (sandboxed.GradeInSandbox, sandboxed.ExecuteOtherAssignments)] == \
        [s for s in defaults if s is not Execute]
    generate_defaults = GenerateAssignment.class_traits()["preprocessors"].default()
    assert sandboxed.generate_assignment_preprocessors()[1:] == generate_defaults


def test_our_notebooks_never_run_and_are_worth_nothing_until_graded():
    """Without a kernel, a silent graded cell would get full marks from nbgrader; skipped
    execution leaves every autograded cell at 0 for GradeInSandbox to score."""
    notebook = sandboxed.graded_notebook(load_rubric())
    for cell in notebook.cells[1:]:
        cell.source = "print('this ran')"
    resources = {"nbgrader": {"assignment": ASSIGNMENT, "notebook": GRADED}}
    notebook, _ = sandboxed.ExecuteOtherAssignments().preprocess(notebook, resources)
    for cell, part in zip(notebook.cells[1:], load_rubric().parts):
        assert determine_grade(cell) == (0, part.points)
        assert "this ran" not in json.dumps(cell.outputs)


@pytest.mark.parametrize("points, max_points, outcome", [(1.0, 1.0, PASSED), (0.0, 2.0, FAILED), (2.5, 2.5, PASSED)])
def test_a_graded_cell_scores_the_parts_points_and_shows_its_feedback(points, max_points, outcome):
    message = "out = a * b\n  expected a.grad = -0.75, got -1\n  likely: you assign the gradient (`=`)"
    part = PartResult("mul", "the _backward of *", max_points,
                      (CheckResult("mul", "check", outcome, "" if outcome == PASSED else message),))
    source = type("SourceCell", (), {"name": "part-mul", "source": "0", "locked": True, "checksum": "x"})
    cell = sandboxed.graded_cell(source, max_points, part, ["skipped engine.py: symbolic links are not followed"])
    assert determine_grade(cell) == (part.points, max_points)
    assert not [o for o in cell.outputs if o.output_type == "error" or o.get("name") == "stderr"]
    text = cell.outputs[0].text
    assert text.startswith(f"mul: the _backward of *\n{'passed' if outcome == PASSED else 'failed'}: {points:g} / ")
    assert (message in text and "symbolic links" in text) == (outcome == FAILED)


# Slow: a course run with the real commands ------------------------------------------------------

def submit(course, student):
    """A student's folder: the released assignment, as handed out."""
    folder = course / "submitted" / student / ASSIGNMENT
    shutil.copytree(course / "release" / ASSIGNMENT, folder)
    for path in folder.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return folder


def write_answers(folder, repo, mistake=None):
    for name in ANSWERS:
        text = release.without_markers((repo / "solutions" / ASSIGNMENT / name).read_text("utf-8"))
        if mistake and mistake[0] in text:
            text = text.replace(*mistake)
        (folder / name).write_text(text)


def edit_notebook(path, edit):
    notebook = nbformat.read(path, as_version=4)
    edit(notebook)
    nbformat.write(notebook, path)


def graded(notebook, part_id):
    grade_id = sandboxed.cell_id(part_id)
    return next(cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def cheat(notebook, marker):
    """Monkeypatch everything a test could use, leave a trace if the notebook ever runs, and
    rewrite the test cell of `mul` to claim its points (and more)."""
    notebook.cells.insert(1, nbformat.v4.new_code_cell(
        "abs = lambda x: 0\n"
        "import builtins, math\n"
        "builtins.abs = abs\n"
        "math.isclose = lambda *args, **kwargs: True\n"
        "import engine\n"
        "engine.Value.__mul__ = lambda self, other: self\n"
        f"open({str(marker)!r}, 'w').write('the student notebook ran')\n"))
    cell = graded(notebook, "mul")
    cell.source = "1"
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=3)]
    cell.metadata["nbgrader"]["points"] = 100


def cheater(folder, repo, marker):
    """A wrong engine, a graded notebook that cheats, and every other notebook leaving a trace if run."""
    write_answers(folder, repo, WRONG_MUL)
    edit_notebook(folder / sandboxed.GRADED_NOTEBOOK, lambda notebook: cheat(notebook, marker))
    trace = nbformat.v4.new_code_cell(f"open({str(marker)!r}, 'w').write('ran')")
    for path in folder.glob("*.ipynb"):
        if path.name != sandboxed.GRADED_NOTEBOOK:
            edit_notebook(path, lambda notebook: notebook.cells.append(trace))


def mangle(notebook):
    """Graded cells deleted, renamed, moved, duplicated, forged and corrupted."""
    notebook.cells.remove(graded(notebook, "backward"))
    graded(notebook, "add").metadata["nbgrader"]["grade_id"] = "part-renamed"
    convergence = graded(notebook, "convergence")
    notebook.cells.remove(convergence)
    notebook.cells.insert(0, convergence)
    forged = nbformat.v4.new_code_cell("5", metadata=json.loads(json.dumps(graded(notebook, "mul").metadata)))
    forged.metadata["nbgrader"]["points"] = 5
    forged.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "5"}, execution_count=1)]
    notebook.cells.append(forged)
    notebook.cells.append(nbformat.v4.new_code_cell("50", metadata={"nbgrader": {
        "grade": True, "grade_id": "extra-credit", "points": 50, "locked": True, "solution": False,
        "schema_version": 3}}))
    graded(notebook, "pow").metadata["nbgrader"]["schema_version"] = 99
    graded(notebook, "exp").metadata["nbgrader"] = "not metadata"


def hostile_files(folder, repo):
    """engine.py a symbolic link to the instructor's model answer; a large data file; nn.py right."""
    write_answers(folder, repo)
    (folder / "engine.py").unlink()
    (folder / "engine.py").symlink_to(repo / "solutions" / ASSIGNMENT / "engine.py")
    (folder / "data.bin").write_bytes(os.urandom(1024) * 3072)
    (folder / "notes.txt").write_text("extra file\n")


def readme_section(repo):
    return (repo / "README.md").read_text("utf-8").split("## Instructors: nbgrader", 1)[1].split("\n## ", 1)[0]


def readme_blocks(repo):
    """The nbgrader commands of the README's nbgrader section as argument lists, block by block:
    the instructor's release, a student's steps, the instructor's grading."""
    blocks = re.findall(r"```sh\n(.*?)```", readme_section(repo), re.S)
    return [[line.split("#")[0].split()[1:] for line in block.splitlines() if line.startswith("nbgrader ")]
            for block in blocks]


def readme_configs(repo):
    """(the course's settings, a student's nbgrader_config.py), as the README shows them."""
    course, student = re.findall(r"```python\n(.*?)```", readme_section(repo), re.S)
    return course, student


EXCHANGE = "/srv/nbgrader/exchange"  # the README's exchange


def test_the_readme_gives_the_commands_in_a_courses_order(repo):
    assert [[command[0] for command in block] for block in readme_blocks(repo)] == [
        ["generate_assignment", "release_assignment"], ["fetch_assignment", "validate", "submit"],
        ["collect", "autograde", "generate_feedback", "release_feedback", "export"]]


def test_the_readme_shows_the_courses_own_settings_and_the_students(repo):
    course, student = readme_configs(repo)
    config = (repo / "nbgrader_config.py").read_text()
    assert all(line in config.splitlines() for line in course.splitlines())
    assert student.splitlines() == ["c = get_config()", *course.splitlines()]
    assert f'c.Exchange.root = "{EXCHANGE}"' in course and "course_id" in course
    assert f"mkdir -p {EXCHANGE} && sudo chmod 777 {EXCHANGE}" in readme_section(repo)


@pytest.fixture(scope="module")
def graded_course(repo, tmp_path_factory):
    """A course after the README's commands: generate_assignment, then seven students' autograde,
    generate_feedback, export."""
    course = make_course(repo, tmp_path_factory.mktemp("nbgrader") / "course")
    (generate, _), _, grading = readme_blocks(repo)
    after_hand_in = [command for command in grading if command[0] in ("autograde", "generate_feedback", "export")]
    generated = nbgrader(course, *generate)
    marker = course.parent / "the-notebook-ran"
    students = {
        "correct": lambda f: write_answers(f, repo),
        "wrong_op": lambda f: write_answers(f, repo, WRONG_MUL),
        "blank": lambda f: None,
        "cheater": lambda f: cheater(f, repo, marker),
        "mangled": lambda f: (write_answers(f, repo), edit_notebook(f / sandboxed.GRADED_NOTEBOOK, mangle)),
        "notebooks_only": lambda f: [p.unlink() for p in f.glob("*.py")],
        "hostile_files": lambda f: hostile_files(f, repo),
        "py_only": lambda f: (write_answers(f, repo), [p.unlink() for p in f.iterdir() if p.name not in ANSWERS]),
        "no_graded_notebook": lambda f: (write_answers(f, repo), (f / sandboxed.GRADED_NOTEBOOK).unlink()),
    }
    for student, prepare in students.items():
        prepare(submit(course, student))
    logs = {generate[0]: generated, **{command[0]: nbgrader(course, *command) for command in after_hand_in}}
    return {"course": course, "students": sorted(students), "logs": logs, "marker": marker}


@pytest.fixture(scope="module")
def autograder_grades(graded_course):
    """{student: Gradescope results of `autograder grade --json` on the same submitted folder}."""
    course, students = graded_course["course"], graded_course["students"]
    paths = [str(course / "submitted" / s / ASSIGNMENT) for s in students]
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", "--json", *paths],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    return dict(zip(students, json.loads(result.stdout)))


def part_points(results):
    return {test["tags"][0]: test["score"] for test in results["tests"]}


def gradebook_points(course, student):
    """{part id: score} from nbgrader's own gradebook."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
        return {sandboxed.part_of(grade.name): grade.score for grade in grades if sandboxed.part_of(grade.name)}


@pytest.mark.slow
def test_the_readme_course_runs_through_the_exchange(repo, tmp_path):
    """The README's nbgrader section as written, its exchange a temporary folder: release, fetch,
    validate, submit, collect, autograde, feedback there and back, export."""
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    course = make_course(repo, tmp_path / "course")
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text().replace(EXCHANGE, str(exchange)))
    release, student_steps, grading = readme_blocks(repo)
    for command in release:
        nbgrader(course, *command)
    students = {"ada": None, "bob": WRONG_MUL}
    validated = {}
    for student, mistake in students.items():
        home = tmp_path / student
        (home / ".jupyter").mkdir(parents=True)
        (home / ".jupyter" / "nbgrader_config.py").write_text(readme_configs(repo)[1].replace(EXCHANGE, str(exchange)))
        for command in student_steps:
            shown = nbgrader(course, *command, "--student", student, home=home)
            if command[0] == "fetch_assignment":
                write_answers(home / ASSIGNMENT, repo, mistake)
            validated[student] = shown if command[0] == "validate" else validated.get(student)
    assert "Success! Your notebook passes all the tests." in validated["ada"]
    assert "VALIDATION FAILED ON 1 CELL(S)!" in validated["bob"]
    for command in grading:
        nbgrader(course, *command)
    with open(course / "grades.csv", newline="") as export:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(export)}
    assert scores == {"ada": 10.0, "bob": 8.0}  # bob loses mul, and convergence with it
    for student in students:
        nbgrader(course, "fetch_feedback", ASSIGNMENT, "--student", student, home=tmp_path / student)
    [page] = (tmp_path / "bob" / ASSIGNMENT / "feedback").glob(f"*/{GRADED}.html")
    assert "likely: you assign the gradient" in html.unescape(page.read_text("utf-8"))


@pytest.mark.slow
def test_the_release_holds_no_solution_text(graded_course, repo):
    course = graded_course["course"]
    released = course / "release" / ASSIGNMENT
    secret = solution_lines(course / "solutions" / ASSIGNMENT)
    assert len(secret) > 20 and not secret & text_lines(released)
    for name in ("engine.py", "nn.py"):
        stub = release.make_stub((course / "solutions" / ASSIGNMENT / name).read_text("utf-8"))
        assert (released / name).read_text("utf-8") == stub
        assert stub == (repo / "assignments" / ASSIGNMENT / name).read_text("utf-8")
    copies = re.findall(r"Copying \S+ -> \S+", graded_course["logs"]["generate_assignment"])
    assert copies and not [c for c in copies if re.search(r"(engine|nn)\.py ->", c)]  # never even a moment
    notebooks = sorted(p.name for p in (course / "solutions" / ASSIGNMENT).glob("*.ipynb"))
    assert sorted(p.name for p in released.glob("*.ipynb")) == notebooks  # the teaching notebooks come along


@pytest.mark.slow
def test_the_released_graded_notebook_shows_the_rubric(graded_course):
    notebook = nbformat.read(graded_course["course"] / "release" / ASSIGNMENT / sandboxed.GRADED_NOTEBOOK, as_version=4)
    for part in load_rubric().parts:
        cell = graded(notebook, part.id)
        assert (cell.source, cell.metadata.nbgrader.points) == (sandboxed.part_cell_source(part), part.points)
        assert not cell.outputs


@pytest.mark.slow
def test_regenerating_through_the_formgrader_api_releases_no_solution(course):
    """The formgrader's Generate button (NbGraderAPI) and --force take the same path."""
    from nbgrader.apps import NbGraderAPI
    config = load_config(course)
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    outcome = api.generate_assignment(ASSIGNMENT, force=True)
    assert outcome["success"], outcome
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    released = course / "release" / ASSIGNMENT
    assert not solution_lines(course / "solutions" / ASSIGNMENT) & text_lines(released)


@pytest.mark.slow
def test_every_score_is_the_sandboxed_graders(graded_course, autograder_grades):
    course = graded_course["course"]
    with open(course / "grades.csv", newline="") as export:
        exported = {row["student_id"]: row for row in csv.DictReader(export) if row["assignment"] == ASSIGNMENT}
    assert sorted(exported) == graded_course["students"]
    for student, expected in autograder_grades.items():
        assert gradebook_points(course, student) == part_points(expected), student
        assert float(exported[student]["score"]) == expected["score"], student
        assert float(exported[student]["max_score"]) == load_rubric().max_score
    scores = {student: results["score"] for student, results in autograder_grades.items()}
    assert scores["correct"] == scores["mangled"] == load_rubric().max_score
    assert scores["py_only"] == scores["no_graded_notebook"] == load_rubric().max_score
    assert scores["blank"] == scores["notebooks_only"] == scores["hostile_files"] == 0
    assert 0 < scores["wrong_op"] < load_rubric().max_score


@pytest.mark.slow
def test_nbgrader_and_grade_all_give_every_hand_in_the_same_total(graded_course, tmp_path):
    course = graded_course["course"]
    done = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(course), "--out", str(tmp_path / "out"),
                           "--jobs", "1"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "out" / "gradebook.csv", newline="") as gradebook:
        graded_all = {row["student"]: float(row["total"]) for row in csv.DictReader(gradebook)}
    with open(course / "grades.csv", newline="") as export:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(export)
                    if row["assignment"] == ASSIGNMENT}
    assert exported == graded_all and sorted(exported) == graded_course["students"]


@pytest.mark.slow
def test_the_cheater_gains_nothing(graded_course, autograder_grades):
    course = graded_course["course"]
    assert gradebook_points(course, "cheater") == gradebook_points(course, "wrong_op")
    assert gradebook_points(course, "cheater")["mul"] == 0
    assert not graded_course["marker"].exists(), "a student's notebook was executed"


@pytest.mark.slow
def test_autograde_keeps_each_students_own_files(graded_course):
    course = graded_course["course"]
    for student in graded_course["students"]:
        submitted, autograded = (course / step / student / ASSIGNMENT for step in ("submitted", "autograded"))
        for name in ("engine.py", "nn.py"):
            if (submitted / name).is_file() and not (submitted / name).is_symlink():
                assert (autograded / name).read_bytes() == (submitted / name).read_bytes(), (student, name)
    for student, name in (("notebooks_only", "engine.py"), ("notebooks_only", "nn.py"), ("hostile_files", "engine.py")):
        for step in ("autograded", "feedback"):
            assert not (course / step / student / ASSIGNMENT / name).exists(), (student, step, name)


@pytest.mark.slow
def test_each_autograded_notebook_has_every_graded_cell_once_as_the_gradebook_holds_it(graded_course):
    course = graded_course["course"]
    for student in graded_course["students"]:
        notebook = nbformat.read(course / "autograded" / student / ASSIGNMENT / sandboxed.GRADED_NOTEBOOK, as_version=4)
        cells = [cell for cell in notebook.cells if "nbgrader" in cell.metadata]
        parts = load_rubric().parts
        assert sorted(c.metadata.nbgrader.grade_id for c in cells) == sorted(sandboxed.cell_id(p.id) for p in parts), \
            student
        for cell in cells:
            assert compute_checksum(cell) == cell.metadata.nbgrader.checksum, (student, cell.metadata.nbgrader.grade_id)


@pytest.mark.slow
def test_feedback_shows_the_graders_feedback_for_every_part(graded_course, autograder_grades):
    course = graded_course["course"]
    for student, expected in autograder_grades.items():
        page = (course / "feedback" / student / ASSIGNMENT / f"{GRADED}.html").read_text("utf-8")
        shown = html.unescape(re.sub(r"<[^>]+>", "", page))
        for test in expected["tests"]:
            part_id = test["tags"][0]
            assert test["name"] in shown and f"Grade cell: {sandboxed.cell_id(part_id)}" in shown, (student, part_id)
            if test["score"] < test["max_score"]:
                for line in test["output"].splitlines():
                    assert line in shown, (student, part_id, line)
    wrong = html.unescape((course / "feedback" / "wrong_op" / ASSIGNMENT / f"{GRADED}.html").read_text("utf-8"))
    assert "expected a.grad" in wrong and "likely: you assign the gradient" in wrong
    nothing = html.unescape((course / "feedback" / "notebooks_only" / ASSIGNMENT / f"{GRADED}.html").read_text("utf-8"))
    assert "no engine.py in the submission" in nothing


FEEDBACK_LAYOUT = """
const outputs = [...document.querySelectorAll("div.output_subarea pre")];  // a <pre> scrolls what it cannot fit
return {summary: [...document.querySelectorAll("#toc a")].map(a => a.textContent), outputs: outputs.length,
        overflowing: outputs.filter(o => o.scrollWidth > o.clientWidth + 1).map(o => o.innerText.slice(0, 80)),
        sources: [...document.querySelectorAll("div.nbgrader_cell .input_area")].map(s => s.innerText)};
"""


@pytest.mark.slow
def test_the_feedback_page_names_each_part_and_wraps_its_feedback_in_chromium(graded_course, tmp_path):
    """In a browser window of a laptop's width: the summary lists the parts by name, no feedback
    line runs off under a scrollbar, and no graded cell's code shows a bare 0 above its points."""
    page = tmp_path / f"{GRADED}.html"
    shutil.copy(graded_course["course"] / "feedback" / "wrong_op" / ASSIGNMENT / page.name, page)
    seen = browser.measured(tmp_path, page, FEEDBACK_LAYOUT, window="1000,900")
    assert seen["summary"] == [f"{part.id}: {part.title}" for part in load_rubric().parts]
    assert seen["outputs"] >= len(load_rubric().parts) and seen["overflowing"] == []
    assert len(seen["sources"]) == len(load_rubric().parts)
    assert all("graded_part(" in source and not re.search(r"^0\s*$", source, re.M) for source in seen["sources"])


@pytest.mark.slow
def test_a_course_without_this_config_scores_the_graded_notebook_zero(repo, tmp_path):
    """Fail closed: nbgrader with its default configuration executes the graded notebook, and
    every graded cell is worth 0 there, even for a right engine: its value is 0 by design (not
    an error), for a validate run only would it run the self-checks."""
    course = tmp_path / "plain"
    source = course / "source" / ASSIGNMENT
    shutil.copytree(repo / "assignments" / ASSIGNMENT, source)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Autograde.exclude_overwriting = {{{ASSIGNMENT!r}: ['engine.py', 'nn.py']}}\n")
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    write_answers(submit(course, "correct"), repo)
    nbgrader(course, "autograde", ASSIGNMENT)
    assert set(gradebook_points(course, "correct").values()) == {0.0}
    notebook = nbformat.read(course / "autograded" / "correct" / ASSIGNMENT / sandboxed.GRADED_NOTEBOOK, as_version=4)
    for part in load_rubric().parts:
        outputs = graded(notebook, part.id).outputs
        assert [o.output_type for o in outputs] == ["stream", "execute_result"], outputs
        assert outputs[1].data["text/plain"] == "0" and "not by running this notebook" in outputs[0].text


def validate(folder):
    """`nbgrader validate grading.ipynb`, as a student runs it in their own folder (no course config)."""
    return nbgrader(folder, "validate", sandboxed.GRADED_NOTEBOOK)


@pytest.fixture
def handed_out(repo, tmp_path):
    """The released folder as a student has it, with the model answers written in."""
    folder = tmp_path / "student" / ASSIGNMENT
    shutil.copytree(repo / "assignments" / ASSIGNMENT, folder)
    write_answers(folder, repo)
    return folder


@pytest.mark.slow
def test_validate_passes_a_correct_hand_in(handed_out):
    shown = validate(handed_out)
    assert "Success! Your notebook passes all the tests." in shown and "FAILED" not in shown


@pytest.mark.slow
def test_validate_fails_only_the_part_whose_self_check_fails_and_says_why(handed_out, repo):
    write_answers(handed_out, repo, WRONG_MUL)
    shown = " ".join(validate(handed_out).split())
    assert "VALIDATION FAILED ON 1 CELL(S)!" in shown
    assert "graded_part('mul')" in shown and "graded_part('add')" not in shown
    assert "test_mul: a.grad held 0.5" in shown and "so use `+=`, not `=`" in shown


def test_a_graded_cell_run_outside_validate_is_worth_nothing(repo, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("validate_here", repo / "assignments" / ASSIGNMENT / "validate.py")
    students_validate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(students_validate)
    monkeypatch.setattr(students_validate, "self_checks", lambda: pytest.fail("ran the self-checks"))
    for execution in (None, "autograde", "feedback"):
        if execution is None:
            monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
        else:
            monkeypatch.setenv("NBGRADER_EXECUTION", execution)
        assert {students_validate.graded_part(part.id) for part in load_rubric().parts} == {0}
    assert "not by running this notebook" in capsys.readouterr().out
