"""The hidden grading suite: pytest checks of one submission, run on the trusted side.

Tests receive a `student` fixture (autograder.sandbox.student.StudentCode) from the grading
session and compare what the student's code computed, in the sandbox, with the reference.
"""
