"""Finding and staging submissions: layouts students hand in, and archives that attack."""
import os
import shutil
import stat
import zipfile

import pytest

from autograder.grading.session import grade
from autograder.grading.submission import MAX_FILE_BYTES, SubmissionError, stage


@pytest.fixture
def solution_files(repo):
    folder = repo / "solutions" / "micrograd"
    return {name: (folder / name).read_text() for name in ("engine.py", "nn.py")}


def write(folder, files):
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder


def make_zip(path, entries):
    """entries: {name: bytes}, or {name: ("symlink", target)}."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            if isinstance(data, tuple):
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, data[1])
            else:
                zf.writestr(name, data)
    return path


def package_files(files):
    nn = files["nn.py"].replace("from engine import Value", "from micrograd.engine import Value")
    return {"micrograd/__init__.py": "", "micrograd/engine.py": files["engine.py"], "micrograd/nn.py": nn}


@pytest.mark.parametrize("layout, expected_root, expected_layout", [
    ("top", ".", "flat"), ("folder", "hw3", "flat"), ("package", "micrograd", "package"),
    ("package in folder", "alice/micrograd", "package"),
])
def test_layouts(layout, expected_root, expected_layout, solution_files, tmp_path):
    files = {"top": solution_files, "folder": {f"hw3/{k}": v for k, v in solution_files.items()},
             "package": package_files(solution_files),
             "package in folder": {f"alice/{k}": v for k, v in package_files(solution_files).items()}}[layout]
    files["__MACOSX/._engine.py"] = "junk"
    staged = stage(write(tmp_path / "in", files), tmp_path / "staged")
    assert (staged.root, staged.layout, staged.has_nn) == (expected_root, expected_layout, True)


@pytest.mark.slow
def test_package_layout_in_a_zip_grades_full_marks(solution_files, tmp_path):
    archive = make_zip(tmp_path / "alice.zip", {k: v.encode() for k, v in package_files(solution_files).items()})
    result = grade(archive)
    assert result.score == result.max_score and result.internal_errors == []


@pytest.mark.parametrize("entries, message", [
    ({"../../evil.py": b"x = 1", "engine.py": b""}, "points outside the submission folder"),
    ({"/tmp/evil.py": b"x = 1", "engine.py": b""}, "points outside the submission folder"),
    ({"sub/../../evil.py": b"x = 1"}, "points outside the submission folder"),
    ({"C:/evil.py": b"x = 1"}, "points outside the submission folder"),
    ({"engine.py": ("symlink", "/etc/passwd")}, "is a symbolic link"),
])
def test_unsafe_archives_are_refused(entries, message, tmp_path):
    archive = make_zip(tmp_path / "bad.zip", entries)
    with pytest.raises(SubmissionError, match=message):
        stage(archive, tmp_path / "staged")
    assert not (tmp_path / "evil.py").exists() and not os.path.exists("/tmp/evil.py")


def test_unsafe_archive_scores_zero_with_a_message(tmp_path):
    archive = make_zip(tmp_path / "bad.zip", {"../evil.py": b"x = 1", "engine.py": b"", "nn.py": b""})
    result = grade(archive)
    assert result.score == 0 and "unsafe archive" in result.problem
    assert all("unsafe archive" in part.feedback[0] for part in result.parts)


def test_symlinks_in_a_folder_are_not_followed(repo, tmp_path):
    """A folder whose engine.py links to the instructor's solution must not be graded as it."""
    folder = tmp_path / "sneaky"
    folder.mkdir()
    for name in ("engine.py", "nn.py"):
        (folder / name).symlink_to(repo / "solutions" / "micrograd" / name)
    with pytest.raises(SubmissionError, match="no engine.py"):
        stage(folder, tmp_path / "staged")
    result = grade(folder)
    assert result.score == 0 and "no engine.py" in result.problem
    assert "skipped engine.py: symbolic links are not followed" in result.problem


def test_huge_python_file_is_refused_quickly(tmp_path):
    folder = tmp_path / "huge"
    folder.mkdir()
    with open(folder / "engine.py", "wb") as f:
        f.truncate(3 * 2 ** 30)  # sparse: 3 GB on paper, nothing on disk
    with pytest.raises(SubmissionError, match="over the limit"):
        stage(folder, tmp_path / "staged")


def test_huge_other_files_are_ignored(solution_files, tmp_path):
    folder = write(tmp_path / "data", solution_files)
    with open(folder / "dataset.bin", "wb") as f:
        f.truncate(5 * 2 ** 30)
    staged = stage(folder, tmp_path / "staged")
    assert sorted(p.name for p in staged.folder.rglob("*")) == ["engine.py", "nn.py"]


def test_zip_bomb_is_refused(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("engine.py", b"#" * (200 * 2 ** 20))
    assert archive.stat().st_size < MAX_FILE_BYTES
    with pytest.raises(SubmissionError, match="over the limit"):
        stage(archive, tmp_path / "staged")


@pytest.mark.parametrize("path, message", [
    ("notes.txt", "a submission is a folder or a .zip"),
    ("broken.zip", "not a valid zip archive"),
])
def test_not_a_submission(path, message, tmp_path):
    (tmp_path / path).write_text("hello")
    with pytest.raises(SubmissionError, match=message):
        stage(tmp_path / path, tmp_path / "staged")


def test_missing_and_ambiguous_engines(solution_files, tmp_path):
    with pytest.raises(SubmissionError, match=r"no engine.py in the submission \(found: notes.py\)"):
        stage(write(tmp_path / "a", {"notes.py": "x = 1"}), tmp_path / "sa")
    two = {f"{who}/{k}": v for who in ("v1", "v2") for k, v in solution_files.items()}
    with pytest.raises(SubmissionError, match="several engine.py files"):
        stage(write(tmp_path / "b", two), tmp_path / "sb")


@pytest.mark.slow
def test_undecodable_bytes_are_reported_not_crashed_on(solution_files, tmp_path):
    folder = write(tmp_path / "bytes", {"engine.py": solution_files["engine.py"], "nn.py": b"\xff\xfe\x00garbage\xc3"})
    result = grade(folder)
    lost = {p.id for p in result.parts if not p.passed}
    assert lost == {"parameters", "convergence"} and result.internal_errors == []
    assert "could not be imported" in result.parts[-1].feedback[0]
    folder = write(tmp_path / "bytes2", {"engine.py": b"\x80\x81 not utf-8", "nn.py": solution_files["nn.py"]})
    result = grade(folder)
    assert result.score == 0 and "could not be imported" in result.parts[0].feedback[0]


@pytest.mark.slow
def test_syntax_error_and_wrong_class_name(solution_files, tmp_path):
    broken = solution_files["engine.py"].replace("def __add__(self, other):", "def __add__(self, other)", 1)
    result = grade(write(tmp_path / "syntax", {"engine.py": broken, "nn.py": solution_files["nn.py"]}))
    assert result.score == 0 and "engine.py, line" in result.parts[0].feedback[0]
    renamed = solution_files["engine.py"].replace("class Value:", "class value:")
    result = grade(write(tmp_path / "renamed", {"engine.py": renamed, "nn.py": solution_files["nn.py"]}))
    assert result.score == 0 and "no class named Value" in result.parts[0].feedback[0]


def test_staging_copies_only_python_files(solution_files, tmp_path):
    folder = write(tmp_path / "mixed", {**solution_files, "notes.md": "hi", "__pycache__/x.py": "junk",
                                        ".git/hooks/pre-commit.py": "junk"})
    staged = stage(folder, tmp_path / "staged")
    assert sorted(p.relative_to(staged.folder).as_posix() for p in staged.folder.rglob("*")) == ["engine.py", "nn.py"]
    shutil.rmtree(staged.folder)
