"""Idempotency keys: a key is taken once; the same request again gets the first answer."""

from __future__ import annotations

import pytest

from perfcore.errors import ConcurrencyError, IdempotencyConflict, TransitionNotAllowed
from perfcore.ports import IDEMPOTENCY_KEY, Store
from perfcore.testing.conformance._support import (
    ANA,
    BEN,
    audit_entries,
    perfcore,
    proposed_goal,
    record,
    write_and_commit,
)
from perfcore.testing.conformance.fixture import StoreFixture
from perfcore.testing.drivers import EPOCH

__all__ = ["IdempotencyContract"]


class IdempotencyContract(StoreFixture):
    """A key is remembered once; the same request again gets the first answer.

    .. versionadded:: 0.1.0
    """

    def test_a_key_is_remembered_once(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("k-1") is None
            uow.idempotency.put(record("k-1"))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("k-1") == record("k-1")
            with pytest.raises(ConcurrencyError) as raised:
                write_and_commit(uow, lambda: uow.idempotency.put(record("k-1", version=2)))
        assert raised.value.aggregate_type == IDEMPOTENCY_KEY
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("k-1") == record("k-1")

    def test_two_units_of_work_cannot_both_take_a_key(self, store: Store) -> None:
        with store.unit_of_work() as late, store.unit_of_work() as early:
            assert late.idempotency.get("k-1") is None
            early.idempotency.put(record("k-1"))
            early.commit()
            with pytest.raises(ConcurrencyError) as raised:
                write_and_commit(late, lambda: late.idempotency.put(record("k-1", version=2)))
        assert raised.value.aggregate_type == IDEMPOTENCY_KEY

    def test_the_same_request_again_returns_the_first_result(self, store: Store) -> None:
        pc = perfcore(store)
        proposed_goal(pc)
        first = pc.goals.approve("g-1", by=BEN, idempotency_key="req-1")
        log = audit_entries(store)
        again = pc.goals.approve("g-1", by=BEN, idempotency_key="req-1")
        assert again == first
        assert audit_entries(store) == log

    def test_the_first_result_is_returned_after_the_object_moved_on(self, store: Store) -> None:
        pc = perfcore(store)
        proposed_goal(pc)
        first = pc.goals.approve("g-1", by=BEN, idempotency_key="req-1")
        pc.goals.check_in("g-1", by=ANA, on=EPOCH.date(), value=3)
        assert pc.goals.approve("g-1", by=BEN, idempotency_key="req-1") == first

    def test_a_key_reused_for_another_request_is_refused(self, store: Store) -> None:
        pc = perfcore(store)
        proposed_goal(pc)
        pc.goals.approve("g-1", by=BEN, idempotency_key="req-1")
        log = audit_entries(store)
        with pytest.raises(IdempotencyConflict):
            pc.goals.approve("g-1", by=BEN, reason="other words", idempotency_key="req-1")
        with pytest.raises(IdempotencyConflict):
            pc.goals.check_in("g-1", by=ANA, on=EPOCH.date(), value=3, idempotency_key="req-1")
        assert audit_entries(store) == log

    def test_a_failed_command_does_not_take_its_key(self, store: Store) -> None:
        pc = perfcore(store)
        proposed_goal(pc)
        with pytest.raises(TransitionNotAllowed):
            pc.goals.achieve("g-1", by=BEN, idempotency_key="req-1")
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("req-1") is None
