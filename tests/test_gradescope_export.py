"""`autograder export gradescope`: the autograder zip, and `run_autograder` run against a
temporary folder standing in for Gradescope's /autograder."""
import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from importlib import resources

import pytest

import classroom
from checkout import clone
from autograder import export
from autograder.grading.rubric import DEFAULT_RUBRIC, RubricError, load_rubric
from autograder.reports.gradescope import results_json

VISIBILITY = {"add": "hidden", "backward": "after_due_date", "convergence": "after_published"}


def rubric_with_visibility(folder, visibility=VISIBILITY):
    text = DEFAULT_RUBRIC.read_text()
    for part, value in visibility.items():
        text = text.replace(f"[parts.{part}]\n", f"[parts.{part}]\nvisibility = {json.dumps(value)}\n")
    path = folder / "rubric.toml"
    path.write_text(text)
    return path


def gradescope_root(tmp_path, rubric=DEFAULT_RUBRIC, scripts=None):
    """An empty stand-in for /autograder: source/ holds the zip's scripts and rubric."""
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    for name in export.SCRIPTS:
        source = scripts / name if scripts else resources.files("autograder.integrations") / "gradescope_files" / name
        (root / "source" / name).write_bytes(source.read_bytes())
        (root / "source" / name).chmod(0o755)
    shutil.copy(rubric, root / "source" / "rubric.toml")
    return root


def run_autograder(root, python=sys.executable, env=None):
    """Gradescope's per-submission step; the results it left."""
    env = {**(env or os.environ), "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": str(python)}
    done = subprocess.run(["sh", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def autograder_grade(path, rubric=DEFAULT_RUBRIC):
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", "--json", "--rubric", str(rubric), str(path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def scores(payload):
    return payload["score"], [(t["name"], t["score"], t["max_score"], t["status"]) for t in payload["tests"]]


# ------------------------------------------------------------------ visibility in the rubric

def test_each_part_takes_its_visibility_from_the_rubric(tmp_path):
    rubric = load_rubric(rubric_with_visibility(tmp_path))
    assert {p.id: p.visibility for p in rubric.parts} == {p.id: VISIBILITY.get(p.id, "visible") for p in rubric.parts}
    from autograder.grading.results import GradeResult
    result = GradeResult.from_dict({"submission": "s", "isolation": "i", "seconds": 0, "parts": [
        {"id": p.id, "title": p.title, "max_points": p.points, "checks": []} for p in rubric.parts]})
    payload = results_json(result, rubric=rubric)
    classroom.assert_gradescope_valid(payload)
    assert {t["tags"][0]: t["visibility"] for t in payload["tests"]} == {p.id: p.visibility for p in rubric.parts}


def synthetic_result(rubric, failed=()):
    from autograder.grading.results import FAILED, PASSED, CheckResult, GradeResult, PartResult
    return GradeResult("s", tuple(PartResult(p.id, p.title, p.points, (CheckResult(
        p.id, "check", FAILED if p.id in failed else PASSED, "wrong" if p.id in failed else ""),)) for p in rubric.parts),
        "bubblewrap", 0.5)


def seen_at_once(payload):
    """Every text a student sees before the due date: the top-level output and the visible tests."""
    tests = [t for t in payload["tests"] if t["visibility"] == "visible"]
    return "\n".join([payload["output"], *(t["name"] + "\n" + t["output"] for t in tests)])


@pytest.mark.parametrize("failed", [(), ("add",), ("add", "backward", "convergence", "mul")])
def test_no_text_a_student_sees_gives_away_a_part_not_shown_yet(tmp_path, failed):
    rubric = load_rubric(rubric_with_visibility(tmp_path))
    payload = results_json(synthetic_result(rubric, failed), rubric=rubric)
    seen = seen_at_once(payload)
    for part in rubric.parts:
        if part.visibility != "visible":
            assert not re.search(rf"\b{part.id}\b", seen) and part.title not in seen, part.id
    visible = [p for p in rubric.parts if p.visibility == "visible"]
    score = sum(p.points for p in visible if p.id not in failed)
    assert re.findall(r"\d+ / \d+", payload["output"]) == [f"{score:g} / {sum(p.points for p in visible):g}"]
    assert payload["score"] == sum(p.points for p in rubric.parts if p.id not in failed)  # Gradescope's grade


def test_grade_json_takes_each_parts_visibility_from_the_rubric(tmp_path, repo):
    rubric = rubric_with_visibility(tmp_path)
    payload = autograder_grade(repo / "assignments" / "micrograd", rubric)
    assert {t["tags"][0]: t["visibility"] for t in payload["tests"]} == \
        {p.id: p.visibility for p in load_rubric(rubric).parts}
    assert "Score on the parts shown now: 0 / 6" in payload["output"]


def test_with_every_part_visible_the_output_gives_the_total(tmp_path):
    rubric = load_rubric()
    payload = results_json(synthetic_result(rubric, ["add"]), rubric=rubric)
    assert payload["output"].startswith("Score: 9 / 10\n")


@pytest.mark.parametrize("value", ["secret", "Hidden", 1, True, ["hidden"]])
def test_an_unknown_visibility_is_a_clear_rubric_error(tmp_path, value):
    with pytest.raises(RubricError, match=r"parts\.add\.visibility must be one of visible, hidden, after_due_date, "
                                          r"after_published"):
        load_rubric(rubric_with_visibility(tmp_path, {"add": value}))


# ------------------------------------------------------------------ run_autograder, fast cases

def test_an_unreadable_submission_gets_a_valid_zero(tmp_path):
    root = gradescope_root(tmp_path, rubric_with_visibility(tmp_path))
    classroom.without_engine(root / "submission")
    payload = run_autograder(root)
    classroom.assert_gradescope_valid(payload)
    assert payload["score"] == 0 and "no engine.py" in payload["output"]
    assert {t["tags"][0]: t["visibility"] for t in payload["tests"]}["add"] == "hidden"


def test_a_broken_rubric_still_gives_gradescope_a_zero(tmp_path):
    root = gradescope_root(tmp_path)
    (root / "source" / "rubric.toml").write_text("[parts.add]\npoints = 'many'\n")
    classroom.without_engine(root / "submission")
    payload = run_autograder(root)
    classroom.assert_gradescope_valid(payload)
    assert payload["score"] == 0 and "could not grade" in payload["output"] and "RubricError" in payload["output"]


def test_no_python_at_all_still_gives_gradescope_a_zero(tmp_path):
    root = gradescope_root(tmp_path)
    payload = run_autograder(root, python=tmp_path / "no-such-python")
    classroom.assert_gradescope_valid(payload)
    assert payload["score"] == 0 and "failed to start" in payload["output"]


@pytest.mark.parametrize("out, message", [("missing/folder/autograder.zip", "its folder does not exist")])
def test_export_errors_are_clear(tmp_path, capsys, out, message):
    assert export.main(out=str(tmp_path / out)) == 2
    assert message in capsys.readouterr().err
    assert export.main(out=str(tmp_path / "a.zip"), rubric=str(tmp_path / "none.toml")) == 2
    assert "rubric file not found" in capsys.readouterr().err


def test_an_installed_file_changed_since_pip_installed_it_is_not_packed(tmp_path):
    changed = tmp_path / "engine.py"
    changed.write_text("# changed after installation\n")
    recorded = type("PackagePath", (), {"hash": type("FileHash", (), {"mode": "sha256", "value": "x"}),
                                        "as_posix": lambda self: "autograder/given/engine.py"})()
    with zipfile.ZipFile(tmp_path / "a.whl", "w") as wheel, \
            pytest.raises(export.ExportError, match="differs from the file pip installed; reinstall"):
        export.record_line(wheel, recorded, changed)


# ------------------------------------------------------------------ the real zip (slow)

@pytest.fixture(scope="module")
def installed(repo, tmp_path_factory):
    """The `autograder` command of a throwaway virtual environment in which a copy of this
    checkout was installed as `pip install .` does (not editable), the copy then removed."""
    scratch = tmp_path_factory.mktemp("installed")
    copy = clone(repo, scratch / "clone")
    venv.create(scratch / "venv", with_pip=True)
    done = subprocess.run([scratch / "venv" / "bin" / "python", "-m", "pip", "install", "-q", str(copy)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    shutil.rmtree(copy)
    return scratch / "venv" / "bin" / "autograder"


@pytest.fixture(scope="module")
def checkout_zip(tmp_path_factory):
    """The zip `autograder export gradescope` builds from this checkout."""
    folder = tmp_path_factory.mktemp("export")
    rubric = rubric_with_visibility(folder)
    assert export.main(out=str(folder / "autograder.zip"), rubric=str(rubric)) == 0
    return folder / "autograder.zip", rubric


@pytest.fixture(scope="module")
def installed_zip(installed, tmp_path_factory):
    """The zip the `autograder` command of a plain install builds, run outside any checkout."""
    folder = tmp_path_factory.mktemp("export-installed")
    rubric = rubric_with_visibility(folder)
    done = subprocess.run([installed, "export", "gradescope", "--out", "autograder.zip", "--rubric", str(rubric)],
                          cwd=folder, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return folder / "autograder.zip", rubric


@pytest.fixture(scope="module", params=["checkout_zip", "installed_zip"])
def gradescope_zip(request):
    return request.getfixturevalue(request.param)


def own_wheel(zip_path):
    """{name: bytes} of the members of the zip's micrograd_autograder wheel."""
    with zipfile.ZipFile(zip_path) as archive:
        [name] = [n for n in archive.namelist() if n.startswith("wheels/micrograd_autograder-")]
        with zipfile.ZipFile(io.BytesIO(archive.read(name))) as wheel:
            return {member: wheel.read(member) for member in wheel.namelist()}


@pytest.mark.slow
def test_a_plain_install_packs_the_wheel_a_checkout_builds(checkout_zip, installed_zip):
    """After `pip install .` there is no source checkout: the wheel is packed again from the
    installed files, and holds what the checkout's own build holds, package data included."""
    packed, reference = own_wheel(installed_zip[0]), own_wheel(checkout_zip[0])
    [record] = [name for name in packed if name.endswith(".dist-info/RECORD")]
    assert sorted(packed) == sorted(reference)
    assert {n: d for n, d in packed.items() if n != record} == {n: d for n, d in reference.items() if n != record}
    assert {"autograder/rubric.toml", "autograder/given/engine.py", "autograder/reports/templates/student.html",
            "autograder/integrations/gradescope_files/setup.sh", "autograder/hidden/pytest.ini"} <= set(packed)
    for line in packed[record].decode().splitlines():
        name, digest, size = line.rsplit(",", 2)
        if name != record:
            data = packed[name]
            assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert int(size) == len(data)


def unzip_into_root(tmp_path, zip_path):
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # zipfile does not restore modes
            (root / "source" / info.filename).chmod(info.external_attr >> 16 & 0o777)
    return root


@pytest.mark.slow
def test_the_zip_holds_the_scripts_the_rubric_and_every_wheel(gradescope_zip):
    out, rubric = gradescope_zip
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 & 0o777 for info in archive.infolist()}
        assert archive.read("rubric.toml") == rubric.read_bytes()
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    wheels = {name.split("/")[1].split("-")[0].lower() for name in names if name.startswith("wheels/")}
    assert {"micrograd_autograder", "hypothesis", "pytest", "rich", "pluggy", "sortedcontainers"} <= wheels
    assert all(name.endswith("-none-any.whl") for name in names if name.startswith("wheels/"))


@pytest.mark.slow
def test_setup_installs_offline_and_run_autograder_scores_what_grade_scores(gradescope_zip, repo, tmp_path):
    out, rubric = gradescope_zip
    root = unzip_into_root(tmp_path, out)
    # nothing but the zip: no package index, no pip configuration, no PYTHONPATH
    offline = {key: value for key, value in os.environ.items() if not key.startswith("PIP_") and key != "PYTHONPATH"}
    offline.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", AUTOGRADER_ROOT=str(root),
                   AUTOGRADER_BASE_PYTHON=sys.executable)
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=offline, capture_output=True, text=True,
                           timeout=600)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    venv_python = root / "venv" / "bin" / "python"
    where = subprocess.run([venv_python, "-I", "-c", "import autograder; print(autograder.__file__)"], env=offline,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(root / "venv")), "the grader must come from the zip's wheel"

    for build in (classroom.correct, classroom.wrong):
        shutil.rmtree(root / "submission", ignore_errors=True)
        honest = build(repo, root / "submission")
        payload = run_autograder(root, python=venv_python, env=offline)
        classroom.assert_gradescope_valid(payload)
        assert payload["score"] == honest
        assert scores(payload) == scores(autograder_grade(root / "submission", rubric))
        shown = {t["tags"][0]: t["visibility"] for t in payload["tests"]}
        assert shown == {p.id: VISIBILITY.get(p.id, "visible") for p in load_rubric(rubric).parts}


DAEMON = """
import os, time
if os.fork() == 0:  # outlive the import and try again while the grader writes its results
    os.setsid()
    end = time.time() + 4
    while time.time() < end:
        for path in __TARGETS__:
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as stream:
                    stream.write('{"score": 1000, "tests": []}')
            except OSError:
                pass
        time.sleep(0.05)
    os._exit(0)
"""


@pytest.mark.slow
def test_a_submission_cannot_write_or_print_its_own_results(repo, tmp_path):
    root = gradescope_root(tmp_path)
    results = root / "results" / "results.json"
    targets = [str(results)]  # the real path, as a submission that knows it would write it
    prelude = (f"print('{{\"score\": 1000, \"tests\": []}}')\n"
               f"for path in {targets!r}:\n"
               "    try:\n"
               "        os.makedirs(os.path.dirname(path), exist_ok=True)\n"
               "        open(path, 'w').write('{\"score\": 1000}')\n"
               "    except OSError:\n"
               "        pass\n") + DAEMON.replace("__TARGETS__", repr(targets))
    classroom.correct(repo, root / "submission", "import os\n" + prelude)
    payload = run_autograder(root)
    written = results.read_bytes()
    time.sleep(5)  # the daemon's time is up, if it ever ran
    assert results.read_bytes() == written
    classroom.assert_gradescope_valid(payload)
    # not graded, for code no honest submission needs (the sandbox alone stops the writes too:
    # tests/attacks.py, "prints and writes fake results", sandbox alone)
    assert payload["score"] == 0 and "os.makedirs" in payload["extra_data"]["review"][0]
    assert scores(payload) == scores(autograder_grade(root / "submission"))
