"""Grade a submission: stage it, read its source, check it part by part, collect the results.

A `Grader` keeps what does not depend on the submission (the rubric, the sandbox level, the
hidden suite collected and rehearsed once: see casebook.py) and grades one submission after
another, in one sandboxed worker (kept from one submission to the next in a batch, started
afresh if it dies); each rubric part gets a fresh child of that worker and its own time budget,
and after each part every process and file the part left behind is cleared away. The part's recorded requests go to the child at
once, the part's checks run on the replies in the hidden suite's order, and the first failure
ends the part (checks run simplest first, so the first failure says it best); a generated check
that fails is then run again under hypothesis to shrink the failure to its smallest example.
Independently, and before any part runs, the graded modules are read on the grader's side
(autograder/reading): code that no honest submission needs, or that would rebind what the
reading resolved, blocks the parts it reaches (they are not run, and the submission is marked
for review); an op part whose checks all pass must also have its gradient formula proven from
the source. Convergence scores only when backward() passes too. Anything unexpected fails
closed: the part scores 0 and says why.
"""
import atexit
import tempfile
import time
from functools import cache
from pathlib import Path

from autograder import exercise
from autograder.grading import given_code
from autograder.grading.casebook import CaseBook
from autograder.grading.feedback import verdict
from autograder.grading.modules import graded_modules
from autograder.grading.results import ERROR, FAILED, PASSED, CheckResult, GradeResult, PartResult, uniform_parts
from autograder.grading.rubric import Part, load_rubric
from autograder.grading.submission import SubmissionError, stage
from autograder.reading import NETWORK_PARTS, Job, Reading, cases_from_requests, module_name
from autograder.reading.rules import ALLOWED_MODULES
from autograder.reading.service import ReadingService
from autograder.sandbox import leftovers
from autograder.sandbox.client import Worker, WorkerFailure
from autograder.sandbox.compiler import Compiler
from autograder.sandbox.isolation import INSIDE_SUBMISSION, Limits, Sandbox, detect
from autograder.sandbox.student import LiveTransport, PipelinedTransport, StudentCode


ALLOWED_IMPORTS = frozenset(name.partition(".")[0] for name in ALLOWED_MODULES)


@cache
def casebook():
    """The hidden suite, collected and rehearsed once per process."""
    return CaseBook()


@cache
def grader_for(rubric, level, read_source=True):
    return Grader(rubric, level, read_source=read_source)


def grade(path, *, rubric=None, level=None, sandbox="auto", keep_worker=False, read_source=True):
    """Grade the submission at `path` (folder or .zip) and return a GradeResult.

    With keep_worker, the sandboxed worker stays for the next submission graded in this process
    (a batch); `close_workers()` stops it. Raises SandboxUnavailable (sandbox="strict" without
    namespaces) and RubricError; every problem with the submission itself is reported inside
    the result instead. `read_source=False` grades with the sandbox alone, skipping the reading
    of the source (no scan, no proofs): it exists to test the sandbox as a layer of its own, and
    scores are not sound without the reading.
    """
    grader = grader_for(rubric or load_rubric(), level or detect(sandbox), read_source)
    return grader.grade(path, keep_worker=keep_worker)


_keeping = set()  # the graders of this process that keep a worker for the next submission


@atexit.register
def close_workers():
    """Stop the workers that graders of this process keep for a batch."""
    for grader in list(_keeping):
        grader.close()


def grade_safely(path, *, rubric, level, keep_worker=False, read_source=True):
    """grade(), except that a failure of the grader itself becomes this submission's result
    (every part 0, marked as a grader error) instead of an exception: one bad submission
    never stops a batch."""
    started = time.monotonic()
    try:
        return grade(path, rubric=rubric, level=level, keep_worker=keep_worker, read_source=read_source)
    except Exception as error:  # fail closed for this submission only
        message = f"internal grader error ({type(error).__name__}: {error}); tell your instructor"
        return uniform_result(path, rubric, level, started, ERROR, message, [])


def uniform_result(path, rubric, level, started, outcome, message, warnings):
    """A result in which every part has the same single outcome, e.g. an unusable submission."""
    return GradeResult(str(path), uniform_parts(rubric.parts, outcome, message), level.describe(),
                       time.monotonic() - started, message, tuple(warnings))


class Grader:
    """Grades submissions with one rubric at one isolation level, reusing everything it can."""

    def __init__(self, rubric, level, limits=None, read_source=True):
        self.rubric, self.level, self.read_source = rubric, level, read_source
        self.limits = limits or Limits(cpu_seconds=int(rubric.part_seconds) + 1)
        self.compiler = Compiler(level.python, self.limits)
        self.worker = None
        self.reader = ReadingService()
        if read_source:
            self.reader.start_soon()
        self._cases = None
        leftovers.remove_stale()  # what killed grading processes left behind

    @property
    def book(self):
        return casebook()  # built on first use: a submission that cannot be staged never needs it

    def grade(self, path, keep_worker=False):
        """The GradeResult of the submission at `path`; with keep_worker, the worker stays for the next."""
        started = time.monotonic()
        warnings = [self.level.warning] if self.level.warning else []
        try:
            with tempfile.TemporaryDirectory(prefix=leftovers.prefix("stage")) as staging:
                try:
                    staged = stage(path, Path(staging) / "submission")
                except SubmissionError as problem:
                    return uniform_result(path, self.rubric, self.level, started, FAILED, str(problem), warnings)
                modules = graded_modules(staged)
                warnings += [*staged.warnings, *modules.warnings(), *given_code.warnings(staged)]
                files = {**modules.files, **self.compiler.bytecode(modules.files)}
                job = self.job(staged, modules.files)
                run = SubmissionRun(self, staged, files, self.reader.scan(job) if self.read_source else NOT_READ, job)
                parts = tuple(run.grade_part(part) for part in self.rubric.parts)
        finally:
            if keep_worker and self.worker is not None:
                _keeping.add(self)
            else:
                self.close()
        return GradeResult(str(path), parts, self.level.describe(), time.monotonic() - started, "", tuple(warnings),
                           tuple(dict.fromkeys(run.review)))

    def job(self, staged, files):
        """The reading Job of a staged submission: its graded modules (`files`: their bytes, the
        very ones the sandbox holds), the op parts to prove, and the cases each op part's checks
        make (the same for every submission, so worked out once)."""
        if self._cases is None:
            graded = [exercise.BY_PART[p.id] for p in self.rubric.parts if p.id in exercise.BY_PART and p.points > 0]
            self._cases = {op.part: cases_from_requests(self.book.requests(op.part)[0], op) for op in graded}
        ops = tuple(op for op in exercise.OPS if op.part in self._cases)
        prefix = f"{Path(staged.root).name}." if staged.layout == "package" else ""
        return Job(graded_sources(staged, files), f"{prefix}engine", f"{prefix}nn", ops, self._cases)

    def worker_for(self, files):
        """The worker, holding `files` (see Sandbox.hold) and ready: the one kept from the
        submission before if it is alive, else a new one."""
        if self.worker is not None and self.worker.alive:
            self.worker.sandbox.hold(files)
            return self.worker
        self.close_worker()
        self.worker = Worker(Sandbox(self.level, self.limits, files)).start()
        self.worker.clear()  # its first answer: it is up, with nothing running and nothing in /tmp
        return self.worker

    def close_worker(self):
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    def close(self):
        self.close_worker()
        self.compiler.close()
        self.reader.close()
        _keeping.discard(self)


NOT_READ = Reading([], {}, {})  # grading with the sandbox alone (tests of that layer)


def graded_sources(staged, files):
    """{module name: (file, text, is a package)} of the graded modules (`files`: their bytes)."""
    sources = {}
    for relative, data in sorted(files.items()):
        if not relative.endswith(".py"):
            continue
        name = module_name(relative, staged.layout, staged.root)
        if name:
            sources[name] = (relative, data.decode("utf-8", "replace"), relative.endswith("__init__.py"))
    return sources


class SubmissionRun:
    """One submission being graded: its worker, its reading, and a load failure every later part repeats."""

    def __init__(self, grader, staged, files, reading, job):
        self.grader, self.staged, self.files, self.reading, self.job = grader, staged, files, reading, job
        self.worker = None
        self.load_failure = None
        self.graded = {}  # part id -> PartResult, as the parts are graded
        self.review = []  # why the instructor should look at this submission

    def grade_part(self, part):
        rehearsed = self.grader.book.part(part.id, part.mode)
        blocked = self.reading.blocked(part.id)
        if not rehearsed:
            checks = [CheckResult(part.id, "suite", ERROR, "internal grader error: no check of this part ran")]
        elif blocked is not None:
            checks = [CheckResult(part.id, "source", FAILED, blocked.message, 0.0, (blocked.misconception,))]
            self.review.append(blocked.review)
        elif part.points == 0:
            checks = [CheckResult(part.id, r.check.name, PASSED, "not graded (0 points)") for r in rehearsed]
        else:
            checks = self.run_checks(part, rehearsed)
            if all(c.outcome == PASSED for c in checks):
                checks += self.after_checks(part.id)
        result = PartResult(part.id, part.title, part.points, tuple(checks))
        self.graded[part.id] = result
        return result

    def after_checks(self, part_id):
        """What a part needs besides its checks: an op its proven formula, convergence a passing backward()."""
        if part_id in exercise.BY_PART and self.grader.read_source:
            outcome = self.grader.reader.prove(self.job, part_id)
            if outcome.proven:
                return []
            if outcome.kind in ("unreadable", "tampering"):
                self.review.append(f"{part_id}: {outcome.message}")
            return [CheckResult(part_id, "formula", FAILED, outcome.message, 0.0, (outcome.kind,))]
        if part_id == "convergence" and not self.backward_passes():
            return [CheckResult(part_id, "backward", FAILED, (
                "training is scored only when Value.backward() passes its own checks, and it does not: training "
                "that succeeds without backpropagation shows nothing about it"), 0.0, ("backward() failed",))]
        return []

    def backward_passes(self):
        graded = self.graded.get("backward")
        if graded is not None and graded.max_points > 0:
            return graded.passed
        backward = Part("backward", "Value.backward()", 0.0)
        rehearsed = self.grader.book.part(backward.id, backward.mode)
        blocked = self.reading.blocked(backward.id)
        return bool(rehearsed) and blocked is None and all(c.outcome == PASSED
                                                             for c in self.run_checks(backward, rehearsed))

    def run_checks(self, part, rehearsed):
        first = rehearsed[0].check
        if self.load_failure is not None:
            return [self.result(first, self.load_failure, 0.0)]
        try:
            self.ensure_worker()  # starting one is not the part's time: its deadline starts after
            deadline = time.monotonic() + self.grader.rubric.part_seconds
            channel, loaded = self.open_part(deadline, part.id)
        except WorkerFailure as failure:  # the submission cannot even be imported: no part can run
            self.load_failure = failure
            return [self.result(first, failure, 0.0)]
        transport = PipelinedTransport(channel, loaded, *self.grader.book.requests(part.id, part.mode))
        student, results = StudentCode(transport), []
        try:
            for r in rehearsed:
                started = time.monotonic()
                result = self.result(r.check, run_rehearsed(r, student), time.monotonic() - started, loaded)
                if result.outcome == FAILED and r.check.generated and transport.failure is None:
                    result = self.shrunk(r, result, deadline)
                results.append(result)
                if result.outcome != PASSED:
                    break
        finally:
            channel.close()
        return results

    def shrunk(self, rehearsed, fast, deadline):
        """The failure of a generated check shrunk by hypothesis, run live on a fresh child; the
        failure the recorded examples found if shrinking cannot reproduce it in time."""
        started = time.monotonic()
        try:
            channel, loaded = self.open_part(deadline, rehearsed.check.part)
        except WorkerFailure:
            return fast
        student = StudentCode(LiveTransport(channel, loaded))
        try:
            rehearsed.check.run_with_hypothesis(student)
            error = None
        except Exception as raised:
            error = raised
        finally:
            channel.close()
        result = self.result(rehearsed.check, error, fast.seconds + time.monotonic() - started, loaded)
        if student.transport.failure is not None or result.outcome == PASSED:
            return fast  # the worker died or ran out of time while shrinking, or the failure did not come back
        return result

    def ensure_worker(self):
        if self.worker is None or not self.worker.alive:
            self.worker = self.grader.worker_for(self.files)

    def open_part(self, deadline, part_id):
        """A fresh child for one part, and what it found on loading the submission (engine.py,
        and nn.py for the network's parts: a part runs only the code it grades)."""
        self.ensure_worker()
        level = self.grader.level
        base = INSIDE_SUBMISSION if level.namespaces else str(self.worker.sandbox.submission)
        imports = ("engine", "nn") if part_id in NETWORK_PARTS else ("engine",)
        channel = self.worker.open_part(self.staged.layout, f"{base}/{self.staged.root}", deadline, imports,
                                        ALLOWED_IMPORTS)
        try:
            return channel, channel.receive()
        except WorkerFailure:
            channel.close()
            raise

    def result(self, check, error, seconds, loaded=None):
        found = verdict(error, loaded, self.grader.rubric.part_seconds)
        return CheckResult(check.part, check.name, found.outcome, found.message, seconds, found.misconceptions,
                           found.evidence)


def run_rehearsed(rehearsed, student):
    """Run one check on the student's replies, a generated one on each recorded example; the
    first exception, or None."""
    try:
        for example in rehearsed.examples if rehearsed.check.generated else [None]:
            rehearsed.check.run(student, example)
    except Exception as error:
        return error
    return None
