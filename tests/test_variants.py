"""The grader on whole submissions written the way students write micrograd (tests/variants/).

Each folder under tests/variants/ holds a submission (engine.py, nn.py) and `expected.toml`: the
parts it loses, each with its whole feedback (`[lost]`), and every given-code warning, exactly;
every other part of the rubric must score its full points, but for an op the exercise gained
after the variant was written, which it loses as a missing method, with a warning that the
given method is missing (tests/predating.py). So a new part touches no variant.
A diagnosis ("likely: ...") is pinned word for word, so each one in the corpus has been read
against the code it describes: right, or none at all.

Unlike tests/mutants.py (one small edit of the solution each), these are whole files: the
lecture's notebook imports pasted into engine.py, Karpathy's micrograd package, tanh built from
other operations, a bias kept as a float, edits of the given code next to right answers, and
the honest shapes of Value seen in real code (a @dataclass, a constructor taking the label
before the inputs, kept in a list), next to ones that are wrong in ways only some graphs show
(equal by data, a backward() replaying a tape of every Value made). No part of any of them may
take more than a few seconds to grade.
"""
import tomllib
from functools import cache
from pathlib import Path

import pytest

from autograder.grading.rubric import PART_IDS, load_rubric
from autograder.grading.session import grade
from autograder.sandbox.isolation import detect
from predating import unwritten_ops

CORPUS = Path(__file__).resolve().parent / "variants"
VARIANTS = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.toml").is_file())
QUICK = {"blanks-only", "tanh-composed", "given-code-edits"}  # the rest runs with --run-slow
CASES = [pytest.param(n, marks=() if n in QUICK else pytest.mark.slow) for n in VARIANTS]
PART_SECONDS = 3.0  # what grading one part of a whole submission may take, shrinking a failure included


def expected(name):
    return tomllib.loads((CORPUS / name / "expected.toml").read_text("utf-8"))


@cache
def graded(name):
    """The grade of a variant, once per test session."""
    return grade(CORPUS / name)


@pytest.fixture(scope="module")
def machine_warning():
    """The sandbox's own warning on a machine with weaker isolation: not the submission's."""
    return detect("auto").warning


@pytest.mark.parametrize("name", CASES)
def test_variant_gets_exactly_its_points_feedback_and_warnings(name, machine_warning):
    result = graded(name)
    rubric = load_rubric()
    part_ids = [part.id for part in rubric.parts]
    lost = {part: text for part, text in expected(name)["lost"].items() if part in part_ids}
    newer = {part: method for part, method in unwritten_ops(CORPUS / name / "engine.py").items()
             if part in part_ids and part not in lost}
    assert result.internal_errors == [] and result.problem == ""
    assert [part.id for part in result.parts] == part_ids
    assert {part.id: part.points for part in result.parts} == \
        {part.id: 0.0 if part.id in {*lost, *newer} else part.points for part in rubric.parts}
    feedback = {part.id: "\n".join(part.feedback) for part in result.parts if not part.passed}
    assert {part: text for part, text in feedback.items() if part not in newer} == lost
    for part, method in newer.items():  # the method is missing, unless engine.py cannot be imported at all
        assert feedback[part].startswith(f"Value has no method {method}") or feedback[part] in lost.values(), part
    newer_warnings = [f"engine.py: Value.{method} is missing; it is given code" for method in newer.values()]
    warnings = [w for w in result.warnings if w != machine_warning]
    assert [w for w in warnings if w not in newer_warnings] == expected(name)["warnings"]
    assert set(newer_warnings) <= set(warnings)  # the newer op's given method is given code it lacks


@pytest.mark.parametrize("name", CASES)
def test_no_part_of_a_variant_takes_more_than_a_few_seconds(name):
    seconds = {part.id: sum(check.seconds for check in part.checks) for part in graded(name).parts}
    assert {part: s for part, s in seconds.items() if s > PART_SECONDS} == {}, seconds


def test_the_corpus_is_whole_and_consistent():
    assert len(VARIANTS) >= 15
    for name in VARIANTS:
        want = expected(name)
        assert sorted((CORPUS / name).glob("*.py")) == [CORPUS / name / "engine.py", CORPUS / name / "nn.py"]
        assert set(want) == {"warnings", "lost"}, name
        assert set(want["lost"]) <= set(PART_IDS) and all(want["lost"].values()), name  # known parts, each explained


def test_only_filling_in_the_blanks_gives_no_warning_and_each_edit_is_reported():
    assert expected("blanks-only")["warnings"] == []
    edited = [name for name in VARIANTS if expected(name)["warnings"]]
    assert len(edited) >= 10
