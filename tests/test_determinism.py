"""The same submission gets the same verdict on every machine.

A plain set of Values iterates in memory-address order, and strings hash differently with each
hash seed. A backward() whose result depends on the order it meets a node's inputs would then
pass or fail by luck. The worker gives `_prev` the order in which the inputs were created (the
convergence part) or the grader's own order (the backward part), and runs with a fixed hash
seed; these tests vary the seed and the memory layout and demand the same verdict.
"""
import random
import sys

import pytest

from autograder.grading.rubric import load_rubric
from autograder.grading.session import Grader
from autograder.release import without_markers
from autograder.sandbox.isolation import Limits, detect
from autograder.worker import handed, lesson
from mutants import TOPO, lines

# Level order from the output: right on trees, wrong where paths of different lengths meet, and
# *how* wrong depends on the order in which each node's inputs are met.
LEVEL_ORDER = lines(
    "order, queue, seen = [], [self], set()",
    "while queue:",
    "    node = queue.pop(0)",
    "    if node not in seen:",
    "        seen.add(node)",
    "        order.append(node)",
    "        queue.extend(node._prev)",
    "self.grad = 1.0",
    "for node in order:",
    "    node._backward()",
    indent=8)


@pytest.fixture(scope="module")
def order_dependent(tmp_path_factory, repo):
    folder = tmp_path_factory.mktemp("order") / "submission"
    folder.mkdir()
    engine = without_markers((repo / "solutions" / "micrograd" / "engine.py").read_text())
    assert engine.count(TOPO) == 1
    (folder / "engine.py").write_text(engine.replace(TOPO, LEVEL_ORDER))
    (folder / "nn.py").write_text(without_markers((repo / "solutions" / "micrograd" / "nn.py").read_text()))
    return folder


def losses_in_process(folder, reverse_inputs):
    """Train the submission here (trusted test code, not the grader) with each node's inputs met
    in creation order, or in the reverse of it."""
    sys.path.insert(0, str(folder))
    try:
        engine, nn = __import__("engine"), __import__("nn")
        random.seed(1)
        with handed.creation_order(engine.Value):
            model = nn.MLP(lesson.NIN, lesson.NOUTS)
            if reverse_inputs:
                original = engine.Value.__init__

                def reversed_init(self, *args, **kwargs):
                    original(self, *args, **kwargs)
                    self._prev = handed.OrderedPrev(list(self._prev)[::-1])
                engine.Value.__init__ = reversed_init
            return lesson.train(model, steps=5)
    finally:
        sys.path.remove(str(folder))
        for name in ("engine", "nn"):
            sys.modules.pop(name, None)


def test_the_submission_really_depends_on_the_order(order_dependent):
    """A control: met in another order, the same inputs train differently."""
    assert losses_in_process(order_dependent, False) != losses_in_process(order_dependent, True)


def outcome(result):
    return [(p.id, p.points, p.feedback, p.evidence) for p in result.parts]


@pytest.mark.slow
def test_the_verdict_does_not_depend_on_hash_seed_or_memory_layout(order_dependent):
    rubric, level = load_rubric(), detect("strict")
    settings = [Limits(cpu_seconds=11), Limits(cpu_seconds=11, hash_seed="1", fixed_addresses=False),
                Limits(cpu_seconds=11, hash_seed="4242", fixed_addresses=False),
                Limits(cpu_seconds=11, hash_seed="random", fixed_addresses=False)]
    results = [Grader(rubric, level, limits).grade(order_dependent) for limits in settings]
    lost = {p.id for p in results[0].parts if not p.passed}
    assert lost == {"backward", "convergence"}
    assert all(outcome(result) == outcome(results[0]) for result in results[1:])
