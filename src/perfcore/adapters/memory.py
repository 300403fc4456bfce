"""The in-memory store: the reference implementation of :mod:`perfcore.ports`.

Everything lives in dicts guarded by one lock, so a :class:`MemoryStore` is safe for many threads
of one process, and gone when the process ends: for tests, prototypes and examples.

A unit of work reads committed data (and its own writes), buffers every write, and at
:meth:`~MemoryUnitOfWork.commit` checks, under the lock, that nothing it depends on changed
meanwhile (idempotency keys, object versions, the audit log's last sequence) before it applies
all of its writes at once. So two units of work that loaded the same version cannot both win, and
an exception before the commit leaves nothing behind.

Objects are stored as they come back from their JSON envelope (:mod:`perfcore.serialization`),
and audit entries and notifications as their JSON data, so that what a caller holds is never
the stored copy, and every test run on this store also proves the serialisation round-trips.

>>> import datetime as dt
>>> from perfcore.testing.drivers import driver_for
>>> store = MemoryStore()
>>> with store.unit_of_work() as uow:
...     uow.goals.add(driver_for("Goal").reach("active", id="g1"))
...     uow.commit()
>>> with store.unit_of_work() as uow:
...     uow.goals.get("g1").state
<GoalState.ACTIVE: 'active'>
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar, cast

import attrs

from perfcore._aggregate import Aggregate
from perfcore._codec import canonical_json, from_json_data, to_json_data
from perfcore.errors import (
    ConcurrencyError,
    LineageConflict,
    NotFound,
    StorageError,
    ValidationError,
)
from perfcore.job_description import JobDescription
from perfcore.lifecycle import lifecycle_of
from perfcore.ports import (
    AUDIT_LOG,
    IDEMPOTENCY_KEY,
    AuditEntry,
    IdempotencyRecord,
    Notification,
    Store,
)
from perfcore.serialization import dumps, event_from_json_data, event_to_json_data, loads

if TYPE_CHECKING:
    from perfcore.evaluation import Evaluation
    from perfcore.goal import Goal
    from perfcore.plan import Plan
    from perfcore.review_cycle import ReviewCycle  # noqa: F401 (named in a base class)

__all__ = ["MemoryStore", "MemoryUnitOfWork"]

A = TypeVar("A", bound=Aggregate)
ObjectKey = tuple[str, str]


# -- what is stored -------------------------------------------------------------------------------


@attrs.frozen
class _AuditRow:
    """An audit entry as stored: the event as canonical JSON text, as a database would hold it."""

    sequence: int
    scheme: int
    previous_hash: str
    hash: str
    event: str

    @classmethod
    def of(cls, entry: AuditEntry) -> _AuditRow:
        event = canonical_json(event_to_json_data(entry.event))
        return cls(entry.sequence, entry.scheme, entry.previous_hash, entry.hash, event)

    def entry(self) -> AuditEntry:
        return AuditEntry(
            sequence=self.sequence,
            event=event_from_json_data(json.loads(self.event)),
            previous_hash=self.previous_hash,
            hash=self.hash,
            scheme=self.scheme,
        )


@attrs.define
class _OutboxRow:
    """A notification as stored (its JSON data), and when it was handed over, if it was."""

    data: dict[str, Any]
    delivered_at: dt.datetime | None = None

    def notification(self) -> Notification:
        result: Notification = from_json_data(self.data, Notification)
        return result


@attrs.define
class _Data:
    """Everything a store holds; only ever touched under the store's lock."""

    objects: dict[str, dict[str, Aggregate]] = attrs.field(factory=dict)
    audit: list[_AuditRow] = attrs.field(factory=list)
    outbox: dict[str, _OutboxRow] = attrs.field(factory=dict)
    keys: dict[str, IdempotencyRecord] = attrs.field(factory=dict)

    def of_type(self, kind: str) -> dict[str, Aggregate]:
        return self.objects.setdefault(kind, {})

    def last_row(self) -> _AuditRow | None:
        # perfcore only appends, each time after the last sequence (checked at commit), so
        # the last row holds the highest sequence.
        return self.audit[-1] if self.audit else None

    def last_sequence(self) -> int:
        row = self.last_row()
        return 0 if row is None else row.sequence


@attrs.define
class _Write:
    """One object written in a unit of work: its newest value, and the version the unit of work
    found committed (``None`` for an added object: nothing may be committed under its id)."""

    obj: Aggregate
    base: int | None


@attrs.define
class _Buffer:
    """The writes of one unit of work, applied only at commit."""

    objects: dict[ObjectKey, _Write] = attrs.field(factory=dict)
    audit: list[_AuditRow] = attrs.field(factory=list)
    outbox: dict[str, _OutboxRow] = attrs.field(factory=dict)
    delivered: dict[str, dt.datetime] = attrs.field(factory=dict)
    keys: dict[str, IdempotencyRecord] = attrs.field(factory=dict)


def _check_lineage(added: Aggregate, others: Iterable[Aggregate]) -> None:
    """Refuse a job description whose number is taken in its lineage (two racing new versions
    cannot both be number n+1)."""
    if not isinstance(added, JobDescription):
        return
    for other in others:
        if (
            isinstance(other, JobDescription)
            and other.id != added.id
            and (other.lineage_id, other.number) == (added.lineage_id, added.number)
        ):
            raise LineageConflict(added.id, added.lineage_id, added.number)


# -- the store ------------------------------------------------------------------------------------


class MemoryStore:
    """Keeps perfcore's objects in memory, safely for the threads of one process.

    Implements :class:`perfcore.ports.Store`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data = _Data()
        self._closed = False

    def unit_of_work(self) -> MemoryUnitOfWork:
        """A new unit of work. Use one per thread, for one command.

        Raises:
            StorageError: the store is closed.
        """
        self._check_open()
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        """Close the store: later units of work are refused. The data stays readable by
        units of work already open until they end."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the memory store is closed")

    def _rewrite_audit_log(self, entries: Sequence[AuditEntry]) -> None:
        """Replace the stored audit log with ``entries``, going around perfcore.

        Only for tests that play a tamperer; perfcore never updates or deletes an entry.
        """
        with self._lock:
            self._data.audit = [_AuditRow.of(entry) for entry in entries]


# -- repositories ---------------------------------------------------------------------------------


class _Repository(Generic[A]):
    """One aggregate type's view of a unit of work: committed objects overlaid with its writes."""

    kind: ClassVar[str]

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, id: str) -> A:
        """The stored object. Raises NotFound if there is none."""
        found = self.find(id)
        if found is None:
            raise NotFound(self.kind, id)
        return found

    def find(self, id: str) -> A | None:
        """The stored object, or ``None``."""
        return cast("A | None", self._uow._find(self.kind, id))

    def add(self, obj: A) -> None:
        """Store a new object. Raises ConcurrencyError if its id is taken."""
        self._check_type(obj)
        self._uow._add(self.kind, obj)

    def save(self, obj: A, *, expected_version: int) -> None:
        """Replace the stored object with ``obj``, checking the version it was loaded at."""
        self._check_type(obj)
        self._uow._save(self.kind, obj, expected_version)

    def by_state(self, state: str) -> list[A]:
        """Every stored object in ``state``, ordered by id."""
        return self._select(lambda obj: str(obj.state) == str(state))

    def _select(
        self, keep: Callable[[A], bool], order: Callable[[A], Any] | None = None
    ) -> list[A]:
        objects = [cast("A", obj) for obj in self._uow._all(self.kind)]
        chosen = [obj for obj in objects if keep(obj)]
        return sorted(chosen, key=order or (lambda obj: obj.id))

    def _check_type(self, obj: object) -> None:
        if not isinstance(obj, Aggregate) or lifecycle_of(type(obj)).name != self.kind:
            raise ValidationError("obj", f"a {self.kind} repository stores {self.kind} objects")


class _JobDescriptions(_Repository["JobDescription"]):
    kind = "JobDescription"

    def by_lineage(self, lineage_id: str) -> list[JobDescription]:
        """Every number of one lineage, ordered by number."""
        return self._select(lambda jd: jd.lineage_id == lineage_id, lambda jd: jd.number)

    def by_employee(self, employee_id: str) -> list[JobDescription]:
        """Every description written for one employee, ordered by lineage, then number."""
        return self._select(
            lambda jd: jd.employee_id == employee_id, lambda jd: (jd.lineage_id, jd.number)
        )


class _Goals(_Repository["Goal"]):
    kind = "Goal"

    def by_owner(self, owner_id: str) -> list[Goal]:
        """Every goal of one person, ordered by id."""
        return self._select(lambda goal: goal.owner_id == owner_id)

    def by_manager(self, manager_id: str) -> list[Goal]:
        """Every goal one manager oversees, ordered by id."""
        return self._select(lambda goal: goal.manager_id == manager_id)


class _Plans(_Repository["Plan"]):
    kind = "Plan"

    def by_subject(self, subject_id: str) -> list[Plan]:
        """Every plan for one employee or team, ordered by id."""
        return self._select(lambda plan: plan.subject_id == subject_id)

    def by_cycle(self, cycle_id: str) -> list[Plan]:
        """Every plan of one review cycle, ordered by id."""
        return self._select(lambda plan: plan.cycle_id == cycle_id)


class _Evaluations(_Repository["Evaluation"]):
    kind = "Evaluation"

    def by_subject(self, subject_id: str) -> list[Evaluation]:
        """Every evaluation of one person, ordered by id."""
        return self._select(lambda evaluation: evaluation.subject_id == subject_id)

    def by_cycle(self, cycle_id: str) -> list[Evaluation]:
        """Every evaluation of one review cycle, ordered by id."""
        return self._select(lambda evaluation: evaluation.cycle_id == cycle_id)


class _Cycles(_Repository["ReviewCycle"]):
    kind = "ReviewCycle"


# -- the audit log, the outbox, idempotency keys --------------------------------------------------


class _AuditLog:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def last(self) -> AuditEntry | None:
        """The entry with the highest sequence (this unit of work's own included), or None."""
        row = self._uow._last_audit_row()
        return None if row is None else row.entry()

    def append(self, entries: Sequence[AuditEntry]) -> None:
        """Add entries that follow the last one; ConcurrencyError if they do not."""
        self._uow._append(entries)

    def read(self, after: int = 0) -> Iterator[AuditEntry]:
        """The entries after sequence ``after``, in sequence order."""
        for row in self._uow._audit_rows(after=after):
            yield row.entry()


class _Outbox:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def put(self, notification: Notification) -> None:
        """Add a notification, written at commit."""
        self._uow._put(notification)

    def pending(self, limit: int = 100) -> list[Notification]:
        """Up to ``limit`` undelivered notifications, oldest first."""
        return self._uow._pending(limit)

    def mark_delivered(self, notification_id: str, at: dt.datetime) -> None:
        """Record that a notification was handed over (a second mark changes nothing)."""
        self._uow._mark_delivered(notification_id, at)


class _Idempotency:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record for ``key``, or None."""
        return self._uow._key(key)

    def put(self, record: IdempotencyRecord) -> None:
        """Remember a record; ConcurrencyError if the key is taken."""
        self._uow._put_key(record)


# -- the unit of work -----------------------------------------------------------------------------


class MemoryUnitOfWork:
    """One transaction on a :class:`MemoryStore`: buffered writes, applied together at commit.

    Implements :class:`perfcore.ports.UnitOfWork`. Reads see committed data and this unit of
    work's own writes; a conflict is found at once where possible, and always at commit.
    """

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._buffer = _Buffer()
        self.job_descriptions = _JobDescriptions(self)
        self.goals = _Goals(self)
        self.plans = _Plans(self)
        self.evaluations = _Evaluations(self)
        self.cycles = _Cycles(self)
        self.audit = _AuditLog(self)
        self.outbox = _Outbox(self)
        self.idempotency = _Idempotency(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Whatever was not committed is dropped, whether the block raised or just ended.
        self.rollback()

    def commit(self) -> None:
        """Check that nothing this unit of work depends on changed, then apply every write.

        Raises:
            ConcurrencyError: another unit of work committed first; nothing is written and
                this unit of work's writes are dropped.
        """
        store = self._store
        store._check_open()
        try:
            with store._lock:
                self._check_conflicts(store._data)
                self._apply(store._data)
        finally:
            self._buffer = _Buffer()

    def rollback(self) -> None:
        """Drop every write not yet committed."""
        self._buffer = _Buffer()

    # -- commit ---------------------------------------------------------------------------------

    def _check_conflicts(self, data: _Data) -> None:
        buffer = self._buffer
        # Keys first: a request repeated while the first one runs then sees a key conflict, and
        # the services answer it with the first result.
        for key in buffer.keys:
            if key in data.keys:
                raise ConcurrencyError(IDEMPOTENCY_KEY, key, 0, 1)
        for (kind, id), write in buffer.objects.items():
            stored = data.of_type(kind).get(id)
            stored_version = None if stored is None else stored.version
            if write.base is None and stored is not None:
                raise ConcurrencyError(kind, id, 0, stored_version)
            if write.base is None:
                _check_lineage(write.obj, data.of_type(kind).values())
            if write.base is not None and stored_version != write.base:
                raise ConcurrencyError(kind, id, write.base, stored_version)
        if buffer.audit:
            last = data.last_sequence()
            first = buffer.audit[0].sequence
            if first != last + 1:
                raise ConcurrencyError(AUDIT_LOG, "audit", first - 1, last)
        for id in buffer.outbox:
            if id in data.outbox:
                raise ConcurrencyError("Notification", id, 0, 1)

    def _apply(self, data: _Data) -> None:
        buffer = self._buffer
        for (kind, id), write in buffer.objects.items():
            data.of_type(kind)[id] = write.obj
        data.audit.extend(buffer.audit)
        data.outbox.update(buffer.outbox)
        for id, at in buffer.delivered.items():
            row = data.outbox[id]
            if row.delivered_at is None:
                row.delivered_at = at
        data.keys.update(buffer.keys)

    # -- objects --------------------------------------------------------------------------------

    def _committed(self, kind: str, id: str) -> Aggregate | None:
        with self._store._lock:
            return self._store._data.of_type(kind).get(id)

    def _find(self, kind: str, id: str) -> Aggregate | None:
        write = self._buffer.objects.get((kind, id))
        return write.obj if write is not None else self._committed(kind, id)

    def _all(self, kind: str) -> list[Aggregate]:
        with self._store._lock:
            found = dict(self._store._data.of_type(kind))
        for (write_kind, id), write in self._buffer.objects.items():
            if write_kind == kind:
                found[id] = write.obj
        return list(found.values())

    def _add(self, kind: str, obj: Aggregate) -> None:
        current = self._find(kind, obj.id)
        if current is not None:
            raise ConcurrencyError(kind, obj.id, 0, current.version)
        _check_lineage(obj, self._all(kind))
        self._buffer.objects[(kind, obj.id)] = _Write(_stored_copy(obj), None)

    def _save(self, kind: str, obj: Aggregate, expected_version: int) -> None:
        current = self._find(kind, obj.id)
        if current is None:
            raise NotFound(kind, obj.id)
        if current.version != expected_version or obj.version <= expected_version:
            raise ConcurrencyError(kind, obj.id, expected_version, current.version)
        earlier = self._buffer.objects.get((kind, obj.id))
        base = earlier.base if earlier is not None else expected_version
        self._buffer.objects[(kind, obj.id)] = _Write(_stored_copy(obj), base)

    # -- audit ----------------------------------------------------------------------------------

    def _audit_rows(self, after: int) -> list[_AuditRow]:
        with self._store._lock:
            committed = list(self._store._data.audit)
        rows = [row for row in (*committed, *self._buffer.audit) if row.sequence > after]
        # Sorted, as a database reads ``ORDER BY sequence``; a stable sort keeps duplicates.
        return sorted(rows, key=lambda row: row.sequence)

    def _last_audit_row(self) -> _AuditRow | None:
        if self._buffer.audit:
            return self._buffer.audit[-1]
        with self._store._lock:
            return self._store._data.last_row()

    def _append(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        if not all(isinstance(entry, AuditEntry) for entry in entries):
            raise ValidationError("entries", "must be AuditEntry objects")
        row = self._last_audit_row()
        last = 0 if row is None else row.sequence
        expected = list(range(last + 1, last + 1 + len(entries)))
        if [entry.sequence for entry in entries] != expected:
            raise ConcurrencyError(AUDIT_LOG, "audit", entries[0].sequence - 1, last)
        self._buffer.audit.extend(_AuditRow.of(entry) for entry in entries)

    # -- outbox ---------------------------------------------------------------------------------

    def _has_notification(self, id: str) -> bool:
        if id in self._buffer.outbox:
            return True
        with self._store._lock:
            return id in self._store._data.outbox

    def _outbox_rows(self) -> dict[str, _OutboxRow]:
        with self._store._lock:
            rows = {
                id: _OutboxRow(row.data, row.delivered_at)
                for id, row in self._store._data.outbox.items()
            }
        rows.update(self._buffer.outbox)
        return rows

    def _put(self, notification: Notification) -> None:
        if not isinstance(notification, Notification):
            raise ValidationError("notification", "must be a Notification")
        if self._has_notification(notification.id):
            raise ConcurrencyError("Notification", notification.id, 0, 1)
        data: dict[str, Any] = to_json_data(notification)
        self._buffer.outbox[notification.id] = _OutboxRow(json.loads(canonical_json(data)))

    def _pending(self, limit: int) -> list[Notification]:
        waiting = [
            row
            for id, row in self._outbox_rows().items()
            if row.delivered_at is None and id not in self._buffer.delivered
        ]
        return [row.notification() for row in waiting[: max(limit, 0)]]

    def _mark_delivered(self, notification_id: str, at: dt.datetime) -> None:
        if not self._has_notification(notification_id):
            raise NotFound("Notification", notification_id)
        self._buffer.delivered.setdefault(notification_id, at)

    # -- idempotency ----------------------------------------------------------------------------

    def _key(self, key: str) -> IdempotencyRecord | None:
        if key in self._buffer.keys:
            return self._buffer.keys[key]
        with self._store._lock:
            return self._store._data.keys.get(key)

    def _put_key(self, record: IdempotencyRecord) -> None:
        if not isinstance(record, IdempotencyRecord):
            raise ValidationError("record", "must be an IdempotencyRecord")
        if self._key(record.key) is not None:
            raise ConcurrencyError(IDEMPOTENCY_KEY, record.key, 0, 1)
        self._buffer.keys[record.key] = record


def _stored_copy(obj: Aggregate) -> Aggregate:
    """The object as it comes back from storage: through its envelope, as a database keeps it,
    so that the caller's copy and the stored one share nothing."""
    return loads(dumps(obj))


if TYPE_CHECKING:

    def _conforms(store: MemoryStore) -> Store:
        """Never called: ``mypy --strict src`` checks here that MemoryStore is a Store."""
        return store
