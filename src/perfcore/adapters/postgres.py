"""The PostgreSQL store: many application servers on one database, through psycopg 3.

Install it with the ``postgres`` extra (``pip install "perfcore[postgres]"``: psycopg 3 and
psycopg-pool), and give the store a connection string or a :class:`psycopg_pool.ConnectionPool`::

    store = PostgresStore("postgresql://perfcore@db.example/hr", schema="perfcore")
    pc = Perfcore(store)

The store creates its schema and tables on first use, and every application server opens one of
its own on the same database and schema: they work together as the threads of one process do. It
keeps the contract of :mod:`perfcore.ports` as follows (the tables are in
:mod:`perfcore.adapters._postgres_schema`; ``docs/postgres.md`` is the user's guide):

- **Streams and events.** ``streams`` holds each object's :class:`~perfcore.ports.StreamHead`
  (version, chain hash, state, one column per name in :data:`~perfcore.ports.INDEX_COLUMNS`, each
  with its own partial index); ``events`` holds every :class:`~perfcore.ports.RecordedEvent` once
  (header, body and hash as ``bytea``), naming its stream by a small integer key. Triggers keep it
  honest even for code that is not perfcore's: an event follows the last of its stream, is never
  deleted, and only its body may change, to its erased form, once. Ids compare and sort exactly
  (``COLLATE "C"``): ``'ANA'`` is not ``'ana'``.
- **One transaction per unit of work, READ COMMITTED.** A unit of work reads outside any
  transaction (each statement sees what was committed when it began) until its first write, which
  goes to the server together with ``BEGIN ISOLATION LEVEL READ COMMITTED`` (one round trip, in a
  psycopg pipeline); ``commit()`` sends ``COMMIT``. So a unit of work that only reads holds no lock
  and no transaction open, and readers never wait for writers (MVCC). READ COMMITTED is enough
  because no write relies on what was read before it: each checks, in the statement that writes,
  what it depends on, and keeps it locked until the commit. SERIALIZABLE would add nothing to these
  checks but serialization failures of its own. A typical command costs three round trips: its
  reads, ``BEGIN`` with the append, ``COMMIT`` (and one more for each snapshot, notification or
  idempotency key it writes).
- **Optimistic concurrency across processes and hosts.** :meth:`~_Events.append` is one statement,
  a call of the schema's ``append`` function, which moves the head with ``UPDATE streams ... WHERE
  kind = ... AND id = ... AND version = <expected>``: a stream at another version updates no row,
  writes nothing, and the append raises :class:`~perfcore.errors.ConcurrencyError`. The updated row
  stays locked until the commit, so a second appender from the same version waits for the first
  to end, then finds the version moved (or, if the first rolled back, goes ahead); appends to
  different streams never wait for each other. A new stream is ``INSERT ... ON CONFLICT (kind, id)
  DO NOTHING``, under a transaction-scoped advisory lock on the stream's name. The versions asked
  for with :meth:`~_Events.expect` are checked again at ``commit``: each existing stream is read
  ``FOR SHARE SKIP LOCKED`` (locked against appends until the commit; one that another
  transaction is writing right now counts as moved, so that an expectation never waits, and never
  deadlocks: the services run such a command again), and each stream expected absent takes the
  shared side of its name's advisory lock (``pg_try_advisory_xact_lock_shared``) before it is
  checked. A unit of work that wrote nothing checks its expectations as they stand, taking no lock.
- **Positions, and the stable position.** An event's ``position`` comes from a sequence when it is
  inserted, so positions are unique and increase with the order the events were *written*, while
  transactions may *commit* in another order, and one that rolls back leaves a gap. What the audit
  needs is :meth:`~_Events.stable_position`: a position at or below which no write can still
  commit, computed without waiting for anyone. Before its first event, each writing transaction
  calls ``claim_positions`` (the ``append`` function does): it reads the sequence's last value
  ``v`` and holds, until it ends, a *shared* advisory lock keyed by the schema and ``v`` (which no
  one ever waits for); every position it then takes is above ``v``. ``stable_position`` reads the
  sequence's last value ``h`` first, then the advisory locks held in ``pg_locks``, and answers the
  lowest of ``h`` and every ``v`` held: a transaction still open took its positions above its
  ``v``, and one that claims after the read takes them above ``h``. (A lock is released only after
  its transaction's commit is visible to every new snapshot.) :meth:`~_Events.scan` answers only
  up to the stable position, read in a statement before the scan's own: an event a scan has not
  given yet never takes a position below one it gave, so a reader can page through the global
  order and never miss a late commit; a transaction left open holds the scans of its schema back
  until it ends. There is no global row, sequence lock or table lock that every write waits for.
- **Snapshots** are a cache: ``INSERT ... ON CONFLICT DO UPDATE ... WHERE version <= new``
  keeps the newer one. **Seals** are append-only (triggers); :meth:`~_Seals.add` takes an advisory
  lock that only sealers take, so that two sealers queue instead of failing in turn.
- **Erasure** locks the stream's row (appends to it wait), replaces each live body with
  ``'\\x00' || sha256(body)`` in the database (no body travels), and marks the head ``erased``.
- **The outbox** has several consumers at once: :meth:`PostgresOutbox.claim` (not in the port)
  locks the oldest undelivered notifications ``FOR UPDATE SKIP LOCKED``, so that each consumer
  skips the others' rows, and a consumer that dies releases its rows (its transaction is rolled
  back), to be handed over again; :meth:`PostgresStore.deliver_notifications` delivers that way.
- **Errors.** Every psycopg error becomes a :class:`PostgresStoreError` subclass whose message
  says what happened and what to do, and whose ``retryable`` says whether running the command
  again is safe and may succeed (:class:`TransactionConflict`, :class:`ConnectionLost`,
  :class:`DatabaseBusy`, :class:`DatabaseUnavailable`). A deadlock met while appending is a
  :class:`~perfcore.errors.ConcurrencyError`: another unit of work was writing the same stream. A
  read outside a transaction whose connection turns out to be dead (the server restarted, an
  administrator ended it) is run again on a fresh connection, once; a connection lost inside a
  transaction loses the transaction (:class:`ConnectionLost`: nothing was kept), and one lost
  during ``COMMIT`` leaves its outcome unknown (:class:`CommitOutcomeUnknown`).
- **Upgrading.** The schema version is kept in ``meta``; a schema written by a newer perfcore is
  refused with :class:`~perfcore.serialization.UnsupportedSchema`, an older one is migrated on
  open, once, under an advisory lock.

"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self

import psycopg
from psycopg import conninfo as psycopg_conninfo
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from perfcore._codec import canonical_json, from_json_data, to_json_data
from perfcore._validate import check_aware, check_date
from perfcore.adapters import _postgres_schema as schema
from perfcore.adapters import _raw
from perfcore.directory import Directory, Person, PlacedDirectory, Placement
from perfcore.errors import ConcurrencyError, NotFound, StorageError, ValidationError
from perfcore.ports import (
    IDEMPOTENCY_KEY,
    SEALS,
    Clock,
    EventStore,
    IdempotencyRecord,
    IdempotencyStore,
    IndexValue,
    Notification,
    Notifier,
    RawEventReads,
    RecordedEvent,
    Seal,
    SealLog,
    Snapshot,
    SnapshotStore,
    Store,
    StreamHead,
    StreamRows,
    SystemClock,
    check_query_columns,
)
from perfcore.serialization import UnsupportedSchema

if TYPE_CHECKING:
    from perfcore.services import Delivery

__all__ = [
    "AccessDenied",
    "ChangeRefused",
    "CommitOutcomeUnknown",
    "ConnectionLost",
    "DatabaseBusy",
    "DatabaseFull",
    "DatabaseReadOnly",
    "DatabaseUnavailable",
    "PostgresDirectory",
    "PostgresStore",
    "PostgresStoreError",
    "PostgresUnitOfWork",
    "SchemaMissing",
    "TransactionConflict",
    "UnreadableRecord",
    "translate",
]

Connection = psycopg.Connection[TupleRow]

#: ``ConcurrencyError.aggregate_type`` and ``NotFound.aggregate_type`` for outbox entries.
NOTIFICATION: Final = "Notification"
#: Rows read per query by the readers that yield (events, seals).
_PAGE: Final = 500
#: The highest position (and version) a ``bigint`` holds.
_BIGINT: Final = 2**63 - 1
_BLOB: Final = (bytes, bytearray, memoryview)
_BEGIN: Final = b"BEGIN ISOLATION LEVEL READ COMMITTED"
_COMMIT: Final = b"COMMIT"
_ROLLBACK: Final = b"ROLLBACK"
#: Whether the libpq under psycopg can send BEGIN and a statement in one round trip.
_PIPELINE: Final = psycopg.Pipeline.is_supported()


# -- errors ---------------------------------------------------------------------------------------


class PostgresStoreError(StorageError):
    """PostgreSQL refused or failed; the message says what happened and what to do.

    Attributes:
        sqlstate: PostgreSQL's error code (``"40P01"``, ...); ``""`` when there is none (the
            connection itself failed).
        retryable: whether running the command again, in a new unit of work, is safe and may
            succeed (nothing of this unit of work was kept).
    """

    #: ``retryable`` unless the error says otherwise.
    retry_by_default: ClassVar[bool] = False

    def __init__(self, message: str, *, sqlstate: str = "", retryable: bool | None = None) -> None:
        self.sqlstate = sqlstate
        self.retryable = type(self).retry_by_default if retryable is None else retryable
        super().__init__(message)


class TransactionConflict(PostgresStoreError):
    """PostgreSQL ended this transaction to resolve a conflict with another (a deadlock, a
    serialization failure); nothing of it was kept. Run the command again."""

    retry_by_default = True


class DatabaseBusy(PostgresStoreError):
    """A lock or statement timeout ran out, or no pooled connection became free in time."""

    retry_by_default = True


class DatabaseUnavailable(PostgresStoreError):
    """No connection could be made: the server is down, starting, or refusing connections."""

    retry_by_default = True


class ConnectionLost(PostgresStoreError):
    """The connection broke during the unit of work (the server restarted, an administrator
    ended it, the network failed): PostgreSQL rolled the transaction back, nothing was kept."""

    retry_by_default = True


class CommitOutcomeUnknown(ConnectionLost):
    """The connection broke while ``COMMIT`` was on its way: the unit of work may or may not
    have been kept. Reload to see; a command sent with an idempotency key may be sent again."""

    retry_by_default = False


class DatabaseReadOnly(PostgresStoreError):
    """The server refuses writes (a standby, or ``default_transaction_read_only``)."""


class DatabaseFull(PostgresStoreError):
    """The server ran out of disk, memory or another resource."""


class AccessDenied(PostgresStoreError):
    """The server refused the login or the privilege the store needs."""


class SchemaMissing(PostgresStoreError):
    """The store's schema, a table or a function of it is gone or was changed outside
    perfcore."""


class ChangeRefused(PostgresStoreError):
    """The database refused a change that would break its rules (events are append-only and
    follow their stream, seals follow the last one)."""


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


_LOST_ADVICE: Final = (
    "PostgreSQL rolled this unit of work's transaction back and nothing of it was kept; run the"
    " command again (if this keeps happening, check the server's log and the network)"
)

# The advice for each SQLSTATE, or for its class (the first two characters): the error class,
# and what happened and what to do.
_ADVICE: Final[Mapping[str, tuple[type[PostgresStoreError], str]]] = {
    "40001": (
        TransactionConflict,
        "PostgreSQL could not serialize this transaction with a concurrent one; nothing of it"
        " was kept: run the command again",
    ),
    "40P01": (
        TransactionConflict,
        "PostgreSQL ended this transaction to break a deadlock with another; nothing of it was"
        " kept: run the command again",
    ),
    "40": (
        TransactionConflict,
        "PostgreSQL rolled the transaction back; nothing of it was kept: run the command again",
    ),
    "55P03": (
        DatabaseBusy,
        "a lock was not granted within lock_timeout; retry, or find the session that holds it"
        " (pg_locks, pg_stat_activity)",
    ),
    "57014": (
        DatabaseBusy,
        "the statement was cancelled (statement_timeout, or by an administrator); retry, or"
        " raise the timeout",
    ),
    "55006": (
        DatabaseBusy,
        "an object the store needs is in use by another session (a migration, VACUUM FULL); retry",
    ),
    "57P01": (ConnectionLost, "the server ended the connection (an administrator, a shutdown)"),
    "57P02": (ConnectionLost, "the server crashed and ended the connection"),
    "57P03": (
        DatabaseUnavailable,
        "the server is starting up or shutting down; retry in a moment",
    ),
    "08": (ConnectionLost, "the connection to the server failed"),
    "53300": (
        DatabaseUnavailable,
        "the server has no connection slot left (max_connections); retry, lower the pools'"
        " sizes, or put a connection pooler in front of the server",
    ),
    "53100": (
        DatabaseFull,
        "the disk of the server is full; nothing of the unit of work was kept: free some space"
        " and retry",
    ),
    "53": (
        DatabaseFull,
        "the server ran out of a resource (memory, locks); nothing of the unit of work was"
        " kept: check the server's settings and retry",
    ),
    "54": (
        DatabaseFull,
        "a limit of the server was exceeded; check the server's settings",
    ),
    "25006": (
        DatabaseReadOnly,
        "the server refuses writes (a standby, or default_transaction_read_only): connect to the"
        " primary to write",
    ),
    "28": (
        AccessDenied,
        "the server refused the login: check the user, the password and pg_hba.conf",
    ),
    "42501": (
        AccessDenied,
        "the database user lacks a privilege the store needs (CREATE on the database to create"
        " its schema, USAGE on the schema, and SELECT, INSERT, UPDATE on its tables): grant it",
    ),
    "3D000": (
        DatabaseUnavailable,
        "the database does not exist: check the connection string",
    ),
    "3F000": (
        SchemaMissing,
        "the store's schema is gone: open a new PostgresStore to create it again (or restore"
        " it from a backup)",
    ),
    "42P01": (
        SchemaMissing,
        "a table of the store is gone: restore the schema from a backup",
    ),
    "42703": (
        SchemaMissing,
        "a column of the store's tables is gone: the schema was changed outside perfcore",
    ),
    "42883": (
        SchemaMissing,
        "a function of the store's schema is gone: the schema was changed outside perfcore",
    ),
    "P0001": (
        ChangeRefused,
        "the database refused a change that would break its rules; perfcore's own writes keep"
        " them, so the rows were changed outside perfcore, or this is a bug: report it with this"
        " message",
    ),
    "23": (
        ChangeRefused,
        "the database refused a change that breaks a constraint; perfcore's own writes keep"
        " them, so the rows were changed outside perfcore, or this is a bug: report it with this"
        " message",
    ),
}


def _connection_failed(error: BaseException, conn: Connection | None) -> bool:
    """Whether ``error`` means that the connection is gone (not that a statement failed)."""
    if conn is not None and (conn.broken or conn.closed):
        return True
    state = getattr(error, "sqlstate", None) or ""
    if state.startswith("08") or state in ("57P01", "57P02", "57P03"):
        return True
    return isinstance(error, psycopg.OperationalError) and not state


def translate(
    error: BaseException, *, schema: str = "", phase: str = "work", lost: bool | None = None
) -> PostgresStoreError:
    """The perfcore error for a psycopg (or psycopg-pool) error.

    Args:
        error: what psycopg raised.
        schema: the store's schema, for the message.
        phase: ``"connect"`` (opening a connection), ``"work"`` (a statement of a unit of work)
            or ``"commit"`` (``COMMIT``): a broken connection means a different thing in each.
        lost: whether the connection is gone (found from the error when ``None``).
    """
    where = f"PostgreSQL (schema {schema!r})" if schema else "PostgreSQL"
    if isinstance(error, PoolTimeout):
        return DatabaseBusy(
            f"{where}: no connection became free or could be opened in time ({error}): every"
            " connection of the pool is in use, or the server cannot be reached; retry, raise the"
            " pool's size or timeout, or check the server",
        )
    if isinstance(error, PoolClosed):
        return PostgresStoreError(f"{where}: the connection pool is closed ({error})")
    state = getattr(error, "sqlstate", None) or ""
    broken = _connection_failed(error, None) if lost is None else lost
    if broken:
        if phase == "connect":
            kind, advice = _advice(state) or (DatabaseUnavailable, "")
            if kind is ConnectionLost:
                kind = DatabaseUnavailable
            if not advice or kind is DatabaseUnavailable:
                advice = (
                    advice
                    or "the server cannot be reached: check that it runs, the host and"
                    " port of the connection string, and the network; retry in a moment"
                )
            return kind(f"{where}: {error}: {advice}", sqlstate=state)
        if phase == "commit":
            return CommitOutcomeUnknown(
                f"{where}: the connection broke while COMMIT was on its way ({error}): the unit"
                " of work may or may not have been kept; reload to see (a command sent with an"
                " idempotency key may simply be sent again)",
                sqlstate=state,
            )
        return ConnectionLost(f"{where}: {error}: {_LOST_ADVICE}", sqlstate=state)
    found = _advice(state)
    if found is None:
        return PostgresStoreError(
            f"{where} failed: {error} ({state or type(error).__name__}); this is unexpected:"
            " report it with this message",
            sqlstate=state,
        )
    kind, what_to_do = found
    return kind(f"{where}: {error}: {what_to_do}", sqlstate=state)


def _advice(state: str) -> tuple[type[PostgresStoreError], str] | None:
    if state in _ADVICE:
        return _ADVICE[state]
    return _ADVICE.get(state[:2]) if state else None


# -- checking what comes in, reading what comes out -----------------------------------------------


def _whole(name: str, value: object, *, least: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= _BIGINT:
        raise ValidationError(name, f"must be a whole number from {least}, not {value!r}")
    return value


def _limit(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError("limit", f"must be a whole number, not {value!r}")
    return min(max(value, 0), _BIGINT)


def _find_params(kind: str, column: str, value: object) -> tuple[Any, ...] | None:
    """The parameters of :meth:`_Events.find`'s statement: ``(kind,)`` for the heads without
    ``column``, ``(kind, value)`` for those holding ``value``; ``None`` when none can match (a
    number is never text, nor text a number, nor a number beyond a ``bigint``).

    Raises:
        ValidationError: ``column`` is not one ``find`` takes, or ``value`` no index value.
    """
    if column not in schema.FIND_COLUMNS:
        known = ", ".join(sorted(schema.FIND_COLUMNS))
        raise ValidationError("column", f"must be one of {known}, not {column!r}")
    kind = _text("kind", kind)
    if value is None:
        return None if column == "state" else (kind,)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError("value", f"must be text, a whole number or None: {value!r}")
    if (column in schema.NUMBER_COLUMNS) != isinstance(value, int):
        return None
    if isinstance(value, str):
        return (kind, _text("value", value))
    return None if abs(value) > _BIGINT else (kind, value)


def _text(field: str, value: object) -> str:
    """``value``, text PostgreSQL can hold (no NUL character)."""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be text, not {value!r}")
    if "\x00" in value:
        raise ValidationError(field, "must not hold a NUL character (PostgreSQL text cannot)")
    return value


def _name(field: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(field, f"must be a non-empty string, not {value!r}")
    return _text(field, value)


def _column_value(column: str, value: object) -> IndexValue:
    """``value`` as the query column ``column`` holds it: a whole number in ``number`` and
    ``team``, text in every other."""
    if value is None:
        return None
    if column in schema.NUMBER_COLUMNS:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= _BIGINT:
            return value
        raise ValidationError(
            f"head.columns['{column}']", f"must be a whole number or None, not {value!r}"
        )
    if isinstance(value, str):
        return _text(f"head.columns[{column!r}]", value)
    raise ValidationError(f"head.columns[{column!r}]", f"must be text or None, not {value!r}")


def _head_values(head: StreamHead) -> tuple[Any, ...]:
    """``head``'s version, hash, state and columns, in ``schema.HEAD_COLUMNS[2:]``'s order."""
    unknown = sorted(set(head.columns) - set(schema.STREAM_COLUMNS))
    if unknown:
        known = ", ".join(schema.STREAM_COLUMNS)
        raise ValidationError("head.columns", f"has {unknown}; the query columns are {known}")
    columns = tuple(
        _column_value(column, head.columns.get(column)) for column in schema.STREAM_COLUMNS
    )
    state = _text("head.state", head.state)
    return (head.version, bytes(head.hash), state, *columns)


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
        if not isinstance(event.schema, int) or not 1 <= event.schema < 2**31:
            raise ValidationError("event.schema", f"must be a whole number from 1: {event.schema}")
        for part in (event.header, event.body, event.hash):
            if not isinstance(part, _BLOB):
                raise ValidationError("events", "an event's header, body and hash must be bytes")
    last = events[-1]
    if head.version != last.version or head.hash != last.hash:
        raise ValidationError("head", "must carry the version and hash of the last event appended")
    _whole("head.version", head.version, least=1)


def _head(row: Sequence[Any]) -> StreamHead:
    kind, id, version, hash_, state, *values, erased = row
    if not isinstance(hash_, bytes) or not isinstance(version, int):
        raise UnreadableRecord(f"{kind} {id!r} stream head", "its version or hash is damaged")
    columns = {
        column: value
        for column, value in zip(schema.STREAM_COLUMNS, values, strict=True)
        if value is not None
    }
    return StreamHead(
        kind=kind, id=id, version=version, hash=hash_, state=state, columns=columns,
        erased=bool(erased),
    )  # fmt: skip


def _event(kind: str, id: str, row: Sequence[Any]) -> RecordedEvent:
    version, schema_number, header, body, hash_, position = row
    parts = (header, body, hash_)
    if not all(isinstance(part, bytes) for part in parts) or not isinstance(schema_number, int):
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


def _moment(value: object, record: str) -> dt.datetime:
    """A stored ``timestamptz``, in UTC (the session's time zone is not the store's business)."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise UnreadableRecord(record, f"its time {value!r} is not a timestamptz")
    return value.astimezone(dt.UTC)


def _seal(row: Sequence[Any]) -> Seal:
    number, upto, count, streams, previous_hash, hash_, at = row
    if not all(isinstance(part, bytes) for part in (streams, previous_hash, hash_)):
        raise UnreadableRecord(f"seal {number}", "its streams or hashes are not bytes")
    return Seal(
        number=number,
        upto=upto,
        count=count,
        streams=streams,
        previous_hash=previous_hash,
        hash=hash_,
        at=_moment(at, f"seal {number}"),
    )


def _notification(id: str, data: object) -> Notification:
    try:
        notification: Notification = from_json_data(data, Notification)
    except Exception as error:
        raise UnreadableRecord(f"notification {id!r}", str(error)) from error
    return notification


def _idempotency_record(row: Sequence[Any]) -> IdempotencyRecord:
    key, fingerprint, aggregate_type, aggregate_id, version, at = row
    return IdempotencyRecord(
        key=key,
        fingerprint=fingerprint,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        version=version,
        at=_moment(at, f"idempotency key {key!r}"),
    )


# -- what a verification reads (perfcore.ports.RawEventReads) ------------------------------------

#: Stream heads and event rows a verification reads per statement.
_RAW_HEADS: Final = 200
_RAW_ROWS: Final = 1000
#: A page of heads in key order, each with its stream's key first and its newest snapshot's
#: version last (NULL: none).
_RAW_HEADS_SQL: Final = (
    "SELECT s.key, "
    + ", ".join(f"s.{column}" for column in (*schema.HEAD_COLUMNS, "erased"))
    + ", n.version FROM {schema}.streams AS s"
    " LEFT JOIN {schema}.snapshots AS n ON n.kind = s.kind AND n.id = s.id"
    " WHERE s.key > %s ORDER BY s.key LIMIT %s"
)
#: The events of streams up to a key, after a (stream, version), along the (stream, version)
#: index.
_RAW_EVENTS_SQL: Final = (
    "SELECT stream, version, schema, header, body, hash, position FROM {schema}.events"
    " WHERE (stream, version) > (%s, %s) AND stream <= %s ORDER BY stream, version LIMIT %s"
)
#: What a seal covers of each event scan() gives (joined to its stream, as scan() is).
_RAW_LINKS_SQL: Final = (
    "SELECT e.position, e.hash FROM {schema}.events AS e"
    " JOIN {schema}.streams AS s ON s.key = e.stream"
    " WHERE e.position > %s AND e.position <= %s ORDER BY e.position LIMIT %s"
)
#: The three, rendered for each schema name.
_RAW_RENDERED: dict[str, tuple[bytes, bytes, bytes]] = {}


def _raw_sql(name: str) -> tuple[bytes, bytes, bytes]:
    rendered = _RAW_RENDERED.get(name)
    if rendered is None:
        heads, events, links = (
            schema.render(text, name) for text in (_RAW_HEADS_SQL, _RAW_EVENTS_SQL, _RAW_LINKS_SQL)
        )
        rendered = _RAW_RENDERED[name] = (heads, events, links)
    return rendered


# -- events, snapshots, seals ---------------------------------------------------------------------


class _Events:
    """The ``streams`` and ``events`` tables."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def head(self, kind: str, id: str) -> StreamHead | None:
        """The stream's head, or ``None`` when the stream does not exist."""
        rows = self._uow.read("select_head", (_text("kind", kind), _text("id", id)))
        return _head(rows[0]) if rows else None

    def append(
        self, head: StreamHead, events: Sequence[RecordedEvent], *, expected_version: int
    ) -> None:
        """Append ``events`` and make ``head`` the stream's head, if the stream is still at
        ``expected_version`` (0: it must not exist yet).

        Raises:
            ConcurrencyError: the stream is at another version, or was not at the version this
                unit of work :meth:`expect`-ed it at, or another unit of work writing it
                deadlocked with this one; nothing of the append is written.
            ValidationError: the call is malformed (versions that do not follow
                ``expected_version``, events of another stream, a head that is not the last
                event's, a query column of the wrong type).
        """
        events = tuple(events)
        _check_append(head, events, expected_version)
        values = _head_values(head)
        uow = self._uow
        name = (head.kind, head.id)
        promised = uow.expected.get(name)
        if promised is not None and promised != expected_version:
            # The commit depends on the stream being at another version than this append's.
            raise ConcurrencyError(head.kind, head.id, promised, expected_version)
        columns = (
            [event.version for event in events],
            [event.schema for event in events],
            [bytes(event.header) for event in events],
            [bytes(event.body) for event in events],
            [bytes(event.hash) for event in events],
        )
        lock = uow.stream_lock(head.kind, head.id)
        params = (uow.space, not uow.claimed, lock, *name, expected_version, *values, *columns)
        uow.begin_write()
        try:
            row = uow.write_one("append", params)
        except TransactionConflict as deadlock:
            # Another unit of work was writing this stream (and others of this one): it goes
            # on, so this append would have found the version moved.
            raise ConcurrencyError(head.kind, head.id, expected_version, None) from deadlock
        if row is None or row[0] is not None:
            stored = None if row is None else int(row[0])
            raise ConcurrencyError(head.kind, head.id, expected_version, stored or None)
        uow.claimed = True
        # The append checked, under the row's lock, what the expectation asked for.
        uow.expected.pop(name, None)

    def _stored(self, kind: str, id: str) -> int | None:
        rows = self._uow.read("stream_key", (kind, id))
        return int(rows[0][1]) if rows else None

    def expect(self, kind: str, id: str, version: int) -> None:
        """Make this unit of work's commit depend on the stream still being at ``version``
        (0: still absent); checked now, and again at ``commit``.

        Raises:
            ConcurrencyError: the stream is at another version.
        """
        _whole("version", version)
        stored = self._stored(_text("kind", kind), _text("id", id))
        if (stored or 0) != version:
            raise ConcurrencyError(kind, id, version, stored)
        self._uow.expected[(kind, id)] = version

    def read(self, kind: str, id: str, *, after: int = 0) -> Iterator[RecordedEvent]:
        """The stream's events with versions greater than ``after``, in version order, read
        page by page."""
        return self._read(_text("kind", kind), _text("id", id), _whole("after", after))

    def _read(self, kind: str, id: str, after: int) -> Iterator[RecordedEvent]:
        rows = self._uow.read("stream_key", (kind, id))
        if not rows:
            return
        stream = rows[0][0]
        while True:
            page = self._uow.read("read_events", (stream, after, _PAGE))
            for row in page:
                yield _event(kind, id, row)
            if len(page) < _PAGE:
                return
            after = page[-1][0]

    def find(self, kind: str, column: str, value: IndexValue) -> Sequence[StreamHead]:
        """The heads of ``kind`` whose ``column`` equals ``value`` exactly, ordered by id
        (``None``: the heads that do not set the column)."""
        params = _find_params(kind, column, value)
        if params is None:
            return []
        statements = self._uow.statements
        query = (statements.heads_without if len(params) == 1 else statements.heads_by)[column]
        return [_head(row) for row in self._uow.read_query(query, params)]

    def find_columns(
        self, kind: str, column: str, value: IndexValue, columns: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """``(id, state, *values of columns)`` of each head :meth:`find` gives, in its order:
        one statement reading only those columns (:class:`~perfcore.ports.ColumnFinds`)."""
        params = _find_params(kind, column, value)
        wanted = check_query_columns(columns)
        if params is None:
            return []
        query = self._uow.statements.columns(column, len(params) == 1, wanted)
        return self._uow.read_query(query, params)

    def find_between(
        self, kind: str, column: str, low: str | None, high: str | None
    ) -> Sequence[StreamHead]:
        """The heads of ``kind`` whose ``column`` holds text from ``low`` to ``high`` (both
        included; ``None``: unbounded), ordered by id."""
        if column not in schema.STREAM_COLUMNS:
            known = ", ".join(schema.STREAM_COLUMNS)
            raise ValidationError("column", f"must be one of {known}, not {column!r}")
        kind = _text("kind", kind)
        for name, bound in (("low", low), ("high", high)):
            if bound is not None and not isinstance(bound, str):
                raise ValidationError(name, f"must be text or None, not {bound!r}")
        first = None if low is None else _text("low", low)
        last = None if high is None else _text("high", high)
        query = self._uow.statements.heads_between.get(column)
        if query is None:
            return []  # a column of numbers holds no text
        rows = self._uow.read_query(query, (kind, first, last, last))
        return [_head(row) for row in rows]

    def streams(
        self, *, after: tuple[str, str] | None = None, limit: int = 1000
    ) -> Sequence[StreamHead]:
        """Up to ``limit`` heads of every kind, ordered by ``(kind, id)``, after ``after``."""
        count = _limit(limit)
        if after is None:
            rows = self._uow.read("select_streams", (count,))
        else:
            kind, id = after
            rows = self._uow.read(
                "select_streams_after", (_text("kind", kind), _text("id", id), count)
            )
        return [_head(row) for row in rows]

    def scan(self, *, after: int = 0, limit: int = 1000) -> Sequence[RecordedEvent]:
        """Up to ``limit`` committed events with positions greater than ``after``, up to the
        stable position (read first, in a statement of its own), in position order."""
        after = _whole("after", after)
        count = _limit(limit)
        if count == 0:
            return []
        upto = self.stable_position()
        if upto <= after:
            return []
        rows = self._uow.read("scan_events", (after, upto, count))
        return [_event(row[0], row[1], row[2:]) for row in rows]

    def raw_streams(self) -> Iterator[StreamRows]:
        """Every stream, in the order of their keys, with its events as stored (see
        :class:`~perfcore.ports.RawEventReads`): a page of heads, then their events in pages
        of rows along the ``(stream, version)`` index; events of a stream created after the
        page of heads was read are left for the next page."""
        uow = self._uow
        heads_sql, _, _ = _raw_sql(uow.statements.schema)
        after = _raw.LOWEST
        while True:
            heads = uow.read_query(heads_sql, (after, _RAW_HEADS))
            if not heads:
                return
            yield from _raw.stream_rows(heads, self._raw_events, _head, _RAW_ROWS)
            if len(heads) < _RAW_HEADS:
                return
            after = heads[-1][0]

    def _raw_events(
        self, stream: int, version: int, last: int, limit: int
    ) -> list[tuple[Any, ...]]:
        _, events_sql, _ = _raw_sql(self._uow.statements.schema)
        return self._uow.read_query(events_sql, (stream, version, last, limit))

    def raw_links(self, *, after: int, upto: int) -> Iterator[tuple[int, bytes]]:
        """``(position, hash)`` of the events :meth:`scan` gives in ``(after, upto]``: up to
        the stable position, read first."""
        after = _whole("after", after)
        upto = min(_whole("upto", upto), self.stable_position())
        _, _, links_sql = _raw_sql(self._uow.statements.schema)
        while after < upto:
            rows = self._uow.read_query(links_sql, (after, upto, _RAW_ROWS))
            yield from rows
            if len(rows) < _RAW_ROWS:
                return
            after = rows[-1][0]

    def stable_position(self) -> int:
        """The highest position at or below which no write can still commit (see the module's
        docstring): this unit of work's own uncommitted events are above it."""
        rows = self._uow.read("stable_position", (self._uow.space,))
        return int(rows[0][0])

    def erase(self, kind: str, id: str) -> int:
        """Replace the body of each of the stream's events with its erased form; how many
        changed (an erased body is left as it is)."""
        uow = self._uow
        uow.begin_write()
        row = uow.write_one("lock_for_erasure", (_text("kind", kind), _text("id", id)))
        if row is None:
            return 0
        key, erased = row
        changed = uow.write("erase_bodies", (key,)).rowcount
        if not erased:
            uow.write("mark_erased", (key,))
        return max(changed, 0)


class _Snapshots:
    """The ``snapshots`` table: a cache of the newest snapshot of each stream."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get(self, kind: str, id: str) -> Snapshot | None:
        """The newest snapshot of the stream, or ``None``."""
        rows = self._uow.read("snapshot_get", (_text("kind", kind), _text("id", id)))
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
        number = _whole("snapshot.schema", snapshot.schema, least=1)
        if number >= 2**31:
            raise ValidationError("snapshot.schema", f"is too large: {number}")
        keys = (_name("snapshot.kind", snapshot.kind), _name("snapshot.id", snapshot.id))
        self._uow.write("snapshot_put", (*keys, version, number, bytes(snapshot.data)))

    def delete(self, kind: str, id: str) -> None:
        """Forget the stream's snapshot."""
        self._uow.write("snapshot_delete", (_text("kind", kind), _text("id", id)))


class _Seals:
    """The ``seals`` table, stored exactly as given (perfcore.audit makes the seals)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def last(self) -> Seal | None:
        """The seal with the highest number, or ``None`` (no lock is taken: :meth:`add` checks
        that the next seal still follows it)."""
        rows = self._uow.read("seal_last")
        return _seal(rows[0]) if rows else None

    def add(self, seal: Seal) -> None:
        """Add the next seal; a second sealer waits here for the first to end.

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
            *(bytes(part) for part in parts),
            check_aware("seal.at", seal.at),
        )
        uow = self._uow
        uow.begin_write()
        uow.write("lock", (uow.seal_lock(),))
        last = int(uow.read("seal_max")[0][0])
        if seal.number != last + 1:
            raise ConcurrencyError(SEALS, "seals", seal.number - 1, last or None)
        uow.write("seal_insert", row)

    def read(self, *, after: int = 0) -> Iterator[Seal]:
        """The seals with numbers greater than ``after``, in order, page by page."""
        return self._read(_whole("after", after))

    def _read(self, after: int) -> Iterator[Seal]:
        while True:
            rows = self._uow.read("seal_read", (after, _PAGE))
            for row in rows:
                yield _seal(row)
            if len(rows) < _PAGE:
                return
            after = int(rows[-1][0])


# -- the outbox, idempotency keys -----------------------------------------------------------------


class PostgresOutbox:
    """The ``outbox`` table: notifications in the order they were put.

    Implements :class:`perfcore.ports.Outbox`, and :meth:`claim`, for several consumers at once.
    """

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def put(self, notification: Notification) -> None:
        """Add a notification, in this unit of work.

        Raises:
            ConcurrencyError: a notification with this id is in the outbox already.
        """
        if not isinstance(notification, Notification):
            raise ValidationError("notification", "must be a Notification")
        text = canonical_json(to_json_data(notification))
        row = (_text("notification.id", notification.id), _text("notification", text))
        if self._uow.write("outbox_put", row).rowcount == 0:
            raise ConcurrencyError(NOTIFICATION, notification.id, 0, 1)

    def pending(self, limit: int = 100) -> Sequence[Notification]:
        """Up to ``limit`` undelivered notifications, oldest first (another consumer may be
        handing them over right now: see :meth:`claim`)."""
        rows = self._uow.read("outbox_pending", (_limit(limit),))
        return [_notification(id, data) for id, data in rows]

    def claim(self, limit: int = 100, *, skip: Sequence[str] = ()) -> Sequence[Notification]:
        """Up to ``limit`` undelivered notifications, oldest first, that no other unit of work
        has claimed, locked for this one until it ends: mark each delivered once it was handed
        over, and commit. Other consumers skip them meanwhile (``FOR UPDATE SKIP LOCKED``);
        if this unit of work rolls back, or its process dies, they are offered again.

        Args:
            limit: how many at most.
            skip: ids not to claim (those that failed to go out in this round, say).
        """
        count = _limit(limit)
        if count == 0:
            return []
        self._uow.begin_write()
        ids = [_text("skip", id) for id in skip]
        rows = self._uow.write("outbox_claim", (ids, count)).fetchall()
        return [_notification(id, data) for id, data in rows]

    def mark_delivered(self, notification_id: str, at: dt.datetime) -> None:
        """Record that a notification was handed over; again for a delivered one does nothing.

        Raises:
            NotFound: no notification with this id is in the outbox.
        """
        moment = check_aware("at", at)
        notification_id = _text("notification_id", notification_id)
        changed = self._uow.write("outbox_delivered", (moment, notification_id)).rowcount
        if changed == 0 and not self._uow.read("outbox_has", (notification_id,)):
            raise NotFound(NOTIFICATION, notification_id)


class _Idempotency:
    """The ``idempotency`` table: one row per key."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record for ``key``, or ``None``."""
        rows = self._uow.read("idempotency_get", (_text("key", key),))
        return _idempotency_record(rows[0]) if rows else None

    def put(self, record: IdempotencyRecord) -> None:
        """Remember a record; a unit of work putting the same key waits for this one to end.

        Raises:
            ConcurrencyError: (``IDEMPOTENCY_KEY``) the key is taken.
        """
        if not isinstance(record, IdempotencyRecord):
            raise ValidationError("record", "must be an IdempotencyRecord")
        row = (
            _text("record.key", record.key),
            _text("record.fingerprint", record.fingerprint),
            _text("record.aggregate_type", record.aggregate_type),
            _text("record.aggregate_id", record.aggregate_id),
            _whole("record.version", record.version),
            check_aware("record.at", record.at),
        )
        if self._uow.write("idempotency_put", row).rowcount == 0:
            raise ConcurrencyError(IDEMPOTENCY_KEY, record.key, 0, 1)


# -- units of work --------------------------------------------------------------------------------


class PostgresUnitOfWork:
    """One PostgreSQL transaction on one pooled connection (see the module's docstring).

    Implements :class:`perfcore.ports.UnitOfWork`; its :attr:`outbox` also has
    :meth:`PostgresOutbox.claim`.
    """

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self.statements = store._statements
        self.space = store._space
        self._conn: Connection | None = None
        self._restore_autocommit = False
        self._writing = False
        #: Whether ``BEGIN`` went to the server (with the transaction's first statement).
        self._begun = False
        #: Whether this transaction claimed positions (see the module's docstring).
        self.claimed = False
        self._ended = False
        #: The error after which PostgreSQL aborted the transaction.
        self._lost: PostgresStoreError | None = None
        #: ``{(kind, id): version}`` from :meth:`_Events.expect`, checked again at commit.
        self.expected: dict[tuple[str, str], int] = {}
        # Typed as the ports' protocols, which mypy checks each class against here.
        self.events: EventStore = _Events(self)
        self.snapshots: SnapshotStore = _Snapshots(self)
        self.seals: SealLog = _Seals(self)
        self.outbox = PostgresOutbox(self)
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
            # The block's own error says more; the broken connection is dropped, which ends
            # its transaction all the same.
            if error is None:
                raise
        finally:
            self._ended = True

    def commit(self) -> None:
        """Make everything written in this unit of work visible, at once, if every version
        :meth:`_Events.expect`-ed still holds.

        Raises:
            ConcurrencyError: an expected stream is at another version now (or is being
                written by another unit of work); nothing is kept.
            StorageError: PostgreSQL had rolled the transaction back after an earlier error,
                or the commit failed (see :class:`PostgresStoreError`); nothing is kept, unless
                :class:`CommitOutcomeUnknown` says that it cannot be known.
        """
        self._check_not_lost()
        try:
            self._check_expected()
        except BaseException:
            self.rollback()
            raise
        try:
            if self._writing:
                self._end(_COMMIT)
        finally:
            self._forget()
            self._release()

    def rollback(self) -> None:
        """Discard everything written in this unit of work (since the last commit)."""
        try:
            if self._writing:
                self._end(_ROLLBACK)
        finally:
            self._lost = None
            self._forget()
            self._release()

    def _check_expected(self) -> None:
        """Check each expected version: locked until the commit when this unit of work wrote
        (the check never waits: a stream being written counts as moved), else as it stands."""
        for (kind, id), version in self.expected.items():
            if not self._writing:
                rows = self.read("stream_key", (kind, id))
                stored = int(rows[0][1]) if rows else None
            elif version == 0:
                taken = self.write_one("try_lock_shared", (self.stream_lock(kind, id),))
                rows = self.read("stream_key", (kind, id))
                stored = int(rows[0][1]) if rows else None
                if taken is None or not taken[0]:
                    raise ConcurrencyError(kind, id, 0, stored)
            else:
                locked = self.write_one("share_stream", (kind, id))
                if locked is None:
                    rows = self.read("stream_key", (kind, id))
                    stored = int(rows[0][1]) if rows else None
                    raise ConcurrencyError(kind, id, version, stored)
                stored = int(locked[0])
            if (stored or 0) != version:
                raise ConcurrencyError(kind, id, version, stored)

    def _forget(self) -> None:
        self.expected.clear()
        self.claimed = False

    # -- what the tables use ---------------------------------------------------------------------

    def stream_lock(self, kind: str, id: str) -> int:
        """The advisory lock key of the stream's name (creators and absence checks take it)."""
        return schema.lock_key("stream", self.space, kind, id)

    def seal_lock(self) -> int:
        """The advisory lock key sealers queue on."""
        return schema.lock_key("seals", self.space)

    def read(self, name: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of the statement ``name`` (inside the write transaction once one is open)."""
        return self.read_query(self.statements[name], params)

    def read_query(self, query: bytes, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query (in the transaction once :meth:`begin_write` was called)."""
        cursor = self._run(query, params)
        try:
            return cursor.fetchall()
        except psycopg.Error as error:
            raise self._failed(error, self._conn) from error

    def begin_write(self) -> None:
        """Open the write transaction unless it is open: ``BEGIN`` goes to the server with the
        transaction's first statement, in the same round trip."""
        if self._writing:
            return
        self._check_not_lost()
        self._writing = True
        self._begun = False

    def write(self, name: str, params: Sequence[Any]) -> psycopg.Cursor[TupleRow]:
        """Run the statement ``name`` in the write transaction; its cursor."""
        self.begin_write()
        return self._run(self.statements[name], params)

    def write_one(self, name: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        """The first row the statement ``name`` returns, run in the write transaction."""
        cursor = self.write(name, params)
        try:
            return cursor.fetchone()
        except psycopg.Error as error:
            raise self._failed(error, self._conn) from error

    def _run(self, query: bytes, params: Sequence[Any]) -> psycopg.Cursor[TupleRow]:
        """Run one statement: alone, or in the write transaction, whose first statement goes
        with ``BEGIN``. When the connection turns out to be dead before anything of a
        transaction was on it (a read outside one, or a transaction's first statement), the
        pool is checked and the statement run again on another connection, once."""
        self._check_not_lost()
        retried = False
        while True:
            conn = self._connection()
            first = self._writing and not self._begun
            try:
                if not first:
                    return conn.execute(query, params, binary=True)
                if not _PIPELINE:  # a libpq before 14: BEGIN goes alone
                    conn.execute(_BEGIN)
                    self._begun = True
                    return conn.execute(query, params, binary=True)
                with conn.pipeline():
                    conn.execute(_BEGIN)
                    cursor = conn.execute(query, params, binary=True)
                self._begun = True
                return cursor
            except psycopg.Error as error:
                if (first or not self._writing) and not retried and _connection_failed(error, conn):
                    retried = True
                    self._drop_connection()
                    continue
                raise self._failed(error, conn) from error

    # -- the connection --------------------------------------------------------------------------

    def _connection(self) -> Connection:
        if self._ended:
            raise StorageError("this unit of work has ended; open a new one")
        if self._conn is None:
            self._conn, self._restore_autocommit = self._store._acquire()
        return self._conn

    def _check_not_lost(self) -> None:
        if self._lost is not None:
            raise StorageError(
                f"this unit of work's transaction was rolled back after an error ({self._lost});"
                " nothing of it was kept: roll back, and run the command again"
            )

    def _end(self, statement: bytes) -> None:
        conn = self._conn
        self._writing = self._begun = False
        if conn is None:
            return
        if conn.broken or conn.closed:
            if statement == _ROLLBACK:
                return  # the server ended the transaction with the connection
            raise ConnectionLost(
                f"PostgreSQL (schema {self._store.schema!r}): the connection was lost before"
                f" COMMIT: {_LOST_ADVICE}"
            )
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            return  # nothing was sent: there is no transaction to end
        try:
            cursor = conn.execute(statement)
        except psycopg.Error as error:
            phase = "commit" if statement == _COMMIT else "work"
            raise translate(
                error, schema=self._store.schema, phase=phase, lost=_connection_failed(error, conn)
            ) from error
        if statement == _COMMIT and cursor.statusmessage != "COMMIT":
            # PostgreSQL answers COMMIT with ROLLBACK for a transaction an error had aborted.
            raise PostgresStoreError(
                f"PostgreSQL (schema {self._store.schema!r}) rolled the transaction back instead"
                f" of committing it ({cursor.statusmessage}): nothing of it was kept; run the"
                " command again"
            )

    def _failed(self, error: psycopg.Error, conn: Connection | None) -> PostgresStoreError:
        lost = _connection_failed(error, conn)
        translated = translate(error, schema=self._store.schema, lost=lost)
        if self._writing:
            # PostgreSQL aborts the whole transaction on an error: what follows must not be
            # committed as if the earlier writes were still there.
            self._lost = translated
        return translated

    def _drop_connection(self) -> None:
        """Give back a dead connection (the pool drops it), and have the pool test the others
        (a server restart, or an administrator, ends them all at once); the next use takes
        another."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._store._release(conn, restore_autocommit=False)
        with contextlib.suppress(PoolClosed):
            self._store._pool.check()

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._writing = False
            self._store._release(conn, restore_autocommit=self._restore_autocommit)


# -- the store ------------------------------------------------------------------------------------


class PostgresStore:
    """A :class:`~perfcore.ports.Store` in a PostgreSQL schema.

    Args:
        database: a connection string (``"postgresql://user@host/db"`` or
            ``"host=... dbname=..."``), from which the store makes a pool of its own, or a
            :class:`psycopg_pool.ConnectionPool` of the application's (the store never closes
            it; it sets each connection to autocommit while it holds it, and back after).
        schema: the schema that holds the store's tables, created if missing (a new, empty
            schema for a new store; another name keeps another, separate store in the same
            database).
        pool_size: the most connections the store's own pool opens (one per unit of work in
            progress); ignored for a pool given.
        timeout: seconds a unit of work waits for a free connection before :class:`DatabaseBusy`.
        connect_timeout: seconds to wait for the server when opening a connection.

    Raises:
        UnsupportedSchema: the schema was written by a newer perfcore (nothing is changed).
        DatabaseUnavailable: the server cannot be reached.
        PostgresStoreError: the schema cannot be created or migrated (see the subclasses).
    """

    def __init__(
        self,
        database: str | ConnectionPool[Connection],
        *,
        schema: str = "perfcore",
        pool_size: int = 10,
        timeout: float = 30.0,
        connect_timeout: int = 10,
    ) -> None:
        self.schema = _schema_name(schema)
        self._statements = schema_statements(self.schema)
        self._lock = threading.Lock()
        self._closed = False
        self._space = 0
        self._timeout = _seconds("timeout", timeout)
        if isinstance(database, ConnectionPool):
            self._pool = database
            self._own_pool = False
            self._open_with(self._pool_connection)
        elif isinstance(database, str):
            size = _whole("pool_size", pool_size, least=1)
            options = _connection_options(database, _whole("connect_timeout", connect_timeout))
            self._conninfo = database
            self._open_with(lambda: self._direct_connection(options))
            self._pool = ConnectionPool(
                database,
                kwargs=options,
                min_size=1,
                max_size=size,
                timeout=self._timeout,
                name=f"perfcore:{self.schema}",
                open=False,
            )
            self._own_pool = True
            self._pool.open(wait=False)
        else:
            raise ValidationError(
                "database", "must be a connection string or a psycopg_pool.ConnectionPool"
            )
        self._finalizer = weakref.finalize(self, _close_pool, self._pool, self._own_pool)

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
        return f"PostgresStore(schema={self.schema!r})"

    def unit_of_work(self) -> PostgresUnitOfWork:
        """A new unit of work: use it in a ``with`` block, and call ``commit()`` to keep it."""
        if self._closed:
            raise StorageError(f"{self!r} is closed; open a new PostgresStore")
        return PostgresUnitOfWork(self)

    def close(self) -> None:
        """Close the store's own pool (a pool given to it is left open); later units of work
        are refused."""
        self._closed = True
        self._finalizer()

    def deliver_notifications(
        self, notifier: Notifier, *, limit: int = 100, clock: Clock | None = None
    ) -> Delivery:
        """Hand up to ``limit`` pending notifications to ``notifier``, oldest first, one unit
        of work each, alongside any number of other consumers (on this server or others).

        Each notification is claimed (:meth:`PostgresOutbox.claim`: the other consumers skip
        it), handed over, and marked delivered in the same transaction; so a consumer that
        dies after handing one over and before committing leaves it to be handed over again
        (at least once: the notifier drops duplicates by id), and none is ever lost. One the
        notifier refuses stays pending, and is not tried again in this call.
        """
        from perfcore.services import Delivery  # the services import the stores' callers

        when = clock if clock is not None else SystemClock()
        delivered: list[str] = []
        failed: dict[str, str] = {}
        count = _limit(limit)
        while len(delivered) + len(failed) < count:
            with self.unit_of_work() as uow:
                claimed = uow.outbox.claim(1, skip=list(failed))
                if not claimed:
                    break
                notification = claimed[0]
                try:
                    notifier.notify(notification)
                except Exception as error:  # the caller's code: any failure means "try again"
                    failed[notification.id] = f"{type(error).__name__}: {error}"
                    continue
                uow.outbox.mark_delivered(notification.id, when.now())
                uow.commit()
                delivered.append(notification.id)
        return Delivery(delivered=tuple(delivered), failed=failed)

    # -- opening ---------------------------------------------------------------------------------

    def _open_with(
        self, connect: Callable[[], contextlib.AbstractContextManager[Connection]]
    ) -> None:
        """Check, and if needed create or migrate, the schema on one connection."""
        with connect() as conn:
            try:
                self._prepare(conn)
            except psycopg.Error as error:
                raise translate(error, schema=self.schema, phase="work") from error

    @contextlib.contextmanager
    def _direct_connection(self, options: Mapping[str, Any]) -> Iterator[Connection]:
        try:
            conn = psycopg.connect(self._conninfo, **options)
        except psycopg.Error as error:
            raise translate(error, schema=self.schema, phase="connect") from None
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _pool_connection(self) -> Iterator[Connection]:
        conn, restore = self._acquire()
        try:
            yield conn
        finally:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(_ROLLBACK)
            self._release(conn, restore_autocommit=restore)

    def _prepare(self, conn: Connection) -> None:
        statements = self._statements
        version = self._version(conn)
        if version != schema.SCHEMA_VERSION:
            conn.execute(_BEGIN)
            try:
                conn.execute(statements["lock"], (schema.migration_lock(self.schema),))
                # Another server may have migrated while this one waited for the lock.
                version = self._version(conn)
                if (
                    version == 0
                    and not conn.execute(statements["has_schema"], (self.schema,)).fetchall()
                ):
                    conn.execute(statements["create_schema"])
                for migration in statements.migrations[version:]:
                    for statement in migration:
                        conn.execute(statement)
                conn.execute(statements["write_version"], (str(schema.SCHEMA_VERSION),))
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(_ROLLBACK)
                raise
            conn.execute(_COMMIT)
        rows = conn.execute(statements["has_schema"], (self.schema,)).fetchall()
        oid = int(rows[0][0])
        # The schema's oid, as PostgreSQL's advisory locks take it (a signed 32-bit number).
        self._space = oid - 2**32 if oid >= 2**31 else oid

    def _version(self, conn: Connection) -> int:
        """The schema's version: 0 for a schema (or a meta table) perfcore has not made yet."""
        statements = self._statements
        if not conn.execute(statements["has_meta"], (self.schema,)).fetchall():
            return 0
        rows = conn.execute(statements["read_version"]).fetchall()
        if not rows:
            return 0
        value = str(rows[0][0])
        if not value.isdigit():
            raise SchemaMissing(
                f"PostgreSQL (schema {self.schema!r}): the store schema version in its meta"
                f" table is {value!r}, not a number: the schema was changed outside perfcore;"
                " restore it from a backup (nothing was changed)"
            )
        version = int(value)
        if version > schema.SCHEMA_VERSION:
            raise UnsupportedSchema(
                f"PostgreSQL schema {self.schema!r} holds store schema {version}, written by a"
                f" newer perfcore; this perfcore knows store schemas up to"
                f" {schema.SCHEMA_VERSION}: upgrade perfcore (nothing was changed)"
            )
        return version

    # -- connections -----------------------------------------------------------------------------

    def _acquire(self) -> tuple[Connection, bool]:
        """A connection in autocommit mode, and whether it must be set back after."""
        if self._closed:
            raise StorageError(f"{self!r} is closed; open a new PostgresStore")
        try:
            conn = self._pool.getconn(timeout=self._timeout)
        except (PoolTimeout, PoolClosed, psycopg.Error) as error:
            raise translate(error, schema=self.schema, phase="connect") from error
        if conn.autocommit:
            return conn, False
        try:
            conn.autocommit = True
        except psycopg.Error as error:
            self._pool.putconn(conn)
            raise translate(error, schema=self.schema, phase="connect") from error
        return conn, True

    def _release(self, conn: Connection, *, restore_autocommit: bool) -> None:
        if not (conn.closed or conn.broken):
            try:
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.execute(_ROLLBACK)
                if restore_autocommit:
                    conn.autocommit = False
            except psycopg.Error:
                conn.close()
        with contextlib.suppress(PoolClosed):
            self._pool.putconn(conn)


# -- the directory --------------------------------------------------------------------------------


class PostgresDirectory(PlacedDirectory):
    """The organisation by date (:class:`perfcore.directory.Directory`), kept in a store's schema.

    For an organisation that keeps its reporting lines in perfcore rather than answering from its
    HR system: one table of placements, each in force from its day until the next, read through
    the store's connections (each question is one indexed query)::

        directory = PostgresDirectory(store)
        directory.place("ana", on=dt.date(2026, 1, 5), manager_id="ben")
        pc = Perfcore(store, directory=directory)
    """

    def __init__(self, store: PostgresStore) -> None:
        if not isinstance(store, PostgresStore):
            raise ValidationError("store", "must be a PostgresStore")
        self.store = store

    def _record(self, placement: Placement) -> None:
        person = placement.person
        values: tuple[object, ...] = (False, None, None, [], None)
        if person is not None:
            for field, value in (
                ("manager_id", person.manager_id),
                ("department", person.department),
                ("position", person.position),
            ):
                if value is not None:
                    _text(field, value)
            roles = sorted(role.value for role in person.roles)
            values = (True, person.manager_id, person.department, roles, person.position)
        who, day = _name("person_id", placement.person_id), placement.effective
        with self.store.unit_of_work() as uow:
            if uow.write("directory_insert", (who, day, *values)).rowcount == 0:
                raise ValidationError("on", f"{who!r} has a placement on {day.isoformat()}")
            uow.commit()

    def person(self, id: str, on: dt.date) -> Person | None:
        """Who ``id`` is on day ``on``, or ``None``."""
        with self.store.unit_of_work() as uow:
            rows = uow.read("directory_at", (_text("id", id), check_date("on", on)))
        if not rows or not rows[0][0]:
            return None
        _present, manager, department, roles, position = rows[0]
        return Person(
            id=id, manager_id=manager, department=department, roles=roles, position=position
        )

    def reports(self, manager_id: str, on: dt.date) -> tuple[str, ...]:
        """Who reports directly to ``manager_id`` on day ``on``, sorted."""
        manager_id = _text("manager_id", manager_id)
        with self.store.unit_of_work() as uow:
            rows = uow.read("directory_reports", (manager_id, check_date("on", on), manager_id))
        return tuple(str(row[0]) for row in rows)

    def holders(self, position: str, on: dt.date) -> tuple[str, ...]:
        """Who holds ``position`` on day ``on``, sorted."""
        position = _text("position", position)
        with self.store.unit_of_work() as uow:
            rows = uow.read("directory_holders", (position, check_date("on", on), position))
        return tuple(str(row[0]) for row in rows)

    def placements(self) -> list[Placement]:
        """Every placement, by person, then date."""
        with self.store.unit_of_work() as uow:
            rows = uow.read("directory_all")
        return [
            Placement(
                effective=effective,
                person_id=person,
                person=Person(
                    id=person,
                    manager_id=manager,
                    department=department,
                    roles=roles,
                    position=position,
                )
                if present
                else None,
            )
            for person, effective, present, manager, department, roles, position in rows
        ]


def schema_statements(name: str) -> schema.Statements:
    """The statements of a store in schema ``name``."""
    return schema.Statements(name)


def _close_pool(pool: ConnectionPool[Connection], own: bool) -> None:
    if own:
        pool.close()


def _schema_name(value: object) -> str:
    if not isinstance(value, str) or not value or len(value.encode()) > 63 or "\x00" in value:
        raise ValidationError("schema", f"must be a PostgreSQL name of 1 to 63 bytes: {value!r}")
    if value.startswith("pg_"):
        raise ValidationError("schema", f"names starting with pg_ are PostgreSQL's: {value!r}")
    return value


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(name, f"must be a number of seconds above 0, not {value!r}")
    return float(value)


def _connection_options(conninfo: str, connect_timeout: int) -> dict[str, Any]:
    """What the store's connections are opened with, beside the connection string."""
    try:
        given = psycopg_conninfo.conninfo_to_dict(conninfo)
    except psycopg.Error as error:
        raise ValidationError("database", f"is not a connection string: {error}") from None
    options: dict[str, Any] = {"autocommit": True}
    if "connect_timeout" not in given:
        options["connect_timeout"] = connect_timeout
    if "application_name" not in given:
        options["application_name"] = "perfcore"
    return options


if TYPE_CHECKING:

    def _conforms(store: PostgresStore) -> Store:
        """Never called: ``mypy --strict src`` checks here that PostgresStore is a Store."""
        return store

    def _reads_raw(events: _Events) -> RawEventReads:
        """Never called: mypy checks here that the events offer the verification's reads."""
        return events

    def _directs(directory: PostgresDirectory) -> Directory:
        """Never called: mypy checks here that PostgresDirectory is a Directory."""
        return directory
