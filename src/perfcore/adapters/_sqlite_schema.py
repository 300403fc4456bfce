"""The SQLite store's tables, and the forward migrations that build and upgrade them.

The schema version lives in ``meta`` (``key = 'schema_version'``). The store refuses a database
written by a newer perfcore before touching it, and brings an older one forward in one
``BEGIN IMMEDIATE`` transaction (:func:`run_migrations`), so that two processes opening an old
file at once migrate it exactly once.

Schema 2, the events are the record:

- ``streams``: one row per object, its head (:class:`~perfcore.ports.StreamHead`): the version
  and chain hash of its last event, its state and one column per name in
  :data:`~perfcore.ports.INDEX_COLUMNS`, rewritten with every append. ``key`` is a small integer
  that each event names instead of repeating the kind and id. Each query column has a partial
  index on ``(kind, column, id)`` holding only the rows that set it. Ids compare exactly
  (SQLite's default BINARY collation): ``'ANA'`` is not ``'ana'``.
- ``events``: every event of every stream, once. ``position`` is the rowid (the global order);
  ``AUTOINCREMENT`` keeps a position from ever being handed out again, even after the newest
  row was removed behind perfcore's back. Triggers keep the table append-only: an event follows
  its stream's last one (version ``n + 1``, never beyond the head), is never deleted, and the
  only change ever made to it is an erasure of its body (to the 0x00 marker and the 32-byte
  digest, see :func:`~perfcore.ports.erased_body`), once.
- ``snapshots``: the newest snapshot of each stream, a cache (deleted and rewritten at will).
- ``seals``: the chain over the global order, append-only by triggers (``number`` must be the
  last one's plus one).
- ``outbox`` and ``idempotency``: as in schema 1.
- ``legacy_audit_log``: schema 1's audit log, kept read-only (by triggers) after migrating; its
  head is anchored in a ``LegacyAuditLog`` stream (see :mod:`perfcore.adapters._sqlite_legacy`).

The statements the store runs live here too, beside the tables they name, so that a migration
and the statements it affects change together. To change the schema: append a tuple of
statements to :data:`MIGRATIONS` (never edit a shipped one); :data:`SCHEMA_VERSION` follows. A
migration that must move data in Python names a :class:`DataStep` among its statements; the
store supplies the function that does it. Migrations run statement by statement, not through
``executescript``, which would commit the surrounding transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import attrs

__all__ = [
    "ERASE_BODY",
    "MARK_ERASED",
    "EVENT_COLUMNS",
    "HEAD_COLUMNS",
    "IDEMPOTENCY_GET",
    "IDEMPOTENCY_PUT",
    "INSERT_EVENT",
    "INSERT_STREAM",
    "INSERT_STREAM_V2",
    "LEGACY_V1",
    "LIVE_BODIES",
    "MAX_POSITION",
    "MIGRATIONS",
    "OUTBOX_DELIVERED",
    "OUTBOX_HAS",
    "OUTBOX_PENDING",
    "OUTBOX_PUT",
    "READ_EVENTS",
    "READ_STREAM",
    "SCAN_EVENTS",
    "SCHEMA_VERSION",
    "SEAL_INSERT",
    "SEAL_LAST",
    "SEAL_MAX",
    "SEAL_READ",
    "SELECT_HEAD",
    "SELECT_HEADS_BETWEEN",
    "SELECT_HEADS_BY",
    "SELECT_HEADS_FROM",
    "SELECT_HEADS_WITHOUT",
    "SELECT_STREAMS",
    "SELECT_STREAMS_AFTER",
    "SNAPSHOT_ADD",
    "SNAPSHOT_DELETE",
    "SNAPSHOT_GET",
    "SNAPSHOT_REPLACE",
    "STREAM_COLUMNS",
    "V2_COLUMNS",
    "V3_COLUMNS",
    "STREAM_KEY",
    "UPDATE_STREAM",
    "V1_AGGREGATES",
    "V1_AUDIT_LOG",
    "DataStep",
    "journal_mode",
    "read_version",
    "run_migrations",
    "write_version",
]


@attrs.frozen
class DataStep:
    """A step of a migration that runs Python (moving rows between tables), named so that the
    store can supply the function; it runs in the migration's transaction, between the
    statements around it."""

    name: str


# -- schema 1: one JSON envelope per object, one global audit log (kept as shipped) --------------

#: Each query column, and the order of a query's results.
QUERY_ORDERS: Final[Mapping[str, str]] = {
    "state": "id",
    "owner": "id",
    "manager": "id",
    "subject": "id",
    "cycle": "id",
    "lineage": "number",
    "employee": "lineage, number",
}
#: The query columns a type may leave NULL (all but state), in the order the statements use.
NULLABLE_COLUMNS: Final = ("owner", "manager", "subject", "lineage", "number", "employee", "cycle")


def _query_indexes() -> tuple[str, ...]:
    statements = []
    for column, order in QUERY_ORDERS.items():
        # state is never NULL; the others are NULL for types that lack them, and left out.
        where = "" if column == "state" else f" WHERE {column} IS NOT NULL"
        # A number is drafted once in its lineage: two racing new versions cannot both be n+1.
        unique = "UNIQUE " if column == "lineage" else ""
        statements.append(
            f"CREATE {unique}INDEX aggregates_by_{column}"
            f" ON aggregates (type, {column}, {order}){where}"
        )
    return tuple(statements)


_VERSION_1: tuple[str, ...] = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE aggregates (
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        state TEXT NOT NULL,
        owner TEXT,
        manager TEXT,
        subject TEXT,
        lineage TEXT,
        number INTEGER,
        employee TEXT,
        cycle TEXT,
        envelope TEXT NOT NULL,
        PRIMARY KEY (type, id)
    )""",
    *_query_indexes(),
    """CREATE TABLE audit_log (
        sequence INTEGER PRIMARY KEY CHECK (sequence >= 1),
        event TEXT NOT NULL,
        previous_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        scheme INTEGER NOT NULL
    )""",
    # Append-only, enforced by the database so that no bug (and no INSERT OR REPLACE, whose
    # deletes fire no trigger) can rewrite history: entries only ever extend the chain by one.
    """CREATE TRIGGER audit_log_append_only_insert BEFORE INSERT ON audit_log
        WHEN NEW.sequence IS NOT (SELECT COALESCE(MAX(sequence), 0) + 1 FROM audit_log)
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: a new entry must follow the last');
        END""",
    """CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: entries are never updated'); END""",
    """CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: entries are never deleted'); END""",
    """CREATE TABLE outbox (
        position INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        notification TEXT NOT NULL,
        delivered_at TEXT
    )""",
    "CREATE INDEX outbox_pending ON outbox (position) WHERE delivered_at IS NULL",
    # The outbox is append-only too, except that an entry is marked delivered, once.
    """CREATE TRIGGER outbox_only_delivery BEFORE UPDATE ON outbox
        WHEN NEW.position IS NOT OLD.position OR NEW.id IS NOT OLD.id
            OR NEW.notification IS NOT OLD.notification OR OLD.delivered_at IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'outbox entries are only ever marked delivered, once'); END""",
    """CREATE TRIGGER outbox_no_delete BEFORE DELETE ON outbox
        BEGIN SELECT RAISE(ABORT, 'outbox entries are never deleted'); END""",
    """CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        aggregate_type TEXT NOT NULL,
        aggregate_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        at TEXT NOT NULL
    )""",
)


# -- schema 2: streams of events, snapshots, seals ------------------------------------------------

#: The query columns of ``streams`` as schema 2 made them: the names of
#: :data:`perfcore.ports.INDEX_COLUMNS` when schema 2 was written.
V2_COLUMNS: Final = (
    "owner",
    "manager",
    "subject",
    "lineage",
    "number",
    "employee",
    "cycle",
    "person",
)
#: The query columns schema 3 added: those worked out from the object
#: (:data:`perfcore.streams.DERIVED_COLUMNS`).
V3_COLUMNS: Final = ("start", "due", "behind", "changed", "review", "team")
#: The query columns of ``streams`` now, in the order the statements use. A name added to the
#: ports later needs a migration that adds its column; the tests check that the two agree.
STREAM_COLUMNS: Final = (*V2_COLUMNS, *V3_COLUMNS)

#: The step of schema 2 that moves schema 1's objects and audit log into streams.
LEGACY_V1: Final = DataStep("legacy_v1")


def _refuse(message: str) -> str:
    """A trigger body that refuses the statement with ``message``."""
    quoted = message.replace("'", "''")
    return f"BEGIN SELECT RAISE(ABORT, '{quoted}'); END"


def _stream_indexes(columns: Sequence[str], *, state: bool) -> tuple[str, ...]:
    statements = ["CREATE INDEX streams_by_state ON streams (kind, state, id)"] if state else []
    for column in columns:
        statements.append(
            f"CREATE INDEX streams_by_{column} ON streams (kind, {column}, id)"
            f" WHERE {column} IS NOT NULL"
        )
    return tuple(statements)


_VERSION_2: tuple[str | DataStep, ...] = (
    # The query columns have no declared type (no affinity): a value comes back as it was given,
    # and 3 (a number) is not '3' (a text).
    f"""CREATE TABLE streams (
        key INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        hash BLOB NOT NULL,
        state TEXT NOT NULL,
        {", ".join(V2_COLUMNS)},
        erased INTEGER NOT NULL DEFAULT 0 CHECK (erased IN (0, 1)),
        UNIQUE (kind, id)
    )""",
    *_stream_indexes(V2_COLUMNS, state=True),
    """CREATE TRIGGER streams_no_delete BEFORE DELETE ON streams
        """
    + _refuse("streams are never deleted: their events are the record"),
    # A head moves forward with the events it appends, or, keeping its version, hash and state,
    # is marked erased (once, for good).
    """CREATE TRIGGER streams_only_forward BEFORE UPDATE ON streams
        WHEN NEW.key IS NOT OLD.key OR NEW.kind IS NOT OLD.kind OR NEW.id IS NOT OLD.id
            OR NEW.erased < OLD.erased
            OR (NEW.version <= OLD.version AND (NEW.version IS NOT OLD.version
                OR NEW.hash IS NOT OLD.hash OR NEW.state IS NOT OLD.state
                OR NEW.erased IS OLD.erased))
        """
    + _refuse("a stream head only moves forward, with the events it appends"),
    """CREATE TABLE events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        stream INTEGER NOT NULL REFERENCES streams (key),
        version INTEGER NOT NULL,
        schema INTEGER NOT NULL,
        header BLOB NOT NULL,
        body BLOB NOT NULL,
        hash BLOB NOT NULL,
        UNIQUE (stream, version)
    )""",
    # An event follows the last one of its stream, and its stream's head (written first, in the
    # same append) covers it: no gap, no event beyond the head.
    """CREATE TRIGGER events_follow_stream BEFORE INSERT ON events
        WHEN NEW.version IS NOT
                (SELECT COALESCE(MAX(version), 0) + 1 FROM events WHERE stream = NEW.stream)
            OR NEW.version > COALESCE((SELECT version FROM streams WHERE key = NEW.stream), 0)
        """
    + _refuse("an event must follow the last one of its stream, within its head"),
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        """
    + _refuse("events are append-only: they are never deleted"),
    # The one change ever made to an event: its live body replaced by the erased marker (0x00)
    # and the 32-byte digest, once. Whether the digest is the body's own is for the chain to
    # show (perfcore.recording); SQL has no SHA-256.
    """CREATE TRIGGER events_only_erasure BEFORE UPDATE ON events
        WHEN NEW.position IS NOT OLD.position OR NEW.stream IS NOT OLD.stream
            OR NEW.version IS NOT OLD.version OR NEW.schema IS NOT OLD.schema
            OR NEW.header IS NOT OLD.header OR NEW.hash IS NOT OLD.hash
            OR (NEW.body IS NOT OLD.body AND (
                substr(OLD.body, 1, 1) IS x'00' OR substr(NEW.body, 1, 1) IS NOT x'00'
                OR typeof(NEW.body) IS NOT 'blob' OR length(NEW.body) != 33))
        """
    + _refuse("events are append-only: only an erasure may replace a body, once"),
    """CREATE TABLE snapshots (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        schema INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (kind, id)
    )""",
    """CREATE TABLE seals (
        number INTEGER PRIMARY KEY CHECK (number >= 1),
        upto INTEGER NOT NULL,
        count INTEGER NOT NULL,
        streams BLOB NOT NULL,
        previous_hash BLOB NOT NULL,
        hash BLOB NOT NULL,
        at TEXT NOT NULL
    )""",
    """CREATE TRIGGER seals_append_only_insert BEFORE INSERT ON seals
        WHEN NEW.number IS NOT (SELECT COALESCE(MAX(number), 0) + 1 FROM seals)
        """
    + _refuse("seals are append-only: a new seal must follow the last"),
    """CREATE TRIGGER seals_append_only_update BEFORE UPDATE ON seals
        """
    + _refuse("seals are append-only: they are never updated"),
    """CREATE TRIGGER seals_append_only_delete BEFORE DELETE ON seals
        """
    + _refuse("seals are append-only: they are never deleted"),
    # Schema 1's objects and audit log become streams (nothing, for a new database) ...
    LEGACY_V1,
    # ... and its audit log stays, read-only, its head anchored in the LegacyAuditLog stream.
    "DROP TRIGGER audit_log_append_only_insert",
    "DROP TRIGGER audit_log_append_only_update",
    "DROP TRIGGER audit_log_append_only_delete",
    "ALTER TABLE audit_log RENAME TO legacy_audit_log",
    """CREATE TRIGGER legacy_audit_log_read_only_insert BEFORE INSERT ON legacy_audit_log
        """
    + _refuse("legacy_audit_log is read-only: schema 1's log, kept as it was"),
    """CREATE TRIGGER legacy_audit_log_read_only_update BEFORE UPDATE ON legacy_audit_log
        """
    + _refuse("legacy_audit_log is read-only: schema 1's log, kept as it was"),
    """CREATE TRIGGER legacy_audit_log_read_only_delete BEFORE DELETE ON legacy_audit_log
        """
    + _refuse("legacy_audit_log is read-only: schema 1's log, kept as it was"),
    "DROP TABLE aggregates",
)

#: Schema 3: the query columns worked out from the object (a goal's days and the day it is
#: behind from, a plan's next review), each with its partial index. Heads written before have
#: none of them (NULL), and the services answer for those by decoding, as before.
_VERSION_3: tuple[str | DataStep, ...] = (
    *(f"ALTER TABLE streams ADD COLUMN {column}" for column in V3_COLUMNS),
    *_stream_indexes(V3_COLUMNS, state=False),
    # The heads without the derived columns (written before them, or of kinds without them),
    # which the questions decode: found by "changed IS NULL" through an index of their own.
    "CREATE INDEX streams_without_changed ON streams (kind, id) WHERE changed IS NULL",
)

#: ``MIGRATIONS[n - 1]`` takes a database from schema ``n - 1`` to ``n`` (0 is an empty file).
MIGRATIONS: tuple[tuple[str | DataStep, ...], ...] = (_VERSION_1, _VERSION_2, _VERSION_3)

#: The schema version this perfcore writes and reads.
SCHEMA_VERSION = len(MIGRATIONS)

_HAS_META = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
_READ_VERSION = "SELECT value FROM meta WHERE key = 'schema_version'"
# Not an upsert (SQLite 3.24+): meta has no triggers, so REPLACE is as good on older SQLite.
_WRITE_VERSION = "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)"


def read_version(conn: sqlite3.Connection) -> int | str:
    """The database's schema version: 0 for a database perfcore has not set up yet.

    A value that is not a whole number is returned as the text found, for the caller to refuse.
    """
    if conn.execute(_HAS_META).fetchone() is None:
        return 0
    row = conn.execute(_READ_VERSION).fetchone()
    if row is None:
        return 0
    value = str(row[0])
    return int(value) if value.isdigit() else value


def write_version(conn: sqlite3.Connection, version: int) -> None:
    """Record ``version`` in ``meta`` (inside the caller's transaction)."""
    conn.execute(_WRITE_VERSION, (str(version),))


def run_migrations(
    conn: sqlite3.Connection,
    start: int,
    data_steps: Mapping[DataStep, Callable[[sqlite3.Connection], None]],
) -> None:
    """Run every migration after ``start`` (inside the caller's transaction).

    Args:
        conn: the connection, in a ``BEGIN IMMEDIATE`` transaction.
        start: the database's schema version now.
        data_steps: the function for each :class:`DataStep` of the migrations to run.

    Raises:
        KeyError: a migration names a step ``data_steps`` lacks (nothing is committed).
    """
    for statements in MIGRATIONS[start:]:
        _run(conn, statements, data_steps)
    write_version(conn, SCHEMA_VERSION)


def _run(
    conn: sqlite3.Connection,
    statements: Sequence[str | DataStep],
    data_steps: Mapping[DataStep, Callable[[sqlite3.Connection], None]],
) -> None:
    for statement in statements:
        if isinstance(statement, DataStep):
            data_steps[statement](conn)
        else:
            conn.execute(statement)


def journal_mode(conn: sqlite3.Connection) -> str:
    """The database's journal mode, in lower case ("wal", "delete", ...)."""
    row = conn.execute("PRAGMA journal_mode").fetchone()
    return str(row[0]).lower()


# -- the statements the store runs ----------------------------------------------------------------

#: A head's columns, as every statement that reads one selects them.
HEAD_COLUMNS: Final = ("kind", "id", "version", "hash", "state", *STREAM_COLUMNS)
_WRITTEN: Final = ", ".join(HEAD_COLUMNS)
_PLACES: Final = ", ".join("?" for _ in HEAD_COLUMNS)
#: What a read selects: the written columns, then whether the stream was erased (which only
#: ``erase`` sets, so no append can clear it).
_HEAD: Final = f"{_WRITTEN}, erased"

INSERT_STREAM: Final = f"INSERT INTO streams ({_WRITTEN}) VALUES ({_PLACES})"
#: A head as the schema-2 migration writes it (the columns schema 2 had).
INSERT_STREAM_V2: Final = (
    f"INSERT INTO streams ({', '.join(HEAD_COLUMNS[:5] + V2_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in HEAD_COLUMNS[:5] + V2_COLUMNS)})"
)
#: Optimistic concurrency: the head moves only if the stream is still at the version the caller
#: loaded. Parameters: the new version, hash, state and columns, then kind, id, expected version.
UPDATE_STREAM: Final = (
    "UPDATE streams SET "
    + ", ".join(f"{column} = ?" for column in HEAD_COLUMNS[2:])
    + " WHERE kind = ? AND id = ? AND version = ?"
)
STREAM_KEY: Final = "SELECT key, version FROM streams WHERE kind = ? AND id = ?"
SELECT_HEAD: Final = f"SELECT {_HEAD} FROM streams WHERE kind = ? AND id = ?"
#: One statement per query column (and ``state``), each served by its ``streams_by_`` index.
SELECT_HEADS_BY: Final[Mapping[str, str]] = {
    column: f"SELECT {_HEAD} FROM streams WHERE kind = ? AND {column} = ? ORDER BY id"
    for column in ("state", *STREAM_COLUMNS)
}
#: A NULL column equals nothing in SQL; ``find(kind, column, None)`` asks for the heads without it.
SELECT_HEADS_WITHOUT: Final[Mapping[str, str]] = {
    column: f"SELECT {_HEAD} FROM streams WHERE kind = ? AND {column} IS NULL ORDER BY id"
    for column in STREAM_COLUMNS
}
#: ``find_between``: the heads whose text column is in a range, served by the column's
#: ``streams_by_`` index (in the column's order: the store sorts them by id, in memory).
SELECT_HEADS_BETWEEN: Final[Mapping[str, str]] = {
    column: f"SELECT {_HEAD} FROM streams WHERE kind = ? AND {column} IS NOT NULL"
    f" AND {column} >= ? AND {column} <= ? AND typeof({column}) = 'text'"
    for column in STREAM_COLUMNS
}
#: The same without an upper bound. The lower bound is always given ('' for none): every text
#: is at least '', and a number is less than any text.
SELECT_HEADS_FROM: Final[Mapping[str, str]] = {
    column: f"SELECT {_HEAD} FROM streams WHERE kind = ? AND {column} IS NOT NULL"
    f" AND {column} >= ? AND typeof({column}) = 'text'"
    for column in STREAM_COLUMNS
}
SELECT_STREAMS: Final = f"SELECT {_HEAD} FROM streams ORDER BY kind, id LIMIT ?"
SELECT_STREAMS_AFTER: Final = (
    f"SELECT {_HEAD} FROM streams WHERE (kind, id) > (?, ?) ORDER BY kind, id LIMIT ?"
)

#: An event's stored columns besides its stream and position, in the statements' order.
EVENT_COLUMNS: Final = ("version", "schema", "header", "body", "hash")
INSERT_EVENT: Final = (
    "INSERT INTO events (stream, version, schema, header, body, hash) VALUES (?, ?, ?, ?, ?, ?)"
)
READ_EVENTS: Final = (
    "SELECT version, schema, header, body, hash, position FROM events"
    " WHERE stream = ? AND version > ? ORDER BY version LIMIT ?"
)
#: A stream's first page found by its kind and id, in one statement (most streams fit in one).
READ_STREAM: Final = (
    "SELECT e.version, e.schema, e.header, e.body, e.hash, e.position, e.stream"
    " FROM streams AS s JOIN events AS e ON e.stream = s.key"
    " WHERE s.kind = ? AND s.id = ? AND e.version > ? ORDER BY e.version LIMIT ?"
)
# CROSS JOIN: SQLite keeps events as the outer loop, walking the rowid range in order.
SCAN_EVENTS: Final = (
    "SELECT s.kind, s.id, e.version, e.schema, e.header, e.body, e.hash, e.position"
    " FROM events AS e CROSS JOIN streams AS s ON s.key = e.stream"
    " WHERE e.position > ? AND e.position <= ? ORDER BY e.position LIMIT ?"
)
MAX_POSITION: Final = "SELECT COALESCE(MAX(position), 0) FROM events"
LIVE_BODIES: Final = (
    "SELECT position, body FROM events WHERE stream = ? AND substr(body, 1, 1) IS NOT x'00'"
)
ERASE_BODY: Final = "UPDATE events SET body = ? WHERE position = ?"
MARK_ERASED: Final = "UPDATE streams SET erased = 1 WHERE key = ? AND erased = 0"

SNAPSHOT_GET: Final = "SELECT version, schema, data FROM snapshots WHERE kind = ? AND id = ?"
#: Keep the newer: replace a snapshot of the same or an older version ...
SNAPSHOT_REPLACE: Final = (
    "UPDATE snapshots SET version = ?, schema = ?, data = ?"
    " WHERE kind = ? AND id = ? AND version <= ?"
)
#: ... or add the first (a newer one kept already makes this do nothing). Not an upsert, which
#: needs SQLite 3.24.
SNAPSHOT_ADD: Final = (
    "INSERT OR IGNORE INTO snapshots (version, schema, data, kind, id) VALUES (?, ?, ?, ?, ?)"
)
SNAPSHOT_DELETE: Final = "DELETE FROM snapshots WHERE kind = ? AND id = ?"

_SEAL_COLUMNS: Final = "number, upto, count, streams, previous_hash, hash, at"
SEAL_LAST: Final = f"SELECT {_SEAL_COLUMNS} FROM seals ORDER BY number DESC LIMIT 1"
SEAL_READ: Final = f"SELECT {_SEAL_COLUMNS} FROM seals WHERE number > ? ORDER BY number LIMIT ?"
SEAL_MAX: Final = "SELECT COALESCE(MAX(number), 0) FROM seals"
SEAL_INSERT: Final = f"INSERT INTO seals ({_SEAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"

OUTBOX_PUT: Final = "INSERT INTO outbox (id, notification) VALUES (?, ?)"
OUTBOX_PENDING: Final = (
    "SELECT id, notification FROM outbox WHERE delivered_at IS NULL ORDER BY position LIMIT ?"
)
OUTBOX_DELIVERED: Final = "UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL"
OUTBOX_HAS: Final = "SELECT 1 FROM outbox WHERE id = ?"

_IDEMPOTENCY_COLUMNS: Final = "key, fingerprint, aggregate_type, aggregate_id, version, at"
IDEMPOTENCY_GET: Final = f"SELECT {_IDEMPOTENCY_COLUMNS} FROM idempotency WHERE key = ?"
IDEMPOTENCY_PUT: Final = (
    f"INSERT INTO idempotency ({_IDEMPOTENCY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
)

# Schema 1's rows, read once by the migration to schema 2 (before its tables are dropped).
V1_AGGREGATES: Final = (
    "SELECT type, id, version, state, owner, manager, subject, lineage, number, employee, cycle,"
    " envelope FROM aggregates ORDER BY type, id"
)
V1_AUDIT_LOG: Final = (
    "SELECT sequence, event, previous_hash, hash, scheme FROM audit_log ORDER BY sequence"
)
