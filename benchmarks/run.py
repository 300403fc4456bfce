"""perfcore's benchmarks: one command, figures as ratios against baselines measured in the same run.

    python benchmarks/run.py            # the default sizes (about a minute)
    python benchmarks/run.py --quick    # smaller sizes, for a smoke run

Shared machines are noisy, so every figure is the best of several rounds, and each is reported
beside a baseline timed in the same process: absolute numbers vary from machine to machine, the
ratios should not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import attrs
from transitions import Machine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from storage import bench_storage

from perfcore import Actor, Goal, lifecycle_of
from perfcore.goal import CheckIn
from perfcore.testing.drivers import driver_for

AT = dt.datetime(2026, 2, 1, 9, tzinfo=dt.UTC)
OWNER = Actor(id="ana")


def best_rate(action: Callable[[int], None], count: int, rounds: int = 5) -> float:
    """The best of ``rounds`` timings of ``action(count)``, as operations per second."""
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        action(count)
        best = min(best, time.perf_counter() - started)
    return count / best


def bench_commands(count: int) -> list[tuple[str, float]]:
    """A goal check-in through perfcore, against an attrs.evolve that appends the same check-in
    (the floor for any immutable update) and a transitions Machine per object (the design
    perfcore avoids)."""
    goal = driver_for(Goal).reach("active")
    entry = CheckIn(on=AT.date(), value=5, by="ana")

    def perfcore_check_in(n: int) -> None:
        for _ in range(n):
            goal.check_in(by=OWNER, at=AT, on=AT.date(), value=5)

    def bare_evolve(n: int) -> None:
        for _ in range(n):
            attrs.evolve(goal, check_ins=(*goal.check_ins, entry), version=goal.version + 1)

    table = lifecycle_of(Goal)

    class Model:
        state = "active"

    def machine_per_object(n: int) -> None:
        for _ in range(n):
            model = Model()
            machine = Machine(
                model=model,
                states=list(table.states),
                transitions=[list(t) for t in table.transitions],
                initial="active",
                auto_transitions=False,
            )
            machine.events["check_in"].trigger(model)

    return [
        ("perfcore Goal.check_in", best_rate(perfcore_check_in, count)),
        ("baseline: attrs.evolve only", best_rate(bare_evolve, count)),
        ("baseline: a Machine per object", best_rate(machine_per_object, max(count // 10, 1))),
    ]


def bench_memory(count: int) -> list[tuple[str, float]]:
    """Bytes per active goal (with its history), against a transitions Machine per object."""

    def measure(build: Callable[[], object]) -> float:
        gc.collect()
        tracemalloc.start()
        kept = [build() for _ in range(count)]
        size, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del kept
        return size / count

    driver = driver_for(Goal)
    table = lifecycle_of(Goal)

    class Model:
        state = "active"

    def machine() -> object:
        model = Model()
        return Machine(
            model=model,
            states=list(table.states),
            transitions=[list(t) for t in table.transitions],
            initial="active",
            auto_transitions=False,
        )

    return [
        ("perfcore active Goal, history included", measure(lambda: driver.reach("active"))),
        ("baseline: a Machine per object, alone", measure(machine)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    options = parser.parse_args()
    commands, objects = (2_000, 500) if options.quick else (20_000, 5_000)
    stored = 200 if options.quick else 2_000

    print(f"commands ({commands} each; best of 5)")
    rates = bench_commands(commands)
    ours = rates[0][1]
    for name, rate in rates:
        print(f"  {name:40s} {rate:12,.0f}/s   perfcore is {ours / rate:5.2f}x this")

    print(f"memory ({objects} objects)")
    sizes = bench_memory(objects)
    mine = sizes[0][1]
    for name, size in sizes:
        print(f"  {name:40s} {size:12,.0f} B    perfcore uses {mine / size:5.2f}x this")

    print(f"storage ({stored} commands, each its own transaction)")
    stores = bench_storage(stored)
    baseline = stores[-1][1]
    for name, rate in stores:
        print(f"  {name:40s} {rate:12,.0f}/s   {rate / baseline:5.2f}x the sqlite3 baseline")


if __name__ == "__main__":
    main()
