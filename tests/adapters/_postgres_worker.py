"""What the PostgreSQL tests share, and what their child processes run (never collected by pytest).

The tests run against the server that ``PERFCORE_POSTGRES_DSN`` names; without it they are skipped,
saying so. Each test keeps its store in a schema of its own (``perfcore_test_<random>``), dropped
after it, so that tests never see each other's data, nor anyone else's.

The process workers are module-level functions, so that a ``spawn`` child can import them:

- :func:`hammer`: the concurrency test's application server: random commands on shared goals and
  plans for a while, through :class:`~perfcore.services.Perfcore`;
- :func:`dying_consumer`: an outbox consumer that claims notifications, hands them over, and dies
  before it commits;
- :func:`publisher` and :func:`approver`: the lineage and idempotency-key races of
  ``test_races.py``, on PostgreSQL.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import os
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import psycopg
from psycopg import sql

from perfcore import Actor, Perfcore
from perfcore.adapters.postgres import PostgresStore
from perfcore.errors import (
    ConcurrencyError,
    GuardFailed,
    PerfcoreError,
    TransitionNotAllowed,
)
from perfcore.plan import Approver, Objective, Support
from perfcore.ports import Notification
from perfcore.testing.drivers import EPOCH

#: The environment variable naming the server the tests run against.
DSN_VARIABLE = "PERFCORE_POSTGRES_DSN"
DSN = os.environ.get(DSN_VARIABLE, "")
SKIP_REASON = (
    f"the PostgreSQL tests need a server: set {DSN_VARIABLE} to its connection string, such as"
    " postgresql://postgres@127.0.0.1:5432/test (.ci/run does)"
)
#: Every schema a test makes starts with this.
PREFIX = "perfcore_test_"

#: The people of the concurrency test: ana owns the goals and is the plans' subject, ben manages
#: her and writes the plans, cleo approves them.
OWNER = Actor(id="ana", roles={"employee"})
MANAGER = Actor(id="ben", roles={"employee", "manager"})
APPROVER = Actor(id="cleo", roles={"employee", "approver"}, department="people")
START = EPOCH.date()
DUE = START + dt.timedelta(days=180)
#: The commands of the concurrency test start here (the set-up's are before it).
RUN_START = EPOCH + dt.timedelta(days=2)
#: The errors a refused command of the concurrency test may raise.
REFUSALS = (ConcurrencyError, GuardFailed, TransitionNotAllowed)
#: Up to this many processes hammer: each one's events carry its number in their time's
#: microseconds (``at.microsecond % SLOTS``).
SLOTS = 16


# -- schemas --------------------------------------------------------------------------------------


def new_schema() -> str:
    """A schema name no one uses."""
    return f"{PREFIX}{uuid.uuid4().hex[:16]}"


@contextlib.contextmanager
def admin() -> Iterator[psycopg.Connection[Any]]:
    """A plain connection to the server, to do what perfcore never does."""
    with psycopg.connect(DSN, autocommit=True) as conn:
        yield conn


def drop_schemas(prefix: str) -> None:
    """Drop every schema whose name starts with ``prefix`` (a test's, and its extra stores')."""
    with admin() as conn:
        names = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
        ).fetchall()
        for (name,) in names:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


# -- the concurrency test -------------------------------------------------------------------------


class SlotClock:
    """The wall clock, moved to :data:`RUN_START`, in steps of :data:`SLOTS` microseconds, and
    this process's number in the microseconds: every event tells which process wrote it."""

    def __init__(self, slot: int, started: float) -> None:
        self.slot = slot
        self.started = started
        self.last = -1

    def now(self) -> dt.datetime:
        micros = int((time.time() - self.started) * 1_000_000) // SLOTS * SLOTS
        micros = max(micros, self.last + SLOTS)
        self.last = micros
        return RUN_START + dt.timedelta(microseconds=micros + self.slot)


def goal_ids(count: int) -> list[str]:
    return [f"g-{n:03}" for n in range(count)]


def plan_ids(count: int) -> list[str]:
    return [f"p-{n:03}" for n in range(count)]


def set_up(pc: Perfcore, count: int) -> None:
    """``count`` goals and as many plans, each plan on its goal: every other goal active, the
    others draft; the first half of the plans draft, the second half active."""
    for number, goal_id in enumerate(goal_ids(count)):
        pc.goals.create(
            by=OWNER, id=goal_id, owner_id=OWNER.id, manager_id=MANAGER.id,
            title="Resolve more tickets", metric="tickets a week", baseline=0, target=10,
            start=START, due=DUE,
        )  # fmt: skip
        if number % 2:
            pc.goals.propose(goal_id, by=OWNER)
            pc.goals.approve(goal_id, by=MANAGER)
    for number, (plan_id, goal_id) in enumerate(zip(plan_ids(count), goal_ids(count), strict=True)):
        pc.plans.create(
            by=MANAGER, id=plan_id, kind="development", subject_id=OWNER.id,
            author_id=MANAGER.id, approver=Approver.person(APPROVER.id),
            objectives=[Objective(goal_id=goal_id, success="ten tickets a week")],
            support=[Support(kind="mentoring", description="an hour a week")],
            review_schedule="FREQ=WEEKLY;INTERVAL=4", start=START, end=DUE,
        )  # fmt: skip
        if number >= count // 2:
            pc.plans.submit(plan_id, by=MANAGER)
            pc.plans.approve(plan_id, by=APPROVER)
            pc.plans.acknowledge(plan_id, by=OWNER)


#: Goals from this number on may be achieved (for good), and their plans attained.
FINAL_FROM = 90


def _command(pc: Perfcore, rng: random.Random, count: int) -> tuple[str, str, Any]:
    """A random command on a random goal or plan, half of them on the first few (where the
    servers race): (kind, id, what it returned). Goals go from draft to active and check in;
    plans of the first half go round draft and submitted; those of the second half are active,
    and are attained once their goal is achieved (only the last goals may be)."""
    n = rng.randrange(8) if rng.random() < 0.5 else rng.randrange(count)
    if rng.random() < 0.5:
        goal_id = f"g-{n:03}"
        goals = pc.goals
        choice = rng.choices(
            ["check_in", "edit", "propose", "request_changes", "approve", "achieve"],
            weights=[5, 2, 2, 2, 1, 1 if n >= FINAL_FROM else 0],
        )[0]
        if choice == "check_in":
            value = 10 if rng.random() < 0.3 else rng.randrange(10)
            result = goals.check_in(goal_id, by=OWNER, on=START, value=value)
        elif choice == "edit":
            result = goals.edit(goal_id, by=OWNER, description=f"take {rng.randrange(1000)}")
        elif choice == "propose":
            result = goals.propose(goal_id, by=OWNER)
        elif choice == "request_changes":
            result = goals.request_changes(goal_id, by=MANAGER, reason="weekly, please")
        elif choice == "approve":
            result = goals.approve(goal_id, by=MANAGER)
        else:
            result = goals.achieve(goal_id, by=MANAGER)
        return ("Goal", goal_id, result)
    plan_id = f"p-{n:03}"
    plans = pc.plans
    if n >= count // 2:
        return ("Plan", plan_id, plans.attain(plan_id, by=MANAGER))
    choice = rng.choices(["edit", "submit", "request_changes"], weights=[3, 2, 2])[0]
    if choice == "edit":
        support = [Support(kind="mentoring", description=f"take {rng.randrange(1000)}")]
        plan = plans.edit(plan_id, by=MANAGER, support=support)
    elif choice == "submit":
        plan = plans.submit(plan_id, by=MANAGER)
    else:
        plan = plans.request_changes(plan_id, by=APPROVER, reason="say what success is")
    return ("Plan", plan_id, plan)


@attrs.define
class Tally:
    """What one hammering process did."""

    slot: int
    accepted: int = 0
    #: Events its accepted commands appended (each command appends one).
    events: int = 0
    refused: dict[str, int] = attrs.field(factory=dict)
    unexpected: list[str] = attrs.field(factory=list)


def hammer(
    dsn: str,
    schema: str,
    slot: int,
    count: int,
    seconds: float,
    started: float,
    barrier: Any,
    results: Any,
) -> None:
    """Random commands on the ``count`` goals and plans for ``seconds``, from ``barrier`` on;
    the :class:`Tally` (as a dict) on ``results`` at the end."""
    try:
        results.put(attrs.asdict(_hammer(dsn, schema, slot, count, seconds, started, barrier)))
    except BaseException as error:
        results.put({"slot": slot, "crashed": f"{type(error).__name__}: {error}"})
        raise


def _hammer(
    dsn: str, schema: str, slot: int, count: int, seconds: float, started: float, barrier: Any
) -> Tally:
    rng = random.Random(slot)
    tally = Tally(slot)
    refused: collections.Counter[str] = collections.Counter()
    with PostgresStore(dsn, schema=schema, pool_size=2) as store:
        pc = Perfcore(store, clock=SlotClock(slot, started), seal_every=50)
        barrier.wait(120)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                _kind, _id, result = _command(pc, rng, count)
            except REFUSALS as error:
                refused[type(error).__name__] += 1
                continue
            except PerfcoreError as error:
                tally.unexpected.append(f"{type(error).__name__}: {error}")
                continue
            tally.accepted += 1
            tally.events += 1
            assert result.version >= 1
    tally.refused = dict(refused)
    return tally


# -- the outbox -----------------------------------------------------------------------------------


def notification(number: int) -> Notification:
    return Notification(
        id=f"n-{number:04}",
        kind="review_due",
        recipients=("ana",),
        aggregate_type="Goal",
        aggregate_id="g-1",
        version=1,
        at=EPOCH,
        data={"number": number},
    )


def dying_consumer(dsn: str, schema: str, count: int, claimed: Any, go: Any) -> None:
    """Claim ``count`` notifications, hand them over (put their ids on ``claimed``), wait for
    ``go``, and die without committing (as a crashed application server would)."""
    store = PostgresStore(dsn, schema=schema, pool_size=1)
    uow = store.unit_of_work()
    taken = uow.outbox.claim(count)
    claimed.put([one.id for one in taken])
    go.wait(120)
    os._exit(0)  # no commit, no rollback, no goodbye: the server sees the connection drop


# -- races (test_races.py, on PostgreSQL) ---------------------------------------------------------


def publisher(dsn: str, schema: str, number: int, rounds: int, barrier: Any, results: Any) -> None:
    """Publish number ``number`` of each round's lineage, all at the barrier's signal."""
    mia = Actor(id="mia", roles={"manager"})
    with PostgresStore(dsn, schema=schema, pool_size=2) as store:
        pc = Perfcore(store)
        for round in range(rounds):
            barrier.wait(60)
            try:
                pc.job_descriptions.publish(f"L{round}-{number}", by=mia)
                results.put((round, number, "published"))
            except PerfcoreError as refused:
                results.put((round, number, type(refused).__name__))


def approver(dsn: str, schema: str, rounds: int, barrier: Any, results: Any) -> None:
    """Approve each round's goal with one idempotency key, at the barrier's signal."""
    with PostgresStore(dsn, schema=schema, pool_size=2) as store:
        pc = Perfcore(store)
        for round in range(rounds):
            barrier.wait(60)
            try:
                approved = pc.goals.approve(f"g{round}", by=MANAGER, idempotency_key=f"k{round}")
                results.put((round, approved.version, str(approved.state)))
            except PerfcoreError as refused:
                results.put((round, 0, f"{type(refused).__name__}: {refused}"))
