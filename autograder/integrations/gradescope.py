"""Gradescope's side of the autograder zip: what `run_autograder` runs for each submission.

    python -m autograder.integrations.gradescope --root /autograder --rubric FILE

grades ROOT/submission with `grade_safely` (student code runs only in the sandboxed worker,
which sees neither ROOT/results nor this process) and writes ROOT/results/results.json in
Gradescope's format, one test per rubric part with the part's visibility. The file is
written last and atomically, by this process alone: nothing the submission prints or writes
can become the result. If grading fails outright, results.json still appears, score 0, with
the reason.
"""
import argparse
import json
from pathlib import Path

from autograder import __version__
from autograder.batch.records import write_atomically
from autograder.grading.rubric import load_rubric
from autograder.grading.session import grade_safely
from autograder.reports.gradescope import results_json
from autograder.sandbox.isolation import detect


def grade_for_gradescope(root, rubric_path=None):
    """Grade ROOT/submission and write ROOT/results/results.json; return the results object."""
    root = Path(root)
    try:
        rubric = load_rubric(rubric_path)
        result = grade_safely(root / "submission", rubric=rubric, level=detect("auto"))
        payload = results_json(result, rubric=rubric)
    except Exception as error:  # fail closed: Gradescope must get a result, and a zero
        payload = failure_json(f"{type(error).__name__}: {error}")
    folder = root / "results"
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / "results.json", json.dumps(payload, indent=1))
    return payload


def failure_json(reason):
    return {"score": 0.0, "output": f"The autograder could not grade this submission ({reason}); please tell "
                                    "your instructor.",
            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": [],
            "extra_data": {"grader": f"micrograd-autograder {__version__}"}}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Grade a Gradescope submission folder into results.json.")
    parser.add_argument("--root", default="/autograder", help="Gradescope's folder (default: %(default)s)")
    parser.add_argument("--rubric", help="rubric TOML file (default: the bundled rubric.toml)")
    args = parser.parse_args(argv)
    payload = grade_for_gradescope(args.root, args.rubric)
    print(payload["output"])


if __name__ == "__main__":
    main()
