"""What grading produces: plain values that every report (table, JSON, Gradescope, HTML,
nbgrader) reads. Nothing here decides a score; `to_dict`/`from_dict` carry a result across
processes (grade-all, a Dask cluster) and into files, as JSON-ready data.

Evidence is plain data attached to a failed check, for reports that draw it:

    {"kind": "graph", "title": TEXT, "root": NAME,
     "nodes": [{"name": NAME, "op": "" (a leaf) | an op's label (autograder/exercise.py: "+", "**2", "tanh") | "f",
                "data": NUMBER, "inputs": [NAME, ...],
                "expected_grad": NUMBER, "got_grad": NUMBER | TEXT | null}]}
        the smallest failing case as a computation graph; a node whose got_grad differs from
        expected_grad is one the student's code got wrong
    {"kind": "losses", "expected": [NUMBER, ...], "got": [NUMBER | null, ...]}
        the loss before each training step, the reference's and the student's
"""
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
    misconceptions: tuple = ()  # the recognised mistakes ("likely: ...") this failure was explained by
    evidence: tuple = ()  # plain-data pictures of the failure (see the module docstring)


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
    def status(self):
        """"passed", "failed", or "grader error" when a check failed inside the grader."""
        if self.passed:
            return "passed"
        return "grader error" if any(c.outcome == ERROR for c in self.checks) else "failed"

    @property
    def feedback(self):
        """The distinct messages of the failed checks, in order."""
        seen = []
        for check in self.checks:
            if check.outcome != PASSED and check.message not in seen:
                seen.append(check.message)
        return seen

    @property
    def misconceptions(self):
        return list(dict.fromkeys(m for c in self.checks if c.outcome != PASSED for m in c.misconceptions))

    @property
    def evidence(self):
        return [e for c in self.checks if c.outcome != PASSED for e in c.evidence]


def uniform_parts(rubric_parts, outcome, message):
    """Parts that all have the same single check outcome: a submission that could not be graded."""
    return tuple(PartResult(p.id, p.title, p.points, (CheckResult(p.id, "submission", outcome, message),))
                 for p in rubric_parts)


@dataclass(frozen=True)
class GradeResult:
    submission: str
    parts: tuple
    isolation: str
    seconds: float
    problem: str = ""  # why the submission could not be graded at all, if it could not
    warnings: tuple = field(default=())
    review: tuple = field(default=())  # why an instructor should look at it (tampering, code the grader could not read)

    @property
    def score(self):
        return sum(part.points for part in self.parts)

    @property
    def max_score(self):
        return sum(part.max_points for part in self.parts)

    @property
    def internal_errors(self):
        return [c for part in self.parts for c in part.checks if c.outcome == ERROR]

    def to_dict(self):
        """JSON-ready data; `GradeResult.from_dict` rebuilds an equal result."""
        return {"submission": self.submission, "isolation": self.isolation, "seconds": self.seconds,
                "problem": self.problem, "warnings": list(self.warnings), "review": list(self.review),
                "parts": [{"id": p.id, "title": p.title, "max_points": p.max_points,
                           "checks": [_check_dict(c) for c in p.checks]} for p in self.parts]}

    @classmethod
    def from_dict(cls, data):
        parts = tuple(PartResult(p["id"], p["title"], float(p["max_points"]),
                                 tuple(_check_from(c) for c in p["checks"])) for p in data["parts"])
        return cls(data["submission"], parts, data["isolation"], float(data["seconds"]), data.get("problem", ""),
                   tuple(data.get("warnings", ())), tuple(data.get("review", ())))


def _check_dict(check):
    return {"part": check.part, "name": check.name, "outcome": check.outcome, "message": check.message,
            "seconds": check.seconds, "misconceptions": list(check.misconceptions), "evidence": list(check.evidence)}


def _check_from(data):
    return CheckResult(data["part"], data["name"], data["outcome"], data.get("message", ""),
                       float(data.get("seconds", 0.0)), tuple(data.get("misconceptions", ())),
                       tuple(data.get("evidence", ())))
