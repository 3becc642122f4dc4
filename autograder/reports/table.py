"""A GradeResult as a readable table in the terminal, with rich."""
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from autograder.text import printable


def part_table(result):
    table = Table(show_lines=True, expand=True)
    table.add_column("part", style="bold", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("feedback", ratio=1)
    for part in result.parts:
        style = "green" if part.passed else "red"
        feedback = Text(f"{part.status}: {part.title}", style=style)
        for message in part.feedback:
            feedback.append("\n" + printable(message), style="default")
        table.add_row(part.id, f"{part.points:g} / {part.max_points:g}", feedback)
    return table


def render(result):
    """A rich renderable: header, warnings, the part table and the total."""
    lines = [Text.from_markup(f"[bold]{escape(printable(result.submission))}[/]  graded in {result.seconds:.2f} s"),
             Text(f"sandbox: {result.isolation}", style="dim")]
    lines += [Text(f"warning: {printable(w)}", style="yellow") for w in result.warnings]
    lines += [Text(f"marked for review: {printable(r)}", style="magenta") for r in result.review]
    if result.problem:
        lines.append(Text(f"could not be graded: {printable(result.problem)}", style="red"))
    total = Text(f"score: {result.score:g} / {result.max_score:g}", style="bold")
    return Group(*lines, part_table(result), total)


def summary_table(results):
    """One row per submission, one column per part: for a batch."""
    table = Table(title="grades")
    table.add_column("submission", overflow="fold")
    parts = results[0].parts if results else ()
    for part in parts:
        table.add_column(part.id, justify="right")
    table.add_column("score", justify="right", style="bold")
    for result in results:
        cells = [f"{p.points:g}" if p.passed else Text(f"{p.points:g}", style="red") for p in result.parts]
        table.add_row(printable(result.submission), *cells, f"{result.score:g} / {result.max_score:g}")
    return table
