"""`autograder grade`: grade one submission, or many, and report.

Exit codes: 0 when every submission was graded (whatever the scores); 2 when the grader could
not start (no such path, a bad rubric, no sandbox under --sandbox=strict); 3 when a check
failed inside the grader itself (the affected parts score 0 and the report says so).
"""
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from autograder.grading.rubric import RubricError, load_rubric
from autograder.grading.session import grade_safely
from autograder.reports import gradescope, table
from autograder.sandbox.isolation import SandboxUnavailable, detect


def main(*, paths, as_json=False, rubric=None, sandbox="auto", console=None):
    console = console or Console()
    errors = Console(stderr=True)
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        errors.print(f"[red]error:[/] no such file or folder: {', '.join(map(str, missing))}")
        return 2
    try:
        loaded_rubric = load_rubric(rubric)
        level = detect(sandbox)
    except (RubricError, SandboxUnavailable) as error:
        errors.print(f"[red]error:[/] {error}")
        return 2
    if level.warning:
        errors.print(f"[yellow]warning:[/] {level.warning}")
    results = grade_all(paths, loaded_rubric, level, errors)
    if as_json:
        objects = [gradescope.results_json(r) for r in results]
        sys.stdout.write(json.dumps(objects[0] if len(objects) == 1 else objects, indent=2) + "\n")
    elif len(results) == 1:
        console.print(table.render(results[0]))
    else:
        for result in results:
            console.print(table.render(result))
        console.print(table.summary_table(results))
    internal = [c for r in results for c in r.internal_errors]
    if internal:
        errors.print(f"[red]the grader itself failed in {len(internal)} check(s)[/]; see the report")
        return 3
    return 0


def grade_all(paths, rubric, level, console):
    """Grade each path in turn; one submission's trouble never stops the others."""
    results = []
    with Progress(console=console, transient=True, disable=len(paths) < 2) as progress:
        task = progress.add_task("grading", total=len(paths))
        for path in paths:
            results.append(grade_safely(path, rubric=rubric, level=level))
            progress.advance(task)
    return results
