"""What every hidden check shares: settings, the tolerance rule and the failure that carries feedback."""
import math

import pytest
from hypothesis import HealthCheck, Phase, settings

# Derandomized, no example database, no wall-clock deadline: the same submission gets the
# same examples, and so the same score, on every run. Applied to each test by decorator, so
# grading never changes hypothesis's global profile.
GRADING = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=30,
    print_blob=False,
    report_multiple_bugs=False,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
)

# Analytic derivatives agree with the reference to about 1e-15; central finite differences
# are off by about 1e-10, so they fail.
RTOL = 1e-12
ATOL = 1e-15


class CheckFailed(AssertionError):
    """A check saw wrong results; the message is the student's feedback, `misconceptions` the
    recognised mistakes it names, `evidence` plain data for reports that draw the failure
    (the forms are listed in autograder/grading/results.py)."""

    def __init__(self, message, misconceptions=(), evidence=()):
        super().__init__(message)
        self.misconceptions, self.evidence = tuple(misconceptions), tuple(evidence)


def close(got, expected, scale=0.0):
    """True only for a finite float within tolerance; `scale` widens it for sums of larger terms."""
    if type(got) is not float or not math.isfinite(got):
        return False
    return abs(got - expected) <= RTOL * max(abs(expected), abs(got), scale) + ATOL


def show(x):
    """A number as feedback shows it."""
    return repr(x) if type(x) is not float else f"{x:.12g}"


def show_pair(expected, got):
    """Both numbers with just enough digits to tell them apart (12 to 17)."""
    if type(got) is not float:
        return show(expected), show(got)
    for digits in range(12, 18):
        pair = f"{expected:.{digits}g}", f"{got:.{digits}g}"
        if pair[0] != pair[1]:
            return pair
    return pair


def expected_got(what, expected, got):
    e, g = show_pair(expected, got)
    return f"expected {what}{e}, got {g}"


def fail(*lines, misconceptions=(), evidence=()):
    raise CheckFailed("\n".join(line for line in lines if line), misconceptions, evidence)


def per_part(part_ids):
    """Parametrize a check over parts (one per op), each case marked with its part."""
    return [pytest.param(part, id=part, marks=pytest.mark.part(part)) for part in part_ids]
