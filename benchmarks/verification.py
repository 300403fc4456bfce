"""Figure 5: verifying a SQLite store of N events (N/10 goals of 10 events each).

``verify_store(store, replay=False)`` checks every stream's hash chain, the heads and the seals;
``replay=True`` also folds every stream's events into its object and compares it with the
snapshot and the head the store keeps. Both in events per second, against the floor of any chain
check: sqlite3 reading every event row in order and hashing it with SHA-256, timed in the same
run. The issue's old audit verification managed 2,000 to 11,000 entries per second.

The SQLite store hands the verification its rows raw (:class:`perfcore.ports.RawEventReads`);
the rows "through the ports only" verify the same file through ``streams()``, ``read()`` and
``scan()`` alone, as an adapter without that capability is verified (no goal: for the record).

Peak memory is Python's, traced by :mod:`tracemalloc` (SQLite's own page cache is not traced),
at N and at N/4: a verification that streams should not grow with N.

The rates are in CPU time (see :data:`benchmarks.harness.CPU`): the files were just written,
so they are read from the page cache, and on a shared machine wall time mostly measures the
other processes.
"""

from __future__ import annotations

import gc
import hashlib
import sqlite3
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfcore import Perfcore
from perfcore.adapters.sqlite import SQLiteStore

from .harness import (
    CLOCK_START,
    CPU,
    Row,
    Stats,
    SteppingClock,
    checkpoint,
    copy_database,
    fresh_path,
    interleaved,
    seed_goal,
)

EVENTS_PER_GOAL = 10


def _seed(database: Path, first: int, last: int, clock: SteppingClock) -> None:
    with SQLiteStore(database, synchronous="OFF") as store:
        pc = Perfcore(store, clock=clock)
        for number in range(first, last):
            seed_goal(pc, f"g-{number}", EVENTS_PER_GOAL)
        pc.seal_audit_log()
    checkpoint(database)


def stores(directory: Path, events: int) -> tuple[Path, Path]:
    """Files of ``events / 4`` and of ``events`` events; the second extends a copy of the first."""
    goals = events // EVENTS_PER_GOAL
    small = fresh_path(directory, "verify-quarter")
    _seed(small, 0, goals // 4, SteppingClock())
    large = copy_database(small, directory, "verify-full")
    _seed(large, goals // 4, goals, SteppingClock(CLOCK_START.replace(year=2028)))
    return small, large


class _PortsOnly:
    """A store seen through the ports every adapter has: its events without raw reads."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def unit_of_work(self) -> Any:
        uow = self._store.unit_of_work()

        class Events:
            def __getattr__(self, name: str) -> Any:
                if name.startswith("raw_"):
                    raise AttributeError(name)
                return getattr(uow.events, name)

        class Work:
            events = Events()

            def __getattr__(self, name: str) -> Any:
                return getattr(uow, name)

            def __enter__(self) -> Any:
                uow.__enter__()
                return self

            def __exit__(self, *exc: Any) -> None:
                uow.__exit__(*exc)

        return Work()

    def close(self) -> None:
        self._store.close()


def _verify(database: Path, replay: bool, ports_only: bool = False) -> tuple[float, int]:
    from perfcore.audit import verify_store

    with SQLiteStore(database) as store:
        verified: Any = _PortsOnly(store) if ports_only else store
        started = CPU()
        report = verify_store(verified, replay=replay)
        elapsed = CPU() - started
    if not report.intact:
        raise AssertionError(f"verify_store found the seeded store broken: {report}")
    return elapsed, report.events


def _floor(database: Path) -> tuple[float, int]:
    connection = sqlite3.connect(database)
    try:
        started = CPU()
        count = 0
        rows = connection.execute("SELECT header, body, hash FROM events ORDER BY position")
        for header, body, _hash in rows:
            hashlib.sha256(header + body).digest()
            count += 1
        return CPU() - started, count
    finally:
        connection.close()


def _peak(database: Path, replay: bool) -> float:
    from perfcore.audit import verify_store

    with SQLiteStore(database) as store:
        gc.collect()
        tracemalloc.start()
        try:
            verify_store(store, replay=replay)
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()


def _per_event(measure: Callable[[], tuple[float, int]], events: int) -> Callable[[], float]:
    def case() -> float:
        elapsed, count = measure()
        if count != events:
            raise AssertionError(f"{count} events verified, {events} stored")
        return elapsed / count

    return case


GOALS = {
    False: (">= 200,000 events/s", 200_000),
    True: (">= 10x the old 2,000-11,000/s, i.e. 20,000-110,000", 110_000),
}


def run(quick: bool, directory: Path) -> list[Row]:
    events = 10_000 if quick else 100_000
    repeats = 3 if quick else 5
    small, large = stores(directory, events)
    cases = {"floor": _per_event(lambda: _floor(large), events)}
    for replay in GOALS:
        cases[f"replay={replay}"] = _per_event(lambda r=replay: _verify(large, r), events)
        cases[f"ports only, replay={replay}"] = _per_event(
            lambda r=replay: _verify(large, r, ports_only=True), events
        )
    rates = {name: stats.rate() for name, stats in interleaved(cases, repeats).items()}
    floor_name = f"floor: sqlite3 read + SHA-256 per event, {events:,}"
    rows = [Row(5, floor_name, "events/s CPU", rates["floor"])]
    for replay, (goal, target) in GOALS.items():
        rate = rates[f"replay={replay}"]
        partly = replay and 20_000 <= rate.median < target
        rows.append(
            Row(
                5,
                f"verify_store(replay={replay}), {events:,} events",
                "events/s CPU",
                rate,
                baseline=floor_name,
                ratio=rate.over(rates["floor"]),
                ratio_means="this rate / the floor's",
                goal=goal,
                met=rate.median >= target,
                note="meets the old low end: 20,000/s" if partly else "",
            )
        )
    for replay in GOALS:
        rate = rates[f"ports only, replay={replay}"]
        rows.append(
            Row(
                5,
                f"verify_store(replay={replay}) through the ports only, {events:,} events",
                "events/s CPU",
                rate,
                baseline=f"verify_store(replay={replay}), {events:,} events",
                ratio=rate.over(rates[f"replay={replay}"]),
                ratio_means="this rate / the raw reads' rate",
            )
        )
    memory_repeats = 1 if quick else 3  # the peaks agree to 0.01 MiB from run to run
    for replay in (False, True):
        peaks = {
            size: Stats.of([_peak(database, replay) for _ in range(memory_repeats)])
            for size, database in ((events // 4, small), (events, large))
        }
        for size, peak in peaks.items():
            rows.append(Row(5, f"peak memory, replay={replay}, {size:,} events", "MiB", peak))
        growth = peaks[events].over(peaks[events // 4])
        rows.append(
            Row(
                5,
                f"peak memory, replay={replay}: {events:,} vs {events // 4:,} events",
                "ratio",
                None,
                baseline=f"peak memory, replay={replay}, {events // 4:,} events",
                ratio=growth,
                ratio_means="peak at N / peak at N/4",
                goal="does not grow with N (<= 1.25x for 4x the events)",
                met=growth.median <= 1.25,
            )
        )
    return rows
