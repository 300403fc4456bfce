"""Units of work: all of one's writes become visible at commit, together, or none do."""

from __future__ import annotations

import pytest

from perfcore.audit import chain
from perfcore.errors import ConcurrencyError
from perfcore.goal import Goal
from perfcore.ports import Store, UnitOfWork
from perfcore.testing.conformance._support import (
    DRIVERS,
    notification,
    record,
    seed,
    write_and_commit,
)
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["UnitOfWorkContract"]


class UnitOfWorkContract(StoreFixture):
    """All of a unit of work's writes become visible at commit, together, or none do.

    .. versionadded:: 0.1.0
    """

    @staticmethod
    def _write_everything(uow: UnitOfWork, existing: Goal) -> None:
        driver = DRIVERS["Goal"]
        uow.goals.add(driver.create("g-new"))
        uow.goals.save(driver.fire(existing, "approve"), expected_version=existing.version)
        uow.audit.append(chain([driver.create("g-new").history[0]], uow.audit.last()))
        uow.outbox.put(notification("n-1"))
        uow.idempotency.put(record("k-1"))

    def _nothing_written(self, store: Store, existing: Goal, log_length: int) -> None:
        with store.unit_of_work() as uow:
            assert uow.goals.find("g-new") is None
            assert uow.goals.get(existing.id) == existing
            assert len(list(uow.audit.read())) == log_length
            assert list(uow.outbox.pending()) == []
            assert uow.idempotency.get("k-1") is None

    def test_commit_makes_every_write_visible(self, store: Store) -> None:
        existing = DRIVERS["Goal"].reach("proposed", id="g-1")
        seed(store, existing)
        with store.unit_of_work() as uow:
            self._write_everything(uow, existing)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.goals.get("g-new").version == 1
            assert str(uow.goals.get(existing.id).state) == "active"
            assert len(list(uow.audit.read())) == len(existing.history) + 1
            assert [n.id for n in uow.outbox.pending()] == ["n-1"]
            assert uow.idempotency.get("k-1") == record("k-1")

    def test_writes_are_not_visible_to_others_before_commit(self, store: Store) -> None:
        existing = DRIVERS["Goal"].reach("proposed", id="g-1")
        seed(store, existing)
        with store.unit_of_work() as writer:
            writer.goals.add(DRIVERS["Goal"].create("g-new"))
            with store.unit_of_work() as reader:
                assert reader.goals.find("g-new") is None

    def test_an_exception_leaves_nothing(self, store: Store) -> None:
        existing = DRIVERS["Goal"].reach("proposed", id="g-1")
        seed(store, existing)

        def fail_half_way() -> None:
            with store.unit_of_work() as uow:
                self._write_everything(uow, existing)
                raise RuntimeError("the command failed half way")

        with pytest.raises(RuntimeError):
            fail_half_way()
        self._nothing_written(store, existing, len(existing.history))

    def test_leaving_without_commit_leaves_nothing(self, store: Store) -> None:
        existing = DRIVERS["Goal"].reach("proposed", id="g-1")
        seed(store, existing)
        with store.unit_of_work() as uow:
            self._write_everything(uow, existing)
        self._nothing_written(store, existing, len(existing.history))

    def test_rollback_discards_every_write(self, store: Store) -> None:
        existing = DRIVERS["Goal"].reach("proposed", id="g-1")
        seed(store, existing)
        with store.unit_of_work() as uow:
            self._write_everything(uow, existing)
            uow.rollback()
        self._nothing_written(store, existing, len(existing.history))

    def test_a_conflict_writes_none_of_the_unit_of_work(self, store: Store) -> None:
        driver = DRIVERS["Goal"]
        existing = driver.reach("proposed", id="g-1")
        seed(store, existing)
        with store.unit_of_work() as late, store.unit_of_work() as early:
            stale = late.goals.get("g-1")
            early.goals.save(driver.fire(existing, "cancel"), expected_version=existing.version)
            early.commit()
            approved = driver.fire(stale, "approve")
            with pytest.raises(ConcurrencyError):
                write_and_commit(
                    late,
                    lambda: late.goals.add(driver.create("g-new")),
                    lambda: late.outbox.put(notification("n-1")),
                    lambda: late.goals.save(approved, expected_version=stale.version),
                )
        with store.unit_of_work() as uow:
            assert uow.goals.find("g-new") is None
            assert str(uow.goals.get("g-1").state) == "cancelled"
            assert list(uow.outbox.pending()) == []
