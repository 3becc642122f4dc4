"""`autograder grade-all DIR --out OUT`: grade a whole class, resumably, into a gradebook.

DIR holds one folder or .zip per student, named by student id, or nbgrader's
`submitted/<student>/<assignment>/` (see batch/students.py). OUT receives:

    results/<student>.json     each student's full result, written the moment it is known
    gradescope/<student>.json  the same result in Gradescope's results.json format
    gradebook.csv              one row per student (see batch/gradebook.py)

A run that stops (killed, Ctrl-C, a power cut) resumes where it stopped: a student whose
result is on disk, complete and graded with the same rubric, is not graded again unless
`force`. Grading runs `jobs` submissions at a time on this machine, or on a Dask cluster.

Exit codes: 0 when every submission was graded (an unreadable one is graded too: its row says
why it scored 0); 2 when grading could not start; 3 when the grader itself failed for some
submission (those are graded again by the next run); 130 when interrupted.
"""
import json
import os
import statistics
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from autograder.batch.gradebook import write_gradebook
from autograder.batch.records import RecordStore, write_atomically
from autograder.batch.students import ClassFolderError, file_name, find_submissions, printable
from autograder.grading.results import ERROR, FAILED, GradeResult, uniform_parts
from autograder.grading.rubric import RubricError, load_rubric
from autograder.reports import gradescope
from autograder.sandbox.isolation import SandboxUnavailable, detect


class CannotStart(Exception):
    """grade-all cannot begin; the message says why."""


def main(*, directory, out, jobs=None, force=False, assignment="micrograd", rubric=None, sandbox="auto",
         scheduler=None, worker_wait=None, html=None, console=None):
    console = console or Console(soft_wrap=True)
    errors = Console(stderr=True, soft_wrap=True)
    try:
        loaded_rubric = load_rubric(rubric)
        level = detect(sandbox)
        submissions = find_submissions(directory, assignment=assignment, exclude=[out])
        out = prepare_output(out, directory)
        grader, where = choose_grader(scheduler, loaded_rubric, level, sandbox, check_jobs(jobs), worker_wait)
        write_pages = html_writer(html)
    except (CannotStart, ClassFolderError, RubricError, SandboxUnavailable) as error:
        errors.print(f"[red]error:[/] {escape(str(error))}")
        return 2
    if level.warning:
        errors.print(f"[yellow]warning:[/] {escape(level.warning)}")
    store = RecordStore(out / "results", loaded_rubric)
    store.prepare()
    gradable = [s for s in submissions if not s.problem]
    kept = {} if force else {s.student: r for s in gradable if (r := store.load(s.student)) is not None}
    pending = [s for s in gradable if s.student not in kept]
    announce(errors, len(submissions), len(pending), len(kept), where)
    try:
        fresh = grade_pending(pending, grader, store, loaded_rubric, errors)
    except KeyboardInterrupt:
        errors.print(f"[yellow]interrupted[/]: finished results are kept in {escape(str(store.folder))}; "
                     "run the same command again to grade the rest")
        return 130
    except CannotStart as error:
        errors.print(f"[red]error:[/] {escape(str(error))}")
        return 2
    results = {**kept, **fresh}
    graded = [(s.student, results.get(s.student) or unusable(s, loaded_rubric, FAILED, s.problem)) for s in submissions]
    write_outputs(out, graded, loaded_rubric)
    code = summarize(console, errors, graded, len(fresh), len(kept), out)
    if write_pages is not None:
        return write_html(write_pages, graded, Path(html), console, errors) or code
    return code


def check_jobs(jobs):
    if jobs is None:
        jobs = os.cpu_count() or 1
    if jobs < 1:
        raise CannotStart(f"--jobs must be at least 1, not {jobs}")
    return jobs


def prepare_output(out, directory):
    """The output folder, created, with its subfolders, and shown to be writable."""
    out = Path(out)
    if out.resolve() == Path(directory).resolve():
        raise CannotStart("--out must be another folder than the submissions' (it may lie inside it)")
    try:
        for folder in (out, out / "results", out / "gradescope"):
            folder.mkdir(parents=True, exist_ok=True)
        write_atomically(out / ".write-test", "")
        (out / ".write-test").unlink()
    except OSError as error:
        raise CannotStart(f"cannot write to the output folder {out}: {error.strerror or error}") from None
    return out


def choose_grader(scheduler, rubric, level, sandbox, jobs, worker_wait=None):
    """(grader, where it grades): grader(pending submissions) yields (submission, result dict or
    the exception that lost it) as each finishes."""
    if scheduler:
        try:
            from autograder.integrations import dask as cluster
        except ImportError as error:
            raise CannotStart(f"--scheduler needs Dask distributed ({error}): "
                              "pip install 'micrograd-autograder[cluster]'") from None
        wait = cluster.WORKER_WAIT if worker_wait is None else worker_wait
        if not wait > 0:
            raise CannotStart(f"--worker-wait must be a positive number of seconds, not {wait:g}")

        def on_cluster(pending):
            try:
                yield from cluster.grade_on_cluster(pending, scheduler=scheduler, rubric=rubric, sandbox=sandbox,
                                                    worker_wait=wait)
            except cluster.ClusterUnavailable as error:
                raise CannotStart(str(error)) from None
        return on_cluster, f"on the Dask cluster at {scheduler}"
    from autograder.batch.pool import grade_locally

    def on_this_machine(pending):
        return grade_locally(pending, rubric=rubric, level=level, jobs=min(jobs, len(pending)))
    return on_this_machine, f"{jobs} at a time on this machine"


def html_writer(html):
    """autograder.reports.html.write_pages when --html is asked for, else None."""
    if html is None:
        return None
    try:
        from autograder.reports.html import write_pages
    except ImportError as error:
        raise CannotStart(f"--html is unavailable in this installation: {error}") from None
    return write_pages


def write_html(write_pages, graded, folder, console, errors):
    """Write the HTML pages; 0, or 2 when they cannot be written."""
    try:
        write_pages([result for _, result in graded], folder)
    except OSError as error:
        errors.print(f"[red]error:[/] cannot write the HTML pages to {escape(str(folder))}: {escape(str(error))}")
        return 2
    console.print(f"HTML pages: {escape(str(folder / 'index.html'))}")
    return 0


def announce(console, students, pending, kept, where):
    note = f"; {kept} already graded by an earlier run (--force grades them again)" if kept else ""
    console.print(f"{students} students: {pending} to grade{', ' + where if pending else ''}{note}")


def grade_pending(pending, grader, store, rubric, console):
    """Grade `pending`, saving each result as it comes; {student: GradeResult}."""
    fresh = {}
    if not pending:
        return fresh
    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("left"),
               TimeRemainingColumn(), TextColumn("{task.fields[last]}"))
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("grading", total=len(pending), last="")
        for submission, outcome in grader(pending):
            result = received(submission, outcome, rubric)
            if isinstance(outcome, dict):  # a lost task is not a result: the next run tries again
                store.save(submission.student, result)
            fresh[submission.student] = result
            progress.update(task, advance=1, last=escape(printable(submission.student)))
    return fresh


def received(submission, outcome, rubric):
    """The GradeResult of a finished task, labelled with the student's id; a lost task fails closed."""
    if isinstance(outcome, BaseException):
        message = f"internal grader error: the grading task failed ({type(outcome).__name__}: {outcome})"
        return unusable(submission, rubric, ERROR, message)
    return GradeResult.from_dict({**outcome, "submission": printable(submission.student)})


def unusable(submission, rubric, outcome, message):
    """A result in which every part scores 0 for the same reason."""
    return GradeResult(printable(submission.student), uniform_parts(rubric.parts, outcome, message), "not graded",
                       0.0, message)


def write_outputs(out, graded, rubric):
    for student, result in graded:
        payload = gradescope.results_json(result, rubric=rubric)
        write_atomically(out / "gradescope" / f"{file_name(student)}.json", json.dumps(payload, indent=1))
    write_gradebook(out / "gradebook.csv", graded, rubric)


def summarize(console, errors, graded, fresh, kept, out):
    """Print what the run did; the exit code."""
    results = [result for _, result in graded]
    unreadable = sum(1 for r in results if r.problem and not r.internal_errors)
    failed = sum(1 for r in results if r.internal_errors)
    mean = statistics.fmean(r.score for r in results)
    console.print(f"[bold]{len(results)} students[/]: {fresh} graded now, {kept} by an earlier run; "
                  f"{unreadable} could not be graded (the gradebook's problem column says why); "
                  f"mean score {mean:.2f} / {results[0].max_score:g}")
    if failed:
        errors.print(f"[red]the grader itself failed for {failed} submission(s)[/]; run again to retry them")
    console.print(f"gradebook: {escape(str(out / 'gradebook.csv'))}")
    return 3 if failed else 0
