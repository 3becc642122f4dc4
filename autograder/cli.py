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
                    "Files that are not in the solutions are removed from the released folder.",
    )
    release.add_argument("--source", default="solutions", help="folder of solution exercises (default: %(default)s)")
    release.add_argument("--dest", default="assignments", help="folder to release into (default: %(default)s)")
    release.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if the released folder is out of date")

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
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb == "release":
        from autograder import release
        return release.main(source=args.source, dest=args.dest, check=args.check)
    if args.verb == "grade":
        from autograder import grade
        return grade.main(paths=args.paths, as_json=args.as_json, rubric=args.rubric, sandbox=args.sandbox)
    parser.print_help(sys.stderr)
    return 2
