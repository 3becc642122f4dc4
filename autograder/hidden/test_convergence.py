"""Part convergence: train the student's MLP(3, [4, 4, 1]) on the lesson's 3 examples.

The integration check: it uses every other part. The student's network starts from the same
weights as the reference's and both follow the lesson's training loop; the loss must follow
the reference's step by step and end below the lesson's threshold.
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


def test_training_follows_the_reference(student):
    weights, expected = reference_run(SEED)
    got = student.train(lesson.NIN, lesson.NOUTS, weights, lesson.XS, lesson.YS, lesson.LEARNING_RATE, lesson.STEPS)
    for step, (g, e) in enumerate(zip(got, expected)):
        if type(g) is not float or not math.isclose(g, e, rel_tol=TRAJECTORY_RTOL, abs_tol=1e-12):
            where = (first_step(student, weights) if step == 0 else
                     "after the first updates, so the gradients (an op's _backward, backward()) or the list of "
                     "parameters updated differ; fix the other parts first")
            named = where.startswith(networks.FORWARD + ":")  # the network's difference, unused biases included
            fail(f"training MLP({lesson.NIN}, {lesson.NOUTS}) with learning rate {lesson.LEARNING_RATE}:",
                 f"  the loss differs from the reference at step {step}: {expected_got('', e, g)}",
                 f"  it differs {where}", "" if named else unused_parameters(student), evidence=[losses(expected, got)])
    if not got[-1] < lesson.LOSS_THRESHOLD:
        fail(f"after {lesson.STEPS} steps the loss is {show(got[-1])}, not below {lesson.LOSS_THRESHOLD}",
             evidence=[losses(expected, got)])


def losses(expected, got):
    return {"kind": "losses", "expected": list(expected), "got": [g if type(g) is float else None for g in got]}
