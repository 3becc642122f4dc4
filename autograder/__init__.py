"""micrograd-autograder: hand out, self-check and grade the micrograd exercise."""

__version__ = "0.1.0"
