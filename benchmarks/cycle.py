"""Figure 8: a whole review cycle over a generated organisation, through the services, in bulk.

Every participant goes through 28 commands, each checked as usual against the directory,
the policy and the guards: a job description drafted by their manager, put to feedback, endorsed
and published; a goal proposed, approved, checked in twice and achieved; an evaluation with a
self-review, two peers' feedback and the manager's review, finalized by HR and acknowledged; a
plan submitted, approved by HR, acknowledged and attained; and the cycle's six steps, whose
advances check every participant's work. The commands are grouped in bulk units of work
(:meth:`perfcore.Perfcore.bulk`) of ``CHUNK`` participants' commands of one phase, as an import
or a load test would.

Each size runs in a process of its own (``python -m benchmarks.cycle --store S --people N``),
so that its peak memory (``ru_maxrss``) is its own. After the first check-ins (mid-year, when
the questions are asked), it times the queries of the issue: who is behind on their goals in
one department and in the whole organisation, plans due for review (all, and one author's), and
the cycle's status.

    python -m benchmarks --only cycle            # 1,000 / 10,000 / 100,000 people
    python -m benchmarks --only cycle --quick    # 1,000 people, memory and SQLite
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from perfcore import Perfcore
from perfcore.demo.organisation import Organisation, generate
from perfcore.evaluation import Rating
from perfcore.job_description import Criterion
from perfcore.limits import DEFAULT_LIMITS, Limits
from perfcore.plan import Approver, Objective
from perfcore.ports import Store

from .harness import Row, Stats

FIGURE = 8
#: Participants whose commands of one phase share a bulk unit of work.
CHUNK = 250
#: The objects a participant has in the cycle (description, goal, evaluation, plan), and one spare.
CACHED_PER_PERSON = 5
CRITERIA = (
    Criterion(name="Reply time", measured_by="median hours", weight=60, required_level="4"),
    Criterion(name="Customer rating", measured_by="survey", weight=40, required_level="4"),
)
RATINGS = [Rating(criterion=c.name, score=4, evidence="steady all year") for c in CRITERIA]
SCORES = {c.name: 4 for c in CRITERIA}
YEAR = 2026
#: The database's size in bytes when the run ended (SQLite), set as its store is closed.
SIZES: dict[str, int] = {}
QUERIES = (
    "behind: one department",
    "behind: whole organisation",
    "behind: whole organisation, first page",
    "plans due for review",
    "plans due for review, first page",
    "plans due for review: one author",
    "cycle status",
)
#: The goals or plans a page of an organisation-wide answer holds (what one screen shows).
PAGE = 100


class Clock:
    """The day each phase runs on, a microsecond later with every reading."""

    def __init__(self) -> None:
        self.day = dt.date(YEAR, 1, 5)
        self._tick = 0

    def now(self) -> dt.datetime:
        self._tick += 1
        start = dt.datetime.combine(self.day, dt.time(9), tzinfo=dt.UTC)
        return start + dt.timedelta(microseconds=self._tick)


class Ids:
    def new_id(self, kind: str) -> str:
        return uuid.uuid4().hex


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _hr_for(org: Organisation, hr: list[str], *busy: str | None) -> str:
    """An HR member who is none of ``busy`` (never the subject, author or evaluator)."""
    return next(person for person in hr if person not in busy)


class Cycle:
    """One cycle over ``org`` through ``pc``; counts its commands."""

    def __init__(self, pc: Perfcore, org: Organisation, clock: Clock) -> None:
        self.pc, self.org, self.clock = pc, org, clock
        self.people = [p.employee_id for p in org.participants()]
        self.hr = [m.id for m in org.hr]
        self.hr_lead = self.hr[0]
        self.commands = 0

    def _bulk(self, each: Callable[[str], int]) -> None:
        for chunk in _chunks(self.people):
            with self.pc.bulk():
                for person in chunk:
                    self.commands += each(person)

    def create(self) -> None:
        self.clock.day = dt.date(YEAR, 1, 5)
        self.pc.cycles.create(
            by=self.hr_lead,
            id="cycle",
            name=f"{YEAR} reviews",
            period_start=dt.date(YEAR, 1, 1),
            period_end=dt.date(YEAR, 12, 31),
            participants=self.org.participants(),
        )
        self.pc.cycles.start("cycle", by=self.hr_lead)
        self.commands += 2

    def job_description(self, person: str) -> int:
        member = self.org.member(person)
        author = member.manager_id
        assert author is not None
        peers = [p for p in self.org.neighbours(person, 5) if p != author][:3]
        jd = f"jd-{person}"
        jds = self.pc.job_descriptions
        jds.create(
            by=author,
            id=jd,
            title="Support engineer",
            department=member.department,
            employee_id=person,
            responsibilities=("Answer tickets",),
            criteria=CRITERIA,
            audience=frozenset({person, *peers}),
        )
        jds.open_feedback(jd, by=author)
        for peer in peers:
            jds.give_feedback(jd, by=peer, supports=True)
        jds.endorse(jd, by=author)
        jds.publish(jd, by=author)
        return 4 + len(peers)

    def goal(self, person: str) -> int:
        manager = self.org.member(person).manager_id
        assert manager is not None
        goal = f"goal-{person}"
        self.pc.goals.create(
            by=person,
            id=goal,
            owner_id=person,
            manager_id=manager,
            title="Resolve more tickets",
            metric="tickets a week",
            baseline=0,
            target=10,
            start=dt.date(YEAR, 1, 1),
            due=dt.date(YEAR, 12, 31),
        )
        self.pc.goals.propose(goal, by=person)
        self.pc.goals.approve(goal, by=manager)
        return 3

    def evaluation(self, person: str) -> int:
        member = self.org.member(person)
        manager = member.manager_id
        assert manager is not None
        evaluation = f"ev-{person}"
        peers = [p for p in self.org.neighbours(person, 4) if p != manager][:2]
        evs = self.pc.evaluations
        evs.create(
            by=manager,
            id=evaluation,
            subject_id=person,
            evaluator_id=manager,
            job_description_id=f"jd-{person}",
            cycle_id="cycle",
            period_start=dt.date(YEAR - 1, 1, 1),
            period_end=dt.date(YEAR - 1, 12, 31),
        )
        evs.open(evaluation, by=manager)
        evs.submit_self_review(evaluation, by=person, ratings=RATINGS)
        for peer in peers:
            evs.request_feedback(evaluation, by=manager, reviewer_id=peer, relationship="peer")
        for peer in peers:
            evs.give_feedback(evaluation, by=peer, scores=SCORES)
        evs.submit_manager_review(evaluation, by=manager, ratings=RATINGS)
        evs.finalize(evaluation, by=_hr_for(self.org, self.hr, person, manager))
        evs.acknowledge(evaluation, by=person)
        return 6 + 2 * len(peers)

    def plan(self, person: str) -> int:
        manager = self.org.member(person).manager_id
        assert manager is not None
        plan = f"plan-{person}"
        plans = self.pc.plans
        plans.create(
            by=manager,
            id=plan,
            kind="development",
            subject_id=person,
            author_id=manager,
            start=dt.date(YEAR, 4, 1),
            end=dt.date(YEAR, 12, 31),
            approver=Approver.department("people"),
            cycle_id="cycle",
            objectives=(Objective(goal_id=f"goal-{person}", success="ten a week"),),
            review_schedule="FREQ=MONTHLY",
        )
        plans.submit(plan, by=manager)
        plans.approve(plan, by=_hr_for(self.org, self.hr, person, manager))
        plans.acknowledge(plan, by=person)
        return 4

    def first_check_in(self, person: str) -> int:
        # Some ahead of a steady pace, some behind it: the questions have answers to find.
        value = 2 + int(person[1:]) % 5
        self.pc.goals.check_in(f"goal-{person}", by=person, on=self.clock.day, value=value)
        return 1

    def attain(self, person: str) -> int:
        manager = self.org.member(person).manager_id
        assert manager is not None
        self.pc.goals.check_in(f"goal-{person}", by=person, on=self.clock.day, value=10)
        self.pc.goals.achieve(f"goal-{person}", by=manager)
        self.pc.plans.attain(f"plan-{person}", by=manager)
        return 3

    def advance(self, day: dt.date) -> None:
        self.clock.day = day
        self.pc.cycles.advance("cycle", by=self.hr_lead)
        self.commands += 1


def _timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _queries(pc: Perfcore, cycle: Cycle) -> dict[str, dict[str, Any]]:
    on = cycle.clock.day
    department = cycle.org.departments[-1]
    author = cycle.org.member(cycle.people[-1]).manager_id
    assert author is not None
    month = (on, on + dt.timedelta(days=31))
    hr = cycle.hr_lead  # HR reads the whole organisation: the widest answer each can give
    asked: dict[str, Callable[[], int]] = {
        "behind: one department": lambda: len(
            pc.queries.behind(by=hr, on=on, department=department)
        ),
        "behind: whole organisation": lambda: len(pc.queries.behind(by=hr, on=on)),
        "behind: whole organisation, first page": lambda: len(
            pc.queries.behind(by=hr, on=on, limit=PAGE)
        ),
        "plans due for review": lambda: len(pc.queries.plans_due_for_review(*month, by=hr)),
        "plans due for review, first page": lambda: len(
            pc.queries.plans_due_for_review(*month, by=hr, limit=PAGE)
        ),
        "plans due for review: one author": lambda: len(
            pc.queries.plans_due_for_review(*month, by=hr, author_id=author)
        ),
        "cycle status": lambda: len(pc.cycles.status("cycle", by=hr, on=on).participants),
    }
    found = {}
    for name, ask in asked.items():
        wall, cpu, count = _timed(ask)
        found[name] = {"wall": wall, "cpu": cpu, "found": count}
    return found


def _store(kind: str, folder: Path) -> tuple[Store, Callable[[], None]]:
    if kind == "memory":
        from perfcore.adapters.memory import MemoryStore

        made: Store = MemoryStore()
        return made, made.close
    if kind == "sqlite":
        from perfcore.adapters.sqlite import SQLiteStore

        path = folder / f"cycle-{uuid.uuid4().hex[:8]}.sqlite3"
        made = SQLiteStore(path, synchronous="NORMAL")

        def remove() -> None:
            made.close()
            SIZES[kind] = sum(p.stat().st_size for p in folder.glob(f"{path.name}*"))
            for leftover in folder.glob(f"{path.name}*"):
                leftover.unlink()

        return made, remove
    from perfcore.adapters.postgres import PostgresStore

    dsn = os.environ["PERFCORE_POSTGRES_DSN"]
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    store = PostgresStore(dsn, schema=schema)

    def drop() -> None:
        import psycopg

        store.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    return store, drop


def one(kind: str, people: int, folder: Path) -> dict[str, Any]:
    """Run the whole cycle for ``people`` participants on store ``kind``; its figures."""
    org = generate(people + 1, seed=1)
    clock = Clock()
    store, close = _store(kind, folder)
    try:
        # A cycle names every participant: the organisation raises the bound on a collection
        # given to a command (10,000 by default) to its size, at every size alike.
        limits = Limits(items=max(DEFAULT_LIMITS.items, people + 1))
        pc = Perfcore(
            store,
            clock=clock,
            ids=Ids(),
            directory=org.directory(dt.date(YEAR - 1, 1, 1)),
            limits=limits,
            # The process keeps the cycle's objects loaded (five a participant), as a process
            # running a cycle is configured to: with the default 10,000, every object a later
            # phase reads again (the description an evaluation names, the goal a plan names) is
            # replayed from the store once the organisation passes 2,000 people.
            cache_size=max(10_000, CACHED_PER_PERSON * people),
        )
        cycle = Cycle(pc, org, clock)
        phases: dict[str, float] = {}
        wall, cpu = time.perf_counter(), time.process_time()

        def phase(name: str, day: dt.date, work: Callable[[], None]) -> None:
            clock.day = day
            started = time.perf_counter()
            work()
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

        phase("cycle create, start", dt.date(YEAR, 1, 5), cycle.create)
        phase("job descriptions", dt.date(YEAR, 1, 12), lambda: cycle._bulk(cycle.job_description))
        phase("goals", dt.date(YEAR, 1, 19), lambda: cycle._bulk(cycle.goal))
        phase("advance", dt.date(YEAR, 2, 2), lambda: cycle.advance(dt.date(YEAR, 2, 2)))
        phase("evaluations", dt.date(YEAR, 2, 9), lambda: cycle._bulk(cycle.evaluation))
        phase("advance", dt.date(YEAR, 3, 30), lambda: cycle.advance(dt.date(YEAR, 3, 30)))
        phase("plans", dt.date(YEAR, 4, 1), lambda: cycle._bulk(cycle.plan))
        phase("advance", dt.date(YEAR, 4, 27), lambda: cycle.advance(dt.date(YEAR, 4, 27)))
        phase("check-ins", dt.date(YEAR, 6, 30), lambda: cycle._bulk(cycle.first_check_in))
        paused = time.perf_counter(), time.process_time()
        queries = _queries(pc, cycle)
        resumed = time.perf_counter(), time.process_time()
        phase("attainment", dt.date(YEAR, 11, 30), lambda: cycle._bulk(cycle.attain))
        phase("advance", dt.date(YEAR, 12, 31), lambda: cycle.advance(dt.date(YEAR, 12, 31)))
        wall = time.perf_counter() - wall - (resumed[0] - paused[0])
        cpu = time.process_time() - cpu - (resumed[1] - paused[1])
        state = pc.cycles.get("cycle", by=cycle.hr_lead).state.value
    finally:
        close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "store": kind,
        "people": people,
        "commands": cycle.commands,
        "wall": wall,
        "cpu": cpu,
        "peak_mib": peak,
        "phases": phases,
        "queries": queries,
        "state": state,
        "database_bytes": SIZES.get(kind),
    }


def _in_process(kind: str, people: int, folder: Path) -> dict[str, Any]:
    """:func:`one` in a process of its own (its own peak memory)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.cycle",
            "--store",
            kind,
            "--people",
            str(people),
            "--folder",
            str(folder),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def stores() -> list[str]:
    found = ["memory", "sqlite"]
    if os.environ.get("PERFCORE_POSTGRES_DSN"):
        found.append("postgres")
    return found


def sizes(quick: bool) -> list[int]:
    if os.environ.get("PERFCORE_CYCLE_SIZES"):
        return [int(n) for n in os.environ["PERFCORE_CYCLE_SIZES"].split(",")]
    return [1_000] if quick else [1_000, 10_000, 100_000]


LIMITS = {"memory": 120.0, "sqlite": 300.0}


def rows_of(results: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    by = {(r["store"], r["people"]): r for r in results}
    for result in results:
        kind, people = result["store"], result["people"]
        wall = Stats.of([result["wall"]])
        smaller = by.get((kind, people // 10))
        goal, met, ratio = "", None, None
        if smaller is not None:
            ratio = wall.over(Stats.of([smaller["wall"]]))
            goal, met = "at most 11x per 10x", ratio.median <= 11
        rows.append(
            Row(
                FIGURE,
                f"whole cycle, {kind}, {people:,} people ({result['commands']:,} commands)",
                "s",
                wall,
                baseline=f"{people // 10:,} people" if smaller else "",
                ratio=ratio,
                ratio_means="this time / the time for a tenth of the people" if ratio else "",
                goal=goal,
                met=met,
                note=f"{result['cpu']:.1f} s CPU, {result['commands'] / result['wall']:,.0f}"
                f" commands/s, peak {result['peak_mib']:,.0f} MiB, ended {result['state']}"
                + (
                    f", {result['database_bytes'] / 2**20:,.0f} MB on disk"
                    if result.get("database_bytes")
                    else ""
                ),
            )
        )
        if people >= 100_000 and kind in LIMITS:
            limit = LIMITS[kind]
            rows.append(
                Row(
                    FIGURE,
                    f"whole cycle, {kind}, {people:,} people: time limit",
                    "s",
                    wall,
                    goal=f"under {limit:.0f} s",
                    met=result["wall"] < limit,
                )
            )
        for name in QUERIES:
            asked = result["queries"][name]
            is_goal = people >= 100_000 and kind == "sqlite"
            rows.append(
                Row(
                    FIGURE,
                    f"{name}, {kind}, {people:,} people",
                    "s",
                    Stats.of([asked["wall"]]),
                    goal="under 1 s" if is_goal else "",
                    met=asked["wall"] < 1.0 if is_goal else None,
                    note=f"{asked['found']:,} found, {asked['cpu']:.2f} s CPU",
                )
            )
    return rows


def run(quick: bool, directory: Path) -> list[Row]:
    results = [_in_process(kind, people, directory) for people in sizes(quick) for kind in stores()]
    return rows_of(results)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one whole cycle, in this process")
    parser.add_argument("--store", choices=["memory", "sqlite", "postgres"], default="memory")
    parser.add_argument("--people", type=int, default=1_000)
    parser.add_argument("--folder", type=Path, default=None)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="perfcore-cycle-") as spare:
        folder = options.folder if options.folder is not None else Path(spare)
        print(json.dumps(one(options.store, options.people, folder)))


if __name__ == "__main__":
    main()
