"""Figure 6: one command on SQLite at each ``synchronous`` setting, against raw sqlite3.

perfcore: the services' goal check-in at 10 events of history (rounds as in
:mod:`benchmarks.commands`), on ``SQLiteStore(path, synchronous=...)`` (WAL). The baseline: sqlite3
alone doing what any SQLite-backed event store must, one ``BEGIN IMMEDIATE``, one INSERT of a
comparable row (a recorded perfcore check-in event's columns and bytes, into a table of the
same shape) and one ``COMMIT``, in WAL mode at the same setting, timed in the same run.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from perfcore.recording import record

from . import commands
from .domain import active_goal
from .harness import Row, fresh_path, interleaved, remove_database

SETTINGS = ("OFF", "NORMAL", "FULL")
HISTORY = 10
TABLE = """CREATE TABLE events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    stream INTEGER NOT NULL,
    version INTEGER NOT NULL,
    schema INTEGER NOT NULL,
    header BLOB NOT NULL,
    body BLOB NOT NULL,
    hash BLOB NOT NULL,
    UNIQUE (stream, version)
)"""


def raw_case(directory: Path, synchronous: str, count: int) -> Callable[[], float]:
    """Seconds per INSERT + COMMIT of a recorded check-in event's row."""
    event = record(active_goal(HISTORY).history, previous_hash=b"")[-1]

    def case() -> float:
        database = fresh_path(directory, f"raw-{synchronous}")
        connection = sqlite3.connect(database, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={synchronous}")
            connection.execute(TABLE)
            row = (1, event.schema, event.header, event.body, event.hash)
            started = time.perf_counter()
            for version in range(1, count + 1):
                connection.execute("BEGIN IMMEDIATE")
                connection.execute(
                    "INSERT INTO events (stream, schema, header, body, hash, version)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (*row, version),
                )
                connection.execute("COMMIT")
            return (time.perf_counter() - started) / count
        finally:
            connection.close()
            remove_database(database)

    return case


def run(quick: bool, directory: Path) -> list[Row]:
    repeats = 3 if quick else 7
    count = commands.round_length(HISTORY)
    cases = {}
    for setting in SETTINGS:
        cases[f"perfcore {setting}"] = commands.case(directory, "sqlite", HISTORY, setting)
        cases[f"raw {setting}"] = raw_case(directory, setting, count)
    stats = {name: value.scaled(1e6) for name, value in interleaved(cases, repeats).items()}
    rows = []
    for setting in SETTINGS:
        baseline = f"sqlite3 INSERT + COMMIT, WAL, synchronous={setting}"
        ours, raw = stats[f"perfcore {setting}"], stats[f"raw {setting}"]
        rows.append(Row(6, baseline, "µs/cmd", raw))
        rows.append(
            Row(
                6,
                f"perfcore check-in, SQLiteStore synchronous={setting}, {HISTORY} events",
                "µs/cmd",
                ours,
                baseline=baseline,
                ratio=ours.over(raw),
                ratio_means="perfcore's time / raw sqlite3's",
            )
        )
    return rows
