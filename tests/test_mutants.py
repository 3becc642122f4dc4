"""The grader against its own corpus of submissions (tests/mutants.py).

Every mutant must lose exactly the rubric parts it lists (all of their points) and keep full
points on every other part, and its feedback must name the misconception where the grader
recognises one; every correct variant must score full marks. No grade may hold an internal
grader error.

A grade takes about 1.5 s, so most of the corpus is marked slow (CI runs it with --run-slow);
the variants in QUICK run by default.
"""
import ast

import pytest

from autograder.grading.rubric import load_rubric
from autograder.grading.session import grade
from mutants import ALL, CORRECT, MUTANTS, PARTS, Mutant

QUICK = {
    "add-assigns",  # `=` for `+=`, and convergence lost with it
    "pow-assigns",  # ... but not when the op's mistake cannot show in training
    "tanh-from-input",
    "tanh-finite-differences",  # near enough for training, not for the 1e-12 check
    "relu-slope-reversed",  # named only with the op's other fixed cases as evidence
    "backward-level-order",
    "parameters-only-weights",
    "kahn-topological-sort",
    "package-zipped",
}


def cases(variants):
    return [pytest.param(v, id=v.name, marks=() if v.name in QUICK else pytest.mark.slow) for v in variants]


@pytest.fixture
def result(variant, tmp_path):
    """The grade of `variant`, written out under tmp_path."""
    return grade(variant.materialise(tmp_path))


def summary(result):
    lines = [f"score {result.score:g}/{result.max_score:g}" + (f"; problem: {result.problem}" if result.problem else "")]
    for part in result.parts:
        lines.append(f"  {part.id}: {part.points:g}/{part.max_points:g}")
        lines += [f"      {line}" for message in part.feedback for line in message.splitlines()]
    return "\n".join(lines)


@pytest.mark.parametrize("variant", cases(MUTANTS))
def test_mutant_loses_exactly_its_parts(variant, result):
    assert result.internal_errors == [], summary(result)
    lost = {part.id for part in result.parts if part.points < part.max_points}
    assert lost == set(variant.lost_parts), summary(result)
    for part in result.parts:
        assert part.points == (0 if part.id in variant.lost_parts else part.max_points), summary(result)
    if variant.feedback_contains:
        part = next(p for p in result.parts if p.id == variant.feedback_part())
        assert variant.feedback_contains in "\n".join(part.feedback), summary(result)


@pytest.mark.parametrize("variant", cases(CORRECT))
def test_correct_variant_scores_full_marks(variant, result):
    assert result.internal_errors == [], summary(result)
    assert result.problem == "", summary(result)
    assert result.score == result.max_score, summary(result)


# ---------------------------------------------------------------- the corpus itself (fast)

def test_the_bundled_rubric_grades_every_part():
    assert PARTS == tuple(part.id for part in load_rubric().parts)


def test_names_are_unique():
    names = [v.name for v in ALL]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("variant", [pytest.param(v, id=v.name) for v in ALL])
def test_every_variant_is_built_from_the_solution(variant):
    """Each edit's text occurs once in the solution (files() asserts it) and the result is Python."""
    files = variant.files()
    for path, text in files.items():
        ast.parse(text, path)
    if isinstance(variant, Mutant):
        assert variant.old != variant.new
        assert variant.lost_parts and variant.lost_parts <= set(PARTS)
        assert variant.feedback_contains is None or variant.feedback_part() in variant.lost_parts
