"""The verification's raw reads (:class:`~perfcore.ports.RawEventReads`), for a store that offers
them: the same heads, events and links as ``streams()``, ``read()`` and ``scan()`` give, row for
row. A store that does not offer them is verified through those, and these tests are skipped."""

from __future__ import annotations

from typing import Any

import pytest

from perfcore.ports import EventRow, RawEventReads, RecordedEvent, Store, StreamHead
from perfcore.testing.conformance._support import batch, commit, read, scan_all, snapshot
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["RawReadsContract"]


def _row(event: RecordedEvent) -> EventRow:
    return (event.version, event.schema, event.header, event.body, event.hash, event.position)


def _raw(
    store: Store,
) -> tuple[list[tuple[StreamHead, int | None, list[EventRow]]], list[Any]]:
    """Every stream as ``raw_streams()`` gives it (its items joined), and every link."""
    with store.unit_of_work() as uow:
        events = uow.events
        if not isinstance(events, RawEventReads):
            pytest.skip("the store offers no raw reads: verify_store reads through the ports")
        streams: list[tuple[StreamHead, int | None, list[EventRow]]] = []
        for head, version, rows in events.raw_streams():
            if streams and streams[-1][0] is head:
                streams[-1][2].extend(rows)
                continue
            assert all((one.kind, one.id) != (head.kind, head.id) for one, _, _ in streams), (
                f"raw_streams gave {head.kind} {head.id!r} twice, or its events apart"
            )
            streams.append((head, version, list(rows)))
        links = list(events.raw_links(after=0, upto=2**63 - 1))
    return streams, links


def _heads(store: Store) -> list[StreamHead]:
    with store.unit_of_work() as uow:
        return list(uow.events.streams(limit=100_000))


class RawReadsContract(StoreFixture):
    """What ``raw_streams()`` and ``raw_links()`` give is what the ports give.

    .. versionadded:: 0.2.0
    """

    def _stored(self, store: Store) -> None:
        first = batch("Goal", "g-1", 3, "active", {"owner": "ana"})
        second = batch("Goal", "g-2", 1)
        commit(store, first, batch("Plan", "p-1", 2, "draft", {"subject": "ana"}))
        commit(store, second, first.then(700, "active"))
        commit(store, second.then(2))
        with store.unit_of_work() as uow:
            uow.snapshots.put(snapshot("Goal", "g-1", 500))
            uow.commit()

    def test_every_stream_comes_with_its_head_its_events_and_its_snapshot(
        self, store: Store
    ) -> None:
        self._stored(store)
        streams, _ = _raw(store)
        heads = {(head.kind, head.id): head for head in _heads(store)}
        assert sorted((head.kind, head.id) for head, _, _ in streams) == sorted(heads), (
            "raw_streams gave other streams than streams()"
        )
        for head, version, rows in streams:
            name = (head.kind, head.id)
            assert head == heads[name], f"{name}: its raw head is {head}, not {heads[name]}"
            expected = [_row(event) for event in read(store, *name)]
            assert rows == expected, f"{name}: its raw rows are not the events read() gives"
            assert all(type(part) is bytes for row in rows for part in row[2:5]), (
                f"{name}: a header, body or hash came back as other than bytes"
            )
            assert version == (500 if name == ("Goal", "g-1") else None), (
                f"{name}: its snapshot's version is given as {version}"
            )

    def test_the_links_are_those_of_scan(self, store: Store) -> None:
        self._stored(store)
        _, links = _raw(store)
        assert [tuple(link) for link in links] == [
            (event.position, event.hash) for event in scan_all(store)
        ], "raw_links gave other positions or hashes than scan()"
        with store.unit_of_work() as uow:
            events = uow.events
            assert isinstance(events, RawEventReads)
            middle = links[len(links) // 2][0]
            part = list(events.raw_links(after=middle, upto=middle + 5))
        assert [tuple(link) for link in part] == [
            (position, hash) for position, hash in links if middle < position <= middle + 5
        ], "raw_links(after=, upto=) gave another range"

    def test_an_empty_store_has_no_streams_and_no_links(self, store: Store) -> None:
        assert _raw(store) == ([], [])
