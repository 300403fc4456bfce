"""A helper program for the SQLite store's multi-process tests; never imported by pytest.

Each command prints one line when it reaches the point the test waits for, then waits for a line
on stdin, so that the test, not the clock, decides what happens next::

    python _sqlite_worker.py fire DB TYPE ID TRIGGER   # load; "loaded"; wait; fire, save, commit
    python _sqlite_worker.py hold DB COUNT             # add COUNT goals; "inside"; wait (killed)
    python _sqlite_worker.py commit-and-hold DB COUNT  # add COUNT goals, commit; "committed"; wait
    python _sqlite_worker.py write-as DB UID           # become user UID, read, try to write

The last line of output of ``fire`` is ``won`` or ``conflict``; of ``write-as``, the error's
class name and message.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from perfcore.adapters.sqlite import SQLiteStore
from perfcore.audit import chain
from perfcore.errors import ConcurrencyError, StorageError
from perfcore.ports import UnitOfWork
from perfcore.testing.drivers import driver_for

#: The unit-of-work attribute holding each aggregate type.
REPOSITORIES = {
    "JobDescription": "job_descriptions",
    "Goal": "goals",
    "Plan": "plans",
    "Evaluation": "evaluations",
    "ReviewCycle": "cycles",
}


def say(line: str) -> None:
    """Tell the test something, at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def wait() -> None:
    """Block until the test writes a line (or closes the pipe)."""
    sys.stdin.readline()


def repository(uow: UnitOfWork, type_name: str) -> Any:
    """The repository of ``type_name`` in ``uow``."""
    return getattr(uow, REPOSITORIES[type_name])


def fire(path: str, type_name: str, id: str, trigger: str) -> None:
    """Load an object, wait for the go, then fire ``trigger`` and save the result."""
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        loaded = repository(uow, type_name).get(id)
        say("loaded")
        wait()
        changed = driver_for(type_name).fire(loaded, trigger)
        try:
            repository(uow, type_name).save(changed, expected_version=loaded.version)
            uow.audit.append(chain(changed.history[loaded.version :], uow.audit.last()))
            uow.commit()
        except ConcurrencyError:
            say("conflict")
            return
        say("won")


def add_goals(uow: UnitOfWork, count: int) -> None:
    """Add ``count`` active goals ``w-0``, ``w-1``, ... and their audit entries."""
    driver = driver_for("Goal")
    for number in range(count):
        goal = driver.reach("active", id=f"w-{number}")
        uow.goals.add(goal)
        uow.audit.append(chain(goal.history, uow.audit.last()))


def hold(path: str, count: int) -> None:
    """Write inside a transaction, then wait there to be killed."""
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        add_goals(uow, count)
        say("inside")
        wait()


def commit_and_hold(path: str, count: int) -> None:
    """Write and commit, then wait with the store open to be killed."""
    with SQLiteStore(path) as store:
        with store.unit_of_work() as uow:
            add_goals(uow, count)
            uow.commit()
        say("committed")
        wait()


def write_as(path: str, uid: int) -> None:
    """Become user ``uid`` (if this process is not), then read and try to write."""
    goal = driver_for("Goal").reach("active", id="w-0")
    if os.geteuid() != uid:
        # Only now: that user may not read the interpreter's files, and all is loaded already.
        os.setgid(uid)
        os.setuid(uid)
    try:
        with SQLiteStore(path) as store, store.unit_of_work() as uow:
            say(f"read {len(uow.goals.by_state('active'))}")
            uow.goals.add(goal)
            uow.audit.append(chain(goal.history, uow.audit.last()))
            uow.commit()
    except StorageError as error:
        say(f"{type(error).__name__}: {error}")
        return
    say("wrote")


def main(argv: list[str]) -> None:
    """Run one command."""
    command, path, *rest = argv
    if command == "fire":
        fire(path, *rest)
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
