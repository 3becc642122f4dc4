"""The trusted side of the trust boundary: isolation levels, the protocol client, typed calls.

The untrusted side is autograder/worker; the protocol between them is documented in
autograder/worker/main.py.
"""
