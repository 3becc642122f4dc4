"""Grading on this machine, `jobs` submissions at a time, in grader processes that stay warm.

Each grader process receives the rubric and the sandbox level once (its initializer) and then
grades submission after submission: whatever grading caches per process is paid for once
per process, not once per student. Student code still runs only in the sandboxed worker that
`grade_safely` starts for each part. Grader processes are started fresh ("spawn"), never
forked from this one, whose progress bar runs a thread. They die with this process, whatever
kills it (even SIGKILL), and their sandboxed workers with them.
"""
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed

from autograder.grading import session
from autograder.sandbox.kernel import die_with_parent

_settings = {}  # this grader process's rubric and sandbox level, set once by _start


def _start(rubric, level, parent):
    die_with_parent(parent)
    _settings.update(rubric=rubric, level=level)


def _grade(path):
    """One submission, in the worker kept from this process's submission before (a batch)."""
    return session.grade_safely(path, rubric=_settings["rubric"], level=_settings["level"], keep_worker=True).to_dict()


def grade_locally(submissions, *, rubric, level, jobs):
    """Yield (submission, GradeResult.to_dict() or the exception that lost it) as each finishes."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start,
                               initargs=(rubric, level, os.getpid()))
    try:
        futures = {pool.submit(_grade, str(s.path)): s for s in submissions}
        for future in as_completed(futures):
            error = future.exception()
            yield futures[future], error if error is not None else future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
