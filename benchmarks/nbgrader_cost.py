"""What `nbgrader autograde` costs with this assignment, against nbgrader's plain autograde.

    python benchmarks/nbgrader_cost.py [--students 20]

Two temporary courses, each with N students who hand in the model answer:
- sandboxed: this repository's nbgrader_config.py and solutions/micrograd/ (the graded notebook,
  the teaching notebooks); autograde grades each submission's files in the sandbox, one grade
  per student, and starts no kernel;
- plain: what an instructor builds without us: nbgrader's default configuration (keeping the
  students' engine.py and nn.py) and one notebook whose graded cells are the public self-checks
  of test_selfcheck.py, each test an ordinary test cell run in the student's kernel.
Each nbgrader command runs as the instructor runs it, a fresh process (start-up included).
"""
import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from rich.console import Console
from rich.table import Table

from autograder import release
from autograder.integrations.nbgrader import student_version

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "micrograd"
SOLUTIONS = REPO / "solutions" / ASSIGNMENT


def selfcheck_notebook(test_file):
    """test_selfcheck.py as an nbgrader notebook: its helpers in one cell, then one graded test
    cell (1 point) per test function, defining the test and calling it."""
    text = test_file.read_text("utf-8")
    tree = ast.parse(text)
    is_test = [isinstance(node, ast.FunctionDef) and node.name.startswith("test_") for node in tree.body]
    setup = "\n\n".join([f"__file__ = {test_file.name!r}  # as when pytest imports it from the student's folder",
                          *(ast.get_source_segment(text, node) for node, test in zip(tree.body, is_test) if not test)])
    cells = [nbformat.v4.new_code_cell(setup)]
    for node, test in zip(tree.body, is_test):
        if test:
            cells.append(nbformat.v4.new_code_cell(f"{ast.get_source_segment(text, node)}\n\n{node.name}()", metadata={
                "nbgrader": {"grade": True, "grade_id": node.name, "locked": True, "points": 1,
                             "schema_version": 3, "solution": False, "task": False}}))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return notebook


def sandboxed_course(root):
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(SOLUTIONS, root / "solutions" / ASSIGNMENT,
                    ignore=shutil.ignore_patterns(*release.IGNORED_PARTS, "*.pyc"))


def plain_course(root):
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for path in SOLUTIONS.iterdir():
        if path.is_file() and path.suffix != ".ipynb":
            (source / path.name).write_bytes(student_version(path))
    nbformat.write(selfcheck_notebook(SOLUTIONS / "test_selfcheck.py"), source / "selfchecks.ipynb")
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Autograde.exclude_overwriting = {{{ASSIGNMENT!r}: ['engine.py', 'nn.py']}}\n")


def nbgrader(course, *args):
    """Seconds that one nbgrader command takes, run as an instructor runs it, with the course's
    configuration importing the grader of this checkout."""
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
           "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                            text=True)
    if result.returncode != 0:
        sys.exit(f"nbgrader {' '.join(args)} failed in {course}:\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def hand_in(course, students):
    """Each student hands in the released folder with the model answer written in."""
    for student in students:
        folder = course / "submitted" / student / ASSIGNMENT
        shutil.copytree(course / "release" / ASSIGNMENT, folder)
        for name in ("engine.py", "nn.py"):
            (folder / name).write_text(release.without_markers((SOLUTIONS / name).read_text("utf-8")))


def score(course, student):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        return f"{submission.score:g} / {submission.max_score:g}"


def measure(course, students):
    """{what: seconds} for one course: generate, one student's autograde, everyone's autograde."""
    times = {"generate": nbgrader(course, "generate_assignment", ASSIGNMENT)}
    hand_in(course, students)
    times["autograde 1"] = nbgrader(course, "autograde", ASSIGNMENT, "--student", students[0], "--force")
    times[f"autograde {len(students)}"] = nbgrader(course, "autograde", ASSIGNMENT, "--force")
    return times, score(course, students[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    args = parser.parse_args()
    console = Console()
    students = [f"student{n:02d}" for n in range(args.students)]
    results = {}
    with tempfile.TemporaryDirectory(prefix="nbgrader-cost-") as scratch:
        for name, build in (("sandboxed", sandboxed_course), ("plain", plain_course)):
            course = Path(scratch) / name
            course.mkdir()
            build(course)
            with console.status(f"{name}: generate_assignment and autograde of {args.students} students"):
                results[name] = measure(course, students)
    table = Table(title=f"nbgrader commands on {os.cpu_count()} cores, seconds (a fresh process each)")
    table.add_column("course")
    for column in [*next(iter(results.values()))[0], "per student", "a right answer"]:
        table.add_column(column, justify="right")
    for name, (times, right) in results.items():
        batch = times[f"autograde {args.students}"]
        table.add_row(name, *(f"{t:.1f}" for t in times.values()), f"{batch / args.students:.2f}", right)
    (ours, _), (plain, _) = results.values()
    ratios = [ours[what] / plain[what] for what in ours]
    table.add_row("ratio", *(f"{ratio:.2f}" for ratio in ratios), f"{ratios[-1]:.2f}", "")
    console.print(table)
    console.print("ratio: sandboxed / plain (below 1: this assignment costs less than the plain notebook)")


if __name__ == "__main__":
    main()
