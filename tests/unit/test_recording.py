"""How events are recorded: stable bytes, a chain that shows any change, upcasting on read."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from perfcore import recording
from perfcore.errors import StorageError
from perfcore.ports import RecordedEvent, erased_body
from perfcore.recording import decode, encode, expected_hash, record
from perfcore.testing.drivers import drivers

GOLDEN = Path(__file__).parents[1] / "adapters" / "golden" / "events"


def _golden(path: Path) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            kind=row["kind"],
            id=row["id"],
            version=row["version"],
            schema=row["schema"],
            header=row["header"].encode("utf-8"),
            body=base64.b64decode(row["body"]),
            hash=bytes.fromhex(row["hash"]),
        )
        for row in json.loads(path.read_text(encoding="utf-8"))
    ]


GOLDEN_FILES = sorted(GOLDEN.glob("*.json"))
#: Events as perfcore stored them before their shapes changed (schema 1 of Goal.create and the
#: rest, :mod:`perfcore._event_shapes`): they are never rewritten, and must still be read.
SCHEMA_1_FILES = sorted((GOLDEN / "schema1").glob("*.json"))


def test_there_is_a_golden_history_for_every_type() -> None:
    assert {path.name.split(".")[0] for path in GOLDEN_FILES} == set(drivers())


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda path: path.stem)
def test_golden_events_decode_to_the_history_a_driver_builds(path: Path) -> None:
    type_name, state = path.stem.split(".")
    expected = drivers()[type_name].reach(state, id=f"golden-{state}").history
    assert [decode(recorded) for recorded in _golden(path)] == list(expected)


@pytest.mark.parametrize("path", SCHEMA_1_FILES, ids=lambda path: path.stem)
def test_events_stored_before_a_shape_changed_are_upcast_to_the_history_built_today(
    path: Path,
) -> None:
    type_name, state = path.stem.split(".")
    stored = _golden(path)
    assert stored[0].schema < recording.schema_of(stored[0].kind, "create")
    expected = drivers()[type_name].reach(state, id=f"golden-{state}").history
    assert [decode(recorded) for recorded in stored] == list(expected)
    previous = b""
    for recorded in stored:  # their bytes, as stored, still chain
        assert expected_hash(recorded, previous) == recorded.hash
        previous = recorded.hash


def test_there_are_events_of_every_shape_that_changed() -> None:
    assert {path.name.split(".")[0] for path in SCHEMA_1_FILES} == {
        "Evaluation",
        "Goal",
        "JobDescription",
        "Plan",
    }


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda path: path.stem)
def test_golden_events_still_chain(path: Path) -> None:
    previous = b""
    for recorded in _golden(path):
        assert expected_hash(recorded, previous) == recorded.hash
        previous = recorded.hash


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda path: path.stem)
def test_golden_events_are_the_bytes_written_today(path: Path) -> None:
    previous = b""
    for stored in _golden(path):
        again = encode(decode(stored), previous, salt=stored.body[1:17])
        assert again == stored
        previous = stored.hash


def test_a_newer_perfcore_upcasts_old_events_on_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A later release adds a field to a goal's creation: events stored today are read in the
    new shape, and the stored bytes are never rewritten (their hashes still hold)."""
    stored = _golden(GOLDEN / "Goal.achieved.json")
    before = [recorded.body for recorded in stored]
    now = recording.schema_of("Goal", "create")
    monkeypatch.setitem(recording.EVENT_SCHEMAS, ("Goal", "create"), now + 1)

    def add_confidence(data: dict[str, Any]) -> dict[str, Any]:
        data["payload"]["set"]["title"] = data["payload"]["set"]["title"] + " (v2)"
        return data

    monkeypatch.setitem(recording._UPCASTERS, ("Goal", "create", now), add_confidence)
    created = decode(stored[0])
    assert created.payload["set"]["title"].endswith(" (v2)")
    assert [recorded.body for recorded in stored] == before
    assert expected_hash(stored[0], b"") == stored[0].hash
    assert decode(stored[1]).payload == {}


def test_an_event_of_a_newer_schema_is_refused_with_a_clear_error() -> None:
    recorded = _golden(GOLDEN / "Goal.active.json")[0]
    newer = RecordedEvent(
        kind=recorded.kind,
        id=recorded.id,
        version=recorded.version,
        schema=7,
        header=recorded.header,
        body=recorded.body,
        hash=recorded.hash,
    )
    with pytest.raises(StorageError, match="upgrade perfcore"):
        decode(newer)


def test_a_missing_upcaster_is_a_storage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    now = recording.schema_of("Goal", "create")
    monkeypatch.setitem(recording.EVENT_SCHEMAS, ("Goal", "create"), now + 1)
    with pytest.raises(StorageError, match="no upcaster"):
        decode(_golden(GOLDEN / "Goal.active.json")[0])


def test_every_part_of_an_event_is_in_its_hash() -> None:
    goal = drivers()["Goal"].reach("achieved")
    recorded = record(goal.history, b"")
    last = recorded[-1]
    previous = recorded[-2].hash
    changes = {
        "kind": "Plan",
        "id": last.id + "x",
        "version": last.version + 1,
        "schema": 2,
        "header": last.header.replace(b"ben", b"bem"),
        "body": last.body[:-2] + b"0]",
    }
    for field, value in changes.items():
        changed = RecordedEvent(**{**_fields(last), field: value})
        assert expected_hash(changed, previous) != last.hash, field
    assert expected_hash(last, recorded[0].hash) != last.hash


def _fields(recorded: RecordedEvent) -> dict[str, Any]:
    return {
        "kind": recorded.kind,
        "id": recorded.id,
        "version": recorded.version,
        "schema": recorded.schema,
        "header": recorded.header,
        "body": recorded.body,
        "hash": recorded.hash,
    }


def test_a_keyed_chain_differs_from_an_unkeyed_one() -> None:
    event = drivers()["Goal"].reach("draft").history[0]
    plain = encode(event, b"", salt=bytes(16))
    keyed = encode(event, b"", key=b"secret", salt=bytes(16))
    assert plain.hash != keyed.hash
    assert expected_hash(keyed, b"", key=b"secret") == keyed.hash
    assert expected_hash(keyed, b"") != keyed.hash


def test_an_erased_event_still_chains_but_cannot_be_read() -> None:
    event = drivers()["Goal"].reach("draft").history[0]
    recorded = encode(event, b"")
    erased = RecordedEvent(**{**_fields(recorded), "body": erased_body(recorded.body)})
    assert erased.erased
    assert not recorded.erased
    assert expected_hash(erased, b"") == recorded.hash
    assert b"Resolve" not in erased.body
    with pytest.raises(StorageError, match="erased"):
        decode(erased)


def test_two_recordings_of_one_event_differ_in_salt_only() -> None:
    event = drivers()["Goal"].reach("draft").history[0]
    first, second = encode(event, b""), encode(event, b"")
    assert first.header == second.header
    assert first.body[17:] == second.body[17:]
    assert first.body[1:17] != second.body[1:17]
    assert decode(first) == decode(second) == event


def test_a_damaged_body_is_a_storage_error_naming_the_event() -> None:
    event = drivers()["Goal"].reach("draft").history[0]
    recorded = encode(event, b"")
    damaged = RecordedEvent(**{**_fields(recorded), "body": recorded.body[:-5]})
    with pytest.raises(StorageError, match=r"Goal .* event 1"):
        decode(damaged)
