"""The hidden suite, collected and rehearsed once per grading process.

pytest collects the hidden suite (autograder/hidden) once. Every check is then rehearsed on the
reference engine, in this process, through the worker's own probes (autograder/worker/probes.py
run on `micrograd_reference`): the rehearsal records the requests each check makes of a correct
submission and, for the generated checks, the examples hypothesis draws. Grading is
derandomized, so these are the examples hypothesis would draw for any submission that passes.

Grading a submission then sends each part's recorded requests to its worker in one go and runs
the checks on the replies, each generated check on its recorded examples. Only a generated
check that fails is run again under hypothesis, live, so that its failure is shrunk to the
smallest example: a correct submission never pays for hypothesis's engine.

A rehearsal takes seconds, and its outcome depends only on the code it runs, so it is kept in
the user's cache folder under a fingerprint of that code (the hidden suite, the exercise's
definition, the reference, the probes, hypothesis's and Python's versions): the next grading
process starts at once.
"""
import contextlib
import hashlib
import io
import os
import pickle
import platform
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import micrograd_reference as reference
from autograder import exercise
from autograder.sandbox.client import encode_requests
from autograder.sandbox.student import ReferenceTransport, StudentCode
from autograder.worker import probes

HIDDEN_SUITE = Path(__file__).resolve().parent.parent / "hidden"
REHEARSED_CODE = [*sorted(HIDDEN_SUITE.glob("*.py")), HIDDEN_SUITE / "pytest.ini", Path(__file__),
                  Path(exercise.__file__),
                  *sorted(Path(reference.__file__).parent.glob("*.py")),
                  *(Path(probes.__file__).parent / name for name in ("probes.py", "handed.py", "lesson.py"))]


@dataclass(frozen=True)
class Check:
    """One test of the hidden suite, as pytest collected it."""
    part: str
    name: str  # pytest's name, e.g. "test_single_node[add]"
    nodeid: str
    function: object  # the test function (wrapped by hypothesis for a generated check)
    params: dict  # its pytest parameters
    mode: str = ""  # the part's rubric mode this check belongs to (marker `mode`); "": every mode

    @property
    def generated(self):
        return hasattr(self.function, "hypothesis")

    def run(self, student, example=None):
        """Run the check on `student`, on one recorded example if it is a generated check."""
        if example is None:
            self.function(student=student, **self.params)
        else:
            self.function.hypothesis.inner_test(student=student, **self.params, **example.arguments())

    def run_with_hypothesis(self, student):
        """Run a generated check under hypothesis, as pytest would: the same examples, shrunk on failure."""
        self._seed_like_pytest()
        with no_local_constants(), quiet():
            self.function(student=student, **self.params)

    def _seed_like_pytest(self):
        # hypothesis's pytest plugin gives each parametrized case its own derandomized seed this way
        self.function.hypothesis.inner_test._hypothesis_internal_add_digest = self.nodeid.encode()


@dataclass
class Example:
    """One example of a generated check: its drawn arguments, or the values drawn with `data.draw`."""
    given: dict
    draws: list = None

    def arguments(self):
        return {**self.given, **({"data": ReplayData(self.draws)} if self.draws is not None else {})}


@dataclass
class Rehearsed:
    """A check and what it asks of a correct submission."""
    check: Check
    requests: list  # [(operation, args)], in order
    examples: list = field(default_factory=list)  # for a generated check


class CaseBook:
    """Every check of the hidden suite by part, rehearsed on the reference."""

    def __init__(self, cache=None):
        self.checks = collect()
        self._parts, self._requests = {}, {}
        cache = cache if cache is not None else cache_file()
        saved = read_cache(cache)
        for check in self.checks:
            if check.nodeid in saved:
                requests, examples = saved[check.nodeid]
                rehearsed = Rehearsed(check, requests, [Example(*example) for example in examples])
            else:
                rehearsed = rehearse(check)
            self._parts.setdefault(check.part, []).append(rehearsed)
        if len(saved) != len(self.checks):
            write_cache(cache, {r.check.nodeid: (r.requests, [(e.given, e.draws) for e in r.examples])
                                for rehearsed in self._parts.values() for r in rehearsed})

    def part(self, part_id, mode=None):
        """The part's rehearsed checks; given the part's rubric mode, only the checks of that mode."""
        return [r for r in self._parts.get(part_id, []) if mode is None or r.check.mode in ("", mode)]

    def requests(self, part_id, mode=None):
        """(every request of the part's checks in order, the same on the wire for a fresh part's
        channel): the same for every submission, so encoded once."""
        if (part_id, mode) not in self._requests:
            planned = [request for rehearsed in self.part(part_id, mode) for request in rehearsed.requests]
            self._requests[part_id, mode] = planned, encode_requests(planned, 1)
        return self._requests[part_id, mode]


# ---------------------------------------------------------------- the rehearsal, kept between processes

def cache_file():
    """Where this code's rehearsal is kept: the user's cache folder, named by the code's fingerprint."""
    import hypothesis
    digest = hashlib.sha256(f"{hypothesis.__version__} {pytest.__version__} {sys.version} {platform.machine()}".encode())
    for path in REHEARSED_CODE:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "micrograd-autograder"
    return folder / f"rehearsal-{digest.hexdigest()[:32]}.pickle"


def read_cache(path):
    """{node id: (requests, [(given, draws)])} kept by an earlier process; {} if there is none."""
    try:
        with open(path, "rb") as kept:
            saved = pickle.load(kept)
        return saved if isinstance(saved, dict) else {}
    except Exception:  # missing, unreadable, from another version: rehearse instead
        return {}


def write_cache(path, rehearsal):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as temporary:
            pickle.dump(rehearsal, temporary, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary.name, path)
    except OSError:
        pass  # no cache folder: the next process rehearses again


# ---------------------------------------------------------------- collecting, once

class _Collector:
    def __init__(self):
        self.items = []

    @pytest.fixture
    def student(self):
        raise RuntimeError("the hidden suite is run by autograder.grading, not by pytest itself")

    def pytest_collection_finish(self, session):
        self.items = list(session.items)


def collect():
    """The hidden suite's checks, in pytest's order."""
    collector = _Collector()
    code = run_pytest(["--collect-only"], collector)
    if code != 0 or not collector.items:
        raise RuntimeError(f"the hidden suite could not be collected (pytest exit code {code})")
    return [Check(part_of(item), item.name, item.nodeid, item.obj,
                  dict(item.callspec.params) if hasattr(item, "callspec") else {}, mode_of(item))
            for item in collector.items]


def part_of(item):
    marker = item.get_closest_marker("part")
    if marker is None:
        raise RuntimeError(f"hidden check {item.nodeid} belongs to no rubric part")
    return marker.args[0]


def mode_of(item):
    marker = item.get_closest_marker("mode")
    return marker.args[0] if marker else ""


def run_pytest(extra_args, plugin):
    """pytest.main on the hidden suite, shielded from the caller's pytest settings and plugins."""
    args = [str(HIDDEN_SUITE), "-c", str(HIDDEN_SUITE / "pytest.ini"), "--rootdir", str(HIDDEN_SUITE),
            "--import-mode=importlib", "-q", *extra_args,
            *(f"-pno:{name}" for name in ("cacheprovider", "stepwise", "unraisableexception", "threadexception",
                                            "faulthandler", "doctest", "pastebin", "nose", "legacypath"))]
    saved = {k: os.environ.pop(k) for k in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS") if k in os.environ}
    autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with quiet():
            return pytest.main(args, plugins=[plugin])
    finally:
        os.environ.update(saved)
        if autoload is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload


@contextlib.contextmanager
def quiet():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


# ---------------------------------------------------------------- rehearsing, once

def reference_student():
    return StudentCode(ReferenceTransport(probes.Probes(reference.Value, reference.MLP)))


def rehearse(check):
    student = reference_student()
    if not check.generated:
        check.run(student)
        return Rehearsed(check, student.transport.requests)
    examples = record_examples(check, student)
    if not examples:
        raise RuntimeError(f"hypothesis drew no example for the hidden check {check.nodeid}")
    return Rehearsed(check, student.transport.requests, examples)


def record_examples(check, student):
    """Run a generated check under hypothesis on the reference, keeping every example it draws.

    The recorder stands in for the test's body; hypothesis seeds a derandomized run from the
    body's own source, so the recorder is given that seed explicitly: the examples are exactly
    those of the real check."""
    from hypothesis.errors import UnsatisfiedAssumption
    from hypothesis.internal.reflection import function_digest

    wrapped, inner = check.function, check.function.hypothesis.inner_test
    check._seed_like_pytest()
    seed = int.from_bytes(function_digest(inner), "big")
    requests, examples = student.transport.requests, []

    def recorder(**arguments):
        given = {k: v for k, v in arguments.items() if k != "student" and k not in check.params}
        data = RecordingData(given.pop("data")) if "data" in given else None
        start = len(requests)
        try:
            inner(**{**arguments, **({"data": data} if data is not None else {})})
        except UnsatisfiedAssumption:
            del requests[start:]  # hypothesis drops this example, and so do we
            raise
        examples.append(Example(given, None if data is None else data.values))

    saved_seed = wrapped._hypothesis_internal_use_seed
    wrapped.hypothesis.inner_test, wrapped._hypothesis_internal_use_seed = recorder, seed
    try:
        with no_local_constants(), quiet():
            wrapped(student=student, **check.params)
    finally:
        wrapped.hypothesis.inner_test, wrapped._hypothesis_internal_use_seed = inner, saved_seed
    return examples


class RecordingData:
    """Hypothesis's `data` object, noting every value drawn."""

    def __init__(self, data):
        self.data, self.values = data, []

    def draw(self, strategy, label=None):
        value = self.data.draw(strategy, label)
        self.values.append(value)
        return value


class ReplayData:
    """Stands in for hypothesis's `data` object: hands back the values recorded for an example."""

    def __init__(self, values):
        self.values = iter(values)

    def draw(self, strategy, label=None):
        return next(self.values)


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
