"""Seals: kept exactly, in number order, each the one after the last; two units of work cannot
both add the next one."""

from __future__ import annotations

import pytest

from perfcore.errors import ConcurrencyError
from perfcore.ports import SEALS, Seal, Store
from perfcore.testing.conformance._support import seal, write_and_commit
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["SealsContract"]


def _chain(count: int) -> list[Seal]:
    seals: list[Seal] = []
    for number in range(1, count + 1):
        seals.append(seal(number, 10 * number, seals[-1] if seals else None))
    return seals


def _add(store: Store, *seals: Seal) -> None:
    with store.unit_of_work() as uow:
        for one in seals:
            uow.seals.add(one)
        uow.commit()


def _all(store: Store, after: int = 0) -> list[Seal]:
    with store.unit_of_work() as uow:
        found = list(uow.seals.read(after=after))
    for one in found:
        for field in ("streams", "previous_hash", "hash"):
            value = getattr(one, field)
            assert type(value) is bytes, f"seal {one.number}: {field} is a {type(value).__name__}"
    return found


class SealsContract(StoreFixture):
    """Seals come back exactly, in order; each must follow the last one.

    .. versionadded:: 0.1.0
    """

    def test_seals_come_back_exactly_in_order(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.seals.last() is None
            assert list(uow.seals.read()) == []
        seals = _chain(4)
        _add(store, *seals[:2])
        _add(store, seals[2])
        _add(store, seals[3])
        assert _all(store) == seals
        for after in range(6):
            assert _all(store, after) == seals[after:]
        with store.unit_of_work() as uow:
            assert uow.seals.last() == seals[-1]

    @pytest.mark.parametrize(("stored", "number"), [(0, 2), (0, 0), (2, 1), (2, 2), (2, 4)])
    def test_a_seal_that_does_not_follow_the_last_is_refused(
        self, store: Store, stored: int, number: int
    ) -> None:
        seals = _chain(max(stored, 1))[:stored]
        if seals:
            _add(store, *seals)
        wrong = seal(number, 100)
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError) as raised:
            write_and_commit(uow, lambda: uow.seals.add(wrong))
        assert raised.value.aggregate_type == SEALS
        assert _all(store) == seals

    def test_two_units_of_work_cannot_both_add_the_next_seal(self, store: Store) -> None:
        first = seal(1, 10)
        _add(store, first)
        early, late_one = seal(2, 20, first), seal(2, 30, first)
        with store.unit_of_work() as late:
            assert late.seals.last() == first
            _add(store, early)
            with pytest.raises(ConcurrencyError) as raised:
                write_and_commit(late, lambda: late.seals.add(late_one))
        assert raised.value.aggregate_type == SEALS
        assert _all(store) == [first, early]

    def test_a_rolled_back_seal_is_not_kept(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.seals.add(seal(1, 10))
            uow.rollback()
        assert _all(store) == []
        _add(store, seal(1, 10))
        assert _all(store) == [seal(1, 10)]
