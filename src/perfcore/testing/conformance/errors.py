"""Errors: whatever goes wrong underneath a store comes out as perfcore's
:class:`~perfcore.errors.StorageError`, never as a driver's own exception; a closed store
refuses work."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from perfcore.errors import StorageError
from perfcore.ports import Store, UnitOfWork
from perfcore.testing.conformance._support import (
    EPOCH,
    batch,
    commit,
    key_record,
    notification,
    seal,
    snapshot,
)
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["ErrorsContract"]

_EXISTING = batch("Goal", "g-1", 2, "active", {"owner": "ana"})

#: Every operation of the ports, each run in a unit of work of its own; a write is committed.
OPERATIONS: dict[str, Callable[[UnitOfWork], object]] = {
    "events.head": lambda uow: uow.events.head("Goal", "g-1"),
    "events.read": lambda uow: list(uow.events.read("Goal", "g-1")),
    "events.find": lambda uow: uow.events.find("Goal", "owner", "ana"),
    "events.streams": lambda uow: uow.events.streams(),
    "events.scan": lambda uow: uow.events.scan(),
    "events.stable_position": lambda uow: uow.events.stable_position(),
    "snapshots.get": lambda uow: uow.snapshots.get("Goal", "g-1"),
    "seals.last": lambda uow: uow.seals.last(),
    "seals.read": lambda uow: list(uow.seals.read()),
    "outbox.pending": lambda uow: uow.outbox.pending(),
    "idempotency.get": lambda uow: uow.idempotency.get("k-1"),
    "events.append": lambda uow: _EXISTING.then(1).append_to(uow),
    "events.expect": lambda uow: uow.events.expect("Goal", "g-1", 2),
    "events.erase": lambda uow: uow.events.erase("Goal", "g-1"),
    "snapshots.put": lambda uow: uow.snapshots.put(snapshot("Goal", "g-1", 2)),
    "snapshots.delete": lambda uow: uow.snapshots.delete("Goal", "g-1"),
    "seals.add": lambda uow: uow.seals.add(seal(2, 20, seal(1, 10))),
    "outbox.put": lambda uow: uow.outbox.put(notification("n-2")),
    "outbox.mark_delivered": lambda uow: uow.outbox.mark_delivered("n-1", EPOCH),
    "idempotency.put": lambda uow: uow.idempotency.put(key_record("k-2")),
}


def _append_new_stream(store: Store) -> None:
    """Open a unit of work, append a new stream and commit."""
    with store.unit_of_work() as uow:
        _EXISTING.append_to(uow)
        uow.commit()


def _escaped(name: str, error: BaseException) -> str:
    kind = type(error)
    return (
        f"{name}: {kind.__module__}.{kind.__qualname__} escaped from the store: {error}."
        " A store turns its driver's errors into perfcore.errors.StorageError (keeping the"
        " driver's error as __cause__)"
    )


class ErrorsContract(StoreFixture):
    """Failures underneath come out as StorageError; a closed store refuses work.

    .. versionadded:: 0.1.0
    """

    def test_a_closed_store_refuses_work(self, store: Store) -> None:
        store.close()
        with pytest.raises(StorageError):  # refused when opened, used or committed
            _append_new_stream(store)
        store.close()  # closing again is harmless

    def test_a_failing_store_raises_storage_errors_only(self, store: Store) -> None:
        self.require("supports_failure_injection")
        commit(store, _EXISTING)
        with store.unit_of_work() as uow:
            uow.snapshots.put(snapshot("Goal", "g-1", 1))
            uow.seals.add(seal(1, 10))
            uow.outbox.put(notification("n-1"))
            uow.idempotency.put(key_record("k-1"))
            uow.commit()
        self.break_store(store)
        failed: list[str] = []
        messages: dict[str, str] = {}
        for name, operation in OPERATIONS.items():
            try:
                with store.unit_of_work() as uow:
                    operation(uow)
                    uow.commit()
            except StorageError as error:
                failed.append(name)
                messages[name] = str(error)
            except Exception as error:
                pytest.fail(_escaped(name, error))
        silent = [name for name in failed if not messages[name]]
        assert not silent, f"StorageError without a message from {silent}"
        assert failed, "after break_store(store), every operation still worked: nothing broke"
