"""Grade one submission: stage it, run the hidden pytest suite against it, collect part results.

The hidden suite (autograder/hidden) runs here, in the trusted process, with a plugin that
gives its tests a `student` fixture: a StudentCode handle whose worker runs the submission in
the sandbox. Each rubric part gets a fresh worker and its own time budget. Every test outcome
becomes a CheckResult; anything unexpected fails closed (the part scores 0 and says why).
"""
import contextlib
import difflib
import io
import os
import re
import tempfile
import time
from pathlib import Path

import pytest

from autograder.grading.results import ERROR, FAILED, PASSED, CheckResult, GradeResult, PartResult
from autograder.grading.rubric import load_rubric
from autograder.grading.submission import SubmissionError, stage
from autograder.hidden.checks import CheckFailed
from autograder.sandbox.client import WorkerFailure
from autograder.sandbox.isolation import Limits, detect
from autograder.sandbox.student import StudentCode

HIDDEN_SUITE = Path(__file__).resolve().parent.parent / "hidden"


def grade(path, *, rubric=None, level=None, sandbox="auto"):
    """Grade the submission at `path` (folder or .zip) and return a GradeResult.

    Raises SandboxUnavailable (sandbox="strict" without namespaces) and RubricError; every
    problem with the submission itself is reported inside the result instead.
    """
    started = time.monotonic()
    rubric = rubric or load_rubric()
    level = level or detect(sandbox)
    warnings = [level.warning] if level.warning else []
    with tempfile.TemporaryDirectory(prefix="autograder-stage-") as staging:
        try:
            staged = stage(path, Path(staging) / "submission")
        except SubmissionError as problem:
            return uniform_result(path, rubric, level, started, FAILED, str(problem), warnings)
        warnings += staged.warnings
        plugin = GradingPlugin(staged, rubric, level)
        run_hidden_suite(plugin)
    parts = tuple(PartResult(p.id, p.title, p.points, tuple(plugin.checks[p.id]) or
                             (CheckResult(p.id, "suite", ERROR, "internal grader error: no check of this part ran"),))
                  for p in rubric.parts)
    return GradeResult(str(path), parts, level.describe(), time.monotonic() - started, "", tuple(warnings))


def grade_safely(path, *, rubric, level):
    """grade(), except that a failure of the grader itself becomes this submission's result
    (every part 0, marked as a grader error) instead of an exception: one bad submission
    never stops a batch."""
    started = time.monotonic()
    try:
        return grade(path, rubric=rubric, level=level)
    except Exception as error:  # fail closed for this submission only
        message = f"internal grader error ({type(error).__name__}: {error}); tell your instructor"
        return uniform_result(path, rubric, level, started, ERROR, message, [])


def uniform_result(path, rubric, level, started, outcome, message, warnings):
    """A result in which every part has the same single outcome, e.g. an unusable submission."""
    parts = tuple(PartResult(p.id, p.title, p.points, (CheckResult(p.id, "submission", outcome, message),))
                  for p in rubric.parts)
    return GradeResult(str(path), parts, level.describe(), time.monotonic() - started, message, tuple(warnings))


def run_hidden_suite(plugin):
    """pytest.main on the hidden suite, shielded from the caller's pytest settings and plugins."""
    args = [str(HIDDEN_SUITE), "-c", str(HIDDEN_SUITE / "pytest.ini"), "--rootdir", str(HIDDEN_SUITE),
            "--import-mode=importlib", "--capture=sys", "-q", "--tb=no",
            *(f"-pno:{name}" for name in ("cacheprovider", "stepwise", "unraisableexception", "threadexception",
                                            "faulthandler", "doctest", "pastebin", "nose", "legacypath"))]
    saved = {k: os.environ.pop(k) for k in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS") if k in os.environ}
    autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                no_local_constants():
            pytest.main(args, plugins=[plugin])
    finally:
        os.environ.update(saved)
        if autoload is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload
        plugin.close()


@contextlib.contextmanager
def no_local_constants():
    """Keep hypothesis from mixing literal constants of "local" modules into generated data.

    Hypothesis (6.13x and later) harvests constants from every loaded module that is outside
    site-packages and the standard library, and caches them under ./.hypothesis. What counts
    as local depends on how the grader is installed (editable or not) and on what else the
    grading process has imported, so the examples, and in rare cases a score, would too.
    This relies on hypothesis internals, which is why pyproject.toml pins hypothesis exactly.
    """
    from hypothesis.internal.conjecture import providers
    from hypothesis.internal.constants_ast import Constants

    original = providers._get_local_constants
    providers._get_local_constants = Constants
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


def part_of(item):
    marker = item.get_closest_marker("part")
    return marker.args[0] if marker else None


class GradingPlugin:
    """Gives the hidden suite its `student` fixture and records every check's outcome."""

    def __init__(self, staged, rubric, level, limits=None):
        self.staged, self.rubric, self.level = staged, rubric, level
        self.limits = limits or Limits(cpu_seconds=int(rubric.part_seconds) + 1)
        self.checks = {part.id: [] for part in rubric.parts}
        self.current_part, self.current = None, None
        self.upcoming = {}  # part id -> StudentCode whose worker is already starting
        self.part_order = []
        self.load_failure = None  # an import that failed once fails for every part: no need to retry

    def new_student(self):
        return StudentCode(self.staged, self.level, self.limits, self.rubric.part_seconds, self.load_failure)

    @pytest.fixture
    def student(self, request):
        part = part_of(request.node)
        if any(check.outcome != PASSED for check in self.checks[part]):
            # parts are all or nothing, and checks run simplest first: the first failure says it best
            pytest.skip("this part already failed")
        if part != self.current_part:
            self.switch_to(part)
        return self.current

    def switch_to(self, part):
        """Retire the previous part's worker; give `part` its own, and start the next part's."""
        if self.current is not None and self.current.failed_to_load:
            self.load_failure = self.current.failure  # every later part would fail to load the same way
            self.close()
        elif self.current is not None:
            self.current.close()
        self.current_part = part
        self.current = (self.upcoming.pop(part, None) or self.new_student()).begin()
        following = self.part_order[self.part_order.index(part) + 1:]
        if following and following[0] not in self.upcoming and self.load_failure is None:
            self.upcoming[following[0]] = self.new_student().prepare()  # starts while this part runs

    def close(self):
        for code in [self.current, *self.upcoming.values()]:
            if code is not None:
                code.close()
        self.current, self.upcoming = None, {}

    def pytest_collection_modifyitems(self, config, items):
        points = {part.id: part.points for part in self.rubric.parts}
        order = {part.id: n for n, part in enumerate(self.rubric.parts)}
        for item in items:
            if part_of(item) not in order:
                raise pytest.UsageError(f"hidden check {item.nodeid} belongs to no rubric part")
        skipped = [item for item in items if points[part_of(item)] == 0]
        items[:] = sorted((item for item in items if points[part_of(item)] > 0), key=lambda item: order[part_of(item)])
        self.part_order = list(dict.fromkeys(part_of(item) for item in items))
        for item in skipped:
            self.checks[part_of(item)].append(CheckResult(part_of(item), item.name, PASSED, "not graded (0 points)"))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.outcome != "skipped" and (report.when == "call" or report.outcome == "failed"):
            result, message = self.classify(call.excinfo)
            self.checks[part_of(item)].append(CheckResult(part_of(item), item.name, result, message, report.duration))

    def classify(self, excinfo):
        """(outcome, feedback) for a test's exception; unknown exceptions fail closed as ERROR."""
        if excinfo is None:
            return PASSED, ""
        error = excinfo.value
        message = self.student_message(error)
        if message is not None:
            return FAILED, message
        flaky = _flaky_cause(error)
        if flaky is not None:
            cause = self.student_message(flaky) if flaky is not error else None
            return FAILED, ("the same input gave different results on different runs (does your code keep state "
                            "between calls?)" + (f": {cause}" if cause else ""))
        return ERROR, f"internal grader error ({type(error).__name__}: {error}); this is not your fault, tell your instructor"

    def student_message(self, error):
        """Feedback for a failure of the student's code, or None for any other exception."""
        if isinstance(error, CheckFailed):
            return str(error)
        if isinstance(error, WorkerFailure):
            return self.explain(error)
        return None

    def explain(self, failure):
        """The student's message for a worker failure."""
        where = f" ({failure.where})" if failure.where else ""
        if failure.kind == "not_implemented":
            return f"not implemented yet{where}"
        if failure.kind == "missing":
            return failure.message + self.did_you_mean(failure.message) + where
        if failure.kind == "load":
            return f"the submission could not be imported: {failure.message}{where}"
        if failure.kind == "student":
            kind = f"{failure.type_name}: " if failure.type_name else ""
            return f"your code raised {kind}{failure.message}{where}{reflected_hint(failure.message)}"
        if failure.kind == "timeout":
            return f"{failure.message}: this part's {self.rubric.part_seconds:g} s ran out (an endless loop?)"
        return failure.message + where

    def did_you_mean(self, message):
        loaded = self.current.loaded if self.current is not None else None
        if not loaded or not message.startswith("Value has no method "):
            return ""
        wanted = message.rsplit(" ", 1)[-1]
        names = [n for n in loaded.get("value_attributes", []) if isinstance(n, str)]
        close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.5) or [n for n in names if n.strip("_") == wanted.strip("_")]
        if not close:
            return ""
        hint = f" (found `{close[0]}`"
        if wanted.startswith("__") and not close[0].startswith("__"):
            hint += f": Python's operators call the dunder method `{wanted}`"
        return hint + ")"


REFLECTED = {"+": "__radd__", "-": "__rsub__", "*": "__rmul__", "/": "__rtruediv__", "** or pow()": "__rpow__"}


def reflected_hint(message):
    """For `2 + value` failing: Python then calls Value.__radd__, which may be missing."""
    match = re.search(r"unsupported operand type\(s\) for (.+?): '(int|float)' and 'Value'", message)
    if not match or match.group(1) not in REFLECTED:
        return ""
    method = REFLECTED[match.group(1)]
    return (f". For `number {match.group(1).split()[0]} value` Python calls Value.{method} (sum() starts from 0, "
            f"so it needs __radd__): is {method} missing from engine.py?")


def _flaky_cause(error):
    """The failure inside hypothesis's Flaky error, or None if `error` is not one."""
    from hypothesis.errors import Flaky
    if not isinstance(error, Flaky):
        return None
    inner = getattr(error, "exceptions", None)
    return inner[0] if inner else error
