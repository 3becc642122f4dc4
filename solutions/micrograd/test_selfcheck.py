"""Self-checks for your micrograd. Run `pytest` in this folder.

Each test checks one piece that you write and, when it fails, says what to implement or
fix next. Passing them is a good sign, not a grade: the grader tries many more cases.
"""
import math

import pytest

from blanks import name_of_blank
from engine import Value
from nn import MLP

UPSTREAM = 2.0  # not 1, so that a missing `* out.grad` shows


def run(step):
    """Run step(); turn a blank `raise NotImplementedError()` into a clear message."""
    try:
        return step()
    except NotImplementedError as error:
        missing = name_of_blank(error)
    pytest.fail(f"not implemented yet: {missing}", pytrace=False)  # outside `except`: no chained traceback


def call_backward_of(out):
    """Give `out` an upstream gradient and run its own _backward once."""
    out.grad = UPSTREAM
    run(out._backward)


def expect(got, want, what):
    if not (isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)):
        pytest.fail(f"{what}: expected {want!r}, got {got!r}", pytrace=False)


def test_add():
    a, b = Value(1.5), Value(-2.0)
    call_backward_of(a + b)
    expect(a.grad, UPSTREAM, "c = a + b: dc/da = 1, so a.grad should be 1 * c.grad")
    expect(b.grad, UPSTREAM, "c = a + b: dc/db = 1, so b.grad should be 1 * c.grad")


def test_mul():
    a, b = Value(1.5), Value(-2.0)
    call_backward_of(a * b)
    expect(a.grad, -2.0 * UPSTREAM, "c = a * b: dc/da = b.data, so a.grad should be b.data * c.grad")
    expect(b.grad, 1.5 * UPSTREAM, "c = a * b: dc/db = a.data, so b.grad should be a.data * c.grad")


def test_pow():
    a = Value(1.5)
    call_backward_of(a ** 3)
    expect(a.grad, 3 * 1.5 ** 2 * UPSTREAM, "c = a ** 3: dc/da = 3 * a.data ** 2, times c.grad")


def test_tanh():
    a = Value(0.5)
    out = a.tanh()
    call_backward_of(out)
    expect(a.grad, (1 - math.tanh(0.5) ** 2) * UPSTREAM, "t = a.tanh(): dt/da = 1 - t**2, times t.grad")


def test_exp():
    a = Value(0.5)
    call_backward_of(a.exp())
    expect(a.grad, math.exp(0.5) * UPSTREAM, "e = a.exp(): de/da = e itself, times e.grad")


def test_relu():
    a, b = Value(1.5), Value(-1.5)
    call_backward_of(a.relu())
    call_backward_of(b.relu())
    expect(a.grad, UPSTREAM, "r = a.relu() with a > 0: dr/da = 1, times r.grad")
    expect(b.grad, 0.0, "r = b.relu() with b < 0: dr/db = 0")


def test_gradients_accumulate():
    a = Value(3.0)
    a.grad = 1.0  # as if a were also used somewhere else
    call_backward_of(a * a)
    expect(a.grad, 1.0 + 2 * 3.0 * UPSTREAM,
           "a.grad held 1.0 and c = a * a adds 2 * a.data * c.grad: gradients add up, so use `+=`, not `=`")


def test_backward():
    a, b = Value(2.0), Value(-3.0)
    d = a * b + a  # a reaches d along two paths
    run(d.backward)
    expect(d.grad, 1.0, "backward() must start by setting the output's own grad to 1")
    expect(a.grad, -3.0 + 1.0, "d = a * b + a: dd/da = b + 1 (both paths add up)")
    expect(b.grad, 2.0, "d = a * b + a: dd/db = a")


def test_parameters():
    model = MLP(3, [4, 4, 1])
    params = run(model.parameters)
    assert isinstance(params, list), f"parameters() should return a list, got {type(params).__name__}"
    assert all(isinstance(p, Value) for p in params), "parameters() should return a flat list of Values"
    assert len(params) == 41, (
        f"MLP(3, [4, 4, 1]) has 41 parameters (4*3+4 + 4*4+4 + 1*4+1 weights and biases), "
        f"parameters() returned {len(params)}")
