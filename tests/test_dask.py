"""`grade-all --scheduler`: grading on a Dask cluster gives the gradebook a local run gives."""
import csv
import io
import threading
import time
import zipfile

import pytest

import classroom

distributed = pytest.importorskip("distributed", reason="the cluster extra is part of the test extra")

from autograder import grade_all  # noqa: E402
from autograder.grading import session  # noqa: E402
from autograder.grading.rubric import load_rubric  # noqa: E402
from autograder.integrations import dask as cluster  # noqa: E402
from autograder.sandbox.isolation import detect  # noqa: E402


def test_a_folder_travels_as_its_python_files_without_links(tmp_path):
    folder = tmp_path / "alice"
    (folder / "micrograd").mkdir(parents=True)
    (folder / "micrograd" / "engine.py").write_text("# engine\n")
    (folder / "micrograd" / "__init__.py").write_text("")
    (folder / "data.csv").write_text("1,2\n")
    (tmp_path / "secret.py").write_text("# not the student's\n")
    (folder / "linked.py").symlink_to(tmp_path / "secret.py")
    (folder / "linked-folder").symlink_to(tmp_path)
    packed = cluster.pack(folder)
    assert packed.name == "alice" and packed.kind == "folder"
    with zipfile.ZipFile(io.BytesIO(packed.data)) as archive:
        assert sorted(archive.namelist()) == ["micrograd/__init__.py", "micrograd/engine.py"]
    (tmp_path / "worker").mkdir()
    target = cluster.unpack(packed, tmp_path / "worker")
    assert target == tmp_path / "worker" / "alice"
    assert (target / "micrograd" / "engine.py").read_text() == "# engine\n"


def test_a_file_travels_as_its_bytes_under_its_own_name(tmp_path):
    classroom.broken_zip(tmp_path / "bob.zip")
    packed = cluster.pack(tmp_path / "bob.zip")
    assert (packed.name, packed.kind, packed.data) == ("bob.zip", "file", (tmp_path / "bob.zip").read_bytes())
    (tmp_path / "worker").mkdir()
    assert cluster.unpack(packed, tmp_path / "worker").read_bytes() == packed.data
    for name in ("../evil.zip", "..", "", "a/b"):
        with pytest.raises(ValueError):
            cluster.unpack(cluster.Packed(name, "file", b""), tmp_path / "worker")


def test_the_task_grades_what_a_local_run_grades(tmp_path):
    rubric = load_rubric()
    for make in (classroom.without_engine, classroom.broken_zip):
        path = tmp_path / ("case.zip" if make is classroom.broken_zip else "case")
        make(path)
        remote = cluster.grade_packed(cluster.pack(path), rubric, "auto")
        local = session.grade_safely(path, rubric=rubric, level=detect("auto")).to_dict()
        assert remote["problem"] == local["problem"] != ""
        assert [p["checks"] for p in remote["parts"]] == [p["checks"] for p in local["parts"]]


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1)
    classroom.broken_zip(tmp_path / "alice.zip")
    code = grade_all.main(directory=tmp_path, out=tmp_path / "out", scheduler="tcp://127.0.0.1:9")
    error = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in error and "Traceback" not in error


@pytest.fixture(scope="module")
def local_cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as made:
        yield made


@pytest.mark.slow
def test_the_cluster_gives_the_gradebook_of_a_local_run(repo, tmp_path, local_cluster, monkeypatch):
    folder = tmp_path / "class"
    folder.mkdir()
    classroom.correct(repo, folder / "ada")
    classroom.wrong(repo, folder / "bob")
    classroom.zipped(classroom.example, repo, folder / "cy.zip")
    classroom.stubs(repo, folder / "dee")
    classroom.broken_zip(folder / "fay.zip")
    classroom.without_engine(folder / "gus")
    assert grade_all.main(directory=folder, out=tmp_path / "local", jobs=2) == 0

    def not_here(*args, **kwargs):
        raise AssertionError("grading ran in the client process, not on the cluster")
    monkeypatch.setattr(session, "grade_safely", not_here)
    with distributed.Client(local_cluster, set_as_default=False) as client:  # grade-all must bring its own
        before = sum(client.run(lambda dask_worker: dask_worker.state.executed_count).values())
        address = local_cluster.scheduler_address
        assert grade_all.main(directory=folder, out=tmp_path / "cluster", scheduler=address) == 0
        after = sum(client.run(lambda dask_worker: dask_worker.state.executed_count).values())
    assert after - before == 6  # one task per submission
    local, remote = ((tmp_path / out / "gradebook.csv").read_text() for out in ("local", "cluster"))
    assert remote == local
    expected = [classroom.CORRECT, classroom.WRONG, classroom.EXAMPLE, 0, 0, 0]
    assert [row["total"] for row in csv.DictReader(io.StringIO(local))] == [f"{points:g}" for points in expected]


@pytest.mark.slow
def test_a_scheduler_without_workers_is_a_clear_error_after_the_wait(tmp_path, capsys):
    classroom.broken_zip(tmp_path / "alice.zip")
    with distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=None) as empty:
        started = time.monotonic()
        code = grade_all.main(directory=tmp_path, out=tmp_path / "out", scheduler=empty.scheduler_address,
                              worker_wait=2)
        waited = time.monotonic() - started
    error = " ".join(capsys.readouterr().err.split())
    assert code == 2 and f"no Dask worker joined the scheduler at {empty.scheduler_address} within 2 s" in error
    assert "--worker-wait" in error and "Traceback" not in error
    assert 2 <= waited < 20


def test_worker_wait_must_be_positive(tmp_path, capsys):
    classroom.broken_zip(tmp_path / "alice.zip")
    assert grade_all.main(directory=tmp_path, out=tmp_path / "out", scheduler="tcp://127.0.0.1:9", worker_wait=0) == 2
    assert "--worker-wait must be a positive number of seconds, not 0" in capsys.readouterr().err


@pytest.mark.slow
def test_losing_every_worker_mid_run_ends_the_run_within_the_wait(repo, tmp_path):
    """One worker, stopped while it grades: the run gives up on what is left after the wait,
    keeps what was graded, and says in the gradebook why the rest was not (the next run grades it)."""
    folder = tmp_path / "class"
    folder.mkdir()
    for student in ("ada", "bob", "cy", "dee"):
        classroom.correct(repo, folder / student)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as one, \
            distributed.Client(one, set_as_default=False) as client:
        finished = {}
        run = threading.Thread(target=lambda: finished.update(code=grade_all.main(
            directory=folder, out=tmp_path / "out", scheduler=one.scheduler_address, worker_wait=3)))
        run.start()
        deadline = time.monotonic() + 120
        while not any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        one.scale(0)
        stopped = time.monotonic()
        run.join(timeout=60)
        assert not run.is_alive(), "grade-all still waits for a worker"
    assert time.monotonic() - stopped < 3 + 20
    with open(tmp_path / "out" / "gradebook.csv", newline="") as gradebook:
        rows = {row["student"]: row for row in csv.DictReader(gradebook)}
    lost = [student for student, row in rows.items() if "every Dask worker" in row["problem"]]
    assert finished["code"] == 3 and sorted(rows) == ["ada", "bob", "cy", "dee"] and len(lost) >= 3
    assert all(rows[student]["total"] == f"{classroom.CORRECT:g}" for student in rows if student not in lost)
