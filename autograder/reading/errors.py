"""Why a reading stopped before it reached a verdict.

Each is a BaseException, so that no `try`/`except` of the code being read can catch it, and
carries a message for the student and, where known, the place in the submission.
"""


class ReadingStopped(BaseException):
    """The reading could not go on; `message` says why, `where` is "engine.py, line 12" or ""."""

    def __init__(self, message, where=""):
        super().__init__(message)
        self.message, self.where = message, where


class Unreadable(ReadingStopped):
    """Code the reading does not follow. For honest code that is a gap in the grader, so the
    message asks for review rather than blaming the student."""


class Tampering(ReadingStopped):
    """A construct that no honest submission needs (frames, code from strings, the interpreter's
    internals, rebinding what the reading resolved)."""


class OverBudget(ReadingStopped):
    """The reading used up its budget of steps, depth, time or expression size."""
