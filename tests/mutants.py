"""A corpus of submissions generated from the model solution by small source edits.

* `MUTANTS`: realistic WRONG submissions, each one mistake seen in real student code, with the
  exact set of rubric parts it must lose (`lost_parts`) and, where the grader recognises the
  misconception, a piece of the feedback it must give (`feedback_contains`, looked for in the
  feedback of the first lost part in rubric order).
* `CORRECT`: right submissions written differently from the solution (other algorithms, other
  formulas, other layouts); each must score full marks.

Every edit names the text it replaces, and that text must occur exactly once in the solution
file (`apply` asserts it), so a change to the solution breaks the corpus loudly instead of
leaving mutants that no longer mutate anything.

Which parts a mutant loses, in short: each op's `_backward` is checked alone, so a mistake in
one op costs that op; `backward()` and `parameters()` are checked alone too. Convergence trains
MLP(3, [4, 4, 1]) on the lesson's data and is lost whenever the loss trajectory moves (relative
1e-6). That training uses `+`, `*`, `** 2`, `tanh`, `backward()` and `parameters()`, never `exp`
or `relu`; and some mistakes in the ops it uses stay invisible there:
* `** 2` only ever squares `yout - ygt`, a fresh node used once whose grad starts at 0, and the
  sum above it hands each square out.grad == 1, so `=` for `+=` and a missing `* out.grad` in
  pow change nothing; only pow's local derivative (for k = 2) matters;
* tanh's input is the neuron's sum, also a fresh node used once: `=` for `+=` changes nothing;
* a `_backward` by central finite differences is off by about 1e-10 relative: far outside the
  op checks' 1e-12, far inside the trajectory's 1e-6.
"""
import ast
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder import exercise
from autograder.grading.rubric import PART_IDS as PARTS
from autograder.release import STUB_LINES, find_regions, make_stub

SOLUTION = Path(__file__).resolve().parent.parent / "solutions" / "micrograd"
FILES = ("engine.py", "nn.py")


def solution_text(file):
    return (SOLUTION / file).read_text("utf-8")


def apply(text, old, new, where):
    """`text` with the one occurrence of `old` replaced by `new`."""
    count = text.count(old)
    assert count == 1, f"{where}: the text to replace occurs {count} times in the solution, not once:\n{old}"
    return text.replace(old, new)


@dataclass(frozen=True)
class Edit:
    file: str  # "engine.py" or "nn.py"
    old: str
    new: str


class Variant:
    """A submission: its files ({relative path: text}), how it is handed in, what it must score."""
    name: str
    lost_parts: frozenset = frozenset()
    feedback_contains: object = None
    zipped = False

    def files(self):
        raise NotImplementedError

    def feedback_part(self):
        """The part whose feedback must hold `feedback_contains`: the first lost one in rubric order."""
        return next((p for p in PARTS if p in self.lost_parts), None)

    def materialise(self, folder):
        """Write the submission under `folder` (a folder or a .zip inside it); return the path to grade."""
        folder = Path(folder)
        if self.zipped:
            archive = folder / f"{self.name}.zip"
            with zipfile.ZipFile(archive, "w") as zf:
                for path, text in self.files().items():
                    zf.writestr(path, text)
            return archive
        root = folder / self.name
        for path, text in self.files().items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, "utf-8")
        return root


@dataclass(frozen=True)
class Mutant(Variant):
    """A wrong submission: the solution with one small edit (and the edits `also` holds, for a
    mistake that takes more than one place)."""
    name: str
    file: str
    old: str
    new: str
    lost_parts: frozenset
    feedback_contains: object = None
    also: tuple = ()

    def files(self):
        texts = {file: solution_text(file) for file in FILES}
        for edit in (Edit(self.file, self.old, self.new), *self.also):
            texts[edit.file] = apply(texts[edit.file], edit.old, edit.new, f"mutant {self.name} ({edit.file})")
        return texts


@dataclass(frozen=True)
class Correct(Variant):
    """A right submission written differently: edits, then an optional rewrite of each file's text,
    then the layout (flat files or a `micrograd/` package, in a folder or a zip)."""
    name: str
    edits: tuple = ()
    rewrite: object = None  # (file name, text) -> text
    package: str = ""  # "", or "absolute" / "relative": a micrograd/ package importing that way
    zipped: bool = False
    prefix: str = ""  # a folder inside the submission that holds everything

    def files(self):
        texts = {file: solution_text(file) for file in FILES}
        for edit in self.edits:
            texts[edit.file] = apply(texts[edit.file], edit.old, edit.new, f"variant {self.name} ({edit.file})")
        if self.rewrite is not None:
            texts = {file: self.rewrite(file, text) for file, text in texts.items()}
        if self.package:
            line = "from micrograd.engine import Value" if self.package == "absolute" else "from .engine import Value"
            texts["nn.py"] = apply(texts["nn.py"], "from engine import Value", line, f"variant {self.name}")
            texts = {f"micrograd/{file}": text for file, text in texts.items()}
            texts["micrograd/__init__.py"] = ""
        return {self.prefix + path: text for path, text in texts.items()}


@dataclass(frozen=True)
class Stub(Variant):
    """The released stubs, nothing filled in."""
    name: str
    lost_parts: frozenset
    feedback_contains: object = None

    def files(self):
        return {file: make_stub(solution_text(file), file) for file in FILES}


def lost(*parts):
    unknown = set(parts) - set(PARTS)
    assert not unknown, f"not rubric parts: {unknown}"
    return frozenset(parts)


def ops_using(module):
    """The op parts whose method in the solution's Value names `module` (`math.tanh(...)`)."""
    value = next(node for node in ast.parse(solution_text("engine.py")).body
                 if isinstance(node, ast.ClassDef) and node.name == "Value")
    methods = {node.name: node for node in value.body if isinstance(node, ast.FunctionDef)}
    return [op.part for op in exercise.OPS
            if any(isinstance(n, ast.Name) and n.id == module for n in ast.walk(methods[op.method]))]


def lines(*text, indent):
    """Lines of code at one indentation, joined (each ends with a newline)."""
    return "".join(" " * indent + line + "\n" if line else "\n" for line in text)


# ---------------------------------------------------------------- what the solution says

ADD = lines("self.grad += out.grad", "other.grad += out.grad", indent=12)
MUL = lines("self.grad += other.data * out.grad", "other.grad += self.data * out.grad", indent=12)
POW = lines("self.grad += other * self.data ** (other - 1) * out.grad", indent=12)
TANH = lines("self.grad += (1 - t ** 2) * out.grad", indent=12)
EXP = lines("self.grad += out.data * out.grad", indent=12)
RELU = lines("self.grad += (1.0 if self.data > 0 else 0.0) * out.grad", indent=12)
END = lines("### END SOLUTION", indent=12)
HOOK = lines("out._backward = _backward", indent=8)
TOPO = lines(  # the body of backward(), from the first statement to the last
    "topo = []",
    "visited = set()",
    "",
    "def build_topo(v):",
    "    if v not in visited:",
    "        visited.add(v)",
    "        for child in v._prev:",
    "            build_topo(child)",
    "        topo.append(v)",
    "build_topo(self)",
    "",
    "# seed the output, then apply the chain rule from the output back to the leaves",
    "self.grad = 1.0",
    "for node in reversed(topo):",
    "    node._backward()",
    indent=8)
PARAMETERS = lines("return [p for layer in self.layers for p in layer.parameters()]", indent=8)


def op_mutant(name, solution_lines, new_lines, parts, feedback=None):
    return Mutant(name, "engine.py", solution_lines, lines(*new_lines, indent=12), lost(*parts), feedback)


def backward_mutant(name, new_lines, feedback=None, parts=("backward", "convergence")):
    return Mutant(name, "engine.py", TOPO, lines(*new_lines, indent=8), lost(*parts), feedback)


def parameters_mutant(name, new_lines, parts, feedback=None):
    return Mutant(name, "nn.py", PARAMETERS, lines(*new_lines, indent=8), lost(*parts), feedback)


DOCSTRING = '    """A scalar that remembers how it was computed, so gradients can flow back."""\n'
TAPE = (Edit("engine.py", DOCSTRING, DOCSTRING + "    tape = []  # every Value, in the order it was made\n"),
        Edit("engine.py", "        self.label = label\n",
             "        self.label = label\n        Value.tape.append(self)\n"))
OVERWRITES = "`+=`"
NO_UPSTREAM = "multiply by `out.grad`"
NEVER_HOOKED = "indented"
ORDER = "topological order depth-first"
INEXACT = "finite differences"

MUTANTS = (
    # ---------------------------------------------------------------- +
    op_mutant("add-assigns", ADD, ["self.grad = out.grad", "other.grad = out.grad"], ["add", "convergence"], OVERWRITES),
    op_mutant("add-no-upstream", ADD, ["self.grad += 1.0", "other.grad += 1.0"], ["add", "convergence"], NO_UPSTREAM),
    op_mutant("add-only-self", ADD, ["self.grad += out.grad"], ["add", "convergence"], "only the first operand"),
    op_mutant("add-only-other", ADD, ["other.grad += out.grad"], ["add", "convergence"], "only the second operand"),
    Mutant("add-hook-indented", "engine.py", ADD + END + HOOK,
           ADD + END + lines("out._backward = _backward", indent=12), lost("add", "convergence"), NEVER_HOOKED),
    # ---------------------------------------------------------------- *
    op_mutant("mul-assigns", MUL, ["self.grad = other.data * out.grad", "other.grad = self.data * out.grad"],
              ["mul", "convergence"], OVERWRITES),
    op_mutant("mul-first-line-assigns", MUL, ["self.grad = other.data * out.grad", "other.grad += self.data * out.grad"],
              ["mul", "convergence"], OVERWRITES),
    op_mutant("mul-no-upstream", MUL, ["self.grad += other.data", "other.grad += self.data"],
              ["mul", "convergence"], NO_UPSTREAM),
    op_mutant("mul-swapped-data", MUL, ["self.grad += self.data * out.grad", "other.grad += other.data * out.grad"],
              ["mul", "convergence"], "its own value"),
    op_mutant("mul-only-self", MUL, ["self.grad += other.data * out.grad"], ["mul", "convergence"],
              "only the first operand"),
    op_mutant("mul-only-other", MUL, ["other.grad += self.data * out.grad"], ["mul", "convergence"],
              "only the second operand"),
    op_mutant("mul-times-out-data", MUL, ["self.grad += other.data * out.data", "other.grad += self.data * out.data"],
              ["mul", "convergence"]),
    op_mutant("mul-assigns-second-only", MUL, ["self.grad += other.data * out.grad", "other.grad = self.data * out.grad"],
              ["mul", "convergence"]),
    # ---------------------------------------------------------------- **
    op_mutant("pow-assigns", POW, ["self.grad = other * self.data ** (other - 1) * out.grad"], ["pow"], OVERWRITES),
    op_mutant("pow-no-upstream", POW, ["self.grad += other * self.data ** (other - 1)"], ["pow"], NO_UPSTREAM),
    op_mutant("pow-k-times-x-to-k", POW, ["self.grad += other * self.data ** other * out.grad"],
              ["pow", "convergence"], "not k * x**k"),
    op_mutant("pow-missing-k", POW, ["self.grad += self.data ** (other - 1) * out.grad"],
              ["pow", "convergence"], "the factor k is missing"),
    op_mutant("pow-exponent-k-minus-2", POW, ["self.grad += other * self.data ** (other - 2) * out.grad"],
              ["pow", "convergence"], "wrong exponent"),
    op_mutant("pow-precedence", POW, ["self.grad += other * self.data ** other - 1 * out.grad"], ["pow", "convergence"]),
    op_mutant("pow-negative-exponent", POW, ["self.grad += other * self.data ** (abs(other) - 1) * out.grad"], ["pow"]),
    op_mutant("pow-finite-differences", POW,
              ["h = 1e-6",
               "self.grad += ((self.data + h) ** other - (self.data - h) ** other) / (2 * h) * out.grad"], ["pow"],
              INEXACT),
    Mutant("pow-named-pow", "engine.py", "    def __pow__(self, other):\n", "    def pow(self, other):\n",
           lost("pow", "convergence"), "found `pow`"),
    # ---------------------------------------------------------------- tanh
    op_mutant("tanh-assigns", TANH, ["self.grad = (1 - t ** 2) * out.grad"], ["tanh"], OVERWRITES),
    op_mutant("tanh-no-upstream", TANH, ["self.grad += 1 - t ** 2"], ["tanh", "convergence"], NO_UPSTREAM),
    op_mutant("tanh-from-input", TANH, ["self.grad += (1 - self.data ** 2) * out.grad"], ["tanh", "convergence"],
              "from the input x"),
    op_mutant("tanh-one-minus-t", TANH, ["self.grad += (1 - t) * out.grad"], ["tanh", "convergence"],
              "`1 - t` instead of `1 - t**2`"),
    op_mutant("tanh-t-squared", TANH, ["self.grad += t ** 2 * out.grad"], ["tanh", "convergence"],
              "`t**2` instead of `1 - t**2`"),
    op_mutant("tanh-precedence", TANH, ["self.grad += 1 - t ** 2 * out.grad"], ["tanh", "convergence"]),
    op_mutant("tanh-typo", TANH, ["self.grad += (1 - t ** 2) * out.gard"], ["tanh", "convergence"], "gard"),
    op_mutant("tanh-finite-differences", TANH,
              ["h = 1e-6",
               "self.grad += (math.tanh(self.data + h) - math.tanh(self.data - h)) / (2 * h) * out.grad"], ["tanh"],
              INEXACT),
    Mutant("tanh-hook-indented", "engine.py", TANH + END + HOOK,
           TANH + END + lines("out._backward = _backward", indent=12), lost("tanh", "convergence"), NEVER_HOOKED),
    # ---------------------------------------------------------------- exp
    op_mutant("exp-assigns", EXP, ["self.grad = out.data * out.grad"], ["exp"], OVERWRITES),
    op_mutant("exp-no-upstream", EXP, ["self.grad += out.data"], ["exp"], NO_UPSTREAM),
    op_mutant("exp-from-input", EXP, ["self.grad += self.data * out.grad"], ["exp"], "from the input x"),
    op_mutant("exp-derivative-one", EXP, ["self.grad += out.grad"], ["exp"], "not 1"),
    op_mutant("exp-power-rule", EXP, ["self.grad += self.data * math.exp(self.data - 1) * out.grad"], ["exp"],
              "power rule"),
    op_mutant("exp-name-error", EXP, ["self.grad += exp(self.data) * out.grad"], ["exp"], "NameError"),
    op_mutant("exp-finite-differences", EXP,
              ["h = 1e-6", "self.grad += (math.exp(self.data + h) - math.exp(self.data - h)) / (2 * h) * out.grad"],
              ["exp"], INEXACT),
    # ---------------------------------------------------------------- relu
    op_mutant("relu-assigns", RELU, ["self.grad = (1.0 if self.data > 0 else 0.0) * out.grad"], ["relu"], OVERWRITES),
    op_mutant("relu-no-upstream", RELU, ["self.grad += 1.0 if self.data > 0 else 0.0"], ["relu"], NO_UPSTREAM),
    op_mutant("relu-slope-out-data", RELU, ["self.grad += out.data * out.grad"], ["relu"], "not out.data"),
    op_mutant("relu-slope-always-one", RELU, ["self.grad += out.grad"], ["relu"], "not 1"),
    op_mutant("relu-slope-reversed", RELU, ["self.grad += (self.data <= 0) * out.grad"], ["relu"], "other way round"),
    Mutant("relu-hook-indented", "engine.py", RELU + END + HOOK,
           RELU + END + lines("out._backward = _backward", indent=12), lost("relu"), NEVER_HOOKED),
    # ---------------------------------------------------------------- backward()
    Mutant("backward-not-reversed", "engine.py", "for node in reversed(topo):", "for node in topo:",
           lost("backward", "convergence"), "reversed(topo)"),
    backward_mutant("backward-no-visited-set", [
        "topo = []",
        "",
        "def build_topo(v):",
        "    for child in v._prev:",
        "        build_topo(child)",
        "    topo.append(v)",
        "build_topo(self)",
        "self.grad = 1.0",
        "for node in reversed(topo):",
        "    node._backward()"], "`visited`"),
    Mutant("backward-never-seeded", "engine.py", lines("self.grad = 1.0", indent=8), "",
           lost("backward", "convergence"), "never set to 1"),
    Mutant("backward-seeded-after-the-loop", "engine.py",
           lines("self.grad = 1.0", "for node in reversed(topo):", "    node._backward()", indent=8),
           lines("for node in reversed(topo):", "    node._backward()", "self.grad = 1.0", indent=8),
           lost("backward", "convergence"), "not after"),
    backward_mutant("backward-preorder-dfs", [
        "topo = []",
        "visited = set()",
        "",
        "def build_topo(v):",
        "    if v not in visited:",
        "        visited.add(v)",
        "        topo.append(v)",
        "        for child in v._prev:",
        "            build_topo(child)",
        "build_topo(self)",
        "self.grad = 1.0",
        "for node in topo:  # the output comes first already",
        "    node._backward()"], ORDER),
    backward_mutant("backward-preorder-dfs-reversed", [
        "topo = []",
        "visited = set()",
        "",
        "def build_topo(v):",
        "    if v not in visited:",
        "        visited.add(v)",
        "        topo.append(v)",
        "        for child in v._prev:",
        "            build_topo(child)",
        "build_topo(self)",
        "self.grad = 1.0",
        "for node in reversed(topo):",
        "    node._backward()"], "reversed"),
    backward_mutant("backward-level-order", [
        "from collections import deque",
        "order, seen, queue = [], {self}, deque([self])",
        "while queue:",
        "    v = queue.popleft()",
        "    order.append(v)",
        "    for child in v._prev:",
        "        if child not in seen:",
        "            seen.add(child)",
        "            queue.append(child)",
        "self.grad = 1.0",
        "for node in order:",
        "    node._backward()"], ORDER),
    backward_mutant("backward-recursive-no-topo", [
        "def visit(v):",
        "    v._backward()",
        "    for child in v._prev:",
        "        visit(child)",
        "self.grad = 1.0",
        "visit(self)"], "more than once"),
    backward_mutant("backward-only-the-root", ["self.grad = 1.0", "self._backward()"], "never ran"),
    # a tape of every Value ever made, replayed in reverse: right on one output's graph alone; in
    # training, the tape still holds the graphs of the steps before, whose grads flow again
    Mutant("backward-replays-a-tape", "engine.py", TOPO, lines(
        "self.grad = 1.0",
        "for node in reversed(Value.tape):",
        "    node._backward()", indent=8), lost("backward", "convergence"), "not every Value ever made",
        also=TAPE),
    # ... and emptied after each backward(): training (one output, grads zeroed) cannot tell
    Mutant("backward-replays-a-tape-then-empties-it", "engine.py", TOPO, lines(
        "self.grad = 1.0",
        "for node in reversed(Value.tape):",
        "    node._backward()",
        "Value.tape.clear()", indent=8), lost("backward", "convergence"), "not every Value ever made", also=TAPE),
    # nodes equal when their data is: `visited` and `_prev` take distinct nodes with equal data for one
    # (in training too: sum() starts from 0, and `0 + e` holds the same data as the squared error e)
    Mutant("value-equal-by-data", "engine.py", "    def __repr__(self):\n", lines(
        "def __eq__(self, other):",
        "    return isinstance(other, Value) and self.data == other.data",
        "",
        "def __hash__(self):",
        "    return hash(self.data)",
        "",
        "def __repr__(self):", indent=4), lost("backward", "convergence"), "by their data"),
    backward_mutant("backward-not-implemented", ["raise NotImplementedError()"], "not implemented"),
    # ---------------------------------------------------------------- MLP.parameters()
    parameters_mutant("parameters-only-weights",
                      ["return [w for layer in self.layers for n in layer.neurons for w in n.w]"],
                      ["parameters", "convergence"], "biases are missing"),
    parameters_mutant("parameters-only-biases", ["return [n.b for layer in self.layers for n in layer.neurons]"],
                      ["parameters", "convergence"], "weights are missing"),
    parameters_mutant("parameters-copies",
                      ["return [Value(p.data) for layer in self.layers for p in layer.parameters()]"],
                      ["parameters", "convergence"], "copies"),
    parameters_mutant("parameters-nested-per-layer", ["return [layer.parameters() for layer in self.layers]"],
                      ["parameters", "convergence"], "flatten"),
    parameters_mutant("parameters-biases-twice", [
        "params = [p for layer in self.layers for p in layer.parameters()]",
        "return params + [n.b for layer in self.layers for n in layer.neurons]"],
        ["parameters", "convergence"], "more than once"),
    parameters_mutant("parameters-last-layer-only", ["return self.layers[-1].parameters()"],
                      ["parameters", "convergence"], "only the parameters of layer 2"),
    parameters_mutant("parameters-first-layer-only", ["return self.layers[0].parameters()"],
                      ["parameters", "convergence"], "only the parameters of layer 0"),
    parameters_mutant("parameters-last-layer-missing",
                      ["return [p for layer in self.layers[:-1] for p in layer.parameters()]"],
                      ["parameters", "convergence"], "missing: collect those of every layer"),
    parameters_mutant("parameters-empty", ["return []"], ["parameters", "convergence"], "are missing"),
    # a generator or a tuple still trains (the loop only iterates), but the exercise asks for a list
    parameters_mutant("parameters-generator",
                      ["return (p for layer in self.layers for p in layer.parameters())"], ["parameters"], "generator"),
    parameters_mutant("parameters-tuple",
                      ["return tuple(p for layer in self.layers for p in layer.parameters())"], ["parameters"],
                      "return a list"),
    # ---------------------------------------------------------------- the given code, changed
    Mutant("no-import-math", "engine.py", "import math\n", "", lost(*ops_using("math"), "convergence"), "math"),
    Mutant("no-radd", "engine.py", "    def __radd__(self, other):  # other + self\n        return self + other\n", "",
           lost("convergence"), "unsupported operand"),
    Mutant("sub-adds", "engine.py", "        return self + (-other)\n", "        return self + other\n",
           lost("convergence"), "before any update"),
    Mutant("bias-left-out-of-forward", "nn.py", "zip(self.w, x)), self.b)", "zip(self.w, x)))",
           lost("convergence"), "before any update"),
    Mutant("neuron-without-tanh", "nn.py", "return act.tanh() if self.nonlin else act", "return act",
           lost("convergence"), "before any update"),
    Mutant("layer-always-returns-a-list", "nn.py", "return outs[0] if len(outs) == 1 else outs", "return outs",
           lost("convergence"), "not a Value"),
    Stub("released-stubs", lost(*PARTS), "not implemented"),
)


# ---------------------------------------------------------------- right, but not the solution's way

def fill_stubs_with_comments(file, text):
    """The released stub of `file`, each `# YOUR CODE HERE / raise NotImplementedError()` replaced
    by the solution's code between comments and blank lines (and the stub comment kept)."""
    solution = text.splitlines(keepends=True)
    bodies = [solution[region.begin + 1:region.end] for region in find_regions([s.rstrip("\r\n") for s in solution])]
    stub = make_stub(text, file).splitlines(keepends=True)
    out, n = [], 0
    for line in stub:
        if line.strip() == STUB_LINES[1]:
            indent = line[:len(line) - len(line.lstrip())]
            out += ["\n", f"{indent}# my answer, after watching the lecture twice:\n", "   \n", *bodies[n],
                    f"{indent}\n", "    # (done)\n", "\n"]
            n += 1
        else:
            out.append(line)
    assert n == len(bodies), f"{file}: {len(bodies)} solution regions, {n} stubs filled"
    return "".join(out)


def strip_docstrings(file, text):
    """`text` without any docstring or solution-marker line (a body left empty gets `pass`)."""
    tree = ast.parse(text)
    drop = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node) is not None:
            doc = node.body[0]
            assert len(node.body) > 1, f"{file}: {getattr(node, 'name', 'module')} is only a docstring"
            drop.update(range(doc.lineno, doc.end_lineno + 1))
    kept = [line for n, line in enumerate(text.splitlines(keepends=True), 1)
            if n not in drop and "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line]
    result = "".join(kept)
    assert '"""' not in result, f"{file}: a docstring survived"
    return result


CORRECT = (
    Correct("iterative-dfs", (Edit("engine.py", TOPO, lines(
        "topo, visited = [], set()",
        "stack = [(self, False)]",
        "while stack:",
        "    node, expanded = stack.pop()",
        "    if expanded:",
        "        topo.append(node)",
        "    elif node not in visited:",
        "        visited.add(node)",
        "        stack.append((node, True))",
        "        for child in node._prev:",
        "            stack.append((child, False))",
        "self.grad = 1.0",
        "for node in reversed(topo):",
        "    node._backward()", indent=8)),)),
    Correct("kahn-topological-sort", (Edit("engine.py", TOPO, lines(
        "# count each node's users, then release a node once all of its users have run",
        "users, seen, stack = {}, {self}, [self]",
        "while stack:",
        "    v = stack.pop()",
        "    for child in v._prev:",
        "        users[child] = users.get(child, 0) + 1",
        "        if child not in seen:",
        "            seen.add(child)",
        "            stack.append(child)",
        "self.grad = 1",
        "ready = [self]",
        "while ready:",
        "    v = ready.pop()",
        "    v._backward()",
        "    for child in v._prev:",
        "        users[child] -= 1",
        "        if users[child] == 0:",
        "            ready.append(child)", indent=8)),)),
    Correct("visited-is-the-topo-list", (Edit("engine.py", TOPO, lines(
        "topo = []",
        "def build_topo(v):",
        "    if v not in topo:",
        "        for child in v._prev:",
        "            build_topo(child)",
        "        topo.append(v)",
        "build_topo(self)",
        "self.grad = 1",
        "for node in topo[::-1]:",
        "    node._backward()", indent=8)),)),
    Correct("tanh-by-exp-formula", (
        Edit("engine.py", lines("t = math.tanh(self.data)", "out = Value(t, (self,), 'tanh')", indent=8),
             lines("x = self.data", "out = Value((math.exp(2 * x) - 1) / (math.exp(2 * x) + 1), (self,), 'tanh')",
                   indent=8)),
        Edit("engine.py", TANH, lines("self.grad += (1 - out.data ** 2) * out.grad", indent=12)))),
    Correct("tanh-as-in-the-lecture", (
        Edit("engine.py", lines("t = math.tanh(self.data)", indent=8),
             lines("x = self.data", "t = (math.exp(2*x) - 1)/(math.exp(2*x) + 1)", indent=8)),)),
    Correct("tanh-derivative-recomputed", (
        Edit("engine.py", TANH, lines("self.grad += (1 - math.tanh(self.data) ** 2) * out.grad", indent=12)),)),
    Correct("pow-explicit-floats", (
        Edit("engine.py", POW,
             lines("self.grad += float(other) * (float(self.data) ** (other - 1)) * out.grad", indent=12)),)),
    Correct("relu-bool-times-grad", (
        Edit("engine.py", RELU, lines("self.grad += (out.data > 0) * out.grad", indent=12)),)),
    Correct("other-spellings", (
        Edit("engine.py", ADD, lines("self.grad += 1.0 * out.grad", "other.grad += 1.0 * out.grad", indent=12)),
        Edit("engine.py", MUL, lines("self.grad = self.grad + other.data * out.grad",
                                     "other.grad = other.grad + self.data * out.grad", indent=12)),
        Edit("engine.py", EXP, lines("self.grad += math.exp(self.data) * out.grad", indent=12)),
        Edit("engine.py", RELU, lines("if self.data > 0:", "    self.grad += out.grad", indent=12)),
    )),
    Correct("parameters-explicit-loops", (Edit("nn.py", PARAMETERS, lines(
        "params = []",
        "for layer in self.layers:",
        "    for neuron in layer.neurons:",
        "        for w in neuron.w:",
        "            params.append(w)",
        "        params.append(neuron.b)",
        "return params", indent=8)),)),
    Correct("parameters-extend", (Edit("nn.py", PARAMETERS, lines(
        "params = []",
        "for layer in self.layers:",
        "    params.extend(layer.parameters())",
        "return params", indent=8)),)),
    Correct("package", package="absolute"),
    Correct("package-zipped", package="absolute", zipped=True),
    Correct("package-relative-imports", package="relative"),
    Correct("flat-zipped-in-a-folder", zipped=True, prefix="my-micrograd/"),
    Correct("stubs-filled-with-comments", rewrite=fill_stubs_with_comments),
    Correct("no-docstrings", rewrite=strip_docstrings),
    Correct("stubs-filled-no-docstrings",
            rewrite=lambda file, text: strip_docstrings(file, fill_stubs_with_comments(file, text))),
)

ALL = MUTANTS + CORRECT
