"""The PostgreSQL store's tables, and the forward migrations that build and upgrade them.

Everything lives in one schema of the store's own (``perfcore`` unless the store is told
another), so that several perfcore stores (a test's, a tenant's) share a database without seeing
each other, and the store never touches a table it did not make. The schema version lives in
``meta`` (``key = 'schema_version'``). The store refuses a schema written by a newer perfcore
before touching it, and brings an older one forward in one transaction under an advisory lock
(:func:`migration_lock`), so that application servers starting together migrate it exactly once.
DDL is transactional in PostgreSQL: a migration that fails leaves nothing behind.

Schema 1, the events are the record (the same design as the SQLite store's schema 2):

- ``streams``: one row per object, its head (:class:`~perfcore.ports.StreamHead`): the version
  and chain hash of its last event, its state, one column per name in
  :data:`~perfcore.ports.INDEX_COLUMNS` (``number`` a ``bigint``, the others text), and whether
  its bodies were erased. ``key`` is a small integer that each event names instead of repeating
  the kind and id. Each query column has a partial index on ``(kind, column, id)`` holding only
  the rows that set it. Every text column is ``COLLATE "C"``: ids compare and sort by code point
  (``'ANA'`` is not ``'ana'``, and ``'g-10'`` sorts before ``'g-2'``), as Python sorts them,
  whatever the database's own collation.
- ``events``: every event of every stream, once: header, body and hash as ``bytea``.
  ``position`` is an identity column over the sequence ``positions`` (``CACHE 1``: see
  :mod:`perfcore.adapters.postgres` for why the stable position needs it). Triggers keep the
  table append-only: an event follows its stream's last one (version ``n + 1``, never beyond the
  head), is never deleted, and the only change ever made to it is the erasure of its body (to
  ``'\\x00' || sha256(body)``, exactly :func:`~perfcore.ports.erased_body`), once.
- ``snapshots``: the newest snapshot of each stream, a cache.
- ``seals``: the chain over the global order, append-only by triggers (``number`` must be the
  last one's plus one).
- ``outbox``: each notification as ``jsonb``, in the order it was put, until it is marked
  delivered (the one change a trigger lets through); ``idempotency``: one row per key.
- ``directory_placements``: the organisation by date, for
  :class:`~perfcore.adapters.postgres.PostgresDirectory` (one row per person and day); schema 2
  adds the ``position`` each holds, with its index.
- three functions: ``append(...)``, one append in one statement (the head moved from the
  expected version, or a new stream inserted; the positions claimed, once per transaction; the
  events inserted); ``claim_positions(space)``, which a writing transaction calls before it takes
  its first position; and ``stable_position(space)``. See :mod:`perfcore.adapters.postgres`.

The statements the store runs live here too, beside the tables they name. Every name is
qualified with the store's schema, which :func:`render` fills in (quoted), so that no statement
depends on the connection's ``search_path``. To change the schema: append a tuple of statements to
:data:`MIGRATIONS` (never edit a shipped one); :data:`SCHEMA_VERSION` follows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Final

from psycopg import sql

__all__ = [
    "FIND_COLUMNS",
    "HEAD_COLUMNS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STREAM_COLUMNS",
    "TEXT_COLUMNS",
    "NUMBER_COLUMNS",
    "V1_COLUMNS",
    "V3_COLUMNS",
    "Statements",
    "lock_key",
    "migration_lock",
    "render",
]

#: The query columns of ``streams`` as schema 1 made them: the names of
#: :data:`perfcore.ports.INDEX_COLUMNS` when schema 1 was written.
V1_COLUMNS: Final = (
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
STREAM_COLUMNS: Final = (*V1_COLUMNS, *V3_COLUMNS)
#: The query columns that hold a whole number (``bigint``).
NUMBER_COLUMNS: Final = frozenset({"number", "team"})
#: The query columns that hold text.
TEXT_COLUMNS: Final = frozenset(STREAM_COLUMNS) - NUMBER_COLUMNS
#: What :meth:`~perfcore.ports.EventStore.find` may be asked for.
FIND_COLUMNS: Final = frozenset(("state", *STREAM_COLUMNS))


def _refuse(message: str) -> str:
    """A PL/pgSQL statement that refuses the change with ``message``."""
    quoted = message.replace("'", "''")
    return f"RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'perfcore: {quoted}';"


def _trigger_function(name: str, body: str) -> str:
    return (
        f"CREATE FUNCTION {{schema}}.{name}() RETURNS trigger LANGUAGE plpgsql AS $body$\n"
        f"BEGIN\n{body}\nEND\n$body$"
    )


def _refusing(name: str, message: str) -> str:
    """A trigger function that refuses every change it is asked about."""
    return _trigger_function(name, _refuse(message))


def _stream_indexes(
    columns: tuple[str, ...] = V1_COLUMNS, *, state: bool = True
) -> tuple[str, ...]:
    statements = (
        ["CREATE INDEX streams_by_state ON {schema}.streams (kind, state, id)"] if state else []
    )
    for column in columns:
        statements.append(
            f"CREATE INDEX streams_by_{column} ON {{schema}}.streams (kind, {column}, id)"
            f" WHERE {column} IS NOT NULL"
        )
    return tuple(statements)


def _column_type(column: str) -> str:
    return "bigint" if column in NUMBER_COLUMNS else 'text COLLATE "C"'


_ERASED_MARK: Final = r"'\x00'::bytea"

_VERSION_1: tuple[str, ...] = (
    'CREATE TABLE {schema}.meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)',
    f"""CREATE TABLE {{schema}}.streams (
        key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        version bigint NOT NULL CHECK (version >= 1),
        hash bytea NOT NULL,
        state text COLLATE "C" NOT NULL,
        {", ".join(f"{column} {_column_type(column)}" for column in V1_COLUMNS)},
        erased boolean NOT NULL DEFAULT false,
        UNIQUE (kind, id)
    )""",
    *_stream_indexes(),
    _refusing("streams_no_delete", "streams are never deleted: their events are the record"),
    # A head moves forward with the events it appends, or, keeping its version, hash and state,
    # is marked erased (once, for good).
    _trigger_function(
        "streams_only_forward",
        """IF NEW.key IS DISTINCT FROM OLD.key OR NEW.kind IS DISTINCT FROM OLD.kind
        OR NEW.id IS DISTINCT FROM OLD.id OR (OLD.erased AND NOT NEW.erased)
        OR (NEW.version <= OLD.version AND (NEW.version <> OLD.version
            OR NEW.hash IS DISTINCT FROM OLD.hash OR NEW.state IS DISTINCT FROM OLD.state
            OR NEW.erased = OLD.erased)) THEN
    """
        + _refuse("a stream head only moves forward, with the events it appends")
        + "\nEND IF;\nRETURN NEW;",
    ),
    """CREATE TRIGGER streams_no_delete BEFORE DELETE ON {schema}.streams
        FOR EACH ROW EXECUTE FUNCTION {schema}.streams_no_delete()""",
    """CREATE TRIGGER streams_no_truncate BEFORE TRUNCATE ON {schema}.streams
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.streams_no_delete()""",
    """CREATE TRIGGER streams_only_forward BEFORE UPDATE ON {schema}.streams
        FOR EACH ROW EXECUTE FUNCTION {schema}.streams_only_forward()""",
    # CACHE 1: every position handed out is at most the sequence's last_value, which
    # claim_positions and stable_position read (a session caching values would break that).
    """CREATE TABLE {schema}.events (
        position bigint GENERATED ALWAYS AS IDENTITY
            (SEQUENCE NAME {schema}.positions CACHE 1 NO CYCLE) PRIMARY KEY,
        stream bigint NOT NULL REFERENCES {schema}.streams (key),
        version bigint NOT NULL CHECK (version >= 1),
        schema integer NOT NULL,
        header bytea NOT NULL,
        body bytea NOT NULL,
        hash bytea NOT NULL,
        UNIQUE (stream, version)
    )""",
    # An event follows the last one of its stream, and its stream's head (written first, in the
    # same append) covers it: no gap, no event beyond the head. (A row trigger sees the rows an
    # INSERT of several wrote before it.)
    _trigger_function(
        "events_follow_stream",
        """IF NEW.version IS DISTINCT FROM (SELECT coalesce(max(version), 0) + 1
                FROM {schema}.events WHERE stream = NEW.stream)
            OR NEW.version > coalesce(
                (SELECT version FROM {schema}.streams WHERE key = NEW.stream), 0) THEN
    """
        + _refuse("an event must follow the last one of its stream, within its head")
        + "\nEND IF;\nRETURN NEW;",
    ),
    _refusing("events_no_delete", "events are append-only: they are never deleted"),
    # The one change ever made to an event: its live body replaced by the erased marker and the
    # SHA-256 of that very body, once.
    _trigger_function(
        "events_only_erasure",
        f"""IF NEW.position IS DISTINCT FROM OLD.position
            OR NEW.stream IS DISTINCT FROM OLD.stream OR NEW.version IS DISTINCT FROM OLD.version
            OR NEW.schema IS DISTINCT FROM OLD.schema OR NEW.header IS DISTINCT FROM OLD.header
            OR NEW.hash IS DISTINCT FROM OLD.hash
            OR (NEW.body IS DISTINCT FROM OLD.body AND (
                substring(OLD.body FROM 1 FOR 1) = {_ERASED_MARK}
                OR NEW.body IS DISTINCT FROM {_ERASED_MARK} || sha256(OLD.body))) THEN
    """
        + _refuse("events are append-only: only an erasure may replace a body, once")
        + "\nEND IF;\nRETURN NEW;",
    ),
    """CREATE TRIGGER events_follow_stream BEFORE INSERT ON {schema}.events
        FOR EACH ROW EXECUTE FUNCTION {schema}.events_follow_stream()""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON {schema}.events
        FOR EACH ROW EXECUTE FUNCTION {schema}.events_no_delete()""",
    """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {schema}.events
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.events_no_delete()""",
    """CREATE TRIGGER events_only_erasure BEFORE UPDATE ON {schema}.events
        FOR EACH ROW EXECUTE FUNCTION {schema}.events_only_erasure()""",
    """CREATE TABLE {schema}.snapshots (
        kind text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        version bigint NOT NULL CHECK (version >= 1),
        schema integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (kind, id)
    )""",
    """CREATE TABLE {schema}.seals (
        number bigint PRIMARY KEY CHECK (number >= 1),
        upto bigint NOT NULL,
        count bigint NOT NULL,
        streams bytea NOT NULL,
        previous_hash bytea NOT NULL,
        hash bytea NOT NULL,
        at timestamptz NOT NULL
    )""",
    _trigger_function(
        "seals_follow_last",
        """IF NEW.number IS DISTINCT FROM
                (SELECT coalesce(max(number), 0) + 1 FROM {schema}.seals) THEN
    """
        + _refuse("seals are append-only: a new seal must follow the last")
        + "\nEND IF;\nRETURN NEW;",
    ),
    _refusing("seals_append_only", "seals are append-only: they are never changed or deleted"),
    """CREATE TRIGGER seals_follow_last BEFORE INSERT ON {schema}.seals
        FOR EACH ROW EXECUTE FUNCTION {schema}.seals_follow_last()""",
    """CREATE TRIGGER seals_append_only BEFORE UPDATE OR DELETE ON {schema}.seals
        FOR EACH ROW EXECUTE FUNCTION {schema}.seals_append_only()""",
    """CREATE TRIGGER seals_no_truncate BEFORE TRUNCATE ON {schema}.seals
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.seals_append_only()""",
    """CREATE TABLE {schema}.outbox (
        position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text COLLATE "C" NOT NULL UNIQUE,
        notification jsonb NOT NULL,
        delivered_at timestamptz
    )""",
    "CREATE INDEX outbox_pending ON {schema}.outbox (position) WHERE delivered_at IS NULL",
    # The outbox is append-only too, except that an entry is marked delivered, once.
    _trigger_function(
        "outbox_only_delivery",
        """IF NEW.position IS DISTINCT FROM OLD.position OR NEW.id IS DISTINCT FROM OLD.id
            OR NEW.notification IS DISTINCT FROM OLD.notification
            OR OLD.delivered_at IS NOT NULL OR NEW.delivered_at IS NULL THEN
    """
        + _refuse("outbox entries are only ever marked delivered, once")
        + "\nEND IF;\nRETURN NEW;",
    ),
    _refusing("outbox_no_delete", "outbox entries are never deleted"),
    """CREATE TRIGGER outbox_only_delivery BEFORE UPDATE ON {schema}.outbox
        FOR EACH ROW EXECUTE FUNCTION {schema}.outbox_only_delivery()""",
    """CREATE TRIGGER outbox_no_delete BEFORE DELETE ON {schema}.outbox
        FOR EACH ROW EXECUTE FUNCTION {schema}.outbox_no_delete()""",
    """CREATE TABLE {schema}.idempotency (
        key text COLLATE "C" PRIMARY KEY,
        fingerprint text NOT NULL,
        aggregate_type text NOT NULL,
        aggregate_id text NOT NULL,
        version bigint NOT NULL,
        at timestamptz NOT NULL
    )""",
    # The directory (perfcore.adapters.postgres.PostgresDirectory): who each person is from a
    # day on, until their next placement; a placement with present = false is their leaving.
    """CREATE TABLE {schema}.directory_placements (
        person text COLLATE "C" NOT NULL,
        effective date NOT NULL,
        present boolean NOT NULL,
        manager text COLLATE "C",
        department text,
        roles text[] NOT NULL,
        PRIMARY KEY (person, effective)
    )""",
    """CREATE INDEX directory_by_manager ON {schema}.directory_placements (manager, person)
        WHERE manager IS NOT NULL""",
    # A writing transaction calls this once, before it takes its first position: it holds, until
    # it ends, a shared advisory lock (space, low 32 bits of the sequence's last value). Every
    # position it takes afterwards is above that value. Shared: no writer ever waits for it.
    """CREATE FUNCTION {schema}.claim_positions(space integer) RETURNS void
        LANGUAGE sql VOLATILE AS $body$
        SELECT pg_catalog.pg_advisory_xact_lock_shared(space, CASE
            WHEN low >= 2147483648 THEN low - 4294967296 ELSE low END::integer)
        FROM (SELECT mod(CASE WHEN is_called THEN last_value ELSE last_value - 1 END,
                         4294967296) AS low
              FROM {schema}.positions) AS handed
    $body$""",
    # The highest position at or below which no write can still commit: the last position
    # handed out, read first, or lower, below the lowest value a transaction still open held
    # when it claimed positions (rebuilt from its lock's 32 bits; it is at most `handed`, and
    # within 2^32 of it).
    """CREATE FUNCTION {schema}.stable_position(space integer) RETURNS bigint
        LANGUAGE plpgsql VOLATILE AS $body$
    DECLARE
        handed bigint;
        lowest bigint;
    BEGIN
        SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END
            INTO handed FROM {schema}.positions;
        SELECT min(handed - mod(handed - held.objid::bigint, 4294967296)) INTO lowest
            FROM pg_catalog.pg_locks AS held
            WHERE held.locktype = 'advisory' AND held.objsubid = 2
                AND held.database = (SELECT oid FROM pg_catalog.pg_database
                                     WHERE datname = pg_catalog.current_database())
                AND held.classid::bigint = mod(space::bigint + 4294967296, 4294967296);
        RETURN least(handed, lowest);
    END
    $body$""",
)


#: One append in one statement (one round trip): the head moved from the expected version (or
#: a new stream inserted, under its name's advisory lock), then, once per transaction, the
#: positions claimed, then the events inserted in version order. Returns NULL when it appended,
#: else the version the stream is at (0: absent), having written nothing.
def _column_parameters(columns: tuple[str, ...]) -> str:
    return ", ".join(
        f"p_{column} {'bigint' if column in NUMBER_COLUMNS else 'text'}" for column in columns
    )


def _append_function(columns: tuple[str, ...]) -> str:
    """The ``append`` function over the query columns ``columns``."""
    head_names = ("kind", "id", "version", "hash", "state", *columns)
    return f"""CREATE FUNCTION {{schema}}.append(
        p_space integer, p_claim boolean, p_lock bigint, p_kind text, p_id text,
        p_expected bigint, p_version bigint, p_hash bytea, p_state text,
        {_column_parameters(columns)},
        p_versions bigint[], p_schemas integer[], p_headers bytea[], p_bodies bytea[],
        p_hashes bytea[])
    RETURNS bigint LANGUAGE plpgsql VOLATILE AS $body$
    DECLARE
        moved bigint;
        stored bigint;
    BEGIN
        IF p_expected = 0 THEN
            PERFORM pg_catalog.pg_advisory_xact_lock(p_lock);
            INSERT INTO {{schema}}.streams ({", ".join(head_names)})
                VALUES ({", ".join(f"p_{column}" for column in head_names)})
                ON CONFLICT (kind, id) DO NOTHING RETURNING key INTO moved;
        ELSE
            UPDATE {{schema}}.streams SET version = p_version, hash = p_hash, state = p_state,
                {", ".join(f"{column} = p_{column}" for column in columns)}
                WHERE kind = p_kind AND id = p_id AND version = p_expected
                RETURNING key INTO moved;
        END IF;
        IF moved IS NULL THEN
            SELECT version INTO stored FROM {{schema}}.streams WHERE kind = p_kind AND id = p_id;
            RETURN coalesce(stored, 0);
        END IF;
        IF p_claim THEN
            PERFORM {{schema}}.claim_positions(p_space);
        END IF;
        INSERT INTO {{schema}}.events (stream, version, schema, header, body, hash)
            SELECT moved, e.version, e.schema, e.header, e.body, e.hash
            FROM unnest(p_versions, p_schemas, p_headers, p_bodies, p_hashes)
                WITH ORDINALITY AS e (version, schema, header, body, hash, n)
            ORDER BY e.n;
        RETURN NULL;
    END
    $body$"""


_APPEND: Final = _append_function(V1_COLUMNS)

#: Schema 2: the position each person holds (``Person.position``), and who holds one on a day.
_VERSION_2: Final = (
    'ALTER TABLE {schema}.directory_placements ADD COLUMN position text COLLATE "C"',
    """CREATE INDEX directory_by_position ON {schema}.directory_placements (position, person)
        WHERE position IS NOT NULL""",
)

#: Schema 3: the query columns worked out from the object (a goal's days and the day it is
#: behind from, a plan's next review), each with its partial index, and ``append`` writing them.
#: Heads written before have none of them (NULL), and the services answer for those by
#: decoding, as before.
_VERSION_3: Final = (
    *(
        f"ALTER TABLE {{schema}}.streams ADD COLUMN {column} {_column_type(column)}"
        for column in V3_COLUMNS
    ),
    *_stream_indexes(V3_COLUMNS, state=False),
    # The heads without the derived columns (written before them, or of kinds without them),
    # which the questions decode: found by "changed IS NULL" through an index of their own.
    "CREATE INDEX streams_without_changed ON {schema}.streams (kind, id) WHERE changed IS NULL",
    "DROP FUNCTION {schema}.append(integer, boolean, bigint, text, text, bigint, bigint, bytea,"
    + " text, "
    + ", ".join("bigint" if column in NUMBER_COLUMNS else "text" for column in V1_COLUMNS)
    + ", bigint[], integer[], bytea[], bytea[], bytea[])",
    _append_function(STREAM_COLUMNS),
)

#: ``MIGRATIONS[n - 1]`` takes a schema from version ``n - 1`` to ``n`` (0 is an empty schema).
MIGRATIONS: tuple[tuple[str, ...], ...] = ((*_VERSION_1, _APPEND), _VERSION_2, _VERSION_3)

#: The schema version this perfcore writes and reads.
SCHEMA_VERSION = len(MIGRATIONS)


def render(template: str, schema: str) -> bytes:
    """``template`` with ``{schema}`` replaced by the quoted schema name, as bytes for psycopg."""
    composed = sql.SQL(template).format(schema=sql.Identifier(schema))
    return composed.as_bytes(None)


def lock_key(*parts: object) -> int:
    """A signed 64-bit advisory lock key for ``parts`` (two different things colliding only
    makes one wait for the other, or conflict, for nothing)."""
    text = "\x00".join(str(part) for part in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


def migration_lock(schema: str) -> int:
    """The advisory lock a migration of ``schema`` holds, whoever runs it."""
    return lock_key("perfcore migration", schema)


# -- the statements the store runs ----------------------------------------------------------------

#: A head's columns, as every statement that reads one selects them (then ``erased``).
HEAD_COLUMNS: Final = ("kind", "id", "version", "hash", "state", *STREAM_COLUMNS)
_WRITTEN: Final = ", ".join(HEAD_COLUMNS)
_PLACES: Final = ", ".join("%s" for _ in HEAD_COLUMNS)
_HEAD: Final = f"{_WRITTEN}, erased"
_SEAL_COLUMNS: Final = "number, upto, count, streams, previous_hash, hash, at"
_IDEMPOTENCY_COLUMNS: Final = "key, fingerprint, aggregate_type, aggregate_id, version, at"

_TEMPLATES: Final[Mapping[str, str]] = {
    "has_schema": "SELECT oid::bigint FROM pg_catalog.pg_namespace WHERE nspname = %s",
    "create_schema": "CREATE SCHEMA {schema}",
    "has_meta": "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = 'meta'",
    "read_version": "SELECT value FROM {schema}.meta WHERE key = 'schema_version'",
    "write_version": (
        "INSERT INTO {schema}.meta (key, value) VALUES ('schema_version', %s)"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
    ),
    "lock": "SELECT pg_catalog.pg_advisory_xact_lock(%s)",
    "try_lock_shared": "SELECT pg_catalog.pg_try_advisory_xact_lock_shared(%s)",
    # Streams.
    "stream_key": "SELECT key, version FROM {schema}.streams WHERE kind = %s AND id = %s",
    # An expected stream, locked against appends until this transaction ends; a stream some
    # other transaction is writing is skipped (and the expectation fails) rather than waited for.
    "share_stream": (
        "SELECT version FROM {schema}.streams WHERE kind = %s AND id = %s FOR SHARE SKIP LOCKED"
    ),
    "lock_for_erasure": (
        "SELECT key, erased FROM {schema}.streams WHERE kind = %s AND id = %s FOR NO KEY UPDATE"
    ),
    "mark_erased": "UPDATE {schema}.streams SET erased = true WHERE key = %s AND NOT erased",
    "select_head": f"SELECT {_HEAD} FROM {{schema}}.streams WHERE kind = %s AND id = %s",
    "select_streams": f"SELECT {_HEAD} FROM {{schema}}.streams ORDER BY kind, id LIMIT %s",
    "select_streams_after": (
        f"SELECT {_HEAD} FROM {{schema}}.streams WHERE (kind, id) > (%s, %s)"
        " ORDER BY kind, id LIMIT %s"
    ),
    # Events. Optimistic concurrency: the append function moves the head only if the stream is
    # still at the version the caller loaded. Parameters: the space, whether to claim positions,
    # the stream's lock key, kind, id, the expected version, the new version, hash, state and
    # columns, then the events' versions, schemas, headers, bodies and hashes (arrays).
    "append": (
        "SELECT {schema}.append("
        + ", ".join("%s" for _ in range(9 + len(STREAM_COLUMNS) + 5))
        + ")"
    ),
    "stable_position": "SELECT {schema}.stable_position(%s)",
    "read_events": (
        "SELECT version, schema, header, body, hash, position FROM {schema}.events"
        " WHERE stream = %s AND version > %s ORDER BY version LIMIT %s"
    ),
    "scan_events": (
        "SELECT s.kind, s.id, e.version, e.schema, e.header, e.body, e.hash, e.position"
        " FROM {schema}.events AS e JOIN {schema}.streams AS s ON s.key = e.stream"
        " WHERE e.position > %s AND e.position <= %s ORDER BY e.position LIMIT %s"
    ),
    # The erased body is computed where the body is: no body travels for an erasure.
    "erase_bodies": (
        f"UPDATE {{schema}}.events SET body = {_ERASED_MARK} || sha256(body)"
        f" WHERE stream = %s AND substring(body FROM 1 FOR 1) IS DISTINCT FROM {_ERASED_MARK}"
    ),
    # Snapshots: keep the newer.
    "snapshot_get": (
        "SELECT version, schema, data FROM {schema}.snapshots WHERE kind = %s AND id = %s"
    ),
    "snapshot_put": (
        "INSERT INTO {schema}.snapshots (kind, id, version, schema, data)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (kind, id) DO UPDATE"
        " SET version = EXCLUDED.version, schema = EXCLUDED.schema, data = EXCLUDED.data"
        " WHERE snapshots.version <= EXCLUDED.version"
    ),
    "snapshot_delete": "DELETE FROM {schema}.snapshots WHERE kind = %s AND id = %s",
    # Seals.
    "seal_last": f"SELECT {_SEAL_COLUMNS} FROM {{schema}}.seals ORDER BY number DESC LIMIT 1",
    "seal_read": (
        f"SELECT {_SEAL_COLUMNS} FROM {{schema}}.seals WHERE number > %s ORDER BY number LIMIT %s"
    ),
    "seal_max": "SELECT coalesce(max(number), 0) FROM {schema}.seals",
    "seal_insert": (
        f"INSERT INTO {{schema}}.seals ({_SEAL_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
    ),
    # The outbox.
    "outbox_put": (
        "INSERT INTO {schema}.outbox (id, notification) VALUES (%s, %s::jsonb)"
        " ON CONFLICT (id) DO NOTHING"
    ),
    "outbox_pending": (
        "SELECT id, notification FROM {schema}.outbox WHERE delivered_at IS NULL"
        " ORDER BY position LIMIT %s"
    ),
    # Several consumers at once: each locks the rows it hands over, and skips the others'.
    "outbox_claim": (
        "SELECT id, notification FROM {schema}.outbox WHERE delivered_at IS NULL"
        " AND NOT (id = ANY(%s::text[])) ORDER BY position LIMIT %s FOR UPDATE SKIP LOCKED"
    ),
    "outbox_delivered": (
        "UPDATE {schema}.outbox SET delivered_at = %s WHERE id = %s AND delivered_at IS NULL"
    ),
    "outbox_has": "SELECT 1 FROM {schema}.outbox WHERE id = %s",
    # The directory.
    "directory_insert": (
        "INSERT INTO {schema}.directory_placements"
        " (person, effective, present, manager, department, roles, position)"
        " VALUES (%s, %s, %s, %s, %s, %s::text[], %s) ON CONFLICT (person, effective) DO NOTHING"
    ),
    "directory_at": (
        "SELECT present, manager, department, roles, position FROM {schema}.directory_placements"
        " WHERE person = %s AND effective <= %s ORDER BY effective DESC LIMIT 1"
    ),
    # Everyone ever placed under the manager, each as the placement in force on the day says.
    "directory_reports": (
        "SELECT ever.person FROM (SELECT DISTINCT person FROM {schema}.directory_placements"
        " WHERE manager = %s) AS ever CROSS JOIN LATERAL (SELECT present, manager"
        " FROM {schema}.directory_placements AS p WHERE p.person = ever.person"
        " AND p.effective <= %s ORDER BY p.effective DESC LIMIT 1) AS now"
        " WHERE now.present AND now.manager = %s ORDER BY ever.person"
    ),
    # Everyone ever placed in the position, each as the placement in force on the day says.
    "directory_holders": (
        "SELECT ever.person FROM (SELECT DISTINCT person FROM {schema}.directory_placements"
        " WHERE position = %s) AS ever CROSS JOIN LATERAL (SELECT present, position"
        " FROM {schema}.directory_placements AS p WHERE p.person = ever.person"
        " AND p.effective <= %s ORDER BY p.effective DESC LIMIT 1) AS now"
        " WHERE now.present AND now.position = %s ORDER BY ever.person"
    ),
    "directory_all": (
        "SELECT person, effective, present, manager, department, roles, position"
        " FROM {schema}.directory_placements ORDER BY person, effective"
    ),
    # Idempotency keys.
    "idempotency_get": f"SELECT {_IDEMPOTENCY_COLUMNS} FROM {{schema}}.idempotency WHERE key = %s",
    "idempotency_put": (
        f"INSERT INTO {{schema}}.idempotency ({_IDEMPOTENCY_COLUMNS})"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING"
    ),
}

#: One statement per query column (and ``state``), each served by its ``streams_by_`` index.
_HEADS_BY: Final[Mapping[str, str]] = {
    column: f"SELECT {_HEAD} FROM {{schema}}.streams WHERE kind = %s AND {column} = %s ORDER BY id"
    for column in ("state", *STREAM_COLUMNS)
}
#: A NULL column equals nothing in SQL; ``find(kind, column, None)`` asks for the heads without it.
_HEADS_WITHOUT: Final[Mapping[str, str]] = {
    column: f"SELECT {_HEAD} FROM {{schema}}.streams WHERE kind = %s AND {column} IS NULL"
    " ORDER BY id"
    for column in STREAM_COLUMNS
}

#: ``find_between``: the heads whose text column is in a range (either bound may be NULL),
#: served by the column's ``streams_by_`` index; the columns compare by code point
#: (``COLLATE "C"``), as Python compares ``str``.
_HEADS_BETWEEN: Final[Mapping[str, str]] = {
    column: f"SELECT {_HEAD} FROM {{schema}}.streams WHERE kind = %s AND {column} IS NOT NULL"
    f" AND {column} >= coalesce(%s::text, '') COLLATE \"C\""
    f' AND (%s::text IS NULL OR {column} <= %s::text COLLATE "C") ORDER BY id'
    for column in sorted(TEXT_COLUMNS)
}


class Statements:
    """Every statement the store runs, rendered once for its schema.

    Attributes:
        sql: each statement by name (the keys of the templates above).
        heads_by: ``find`` for each column, by value.
        heads_without: ``find`` for each query column, for ``None``.
        heads_between: ``find_between`` for each text query column.
        migrations: :data:`MIGRATIONS`, rendered.
    """

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.sql = {name: render(template, schema) for name, template in _TEMPLATES.items()}
        self.heads_by = {column: render(text, schema) for column, text in _HEADS_BY.items()}
        self.heads_without = {
            column: render(text, schema) for column, text in _HEADS_WITHOUT.items()
        }
        self.heads_between = {
            column: render(text, schema) for column, text in _HEADS_BETWEEN.items()
        }
        self.migrations = tuple(
            tuple(render(statement, schema) for statement in statements)
            for statements in MIGRATIONS
        )
        self._columns: dict[tuple[str, bool, tuple[str, ...]], bytes] = {}

    def __getitem__(self, name: str) -> bytes:
        return self.sql[name]

    def columns(self, column: str, without: bool, wanted: tuple[str, ...]) -> bytes:
        """``find_columns``: ``id``, ``state`` and the ``wanted`` columns of the heads ``find``
        gives, in its order. Every name must be checked against the schema's columns first."""
        key = (column, without, wanted)
        found = self._columns.get(key)
        if found is None:
            where = f"{column} IS NULL" if without else f"{column} = %s"
            chosen = "".join(f", {name}" for name in wanted)
            found = render(
                f"SELECT id, state{chosen} FROM {{schema}}.streams WHERE kind = %s AND {where}"
                " ORDER BY id",
                self.schema,
            )
            if len(self._columns) < 256:
                self._columns[key] = found
        return found
