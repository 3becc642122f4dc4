"""Part convergence: train the student's MLP(3, [4, 4, 1]) on the lesson's 3 examples.

The integration check: it uses every other part. The student's network starts from the same
weights as the reference's and both follow the lesson's training loop. By the rubric's
`mode` for the part: "trajectory" (the default), the loss must follow the reference's step by
step and end below the lesson's threshold; "threshold", it only has to end below it, so a
near miss in another part is not charged a second time.
"""
import math
import random
from functools import cache

import pytest

import micrograd_reference as reference
from autograder.hidden import networks
from autograder.hidden.checks import expected_got, fail, show
from autograder.sandbox.client import WorkerFailure
from autograder.worker import lesson

pytestmark = pytest.mark.part("convergence")

SEED = 2024
# Rounding differs between correct formulations (math.tanh or exp, 1 - t**2 or 1 - out.data**2)
# and grows a little over the steps; any real mistake moves the loss by far more.
TRAJECTORY_RTOL = 1e-6


@cache
def reference_run(seed):
    """(initial weights in Layer/Neuron order, reference losses) for a seeded network."""
    state = random.getstate()
    random.seed(seed)
    model = reference.MLP(lesson.NIN, lesson.NOUTS)
    random.setstate(state)
    weights = [p.data for layer in model.layers for neuron in layer.neurons for p in (*neuron.w, neuron.b)]
    return weights, tuple(lesson.train(model))


def unused_parameters(student):
    """A line naming the weights the network's forward pass never reads, if there are any."""
    try:
        network = student.parameters(lesson.NIN, lesson.NOUTS)
    except WorkerFailure:
        return ""
    unused = [role for (_, _, role), used in zip(network.walk, network.used or []) if not used]
    if not unused:
        return ""
    which = "the biases" if set(unused) == {"b"} and len(unused) == sum(r == "b" for _, _, r in network.walk) \
        else f"{len(unused)} of its weights and biases"
    return f"  note: the network's forward pass never uses {which}: did the given Neuron code change?"


def first_step(student, weights):
    """Why the loss differs before any update, as far as the network's outputs show it."""
    try:
        got = student.forward(lesson.NIN, lesson.NOUTS, weights, networks.PROBE_XS)
    except WorkerFailure:
        got = None
    return networks.first_step(got, weights, lesson.NIN, lesson.NOUTS, networks.PROBE_XS)


def trained(student):
    """(the reference's losses, the student's) for the lesson's training from the reference's weights."""
    weights, expected = reference_run(SEED)
    got = student.train(lesson.NIN, lesson.NOUTS, weights, lesson.XS, lesson.YS, lesson.LEARNING_RATE, lesson.STEPS)
    return expected, got


def first_difference(expected, got):
    """(step, expected, got) where the student's loss first leaves the reference's, or None."""
    for step, (g, e) in enumerate(zip(got, expected)):
        if type(g) is not float or not math.isclose(g, e, rel_tol=TRAJECTORY_RTOL, abs_tol=1e-12):
            return step, e, g
    return None


def difference_lines(student, difference):
    """The feedback lines that say where the student's loss leaves the reference's, and why."""
    step, e, g = difference
    where = (first_step(student, reference_run(SEED)[0]) if step == 0 else
             "after the first updates, so the gradients (an op's _backward, backward()) or the list of "
             "parameters updated differ; fix the other parts first")
    named = where.startswith(networks.FORWARD + ":")  # the network's difference, unused biases included
    return [f"  the loss differs from the reference at step {step}: {expected_got('', e, g)}",
            f"  it differs {where}", "" if named else unused_parameters(student)]


def require_the_threshold(expected, got, *notes):
    if not (type(got[-1]) is float and got[-1] < lesson.LOSS_THRESHOLD):
        fail(f"after {lesson.STEPS} steps the loss is {show(got[-1])}, not below {lesson.LOSS_THRESHOLD}", *notes,
             evidence=[losses(expected, got)])


@pytest.mark.mode("trajectory")
def test_training_follows_the_reference(student):
    expected, got = trained(student)
    difference = first_difference(expected, got)
    if difference is not None:
        fail(f"training MLP({lesson.NIN}, {lesson.NOUTS}) with learning rate {lesson.LEARNING_RATE}:",
             *difference_lines(student, difference), evidence=[losses(expected, got)])
    require_the_threshold(expected, got)


@pytest.mark.mode("threshold")
def test_training_reaches_the_threshold(student):
    expected, got = trained(student)
    difference = first_difference(expected, got)
    require_the_threshold(expected, got, *(difference_lines(student, difference) if difference else ()))


def losses(expected, got):
    return {"kind": "losses", "expected": list(expected), "got": [g if type(g) is float else None for g in got]}
