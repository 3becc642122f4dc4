"""The exercise's definition (autograder/exercise.py): each row agrees with sympy and the reference,
its formulas mean what they say, a malformed row is refused by name, and what derives from it
(the requests, the code and drawings in feedback) follows the row, not a list of its own."""
import math
from dataclasses import replace

import pytest
import sympy

import micrograd_reference as reference
from autograder import exercise
from autograder.exercise import ExerciseError, Inputs, Op
from autograder.hidden import graphs, scenarios
from autograder.worker import lesson, probes
from formulas import OPERANDS, symbolic

ROWS = [pytest.param(row, id=row.part) for row in exercise.OPS]


def fixed_cases(row):
    """(operands, exponent) of the row's two fixed checks."""
    exponents = row.fixed_exponents or (None, None)
    return [(row.single_node, exponents[0]), (row.accumulating, exponents[1])]


def reference_node(row, operands, k):
    """(out.data, local derivatives) of the reference engine's node for the op."""
    leaves = [reference.Value(x) for x in operands]
    out = scenarios.build(row.part, leaves, k)
    out.grad = 1.0
    out._backward()
    return out.data, [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("row", ROWS)
def test_each_derivative_is_sympys_derivative_of_the_forward_formula(row):
    forward = symbolic(row.forward)
    for formula, operand in zip(row.derivative, OPERANDS[row.kind]):
        assert sympy.simplify(symbolic(formula) - sympy.diff(forward, operand)) == 0, (row.part, formula)


@pytest.mark.parametrize("row", ROWS)
def test_each_known_mistake_is_wrong(row):
    """A mistake that equals the right derivative would name a mistake in right code."""
    for formulas, hint in row.mistakes:
        assert any(sympy.simplify(symbolic(wrong) - symbolic(right)) != 0
                   for wrong, right in zip(formulas, row.derivative)), hint


@pytest.mark.parametrize("row", ROWS)
def test_each_row_agrees_with_the_reference_engine_on_its_fixed_cases(row):
    for operands, k in fixed_cases(row):
        data, grads = reference_node(row, operands, k)
        x, y = (*operands, None)[:2]
        assert math.isclose(exercise.numeric(row.forward)(x, y, k), data, rel_tol=1e-12)
        expected = row.local_derivatives(x, y, k)
        assert all(math.isclose(g, e, rel_tol=1e-12, abs_tol=1e-15) for g, e in zip(grads, expected)), (row.part, k)


@pytest.mark.parametrize("row", ROWS)
def test_each_rows_fixed_inputs_lie_in_its_domains(row):
    for operands, k in fixed_cases(row):
        assert all(row.inputs.for_exponent(k).holds(x) for x in operands), row.part
        assert row.graph_inputs.for_exponent(k).holds(operands[0]), row.part


def test_in_training_says_which_ops_the_lessons_training_runs(monkeypatch):
    calls = {}
    for row in exercise.OPS:
        method = getattr(reference.Value, row.method)

        def counted(*args, _method=method, _part=row.part, **kwargs):
            calls[_part] = calls.get(_part, 0) + 1
            return _method(*args, **kwargs)
        monkeypatch.setattr(reference.Value, row.method, counted)
    lesson.train(reference.MLP(lesson.NIN, lesson.NOUTS), steps=1)
    assert set(calls) == {row.part for row in exercise.OPS if row.in_training}


def test_the_parts_are_the_ops_then_the_others_and_unique():
    assert exercise.PART_IDS == (*(row.part for row in exercise.OPS), "backward", "parameters", "convergence")
    assert len(set(exercise.PART_IDS)) == len(exercise.PART_IDS)
    assert len({row.method for row in exercise.OPS}) == len(exercise.OPS)


def test_formulas_are_python_functions_over_floats():
    assert exercise.numeric("1")(0.3) == 1.0 and type(exercise.numeric("1")(0.3)) is float
    assert exercise.numeric("step(x)")(2.0) == 1.0 and exercise.numeric("step(x)")(-2.0) == 0.0
    assert exercise.numeric("relu(x) + relu(y)")(-1.0, 2.5) == 2.5
    assert exercise.numeric("k * x**(k - 1)")(2.0, k=3) == 12.0
    assert exercise.numeric("sqrt(x) * log(x) / exp(x) - tanh(x)")(1.0) == -math.tanh(1.0)


@pytest.mark.parametrize("formula, message", [
    ("z + 1", "'z' is not one of x"),
    ("x +", "is not an expression"),
    ("__import__('os')", "calls one of tanh"),
    ("x.real", "Attribute is not formula vocabulary"),
    ("'x'", "is not a number"),
    ("max(x, 0)", "calls one of tanh"),
    ("[x][0]", "not formula vocabulary"),
])
def test_a_formula_outside_the_vocabulary_is_refused_by_row(formula, message):
    with pytest.raises(ExerciseError, match=r"exercise op 'tanh': formula .*" + message.replace("(", r"\(")):
        replace(exercise.op("tanh"), derivative=(formula,))


@pytest.mark.parametrize("changes, message", [
    (dict(kind="ternary"), "kind 'ternary' is not one of binary, unary, power"),
    (dict(derivative=("1", "1")), "a unary op has 1 operand"),
    (dict(single_node=(0.5, 0.5)), "a unary op has 1 operand"),
    (dict(exponents=(2,)), "a power \\(and only a power\\) has exponents"),
    (dict(forward="x * y"), r"formula 'x \* y': 'y' is not one of x"),
    (dict(mistakes=((("0",), ""),)), "each mistake is"),
    (dict(method="not a name"), "part and method must be identifiers"),
])
def test_a_malformed_row_is_refused_with_its_name(changes, message):
    with pytest.raises(ExerciseError, match=f"exercise op 'tanh': {message}"):
        replace(exercise.op("tanh"), **changes)


def test_two_rows_may_not_share_a_part_or_a_method():
    with pytest.raises(ExerciseError, match="part tanh is taken"):
        exercise.check_table([*exercise.OPS, replace(exercise.op("tanh"), method="tanh2")])
    with pytest.raises(ExerciseError, match="method tanh is taken"):
        exercise.check_table([*exercise.OPS, replace(exercise.op("tanh"), part="tanh2")])


SIGMOID = Op("sigmoid", "sigmoid", "unary", forward="1 / (1 + exp(-x))",
             derivative=("exp(-x) / (1 + exp(-x))**2",), symbol="σ", in_training=False,
             single_node=(0.7,), accumulating=(-0.4,), inputs=Inputs(0.0, 5.0))


def test_a_drawing_symbol_does_not_make_an_op_binary():
    """The kind says how an op is built and shown in code; the symbol only labels its node."""
    assert SIGMOID.expression("a") == "a.sigmoid()" and SIGMOID.label() == "σ"
    assert exercise.op("add").expression("a", "2.5") == "a + 2.5" and exercise.op("pow").expression("a", k=-2) == \
        "a ** -2"
    assert exercise.op("pow").label(0.5) == "**0.5"
    maximum = replace(exercise.op("mul"), part="max", method="max", symbol="max")
    assert maximum.expression("a", "b") == "a.max(b)"


def test_scenarios_and_graphs_show_an_op_as_its_row_says(monkeypatch):
    monkeypatch.setitem(exercise.BY_PART, "tanh", replace(exercise.op("tanh"), symbol="th"))
    scenario = scenarios.single_node("tanh")
    assert "out = a.tanh()" in scenario.code()
    assert scenarios.evidence(scenario, [0.0], "t")["nodes"][-1]["op"] == "th"
    program = graphs.Program((("leaf", 0.5), ("tanh", 0)), 2.0, "tanh")
    assert program.line(1) == "b = a.tanh()" and program.symbol(1) == "th"


@pytest.mark.parametrize("row", ROWS)
def test_the_worker_builds_each_op_from_the_method_and_kind_the_request_carries(row):
    """The worker keeps no list of ops: the request's method and kind are all it needs."""
    found = probes.Probes(reference.Value)
    for operands, k in fixed_cases(row):
        built = found.apply_op(row.method, row.kind, [reference.Value(x) for x in operands], k)
        assert built.data == reference_node(row, operands, k)[0]
    request = scenarios.single_node(row.part).request()
    assert (request["op"], request["method"], request["kind"]) == (row.part, row.method, row.kind)


def test_a_binary_operator_falls_back_to_the_reflected_method_as_python_does():
    class Plain:
        def __init__(self, data, _children=()):
            self.data = data

        def __add__(self, other):
            return NotImplemented

    class Other:
        def __radd__(self, other):
            return "reflected"

    assert probes.Probes(Plain).apply_op("__add__", "binary", [Plain(1.0), Other()]) == "reflected"


def test_a_request_of_an_unknown_kind_is_a_bad_request():
    with pytest.raises(probes.Failure) as failure:
        probes.Probes(reference.Value).apply_op("tanh", "ternary", [reference.Value(1.0)])
    assert failure.value.kind == "bad_request"
