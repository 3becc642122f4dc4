"""Every reply is the student's word: whatever a worker answers, the checks judge it as the
student's failure (or pass it on its merits), and never fail as the grader's own error.

The hidden suite's checks run here on replies that hypothesis makes up: any JSON at all, and
replies of the right shape with wrong, odd or missing parts.
"""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.grading.feedback import verdict
from autograder.grading.results import ERROR
from autograder.grading.session import casebook, run_rehearsed
from autograder.sandbox.student import StudentCode

JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=5) | st.sampled_from(["w", "b", "value", "invalid"]),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                    max_leaves=12)
NUMBERS = st.lists(st.floats(-10, 10) | st.dictionaries(st.just("invalid"), st.text(max_size=5)), max_size=6)
SHAPED = {
    "op": st.fixed_dictionaries({"out": st.floats(-5, 5), "leaf_grads": NUMBERS, "changed": st.booleans()}),
    "backward": st.fixed_dictionaries({"calls": st.lists(st.integers(-1, 60), max_size=70), "grads": NUMBERS}),
    "graph": st.fixed_dictionaries({"data": NUMBERS, "grads": NUMBERS, "steps": st.lists(st.fixed_dictionaries({
        "node": st.integers(-1, 9), "out_grad": st.floats(-5, 5), "before": NUMBERS, "after": NUMBERS,
        "error": st.none() | JSON}), max_size=5)}),
    "parameters": st.fixed_dictionaries({
        "walk": st.lists(st.tuples(st.integers(-1, 3), st.integers(-1, 4), st.sampled_from(["w", "b", "x"]))
                         .map(list), max_size=45),
        "used": st.none() | st.lists(st.booleans(), max_size=45),
        "returned": st.fixed_dictionaries({"type": st.text(max_size=5), "length": JSON, "items": st.lists(
            st.dictionaries(st.sampled_from(["value", "nested", "other", "length"]), JSON, max_size=2), max_size=45)})}),
    "train": st.fixed_dictionaries({"losses": NUMBERS}),
}


class MadeUp:
    """A transport whose every reply hypothesis draws."""

    loaded = {"value_attributes": ["__add__", "data"], "engine_names": [], "nn_loaded": True, "nn_error": None}

    def __init__(self, data, shaped):
        self.data, self.shaped, self.failure = data, shaped, None

    def call(self, operation, args):
        strategy = SHAPED[operation] if self.shaped else JSON
        return self.data.draw(strategy if self.shaped else st.dictionaries(st.sampled_from(
            ["out", "leaf_grads", "calls", "grads", "data", "steps", "walk", "used", "returned", "losses"]), strategy))


def each_check():
    book = casebook()
    return [pytest.param(r, id=r.check.nodeid) for part in ("add", "tanh", "backward", "parameters", "convergence")
            for r in book.part(part)]


@pytest.mark.parametrize("rehearsed", each_check())
@pytest.mark.parametrize("shaped", [False, True], ids=["any JSON", "the right shape"])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_no_reply_makes_the_grader_fail(rehearsed, shaped, data):
    student = StudentCode(MadeUp(data, shaped))
    error = run_rehearsed(rehearsed if not rehearsed.check.generated else
                          type(rehearsed)(rehearsed.check, rehearsed.requests, rehearsed.examples[:1]), student)
    found = verdict(error, MadeUp.loaded, 10)
    assert found.outcome != ERROR, found.message
