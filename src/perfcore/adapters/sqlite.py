"""The SQLite store: a file database (or ``:memory:``) through the stdlib :mod:`sqlite3` alone.

>>> from perfcore.testing.drivers import driver_for
>>> goal = driver_for("Goal").reach("active", id="g-1")
>>> with SQLiteStore() as store:
...     with store.unit_of_work() as uow:
...         uow.goals.add(goal)
...         uow.commit()
...     with store.unit_of_work() as uow:
...         [found.id for found in uow.goals.by_owner("ana")]
['g-1']

How it keeps the contract of :mod:`perfcore.ports`:

- **Concurrency.** Every unit of work takes a connection from a small pool (one connection is
  never used by two units of work at once), so any number of threads, and of processes on one
  file, may work together. The database is in WAL mode: readers never wait for the writer.
- **Transactions.** Reads run as they come, each seeing the latest committed data. The first
  write of a unit of work (or :meth:`AuditLog.last`, which a writer reads before it appends) opens
  a ``BEGIN IMMEDIATE`` transaction, which holds the file's one write lock until ``commit`` or
  ``rollback``; a second writer waits for it up to ``busy_timeout_ms``. A write never relies on
  what was read earlier: ``save`` updates only ``WHERE version = expected_version`` and the audit
  log only takes the next sequence number, so a lost race raises
  :class:`~perfcore.errors.ConcurrencyError` rather than overwriting anything.
- **Durability.** ``synchronous=FULL`` by default: a committed unit of work survives a power cut.
- **Errors.** Every :mod:`sqlite3` error becomes a :class:`SQLiteStoreError` subclass whose
  message says what to do; a row that cannot be read back raises :class:`UnreadableRecord`, or
  :class:`~perfcore.serialization.UnsupportedSchema` when a newer perfcore wrote it.

``":memory:"`` gives a private database that lives as long as the store. SQLite's own in-memory
databases cannot let one unit of work read while another holds an open write transaction (the
shared-cache and ``memdb`` modes lock readers out), which the contract needs, so the store keeps
such a database in a temporary file in WAL mode with ``synchronous=OFF``, removed on
:meth:`SQLiteStore.close` (or when the store is garbage collected).
"""

from __future__ import annotations

import datetime as dt
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
from typing import TYPE_CHECKING, Any, Final, Generic, Self, TypeVar, cast

from perfcore._aggregate import Aggregate
from perfcore._codec import canonical_json, from_json_data, to_json_data
from perfcore._validate import check_aware
from perfcore.adapters import _sqlite_schema as schema
from perfcore.errors import (
    ConcurrencyError,
    LineageConflict,
    NotFound,
    StorageError,
    ValidationError,
)
from perfcore.ports import (
    AUDIT_LOG,
    IDEMPOTENCY_KEY,
    AuditEntry,
    AuditLog,
    EvaluationRepository,
    GoalRepository,
    IdempotencyRecord,
    IdempotencyStore,
    JobDescriptionRepository,
    Notification,
    Outbox,
    PlanRepository,
    ReviewCycleRepository,
    Store,
    UnitOfWork,
)
from perfcore.serialization import (
    UnsupportedSchema,
    dumps,
    event_from_json_data,
    event_to_json_data,
    loads,
)

if TYPE_CHECKING:
    from perfcore.evaluation import Evaluation
    from perfcore.goal import Goal
    from perfcore.job_description import JobDescription
    from perfcore.plan import Plan

__all__ = [
    "DatabaseBusy",
    "DatabaseCorrupt",
    "DatabaseFull",
    "DatabaseReadOnly",
    "DatabaseUnavailable",
    "SQLiteStore",
    "SQLiteStoreError",
    "UnreadableRecord",
]

A = TypeVar("A", bound=Aggregate)

_MEMORY: Final = ":memory:"
#: ``ConcurrencyError.aggregate_type`` and ``NotFound.aggregate_type`` for outbox entries.
NOTIFICATION: Final = "Notification"
_SYNCHRONOUS: Final = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
#: Idle connections kept for reuse (each keeps its prepared statements).
_POOL_SIZE: Final = 8
#: Audit entries read per query by AuditLog.read, so no statement stays open between reads.
_AUDIT_PAGE: Final = 500


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
    """A stored row cannot be turned back into an object; nothing was changed.

    Attributes:
        record: what the row holds, such as ``"Goal 'g-1'"`` or ``"audit entry 7"``.
        why: what is wrong with it.
    """

    def __init__(self, record: str, why: str) -> None:
        self.record = record
        self.why = why
        super().__init__(
            f"the stored {record} cannot be read: {why}. Nothing was changed; restore the row"
            " from a backup (every change is also in the audit log)"
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
        "the disk holding the database (or its -wal file) is full; free some space and retry:"
        " nothing of the unfinished transaction was written",
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


# -- rows -----------------------------------------------------------------------------------------

#: For each type, the attribute each of its query columns is read from.
_QUERY_ATTRIBUTES: Final[Mapping[str, Mapping[str, str]]] = {
    "JobDescription": {"lineage": "lineage_id", "number": "number", "employee": "employee_id"},
    "Goal": {"owner": "owner_id", "manager": "manager_id"},
    "Plan": {"subject": "subject_id", "cycle": "cycle_id"},
    "Evaluation": {"subject": "subject_id", "cycle": "cycle_id"},
    "ReviewCycle": {},
}


def _type_name(obj: object) -> str:
    return type(obj).__name__


def _row(obj: Aggregate) -> tuple[Any, ...]:
    """``obj``'s version, state, query columns and envelope, in schema.UPDATE_AGGREGATE's order."""
    attributes = _QUERY_ATTRIBUTES[_type_name(obj)]
    columns = tuple(
        getattr(obj, attributes[column]) if column in attributes else None
        for column in schema.NULLABLE_COLUMNS
    )
    return (obj.version, str(obj.state), *columns, dumps(obj))


def _decode(type_name: str, id: str, version: int, text: str) -> Aggregate:
    """The object a row of ``aggregates`` holds, checked against the row's key and version."""
    record = f"{type_name} {id!r}"
    try:
        obj = loads(text)
    except UnsupportedSchema as error:
        raise UnsupportedSchema(f"the stored {record} cannot be read: {error}") from error
    except Exception as error:
        # Whatever a damaged row makes the decoder raise, the caller learns which row it is.
        raise UnreadableRecord(record, str(error)) from error
    found = (_type_name(obj), obj.id, obj.version)
    if found != (type_name, id, version):
        why = f"its JSON holds {found[0]} {found[1]!r} version {found[2]}, not version {version}"
        raise UnreadableRecord(record, why)
    return obj


# -- repositories ---------------------------------------------------------------------------------


class _Repository(Generic[A]):
    """One aggregate type's rows in ``aggregates``."""

    def __init__(self, uow: _UnitOfWork, type_name: str) -> None:
        self._uow = uow
        self._type = type_name

    def get(self, id: str) -> A:
        """The stored object. Raises NotFound if there is none."""
        found = self.find(id)
        if found is None:
            raise NotFound(self._type, id)
        return found

    def find(self, id: str) -> A | None:
        """The stored object, or ``None``."""
        rows = self._uow.read(schema.SELECT_AGGREGATE, (self._type, id))
        return self._decode_all(rows)[0] if rows else None

    def add(self, obj: A) -> None:
        """Store a new object. Raises ConcurrencyError if the id is stored already."""
        self._check_type(obj)
        row = _row(obj)
        try:
            self._uow.write(schema.INSERT_AGGREGATE, (self._type, obj.id, *row))
        except _Constraint:
            stored = self._stored_version(obj.id)
            if stored is None and self._type == "JobDescription":
                taken = cast("JobDescription", obj)
                raise LineageConflict(taken.id, taken.lineage_id, taken.number) from None
            raise ConcurrencyError(self._type, obj.id, 0, stored) from None

    def save(self, obj: A, *, expected_version: int) -> None:
        """Replace the stored object with ``obj`` if the stored version is ``expected_version``.

        Raises:
            ConcurrencyError: another version is stored, or ``obj`` is not later than it.
            NotFound: nothing with ``obj.id`` is stored.
        """
        self._check_type(obj)
        if obj.version > expected_version:
            params = (*_row(obj), self._type, obj.id, expected_version)
            if self._uow.write(schema.UPDATE_AGGREGATE, params) == 1:
                return
        stored = self._stored_version(obj.id)
        if stored is None:
            raise NotFound(self._type, obj.id)
        raise ConcurrencyError(self._type, obj.id, expected_version, stored)

    def by_state(self, state: str) -> Sequence[A]:
        """Every stored object in ``state``, ordered by id."""
        return self._by("state", str(state))

    def _by(self, column: str, value: object) -> list[A]:
        return self._decode_all(
            self._uow.read(schema.SELECT_AGGREGATES_BY[column], (self._type, value))
        )

    def _decode_all(self, rows: Sequence[tuple[Any, ...]]) -> list[A]:
        return [cast(A, _decode(self._type, id, version, text)) for id, version, text in rows]

    def _stored_version(self, id: str) -> int | None:
        rows = self._uow.read(schema.SELECT_VERSION, (self._type, id))
        return int(rows[0][0]) if rows else None

    def _check_type(self, obj: object) -> None:
        if _type_name(obj) != self._type:
            raise ValidationError(
                "obj", f"this repository stores {self._type} objects, not {_type_name(obj)}"
            )


class _JobDescriptions(_Repository["JobDescription"]):
    def by_lineage(self, lineage_id: str) -> Sequence[JobDescription]:
        """Every version in a lineage, ordered by number."""
        return self._by("lineage", lineage_id)

    def by_employee(self, employee_id: str) -> Sequence[JobDescription]:
        """Every job description written for one employee, ordered by lineage, then number."""
        return self._by("employee", employee_id)


class _Goals(_Repository["Goal"]):
    def by_owner(self, owner_id: str) -> Sequence[Goal]:
        """Every goal of one person, ordered by id."""
        return self._by("owner", owner_id)

    def by_manager(self, manager_id: str) -> Sequence[Goal]:
        """Every goal one manager oversees, ordered by id."""
        return self._by("manager", manager_id)


class _Plans(_Repository["Plan"]):
    def by_subject(self, subject_id: str) -> Sequence[Plan]:
        """Every plan for one employee or team, ordered by id."""
        return self._by("subject", subject_id)

    def by_cycle(self, cycle_id: str) -> Sequence[Plan]:
        """Every plan of one review cycle, ordered by id."""
        return self._by("cycle", cycle_id)


class _Evaluations(_Repository["Evaluation"]):
    def by_subject(self, subject_id: str) -> Sequence[Evaluation]:
        """Every evaluation of one person, ordered by id."""
        return self._by("subject", subject_id)

    def by_cycle(self, cycle_id: str) -> Sequence[Evaluation]:
        """Every evaluation of one review cycle, ordered by id."""
        return self._by("cycle", cycle_id)


# -- the audit log, the outbox, idempotency keys --------------------------------------------------


def _audit_entry(row: tuple[Any, ...]) -> AuditEntry:
    sequence, event, previous_hash, hash_, scheme = row
    try:
        decoded = event_from_json_data(json.loads(event))
    except Exception as error:
        raise UnreadableRecord(f"audit entry {sequence}", str(error)) from error
    return AuditEntry(
        sequence=sequence, event=decoded, previous_hash=previous_hash, hash=hash_, scheme=scheme
    )


class _AuditLog:
    """The ``audit_log`` table, stored exactly as given (perfcore.audit computes the chain)."""

    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def last(self) -> AuditEntry | None:
        """The entry with the highest sequence, or ``None``.

        In a writable store this opens the write transaction first: the caller is about to
        chain new entries to this one, and no other writer may append in between.
        """
        self._uow.begin_write(if_writable=True)
        rows = self._uow.read(schema.AUDIT_LAST)
        return _audit_entry(rows[0]) if rows else None

    def append(self, entries: Sequence[AuditEntry]) -> None:
        """Add entries whose sequences follow the last one's, in this unit of work.

        Raises:
            ConcurrencyError: the sequences do not follow the last stored one (another unit of
                work appended since the caller read :meth:`last`).
        """
        if not entries:
            return
        self._uow.begin_write()
        last = int(self._uow.read(schema.AUDIT_MAX)[0][0])
        expected = range(last + 1, last + 1 + len(entries))
        if [entry.sequence for entry in entries] != list(expected):
            raise ConcurrencyError(AUDIT_LOG, "audit", entries[0].sequence - 1, last)
        self._uow.write_many(schema.AUDIT_INSERT, [_audit_row(entry) for entry in entries])

    def read(self, after: int = 0) -> Iterator[AuditEntry]:
        """The entries with sequence greater than ``after``, in sequence order, page by page."""
        while True:
            rows = self._uow.read(schema.AUDIT_READ, (after, _AUDIT_PAGE))
            for row in rows:
                yield _audit_entry(row)
            if len(rows) < _AUDIT_PAGE:
                return
            after = int(rows[-1][0])


def _audit_row(entry: AuditEntry) -> tuple[Any, ...]:
    event = canonical_json(event_to_json_data(entry.event))
    return (entry.sequence, event, entry.previous_hash, entry.hash, entry.scheme)


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
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise ValidationError("limit", f"must be a whole number, not {limit!r}")
        # max: SQLite reads a negative LIMIT as no limit at all.
        rows = self._uow.read(schema.OUTBOX_PENDING, (max(limit, 0),))
        return [_notification(id, text) for id, text in rows]

    def mark_delivered(self, notification_id: str, at: dt.datetime) -> None:
        """Record that a notification was handed over; again for a delivered one does nothing.

        Raises:
            NotFound: no notification with this id is in the outbox.
        """
        moment = check_aware("at", at).isoformat()
        changed = self._uow.write(schema.OUTBOX_DELIVERED, (moment, notification_id))
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
        # Typed as the ports' protocols: a protocol's attributes must match exactly.
        self.job_descriptions: JobDescriptionRepository = _JobDescriptions(self, "JobDescription")
        self.goals: GoalRepository = _Goals(self, "Goal")
        self.plans: PlanRepository = _Plans(self, "Plan")
        self.evaluations: EvaluationRepository = _Evaluations(self, "Evaluation")
        self.cycles: ReviewCycleRepository = _Repository(self, "ReviewCycle")
        self.audit: AuditLog = _AuditLog(self)
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
        """Make everything written in this unit of work visible, at once.

        Raises:
            StorageError: SQLite had rolled the transaction back after an earlier error, so
                that nothing of it is kept; roll back and start again.
        """
        self._check_not_lost()
        try:
            if self._writing:
                self._end("COMMIT")
        finally:
            self._release()

    def rollback(self) -> None:
        """Discard everything written in this unit of work (since the last commit)."""
        self._lost = None
        try:
            if self._writing:
                self._end("ROLLBACK")
        finally:
            self._release()

    # -- what the repositories use ---------------------------------------------------------------

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query (inside the write transaction once one is open)."""
        conn = self._connection()
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise self._failed(error) from error

    def begin_write(self, *, if_writable: bool = False) -> None:
        """Open the write transaction unless it is open (``if_writable``: only if one can)."""
        if self._writing:
            return
        self._check_not_lost()
        if self._store.read_only:
            if if_writable:
                return
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

    def write(self, sql: str, params: Sequence[Any]) -> int:
        """Run one write in the write transaction; the number of rows it changed.

        Raises:
            _Constraint: a UNIQUE or PRIMARY KEY constraint refused it.
        """
        self.begin_write()
        try:
            return self._connection().execute(sql, params).rowcount
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
        read_only: open the file for reading only; every write raises
            :class:`DatabaseReadOnly`.

    Raises:
        UnsupportedSchema: the database was written by a newer perfcore (nothing is changed).
        DatabaseReadOnly: a read-only database needs migrating to this perfcore's schema.
        SQLiteStoreError: the file cannot be opened (see the subclasses).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = _MEMORY,
        *,
        synchronous: str = "FULL",
        busy_timeout_ms: int = 5000,
        read_only: bool = False,
    ) -> None:
        self._synchronous = _check_synchronous(synchronous)
        self._timeout = _check_timeout(busy_timeout_ms) / 1000
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
            schema.run_migrations(conn, version)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

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


if TYPE_CHECKING:

    def _conforms(store: SQLiteStore) -> Store:
        """Never called: ``mypy --strict src`` checks here that SQLiteStore is a Store."""
        return store
