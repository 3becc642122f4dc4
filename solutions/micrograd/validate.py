"""What `nbgrader validate` (the Validate button) tells you about each graded part of grading.ipynb.

Your grade comes from the course's grader, which runs your engine.py and nn.py in a sandbox on
many more cases than the self-checks; nothing you run or change in a notebook changes it.
Validate cannot run that grader, so under validate each graded cell of grading.ipynb runs the
self-checks of its part (pytest on test_selfcheck.py) instead: the cell passes when they pass
and shows their one-line message when they fail. Run anywhere else, a graded cell does nothing
and its value is 0.
"""
import functools
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import xml.etree.ElementTree as ElementTree
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECONDS = 120  # for all the self-checks together
WIDTH = 80  # validate cuts longer lines short
ENGINE_IMPORTS, NN_IMPORTS = "test_engine_imports_the_standard_library_only", "test_nn_imports_the_standard_library_only"
NETWORK_PARTS = ("parameters", "convergence")  # the parts that need nn.py


def checks_of(part, names):
    """The self-checks (of those named) that a graded part needs: what engine.py imports, for the
    network's parts what nn.py imports, and the part's own checks, test_<part> and
    test_<part>_<detail>. Training (convergence) has none of its own: only the grader trains."""
    own = [name for name in names if name == f"test_{part}" or name.startswith(f"test_{part}_")]
    return [ENGINE_IMPORTS, *([NN_IMPORTS] if part in NETWORK_PARTS else []), *own]


def graded_part(part):
    """A graded cell's work: under nbgrader validate, the part's self-checks (nothing on
    success, which validate counts as passed; their messages on stderr, which it counts as
    failed); anywhere else nothing, worth 0."""
    if os.environ.get("NBGRADER_EXECUTION") != "validate":
        print("Graded by the course's grader from your engine.py and nn.py, not by running this notebook.")
        return 0
    outcomes = self_checks()
    names = checks_of(part, outcomes)
    failures = [outcomes.get(name, outcomes.get("")) for name in names if outcomes.get(name) != ""]
    if failures:
        for failure in dict.fromkeys(failures):
            print(textwrap.fill(failure, WIDTH, subsequent_indent="  "), file=sys.stderr)
        return 0
    print(f"The self-checks of {part} pass: {', '.join(names)}. Your score comes from the grader, which tries "
          "many more cases" + ("; it also trains your network." if part == "convergence" else "."))
    return None


@functools.cache
def self_checks():
    """{test name: "" if it passed, else its message} from one run of pytest on test_selfcheck.py;
    the key "" holds why the run itself failed, if it did."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.xml"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                   "test_selfcheck.py"]
        try:
            run = subprocess.run(command, cwd=HERE, capture_output=True, text=True, timeout=SECONDS)
        except subprocess.TimeoutExpired:
            return {"": f"the self-checks did not finish within {SECONDS} s: is there an endless loop?"}
        if "No module named pytest" in run.stderr:
            return {"": "validate runs the self-checks with pytest, which is not installed here: pip install pytest"}
        if not report.exists():
            return {"": f"the self-checks could not run: {last_line(run.stderr or run.stdout)}"}
        return outcomes(ElementTree.parse(report).getroot())


def outcomes(junit):
    found = {"": "the self-checks could not run"}
    for case in junit.iter("testcase"):
        problem = next((child for child in case if child.tag in ("failure", "error")), None)
        if problem is None:
            found[case.get("name")] = ""
        elif case.get("name") == "test_selfcheck":  # the file itself could not be collected
            found[""] = f"the self-checks could not run: {last_line(problem.text or '')}"
        else:
            found[case.get("name")] = f"{case.get('name')}: {last_line(problem.text or problem.get('message', ''))}"
    return found


def last_line(text):
    lines = [re.sub(r"^E\s+", "", line.strip()) for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
