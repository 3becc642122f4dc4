"""nbgrader configuration of this course: the repository root is the course root.

From this folder: nbgrader generate_assignment micrograd and nbgrader release_assignment
micrograd; once the students have submitted, nbgrader collect micrograd, nbgrader autograde
micrograd, nbgrader generate_feedback micrograd, nbgrader release_feedback micrograd and
nbgrader export (the README's nbgrader section). Every score of the assignments below comes
from the sandboxed grader, never from a student's kernel; autograder/integrations/nbgrader.py
says how.
"""
import os

from autograder.integrations import nbgrader as sandboxed

c = get_config()  # noqa: F821 (nbgrader provides get_config)

SANDBOXED = ["micrograd"]  # assignments scored by the sandboxed grader

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# release_assignment, fetch_assignment, submit and collect need the course's id and the exchange,
# the folder through which assignments go out and hand-ins come back: it must exist and every
# user of the machine must be able to write to it. Each student's own nbgrader_config.py names
# the same two (see the README).
c.CourseDirectory.course_id = "micrograd-course"
c.Exchange.root = "/srv/nbgrader/exchange"
# The source of an assignment is its folder in solutions/: the model answers, the notebooks with
# their solution regions. nbgrader writes the students' version to release/<assignment>/.
c.CourseDirectory.source_directory = "solutions"

# nbgrader would copy engine.py and nn.py to the release as they are, solutions included: it
# never reads them, and the release gets the stubs that `autograder release` makes instead.
c.CourseDirectory.ignore.extend(sandboxed.solution_files(c, SANDBOXED))
c.GenerateAssignment.preprocessors = sandboxed.generate_assignment_preprocessors()

# autograde keeps each student's own engine.py and nn.py (never the instructor's), does not run
# the notebooks, and writes the sandboxed grader's points and feedback into the graded cells.
c.Autograde.exclude_overwriting = sandboxed.student_files(c, SANDBOXED)
c.Autograde.sanitize_preprocessors = sandboxed.sanitize_preprocessors()
c.Autograde.autograde_preprocessors = sandboxed.autograde_preprocessors()
# A hand-in without grading.ipynb (only engine.py and nn.py, or notebooks without it) is graded
# from a fresh copy of it, exactly as `autograder grade-all` grades the same folder.
c.Autograde.exporter_class = sandboxed.GradedNotebookExporter
sandboxed.autograde_hand_ins_without_the_graded_notebook()
# generate_feedback: each part named in the page's summary, its feedback wrapped to the page.
c.GenerateFeedback.exporter_class = sandboxed.FeedbackPage
c.SandboxedGrading.assignments = SANDBOXED
c.SandboxedGrading.sandbox = "auto"  # "strict": refuse to grade without bubblewrap
c.SandboxedGrading.rubric = ""  # a rubric TOML file; empty: autograder/rubric.toml
