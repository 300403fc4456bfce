"""Units of work: all of one's writes become visible at commit, together, or none do; a commit
holds to the versions its ``expect`` calls named; a unit of work that only reads holds up
nobody."""

from __future__ import annotations

import attrs
import pytest

from perfcore.errors import ConcurrencyError
from perfcore.ports import (
    IdempotencyRecord,
    Notification,
    RecordedEvent,
    Seal,
    Snapshot,
    Store,
    StreamHead,
    UnitOfWork,
)
from perfcore.testing.conformance._support import (
    Batch,
    appended,
    assert_events,
    assert_head,
    batch,
    commit,
    head_of,
    key_record,
    notification,
    pending,
    read,
    scan_all,
    seal,
    snapshot,
    write_and_commit,
)
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["UnitOfWorkContract"]


def _existing(store: Store) -> Batch:
    """A stream committed before the unit of work under test."""
    existing = batch("Goal", "g-1", 2, "draft", {"owner": "ana"})
    commit(store, existing)
    return existing


def _write_everything(uow: UnitOfWork, existing: Batch) -> None:
    """One write through every port."""
    batch("Goal", "g-new", 2, "draft", {"owner": "ana"}).append_to(uow)
    existing.then(1, "active", {"owner": "bo"}).append_to(uow)
    uow.snapshots.put(snapshot("Goal", "g-1", 3))
    uow.seals.add(seal(1, 2))
    uow.outbox.put(notification("n-1"))
    uow.idempotency.put(key_record("k-1"))


@attrs.frozen
class _Seen:
    """What one unit of work sees of :func:`_write_everything`'s writes."""

    new_head: StreamHead | None
    new_events: list[RecordedEvent]
    existing_head: StreamHead | None
    existing_events: list[RecordedEvent]
    owned_by_bo: list[StreamHead]
    streams: list[tuple[str, str]]
    scan: list[RecordedEvent]
    snapshot: Snapshot | None
    last_seal: Seal | None
    seals: list[Seal]
    pending: list[Notification]
    key: IdempotencyRecord | None


def _read_everything(store: Store) -> _Seen:
    """What another unit of work sees of :func:`_write_everything`'s writes."""
    with store.unit_of_work() as uow:
        return _Seen(
            new_head=uow.events.head("Goal", "g-new"),
            new_events=list(uow.events.read("Goal", "g-new")),
            existing_head=uow.events.head("Goal", "g-1"),
            existing_events=list(uow.events.read("Goal", "g-1")),
            owned_by_bo=list(uow.events.find("Goal", "owner", "bo")),
            streams=[(head.kind, head.id) for head in uow.events.streams()],
            scan=list(uow.events.scan()),
            snapshot=uow.snapshots.get("Goal", "g-1"),
            last_seal=uow.seals.last(),
            seals=list(uow.seals.read()),
            pending=list(uow.outbox.pending()),
            key=uow.idempotency.get("k-1"),
        )


class UnitOfWorkContract(StoreFixture):
    """All of a unit of work's writes become visible at commit, together, or none do.

    .. versionadded:: 0.1.0
    """

    @staticmethod
    def _check_nothing_written(store: Store, existing: Batch) -> None:
        seen = _read_everything(store)
        assert_head(seen.existing_head, existing.head)
        assert_events(seen.existing_events, existing.events)
        assert_events(seen.scan, existing.events)
        assert seen.streams == [("Goal", "g-1")]
        assert (seen.new_head, seen.new_events, seen.owned_by_bo) == (None, [], [])
        assert (seen.snapshot, seen.last_seal, seen.seals) == (None, None, [])
        assert (seen.pending, seen.key) == ([], None)

    def test_commit_makes_every_write_visible(self, store: Store) -> None:
        existing = _existing(store)
        with store.unit_of_work() as uow:
            _write_everything(uow, existing)
            uow.commit()
        seen = _read_everything(store)
        new = batch("Goal", "g-new", 2, "draft", {"owner": "ana"})
        moved = existing.then(1, "active", {"owner": "bo"})
        assert_head(seen.new_head, new.head)
        assert_events(seen.new_events, new.events)
        assert_head(seen.existing_head, moved.head)
        assert_events(seen.existing_events, appended([existing, moved]))
        assert [head.id for head in seen.owned_by_bo] == ["g-1"]
        assert len(seen.scan) == 5
        assert seen.snapshot == snapshot("Goal", "g-1", 3)
        assert (seen.last_seal, seen.seals) == (seal(1, 2), [seal(1, 2)])
        assert seen.pending == [notification("n-1")]
        assert seen.key == key_record("k-1")

    def test_writes_are_not_visible_to_others_before_commit(self, store: Store) -> None:
        existing = _existing(store)
        with store.unit_of_work() as writer:
            _write_everything(writer, existing)
            self.meanwhile(
                lambda: self._check_nothing_written(store, existing),
                "a unit of work reading, while another had written and not committed,",
            )
            writer.commit()

    def test_an_exception_leaves_nothing(self, store: Store) -> None:
        existing = _existing(store)

        def fail_half_way() -> None:
            with store.unit_of_work() as uow:
                _write_everything(uow, existing)
                raise RuntimeError("the command failed half way")

        with pytest.raises(RuntimeError, match="half way"):
            fail_half_way()
        self._check_nothing_written(store, existing)

    def test_leaving_without_commit_leaves_nothing(self, store: Store) -> None:
        existing = _existing(store)
        with store.unit_of_work() as uow:
            _write_everything(uow, existing)
        self._check_nothing_written(store, existing)

    def test_rollback_discards_every_write(self, store: Store) -> None:
        existing = _existing(store)
        with store.unit_of_work() as uow:
            _write_everything(uow, existing)
            uow.rollback()
        self._check_nothing_written(store, existing)

    def test_a_conflict_writes_none_of_the_unit_of_work(self, store: Store) -> None:
        existing = _existing(store)
        with store.unit_of_work() as late:
            assert late.events.head("Goal", "g-1") is not None
            commit(store, existing.then(1, "cancelled", tag="early"))
            with pytest.raises(ConcurrencyError):
                write_and_commit(late, lambda: _write_everything(late, existing))
        seen = _read_everything(store)
        assert (seen.new_head, seen.snapshot, seen.last_seal) == (None, None, None)
        assert (seen.pending, seen.key) == ([], None)
        assert [event.version for event in read(store, "Goal", "g-1")] == [1, 2, 3]

    # -- expect ---------------------------------------------------------------------------------

    def test_a_commit_that_expected_the_versions_it_read_succeeds(self, store: Store) -> None:
        existing = _existing(store)
        with store.unit_of_work() as uow:
            uow.events.expect("Goal", "g-1", existing.head.version)
            uow.events.expect("Goal", "absent", 0)
            batch("Goal", "g-2").append_to(uow)
            uow.commit()
        assert head_of(store, "Goal", "g-2") is not None

    @pytest.mark.parametrize("version", [0, 1, 3])
    def test_expecting_another_version_fails(self, store: Store, version: int) -> None:
        _existing(store)  # at version 2
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError) as raised:
            write_and_commit(
                uow,
                lambda: uow.events.expect("Goal", "g-1", version),
                lambda: batch("Goal", "g-2").append_to(uow),
            )
        assert (raised.value.aggregate_id, raised.value.expected_version) == ("g-1", version)
        assert head_of(store, "Goal", "g-2") is None

    def test_expecting_an_absent_stream_at_a_version_fails(self, store: Store) -> None:
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            write_and_commit(
                uow,
                lambda: uow.events.expect("Goal", "absent", 1),
                lambda: batch("Goal", "g-2").append_to(uow),
            )
        assert head_of(store, "Goal", "g-2") is None

    @pytest.mark.parametrize("change", ["appended to", "created"])
    def test_a_commit_fails_if_an_expected_stream_moved_meanwhile(
        self, store: Store, change: str
    ) -> None:
        existing = _existing(store) if change == "appended to" else None
        version = 0 if existing is None else existing.head.version
        with store.unit_of_work() as uow:
            uow.events.expect("Goal", "g-1", version)  # holds now
            moved = batch("Goal", "g-1", 1) if existing is None else existing.then(1)
            commit(store, moved)  # another unit of work moves the stream on
            with pytest.raises(ConcurrencyError) as raised:
                write_and_commit(
                    uow,
                    lambda: batch("Goal", "g-2").append_to(uow),
                    lambda: uow.outbox.put(notification("n-1")),
                )
        assert raised.value.aggregate_id == "g-1"
        assert head_of(store, "Goal", "g-2") is None
        assert pending(store) == []

    # -- readers hold up nobody -----------------------------------------------------------------

    def test_a_reader_finishes_while_a_writer_has_not_committed(self, store: Store) -> None:
        self.require("supports_threads")
        existing = _existing(store)
        with store.unit_of_work() as writer:
            _write_everything(writer, existing)
            seen = self.meanwhile(
                lambda: _read_everything(store),
                "a unit of work that only reads, while another had written and not committed,",
            )
            writer.commit()
        assert_head(seen.existing_head, existing.head)

    def test_a_writer_commits_while_a_reader_is_open(self, store: Store) -> None:
        self.require("supports_threads")
        existing = _existing(store)
        moved = existing.then(2, "active")
        with store.unit_of_work() as reader:
            assert reader.events.head("Goal", "g-1") is not None
            list(reader.events.read("Goal", "g-1"))
            list(reader.events.find("Goal", "owner", "ana"))
            list(reader.events.scan())
            reader.snapshots.get("Goal", "g-1")
            reader.outbox.pending()
            self.meanwhile(
                lambda: commit(store, moved),
                "a commit, while another unit of work had only read,",
            )
        assert_head(head_of(store, "Goal", "g-1"), moved.head)
        assert_events(scan_all(store), appended([existing, moved]))
