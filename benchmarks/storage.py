"""Storage benchmarks: a command through the services on each shipped store, against sqlite3.

The baseline is what any SQLite-backed design must pay: one INSERT of a JSON row and one COMMIT
with the same durability settings (WAL, synchronous=FULL), measured in the same run.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from perfcore import Actor, Perfcore
from perfcore.adapters.memory import MemoryStore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.ports import Store

OWNER, MANAGER = Actor(id="ana"), Actor(id="ben", roles={"manager"})
START = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


class SteppingClock:
    """Each reading a millisecond later than the last, so events keep their order."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def now(self) -> dt.datetime:
        return START + dt.timedelta(milliseconds=next(self._ticks))


def _active_goal(pc: Perfcore, number: int) -> str:
    goal_id = f"g-{number}"
    pc.goals.create(
        by=OWNER,
        id=goal_id,
        owner_id="ana",
        manager_id="ben",
        title="Resolve more tickets",
        metric="tickets a week",
        baseline=0,
        target=10,
        start=START.date(),
        due=START.date() + dt.timedelta(days=180),
    )
    pc.goals.propose(goal_id, by=OWNER)
    pc.goals.approve(goal_id, by=MANAGER)
    return goal_id


def _check_ins(store: Store, count: int) -> float:
    """Check-ins per second through the services, on ``count`` goals (one each)."""
    pc = Perfcore(store, clock=SteppingClock())
    goal_ids = [_active_goal(pc, number) for number in range(count)]
    started = time.perf_counter()
    for goal_id in goal_ids:
        pc.goals.check_in(goal_id, by=OWNER, on=START.date(), value=4)
    return count / (time.perf_counter() - started)


def _raw_sqlite(path: Path, count: int) -> float:
    """Rows per second for one INSERT and one COMMIT each, as durable as the store's writes."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
    body = '{"type":"Goal","schema":1,"data":{}}' * 40  # about the size of a goal's envelope
    started = time.perf_counter()
    for number in range(count):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO rows VALUES (?, ?)", (str(number), body))
        connection.execute("COMMIT")
    rate = count / (time.perf_counter() - started)
    connection.close()
    return rate


def bench_storage(count: int) -> list[tuple[str, float]]:
    """Commands per second through :class:`Perfcore` on each store, and the sqlite3 baseline."""
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        runs: list[tuple[str, Callable[[], float]]] = [
            (
                "perfcore check-in, SQLiteStore (file)",
                lambda: _check_ins(SQLiteStore(directory / "perfcore.sqlite3"), count),
            ),
            ("perfcore check-in, MemoryStore", lambda: _check_ins(MemoryStore(), count)),
            ("baseline: sqlite3 INSERT + COMMIT", lambda: _raw_sqlite(directory / "raw.db", count)),
        ]
        return [(name, run()) for name, run in runs]
