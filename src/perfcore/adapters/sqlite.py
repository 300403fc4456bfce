"""The SQLite store: a file database (or ``:memory:``) through the stdlib :mod:`sqlite3` alone.

>>> import datetime as dt
>>> from perfcore.events import Event
>>> from perfcore.ports import StreamHead
>>> from perfcore.recording import record
>>> at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
>>> created = Event(aggregate_type="Goal", aggregate_id="g-1", version=1, trigger="create",
...     from_state=None, to_state="draft", actor_id="ana", at=at)
>>> [event] = record([created], previous_hash=b"")
>>> head = StreamHead(kind="Goal", id="g-1", version=1, hash=event.hash, state="draft",
...     columns={"owner": "ana"})
>>> with SQLiteStore() as store:
...     with store.unit_of_work() as uow:
...         uow.events.append(head, [event], expected_version=0)
...         uow.commit()
...     with store.unit_of_work() as uow:
...         [h.id for h in uow.events.find("Goal", "owner", "ana")], [
...             (e.version, e.position) for e in uow.events.read("Goal", "g-1")]
(['g-1'], [(1, 1)])

How it keeps the contract of :mod:`perfcore.ports` (the tables are in
:mod:`perfcore.adapters._sqlite_schema`):

- **Streams and events.** ``streams`` holds each object's :class:`~perfcore.ports.StreamHead`
  (version, chain hash, state, one column per name in :data:`~perfcore.ports.INDEX_COLUMNS`, each
  with its own partial index); ``events`` holds every :class:`~perfcore.ports.RecordedEvent`
  once, naming its stream by a small integer key. :meth:`~perfcore.ports.EventStore.append` is
  one write: the head moves ``WHERE version = expected_version`` (or is inserted, for a new
  stream, where the UNIQUE ``(kind, id)`` refuses a second creator), then the events are
  inserted; a stream found at another version raises
  :class:`~perfcore.errors.ConcurrencyError` and nothing of the append is kept. SQL triggers keep
  it honest even for code that is not perfcore's: an event follows the last of its stream, is
  never deleted, and only its body may change, to its erased form
  (:func:`~perfcore.ports.erased_body`), once. Ids compare exactly: ``'ANA'`` is not ``'ana'``.
- **Positions.** An event's ``position`` is its rowid, handed out in commit order by SQLite's one
  writer (``AUTOINCREMENT``: never handed out twice, even after the newest row was removed by
  hand). As only one unit of work writes at a time, every position up to the highest committed
  one is final: that is :meth:`~perfcore.ports.EventStore.stable_position`.
- **Snapshots** are a cache: :meth:`~perfcore.ports.SnapshotStore.put` keeps the newer one.
  **Seals** are append-only (triggers): each must take the number after the last.
- **Concurrency.** Every unit of work takes a connection from a small pool (one connection is
  never used by two units of work at once), so any number of threads, and of processes on one
  file, may work together. The database is in WAL mode: readers never wait for the writer.
- **Locking.** Reads run as they come, outside any transaction, each seeing the latest
  committed data, and a query reads its results at once or page by page, with no statement
  left open between pages; a unit of work that only reads takes no lock. The first write (an
  append, an erasure, a snapshot, a seal, the outbox, an idempotency key) opens a
  ``BEGIN IMMEDIATE`` transaction, which holds the file's one write lock until ``commit`` or
  ``rollback``; a second writer waits for it up to ``busy_timeout_ms``. A write never relies on
  what was read before it: each checks, under the lock, what it depends on. The versions asked
  for with :meth:`~perfcore.ports.EventStore.expect` are checked again at ``commit``, under the
  write lock, just before ``COMMIT`` (without a lock, for a unit of work that wrote nothing).
- **Durability.** ``synchronous=FULL`` by default: a committed unit of work survives a power cut.
- **Errors.** Every :mod:`sqlite3` error becomes a :class:`SQLiteStoreError` subclass whose
  message says what to do; a row that cannot be read back raises :class:`UnreadableRecord`, and a
  database written by a newer perfcore :class:`~perfcore.serialization.UnsupportedSchema`.
- **Upgrading.** A database of the first release (store schema 1: one JSON envelope per object
  and one global audit log) is migrated on open, in one transaction: its audit log is verified
  first (:class:`LegacyLogTampered` if it does not hold), each object's history becomes a stream,
  and the old log's head is anchored in a ``LegacyAuditLog`` stream; see
  :mod:`perfcore.adapters._sqlite_legacy`.

``":memory:"`` gives a private database that lives as long as the store. SQLite's own in-memory
databases cannot let one unit of work read while another holds an open write transaction (the
shared-cache and ``memdb`` modes lock readers out), which the contract needs, so the store keeps
such a database in a temporary file in WAL mode with ``synchronous=OFF``, removed on
:meth:`SQLiteStore.close` (or when the store is garbage collected).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self

from perfcore._codec import canonical_json, from_json_data, to_json_data
from perfcore._validate import (
    check_aware,
    check_store_limit,
    check_store_position,
    shown,
    unchecked_maker,
)
from perfcore.adapters import _raw
from perfcore.adapters import _sqlite_legacy as legacy
from perfcore.adapters import _sqlite_schema as schema
from perfcore.adapters._sqlite_legacy import LegacyLogTampered
from perfcore.errors import ConcurrencyError, NotFound, StorageError, ValidationError
from perfcore.ports import (
    IDEMPOTENCY_KEY,
    SEALS,
    EventStore,
    IdempotencyRecord,
    IdempotencyStore,
    IndexValue,
    Notification,
    Outbox,
    RawEventReads,
    RecordedEvent,
    Seal,
    SealLog,
    Snapshot,
    SnapshotStore,
    Store,
    StreamHead,
    StreamRows,
    UnitOfWork,
    check_query_columns,
    erased_body,
)
from perfcore.serialization import UnsupportedSchema

__all__ = [
    "DatabaseBusy",
    "DatabaseCorrupt",
    "DatabaseFull",
    "DatabaseReadOnly",
    "DatabaseUnavailable",
    "LegacyLogTampered",
    "SQLiteStore",
    "SQLiteStoreError",
    "UnreadableRecord",
]

_MEMORY: Final = ":memory:"
#: ``ConcurrencyError.aggregate_type`` and ``NotFound.aggregate_type`` for outbox entries.
NOTIFICATION: Final = "Notification"
_SYNCHRONOUS: Final = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
#: Idle connections kept for reuse (each keeps its prepared statements).
_POOL_SIZE: Final = 8
#: Rows read per query by the readers that yield (events, seals), so that no statement stays
#: open between yields.
_PAGE: Final = 500
#: What a BLOB may be given as (SQLite copies it when the statement runs).
_BLOB: Final = (bytes, bytearray, memoryview)
#: The highest position SQLite can give.
_NO_LIMIT: Final = 2**63 - 1
#: Whether this SQLite returns rows from an UPDATE (``RETURNING``, 3.35 and later).
_RETURNING: Final = sqlite3.sqlite_version_info >= (3, 35)
#: A ``find`` answer of at most this many heads is remembered for the UPDATE that may follow.
_REMEMBERED: Final = 16
#: What :meth:`EventStore.find` may be asked for: the state and the query columns (the tests
#: check that the schema's are :data:`~perfcore.ports.INDEX_COLUMNS`).
_FIND_COLUMNS: Final = frozenset(("state", *schema.STREAM_COLUMNS))

# -- what a verification reads (perfcore.ports.RawEventReads) ------------------------------------

#: Stream heads and event rows a verification reads per statement.
_RAW_HEADS: Final = 200
_RAW_ROWS: Final = 1000
#: A page of heads in key order (the order they were created in), each with its stream's key
#: first and its newest snapshot's version last (NULL: none).
_RAW_HEADS_SQL: Final = (
    "SELECT s.key, "
    + ", ".join(f"s.{column}" for column in (*schema.HEAD_COLUMNS, "erased"))
    + ", n.version FROM streams AS s"
    " LEFT JOIN snapshots AS n ON n.kind = s.kind AND n.id = s.id"
    " WHERE s.key > ? ORDER BY s.key LIMIT ?"
)
#: The events of streams up to a key, after a (stream, version), walking the (stream, version)
#: index: no join, no sort.
_RAW_EVENTS_SQL: Final = (
    "SELECT stream, version, schema, header, body, hash, position FROM events"
    " WHERE (stream, version) > (?, ?) AND stream <= ? ORDER BY stream, version LIMIT ?"
)
#: What a seal covers of each event scan() gives (joined to its stream, as scan() is).
_RAW_LINKS_SQL: Final = (
    "SELECT e.position, e.hash FROM events AS e CROSS JOIN streams AS s ON s.key = e.stream"
    " WHERE e.position > ? AND e.position <= ? ORDER BY e.position LIMIT ?"
)


# -- errors ---------------------------------------------------------------------------------------


class SQLiteStoreError(StorageError):
    """SQLite refused or failed; the message says what to do.

    Attributes:
        code: SQLite's name for the error, such as ``"SQLITE_BUSY"`` (``""`` when it has none).
        path: the database file.
    """

    def __init__(self, message: str, *, code: str = "", path: str = "") -> None:
        self.code = code
        self.path = path
        super().__init__(message)


class DatabaseBusy(SQLiteStoreError):
    """Another connection held the write lock for longer than ``busy_timeout_ms``."""


class DatabaseReadOnly(SQLiteStoreError):
    """The database cannot be written: opened with ``read_only=True``, or the OS refuses."""


class DatabaseCorrupt(SQLiteStoreError):
    """The file is damaged, or is not a SQLite database."""


class DatabaseFull(SQLiteStoreError):
    """The disk (or the database's size limit) is full."""


class DatabaseUnavailable(SQLiteStoreError):
    """The file cannot be opened, read or written (a missing directory, an I/O error)."""


class UnreadableRecord(StorageError):
    """A stored row cannot be turned back into what it holds; nothing was changed.

    Attributes:
        record: what the row holds, such as ``"Goal 'g-1' event 3"`` or ``"seal 7"``.
        why: what is wrong with it.
    """

    _init_attrs: ClassVar[tuple[str, ...]] = ("record", "why")

    def __init__(self, record: str, why: str) -> None:
        self.record = record
        self.why = why
        super().__init__(
            f"the stored {record} cannot be read: {why}. Nothing was changed; restore the row"
            " from a backup"
        )


# The advice for each family of SQLite errors: (class, what happened and what to do).
_ADVICE: Final[Mapping[str, tuple[type[SQLiteStoreError], str]]] = {
    "SQLITE_BUSY": (
        DatabaseBusy,
        "another connection held the write lock for longer than busy_timeout_ms; retry,"
        " raise busy_timeout_ms, or find the process that keeps a transaction open",
    ),
    "SQLITE_LOCKED": (
        DatabaseBusy,
        "a table is locked by another statement of the same connection; retry",
    ),
    "SQLITE_READONLY": (
        DatabaseReadOnly,
        "the database cannot be written: it was opened with read_only=True, or this process"
        " may not write the file, its -wal and -shm files or their directory; open it"
        " writable, or fix the permissions",
    ),
    "SQLITE_READONLY_DIRECTORY": (
        DatabaseReadOnly,
        "SQLite must create the -wal and -shm files beside a WAL database, even to read it, and"
        " this process may not create files in its directory; let it write there",
    ),
    "SQLITE_CORRUPT": (
        DatabaseCorrupt,
        "the database file is damaged; restore it from a backup (the sqlite3 shell's .recover"
        " command may rescue what is left)",
    ),
    "SQLITE_NOTADB": (
        DatabaseCorrupt,
        "the file is not a SQLite database (or is encrypted or damaged); check the path",
    ),
    "SQLITE_FULL": (
        DatabaseFull,
        "the disk holding the database (or its -wal file) is full; roll the unit of work back"
        " (leaving its block does), free some space and retry: nothing of it is kept",
    ),
    "SQLITE_CANTOPEN": (
        DatabaseUnavailable,
        "the database file cannot be opened; check that its directory exists and that this"
        " process may read (and, to write, create files in) it",
    ),
    "SQLITE_IOERR": (
        DatabaseUnavailable,
        "the operating system reported an I/O error; check the disk and the file system",
    ),
    "SQLITE_PERM": (
        DatabaseUnavailable,
        "the operating system refused access to the database file; check its permissions",
    ),
    "SQLITE_CONSTRAINT": (
        SQLiteStoreError,
        "the database refused a change that would break its rules (events are append-only and"
        " follow their stream, seals follow the last one); perfcore's own writes keep them, so"
        " the rows were changed outside perfcore, or this is a bug: report it with this message",
    ),
}


def _advice_for(code: str) -> tuple[type[SQLiteStoreError], str] | None:
    """The advice for an error code: its own, else its family's (``SQLITE_BUSY_TIMEOUT`` is a
    ``SQLITE_BUSY``)."""
    if code in _ADVICE:
        return _ADVICE[code]
    for family, advice in _ADVICE.items():
        if code.startswith(family + "_"):
            return advice
    return None


def translate(error: sqlite3.Error, path: str) -> SQLiteStoreError:
    """The perfcore error for a :mod:`sqlite3` error met while using the database at ``path``."""
    code = getattr(error, "sqlite_errorname", "") or ""
    advice = _advice_for(code)
    if advice is None:
        return SQLiteStoreError(
            f"SQLite failed on {path}: {error} ({code or type(error).__name__}); this is"
            " unexpected: report it with this message",
            code=code,
            path=path,
        )
    kind, what_to_do = advice
    return kind(f"{path}: {error}: {what_to_do}", code=code, path=path)


# -- checking what comes in, reading what comes out -----------------------------------------------


def _whole(name: str, value: object, *, least: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValidationError(name, f"must be a whole number from {least}, not {shown(value)}")
    return value


def _limit(value: object) -> int:
    # The same as every store: SQLite would read a negative LIMIT as no limit at all, and
    # refuse one beyond its integers with an OverflowError.
    return check_store_limit(value)


def _name(field: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(field, f"must be a non-empty string, not {value!r}")
    return value


def _index_value(field: str, value: object) -> IndexValue:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValidationError(field, f"must be a string, a whole number or None, not {value!r}")


def _head_values(head: StreamHead) -> tuple[Any, ...]:
    """``head``'s version, hash, state and columns, in ``schema.HEAD_COLUMNS[2:]``'s order."""
    unknown = sorted(set(head.columns) - set(schema.STREAM_COLUMNS))
    if unknown:
        known = ", ".join(schema.STREAM_COLUMNS)
        raise ValidationError("head.columns", f"has {unknown}; the query columns are {known}")
    columns = tuple(
        _index_value(f"head.columns[{column!r}]", head.columns.get(column))
        for column in schema.STREAM_COLUMNS
    )
    if not isinstance(head.state, str):
        raise ValidationError("head.state", f"must be text, not {head.state!r}")
    return (head.version, head.hash, head.state, *columns)


def _check_append(head: StreamHead, events: Sequence[RecordedEvent], expected_version: int) -> None:
    """Refuse an append that could not be right whatever is stored (a malformed call)."""
    if not isinstance(head, StreamHead):
        raise ValidationError("head", f"must be a StreamHead, not {type(head).__name__}")
    _name("head.kind", head.kind)
    _name("head.id", head.id)
    _whole("expected_version", expected_version)
    if not events:
        raise ValidationError("events", "an append needs at least one event")
    for offset, event in enumerate(events, start=expected_version + 1):
        if not isinstance(event, RecordedEvent):
            raise ValidationError("events", f"holds a {type(event).__name__}, not RecordedEvent")
        if (event.kind, event.id) != (head.kind, head.id):
            why = f"holds an event of {event.kind} {event.id!r}, not of {head.kind} {head.id!r}"
            raise ValidationError("events", why)
        if event.version != offset:
            why = f"must have versions {expected_version + 1} on, in order; found {event.version}"
            raise ValidationError("events", f"{why} where {offset} belongs")
        _whole("event.schema", event.schema, least=1)
        for part in (event.header, event.body, event.hash):
            if not isinstance(part, _BLOB):
                raise ValidationError("events", "an event's header, body and hash must be bytes")
    last = events[-1]
    if head.version != last.version or head.hash != last.hash:
        raise ValidationError("head", "must carry the version and hash of the last event appended")


#: The head's written columns after its version and hash: the state, then the query columns.
_MOVED: Final = schema.HEAD_COLUMNS[4:]


@functools.cache
def _update_sql(changed: tuple[int, ...]) -> str:
    """The UPDATE that sets a head's version, hash and the columns at ``changed`` (offsets in
    :data:`_MOVED`), if the stream is at the version expected."""
    columns = ("version", "hash", *(_MOVED[offset] for offset in changed))
    return (
        "UPDATE streams SET "
        + ", ".join(f"{column} = ?" for column in columns)
        + " WHERE kind = ? AND id = ? AND version = ?"
    )


def _update_of(
    seen: tuple[int, tuple[Any, ...]] | None, values: tuple[Any, ...], expected_version: int
) -> tuple[str, tuple[Any, ...]]:
    """The UPDATE moving a head to ``values`` (version, hash, state, columns) and its
    parameters before kind, id and the expected version.

    When this unit of work read or wrote the head at ``expected_version`` (``seen``), only the
    columns that change are set: SQLite rewrites an index only for an UPDATE that sets one of
    its columns, and a head at a version has the columns it had when it was read (a version is
    written once). Otherwise every column is set.
    """
    if seen is None or seen[0] != expected_version:
        return schema.UPDATE_STREAM, values
    before, after = seen[1], values[2:]
    changed = tuple(
        offset
        for offset, (old, new) in enumerate(zip(before, after, strict=True))
        if type(old) is not type(new) or old != new
    )
    return _update_sql(changed), (*values[:2], *(after[offset] for offset in changed))


def _by_id(row: Sequence[Any]) -> str:
    """A head row's id."""
    return str(row[1])


def _find_params(kind: str, column: str, value: object) -> tuple[Any, ...] | None:
    """The parameters of :meth:`_Events.find`'s statement: ``(kind,)`` for the heads without
    ``column``, ``(kind, value)`` for those holding ``value``; ``None`` when none can match.

    Raises:
        ValidationError: ``column`` is not one ``find`` takes, or ``value`` no index value.
    """
    if column not in _FIND_COLUMNS:
        known = ", ".join(sorted(_FIND_COLUMNS))
        raise ValidationError("column", f"must be one of {known}, not {column!r}")
    value = _index_value("value", value)
    if value is None:
        return None if column == "state" else (kind,)
    return (kind, value)


@functools.lru_cache(maxsize=256)
def _columns_sql(column: str, without: bool, wanted: tuple[str, ...]) -> str:
    """The statement of :meth:`_Events.find_columns`; every name was checked against the
    schema's columns, so none can be anything but a column."""
    where = f"{column} IS NULL" if without else f"{column} = ?"
    chosen = "".join(f", {name}" for name in wanted)
    return f"SELECT id, state{chosen} FROM streams WHERE kind = ? AND {where} ORDER BY id"


_stream_head = unchecked_maker(StreamHead)
#: Where a head row's query columns end (they follow kind, id, version, hash and state).
_COLUMNS_END = 5 + len(schema.STREAM_COLUMNS)


def _head(row: Sequence[Any]) -> StreamHead:
    # A hot path: an organisation-wide question reads hundreds of thousands of heads. The row
    # is the schema's own (its columns in order), so the head is built without its checks.
    version, hash_ = row[2], row[3]
    if not isinstance(hash_, bytes) or not isinstance(version, int):
        raise UnreadableRecord(f"{row[0]} {row[1]!r} stream head", "its version or hash is damaged")
    columns = {
        column: value
        for column, value in zip(schema.STREAM_COLUMNS, row[5:_COLUMNS_END], strict=True)
        if value is not None
    }
    return _stream_head(
        kind=row[0], id=row[1], version=version, hash=hash_, state=row[4], columns=columns,
        erased=bool(row[_COLUMNS_END]),
    )  # fmt: skip


def _event(kind: str, id: str, row: Sequence[Any]) -> RecordedEvent:
    version, schema_number, header, body, hash_, position = row
    # Plain type tests: this runs for every event a verification reads.
    if not (
        type(header) is bytes
        and type(body) is bytes
        and type(hash_) is bytes
        and type(schema_number) is int
    ):
        why = "its header, body or hash is not bytes, or its schema not a number"
        raise UnreadableRecord(f"{kind} {id!r} event {version}", why)
    return RecordedEvent(
        kind=kind,
        id=id,
        version=version,
        schema=schema_number,
        header=header,
        body=body,
        hash=hash_,
        position=position,
    )


def _seal(row: Sequence[Any]) -> Seal:
    number, upto, count, streams, previous_hash, hash_, at = row
    try:
        moment = dt.datetime.fromisoformat(at)
        if not all(isinstance(part, bytes) for part in (streams, previous_hash, hash_)):
            raise TypeError("its streams or hashes are not bytes")
    except (TypeError, ValueError) as error:
        raise UnreadableRecord(f"seal {number}", str(error)) from error
    return Seal(
        number=number,
        upto=upto,
        count=count,
        streams=streams,
        previous_hash=previous_hash,
        hash=hash_,
        at=moment,
    )


# -- events, snapshots, seals ---------------------------------------------------------------------


class _Events:
    """The ``streams`` and ``events`` tables."""

    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def head(self, kind: str, id: str) -> StreamHead | None:
        """The stream's head, or ``None`` when the stream does not exist."""
        rows = self._uow.read(schema.SELECT_HEAD, (kind, id))
        if not rows:
            return None
        self._uow.seen[(kind, id)] = (rows[0][2], rows[0][4:-1])
        return _head(rows[0])

    def append(
        self, head: StreamHead, events: Sequence[RecordedEvent], *, expected_version: int
    ) -> None:
        """Append ``events`` and make ``head`` the stream's head, if the stream is still at
        ``expected_version`` (0: it must not exist yet).

        Raises:
            ConcurrencyError: the stream is at another version, or was not at the version this
                unit of work :meth:`expect`-ed it at; nothing of the append is written.
            ValidationError: the call is malformed (versions that do not follow
                ``expected_version``, events of another stream, a head that is not the last
                event's).
        """
        events = tuple(events)
        _check_append(head, events, expected_version)
        values = _head_values(head)
        uow = self._uow
        uow.begin_write()
        with uow.savepoint():
            stream = self._move_head(head, values, expected_version)
            promised = uow.expected.get((head.kind, head.id))
            if promised is not None and promised != expected_version:
                # The stream was at expected_version, not where this unit of work expected it.
                raise ConcurrencyError(head.kind, head.id, promised, expected_version)
            rows = [(stream, e.version, e.schema, e.header, e.body, e.hash) for e in events]
            if len(rows) == 1:
                uow.write(schema.INSERT_EVENT, rows[0])  # most appends: one statement's cost
            else:
                uow.write_many(schema.INSERT_EVENT, rows)
        # The append checked, under the write lock, what the expectation asked for.
        uow.expected.pop((head.kind, head.id), None)
        uow.appended += len(events)

    def _move_head(self, head: StreamHead, values: tuple[Any, ...], expected_version: int) -> int:
        """Write the new head if the stream is at ``expected_version``; its key."""
        uow = self._uow
        name = (head.kind, head.id)
        if expected_version == 0:
            try:
                cursor = uow.write(schema.INSERT_STREAM, (head.kind, head.id, *values))
            except _Constraint:
                stored = self._stored(head.kind, head.id)
                raise ConcurrencyError(head.kind, head.id, 0, stored) from None
            if cursor.lastrowid is None:  # pragma: no cover - an INSERT always sets it
                raise StorageError("SQLite gave the new stream no key")
            uow.keys[name] = cursor.lastrowid
            uow.seen[name] = (head.version, values[2:])
            return cursor.lastrowid
        sql, params = _update_of(uow.seen.get(name), values, expected_version)
        key = uow.keys.get(name)
        if key is None and _RETURNING:
            # The key in the same statement (SQLite 3.35 and later).
            found = uow.write_rows(sql + " RETURNING key", (*params, *name, expected_version))
            if found:
                uow.seen[name] = (head.version, values[2:])
                key = uow.keys[name] = int(found[0][0])
                return key
        elif uow.write(sql, (*params, head.kind, head.id, expected_version)).rowcount == 1:
            uow.seen[name] = (head.version, values[2:])
            if key is None:
                rows = uow.read(schema.STREAM_KEY, (head.kind, head.id))
                key = uow.keys[name] = int(rows[0][0])
            return key
        stored = self._stored(head.kind, head.id)
        raise ConcurrencyError(head.kind, head.id, expected_version, stored)

    def _stored(self, kind: str, id: str) -> int | None:
        rows = self._uow.read(schema.STREAM_KEY, (kind, id))
        return int(rows[0][1]) if rows else None

    def expect(self, kind: str, id: str, version: int) -> None:
        """Make this unit of work's commit depend on the stream still being at ``version``
        (0: still absent); checked now, and again at ``commit``.

        Raises:
            ConcurrencyError: the stream is at another version.
        """
        _whole("version", version)
        stored = self._stored(kind, id)
        if (stored or 0) != version:
            raise ConcurrencyError(kind, id, version, stored)
        self._uow.expected[(kind, id)] = version

    def read(self, kind: str, id: str, *, after: int = 0) -> Iterator[RecordedEvent]:
        """The stream's events with versions greater than ``after``, in version order, read
        page by page."""
        return self._read(kind, id, check_store_position("after", after))

    def _read(self, kind: str, id: str, after: int) -> Iterator[RecordedEvent]:
        page = self._uow.read(schema.READ_STREAM, (kind, id, after, _PAGE))
        if not page:
            return
        stream = page[0][6]
        while True:
            for row in page:
                yield _event(kind, id, row[:6])
            if len(page) < _PAGE:
                return
            after = page[-1][0]
            page = self._uow.read(schema.READ_EVENTS, (stream, after, _PAGE))

    def find(self, kind: str, column: str, value: IndexValue) -> Sequence[StreamHead]:
        """The heads of ``kind`` whose ``column`` equals ``value`` exactly, ordered by id
        (``None``: the heads that do not set the column)."""
        params = _find_params(kind, column, value)
        if params is None:
            return []
        if len(params) == 1:
            sql = schema.SELECT_HEADS_WITHOUT[column]
        else:
            sql = schema.SELECT_HEADS_BY[column]
        # One statement, read whole: a consistent answer, and nothing left open.
        return self._heads(self._uow.read(sql, params))

    def find_columns(
        self, kind: str, column: str, value: IndexValue, columns: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """``(id, state, *values of columns)`` of each head :meth:`find` gives, in its order:
        one statement reading only those columns (:class:`~perfcore.ports.ColumnFinds`)."""
        params = _find_params(kind, column, value)
        wanted = check_query_columns(columns)
        if params is None:
            return []
        return self._uow.read(_columns_sql(column, len(params) == 1, wanted), params)

    def find_between(
        self, kind: str, column: str, low: str | None, high: str | None
    ) -> Sequence[StreamHead]:
        """The heads of ``kind`` whose ``column`` holds text from ``low`` to ``high`` (both
        included; ``None``: unbounded), ordered by id."""
        if column not in schema.STREAM_COLUMNS:
            known = ", ".join(schema.STREAM_COLUMNS)
            raise ValidationError("column", f"must be one of {known}, not {column!r}")
        for name, bound in (("low", low), ("high", high)):
            if bound is not None and not isinstance(bound, str):
                raise ValidationError(name, f"must be text or None, not {bound!r}")
        first = "" if low is None else low
        if high is None:
            rows = self._uow.read(schema.SELECT_HEADS_FROM[column], (kind, first))
        else:
            rows = self._uow.read(schema.SELECT_HEADS_BETWEEN[column], (kind, first, high))
        rows.sort(key=_by_id)  # read in the column's order, along its index
        return self._heads(rows)

    def _heads(self, rows: list[tuple[Any, ...]]) -> list[StreamHead]:
        """Heads from their rows, remembered (for :func:`_update_of`) when they are few: a
        bulk reads a few heads per command."""
        if len(rows) <= _REMEMBERED:
            seen = self._uow.seen
            for row in rows:
                seen[(row[0], row[1])] = (row[2], row[4:-1])
        return [_head(row) for row in rows]

    def streams(
        self, *, after: tuple[str, str] | None = None, limit: int = 1000
    ) -> Sequence[StreamHead]:
        """Up to ``limit`` heads of every kind, ordered by ``(kind, id)``, after ``after``."""
        count = _limit(limit)
        if after is None:
            rows = self._uow.read(schema.SELECT_STREAMS, (count,))
        else:
            kind, id = after
            rows = self._uow.read(schema.SELECT_STREAMS_AFTER, (kind, id, count))
        return [_head(row) for row in rows]

    def scan(self, *, after: int = 0, limit: int = 1000) -> Sequence[RecordedEvent]:
        """Up to ``limit`` committed events with positions greater than ``after``, in position
        order."""
        params = (check_store_position("after", after), self._uow.committed_limit(), _limit(limit))
        rows = self._uow.read(schema.SCAN_EVENTS, params)
        return [_event(row[0], row[1], row[2:]) for row in rows]

    def raw_streams(self) -> Iterator[StreamRows]:
        """Every stream, in the order of their keys, with its events as stored (see
        :class:`~perfcore.ports.RawEventReads`): a page of heads, then their events in pages
        of rows walking the ``(stream, version)`` index."""
        after = _raw.LOWEST
        while True:
            heads = self._uow.read(_RAW_HEADS_SQL, (after, _RAW_HEADS))
            if not heads:
                return
            yield from _raw.stream_rows(heads, self._raw_events, _head, _RAW_ROWS)
            if len(heads) < _RAW_HEADS:
                return
            after = heads[-1][0]

    def _raw_events(
        self, stream: int, version: int, last: int, limit: int
    ) -> list[tuple[Any, ...]]:
        return self._uow.read(_RAW_EVENTS_SQL, (stream, version, last, limit))

    def raw_links(self, *, after: int, upto: int) -> Iterator[tuple[int, bytes]]:
        """``(position, hash)`` of the events :meth:`scan` gives in ``(after, upto]``."""
        after = check_store_position("after", after)
        upto = min(check_store_position("upto", upto), self._uow.committed_limit())
        while after < upto:
            rows = self._uow.read(_RAW_LINKS_SQL, (after, upto, _RAW_ROWS))
            yield from rows
            if len(rows) < _RAW_ROWS:
                return
            after = rows[-1][0]

    def stable_position(self) -> int:
        """The highest committed position: SQLite has one writer, so no event can still take
        a position at or below it."""
        return self._uow.committed_position()

    def erase(self, kind: str, id: str) -> int:
        """Replace the body of each of the stream's events with its erased form; how many
        changed (an erased body is left as it is)."""
        uow = self._uow
        uow.begin_write()
        rows = uow.read(schema.STREAM_KEY, (kind, id))
        if not rows:
            return 0
        live = uow.read(schema.LIVE_BODIES, (rows[0][0],))
        uow.write_many(schema.ERASE_BODY, [(erased_body(body), pos) for pos, body in live])
        uow.write(schema.MARK_ERASED, (rows[0][0],))
        return len(live)


class _Snapshots:
    """The ``snapshots`` table: a cache of the newest snapshot of each stream."""

    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def get(self, kind: str, id: str) -> Snapshot | None:
        """The newest snapshot of the stream, or ``None``."""
        rows = self._uow.read(schema.SNAPSHOT_GET, (kind, id))
        if not rows:
            return None
        version, schema_number, data = rows[0]
        if not isinstance(data, bytes):
            raise UnreadableRecord(f"{kind} {id!r} snapshot", "its data is not bytes")
        return Snapshot(kind=kind, id=id, version=version, schema=schema_number, data=data)

    def put(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` unless a snapshot of a later version is kept already."""
        if not isinstance(snapshot, Snapshot) or not isinstance(snapshot.data, _BLOB):
            raise ValidationError("snapshot", "must be a Snapshot whose data is bytes")
        version = _whole("snapshot.version", snapshot.version, least=1)
        values = (version, _whole("snapshot.schema", snapshot.schema, least=1), snapshot.data)
        keys = (snapshot.kind, snapshot.id)
        if self._uow.write(schema.SNAPSHOT_REPLACE, (*values, *keys, version)).rowcount == 0:
            self._uow.write(schema.SNAPSHOT_ADD, (*values, *keys))

    def delete(self, kind: str, id: str) -> None:
        """Forget the stream's snapshot."""
        self._uow.write(schema.SNAPSHOT_DELETE, (kind, id))


class _Seals:
    """The ``seals`` table, stored exactly as given (perfcore.audit makes the seals)."""

    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def last(self) -> Seal | None:
        """The seal with the highest number, or ``None`` (no lock is taken: :meth:`add` checks
        that the next seal still follows it)."""
        rows = self._uow.read(schema.SEAL_LAST)
        return _seal(rows[0]) if rows else None

    def add(self, seal: Seal) -> None:
        """Add the next seal.

        Raises:
            ConcurrencyError: (``SEALS``) its number does not follow the last one's.
        """
        if not isinstance(seal, Seal):
            raise ValidationError("seal", f"must be a Seal, not {type(seal).__name__}")
        parts = (seal.streams, seal.previous_hash, seal.hash)
        if not all(isinstance(part, _BLOB) for part in parts):
            raise ValidationError("seal", "its streams and hashes must be bytes")
        row = (
            _whole("seal.number", seal.number),  # 0 does not follow any seal: see below
            _whole("seal.upto", seal.upto),
            _whole("seal.count", seal.count),
            *parts,
            check_aware("seal.at", seal.at).isoformat(),
        )
        self._uow.begin_write()
        last = int(self._uow.read(schema.SEAL_MAX)[0][0])
        if seal.number != last + 1:
            raise ConcurrencyError(SEALS, "seals", seal.number - 1, last or None)
        self._uow.write(schema.SEAL_INSERT, row)

    def read(self, *, after: int = 0) -> Iterator[Seal]:
        """The seals with numbers greater than ``after``, in order, page by page."""
        return self._read(check_store_position("after", after))

    def _read(self, after: int) -> Iterator[Seal]:
        while True:
            rows = self._uow.read(schema.SEAL_READ, (after, _PAGE))
            for row in rows:
                yield _seal(row)
            if len(rows) < _PAGE:
                return
            after = int(rows[-1][0])


# -- the outbox, idempotency keys -----------------------------------------------------------------


class _Outbox:
    """The ``outbox`` table: notifications in the order they were put."""

    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def put(self, notification: Notification) -> None:
        """Add a notification, in this unit of work.

        Raises:
            ConcurrencyError: a notification with this id is in the outbox already.
        """
        text = canonical_json(to_json_data(notification))
        try:
            self._uow.write(schema.OUTBOX_PUT, (notification.id, text))
        except _Constraint:
            raise ConcurrencyError(NOTIFICATION, notification.id, 0, 1) from None

    def pending(self, limit: int = 100) -> Sequence[Notification]:
        """Up to ``limit`` undelivered notifications, oldest first."""
        rows = self._uow.read(schema.OUTBOX_PENDING, (_limit(limit),))
        return [_notification(id, text) for id, text in rows]

    def mark_delivered(self, notification_id: str, at: dt.datetime) -> None:
        """Record that a notification was handed over; again for a delivered one does nothing.

        Raises:
            NotFound: no notification with this id is in the outbox.
        """
        moment = check_aware("at", at).isoformat()
        changed = self._uow.write(schema.OUTBOX_DELIVERED, (moment, notification_id)).rowcount
        if changed == 0 and not self._uow.read(schema.OUTBOX_HAS, (notification_id,)):
            raise NotFound(NOTIFICATION, notification_id)


def _notification(id: str, text: str) -> Notification:
    try:
        notification: Notification = from_json_data(json.loads(text), Notification)
    except Exception as error:
        raise UnreadableRecord(f"notification {id!r}", str(error)) from error
    return notification


class _Idempotency:
    """The ``idempotency`` table: one row per key."""

    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record for ``key``, or ``None``."""
        rows = self._uow.read(schema.IDEMPOTENCY_GET, (key,))
        return _idempotency_record(rows[0]) if rows else None

    def put(self, record: IdempotencyRecord) -> None:
        """Remember a record. Raises ConcurrencyError if the key is taken."""
        row = (
            record.key,
            record.fingerprint,
            record.aggregate_type,
            record.aggregate_id,
            record.version,
            record.at.isoformat(),
        )
        try:
            self._uow.write(schema.IDEMPOTENCY_PUT, row)
        except _Constraint:
            raise ConcurrencyError(IDEMPOTENCY_KEY, record.key, 0, 1) from None


def _idempotency_record(row: tuple[Any, ...]) -> IdempotencyRecord:
    key, fingerprint, aggregate_type, aggregate_id, version, at = row
    try:
        moment = dt.datetime.fromisoformat(at)
    except (TypeError, ValueError) as error:
        raise UnreadableRecord(f"idempotency key {key!r}", str(error)) from error
    return IdempotencyRecord(
        key=key,
        fingerprint=fingerprint,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        version=version,
        at=moment,
    )


# -- units of work --------------------------------------------------------------------------------


class _Constraint(Exception):
    """A write broke a UNIQUE or PRIMARY KEY constraint (the caller says what that means)."""


_UNIQUE: Final = frozenset({"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"})
_SAVEPOINT: Final = "perfcore_append"


class _UnitOfWork:
    """One transaction on one pooled connection; see the module's docstring for the rules."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._conn: sqlite3.Connection | None = None
        self._writing = False
        self._ended = False
        self._healthy = True
        #: The error after which SQLite rolled the whole transaction back by itself.
        self._lost: SQLiteStoreError | None = None
        #: ``{(kind, id): version}`` from :meth:`_Events.expect`, checked again at commit.
        self.expected: dict[tuple[str, str], int] = {}
        #: How many events this transaction appended: they hold the highest positions.
        self.appended = 0
        #: Heads this transaction read or wrote: ``{(kind, id): (version, (state, *columns))}``.
        self.seen: dict[tuple[str, str], tuple[int, tuple[Any, ...]]] = {}
        #: Stream keys this transaction learned: ``{(kind, id): key}``.
        self.keys: dict[tuple[str, str], int] = {}
        # Typed as the ports' protocols, which mypy checks each class against here.
        self.events: EventStore = _Events(self)
        self.snapshots: SnapshotStore = _Snapshots(self)
        self.seals: SealLog = _Seals(self)
        self.outbox: Outbox = _Outbox(self)
        self.idempotency: IdempotencyStore = _Idempotency(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        except StorageError:
            # The block's own error says more; the failed connection was closed, which ends
            # its transaction all the same.
            if error is None:
                raise
        finally:
            self._ended = True

    def commit(self) -> None:
        """Make everything written in this unit of work visible, at once, if every version
        :meth:`_Events.expect`-ed still holds.

        Raises:
            ConcurrencyError: an expected stream is at another version now; nothing is kept.
            StorageError: SQLite had rolled the transaction back after an earlier error, so
                that nothing of it is kept; roll back and start again.
        """
        self._check_not_lost()
        try:
            self._check_expected()
        except BaseException:
            self.rollback()
            raise
        try:
            if self._writing:
                self._end("COMMIT")
        finally:
            self._forget()
            self._release()

    def rollback(self) -> None:
        """Discard everything written in this unit of work (since the last commit)."""
        self._lost = None
        try:
            if self._writing:
                self._end("ROLLBACK")
        finally:
            self._forget()
            self._release()

    def _check_expected(self) -> None:
        """Check each expected version: under the write lock when this unit of work wrote
        (nobody can change a stream between the check and the ``COMMIT``), else as it stands."""
        for (kind, id), version in self.expected.items():
            rows = self.read(schema.STREAM_KEY, (kind, id))
            stored = int(rows[0][1]) if rows else None
            if (stored or 0) != version:
                raise ConcurrencyError(kind, id, version, stored)

    def _forget(self) -> None:
        self.expected.clear()
        self.appended = 0
        self.seen.clear()
        self.keys.clear()

    # -- what the tables use ---------------------------------------------------------------------

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query (inside the write transaction once one is open)."""
        conn = self._connection()
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise self._failed(error) from error

    def committed_position(self) -> int:
        """The highest committed position (this transaction's own events left out)."""
        return int(self.read(schema.MAX_POSITION)[0][0]) - self.appended

    def committed_limit(self) -> int:
        """The highest position a scan may return: every position when this unit of work
        appended nothing, else the committed ones (its own are the highest)."""
        return self.committed_position() if self.appended else _NO_LIMIT

    def begin_write(self) -> None:
        """Open the write transaction unless it is open."""
        if self._writing:
            return
        self._check_not_lost()
        if self._store.read_only:
            raise DatabaseReadOnly(
                f"{self._store.path}: the store was opened with read_only=True; open another"
                " SQLiteStore without it to write",
                code="SQLITE_READONLY",
                path=self._store.path,
            )
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise self._failed(error) from error
        self._writing = True

    def write(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        """Run one write in the write transaction; its cursor (``rowcount``, ``lastrowid``).

        Raises:
            _Constraint: a UNIQUE or PRIMARY KEY constraint refused it.
        """
        self.begin_write()
        try:
            return self._connection().execute(sql, params)
        except sqlite3.IntegrityError as error:
            if getattr(error, "sqlite_errorname", "") in _UNIQUE:
                raise _Constraint() from error
            raise self._failed(error) from error
        except sqlite3.Error as error:
            raise self._failed(error) from error

    def write_rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run one write that returns rows (``RETURNING``) in the write transaction; its rows."""
        self.begin_write()
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.IntegrityError as error:
            if getattr(error, "sqlite_errorname", "") in _UNIQUE:
                raise _Constraint() from error
            raise self._failed(error) from error
        except sqlite3.Error as error:
            raise self._failed(error) from error

    def write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one write for each of ``rows``, in the write transaction."""
        self.begin_write()
        try:
            self._connection().executemany(sql, rows)
        except sqlite3.Error as error:
            raise self._failed(error) from error

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """Keep all of the block's writes, or (when it raises) none of them."""
        self.begin_write()
        conn = self._connection()
        try:
            conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        except sqlite3.Error as error:
            raise self._failed(error) from error
        try:
            yield
        except BaseException:
            # SQLite may have rolled the whole transaction back already (see _failed).
            if conn.in_transaction:
                try:
                    conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
                    conn.execute(f"RELEASE {_SAVEPOINT}")
                except sqlite3.Error:
                    self._healthy = False
            raise
        try:
            conn.execute(f"RELEASE {_SAVEPOINT}")
        except sqlite3.Error as error:
            raise self._failed(error) from error

    # -- the connection --------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._ended:
            raise StorageError("this unit of work has ended; open a new one")
        if self._conn is None:
            self._conn = self._store._acquire()
        return self._conn

    def _check_not_lost(self) -> None:
        if self._lost is not None:
            raise StorageError(
                f"this unit of work's transaction was rolled back after an error ({self._lost});"
                " nothing of it was kept: roll back, and run the command again"
            )

    def _end(self, statement: str) -> None:
        conn = self._connection()
        self._writing = False
        if not conn.in_transaction:
            return
        try:
            conn.execute(statement)
        except sqlite3.Error as error:
            translated = self._failed(error)
            self._abandon(conn)
            raise translated from error

    def _abandon(self, conn: sqlite3.Connection) -> None:
        """After a failed COMMIT, make sure nothing of the transaction stays pending."""
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                self._healthy = False

    def _failed(self, error: sqlite3.Error) -> SQLiteStoreError:
        translated = translate(error, self._store.path)
        if self._writing and self._conn is not None and not self._conn.in_transaction:
            # SQLite rolls the whole transaction back on some errors (a full disk, an I/O error):
            # what follows must not be committed as if the earlier writes were still there.
            self._writing = False
            self._lost = translated
        if not isinstance(translated, DatabaseBusy):
            # A connection that met an error other than a busy lock is not reused.
            self._healthy = False
        return translated

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        healthy, self._healthy = self._healthy, True
        if conn is not None:
            self._store._release(conn, healthy=healthy and not conn.in_transaction)


# -- the store ------------------------------------------------------------------------------------


class _Pool:
    """Idle connections; kept apart from the store so a finalizer can close them."""

    def __init__(self, temporary_dir: str | None) -> None:
        self.lock = threading.Lock()
        self.idle: list[sqlite3.Connection] = []
        self.closed = False
        self.temporary_dir = temporary_dir

    def close(self) -> None:
        with self.lock:
            self.closed = True
            idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()
        if self.temporary_dir is not None:
            shutil.rmtree(self.temporary_dir, ignore_errors=True)


class SQLiteStore:
    """A :class:`~perfcore.ports.Store` in a SQLite database.

    Args:
        path: the database file (created if missing), or ``":memory:"`` for a private database
            that lives as long as the store.
        synchronous: SQLite's ``synchronous`` setting: ``"FULL"`` (a committed unit of work
            survives a power cut), ``"NORMAL"`` (faster; in WAL mode a power cut may lose the
            last commits, never corrupt the file), ``"EXTRA"`` or ``"OFF"``.
        busy_timeout_ms: how long a writer waits for another one's write lock before
            :class:`DatabaseBusy`.
        cache_mib: the pages each connection keeps in memory, in MiB (SQLite's own default is
            2 MiB). A store of an organisation's cycle is gigabytes: with a cache that holds its
            indexes' upper levels, a command's writes find their pages without a read from the
            file.
        read_only: open the file for reading only; every write raises
            :class:`DatabaseReadOnly`.
        audit_key: used only to migrate a database of the first release (store schema 1): the
            key its objects' events are chained with in the new streams. It must be the
            ``audit_key`` given to ``Perfcore`` with this store (``None`` for both: SHA-256), or
            the migrated streams will not verify. The store never hashes anything else: events
            come to it chained already.
        legacy_audit_key: the ``audit_key`` the first release wrote a schema-1 database's audit
            log with, to verify that log before migrating it (``None``: it was not keyed).
        migrate_tampered: migrate a schema-1 database whose audit log does not verify, recording
            what was wrong in its ``LegacyAuditLog`` stream, instead of refusing it with
            :class:`LegacyLogTampered`.

    Raises:
        UnsupportedSchema: the database was written by a newer perfcore (nothing is changed).
        DatabaseReadOnly: a read-only database needs migrating to this perfcore's schema.
        LegacyLogTampered: a schema-1 database's audit log does not verify (nothing is
            changed).
        UnreadableRecord: a schema-1 database holds an object that cannot be read (nothing is
            changed).
        SQLiteStoreError: the file cannot be opened (see the subclasses).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = _MEMORY,
        *,
        synchronous: str = "FULL",
        busy_timeout_ms: int = 5000,
        cache_mib: int = 64,
        read_only: bool = False,
        audit_key: bytes | None = None,
        legacy_audit_key: bytes | None = None,
        migrate_tampered: bool = False,
    ) -> None:
        self._synchronous = _check_synchronous(synchronous)
        self._timeout = _check_timeout(busy_timeout_ms) / 1000
        self._cache_kib = _check_cache(cache_mib) * 1024
        self._audit_key = _check_key("audit_key", audit_key)
        self._legacy_audit_key = _check_key("legacy_audit_key", legacy_audit_key)
        self._migrate_tampered = bool(migrate_tampered)
        self.read_only = read_only
        temporary_dir = None
        if os.fspath(path) == _MEMORY:
            if read_only:
                raise ValidationError("read_only", "a new :memory: store has nothing to read")
            temporary_dir = tempfile.mkdtemp(prefix="perfcore-")
            # Durability means nothing for a database that goes away with the store.
            self._synchronous = "OFF"
            self._file = Path(temporary_dir, "memory.sqlite3")
            self.path = _MEMORY
        else:
            self._file = Path(path).resolve()
            self.path = str(self._file)
        self._uri = self._file.as_uri() + ("?mode=ro" if read_only else "?mode=rwc")
        self._pool = _Pool(temporary_dir)
        self._finalizer = weakref.finalize(self, self._pool.close)
        self._open()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = ", read_only=True" if self.read_only else ""
        return f"SQLiteStore({self.path!r}{mode})"

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work: use it in a ``with`` block, and call ``commit()`` to keep it."""
        if self._pool.closed:
            raise StorageError(f"{self!r} is closed; open a new SQLiteStore")
        return _UnitOfWork(self)

    def close(self) -> None:
        """Close the idle connections (busy ones close when their unit of work ends)."""
        self._finalizer()

    # -- connections -----------------------------------------------------------------------------

    def _open(self) -> None:
        """Check, and if needed migrate, the schema on a first connection, then pool it."""
        try:
            conn = self._connect()
        except sqlite3.Error as error:
            self.close()
            raise translate(error, self.path) from error
        try:
            self._prepare(conn)
        except BaseException:
            conn.close()
            self.close()
            raise
        self._release(conn, healthy=True)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        try:
            version = self._check_version(conn)
            if self.read_only:
                if version != schema.SCHEMA_VERSION:
                    raise self._needs_migrating(version)
                return
            if schema.journal_mode(conn) != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            if version != schema.SCHEMA_VERSION:
                self._migrate(conn)
        except sqlite3.Error as error:
            raise translate(error, self.path) from error

    def _check_version(self, conn: sqlite3.Connection) -> int:
        version = schema.read_version(conn)
        if not isinstance(version, int):
            raise DatabaseCorrupt(
                f"{self.path}: the store schema version in its meta table is {version!r}, not a"
                " number: the file was changed outside perfcore; restore it from a backup"
                " (nothing was changed)",
                path=self.path,
            )
        if version > schema.SCHEMA_VERSION:
            raise UnsupportedSchema(
                f"{self.path} holds store schema {version}, written by a newer perfcore; this"
                f" perfcore knows store schemas up to {schema.SCHEMA_VERSION}: upgrade perfcore"
                " (nothing was changed)"
            )
        return version

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while this one waited for the lock.
            version = self._check_version(conn)
            schema.run_migrations(conn, version, {schema.LEGACY_V1: self._migrate_v1})
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migrate_v1(self, conn: sqlite3.Connection) -> None:
        """Schema 1's objects into streams (see :mod:`perfcore.adapters._sqlite_legacy`)."""
        try:
            legacy.migrate_v1(
                conn,
                path=self.path,
                audit_key=self._audit_key,
                legacy_audit_key=self._legacy_audit_key,
                migrate_tampered=self._migrate_tampered,
                now=dt.datetime.now(dt.UTC),
            )
        except legacy.LegacyUnreadable as error:
            raise UnreadableRecord(f"schema-1 {error.record}", error.why) from None

    def _needs_migrating(self, version: int) -> DatabaseReadOnly:
        return DatabaseReadOnly(
            f"{self.path} has store schema {version} and this perfcore needs"
            f" {schema.SCHEMA_VERSION}: open it once without read_only=True to upgrade it",
            code="SQLITE_READONLY",
            path=self.path,
        )

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._uri,
            uri=True,
            timeout=self._timeout,
            isolation_level=None,  # transactions are begun and ended explicitly
            check_same_thread=False,  # a pooled connection serves one unit of work at a time
            cached_statements=256,
        )
        try:
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA cache_size = -{self._cache_kib}")  # negative: in KiB
        except BaseException:
            conn.close()
            raise
        return conn

    def _acquire(self) -> sqlite3.Connection:
        with self._pool.lock:
            if self._pool.closed:
                raise StorageError(f"{self!r} is closed; open a new SQLiteStore")
            if self._pool.idle:
                return self._pool.idle.pop()
        try:
            return self._connect()
        except sqlite3.Error as error:
            raise translate(error, self.path) from error

    def _release(self, conn: sqlite3.Connection, *, healthy: bool) -> None:
        with self._pool.lock:
            if healthy and not self._pool.closed and len(self._pool.idle) < _POOL_SIZE:
                self._pool.idle.append(conn)
                return
        conn.close()


def _check_synchronous(value: object) -> str:
    name = str(value).upper()
    if name not in _SYNCHRONOUS:
        choices = ", ".join(sorted(_SYNCHRONOUS))
        raise ValidationError("synchronous", f"must be one of {choices}, not {value!r}")
    return name


def _check_timeout(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError("busy_timeout_ms", f"must be a whole number from 0, not {value!r}")
    return value


def _check_cache(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65_536:
        raise ValidationError(
            "cache_mib", f"must be a whole number from 1 to 65,536, not {value!r}"
        )
    return value


def _check_key(name: str, value: object) -> bytes | None:
    if value is None or (isinstance(value, bytes) and value):
        return value
    raise ValidationError(name, "must be non-empty bytes or None")


if TYPE_CHECKING:

    def _conforms(store: SQLiteStore) -> Store:
        """Never called: ``mypy --strict src`` checks here that SQLiteStore is a Store."""
        return store

    def _reads_raw(events: _Events) -> RawEventReads:
        """Never called: mypy checks here that the events offer the verification's reads."""
        return events
