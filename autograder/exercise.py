"""The exercise's ops (a stand-in until the exercise definition lands; fields as agreed)."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Op:
    part: str
    method: str
    kind: str  # "binary", "unary", "power"
    forward: str
    derivative: tuple


OPS = (
    Op("add", "__add__", "binary", "x + y", ("1", "1")),
    Op("mul", "__mul__", "binary", "x * y", ("y", "x")),
    Op("pow", "__pow__", "power", "x ** k", ("k * x**(k - 1)",)),
    Op("tanh", "tanh", "unary", "tanh(x)", ("1 - tanh(x)**2",)),
    Op("exp", "exp", "unary", "exp(x)", ("exp(x)",)),
    Op("relu", "relu", "unary", "relu(x)", ("step(x)",)),
)


def op(part):
    return next((o for o in OPS if o.part == part), None)
