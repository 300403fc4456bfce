"""What the benchmark modules share: statistics, rows, the clock, seeding goals, SQLite files.

Every figure is a :class:`Stats`: the median of several runs, with their min and max. Every
comparison is a ratio of medians against a baseline measured in the same run, with the range
it can take given the runs' spread (``min / max`` to ``max / min``).
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import shutil
import sqlite3
import statistics
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfcore import Actor, Perfcore
from perfcore.actor import Role

OWNER = Actor(id="ana", roles={Role.EMPLOYEE})
MANAGER = Actor(id="ben", roles={Role.EMPLOYEE, Role.MANAGER})
#: The goals' first day; check-ins are dated from here on, as the peer dates its own.
START = dt.date(2026, 1, 5)
#: The stepping clock's first reading: after every check-in date, so none is "in the future".
CLOCK_START = dt.datetime(2027, 1, 4, 9, tzinfo=dt.UTC)
#: Events a new goal has before its first check-in: created, proposed, approved.
FIRST_EVENTS = 3


# -- statistics ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stats:
    """The median of several runs, with their min and max (and the runs)."""

    median: float
    minimum: float
    maximum: float
    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        return cls(statistics.median(samples), min(samples), max(samples), tuple(samples))

    def scaled(self, factor: float) -> Stats:
        """Every value times ``factor`` (> 0): a change of unit."""
        return Stats.of([sample * factor for sample in self.samples])

    def rate(self, per: float = 1.0) -> Stats:
        """``per / value`` for each run: seconds per item become items per second."""
        return Stats.of([per / sample for sample in self.samples])

    def over(self, baseline: Stats) -> Stats:
        """The ratio of the medians, from ``min / max`` to ``max / min`` of the runs."""
        return Stats(
            self.median / baseline.median,
            self.minimum / baseline.maximum,
            self.maximum / baseline.minimum,
            (),
        )


def interleaved(cases: Mapping[str, Callable[[], float]], repeats: int) -> dict[str, Stats]:
    """Run each case ``repeats`` times, one of each in turn (so drift hits all alike); each
    call returns one sample."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, case in cases.items():
            gc.collect()
            samples[name].append(case())
    return {name: Stats.of(values) for name, values in samples.items()}


#: The timer of work that waits on the disk: wall-clock time.
WALL = time.perf_counter
#: The timer of work in memory alone: this process's CPU time, so that other processes on a
#: shared machine do not count (on an idle machine the two agree).
CPU = time.process_time


def per_call(
    action: Callable[[], object], count: int, timer: Callable[[], float] = WALL
) -> Callable[[], float]:
    """A case timing ``count`` calls of ``action``: seconds per call."""

    def case() -> float:
        started = timer()
        for _ in range(count):
            action()
        return (timer() - started) / count

    return case


# -- rows ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table.

    ``ratio`` is this figure over ``baseline``'s (or as ``ratio_means`` says); ``met`` is
    ``None`` where there is no goal, else whether the issue's goal holds on the median.
    """

    figure: int
    name: str
    unit: str
    stats: Stats | None
    baseline: str = ""
    ratio: Stats | None = None
    ratio_means: str = ""
    goal: str = ""
    met: bool | None = None
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        def stats(value: Stats | None) -> dict[str, Any] | None:
            if value is None:
                return None
            return {
                "median": value.median,
                "min": value.minimum,
                "max": value.maximum,
                "runs": list(value.samples),
            }

        return {
            "figure": self.figure,
            "name": self.name,
            "unit": self.unit,
            "value": stats(self.stats),
            "baseline": self.baseline or None,
            "ratio": stats(self.ratio),
            "ratio_means": self.ratio_means or None,
            "goal": self.goal or None,
            "met": self.met,
            "note": self.note or None,
        }


# -- the clock and the goals ------------------------------------------------------------------


class SteppingClock:
    """Each reading a millisecond later than the last, so events keep their order."""

    def __init__(self, start: dt.datetime = CLOCK_START) -> None:
        self._start = start
        self._ticks = itertools.count()

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(milliseconds=next(self._ticks))


def check_in_args(number: int) -> dict[str, Any]:
    """The ``number``-th check-in's arguments: the peer's (day, value, note) too."""
    return {
        "on": START + dt.timedelta(days=number % 300),
        "value": Decimal(number % 11),
        "note": "weekly figure",
    }


def create_active_goal(pc: Perfcore, goal_id: str) -> None:
    """Create, propose and approve a goal: its first three events."""
    pc.goals.create(
        by=OWNER,
        id=goal_id,
        owner_id=OWNER.id,
        manager_id=MANAGER.id,
        title="Resolve more tickets",
        metric="tickets a week",
        baseline=0,
        target=10,
        start=START,
        due=START + dt.timedelta(days=180),
    )
    pc.goals.propose(goal_id, by=OWNER)
    pc.goals.approve(goal_id, by=MANAGER)


def seed_goal(pc: Perfcore, goal_id: str, events: int) -> None:
    """A goal with ``events`` events through the services, one command at a time."""
    create_active_goal(pc, goal_id)
    for number in range(events - FIRST_EVENTS):
        pc.goals.check_in(goal_id, by=OWNER, **check_in_args(number))


# -- SQLite files ---------------------------------------------------------------------------------


def checkpoint(database: Path) -> None:
    """Move the WAL into the database file and empty it, so the file holds everything."""
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def journal_mode(database: Path) -> str:
    """The database file's journal mode (WAL is kept in the file)."""
    connection = sqlite3.connect(database)
    try:
        return str(connection.execute("PRAGMA journal_mode").fetchone()[0]).upper()
    finally:
        connection.close()


def fresh_path(directory: Path, label: str) -> Path:
    return directory / f"{label}-{uuid.uuid4().hex[:8]}.sqlite3"


def copy_database(template: Path, directory: Path, label: str) -> Path:
    """A copy of a checkpointed database file, under a new name."""
    database = fresh_path(directory, label)
    shutil.copyfile(template, database)
    return database


def remove_database(database: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
