"""What grading produces: plain values that every report (table, JSON, Gradescope) reads."""
from dataclasses import dataclass, field

PASSED, FAILED, ERROR = "passed", "failed", "error"  # ERROR: the grader itself failed (fails closed)


@dataclass(frozen=True)
class CheckResult:
    """One check of the hidden suite."""
    part: str
    name: str
    outcome: str
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class PartResult:
    id: str
    title: str
    max_points: float
    checks: tuple

    @property
    def passed(self):
        return bool(self.checks) and all(c.outcome == PASSED for c in self.checks)

    @property
    def points(self):
        return self.max_points if self.passed else 0.0

    @property
    def feedback(self):
        """The distinct messages of the failed checks, in order."""
        seen = []
        for check in self.checks:
            if check.outcome != PASSED and check.message not in seen:
                seen.append(check.message)
        return seen


@dataclass(frozen=True)
class GradeResult:
    submission: str
    parts: tuple
    isolation: str
    seconds: float
    problem: str = ""  # why the submission could not be graded at all, if it could not
    warnings: tuple = field(default=())

    @property
    def score(self):
        return sum(part.points for part in self.parts)

    @property
    def max_score(self):
        return sum(part.max_points for part in self.parts)

    @property
    def internal_errors(self):
        return [c for part in self.parts for c in part.checks if c.outcome == ERROR]
