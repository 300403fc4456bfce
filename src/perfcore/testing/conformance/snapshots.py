"""Snapshots: a cache of the newest version of each stream; an older one never replaces it."""

from __future__ import annotations

from perfcore.ports import Snapshot, Store
from perfcore.testing.conformance._support import snapshot
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["SnapshotsContract"]


def _put(store: Store, *snapshots: Snapshot) -> None:
    with store.unit_of_work() as uow:
        for one in snapshots:
            uow.snapshots.put(one)
        uow.commit()


def _get(store: Store, kind: str = "Goal", id: str = "g-1") -> Snapshot | None:
    with store.unit_of_work() as uow:
        return uow.snapshots.get(kind, id)


def _check(found: Snapshot | None, expected: Snapshot | None) -> None:
    assert found == expected, f"the snapshot is {found!r:.120}, not {expected!r:.120}"
    if found is not None:
        assert type(found.data) is bytes, f"its data came back as {type(found.data).__name__}"
        assert type(found.version) is int, f"its version is a {type(found.version).__name__}"


class SnapshotsContract(StoreFixture):
    """The newest snapshot of each stream is kept exactly; an older one never replaces it.

    .. versionadded:: 0.1.0
    """

    def test_a_snapshot_comes_back_exactly(self, store: Store) -> None:
        _check(_get(store), None)
        _put(store, snapshot("Goal", "g-1", 3))
        _check(_get(store), snapshot("Goal", "g-1", 3))
        _check(_get(store, "Goal", "g-2"), None)
        _check(_get(store, "Plan", "g-1"), None)

    def test_the_newest_snapshot_is_kept(self, store: Store) -> None:
        _put(store, snapshot("Goal", "g-1", 3))
        _put(store, snapshot("Goal", "g-1", 5))
        _check(_get(store), snapshot("Goal", "g-1", 5))
        _put(store, snapshot("Goal", "g-1", 4))  # older: it does not replace the newer
        _check(_get(store), snapshot("Goal", "g-1", 5))
        _put(store, snapshot("Goal", "g-1", 1))
        _check(_get(store), snapshot("Goal", "g-1", 5))

    def test_the_newest_of_one_unit_of_work_is_kept(self, store: Store) -> None:
        _put(store, snapshot("Goal", "g-1", 7), snapshot("Goal", "g-1", 6))
        _check(_get(store), snapshot("Goal", "g-1", 7))
        _put(store, snapshot("Goal", "g-1", 8), snapshot("Goal", "g-1", 9))
        _check(_get(store), snapshot("Goal", "g-1", 9))

    def test_delete_forgets_the_snapshot(self, store: Store) -> None:
        _put(store, snapshot("Goal", "g-1", 5), snapshot("Goal", "g-2", 2))
        with store.unit_of_work() as uow:
            uow.snapshots.delete("Goal", "g-1")
            uow.snapshots.delete("Goal", "absent")
            uow.commit()
        _check(_get(store), None)
        _check(_get(store, "Goal", "g-2"), snapshot("Goal", "g-2", 2))
        _put(store, snapshot("Goal", "g-1", 2))  # after a delete, any version is the newest
        _check(_get(store), snapshot("Goal", "g-1", 2))

    def test_snapshot_writes_wait_for_the_commit(self, store: Store) -> None:
        _put(store, snapshot("Goal", "g-1", 2))
        with store.unit_of_work() as uow:
            uow.snapshots.put(snapshot("Goal", "g-1", 4))
            uow.snapshots.put(snapshot("Goal", "g-3", 1))
            uow.rollback()
        with store.unit_of_work() as uow:
            uow.snapshots.delete("Goal", "g-1")
        _check(_get(store), snapshot("Goal", "g-1", 2))
        _check(_get(store, "Goal", "g-3"), None)
