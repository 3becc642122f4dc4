"""The `autograder` command line. This module only declares options; each verb's module does the work."""
import argparse
import sys

from autograder import __version__


def build_parser():
    parser = argparse.ArgumentParser(
        prog="autograder",
        description="Hand out, self-check and grade the micrograd backpropagation exercise.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND")

    release = verbs.add_parser(
        "release",
        help="regenerate the student folders (assignments/) from the solutions",
        description="Turn every solution region of solutions/<exercise>/ into a stub that raises "
                    "NotImplementedError, and write the result to assignments/<exercise>/. "
                    "Files that are not in the solutions are removed from the released folder. The graded "
                    "notebook (grading.ipynb, one graded cell per rubric part) is written into "
                    "solutions/<exercise>/ from the rubric first.",
    )
    release.add_argument("--source", default="solutions", help="folder of solution exercises (default: %(default)s)")
    release.add_argument("--dest", default="assignments", help="folder to release into (default: %(default)s)")
    release.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if the released folder is out of date")
    release.add_argument("--rubric", metavar="FILE",
                         help="rubric TOML file whose parts the graded notebook (grading.ipynb) shows "
                              "(default: the bundled rubric.toml)")

    grade = verbs.add_parser(
        "grade",
        help="grade submissions against the hidden suite",
        description="Grade one or more submissions. A submission is a folder or a .zip holding engine.py "
                    "and nn.py, at its top, in one subfolder, or in a micrograd/ package. Student code runs "
                    "only in a sandboxed worker process. Exit code 0 when grading completed (whatever the "
                    "scores), 2 when the grader could not start, 3 when a check failed inside the grader.",
    )
    grade.add_argument("paths", nargs="+", metavar="PATH", help="submission folder or .zip")
    grade.add_argument("--json", dest="as_json", action="store_true",
                       help="print Gradescope results JSON (an object; a list for several submissions)")
    grade.add_argument("--rubric", metavar="FILE", help="rubric TOML file (default: the bundled rubric.toml)")
    grade.add_argument("--sandbox", choices=("auto", "strict", "process"), default="auto",
                       help="auto: strongest isolation available, warn if weak (default); strict: refuse to grade "
                            "without namespace isolation (bubblewrap); process: process limits only")
    grade.add_argument("--html", metavar="DIR",
                       help="also write one self-contained HTML page per submission (the part table, and a "
                            "picture of each failure: the failing computation graph, the loss curve) and a class "
                            "page, DIR/index.html; open them in any browser. Needs the html extra "
                            "(pip install 'micrograd-autograder[html]') and graphviz's `dot` for graphs")
    add_grade_all(verbs)
    add_export(verbs)
    return parser


def add_grade_all(verbs):
    grade_all = verbs.add_parser(
        "grade-all",
        help="grade a whole class into a gradebook, in parallel and resumably",
        description="Grade every student's submission in DIR: one folder or .zip per student, named by student id, "
                    "or nbgrader's submitted/<student>/<assignment>/. Writes OUT/gradebook.csv, OUT/results/ (each "
                    "student's result, saved as soon as it is known) and OUT/gradescope/ (Gradescope results.json "
                    "per student). Run it again after an interruption: it grades only what is missing.",
    )
    grade_all.add_argument("directory", metavar="DIR", help="the folder of submissions")
    grade_all.add_argument("--out", required=True, metavar="OUT", help="folder for the gradebook and the results")
    grade_all.add_argument("--jobs", type=int, metavar="N", help="submissions graded at once (default: all cores)")
    grade_all.add_argument("--force", action="store_true", help="grade again the students an earlier run graded")
    grade_all.add_argument("--assignment", default="micrograd",
                           help="the assignment's folder name in nbgrader's layout (default: %(default)s)")
    grade_all.add_argument("--rubric", metavar="FILE", help="rubric TOML file (default: the bundled rubric.toml)")
    grade_all.add_argument("--sandbox", choices=("auto", "strict", "process"), default="auto",
                           help="isolation of student code, as for `grade` (default: %(default)s)")
    grade_all.add_argument("--scheduler", metavar="ADDRESS",
                           help="grade on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs the cluster extra)")
    grade_all.add_argument("--worker-wait", type=float, metavar="SECONDS",
                           help="with --scheduler: how long to wait for a Dask worker, at the start and after "
                                "losing every worker, before giving up with an error (default: 60)")
    grade_all.add_argument("--html", metavar="DIR", help="also write an HTML page per student and a class page")


def add_export(verbs):
    export = verbs.add_parser("export", help="package the grader for another platform",
                              description="Package the grader for another grading platform.")
    targets = export.add_subparsers(dest="target", metavar="TARGET", required=True)
    gradescope = targets.add_parser(
        "gradescope",
        help="build the Gradescope autograder zip",
        description="Build the zip to upload as a Gradescope programming assignment's autograder: setup.sh, "
                    "run_autograder, the rubric, this package and its dependencies as wheels (installed offline). "
                    "Each rubric part becomes one Gradescope test; its `visibility` in the rubric applies.",
    )
    gradescope.add_argument("--out", default="autograder.zip", metavar="FILE.zip",
                            help="where to write the zip (default: %(default)s)")
    gradescope.add_argument("--rubric", metavar="FILE", help="rubric TOML file (default: the bundled rubric.toml)")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb == "release":
        from autograder import release
        return release.main(source=args.source, dest=args.dest, check=args.check, rubric=args.rubric)
    if args.verb == "grade":
        from autograder import grade
        return grade.main(paths=args.paths, as_json=args.as_json, rubric=args.rubric, sandbox=args.sandbox,
                          html=args.html)
    if args.verb == "grade-all":
        from autograder import grade_all
        return grade_all.main(directory=args.directory, out=args.out, jobs=args.jobs, force=args.force,
                              assignment=args.assignment, rubric=args.rubric, sandbox=args.sandbox,
                              scheduler=args.scheduler, worker_wait=args.worker_wait, html=args.html)
    if args.verb == "export":
        from autograder import export
        return export.main(target=args.target, out=args.out, rubric=args.rubric)
    parser.print_help(sys.stderr)
    return 2
