"""What grading costs: one submission, then a class, side by side with nbgrader.

    python benchmarks/grading.py [--sizes 10,50,200] [--jobs N] [--no-nbgrader]

1. One submission, in seconds: `autograder grade PATH` from a cold start (a fresh process:
   interpreter, imports, the hidden suite collected and rehearsed), and warm (the same grader
   process, a batch's next submission), for a correct, a buggy, the blank stubs and Karpathy's
   micrograd 0.1.0; and the cost of starting the sandboxed worker.
2. A class of N submissions, a mix of correct, buggy, hostile and unreadable ones:
   `autograder grade-all` on every core, against `nbgrader autograde` of the same submissions as
   notebooks that hold the public self-checks (solutions/micrograd/test_selfcheck.py) as
   ordinary test cells, which is what an instructor builds without this package. Both run here,
   one after the other, as an instructor runs them (fresh processes, start-up included).
Needs the test extras (`pip install -e '.[test]'`: nbgrader, micrograd).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.grading.rubric import load_rubric
from autograder.grading.casebook import CaseBook
from autograder.grading.session import Grader, casebook
from autograder.release import make_stub, without_markers
from autograder.sandbox.client import Worker
from autograder.sandbox.compiler import Compiler
from autograder.sandbox.isolation import INSIDE_SUBMISSION, Limits, Sandbox, detect, files_in

REPO = Path(__file__).resolve().parent.parent
SOLUTION = REPO / "solutions" / "micrograd"
sys.path.insert(0, str(Path(__file__).resolve().parent))
import nbgrader_cost  # noqa: E402  (the plain nbgrader course: the same one the nbgrader benchmark builds)

LINE = {  # one line of the solution, and how each buggy submission writes it
    "mul": "            other.grad += self.data * out.grad\n",
    "tanh": "            self.grad += (1 - t ** 2) * out.grad\n",
    "params": "        return [p for layer in self.layers for p in layer.parameters()]\n",
    "topo": "                for child in v._prev:\n                    build_topo(child)\n                topo.append(v)\n",
}
BUGS = [
    ("engine.py", LINE["mul"], "            other.grad = self.data * out.grad\n"),
    ("engine.py", LINE["tanh"], "            self.grad += (1 - t ** 2)\n"),
    ("nn.py", LINE["params"], "        return [w for layer in self.layers for n in layer.neurons for w in n.w]\n"),
    ("engine.py", LINE["topo"], "                topo.append(v)\n                for child in v._prev:\n"
                                "                    build_topo(child)\n"),
]
# Hostile code at the top of engine.py. Not here: writing garbage into file descriptors 3 to 19
# (tests/attacks.py, "forges replies on the worker's channel"), which made nbgrader autograde
# hang for good in the student's kernel (its 30 s cell timeout never fired): nbgrader would not finish.
HOSTILE = [
    "import json\nprint(json.dumps({'score': 100}))\nopen('/tmp/results.json', 'w').write('{\"score\": 100}')\n",
    "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.isinstance = lambda *a: True\n",
    "import gc, sys\ntry:\n    sys._getframe(); gc.get_objects()\nexcept Exception:\n    pass\n",
    "import math\nmath.isclose = lambda *a, **k: True\nmath.isfinite = lambda x: True\n",
]


@cache
def model_answer():
    return {name: without_markers((SOLUTION / name).read_text()) for name in ("engine.py", "nn.py")}


def solution_files():
    """The model answer's files, a fresh dict to change."""
    return dict(model_answer())


def write(folder, files):
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def corpus(n, into):
    """n student folders, in turn correct, buggy, hostile and unreadable (several of each kind);
    hostile code heads the model answer or, every other time, the blank stubs."""
    stub = make_stub((SOLUTION / "engine.py").read_text())
    for i in range(n):
        files = solution_files()
        kind, variant = i % 4, i // 4
        if kind == 1:  # buggy
            file, old, new = BUGS[variant % len(BUGS)]
            files[file] = files[file].replace(old, new)
        elif kind == 2:  # hostile
            files["engine.py"] = HOSTILE[variant % len(HOSTILE)] + (stub if variant % 2 else files["engine.py"])
        elif kind == 3:  # unreadable
            files = ({"nn.py": files["nn.py"]}, {"engine.py": "def broken(:\n", "nn.py": files["nn.py"]},
                     {"engine.py": "\x00\x01 not python", "nn.py": ""})[variant % 3]
        write(into / f"student{i:03d}", files)


def karpathy_micrograd(into):
    import micrograd
    target = into / "karpathy"
    shutil.copytree(Path(micrograd.__file__).parent, target / "micrograd", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def seconds(function, rounds):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(*command, cwd=None):
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode not in (0, 3):
        sys.exit(f"{' '.join(map(str, command))} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def one_submission(console, rounds, scratch):
    level = detect("auto")
    grader = Grader(load_rubric(), level)
    submissions = {"correct (10/10)": write(scratch / "correct", solution_files()),
                   "buggy: = for += in mul (8/10)": write(scratch / "buggy", {
                       **solution_files(), "engine.py": solution_files()["engine.py"].replace(*BUGS[0][1:])}),
                   "blank stubs (0/10)": REPO / "assignments" / "micrograd",
                   "micrograd 0.1.0 (7/10)": karpathy_micrograd(scratch)}
    rehearsal = seconds(lambda: CaseBook(cache=scratch / "a-new-cache.pickle"), 1)
    casebook()  # the user's cache holds the rehearsal from now on
    cached = seconds(lambda: run(sys.executable, "-c", "from autograder.grading.session import casebook; casebook()"),
                     3)
    table = Table(title=f"one submission ({level.name}; seconds, median of {rounds})")
    for column in ("submission", "score", "cold: `autograder grade`", "warm: in a batch"):
        table.add_column(column, justify="left" if column == "submission" else "right")
    for name, path in submissions.items():
        grader.grade(path, keep_worker=True)  # warm-up
        warm = seconds(lambda: grader.grade(path, keep_worker=True), rounds)
        cold = seconds(lambda: run(sys.executable, "-m", "autograder", "grade", str(path)), max(1, rounds // 2))
        table.add_row(name, f"{grader.grade(path, keep_worker=True).score:g}", f"{cold:.2f}", f"{warm:.3f}")
    grader.close()
    console.print(table)
    start = seconds(lambda: start_worker(level, submissions["correct (10/10)"]), rounds * 2)
    console.print(f"the hidden suite, once per grader process: collected and rehearsed {rehearsal:.2f} s; a new "
                  f"process that imports the grader and collects it, the rehearsal from the cache: {cached:.2f} s; "
                  f"starting a sandboxed worker and loading a submission: {start * 1000:.0f} ms (once per grader "
                  "process in a batch)")


def start_worker(level, folder):
    files, compiler = files_in(folder), Compiler(level.python, Limits())
    worker = Worker(Sandbox(level, Limits(), {**files, **compiler.bytecode(files)})).start()
    compiler.close()
    try:
        part = worker.open_part("flat", INSIDE_SUBMISSION if level.namespaces else str(worker.sandbox.submission),
                                time.monotonic() + 30)
        part.receive()
        part.close()
    finally:
        worker.close()


def nbgrader_course(root, students):
    """The plain nbgrader course, each student handing in the release with their own .py files."""
    root.mkdir()
    nbgrader_cost.plain_course(root)
    nbgrader_cost.nbgrader(root, "generate_assignment", nbgrader_cost.ASSIGNMENT)
    for folder in students:
        target = root / "submitted" / folder.name / nbgrader_cost.ASSIGNMENT
        shutil.copytree(root / "release" / nbgrader_cost.ASSIGNMENT, target)
        for name in ("engine.py", "nn.py"):
            (target / name).unlink(missing_ok=True)
            if (folder / name).exists():
                shutil.copy(folder / name, target / name)


def autograde(course):
    """Seconds of `nbgrader autograde` over the course. Hostile and unreadable submissions make it
    report errors for those students (exit code 1); it grades the others all the same."""
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", nbgrader_cost.ASSIGNMENT], cwd=course,
                            env=env, capture_output=True, text=True)
    if result.returncode not in (0, 1) or "Autograding" not in result.stderr:
        sys.exit(f"nbgrader autograde failed in {course}:\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def a_class(console, sizes, jobs, with_nbgrader, scratch):
    table = Table(title=f"a class: a quarter each correct, buggy, hostile, unreadable "
                        f"({os.cpu_count()} cores; seconds, start-up included)")
    for column in ("submissions", f"grade-all --jobs {jobs}", "per submission", "nbgrader autograde",
                   "per submission", "ratio (nbgrader / ours)"):
        table.add_column(column, justify="right")
    for n in sizes:
        folder = scratch / f"class{n}"
        folder.mkdir()
        corpus(n, folder)
        ours = run(sys.executable, "-m", "autograder", "grade-all", str(folder), "--out", str(scratch / f"out{n}"),
                   "--jobs", str(jobs))
        theirs = None
        if with_nbgrader:
            course = scratch / f"course{n}"
            nbgrader_course(course, sorted(folder.iterdir()))
            theirs = autograde(course)
        table.add_row(str(n), f"{ours:.1f}", f"{ours / n:.3f}", *((f"{theirs:.1f}", f"{theirs / n:.3f}",
                      f"{theirs / ours:.1f}") if theirs else ("-", "-", "-")))
    console.print(table)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,200", help="class sizes (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="grade-all --jobs (default: all cores)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds for one submission (default: %(default)s)")
    parser.add_argument("--no-nbgrader", action="store_true", help="skip the nbgrader side")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="autograder-bench-") as scratch:
        one_submission(console, args.rounds, Path(scratch))
        a_class(console, [int(n) for n in args.sizes.split(",")], args.jobs, not args.no_nbgrader, Path(scratch))


if __name__ == "__main__":
    main()
