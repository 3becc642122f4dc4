"""Byte-compiling a submission's graded modules before any part starts, outside the grading process.

With its bytecode beside it in the sandbox, no part's child spends its time budget compiling
the submission. Compiling runs nothing of the submission, but it costs up to 600 MB of memory
and a second for 1 MiB of source: so it happens in a compiler process of its own, run by the
worker's interpreter (whose version the bytecode must match) under the worker's memory limit,
and killed with the grading process, whatever kills that. The compiler is started once and
kept for the next submission; one that takes longer than `limits.compile_seconds` is killed
(a new one starts for the next submission), and what it did not compile is left for the
worker to compile, as a file that does not compile is left for the worker to report. It
writes checked-hash pycs: valid for these very sources, whenever they are written.

Protocol: one line per submission on the compiler's stdin, a JSON list of the paths of the
files to compile; it answers `done` on stdout once their bytecode is written.
"""
import json
import os
import resource
import select
import subprocess
import tempfile
from functools import partial
from pathlib import Path, PurePosixPath

from autograder.sandbox import leftovers
from autograder.sandbox.kernel import die_with_parent

SCRIPT = """
import json, os, sys
from importlib._bootstrap_external import _code_to_hash_pyc  # what py_compile itself writes with
from importlib.util import cache_from_source, source_hash
for line in sys.stdin:
    for path in json.loads(line):
        try:
            with open(path, "rb") as file:
                source = file.read()
            code = compile(source, os.path.basename(path), "exec", dont_inherit=True)
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
            continue
        cache = cache_from_source(path)
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with open(cache + ".part", "wb") as file:
            file.write(_code_to_hash_pyc(code, source_hash(source), True))
        os.replace(cache + ".part", cache)
    print("done", flush=True)
"""


class Compiler:
    """A compiler process for one interpreter, started when first needed."""

    def __init__(self, python, limits):
        self.python, self.limits = python, limits
        self.process = None

    def bytecode(self, sources):
        """{relative path: bytes} of the bytecode of the Python files among `sources` ({relative
        path: source bytes}), as far as they compile in time."""
        with tempfile.TemporaryDirectory(prefix=leftovers.prefix("compile")) as folder:
            paths = []
            for name, data in sources.items():
                if name.endswith(".py"):
                    paths.append(Path(folder).joinpath(*relative_parts(name)))
                    paths[-1].parent.mkdir(parents=True, exist_ok=True)
                    paths[-1].write_bytes(data)
            if paths:
                self._compile(paths)
            return {path.relative_to(folder).as_posix(): path.read_bytes()
                    for path in sorted(Path(folder).rglob("__pycache__/*.pyc"))}

    def _compile(self, paths):
        if self.process is None or self.process.poll() is not None:
            self._start()
        try:
            self.process.stdin.write(json.dumps(list(map(str, paths))).encode() + b"\n")
            self.process.stdin.flush()
            if select.select([self.process.stdout], [], [], self.limits.compile_seconds)[0] \
                    and self.process.stdout.readline() == b"done\n":
                return
        except OSError:
            pass
        self.close()  # out of time or dead: the next submission gets a new one

    def _start(self):
        self.close()
        self.process = subprocess.Popen(
            [self.python, "-I", "-S", "-c", SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, cwd="/", preexec_fn=partial(_limit, self.limits.memory_bytes, os.getpid()))

    def close(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            for pipe in (self.process.stdin, self.process.stdout):
                pipe.close()
            self.process = None


def _limit(memory_bytes, parent):
    """Between fork and exec of the compiler: the worker's memory limit, and death with the grader."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    die_with_parent(parent)


def relative_parts(name):
    """The parts of a relative path that stays inside its folder; ValueError for any other."""
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or ".." in path.parts:
        raise ValueError(f"not a path inside the submission: {name!r}")
    return path.parts
