"""nbgrader, with every score from the sandboxed grader: what nbgrader_config.py wires in.

nbgrader runs a notebook's tests in the student's own kernel, where the student controls every
cell (a cell `abs = lambda x: 0` turned a wrong engine into full marks). For the assignments
named in `c.SandboxedGrading.assignments`, scoring leaves the kernel:

generate_assignment
    nbgrader copies every file of the source folder that is not a notebook as it is, solutions
    included. `solution_files()` names the files that hold solution regions by their exact
    paths, for `CourseDirectory.ignore`, so nbgrader never reads them (a student's file of the
    same name is never ignored), and `ReleaseStudentFiles` writes the student's version of each,
    made by `autograder release`, into the release folder. It also gives every graded cell
    (grade_id `part-<id>`, one per rubric part) its points and text from the rubric.
autograde, finding the hand-ins
    nbgrader skips a hand-in without notebooks and scores a missing notebook 0; for these
    assignments, a hand-in without the graded notebook (only engine.py and nn.py, or notebooks
    without it) is graded from a fresh copy of it (`autograde_hand_ins_without_the_graded_notebook`,
    `GradedNotebookExporter`), so that every hand-in gets the verdict `autograder grade-all` gives.
autograde, sanitizing
    `ForgetUnknownCells` rebuilds the nbgrader metadata of every cell from the gradebook and
    drops it where the gradebook does not know the cell (renamed, invented, duplicated), so no
    edit of the metadata can stop a student's autograde or change what a cell is.
autograde, grading
    These notebooks are never executed (`ExecuteOtherAssignments`): in a kernel, student code
    would run as the instructor, outside any sandbox, beside the gradebook. `GradeInSandbox`
    grades the student's files as submitted with `grade_safely` (staging skips symbolic links and
    refuses huge files), then replaces each part's graded cell with the gradebook's own copy
    whose outputs are the part's feedback (stdout) and points (the cell's value: nbgrader's
    partial credit), re-creating a cell the student deleted. nbgrader's SaveAutoGrades records
    those points, `generate_feedback` shows the feedback and `export` exports the totals.
generate_feedback
    `FeedbackPage` is nbgrader's feedback page with each part named in its summary and the
    feedback lines wrapped to the page's width.
"""
import copy
import fnmatch
import glob
import html
import os
import re
from pathlib import Path

import nbformat
from nbconvert.exporters import HTMLExporter, NotebookExporter
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde, GenerateAssignment, NbGraderException
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, SaveAutoGrades
from nbgrader.utils import is_grade, is_solution
from traitlets import Enum, List, Unicode

from autograder import release
from autograder.grading.rubric import load_rubric
from autograder.integrations.graded_notebook import (CELL_PREFIX, GRADED_NOTEBOOK, cell_id, graded_notebook,
                                                     part_cell_metadata, part_cell_source, part_of)
from autograder.grading.session import grade_safely
from autograder.sandbox.isolation import detect

class ConfigurationError(ValueError):
    """The course is set up in a way that would let a score come from somewhere else."""


# What nbgrader must never copy ---------------------------------------------------------------

def files_with_solutions(folder):
    """Relative paths of the files of an exercise folder, notebooks aside (nbgrader clears those
    itself), that hold solution regions, or anything that looks like one."""
    folder = Path(folder)
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (path.is_file() and path.suffix != ".ipynb" and not release.IGNORED_PARTS.intersection(relative.parts)
                and release.MENTION.search(path.read_bytes().decode("utf-8", "replace"))):
            found.append(relative.as_posix())
    return found


def student_version(path):
    """The bytes `autograder release` gives students for a file that is not a notebook."""
    data = path.read_bytes()
    return release.make_stub(data.decode("utf-8"), str(path)).encode("utf-8") if path.suffix == ".py" else data


def source_folder(config, assignment):
    """The source folder of `assignment`, spelled exactly as nbgrader spells it when it walks it."""
    coursedir = CourseDirectory(config=copy.deepcopy(config))  # a copy: reading would settle lazy values
    return coursedir.format_path(coursedir.source_directory, ".", assignment)


def solution_files(config, assignments):
    """Entries for `CourseDirectory.ignore`: each file of these assignments' source folders that
    holds solutions, by its absolute path, in the spelling nbgrader walks and in the normalized
    one. nbgrader matches an entry against `os.path.join(folder, entry)`, so an absolute entry
    matches that one file and nothing else (a student's engine.py is never ignored)."""
    entries = []
    for assignment in assignments:
        folder = source_folder(config, assignment)
        for relative in files_with_solutions(folder):
            for spelling in {os.path.join(folder, relative), os.path.normpath(os.path.join(folder, relative))}:
                entries.append(glob.escape(spelling))
    return sorted(set(entries))


def student_files(config, assignments):
    """`Autograde.exclude_overwriting`: never replace a student's file with the instructor's."""
    return {assignment: files_with_solutions(source_folder(config, assignment)) for assignment in assignments}


# The preprocessors ---------------------------------------------------------------------------

class SandboxedGrading(NbGraderPreprocessor):
    """What the preprocessors below share; configure it as `c.SandboxedGrading.<setting>`."""

    assignments = List(Unicode(), default_value=["micrograd"],
                       help="the assignments scored by the sandboxed grader").tag(config=True)
    rubric = Unicode("", help="the rubric TOML file (default: the bundled rubric.toml)").tag(config=True)
    sandbox = Enum(["auto", "strict", "process"], default_value="auto",
                   help="auto: the strongest isolation available; strict: refuse to grade without "
                        "namespace isolation (bubblewrap); process: process limits only").tag(config=True)

    def is_ours(self, resources):
        return resources.get("nbgrader", {}).get("assignment") in self.assignments

    def loaded_rubric(self):
        return load_rubric(self.rubric or None)


class ReleaseStudentFiles(SandboxedGrading):
    """generate_assignment: write the student's version of each file with solutions into the
    release folder, and take each graded cell's points and text from the rubric."""

    def preprocess(self, nb, resources):
        if not self.is_ours(resources):
            return nb, resources
        source = Path(resources["metadata"]["path"])
        released = {relative: student_version(source / relative) for relative in files_with_solutions(source)}
        self.refuse_copied_solutions(source, released, resources["nbgrader"]["assignment"])
        resources.setdefault("outputs", {}).update(released)  # nbgrader's writer puts them in the release
        self.sync_part_cells(nb, resources["metadata"]["name"])
        return nb, resources

    def refuse_copied_solutions(self, source, released, assignment):
        """If nbgrader copied a file with solutions (CourseDirectory.ignore lacks it), replace the
        copy with the student's version at once and stop the release."""
        coursedir = course_directory(self)
        folder = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
        copied = [rel for rel in released
                  if (folder / rel).is_file() and (folder / rel).read_bytes() == (source / rel).read_bytes()]
        for relative in copied:
            (folder / relative).write_bytes(released[relative])
        if copied:
            raise ConfigurationError(
                f"nbgrader copied {', '.join(copied)} from the source folder, solutions included (replaced by the "
                f"students' version at once): CourseDirectory.ignore must list them; see nbgrader_config.py")

    def sync_part_cells(self, nb, notebook):
        rubric, seen = self.loaded_rubric(), set()
        for cell in nb.cells:
            part_id = part_of(cell.metadata.get("nbgrader", {}).get("grade_id"))
            if part_id is None:
                continue
            if part_id in seen or cell.cell_type != "code":
                raise ConfigurationError(f"{notebook}: the cell {cell_id(part_id)} must be one code cell")
            seen.add(part_id)
            part = rubric_part(rubric, part_id, notebook)
            points = cell.metadata["nbgrader"].get("points")
            if points is not None and float(points) != part.points:
                self.log.warning("%s: %s is worth %s points in the notebook and %g in the rubric; the rubric's "
                                 "points are used", notebook, cell_id(part_id), points, part.points)
            cell.source = part_cell_source(part)
            cell.metadata["nbgrader"] = nbformat.from_dict(part_cell_metadata(cell_id(part_id), part.points))


class ForgetUnknownCells(SandboxedGrading):
    """autograde, first step: every cell's nbgrader metadata is the gradebook's, or none."""

    def preprocess(self, nb, resources):
        if not self.is_ours(resources):
            return nb, resources
        ids = resources["nbgrader"]
        with Gradebook(ids["db_url"]) as gradebook:
            known = known_cells(gradebook.find_notebook(ids["notebook"], ids["assignment"]))
        seen = set()
        for cell in reversed(nb.cells):  # the last of duplicates wins, as in nbgrader's DeduplicateIds
            if "nbgrader" not in cell.metadata:
                continue
            meta = cell.metadata["nbgrader"]
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            if not isinstance(grade_id, str) or grade_id not in known or grade_id in seen:
                self.log.warning("%s: dropping nbgrader metadata the gradebook does not know (grade_id %r)",
                                 ids["notebook"], grade_id)
                del cell.metadata["nbgrader"]
                continue
            seen.add(grade_id)
            cell.metadata["nbgrader"] = nbformat.from_dict(known[grade_id])
        return nb, resources


def known_cells(notebook):
    """{grade_id: the nbgrader metadata the gradebook gives that cell} for a gradebook Notebook."""
    graded = {cell.name: cell.max_score for cell in notebook.grade_cells}
    tasks = {cell.name: cell.max_score for cell in notebook.task_cells}
    solutions = {cell.name for cell in notebook.solution_cells}
    known = {}
    for source in notebook.source_cells:
        meta = {"grade": source.name in graded, "grade_id": source.name, "locked": bool(source.locked),
                "schema_version": 3, "solution": source.name in solutions, "task": source.name in tasks,
                "checksum": source.checksum}
        if source.name in graded or source.name in tasks:
            meta["points"] = graded.get(source.name, tasks.get(source.name))
        known[source.name] = meta
    return known


class ExecuteOtherAssignments(SandboxedGrading, Execute):
    """autograde: nbgrader's Execute, except that the notebooks of these assignments never run;
    their autograded cells are worth 0 until GradeInSandbox scores them (nbgrader gives a silent
    cell full marks)."""

    def preprocess(self, nb, resources=None, km=None):
        if not self.is_ours(resources or {}):
            return super().preprocess(nb, resources, km=km)
        self.log.info("Not executing %s: its scores come from the sandboxed grader", resources["nbgrader"]["notebook"])
        for cell in nb.cells:
            if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
                cell.outputs = [value_output(0)]
        return nb, resources


class GradeInSandbox(SandboxedGrading):
    """autograde, just before SaveAutoGrades: each part's graded cell gets the sandboxed
    grader's points and feedback for the student's files as submitted."""

    def preprocess(self, nb, resources):
        if not self.is_ours(resources):
            return nb, resources
        ids = resources["nbgrader"]
        with Gradebook(ids["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(ids["notebook"], ids["assignment"])
            cells = self.part_cells(notebook, gradebook.find_assignment(ids["assignment"]))
        submitted, autograded = self.folders(ids["assignment"], ids["student"])
        for relative in drop_linked_copies(submitted, autograded):
            self.log.warning("%s: removed %s from the autograded folder: in the submission it is a symbolic link, "
                             "and nbgrader copied what it points to", ids["student"], relative)
        if not cells:
            return nb, resources
        level = detect(self.sandbox)
        result = grade_once(submitted, self.loaded_rubric(), level)
        self.report(result, ids["student"], level)
        parts = {part.id: part for part in result.parts}
        notes = [warning for warning in result.warnings if warning != level.warning]  # the student's, not the machine's
        for part_id, (source, max_score) in cells.items():
            place(nb, graded_cell(source, max_score, parts[part_id], notes))
        return nb, resources

    def folders(self, assignment, student):
        """The student's submitted and autograded folders."""
        coursedir = course_directory(self)
        return tuple(coursedir.format_path(step, student, assignment)
                     for step in (coursedir.submitted_directory, coursedir.autograded_directory))

    def report(self, result, student, level):
        self.log.info("%s: %g / %g from the sandboxed grader (%s)", student, result.score, result.max_score,
                      result.isolation)
        if level.warning and level.warning not in WARNED:
            WARNED.add(level.warning)
            self.log.warning("%s", level.warning)
        if result.internal_errors:
            self.log.error("%s: the grader itself failed in %d check(s), scored 0; see the graded cells",
                           student, len(result.internal_errors))

    def part_cells(self, notebook, assignment):
        """{part id: (gradebook SourceCell, max score)} of this notebook's graded parts; refuses
        a course whose autograded cells could score outside the sandbox."""
        rubric = self.loaded_rubric()
        sources = {cell.name: cell for cell in notebook.source_cells}
        solutions = {cell.name for cell in notebook.solution_cells}
        cells = {}
        for cell in notebook.grade_cells:
            part_id = part_of(cell.name)
            if part_id is None and cell.name not in solutions:
                raise ConfigurationError(
                    f"{notebook.name}: the graded cell {cell.name!r} would be scored by running it in the "
                    f"student's kernel, which this assignment never does; its scores come from the rubric "
                    f"(cells {CELL_PREFIX}<part>). Make it a manually graded answer cell or remove its points.")
            if part_id is None:
                continue
            if cell.cell_type != "code":
                raise ConfigurationError(f"{notebook.name}: the graded cell {cell.name} must be a code cell")
            if cell.max_score != rubric_part(rubric, part_id, notebook.name).points:
                raise ConfigurationError(
                    f"{notebook.name}: the cell {cell.name} is worth {cell.max_score:g} points in the gradebook "
                    f"and part {part_id} {rubric.part(part_id).points:g} in the rubric; run "
                    f"`nbgrader generate_assignment {assignment.name} --force` after changing the rubric")
            cells[part_id] = (sources[cell.name], cell.max_score)
        covered = {part_of(c.name) for n in assignment.notebooks for c in n.grade_cells}
        missing = [p.id for p in rubric.parts if p.id not in covered]
        if missing:
            raise ConfigurationError(f"assignment {assignment.name}: no graded cell for the rubric parts "
                                     f"{', '.join(missing)} ({', '.join(map(cell_id, missing))})")
        return cells


def rubric_part(rubric, part_id, notebook):
    """The rubric's part `part_id`, which a graded cell of `notebook` holds; a clear error if the
    rubric does not grade that part."""
    if part_id not in {part.id for part in rubric.parts}:
        raise ConfigurationError(
            f"{notebook}: the graded cell {cell_id(part_id)} is for part {part_id}, which the rubric does not grade; "
            f"write {GRADED_NOTEBOOK} from the rubric with `autograder release --rubric FILE`, then run "
            "`nbgrader generate_assignment` again")
    return rubric.part(part_id)


def course_directory(configurable):
    """The CourseDirectory of the nbgrader converter running this preprocessor."""
    node = configurable.parent
    while node is not None and getattr(node, "coursedir", None) is None:
        node = node.parent
    if node is None:
        raise ConfigurationError("GradeInSandbox runs only inside nbgrader autograde")
    return node.coursedir


WARNED = set()  # the machine's sandbox warning, logged once per process, not once per student
LAST_GRADE = {}  # (folder, its fingerprint, rubric, isolation) -> GradeResult, for the submission at hand


def grade_once(submitted, rubric, level):
    """The submission's GradeResult; graded once however many of its notebooks hold parts,
    and again whenever one of its files or the rubric changed."""
    key = (submitted, fingerprint(submitted), rubric, level.describe())
    if key not in LAST_GRADE:
        LAST_GRADE.clear()
        LAST_GRADE[key] = grade_safely(submitted, rubric=rubric, level=level, keep_worker=True)  # one autograde run
    return LAST_GRADE[key]


def fingerprint(folder):
    """What changes when a file of `folder` changes: (path, size, mtime) of every entry."""
    entries = []
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            info = os.lstat(os.path.join(root, name))
            entries.append((os.path.join(root, name), info.st_size, info.st_mtime_ns))
    return tuple(sorted(entries))


def drop_linked_copies(submitted, autograded):
    """Remove from `autograded` nbgrader's copies of the submission's symbolic links (it copies
    what a link points to, which is not the student's work and may be the instructor's file,
    and generate_feedback would hand it to the student); yields their relative paths."""
    for root, _, files in os.walk(submitted):
        for name in files:
            relative = os.path.relpath(os.path.join(root, name), submitted)
            duplicate = os.path.join(autograded, relative)
            if os.path.islink(os.path.join(submitted, relative)) and os.path.lexists(duplicate):
                os.remove(duplicate)
                yield relative


def graded_cell(source, max_score, part, warnings):
    """The part's graded cell as the gradebook holds it, with the grader's verdict as outputs:
    the feedback on stdout, the points as the cell's value (never anything on stderr, which
    nbgrader would score 0)."""
    cell = nbformat.v4.new_code_cell(source.source)
    cell.metadata = nbformat.from_dict({"deletable": False, "editable": False,
                                        "nbgrader": {**part_cell_metadata(source.name, max_score, bool(source.locked)),
                                                     "checksum": source.checksum}})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=feedback_text(part, warnings)),
                    value_output(part.points)]
    return cell


def value_output(points):
    """A cell's value, which nbgrader takes as the cell's points."""
    return nbformat.v4.new_output("execute_result", data={"text/plain": f"{points:g}"}, execution_count=None)


def feedback_text(part, warnings=()):
    unit = "point" if part.max_points == 1 else "points"
    verdict = "passed" if part.passed else "failed"
    lines = [f"{part.id}: {part.title}", f"{verdict}: {part.points:g} / {part.max_points:g} {unit}"]
    if not part.passed:
        lines += ["", *part.feedback, *(f"note: {warning}" for warning in warnings)]
    return "\n".join(lines) + "\n"  # unwrapped: a failing case is code the student can paste and run


def place(nb, cell):
    """Put `cell` where the cell with its grade_id is, or at the end when the student deleted it."""
    if nb.get("nbformat_minor", 5) < 5:
        cell.pop("id", None)
    grade_id = cell.metadata["nbgrader"]["grade_id"]
    for index, existing in enumerate(nb.cells):
        if existing.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            if "id" in existing and "id" in cell:
                cell.id = existing.id
            nb.cells[index] = cell
            return
    nb.cells.append(cell)


# Hand-ins without the graded notebook ---------------------------------------------------------

def autograde_hand_ins_without_the_graded_notebook():
    """Make nbgrader's autograde take, for the assignments in `SandboxedGrading.assignments`, the
    hand-ins that hold no graded notebook (only engine.py and nn.py, or notebooks without it),
    which it would skip (no notebook at all) or score 0 (a missing notebook). With
    GradedNotebookExporter they are graded from a fresh copy of it, as `autograder grade-all`
    grades the same folder. nbgrader offers no setting for which notebooks autograde takes, so
    this wraps Autograde.init_notebooks (once, however often the configuration is loaded)."""
    original = Autograde.init_notebooks
    if getattr(original, "adds_graded_notebooks", False):
        return

    def init_notebooks(converter):
        missing = missing_graded_notebooks(converter)
        try:
            original(converter)
        except NbGraderException:
            if not missing:
                raise
        for folder, path in missing:
            converter.assignments.setdefault(folder, []).append(path)
    init_notebooks.adds_graded_notebooks = True
    Autograde.init_notebooks = init_notebooks


def missing_graded_notebooks(converter):
    """[(hand-in folder, the path its graded notebook would have)] of the converter's hand-ins of
    sandboxed assignments that lack it."""
    coursedir = converter.coursedir
    if not fnmatch.fnmatch(Path(GRADED_NOTEBOOK).stem, coursedir.notebook_id):
        return []
    ours = SandboxedGrading(parent=converter).assignments
    pattern = re.compile(converter._format_source("(?P<assignment_id>.*)", "(?P<student_id>.*)", escape=True))
    missing = []
    for folder in sorted(glob.glob(converter._format_source(coursedir.assignment_id, coursedir.student_id))):
        named = pattern.match(folder)
        path = os.path.join(folder, GRADED_NOTEBOOK)
        if named and named["assignment_id"] in ours and os.path.isdir(folder) and not os.path.exists(path):
            missing.append((folder, path))
    return missing


class GradedNotebookExporter(NotebookExporter):
    """autograde's exporter (`Autograde.exporter_class`): asked for a graded notebook that the
    hand-in lacks, it gives a fresh copy of it, whose part cells GradeInSandbox then scores."""

    def from_filename(self, filename, resources=None, **kw):
        if os.path.basename(filename) != GRADED_NOTEBOOK or os.path.exists(filename):
            return super().from_filename(filename, resources=resources, **kw)
        self.log.warning("%s was not handed in: its parts are graded from the hand-in's files as they are", filename)
        fresh = graded_notebook(SandboxedGrading(parent=self).loaded_rubric())
        return self.from_notebook_node(fresh, resources=resources, **kw)


# The feedback page ----------------------------------------------------------------------------

FEEDBACK_STYLE = """<style>
/* feedback lines wrap at the page's width instead of running off under a scrollbar */
div.output_subarea pre { white-space: pre-wrap; overflow-wrap: anywhere; }
</style>
"""


class FeedbackPage(HTMLExporter):
    """generate_feedback's exporter (`GenerateFeedback.exporter_class`): nbgrader's feedback page,
    whose summary names each part (nbgrader's template calls every graded cell "Test cell") and
    whose feedback lines wrap at the page's width."""

    def from_notebook_node(self, nb, resources=None, **kw):
        page, resources = super().from_notebook_node(nb, resources=resources, **kw)
        settings = SandboxedGrading(parent=self)
        if not settings.is_ours(resources):
            return page, resources
        for part in settings.loaded_rubric().parts:
            page = page.replace(f'<a href="#{cell_id(part.id)}">Test cell</a>',
                                f'<a href="#{cell_id(part.id)}">{html.escape(f"{part.id}: {part.title}")}</a>')
        return page.replace("</head>", FEEDBACK_STYLE + "</head>", 1), resources


# The preprocessor lists for nbgrader_config.py ------------------------------------------------

def default_list(converter, name):
    return list(converter.class_traits()[name].default())


def generate_assignment_preprocessors():
    return [ReleaseStudentFiles, *default_list(GenerateAssignment, "preprocessors")]


def sanitize_preprocessors():
    return [ForgetUnknownCells, *default_list(Autograde, "sanitize_preprocessors")]


def autograde_preprocessors():
    steps = default_list(Autograde, "autograde_preprocessors")
    if Execute not in steps or SaveAutoGrades not in steps:
        raise ConfigurationError("this nbgrader's autograde steps lack Execute or SaveAutoGrades; "
                                 "autograder.integrations.nbgrader supports nbgrader 0.9")
    steps[steps.index(Execute)] = ExecuteOtherAssignments
    steps.insert(steps.index(SaveAutoGrades), GradeInSandbox)
    return steps
