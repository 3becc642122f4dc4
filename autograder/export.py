"""`autograder export gradescope`: the autograder zip for a Gradescope programming assignment.

The zip holds:
    setup.sh         run once by Gradescope as root: installs bubblewrap and a Python >= 3.11
                     (apt-get), then this package from wheels/ into /autograder/venv, offline
    run_autograder   run per submission: grades /autograder/submission in the sandbox and
                     writes /autograder/results/results.json (see integrations/gradescope.py)
    rubric.toml      the rubric to grade with; each part is one Gradescope test, shown to the
                     student as its `visibility` says
    wheels/          this package and every dependency, as pure-Python wheels that install
                     on any Python >= 3.11

This package's own wheel is built from the source checkout it runs from (a clone, or an
editable install), and otherwise, after a plain `pip install .`, packed again from the files
pip installed, checked against pip's record of them. Building needs pip and access to the
package index configured for it (for the dependencies).
"""
import base64
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata, resources
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from autograder.batch.records import TEMPORARY_PREFIX
from autograder.grading.rubric import DEFAULT_RUBRIC, RubricError, load_rubric

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "micrograd-autograder"
INSTALLER_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}  # what pip adds to a wheel's metadata
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
    """This package's wheel and the wheels of its dependencies, into `into`."""
    into.mkdir(parents=True, exist_ok=True)
    own = own_wheel(into, scratch_source)
    for version in TARGET_PYTHONS:
        pip("download", "--dest", into, "--only-binary=:all:", "--platform", "any", "--implementation", "py",
            "--abi", "none", "--python-version", version, own)


def own_wheel(into, scratch_source):
    """This package as a wheel in `into`: built from the source checkout it runs from, else
    packed again from the installed files."""
    if not (PROJECT_ROOT / "pyproject.toml").is_file():
        return repack_installed(into)
    shutil.copytree(PROJECT_ROOT, scratch_source, ignore=NOT_IN_A_BUILD)  # keep the checkout free of build litter
    pip("wheel", "--no-deps", "--wheel-dir", into, scratch_source)
    return next(into.glob("*.whl"))


def repack_installed(into):
    """The wheel that pip installed this package from, made again from the installed files:
    every file pip recorded (package data and metadata included), each checked against the
    hash in pip's record, without what pip itself adds; the console script is made again
    from entry_points.txt on install."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ExportError(f"{DISTRIBUTION} is neither a source checkout nor an installed package here") from None
    if Path(dist.locate_file("autograder/export.py")).resolve() != Path(__file__).resolve():
        raise ExportError(f"the installed {DISTRIBUTION} is not the code running this export ({PROJECT_ROOT}); "
                          "run the autograder command of that installation")
    files = [path for path in dist.files or () if wheel_member(path)]
    info = next((path.parent for path in files if path.name == "WHEEL"), None)
    if info is None:
        raise ExportError(f"{DISTRIBUTION} was not installed from a wheel, so it cannot be packed again")
    tag = next(line.split(":", 1)[1].strip() for line in dist.read_text("WHEEL").splitlines() if line.startswith("Tag:"))
    wheel = into / f"{info.name.removesuffix('.dist-info')}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        record = [record_line(archive, path, dist.locate_file(path)) for path in sorted(files, key=str)]
        record.append(f"{info.as_posix()}/RECORD,,")
        add(archive, f"{info.as_posix()}/RECORD", ("\n".join(record) + "\n").encode())
    return wheel


def wheel_member(path):
    """Whether an installed file (a path relative to site-packages) came from the wheel."""
    return (not path.as_posix().startswith("../") and "__pycache__" not in path.parts and path.suffix != ".pyc"
            and not (path.parent.name.endswith(".dist-info") and path.name in INSTALLER_FILES))


def record_line(archive, path, located):
    """Add one installed file to the wheel, after checking it is what pip installed; its RECORD line."""
    located = Path(located)
    data = located.read_bytes()
    digest = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    if path.hash is not None and f"{path.hash.mode}={path.hash.value}" != digest:
        raise ExportError(f"{located} differs from the file pip installed; reinstall {DISTRIBUTION}")
    add(archive, path.as_posix(), data, executable=bool(located.stat().st_mode & 0o111))
    return f"{path.as_posix()},{digest},{len(data)}"


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
