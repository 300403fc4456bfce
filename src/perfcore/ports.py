"""Ports: the interfaces at perfcore's edge, which storage, clocks and notifiers implement.

perfcore ships two stores (:mod:`perfcore.adapters.memory`, :mod:`perfcore.adapters.sqlite`);
an integrator who keeps HR data elsewhere implements these protocols and certifies the result with
:mod:`perfcore.testing.conformance`. Every protocol here is small on purpose: the shared logic
(encoding, hash chains, snapshots, caching, idempotency, notification hand-off) lives in perfcore,
not in each adapter.

**The events are the record.** Each object is one *stream* of :class:`RecordedEvent` rows,
versions 1, 2, 3, ... with no gaps, each stored once. A store also keeps, per stream, a
:class:`StreamHead` (the version, the last event's chain hash, the state and the query columns,
rewritten with every append) and, as a cache only, the newest :class:`Snapshot`. Loading an
object is its newest snapshot plus the events after it; nothing else is ever the truth.

The contract every adapter keeps:

- **Nothing is overwritten.** :meth:`EventStore.append` writes only when the stream's stored
  version is the ``expected_version`` the caller loaded (0 for a new stream); otherwise it raises
  :class:`~perfcore.errors.ConcurrencyError` and writes nothing. Events are never updated or
  deleted, except that :meth:`EventStore.erase` replaces the erasable part of a person's events.
- **All or nothing.** Everything written through one :class:`UnitOfWork` becomes visible at
  ``commit()`` together, or (on ``rollback()``, an exception, or a crash) not at all. A
  :meth:`EventStore.expect` made in a unit of work holds at its commit, or the commit fails.
- **A unit of work that has only read takes no lock** that a writer would wait for, so queries
  never hold up commands (SQLite: no ``BEGIN IMMEDIATE`` before the first write).
- **One global order.** Each appended event gets a ``position``, unique and never reused.
  Positions may have gaps (a rolled-back write). As :meth:`EventStore.scan` shows them, up to
  :meth:`EventStore.stable_position`, no event ever appears below a position already shown: a
  store whose writers commit out of position order (PostgreSQL's sequences) holds the stable
  position back until the earlier writers end.
- **perfcore's errors only.** Driver errors are translated into
  :class:`~perfcore.errors.StorageError` subclasses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Protocol, Self, runtime_checkable

import attrs

from perfcore._validate import aware_datetime, identifier
from perfcore.errors import ValidationError

__all__ = [
    "BODY_ERASED",
    "BODY_LIVE",
    "IDEMPOTENCY_KEY",
    "INDEX_COLUMNS",
    "SEALS",
    "Clock",
    "ColumnFinds",
    "EventRow",
    "EventStore",
    "IdFactory",
    "IdempotencyRecord",
    "IdempotencyStore",
    "IndexValue",
    "RangeFinds",
    "Notification",
    "Notifier",
    "Outbox",
    "RawEventReads",
    "RecordedEvent",
    "Seal",
    "SealLog",
    "Snapshot",
    "SnapshotStore",
    "Store",
    "StreamHead",
    "StreamRows",
    "SystemClock",
    "UnitOfWork",
    "UuidIds",
    "body_digest",
    "check_query_columns",
    "erased_body",
]

#: ``ConcurrencyError.aggregate_type`` when another unit of work added a seal first. Nothing of
#: the caller's was touched by anyone else, so sealing is simply tried again.
SEALS: Final = "Seals"
#: ``ConcurrencyError.aggregate_type`` when another unit of work recorded the same idempotency
#: key first; the services then return that first result.
IDEMPOTENCY_KEY: Final = "IdempotencyKey"


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


# -- events, streams and snapshots ----------------------------------------------------------------

#: The first byte of a live event body: the salt and the JSON follow.
BODY_LIVE: Final = 0x01
#: The first byte of an erased event body: the SHA-256 of the body it replaced follows.
BODY_ERASED: Final = 0x00

#: The query columns a :class:`StreamHead` may carry, and :meth:`EventStore.find` may be asked for.
#: ``person`` is the data subject of the stream (the person its personal data is about).
INDEX_COLUMNS: Final = (
    "owner",
    "manager",
    "subject",
    "lineage",
    "number",
    "employee",
    "cycle",
    "person",
    # Worked out from the object (perfcore.streams.DERIVED_COLUMNS): days as ISO 8601 text.
    "start",
    "due",
    "behind",
    "changed",
    "review",
    "team",
)

IndexValue = str | int | None


def check_query_columns(columns: object) -> tuple[str, ...]:
    """``columns`` as :meth:`ColumnFinds.find_columns` takes them: names from
    :data:`INDEX_COLUMNS`, in a list or tuple, as a tuple (a store may put them in SQL: nothing
    else gets through).

    Raises:
        ValidationError: anything else.
    """
    if not isinstance(columns, list | tuple) or not all(
        isinstance(name, str) and name in INDEX_COLUMNS for name in columns
    ):
        known = ", ".join(INDEX_COLUMNS)
        raise ValidationError("columns", f"must be a list of names from {known}: {columns!r}")
    return tuple(columns)


def body_digest(body: bytes) -> bytes:
    """The SHA-256 a body stands for in the hash chain, live or erased."""
    if body[:1] == bytes((BODY_ERASED,)):
        return body[1:]
    return hashlib.sha256(body).digest()


def erased_body(body: bytes) -> bytes:
    """What an erased body is replaced with: the marker and the digest, so the chain still
    verifies while nothing of the content (nor its random salt) is left."""
    if body[:1] == bytes((BODY_ERASED,)):
        return body
    return bytes((BODY_ERASED,)) + hashlib.sha256(body).digest()


@attrs.frozen(kw_only=True)
class RecordedEvent:
    """One event as a store keeps it: the bytes the hash chain covers, and where it sits.

    An adapter stores and returns these fields exactly; :mod:`perfcore.recording` makes and reads
    them.

    Attributes:
        kind: the stream's type ("Goal", "Plan", ...).
        id: the stream's id (the object's id).
        version: the event's place in its stream: 1, 2, 3, ... (the object's version after it).
        schema: the event's schema version, for upcasting on read.
        header: what was done, by whom, when (JSON bytes); never erased.
        body: why and what changed (a marker byte, a random salt, JSON bytes); replaced by
            :func:`erased_body` when its person's data is erased.
        hash: the chain hash (32 bytes) over the stream's previous hash and this event.
        position: the event's place in the global order, given by the store at commit
            (0 for an event not yet appended).
    """

    kind: str
    id: str
    version: int
    schema: int
    header: bytes
    body: bytes
    hash: bytes
    position: int = 0

    @property
    def erased(self) -> bool:
        """Whether the body was erased."""
        return self.body[:1] == bytes((BODY_ERASED,))


@attrs.frozen(kw_only=True)
class StreamHead:
    """The newest state of one stream, rewritten with every append.

    Attributes:
        kind, id: the stream.
        version: the version of its last event.
        hash: the chain hash of its last event.
        state: the object's state after its last event.
        columns: the query columns (names from :data:`INDEX_COLUMNS`; a missing name is NULL).
        erased: whether the stream's bodies were erased (:meth:`EventStore.erase` sets it): every
            process then refuses to load the object, whatever it has cached.
    """

    kind: str
    id: str
    version: int
    hash: bytes
    state: str
    columns: Mapping[str, IndexValue] = attrs.field(factory=dict)
    erased: bool = False


@attrs.frozen(kw_only=True)
class Snapshot:
    """An object as it stood at one version, without its history: a cache, never the truth.

    Attributes:
        kind, id, version: what it is a snapshot of.
        schema: the object's schema version, for upcasting on read.
        data: the object as JSON bytes.
    """

    kind: str
    id: str
    version: int
    schema: int
    data: bytes


class EventStore(Protocol):
    """The streams of one unit of work: events appended with an expected version, read back in
    order, and found by their heads' query columns."""

    def head(self, kind: str, id: str) -> StreamHead | None:
        """The stream's head, or ``None`` when the stream does not exist."""
        ...

    def append(
        self, head: StreamHead, events: Sequence[RecordedEvent], *, expected_version: int
    ) -> None:
        """Append ``events`` (versions ``expected_version + 1`` on, in order) to the stream
        ``head`` names, and make ``head`` its new head, if its stored version is still
        ``expected_version`` (0: the stream must not exist yet).

        Raises:
            ConcurrencyError: (now or at ``commit``) the stored version is another; nothing
                is written.
        """
        ...

    def expect(self, kind: str, id: str, version: int) -> None:
        """Make this unit of work's commit depend on the stream still being at ``version``
        (0: still absent): a command that read an object without changing it.

        Raises:
            ConcurrencyError: (now or at ``commit``) the stream is at another version.
        """
        ...

    def read(self, kind: str, id: str, *, after: int = 0) -> Iterator[RecordedEvent]:
        """The stream's events with versions greater than ``after``, in version order."""
        ...

    def find(self, kind: str, column: str, value: IndexValue) -> Sequence[StreamHead]:
        """The heads of ``kind`` whose ``column`` (``"state"`` or one of
        :data:`INDEX_COLUMNS`) equals ``value`` exactly (case and all), ordered by id."""
        ...

    def streams(
        self, *, after: tuple[str, str] | None = None, limit: int = 1000
    ) -> Sequence[StreamHead]:
        """Up to ``limit`` heads of every kind, ordered by ``(kind, id)``, after ``after``."""
        ...

    def scan(self, *, after: int = 0, limit: int = 1000) -> Sequence[RecordedEvent]:
        """Up to ``limit`` committed events with positions greater than ``after``, in position
        order (the global order)."""
        ...

    def stable_position(self) -> int:
        """A position at or below which no event can still appear: every write that will
        take a position up to it has committed or rolled back. Seals cover only up to it."""
        ...

    def erase(self, kind: str, id: str) -> int:
        """Replace the body of each of the stream's events with :func:`erased_body` of it, and
        mark its head ``erased``; return how many bodies changed. The only change ever made to
        a stored event."""
        ...


@runtime_checkable
class RangeFinds(Protocol):
    """What an :class:`EventStore` may also answer: heads found by a range of one query column
    holding text (days as ISO 8601 text compare as the days do). The services use it where a
    store has it, and answer by decoding objects where it has not.

    .. versionadded:: 0.2.0
    """

    def find_between(
        self, kind: str, column: str, low: str | None, high: str | None
    ) -> Sequence[StreamHead]:
        """The heads of ``kind`` whose ``column`` (one of :data:`INDEX_COLUMNS`) holds text
        from ``low`` to ``high``, both included (``None``: no bound on that side), ordered by
        id. Text compares by code point, as Python compares ``str``; a column holding a number
        or nothing is never in a range."""
        ...


@runtime_checkable
class ColumnFinds(Protocol):
    """What an :class:`EventStore` may also answer: the values of a few columns of the heads
    :meth:`EventStore.find` gives, as plain rows, without a :class:`StreamHead` for each. A
    cycle's status reads four heads of each of its participants (their description,
    evaluation, plans and goals): at 100,000 people, building 400,000 heads and their column
    dicts costs more than the question's whole budget. The services use it where a store has
    it, and read the heads where it has not.

    .. versionadded:: 0.3.0
    """

    def find_columns(
        self, kind: str, column: str, value: IndexValue, columns: Sequence[str]
    ) -> Sequence[tuple[Any, ...]]:
        """One row for each head ``find(kind, column, value)`` gives, in the same order (by
        id): ``(id, state, *values)``, the value of each of ``columns`` (names from
        :data:`INDEX_COLUMNS`, in the order given) as the head holds it, ``None`` where it holds
        none.

        Raises:
            ValidationError: ``column`` is not ``state`` or one of :data:`INDEX_COLUMNS`, or
                ``columns`` names something else.
        """
        ...


#: One stored event as :class:`RawEventReads` hands it out, unconverted: ``(version, schema,
#: header, body, hash, position)``, the fields of :class:`RecordedEvent` without its stream.
EventRow = tuple[int, int, bytes, bytes, bytes, int]
#: A stream as :meth:`RawEventReads.raw_streams` hands it out: its head, the version of its
#: newest snapshot (``None``: none), and some of its events in version order.
StreamRows = tuple[StreamHead, int | None, Sequence[EventRow]]


@runtime_checkable
class RawEventReads(Protocol):
    """An optional capability of an :class:`EventStore`: the rows a verification reads, as they
    are stored, in a few large statements.

    :func:`perfcore.audit.verify_store` uses it when the store's ``events`` has both methods,
    and otherwise reads through :meth:`EventStore.streams`, :meth:`EventStore.read` and
    :meth:`EventStore.scan`, which every adapter has. An adapter offers it where it saves
    work (the SQLite and PostgreSQL stores: one statement per page instead of one per stream,
    and no :class:`RecordedEvent` per row). The rows are not checked on the way: whatever is
    stored comes back, and the verification reads a stream through :meth:`EventStore.read`
    again before it reports a fault in it.
    """

    def raw_streams(self) -> Iterator[StreamRows]:
        """Every stream once, with all its events: ``(head, snapshot version or None, rows)``.

        The streams come in an order of the store's choosing. A stream's events may come in
        several consecutive items, each carrying the same head (``is``), in version order; a
        stream without events comes once with no rows. Each head is read before its events
        (a command committing meanwhile may add events beyond it, never take any away), and
        the rows are those :meth:`EventStore.read` gives, unconverted. Reads page by page, no
        statement left open between pages.
        """
        ...

    def raw_links(self, *, after: int, upto: int) -> Iterator[tuple[int, bytes]]:
        """``(position, hash)`` of the events :meth:`EventStore.scan` gives with positions in
        ``(after, upto]``, in position order, unconverted; page by page."""
        ...


class SnapshotStore(Protocol):
    """The newest snapshot of each stream: a cache that speeds loading, never the truth."""

    def get(self, kind: str, id: str) -> Snapshot | None:
        """The newest snapshot of the stream, or ``None``."""
        ...

    def put(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` unless a snapshot of a later version is kept already."""
        ...

    def delete(self, kind: str, id: str) -> None:
        """Forget the stream's snapshots (when its person's data is erased)."""
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


# -- seals: the global order, anchored in batches -------------------------------------------------


@attrs.frozen(kw_only=True)
class Seal:
    """A link of the chain over the global order: it commits to every event with a position in
    ``(previous seal's upto, upto]``, and to the seal before it.

    Attributes:
        number: 1, 2, 3, ...
        upto: the highest position it covers.
        count: how many events it covers.
        streams: the ``(kind, id, version)`` each stream it covers had reached, as JSON bytes
            (a removed or rolled-back stream shows against it).
        previous_hash: the hash of seal ``number - 1`` (empty for the first).
        hash: the hash over all of the above and the covered events (32 bytes).
        at: when it was made.
    """

    number: int
    upto: int
    count: int
    streams: bytes
    previous_hash: bytes
    hash: bytes
    at: dt.datetime


class SealLog(Protocol):
    """The seals, in order; append only."""

    def last(self) -> Seal | None:
        """The seal with the highest number, or ``None``."""
        ...

    def add(self, seal: Seal) -> None:
        """Add the next seal.

        Raises:
            ConcurrencyError: (``aggregate_type`` :data:`SEALS`; now or at ``commit``) its
                number does not follow the last one's: another unit of work sealed first.
        """
        ...

    def read(self, *, after: int = 0) -> Iterator[Seal]:
        """The seals with numbers greater than ``after``, in order."""
        ...


# -- units of work and stores ---------------------------------------------------------------------


class UnitOfWork(Protocol):
    """One transaction over the streams, snapshots, seals, the outbox and idempotency keys.

    Use it as a context manager: leaving the block without :meth:`commit` rolls back.
    """

    # Read-only, so that an implementation may hold a more specific type in a plain attribute.
    @property
    def events(self) -> EventStore: ...

    @property
    def snapshots(self) -> SnapshotStore: ...

    @property
    def seals(self) -> SealLog: ...

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
