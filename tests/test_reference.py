"""The reference engine against exact derivatives from independent sources.

Grading trusts `micrograd_reference`, so here it is checked against oracles that share
none of its code or rules (see `oracle.py`): forward-mode dual numbers over mpmath at
50 digits with hand-derived local derivatives for the bulk, sympy's symbolic `diff` on
a subset, and torch in float64 when torch is installed. Expressions are random DAGs
(hypothesis) over 1-3 variables in which nodes and variables are reused.

Tolerance: relative error |a - n| / max(|a|, |n|) <= 1e-10 for the value and for every
gradient. Inputs keep to domains where that is meaningful: variables 0.1 <= |x| <= 3,
positive constants, at most 6 random operations (plus the joins that put every node
under the root), and the oracle rejects (with `assume`) relu inputs within 1e-3 of the
kink, divisions and negative powers of numbers within 1e-3 of 0, fractional powers of
non-positive numbers, and exp of arguments beyond 20. It also rejects the few
ill-conditioned expressions (x - x + tiny, saturated tanh, ...) where float64 itself
cannot reach 1e-10: it bounds float64's rounding error to first order, by propagating
error bounds alongside the exact values and, for gradients, summing |product of local
derivatives| times their error along every path, and keeps an expression only when
4x that bound is within the tolerance (`Oracle.well_conditioned`). The bound depends on
the exact values alone, never on what the reference computed. Between the domain and
the conditioning, 6-26% of generated expressions per family are rejected, most often for
an exactly zero gradient reached through cancelling paths (d(x/x)/dx) or x ** 0.5 of a
negative number; hypothesis draws more until each family has its count of examples.
"""
import importlib.util
import operator
import random
import sys

import pytest
from hypothesis import assume, given, note, settings, strategies as st
from mpmath import mp, mpf

import oracle
from autograder.worker import lesson
from micrograd_reference import MLP, Value
from oracle import TOLERANCE, Expr, Node, relative_error

FAMILIES = {
    "add": ("add",),
    "mul": ("mul",),
    "pow": ("pow",),
    "tanh": ("tanh",),
    "exp": ("exp",),
    "relu": ("relu",),
    "derived": ("neg", "sub", "truediv", "radd", "rsub", "rmul", "rtruediv"),
}
EXAMPLES_PER_FAMILY = 1000
SYMPY_EXAMPLES_PER_FAMILY = 200
TORCH_EXAMPLES_PER_FAMILY = 200
MAX_RANDOM_OPS = 6
EXPONENTS = (-2, -1, -0.5, 0.5, 1.5, 2, 3)  # int and float exponents, all exact in binary

magnitudes = st.floats(min_value=0.1, max_value=3.0)
inputs = st.one_of(magnitudes, magnitudes.map(operator.neg))
constants = st.floats(min_value=0.25, max_value=4.0)


# ---- generated expressions ------------------------------------------------------------

@st.composite
def nodes(draw, op, available):
    """One node applying `op` to nodes drawn among the `available` earlier ones."""
    arity = 2 if op in oracle.BINARY else 1
    args = tuple(draw(st.integers(0, available - 1)) for _ in range(arity))
    const = None
    if op == "pow":
        const = draw(st.sampled_from(EXPONENTS))
    elif op in oracle.WITH_CONSTANT:
        const = draw(constants)
    return Node(op, args, const)


@st.composite
def expressions(draw, family):
    """(Expr, inputs): a DAG with at least one node of `family`, every node under the root."""
    nvars = draw(st.integers(1, 3))
    xs = draw(st.lists(inputs, min_size=nvars, max_size=nvars))
    count = draw(st.integers(1, MAX_RANDOM_OPS))
    forced = draw(st.integers(0, count - 1))  # the position of the family's node
    dag = [Node("var") for _ in range(nvars)]
    for step in range(count):
        op = draw(st.sampled_from(FAMILIES[family] if step == forced else oracle.OPS))
        dag.append(draw(nodes(op, len(dag))))
    used = {i for node in dag for i in node.args}
    for i in range(nvars, len(dag) - 1):  # join each result nothing uses into the root
        if i not in used:
            dag.append(Node(draw(st.sampled_from(("add", "mul"))), (i, len(dag) - 1)))
    expr = Expr(nvars, tuple(dag))
    assert set(FAMILIES[family]) & expr.ops()
    return expr, xs


APPLY = {  # operator syntax only, so the same table builds reference Values and torch tensors
    "add": lambda a, b, c: a + b,
    "sub": lambda a, b, c: a - b,
    "mul": lambda a, b, c: a * b,
    "truediv": lambda a, b, c: a / b,
    "neg": lambda a, c: -a,
    "tanh": lambda a, c: a.tanh(),
    "exp": lambda a, c: a.exp(),
    "relu": lambda a, c: a.relu(),
    "pow": lambda a, c: a ** c,
    "radd": lambda a, c: c + a,  # a float on the left: Value.__radd__ and friends
    "rsub": lambda a, c: c - a,
    "rmul": lambda a, c: c * a,
    "rtruediv": lambda a, c: c / a,
}


def build(expr, leaves):
    """The root of `expr` computed from `leaves` (one per variable), sharing nodes as expr does."""
    values = list(leaves)
    for node in expr.nodes[expr.nvars:]:
        values.append(APPLY[node.op](*(values[i] for i in node.args), node.const))
    return values[-1]


def reference_gradients(expr, xs):
    leaves = [Value(x) for x in xs]
    root = build(expr, leaves)
    root.backward()
    return root.data, [leaf.grad for leaf in leaves]


def well_conditioned_oracle(expr, xs):
    """The mpmath oracle's answer; the example is rejected unless 1e-10 is attainable."""
    note(f"{expr}  at {xs}")
    exact = oracle.mpmath_oracle(expr, xs)
    assume(exact.well_conditioned)
    return exact


def max_error(value, grads, exact_value, exact_grads):
    """The largest relative error over the value and the gradients; fails past TOLERANCE."""
    pairs = [("value", value, exact_value)]
    pairs += [(f"d/dx{i}", g, n) for i, (g, n) in enumerate(zip(grads, exact_grads, strict=True))]
    errors = []
    for what, approx, exact in pairs:
        error = relative_error(approx, exact)
        assert error <= TOLERANCE, f"{what}: {approx!r} but exactly {exact}, relative error {error}"
        errors.append(error)
    return max(errors)


def check_enough(errors, examples):
    assert len(errors) >= examples, f"only {len(errors)} well-conditioned examples ran"


# ---- against the oracles --------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES)
def test_value_and_gradients_match_the_mpmath_oracle(family):
    errors = []

    @settings(max_examples=EXAMPLES_PER_FAMILY)
    @given(expressions(family))
    def check(example):
        expr, xs = example
        exact = well_conditioned_oracle(expr, xs)
        errors.append(max_error(*reference_gradients(expr, xs), exact.value, exact.grads))

    check()
    check_enough(errors, EXAMPLES_PER_FAMILY)
    print(f"{family}: {len(errors)} expressions, max relative error {float(max(errors)):.3g}")


@pytest.mark.parametrize("family", FAMILIES)
def test_sympy_confirms_the_reference_and_the_mpmath_oracle(family):
    errors = []

    @settings(max_examples=SYMPY_EXAMPLES_PER_FAMILY)
    @given(expressions(family))
    def check(example):
        expr, xs = example
        exact = well_conditioned_oracle(expr, xs)
        value, grads = oracle.sympy_oracle(expr, xs)
        for mine, theirs in zip([exact.value, *exact.grads], [value, *grads]):
            assert relative_error(mine, theirs) <= mpf("1e-30")  # two 50-digit oracles agree
        errors.append(max_error(*reference_gradients(expr, xs), value, grads))

    check()
    check_enough(errors, SYMPY_EXAMPLES_PER_FAMILY)
    print(f"{family}: {len(errors)} expressions, max relative error {float(max(errors)):.3g}")


@pytest.mark.parametrize("family", FAMILIES)
def test_gradients_match_torch_float64(family):
    torch = pytest.importorskip("torch")
    errors = []

    @settings(max_examples=TORCH_EXAMPLES_PER_FAMILY)
    @given(expressions(family))
    def check(example):
        expr, xs = example
        well_conditioned_oracle(expr, xs)  # each engine is then within TOLERANCE / 4 of exact
        leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
        root = build(expr, leaves)
        root.backward()
        grads = [0.0 if leaf.grad is None else leaf.grad.item() for leaf in leaves]
        errors.append(max_error(*reference_gradients(expr, xs), root.item(), grads))

    check()
    check_enough(errors, TORCH_EXAMPLES_PER_FAMILY)
    print(f"{family}: {len(errors)} expressions, max relative difference {float(max(errors)):.3g}")


CHAIN_LENGTH = 100_000


def test_backward_through_a_100k_node_chain():
    x = Value(0.5)
    y = x
    for _ in range(CHAIN_LENGTH):
        y = y.tanh()
    y.backward()  # a recursive topological sort would raise RecursionError here
    # Exactly: y = t_n with t_0 = x, t_k+1 = tanh(t_k), and dy/dx = prod sech(t_k)^2.
    # With e = exp(2t): tanh t = (e - 1) / (e + 1) and sech(t)^2 = 4e / (e + 1)^2.
    with mp.workdps(oracle.DIGITS):
        t, derivative = mpf(x.data), mpf(1)
        for _ in range(CHAIN_LENGTH):
            e = mp.exp(2 * t)
            derivative *= 4 * e / (e + 1) ** 2
            t = (e - 1) / (e + 1)
    assert relative_error(y.data, t) <= TOLERANCE
    assert relative_error(x.grad, derivative) <= TOLERANCE


# ---- the network ----------------------------------------------------------------------

@pytest.fixture
def random_state():
    """Tests that seed the global `random` put its state back afterwards."""
    state = random.getstate()
    yield
    random.setstate(state)


@pytest.mark.parametrize("seed", range(100))
def test_training_converges(seed, random_state):
    random.seed(seed)
    losses = lesson.train(MLP(lesson.NIN, lesson.NOUTS))
    assert losses[-1] < lesson.LOSS_THRESHOLD
    assert max(losses[-10:]) < min(losses[:10]), "the loss does not go down overall"


def test_mlp_has_41_distinct_parameters():
    parameters = MLP(3, [4, 4, 1]).parameters()
    # 4 neurons x (3 weights + 1 bias) + 4 x (4 + 1) + 1 x (4 + 1) = 16 + 20 + 5 = 41
    assert len(parameters) == 41
    assert len({id(p) for p in parameters}) == 41
    assert all(isinstance(p, Value) for p in parameters)


SEEDS = [0, 1, 42, 1337]


@pytest.mark.parametrize("seed", SEEDS)
def test_weights_are_drawn_in_the_lectures_order(seed, random_state):
    random.seed(seed)
    model = MLP(3, [4, 4, 1])
    # The lecture draws uniform(-1, 1) neuron by neuron: nin weights, then the bias.
    random.seed(seed)
    for layer in model.layers:
        for neuron in layer.neurons:
            assert [w.data for w in neuron.w] == [random.uniform(-1, 1) for _ in neuron.w]
            assert neuron.b.data == random.uniform(-1, 1)
    random.seed(seed)
    assert [p.data for p in model.parameters()] == [random.uniform(-1, 1) for _ in range(41)]


@pytest.fixture
def solution_nn(repo):
    """solutions/micrograd/nn.py, imported the way it expects (`from engine import Value`
    off its own folder); sys.path and sys.modules are put back afterwards."""
    folder = str(repo / "solutions" / "micrograd")
    before = dict(sys.modules)
    sys.modules.pop("engine", None)  # any other `engine` must not stand in for the solution's
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location("solution_nn", f"{folder}/nn.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(folder)
        for name in set(sys.modules) - set(before):
            del sys.modules[name]
        sys.modules.update(before)


@pytest.mark.parametrize("seed", SEEDS)
def test_same_weights_and_outputs_as_the_solution(seed, solution_nn, random_state):
    random.seed(seed)
    reference = MLP(3, [4, 4, 1])
    random.seed(seed)
    solution = solution_nn.MLP(3, [4, 4, 1])
    assert [p.data for p in reference.parameters()] == [p.data for p in solution.parameters()]
    assert [reference(x).data for x in lesson.XS] == [solution(x).data for x in lesson.XS]
