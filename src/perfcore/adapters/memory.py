"""The in-memory store: the reference implementation of :mod:`perfcore.ports`.

Everything lives in dicts and lists guarded by one lock, so a :class:`MemoryStore` is safe for
many threads of one process, and gone when the process ends: for tests, prototypes and examples.

What it keeps, all of it bytes and frozen objects as :mod:`perfcore.ports` defines them (it knows
nothing of aggregates):

- each stream's events, in one list per stream, appended to in place (an append never copies
  another stream, nor the stream's earlier events);
- each stream's :class:`~perfcore.ports.StreamHead`, and an index per ``(kind, column)`` from a
  value to the ids that have it, rewritten with every head, so that
  :meth:`~perfcore.ports.EventStore.find` looks up its answer instead of scanning the streams;
- the global order: the committed positions, ascending, and where each position's event is;
- the newest snapshot of each stream, the seals, the outbox and the idempotency keys.

A unit of work reads committed data (and its own writes), buffers every write, and at
:meth:`~MemoryUnitOfWork.commit` checks, under the lock, that nothing it depends on changed
meanwhile (idempotency keys, stream versions, its :meth:`~_Events.expect` calls, the last seal)
before it applies all of its writes at once and gives the new events their positions, from a
counter that only ever goes up. So two units of work that loaded the same version cannot both win,
an exception before the commit leaves nothing behind, and a unit of work that only reads never
waits for one that writes (the lock is held only for the moment of one read or one commit).

>>> from perfcore.ports import StreamHead
>>> from perfcore.recording import record
>>> from perfcore.testing.drivers import driver_for
>>> goal = driver_for("Goal").reach("active", id="g1")
>>> events = record(goal.history, previous_hash=b"")
>>> head = StreamHead(
...     kind="Goal", id="g1", version=3, hash=events[-1].hash, state="active",
...     columns={"owner": "ana"},
... )
>>> store = MemoryStore()
>>> with store.unit_of_work() as uow:
...     uow.events.append(head, events, expected_version=0)
...     uow.commit()
>>> with store.unit_of_work() as uow:
...     [event.position for event in uow.events.read("Goal", "g1")]
...     [found.id for found in uow.events.find("Goal", "owner", "ana")]
[1, 2, 3]
['g1']
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar, cast

import attrs

from perfcore._codec import canonical_json, from_json_data, to_json_data
from perfcore._validate import check_store_limit, check_store_position
from perfcore.errors import ConcurrencyError, NotFound, PerfcoreError, StorageError, ValidationError
from perfcore.ports import (
    IDEMPOTENCY_KEY,
    INDEX_COLUMNS,
    SEALS,
    IdempotencyRecord,
    IndexValue,
    Notification,
    RecordedEvent,
    Seal,
    Snapshot,
    Store,
    StreamHead,
    check_query_columns,
    erased_body,
)

__all__ = ["MemoryStore", "MemoryUnitOfWork"]

#: A stream, as the store files it: ``(kind, id)``.
StreamKey = tuple[str, str]

#: The columns :meth:`_Events.find` answers for: the state and every query column.
FIND_COLUMNS: Final = ("state", *INDEX_COLUMNS)


def _index_values(head: StreamHead) -> dict[str, IndexValue]:
    """What ``head`` files under each column of :data:`FIND_COLUMNS` (``None``: no value)."""
    values: dict[str, IndexValue] = {"state": head.state}
    for column in INDEX_COLUMNS:
        values[column] = head.columns.get(column)
    return values


def _same(first: IndexValue, second: IndexValue) -> bool:
    """Whether two column values are equal exactly: ``1`` is not ``True``, nor ``"1"``."""
    return type(first) is type(second) and first == second


def _bytes(value: object, field: str) -> bytes:
    """``value`` as immutable bytes (a copy of a bytearray or memoryview, which the caller could
    change later); anything else is refused."""
    if type(value) is bytes:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise ValidationError(field, f"must be bytes, not {type(value).__name__}")


def _whole(value: object, field: str, least: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValidationError(field, f"must be a whole number of at least {least}, not {value!r}")
    return value


# -- what is stored -------------------------------------------------------------------------------


@attrs.define
class _OutboxRow:
    """A notification as stored (its canonical JSON text), and when it was handed over, if it was.

    Text rather than the decoded data: one string is one object for the collector to skip,
    where a notification's dicts and lists are a dozen for it to walk on each full pass."""

    text: str
    delivered_at: dt.datetime | None = None

    def notification(self) -> Notification:
        result: Notification = from_json_data(json.loads(self.text), Notification)
        return result


@attrs.define
class _Data:
    """Everything a store holds; only ever touched under the store's lock."""

    #: Each stream's events, in version order: the event of version ``v`` at index ``v - 1``.
    events: dict[StreamKey, list[RecordedEvent]] = attrs.field(factory=dict)
    heads: dict[StreamKey, StreamHead] = attrs.field(factory=dict)
    #: Every stream, sorted: :meth:`_Events.streams` pages through it.
    order: list[StreamKey] = attrs.field(factory=list)
    #: ``(kind, column)`` -> value -> the ids of the streams of ``kind`` whose head has it.
    index: dict[tuple[str, str], dict[IndexValue, set[str]]] = attrs.field(factory=dict)
    #: Every committed position, ascending, and (at the same index) where its event is: the
    #: stream, and the event's index in the stream's list.
    positions: list[int] = attrs.field(factory=list)
    placed: list[tuple[StreamKey, int]] = attrs.field(factory=list)
    #: The position the next appended event gets; it only ever goes up.
    next_position: int = 1
    snapshots: dict[StreamKey, Snapshot] = attrs.field(factory=dict)
    seals: list[Seal] = attrs.field(factory=list)
    outbox: dict[str, _OutboxRow] = attrs.field(factory=dict)
    keys: dict[str, IdempotencyRecord] = attrs.field(factory=dict)

    def version(self, key: StreamKey) -> int:
        head = self.heads.get(key)
        return 0 if head is None else head.version

    def stable_position(self) -> int:
        # Commits happen whole under the lock, in position order: every position up to the
        # highest committed one has committed (or never will be used).
        return self.positions[-1] if self.positions else 0

    def last_seal(self) -> Seal | None:
        return self.seals[-1] if self.seals else None


@attrs.define
class _Appended:
    """One stream's appends in a unit of work: the version the stream was at when the unit of
    work first appended to it (checked again at commit), the events, the newest head."""

    base: int
    events: list[RecordedEvent]
    head: StreamHead


@attrs.define
class _SnapshotWrite:
    """One stream's snapshot writes in a unit of work: whether the committed snapshot is
    deleted first, and the newest snapshot put since."""

    deleted: bool = False
    snapshot: Snapshot | None = None


@attrs.define
class _Buffer:
    """The writes of one unit of work, applied only at commit."""

    streams: dict[StreamKey, _Appended] = attrs.field(factory=dict)
    #: Every append, in call order (the stream, how many events): the order positions follow.
    batches: list[tuple[StreamKey, int]] = attrs.field(factory=list)
    #: The versions :meth:`_Events.expect` made the commit depend on: (kind, id, version).
    expected: dict[StreamKey, tuple[str, str, int]] = attrs.field(factory=dict)
    #: The streams erased, in call order (a dict as an ordered set).
    erased: dict[StreamKey, None] = attrs.field(factory=dict)
    snapshots: dict[StreamKey, _SnapshotWrite] = attrs.field(factory=dict)
    seals: list[Seal] = attrs.field(factory=list)
    outbox: dict[str, _OutboxRow] = attrs.field(factory=dict)
    delivered: dict[str, dt.datetime] = attrs.field(factory=dict)
    keys: dict[str, IdempotencyRecord] = attrs.field(factory=dict)


# -- the store ------------------------------------------------------------------------------------


class MemoryStore:
    """Keeps perfcore's events in memory, safely for the threads of one process.

    Implements :class:`perfcore.ports.Store`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data = _Data()
        self._closed = False
        self._failure: Callable[[], Exception] | None = None

    def unit_of_work(self) -> MemoryUnitOfWork:
        """A new unit of work. Use one per thread, for one command.

        Raises:
            StorageError: the store is closed.
        """
        self._check_open()
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        """Close the store: later units of work, and commits, are refused. Units of work already
        open may still read until they end."""
        with self._lock:
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the memory store is closed; open a new MemoryStore")

    @contextlib.contextmanager
    def _using(self) -> Iterator[_Data]:
        """The committed data, under the lock, for one read or one commit.

        Any error but perfcore's own raised meanwhile (an injected failure, a bug) comes out as a
        :class:`~perfcore.errors.StorageError`, as a driver's error would from a database.
        """
        try:
            with self._lock:
                if self._failure is not None:
                    raise self._failure()
                yield self._data
        except PerfcoreError:
            raise
        except Exception as error:
            raise StorageError(
                f"the memory store failed: {type(error).__name__}: {error}"
            ) from error

    def _inject_failure(self, failure: Callable[[], Exception] | None) -> None:
        """From now on, make every read and commit fail as if the storage underneath raised
        ``failure()`` (``None``: work again). For tests of what a failing store looks like."""
        with self._lock:
            self._failure = failure

    # -- hooks: the one place each rule is kept (the tests' broken stores override them) ------

    def _key(self, kind: str, id: str) -> StreamKey:
        """Where the stream ``kind``/``id`` is filed: case and all."""
        return (kind, id)

    def _events_after(
        self, data: _Data, key: StreamKey, after: int, upto: int | None
    ) -> list[RecordedEvent]:
        """The committed events of a stream with versions in ``(after, upto]``."""
        events = data.events.get(key, [])
        return events[max(after, 0) : upto]

    def _found_head(self, data: _Data, kind: str, id: str) -> StreamHead:
        """The head :meth:`_Events.find` gives for a stream the index named."""
        return data.heads[self._key(kind, id)]

    def _reindex(self, data: _Data, old: StreamHead | None, new: StreamHead) -> None:
        """File ``new`` in the index, in place of ``old`` (``None`` for a new stream)."""
        before = {} if old is None else _index_values(old)
        for column, value in _index_values(new).items():
            if old is not None:
                if _same(before[column], value):
                    continue
                values = data.index[(new.kind, column)]
                ids = values[before[column]]
                ids.discard(new.id)
                if not ids:
                    del values[before[column]]
            data.index.setdefault((new.kind, column), {}).setdefault(value, set()).add(new.id)

    def _erase_event(self, event: RecordedEvent) -> RecordedEvent:
        """``event`` with its body erased; everything else as it was."""
        if event.erased:
            return event
        return attrs.evolve(event, body=erased_body(event.body))

    def _keeps(self, new: Snapshot, kept: Snapshot) -> bool:
        """Whether ``new`` replaces ``kept``: unless ``kept`` is of a later version."""
        return new.version >= kept.version


# -- the ports ------------------------------------------------------------------------------------


class _Events:
    """The streams, as one unit of work sees them. Implements :class:`perfcore.ports.EventStore`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def head(self, kind: str, id: str) -> StreamHead | None:
        """The stream's head, or ``None``."""
        return self._uow._head(kind, id)

    def append(
        self, head: StreamHead, events: Sequence[RecordedEvent], *, expected_version: int
    ) -> None:
        """Append ``events`` and make ``head`` the stream's head, if it is at
        ``expected_version`` (now, and at commit)."""
        self._uow._append(head, events, expected_version)

    def expect(self, kind: str, id: str, version: int) -> None:
        """Make the commit depend on the stream still being at ``version`` (0: absent)."""
        self._uow._expect(kind, id, version)

    def read(self, kind: str, id: str, *, after: int = 0) -> Iterator[RecordedEvent]:
        """The stream's events with versions greater than ``after``, in version order."""
        return iter(self._uow._read(kind, id, check_store_position("after", after)))

    def find(self, kind: str, column: str, value: IndexValue) -> list[StreamHead]:
        """The heads of ``kind`` whose ``column`` equals ``value`` exactly, ordered by id."""
        return self._uow._find(kind, column, value)

    def find_between(
        self, kind: str, column: str, low: str | None, high: str | None
    ) -> list[StreamHead]:
        """The heads of ``kind`` whose ``column`` holds text from ``low`` to ``high`` (both
        included; ``None``: unbounded), ordered by id."""
        return self._uow._find_between(kind, column, low, high)

    def find_columns(
        self, kind: str, column: str, value: IndexValue, columns: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """``(id, state, *values of columns)`` of each head :meth:`find` gives, in its order."""
        return self._uow._find_columns(kind, column, value, columns)

    def streams(
        self, *, after: tuple[str, str] | None = None, limit: int = 1000
    ) -> list[StreamHead]:
        """Up to ``limit`` heads ordered by ``(kind, id)``, after ``after``."""
        return self._uow._streams(after, check_store_limit(limit))

    def scan(self, *, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Up to ``limit`` committed events with positions greater than ``after``, in order."""
        return self._uow._scan(check_store_position("after", after), check_store_limit(limit))

    def stable_position(self) -> int:
        """The highest committed position (0 when nothing is)."""
        with self._uow._reading() as data:
            return data.stable_position()

    def erase(self, kind: str, id: str) -> int:
        """Erase the bodies of the stream's events (at commit); how many change."""
        return self._uow._erase(kind, id)


class _Snapshots:
    """Implements :class:`perfcore.ports.SnapshotStore`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, kind: str, id: str) -> Snapshot | None:
        """The newest snapshot of the stream, or ``None``."""
        return self._uow._snapshot(kind, id)

    def put(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` unless one of a later version is kept already (at commit)."""
        self._uow._put_snapshot(snapshot)

    def delete(self, kind: str, id: str) -> None:
        """Forget the stream's snapshot (at commit)."""
        self._uow._delete_snapshot(kind, id)


class _Seals:
    """Implements :class:`perfcore.ports.SealLog`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def last(self) -> Seal | None:
        """The seal with the highest number (this unit of work's own included), or ``None``."""
        return self._uow._last_seal()

    def add(self, seal: Seal) -> None:
        """Add the next seal; ConcurrencyError (``SEALS``) if its number does not follow."""
        self._uow._add_seal(seal)

    def read(self, *, after: int = 0) -> Iterator[Seal]:
        """The seals numbered after ``after``, in order."""
        return iter(self._uow._read_seals(check_store_position("after", after)))


class _Outbox:
    """Implements :class:`perfcore.ports.Outbox`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def put(self, notification: Notification) -> None:
        """Add a notification, written at commit."""
        self._uow._put_notification(notification)

    def pending(self, limit: int = 100) -> list[Notification]:
        """Up to ``limit`` undelivered notifications, oldest first."""
        return self._uow._pending(check_store_limit(limit))

    def mark_delivered(self, notification_id: str, at: dt.datetime) -> None:
        """Record that a notification was handed over (a second mark changes nothing)."""
        self._uow._mark_delivered(notification_id, at)


class _Idempotency:
    """Implements :class:`perfcore.ports.IdempotencyStore`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record for ``key``, or ``None``."""
        return self._uow._key(key)

    def put(self, record: IdempotencyRecord) -> None:
        """Remember a record; ConcurrencyError (``IDEMPOTENCY_KEY``) if the key is taken."""
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
        self.events = _Events(self)
        self.snapshots = _Snapshots(self)
        self.seals = _Seals(self)
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
            StorageError: the store is closed (or failed); nothing is written.
        """
        try:
            with self._store._using() as data:
                self._store._check_open()
                self._check_conflicts(data)
                self._apply(data)
        finally:
            self._buffer = _Buffer()

    def rollback(self) -> None:
        """Drop every write not yet committed."""
        self._buffer = _Buffer()

    def _reading(self) -> contextlib.AbstractContextManager[_Data]:
        """The committed data, under the store's lock, for one read."""
        return self._store._using()

    def _will_write(self) -> None:
        """Called before each write is buffered (the memory store takes no lock for it)."""

    # -- commit ---------------------------------------------------------------------------------

    def _check_conflicts(self, data: _Data) -> None:
        # Keys first: a request repeated while the first one runs then sees a key conflict, and
        # the services answer it with the first result.
        self._check_keys(data)
        self._check_streams(data)
        self._check_expected(data)
        self._check_seals(data)
        self._check_outbox(data)

    def _check_keys(self, data: _Data) -> None:
        for key in self._buffer.keys:
            if key in data.keys:
                raise ConcurrencyError(IDEMPOTENCY_KEY, key, 0, 1)

    def _check_streams(self, data: _Data) -> None:
        for key, appended in self._buffer.streams.items():
            head = appended.head
            self._check_version(head.kind, head.id, appended.base, data.version(key))

    def _check_expected(self, data: _Data) -> None:
        for key, (kind, id, version) in self._buffer.expected.items():
            self._check_version(kind, id, version, data.version(key))

    def _check_seals(self, data: _Data) -> None:
        if self._buffer.seals:
            self._check_seal_number(self._buffer.seals[0], data.last_seal())

    def _check_outbox(self, data: _Data) -> None:
        for id in self._buffer.outbox:
            if id in data.outbox:
                raise ConcurrencyError("Notification", id, 0, 1)

    @staticmethod
    def _check_version(kind: str, id: str, expected: int, actual: int) -> None:
        """Refuse a write (or a commit) that expects the stream at another version."""
        if actual != expected:
            raise ConcurrencyError(kind, id, expected, actual or None)

    @staticmethod
    def _check_seal_number(seal: Seal, last: Seal | None) -> None:
        number = 0 if last is None else last.number
        if seal.number != number + 1:
            raise ConcurrencyError(SEALS, str(seal.number), seal.number - 1, number or None)

    def _apply(self, data: _Data) -> None:
        buffer = self._buffer
        # Erasures first: they erase what was committed, and this unit of work's own events
        # were erased as it erased them (one appended after its erase stays as it is).
        for key in buffer.erased:
            self._apply_erasure(data, key)
        self._apply_appends(data)
        self._apply_snapshots(data)
        data.seals.extend(buffer.seals)
        data.outbox.update(buffer.outbox)
        for id, at in buffer.delivered.items():
            row = data.outbox[id]
            if row.delivered_at is None:
                row.delivered_at = at
        data.keys.update(buffer.keys)

    def _apply_erasure(self, data: _Data, key: StreamKey) -> None:
        head = data.heads.get(key)
        if head is not None:
            data.heads[key] = attrs.evolve(head, erased=True)
        events = data.events.get(key, [])
        for index, event in enumerate(events):
            if not event.erased:
                events[index] = self._store._erase_event(event)

    def _apply_appends(self, data: _Data) -> None:
        buffer = self._buffer
        taken: dict[StreamKey, int] = {}
        for key, count in buffer.batches:
            start = taken.get(key, 0)
            taken[key] = start + count
            stored = data.events.setdefault(key, [])
            for event in buffer.streams[key].events[start : start + count]:
                position = data.next_position
                data.next_position += 1
                stored.append(_replaced(event, "position", position))
                data.positions.append(position)
                data.placed.append((key, len(stored) - 1))
        for key, appended in buffer.streams.items():
            old = data.heads.get(key)
            # An erased stream stays erased whatever is appended to it.
            new = appended.head
            if old is not None and old.erased and not new.erased:
                new = attrs.evolve(new, erased=True)
            data.heads[key] = new
            self._store._reindex(data, old, new)
            if old is None:
                bisect.insort(data.order, key)

    def _apply_snapshots(self, data: _Data) -> None:
        for key, write in self._buffer.snapshots.items():
            if write.deleted:
                data.snapshots.pop(key, None)
            if write.snapshot is not None:
                kept = data.snapshots.get(key)
                if kept is None or self._store._keeps(write.snapshot, kept):
                    data.snapshots[key] = write.snapshot

    # -- streams --------------------------------------------------------------------------------

    def _version(self, key: StreamKey) -> int:
        """The stream's version as this unit of work sees it (0: absent)."""
        appended = self._buffer.streams.get(key)
        if appended is not None:
            return appended.head.version
        with self._reading() as data:
            return data.version(key)

    def _head(self, kind: str, id: str) -> StreamHead | None:
        key = self._store._key(kind, id)
        appended = self._buffer.streams.get(key)
        if appended is not None:
            head: StreamHead | None = appended.head
        else:
            with self._reading() as data:
                head = data.heads.get(key)
        if head is not None and key in self._buffer.erased:
            head = attrs.evolve(head, erased=True)
        return None if head is None else _given(head)

    def _append(
        self, head: StreamHead, events: Sequence[RecordedEvent], expected_version: int
    ) -> None:
        events = _checked_events(head, events, expected_version)
        self._will_write()
        key = self._store._key(head.kind, head.id)
        self._check_version(head.kind, head.id, expected_version, self._version(key))
        kept = _replaced(head, "columns", dict(head.columns))
        if type(head.hash) is not bytes:
            kept = _replaced(kept, "hash", _bytes(head.hash, "head.hash"))
        appended = self._buffer.streams.get(key)
        if appended is None:
            self._buffer.streams[key] = _Appended(expected_version, events, kept)
        else:
            appended.events.extend(events)
            appended.head = kept
        self._buffer.batches.append((key, len(events)))

    def _expect(self, kind: str, id: str, version: int) -> None:
        _whole(version, "version", 0)
        key = self._store._key(kind, id)
        self._check_version(kind, id, version, self._version(key))
        if key not in self._buffer.streams:
            # A stream this unit of work appended to is checked at commit as the append's base.
            self._buffer.expected[key] = (kind, id, version)

    def _read(self, kind: str, id: str, after: int) -> list[RecordedEvent]:
        key = self._store._key(kind, id)
        appended = self._buffer.streams.get(key)
        upto = None if appended is None else appended.base
        with self._reading() as data:
            events = self._store._events_after(data, key, after, upto)
        if key in self._buffer.erased:
            events = [self._store._erase_event(event) for event in events]
        if appended is not None:
            events += [event for event in appended.events if event.version > after]
        return events

    def _find(self, kind: str, column: str, value: IndexValue) -> list[StreamHead]:
        return [_given(head) for head in self._found(kind, column, value)]

    def _find_columns(
        self, kind: str, column: str, value: IndexValue, columns: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        wanted = check_query_columns(columns)
        # Rows of plain values: the heads themselves are not handed out, so need no copy.
        return [
            (head.id, head.state, *(head.columns.get(name) for name in wanted))
            for head in self._found(kind, column, value)
        ]

    def _found(self, kind: str, column: str, value: IndexValue) -> list[StreamHead]:
        """The heads ``find`` gives, as the store keeps them (not to be handed out)."""
        if column not in FIND_COLUMNS:
            raise ValidationError("column", f"must be one of {', '.join(FIND_COLUMNS)}")
        if value is not None and (not isinstance(value, str | int) or isinstance(value, bool)):
            raise ValidationError("value", f"must be text, a whole number or None: {value!r}")
        store = self._store
        with self._reading() as data:
            ids = data.index.get((kind, column), {}).get(value, set())
            found = {id: store._found_head(data, kind, id) for id in ids}
        for appended in self._buffer.streams.values():
            head = appended.head
            if head.kind == kind:
                found.pop(head.id, None)
                # Only the column asked for: this runs for every stream a bulk has written.
                mine = head.state if column == "state" else head.columns.get(column)
                if _same(mine, value):
                    found[head.id] = head
        return [found[id] for id in sorted(found)]

    def _find_between(
        self, kind: str, column: str, low: str | None, high: str | None
    ) -> list[StreamHead]:
        if column not in INDEX_COLUMNS:
            raise ValidationError("column", f"must be one of {', '.join(INDEX_COLUMNS)}")
        for name, bound in (("low", low), ("high", high)):
            if bound is not None and type(bound) is not str:
                raise ValidationError(name, f"must be text or None, not {bound!r}")

        def within(value: IndexValue) -> bool:
            return (
                type(value) is str
                and (low is None or value >= low)
                and (high is None or value <= high)
            )

        store = self._store
        with self._reading() as data:
            # The distinct values of the column (days: a few hundred), not the heads.
            values = data.index.get((kind, column), {})
            found = {
                id: store._found_head(data, kind, id)
                for value, ids in values.items()
                if within(value)
                for id in ids
            }
        for appended in self._buffer.streams.values():
            head = appended.head
            if head.kind == kind:
                found.pop(head.id, None)
                if within(head.columns.get(column)):
                    found[head.id] = head
        return [_given(found[id]) for id in sorted(found)]

    def _streams(self, after: tuple[str, str] | None, limit: int) -> list[StreamHead]:
        if limit <= 0:
            return []
        with self._reading() as data:
            start = 0 if after is None else bisect.bisect_right(data.order, after)
            heads = {
                (head.kind, head.id): head
                for head in (data.heads[key] for key in data.order[start : start + limit])
            }
        for appended in self._buffer.streams.values():
            name = (appended.head.kind, appended.head.id)
            if after is None or name > after:
                heads[name] = appended.head
        return [_given(heads[name]) for name in sorted(heads)[:limit]]

    def _scan(self, after: int, limit: int) -> list[RecordedEvent]:
        if limit <= 0:
            return []
        with self._reading() as data:
            start = bisect.bisect_right(data.positions, after)
            return [data.events[key][index] for key, index in data.placed[start : start + limit]]

    def _erase(self, kind: str, id: str) -> int:
        self._will_write()
        key = self._store._key(kind, id)
        appended = self._buffer.streams.get(key)
        changed = 0
        if key not in self._buffer.erased:
            upto = None if appended is None else appended.base
            with self._reading() as data:
                committed = self._store._events_after(data, key, 0, upto)
                changed += sum(not event.erased for event in committed)
            self._buffer.erased[key] = None
        if appended is not None:
            for index, event in enumerate(appended.events):
                if not event.erased:
                    appended.events[index] = self._store._erase_event(event)
                    changed += 1
        return changed

    # -- snapshots ------------------------------------------------------------------------------

    def _snapshot(self, kind: str, id: str) -> Snapshot | None:
        key = self._store._key(kind, id)
        write = self._buffer.snapshots.get(key)
        kept: Snapshot | None = None
        if write is None or not write.deleted:
            with self._reading() as data:
                kept = data.snapshots.get(key)
        mine = None if write is None else write.snapshot
        if mine is None or (kept is not None and not self._store._keeps(mine, kept)):
            return kept
        return mine

    def _put_snapshot(self, snapshot: Snapshot) -> None:
        if not isinstance(snapshot, Snapshot):
            raise ValidationError("snapshot", "must be a Snapshot")
        _whole(snapshot.version, "snapshot.version", 1)
        self._will_write()
        snapshot = attrs.evolve(snapshot, data=_bytes(snapshot.data, "snapshot.data"))
        write = self._buffer.snapshots.setdefault(
            self._store._key(snapshot.kind, snapshot.id), _SnapshotWrite()
        )
        if write.snapshot is None or self._store._keeps(snapshot, write.snapshot):
            write.snapshot = snapshot

    def _delete_snapshot(self, kind: str, id: str) -> None:
        self._will_write()
        self._buffer.snapshots[self._store._key(kind, id)] = _SnapshotWrite(deleted=True)

    # -- seals ----------------------------------------------------------------------------------

    def _last_seal(self) -> Seal | None:
        if self._buffer.seals:
            return self._buffer.seals[-1]
        with self._reading() as data:
            return data.last_seal()

    def _add_seal(self, seal: Seal) -> None:
        if not isinstance(seal, Seal):
            raise ValidationError("seal", "must be a Seal")
        self._will_write()
        self._check_seal_number(seal, self._last_seal())
        self._buffer.seals.append(
            attrs.evolve(
                seal,
                streams=_bytes(seal.streams, "seal.streams"),
                previous_hash=_bytes(seal.previous_hash, "seal.previous_hash"),
                hash=_bytes(seal.hash, "seal.hash"),
            )
        )

    def _read_seals(self, after: int) -> list[Seal]:
        with self._reading() as data:
            # Seals are numbered 1, 2, 3, ... (checked at every commit): seal n is at n - 1.
            seals = data.seals[max(after, 0) :]
        return seals + [seal for seal in self._buffer.seals if seal.number > after]

    # -- outbox ---------------------------------------------------------------------------------

    def _has_notification(self, id: str) -> bool:
        if id in self._buffer.outbox:
            return True
        with self._reading() as data:
            return id in data.outbox

    def _put_notification(self, notification: Notification) -> None:
        if not isinstance(notification, Notification):
            raise ValidationError("notification", "must be a Notification")
        self._will_write()
        if self._has_notification(notification.id):
            raise ConcurrencyError("Notification", notification.id, 0, 1)
        data: dict[str, Any] = to_json_data(notification)
        self._buffer.outbox[notification.id] = _OutboxRow(canonical_json(data))

    def _pending(self, limit: int) -> list[Notification]:
        if limit <= 0:
            return []
        waiting: list[_OutboxRow] = []
        with self._reading() as data:
            for id, row in data.outbox.items():
                if len(waiting) == limit:
                    break
                if row.delivered_at is None and id not in self._buffer.delivered:
                    waiting.append(_OutboxRow(row.text))
        for id, row in self._buffer.outbox.items():
            if id not in self._buffer.delivered:
                waiting.append(row)
        return [row.notification() for row in waiting[:limit]]

    def _mark_delivered(self, notification_id: str, at: dt.datetime) -> None:
        self._will_write()
        if not self._has_notification(notification_id):
            raise NotFound("Notification", notification_id)
        self._buffer.delivered.setdefault(notification_id, at)

    # -- idempotency ----------------------------------------------------------------------------

    def _key(self, key: str) -> IdempotencyRecord | None:
        if key in self._buffer.keys:
            return self._buffer.keys[key]
        with self._reading() as data:
            return data.keys.get(key)

    def _put_key(self, record: IdempotencyRecord) -> None:
        if not isinstance(record, IdempotencyRecord):
            raise ValidationError("record", "must be an IdempotencyRecord")
        self._will_write()
        if self._key(record.key) is not None:
            raise ConcurrencyError(IDEMPOTENCY_KEY, record.key, 0, 1)
        self._buffer.keys[record.key] = record


def _given(head: StreamHead) -> StreamHead:
    """A head to hand out: its columns in a dict of its own, so that whoever changes it changes
    nothing stored."""
    return _replaced(head, "columns", dict(head.columns))


_T = TypeVar("_T")


def _replaced(record: _T, name: str, value: object) -> _T:
    """``record`` (a frozen attrs record the store made or checked) with ``name`` set to
    ``value``: a copy of its fields, without ``attrs.evolve``'s validators and ``__init__``,
    for values the store has already checked (a hot path: every append and every head read)."""
    kind = type(record)
    slots = _SLOTS.get(kind)
    if slots is None:
        slots = _SLOTS[kind] = tuple(
            (getattr(kind, field.name).__get__, getattr(kind, field.name).__set__)
            for field in attrs.fields(cast(Any, kind))
        )
    made = object.__new__(kind)
    for get, put in slots:
        put(made, get(record))
    object.__setattr__(made, name, value)
    return made


#: Each record class's slot descriptors' getters and setters, for :func:`_replaced`.
_SLOTS: dict[type, tuple[tuple[Callable[..., Any], Callable[..., None]], ...]] = {}


def _checked_events(
    head: StreamHead, events: Sequence[RecordedEvent], expected_version: int
) -> list[RecordedEvent]:
    """``events`` as the store keeps them, once they are checked to be what ``append`` takes:
    at least one, of ``head``'s stream, versions ``expected_version + 1`` on, ``head`` after
    the last of them, its columns among :data:`~perfcore.ports.INDEX_COLUMNS`."""
    if not isinstance(head, StreamHead):
        raise ValidationError("head", "must be a StreamHead")
    _whole(expected_version, "expected_version", 0)
    kept: list[RecordedEvent] = []
    for offset, event in enumerate(events, start=1):
        if not isinstance(event, RecordedEvent):
            raise ValidationError("events", "must be RecordedEvent objects")
        if (event.kind, event.id) != (head.kind, head.id):
            raise ValidationError("events", f"must all be of {head.kind} {head.id!r}")
        if event.version != expected_version + offset:
            raise ValidationError(
                "events", f"must have versions {expected_version + 1} on, one after another"
            )
        _whole(event.schema, "event.schema", 1)
        if event.position != 0 or not all(
            type(part) is bytes for part in (event.header, event.body, event.hash)
        ):
            # Frozen and all bytes, an event is kept as it is; anything else is made so.
            event = attrs.evolve(
                event,
                header=_bytes(event.header, "event.header"),
                body=_bytes(event.body, "event.body"),
                hash=_bytes(event.hash, "event.hash"),
                position=0,
            )
        kept.append(event)
    if not kept:
        raise ValidationError("events", "must hold at least one event")
    if head.version != kept[-1].version or head.hash != kept[-1].hash:
        raise ValidationError("head", "must have the version and the hash of the last event")
    if not isinstance(head.state, str):
        raise ValidationError("head.state", "must be text")
    for column, value in head.columns.items():
        if column not in INDEX_COLUMNS:
            raise ValidationError("head.columns", f"{column!r} is not one of INDEX_COLUMNS")
        if value is not None and (not isinstance(value, str | int) or isinstance(value, bool)):
            raise ValidationError("head.columns", f"{column}: {value!r} is not text or a number")
    return kept


if TYPE_CHECKING:

    def _conforms(store: MemoryStore) -> Store:
        """Never called: ``mypy --strict src`` checks here that MemoryStore is a Store."""
        return store
