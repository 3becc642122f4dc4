"""What a check's exception means for the student: a verdict and the words that explain it.

Only failures of the student's code become feedback (a CheckFailed from a check, a
WorkerFailure from the worker); any other exception is the grader's own fault and fails
closed as an internal error.
"""
import difflib
import re
import sys
from dataclasses import dataclass

from autograder import exercise
from autograder.grading.results import ERROR, FAILED, PASSED
from autograder.hidden.checks import CheckFailed
from autograder.sandbox.client import WorkerFailure
from autograder.text import printable

# Names every class or instance has, or that Python, dataclasses, typing or abc add to one: a
# did-you-mean must never propose one of them.
COMMON_NAMES = frozenset(dir(type)) | frozenset(dir(object)) | {
    "__dict__", "__weakref__", "__module__", "__slots__", "__doc__", "__init_subclass__", "__class_getitem__",
    "__annotations__", "__annotate__", "__firstlineno__", "__static_attributes__", "__type_params__",
    "__orig_bases__", "__parameters__", "__abstractmethods__", "_abc_impl", "__dataclass_fields__",
    "__dataclass_params__", "__match_args__", "__getstate__", "__hash__", "__eq__", "__weakrefoffset__"}
# Names of the exercise's own Value: each is a method or attribute in its own right (`__rpow__` is
# not a misspelt `__pow__`), so none is proposed for another. The ops' methods come from the exercise.
EXERCISE_NAMES = frozenset({
    "data", "grad", "label", "_prev", "_op", "_backward", "backward", "__radd__", "__rmul__",
    "__rpow__", "__neg__", "__sub__", "__rsub__", "__truediv__", "__rtruediv__",
    "__repr__", "__init__", "__iadd__", "__imul__", "__isub__", "__itruediv__", "__lt__", "__gt__", "__le__",
    "__ge__", "__float__", "__abs__"}) | {op.method for op in exercise.OPS}


SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")


# Names of the given nn classes' API, none a misspelling of another
NN_NAMES = frozenset({"parameters", "zero_grad", "layers", "neurons", "w", "b", "nonlin", "__call__", "__init__",
                      "__repr__"})


@dataclass(frozen=True)
class Verdict:
    outcome: str
    message: str = ""
    misconceptions: tuple = ()
    evidence: tuple = ()


def verdict(error, loaded, part_seconds):
    """The Verdict for a check that raised `error` (None: it passed)."""
    if error is None:
        return Verdict(PASSED)
    if isinstance(error, CheckFailed):
        return Verdict(FAILED, str(error), tuple(error.misconceptions), tuple(error.evidence))
    if isinstance(error, WorkerFailure):
        return Verdict(FAILED, explain(error, loaded, part_seconds))
    flaky = flaky_cause(error)
    if flaky is not None:
        cause = verdict(flaky, loaded, part_seconds) if flaky is not error else Verdict(ERROR)
        return Verdict(FAILED, "the same input gave different results on different runs (does your code keep state "
                               "between calls?)" + (f": {cause.message}" if cause.outcome == FAILED else ""))
    return Verdict(ERROR, f"internal grader error ({type(error).__name__}: {error}); this is not your fault, "
                          "tell your instructor")


def explain(failure, loaded, part_seconds):
    """The student's message for a worker failure."""
    where = f" ({failure.where})" if failure.where else ""
    if failure.kind == "not_implemented":
        return f"not implemented yet{where}"
    if failure.kind == "missing":
        return failure.message + did_you_mean(failure.message, loaded) + where
    if failure.kind == "load":
        at_top = failure.where.endswith("in <module>") or failure.type_name in SYNTAX_ERRORS
        file = failure.where.partition(",")[0] if at_top and failure.where else "the submission"
        where = "" if failure.message.startswith(failure.where) else where  # a syntax error names its line already
        return f"{file} could not be imported: {failure.message}{where}{unavailable_module(failure)}"
    if failure.kind == "student":
        kind = f"{failure.type_name}: " if failure.type_name else ""
        return (f"your code raised {kind}{failure.message}{where}{operator_hint(failure.message, failure.where)}"
                f"{misspelt_hint(failure.message, loaded)}")
    if failure.kind == "timeout":
        return f"{failure.message}: this part's {part_seconds:g} s ran out (an endless loop?)"
    if failure.kind == "bad_output":
        return failure.message + where + operator_hint(failure.message) + misspelt_hint(failure.message, loaded)
    return failure.message + where


def unavailable_module(failure):
    """For `import numpy` (or any module outside the standard library and the submission): why."""
    match = re.fullmatch(r"No module named '([\w.]+)'", failure.message)
    if failure.type_name not in ("ModuleNotFoundError", "ImportError") or not match:
        return ""
    name = match.group(1).partition(".")[0]
    if name in sys.stdlib_module_names:
        return ""
    return (f": grading runs with Python's standard library and the submission's own files only, and {name} is "
            "neither; remove the import (`math` and plain floats do all the exercise needs)")


def did_you_mean(message, loaded):
    """" (found `pow`)" when Value has the wanted method under another spelling: the same name but
    for underscores and case (`pow`, `_pow_`, `ReLU`, `tan_h`), or a near one (`power`, `__mult__`)."""
    if not loaded or not message.startswith("Value has no method "):
        return ""
    wanted = message.rsplit(" ", 1)[-1]
    found = near_miss(wanted, names_in(loaded, "value_attributes"))
    if not found:
        return ""
    hint = f" (found `{found}`"
    if wanted.startswith("__") and not found.startswith("__"):
        hint += f": Python's operators call the dunder method `{wanted}`"
    return hint + ")"


def near_miss(wanted, names, known=EXERCISE_NAMES):
    """The name among `names` that looks like `wanted` misspelt, printable; None if none does.
    Names of the exercise's own API (`known`) are never proposed: each is meant as it is."""
    pool = [n for n in names if isinstance(n, str) and n not in COMMON_NAMES and n not in known and core(n)]
    cores = list(dict.fromkeys(map(core, pool)))
    near = [core(wanted)] if core(wanted) in cores else difflib.get_close_matches(core(wanted), cores, n=1, cutoff=0.75)
    spellings = [n for n in pool if near and core(n) == near[0]]  # `backwards` and `_backwards`: the closer one
    return printable(max(spellings, key=lambda n: difflib.SequenceMatcher(None, wanted, n).ratio())) if spellings \
        else None


def names_in(loaded, *keys):
    """The names the submission's load reply lists under `keys` (the student's word: feedback only)."""
    lists = [loaded.get(key) for key in keys] if isinstance(loaded, dict) else []
    return [name for names in lists if isinstance(names, list) for name in names]


MISSING_ATTRIBUTE = re.compile(r"'(Value|MLP|Layer|Neuron)' object has no attribute '(\w+)'")
NO_INIT = re.compile(r"Value\(\) takes no arguments|object\.__init__\(\) takes exactly one argument")


def misspelt_hint(message, loaded):
    """" (found `backwards`)" for an attribute that a Value (or an MLP, Layer, Neuron) lacks but has
    under a near name; for a Value that takes no arguments, a near-miss of `__init__`."""
    if NO_INIT.search(message):
        found = near_miss("__init__", names_in(loaded, "value_attributes"))
        return f" (found `{found}`: Python runs a method named `__init__` to make a Value)" if found else ""
    match = MISSING_ATTRIBUTE.search(message)
    if not match:
        return ""
    owner, wanted = match.groups()
    if owner == "Value":
        found = near_miss(wanted, names_in(loaded, "value_attributes", "instance_attributes"))
    else:
        found = near_miss(wanted, names_in(loaded, f"{owner.lower()}_attributes"), NN_NAMES)
    return f" (found `{found}`)" if found else ""


def core(name):
    """A method name without underscores and case: `__pow__`, `_pow` and `POW` are all `pow`."""
    return name.replace("_", "").lower()


OPERATORS = {"+": "__add__", "-": "__sub__", "*": "__mul__", "/": "__truediv__", "** or pow()": "__pow__"}
REFLECTED = {"+": "__radd__", "-": "__rsub__", "*": "__rmul__", "/": "__rtruediv__", "** or pow()": "__rpow__"}


# Functions where Python's numbers are worked out from the data: a Value there is out of place
NUMBER_CODE = ("in _backward", "in __pow__")


def operator_hint(message, where=""):
    """For `value ** 2` or `2 + value` failing: the Value method Python looked for, which may be
    missing. Except for a number raised to a Value's power in an op's `_backward` or in `__pow__`:
    the exercise's exponent is a number there, and no `__rpow__` would make that right."""
    match = re.search(r"unsupported operand type\(s\) for (.+?): '(int|float|Value)' and '(int|float|Value)'", message)
    if not match or match.group(1) not in OPERATORS or "Value" not in match.group(2, 3):
        return ""
    left, right = ("value" if name == "Value" else "number" for name in match.group(2, 3))
    method = (OPERATORS if left == "value" else REFLECTED)[match.group(1)]
    if method == "__rpow__" and where.endswith(NUMBER_CODE):
        return (". There a number is raised to the power of a Value: the exponent must stay the plain number that "
                "`__pow__` was given (the given code asserts `isinstance(other, (int, float))`), not a Value made "
                "from it")
    why = " (sum() starts from 0, so it needs __radd__)" if method == "__radd__" else ""
    return (f". For `{left} {match.group(1).split()[0]} {right}` Python calls Value.{method}{why}: is {method} "
            "missing from engine.py?")


def flaky_cause(error):
    """The failure inside hypothesis's Flaky error, or None if `error` is not one."""
    from hypothesis.errors import Flaky
    if not isinstance(error, Flaky):
        return None
    inner = getattr(error, "exceptions", None)
    return inner[0] if inner else error
