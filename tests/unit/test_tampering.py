"""Tampering with a store and what ``verify_store`` reports: the kind of fault, and the first
bad object, version, position and seal.

On SQLite, the attacker works on the file with raw SQL, dropping the append-only triggers first
(as anyone with the file can); the audit key, when there is one, they do not have. On the memory
store, a property test flips one byte (or bit) anywhere in one stored event or seal.

The store every SQLite test starts from (three goals, interleaved, snapshots every 2 events)::

    position  1 2 3 | 4 5 6 | 7 8 9 | 10 11 | 12
    event     g-1   | g-2   | g-3   | g-2   | g-1
    version   1 2 3 | 1 2 3 | 1 2 3 | 4  5  | 4

sealed five events at a time: seal 1 covers positions 1-5, seal 2 6-10, seal 3 11-12.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from perfcore.adapters.memory import MemoryStore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.audit import AuditCheckpoint, AuditProblem, AuditReport, verify_store
from perfcore.goal import Goal
from perfcore.ports import RecordedEvent, Seal, Store
from perfcore.recording import chain_hash, decode
from perfcore.streams import DERIVED_COLUMNS, Streams
from perfcore.testing.drivers import driver_for
from perfcore.testing.drivers.goal import OWNER

AT = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
KEY = b"a secret only the HR system holds"


# -- the store ------------------------------------------------------------------------------------


def _save(store: Store, goal: Goal, loaded: int | None, key: bytes | None) -> None:
    with store.unit_of_work() as uow:
        Streams(uow, key=key, snapshot_every=2).save(goal, loaded=loaded)
        uow.commit()


def _check_in(store: Store, id: str, times: int, key: bytes | None) -> None:
    with store.unit_of_work() as uow:
        goal = Streams(uow, key=key).get("Goal", id)
    assert isinstance(goal, Goal)
    changed = goal
    for n in range(times):
        changed = changed.check_in(by=OWNER, at=AT, on=AT.date(), value=n + 1)
    _save(store, changed, goal.version, key)


def _seal(store: Store, key: bytes | None, limit: int) -> None:
    from perfcore.audit import seal

    while True:
        with store.unit_of_work() as uow:
            if seal(uow, key=key, at=AT, limit=limit) is None:
                return
            uow.commit()


def build(store: Store, key: bytes | None, *, sealed: bool = True) -> None:
    driver = driver_for("Goal")
    for id in ("g-1", "g-2", "g-3"):
        _save(store, driver.reach("active", id=id), None, key)
    _check_in(store, "g-2", 2, key)
    _check_in(store, "g-1", 1, key)
    if sealed:
        _seal(store, key, limit=5)


@pytest.fixture(params=[None, KEY], ids=["sha256", "hmac"])
def key(request: pytest.FixtureRequest) -> bytes | None:
    value: bytes | None = request.param
    return value


@pytest.fixture
def path(tmp_path: Path, key: bytes | None) -> Path:
    file = tmp_path / "store.db"
    store = SQLiteStore(file)
    build(store, key)
    store.close()
    return file


@pytest.fixture
def unsealed(tmp_path: Path, key: bytes | None) -> Path:
    file = tmp_path / "unsealed.db"
    store = SQLiteStore(file)
    build(store, key, sealed=False)
    store.close()
    return file


def verify(path: Path, key: bytes | None, **options: Any) -> AuditReport:
    store = SQLiteStore(path)
    try:
        return verify_store(store, key=key, **options)
    finally:
        store.close()


def checkpoint(path: Path, key: bytes | None) -> AuditCheckpoint:
    report = verify(path, key)
    assert report.intact, report
    assert report.checkpoint is not None
    return report.checkpoint


# -- the attacker ---------------------------------------------------------------------------------


class Raw:
    """Raw SQL on the file, the append-only triggers dropped."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        names = self.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        for (name,) in names.fetchall():
            self.db.execute(f'DROP TRIGGER "{name}"')

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.commit()
        self.db.close()

    def stream(self, id: str) -> int:
        (key,) = self.db.execute(
            "SELECT key FROM streams WHERE kind = 'Goal' AND id = ?", (id,)
        ).fetchone()
        return int(key)

    def event(self, id: str, version: int) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT position, schema, header, body, hash FROM events"
            " WHERE stream = ? AND version = ?",
            (self.stream(id), version),
        ).fetchone()
        return dict(zip(("position", "schema", "header", "body", "hash"), row, strict=True))

    def set_event(self, position: int, **values: Any) -> None:
        for column, value in values.items():
            self.db.execute(f"UPDATE events SET {column} = ? WHERE position = ?", (value, position))

    def delete_events(self, where: str, *args: object) -> None:
        self.db.execute(f"DELETE FROM events WHERE {where}", args)

    def set_head(self, id: str, **values: Any) -> None:
        for column, value in values.items():
            self.db.execute(
                f"UPDATE streams SET {column} = ? WHERE kind = 'Goal' AND id = ?", (value, id)
            )

    def head_back_to(self, id: str, version: int) -> None:
        """Set a stream's head back to ``version``, consistently (its hash, state and the
        columns worked out from the goal as it stood then), and drop snapshots after it."""
        event = self.event(id, version)
        state = json.loads(event["header"])[2]
        self.set_head(id, version=version, hash=event["hash"], state=state)
        rows = self.db.execute(
            "SELECT version, schema, header, body, hash FROM events"
            " WHERE stream = ? AND version <= ? ORDER BY version",
            (self.stream(id), version),
        ).fetchall()
        history = [
            decode(RecordedEvent(kind="Goal", id=id, version=v, schema=n, header=h, body=b, hash=x))
            for v, n, h, b, x in rows
        ]
        then = DERIVED_COLUMNS["Goal"](Goal.replay(history))
        self.set_head(id, **then)
        self.db.execute(
            "DELETE FROM snapshots WHERE kind = 'Goal' AND id = ? AND version > ?", (id, version)
        )

    def swap(self, first: int, second: int) -> None:
        self.db.execute("UPDATE events SET position = -1 WHERE position = ?", (first,))
        self.db.execute("UPDATE events SET position = ? WHERE position = ?", (first, second))
        self.db.execute("UPDATE events SET position = ? WHERE position = -1", (second,))

    def set_seal(self, number: int, **values: Any) -> None:
        for column, value in values.items():
            self.db.execute(f"UPDATE seals SET {column} = ? WHERE number = ?", (value, number))

    def seal(self, number: int) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT upto, count, streams, previous_hash, hash FROM seals WHERE number = ?",
            (number,),
        ).fetchone()
        return dict(zip(("upto", "count", "streams", "previous_hash", "hash"), row, strict=True))

    def rechain(self, id: str, start: int, *, header: bytes | None = None) -> None:
        """Rewrite event ``start`` of a stream (its reason, or its header), and recompute the
        stream's chain from there with plain SHA-256, and its head: what someone without the
        key can do."""
        event = self.event(id, start)
        if header is not None:
            self.set_event(event["position"], header=header)
        else:
            body = bytes(event["body"])
            _reason, payload = json.loads(body[17:])
            forged = json.dumps(["forged", payload], separators=(",", ":"), sort_keys=True)
            self.set_event(event["position"], body=body[:17] + forged.encode())
        previous = b"" if start == 1 else bytes(self.event(id, start - 1)["hash"])
        (last,) = self.db.execute(
            "SELECT version FROM streams WHERE key = ?", (self.stream(id),)
        ).fetchone()
        for version in range(start, last + 1):
            row = self.event(id, version)
            previous = chain_hash(
                previous,
                "Goal",
                id,
                version,
                row["schema"],
                bytes(row["header"]),
                hashlib.sha256(bytes(row["body"])).digest(),
            )
            self.set_event(row["position"], hash=previous)
        self.set_head(id, hash=previous)

    def reseal(self, start: int) -> None:
        """Recompute the seals from ``start`` on with plain SHA-256, over what is there now."""
        from perfcore.audit import seal_hash

        rows = self.db.execute(
            "SELECT number, upto, count, streams FROM seals WHERE number >= ? ORDER BY number",
            (start,),
        ).fetchall()
        previous = b"" if start == 1 else bytes(self.seal(start - 1)["hash"])
        low = 0 if start == 1 else self.seal(start - 1)["upto"]
        for number, upto, count, streams in rows:
            events = [
                RecordedEvent(
                    kind="",
                    id="",
                    version=1,
                    schema=1,
                    header=b"",
                    body=b"",
                    hash=bytes(h),
                    position=p,
                )
                for p, h in self.db.execute(
                    "SELECT position, hash FROM events WHERE position > ? AND position <= ?"
                    " ORDER BY position",
                    (low, upto),
                )
            ]
            digest = seal_hash(
                previous_hash=previous,
                number=number,
                upto=upto,
                count=count,
                streams=bytes(streams),
                events=events,
            )
            self.set_seal(number, previous_hash=previous, hash=digest)
            previous, low = digest, upto


def where(report: AuditReport) -> tuple[Any, ...]:
    return (report.problem, report.kind, report.id, report.version, report.position, report.seal)


def broken(report: AuditReport) -> AuditReport:
    assert not report.intact, report
    assert not report
    assert report.checkpoint is None
    assert report.detail
    return report


# -- the events -----------------------------------------------------------------------------------


def test_the_untouched_store_is_intact(path: Path, key: bytes | None) -> None:
    report = verify(path, key)
    assert report.intact, report
    assert (report.events, report.streams, report.seals) == (12, 3, 3)


def test_an_edited_header_is_found_at_its_event(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        event = raw.event("g-2", 2)
        raw.set_event(5, header=bytes(event["header"]).replace(b'"ana"', b'"eve"'))
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.EVENT_EDITED, "Goal", "g-2", 2, 5, None)


def test_an_edited_body_is_found_at_its_event(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        body = bytes(raw.event("g-3", 1)["body"])
        assert b"tickets" in body
        raw.set_event(7, body=body.replace(b"tickets", b"tockets", 1))
    report = broken(verify(path, key, replay=False))
    assert where(report) == (AuditProblem.EVENT_EDITED, "Goal", "g-3", 1, 7, None)


def test_an_edited_chain_hash_is_found_at_its_event(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.set_event(12, hash=bytes(32))
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.EVENT_EDITED, "Goal", "g-1", 4, 12, None)


def test_a_forger_without_the_key_is_caught(path: Path, key: bytes | None) -> None:
    # The reason of g-3's event 2 rewritten, g-3's chain and head recomputed with SHA-256.
    with Raw(path) as raw:
        raw.rechain("g-3", 2)
    report = broken(verify(path, key))
    if key is not None:  # the chain needs the key
        assert where(report) == (AuditProblem.EVENT_EDITED, "Goal", "g-3", 2, 8, None)
    else:  # the chain holds, the seal over the chain hashes does not
        assert where(report) == (AuditProblem.REORDERED, None, None, None, 6, 2)
        assert "recomputed" in report.detail


def test_a_forger_who_also_reseals_is_caught_by_a_checkpoint(path: Path, key: bytes | None) -> None:
    saw = checkpoint(path, key)
    with Raw(path) as raw:
        raw.rechain("g-3", 2)
        raw.reseal(2)
    if key is None:  # a whole rewritten log holds together: only the checkpoint tells
        assert verify(path, key).intact
    else:
        assert where(broken(verify(path, key)))[:4] == (
            AuditProblem.EVENT_EDITED,
            "Goal",
            "g-3",
            2,
        )
    report = broken(verify(path, key, checkpoint=saw))
    assert where(report) == (AuditProblem.SEAL_EDITED, None, None, None, None, 3)


def test_an_unreadable_event_with_a_recomputed_chain_is_unreadable(
    unsealed: Path, key: bytes | None
) -> None:
    with Raw(unsealed) as raw:
        raw.rechain("g-3", 2, header=b'["check_in", "active"')
    report = broken(verify(unsealed, key))
    if key is not None:
        assert where(report)[:4] == (AuditProblem.EVENT_EDITED, "Goal", "g-3", 2)
    else:
        assert where(report)[:4] == (AuditProblem.UNREADABLE, "Goal", "g-3", 2)
        assert where(verify(unsealed, key, replay=False)) == (None,) * 6


@pytest.mark.parametrize(
    "header",
    [
        # A transition the table does not have (proposed -> achieved).
        b'["propose","draft","achieved","ana","2026-03-01T12:00:00+00:00"]',
        # A state the event before did not leave (from active, not draft).
        b'["propose","active","proposed","ana","2026-03-01T12:00:00+00:00"]',
        # A time without a time zone.
        b'["propose","draft","proposed","ana","2026-03-01T12:00:00"]',
        # JSON, with a space the canonical form has not (read by the careful check: intact).
        b'["propose", "draft","proposed","ana","2026-03-01T12:00:00+00:00"]',
    ],
    ids=["transition", "from-state", "naive-time", "spaced"],
)
def test_a_history_that_does_not_replay_with_a_recomputed_chain(
    unsealed: Path, key: bytes | None, header: bytes
) -> None:
    """What the replay checks of a history, the fast check's fold checks too: each such event
    goes to the careful check, which reports it as before."""
    with Raw(unsealed) as raw:
        raw.rechain("g-3", 2, header=header)
    report = verify(unsealed, key)
    if key is not None:
        assert where(broken(report))[:4] == (AuditProblem.EVENT_EDITED, "Goal", "g-3", 2)
    elif b" " in header:
        assert report.intact, report
    else:
        assert (broken(report).problem, report.kind, report.id) == (
            AuditProblem.UNREADABLE,
            "Goal",
            "g-3",
        )
        assert verify(unsealed, key, replay=False).intact


def test_an_event_gone_from_the_middle_of_a_stream(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.delete_events("position = 8")
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.EVENT_MISSING, "Goal", "g-3", 2, None, None)


def test_two_events_of_one_stream_swapped(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.swap(10, 11)  # g-2's events 4 and 5
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.REORDERED, "Goal", "g-2", 5, 10, None)


def test_two_events_of_two_streams_swapped(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.swap(6, 7)  # g-2's event 3 and g-3's event 1: each stream still in order
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.REORDERED, None, None, None, 6, 2)


# -- the state: heads and snapshots ---------------------------------------------------------------


def test_an_edited_head_state_is_found(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.set_head("g-3", state="achieved")
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.STATE_EDITED, "Goal", "g-3", 3, None, None)
    assert verify(path, key, replay=False).intact  # only a replay can tell


def test_an_edited_head_column_is_found(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.set_head("g-1", owner="eve", person="eve")
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.STATE_EDITED, "Goal", "g-1", 4, None, None)
    assert "column" in report.detail


def test_an_edited_head_hash_is_found(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.set_head("g-2", hash=bytes(32))
    report = broken(verify(path, key, replay=False))
    assert where(report) == (AuditProblem.STATE_EDITED, "Goal", "g-2", 5, None, None)


@pytest.mark.parametrize(("id", "version"), [("g-2", 5), ("g-3", 3)])
def test_an_edited_snapshot_is_found(path: Path, key: bytes | None, id: str, version: int) -> None:
    with Raw(path) as raw:
        (data, at) = raw.db.execute(
            "SELECT data, version FROM snapshots WHERE kind = 'Goal' AND id = ?", (id,)
        ).fetchone()
        assert at == version
        goal = json.loads(data)
        goal["target"] = "20"  # the goal's target, edited where the store loads it from
        raw.db.execute(
            "UPDATE snapshots SET data = ? WHERE kind = 'Goal' AND id = ?",
            (json.dumps(goal).encode(), id),
        )
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.STATE_EDITED, "Goal", id, version, None, None)
    assert "'target'" in report.detail
    assert '"20"' not in report.detail
    assert verify(path, key, replay=False).intact


def test_a_snapshot_that_is_not_an_object_is_found(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.db.execute("UPDATE snapshots SET data = x'7b' WHERE kind = 'Goal' AND id = 'g-1'")
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.STATE_EDITED, "Goal", "g-1", 4, None, None)


# -- streams rolled back or removed ---------------------------------------------------------------


def test_a_stream_rolled_back_after_sealing(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.delete_events("position IN (10, 11)")  # g-2's events 4 and 5
        raw.head_back_to("g-2", 3)
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.STREAM_ROLLED_BACK, "Goal", "g-2", 4, None, 2)


def test_a_stream_whose_last_events_are_gone_behind_its_head(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.delete_events("position = 12")  # g-1's event 4, its head left at 4
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.STREAM_ROLLED_BACK, "Goal", "g-1", 4, None, 3)
    with Raw(path) as raw:
        raw.db.execute("DELETE FROM seals")
    report = broken(verify(path, key))  # no seal: the head still shows it
    assert where(report) == (AuditProblem.STREAM_ROLLED_BACK, "Goal", "g-1", 4, None, None)


def test_a_head_set_back_over_remaining_events(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.head_back_to("g-2", 3)
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.STREAM_ROLLED_BACK, "Goal", "g-2", 4, 10, None)


def test_a_whole_stream_deleted_after_sealing(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        stream = raw.stream("g-3")
        raw.delete_events("stream = ?", stream)
        raw.db.execute("DELETE FROM streams WHERE key = ?", (stream,))
        raw.db.execute("DELETE FROM snapshots WHERE id = 'g-3'")
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.STREAM_MISSING, "Goal", "g-3", 3, None, 2)


def test_a_head_deleted_while_its_events_stay(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.db.execute("DELETE FROM streams WHERE id = 'g-3'")
    report = broken(verify(path, key))  # the store's scan no longer finds g-3's events either
    assert where(report) == (AuditProblem.STREAM_MISSING, "Goal", "g-3", 3, None, 2)


@pytest.mark.parametrize("sealed", [True, False])
def test_events_whose_head_is_gone_are_found(sealed: bool) -> None:
    store = MemoryStore()
    build(store, None, sealed=sealed)
    hidden = _Flipped(store, lambda one: one, lambda one: one, hide=("Goal", "g-3"))
    report = broken(verify_store(hidden))  # type: ignore[arg-type]
    assert where(report) == (AuditProblem.STREAM_MISSING, "Goal", "g-3", 1, 7, None)


def test_unsealed_rollbacks_and_removals_show_against_a_checkpoint(
    unsealed: Path, key: bytes | None
) -> None:
    saw = checkpoint(unsealed, key)
    with Raw(unsealed) as raw:
        raw.delete_events("position IN (10, 11)")
        raw.head_back_to("g-2", 3)
        stream = raw.stream("g-3")
        raw.delete_events("stream = ?", stream)
        raw.db.execute("DELETE FROM streams WHERE key = ?", (stream,))
        raw.db.execute("DELETE FROM snapshots WHERE id = 'g-3'")
    # Documented: events after the last seal are covered by their streams and a checkpoint.
    assert verify(unsealed, key).intact
    report = broken(verify(unsealed, key, checkpoint=saw))
    assert where(report) == (AuditProblem.TAIL_CUT, None, None, None, 12, None)
    assert "5 of the 12 events" in report.detail


# -- the tail -------------------------------------------------------------------------------------


def _cut_after(raw: Raw, position: int) -> None:
    """Delete every event after ``position`` and set the heads back to match."""
    raw.delete_events("position > ?", position)
    for id in ("g-1", "g-2", "g-3"):
        stream = raw.stream(id)
        (last,) = raw.db.execute(
            "SELECT MAX(version) FROM events WHERE stream = ?", (stream,)
        ).fetchone()
        raw.head_back_to(id, last)
    raw.db.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'", (position,))


def test_the_tail_cut_off_after_sealing(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        _cut_after(raw, 8)
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.TAIL_CUT, None, None, None, 9, 2)


def test_the_tail_cut_off_with_the_heads_left_alone(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.delete_events("position > 8")
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.TAIL_CUT, None, None, None, 9, 2)


def test_the_unsealed_tail_cut_off_shows_against_a_checkpoint(
    unsealed: Path, key: bytes | None
) -> None:
    saw = checkpoint(unsealed, key)
    with Raw(unsealed) as raw:
        _cut_after(raw, 8)
    assert verify(unsealed, key).intact
    report = broken(verify(unsealed, key, checkpoint=saw))
    assert where(report) == (AuditProblem.TAIL_CUT, None, None, None, 12, None)


# -- the seals ------------------------------------------------------------------------------------


def test_a_seal_hash_edited(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.set_seal(2, hash=bytes(32))
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.SEAL_EDITED, None, None, None, None, 2)


def test_a_seal_count_edited(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.set_seal(1, count=4)
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.SEAL_EDITED, None, None, None, 1, 1)


@pytest.mark.parametrize("version", [3, 5])
def test_a_seal_manifest_edited(path: Path, key: bytes | None, version: int) -> None:
    with Raw(path) as raw:
        streams = bytes(raw.seal(3)["streams"])
        assert streams == b'[["Goal","g-1",4],["Goal","g-2",5]]'
        raw.set_seal(3, streams=streams.replace(b'"g-1",4', f'"g-1",{version}'.encode()))
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.SEAL_EDITED, None, None, None, None, 3)


def test_a_seal_link_edited(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.set_seal(3, previous_hash=bytes(32))
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.SEAL_EDITED, None, None, None, None, 3)


def test_a_seal_deleted_from_the_middle(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.db.execute("DELETE FROM seals WHERE number = 2")
    report = broken(verify(path, key))
    assert where(report) == (AuditProblem.SEAL_EDITED, None, None, None, None, 2)


def test_the_last_seal_deleted_or_edited_shows_against_a_checkpoint(
    path: Path, key: bytes | None
) -> None:
    saw = checkpoint(path, key)
    with Raw(path) as raw:
        raw.set_seal(3, hash=bytes(32))
    report = broken(verify(path, key))  # not which: the last seal's hash, or its range
    assert (report.problem, report.seal) == (AuditProblem.REORDERED, 3)
    report = broken(verify(path, key, checkpoint=saw))
    assert where(report) == (AuditProblem.SEAL_EDITED, None, None, None, None, 3)
    with Raw(path) as raw:
        raw.db.execute("DELETE FROM seals WHERE number = 3")
    assert verify(path, key).intact  # the log is as sealing it twice would have left it
    report = broken(verify(path, key, checkpoint=saw))
    assert where(report) == (AuditProblem.SEAL_EDITED, None, None, None, None, 3)


def test_a_checkpoint_the_log_no_longer_reaches(path: Path, key: bytes | None) -> None:
    saw = checkpoint(path, key)
    far = attrs.evolve(saw, position=saw.position + 5, count=saw.count + 1)
    report = broken(verify(path, key, checkpoint=far))
    assert where(report) == (AuditProblem.TAIL_CUT, None, None, None, 17, None)
    more = attrs.evolve(saw, count=saw.count - 1)
    report = broken(verify(path, key, checkpoint=more))
    assert where(report) == (AuditProblem.REORDERED, None, None, None, 12, None)


# -- one flipped byte, anywhere -------------------------------------------------------------------


def _memory_store(key: bytes | None) -> MemoryStore:
    store = MemoryStore()
    build(store, key)
    _check_in(store, "g-3", 2, key)  # an unsealed tail
    return store


STORES = {None: _memory_store(None), KEY: _memory_store(KEY)}


def _flip_bytes(value: bytes, index: int, bit: int) -> bytes:
    if not value:
        return b"\x00"
    index %= len(value)
    return value[:index] + bytes((value[index] ^ (1 << bit),)) + value[index + 1 :]


def _flip(value: object, index: int, bit: int) -> object:
    if isinstance(value, bytes):
        return _flip_bytes(value, index, bit)
    if isinstance(value, str):
        flipped = _flip_bytes(value.encode(), index, bit % 7)
        return flipped.decode("utf-8", errors="replace")
    assert isinstance(value, int)
    return value ^ (1 << (index % 40))


class _Flipped:
    """A memory store seen with one field of one stored event or seal flipped."""

    def __init__(
        self,
        store: MemoryStore,
        event: Callable[[RecordedEvent], RecordedEvent],
        seal: Callable[[Seal], Seal],
        hide: tuple[str, str] | None = None,
    ) -> None:
        self.store = store
        self.event = event
        self.seal = seal
        self.hide = hide

    def unit_of_work(self) -> Any:
        flipped = self
        uow = self.store.unit_of_work()

        class Events:
            def __getattr__(self, name: str) -> Any:
                return getattr(uow.events, name)

            def read(self, kind: str, id: str, *, after: int = 0) -> Iterator[RecordedEvent]:
                return map(flipped.event, uow.events.read(kind, id, after=after))

            def scan(self, *, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
                return [flipped.event(one) for one in uow.events.scan(after=after, limit=limit)]

            def head(self, kind: str, id: str) -> Any:
                return None if (kind, id) == flipped.hide else uow.events.head(kind, id)

            def streams(self, **page: Any) -> list[Any]:
                found = uow.events.streams(**page)
                return [one for one in found if (one.kind, one.id) != flipped.hide]

        class Seals:
            def last(self) -> Seal | None:
                found = uow.seals.last()
                return None if found is None else flipped.seal(found)

            def read(self, *, after: int = 0) -> Iterator[Seal]:
                return map(flipped.seal, uow.seals.read(after=after))

        class Work:
            events = Events()
            seals = Seals()

            def __getattr__(self, name: str) -> Any:
                return getattr(uow, name)

            def __enter__(self) -> Any:
                uow.__enter__()
                return self

            def __exit__(self, *exc: Any) -> None:
                uow.__exit__(*exc)

        return Work()


EVENT_FIELDS = ("header", "body", "hash", "kind", "id", "version", "schema")
SEAL_FIELDS = ("streams", "previous_hash", "hash", "upto", "count", "number")


@settings(deadline=None)
# A manifest flipped to name a version 0, which no seal covers (it once crashed the report).
@example(keyed=False, target=("seal", 2, "streams"), index=1170, bit=2, replay=False)
@given(
    keyed=st.booleans(),
    target=st.one_of(
        st.tuples(st.just("event"), st.integers(1, 14), st.sampled_from(EVENT_FIELDS)),
        st.tuples(st.just("seal"), st.integers(1, 3), st.sampled_from(SEAL_FIELDS)),
    ),
    index=st.integers(0, 10_000),
    bit=st.integers(0, 7),
    replay=st.booleans(),
)
def test_one_flipped_byte_in_any_event_or_seal_is_reported(
    keyed: bool, target: tuple[str, int, str], index: int, bit: int, replay: bool
) -> None:
    key = KEY if keyed else None
    store = STORES[key]
    what, which, field = target

    def event(one: RecordedEvent) -> RecordedEvent:
        if what != "event" or one.position != which:
            return one
        changed: dict[str, Any] = {field: _flip(getattr(one, field), index, bit)}
        return attrs.evolve(one, **changed)

    def seal(one: Seal) -> Seal:
        if what != "seal" or one.number != which:
            return one
        changed: dict[str, Any] = {field: _flip(getattr(one, field), index, bit)}
        return attrs.evolve(one, **changed)

    assert verify_store(store, key=key).intact
    report = verify_store(_Flipped(store, event, seal), key=key, replay=replay)  # type: ignore[arg-type]
    assert not report.intact, (target, report)
    assert report.problem is not None
    if what == "event":
        with store.unit_of_work() as uow:
            [original] = [one for one in uow.events.scan(limit=100) if one.position == which]
        assert (report.kind, report.id, report.version) == ("Goal", original.id, original.version)


def test_a_head_marked_erased_over_bodies_that_are_not(path: Path, key: bytes | None) -> None:
    with Raw(path) as raw:
        raw.set_head("g-3", erased=1)
    report = broken(verify(path, key))  # the store refuses to load it
    assert where(report) == (AuditProblem.UNREADABLE, "Goal", "g-3", 3, None, None)
    assert verify(path, key, replay=False).intact  # only a load can tell
