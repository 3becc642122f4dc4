"""The untrusted side of the trust boundary: the worker that runs student code in the sandbox.

Standard library only. Its files (main.py, lesson.py) are copied into each sandbox; the
grader imports nothing from here but the pure `lesson` module.
"""
