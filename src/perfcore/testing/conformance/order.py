"""The global order: each committed event has a position greater than every one committed before
it, never reused; ``scan`` pages through the committed events in that order; ``stable_position``
never claims a position an event can still take."""

from __future__ import annotations

import pytest

from perfcore.errors import ConcurrencyError
from perfcore.ports import RecordedEvent, Store
from perfcore.testing.conformance._support import (
    Batch,
    appended,
    assert_events,
    batch,
    batch_from,
    commit,
    read,
    scan_all,
    write_and_commit,
)
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["GlobalOrderContract"]


def _stable(store: Store) -> int:
    with store.unit_of_work() as uow:
        position = uow.events.stable_position()
    assert type(position) is int, f"stable_position() gave a {type(position).__name__}"
    return position


def _check_commit_order(scanned: list[RecordedEvent], commits: list[list[Batch]]) -> None:
    """``scanned`` holds the events of ``commits`` (each the batches of one unit of work), in
    commit order: strictly increasing positions, every event of a commit before every event of
    the next, each stream's events in version order (within one unit of work, streams may
    interleave in any order)."""
    positions = [event.position for event in scanned]
    assert positions == sorted(set(positions)), f"positions repeat or go back: {positions}"
    expected = [appended(batches) for batches in commits]
    assert len(scanned) == sum(map(len, expected)), "scan gave other events than were committed"
    start = 0
    for number, events in enumerate(expected):
        got = scanned[start : start + len(events)]
        start += len(events)

        def name(event: RecordedEvent) -> tuple[str, str, int]:
            return (event.kind, event.id, event.version)

        assert sorted(map(name, got)) == sorted(map(name, events)), (
            f"commit {number}: scan gave {list(map(name, got))} in its place,"
            f" not {list(map(name, events))}"
        )
        by_name = {name(event): event for event in events}
        assert_events(got, [by_name[name(event)] for event in got])
        for stream in {(event.kind, event.id) for event in got}:
            versions = [event.version for event in got if (event.kind, event.id) == stream]
            assert versions == sorted(versions), f"{stream}: out of version order: {versions}"


class GlobalOrderContract(StoreFixture):
    """Positions increase in commit order and are never reused; ``scan`` pages through the
    committed events in that order; ``stable_position`` is safe.

    .. versionadded:: 0.1.0
    """

    def test_positions_increase_in_commit_order_across_streams(self, store: Store) -> None:
        a1, b1, c1 = batch("Goal", "a", 2), batch("Plan", "b", 3), batch("Goal", "c", 1)
        a2, b2 = a1.then(2), b1.then(1)
        commits = [[a1], [b1], [a2, c1, b2], [b2.then(2)]]
        for batches in commits:
            commit(store, *batches)
        scanned = scan_all(store)
        _check_commit_order(scanned, commits)
        # read() gives each event the position scan() does.
        where = {(e.kind, e.id, e.version): e.position for e in scanned}
        for kind, id in (("Goal", "a"), ("Plan", "b"), ("Goal", "c")):
            for event in read(store, kind, id):
                assert event.position == where[(kind, id, event.version)], (kind, id, event)

    def test_positions_are_never_reused_after_a_rollback_or_a_conflict(self, store: Store) -> None:
        first, early, after, last = (batch("Goal", id, 2) for id in ("a", "b", "d", "e"))
        commit(store, first)
        with store.unit_of_work() as late:
            assert late.events.head("Goal", "z") is None  # it has begun, and read
            commit(store, early)
            batch("Goal", "c", 3).append_to(late)
            late.rollback()
        commit(store, after)
        with store.unit_of_work() as failing, pytest.raises(ConcurrencyError):
            write_and_commit(
                failing,
                lambda: batch("Goal", "f", 3).append_to(failing),
                lambda: batch_from("Goal", "a", 0, 2).append_to(failing),
            )
        commit(store, last)
        _check_commit_order(scan_all(store), [[first], [early], [after], [last]])

    def test_scan_pages_through_the_global_order(self, store: Store) -> None:
        a, b, c = batch("Goal", "a", 3), batch("Plan", "b", 1), batch("Goal", "c", 4)
        commits = [[a], [b, c], [a.then(2)], [c.then(1), b.then(3)], [a.then(2).then(1)]]
        for batches in commits:
            commit(store, *batches)
        whole = scan_all(store)
        _check_commit_order(whole, commits)
        for page in (1, 2, 3, 5, 100):
            assert_events(scan_all(store, page=page), whole)
        with store.unit_of_work() as uow:
            for start in range(len(whole)):
                found = list(uow.events.scan(after=whole[start].position, limit=4))
                assert_events(found, whole[start + 1 : start + 5])
            assert list(uow.events.scan(after=whole[-1].position)) == []
            assert len(list(uow.events.scan(limit=3))) == 3

    def test_scan_gives_only_committed_events(self, store: Store) -> None:
        done = batch("Goal", "a", 2)
        commit(store, done)
        with store.unit_of_work() as writer:
            batch("Goal", "b", 3).append_to(writer)
            done.then(1).append_to(writer)
            seen = self.meanwhile(
                lambda: scan_all(store),
                "a scan, while another unit of work had written and not committed,",
            )
            assert_events(seen, done.events)
            writer.rollback()
        assert_events(scan_all(store), done.events)

    def test_stable_position_is_never_passed_by_a_later_commit(self, store: Store) -> None:
        before = _stable(store)
        assert before >= 0
        streams = [batch("Goal", "a", 2), batch("Plan", "b", 1)]
        for number in range(4):
            one = streams[number % 2]
            commit(store, one)
            new = [event.position for event in read(store, one.head.kind, one.head.id)]
            new = new[-len(one.events) :]
            assert min(new) > before, (
                f"stable_position() was {before}, and then a commit took position {min(new)}"
            )
            before = _stable(store)
            assert before >= max(new), (
                f"with nothing in flight, stable_position() is {before}, below the committed"
                f" position {max(new)}"
            )
            streams[number % 2] = one.then(1 + number)

    def test_stable_position_stays_below_a_commit_in_flight(self, store: Store) -> None:
        commit(store, batch("Goal", "a", 2))
        flying = batch("Goal", "b", 3)
        with store.unit_of_work() as writer:
            flying.append_to(writer)
            during = self.meanwhile(
                lambda: _stable(store),
                "stable_position(), while another unit of work had written and not committed,",
            )
            writer.commit()
        positions = [event.position for event in read(store, "Goal", "b")]
        assert min(positions) > during, (
            f"stable_position() said {during} while a commit was in flight that then took"
            f" position {min(positions)}: a seal up to {during} would have missed it"
        )
