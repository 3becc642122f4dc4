"""Changes to the given code (autograder/grading/given_code.py): reported, quoted, and only real ones.

A submission that only fills in the blanks, however it writes them and whatever it does to
whitespace, comments, docstrings, annotations or the names of local variables, gets no
warning; every edit of the given code gets one that names the function and quotes both sides.
"""
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder.export import NOT_IN_A_BUILD
from autograder.grading import given_code
from autograder.release import make_stub, without_markers
from mutants import SOLUTION, fill_stubs_with_comments, strip_docstrings

GIVEN = given_code.given_files()


def solution(name):
    return without_markers((SOLUTION / name).read_text("utf-8"))


def changes(name, text):
    return given_code.compare(GIVEN[name], text, name)


def edited(name, old, new, text=None):
    text = solution(name) if text is None else text
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_the_given_files_are_the_released_stubs(repo):
    for name in ("engine.py", "nn.py"):
        assert GIVEN[name] == (repo / "assignments" / "micrograd" / name).read_text("utf-8")


@pytest.mark.parametrize("name", ["engine.py", "nn.py"])
@pytest.mark.parametrize("make", [
    lambda name: GIVEN[name],  # nothing filled in
    solution,
    lambda name: fill_stubs_with_comments(name, (SOLUTION / name).read_text("utf-8")),
    lambda name: strip_docstrings(name, (SOLUTION / name).read_text("utf-8")),
], ids=["stubs", "solution", "filled-with-comments", "no-docstrings"])
def test_filling_in_the_blanks_only_gives_no_warning(name, make):
    assert changes(name, make(name)) == []


HARMLESS = [
    ("engine.py", "        out = Value(self.data + other.data, (self, other), '+')\n",
     "        out = Value((self.data + other.data),   (self, other), \"+\")  # the sum\n\n"),
    ("engine.py", "    def __add__(self, other):\n", "    def __add__(self, other: 'Value | float') -> 'Value':\n"),
    ("engine.py", "class Value:\n", "class Value(object):\n"),
    ("engine.py", '    """A scalar that remembers how it was computed, so gradients can flow back."""\n',
     '    """My own docstring."""\n    # a comment\n'),
    ("nn.py", "        outs = [n(x) for n in self.neurons]\n        return outs[0] if len(outs) == 1 else outs\n",
     "        out = [n(x) for n in self.neurons]\n        return out[0] if len(out) == 1 else out\n"),
    ("nn.py", "from engine import Value\n", "from micrograd.engine import Value\n"),
    ("nn.py", "from engine import Value\n", "from .engine import Value\n"),
    ("nn.py", "class Module:\n", "class Helper:\n    pass\n\n\nclass Module:\n"),  # code added
    ("engine.py", "import math\n", "import math\nimport random\n"),
]


@pytest.mark.parametrize("name, old, new", HARMLESS)
def test_harmless_edits_give_no_warning(name, old, new):
    assert changes(name, edited(name, old, new)) == []


def test_a_changed_method_is_quoted_on_both_sides():
    text = edited("engine.py", "        return other + (-self)\n", "        return self - other\n")
    line = text.splitlines().index("        return self - other") + 1
    assert changes("engine.py", text) == [
        f"engine.py, line {line - 1}: Value.__rsub__ differs from the given code:\n"
        "  given: return other + (-self)\n"
        f"  yours (line {line}): return self - other"]


@pytest.mark.parametrize("name, old, new, words", [
    ("nn.py", "            p.grad = 0.0\n", "            p = 0.0\n", ["Module.zero_grad", "given: p.grad = 0.0",
                                                                     "p = 0.0"]),
    ("engine.py", "            other.grad += out.grad\n        out._backward = _backward\n",
     "            other.grad += out.grad\n            out._backward = _backward\n",
     ["Value.__add__", "given: out._backward = _backward", "yours: (nothing in its place)"]),
    ("engine.py", "import math\n", "", ["the given line `import math` is missing or changed"]),
    ("engine.py", "    def __neg__(self):  # -self\n        return self * -1\n", "",
     ["Value.__neg__ is missing; it is given code"]),
    ("nn.py", "class Neuron(Module):\n", "class Neuron:\n", ["Neuron differs", "given: class Neuron(Module):"]),
    ("nn.py", "    def __init__(self, nin, nonlin=True):\n", "    def __init__(self, nin, nonlin=False):\n",
     ["Neuron.__init__", "given: def __init__(self, nin, nonlin=True):"]),
    ("nn.py", "        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)\n",
     "        print(x)\n        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)\n",
     ["Neuron.__call__", "given: (nothing in its place)", "print(x)"]),
])
def test_each_kind_of_edit_is_reported(name, old, new, words):
    found = changes(name, edited(name, old, new))
    assert len(found) == 1 and all(word in found[0] for word in words), found


def test_a_renamed_attribute_is_reported_in_every_method_that_uses_it():
    found = changes("nn.py", solution("nn.py").replace("self.layers", "self.my_layers"))
    assert [message.split(": ")[1].split(" ")[0] for message in found] == ["MLP.__init__", "MLP.__call__",
                                                                           "MLP.__repr__"]
    assert "  yours (line 58): self.my_layers = [Layer(" in found[0]


def test_a_local_added_before_others_does_not_hide_the_change():
    text = edited("engine.py", "        t = math.tanh(self.data)\n",
                  "        x = self.data\n        t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)\n")
    line = text.splitlines().index("        x = self.data") + 1
    (found,) = changes("engine.py", text)
    assert found.splitlines()[1:] == ["  given: t = math.tanh(self.data)",
                                      f"  yours (line {line}): x = self.data",
                                      "                   t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)"]


def test_the_last_definition_is_the_one_compared():
    text = solution("engine.py") + "\n    def __rsub__(self, other):\n        return self - other\n"
    assert "Value.__rsub__ differs" in changes("engine.py", text)[0]


def test_a_method_that_is_all_blank_may_live_elsewhere():
    """MLP.parameters() is a blank: written in Module instead, there is no given code lost."""
    method = ('    def parameters(self):\n        """Every weight and bias of every neuron, as one flat list."""\n'
              "        return [p for layer in self.layers for p in layer.parameters()]\n")
    text = edited("nn.py", method, "")
    assert changes("nn.py", text) == []


INIT = """\
    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None  # a leaf has nothing to pass on
        self._prev = set(_children)
        self._op = _op
        self.label = label
"""
FIELDS = """\
    data: float
    grad: float = 0.0
    _backward: object = lambda: None
    _prev: tuple = ()
    _op: str = ''
    label: str = ''
"""
REPR = '    def __repr__(self):\n        return f"Value(data={self.data}, grad={self.grad})"\n\n'


@pytest.mark.parametrize("decorator, generated", [
    ("@dataclass", ["__init__", "__repr__"]),
    ("@dataclasses.dataclass(eq=False)", ["__init__", "__repr__"]),
    ("@dataclass(repr=False)", ["__init__"]),
])
def test_what_a_dataclass_makes_is_given_code_changed_not_missing(decorator, generated):
    text = edited("engine.py", "class Value:\n", f"{decorator}\nclass Value:\n")
    text = edited("engine.py", REPR, "", edited("engine.py", INIT, FIELDS, text))
    header, *made = changes("engine.py", text)
    assert header.splitlines()[3:5] == [f"  yours (line 11): {decorator}", "                   class Value:"]
    init, repr_ = made
    assert init.startswith("engine.py, line 15: Value.__init__ differs") and "  yours (line 15): data: float" in init
    if "__repr__" in generated:
        assert repr_.startswith("engine.py, line 11: Value.__repr__ differs") and repr_.endswith(f": {decorator}")
    else:  # turned off: then it is missing indeed
        assert repr_ == "engine.py: Value.__repr__ is missing; it is given code"


@pytest.mark.parametrize("old, new, quoted", [
    ("    def __radd__(self, other):  # other + self\n        return self + other\n", "    __radd__ = __add__\n",
     "__radd__ = __add__"),
    ("    def __neg__(self):  # -self\n        return self * -1\n", "    __neg__ = lambda self: self * -1\n",
     "__neg__ = lambda self: self * -1"),
])
def test_a_member_made_without_a_def_is_given_code_changed_not_missing(old, new, quoted):
    (found,) = changes("engine.py", edited("engine.py", old, new))
    assert "differs from the given code" in found and found.endswith(f"): {quoted}"), found


def test_a_name_in_slots_is_a_member_made_without_a_def():
    text = edited("engine.py", '    """A scalar that remembers how it was computed, so gradients can flow back."""\n',
                  "    __slots__ = ('data', 'grad', '_backward', '_prev', '_op', 'label', '__neg__')\n")
    text = edited("engine.py", "    def __neg__(self):  # -self\n        return self * -1\n", "", text)
    (found,) = changes("engine.py", text)
    assert "Value.__neg__ differs" in found and "__slots__ = (" in found


def test_student_text_is_shown_escaped():
    text = edited("engine.py", "        return other + (-self)\n", "        return self - other  # \x1b[2J\n")
    (found,) = changes("engine.py", text)
    assert "\x1b" not in found and "\\x1b[2J" in found


@pytest.mark.parametrize("text", ["def broken(:\n", "x = 1 +\x00", "x = " + "+".join(["1"] * 100_000)])
def test_unreadable_code_gives_no_warning_and_no_error(text):
    assert changes("engine.py", text) == []


def test_an_installed_grader_reads_the_released_stubs(monkeypatch, tmp_path, repo):
    monkeypatch.setattr(given_code, "EXERCISE", tmp_path / "no-checkout")
    monkeypatch.setattr(given_code, "INSTALLED", repo / "assignments" / "micrograd")
    given_code.given_files.cache_clear()
    try:
        assert given_code.given_files() == GIVEN
    finally:
        given_code.given_files.cache_clear()


@pytest.mark.slow
def test_the_wheel_holds_the_given_code(repo, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(repo, source, ignore=NOT_IN_A_BUILD)  # pip builds in place: not in the checkout
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("micrograd_autograder-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for name in ("engine.py", "nn.py"):
            assert archive.read(f"autograder/given/{name}").decode() == make_stub(
                (SOLUTION / name).read_text("utf-8"), name)
