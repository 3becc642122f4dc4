"""The untrusted side of the trust boundary: the worker that runs student code in the sandbox.

Standard library only. Its files (main.py, probes.py, handed.py, guard.py, lesson.py) are
copied into each sandbox. The grader imports two of them itself, never with student code:
`lesson` (the training problem, to train the reference) and `probes` (which it runs on the
reference engine, to learn the requests its checks make).
"""
