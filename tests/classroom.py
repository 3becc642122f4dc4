"""Submissions for the class-grading tests (grade-all, Dask, Gradescope), built from the
repository's own files: the model solution without its markers (correct), the same with a
one-line bug (wrong), the bundled example, the released stubs, a hostile one, and unreadable
ones. Each builder writes one submission at `path` and returns its honest total."""
import shutil
import textwrap
import zipfile

from pathlib import Path

from autograder.grading.rubric import load_rubric
from autograder.release import without_markers
from predating import unwritten_ops

RELU_LINE = "self.grad += (1.0 if self.data > 0 else 0.0) * out.grad\n"
EXAMPLE_ENGINE = Path(__file__).resolve().parent.parent / "examples" / "submission" / "engine.py"
# examples/README.md: `=` for `+=` in mul, and no biases in parameters() (so no training either)
EXAMPLE_LOSES = ("mul", "parameters", "convergence", *unwritten_ops(EXAMPLE_ENGINE))


def total(without=()):
    """The bundled rubric's total, less the points of the parts `without` that it grades."""
    rubric = load_rubric()
    return rubric.max_score - sum(part.points for part in rubric.parts if part.id in without)


CORRECT, WRONG, EXAMPLE, STUBS = total(), total(["relu"]), total(EXAMPLE_LOSES), 0.0  # WRONG loses relu, nothing else


def correct(repo, path, prelude=""):
    shutil.copytree(repo / "solutions" / "micrograd", path, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    for name in ("engine.py", "nn.py"):
        (path / name).write_text(without_markers((path / name).read_text()))
    if prelude:
        engine = path / "engine.py"
        engine.write_text(textwrap.dedent(prelude).strip() + "\n\n" + engine.read_text())
    return CORRECT


def wrong(repo, path):
    """relu's _backward forgets the upstream gradient: only the relu part is lost."""
    correct(repo, path)
    engine = path / "engine.py"
    text = engine.read_text()
    assert text.count(RELU_LINE) == 1, "the solution's relu line changed; update tests/classroom.py"
    engine.write_text(text.replace(RELU_LINE, RELU_LINE.replace(" * out.grad", "")))
    return WRONG


def example(repo, path):
    shutil.copytree(repo / "examples" / "submission", path)
    return EXAMPLE


def stubs(repo, path):
    shutil.copytree(repo / "assignments" / "micrograd", path, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    return STUBS


def zipped(build, repo, path):
    """The submission `build` makes, as `path` (a .zip)."""
    folder = path.with_suffix("")
    total = build(repo, folder)
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.rglob("*")):
            archive.write(file, file.relative_to(folder).as_posix())
    shutil.rmtree(folder)
    return total


def hostile(repo, path, targets):
    """A correct solution that, when imported, tries to overwrite every file under `targets`
    (say, the grader's output folder and the other students' work) and prints a fake result.
    No part of it is graded (`os.walk` is outside what a submission may use: the grader's reading
    refuses it before it runs, and marks the submission for review), and were it run, the sandbox
    would make all of it fail (the attack catalogue grades such code with the sandbox alone).
    Returns its total: 0."""
    prelude = f"""
    import json, os
    print(json.dumps({{"score": 1000, "tests": []}}))
    print("student,total\\nvictim,1000")
    for top in {[str(t) for t in targets]!r}:
        for folder, _, names in os.walk(top):
            for name in names:
                try:
                    with open(os.path.join(folder, name), "w") as stream:
                        stream.write('{{"score": 1000}}')
                except OSError:
                    pass
    """
    correct(repo, path, prelude)
    return 0.0


def broken_zip(path):
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")


def without_engine(path):
    path.mkdir()
    (path / "nn.py").write_text("from engine import Value\n")
    (path / "notes.txt").write_text("I could not finish engine.py\n")


VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
             "visibility", "extra_data"}


def assert_gradescope_valid(payload):
    """Gradescope's results.json specification: keys, types, statuses, visibilities, scores."""
    assert set(payload) <= TOP_KEYS, set(payload) - TOP_KEYS
    assert isinstance(payload["score"], (int, float)) and not isinstance(payload["score"], bool)
    assert payload.get("visibility", "visible") in VISIBILITIES
    assert payload.get("stdout_visibility", "visible") in VISIBILITIES
    assert isinstance(payload.get("output", ""), str)
    for test in payload["tests"]:
        assert set(test) <= TEST_KEYS, set(test) - TEST_KEYS
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (test["score"], test["max_score"]))
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in VISIBILITIES
        assert all(isinstance(tag, str) for tag in test.get("tags", []))
    assert payload["score"] == sum(test["score"] for test in payload["tests"])
