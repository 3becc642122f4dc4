"""A GradeResult as Gradescope's results.json: one test per rubric part, named after its id."""
from autograder import __version__
from autograder.text import printable


def part_output(part):
    if part.passed:
        return "All checks passed."
    return printable("\n\n".join(part.feedback))


def results_json(result, visibility="visible", rubric=None):
    """The Gradescope results object (a dict ready for json.dump). A part's test takes its
    visibility from the rubric's part, when a rubric is given; the rest is `visibility`."""
    shown = {part.id: part.visibility for part in rubric.parts} if rubric else {}
    tests = [{
        "name": f"{part.id}: {part.title}",
        "score": part.points,
        "max_score": part.max_points,
        "status": "passed" if part.passed else "failed",
        "output": part_output(part),
        "output_format": "text",
        "visibility": shown.get(part.id, visibility),
        "tags": [part.id],
    } for part in result.parts]
    summary = [f"Score: {result.score:g} / {result.max_score:g}", f"Sandbox: {result.isolation}"]
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
