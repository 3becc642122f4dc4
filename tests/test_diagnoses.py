"""Diagnoses are named only on evidence: each rule on the evidence that should and should not fire it.

End to end, on whole submissions, the corpus (tests/test_variants.py) pins the exact feedback;
here each rule is taken alone: the reading of a `_backward` that changed nothing (what the
worker's `anatomy` probe reports), the did-you-mean of a missing method, the message for a
module outside the standard library, and the naming of a network that differs from the lecture's.
"""
import abc
import dataclasses
import random
import sys
import typing

import pytest

import micrograd_reference as reference
from autograder import exercise
from autograder.grading.feedback import COMMON_NAMES, did_you_mean, explain, misspelt_hint, operator_hint, \
    unavailable_module
from autograder.hidden import graphs, networks, scenarios, test_backward, test_parameters
from autograder.sandbox.client import Invalid, StudentError, WorkerDied
from autograder.sandbox.student import Anatomy, ReferenceTransport, StudentCode
from autograder.worker import lesson, probes

TANH = scenarios.single_node("tanh")
ADD = scenarios.single_node("add")
INIT_LAMBDA = "Value.__init__.<locals>.<lambda>"


def anatomy(**changes):
    """The anatomy of a node made as the exercise asks, with `changes`."""
    fields = dict(default_origin=INIT_LAMBDA, attached_is_default=False, other_functions=[], inputs_rehooked=[False],
                  hook_inside=False, out_op="tanh", direct_inputs=[True], returned=None, written=[[]])
    return Anatomy(**{**fields, **changes})


# ---------------------------------------------------------------- a _backward that changed nothing

@pytest.mark.parametrize("changes, misconception, words", [
    (dict(written=[["gard"]]), scenarios.WRITES_ELSEWHERE, "wrote `a.gard`"),
    (dict(returned=-0.95), scenarios.RETURNS, "returned a number"),
    (dict(returned=Invalid("a tuple, not a float")), scenarios.RETURNS, "returned a tuple, not a float"),
    (dict(attached_is_default=True, hook_inside=True), scenarios.INDENTED, "indented into the inner function"),
    (dict(attached_is_default=True, inputs_rehooked=[True]), scenarios.HOOKED_TO_INPUT, "replaced the input's"),
    (dict(attached_is_default=True, other_functions=["backward"]), scenarios.HOOKED_ELSEWHERE,
     "attached as `out.backward`"),
    (dict(attached_is_default=True), scenarios.NEVER_HOOKED, "nothing attaches your _backward"),
    (dict(direct_inputs=[False], out_op="*"), scenarios.COMPOSED, "built from other operations (a `*` node)"),
])
def test_each_cause_is_named_from_what_the_node_shows(changes, misconception, words):
    line, named = scenarios.unchanged_cause(TANH, anatomy(**changes))
    assert named == misconception and words in line


def test_writing_the_graph_itself_is_not_a_gradient_written_elsewhere():
    assert scenarios.unchanged_cause(TANH, anatomy(written=[["_backward", "_prev"]])) is None


def test_a_node_made_as_asked_names_no_cause():
    """Then only the numbers can say more (a relu slope the wrong way round, or nothing)."""
    assert scenarios.unchanged_cause(TANH, anatomy()) is None


def test_never_attached_needs_the_default_to_come_from_init():
    """An engine whose every node shares one generic _backward method (like the reference) is
    not one whose op forgot to attach its own."""
    shared = anatomy(attached_is_default=True, hook_inside=True, default_origin="Value._pass_grad_to_inputs")
    assert scenarios.unchanged_cause(TANH, shared) is None


def test_the_first_written_attribute_is_named_with_its_input():
    line, _ = scenarios.unchanged_cause(ADD, anatomy(written=[[], ["gradient"]], inputs_rehooked=[False, False],
                                                     direct_inputs=[True, True]))
    assert "wrote `b.gradient`" in line


def test_one_case_that_changed_nothing_names_no_formula():
    """At a positive input, a relu slope the wrong way round and a _backward that does nothing
    give the same answer; only another case tells them apart."""
    single, accumulating = scenarios.single_node("relu"), scenarios.accumulating("relu")
    assert scenarios.diagnose(single, single.leaf_grads) is None
    reversed_slope = [(single, single.leaf_grads), (accumulating, (0.25 + 2.5,))]
    assert "other way round" in scenarios.diagnose(single, single.leaf_grads, reversed_slope)
    does_nothing = [(single, single.leaf_grads), (accumulating, accumulating.leaf_grads)]
    assert scenarios.diagnose(single, single.leaf_grads, does_nothing) is None


class Replies:
    """A transport that answers every call with one fixed reply (the worker's word, checked by StudentCode)."""

    def __init__(self, reply):
        self.reply, self.loaded = reply, {}

    def call(self, operation, args):
        return self.reply


GOOD_REPLY = {"default_origin": INIT_LAMBDA, "attached_is_default": True, "other_functions": [],
              "inputs_rehooked": [False], "hook_inside": True, "out_op": "tanh", "direct_inputs": [True],
              "returned": None, "written": [[]]}


def test_an_anatomy_reply_is_decoded():
    got = StudentCode(Replies(GOOD_REPLY)).anatomy(**TANH.request())
    assert got == anatomy(attached_is_default=True, hook_inside=True)


@pytest.mark.parametrize("field, value", [
    ("inputs_rehooked", [False, True]), ("inputs_rehooked", ["yes"]), ("direct_inputs", [1]),
    ("written", [["grad"], []]), ("written", [[3]]), ("other_functions", "backward"),
    ("other_functions", ["x"] * 11),
])
def test_a_malformed_anatomy_reply_is_the_students_fault(field, value):
    with pytest.raises(WorkerDied, match="malformed reply"):
        StudentCode(Replies({**GOOD_REPLY, field: value})).anatomy(**TANH.request())


def test_the_reference_node_is_made_as_asked():
    """The probe itself, run on the reference engine in this process."""
    student = StudentCode(ReferenceTransport(probes.Probes(reference.Value)))
    for scenario in (TANH, ADD, scenarios.reused("mul"), scenarios.with_constant("add")):
        assert scenarios.unchanged_cause(scenario, student.anatomy(**scenario.request())) is None


# ---------------------------------------------------------------- did you mean

@dataclasses.dataclass
class Crowded(typing.Generic[typing.TypeVar("T")], abc.ABC):
    """A class with every attribute Python, dataclasses, typing and abc add, and the exercise's names."""
    data: float = 0.0
    grad: float = 0.0

    def __radd__(self, other):
        return self

    def __rpow__(self, other):
        return self

    def __rmul__(self, other):
        return self

    def backward(self):
        pass

    def _backward(self):
        pass


@pytest.mark.parametrize("wanted", [*(op.method for op in exercise.OPS), "backward"])
def test_did_you_mean_never_proposes_what_every_class_has(wanted):
    loaded = {"value_attributes": probes.public_names(Crowded) + sorted(COMMON_NAMES)}
    assert did_you_mean(f"Value has no method {wanted}", loaded) == ""


@pytest.mark.parametrize("wanted, name, hint", [
    ("__pow__", "pow", " (found `pow`: Python's operators call the dunder method `__pow__`)"),
    ("__pow__", "power", " (found `power`: Python's operators call the dunder method `__pow__`)"),
    ("__mul__", "__mult__", " (found `__mult__`)"),
    ("tanh", "Tanh", " (found `Tanh`)"),
    ("tanh", "tan_h", " (found `tan_h`)"),
    ("relu", "ReLU", " (found `ReLU`)"),
    ("exp", "exponential", ""),
])
def test_did_you_mean_finds_the_method_under_another_spelling(wanted, name, hint):
    loaded = {"value_attributes": probes.public_names(Crowded) + [name]}
    assert did_you_mean(f"Value has no method {wanted}", loaded) == hint


# ---------------------------------------------------------------- imports outside the standard library

@pytest.mark.parametrize("message, type_name, said", [
    ("No module named 'numpy'", "ModuleNotFoundError", True),
    ("No module named 'matplotlib.pyplot'", "ModuleNotFoundError", True),
    ("No module named 'helpers'", "ModuleNotFoundError", True),  # the student's own file, not handed in
    ("No module named 'json'", "ModuleNotFoundError", False),  # the standard library: something else is wrong
    ("No module named 'numpy'", "SyntaxError", False),
])
def test_a_module_outside_the_standard_library_is_explained(message, type_name, said):
    text = unavailable_module(StudentError("load", message, "engine.py, line 2, in <module>", type_name))
    assert ("standard library and the submission's own files only" in text) is said
    assert not said or message.split("'")[1].partition(".")[0] + " is neither" in text


# ---------------------------------------------------------------- a network that is not the lecture's

@pytest.fixture(scope="module")
def weights():
    """The weights the convergence check starts from (test_convergence.reference_run, seed 2024),
    in the order the grader walks them."""
    state = random.getstate()
    random.seed(2024)
    model = reference.MLP(lesson.NIN, lesson.NOUTS)
    random.setstate(state)
    return [p.data for layer in model.layers for neuron in layer.neurons for p in (*neuron.w, neuron.b)]


@pytest.fixture(scope="module")
def other_weights():
    generator = random.Random(7)
    return [generator.uniform(-1, 1) for _ in range(41)]


def outputs_of(weights, variant, xs=networks.PROBE_XS):
    return networks.variants(weights, lesson.NIN, lesson.NOUTS, xs)[variant]


def first_step(weights, got, xs=networks.PROBE_XS):
    return networks.first_step(got, weights, lesson.NIN, lesson.NOUTS, xs)


@pytest.mark.parametrize("variant, words", [
    (("ReLU", "no nonlinearity", 1), "ReLU instead of tanh in the hidden layers and no nonlinearity instead of tanh "
                                     "in the last layer"),
    (("tanh", "no nonlinearity", 1), "with no nonlinearity instead of tanh in the last layer, where"),
    (("tanh", "tanh", 0), "with no bias, where"),
    (("tanh", "tanh", 2), "with the bias added twice, where"),
    (("a sigmoid", "a sigmoid", 1), "with a sigmoid instead of tanh in every layer, where"),
])
def test_a_network_that_differs_is_named(weights, variant, words):
    assert words in first_step(weights, outputs_of(weights, variant))


def test_outputs_no_variant_explains_name_nothing(weights):
    got = [x + 1e-3 for x in outputs_of(weights, networks.LECTURE)]
    assert first_step(weights, got) == networks.FORWARD
    assert first_step(weights, None) == networks.FORWARD


def test_outputs_several_variants_explain_name_only_what_they_share(other_weights):
    """With these weights the outputs are positive on the lesson's 3 examples, where a ReLU last
    layer and none agree: both are named as possible, the hidden layers' ReLU as certain."""
    variant = ("ReLU", "no nonlinearity", 1)
    got = outputs_of(other_weights, variant, lesson.XS)
    assert networks.matching(got, networks.variants(other_weights, lesson.NIN, lesson.NOUTS, lesson.XS)) \
        == [("ReLU", "ReLU", 1), variant]
    assert "with ReLU instead of tanh in the hidden layers and ReLU or no nonlinearity instead of tanh in the last " \
           "layer, where" in first_step(other_weights, got, lesson.XS)


@pytest.mark.parametrize("found, words", [
    ([("ReLU", "tanh", 1), ("ReLU", "ReLU", 1)], "ReLU instead of tanh in the hidden layers"),
    ([("tanh", "tanh", 0), ("tanh", "ReLU", 1)], ""),  # each difference might be none
    ([("ReLU", "ReLU", 0), ("ReLU", "ReLU", 2)], "ReLU instead of tanh in every layer and no bias or the bias added "
                                                 "twice"),
])
def test_only_what_every_fitting_variant_shares_is_named(found, words):
    assert networks.describe(found, deep=True) == words


def test_the_lectures_outputs_point_at_the_loss(weights):
    text = first_step(weights, outputs_of(weights, networks.LECTURE))
    assert "the network's outputs are the lecture's" in text and "__sub__" in text


def test_the_reference_network_computes_the_lectures_outputs(weights):
    """The variants' arithmetic is the lecture's network: on the reference MLP they agree."""
    got = probes.Probes(reference.Value, reference.MLP).forward(lesson.NIN, lesson.NOUTS, weights, lesson.XS)
    assert networks.matching(got["outputs"], networks.variants(weights, lesson.NIN, lesson.NOUTS, lesson.XS)) \
        == [networks.LECTURE]


# ---------------------------------------------------------------- the grader's own steps, on a student's network

class FloatWeight(reference.MLP):
    def __init__(self, nin, nouts):
        super().__init__(nin, nouts)
        self.layers[1].neurons[2].w[3] = 0.5


class NoParameters(reference.MLP):
    def parameters(self):
        return None


class Slotted:
    """A Value without room for a gradient."""
    __slots__ = ("data", "_prev", "_backward")

    def __init__(self, data, _children=()):
        self.data, self._prev, self._backward = data, set(_children), lambda: None

    def tanh(self):
        return Slotted(self.data, (self,))


@pytest.fixture
def grader_code_only(monkeypatch, tmp_path):
    """The probes run in this process here: no frame of this repository counts as the submission's."""
    monkeypatch.setattr(probes.Submission, "root", str(tmp_path))


def test_a_weight_that_is_not_a_value_is_named_in_the_students_terms(grader_code_only):
    with pytest.raises(probes.Failure) as raised:
        probes.Probes(reference.Value, FloatWeight).parameters(3, [4, 4, 1])
    assert raised.value.kind == "bad_output"
    assert raised.value.message.startswith("Neuron.w[3] is a float, not a Value (in layers[1].neurons[2])")


def test_a_failure_in_the_lessons_loop_is_not_blamed_on_student_code(grader_code_only, weights):
    with pytest.raises(probes.Failure) as raised:
        probes.Probes(reference.Value, NoParameters).train(lesson.NIN, lesson.NOUTS, weights, lesson.XS, lesson.YS,
                                                            lesson.LEARNING_RATE, 2)
    assert raised.value.kind == "bad_output" and raised.value.where == ""
    assert raised.value.message.startswith("training failed with TypeError: 'NoneType' object is not iterable, "
                                           "raised by the lesson's training loop itself")


def test_a_value_without_grad_is_not_blamed_on_student_code(grader_code_only):
    with pytest.raises(probes.Failure) as raised:
        probes.Probes(Slotted).op(**TANH.request())
    assert raised.value.kind == "bad_output" and "the grader could not set a Value's `.grad`" in raised.value.message



# ---------------------------------------------------------------- an input's grad where out.grad belongs

def slip(case, source):
    """The leaf grads of `self.grad += d_self * out.grad; other.grad += d_other * <source>.grad`."""
    grads = list(case.leaf_grads)
    x, y = case.operand_values()
    derivatives = (1.0, 1.0) if case.op == "add" else (y, x)
    a, b = case.operands
    grads[a] += derivatives[0] * case.upstream
    if isinstance(b, int):
        grads[b] += derivatives[1] * (grads[case.operands[source]] if source != "out" else case.upstream)
    return tuple(grads)


@pytest.mark.parametrize("op", ["add", "mul"])
def test_an_inputs_grad_read_for_out_grad_is_named_on_all_the_ops_cases(op):
    """`other.grad += ... * other.grad`: on fresh inputs b.grad stays 0, as if only the first
    operand were updated; the op's other fixed cases tell the two apart."""
    answers = [(case, slip(case, 1)) for case in scenarios.fixed(op)]
    single, got = answers[0]
    assert scenarios.diagnose(single, got) is None  # "only the first operand's grad" fits it as well
    assert scenarios.diagnose(single, got, answers) == "`other.grad`" + scenarios.UPSTREAM_FROM_INPUT


def test_a_diagnosis_that_another_case_refutes_is_not_given():
    """`other.grad` read where out.grad belongs, but only on the first case: nothing explains both."""
    cases = scenarios.fixed("mul")
    answers = [(cases[0], slip(cases[0], 1)), *((case, slip(case, "out")) for case in cases[1:])]
    assert scenarios.diagnose(*answers[0], answers) is None


def test_cases_that_all_changed_nothing_name_no_formula():
    """relu's fixed cases are a positive input with no grad yet and a negative one: reading
    `self.grad` for out.grad changes nothing in either, like many other mistakes."""
    answers = [(case, case.leaf_grads) for case in scenarios.fixed("relu")]
    assert scenarios.diagnose(*answers[0], answers) is None


# ---------------------------------------------------------------- hints on a Python error

@pytest.mark.parametrize("where, words", [
    ("engine.py, line 50, in _backward", "the exponent must stay the plain number that `__pow__` was given"),
    ("engine.py, line 44, in __pow__", "the exponent must stay the plain number that `__pow__` was given"),
    ("engine.py, line 60, in exp", "is __rpow__ missing from engine.py?"),  # `math.e ** self`: it might be
])
def test_a_number_raised_to_a_values_power_is_explained_where_it_happened(where, words):
    message = "unsupported operand type(s) for ** or pow(): 'float' and 'Value'"
    assert words in operator_hint(message, where)


LOADED = {"value_attributes": ["__inti__", "backwards", "data"], "instance_attributes": ["data", "grad", "_backwards"],
          "mlp_attributes": ["layers", "paramters", "parameters", "zero_grad"], "layer_attributes": ["neuron"]}


@pytest.mark.parametrize("message, hint", [
    ("Value() takes no arguments", " (found `__inti__`: Python runs a method named `__init__` to make a Value)"),
    ("'Value' object has no attribute 'backward'", " (found `backwards`)"),
    ("'Value' object has no attribute '_backward'", " (found `_backwards`)"),  # an instance's own attribute
    ("'MLP' object has no attribute 'parameters'", " (found `paramters`)"),
    ("'MLP' object has no attribute 'zero_grads'", ""),  # `zero_grad` is the API's own name, not a misspelling
    ("'Layer' object has no attribute 'neurons'", " (found `neuron`)"),
    ("'Value' object has no attribute 'label'", ""),
    ("division by zero", ""),
])
def test_a_misspelt_name_of_the_given_api_is_found(message, hint):
    assert misspelt_hint(message, LOADED) == hint


@pytest.mark.parametrize("owner", ["MLP", "Layer", "Neuron"])
def test_parameters_that_return_nothing_look_for_a_misspelt_method_in_each_class(owner):
    said = test_parameters.misspelt_parameters({f"{owner.lower()}_attributes": ["parameters", "paramters"]})
    assert f"and {owner} has a method `paramters`: a misspelt `parameters`?" in said
    assert test_parameters.misspelt_parameters({"mlp_attributes": ["parameters", "zero_grad"]}) == ""


def test_no_hint_without_the_names_the_submission_has():
    assert misspelt_hint("Value() takes no arguments", {}) == ""
    assert misspelt_hint("'Value' object has no attribute 'backward'", {"value_attributes": "backwards"}) == ""


def test_a_syntax_error_points_at_the_students_line_and_names_the_python(grader_code_only, tmp_path):
    error = SyntaxError("f-string: expecting '}'", (str(tmp_path / "nn.py"), 73, 20, "x"))
    failure = probes.failure_from(error, "load")
    assert failure.where == "nn.py, line 73" and failure.type == "SyntaxError"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert failure.message == (f"nn.py, line 73: f-string: expecting '}}' (grading runs Python {version}; syntax that "
                               "only a later Python accepts fails here)")
    said = explain(StudentError("load", failure.message, failure.where, failure.type), {}, 10)
    assert said == f"nn.py could not be imported: {failure.message}"


def test_frozen_frames_are_not_the_submissions(grader_code_only, tmp_path, monkeypatch):
    """The submission is the worker's working folder: `<frozen importlib._bootstrap>` is no file in it."""
    monkeypatch.chdir(tmp_path)
    assert probes.in_submission("<frozen importlib._bootstrap>") == ""
    assert probes.in_submission(str(tmp_path / "engine.py")) == "engine.py"


# ---------------------------------------------------------------- backward(): nodes outside, nodes with equal data

BESIDE = graphs.beside_another_output()  # c = f(a, b) holds a stale grad; out = e = f(f(a), b)
TWINS = graphs.same_data_same_inputs()  # c = a*b; d = a*b; e = c + d


def test_nodes_outside_the_outputs_graph_keep_their_gradient():
    expected = BESIDE.expected_grads()
    assert BESIDE.reachable() == {0, 1, 3, 4} and expected[2] == 1.0  # c, as it was
    assert expected[0] == 3.0 * 1.5 and expected[1] == -2.0  # a and b get nothing from c


def test_the_request_lists_every_node_with_its_gradient_before_backward():
    request = BESIDE.request()
    assert sorted(node["grad"] for node in request["nodes"]) == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert all(set(node) == {"data", "inputs", "grad"} for node in request["nodes"])


def test_running_a_node_outside_the_graph_is_named():
    """A tape of every Value made, replayed: e, d, then c, which is not in e's graph."""
    (problem,) = test_backward.order_problems(BESIDE, [4, 3, 2, 0, 1])
    assert problem.startswith("backward() ran the _backward of c, outside the graph of e: ")
    assert test_backward.misconception(problem) == test_backward.OUTSIDE


@pytest.mark.parametrize("equal_by_data, words", [
    (True, "the _backward of d never ran, while that of c, which holds the same data (0.75), did: "),
    (False, "the _backward of d never ran: the order must hold every node"),  # Values that differ: no such guess
])
def test_a_node_taken_for_its_twin_is_named_only_for_values_equal_by_data(equal_by_data, words):
    (problem,) = test_backward.order_problems(TWINS, [4, 2, 0, 1], equal_by_data)
    assert problem.startswith(words)


def test_equal_data_names_nothing_when_a_skipped_node_has_no_twin():
    skipped_root_inputs = test_backward.order_problems(TWINS, [4], True)  # c and d never ran, nor any twin of them
    assert skipped_root_inputs == ["the _backward of c, d never ran: the order must hold every node reachable from "
                                   "the output"]


def test_the_seed_is_judged_on_the_outputs_graph_only():
    """After `self.grad = 1` comes last, only c (outside) holds a gradient: still nothing reached the inputs."""
    got = [0.0, 0.0, 1.0, 0.0, 1.0]
    assert "not after" in test_backward.seed_problem(BESIDE, got, BESIDE.expected_grads())


def test_a_closed_call_log_neither_records_nor_stops():
    log = probes.handed.CallLog(limit=1)
    first, second = log.recorder(0), log.recorder(1)
    first()
    log.open = False
    second(), second()
    assert log.calls == [0]


def test_a_reference_value_is_not_equal_by_data():
    assert probes.Probes(reference.Value).equal_by_data() is False
