"""The bulk path: many commands in one unit of work, each checked as alone, committed together."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from perfcore import Actor, GuardFailed, Perfcore, PermissionDenied
from perfcore.adapters.memory import MemoryStore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.errors import ConcurrencyError, IdempotencyConflict, TransitionNotAllowed
from perfcore.goal import GoalState
from perfcore.ports import Store

#: Reads name their reader: HR reads everything.
READER = Actor(id="hr-reader", roles={"hr"})

AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
ANA = Actor(id="ana")
BEN = Actor(id="ben", roles={"manager"})


class Clock:
    def now(self) -> dt.datetime:
        return AT


STORES = ["memory", "sqlite"] + (["postgres"] if os.environ.get("PERFCORE_POSTGRES_DSN") else [])


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[Store]:
    if request.param == "memory":
        made: Any = MemoryStore()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "bulk.sqlite3")
    else:
        from perfcore.adapters.postgres import PostgresStore

        schema = f"bulk_{uuid.uuid4().hex[:12]}"
        made = PostgresStore(os.environ["PERFCORE_POSTGRES_DSN"], schema=schema)
    yield made
    made.close()
    if request.param == "postgres":
        import psycopg

        with psycopg.connect(os.environ["PERFCORE_POSTGRES_DSN"], autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _goal(pc: Perfcore, id: str, **extra: Any) -> Any:
    return pc.goals.create(
        by=ANA,
        id=id,
        owner_id="ana",
        manager_id="ben",
        title="Resolve more tickets",
        metric="tickets a week",
        baseline=0,
        target=10,
        start=dt.date(2026, 1, 1),
        due=dt.date(2026, 6, 30),
        **extra,
    )


def _stored_version(store: Store, id: str) -> int | None:
    with store.unit_of_work() as uow:
        head = uow.events.head("Goal", id)
    return None if head is None else head.version


def test_a_bulk_commits_every_command_together(store: Store) -> None:
    pc = Perfcore(store, clock=Clock())
    with pc.bulk() as bulk:
        for n in range(3):
            _goal(pc, f"g-{n}")
            pc.goals.propose(f"g-{n}", by=ANA)
            pc.goals.approve(f"g-{n}", by=BEN)
        # Inside the bulk, its commands and queries see what it did; nobody else does yet.
        assert pc.goals.get("g-2", by=READER).state is GoalState.ACTIVE
        assert [s.goal.id for s in pc.queries.team_goals("ben", on=AT.date(), by=READER)] == [
            "g-0",
            "g-1",
            "g-2",
        ]
        assert _stored_version(store, "g-0") is None
    assert (bulk.commands, bulk.refused, bulk.events) == (9, 0, 9)
    assert [_stored_version(store, f"g-{n}") for n in range(3)] == [3, 3, 3]
    assert [e.trigger for e in pc.history("Goal", "g-1", by=READER)] == [
        "create",
        "propose",
        "approve",
    ]
    report = pc.verify_audit_log()
    assert report.intact, report


def test_a_bulk_is_sealed_as_one_audit_batch(store: Store) -> None:
    pc = Perfcore(store, clock=Clock(), seal_every=5)
    with pc.bulk():
        for n in range(4):
            _goal(pc, f"g-{n}")
            pc.goals.propose(f"g-{n}", by=ANA)
        with store.unit_of_work() as uow:
            assert uow.seals.last() is None  # no seal in the middle of a bulk
    with store.unit_of_work() as uow:
        last = uow.seals.last()
        assert last is not None
        assert last.count == 8
    assert pc.verify_audit_log().intact


def test_each_command_is_checked_as_if_alone(store: Store) -> None:
    pc = Perfcore(store, clock=Clock())
    with pc.bulk() as bulk:
        _goal(pc, "g-1")
        with pytest.raises(TransitionNotAllowed):
            pc.goals.approve("g-1", by=BEN)  # not proposed yet: refused as it would be alone
        pc.goals.propose("g-1", by=ANA)
        with pytest.raises(PermissionDenied):
            pc.goals.approve("g-1", by=ANA)  # the owner never approves her own goal
        pc.goals.approve("g-1", by=BEN)
        pc.goals.check_in("g-1", by=ANA, on=AT.date(), value=4)
        with pytest.raises(GuardFailed):
            pc.goals.achieve("g-1", by=BEN)  # the check-in earlier in the bulk counts
    # The refused commands, caught, left nothing; the others committed.
    assert (bulk.commands, bulk.refused) == (4, 3)
    assert [e.trigger for e in pc.history("Goal", "g-1", by=READER)] == [
        "create",
        "propose",
        "approve",
        "check_in",
    ]
    assert pc.verify_audit_log().intact


def test_a_refusal_that_leaves_the_block_rolls_the_whole_bulk_back(store: Store) -> None:
    pc = Perfcore(store, clock=Clock())
    _goal(pc, "g-0")
    with pytest.raises(GuardFailed), pc.bulk():  # noqa: PT012
        _goal(pc, "g-1", idempotency_key="create-g-1")
        pc.goals.propose("g-0", by=ANA)
        pc.goals.propose("g-1", by=ANA)
        pc.goals.approve("g-1", by=BEN)
        pc.goals.achieve("g-1", by=BEN)  # no check-in meets the target
    assert _stored_version(store, "g-0") == 1
    assert _stored_version(store, "g-1") is None
    assert pc.goals.get("g-0", by=READER).state is GoalState.DRAFT
    # The rolled-back bulk remembered no key: running it again (fixed) does the work.
    with pc.bulk():
        assert _goal(pc, "g-1", idempotency_key="create-g-1").version == 1
        pc.goals.propose("g-1", by=ANA)
    assert pc.goals.get("g-1", by=READER).state is GoalState.PROPOSED
    assert pc.verify_audit_log().intact


def test_idempotency_keys_hold_inside_and_across_bulks(store: Store) -> None:
    pc = Perfcore(store, clock=Clock())
    with pc.bulk() as bulk:
        _goal(pc, "g-1")
        pc.goals.propose("g-1", by=ANA)
        first = pc.goals.approve("g-1", by=BEN, idempotency_key="approve-1")
        again = pc.goals.approve("g-1", by=BEN, idempotency_key="approve-1")
        assert again == first
        assert again.version == 3
        with pytest.raises(IdempotencyConflict):
            pc.goals.cancel("g-1", by=BEN, reason="no", idempotency_key="approve-1")
        pc.goals.check_in("g-1", by=ANA, on=AT.date(), value=2, idempotency_key="ci-1")
    assert bulk.commands == 4
    with pc.bulk() as later:
        assert pc.goals.approve("g-1", by=BEN, idempotency_key="approve-1").version == 3
        assert (
            pc.goals.check_in("g-1", by=ANA, on=AT.date(), value=2, idempotency_key="ci-1").version
            == 4
        )
        with pytest.raises(IdempotencyConflict):
            pc.goals.check_in("g-1", by=ANA, on=AT.date(), value=3, idempotency_key="ci-1")
    assert later.events == 0
    # Outside a bulk, the bulk's keys are known too.
    assert pc.goals.approve("g-1", by=BEN, idempotency_key="approve-1").version == 3
    assert pc.goals.get("g-1", by=READER).version == 4
    assert pc.verify_audit_log().intact


def test_a_bulk_inside_a_bulk_joins_it(store: Store) -> None:
    pc = Perfcore(store, clock=Clock())
    with pc.bulk() as outer:
        _goal(pc, "g-1")
        with pc.bulk() as inner:
            assert inner is outer
            pc.goals.propose("g-1", by=ANA)
        assert _stored_version(store, "g-1") is None
    assert outer.commands == 2
    assert _stored_version(store, "g-1") == 2


def test_a_conflict_at_commit_stores_nothing() -> None:
    # A memory store commits another unit of work at once, so the race is easy to set up in
    # one thread; SQLite and PostgreSQL keep the same unit-of-work contract (the conformance
    # suite), and a bulk is one unit of work.
    store = MemoryStore()
    pc = Perfcore(store, clock=Clock())
    other = Perfcore(store, clock=Clock(), cache_size=0)
    _goal(pc, "g-1")
    _goal(pc, "g-2")
    with pytest.raises(ConcurrencyError), pc.bulk():  # noqa: PT012
        pc.goals.propose("g-2", by=ANA)
        pc.goals.propose("g-1", by=ANA)
        other.goals.edit("g-1", by=ANA, title="Resolve even more tickets")
    assert _stored_version(store, "g-2") == 1
    assert pc.goals.get("g-1", by=READER).title == "Resolve even more tickets"
    assert pc.verify_audit_log().intact
