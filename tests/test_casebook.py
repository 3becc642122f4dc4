"""The hidden suite's rehearsal: what its checks ask of a correct submission, learned once.

Grading replays recorded examples instead of running hypothesis for every submission; that is
only right if the recorded examples are exactly those hypothesis draws, on every run.
"""
import pytest

from autograder.grading.casebook import CaseBook, reference_student
from autograder.grading.session import casebook


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A rehearsal made from scratch, kept in a cache file of its own."""
    cache = tmp_path_factory.mktemp("cache") / "rehearsal.pickle"
    return CaseBook(cache=cache), cache


def plan(book):
    return {r.check.nodeid: (r.requests, [(e.given, e.draws) for e in r.examples])
            for r in (r for part in {c.part for c in book.checks} for r in book.part(part))}


def generated(book):
    return [r for part in {c.part for c in book.checks} for r in book.part(part) if r.check.generated]


def test_every_generated_check_has_its_examples(fresh):
    book, _ = fresh
    assert generated(book) and all(len(r.examples) == 30 for r in generated(book))


def test_the_examples_are_those_hypothesis_draws_live(fresh):
    """Run each generated check under hypothesis itself, as pytest would: the same requests."""
    book, _ = fresh
    for rehearsed in generated(book):
        student = reference_student()
        rehearsed.check.run_with_hypothesis(student)
        assert student.transport.requests == rehearsed.requests, rehearsed.check.nodeid


def test_the_rehearsal_is_the_same_from_the_cache_and_in_this_process(fresh):
    book, cache = fresh
    assert cache.exists()
    assert plan(CaseBook(cache=cache)) == plan(book) == plan(casebook())


def test_a_broken_cache_is_rehearsed_again(fresh, tmp_path):
    book, _ = fresh
    broken = tmp_path / "rehearsal.pickle"
    broken.write_bytes(b"not a pickle")
    assert plan(CaseBook(cache=broken)) == plan(book)
    assert broken.read_bytes() != b"not a pickle"
