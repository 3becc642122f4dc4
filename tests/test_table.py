"""The terminal report, read at 80 columns: a wrapped feedback line stays under its own start, a
batch's summary keeps names and scores whole, an unreadable submission says why once."""
import io
import re

from rich.console import Console

from autograder.grading.results import FAILED, PASSED, CheckResult, GradeResult, PartResult
from autograder.reports import table

LIKELY = ("  likely: you assign the gradient (`=`) instead of adding to it (`+=`): a value used in several "
          "places must collect every contribution")
CASE = "inputs whose grad already holds a value:\n    a = Value(1.1); a.grad = 0.25\n    out = a * b\n" \
       "  expected a.grad = -0.75, got -1\n" + LIKELY
PARTS = (("add", "the _backward of +", 1.0), ("mul", "the _backward of *", 1.0), ("backward", "Value.backward()", 2.0),
         ("convergence", "training on the 3-example dataset", 1.0))


def result(name, failed=(), problem=""):
    failed = [i for i, _, _ in PARTS] if problem else failed
    parts = tuple(PartResult(i, title, points, (CheckResult(i, "case", FAILED if i in failed else PASSED,
                                                            problem or (CASE if i in failed else "")),))
                  for i, title, points in PARTS)
    return GradeResult(name, parts, "bubblewrap", 0.4, problem)


def rendered(renderable, width=80):
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def feedback_rows(text):
    """{part id: the lines of its feedback cell} of a rendered part table."""
    rows, part = {}, None
    for line in text.splitlines():
        if line.count("│") == 3:
            _, name, cell, _ = line.split("│")
            part = name.strip() or part
            rows.setdefault(part, []).append(cell.rstrip())
    return rows


def test_a_long_feedback_line_wraps_under_its_own_start():
    text = rendered(table.render(result("submissions/alice", failed=["mul"])))
    assert max(len(line) for line in text.splitlines()) <= 80
    cells = feedback_rows(text)["mul"]
    start = next(i for i, cell in enumerate(cells) if "likely:" in cell)
    indent = len(cells[start]) - len(cells[start].lstrip())
    wrapped = cells[start + 1:]
    assert wrapped and all(cell.startswith(" " * indent) and cell[indent] != " " for cell in wrapped), cells
    assert " ".join(cell.strip() for cell in [cells[start], *wrapped]) == LIKELY.strip()
    assert "    a = Value(1.1); a.grad = 0.25" in "\n".join(cells)  # code keeps its indentation


def test_a_batch_summary_keeps_names_and_scores_whole_at_80_columns():
    results = [result("examples/submission", failed=["mul", "convergence"]), result("/tmp/bad.zip", problem="bad")]
    text = rendered(table.summary_table(results))
    assert max(len(line) for line in text.splitlines()) <= 80
    assert re.search(r"examples/submission\s+│\s+3 / 5 │ mul, convergence", text), text
    assert re.search(r"/tmp/bad\.zip\s+│\s+0 / 5 │ add, mul, backward,", text), text


def test_a_submission_that_could_not_be_graded_says_why_once():
    problem = "bad.zip is not a valid zip archive"
    text = rendered(table.render(result("bad.zip", problem=problem)))
    assert text.count(problem) == 1 and text.index(problem) < text.index("┏")
    assert len(re.findall(r"0 / \d+  not graded: ", text)) == len(PARTS)
