"""The reading (autograder/reading) on the shapes of tests/shapes.py: honest gradient code in
every form the corpus holds is read and proven; each dishonest form fails exactly the parts it
reaches, and says why. Run in this process (the grader runs the same in its reading process)."""
import pytest

from autograder import exercise
from autograder.grading.session import casebook
from autograder.reading import Job, analyse, cases_from_requests
from shapes import DISHONEST, HONEST

OPS = exercise.OPS


@pytest.fixture(scope="module")
def cases():
    book = casebook()
    return {op.part: cases_from_requests(book.requests(op.part)[0], op) for op in OPS}


def reading_of(shape, cases):
    """(the scan's Reading, {op part: Outcome of its proof}) of a shape."""
    sources = {file.removesuffix(".py"): (file, text, False) for file, text in shape.sources().items()}
    job = Job(sources, "engine", "nn", OPS, cases)
    scan = analyse(job)
    return scan, {op.part: analyse(Job(sources, "engine", "nn", OPS, cases, prove=op.part)).proof(op.part)
                  for op in OPS}


def reason(scan, outcomes, part):
    """Why a part would not be graded ("" if it would be)."""
    blocked = scan.blocked(part)
    if blocked is not None:
        return blocked.message
    outcome = outcomes.get(part)
    return "" if outcome is None or outcome.proven else outcome.message


@pytest.mark.parametrize("shape", HONEST, ids=[s.name for s in HONEST])
def test_honest_gradient_code_is_read_and_proven(shape, cases):
    scan, outcomes = reading_of(shape, cases)
    parts = [op.part for op in OPS] + ["backward", "parameters", "convergence"]
    assert {part: reason(scan, outcomes, part) for part in parts} == {part: "" for part in parts}


@pytest.mark.parametrize("shape", DISHONEST, ids=[s.name for s in DISHONEST])
def test_dishonest_code_fails_exactly_the_parts_it_reaches(shape, cases):
    scan, outcomes = reading_of(shape, cases)
    reasons = {op.part: reason(scan, outcomes, op.part) for op in OPS}
    for part, words in shape.fails.items():
        assert words in reasons[part], reasons[part]
    failing = {part for part, why in reasons.items() if why}
    assert failing == ({op.part for op in OPS} if shape.everywhere else set(shape.fails)), reasons
