"""Range finds (:class:`~perfcore.ports.RangeFinds`), for a store that offers them: the heads
whose text column falls in a range, exactly as filtering every head by hand would find them,
after every change, bounds included, by code point, and inside the unit of work that wrote them.
A store that does not offer them is asked through ``find`` and decoded objects, and these tests
are skipped."""

from __future__ import annotations

import itertools

import pytest

from perfcore.ports import IndexValue, RangeFinds, Store, StreamHead
from perfcore.testing.conformance._support import Batch, assert_heads, batch, commit
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["RangeFindsContract"]

#: The bounds every range is asked with: below, at and between the values used, and beyond.
_BOUNDS: tuple[str | None, ...] = (
    None,
    "2025-12-31",
    "2026-01-01",
    "2026-01-15",
    "2026-02-01",
    "2026-2",
    "2026-12-31",
    "2027-01-01",
)


def _within(value: IndexValue, low: str | None, high: str | None) -> bool:
    return (
        isinstance(value, str) and (low is None or value >= low) and (high is None or value <= high)
    )


def _finds(store: Store) -> RangeFinds:
    with store.unit_of_work() as uow:
        events = uow.events
        if not isinstance(events, RangeFinds):
            pytest.skip("the store offers no range finds: the services decode instead")
        return events


class RangeFindsContract(StoreFixture):
    """``find_between`` answers from the newest heads, exactly as a filter over them would.

    .. versionadded:: 0.2.0
    """

    def test_find_between_answers_from_the_newest_heads_after_every_change(
        self, store: Store
    ) -> None:
        _finds(store)
        g1 = batch("Goal", "g-1", 1, "active", {"behind": "2026-01-15", "changed": "2026-01-01"})
        g2 = batch("Goal", "g-2", 2, "active", {"behind": "2026-02-01", "owner": "ana"})
        g3 = batch("Goal", "g-3", 1, "draft", {"behind": "2026-01-01", "start": "2026-01-01"})
        p1 = batch("Plan", "p-1", 1, "active", {"behind": "2026-01-15", "review": "2026-02-01"})
        g1b = g1.then(1, "active", {"behind": "2026-12-31", "changed": "2026-02-01"})
        g2b = g2.then(1, "achieved", {"owner": "ana"})  # the column cleared
        g3b = g3.then(2, "active", {"behind": "2026-1", "start": "2026-01-01"})  # text, not a day
        heads: dict[tuple[str, str], StreamHead] = {}
        for step, each in enumerate([g1, g2, g3, p1, g1b, g2b, g3b]):
            commit(store, each)
            heads[(each.head.kind, each.head.id)] = each.head
            self._check_every_range(store, heads, f"after step {step}")

    @staticmethod
    def _check_every_range(
        store: Store, heads: dict[tuple[str, str], StreamHead], when: str
    ) -> None:
        with store.unit_of_work() as uow:
            events = uow.events
            assert isinstance(events, RangeFinds)
            for kind, column in itertools.product(("Goal", "Plan"), ("behind", "changed")):
                for low, high in itertools.product(_BOUNDS, _BOUNDS):
                    expected = sorted(
                        (
                            head
                            for (head_kind, _), head in heads.items()
                            if head_kind == kind and _within(head.columns.get(column), low, high)
                        ),
                        key=lambda head: head.id,
                    )
                    found = events.find_between(kind, column, low, high)
                    what = f"find_between({kind}, {column}, {low!r}, {high!r}) {when}"
                    assert_heads(found, expected, what)

    def test_a_number_or_nothing_is_in_no_range(self, store: Store) -> None:
        _finds(store)
        commit(
            store,
            batch("Plan", "p-1", 1, "active", {"team": 3, "review": "2026-01-01"}),
            batch("Plan", "p-2", 1, "active", {"team": None, "number": 2}),
        )
        with store.unit_of_work() as uow:
            events = uow.events
            assert isinstance(events, RangeFinds)
            assert events.find_between("Plan", "team", None, None) == []
            assert events.find_between("Plan", "number", None, None) == []
            assert [h.id for h in events.find_between("Plan", "review", None, None)] == ["p-1"]
            assert events.find_between("Goal", "review", None, None) == []

    def test_find_between_orders_by_id_and_sees_its_own_unit_of_work(self, store: Store) -> None:
        _finds(store)
        ids = ["g-3", "g-10", "g-1", "g-2", "g-20"]
        written: list[Batch] = []
        for number, id in enumerate(ids):
            one = batch("Goal", id, 1, "active", {"behind": f"2026-01-0{number + 1}"})
            commit(store, one)
            written.append(one)
        with store.unit_of_work() as uow:
            events = uow.events
            assert isinstance(events, RangeFinds)
            found = events.find_between("Goal", "behind", None, None)
            assert [head.id for head in found] == sorted(ids)
            # Moved out of the range, and a new one in it, before the commit.
            moved = written[0].then(1, "active", {"behind": "2027-01-01"})
            moved.append_to(uow)
            added = batch("Goal", "g-4", 1, "active", {"behind": "2026-01-02"})
            added.append_to(uow)
            inside = events.find_between("Goal", "behind", "2026-01-01", "2026-01-31")
            assert [head.id for head in inside] == sorted(["g-1", "g-10", "g-2", "g-20", "g-4"])
            assert_heads(
                events.find_between("Goal", "behind", "2027-01-01", None), [moved.head], "moved"
            )
            uow.rollback()
        with store.unit_of_work() as uow:
            events = uow.events
            assert isinstance(events, RangeFinds)
            found = events.find_between("Goal", "behind", None, None)
            assert [head.id for head in found] == sorted(ids)
