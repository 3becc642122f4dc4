"""`autograder export gradescope`: the autograder zip for a Gradescope programming assignment.

The zip holds:
    setup.sh         run once by Gradescope as root: installs bubblewrap and a Python >= 3.11
                     (apt-get), then this package from wheels/ into /autograder/venv, offline
    run_autograder   run per submission: grades /autograder/submission in the sandbox and
                     writes /autograder/results/results.json (see integrations/gradescope.py)
    rubric.toml      the rubric to grade with; each part is one Gradescope test, shown to the
                     student as its `visibility` says
    wheels/          this package, built from this checkout, and every dependency, as
                     pure-Python wheels that install on any Python >= 3.11

Building needs pip and access to the package index configured for it.
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from autograder.batch.records import TEMPORARY_PREFIX
from autograder.grading.rubric import DEFAULT_RUBRIC, RubricError, load_rubric

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TARGET_PYTHONS = ("3.11", "3.12", "3.13")  # the zip's wheels must install on whichever Gradescope's image has
SCRIPTS = ("setup.sh", "run_autograder")
NOT_IN_A_BUILD = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis",
                                        ".pytest_cache", ".benchmarks", "node_modules", ".venv")


class ExportError(Exception):
    """The zip cannot be built; the message says why."""


def main(*, target="gradescope", out="autograder.zip", rubric=None, console=None):
    console = console or Console(stderr=True)
    if target != "gradescope":
        console.print(f"[red]error:[/] unknown export target {escape(target)!r}; the one target is gradescope")
        return 2
    try:
        parts = load_rubric(rubric).parts
        if not Path(out).resolve().parent.is_dir():
            raise ExportError(f"cannot write {out}: its folder does not exist")
        with console.status("building the package and collecting its dependencies (pip)"):
            wheels = build_gradescope_zip(Path(out), Path(rubric) if rubric else DEFAULT_RUBRIC)
    except (ExportError, RubricError) as error:
        console.print(f"[red]error:[/] {escape(str(error))}")
        return 2
    shown = ", ".join(f"{p.id} ({p.visibility})" for p in parts)
    console.print(f"wrote {escape(str(out))}: setup.sh, run_autograder, rubric.toml and {len(wheels)} wheels.\n"
                  f"Tests and their visibility: {escape(shown)}.\n"
                  "Upload it as the assignment's autograder (Configure Autograder, any Ubuntu base image).")
    return 0


def build_gradescope_zip(out, rubric_path):
    """Write the zip to `out` (atomically); return the names of the wheels in it."""
    with tempfile.TemporaryDirectory(prefix="autograder-export-") as scratch:
        wheels = Path(scratch) / "wheels"
        build_wheels(wheels, Path(scratch) / "source")
        names = sorted(p.name for p in wheels.glob("*.whl"))
        write_zip(out, rubric_path, wheels)
    return names


def build_wheels(into, scratch_source):
    """This checkout's wheel and the wheels of its dependencies, into `into`."""
    if not (PROJECT_ROOT / "pyproject.toml").is_file():
        raise ExportError(f"export builds the package from its source checkout, and {PROJECT_ROOT} is not one "
                          "(run it from a clone of the repository, installed with pip install -e .)")
    shutil.copytree(PROJECT_ROOT, scratch_source, ignore=NOT_IN_A_BUILD)  # keep the checkout free of build litter
    pip("wheel", "--no-deps", "--wheel-dir", into, scratch_source)
    own = next(into.glob("*.whl"))
    for version in TARGET_PYTHONS:
        pip("download", "--dest", into, "--only-binary=:all:", "--platform", "any", "--implementation", "py",
            "--abi", "none", "--python-version", version, own)


def pip(*args):
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-6:])
        raise ExportError(f"pip {args[0]} failed:\n{tail}")


def write_zip(out, rubric_path, wheels):
    try:
        handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=TEMPORARY_PREFIX, suffix=".zip")
    except OSError as error:
        raise ExportError(f"cannot write {out}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as stream, zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in SCRIPTS:
                script = resources.files("autograder.integrations").joinpath("gradescope_files", name)
                add(archive, name, script.read_bytes(), executable=True)
            add(archive, "rubric.toml", rubric_path.read_bytes())
            for wheel in sorted(wheels.glob("*.whl")):
                add(archive, f"wheels/{wheel.name}", wheel.read_bytes())
        os.replace(temporary, out)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise ExportError(f"cannot write {out}: {error.strerror or error}") from None


def add(archive, name, data, executable=False):
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)
