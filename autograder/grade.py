"""`autograder grade`: grade one submission, or many, and report.

Exit codes: 0 when every submission was graded (whatever the scores); 2 when the grader could
not start (no such path, a bad rubric, no sandbox under --sandbox=strict); 3 when a check
failed inside the grader itself (the affected parts score 0 and the report says so).
"""
import functools
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from autograder.grading.rubric import RubricError, load_rubric
from autograder.grading.session import close_workers, grade_safely
from autograder.reports import gradescope, table
from autograder.sandbox.isolation import SandboxUnavailable, detect


def main(*, paths, as_json=False, rubric=None, sandbox="auto", html=None, console=None):
    console = console or Console()
    errors = Console(stderr=True)
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        errors.print(f"[red]error:[/] no such file or folder: {', '.join(map(str, missing))}")
        return 2
    try:
        loaded_rubric = load_rubric(rubric)
        level = detect(sandbox)
        write_pages = html_writer(html) if html else None
    except (RubricError, SandboxUnavailable, ReportUnavailable) as error:
        errors.print(f"[red]error:[/] {error}")
        return 2
    if level.warning:
        errors.print(f"[yellow]warning:[/] {level.warning}")
    results = grade_all(paths, loaded_rubric, level, errors)
    if as_json:
        objects = [gradescope.results_json(r, rubric=loaded_rubric) for r in results]
        sys.stdout.write(json.dumps(objects[0] if len(objects) == 1 else objects, indent=2) + "\n")
    elif len(results) == 1:
        console.print(table.render(results[0]))
    else:
        for result in results:
            console.print(table.render(result))
        console.print(table.summary_table(results))
    if write_pages:
        index, _ = write_pages(results)
        errors.print(f"HTML pages written; open {index}", soft_wrap=True, highlight=False)
    internal = [c for r in results for c in r.internal_errors]
    if internal:
        errors.print(f"[red]the grader itself failed in {len(internal)} check(s)[/]; see the report")
        return 3
    return 0


class ReportUnavailable(Exception):
    """--html cannot be honoured: the html extra is not installed, or the folder cannot be made."""


def html_writer(folder):
    """`write(results) -> (index, pages)` into `folder`; checked before grading, so that a batch
    never runs only to find that its pages cannot be written."""
    try:
        from autograder.reports import html
    except ImportError as error:
        raise ReportUnavailable(f"--html needs the html extra ({error.name} is not installed): "
                                "pip install 'micrograd-autograder[html]'") from None
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportUnavailable(f"cannot write HTML pages into {folder}: {error.strerror}") from None
    return functools.partial(html.write_pages, folder=folder)


def grade_all(paths, rubric, level, console, read_source=True):
    """Grade each path in turn, in one worker; one submission's trouble never stops the others.
    (`read_source=False`, the sandbox alone, is for the tests of that layer: see session.grade.)"""
    results = []
    with Progress(console=console, transient=True, disable=len(paths) < 2) as progress:
        task = progress.add_task("grading", total=len(paths))
        try:
            for path in paths:
                results.append(grade_safely(path, rubric=rubric, level=level, keep_worker=True,
                                            read_source=read_source))
                progress.advance(task)
        finally:
            close_workers()
    return results
