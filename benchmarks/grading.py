"""How long grading takes, and what the sandbox adds. Run: python benchmarks/grading.py [--rounds N]

Prints, for a few submissions, the time to grade one (median and best of N rounds, in this
process, after one warm-up), and the sandbox's overhead: the same grade under bubblewrap minus
under process limits only, and the cost of starting one worker at each level.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.grading.rubric import load_rubric
from autograder.grading.session import grade
from autograder.sandbox.client import Worker
from autograder.sandbox.isolation import Limits, Sandbox, detect

REPO = Path(__file__).resolve().parent.parent


def karpathy_micrograd(into):
    """Karpathy's micrograd 0.1.0 from the installed package, as a submission folder."""
    import micrograd
    target = Path(into) / "karpathy"
    target.mkdir()
    source = Path(micrograd.__file__).parent
    (target / "micrograd").mkdir()
    for name in ("__init__.py", "engine.py", "nn.py"):
        (target / "micrograd" / name).write_text((source / name).read_text())
    return target


def timed(function, rounds):
    function()  # warm-up: imports, caches
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def worker_start(level, submission):
    sandbox = Sandbox(level, Limits(), submission)
    worker = Worker(sandbox, time.monotonic() + 30).start()
    root = "/submission" if level.namespaces else str(sandbox.submission)
    worker.call("load", layout="flat", root=root)
    worker.close()


def cold_cli(path):
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(path)], capture_output=True, check=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    console = Console()
    rubric = load_rubric()
    namespaces, process = detect("strict"), detect("process")
    parts = len(rubric.parts)
    with tempfile.TemporaryDirectory() as scratch:
        submissions = {
            "solution (10/10)": REPO / "solutions" / "micrograd",
            "stubs (0/10)": REPO / "assignments" / "micrograd",
            "example (7/10)": REPO / "examples" / "submission",
            "micrograd 0.1.0 (7/10)": karpathy_micrograd(scratch),
        }
        table = Table(title=f"grading one submission, {args.rounds} rounds (seconds)")
        for column in ("submission", "bubblewrap median", "best", "process-only median", "sandbox overhead"):
            table.add_column(column, justify="right" if column != "submission" else "left")
        for name, path in submissions.items():
            sandboxed = timed(lambda: grade(path, rubric=rubric, level=namespaces), args.rounds)
            plain = timed(lambda: grade(path, rubric=rubric, level=process), args.rounds)
            table.add_row(name, f"{sandboxed[0]:.3f}", f"{sandboxed[1]:.3f}", f"{plain[0]:.3f}",
                          f"{sandboxed[0] - plain[0]:+.3f}")
        console.print(table)

        starts = Table(title="starting one worker and importing the submission (seconds)")
        for column in ("level", "median", f"x {parts} parts"):
            starts.add_column(column, justify="right" if column != "level" else "left")
        solution = submissions["solution (10/10)"]
        medians = {}
        for level in (namespaces, process):
            median, _ = timed(lambda: worker_start(level, solution), args.rounds * 4)
            medians[level.name] = median
            starts.add_row(level.name, f"{median:.4f}", f"{median * parts:.3f}")
        console.print(starts)
        console.print(f"sandbox overhead per submission (worker starts, bubblewrap minus process-only, "
                      f"x {parts} parts): {(medians['bubblewrap'] - medians['process']) * parts:.3f} s")
        cli = [cold_cli(submissions["example (7/10)"]) for _ in range(3)]
        console.print(f"`autograder grade examples/submission` from a cold start: median "
                      f"{statistics.median(cli):.2f} s (interpreter, imports and grading)")


if __name__ == "__main__":
    main()
