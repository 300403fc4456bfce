"""The SQLite store across processes: concurrent writers, a writer killed with SIGKILL, and a file
the operating system will not let a process write.

Each test runs ``_sqlite_worker.py`` in child processes, which print a line when they reach the
point the test waits for and then wait for a line on stdin: the test decides the order of events,
so nothing here depends on timing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perfcore._aggregate import Aggregate
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.audit import AuditAnchor, chain, verify_audit_log
from perfcore.ports import UnitOfWork
from perfcore.testing.drivers import drivers

WORKER = Path(__file__).with_name("_sqlite_worker.py")
#: The user the read-only test becomes when it runs as root (root may write any file).
NOBODY = 65534

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="POSIX signals, users and file modes"
)

REPOSITORIES = {
    "JobDescription": "job_descriptions",
    "Goal": "goals",
    "Plan": "plans",
    "Evaluation": "evaluations",
    "ReviewCycle": "cycles",
}


def repository(uow: UnitOfWork, type_name: str) -> Any:
    """The repository of ``type_name`` in ``uow``."""
    return getattr(uow, REPOSITORIES[type_name])


def put(path: Path, *objects: Aggregate) -> None:
    """Store objects, with their audit entries, in the database at ``path``."""
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        for obj in objects:
            repository(uow, type(obj).__name__).add(obj)
            uow.audit.append(chain(obj.history, uow.audit.last()))
        uow.commit()


def integrity(path: Path) -> str:
    """SQLite's own check of the whole file (after recovering its WAL)."""
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


class Worker:
    """One child process running ``_sqlite_worker.py``."""

    def __init__(self, *arguments: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def expect(self, line: str) -> None:
        """Wait until the worker says ``line`` (it fails the test if the worker dies first)."""
        assert self.process.stdout is not None
        said = self.process.stdout.readline().strip()
        if said != line:
            self.kill()
            pytest.fail(f"expected {line!r} from the worker, got {said!r}: {self.errors()}")

    def go(self) -> None:
        """Let the worker go on."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def finish(self) -> list[str]:
        """Let the worker go on to its end; what it said."""
        out, err = self.process.communicate("go\n", timeout=120)
        assert self.process.returncode == 0, err
        return out.splitlines()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no rollback, no closing of files."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        assert self.process.returncode in (-signal.SIGKILL, 0, 1)

    def errors(self) -> str:
        """What the worker wrote to stderr (once it has ended)."""
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def close(self) -> None:
        """Release the pipes."""
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def workers(*commands: tuple[str, ...]) -> Iterator[list[Worker]]:
    """Start one worker per command; kill whatever is left at the end."""
    started = [Worker(*command) for command in commands]
    try:
        yield started
    finally:
        for worker in started:
            worker.kill()
            worker.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where a test's database file goes."""
    return tmp_path / "perfcore.sqlite3"


@pytest.mark.parametrize(("type_name", "source"), [("Plan", "submitted"), ("Goal", "proposed")])
def test_two_processes_approving_one_object_one_wins(
    path: Path, type_name: str, source: str
) -> None:
    put(path, drivers()[type_name].reach(source, id="x-1"))
    command = ("fire", str(path), type_name, "x-1", "approve")
    with workers(command, command) as both:
        for worker in both:
            worker.expect("loaded")  # both hold the same version before either saves
        outcomes = sorted(worker.finish()[-1] for worker in both)
    assert outcomes == ["conflict", "won"]
    assert integrity(path) == "ok"
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        stored = repository(uow, type_name).get("x-1")
        entries = list(uow.audit.read())
    assert [event.trigger for event in stored.history].count("approve") == 1
    assert [entry.event.trigger for entry in entries].count("approve") == 1
    assert verify_audit_log(entries, expected=AuditAnchor.of([stored]))


def test_a_writer_killed_inside_its_transaction_leaves_none_of_it(path: Path) -> None:
    before = drivers()["Goal"].reach("active", id="before")
    put(path, before)
    # Enough rows to overflow SQLite's page cache, so the uncommitted pages reach the WAL file.
    with workers(("hold", str(path), "4000")) as (worker,):
        worker.expect("inside")
        assert path.with_name(path.name + "-wal").stat().st_size > 1_000_000
        worker.kill()
    assert integrity(path) == "ok"
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        assert uow.goals.by_state("active") == [before]
        entries = list(uow.audit.read())
    assert verify_audit_log(entries, expected=AuditAnchor.of([before]))
    assert len(entries) == before.version


def test_a_writer_killed_after_its_commit_leaves_all_of_it(path: Path) -> None:
    with workers(("commit-and-hold", str(path), "300")) as (worker,):
        worker.expect("committed")
        worker.kill()
    assert integrity(path) == "ok"
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        goals = uow.goals.by_state("active")
        entries = list(uow.audit.read())
    assert sorted(goal.id for goal in goals) == sorted(f"w-{number}" for number in range(300))
    assert verify_audit_log(entries, expected=AuditAnchor.of(goals))


@pytest.fixture
def shared_directory() -> Iterator[Path]:
    """A directory outside pytest's private one (0700), so that another user can reach it."""
    directory = Path(tempfile.mkdtemp(prefix="perfcore-"))
    directory.chmod(0o755)
    yield directory
    directory.chmod(0o755)
    shutil.rmtree(directory)


@pytest.mark.parametrize(
    ("directory_mode", "words"),
    [
        (0o777, "may not write the file"),  # it may make -wal and -shm, and read
        (0o555, "may not create files in its directory"),  # it may not even read a WAL file
    ],
    ids=["file", "file and directory"],
)
def test_a_file_the_os_will_not_let_a_process_write(
    shared_directory: Path, directory_mode: int, words: str
) -> None:
    path = shared_directory / "perfcore.sqlite3"
    put(path, drivers()["Goal"].reach("active", id="g-1"))
    path.chmod(0o444)
    shared_directory.chmod(directory_mode)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    # Root may write whatever the mode bits say, so a root test asks another user to write.
    user = NOBODY if os.geteuid() == 0 else os.geteuid()
    with workers(("write-as", str(path), str(user))) as (worker,):
        said = worker.finish()
    assert said[-1].startswith("DatabaseReadOnly: "), said
    assert words in said[-1]
    if directory_mode == 0o777:
        assert said[0] == "read 1"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    shared_directory.chmod(0o755)  # so that this process may check it (as any user)
    assert integrity(path) == "ok"
