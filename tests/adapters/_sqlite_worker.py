"""A helper program for the SQLite store's multi-process tests; never imported by pytest.

Each command prints one line when it reaches the point the test waits for, then waits for a line
on stdin, so that the test, not the clock, decides what happens next::

    python _sqlite_worker.py approve DB TYPE ID     # the services approve ID: load it, fire
                                                    # approve; "loaded"; wait; save, commit
    python _sqlite_worker.py hold DB COUNT          # save COUNT goals; "inside"; wait (killed)
    python _sqlite_worker.py commit-and-hold DB COUNT  # save COUNT goals, commit; "committed";
                                                    # wait (killed)
    python _sqlite_worker.py write-as DB UID        # become user UID, read g-1, try a command

The last line of output of ``approve`` is ``won`` or ``conflict``; of ``write-as``, the error's
class name and message (or ``wrote``).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
from typing import Any

import perfcore.audit  # noqa: F401 (loaded before write-as gives up the right to read it)
from perfcore.actor import Actor
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.errors import ConcurrencyError, StorageError
from perfcore.ports import Store, UnitOfWork
from perfcore.services import Perfcore
from perfcore.streams import Streams
from perfcore.testing.drivers import EPOCH, driver_for
from perfcore.testing.drivers.goal import MANAGER, OWNER
from perfcore.testing.drivers.plan import APPROVER

#: Reads name their reader: HR reads everything.
READER = Actor(id="hr-reader", roles={"hr"})


class Clock:
    """Two days after the drivers' first command: later than anything they fired."""

    def now(self) -> dt.datetime:
        return EPOCH + dt.timedelta(days=2)


def say(line: str) -> None:
    """Tell the test something, at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def wait() -> None:
    """Block until the test writes a line (or closes the pipe)."""
    sys.stdin.readline()


class PausingStore:
    """A store whose first append says ``loaded`` and waits for the test: by then the command
    has loaded what it changes and fired its domain command, and has written nothing."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.paused = threading.Event()

    def unit_of_work(self) -> Any:
        return _PausingUnit(self, self.inner.unit_of_work())

    def close(self) -> None:
        self.inner.close()

    def pause(self) -> None:
        if not self.paused.is_set():
            self.paused.set()
            say("loaded")
            wait()


class _PausingUnit:
    def __init__(self, store: PausingStore, inner: UnitOfWork) -> None:
        self._inner = inner
        self.events = _PausingEvents(store, inner.events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _PausingUnit:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)


class _PausingEvents:
    def __init__(self, store: PausingStore, inner: Any) -> None:
        self._store = store
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def append(self, *args: Any, **kwargs: Any) -> None:
        self._store.pause()
        self._inner.append(*args, **kwargs)


def approve(path: str, type_name: str, id: str) -> None:
    """Approve ``id`` through the services, pausing between loading it and saving it."""
    with SQLiteStore(path, busy_timeout_ms=30_000) as store:
        pc = Perfcore(PausingStore(store), clock=Clock(), cache_size=0)
        try:
            if type_name == "Plan":
                pc.plans.approve(id, by=APPROVER)
            else:
                pc.goals.approve(id, by=MANAGER)
        except ConcurrencyError:
            say("conflict")
            return
        say("won")


def save_goals(uow: UnitOfWork, count: int) -> None:
    """Save ``count`` active goals ``w-0``, ``w-1``, ..., with their events, in ``uow``."""
    driver = driver_for("Goal")
    streams = Streams(uow)
    for number in range(count):
        streams.save(driver.reach("active", id=f"w-{number}"), loaded=None)


def hold(path: str, count: int) -> None:
    """Write inside a transaction, then wait there to be killed."""
    # A 1 MiB page cache, which COUNT goals overflow: the uncommitted pages reach the WAL.
    with SQLiteStore(path, cache_mib=1) as store, store.unit_of_work() as uow:
        save_goals(uow, count)
        say("inside")
        wait()


def commit_and_hold(path: str, count: int) -> None:
    """Write and commit, then wait with the store open to be killed."""
    with SQLiteStore(path) as store:
        with store.unit_of_work() as uow:
            save_goals(uow, count)
            uow.commit()
        say("committed")
        wait()


def write_as(path: str, uid: int) -> None:
    """Become user ``uid`` (if this process is not), then read and try a command."""
    if os.geteuid() != uid:
        # Only now: that user may not read the interpreter's files, and all is loaded already.
        os.setgid(uid)
        os.setuid(uid)
    try:
        with SQLiteStore(path) as store:
            pc = Perfcore(store, clock=Clock())
            say(f"read {pc.goals.get('g-1', by=READER).state}")
            pc.goals.check_in("g-1", by=OWNER, on=EPOCH.date(), value=5)
    except StorageError as error:
        say(f"{type(error).__name__}: {error}")
        return
    say("wrote")


def main(argv: list[str]) -> None:
    """Run one command."""
    command, path, *rest = argv
    if command == "approve":
        approve(path, *rest)
    elif command == "hold":
        hold(path, int(rest[0]))
    elif command == "commit-and-hold":
        commit_and_hold(path, int(rest[0]))
    elif command == "write-as":
        write_as(path, int(rest[0]))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
