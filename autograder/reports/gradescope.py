"""A GradeResult as Gradescope's results.json: one test per rubric part, named after its id."""
from autograder import __version__
from autograder.text import printable


def part_output(part):
    if part.passed:
        return "All checks passed."
    return printable("\n\n".join(part.feedback))


def score_line(result, shown):
    """The score as the top-level output, which every student sees at once, gives it: the total
    when every part is visible, else only the visible parts' (a total would tell how the hidden
    parts scored); nothing when no part is visible."""
    visible = [part for part in result.parts if shown[part.id] == "visible"]
    if len(visible) == len(result.parts):
        return [f"Score: {result.score:g} / {result.max_score:g}"]
    if not visible:
        return []
    score, out_of = sum(part.points for part in visible), sum(part.max_points for part in visible)
    return [f"Score on the parts shown now: {score:g} / {out_of:g}"]


def results_json(result, visibility="visible", rubric=None):
    """The Gradescope results object (a dict ready for json.dump). A part's test takes its
    visibility from the rubric's part, when a rubric is given; the rest is `visibility`."""
    in_rubric = {part.id: part.visibility for part in rubric.parts} if rubric else {}
    shown = {part.id: in_rubric.get(part.id, visibility) for part in result.parts}
    tests = [{
        "name": f"{part.id}: {part.title}",
        "score": part.points,
        "max_score": part.max_points,
        "status": "passed" if part.passed else "failed",
        "output": part_output(part),
        "output_format": "text",
        "visibility": shown[part.id],
        "tags": [part.id],
    } for part in result.parts]
    summary = [*score_line(result, shown), f"Sandbox: {result.isolation}"]
    if result.problem:
        summary.insert(0, f"This submission could not be graded: {printable(result.problem)}")
    return {
        "score": result.score,
        "output": "\n".join(summary),
        "output_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"grader": f"micrograd-autograder {__version__}", "isolation": result.isolation,
                       "seconds": round(result.seconds, 3), "warnings": [printable(w) for w in result.warnings],
                       "review": [printable(r) for r in result.review],
                       "submission": printable(result.submission)},
    }
