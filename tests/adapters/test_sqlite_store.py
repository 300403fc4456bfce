"""The SQLite store on the event-store ports: streams, events, positions, erasure, snapshots,
seals, locking, triggers, errors, and the migration of a first-release (schema 1) database.

The behaviours every store shares are in :mod:`perfcore.testing.conformance`; the tests here are
what only SQLite has: SQL triggers, SQLite's locks and errors, and files written by the first
release. ``golden/schema1.sqlite3`` is such a file, written by the released code (``git archive
HEAD`` of the first release, its services on ``SQLiteStore``): goals ``g-1`` (created, proposed,
approved, checked in) and ``G-1`` (for ``ANA``), job description ``jd-1`` (feedback open), plan
``p-1`` (submitted), evaluation ``e-1`` (open), cycle ``c-2026``, two notifications and the
idempotency key ``req-1``. Never open it in place (SQLite writes beside a WAL database even to
read it): tests copy it first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pickle
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from perfcore._codec import canonical_json
from perfcore.adapters import _sqlite_legacy as legacy
from perfcore.adapters import _sqlite_schema as schema
from perfcore.adapters import sqlite as sqlite_adapter
from perfcore.adapters.sqlite import (
    DatabaseBusy,
    DatabaseCorrupt,
    DatabaseReadOnly,
    DatabaseUnavailable,
    LegacyLogTampered,
    SQLiteStore,
    UnreadableRecord,
)
from perfcore.errors import ConcurrencyError, NotFound, StorageError, ValidationError
from perfcore.events import Event
from perfcore.ports import (
    IDEMPOTENCY_KEY,
    INDEX_COLUMNS,
    SEALS,
    IdempotencyRecord,
    Notification,
    RecordedEvent,
    Seal,
    Snapshot,
    StreamHead,
    UnitOfWork,
    erased_body,
)
from perfcore.recording import decode, expected_hash, record
from perfcore.serialization import UnsupportedSchema, event_from_json_data

GOLDEN = Path(__file__).with_name("golden")
AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
KEY = b"the new chain's key"
LEGACY_KEY = b"the first release's key"

#: SHA-256 of schema 1's statements as the first release shipped them: never edited.
VERSION_1_DIGEST = "d4f6ba44d878dc8e8d1ffbef66ed9510509584ad4abecd668279ce662b191a5a"


# -- helpers --------------------------------------------------------------------------------------


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "perfcore.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(path, synchronous="OFF", busy_timeout_ms=10_000) as opened:
        yield opened


def events_for(
    kind: str, id: str, base: int, count: int, previous: bytes, tag: str = ""
) -> list[RecordedEvent]:
    """``count`` events of one stream after version ``base``, chained after ``previous``."""
    events = [
        Event(
            aggregate_type=kind,
            aggregate_id=id,
            version=version,
            trigger="create" if version == 1 else "check_in",
            from_state=None if version == 1 else "active",
            to_state="active",
            actor_id="ana",
            at=AT,
            reason=tag,
            payload={"append": {"check_ins": [{"on": "2026-01-05", "value": str(version)}]}},
        )
        for version in range(base + 1, base + count + 1)
    ]
    return record(events, previous_hash=previous)


def prepared(
    uow: UnitOfWork,
    kind: str,
    id: str,
    count: int = 1,
    *,
    state: str = "active",
    columns: Mapping[str, Any] | None = None,
    tag: str = "",
) -> tuple[StreamHead, list[RecordedEvent], int]:
    """The next ``count`` events of a stream as ``uow`` sees it, their head, and its version."""
    head = uow.events.head(kind, id)
    base = 0 if head is None else head.version
    events = events_for(kind, id, base, count, b"" if head is None else head.hash, tag)
    new = StreamHead(
        kind=kind,
        id=id,
        version=base + count,
        hash=events[-1].hash,
        state=state,
        columns=dict(columns or {}),
    )
    return new, events, base


def append(uow: UnitOfWork, kind: str, id: str, count: int = 1, **head: Any) -> StreamHead:
    new, events, base = prepared(uow, kind, id, count, **head)
    uow.events.append(new, events, expected_version=base)
    return new


def commit_append(store: SQLiteStore, kind: str, id: str, count: int = 1, **head: Any) -> None:
    with store.unit_of_work() as uow:
        append(uow, kind, id, count, **head)
        uow.commit()


def read(store: SQLiteStore, kind: str, id: str, after: int = 0) -> list[RecordedEvent]:
    with store.unit_of_work() as uow:
        return list(uow.events.read(kind, id, after=after))


def scan(store: SQLiteStore) -> list[RecordedEvent]:
    with store.unit_of_work() as uow:
        return list(uow.events.scan(limit=100_000))


def raw(path: Path, timeout: float = 10) -> sqlite3.Connection:
    """A plain connection: SQL as someone other than perfcore would run it."""
    return sqlite3.connect(path, isolation_level=None, timeout=timeout)


def chain_verifies(events: Sequence[RecordedEvent], key: bytes | None = None) -> bool:
    previous = b""
    for event in events:
        if expected_hash(event, previous, key) != event.hash:
            return False
        previous = event.hash
    return True


def seal(number: int, upto: int = 0) -> Seal:
    return Seal(
        number=number,
        upto=upto,
        count=0,
        streams=b"[]",
        previous_hash=b"" if number == 1 else bytes(32),
        hash=hashlib.sha256(str(number).encode()).digest(),
        at=AT,
    )


# -- appends, versions, conflicts -----------------------------------------------------------------


def test_events_come_back_exactly_with_increasing_positions(store: SQLiteStore) -> None:
    with store.unit_of_work() as uow:
        head, events, _ = prepared(uow, "Goal", "g-1", 3, columns={"owner": "ana"})
        uow.events.append(head, events, expected_version=0)
        uow.commit()
    back = read(store, "Goal", "g-1")
    assert [(e.kind, e.id, e.version, e.schema, e.header, e.body, e.hash) for e in back] == [
        (e.kind, e.id, e.version, e.schema, e.header, e.body, e.hash) for e in events
    ]
    assert [e.position for e in back] == [1, 2, 3]
    assert [e.version for e in read(store, "Goal", "g-1", after=1)] == [2, 3]
    with store.unit_of_work() as uow:
        assert uow.events.head("Goal", "g-1") == head
        assert uow.events.head("Goal", "nobody") is None
        assert list(uow.events.read("Goal", "nobody")) == []


def test_an_append_from_a_stale_version_is_refused_and_writes_nothing(store: SQLiteStore) -> None:
    commit_append(store, "Goal", "g-1", 2)
    with store.unit_of_work() as uow:
        stale = events_for("Goal", "g-1", 1, 1, b"")
        head = StreamHead(kind="Goal", id="g-1", version=2, hash=stale[-1].hash, state="x")
        with pytest.raises(ConcurrencyError) as refused:
            uow.events.append(head, stale, expected_version=1)
        assert (refused.value.expected_version, refused.value.actual_version) == (1, 2)
        uow.commit()
    assert stale[-1].hash not in [e.hash for e in read(store, "Goal", "g-1")]
    with store.unit_of_work() as uow:
        stored = uow.events.head("Goal", "g-1")
        assert stored is not None
        assert (stored.version, stored.state) == (2, "active")


def test_creating_a_stream_that_exists_is_a_conflict_naming_its_version(
    store: SQLiteStore,
) -> None:
    commit_append(store, "Goal", "g-1", 3)
    with store.unit_of_work() as uow:
        events = events_for("Goal", "g-1", 0, 1, b"")
        head = StreamHead(kind="Goal", id="g-1", version=1, hash=events[0].hash, state="draft")
        with pytest.raises(ConcurrencyError) as refused:
            uow.events.append(head, events, expected_version=0)
    assert (refused.value.expected_version, refused.value.actual_version) == (0, 3)


def test_appending_to_an_absent_stream_from_a_version_is_a_conflict(store: SQLiteStore) -> None:
    events = events_for("Goal", "g-1", 2, 1, b"")
    head = StreamHead(kind="Goal", id="g-1", version=3, hash=events[0].hash, state="active")
    with store.unit_of_work() as uow, pytest.raises(ConcurrencyError) as refused:
        uow.events.append(head, events, expected_version=2)
    assert (refused.value.expected_version, refused.value.actual_version) == (2, None)


@pytest.mark.parametrize(
    "change",
    [
        "gap",
        "other_stream",
        "head_version",
        "head_hash",
        "no_events",
        "unknown_column",
        "bool_column",
        "negative",
    ],
)
def test_a_malformed_append_is_a_validation_error(store: SQLiteStore, change: str) -> None:
    events = events_for("Goal", "g-1", 0, 2, b"")
    head = StreamHead(kind="Goal", id="g-1", version=2, hash=events[-1].hash, state="active")
    expected = 0
    if change == "gap":
        events = [events[0], *events_for("Goal", "g-1", 2, 1, events[0].hash)]
        head = StreamHead(kind="Goal", id="g-1", version=3, hash=events[-1].hash, state="x")
    elif change == "other_stream":
        events = [events[0], *events_for("Goal", "g-2", 1, 1, events[0].hash)]
    elif change == "head_version":
        head = StreamHead(kind="Goal", id="g-1", version=3, hash=events[-1].hash, state="x")
    elif change == "head_hash":
        head = StreamHead(kind="Goal", id="g-1", version=2, hash=events[0].hash, state="x")
    elif change == "no_events":
        events = []
    elif change == "unknown_column":
        head = StreamHead(
            kind="Goal", id="g-1", version=2, hash=events[-1].hash, state="x", columns={"boss": "x"}
        )
    elif change == "bool_column":
        head = StreamHead(
            kind="Goal",
            id="g-1",
            version=2,
            hash=events[-1].hash,
            state="x",
            columns={"number": True},
        )
    elif change == "negative":
        expected = -1
    with store.unit_of_work() as uow, pytest.raises(ValidationError):
        uow.events.append(head, events, expected_version=expected)
    assert scan(store) == []


def race(store: SQLiteStore, kind: str, id: str, count: int) -> dict[str, Exception | None]:
    """Two units of work that read the stream at one version append ``count`` events to it at
    once: for each (``"a"``, ``"b"``), the error it lost with, or ``None``."""
    start = threading.Barrier(2)
    outcomes: dict[str, Exception | None] = {}

    def racer(tag: str) -> None:
        with store.unit_of_work() as uow:
            head, events, base = prepared(uow, kind, id, count, tag=tag)
            start.wait()
            try:
                uow.events.append(head, events, expected_version=base)
                uow.commit()
            except ConcurrencyError as lost:
                outcomes[tag] = lost
            else:
                outcomes[tag] = None

    threads = [threading.Thread(target=racer, args=(tag,)) for tag in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_units_of_work_racing_on_one_stream_exactly_one_commits(store: SQLiteStore) -> None:
    for round in range(5):
        id = f"g-{round}"
        commit_append(store, "Goal", id)
        outcomes = race(store, "Goal", id, 2)
        [winner] = [tag for tag, lost in outcomes.items() if lost is None]
        [lost] = [lost for lost in outcomes.values() if lost is not None]
        assert isinstance(lost, ConcurrencyError)
        assert (lost.expected_version, lost.actual_version) == (1, 3)
        stored = read(store, "Goal", id)
        assert [e.version for e in stored] == [1, 2, 3]
        assert {decode(e).reason for e in stored[1:]} == {winner}


def test_two_units_of_work_creating_one_stream_exactly_one_commits(store: SQLiteStore) -> None:
    outcomes = race(store, "Plan", "p-1", 1)
    [winner] = [tag for tag, lost in outcomes.items() if lost is None]
    [lost] = [lost for lost in outcomes.values() if lost is not None]
    assert isinstance(lost, ConcurrencyError)
    assert (lost.expected_version, lost.actual_version) == (0, 1)
    assert [decode(e).reason for e in read(store, "Plan", "p-1")] == [winner]


# -- expect ---------------------------------------------------------------------------------------


def test_expect_refuses_a_version_that_is_not_stored_now(store: SQLiteStore) -> None:
    commit_append(store, "Goal", "g-1", 2)
    with store.unit_of_work() as uow:
        with pytest.raises(ConcurrencyError) as refused:
            uow.events.expect("Goal", "g-1", 1)
        assert (refused.value.expected_version, refused.value.actual_version) == (1, 2)
        with pytest.raises(ConcurrencyError):
            uow.events.expect("Goal", "nobody", 1)
        uow.events.expect("Goal", "nobody", 0)
        uow.events.expect("Goal", "g-1", 2)
        uow.commit()


def test_expect_is_checked_again_at_commit_under_the_write_lock(store: SQLiteStore) -> None:
    commit_append(store, "Goal", "g-1")
    with store.unit_of_work() as uow:
        uow.events.expect("Goal", "g-1", 1)
        commit_append(store, "Goal", "g-1")  # another unit of work moves it on meanwhile
        append(uow, "Plan", "p-1")
        with pytest.raises(ConcurrencyError) as refused:
            uow.commit()
    assert (refused.value.aggregate_id, refused.value.expected_version) == ("g-1", 1)
    assert refused.value.actual_version == 2
    assert read(store, "Plan", "p-1") == []


def test_expect_in_a_unit_of_work_that_only_read_is_checked_at_commit(
    store: SQLiteStore,
) -> None:
    with store.unit_of_work() as uow:
        uow.events.expect("Goal", "g-1", 0)
        commit_append(store, "Goal", "g-1")
        with pytest.raises(ConcurrencyError) as refused:
            uow.commit()
    assert (refused.value.expected_version, refused.value.actual_version) == (0, 1)


def test_expect_then_an_append_from_that_version_commits(store: SQLiteStore) -> None:
    commit_append(store, "Goal", "g-1")
    with store.unit_of_work() as uow:
        uow.events.expect("Goal", "g-1", 1)
        uow.events.expect("Plan", "p-1", 0)
        append(uow, "Goal", "g-1")
        append(uow, "Plan", "p-1")
        uow.events.expect("Plan", "p-1", 1)  # its own append: what this unit of work sees
        uow.commit()
    assert [e.version for e in read(store, "Goal", "g-1")] == [1, 2]


# -- positions, scan, stable_position -------------------------------------------------------------


def test_positions_increase_and_are_never_reused_after_a_rollback(store: SQLiteStore) -> None:
    commit_append(store, "Goal", "a", 2)
    with store.unit_of_work() as uow:
        append(uow, "Goal", "b", 3)
        uow.rollback()
    with store.unit_of_work() as uow:  # a failed commit keeps nothing either
        uow.events.expect("Goal", "a", 2)
        commit_append(store, "Goal", "a")
        append(uow, "Goal", "c", 2)
        with pytest.raises(ConcurrencyError):
            uow.commit()
    commit_append(store, "Goal", "d", 2)
    scanned = scan(store)
    found = [(e.id, e.version) for e in scanned]
    assert found == [("a", 1), ("a", 2), ("a", 3), ("d", 1), ("d", 2)]
    positions = [e.position for e in scanned]
    assert positions == sorted(set(positions))
    # Even the newest event removed behind perfcore's back leaves its position unused.
    with raw(store._file) as conn:
        conn.execute("DROP TRIGGER events_no_delete")
        conn.execute("DELETE FROM events WHERE position = ?", (positions[-1],))
    commit_append(store, "Goal", "e")
    assert read(store, "Goal", "e")[0].position > positions[-1]


def test_scan_and_stable_position_leave_out_what_is_not_committed(store: SQLiteStore) -> None:
    commit_append(store, "Goal", "a", 2)
    with store.unit_of_work() as writer:
        append(writer, "Goal", "b", 3)
        assert writer.events.stable_position() == 2
        assert [e.id for e in writer.events.scan()] == ["a", "a"]
        with store.unit_of_work() as reader:
            assert reader.events.stable_position() == 2
            assert [e.id for e in reader.events.scan()] == ["a", "a"]
        writer.commit()
    with store.unit_of_work() as uow:
        assert uow.events.stable_position() == 5
        whole = uow.events.scan()
        assert [e.position for e in uow.events.scan(after=whole[1].position, limit=2)] == [3, 4]
        assert uow.events.scan(limit=0) == []


def test_reads_page_through_long_streams(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_adapter, "_PAGE", 2)
    commit_append(store, "Goal", "g-1", 5)
    with store.unit_of_work() as uow:
        for number in range(1, 6):
            uow.seals.add(seal(number))
        uow.commit()
    assert [e.version for e in read(store, "Goal", "g-1", after=0)] == [1, 2, 3, 4, 5]
    assert [e.version for e in read(store, "Goal", "g-1", after=3)] == [4, 5]
    with store.unit_of_work() as uow:
        assert [s.number for s in uow.seals.read(after=1)] == [2, 3, 4, 5]


def test_streams_pages_through_every_head_by_kind_and_id(store: SQLiteStore) -> None:
    names = [("Goal", "b"), ("Goal", "a"), ("Plan", "a"), ("Evaluation", "z"), ("Goal", "B")]
    for kind, id in names:
        commit_append(store, kind, id)
    seen: list[tuple[str, str]] = []
    after = None
    with store.unit_of_work() as uow:
        while page := uow.events.streams(after=after, limit=2):
            seen += [(head.kind, head.id) for head in page]
            after = seen[-1]
    assert seen == sorted(names)


# -- queries --------------------------------------------------------------------------------------


def test_find_compares_ids_and_values_exactly(store: SQLiteStore) -> None:
    commit_append(store, "Goal", "g-1", columns={"owner": "ana"})
    commit_append(store, "Goal", "G-1", columns={"owner": "ANA"})
    commit_append(store, "JobDescription", "jd-1", columns={"number": 3, "lineage": "l"})
    commit_append(store, "JobDescription", "jd-2", columns={"number": "3", "lineage": "l"})
    with store.unit_of_work() as uow:
        assert [h.id for h in uow.events.find("Goal", "owner", "ana")] == ["g-1"]
        assert [h.id for h in uow.events.find("Goal", "owner", "ANA")] == ["G-1"]
        assert uow.events.find("Goal", "owner", "Ana") == []
        assert [h.id for h in uow.events.find("JobDescription", "number", 3)] == ["jd-1"]
        assert [h.id for h in uow.events.find("JobDescription", "number", "3")] == ["jd-2"]
        found = uow.events.find("JobDescription", "lineage", "l")
        assert [h.columns["number"] for h in found] == [3, "3"]
        assert [h.id for h in uow.events.find("Goal", "manager", None)] == ["G-1", "g-1"]
        assert uow.events.find("Plan", "owner", "ana") == []
        with pytest.raises(ValidationError):
            uow.events.find("Goal", "boss", "ana")
        with pytest.raises(ValidationError):
            uow.events.find("Goal", "owner", 1.5)  # type: ignore[arg-type]


def test_queries_see_the_columns_each_append_rewrites(store: SQLiteStore) -> None:
    commit_append(store, "Goal", "g-1", state="draft", columns={"owner": "ana", "cycle": "c"})
    commit_append(store, "Goal", "g-2", state="draft", columns={"owner": "ana"})
    with store.unit_of_work() as uow:
        append(uow, "Goal", "g-1", state="active", columns={"owner": "bo"})
        # This unit of work sees its own heads; another does not, until the commit.
        assert [h.id for h in uow.events.find("Goal", "owner", "bo")] == ["g-1"]
        with store.unit_of_work() as other:
            assert [h.id for h in other.events.find("Goal", "owner", "ana")] == ["g-1", "g-2"]
        uow.commit()
    with store.unit_of_work() as uow:
        assert [h.id for h in uow.events.find("Goal", "owner", "ana")] == ["g-2"]
        assert [h.id for h in uow.events.find("Goal", "owner", "bo")] == ["g-1"]
        assert [h.id for h in uow.events.find("Goal", "state", "draft")] == ["g-2"]
        assert [h.id for h in uow.events.find("Goal", "state", "active")] == ["g-1"]
        assert uow.events.find("Goal", "cycle", "c") == []
        [head] = uow.events.find("Goal", "state", "active")
        assert (head.version, dict(head.columns)) == (2, {"owner": "bo"})


# -- erasure and triggers -------------------------------------------------------------------------


def test_erase_changes_only_the_bodies_and_the_chain_still_verifies(store: SQLiteStore) -> None:
    commit_append(store, "Goal", "g-1", 3)
    commit_append(store, "Goal", "g-2", 1)
    before = read(store, "Goal", "g-1")
    with store.unit_of_work() as uow:
        assert uow.events.erase("Goal", "g-1") == 3
        uow.rollback()
    assert read(store, "Goal", "g-1") == before
    with store.unit_of_work() as uow:
        assert uow.events.erase("Goal", "g-1") == 3
        assert uow.events.erase("Goal", "nobody") == 0
        uow.commit()
    after = read(store, "Goal", "g-1")
    for old, new in zip(before, after, strict=True):
        assert (new.header, new.hash, new.position, new.version) == (
            old.header,
            old.hash,
            old.position,
            old.version,
        )
        assert new.body == erased_body(old.body)
        assert new.erased
        with pytest.raises(StorageError):
            decode(new)
    assert chain_verifies(after)
    assert not read(store, "Goal", "g-2")[0].erased
    with store.unit_of_work() as uow:
        assert uow.events.erase("Goal", "g-1") == 0
        uow.commit()


@pytest.mark.parametrize(
    ("statement", "params"),
    [
        ("UPDATE events SET header = ? WHERE version = 1", (b"[]",)),
        ("UPDATE events SET hash = ? WHERE version = 1", (bytes(32),)),
        ("UPDATE events SET version = 9 WHERE version = 1", ()),
        ("UPDATE events SET position = 99 WHERE version = 1", ()),
        ("UPDATE events SET body = ? WHERE version = 1", (b"\x01" + bytes(40),)),
        ("UPDATE events SET body = ? WHERE version = 1", (b"\x00" + bytes(5),)),
        ("DELETE FROM events", ()),
        ("DELETE FROM streams", ()),
        ("UPDATE streams SET version = 1", ()),
        ("UPDATE streams SET id = 'other'", ()),
        (
            "INSERT INTO events (stream, version, schema, header, body, hash)"
            " SELECT key, 4, 1, x'', x'00', x'' FROM streams",
            (),
        ),
        (
            "INSERT INTO events (stream, version, schema, header, body, hash)"
            " SELECT key, 3, 1, x'', x'00', x'' FROM streams",
            (),
        ),
    ],
)
def test_triggers_keep_events_append_only_for_any_sql(
    store: SQLiteStore, statement: str, params: tuple[Any, ...]
) -> None:
    commit_append(store, "Goal", "g-1", 2)
    before = read(store, "Goal", "g-1")
    with raw(store._file) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(statement, params)
    assert read(store, "Goal", "g-1") == before


def test_triggers_let_a_body_be_erased_once_and_nothing_else(store: SQLiteStore) -> None:
    commit_append(store, "Goal", "g-1")
    [event] = read(store, "Goal", "g-1")
    with raw(store._file) as conn:
        conn.execute("UPDATE events SET body = ?", (erased_body(event.body),))
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE events SET body = ?", (b"\x00" + bytes(32),))
    assert read(store, "Goal", "g-1")[0].body == erased_body(event.body)


def test_triggers_keep_seals_append_only(store: SQLiteStore) -> None:
    with store.unit_of_work() as uow:
        uow.seals.add(seal(1))
        uow.commit()
    with raw(store._file) as conn:
        for statement in (
            "UPDATE seals SET upto = 7",
            "DELETE FROM seals",
            "INSERT INTO seals VALUES (3, 0, 0, x'', x'', x'', '2026-01-05T09:00:00+00:00')",
            "INSERT INTO seals VALUES (1, 0, 0, x'', x'', x'', '2026-01-05T09:00:00+00:00')",
        ):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(statement)


# -- snapshots, seals, outbox, idempotency --------------------------------------------------------


def test_snapshots_keep_the_newest(store: SQLiteStore) -> None:
    def snapshot(version: int) -> Snapshot:
        return Snapshot(kind="Goal", id="g-1", version=version, schema=2, data=b"v%d" % version)

    with store.unit_of_work() as uow:
        uow.snapshots.put(snapshot(2))
        uow.snapshots.put(snapshot(1))
        assert uow.snapshots.get("Goal", "g-1") == snapshot(2)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.snapshots.put(snapshot(1))
        assert uow.snapshots.get("Goal", "g-1") == snapshot(2)
        uow.snapshots.put(snapshot(5))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.snapshots.get("Goal", "g-1") == snapshot(5)
        uow.snapshots.delete("Goal", "g-1")
        assert uow.snapshots.get("Goal", "g-1") is None
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.snapshots.get("Goal", "g-1") is None


def test_a_seal_must_follow_the_last(store: SQLiteStore) -> None:
    with store.unit_of_work() as uow:
        assert uow.seals.last() is None
        with pytest.raises(ConcurrencyError) as refused:
            uow.seals.add(seal(2))
        assert (refused.value.aggregate_type, refused.value.aggregate_id) == (SEALS, "seals")
        uow.seals.add(seal(1))
        uow.commit()
    with store.unit_of_work() as first, store.unit_of_work() as second:
        assert first.seals.last() == second.seals.last() == seal(1)
        first.seals.add(seal(2, upto=4))
        first.commit()
        with pytest.raises(ConcurrencyError) as refused:
            second.seals.add(seal(2))
        assert (refused.value.expected_version, refused.value.actual_version) == (1, 2)
    with store.unit_of_work() as uow:
        assert uow.seals.last() == seal(2, upto=4)
        assert list(uow.seals.read()) == [seal(1), seal(2, upto=4)]
        with pytest.raises(ValidationError):
            uow.seals.add(attrs.evolve(seal(3), at=dt.datetime(2026, 1, 5)))


def test_outbox_and_idempotency_keep_their_semantics(store: SQLiteStore) -> None:
    note = Notification(
        id="n-1",
        kind="review_due",
        recipients=("ana",),
        aggregate_type="Goal",
        aggregate_id="g-1",
        version=1,
        at=AT,
        data={"due": "2026-02-01"},
    )
    first = IdempotencyRecord(
        key="req-1",
        fingerprint="f",
        aggregate_type="Goal",
        aggregate_id="g-1",
        version=1,
        at=AT,
    )
    with store.unit_of_work() as uow:
        uow.outbox.put(note)
        uow.idempotency.put(first)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.outbox.pending() == [note]
        assert uow.idempotency.get("req-1") == first
        with pytest.raises(ConcurrencyError) as taken:
            uow.idempotency.put(first)
        assert taken.value.aggregate_type == IDEMPOTENCY_KEY
        with pytest.raises(ConcurrencyError):
            uow.outbox.put(note)
        uow.outbox.mark_delivered("n-1", AT)
        uow.outbox.mark_delivered("n-1", AT)
        with pytest.raises(NotFound):
            uow.outbox.mark_delivered("n-2", AT)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.outbox.pending() == []


# -- locking --------------------------------------------------------------------------------------


def read_everything(uow: UnitOfWork) -> None:
    """Every read a unit of work offers, and an expectation."""
    uow.events.head("Goal", "g-1")
    list(uow.events.read("Goal", "g-1"))
    uow.events.find("Goal", "owner", "ana")
    uow.events.streams()
    uow.events.scan()
    uow.events.stable_position()
    uow.events.expect("Goal", "g-1", 1)
    uow.snapshots.get("Goal", "g-1")
    uow.seals.last()
    list(uow.seals.read())
    uow.outbox.pending()
    uow.idempotency.get("req-1")


def test_a_unit_of_work_that_only_reads_proceeds_while_another_holds_the_write_lock(
    path: Path,
) -> None:
    with SQLiteStore(path, busy_timeout_ms=0) as store:
        commit_append(store, "Goal", "g-1", columns={"owner": "ana"})
        with raw(path) as writer:
            writer.execute("BEGIN IMMEDIATE")
            with store.unit_of_work() as uow:
                read_everything(uow)
                uow.commit()
            with store.unit_of_work() as uow, pytest.raises(DatabaseBusy):
                append(uow, "Goal", "g-1")
            writer.execute("ROLLBACK")


def test_a_unit_of_work_that_only_reads_takes_no_lock(path: Path) -> None:
    with SQLiteStore(path, busy_timeout_ms=0) as store:
        commit_append(store, "Goal", "g-1", columns={"owner": "ana"})
        with store.unit_of_work() as reader:
            read_everything(reader)
            # The reader is still open: a writer neither waits nor fails.
            with raw(path) as writer:
                writer.execute("BEGIN IMMEDIATE")
                writer.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")
                writer.execute("COMMIT")
            commit_append(store, "Goal", "g-1")
            reader.rollback()


def test_the_first_write_takes_the_write_lock_until_the_end(path: Path) -> None:
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        # Nothing to erase, but the write lock is taken before anything is read.
        assert uow.events.erase("Goal", "nobody") == 0
        with raw(path, timeout=0) as other:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            uow.rollback()
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")


# -- errors ---------------------------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_corrupt(path: Path) -> None:
    path.write_bytes(b"this is a spreadsheet, honest\n" * 200)
    with pytest.raises(DatabaseCorrupt) as refused:
        SQLiteStore(path)
    assert "not a SQLite database" in str(refused.value)


def test_a_missing_directory_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable):
        SQLiteStore(tmp_path / "no" / "such" / "dir" / "db.sqlite3")


def test_a_read_only_store_refuses_writes(path: Path) -> None:
    with SQLiteStore(path) as store:
        commit_append(store, "Goal", "g-1")
    with SQLiteStore(path, read_only=True) as store:
        assert [e.version for e in read(store, "Goal", "g-1")] == [1]
        with store.unit_of_work() as uow, pytest.raises(DatabaseReadOnly):
            append(uow, "Goal", "g-1")


@pytest.mark.parametrize(
    ("stored", "error"),
    [(str(schema.SCHEMA_VERSION + 1), UnsupportedSchema), ("2b", DatabaseCorrupt)],
)
def test_a_newer_or_unknown_schema_is_refused_and_left_alone(
    path: Path, stored: str, error: type[Exception]
) -> None:
    SQLiteStore(path).close()
    with raw(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (stored,))
    with pytest.raises(error):
        SQLiteStore(path)
    with raw(path) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone() == (stored,)


def test_a_damaged_event_row_is_unreadable(store: SQLiteStore) -> None:
    commit_append(store, "Goal", "g-1")
    with raw(store._file) as conn:
        conn.execute("DROP TRIGGER events_only_erasure")
        conn.execute("UPDATE events SET header = 'text, not bytes'")
    with pytest.raises(UnreadableRecord) as unreadable:
        read(store, "Goal", "g-1")
    assert unreadable.value.record == "Goal 'g-1' event 1"


def test_errors_survive_pickle() -> None:
    for error in (
        UnreadableRecord("Goal 'g-1' event 1", "its header is not bytes"),
        LegacyLogTampered("entry 3 was changed", "edited", 3, "/data/hr.sqlite3"),
        DatabaseBusy("busy", code="SQLITE_BUSY", path="/data/hr.sqlite3"),
    ):
        copied = pickle.loads(pickle.dumps(error))
        assert (type(copied), str(copied), vars(copied)) == (type(error), str(error), vars(error))


def test_a_memory_store_lives_as_long_as_the_store() -> None:
    with SQLiteStore() as store:
        commit_append(store, "Goal", "g-1")
        assert [e.version for e in read(store, "Goal", "g-1")] == [1]
        folder = store._file.parent
    assert not folder.exists()
    with pytest.raises(StorageError):
        store.unit_of_work()


# -- the schema -----------------------------------------------------------------------------------


def test_the_streams_have_a_column_for_every_index_column() -> None:
    assert schema.STREAM_COLUMNS == INDEX_COLUMNS


def test_schema_1_is_as_the_first_release_shipped_it() -> None:
    statements = schema.MIGRATIONS[0]
    assert all(isinstance(s, str) for s in statements)
    text = "\n".join(str(s) for s in statements)
    assert hashlib.sha256(text.encode()).hexdigest() == VERSION_1_DIGEST
    assert schema.SCHEMA_VERSION == 3


def test_a_new_database_has_the_schema_2_tables(store: SQLiteStore) -> None:
    with raw(store._file) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert conn.execute("SELECT value FROM meta").fetchone() == (str(schema.SCHEMA_VERSION),)
    assert {"streams", "events", "snapshots", "seals", "outbox", "idempotency"} <= tables
    assert "legacy_audit_log" in tables
    assert "aggregates" not in tables
    with store.unit_of_work() as uow:
        assert uow.events.streams() == []  # no LegacyAuditLog stream: nothing was migrated


# -- migrating a database of the first release ----------------------------------------------------


def copy_golden(tmp_path: Path) -> Path:
    target = tmp_path / "schema1.sqlite3"
    shutil.copyfile(GOLDEN / "schema1.sqlite3", target)
    return target


def legacy_rows(path: Path) -> list[tuple[Any, ...]]:
    with raw(path) as conn:
        table = "legacy_audit_log" if _has_table(conn, "legacy_audit_log") else "audit_log"
        return conn.execute(f"SELECT * FROM {table} ORDER BY sequence").fetchall()


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    return found is not None


def anchor_of(store: SQLiteStore) -> Mapping[str, Any]:
    [event] = read(store, legacy.LEGACY_KIND, legacy.LEGACY_STREAM)
    decoded = decode(event)
    assert (decoded.trigger, decoded.to_state, decoded.actor_id) == (
        "migrate",
        "migrated",
        "perfcore",
    )
    payload: Mapping[str, Any] = decoded.payload["set"]
    return payload


def test_the_first_release_file_is_migrated_on_open(tmp_path: Path) -> None:
    path = copy_golden(tmp_path)
    old_log = legacy_rows(path)
    with SQLiteStore(path) as store:
        with store.unit_of_work() as uow:
            heads = {(h.kind, h.id): h for h in uow.events.streams()}
            pending = uow.outbox.pending()
            key = uow.idempotency.get("req-1")
        everything = scan(store)
        anchor = anchor_of(store)
    assert {name: (h.version, h.state) for name, h in heads.items()} == {
        ("Goal", "g-1"): (4, "active"),
        ("Goal", "G-1"): (1, "draft"),
        ("JobDescription", "jd-1"): (2, "in_feedback"),
        ("Plan", "p-1"): (2, "submitted"),
        ("Evaluation", "e-1"): (2, "self_review"),
        ("ReviewCycle", "c-2026"): (1, "planned"),
        ("LegacyAuditLog", "v1"): (1, "migrated"),
    }
    assert dict(heads[("Goal", "G-1")].columns) == {
        "owner": "ANA",
        "manager": "ben",
        "person": "ANA",
    }
    assert dict(heads[("JobDescription", "jd-1")].columns) == {
        "lineage": "jd-1",
        "number": 1,
        "employee": "ana",
        "person": "ana",
    }
    # The events, in the old log's order, then the anchor; each as the old log held it.
    assert len(everything) == len(old_log) + 1
    for event, row in zip(everything, old_log, strict=False):
        assert decode(event) == event_from_json_data(json.loads(row[1]))
    assert (everything[-1].kind, everything[-1].id) == ("LegacyAuditLog", "v1")
    for kind, id in heads:
        assert chain_verifies([e for e in everything if (e.kind, e.id) == (kind, id)])
    assert anchor == {"head": old_log[-1][3], "entries": len(old_log), "scheme": 1}
    assert [n.kind for n in pending] == ["feedback_opened", "evaluation_opened"]
    assert key is not None
    assert (key.aggregate_id, key.version) == ("g-1", 3)
    with raw(path) as conn:
        assert not _has_table(conn, "aggregates")
        assert conn.execute("SELECT value FROM meta").fetchone() == (str(schema.SCHEMA_VERSION),)
        for statement in (
            "DELETE FROM legacy_audit_log",
            "UPDATE legacy_audit_log SET hash = ''",
            "INSERT INTO legacy_audit_log SELECT sequence + 100, event, previous_hash, hash,"
            " scheme FROM legacy_audit_log WHERE sequence = 1",
        ):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(statement)
    assert legacy_rows(path) == old_log
    with SQLiteStore(path) as again:  # opening it again changes nothing
        assert len(scan(again)) == len(everything)


def test_a_read_only_store_will_not_migrate(tmp_path: Path) -> None:
    path = copy_golden(tmp_path)
    with pytest.raises(DatabaseReadOnly, match="open it once without read_only"):
        SQLiteStore(path, read_only=True)
    with raw(path) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone() == ("1",)


def test_two_stores_opening_an_old_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = copy_golden(tmp_path)
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def open_it() -> None:
        start.wait()
        try:
            SQLiteStore(path, busy_timeout_ms=30_000).close()
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with SQLiteStore(path) as store:
        assert len(read(store, legacy.LEGACY_KIND, legacy.LEGACY_STREAM)) == 1


# A schema-1 database built here from the golden envelopes of the first release, its audit log
# chained as the first release's perfcore.audit.chain did.

#: Each type's schema-1 query columns, and the attributes they were read from.
V1_ATTRIBUTES = {
    "JobDescription": {"lineage": "lineage_id", "number": "number", "employee": "employee_id"},
    "Goal": {"owner": "owner_id", "manager": "manager_id"},
    "Plan": {"subject": "subject_id", "cycle": "cycle_id"},
    "Evaluation": {"subject": "subject_id", "cycle": "cycle_id"},
    "ReviewCycle": {},
}
V1_COLUMNS = ("owner", "manager", "subject", "lineage", "number", "employee", "cycle")


#: The types of perfcore 0.1, whose schema 1 envelopes held their history (a type added since
#: starts at schema 1 without one).
V1_TYPES = ("JobDescription", "Goal", "Plan", "Evaluation", "ReviewCycle")


def golden_envelopes() -> list[dict[str, Any]]:
    files = [
        file for file in sorted(GOLDEN.glob("*.v1.*.json")) if file.name.split(".")[0] in V1_TYPES
    ]
    assert len(files) > 20
    return [json.loads(file.read_text(encoding="utf-8")) for file in files]


def chain_v1(events: Sequence[Mapping[str, Any]], key: bytes | None) -> list[list[Any]]:
    """Audit rows for ``events`` (their JSON), as the first release chained them."""
    scheme = 1 if key is None else 2
    rows: list[list[Any]] = []
    previous = ""
    for sequence, event in enumerate(events, start=1):
        digest = legacy.entry_hash(
            scheme=scheme, sequence=sequence, event=event, previous_hash=previous, key=key
        )
        rows.append([sequence, canonical_json(event), previous, digest, scheme])
        previous = digest
    return rows


def write_schema_1(
    path: Path,
    envelopes: Sequence[Mapping[str, Any]],
    *,
    key: bytes | None = None,
    tamper: Callable[[list[list[Any]]], list[list[Any]]] | None = None,
) -> list[list[Any]]:
    """A database as the first release left it; its audit rows."""
    rows = chain_v1([e for env in envelopes for e in env["data"]["history"]], key)
    if tamper is not None:
        rows = tamper(rows)
    conn = raw(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for statement in schema.MIGRATIONS[0]:
            conn.execute(str(statement))
        schema.write_version(conn, 1)
        for envelope in envelopes:
            data, kind = envelope["data"], envelope["type"]
            columns = [
                data.get(V1_ATTRIBUTES[kind][c]) if c in V1_ATTRIBUTES[kind] else None
                for c in V1_COLUMNS
            ]
            conn.execute(
                "INSERT INTO aggregates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    data["id"],
                    data["version"],
                    data["state"],
                    *columns,
                    canonical_json(envelope),
                ),
            )
        conn.executemany("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return rows


def test_every_golden_envelope_becomes_a_stream_of_its_history(path: Path) -> None:
    envelopes = golden_envelopes()
    rows = write_schema_1(path, envelopes)
    with SQLiteStore(path, audit_key=KEY) as store:
        everything = scan(store)
        for envelope in envelopes:
            data = envelope["data"]
            events = read(store, envelope["type"], data["id"])
            assert [decode(e) for e in events] == [event_from_json_data(e) for e in data["history"]]
            assert chain_verifies(events, KEY)
            assert not chain_verifies(events)
            with store.unit_of_work() as uow:
                head = uow.events.head(envelope["type"], data["id"])
            assert head is not None
            assert (head.version, head.state) == (
                data["version"],
                data["state"],
            )
        assert anchor_of(store) == {"head": rows[-1][3], "entries": len(rows), "scheme": 1}
        with store.unit_of_work() as uow:
            [evaluation] = uow.events.find("Evaluation", "state", "acknowledged")
            assert evaluation.columns["person"] == "ana"
    assert [e.position for e in everything] == list(range(1, len(rows) + 2))


def test_a_keyed_old_log_needs_its_key(path: Path) -> None:
    rows = write_schema_1(path, golden_envelopes()[:3], key=LEGACY_KEY)
    with pytest.raises(LegacyLogTampered) as refused:
        SQLiteStore(path)
    assert refused.value.problem == "unverifiable"
    assert "legacy_audit_key" in str(refused.value)
    with SQLiteStore(path, legacy_audit_key=LEGACY_KEY) as store:
        assert anchor_of(store) == {"head": rows[-1][3], "entries": len(rows), "scheme": 2}


def edit_entry(rows: list[list[Any]]) -> list[list[Any]]:
    event = json.loads(rows[4][1])
    event["actor_id"] = "mallory"
    rows[4][1] = canonical_json(event)
    return rows


def drop_last(rows: list[list[Any]]) -> list[list[Any]]:
    return rows[:-1]


def rehash_from(rows: list[list[Any]]) -> list[list[Any]]:
    """Change entry 5's event and recompute every hash from there: only the objects show it."""
    edit_entry(rows)
    return chain_v1([json.loads(row[1]) for row in rows], None)


@pytest.mark.parametrize(
    ("tamper", "problem", "sequence"),
    [(edit_entry, "edited", 5), (drop_last, "truncated", None), (rehash_from, "edited", 5)],
)
def test_a_tampered_old_log_is_refused_and_nothing_changes(
    path: Path,
    tamper: Callable[[list[list[Any]]], list[list[Any]]],
    problem: str,
    sequence: int | None,
) -> None:
    write_schema_1(path, golden_envelopes()[:4], tamper=tamper)
    with pytest.raises(LegacyLogTampered) as refused:
        SQLiteStore(path)
    assert refused.value.problem == problem
    if sequence is not None:
        assert refused.value.sequence == sequence
    assert refused.value.path == str(path.resolve())
    with raw(path) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone() == ("1",)
        assert _has_table(conn, "aggregates")
        assert not _has_table(conn, "events")


def test_a_tampered_old_log_is_migrated_on_request_saying_what_was_wrong(path: Path) -> None:
    envelopes = golden_envelopes()[:4]
    rows = write_schema_1(path, envelopes, tamper=edit_entry)
    with pytest.raises(LegacyLogTampered) as refused:
        SQLiteStore(path)
    with SQLiteStore(path, migrate_tampered=True) as store:
        anchor = anchor_of(store)
        events = read(store, envelopes[0]["type"], envelopes[0]["data"]["id"])
        # The streams are the objects' own histories, not the edited log.
        history = envelopes[0]["data"]["history"]
        assert [decode(e) for e in events] == [event_from_json_data(e) for e in history]
    assert anchor == {
        "head": rows[-1][3],
        "entries": len(rows),
        "scheme": 1,
        "tampered": refused.value.detail,
    }


def test_an_unreadable_old_object_is_refused(path: Path) -> None:
    envelopes = golden_envelopes()[:2]
    write_schema_1(path, envelopes)
    with raw(path) as conn:
        conn.execute("UPDATE aggregates SET envelope = '{\"type\": ' WHERE rowid = 1")
    with pytest.raises(UnreadableRecord, match="schema-1"):
        SQLiteStore(path)
    with raw(path) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone() == ("1",)


def test_the_keys_must_be_bytes(path: Path) -> None:
    for name in ("audit_key", "legacy_audit_key"):
        with pytest.raises(ValidationError):
            SQLiteStore(path, **{name: "secret"})  # type: ignore[arg-type]
    store = SQLiteStore(path)
    store.close()
    with pytest.raises(StorageError, match="closed"):
        store.unit_of_work()
