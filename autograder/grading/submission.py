"""Find and stage a submission: a folder or a .zip holding engine.py and nn.py, at its top,
inside one folder, or inside a `micrograd/` package.

Staging copies the submission's Python files into a fresh folder that the grader owns; nothing
is used in place. A zip entry with an absolute path, a `..` component or a symlink makes the
whole archive unsafe; oversized files and archives are refused (an archive's size and its
table of contents are measured before it is opened); symlinks in a folder are skipped. Every
refusal, and any failure to read or unpack, is a SubmissionError whose message is meant for
the student and names no folder of the grader's.
"""
import re
import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from autograder.text import printable

MAX_FILE_BYTES = 1 << 20
MAX_TOTAL_BYTES = 16 << 20
MAX_FILES = 500
MAX_ARCHIVE_BYTES = 32 << 20
MAX_ENTRIES = 10 * MAX_FILES
MAX_DIRECTORY_BYTES = 1 << 20  # the archive's table of contents, read whole by zipfile
IGNORED_FOLDERS = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis"}


class SubmissionError(ValueError):
    """The submission cannot be graded; the message says why."""


@dataclass(frozen=True)
class Staged:
    folder: Path  # the grader's copy of the submission
    root: str  # folder (relative to `folder`) that holds engine.py; "." for the top
    layout: str  # "flat": `from engine import Value`; "package": `from micrograd.engine import Value`
    has_nn: bool
    warnings: tuple = ()


def stage(path, into):
    """Copy the submission at `path` (folder or .zip) into the empty folder `into`; return Staged."""
    path, into = Path(path), Path(into)
    name = printable(path.name)
    try:
        if path.is_dir():
            warnings = _copy_folder(path, into)
        elif path.is_file() and _looks_like_zip(path):
            warnings = _extract_zip(path, into)
        elif path.suffix.lower() == ".zip":
            raise SubmissionError(f"{name} is not a valid zip archive")
        else:
            raise SubmissionError(f"{name}: a submission is a folder or a .zip archive")
        return _locate(into, tuple(warnings))
    except OSError as error:  # unreadable files, names too long, a file and a folder of one name, ...
        raise SubmissionError(f"{name} cannot be read or unpacked: {error.strerror or type(error).__name__}"
                              + (f" ({printable(Path(error.filename).name)})" if error.filename else "")) from None


def _looks_like_zip(path):
    """A zip archive of acceptable size whose table of contents is small, measured from its end
    record before zipfile reads anything (a forged directory of a million entries costs
    seconds and hundreds of megabytes to parse)."""
    size = path.stat().st_size
    if size > MAX_ARCHIVE_BYTES:
        raise SubmissionError(f"{printable(path.name)} is {size:,} bytes, over the limit of {MAX_ARCHIVE_BYTES:,} "
                              "bytes for an archive")
    with path.open("rb") as archive:
        archive.seek(max(0, size - (1 << 16) - 22))
        tail = archive.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) < end + 22:
        return False
    entries, directory = struct.unpack("<HI", tail[end + 10:end + 16])
    locator = tail.rfind(b"PK\x06\x07", 0, end)
    if (entries == 0xFFFF or directory == 0xFFFFFFFF) and locator >= 0:  # zip64: the real counts are elsewhere
        entries, directory = _zip64_counts(path, tail[locator:locator + 20])
    if entries > MAX_ENTRIES or directory > MAX_DIRECTORY_BYTES:
        raise SubmissionError(f"{printable(path.name)} lists {entries:,} entries ({directory:,} bytes of table of "
                              "contents); that is too many")
    return True


def _zip64_counts(path, locator):
    """(entries, table-of-contents bytes) from a zip64 end record."""
    if len(locator) < 20:
        return 1 << 32, 1 << 32
    (offset,) = struct.unpack("<Q", locator[8:16])
    with path.open("rb") as archive:
        archive.seek(offset)
        record = archive.read(56)
    if len(record) < 56 or record[:4] != b"PK\x06\x06":
        return 1 << 32, 1 << 32
    entries, directory = struct.unpack("<QQ", record[32:48])
    return entries, directory


def _wanted(parts):
    return parts[-1].endswith(".py") and not IGNORED_FOLDERS.intersection(parts[:-1])


def _check_size(name, size, total):
    if size > MAX_FILE_BYTES:
        raise SubmissionError(f"{printable(name)} is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes per file")
    if total > MAX_TOTAL_BYTES:
        raise SubmissionError(f"the submission's Python files add up to over {MAX_TOTAL_BYTES:,} bytes")


def _copy_folder(source, into):
    warnings, total, count = [], 0, 0
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source)
        if not _wanted(relative.parts):
            continue
        if path.is_symlink() or any(p.is_symlink() for p in list(path.parents)[:len(relative.parts) - 1]):
            warnings.append(f"skipped {printable(relative.as_posix())}: symbolic links are not followed")
            continue
        mode = path.lstat().st_mode
        if not stat.S_ISREG(mode):
            continue
        count += 1
        if count > MAX_FILES:
            raise SubmissionError(f"the submission has more than {MAX_FILES} Python files")
        size = path.lstat().st_size
        total += size
        _check_size(relative.as_posix(), size, total)
        target = into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_read_limited(path.open("rb"), relative.as_posix()))
    return warnings


def _extract_zip(archive, into):
    try:
        with zipfile.ZipFile(archive) as zf:
            entries = zf.infolist()
            if len(entries) > MAX_ENTRIES:
                raise SubmissionError(f"{printable(archive.name)} holds {len(entries)} entries; that is too many")
            for info in entries:
                _check_entry(info)
            total = 0
            for info in entries:
                parts = PurePosixPath(info.filename.replace("\\", "/")).parts
                if info.is_dir() or not _wanted(parts):
                    continue
                total += info.file_size
                _check_size(info.filename, info.file_size, total)
                target = into.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(_read_limited(zf.open(info), info.filename))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, ValueError,
            struct.error) as error:
        raise SubmissionError(f"{printable(archive.name)} cannot be unpacked: {printable(error)}") from None
    return []


def _check_entry(info):
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise SubmissionError(f"unsafe archive: the entry {printable(repr(info.filename))} points outside the "
                              "submission folder")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise SubmissionError(f"unsafe archive: the entry {printable(repr(info.filename))} is a symbolic link")


def _read_limited(stream, name):
    """The bytes of `stream`, refusing more than MAX_FILE_BYTES whatever the header claimed."""
    with stream:
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise SubmissionError(f"{printable(name)} is over the limit of {MAX_FILE_BYTES:,} bytes per file")
    return data


def _locate(folder, warnings):
    engines = sorted((p.relative_to(folder) for p in folder.rglob("engine.py")), key=lambda p: (len(p.parts), str(p)))
    if not engines:
        found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.py"))
        listing = printable(", ".join(found[:10])) if found else "no Python files at all"
        skipped = "".join(f"; {w}" for w in warnings)
        raise SubmissionError(f"no engine.py in the submission (found: {listing}){skipped}")
    shallowest = [p for p in engines if len(p.parts) == len(engines[0].parts)]
    if len(shallowest) > 1:
        raise SubmissionError("several engine.py files, so it is unclear which to grade: "
                              + printable(", ".join(p.as_posix() for p in shallowest)))
    engine = folder / engines[0]
    home = engine.parent
    layout = "package" if _is_package(home) else "flat"
    return Staged(folder, home.relative_to(folder).as_posix(), layout, (home / "nn.py").is_file(), warnings)


def _is_package(home):
    """Whether engine.py and nn.py import each other as a package (`from micrograd.engine ...`)."""
    if home.name.isidentifier() and (home / "__init__.py").is_file():
        return True
    nn = home / "nn.py"
    text = nn.read_text("utf-8", "replace") if nn.is_file() else ""
    return bool(re.search(rf"^\s*from\s+(\.|{re.escape(home.name)}\.)\s*\w*\s*import", text, re.M))
