"""Schema 1 to schema 2: a database of the first release, its objects turned into streams.

The first release (store schema 1) kept one JSON envelope per object in ``aggregates``
(``{"type", "schema", "data"}``, ``data["history"]`` holding every event of the object) and every
event once more in one global, hash-chained ``audit_log``. Schema 2 keeps the events only, in
streams. The migration (:func:`migrate_v1`, the
:data:`~perfcore.adapters._sqlite_schema.LEGACY_V1` step of the schema-2 migration, run in its one
``BEGIN IMMEDIATE`` transaction):

1. verifies the old audit log first, as the first release did: the chain (sequence, scheme,
   link, hash of each entry), each object's events in version order, and the log against the
   stored objects (every event of every object logged, as the object holds it), so that an edit,
   a removal, a reordering or a cut-off tail shows. The checks are the first release's
   (``perfcore.audit.verify_audit_log`` with ``AuditAnchor.of(objects)``), copied here and
   working on the stored JSON itself, so that they do not change when the event and aggregate
   classes do;
2. refuses a log that does not verify with :class:`LegacyLogTampered` (nothing is changed),
   unless the caller asked to migrate anyway;
3. turns each object's history into a stream: each event rebuilt from its JSON
   (:func:`perfcore.serialization.event_from_json_data`) and recorded with
   :func:`perfcore.recording.record` under the new chain's audit key; the events take positions
   in the old log's order, which was the order they were committed in;
4. anchors the old chain in the new one: a last stream, ``LegacyAuditLog`` ``"v1"``, whose one
   event records the old log's head hash, its number of entries and its hash scheme (and what
   was wrong with it, when it was migrated anyway).

The store's tables change around it (see :mod:`perfcore.adapters._sqlite_schema`): ``audit_log``
is kept, read-only, as ``legacy_audit_log``, so that the anchored head can be checked against it
at any time; ``aggregates`` is dropped. Snapshots are not written: a schema-1 envelope holds the
object in the first release's shape, and snapshots are a cache the services rebuild.

An event's schema number is the one :func:`perfcore.recording.schema_of` gives its type and
trigger now, which is 1 for every event the first release wrote; a later perfcore that raises one
must upcast the old JSON before recording it here.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import json
import math
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

import attrs

from perfcore._codec import canonical_json
from perfcore.adapters import _sqlite_schema as schema
from perfcore.errors import StorageError, ValidationError
from perfcore.events import Event
from perfcore.ports import RecordedEvent
from perfcore.recording import record
from perfcore.serialization import event_from_json_data

__all__ = [
    "LEGACY_KIND",
    "LEGACY_STREAM",
    "LegacyLogTampered",
    "LegacyReport",
    "LegacyUnreadable",
    "entry_hash",
    "migrate_v1",
    "verify_legacy_log",
]

#: The stream that anchors schema 1's audit log in the new chain.
LEGACY_KIND: Final = "LegacyAuditLog"
LEGACY_STREAM: Final = "v1"

#: Scheme 1: SHA-256 over the canonical JSON of the entry (anyone can recompute it).
SCHEME_SHA256: Final = 1
#: Scheme 2: HMAC-SHA256 with a secret key (only a key holder can recompute it).
SCHEME_HMAC_SHA256: Final = 2

#: For each type, schema 1's query column that names the person its data is about (the new
#: ``person`` column, by which a person's streams are found to erase them).
_PERSON_COLUMN: Final[Mapping[str, str]] = {
    "Goal": "owner",
    "Plan": "subject",
    "Evaluation": "subject",
    "JobDescription": "employee",
}
#: Schema 1's query columns, in its statements' order (``schema.V1_AGGREGATES``).
_V1_COLUMNS: Final = ("owner", "manager", "subject", "lineage", "number", "employee", "cycle")


# -- errors ---------------------------------------------------------------------------------------


class LegacyLogTampered(StorageError):
    """A schema-1 database's audit log does not verify, so it was not migrated; nothing was
    changed.

    Attributes:
        detail: what the first release's verification found, in words.
        problem: ``"edited"``, ``"deleted"``, ``"reordered"``, ``"truncated"`` or
            ``"unverifiable"`` (a keyed log, and no ``legacy_audit_key``).
        sequence: the entry where it went wrong (``None`` when not known).
        path: the database file.
    """

    _init_attrs: ClassVar[tuple[str, ...]] = ("detail", "problem", "sequence", "path")

    def __init__(
        self, detail: str, problem: str = "", sequence: int | None = None, path: str = ""
    ) -> None:
        self.detail = detail
        self.problem = problem
        self.sequence = sequence
        self.path = path
        where = f"{path}: " if path else ""
        at = f" at entry {sequence}" if sequence is not None else ""
        super().__init__(
            f"{where}the audit log of this schema-1 database does not verify ({problem}{at}:"
            f" {detail}), so it was not migrated; nothing was changed. If the log was written"
            " with an audit key, open it with legacy_audit_key; to migrate it anyway, keeping"
            " what was found in the LegacyAuditLog stream, open it with migrate_tampered=True"
        )


class LegacyUnreadable(Exception):
    """A schema-1 row cannot be turned into events (the store says so as ``UnreadableRecord``).

    Attributes:
        record: what the row holds, such as ``"Goal 'g-1'"``.
        why: what is wrong with it.
    """

    def __init__(self, record: str, why: str) -> None:
        self.record = record
        self.why = why
        super().__init__(f"{record}: {why}")


# -- the first release's verification, on the stored JSON -----------------------------------------


class _Problem(enum.StrEnum):
    EDITED = "edited"
    DELETED = "deleted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    UNVERIFIABLE = "unverifiable"


@attrs.frozen
class _Entry:
    """One row of schema 1's ``audit_log``, its event as the JSON it was hashed as."""

    sequence: int
    event: Mapping[str, Any]
    previous_hash: str
    hash: str
    scheme: int

    @property
    def key(self) -> tuple[str, str]:
        return (str(self.event["aggregate_type"]), str(self.event["aggregate_id"]))

    @property
    def version(self) -> int:
        return int(self.event["version"])


@attrs.frozen(kw_only=True)
class _Anchor:
    """What the log must hold, from the stored objects (the first release's
    ``AuditAnchor.of(objects)``): each one's versions, and the digest of each of its events."""

    count: int = 0
    versions: Mapping[tuple[str, str], int] = attrs.field(factory=dict)
    digests: Mapping[tuple[str, str, int], str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class LegacyReport:
    """What the first release's verification found in a schema-1 audit log.

    Attributes:
        intact: every entry checked out and the log holds every stored object's events.
        checked: how many entries were read.
        head: the hash of the last entry read ("" for an empty log).
        problem, sequence, detail: at the first bad entry (``None``, ``None`` and a sentence
            when intact).
    """

    intact: bool
    checked: int
    head: str
    problem: str | None = None
    sequence: int | None = None
    detail: str = "the audit log is intact"


@attrs.frozen
class _Finding:
    index: int
    problem: _Problem
    detail: str


def entry_hash(
    *,
    scheme: int,
    sequence: int,
    event: Mapping[str, Any],
    previous_hash: str,
    key: bytes | None = None,
) -> str:
    """The hash a schema-1 audit entry with these contents must carry, as lowercase hex (the
    first release's ``perfcore.audit.entry_hash``, over the event's stored JSON).

    Raises:
        ValidationError: the scheme is unknown, or scheme 2 is asked for without a key.
    """
    body = {"scheme": scheme, "sequence": sequence, "event": event, "previous_hash": previous_hash}
    data = canonical_json(body).encode("utf-8")
    if scheme == SCHEME_SHA256:
        return hashlib.sha256(data).hexdigest()
    if scheme == SCHEME_HMAC_SHA256:
        if not key:
            raise ValidationError("key", "scheme 2 (HMAC-SHA256) needs the audit key")
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    raise ValidationError("scheme", f"unknown audit hash scheme {scheme!r}; known: 1, 2")


def _event_digest(event: Mapping[str, Any]) -> str:
    """The SHA-256 of one event's canonical JSON (the first release's ``event_digest``)."""
    return hashlib.sha256(canonical_json(event).encode("utf-8")).hexdigest()


def verify_legacy_log(
    rows: Sequence[Sequence[Any]],
    key: bytes | None,
    histories: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]],
) -> LegacyReport:
    """Check schema 1's audit log as the first release did, against the stored objects.

    Args:
        rows: ``audit_log``'s rows in sequence order: ``(sequence, event JSON text,
            previous_hash, hash, scheme)``.
        key: the HMAC key the log was written with; ``None`` for an unkeyed log.
        histories: each stored object's history (its events' JSON), by ``(type, id)``.
    """
    versions: dict[tuple[str, str], int] = {}
    digests: dict[tuple[str, str, int], str] = {}
    for (kind, id), history in histories.items():
        for event in history:
            version = int(event["version"])
            versions[(kind, id)] = max(versions.get((kind, id), 0), version)
            digests[(kind, id, version)] = _event_digest(event)
    anchor = _Anchor(count=sum(versions.values()), versions=versions, digests=digests)
    entries, unreadable = _read_entries(rows)
    walk = _Walk(entries, key, anchor)
    finding = walk.run()
    if finding is None and unreadable is not None:
        why = f"the entry cannot be read: {unreadable}"
        finding = _Finding(len(entries), _Problem.EDITED, why)
    if finding is None:
        finding = _missing_tail(walk, anchor)
    head = entries[-1].hash if entries else ""
    if finding is None:
        return LegacyReport(intact=True, checked=len(entries), head=head)
    return LegacyReport(
        intact=False,
        checked=len(entries),
        head=head,
        problem=str(finding.problem),
        sequence=1 + finding.index,
        detail=finding.detail,
    )


def _read_entries(rows: Sequence[Sequence[Any]]) -> tuple[list[_Entry], str | None]:
    """The entries up to the first row that cannot be read, and why it could not."""
    entries: list[_Entry] = []
    for sequence, text, previous_hash, hash_, scheme in rows:
        try:
            event = json.loads(text)
            if not isinstance(event, dict):
                raise ValueError("the event is not a JSON object")
            if not all(isinstance(v, str) for v in (previous_hash, hash_)):
                raise ValueError("its hashes are not text")
            if not all(isinstance(v, int) for v in (sequence, scheme)):
                raise ValueError("its sequence or scheme is not a number")
            entry = _Entry(sequence, event, previous_hash, hash_, scheme)
            _ = (entry.key, entry.version)
        except (ValueError, TypeError, KeyError) as error:
            return entries, f"entry {sequence!r}: {error}"
        entries.append(entry)
    return entries, None


class _Walk:
    """One pass over the entries (the first release's ``perfcore.audit._Walk``, from the
    first entry)."""

    def __init__(self, rows: Sequence[_Entry], key: bytes | None, anchor: _Anchor) -> None:
        self.rows = rows
        self.key = key
        self.anchor = anchor
        # Where each stored hash and sequence sits, to tell a moved entry from a lost one.
        self.position_of_hash = {row.hash: index for index, row in enumerate(rows)}
        self.positions_of_sequence: dict[int, list[int]] = {}
        for index, row in enumerate(rows):
            self.positions_of_sequence.setdefault(row.sequence, []).append(index)
        self.seen: dict[tuple[str, str], int] = {}

    def run(self) -> _Finding | None:
        for index, row in enumerate(self.rows):
            finding = self._check(index, row)
            if finding is not None:
                return finding
            self.seen[row.key] = row.version
        return None

    def _check(self, index: int, row: _Entry) -> _Finding | None:
        checks = (
            self._sequence,
            self._scheme,
            self._link,
            self._own_hash,
            self._history_order,
            self._anchored,
        )
        for check in checks:
            finding = check(index, row)
            if finding is not None:
                return finding
        return None

    def _previous_hash(self, index: int) -> str:
        return self.rows[index - 1].hash if index else ""

    def _sequence(self, index: int, row: _Entry) -> _Finding | None:
        expected = 1 + index
        if row.sequence == expected:
            return None
        if row.sequence < expected:
            why = f"holds sequence {row.sequence} after {expected - 1}: out of order"
            return _Finding(index, _Problem.REORDERED, f"entry {expected} {why}")
        later = any(p > index for p in self.positions_of_sequence.get(expected, ()))
        if later:
            why = f"entry {expected} comes after entry {row.sequence}: out of order"
            return _Finding(index, _Problem.REORDERED, why)
        missing = (
            f"{expected}" if row.sequence == expected + 1 else f"{expected}-{row.sequence - 1}"
        )
        return _Finding(index, _Problem.DELETED, f"entries {missing} are missing")

    def _scheme(self, index: int, row: _Entry) -> _Finding | None:
        expected = 1 + index
        if row.scheme not in (SCHEME_SHA256, SCHEME_HMAC_SHA256):
            why = f"entry {expected} has unknown hash scheme {row.scheme!r}"
            return _Finding(index, _Problem.UNVERIFIABLE, why)
        if self.key is None and row.scheme == SCHEME_HMAC_SHA256:
            why = f"entry {expected} is keyed (HMAC): verify with the audit key"
            return _Finding(index, _Problem.UNVERIFIABLE, why)
        if self.key is not None and row.scheme == SCHEME_SHA256:
            why = f"entry {expected} is not keyed in a keyed log: it was rewritten without the key"
            return _Finding(index, _Problem.EDITED, why)
        return None

    def _link(self, index: int, row: _Entry) -> _Finding | None:
        expected = 1 + index
        if row.previous_hash == self._previous_hash(index):
            return None
        elsewhere = self.position_of_hash.get(row.previous_hash)
        if elsewhere is not None:
            why = f"entry {expected} follows entry {1 + elsewhere}, not {expected - 1}"
            return _Finding(index, _Problem.REORDERED, why)
        if index and self._hash_holds(row):
            # This entry is whole, so the one before it was rewritten with a fresh hash.
            why = f"entry {expected - 1} was rewritten: entry {expected} recorded another hash"
            return _Finding(index - 1, _Problem.EDITED, why)
        why = f"the entry before entry {expected} is missing: its link leads nowhere"
        return _Finding(index, _Problem.DELETED, why)

    def _hash_holds(self, row: _Entry) -> bool:
        digest = entry_hash(
            scheme=row.scheme,
            sequence=row.sequence,
            event=row.event,
            previous_hash=row.previous_hash,
            key=self.key,
        )
        return hmac.compare_digest(digest.encode(), row.hash.encode())

    def _own_hash(self, index: int, row: _Entry) -> _Finding | None:
        if self._hash_holds(row):
            return None
        why = f"entry {1 + index} does not match its hash: its contents were changed"
        return _Finding(index, _Problem.EDITED, why)

    def _history_order(self, index: int, row: _Entry) -> _Finding | None:
        kind, id = row.key
        name = f"{kind} {id!r}"
        wanted = self.seen.get(row.key, 0) + 1
        if row.version == wanted:
            return None
        at = f"entry {1 + index}"
        if row.version < wanted:
            why = f"{at} logs {name} version {row.version} again, after version {wanted - 1}"
            return _Finding(index, _Problem.REORDERED, why)
        why = f"{at} logs {name} version {row.version}; version {wanted} is missing before it"
        return _Finding(index, _Problem.DELETED, why)

    def _anchored(self, index: int, row: _Entry) -> _Finding | None:
        kind, id = row.key
        digest = self.anchor.digests.get((kind, id, row.version))
        if digest is not None and digest != _event_digest(row.event):
            why = (
                f"entry {1 + index} logs {kind} {id!r} version {row.version} other than the"
                " stored object's history holds it"
            )
            return _Finding(index, _Problem.EDITED, why)
        return None


def _missing_tail(walk: _Walk, anchor: _Anchor) -> _Finding | None:
    """Whether the log stops short of the stored objects: a cut-off tail."""
    end = len(walk.rows)
    for (kind, id), version in sorted(anchor.versions.items()):
        logged = walk.seen.get((kind, id), 0)
        if logged < version:
            why = (
                f"the log ends at entry {end} without {kind} {id!r} version {logged + 1}"
                f" (the stored object is at version {version})"
            )
            return _Finding(end, _Problem.TRUNCATED, why)
    if end < anchor.count:
        why = f"the log ends at entry {end}, but at least {anchor.count} entries were written"
        return _Finding(end, _Problem.TRUNCATED, why)
    return None


# -- the migration --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Object:
    """One row of schema 1's ``aggregates``: its head and its history's JSON."""

    kind: str
    id: str
    state: str
    columns: Mapping[str, Any]
    history: Sequence[Mapping[str, Any]]


def _read_object(row: Sequence[Any]) -> _Object:
    kind, id, version, state, *values, text = row
    record_name = f"{kind} {id!r}"
    try:
        envelope = json.loads(text)
        data = envelope["data"]
        history = data["history"]
        if envelope["type"] != kind or data["id"] != id:
            found = f"{envelope['type']} {data['id']!r}"
            raise ValueError(f"its envelope holds {found}")
        if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
            raise ValueError("its history is not a list of events")
        versions = [event["version"] for event in history]
        if versions != list(range(1, len(history) + 1)) or len(history) != version:
            raise ValueError(f"its history holds versions {versions}, not 1 to {version}")
    except (ValueError, TypeError, KeyError) as error:
        why = f"{type(error).__name__}: {error}" if isinstance(error, KeyError) else str(error)
        raise LegacyUnreadable(record_name, why) from error
    columns = dict(zip(_V1_COLUMNS, values, strict=True))
    person = _PERSON_COLUMN.get(kind)
    columns["person"] = columns[person] if person is not None else None
    return _Object(kind=kind, id=id, state=str(state), columns=columns, history=history)


def _recorded(obj: _Object, key: bytes | None) -> list[RecordedEvent]:
    try:
        events = [event_from_json_data(event) for event in obj.history]
    except StorageError as error:
        raise LegacyUnreadable(f"{obj.kind} {obj.id!r}", str(error)) from error
    for event in events:
        if (event.aggregate_type, event.aggregate_id) != (obj.kind, obj.id):
            why = f"its history holds an event of {event.aggregate_type} {event.aggregate_id!r}"
            raise LegacyUnreadable(f"{obj.kind} {obj.id!r}", why)
    return record(events, previous_hash=b"", key=key)


def migrate_v1(
    conn: sqlite3.Connection,
    *,
    path: str,
    audit_key: bytes | None,
    legacy_audit_key: bytes | None,
    migrate_tampered: bool,
    now: dt.datetime,
) -> None:
    """Move schema 1's objects into streams, and anchor its audit log's head in a
    ``LegacyAuditLog`` stream (inside the migration's transaction; nothing for a new database).

    Args:
        conn: the connection, in the migration's ``BEGIN IMMEDIATE`` transaction, with schema
            2's tables created and schema 1's not yet dropped.
        path: the database file, for messages.
        audit_key: the key of the new chain (the one given to ``Perfcore``); ``None`` for
            SHA-256.
        legacy_audit_key: the key the old log was written with; ``None`` for an unkeyed log.
        migrate_tampered: migrate a log that does not verify, recording what was found.
        now: when the migration happens (the ``LegacyAuditLog`` event's time).

    Raises:
        LegacyLogTampered: the old log does not verify, and ``migrate_tampered`` is false.
        LegacyUnreadable: an object's row cannot be turned into events.
    """
    objects = [_read_object(row) for row in conn.execute(schema.V1_AGGREGATES).fetchall()]
    rows = conn.execute(schema.V1_AUDIT_LOG).fetchall()
    if not objects and not rows:
        return
    histories = {(obj.kind, obj.id): obj.history for obj in objects}
    report = verify_legacy_log(rows, legacy_audit_key, histories)
    if not report.intact and not migrate_tampered:
        raise LegacyLogTampered(report.detail, report.problem or "", report.sequence, path)

    # Each event's place in the old log, which was the commit order.
    logged: dict[tuple[str, str, int], int] = {}
    for entry in _read_entries(rows)[0]:
        logged.setdefault((*entry.key, entry.version), entry.sequence)

    ordered: list[tuple[float, str, str, int, int, RecordedEvent]] = []
    for obj in objects:
        recorded = _recorded(obj, audit_key)
        last = recorded[-1]
        stream = _insert_stream(conn, obj.kind, obj.id, last, obj.state, obj.columns)
        # A stream's events keep their version order even where a damaged log reordered them.
        place = -math.inf
        for one in recorded:
            place = max(place, logged.get((obj.kind, obj.id, one.version), math.inf))
            ordered.append((place, obj.kind, obj.id, one.version, stream, one))
    ordered.sort(key=lambda item: item[:4])
    _insert_events(conn, [(stream, one) for *_, stream, one in ordered])

    last_row = rows[-1] if rows else None
    anchor: dict[str, Any] = {
        "head": str(last_row[3]) if last_row is not None else "",
        "entries": len(rows),
        "scheme": _scheme(last_row, legacy_audit_key),
    }
    if not report.intact:
        anchor["tampered"] = report.detail
    event = Event(
        aggregate_type=LEGACY_KIND,
        aggregate_id=LEGACY_STREAM,
        version=1,
        trigger="migrate",
        from_state=None,
        to_state="migrated",
        actor_id="perfcore",
        at=now,
        payload={"set": anchor},
    )
    [one] = record([event], previous_hash=b"", key=audit_key)
    stream = _insert_stream(conn, LEGACY_KIND, LEGACY_STREAM, one, "migrated", {})
    _insert_events(conn, [(stream, one)])


def _scheme(row: Sequence[Any] | None, key: bytes | None) -> int:
    if row is not None and isinstance(row[4], int):
        return row[4]
    return SCHEME_SHA256 if key is None else SCHEME_HMAC_SHA256


def _insert_stream(
    conn: sqlite3.Connection,
    kind: str,
    id: str,
    last: RecordedEvent,
    state: str,
    columns: Mapping[str, Any],
) -> int:
    # Schema 2's columns: later migrations add theirs after this step.
    values = tuple(columns.get(column) for column in schema.V2_COLUMNS)
    cursor = conn.execute(
        schema.INSERT_STREAM_V2, (kind, id, last.version, last.hash, state, *values)
    )
    key = cursor.lastrowid
    assert key is not None  # an INSERT into a rowid table always sets it
    return key


def _insert_events(conn: sqlite3.Connection, events: Sequence[tuple[int, RecordedEvent]]) -> None:
    conn.executemany(
        schema.INSERT_EVENT,
        [(stream, e.version, e.schema, e.header, e.body, e.hash) for stream, e in events],
    )
