"""Erasing a person's personal data, and exporting everything stored about them: the log still
verifies, nothing of the erased content can be read back or exported, and an erased body
without an erasure record is reported (memory and SQLite)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perfcore._codec import to_json_data
from perfcore.actor import Actor, Role
from perfcore.adapters.memory import MemoryStore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.audit import AuditProblem, seal, verify_store
from perfcore.erasure import ERASURE, ErasureReport, erase_person, export_person, person_kinds
from perfcore.errors import StorageError, ValidationError
from perfcore.goal import Goal
from perfcore.ports import Store, erased_body
from perfcore.recording import decode
from perfcore.serialization import event_to_json_data
from perfcore.streams import Streams, history_of
from perfcore.testing.drivers import EPOCH, driver_for
from perfcore.testing.drivers.goal import OWNER

#: Reads name their reader: HR reads everything.
READER = Actor(id="hr-reader", roles={"hr"})

AT = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
KEY = b"a secret only the HR system holds"
BEN = Actor(id="ben", roles={Role.EMPLOYEE, Role.MANAGER})
#: What ana's goal says, which must be gone once her data is erased.
SECRET = "Resolve more tickets"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "e.db")
    yield made
    made.close()


def cy_goal(id: str) -> Goal:
    """A goal of cy's, drafted by her manager ben."""
    return Goal.create(
        id=id,
        by=BEN,
        at=EPOCH,
        owner_id="cy",
        manager_id="ben",
        title="Ship the release",
        baseline=0,
        target=3,
        start=EPOCH.date(),
        due=EPOCH.date() + dt.timedelta(days=90),
    )


def save(store: Store, obj: Any, *, loaded: int | None = None, key: bytes | None = None) -> None:
    with store.unit_of_work() as uow:
        Streams(uow, key=key, snapshot_every=2).save(obj, loaded=loaded)
        uow.commit()


def build(store: Store, key: bytes | None = None) -> None:
    """ana's goal (with check-ins and snapshots) and plan, and cy's goal; sealed."""
    goal = driver_for("Goal").reach("active", id="g-1")
    save(store, goal, key=key)
    changed = goal
    for n in range(3):
        changed = changed.check_in(by=OWNER, at=AT, on=AT.date(), value=n, note=f"week {n}")
    save(store, changed, loaded=goal.version, key=key)
    save(store, driver_for("Plan").reach("active", id="p-1"), key=key)
    save(store, cy_goal("g-2"), key=key)
    seal_all(store, key)


def seal_all(store: Store, key: bytes | None) -> None:
    while True:
        with store.unit_of_work() as uow:
            if seal(uow, key=key, at=AT, limit=4) is None:
                return
            uow.commit()


def erase(store: Store, person: str, key: bytes | None = None) -> ErasureReport:
    with store.unit_of_work() as uow:
        report = erase_person(uow, person, by="hana", at=AT, reason="request 42", key=key)
        uow.commit()
    return report


def stored_bytes(store: Store) -> bytes:
    """Every event and snapshot the store gives back, as one blob to search."""
    parts: list[bytes] = []
    with store.unit_of_work() as uow:
        for event in uow.events.scan(limit=100_000):
            parts += [event.header, event.body]
            snapshot = uow.snapshots.get(event.kind, event.id)
            if snapshot is not None:
                parts.append(snapshot.data)
    return b"\n".join(parts)


# -- erasing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, KEY], ids=["sha256", "hmac"])
def test_erasing_a_person_keeps_a_log_that_verifies(store: Store, key: bytes | None) -> None:
    build(store, key)
    assert SECRET.encode() in stored_bytes(store)
    report = erase(store, "ana", key)
    assert report == ErasureReport(
        person_id="ana",
        streams=(("Goal", "g-1"), ("Plan", "p-1")),
        events=6 + 4,
        version=1,
        at=AT,
    )
    for replay in (True, False):
        verified = verify_store(store, key=key, replay=replay)
        assert verified.intact, verified
        assert (verified.events, verified.streams) == (6 + 4 + 1 + 1, 4)
    seal_all(store, key)  # the erasure record is sealed like any event
    assert verify_store(store, key=key).intact


def test_nothing_of_the_erased_content_can_be_read_back(store: Store) -> None:
    build(store)
    erase(store, "ana")
    assert SECRET.encode() not in stored_bytes(store)
    assert b"week 1" not in stored_bytes(store)
    with store.unit_of_work() as uow:
        for kind, id in (("Goal", "g-1"), ("Plan", "p-1")):
            assert uow.snapshots.get(kind, id) is None
            assert all(event.erased for event in uow.events.read(kind, id))
            with pytest.raises(StorageError, match="erased"):
                Streams(uow).load(kind, id)
            with pytest.raises(StorageError, match="erased"):
                history_of(uow, kind, id)
        # Who did what when stays; so do the others' objects.
        headers = [json.loads(event.header) for event in uow.events.read("Goal", "g-1")]
        assert [header[0] for header in headers][:3] == ["create", "propose", "approve"]
        assert Streams(uow).get("Goal", "g-2") == cy_goal("g-2")
        head = uow.events.head("Goal", "g-1")
        assert head is not None
        assert head.version == 6


def test_the_erasure_is_recorded(store: Store) -> None:
    build(store)
    erase(store, "ana")
    second = erase(store, "ana")  # nothing left to erase: recorded all the same
    assert (second.version, second.events) == (2, 0)
    with store.unit_of_work() as uow:
        events = [decode(recorded) for recorded in uow.events.read(ERASURE, "ana")]
        head = uow.events.head(ERASURE, "ana")
    assert [(e.trigger, e.from_state, e.to_state, e.actor_id) for e in events] == [
        ("erase", None, "erased", "hana"),
        ("erase", "erased", "erased", "hana"),
    ]
    assert events[0].payload == {"set": {"streams": [["Goal", "g-1"], ["Plan", "p-1"]]}}
    assert events[0].reason == "request 42"
    assert head is not None
    assert (head.state, head.version, dict(head.columns).get("person")) == ("erased", 2, "ana")
    assert verify_store(store).intact


def test_erasing_someone_with_no_data_records_it_only(store: Store) -> None:
    build(store)
    report = erase(store, "nobody")
    assert (report.streams, report.events) == ((), 0)
    assert verify_store(store).intact


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"person_id": " "}, "person_id"),
        ({"by": ""}, "by"),
        ({"at": dt.datetime(2026, 3, 1)}, "at"),
        ({"reason": None}, "reason"),
    ],
)
def test_erase_refuses_bad_arguments(arguments: dict[str, Any], field: str) -> None:
    store = MemoryStore()
    given: dict[str, Any] = {"by": "hana", "at": AT, "reason": "", "key": None}
    given.update(arguments)
    person = given.pop("person_id", "ana")
    with store.unit_of_work() as uow, pytest.raises(ValidationError) as raised:
        erase_person(uow, person, **given)
    assert raised.value.field == field


def test_the_person_kinds_are_those_with_a_data_subject() -> None:
    # A survey is nobody's: its answers are no one's personal data, and who took part is in the
    # events they fired (an export's actions).
    assert person_kinds() == ("JobDescription", "Goal", "Plan", "Evaluation", "Note")


# -- erased without a record ----------------------------------------------------------------------


def test_an_erased_body_without_a_record_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    store = SQLiteStore(path)
    build(store)
    store.close()
    # The one update the triggers allow (an erasure), made without erase_person.
    with sqlite3.connect(path) as raw:
        position, body = raw.execute(
            "SELECT position, body FROM events WHERE version = 1 AND stream ="
            " (SELECT key FROM streams WHERE kind = 'Goal' AND id = 'g-2')"
        ).fetchone()
        raw.execute(
            "UPDATE events SET body = ? WHERE position = ?", (erased_body(bytes(body)), position)
        )
    raw.close()
    store = SQLiteStore(path)
    report = verify_store(store, replay=False)
    assert (report.problem, report.kind, report.id, report.version, report.position) == (
        AuditProblem.ERASED_WITHOUT_RECORD,
        "Goal",
        "g-2",
        1,
        position,
    )
    assert "'cy'" in report.detail
    store.close()


def test_an_erasure_record_covers_only_the_streams_it_names(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    store = SQLiteStore(path)
    build(store)
    erase(store, "ana")
    later = driver_for("Goal").reach("active", id="g-3")  # ana's again, after the erasure
    save(store, later)
    assert verify_store(store).intact
    store.close()
    with sqlite3.connect(path) as raw:
        rows = raw.execute(
            "SELECT position, body FROM events WHERE stream ="
            " (SELECT key FROM streams WHERE kind = 'Goal' AND id = 'g-3')"
        ).fetchall()
        for position, body in rows:
            raw.execute(
                "UPDATE events SET body = ? WHERE position = ?",
                (erased_body(bytes(body)), position),
            )
    raw.close()
    store = SQLiteStore(path)
    report = verify_store(store)
    assert (report.problem, report.kind, report.id, report.version) == (
        AuditProblem.ERASED_WITHOUT_RECORD,
        "Goal",
        "g-3",
        1,
    )
    store.close()


def test_an_erased_body_is_still_held_to_its_digest(store: Store) -> None:
    build(store)
    erase(store, "ana")
    with store.unit_of_work() as uow:
        first = next(iter(uow.events.read("Goal", "g-1")))
    assert first.body[:1] == b"\x00"
    assert len(first.body) == 1 + hashlib.sha256().digest_size


# -- exporting ------------------------------------------------------------------------------------


def test_the_export_holds_every_object_about_the_person_and_their_actions(store: Store) -> None:
    build(store)
    exported = export_person_of(store, "ana")
    assert exported["person"] == "ana"
    assert [(one["kind"], one["id"], one["erased"]) for one in exported["objects"]] == [
        ("Goal", "g-1", False),
        ("Plan", "p-1", False),
    ]
    with store.unit_of_work() as uow:
        goal = Streams(uow).get("Goal", "g-1")
        history = history_of(uow, "Goal", "g-1")
    goal_export = exported["objects"][0]
    assert goal_export["object"] == to_json_data(goal)
    assert goal_export["events"] == [event_to_json_data(event) for event in history]
    assert exported["actions"] == []  # ana acted only on her own goal and plan
    assert exported["erasures"] == []
    json.dumps(exported)  # JSON data throughout
    # Others' exports show what they did in ana's streams, and in their own.
    cleo = export_person_of(store, "cleo")
    assert [(a["aggregate_type"], a["trigger"]) for a in cleo["actions"]] == [("Plan", "approve")]
    assert cleo["objects"] == []
    ben = export_person_of(store, "ben")
    assert [(a["aggregate_type"], a["aggregate_id"], a["trigger"]) for a in ben["actions"]] == [
        ("Goal", "g-1", "approve"),
        ("Plan", "p-1", "create"),
        ("Plan", "p-1", "submit"),
        ("Goal", "g-2", "create"),
    ]


def test_the_export_after_erasure_shows_nothing_of_the_content(store: Store) -> None:
    build(store)
    erase(store, "ana")
    exported = export_person_of(store, "ana")
    text = json.dumps(exported)
    assert SECRET not in text
    assert "week 1" not in text
    objects = exported["objects"]
    assert [(one["kind"], one["id"], one["erased"]) for one in objects] == [
        ("Goal", "g-1", True),
        ("Plan", "p-1", True),
    ]
    assert "object" not in objects[0]
    assert [event["trigger"] for event in objects[0]["events"]] == [
        "create",
        "propose",
        "approve",
        "check_in",
        "check_in",
        "check_in",
    ]
    assert set(objects[0]["events"][0]) == {
        "aggregate_type",
        "aggregate_id",
        "version",
        "trigger",
        "from_state",
        "to_state",
        "actor_id",
        "at",
        "erased",
    }
    [record] = exported["erasures"]
    assert (record["trigger"], record["reason"]) == ("erase", "request 42")
    # ben's approval of ana's goal keeps its header; its body went with ana's data.
    ben = export_person_of(store, "ben")
    approve = ben["actions"][0]
    assert (approve["aggregate_id"], approve["trigger"], approve["erased"]) == (
        "g-1",
        "approve",
        True,
    )
    assert "reason" not in approve
    assert ben["actions"][-1]["payload"]["set"]["title"] == "Ship the release"
    hana = export_person_of(store, "hana")
    assert [(a["aggregate_type"], a["aggregate_id"]) for a in hana["actions"]] == [(ERASURE, "ana")]


def test_export_refuses_a_blank_person(store: Store) -> None:
    with store.unit_of_work() as uow, pytest.raises(ValidationError):
        export_person(uow, "")


def export_person_of(store: Store, person: str) -> dict[str, Any]:
    with store.unit_of_work() as uow:
        return export_person(uow, person)


def test_an_object_erased_by_one_process_is_not_served_from_another_process_cache() -> None:
    """Two application servers on one store: the second has the goal cached when the first
    erases its owner's data; its next read refuses, though the stream's version did not move."""
    import datetime as dt

    from perfcore import Actor, Erased, Perfcore
    from perfcore.adapters.memory import MemoryStore

    store = MemoryStore()
    first, second = Perfcore(store), Perfcore(store)
    ana = Actor(id="ana")
    first.goals.create(
        by=ana, id="g-1", owner_id="ana", manager_id="ben", title="Faster replies",
        metric="hours", baseline=8, target=2, direction="decrease",
        start=dt.date(2026, 1, 5), due=dt.date(2026, 6, 30),
    )  # fmt: skip
    assert second.goals.get("g-1", by=READER).title == "Faster replies"  # now in the second's cache
    first.erase_person("ana", by=Actor(id="hana", roles={"hr"}), reason="request 17")
    with pytest.raises(Erased):
        second.goals.get("g-1", by=READER)
