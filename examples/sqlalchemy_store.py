"""A storage adapter as an integrator writes one: perfcore's ports on SQLAlchemy Core.

It uses only perfcore's public ports (:mod:`perfcore.ports`) and errors, and SQLAlchemy Core's
tables and statements; ``tests/examples`` certifies it with perfcore's conformance suite against a
SQLite file. What is particular to SQLite is in :class:`SQLAlchemyStore`'s connection setup and
:meth:`_UnitOfWork.begin_write`: the rest would run on another database SQLAlchemy speaks to, with
that database's way of taking the write lock.

The rules it keeps (docs/storage.md, "Writing an adapter"):

- bytes in, the same bytes out: events, heads, snapshots and seals are stored as given;
- a unit of work that only reads takes no lock: its reads run outside any transaction, each
  seeing what is committed; the first write opens a ``BEGIN IMMEDIATE`` transaction, which holds
  SQLite's one write lock until commit or rollback;
- an append checks the stream's version in the statement that moves its head, before any event
  is written; ``expect``-ed versions are checked again at commit, under the write lock;
- an event's position is its row id, given in commit order (one writer at a time) and never
  reused (``AUTOINCREMENT``);
- every driver error comes out as a :class:`~perfcore.errors.StorageError`.

Query columns are kept as JSON text, so that ``"5"`` and ``5`` stay apart and every comparison
is exact, case and all.

>>> import tempfile
>>> from perfcore import Actor, Perfcore
>>> store = SQLAlchemyStore(f"sqlite:///{tempfile.mkdtemp()}/hr.sqlite3")
>>> pc = Perfcore(store)
>>> pc.job_descriptions.create(by=Actor(id="mia", roles={"manager"}), id="jd-1",
...     title="Support engineer", department="Support").version
1
>>> pc.verify_audit_log().intact
True
>>> store.close()
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from perfcore.errors import ConcurrencyError, NotFound, StorageError, ValidationError
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
    StreamHead,
    erased_body,
)

__all__ = ["SQLAlchemyStore"]

#: Rows read per statement by the readers that yield, so that no statement stays open.
PAGE = 500

metadata = sa.MetaData()

stream_table = sa.Table(
    "perfcore_streams",
    metadata,
    sa.Column("key", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("id", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    *(sa.Column(name, sa.Text, nullable=True) for name in INDEX_COLUMNS),
    sa.Column("erased", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("kind", "id"),
    sqlite_autoincrement=True,
)
for _name in INDEX_COLUMNS:
    sa.Index(
        f"perfcore_streams_by_{_name}",
        stream_table.c.kind,
        stream_table.c[_name],
        stream_table.c.id,
    )
sa.Index("perfcore_streams_by_state", stream_table.c.kind, stream_table.c.state, stream_table.c.id)

event_table = sa.Table(
    "perfcore_events",
    metadata,
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("stream", sa.Integer, sa.ForeignKey("perfcore_streams.key"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("schema", sa.Integer, nullable=False),
    sa.Column("header", sa.LargeBinary, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("stream", "version"),
    sqlite_autoincrement=True,
)

snapshot_table = sa.Table(
    "perfcore_snapshots",
    metadata,
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("schema", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

seal_table = sa.Table(
    "perfcore_seals",
    metadata,
    sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("upto", sa.Integer, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("streams", sa.LargeBinary, nullable=False),
    sa.Column("previous_hash", sa.LargeBinary, nullable=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
)

outbox_table = sa.Table(
    "perfcore_outbox",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.Text, nullable=False, unique=True),
    sa.Column("notification", sa.Text, nullable=False),
    sa.Column("delivered_at", sa.Text, nullable=True),
    sqlite_autoincrement=True,
)

key_table = sa.Table(
    "perfcore_idempotency",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("aggregate_type", sa.Text, nullable=False),
    sa.Column("aggregate_id", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
)


# -- checking what comes in -----------------------------------------------------------------------


def _whole(name: str, value: object, least: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValidationError(name, f"must be a whole number from {least}, not {value!r}")
    return value


def _limit(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError("limit", f"must be a whole number, not {value!r}")
    return min(max(value, 0), 2**62)


def _after(name: str, value: object) -> int:
    return min(_whole(name, value), 2**62)


def _encoded(name: str, value: object) -> str | None:
    """A query column's value as stored: JSON text, so that a string and a number differ."""
    if value is None:
        return None
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return json.dumps(value)
    raise ValidationError(name, f"must be a string, a whole number or None, not {value!r}")


def _blob(name: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ValidationError(name, f"must be bytes, not {type(value).__name__}")
    return bytes(value)


def _head_row(head: StreamHead) -> dict[str, Any]:
    if not isinstance(head, StreamHead):
        raise ValidationError("head", f"must be a StreamHead, not {type(head).__name__}")
    unknown = sorted(set(head.columns) - set(INDEX_COLUMNS))
    if unknown:
        raise ValidationError(
            "head.columns", f"has {unknown}; the query columns are {INDEX_COLUMNS}"
        )
    if not isinstance(head.state, str):
        raise ValidationError("head.state", f"must be text, not {head.state!r}")
    row: dict[str, Any] = {
        "version": _whole("head.version", head.version, 1),
        "hash": _blob("head.hash", head.hash),
        "state": head.state,
    }
    for name in INDEX_COLUMNS:
        row[name] = _encoded(f"head.columns[{name!r}]", head.columns.get(name))
    return row


def _check_append(head: StreamHead, batch: Sequence[RecordedEvent], expected: int) -> None:
    for name in ("kind", "id"):
        if not isinstance(getattr(head, name, None), str) or not getattr(head, name):
            raise ValidationError(f"head.{name}", "must be a non-empty string")
    _whole("expected_version", expected)
    if not batch:
        raise ValidationError("events", "an append needs at least one event")
    for version, one in enumerate(batch, start=expected + 1):
        if not isinstance(one, RecordedEvent):
            raise ValidationError("events", f"holds a {type(one).__name__}, not RecordedEvent")
        if (one.kind, one.id) != (head.kind, head.id):
            raise ValidationError("events", f"holds an event of {one.kind} {one.id!r}")
        if one.version != version:
            raise ValidationError("events", f"version {one.version} where {version} comes next")
        for part in ("header", "body", "hash"):
            _blob(f"events[{version}].{part}", getattr(one, part))
        _whole(f"events[{version}].schema", one.schema, 1)
    if head.version != batch[-1].version or head.hash != batch[-1].hash:
        raise ValidationError("head", "must be the last event's version and hash")


# -- reading what comes out -----------------------------------------------------------------------


def _head(row: Any) -> StreamHead:
    columns = {
        name: json.loads(row._mapping[name])
        for name in INDEX_COLUMNS
        if row._mapping[name] is not None
    }
    return StreamHead(
        kind=row.kind,
        id=row.id,
        version=row.version,
        hash=bytes(row.hash),
        state=row.state,
        columns=columns,
        erased=bool(row.erased),
    )


def _event(kind: str, id: str, row: Any) -> RecordedEvent:
    return RecordedEvent(
        kind=kind,
        id=id,
        version=row.version,
        schema=row.schema,
        header=bytes(row.header),
        body=bytes(row.body),
        hash=bytes(row.hash),
        position=row.position,
    )


def _seal(row: Any) -> Seal:
    return Seal(
        number=row.number,
        upto=row.upto,
        count=row.count,
        streams=bytes(row.streams),
        previous_hash=bytes(row.previous_hash),
        hash=bytes(row.hash),
        at=dt.datetime.fromisoformat(row.at),
    )


def _notification_text(notification: Notification) -> str:
    return json.dumps(
        {
            "id": notification.id,
            "kind": notification.kind,
            "recipients": list(notification.recipients),
            "aggregate_type": notification.aggregate_type,
            "aggregate_id": notification.aggregate_id,
            "version": notification.version,
            "at": notification.at.isoformat(),
            "data": notification.data,
        },
        sort_keys=True,
    )


def _notification(text: str) -> Notification:
    data = json.loads(text)
    return Notification(
        id=data["id"],
        kind=data["kind"],
        recipients=tuple(data["recipients"]),
        aggregate_type=data["aggregate_type"],
        aggregate_id=data["aggregate_id"],
        version=data["version"],
        at=dt.datetime.fromisoformat(data["at"]),
        data=data["data"],
    )


# -- the ports ------------------------------------------------------------------------------------


class _Events:
    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def head(self, kind: str, id: str) -> StreamHead | None:
        rows = self._uow.rows(
            sa.select(stream_table).where(stream_table.c.kind == kind, stream_table.c.id == id)
        )
        return _head(rows[0]) if rows else None

    def _stored(self, kind: str, id: str) -> tuple[int, int] | None:
        """The stream's key and version, or ``None``."""
        query = sa.select(stream_table.c.key, stream_table.c.version).where(
            stream_table.c.kind == kind, stream_table.c.id == id
        )
        rows = self._uow.rows(query)
        return (rows[0].key, rows[0].version) if rows else None

    def append(
        self, head: StreamHead, events: Sequence[RecordedEvent], *, expected_version: int
    ) -> None:
        batch = tuple(events)
        _check_append(head, batch, expected_version)
        row = _head_row(head)
        uow = self._uow
        uow.begin_write()
        promised = uow.expected.get((head.kind, head.id))
        if promised is not None and promised != expected_version:
            raise ConcurrencyError(head.kind, head.id, promised, expected_version)
        if expected_version == 0:
            existing = self._stored(head.kind, head.id)
            if existing is not None:
                raise ConcurrencyError(head.kind, head.id, 0, existing[1])
            added = uow.write(sa.insert(stream_table).values(kind=head.kind, id=head.id, **row))
            key = added.inserted_primary_key[0]
        else:
            moved = uow.write(
                sa.update(stream_table)
                .where(
                    stream_table.c.kind == head.kind,
                    stream_table.c.id == head.id,
                    stream_table.c.version == expected_version,
                )
                .values(**row)
            )
            stored = self._stored(head.kind, head.id)
            if moved.rowcount != 1 or stored is None:
                version = stored[1] if stored else None
                raise ConcurrencyError(head.kind, head.id, expected_version, version)
            key = stored[0]
        uow.write(
            sa.insert(event_table),
            [
                {
                    "stream": key,
                    "version": one.version,
                    "schema": one.schema,
                    "header": bytes(one.header),
                    "body": bytes(one.body),
                    "hash": bytes(one.hash),
                }
                for one in batch
            ],
        )
        uow.expected.pop((head.kind, head.id), None)
        uow.appended += len(batch)

    def expect(self, kind: str, id: str, version: int) -> None:
        _whole("version", version)
        stored = self._stored(kind, id)
        if (stored[1] if stored else 0) != version:
            raise ConcurrencyError(kind, id, version, stored[1] if stored else None)
        self._uow.expected[(kind, id)] = version

    def read(self, kind: str, id: str, *, after: int = 0) -> Iterator[RecordedEvent]:
        return self._read(kind, id, _after("after", after))

    def _read(self, kind: str, id: str, after: int) -> Iterator[RecordedEvent]:
        stored = self._stored(kind, id)
        if stored is None:
            return
        while True:
            page = self._uow.rows(
                sa.select(event_table)
                .where(event_table.c.stream == stored[0], event_table.c.version > after)
                .order_by(event_table.c.version)
                .limit(PAGE)
            )
            for row in page:
                yield _event(kind, id, row)
            if len(page) < PAGE:
                return
            after = page[-1].version

    def find(self, kind: str, column: str, value: IndexValue) -> Sequence[StreamHead]:
        if column != "state" and column not in INDEX_COLUMNS:
            raise ValidationError("column", f"must be state or one of {INDEX_COLUMNS}")
        query = (
            sa.select(stream_table).where(stream_table.c.kind == kind).order_by(stream_table.c.id)
        )
        if column == "state":
            if value is None:
                _encoded("value", value)
                return []
            if not isinstance(value, str):
                _encoded("value", value)
                return []
            query = query.where(stream_table.c.state == value)
        else:
            encoded = _encoded("value", value)
            cell = stream_table.c[column]
            query = query.where(cell.is_(None) if encoded is None else cell == encoded)
        return [_head(row) for row in self._uow.rows(query)]

    def streams(
        self, *, after: tuple[str, str] | None = None, limit: int = 1000
    ) -> Sequence[StreamHead]:
        query = (
            sa.select(stream_table)
            .order_by(stream_table.c.kind, stream_table.c.id)
            .limit(_limit(limit))
        )
        if after is not None:
            kind, id = after
            query = query.where(
                sa.tuple_(stream_table.c.kind, stream_table.c.id) > sa.tuple_(kind, id)
            )
        return [_head(row) for row in self._uow.rows(query)]

    def scan(self, *, after: int = 0, limit: int = 1000) -> Sequence[RecordedEvent]:
        query = (
            sa.select(event_table, stream_table.c.kind, stream_table.c.id)
            .join(stream_table, event_table.c.stream == stream_table.c.key)
            .where(
                event_table.c.position > _after("after", after),
                event_table.c.position <= self._uow.committed_limit(),
            )
            .order_by(event_table.c.position)
            .limit(_limit(limit))
        )
        return [_event(row.kind, row.id, row) for row in self._uow.rows(query)]

    def stable_position(self) -> int:
        return self._uow.committed_position()

    def erase(self, kind: str, id: str) -> int:
        uow = self._uow
        uow.begin_write()
        stored = self._stored(kind, id)
        if stored is None:
            return 0
        rows = uow.rows(
            sa.select(event_table.c.position, event_table.c.body).where(
                event_table.c.stream == stored[0]
            )
        )
        changed = 0
        for row in rows:
            erased = erased_body(bytes(row.body))
            if erased != bytes(row.body):
                uow.write(
                    sa.update(event_table)
                    .where(event_table.c.position == row.position)
                    .values(body=erased)
                )
                changed += 1
        uow.write(
            sa.update(stream_table).where(stream_table.c.key == stored[0]).values(erased=True)
        )
        return changed


class _Snapshots:
    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def get(self, kind: str, id: str) -> Snapshot | None:
        rows = self._uow.rows(
            sa.select(snapshot_table).where(
                snapshot_table.c.kind == kind, snapshot_table.c.id == id
            )
        )
        if not rows:
            return None
        row = rows[0]
        return Snapshot(
            kind=kind, id=id, version=row.version, schema=row.schema, data=bytes(row.data)
        )

    def put(self, snapshot: Snapshot) -> None:
        if not isinstance(snapshot, Snapshot):
            raise ValidationError("snapshot", f"must be a Snapshot, not {type(snapshot).__name__}")
        values = {
            "version": _whole("snapshot.version", snapshot.version, 1),
            "schema": _whole("snapshot.schema", snapshot.schema, 1),
            "data": _blob("snapshot.data", snapshot.data),
        }
        keys = (snapshot_table.c.kind == snapshot.kind, snapshot_table.c.id == snapshot.id)
        replaced = self._uow.write(
            sa.update(snapshot_table)
            .where(*keys, snapshot_table.c.version < values["version"])
            .values(values)
        )
        if replaced.rowcount == 0 and not self._uow.rows(
            sa.select(snapshot_table.c.version).where(*keys)
        ):
            self._uow.write(
                sa.insert(snapshot_table).values(kind=snapshot.kind, id=snapshot.id, **values)
            )

    def delete(self, kind: str, id: str) -> None:
        self._uow.write(
            sa.delete(snapshot_table).where(
                snapshot_table.c.kind == kind, snapshot_table.c.id == id
            )
        )


class _Seals:
    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def last(self) -> Seal | None:
        rows = self._uow.rows(sa.select(seal_table).order_by(seal_table.c.number.desc()).limit(1))
        return _seal(rows[0]) if rows else None

    def add(self, seal: Seal) -> None:
        if not isinstance(seal, Seal):
            raise ValidationError("seal", f"must be a Seal, not {type(seal).__name__}")
        if seal.at.tzinfo is None or seal.at.utcoffset() is None:
            raise ValidationError("seal.at", "must be timezone-aware")
        row = {
            "number": _whole("seal.number", seal.number),
            "upto": _whole("seal.upto", seal.upto),
            "count": _whole("seal.count", seal.count),
            "streams": _blob("seal.streams", seal.streams),
            "previous_hash": _blob("seal.previous_hash", seal.previous_hash),
            "hash": _blob("seal.hash", seal.hash),
            "at": seal.at.isoformat(),
        }
        self._uow.begin_write()
        last = self._uow.rows(sa.select(sa.func.coalesce(sa.func.max(seal_table.c.number), 0)))[0][
            0
        ]
        if seal.number != last + 1:
            raise ConcurrencyError(SEALS, "seals", seal.number - 1, last or None)
        self._uow.write(sa.insert(seal_table).values(row))

    def read(self, *, after: int = 0) -> Iterator[Seal]:
        return self._read(_after("after", after))

    def _read(self, after: int) -> Iterator[Seal]:
        while True:
            page = self._uow.rows(
                sa.select(seal_table)
                .where(seal_table.c.number > after)
                .order_by(seal_table.c.number)
                .limit(PAGE)
            )
            for row in page:
                yield _seal(row)
            if len(page) < PAGE:
                return
            after = page[-1].number


class _Outbox:
    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def put(self, notification: Notification) -> None:
        if not isinstance(notification, Notification):
            raise ValidationError("notification", "must be a Notification")
        statement = sa.insert(outbox_table).values(
            id=notification.id, notification=_notification_text(notification)
        )
        if not self._uow.write(statement, unique=True):
            raise ConcurrencyError("Notification", notification.id, 0, 1)

    def pending(self, limit: int = 100) -> Sequence[Notification]:
        rows = self._uow.rows(
            sa.select(outbox_table.c.notification)
            .where(outbox_table.c.delivered_at.is_(None))
            .order_by(outbox_table.c.seq)
            .limit(_limit(limit))
        )
        return [_notification(row.notification) for row in rows]

    def mark_delivered(self, notification_id: str, at: dt.datetime) -> None:
        if not isinstance(at, dt.datetime) or at.utcoffset() is None:
            raise ValidationError("at", "must be a timezone-aware datetime")
        marked = self._uow.write(
            sa.update(outbox_table)
            .where(outbox_table.c.id == notification_id, outbox_table.c.delivered_at.is_(None))
            .values(delivered_at=at.isoformat())
        )
        if marked.rowcount == 0 and not self._uow.rows(
            sa.select(outbox_table.c.id).where(outbox_table.c.id == notification_id)
        ):
            raise NotFound("Notification", notification_id)


class _Idempotency:
    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str) -> IdempotencyRecord | None:
        rows = self._uow.rows(sa.select(key_table).where(key_table.c.key == key))
        if not rows:
            return None
        row = rows[0]
        return IdempotencyRecord(
            key=row.key,
            fingerprint=row.fingerprint,
            aggregate_type=row.aggregate_type,
            aggregate_id=row.aggregate_id,
            version=row.version,
            at=dt.datetime.fromisoformat(row.at),
        )

    def put(self, record: IdempotencyRecord) -> None:
        statement = sa.insert(key_table).values(
            key=record.key,
            fingerprint=record.fingerprint,
            aggregate_type=record.aggregate_type,
            aggregate_id=record.aggregate_id,
            version=record.version,
            at=record.at.isoformat(),
        )
        if not self._uow.write(statement, unique=True):
            raise ConcurrencyError(IDEMPOTENCY_KEY, record.key, 0, 1)


# -- units of work and the store ------------------------------------------------------------------


class _UnitOfWork:
    """One connection; reads outside any transaction until the first write opens one."""

    def __init__(self, store: SQLAlchemyStore) -> None:
        self._store = store
        self._conn: Connection | None = None
        self._writing = False
        #: ``{(kind, id): version}`` from ``expect``, checked again at commit.
        self.expected: dict[tuple[str, str], int] = {}
        #: How many events this transaction appended (they hold the highest positions).
        self.appended = 0
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
        try:
            self.rollback()
        except StorageError:
            if error is None:
                raise

    # -- what the ports use ----------------------------------------------------------------------

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._store.connect()
        return self._conn

    def rows(self, statement: sa.Executable) -> list[Any]:
        """Every row of one query, read at once (no statement stays open)."""
        try:
            return list(self._connection().execute(statement).fetchall())
        except SQLAlchemyError as error:
            raise self._store.failed(error) from error

    def write(
        self, statement: sa.Executable, parameters: Any = None, *, unique: bool = False
    ) -> Any:
        """Run one write in the write transaction. With ``unique``: ``False`` when it broke a
        unique constraint (the caller says what that means), else its result."""
        self.begin_write()
        conn = self._connection()
        try:
            if unique:
                savepoint = conn.begin_nested()
                try:
                    result = conn.execute(statement, parameters)
                except IntegrityError:
                    savepoint.rollback()
                    return False
                savepoint.commit()
                return result
            return conn.execute(statement, parameters)
        except SQLAlchemyError as error:
            raise self._store.failed(error) from error

    def begin_write(self) -> None:
        """Take the database's write lock (SQLite: ``BEGIN IMMEDIATE``) at the first write."""
        if self._writing:
            return
        try:
            self._connection().exec_driver_sql("BEGIN IMMEDIATE")
        except SQLAlchemyError as error:
            raise self._store.failed(error) from error
        self._writing = True

    def committed_position(self) -> int:
        query = sa.select(sa.func.coalesce(sa.func.max(event_table.c.position), 0))
        return int(self.rows(query)[0][0]) - self.appended

    def committed_limit(self) -> int:
        return self.committed_position() if self.appended else 2**62

    # -- ending ----------------------------------------------------------------------------------

    def commit(self) -> None:
        try:
            for (kind, id), version in self.expected.items():
                stored = self.events.head(kind, id)
                if (stored.version if stored else 0) != version:
                    raise ConcurrencyError(kind, id, version, stored.version if stored else None)
            if self._writing:
                self._end("COMMIT")
        except BaseException:
            self.rollback()
            raise
        self._release()

    def rollback(self) -> None:
        try:
            if self._writing:
                self._end("ROLLBACK")
        finally:
            self._release()

    def _end(self, statement: str) -> None:
        self._writing = False
        try:
            self._connection().exec_driver_sql(statement)
        except SQLAlchemyError as error:
            raise self._store.failed(error) from error

    def _release(self) -> None:
        self.expected.clear()
        self.appended = 0
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class SQLAlchemyStore:
    """perfcore's :class:`~perfcore.ports.Store` over a SQLAlchemy engine on SQLite.

    Args:
        url: a SQLAlchemy URL of a SQLite file (``"sqlite:///hr.sqlite3"``). The tables are
            created if missing.
        busy_timeout_ms: how long a writer waits for another one's write lock.

    Raises:
        ValidationError: the URL names no file (SQLite in memory gives each connection a
            database of its own, where units of work could not see each other's commits).
    """

    def __init__(self, url: str, *, busy_timeout_ms: int = 5000) -> None:
        self.url = url
        if sa.engine.make_url(url).database in (None, "", ":memory:"):
            raise ValidationError("url", f"must name a SQLite file, not {url!r}")
        self.engine: Engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        self.closed = False

        @sa_event.listens_for(self.engine, "connect")
        def _set_up(dbapi_connection: Any, _record: Any) -> None:
            # The adapter opens and ends transactions itself: the driver must not.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode = WAL")  # readers never wait for the writer
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.close()

        try:
            metadata.create_all(self.engine)
        except SQLAlchemyError as error:
            raise self.failed(error) from error

    def __getstate__(self) -> dict[str, Any]:  # pragma: no cover - stores are not pickled
        raise TypeError("open the store again from its url in the other process")

    def connect(self) -> Connection:
        """A connection from the engine's pool, for one unit of work."""
        if self.closed:
            raise StorageError(f"the store on {self.url} is closed; open a new one")
        try:
            return self.engine.connect()
        except SQLAlchemyError as error:
            raise self.failed(error) from error

    def failed(self, error: SQLAlchemyError) -> StorageError:
        """The perfcore error for a SQLAlchemy error."""
        text = str(getattr(error, "orig", None) or error)
        failure = StorageError(f"the database at {self.url} failed: {text}")
        failure.retryable = "locked" in text or "busy" in text
        return failure

    def unit_of_work(self) -> _UnitOfWork:
        """A new unit of work: use it in a ``with`` block, and ``commit()`` to keep it."""
        if self.closed:
            raise StorageError(f"the store on {self.url} is closed; open a new one")
        return _UnitOfWork(self)

    def close(self) -> None:
        """Close the pool's connections; the store refuses work from now on."""
        self.closed = True
        self.engine.dispose()
