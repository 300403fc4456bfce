"""Stores with one deliberate bug each, built on the memory store: the suite must fail them.

Each breaks one promise of :mod:`perfcore.ports` the way a real adapter might (a SQL ``UPDATE``
without ``AND version = ?``, a commit that stops half way, an audit table that allows an
``UPDATE``, a query with an off-by-one), and keeps every other promise, so that a failing test
points at that one bug.
"""

from __future__ import annotations

from collections.abc import Sequence

from perfcore._aggregate import Aggregate
from perfcore.adapters import memory
from perfcore.adapters.memory import MemoryStore, MemoryUnitOfWork
from perfcore.errors import NotFound
from perfcore.goal import Goal
from perfcore.ports import AuditEntry

__all__ = [
    "BROKEN",
    "DropsARowStore",
    "HalfCommitStore",
    "IgnoresVersionStore",
    "UpdatableAuditStore",
]


class _Broken(MemoryStore):
    """A memory store whose units of work are of the class ``unit``."""

    unit: type[MemoryUnitOfWork] = MemoryUnitOfWork

    def unit_of_work(self) -> MemoryUnitOfWork:
        self._check_open()
        return self.unit(self)


# -- a save that ignores the version --------------------------------------------------------------


class _LastWriterWins(MemoryUnitOfWork):
    """``save`` writes whatever it is given over whatever is stored, and the commit does not
    look at versions: ``UPDATE ... WHERE id = ?``."""

    def _save(self, kind: str, obj: Aggregate, expected_version: int) -> None:
        current = self._find(kind, obj.id)
        if current is None:
            raise NotFound(kind, obj.id)
        self._buffer.objects[(kind, obj.id)] = memory._Write(memory._stored_copy(obj), 0)

    def _check_conflicts(self, data: memory._Data) -> None:
        for (kind, id), write in self._buffer.objects.items():
            stored = data.of_type(kind).get(id)
            if write.base is not None and stored is not None:
                write.base = stored.version  # as if loaded just now: never a conflict
        super()._check_conflicts(data)


class IgnoresVersionStore(_Broken):
    """Saves ignore the version they replace."""

    unit = _LastWriterWins


# -- a unit of work that commits half ------------------------------------------------------------


class _HalfCommit(MemoryUnitOfWork):
    """The commit writes the first half of the objects and of the audit entries (rounded up),
    and drops the rest, as a commit interrupted half way would."""

    def _apply(self, data: memory._Data) -> None:
        buffer = self._buffer
        objects = list(buffer.objects.items())
        buffer.objects = dict(objects[: (len(objects) + 1) // 2])
        buffer.audit = buffer.audit[: (len(buffer.audit) + 1) // 2]
        super()._apply(data)


class HalfCommitStore(_Broken):
    """Commits write half of a unit of work."""

    unit = _HalfCommit


# -- an audit log that allows an update ----------------------------------------------------------


class _Upsert(MemoryUnitOfWork):
    """An append whose sequences are taken replaces those entries: ``INSERT OR REPLACE``."""

    def _append(self, entries: Sequence[AuditEntry]) -> None:
        self._buffer.audit.extend(memory._AuditRow.of(entry) for entry in entries)

    def _check_conflicts(self, data: memory._Data) -> None:
        rows, self._buffer.audit = self._buffer.audit, []
        try:
            super()._check_conflicts(data)
        finally:
            self._buffer.audit = rows

    def _apply(self, data: memory._Data) -> None:
        rows, self._buffer.audit = self._buffer.audit, []
        for row in rows:
            data.audit = [old for old in data.audit if old.sequence != row.sequence]
            data.audit.append(row)
        data.audit.sort(key=lambda row: row.sequence)
        super()._apply(data)


class UpdatableAuditStore(_Broken):
    """The audit log takes an entry over one already stored."""

    unit = _Upsert


# -- a query that drops one row ------------------------------------------------------------------


class _ShortGoals(memory._Goals):
    def by_owner(self, owner_id: str) -> list[Goal]:
        return super().by_owner(owner_id)[:-1]


class _DropsARow(MemoryUnitOfWork):
    """``goals.by_owner`` leaves out its last row."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self.goals = _ShortGoals(self)


class DropsARowStore(_Broken):
    """One query drops one row."""

    unit = _DropsARow


#: Every broken store, by the bug it has.
BROKEN = {
    "a save that ignores the version": IgnoresVersionStore,
    "a unit of work that commits half": HalfCommitStore,
    "an audit log that allows an update": UpdatableAuditStore,
    "a query that drops one row": DropsARowStore,
}
