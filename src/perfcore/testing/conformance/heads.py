"""Stream heads: each append makes its head the stream's head, and every question about heads
(``find`` on the state or a query column, ``streams``) is answered from the newest heads, exactly:
case and all."""

from __future__ import annotations

import random

import pytest

from perfcore.ports import INDEX_COLUMNS, IndexValue, Store, StreamHead
from perfcore.testing.conformance._support import (
    Batch,
    assert_events,
    assert_head,
    assert_heads,
    batch,
    commit,
    head_of,
    read,
)
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["HeadsContract"]

#: Every column ``find`` answers for.
COLUMNS = ("state", *INDEX_COLUMNS)

#: Full columns for a head: every query column with a value.
FULL: dict[str, IndexValue] = {
    "owner": "ana",
    "manager": "ben",
    "subject": "ana",
    "lineage": "jd-1",
    "number": 1,
    "employee": "ana",
    "cycle": "c-1",
    "person": "ana",
}


def _value(head: StreamHead, column: str) -> IndexValue:
    return head.state if column == "state" else head.columns.get(column)


class HeadsContract(StoreFixture):
    """The head is what the last append gave; ``find`` and ``streams`` answer from the newest
    heads, exactly.

    .. versionadded:: 0.1.0
    """

    def test_the_head_is_what_the_last_append_gave(self, store: Store) -> None:
        first = batch("Goal", "g-1", 1, "draft", FULL)
        commit(store, first)
        assert_head(head_of(store, "Goal", "g-1"), first.head)
        changes: list[dict[str, IndexValue]] = [
            {"owner": "bo", "number": 2, "cycle": "c-2"},  # changed, removed, kept
            {},  # every column removed
            {"person": "cy", "lineage": "jd-2", "number": 10},  # added back
        ]
        last = first
        for number, columns in enumerate(changes):
            last = last.then(number + 1, f"state-{number}", columns)
            commit(store, last)
            assert_head(head_of(store, "Goal", "g-1"), last.head)
        two = last.then(1, "active", {"owner": "ana"})
        three = two.then(2, "closed", {"owner": "ana", "manager": "mia"})
        commit(store, two, three)
        assert_head(head_of(store, "Goal", "g-1"), three.head)

    def test_find_answers_from_the_newest_heads_after_every_change(self, store: Store) -> None:
        # Each step commits one batch; after each, every column is asked for every value used.
        g1 = batch("Goal", "g-1", 1, "draft", FULL)
        g2 = batch("Goal", "g-2", 2, "draft", {"owner": "ana", "manager": "mia", "number": 2})
        p1 = batch("Plan", "p-1", 1, "draft", FULL)  # the same values in another kind
        g1b = g1.then(1, "active", {**FULL, "owner": "bo", "lineage": None, "number": 2})
        g2b = g2.then(3, "active", {})
        g1c = g1b.then(1, "closed")  # the state alone changes
        g1d = g1c.then(2, "closed", {"subject": "bo", "owner": "ana", "cycle": "c-2"})
        p1b = p1.then(1, "active", {"owner": "cy"})
        heads: dict[tuple[str, str], StreamHead] = {}
        used: dict[str, set[IndexValue]] = {column: set() for column in COLUMNS}
        for step, each in enumerate([g1, g2, p1, g1b, g2b, g1c, g1d, p1b]):
            commit(store, each)
            heads[(each.head.kind, each.head.id)] = each.head
            for column in COLUMNS:
                used[column].add(_value(each.head, column))
            self._check_every_answer(store, heads, used, f"after step {step}")

    @staticmethod
    def _check_every_answer(
        store: Store,
        heads: dict[tuple[str, str], StreamHead],
        used: dict[str, set[IndexValue]],
        when: str,
    ) -> None:
        with store.unit_of_work() as uow:
            for kind in ("Goal", "Plan"):
                for column in COLUMNS:
                    values = (used[column] - {None}) | {"nobody-has-this"}
                    for value in sorted(values, key=repr):
                        expected = sorted(
                            (
                                head
                                for (head_kind, _), head in heads.items()
                                if head_kind == kind and _value(head, column) == value
                            ),
                            key=lambda head: head.id,
                        )
                        found = uow.events.find(kind, column, value)
                        assert_heads(found, expected, f"find({kind}, {column}, {value!r}) {when}")

    def test_find_orders_by_id(self, store: Store) -> None:
        ids = ["g-3", "g-10", "g-1", "g-2", "g-20"]
        for id in ids:
            commit(store, batch("Goal", id, 1, "active", {"owner": "ana"}))
        with store.unit_of_work() as uow:
            found = uow.events.find("Goal", "owner", "ana")
        assert [head.id for head in found] == sorted(ids)

    def test_ids_that_differ_only_in_case_are_different_streams(self, store: Store) -> None:
        lower = batch("Goal", "goal-a", 2, "active", {"owner": "ana"})
        upper = batch("Goal", "Goal-A", 3, "Active", {"owner": "Ana"})
        commit(store, lower)
        commit(store, upper)  # a new stream: from version 0, beside the other
        assert_events(read(store, "Goal", "goal-a"), lower.events)
        assert_events(read(store, "Goal", "Goal-A"), upper.events)
        assert_head(head_of(store, "Goal", "goal-a"), lower.head)
        assert_head(head_of(store, "Goal", "Goal-A"), upper.head)
        assert head_of(store, "Goal", "GOAL-A") is None
        with store.unit_of_work() as uow:
            assert_heads(uow.events.find("Goal", "owner", "ana"), [lower.head], "owner ana")
            assert_heads(uow.events.find("Goal", "owner", "Ana"), [upper.head], "owner Ana")
            assert_heads(uow.events.find("Goal", "owner", "ANA"), [], "owner ANA")
            assert_heads(uow.events.find("Goal", "state", "active"), [lower.head], "active")
            assert_heads(uow.events.find("Goal", "state", "Active"), [upper.head], "Active")
            names = {(head.kind, head.id) for head in uow.events.streams()}
        assert names == {("Goal", "goal-a"), ("Goal", "Goal-A")}

    @pytest.mark.parametrize("limit", [1, 4, 7, 1000])
    def test_streams_pages_through_every_head_in_order(self, store: Store, limit: int) -> None:
        rng = random.Random(limit)
        names = [(kind, f"s-{n:02}") for kind in ("Goal", "Plan", "Evaluation") for n in range(9)]
        rng.shuffle(names)
        heads: dict[tuple[str, str], Batch] = {}
        for kind, id in names:
            heads[(kind, id)] = batch(kind, id, 1, "draft", {"owner": id})
            commit(store, heads[(kind, id)])
        for name in rng.sample(names, 6):  # some heads move on
            heads[name] = heads[name].then(1, "active")
            commit(store, heads[name])
        expected = [heads[name].head for name in sorted(heads)]
        found: list[StreamHead] = []
        after: tuple[str, str] | None = None
        with store.unit_of_work() as uow:
            while True:
                page = list(uow.events.streams(after=after, limit=limit))
                assert len(page) <= limit, f"streams(limit={limit}) gave {len(page)} heads"
                if not page:
                    break
                found += page
                after = (page[-1].kind, page[-1].id)
                assert len(found) <= len(expected), "streams() pages do not end"
            assert_heads(found, expected, f"streams paged by {limit}")
            between = list(uow.events.streams(after=("Goal", "s-04x"), limit=3))
        tail = [head for head in expected if (head.kind, head.id) > ("Goal", "s-04x")][:3]
        assert_heads(between, tail, "streams after a name no stream has")
