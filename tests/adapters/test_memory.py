"""The in-memory store keeps the behaviour contract every store keeps, and its own promises:
appends touch only their stream, ``find`` looks its answer up, nothing handed in or out is
shared with what is stored."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from perfcore.adapters.memory import MemoryStore
from perfcore.errors import ConcurrencyError, StorageError, ValidationError
from perfcore.ports import RecordedEvent, Store
from perfcore.testing.conformance import StoreContract
from perfcore.testing.conformance._support import (
    assert_events,
    assert_head,
    batch,
    commit,
    head_of,
    read,
)


class TestMemoryStore(StoreContract):
    """:class:`MemoryStore` against the whole contract (one process: no process tests)."""

    supports_threads = True
    supports_processes = False
    supports_failure_injection = True
    supports_new_stores = True

    @pytest.fixture
    def store(self) -> Iterator[MemoryStore]:
        store = MemoryStore()
        yield store
        store.close()

    def new_store(self, store: Store) -> Store:
        return MemoryStore()

    def break_store(self, store: Store) -> None:
        assert isinstance(store, MemoryStore)
        store._inject_failure(lambda: sqlite3.OperationalError("disk I/O error"))


# -- appends touch only their stream --------------------------------------------------------------


def test_an_append_copies_neither_other_streams_nor_earlier_events() -> None:
    store = MemoryStore()
    one, other = batch("Goal", "g-1", 3), batch("Goal", "g-2", 2)
    commit(store, one, other)
    data = store._data
    events, others = data.events[("Goal", "g-1")], data.events[("Goal", "g-2")]
    earlier, other_events = list(events), list(others)
    other_head, positions = data.heads[("Goal", "g-2")], data.positions
    commit(store, one.then(2))
    assert data.events[("Goal", "g-1")] is events, "the stream's list was replaced"
    assert all(a is b for a, b in zip(events, earlier, strict=False)), "earlier events copied"
    assert len(events) == 5
    assert data.events[("Goal", "g-2")] is others
    assert all(a is b for a, b in zip(others, other_events, strict=True))
    assert data.heads[("Goal", "g-2")] is other_head
    assert data.positions is positions


def test_events_are_kept_as_they_were_given() -> None:
    store = MemoryStore()
    one = batch("Goal", "g-1", 2)
    commit(store, one)
    for given, kept in zip(one.events, store._data.events[("Goal", "g-1")], strict=True):
        assert kept.body is given.body, "the body was copied"
        assert kept.header is given.header


class _NoScan(dict[Any, Any]):
    """A dict of heads that fails any walk through it: only lookups by key are allowed."""

    def _refuse(self, *args: object) -> Any:
        raise AssertionError("find() walked through every head")

    __iter__ = values = items = keys = _refuse


def test_find_looks_its_answer_up_without_walking_the_heads() -> None:
    store = MemoryStore()
    for number in range(50):
        owner = "ana" if number % 10 == 0 else f"owner-{number}"
        commit(store, batch("Goal", f"g-{number:02}", 1, "active", {"owner": owner}))
    store._data.heads = _NoScan(store._data.heads)
    with store.unit_of_work() as uow:
        found = uow.events.find("Goal", "owner", "ana")
    assert [head.id for head in found] == ["g-00", "g-10", "g-20", "g-30", "g-40"]


def test_the_index_forgets_values_no_head_has() -> None:
    store = MemoryStore()
    first = batch("Goal", "g-1", 1, "draft", {"owner": "ana"})
    commit(store, first)
    commit(store, first.then(1, "active", {"owner": "bo"}))
    assert "ana" not in store._data.index[("Goal", "owner")]
    assert "draft" not in store._data.index[("Goal", "state")]


# -- nothing is shared with the caller ------------------------------------------------------------


def test_changing_the_columns_given_or_handed_out_changes_nothing_stored() -> None:
    store = MemoryStore()
    columns: dict[str, Any] = {"owner": "ana"}
    one = batch("Goal", "g-1", 1, "draft", columns)
    given = dict(one.head.columns)
    commit(store, one)
    one.head.columns["owner"] = "mallory"  # type: ignore[index]
    handed = head_of(store, "Goal", "g-1")
    assert handed is not None
    handed.columns["owner"] = "mallory"  # type: ignore[index]
    with store.unit_of_work() as uow:
        [found] = uow.events.find("Goal", "owner", "ana")
        found.columns["owner"] = "eve"  # type: ignore[index]
    assert dict(store._data.heads[("Goal", "g-1")].columns) == given
    with store.unit_of_work() as uow:
        assert [h.id for h in uow.events.find("Goal", "owner", "ana")] == ["g-1"]


def test_bytes_that_can_change_are_copied() -> None:
    store = MemoryStore()
    one = batch("Goal", "g-1", 1)
    event = one.events[0]
    body = bytearray(event.body)
    mutable = RecordedEvent(
        kind=event.kind,
        id=event.id,
        version=1,
        schema=event.schema,
        header=memoryview(event.header),  # type: ignore[arg-type]
        body=body,  # type: ignore[arg-type]
        hash=event.hash,
    )
    with store.unit_of_work() as uow:
        uow.events.append(one.head, [mutable], expected_version=0)
        uow.commit()
    body[0] = 0xFF
    assert_events(read(store, "Goal", "g-1"), one.events)


# -- the unit of work sees its own writes ---------------------------------------------------------


def test_a_unit_of_work_reads_its_own_appends() -> None:
    store = MemoryStore()
    first = batch("Goal", "g-1", 2, "draft", {"owner": "ana"})
    commit(store, first)
    second = first.then(1, "active", {"owner": "bo"})
    new = batch("Goal", "g-0", 1, "draft", {"owner": "bo"})
    with store.unit_of_work() as uow:
        second.append_to(uow)
        new.append_to(uow)
        assert_head(uow.events.head("Goal", "g-1"), second.head)
        assert [e.version for e in uow.events.read("Goal", "g-1", after=1)] == [2, 3]
        assert [h.id for h in uow.events.find("Goal", "owner", "bo")] == ["g-0", "g-1"]
        assert uow.events.find("Goal", "owner", "ana") == []
        assert [h.id for h in uow.events.streams()] == ["g-0", "g-1"]
        assert uow.events.erase("Goal", "g-1") == 3
        assert uow.events.erase("Goal", "g-1") == 0
        assert all(e.erased for e in uow.events.read("Goal", "g-1"))


def test_an_expectation_of_a_stream_appended_to_holds_at_its_new_version() -> None:
    store = MemoryStore()
    first = batch("Goal", "g-1", 2)
    commit(store, first)
    with store.unit_of_work() as uow:
        first.then(1).append_to(uow)
        uow.events.expect("Goal", "g-1", 3)
        with pytest.raises(ConcurrencyError):
            uow.events.expect("Goal", "g-1", 2)
        uow.commit()
    assert [e.version for e in read(store, "Goal", "g-1")] == [1, 2, 3]


# -- positions ------------------------------------------------------------------------------------


def test_stable_position_is_the_highest_committed_position() -> None:
    store = MemoryStore()
    one = batch("Goal", "g-1", 3)
    commit(store, one)
    with store.unit_of_work() as uow:
        one.then(2).append_to(uow)  # in flight: no position yet
        assert uow.events.stable_position() == 3
        uow.commit()
        assert uow.events.stable_position() == 5


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    ["no events", "other stream", "gap", "head version", "head hash", "column", "value"],
)
def test_a_malformed_append_is_refused(change: str) -> None:
    store = MemoryStore()
    one = batch("Goal", "g-1", 2, "draft", {"owner": "ana"})
    head, events = one.head, list(one.events)
    if change == "no events":
        events = []
    elif change == "other stream":
        events[1] = batch("Goal", "g-2", 2).events[1]
    elif change == "gap":
        events = [events[0], batch("Goal", "g-1", 3).events[2]]
    elif change == "head version":
        head = batch("Goal", "g-1", 3).head
    elif change == "head hash":
        head = batch("Goal", "g-1", 2, tag="other").head
    elif change == "column":
        head = batch("Goal", "g-1", 2, "draft", {"title": "x"}).head
    else:
        head = batch("Goal", "g-1", 2, "draft", {"owner": 1.5}).head  # type: ignore[dict-item]
    with store.unit_of_work() as uow, pytest.raises(ValidationError):
        uow.events.append(head, events, expected_version=0)


def test_find_refuses_a_column_it_does_not_know() -> None:
    with MemoryStore().unit_of_work() as uow, pytest.raises(ValidationError):
        uow.events.find("Goal", "title", "x")


def test_a_closed_store_refuses_a_commit_but_lets_open_units_of_work_read() -> None:
    store = MemoryStore()
    commit(store, batch("Goal", "g-1"))
    with store.unit_of_work() as uow:
        batch("Goal", "g-2").append_to(uow)
        store.close()
        assert uow.events.head("Goal", "g-1") is not None
        with pytest.raises(StorageError, match="closed"):
            uow.commit()
    with pytest.raises(StorageError, match="closed"):
        store.unit_of_work()


def test_an_injected_failure_is_a_storage_error_caused_by_it() -> None:
    store = MemoryStore()
    commit(store, batch("Goal", "g-1"))
    store._inject_failure(lambda: sqlite3.OperationalError("disk I/O error"))
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="disk I/O") as raised:
        uow.events.head("Goal", "g-1")
    assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
    store._inject_failure(None)
    assert head_of(store, "Goal", "g-1") is not None
