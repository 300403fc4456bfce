"""Erasure: a stream's event bodies are replaced by :func:`~perfcore.ports.erased_body`, and
nothing else of any event changes, so that the hash chains still verify; its head is marked
erased, for good."""

from __future__ import annotations

import attrs

from perfcore.ports import RecordedEvent, Store, erased_body
from perfcore.recording import expected_hash
from perfcore.testing.conformance._support import (
    assert_events,
    assert_head,
    batch,
    commit,
    driven,
    head_of,
    read,
    scan_all,
)
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["ErasureContract"]


def _erase(store: Store, kind: str, id: str) -> int:
    with store.unit_of_work() as uow:
        changed = uow.events.erase(kind, id)
        uow.commit()
    assert type(changed) is int, f"erase() returned a {type(changed).__name__}"
    return changed


def _erased(events: list[RecordedEvent]) -> list[RecordedEvent]:
    return [attrs.evolve(event, body=erased_body(event.body)) for event in events]


def _assert_marked(store: Store, id: str, *, erased: bool) -> None:
    head = head_of(store, "Goal", id)
    assert head is not None
    assert head.erased is erased, (
        f"the head of Goal {id!r} says erased={head.erased!r}: an erased stream's head is marked"
        " erased (so no process serves it from a cache), and no other is"
    )


class ErasureContract(StoreFixture):
    """Erasing a stream replaces its bodies and changes nothing else.

    .. versionadded:: 0.1.0
    """

    def test_erase_replaces_every_body_and_nothing_else(self, store: Store) -> None:
        real = driven("Goal", "g-1")
        more = real.then(3, "active", {"person": "ana"})
        other = batch("Goal", "g-2", 3)
        commit(store, real)
        commit(store, other)
        commit(store, more)
        before, scanned = read(store, "Goal", "g-1"), scan_all(store)
        assert _erase(store, "Goal", "g-1") == len(before)
        after = read(store, "Goal", "g-1")
        assert_events(after, _erased(before))  # header, hash, version, position: unchanged
        assert all(event.erased for event in after)
        previous = b""
        for event in after:  # the chain still verifies
            assert expected_hash(event, previous) == event.hash, f"version {event.version}"
            previous = event.hash
        assert_events(read(store, "Goal", "g-2"), other.events)
        assert_head(head_of(store, "Goal", "g-1"), more.head)
        _assert_marked(store, "g-1", erased=True)
        _assert_marked(store, "g-2", erased=False)
        erased_ids = {"g-1"}
        expected = [
            attrs.evolve(e, body=erased_body(e.body)) if e.id in erased_ids else e for e in scanned
        ]
        assert_events(scan_all(store), expected)

    def test_erasing_again_changes_nothing(self, store: Store) -> None:
        one = batch("Goal", "g-1", 4)
        commit(store, one)
        assert _erase(store, "Goal", "g-1") == 4
        erased = read(store, "Goal", "g-1")
        assert _erase(store, "Goal", "g-1") == 0
        assert_events(read(store, "Goal", "g-1"), erased)
        assert _erase(store, "Goal", "absent") == 0

    def test_an_erasure_waits_for_the_commit(self, store: Store) -> None:
        one = batch("Goal", "g-1", 3)
        commit(store, one)
        with store.unit_of_work() as uow:
            assert uow.events.erase("Goal", "g-1") == 3
            uow.rollback()
        assert_events(read(store, "Goal", "g-1"), one.events)
        _assert_marked(store, "g-1", erased=False)
        with store.unit_of_work() as uow:
            uow.events.erase("Goal", "g-1")
            assert_events(
                self.meanwhile(
                    lambda: read(store, "Goal", "g-1"),
                    "a read, while another unit of work had erased and not committed,",
                ),
                one.events,
            )

    def test_a_stream_goes_on_after_its_erasure(self, store: Store) -> None:
        one = batch("Goal", "g-1", 2)
        commit(store, one)
        _erase(store, "Goal", "g-1")
        later = one.then(2, "active")
        commit(store, later)
        assert_events(read(store, "Goal", "g-1"), _erased(list(one.events)) + list(later.events))
        assert_head(head_of(store, "Goal", "g-1"), later.head)
        _assert_marked(store, "g-1", erased=True)
