"""What the contract modules share: the cast, reading a store back, and building test data.

Everything here goes through perfcore's public ports, services and drivers only, so that the
contract judges an adapter by what it does, never by how it is built.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Any

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.audit import chain
from perfcore.goal import Goal
from perfcore.ports import AuditEntry, IdempotencyRecord, Notification, Store, UnitOfWork
from perfcore.services import Perfcore
from perfcore.testing._fakes import CountingIds, SteppingClock
from perfcore.testing.drivers import EPOCH, Driver, drivers, path_to

__all__ = [
    "ANA",
    "BEN",
    "CLEO",
    "DEADLOCK_GUARD",
    "DRIVERS",
    "REPOSITORIES",
    "audit_entries",
    "every_state",
    "notification",
    "pending",
    "perfcore",
    "proposed_goal",
    "record",
    "repository",
    "seed",
    "stored",
    "write_and_commit",
]

#: The unit-of-work attribute that holds each aggregate type.
REPOSITORIES = {
    "JobDescription": "job_descriptions",
    "Goal": "goals",
    "Plan": "plans",
    "Evaluation": "evaluations",
    "ReviewCycle": "cycles",
}

DRIVERS: dict[str, Driver[Any]] = drivers()

ANA = Actor(id="ana")
BEN = Actor(id="ben", roles={"employee", "manager"})
CLEO = Actor(id="cleo", roles={"employee", "approver"}, department="people")

#: A guard against a deadlock, never a measure of anything: tests wait for events, not time.
DEADLOCK_GUARD = 60


def every_state() -> list[tuple[str, str]]:
    """Every (type, state) a driver reaches, in a stable order."""
    found = []
    for name, driver in sorted(DRIVERS.items()):
        for state in driver.lifecycle.states:
            with contextlib.suppress(ValueError):
                path_to(driver.lifecycle, state)
                found.append((name, state))
    return found


def repository(uow: UnitOfWork, name: str) -> Any:
    """The repository of aggregate type ``name`` in ``uow``."""
    return getattr(uow, REPOSITORIES[name])


def perfcore(store: Store, **options: Any) -> Perfcore:
    """Services over ``store`` with a clock that steps a minute a reading, and counting ids."""
    options.setdefault("clock", SteppingClock(EPOCH + dt.timedelta(days=2)))
    options.setdefault("ids", CountingIds())
    return Perfcore(store, **options)


def seed(store: Store, *objects: Aggregate, key: bytes | None = None) -> None:
    """Store objects built by drivers, with their histories in the audit log, as the services
    would have left them."""
    with store.unit_of_work() as uow:
        for obj in objects:
            repository(uow, type(obj).lifecycle.name).add(obj)
        events = [event for obj in objects for event in obj.history]
        uow.audit.append(chain(events, uow.audit.last(), key=key))
        uow.commit()


def write_and_commit(uow: UnitOfWork, *writes: Callable[[], object]) -> None:
    """Run ``writes``, then commit: an adapter may refuse at a write or at the commit."""
    for write in writes:
        write()
    uow.commit()


def stored(store: Store, obj: Aggregate) -> Aggregate | None:
    """What ``store`` holds under ``obj``'s type and id."""
    with store.unit_of_work() as uow:
        found: Aggregate | None = repository(uow, type(obj).lifecycle.name).find(obj.id)
        return found


def audit_entries(store: Store, after: int = 0) -> list[AuditEntry]:
    """The whole audit log (after ``after``)."""
    with store.unit_of_work() as uow:
        return list(uow.audit.read(after))


def pending(store: Store, limit: int = 1000) -> list[Notification]:
    """The undelivered notifications."""
    with store.unit_of_work() as uow:
        return list(uow.outbox.pending(limit))


def notification(id: str, kind: str = "review_due") -> Notification:
    """A notification for the outbox tests."""
    return Notification(
        id=id,
        kind=kind,
        recipients=("ana",),
        aggregate_type="Goal",
        aggregate_id="g-1",
        version=1,
        at=EPOCH,
        data={"note": "résumé ✓", "n": 1},
    )


def record(key: str, version: int = 1) -> IdempotencyRecord:
    """An idempotency record for the key tests."""
    return IdempotencyRecord(
        key=key,
        fingerprint="f" * 64,
        aggregate_type="Goal",
        aggregate_id="g-1",
        version=version,
        at=EPOCH,
    )


def proposed_goal(pc: Perfcore, id: str = "g-1", owner: Actor = ANA) -> Goal:
    """A goal of ``owner``'s, managed by ben, proposed through the services."""
    pc.goals.create(
        by=owner,
        id=id,
        owner_id=owner.id,
        manager_id=BEN.id,
        title="Resolve more tickets",
        metric="tickets a week",
        baseline=0,
        target=10,
        start=EPOCH.date(),
        due=EPOCH.date() + dt.timedelta(days=180),
    )
    return pc.goals.propose(id, by=owner)
