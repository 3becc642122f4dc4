"""A GradeResult as a readable table in the terminal, with rich, at any width (80 columns too)."""
from rich.console import Group
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from autograder.text import printable

FEEDBACK_INDENT = 2  # feedback lines sit under the part's status line


def part_table(result):
    table = Table(show_lines=True, expand=True)
    table.add_column("part", style="bold", no_wrap=True)
    table.add_column("points and feedback", ratio=1)
    for part in result.parts:
        # a submission that could not be graded says why once, above the table, not in every part
        not_graded = bool(result.problem) and part.feedback == [result.problem]
        status = Text.assemble((f"{part.points:g} / {part.max_points:g}  ", "bold"),
                               f"{'not graded' if not_graded else part.status}: {part.title}",
                               style="green" if part.passed else "red")
        table.add_row(part.id, Group(status, *([] if not_graded else feedback(part))))
    return table


def feedback(part):
    """The part's feedback, one renderable per line: a line too long for the column wraps under
    its own start (a hanging indent), so a case's code and a `likely:` line stay readable."""
    lines = [line for message in part.feedback for line in printable(message).splitlines()]
    return [Padding(Text(line.lstrip()), (0, 0, 0, FEEDBACK_INDENT + len(line) - len(line.lstrip()))) for line in lines]


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
    """One row per submission: its score and the parts it lost, for a batch (a column per part
    would not fit 80 columns)."""
    table = Table(title="grades", expand=True)
    table.add_column("submission", ratio=1, overflow="fold")
    table.add_column("score", justify="right", style="bold", no_wrap=True)
    table.add_column("parts lost", ratio=1)
    for result in results:
        lost = ", ".join(part.id for part in result.parts if not part.passed)
        table.add_row(printable(result.submission), f"{result.score:g} / {result.max_score:g}",
                      Text(lost, style="red") if lost else Text("none", style="green"))
    return table
