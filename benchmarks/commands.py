"""Figure 2: one command through the services (``pc.goals.check_in``), by the goal's history.

A round is the commands of one whole snapshot period at that history (at least 100: the peer's
interval), so that it pays its share of snapshot writing; the services seal on their own every
1,000 events, so a round of 1,000 or more pays one seal and a shorter one none (a seal of 1,000
events costs about 1 ms of CPU on the MemoryStore, 4-8 ms on SQLite and 12-20 ms of wall time
with synchronous=FULL: up to 20 µs a command). Each round starts from the same seeded goal, on a
fresh ``Perfcore``; one untimed check-in first loads the goal and opens the database for
writing, as in a running process, and brings the goal to the history measured. A figure is the
median, min and max over rounds of the time per command.

On SQLite the goal is seeded once (``synchronous=OFF``, through the services), checkpointed, and
each round runs on a copy of that file; on the MemoryStore each round seeds its own. Rounds on
the MemoryStore are timed in CPU time (see :data:`benchmarks.harness.CPU`), on SQLite in wall
time (they wait for the disk).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from perfcore import Perfcore
from perfcore.adapters.memory import MemoryStore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.streams import snapshot_due

from .harness import (
    CLOCK_START,
    CPU,
    OWNER,
    WALL,
    Row,
    SteppingClock,
    check_in_args,
    checkpoint,
    copy_database,
    fresh_path,
    interleaved,
    remove_database,
    seed_goal,
)

GOAL = "g-1"
_SEEDED: dict[tuple[Path, int], Path] = {}


def round_length(history: int, least: int = 100) -> int:
    """The commands of the snapshot period that ``history`` falls in (at least ``least``)."""
    before, after = 0, history + 1
    while not snapshot_due(after - 1, after):
        after += 1
    for version in range(history, 0, -1):
        if snapshot_due(version - 1, version):
            before = version
            break
    return max(least, after - before)


def template(directory: Path, history: int) -> Path:
    """A checkpointed SQLite file with one goal of ``history`` events, all sealed."""
    if (directory, history) not in _SEEDED:
        database = fresh_path(directory, f"seed-{history}")
        with SQLiteStore(database, synchronous="OFF") as store:
            pc = Perfcore(store, clock=SteppingClock())
            seed_goal(pc, GOAL, history)
            pc.seal_audit_log()
        checkpoint(database)
        _SEEDED[(directory, history)] = database
    return _SEEDED[(directory, history)]


def _round(pc: Perfcore, history: int, commands: int, timer: Callable[[], float]) -> float:
    pc.goals.check_in(GOAL, by=OWNER, **check_in_args(history - 1))  # untimed: the warm-up
    arguments = [check_in_args(history + number) for number in range(commands)]
    started = timer()
    for args in arguments:
        pc.goals.check_in(GOAL, by=OWNER, **args)
    return (timer() - started) / commands


def case(
    directory: Path, store: str, history: int, synchronous: str = "FULL", cache_size: int = 10_000
) -> Callable[[], float]:
    """A round of check-ins on ``store`` ("memory" or "sqlite") at ``history`` events:
    seconds per command."""
    commands = round_length(history)
    clock_start = CLOCK_START.replace(year=CLOCK_START.year + 1)

    def on_memory() -> float:
        memory = MemoryStore()
        seeding = Perfcore(memory, clock=SteppingClock())
        seed_goal(seeding, GOAL, history - 1)
        seeding.seal_audit_log()
        pc = Perfcore(memory, clock=SteppingClock(clock_start), cache_size=cache_size)
        return _round(pc, history, commands, CPU)

    def on_sqlite() -> float:
        database = copy_database(template(directory, history - 1), directory, "round")
        try:
            with SQLiteStore(database, synchronous=synchronous) as sqlite:
                pc = Perfcore(sqlite, clock=SteppingClock(clock_start), cache_size=cache_size)
                return _round(pc, history, commands, WALL)
        finally:
            remove_database(database)

    return on_memory if store == "memory" else on_sqlite


def histories(quick: bool) -> tuple[int, int]:
    return (10, 1_000) if quick else (10, 5_000)


def run(quick: bool, directory: Path) -> list[Row]:
    short, long = histories(quick)
    rows = []
    stores = (("memory", "MemoryStore", "µs/cmd CPU"), ("sqlite", "SQLiteStore FULL", "µs/cmd"))
    for store, label, unit in stores:
        # Rounds on the MemoryStore are short and so noisier: more of them.
        repeats = (3 if quick else 7) * (3 if store == "memory" else 1)
        cases = {str(h): case(directory, store, h) for h in (short, long)}
        stats = {h: s.scaled(1e6) for h, s in interleaved(cases, repeats).items()}
        first = f"services check-in, {label}, {short:,} events"
        rows.append(Row(2, first, unit, stats[str(short)], note=f"{round_length(short)}/round"))
        flat = stats[str(long)].over(stats[str(short)])
        rows.append(
            Row(
                2,
                f"services check-in, {label}, {long:,} events",
                unit,
                stats[str(long)],
                baseline=first,
                ratio=flat,
                ratio_means=f"time at {long:,} / time at {short:,}",
                goal="<= 1.3x the 10-event cost",
                met=flat.median <= 1.3,
                note=f"{round_length(long)}/round",
            )
        )
    return rows
