"""Idempotency keys: a key is taken once, by one unit of work, and kept exactly."""

from __future__ import annotations

import pytest

from perfcore.errors import ConcurrencyError
from perfcore.ports import IDEMPOTENCY_KEY, Store
from perfcore.testing.conformance._support import key_record, write_and_commit
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["IdempotencyContract"]


class IdempotencyContract(StoreFixture):
    """A key is remembered once; a second taker gets ConcurrencyError (``IDEMPOTENCY_KEY``).

    .. versionadded:: 0.1.0
    """

    def test_a_key_is_remembered_once(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("k-1") is None
            uow.idempotency.put(key_record("k-1"))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("k-1") == key_record("k-1")
            with pytest.raises(ConcurrencyError) as raised:
                write_and_commit(uow, lambda: uow.idempotency.put(key_record("k-1", version=2)))
        assert raised.value.aggregate_type == IDEMPOTENCY_KEY
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("k-1") == key_record("k-1")
            assert uow.idempotency.get("k-2") is None

    def test_two_units_of_work_cannot_both_take_a_key(self, store: Store) -> None:
        with store.unit_of_work() as late:
            assert late.idempotency.get("k-1") is None
            with store.unit_of_work() as early:
                early.idempotency.put(key_record("k-1"))
                early.commit()
            with pytest.raises(ConcurrencyError) as raised:
                write_and_commit(late, lambda: late.idempotency.put(key_record("k-1", version=2)))
        assert raised.value.aggregate_type == IDEMPOTENCY_KEY
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("k-1") == key_record("k-1")

    def test_a_rolled_back_key_is_not_taken(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.idempotency.put(key_record("k-1"))
            uow.rollback()
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("k-1") is None
            uow.idempotency.put(key_record("k-1", version=3))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("k-1") == key_record("k-1", version=3)
