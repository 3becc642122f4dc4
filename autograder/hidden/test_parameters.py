"""Part parameters: `MLP.parameters()` checked by identity.

The worker reads every weight and bias from the network's own Layer/Neuron objects and tells
us, for each item parameters() returned, which of them it is (or that it is none of them).
Order is not graded; each parameter must be there exactly once, as the very object.
"""
from collections import Counter

import pytest

from autograder.grading.feedback import NN_NAMES, names_in, near_miss
from autograder.hidden.checks import fail

pytestmark = pytest.mark.part("parameters")

NETWORKS = [(3, [4, 4, 1]), (2, [3]), (1, [1]), (4, [2, 3, 2])]


def expected_walk(nin, nouts):
    """Every weight and bias of MLP(nin, nouts), as the grader works it out itself."""
    sizes = [nin, *nouts]
    return [(layer, neuron, role) for layer, (fan_in, width) in enumerate(zip(sizes, sizes[1:]))
            for neuron in range(width) for role in ["w"] * fan_in + ["b"]]


def shape_problem(got, nin, nouts):
    """The network must be the one the given code builds: its layers are what parameters() is
    checked against, so they must not be taken on the network's word."""
    expected = expected_walk(nin, nouts)
    if got.walk == expected:
        return ""
    found = len({(layer, neuron) for layer, neuron, _ in got.walk})
    return (f"MLP({nin}, {nouts}) should have {len(expected)} weights and biases in "
            f"{sum(nouts)} neurons; its .layers hold {len(got.walk)} in {found}: "
            "did the given MLP, Layer or Neuron code change?")


def problems(got, nin, nouts, loaded=None):
    total = len(got.walk)
    shape = shape_problem(got, nin, nouts)
    if shape:
        return [shape]
    if got.items is None:
        return [f"parameters() returned a {got.returned_type}, expected a list of Values"]
    found = []
    if got.returned_type != "list":
        found.append(f"parameters() returned a {got.returned_type}; return a list")
    nested = [item for item in got.items if item[0] == "nested"]
    if nested:
        found.append(f"the list holds {len(nested)} {nested[0][1]}s (e.g. one per layer or neuron): "
                     "flatten it into one list of Values")
    others = [item for item in got.items if item[0] == "other"]
    if others:
        numbers = others[0][1] in ("float", "int")
        found.append(f"the list holds {len(others)} {others[0][1]}s, not Values: return the Value objects themselves, "
                     "not their numbers" if numbers else f"the list holds a {others[0][1]}, not a Value")
    indices = [item[1] for item in got.items if item[0] == "value"]
    copies = indices.count(-1)
    if copies:
        found.append(f"{copies} Values are not the network's own weights or biases (copies?): return the very "
                     "Value objects the neurons compute with, so that training updates them")
    counts = Counter(i for i in indices if i >= 0)
    if any(n > 1 for n in counts.values()):
        found.append("some parameters appear more than once")
    missing = [i for i in range(total) if i not in counts]
    if missing and not (nested or others):  # else they may well be in there, as lists or numbers
        found.append((not indices and misspelt_parameters(loaded)) or describe_missing(got.walk, missing, total))
    if found:
        found.append(f"MLP({nin}, {nouts}) has {total} weights and biases; parameters() returned {got.length} items")
    return found


def misspelt_parameters(loaded):
    """When parameters() returned nothing of the network: a class of it with a method named
    nearly `parameters` (the given Module.parameters(), which returns [], runs in its place)."""
    for owner in ("MLP", "Layer", "Neuron"):
        found = near_miss("parameters", names_in(loaded, f"{owner.lower()}_attributes"), NN_NAMES)
        if found:
            return (f"it returned none of the network's weights and biases, and {owner} has a method `{found}`: a "
                    "misspelt `parameters`? Python calls only a method named `parameters`")
    return ""


def describe_missing(walk, missing, total):
    missing_set = set(missing)
    biases = {i for i, (_, _, role) in enumerate(walk) if role == "b"}
    if missing_set == biases:
        return "the biases are missing: each neuron's b is a parameter too"
    if missing_set == set(range(total)) - biases:
        return "the weights are missing: each neuron's w holds parameters too"
    layers = {layer for layer, _, _ in walk}
    present = {walk[i][0] for i in range(total) if i not in missing_set}
    whole_layers = all(walk[i][0] not in present for i in missing)
    if whole_layers and len(present) == 1 and len(layers) > 1:
        return f"only the parameters of layer {present.pop()} are there: collect those of every layer"
    if whole_layers:
        gone = sorted({walk[i][0] for i in missing})
        return f"the parameters of layer(s) {', '.join(map(str, gone))} are missing: collect those of every layer"
    return f"{len(missing)} of the {total} weights and biases are missing"


@pytest.mark.parametrize("nin, nouts", NETWORKS, ids=[f"MLP({nin}, {nouts})" for nin, nouts in NETWORKS])
def test_parameters(student, nin, nouts):
    got = student.parameters(nin, nouts)
    found = problems(got, nin, nouts, student.loaded)
    if found:
        fail(f"MLP({nin}, {nouts}).parameters():", *(f"  {line}" for line in found))
