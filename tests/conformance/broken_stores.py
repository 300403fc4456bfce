"""Stores with one deliberate bug each, built on the memory store: the suite must fail them.

Each breaks one promise of :mod:`perfcore.ports` the way a real adapter might (an ``UPDATE``
without ``AND version = ?``, a query table written only on ``INSERT``, a case-insensitive
collation, a driver error let through, a sequence given back on rollback, ...) and keeps every
other promise, so that a failing test points at that one bug.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator

import attrs

from perfcore.adapters import memory
from perfcore.adapters.memory import MemoryStore, MemoryUnitOfWork
from perfcore.errors import StorageError
from perfcore.ports import RecordedEvent, Snapshot, StreamHead

__all__ = [
    "BROKEN",
    "CaseInsensitiveStore",
    "ErasureRehashesStore",
    "HalfCommitStore",
    "IgnoresExpectStore",
    "IgnoresVersionStore",
    "OlderSnapshotStore",
    "RawErrorStore",
    "ReaderWaitsStore",
    "ReusedPositionStore",
    "StaleColumnsStore",
    "StaleFindStore",
    "TailOnlyStore",
]


class _Broken(MemoryStore):
    """A memory store whose units of work are of the class ``unit``."""

    unit: type[MemoryUnitOfWork] = MemoryUnitOfWork

    def unit_of_work(self) -> MemoryUnitOfWork:
        self._check_open()
        return self.unit(self)


# -- heads and find -------------------------------------------------------------------------------


class StaleColumnsStore(MemoryStore):
    """The query columns are written when a stream is created and never rewritten (an
    ``INSERT`` into the index table with no ``UPDATE``); the state is kept up to date."""

    def _reindex(self, data: memory._Data, old: StreamHead | None, new: StreamHead) -> None:
        if old is None:
            super()._reindex(data, old, new)
        elif old.state != new.state:
            values = data.index[(new.kind, "state")]
            values[old.state].discard(new.id)
            values.setdefault(new.state, set()).add(new.id)


class StaleFindStore(MemoryStore):
    """``find`` gives the right streams, but each as its head stood when it was first filed (a
    cache of heads that nothing invalidates)."""

    def __init__(self) -> None:
        super().__init__()
        self._cached: dict[tuple[str, str], StreamHead] = {}

    def _reindex(self, data: memory._Data, old: StreamHead | None, new: StreamHead) -> None:
        self._cached.setdefault((new.kind, new.id), new)
        super()._reindex(data, old, new)

    def _found_head(self, data: memory._Data, kind: str, id: str) -> StreamHead:
        return self._cached[(kind, id)]


class CaseInsensitiveStore(MemoryStore):
    """Ids are compared without case (a case-insensitive collation): ``Goal-A`` is ``goal-a``."""

    def _key(self, kind: str, id: str) -> tuple[str, str]:
        return (kind, id.casefold())


# -- events ---------------------------------------------------------------------------------------


class TailOnlyStore(MemoryStore):
    """A stream reads back only its last 500 events (a capped list, a ``LIMIT`` left in)."""

    def _events_after(
        self, data: memory._Data, key: tuple[str, str], after: int, upto: int | None
    ) -> list[RecordedEvent]:
        kept = data.events.get(key, [])[-500:]
        return [e for e in kept if e.version > after and (upto is None or e.version <= upto)]


class _LastWriterWins(MemoryUnitOfWork):
    """An append writes from whatever version it is given (``UPDATE ... WHERE id = ?``)."""

    @staticmethod
    def _check_version(kind: str, id: str, expected: int, actual: int) -> None:
        return


class IgnoresVersionStore(_Broken):
    """Appends ignore the expected version, now and at commit."""

    unit = _LastWriterWins


class _ExpectNotAtCommit(MemoryUnitOfWork):
    """``expect`` checks the version when it is called, and the commit forgets it."""

    def _check_expected(self, data: memory._Data) -> None:
        return


class IgnoresExpectStore(_Broken):
    """``expect()`` is not checked at commit."""

    unit = _ExpectNotAtCommit


class _HalfCommit(MemoryUnitOfWork):
    """The commit writes the first half of the appends (rounded down, but at least one) and of
    the notifications (rounded up), and drops the rest, as a commit interrupted half way would.

    (So a command that appends to two streams, or three, writes only its first: publishing
    number 2 of a job description's lineage publishes it, and leaves number 1 unsuperseded.)
    """

    def _apply(self, data: memory._Data) -> None:
        buffer = self._buffer
        batches = buffer.batches[: max(1, len(buffer.batches) // 2)]
        kept = {key for key, _ in batches}
        buffer.batches = [(key, count) for key, count in buffer.batches if key in kept]
        buffer.streams = {key: one for key, one in buffer.streams.items() if key in kept}
        outbox = list(buffer.outbox.items())
        buffer.outbox = dict(outbox[: (len(outbox) + 1) // 2])
        super()._apply(data)


class HalfCommitStore(_Broken):
    """Commits write half of a unit of work."""

    unit = _HalfCommit


# -- positions ------------------------------------------------------------------------------------


class _GivesPositionsBack(MemoryUnitOfWork):
    """A rollback gives the positions its appends would have taken back to the counter, as if
    they were drawn already (a sequence reset to where the transaction found it)."""

    def rollback(self) -> None:
        drawn = sum(count for _, count in self._buffer.batches)
        if drawn:
            with self._store._lock:
                self._store._data.next_position -= drawn
        super().rollback()


class ReusedPositionStore(_Broken):
    """Positions are reused after a rollback."""

    unit = _GivesPositionsBack


# -- erasure and snapshots ------------------------------------------------------------------------


class ErasureRehashesStore(MemoryStore):
    """Erasing an event also "fixes" its hash to the hash of its new body."""

    def _erase_event(self, event: RecordedEvent) -> RecordedEvent:
        erased = super()._erase_event(event)
        return attrs.evolve(erased, hash=hashlib.sha256(erased.body).digest())


class OlderSnapshotStore(MemoryStore):
    """A snapshot put replaces the kept one whatever their versions (an upsert)."""

    def _keeps(self, new: Snapshot, kept: Snapshot) -> bool:
        return True


# -- errors and locks -----------------------------------------------------------------------------


class RawErrorStore(MemoryStore):
    """The driver's errors escape as they are, not as StorageError."""

    @contextlib.contextmanager
    def _using(self) -> Iterator[memory._Data]:
        with self._lock:
            if self._failure is not None:
                raise self._failure()
            yield self._data


class _ReaderWaits(MemoryUnitOfWork):
    """A unit of work takes the store's write lock at its first write and keeps it to its end,
    and every read of another unit of work waits for that lock (a database whose readers wait
    for writers), up to a busy timeout."""

    busy_timeout = 1.0

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self._holding = False

    def _write_lock(self) -> threading.Lock:
        assert isinstance(self._store, ReaderWaitsStore)
        return self._store.write_lock

    def _take(self) -> None:
        if not self._write_lock().acquire(timeout=self.busy_timeout):
            raise StorageError("the memory store is locked (busy timeout)")

    def _will_write(self) -> None:
        if not self._holding:
            self._take()
            self._holding = True

    def _reading(self) -> contextlib.AbstractContextManager[memory._Data]:
        if self._holding:
            return super()._reading()
        self._take()
        self._write_lock().release()
        return super()._reading()

    def _end(self) -> None:
        if self._holding:
            self._holding = False
            self._write_lock().release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._end()

    def rollback(self) -> None:
        super().rollback()
        self._end()


class ReaderWaitsStore(_Broken):
    """A unit of work that only reads waits for one that has written and not committed."""

    unit = _ReaderWaits

    def __init__(self) -> None:
        super().__init__()
        self.write_lock = threading.Lock()


#: Every broken store, by the bug it has.
BROKEN = {
    "query columns not rewritten": StaleColumnsStore,
    "find gives stale heads": StaleFindStore,
    "case-insensitive ids": CaseInsensitiveStore,
    "only the last 500 events": TailOnlyStore,
    "expected version ignored": IgnoresVersionStore,
    "expect not checked at commit": IgnoresExpectStore,
    "half a commit": HalfCommitStore,
    "positions reused after rollback": ReusedPositionStore,
    "erase changes the hash": ErasureRehashesStore,
    "older snapshot replaces newer": OlderSnapshotStore,
    "raw driver errors": RawErrorStore,
    "readers wait for writers": ReaderWaitsStore,
}
