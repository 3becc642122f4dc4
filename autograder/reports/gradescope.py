"""A GradeResult as Gradescope's results.json: one test per rubric part, named after its id."""
from autograder import __version__


def part_output(part):
    if part.passed:
        return "All checks passed."
    return "\n\n".join(part.feedback)


def results_json(result, visibility="visible"):
    """The Gradescope results object (a dict ready for json.dump)."""
    tests = [{
        "name": f"{part.id}: {part.title}",
        "score": part.points,
        "max_score": part.max_points,
        "status": "passed" if part.passed else "failed",
        "output": part_output(part),
        "output_format": "text",
        "visibility": visibility,
        "tags": [part.id],
    } for part in result.parts]
    summary = [f"Score: {result.score:g} / {result.max_score:g}", f"Sandbox: {result.isolation}"]
    if result.problem:
        summary.insert(0, f"This submission could not be graded: {result.problem}")
    return {
        "score": result.score,
        "output": "\n".join(summary),
        "output_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"grader": f"micrograd-autograder {__version__}", "isolation": result.isolation,
                       "seconds": round(result.seconds, 3), "warnings": list(result.warnings),
                       "submission": result.submission},
    }
