"""Ports: the interfaces at perfcore's edge, which storage, clocks and notifiers implement.

perfcore ships two stores (:mod:`perfcore.adapters.memory`, :mod:`perfcore.adapters.sqlite`);
an integrator who keeps HR data elsewhere implements these protocols and certifies the result with
:mod:`perfcore.testing.conformance`. Every protocol here is small on purpose: the shared logic
(hash chaining, idempotency, notification hand-off) lives in perfcore, not in each adapter.

The contract every adapter keeps:

- **Nothing is silently overwritten.** ``add`` refuses an id that is stored; ``save`` writes only
  when the stored version is the ``expected_version`` the caller loaded, else it raises
  :class:`~perfcore.errors.ConcurrencyError` and writes nothing.
- **All or nothing.** Everything written through one :class:`UnitOfWork` becomes visible at
  ``commit()`` together, or (on ``rollback()``, an exception, or a crash) not at all.
- **Append only.** The audit log and the outbox are never updated or deleted by perfcore, except
  that an outbox entry is marked delivered.
- **perfcore's errors only.** Driver errors are translated into
  :class:`~perfcore.errors.StorageError` subclasses.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar, runtime_checkable

import attrs

from perfcore._validate import aware_datetime, identifier
from perfcore.events import Event

if TYPE_CHECKING:
    from perfcore.evaluation import Evaluation
    from perfcore.goal import Goal
    from perfcore.job_description import JobDescription
    from perfcore.plan import Plan
    from perfcore.review_cycle import ReviewCycle  # noqa: F401 (named in a base class)

__all__ = [
    "AUDIT_LOG",
    "IDEMPOTENCY_KEY",
    "AuditEntry",
    "AuditLog",
    "Clock",
    "EvaluationRepository",
    "GoalRepository",
    "IdFactory",
    "IdempotencyRecord",
    "IdempotencyStore",
    "JobDescriptionRepository",
    "Notification",
    "Notifier",
    "Outbox",
    "PlanRepository",
    "Repository",
    "ReviewCycleRepository",
    "Store",
    "SystemClock",
    "UnitOfWork",
    "UuidIds",
]

A = TypeVar("A")

#: ``ConcurrencyError.aggregate_type`` when another unit of work appended to the audit log first.
#: Nothing of the caller's was touched by anyone else, so the services run the command again.
AUDIT_LOG = "AuditLog"
#: ``ConcurrencyError.aggregate_type`` when another unit of work recorded the same idempotency
#: key first; the services run the command again, which then returns that first result.
IDEMPOTENCY_KEY = "IdempotencyKey"


# -- time and ids ---------------------------------------------------------------------------------


@runtime_checkable
class Clock(Protocol):
    """Tells the time. perfcore's domain never reads a clock; the services ask this one."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The system clock, in UTC."""

    def now(self) -> dt.datetime:
        """The current time in UTC."""
        return dt.datetime.now(dt.UTC)


@runtime_checkable
class IdFactory(Protocol):
    """Makes ids for new objects and notifications."""

    def new_id(self, kind: str) -> str:
        """A new id, never given before, for an object of ``kind`` ("Goal", "notification")."""
        ...


class UuidIds:
    """Random UUID4 ids (``kind`` is not part of the id)."""

    def new_id(self, kind: str) -> str:
        """A new random UUID, as a string."""
        return str(uuid.uuid4())


# -- aggregates -----------------------------------------------------------------------------------


class Repository(Protocol[A]):
    """Stores one aggregate type. Objects are stored whole, with their history."""

    def get(self, id: str) -> A:
        """The stored object. Raises :class:`~perfcore.errors.NotFound` if there is none."""
        ...

    def find(self, id: str) -> A | None:
        """The stored object, or ``None``."""
        ...

    def add(self, obj: A) -> None:
        """Store a new object. Raises ConcurrencyError if the id is stored already."""
        ...

    def save(self, obj: A, *, expected_version: int) -> None:
        """Replace the stored object with ``obj``, a later version of it.

        Raises:
            ConcurrencyError: the stored version is not ``expected_version`` (someone else saved
                first), or ``obj.version`` is not greater than it. Nothing is written.
            NotFound: nothing with ``obj.id`` is stored.
        """
        ...

    def by_state(self, state: str) -> Sequence[A]:
        """Every stored object in ``state``, ordered by id."""
        ...


class JobDescriptionRepository(Repository["JobDescription"], Protocol):
    """Stores job descriptions."""

    def by_lineage(self, lineage_id: str) -> Sequence[JobDescription]:
        """Every version in a lineage, ordered by number."""
        ...

    def by_employee(self, employee_id: str) -> Sequence[JobDescription]:
        """Every job description written for one employee, ordered by lineage, then number."""
        ...


class GoalRepository(Repository["Goal"], Protocol):
    """Stores goals."""

    def by_owner(self, owner_id: str) -> Sequence[Goal]:
        """Every goal of one person, ordered by id."""
        ...

    def by_manager(self, manager_id: str) -> Sequence[Goal]:
        """Every goal one manager oversees, ordered by id."""
        ...


class PlanRepository(Repository["Plan"], Protocol):
    """Stores plans."""

    def by_subject(self, subject_id: str) -> Sequence[Plan]:
        """Every plan for one employee or team, ordered by id."""
        ...

    def by_cycle(self, cycle_id: str) -> Sequence[Plan]:
        """Every plan of one review cycle, ordered by id."""
        ...


class EvaluationRepository(Repository["Evaluation"], Protocol):
    """Stores evaluations."""

    def by_subject(self, subject_id: str) -> Sequence[Evaluation]:
        """Every evaluation of one person, ordered by id."""
        ...

    def by_cycle(self, cycle_id: str) -> Sequence[Evaluation]:
        """Every evaluation of one review cycle, ordered by id."""
        ...


class ReviewCycleRepository(Repository["ReviewCycle"], Protocol):
    """Stores review cycles."""


# -- the audit log --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AuditEntry:
    """One event in the audit log, chained to the one before it.

    Attributes:
        sequence: the entry's position, from 1, in commit order.
        event: the event recorded.
        previous_hash: the hash of entry ``sequence - 1`` ("" for the first).
        hash: a hash of the canonical JSON of ``event`` and ``previous_hash`` (an HMAC when the
            log is keyed); see :mod:`perfcore.audit`.
        scheme: the version of the hashing scheme, so that it can change without breaking old
            entries.
    """

    sequence: int
    event: Event
    previous_hash: str
    hash: str
    scheme: int


class AuditLog(Protocol):
    """The append-only record of every event of every aggregate, in commit order.

    An adapter stores entries exactly as given; :mod:`perfcore.audit` computes the chain.
    """

    def last(self) -> AuditEntry | None:
        """The entry with the highest sequence, or ``None`` when the log is empty."""
        ...

    def append(self, entries: Sequence[AuditEntry]) -> None:
        """Add entries whose sequences follow the last one's, in the current unit of work.

        Raises:
            ConcurrencyError: (``aggregate_type`` :data:`AUDIT_LOG`; now or at ``commit``) the
                first sequence does not follow the last stored one: another unit of work
                appended first. Two units of work never both write one sequence number.
        """
        ...

    def read(self, after: int = 0) -> Iterator[AuditEntry]:
        """The entries with sequence greater than ``after``, in sequence order."""
        ...


# -- notifications --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Notification:
    """Something people must be told, written in the same transaction as the change behind it.

    Attributes:
        id: unique; a notifier drops a notification whose id it has handled (delivery is at least
            once).
        kind: "plan_attained", "feedback_requested", "review_due", ...
        recipients: the ids of the people to tell.
        aggregate_type, aggregate_id, version: the change it comes from.
        at: when the change happened.
        data: details for the message, as JSON data.
    """

    id: str = attrs.field(validator=identifier)
    kind: str = attrs.field(validator=identifier)
    recipients: tuple[str, ...]
    aggregate_type: str
    aggregate_id: str
    version: int
    at: dt.datetime = attrs.field(validator=aware_datetime)
    data: Mapping[str, Any] = attrs.field(factory=dict)


@runtime_checkable
class Notifier(Protocol):
    """Delivers notifications (e-mail, chat, a queue): the caller's code."""

    def notify(self, notification: Notification) -> None:
        """Deliver one notification; raise to have it tried again later."""
        ...


class Outbox(Protocol):
    """Notifications waiting to be handed to the notifier."""

    def put(self, notification: Notification) -> None:
        """Add a notification, in the current unit of work."""
        ...

    def pending(self, limit: int = 100) -> Sequence[Notification]:
        """Up to ``limit`` undelivered notifications, oldest first."""
        ...

    def mark_delivered(self, notification_id: str, at: dt.datetime) -> None:
        """Record that a notification was handed over (it is never offered again).

        Marking one that is marked already changes nothing (two deliverers may race).

        Raises:
            NotFound: (``aggregate_type`` ``"Notification"``) no notification has that id.
        """
        ...


# -- idempotency ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class IdempotencyRecord:
    """What a command given an idempotency key did the first time.

    Attributes:
        key: the caller's key.
        fingerprint: a hash of the command and its arguments; the same key with another
            fingerprint is refused.
        aggregate_type, aggregate_id, version: the object the command left, to return again.
        at: when it first ran.
    """

    key: str
    fingerprint: str
    aggregate_type: str
    aggregate_id: str
    version: int
    at: dt.datetime


class IdempotencyStore(Protocol):
    """Remembers commands run with an idempotency key."""

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record for ``key``, or ``None``."""
        ...

    def put(self, record: IdempotencyRecord) -> None:
        """Remember a record, in the current unit of work.

        Raises:
            ConcurrencyError: (``aggregate_type`` :data:`IDEMPOTENCY_KEY`; now or at
                ``commit``) the key is taken already: two requests with one key raced.
        """
        ...


# -- units of work and stores ---------------------------------------------------------------------


class UnitOfWork(Protocol):
    """One transaction over every repository, the audit log, the outbox and idempotency keys.

    Use it as a context manager: leaving the block without :meth:`commit` rolls back.
    """

    # Read-only, so that an implementation may hold a more specific type in a plain attribute.
    @property
    def job_descriptions(self) -> JobDescriptionRepository: ...

    @property
    def goals(self) -> GoalRepository: ...

    @property
    def plans(self) -> PlanRepository: ...

    @property
    def evaluations(self) -> EvaluationRepository: ...

    @property
    def cycles(self) -> ReviewCycleRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make everything written in this unit of work visible, at once."""
        ...

    def rollback(self) -> None:
        """Discard everything written in this unit of work."""
        ...


class Store(Protocol):
    """A place perfcore's objects live: opens units of work."""

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work (a transaction)."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...
