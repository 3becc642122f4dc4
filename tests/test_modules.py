"""The graded modules: which of a submission's files grading runs (autograder/grading/modules.py),
and that grading holds, reads and compiles those and nothing else."""
import importlib.util
import resource
import textwrap
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.grading.modules import Budget, graded_modules
from autograder.grading.session import grade
from autograder.grading.submission import stage
from autograder.release import without_markers
from autograder.sandbox.compiler import Compiler
from autograder.sandbox.isolation import Limits, detect

MIB = 1 << 20


def staged_from(tmp_path, files):
    """The submission made of `files` ({path: text or bytes}), staged as grading stages it."""
    folder = tmp_path / "handed-in"
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else textwrap.dedent(text).encode())
    return stage(folder, tmp_path / "staging" / "submission")


def graded(tmp_path, files, **budget):
    return graded_modules(staged_from(tmp_path, files), Budget(**budget))


FLAT = {
    "engine.py": """
        from helpers import chain
        import os, statistics as stats
        # import commented_out
        NOTE = "import in_a_string"
        def later():
            import inside_a_function
        if True: import in_a_branch; import after_a_semicolon
        from numbers_pkg import (
            ones,  # a comment inside
            twos,
        )
        from \\
            continued import x
        """,
    "nn.py": "from engine import Value\nimport statistics\n",
    "helpers.py": "from deeper import y\n",
    "deeper.py": "", "inside_a_function.py": "", "in_a_branch.py": "", "after_a_semicolon.py": "",
    "continued.py": "", "statistics.py": "",  # a module named like the standard library's comes first
    "numbers_pkg/__init__.py": "", "numbers_pkg/ones.py": "", "numbers_pkg/twos.py": "", "numbers_pkg/threes.py": "",
    "commented_out.py": "", "in_a_string.py": "", "unused.py": "import helpers\n", "drafts/old_engine.py": "",
}


def test_a_flat_submission_grades_what_engine_and_nn_import(tmp_path):
    modules = graded(tmp_path, FLAT)
    assert list(modules.files) == [
        "engine.py", "nn.py", "helpers.py", "statistics.py", "inside_a_function.py", "in_a_branch.py",
        "after_a_semicolon.py", "numbers_pkg/__init__.py", "numbers_pkg/ones.py", "numbers_pkg/twos.py",
        "continued.py", "deeper.py"]
    assert modules.unread == () and modules.warnings() == []
    assert modules.files["nn.py"] == b"from engine import Value\nimport statistics\n"


PACKAGE = {
    "micrograd/__init__.py": "from .engine import Value\n",
    "micrograd/engine.py": "from micrograd.utils import f\nfrom . import tools\nfrom .sub.deep import g\n",
    "micrograd/nn.py": "from .engine import Value\nimport helpers\nfrom micrograd.sub import *\n",
    "micrograd/utils.py": "", "micrograd/tools.py": "", "micrograd/unused.py": "",
    "micrograd/sub/__init__.py": "", "micrograd/sub/deep.py": "", "micrograd/sub/other.py": "",
    "helpers.py": "", "notes.py": "",
}


def test_a_package_runs_its_init_and_its_relative_imports(tmp_path):
    modules = graded(tmp_path, PACKAGE)
    assert sorted(modules.files) == sorted([
        "micrograd/__init__.py", "micrograd/engine.py", "micrograd/nn.py", "micrograd/utils.py",
        "micrograd/tools.py", "micrograd/sub/__init__.py", "micrograd/sub/deep.py", "micrograd/sub/other.py",
        "helpers.py"])
    assert list(modules.files)[:3] == ["micrograd/__init__.py", "micrograd/engine.py", "micrograd/nn.py"]


def test_a_package_at_the_top_of_the_submission(tmp_path):
    modules = graded(tmp_path, {"__init__.py": "", "engine.py": "from .util import f\nfrom .. import outside\n",
                                "nn.py": "from .engine import Value\nfrom submission import named\n",
                                "util.py": "", "named.py": "", "spare.py": ""})
    assert sorted(modules.files) == ["__init__.py", "engine.py", "named.py", "nn.py", "util.py"]


def test_a_module_comes_before_a_folder_of_the_same_name(tmp_path):
    modules = graded(tmp_path, {"engine.py": "import helpers.extra\n", "nn.py": "", "helpers.py": "",
                                "helpers/extra.py": ""})
    assert list(modules.files) == ["engine.py", "nn.py", "helpers.py"]


def test_declared_encodings_are_read(tmp_path):
    latin = "# -*- coding: latin-1 -*-\nA = 'caf\xe9'\nimport helpers\n".encode("latin-1")
    modules = graded(tmp_path, {"engine.py": latin, "nn.py": b"\xef\xbb\xbfimport other\n",
                                "helpers.py": "", "other.py": ""})
    assert list(modules.files) == ["engine.py", "nn.py", "helpers.py", "other.py"]


def test_a_file_that_does_not_parse_is_still_graded(tmp_path):
    modules = graded(tmp_path, {"engine.py": "import helpers\ndef broken(:\n", "nn.py": "x = '''\n",
                                "helpers.py": ""})
    assert list(modules.files) == ["engine.py", "nn.py", "helpers.py"]


@pytest.mark.parametrize("budget", [{"seconds": 0}, {"bytes": 10}, {"nodes": 3}])
def test_out_of_budget_the_files_found_are_graded_and_the_rest_named(tmp_path, budget):
    modules = graded(tmp_path, {"engine.py": "import helpers\nimport more\n", "nn.py": "import more\n",
                                "helpers.py": "", "more.py": "", "data.py": "X = 1\n"}, **budget)
    assert "engine.py" in modules.unread and "data.py" not in modules.files
    assert set(modules.files) <= {"engine.py", "nn.py", "helpers.py", "more.py"}
    assert "were not read" in modules.warnings()[0] and "engine.py" in modules.warnings()[0]


def test_reading_imports_is_bounded_in_time(tmp_path):
    """1 MiB of dense statements with an import at its end: the tokenizer gives up at the budget."""
    engine = "x\n" * (MIB // 2 - 10) + "import late\n"
    started = time.monotonic()
    modules = graded(tmp_path, {"engine.py": engine, "nn.py": "", "late.py": ""}, seconds=0.2)
    assert time.monotonic() - started < 2
    assert modules.unread == ("engine.py",)


@given(source=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_reading_never_raises(tmp_path_factory, source):
    modules = graded(tmp_path_factory.mktemp("any"), {"engine.py": source, "nn.py": source + b"\nimport x\n"})
    assert list(modules.files) == ["engine.py", "nn.py"]


# ---------------------------------------------------------------- what the sandbox holds

SEES_ITS_FOLDER = """
import os as _os
_here = _os.path.dirname(__file__)
if _os.path.exists(_os.path.join(_here, "unused.py")) or not _os.path.exists(__cached__):
    raise ImportError("the sandbox holds an unused file, or the module was not compiled before the parts")
"""


def test_the_sandbox_holds_the_graded_modules_compiled_and_nothing_else(repo, tmp_path):
    """engine.py fails to import if it finds unused.py beside it, or finds no bytecode compiled
    for it (the sandbox's folder is read-only: only the grader can have put it there); relu's
    _backward imports a helper module inside the function."""
    solution = repo / "solutions" / "micrograd"
    engine = without_markers((solution / "engine.py").read_text())
    relu = "            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad\n"
    engine = engine.replace(relu, "            from helpers import slope\n" + relu.replace("(1.0 if", "(slope() if"))
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "engine.py").write_text(SEES_ITS_FOLDER + engine)
    (folder / "nn.py").write_text(without_markers((solution / "nn.py").read_text()))
    (folder / "helpers.py").write_text("def slope():\n    return 1.0\n")
    (folder / "unused.py").write_text("raise SystemExit\n")
    result = grade(folder, read_source=False)  # engine.py probes the sandbox, as no honest one would
    assert result.score == result.max_score, [p.feedback for p in result.parts]


# ---------------------------------------------------------------- compiling, outside the grading process

DENSE = b"a\n" * (MIB // 2)  # 1 MiB of statements: about a second and 600 MB to compile


def pyc(name):
    return importlib.util.cache_from_source(name)


@pytest.fixture
def compiler_with():
    made = []

    def make(**limits):
        made.append(Compiler(detect("strict").python, Limits(**limits)))
        return made[-1]
    yield make
    for compiler in made:
        compiler.close()


def test_the_compiler_writes_bytecode_for_the_python_files_only(compiler_with):
    compiled = compiler_with().bytecode({"engine.py": b"x = 1\n", "pkg/nn.py": b"y = 2\n", "broken.py": b"def (:",
                                        "README.md": b"# notes"})
    assert sorted(compiled) == sorted([pyc("engine.py"), pyc("pkg/nn.py")])
    assert importlib.util.MAGIC_NUMBER == compiled[pyc("engine.py")][:4]


def test_the_compiler_is_out_of_the_grading_process_memory(compiler_with):
    compiler = compiler_with(memory_bytes=300 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    compiled = compiler.bytecode({"dense.py": DENSE, "engine.py": b"x = 1\n"})
    assert list(compiled) == [pyc("engine.py")]  # the dense file ran out of memory in the compiler
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 << 10  # KiB


def test_a_compiler_out_of_time_is_replaced(compiler_with):
    compiler = compiler_with(compile_seconds=0.2)
    started = time.monotonic()
    assert compiler.bytecode({"dense.py": DENSE}) == {}
    assert time.monotonic() - started < 2
    assert list(compiler.bytecode({"engine.py": b"x = 1\n"})) == [pyc("engine.py")]
