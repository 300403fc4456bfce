"""Appending and reading streams: versions follow the version the caller expected, and the events
come back to the byte, in order, however long the stream."""

from __future__ import annotations

import pytest

from perfcore.errors import ConcurrencyError
from perfcore.ports import Store
from perfcore.testing.conformance._support import (
    appended,
    assert_events,
    assert_head,
    batch,
    batch_from,
    commit,
    driven,
    head_of,
    kinds,
    read,
    scan_all,
    write_and_commit,
)
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["EventsContract"]

#: How many events the long history holds: more than a store keeping only a tail would keep.
LONG_HISTORY = 2150


class EventsContract(StoreFixture):
    """Events are appended only from the version the caller loaded, and read back exactly.

    .. versionadded:: 0.1.0
    """

    def test_a_new_stream_starts_from_version_0(self, store: Store) -> None:
        first = batch("Goal", "g-1", 3, "active", {"owner": "ana"})
        commit(store, first)
        found = read(store, "Goal", "g-1")
        assert [event.version for event in found] == [1, 2, 3]
        assert_events(found, first.events)
        assert_head(head_of(store, "Goal", "g-1"), first.head)

    def test_an_absent_stream_has_no_events_and_no_head(self, store: Store) -> None:
        commit(store, batch("Goal", "g-1"))
        assert read(store, "Goal", "g-2") == []
        assert read(store, "Plan", "g-1") == []
        assert head_of(store, "Goal", "g-2") is None

    def test_events_come_back_exactly_in_order_after_any_version(self, store: Store) -> None:
        first = batch("Goal", "g-1", 3, "draft")
        second = first.then(2, "active")
        third = second.then(4, "closed")
        commit(store, first)
        with store.unit_of_work() as uow:
            second.append_to(uow)
            third.append_to(uow)
            uow.commit()
        given = appended([first, second, third])
        for after in range(len(given) + 2):
            assert_events(read(store, "Goal", "g-1", after=after), given[after:])
        assert_head(head_of(store, "Goal", "g-1"), third.head)

    @pytest.mark.parametrize("kind", kinds())
    def test_recorded_events_of_every_type_come_back_exactly(self, store: Store, kind: str) -> None:
        real = driven(kind, f"{kind.lower()}-1")
        commit(store, real)
        assert_events(read(store, kind, real.head.id), real.events)
        assert_head(head_of(store, kind, real.head.id), real.head)

    def test_one_id_in_two_kinds_is_two_streams(self, store: Store) -> None:
        goal, plan = batch("Goal", "x-1", 2), batch("Plan", "x-1", 3)
        commit(store, goal)
        commit(store, plan)
        assert_events(read(store, "Goal", "x-1"), goal.events)
        assert_events(read(store, "Plan", "x-1"), plan.events)

    @pytest.mark.parametrize("expected", [0, 1, 2, 4, 7])
    def test_an_append_from_another_version_is_refused_and_writes_nothing(
        self, store: Store, expected: int
    ) -> None:
        first = batch("Goal", "g-1", 3, "active", {"owner": "ana"})
        commit(store, first)
        stale = batch_from("Goal", "g-1", expected, 2, "closed", {"owner": "bo"})
        other = batch("Goal", "g-2", 1)
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError) as raised:
            write_and_commit(uow, lambda: other.append_to(uow), lambda: stale.append_to(uow))
        error = raised.value
        assert (error.aggregate_type, error.aggregate_id) == ("Goal", "g-1")
        assert error.expected_version == expected
        assert error.actual_version == 3
        assert_events(read(store, "Goal", "g-1"), first.events)
        assert_head(head_of(store, "Goal", "g-1"), first.head)
        assert head_of(store, "Goal", "g-2") is None, "the unit of work was written in part"

    @pytest.mark.parametrize("expected", [1, 3])
    def test_an_absent_stream_can_only_be_created_from_version_0(
        self, store: Store, expected: int
    ) -> None:
        stale = batch_from("Goal", "g-1", expected, 1)
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError) as raised:
            write_and_commit(uow, lambda: stale.append_to(uow))
        assert raised.value.expected_version == expected
        assert raised.value.actual_version is None
        assert head_of(store, "Goal", "g-1") is None
        assert read(store, "Goal", "g-1") == []

    def test_two_appends_in_one_unit_of_work_must_follow_each_other(self, store: Store) -> None:
        first = batch("Goal", "g-1", 2)
        again = batch("Goal", "g-1", 1, tag="again")
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            write_and_commit(uow, lambda: first.append_to(uow), lambda: again.append_to(uow))
        assert head_of(store, "Goal", "g-1") is None

    def test_a_long_history_comes_back_whole(self, store: Store) -> None:
        batches = [batch("Goal", "long", 700, "active")]
        while batches[-1].head.version < LONG_HISTORY - 300:
            batches.append(batches[-1].then(300))
        commit(store, batches[0])
        for one in batches[1:-1]:
            commit(store, one)
        last = batches[-1].then(LONG_HISTORY - batches[-1].head.version)
        commit(store, batches[-1], last)  # two appends in one unit of work
        batches.append(last)
        given = appended(batches)
        assert len(given) == LONG_HISTORY
        assert_events(read(store, "Goal", "long"), given)
        assert_events(read(store, "Goal", "long", after=1), given[1:])
        assert_events(read(store, "Goal", "long", after=2000), given[2000:])
        assert_events(scan_all(store), given)
        assert_head(head_of(store, "Goal", "long"), last.head)
