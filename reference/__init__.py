"""The trusted reference engine, importable as `micrograd_reference`.

Written independently of the solutions (see `engine.py`), it is what grading compares
student code against. It never imports, and is never imported by, student code.
"""
from .engine import OPS, Op, Value
from .nn import MLP, Layer, Module, Neuron

__all__ = ["OPS", "Op", "Value", "Module", "Neuron", "Layer", "MLP"]
