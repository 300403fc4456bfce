"""The SQLite store across processes: two servers approving one object through the services, a
writer killed with SIGKILL inside and after its transaction, and a file the operating system will
not let a process write.

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

import pytest

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.audit import verify_store
from perfcore.services import Perfcore
from perfcore.streams import Streams
from perfcore.testing.drivers import drivers

#: Reads name their reader: HR reads everything.
READER = Actor(id="hr-reader", roles={"hr"})

WORKER = Path(__file__).with_name("_sqlite_worker.py")
#: The user the read-only test becomes when it runs as root (root may write any file).
NOBODY = 65534

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="POSIX signals, users and file modes"
)


def put(path: Path, *objects: Aggregate) -> None:
    """Save new objects, with their events, in the database at ``path``."""
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        streams = Streams(uow)
        for obj in objects:
            streams.save(obj, loaded=None)
        uow.commit()


def digest(path: Path) -> str:
    """The database file and its WAL, hashed: to show that nothing was changed."""
    hasher = hashlib.sha256(path.read_bytes())
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        hasher.update(wal.read_bytes())
    return hasher.hexdigest()


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


@pytest.mark.parametrize(
    ("type_name", "source", "approved"),
    [("Plan", "submitted", "approved"), ("Goal", "proposed", "active")],
)
def test_two_processes_approving_one_object_one_wins(
    path: Path, type_name: str, source: str, approved: str
) -> None:
    put(path, drivers()[type_name].reach(source, id="x-1"))
    command = ("approve", str(path), type_name, "x-1")
    with workers(command, command) as both:
        for worker in both:
            worker.expect("loaded")  # both approved the same version before either saves
        outcomes = sorted(worker.finish()[-1] for worker in both)
    assert outcomes == ["conflict", "won"]
    assert integrity(path) == "ok"
    with SQLiteStore(path) as store:
        pc = Perfcore(store, cache_size=0)
        history = pc.history(type_name, "x-1", by=READER)
        assert [event.trigger for event in history].count("approve") == 1
        stored = (
            pc.plans.get("x-1", by=READER)
            if type_name == "Plan"
            else pc.goals.get("x-1", by=READER)
        )
        assert (str(stored.state), stored.version) == (approved, len(history))
        assert pc.verify_audit_log().intact


def test_a_writer_killed_inside_its_transaction_leaves_none_of_it(path: Path) -> None:
    before = drivers()["Goal"].reach("active", id="before")
    put(path, before)
    # Enough events to overflow SQLite's page cache, so the uncommitted pages reach the WAL.
    with workers(("hold", str(path), "3000")) as (worker,):
        worker.expect("inside")
        assert path.with_name(path.name + "-wal").stat().st_size > 1_000_000
        worker.kill()
    assert integrity(path) == "ok"
    with SQLiteStore(path) as store:
        with store.unit_of_work() as uow:
            assert [(h.kind, h.id, h.version) for h in uow.events.streams()] == [
                ("Goal", "before", before.version)
            ]
            assert len(uow.events.scan(limit=10_000)) == before.version
        report = verify_store(store)
        assert (report.intact, report.events) == (True, before.version)
        assert Perfcore(store, cache_size=0).goals.get("before", by=READER) == before


def test_a_writer_killed_after_its_commit_leaves_all_of_it(path: Path) -> None:
    with workers(("commit-and-hold", str(path), "300")) as (worker,):
        worker.expect("committed")
        worker.kill()
    assert integrity(path) == "ok"
    with SQLiteStore(path) as store:
        with store.unit_of_work() as uow:
            found = uow.events.find("Goal", "state", "active")
        assert [head.id for head in found] == sorted(f"w-{number}" for number in range(300))
        report = verify_store(store)
        assert (report.intact, report.events) == (True, 300 * 3)


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
    if os.geteuid() != 0:
        pytest.skip("needs root, to run the worker as another user (root may write any file)")
    path = shared_directory / "perfcore.sqlite3"
    put(path, drivers()["Goal"].reach("active", id="g-1"))
    path.chmod(0o444)
    shared_directory.chmod(directory_mode)
    before = digest(path)
    with workers(("write-as", str(path), str(NOBODY))) as (worker,):
        said = worker.finish()
    assert said[-1].startswith("DatabaseReadOnly: "), said
    assert words in said[-1]
    if directory_mode == 0o777:
        assert said[0] == "read active"
    assert digest(path) == before
    shared_directory.chmod(0o755)  # so that this process may check it (as any user)
    assert integrity(path) == "ok"
