"""`autograder grade-all`: a whole class into a gradebook, in parallel, resumably, with every
student's row, whatever the student handed in or named their folder."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import classroom
from autograder import grade_all
from autograder.batch import pool
from autograder.batch.gradebook import rows
from autograder.batch.records import RecordStore
from autograder.batch.students import file_name, find_submissions, printable
from autograder.grading.results import ERROR, FAILED, PASSED, CheckResult, GradeResult, PartResult
from autograder.grading.rubric import DEFAULT_RUBRIC, load_rubric

HOSTILE_IDS = ["..", ".", "../../etc/passwd", "a/b", "new\nline", "tab\there", "\x00nul", "\u202eevil.exe",
               "=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)", "\udcff\udcfe", "Alice", "alice", "%41lice",
               "x" * 400, "x" * 399 + "y", "名前", " "]

TOTAL, PROBLEM = -3, -2  # the gradebook's last columns: total, problem, review


@pytest.fixture
def rubric():
    return load_rubric()


def read_gradebook(out):
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def stamps(folder):
    """Identity and content of every file in `folder`: unchanged means never rewritten."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}


def a_result(rubric, passed=(), problem="", outcome=FAILED):
    """A GradeResult whose parts in `passed` pass and whose other parts end with `outcome`."""
    def check(part):
        return CheckResult(part.id, "check", PASSED) if part.id in passed else CheckResult(part.id, "check", outcome, "wrong")
    parts = tuple(PartResult(p.id, p.title, p.points, (check(p),)) for p in rubric.parts)
    return GradeResult("x", parts, "bubblewrap", 0.1, problem)


# ------------------------------------------------------------------ finding the submissions

def test_one_submission_per_folder_zip_or_file_named_by_student(tmp_path):
    (tmp_path / "bob").mkdir()
    (tmp_path / "alice.zip").write_bytes(b"")
    (tmp_path / "carol.ZIP").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / ".DS_Store").write_text("")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "results").mkdir()
    found = find_submissions(tmp_path, exclude=[tmp_path / "results"])
    assert [(s.student, s.path.name, s.problem) for s in found] == [
        ("alice", "alice.zip", ""), ("bob", "bob", ""), ("carol", "carol.ZIP", ""), ("notes.txt", "notes.txt", "")]


def test_nbgrader_layout_is_recognised(tmp_path):
    submitted = tmp_path / "course" / "submitted"
    (submitted / "alice" / "micrograd").mkdir(parents=True)
    (submitted / "bob" / "other-assignment").mkdir(parents=True)
    for folder in (tmp_path / "course", submitted):
        found = find_submissions(folder)
        assert [(s.student, s.path) for s in found] == [("alice", submitted / "alice" / "micrograd"),
                                                        ("bob", submitted / "bob" / "micrograd")]
        assert found[0].problem == ""
        assert "no micrograd/ folder" in found[1].problem and "other-assignment" in found[1].problem
    assert [s.problem == "" for s in find_submissions(submitted, assignment="other-assignment")] == [False, True]


def test_two_submissions_of_one_student_are_one_row_that_says_so(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice.zip").write_bytes(b"")
    [only] = find_submissions(tmp_path)
    assert only.student == "alice" and "several submissions" in only.problem and "alice.zip" in only.problem


def test_file_names_of_hostile_ids_are_safe_and_distinct():
    names = [file_name(student) for student in HOSTILE_IDS]
    assert len(set(names)) == len(names)
    for name in names:
        assert name and len(name) <= 160 and not name.startswith(".") and ".." not in name
        assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-~%")


def test_ids_are_shown_without_control_or_format_characters():
    assert printable("new\nline\ttab") == "new\\x0aline\\x09tab"
    assert printable("\u202eevil") == "\\u202eevil"
    assert printable("\udcff") == "\\udcff"
    assert printable("名前 ok") == "名前 ok"


def test_gradebook_cells_cannot_run_as_spreadsheet_formulas(rubric):
    graded = [(student, a_result(rubric, {"add"}, problem="=1+2 broken")) for student in HOSTILE_IDS]
    table = list(rows(graded, rubric))
    assert table[0] == ["student", *(p.id for p in rubric.parts), "total", "problem", "review"]
    for row in table[1:]:
        assert not row[0].startswith(("=", "+", "-", "@")) and not row[PROBLEM].startswith(("=", "+", "-", "@"))
        assert row[PROBLEM] == "'=1+2 broken" and row[1] == "1" and row[TOTAL] == "1"
        assert not any(ch in cell for cell in row for ch in "\n\r\t\x00\u202e")
    assert [row[0] for row in table[1:]][8:12] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-1", "'@SUM(A1)"]


# ------------------------------------------------------------------ records and resuming

def test_a_record_is_trusted_only_whole_and_with_the_same_rubric(tmp_path, rubric):
    store = RecordStore(tmp_path, rubric)
    store.save("alice", a_result(rubric, {"add"}))
    assert store.load("alice").score == 1.0
    assert store.load("bob") is None

    record = json.loads(store.path("alice").read_text())
    store.path("alice").write_text(json.dumps(record)[:-20])  # a torn write
    assert store.load("alice") is None

    store.save("alice", a_result(rubric, {"add"}))
    changed = tmp_path / "rubric.toml"
    text = DEFAULT_RUBRIC.read_text()
    changed.write_text(text.replace("[parts.add]\ntitle = \"the _backward of +\"\npoints = 1",
                                    "[parts.add]\ntitle = \"the _backward of +\"\npoints = 2"))
    assert RecordStore(tmp_path, load_rubric(changed)).load("alice") is None
    changed.write_text(text.replace("[parts.add]\n", "[parts.add]\nvisibility = \"hidden\"\n"))
    assert RecordStore(tmp_path, load_rubric(changed)).load("alice") is not None, "visibility changes no score"

    store.path("bob").write_text(store.path("alice").read_text())  # alice's record under bob's name
    assert store.load("bob") is None

    store.save("carol", a_result(rubric, outcome=ERROR))  # the grader itself failed: grade again
    assert store.load("carol") is None


def unreadable_class(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    classroom.broken_zip(folder / "broken.zip")
    classroom.without_engine(folder / "no-engine")
    (folder / "essay.pdf").write_bytes(b"%PDF-1.4")
    classroom.broken_zip(folder / "=cmd|' calc'!A0.zip")
    return folder


def test_unreadable_submissions_get_rows_with_their_error(tmp_path):
    folder, out = unreadable_class(tmp_path), tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(folder), "--out", str(out),
                           "--jobs", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "4 students: 4 graded now" in done.stdout and "4 could not be graded" in done.stdout
    book = read_gradebook(out)
    assert [row[0] for row in book] == ["student", "'=cmd|' calc'!A0", "broken", "essay.pdf", "no-engine"]
    problems = {row[0]: row[PROBLEM] for row in book[1:]}
    assert "not a valid zip" in problems["broken"] and "not a valid zip" in problems["'=cmd|' calc'!A0"]
    assert "a submission is a folder or a .zip" in problems["essay.pdf"]
    assert "no engine.py" in problems["no-engine"]
    assert all(row[TOTAL] == "0" for row in book[1:])
    for student in ("broken", "essay.pdf", "no-engine", "=cmd|' calc'!A0"):
        payload = json.loads((out / "gradescope" / f"{file_name(student)}.json").read_text())
        classroom.assert_gradescope_valid(payload)
        assert payload["score"] == 0 and "could not be graded" in payload["output"]


@pytest.fixture
def quick_grading(monkeypatch, rubric):
    """Grading replaced by a stand-in that gives every submission 1 point for `add`, and
    lists what it was asked to grade: for testing what grade-all does around grading."""
    asked = []

    def grade_locally(submissions, **kwargs):
        for submission in submissions:
            asked.append(submission.student)
            yield submission, a_result(rubric, {"add"}).to_dict()
    monkeypatch.setattr(pool, "grade_locally", grade_locally)
    return asked


def test_a_rerun_grades_only_what_is_missing(tmp_path, quick_grading):
    folder, out = unreadable_class(tmp_path), tmp_path / "out"
    students = ["=cmd|' calc'!A0", "broken", "essay.pdf", "no-engine"]
    assert grade_all.main(directory=folder, out=out) == 0
    assert quick_grading == students
    book = read_gradebook(out)
    (out / "results" / f"{file_name('broken')}.json").unlink()
    (out / "results" / f"{file_name('essay.pdf')}.json").write_text('{"student": "essay.pdf", "rub')  # torn
    before = stamps(out / "results")

    quick_grading.clear()
    assert grade_all.main(directory=folder, out=out) == 0
    assert quick_grading == ["broken", "essay.pdf"]
    after = stamps(out / "results")
    untouched = [name for name in before if name != "essay%2Epdf.json"]
    assert {name: after[name] for name in untouched} == {name: before[name] for name in untouched}
    assert read_gradebook(out) == book

    quick_grading.clear()
    assert grade_all.main(directory=folder, out=out, force=True) == 0
    assert quick_grading == students


def test_a_lost_task_is_an_error_row_and_graded_again_next_time(tmp_path, monkeypatch, quick_grading, capsys):
    folder, out = unreadable_class(tmp_path), tmp_path / "out"
    quick = pool.grade_locally

    def crashing(submissions, **kwargs):
        for submission in submissions:
            yield submission, RuntimeError("worker died")
    monkeypatch.setattr(pool, "grade_locally", crashing)
    assert grade_all.main(directory=folder, out=out) == 3
    assert all("the grading task failed (RuntimeError: worker died)" in row[PROBLEM] for row in read_gradebook(out)[1:])
    assert "the grader itself failed for 4 submission(s)" in capsys.readouterr().err
    assert not list((out / "results").iterdir())
    monkeypatch.setattr(pool, "grade_locally", quick)
    assert grade_all.main(directory=folder, out=out) == 0
    assert len(quick_grading) == 4


def test_an_nbgrader_course_gets_a_row_per_student(tmp_path, quick_grading):
    submitted = tmp_path / "course" / "submitted"
    (submitted / "alice" / "micrograd").mkdir(parents=True)
    (submitted / "bob" / "week1").mkdir(parents=True)
    assert grade_all.main(directory=tmp_path / "course", out=tmp_path / "out") == 0
    assert quick_grading == ["alice"]
    book = read_gradebook(tmp_path / "out")
    assert [row[0] for row in book[1:]] == ["alice", "bob"]
    assert [book[1][TOTAL], book[1][PROBLEM]] == ["1", ""] and book[2][TOTAL] == "0" and "no micrograd/ folder" in book[2][PROBLEM]


def test_html_pages_for_the_class(tmp_path, quick_grading):
    pytest.importorskip("autograder.reports.html", reason="the HTML report is another change's")
    folder, out = unreadable_class(tmp_path), tmp_path / "out"
    assert grade_all.main(directory=folder, out=out, html=tmp_path / "pages") == 0
    assert (tmp_path / "pages" / "index.html").is_file()
    assert len(list((tmp_path / "pages").glob("*.html"))) == 5


# ------------------------------------------------------------------ clear errors

@pytest.mark.parametrize("case, message", [
    ("missing", "no such folder"),
    ("empty", "no submissions in"),
    ("a file", "is not a folder"),
    ("out is a file", "cannot write to the output folder"),
    ("out inside a file", "cannot write to the output folder"),
    ("out is the class", "--out must be another folder"),
    ("no jobs", "--jobs must be at least 1"),
])
def test_what_cannot_start_says_why(tmp_path, capsys, case, message):
    folder, out, jobs = tmp_path / "class", tmp_path / "out", 2
    if case != "missing":
        folder.mkdir()
    if case not in ("missing", "empty"):
        classroom.broken_zip(folder / "alice.zip")
    if case == "a file":
        folder = folder / "alice.zip"
    if case == "out is a file":
        out.write_text("")
    if case == "out inside a file":
        (tmp_path / "file").write_text("")
        out = tmp_path / "file" / "out"
    if case == "out is the class":
        out = folder
    if case == "no jobs":
        jobs = 0
    assert grade_all.main(directory=folder, out=out, jobs=jobs) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


# ------------------------------------------------------------------ whole classes (slow)

@pytest.fixture
def mixed_class(repo, tmp_path):
    """{student: honest total} and the folder holding their submissions."""
    folder = tmp_path / "class"
    folder.mkdir()
    totals = {
        "ada": classroom.correct(repo, folder / "ada"),
        "bob": classroom.wrong(repo, folder / "bob"),
        "cy": classroom.zipped(classroom.example, repo, folder / "cy.zip"),
        "dee": classroom.stubs(repo, folder / "dee"),
        "=2+3": classroom.correct(repo, folder / "=2+3"),
        "eve": classroom.hostile(repo, folder / "eve", [folder / "ada", tmp_path / "out"]),
    }
    classroom.broken_zip(folder / "fay.zip")
    classroom.without_engine(folder / "gus")
    return folder, totals


@pytest.mark.slow
def test_a_mixed_class_gets_a_complete_gradebook(mixed_class, tmp_path, rubric, capsys):
    folder, totals = mixed_class
    ada_before = {p.name: p.read_bytes() for p in (folder / "ada").iterdir()}
    out = tmp_path / "out"
    assert grade_all.main(directory=folder, out=out, jobs=2) == 0
    book = read_gradebook(out)
    assert book[0] == ["student", *(p.id for p in rubric.parts), "total", "problem", "review"]
    table = {row[0]: row for row in book[1:]}
    assert [row[0] for row in book[1:]] == ["'=2+3", "ada", "bob", "cy", "dee", "eve", "fay", "gus"]
    for student, total in totals.items():
        shown = "'" + student if student.startswith("=") else student
        assert float(table[shown][TOTAL]) == total, (student, table[shown])
        assert table[shown][PROBLEM] == ""
    relu = book[0].index("relu")
    assert table["bob"][relu] == "0" and table["ada"][relu] == f"{rubric.part('relu').points:g}"
    assert "not a valid zip" in table["fay"][PROBLEM] or "cannot be unpacked" in table["fay"][PROBLEM]
    assert "no engine.py" in table["gus"][PROBLEM]
    assert {p.name: p.read_bytes() for p in (folder / "ada").iterdir()} == ada_before
    for path in (out / "gradescope").iterdir():
        payload = json.loads(path.read_text())
        classroom.assert_gradescope_valid(payload)
        assert payload["score"] <= classroom.CORRECT
    eve = json.loads((out / "gradescope" / "eve.json").read_text())
    assert eve["score"] == 0 and "os.walk" in table["eve"][-1] and "os.walk" in eve["extra_data"]["review"][0]
    assert "8 students: 8 graded now" in capsys.readouterr().out


SITECUSTOMIZE = '''
import os
from autograder.grading import session

_real = session.grade_safely


def grade_safely(path, **kwargs):
    with open(os.environ["GRADED_LOG"], "a") as log:
        log.write(os.path.basename(str(path)) + "\\n")
    return _real(path, **kwargs)


session.grade_safely = grade_safely
'''


@pytest.mark.slow
def test_a_killed_run_resumes_without_regrading(repo, tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    folder.mkdir()
    students = [f"s{n}" for n in range(5)]
    for n, student in enumerate(students):
        (classroom.correct if n % 2 else classroom.wrong)(repo, folder / student)
    command = [sys.executable, "-m", "autograder", "grade-all", str(folder), "--out", str(out), "--jobs", "1"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list((out / "results").glob("s*.json"))) < 2:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done_before = stamps(out / "results")
    assert 2 <= len(done_before) < len(students), "the run was not killed halfway"

    instrument = tmp_path / "instrument"
    instrument.mkdir()
    (instrument / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / "graded.log"
    paths = [str(instrument), str(repo), *filter(None, [os.environ.get("PYTHONPATH")])]  # sitecustomize: this checkout
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "GRADED_LOG": str(log)}
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert second.returncode == 0, second.stderr
    regraded = sorted(log.read_text().split())
    assert regraded == sorted(set(students) - {name.removesuffix(".json") for name in done_before})
    after = stamps(out / "results")
    assert {name: after[name] for name in done_before} == done_before
    assert sorted(after) == [f"{student}.json" for student in students]
    totals = {row[0]: row[TOTAL] for row in read_gradebook(out)[1:]}
    expected = {student: classroom.CORRECT if n % 2 else classroom.WRONG for n, student in enumerate(students)}
    assert totals == {student: f"{points:g}" for student, points in expected.items()}
