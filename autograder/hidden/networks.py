"""Networks like the lecture's, computed with plain floats: what a student's network may compute
instead of the lecture's MLP, so that a difference can be named rather than guessed.

The lecture's neuron is tanh(w . x + b) in every layer. Real submissions change that in a few
ways (Karpathy's micrograd package uses ReLU hidden layers and a linear last layer; a bias gets
left out, or added twice). Given the weights in the order the grader walks them (layer by layer,
neuron by neuron, each neuron's weights then its bias), `variants` computes every combination
of those changes; `first_step` names what all the combinations that the student's outputs
match have in common, and nothing when that is nothing.
"""
import math
from itertools import product

from autograder.worker.lesson import XS

ACTIVATIONS = {"tanh": math.tanh, "ReLU": lambda a: max(a, 0.0), "no nonlinearity": lambda a: a,
               "a sigmoid": lambda a: 0.5 * (1.0 + math.tanh(a / 2))}  # 1 / (1 + e**-a), without overflow
BIASES = {1: "", 0: "no bias", 2: "the bias added twice"}
LECTURE = ("tanh", "tanh", 1)  # (hidden layers, last layer, bias count)
# The inputs a network is probed on: the lesson's examples, and more that tell variants apart
# (a ReLU and no nonlinearity agree wherever their input is positive).
PROBE_XS = [*XS, *([-x for x in xs] for xs in XS), [0.5, -1.0, 2.0], [-3.0, 0.25, -0.5]]


def outputs(weights, sizes, x, hidden, last, biases):
    """The network's output on input x, with these activations and the bias counted `biases` times."""
    position = 0
    for layer, (fan_in, width) in enumerate(zip(sizes, sizes[1:])):
        activation = ACTIVATIONS[last if layer == len(sizes) - 2 else hidden]
        next_x = []
        for _ in range(width):
            w, b = weights[position:position + fan_in], weights[position + fan_in]
            position += fan_in + 1
            next_x.append(activation(sum(wi * xi for wi, xi in zip(w, x)) + biases * b))
        x = next_x
    return x[0]


def variants(weights, nin, nouts, xs):
    """{(hidden, last, bias count): [output per input]} for every variant, the lecture's included."""
    sizes = [nin, *nouts]
    return {(hidden, last, biases): [outputs(weights, sizes, x, hidden, last, biases) for x in xs]
            for hidden, last, biases in product(ACTIVATIONS, ACTIVATIONS, BIASES)}


def matching(got, computed):
    """The variants whose outputs all agree with `got` (floats) to 1e-9."""
    return [key for key, values in computed.items()
            if all(type(g) is float and math.isclose(g, v, rel_tol=1e-9, abs_tol=1e-12) for g, v in zip(got, values))]


def alternatives(found, index, words=None):
    """The values that the variants `found` take at `index`, in words ("ReLU or no nonlinearity");
    "" when the lecture's value is among them (then nothing is known to differ there)."""
    values = list(dict.fromkeys(variant[index] for variant in found))
    return "" if LECTURE[index] in values else " or ".join(words[v] if words else v for v in values)


def describe(found, deep):
    """How every variant in `found` differs from the lecture's network, in words ("" if nothing
    is known to differ)."""
    hidden = alternatives(found, 0) if deep else ""
    last, biases = alternatives(found, 1), alternatives(found, 2, BIASES)
    if hidden and hidden == last:
        differences = [f"{hidden} instead of tanh in every layer"]
    else:
        differences = ([f"{hidden} instead of tanh in the hidden layers"] if hidden else []) + \
                      ([f"{last} instead of tanh in the last layer"] if last else [])
    differences += [biases] if biases else []
    return " and ".join([", ".join(differences[:-1]), differences[-1]] if len(differences) > 1 else differences)


FORWARD = ("before any update, so the forward pass (the network or an op's forward) computes something else than "
           "the lecture's")


def first_step(got, weights, nin, nouts, xs):
    """Where a loss that differs at step 0 comes from, given the network's outputs `got` on `xs`
    (None when they could not be had): completes "it differs ..."."""
    found = matching(got, variants(weights, nin, nouts, xs)) if got is not None else []
    if LECTURE in found:
        return ("before any update, while the network's outputs are the lecture's: the loss itself is computed "
                "differently; it uses `yout - ygt`, `** 2` and `sum()`, so check the given `__sub__`, `__neg__` "
                "and `__radd__` and the forward value of `__pow__`")
    difference = describe(found, len(nouts) > 1) if found else ""
    if not difference:
        return FORWARD
    return (f"{FORWARD}: its outputs on {len(xs)} inputs are those of a network with {difference}, where the "
            "lecture's network (the given Neuron, Layer and MLP) computes tanh(w . x + b) in every layer")
