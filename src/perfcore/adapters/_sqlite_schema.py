"""The SQLite store's tables, and the forward migrations that build and upgrade them.

The schema version lives in ``meta`` (``key = 'schema_version'``). :func:`prepare` runs on every
open: it refuses a database written by a newer perfcore before touching it, and brings an older one
forward in one ``BEGIN IMMEDIATE`` transaction, so that two processes opening a new file at once
migrate it exactly once.

All aggregate types share one ``aggregates`` table: the queries the ports ask for are few, one
table keeps a unit of work's writes on one B-tree, and a new aggregate type needs no DDL. Each
query has a partial index on ``(type, column, order)`` that holds only the rows that set the
column, so the indexes stay as small as the per-type tables would make them.

The statements the store runs live here too, beside the tables they name, so that a migration
and the statements it affects change together. To change the schema: append a tuple of
statements to :data:`MIGRATIONS` (never edit a shipped one); :data:`SCHEMA_VERSION` follows.
Migrations run statement by statement, not through ``executescript``, which would commit the
surrounding transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Final

__all__ = [
    "AUDIT_INSERT",
    "AUDIT_LAST",
    "AUDIT_MAX",
    "AUDIT_READ",
    "IDEMPOTENCY_GET",
    "IDEMPOTENCY_PUT",
    "INSERT_AGGREGATE",
    "MIGRATIONS",
    "NULLABLE_COLUMNS",
    "OUTBOX_DELIVERED",
    "OUTBOX_HAS",
    "OUTBOX_PENDING",
    "OUTBOX_PUT",
    "QUERY_ORDERS",
    "SCHEMA_VERSION",
    "SELECT_AGGREGATE",
    "SELECT_AGGREGATES_BY",
    "SELECT_VERSION",
    "UPDATE_AGGREGATE",
    "journal_mode",
    "read_version",
    "run_migrations",
    "write_version",
]

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

#: ``MIGRATIONS[n - 1]`` takes a database from schema ``n - 1`` to ``n`` (0 is an empty file).
MIGRATIONS: tuple[tuple[str, ...], ...] = (_VERSION_1,)

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


def run_migrations(conn: sqlite3.Connection, start: int) -> None:
    """Run every migration after ``start`` (inside the caller's transaction)."""
    for statements in MIGRATIONS[start:]:
        _run(conn, statements)
    write_version(conn, SCHEMA_VERSION)


def _run(conn: sqlite3.Connection, statements: Sequence[str]) -> None:
    for statement in statements:
        conn.execute(statement)


def journal_mode(conn: sqlite3.Connection) -> str:
    """The database's journal mode, in lower case ("wal", "delete", ...)."""
    row = conn.execute("PRAGMA journal_mode").fetchone()
    return str(row[0]).lower()


# -- the statements the store runs ----------------------------------------------------------------

INSERT_AGGREGATE: Final = (
    "INSERT INTO aggregates (type, id, version, state, owner, manager, subject, lineage, number,"
    " employee, cycle, envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: Optimistic concurrency: the row changes only if it is still at the version the caller loaded.
UPDATE_AGGREGATE: Final = (
    "UPDATE aggregates SET version = ?, state = ?, owner = ?, manager = ?, subject = ?,"
    " lineage = ?, number = ?, employee = ?, cycle = ?, envelope = ?"
    " WHERE type = ? AND id = ? AND version = ?"
)
_SELECT: Final = "SELECT id, version, envelope FROM aggregates"
SELECT_AGGREGATE: Final = f"{_SELECT} WHERE type = ? AND id = ?"
SELECT_VERSION: Final = "SELECT version FROM aggregates WHERE type = ? AND id = ?"
#: One statement per query column, each served by its ``aggregates_by_<column>`` index.
SELECT_AGGREGATES_BY: Final[Mapping[str, str]] = {
    column: f"{_SELECT} WHERE type = ? AND {column} = ? ORDER BY {order}"
    for column, order in QUERY_ORDERS.items()
}

_AUDIT_COLUMNS: Final = "sequence, event, previous_hash, hash, scheme"
AUDIT_LAST: Final = f"SELECT {_AUDIT_COLUMNS} FROM audit_log ORDER BY sequence DESC LIMIT 1"
AUDIT_READ: Final = (
    f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE sequence > ? ORDER BY sequence LIMIT ?"
)
AUDIT_INSERT: Final = f"INSERT INTO audit_log ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
AUDIT_MAX: Final = "SELECT COALESCE(MAX(sequence), 0) FROM audit_log"

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
