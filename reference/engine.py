"""Reference autograd engine: an operation table plus one generic node type.

Each primitive operation is one row of `OPS`: its forward function and its local
derivatives (d out / d input, one per input, given the inputs and the output). A node
stores its inputs as an ordered tuple, so `a * a` counts `a` twice. `backward()` is
iterative (Kahn's algorithm on the reverse graph), so a chain of any length works.
The public API matches the lecture's `Value`: data, grad, _prev, _op, _backward.
"""
import math
from collections import Counter
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Op:
    name: str
    forward: Callable[..., float]
    local_grads: Callable[..., tuple]  # (*inputs, output) -> one derivative per input


def _relu(x):
    return x if x > 0 else 0.0


OPS = {
    "+": Op("+", lambda a, b: a + b, lambda a, b, out: (1.0, 1.0)),
    "*": Op("*", lambda a, b: a * b, lambda a, b, out: (b, a)),
    "tanh": Op("tanh", math.tanh, lambda a, out: (1.0 - out * out,)),
    "exp": Op("exp", math.exp, lambda a, out: (out,)),
    "relu": Op("relu", _relu, lambda a, out: (1.0 if a > 0 else 0.0,)),
}


def power(k):
    """The row for `x ** k` with a constant exponent k."""
    return Op(f"**{k}", lambda a: a ** k, lambda a, out: (k * a ** (k - 1),))


class Value:
    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._inputs = tuple(_children)
        self._prev = set(self._inputs)
        self._op = _op
        self.label = label
        self._local_grads = ()
        self._backward = self._pass_grad_to_inputs

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    @classmethod
    def apply(cls, op, *inputs):
        """A new node holding op(inputs), with its local derivatives worked out now."""
        inputs = tuple(x if isinstance(x, Value) else cls(x) for x in inputs)
        args = [x.data for x in inputs]
        out = cls(op.forward(*args), inputs, op.name)
        out._local_grads = op.local_grads(*args, out.data)
        return out

    def _pass_grad_to_inputs(self):
        for x, local in zip(self._inputs, self._local_grads):
            x.grad += local * self.grad

    def backward(self):
        # count how often each node is an input within the graph under self
        pending = Counter()
        seen, stack = {self}, [self]
        while stack:
            for x in stack.pop()._inputs:
                pending[x] += 1
                if x not in seen:
                    seen.add(x)
                    stack.append(x)
        # a node is ready once every node that uses it has passed its gradient on
        self.grad = 1.0
        ready = [self]
        while ready:
            node = ready.pop()
            node._backward()
            for x in node._inputs:
                pending[x] -= 1
                if pending[x] == 0:
                    ready.append(x)

    def __add__(self, other):
        return Value.apply(OPS["+"], self, other)

    def __mul__(self, other):
        return Value.apply(OPS["*"], self, other)

    def __pow__(self, k):
        if not isinstance(k, (int, float)):
            raise TypeError(f"exponent must be an int or float, not {type(k).__name__}")
        return Value.apply(power(k), self)

    def tanh(self):
        return Value.apply(OPS["tanh"], self)

    def exp(self):
        return Value.apply(OPS["exp"], self)

    def relu(self):
        return Value.apply(OPS["relu"], self)

    # derived operations, composed exactly as in the lecture so results agree bit for bit

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1
