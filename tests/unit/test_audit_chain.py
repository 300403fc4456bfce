"""Seals over the global order, and the verification of an intact store (memory and SQLite):
what a seal covers and how its hash is made, gaps that are not deletions, checkpoints, keys,
commands committing during a verification, and random histories that always verify."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcore import audit
from perfcore._aggregate import Aggregate
from perfcore.actor import Actor, Role
from perfcore.adapters.memory import MemoryStore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.audit import (
    AuditCheckpoint,
    AuditProblem,
    AuditReport,
    manifest,
    seal,
    seal_hash,
    verify_store,
)
from perfcore.errors import ConcurrencyError, ValidationError
from perfcore.events import Event
from perfcore.goal import Goal
from perfcore.ports import (
    SEALS,
    RawEventReads,
    RecordedEvent,
    Seal,
    Store,
    StreamHead,
    UnitOfWork,
)
from perfcore.recording import record
from perfcore.streams import Streams
from perfcore.testing.drivers import driver_for, drivers
from perfcore.testing.drivers.goal import OWNER

AT = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
KEY = b"a secret only the HR system holds"

StoreFactory = Callable[[], Store]


@pytest.fixture(params=["memory", "sqlite"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    made: list[Store] = []

    def make() -> Store:
        store: Store = (
            MemoryStore()
            if request.param == "memory"
            else SQLiteStore(tmp_path / f"perfcore-{len(made)}.db")
        )
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


# -- building a store -----------------------------------------------------------------------------


def save(
    store: Store,
    obj: Aggregate,
    *,
    loaded: int | None = None,
    key: bytes | None = None,
    snapshot_every: int = 100,
) -> None:
    with store.unit_of_work() as uow:
        Streams(uow, key=key, snapshot_every=snapshot_every).save(obj, loaded=loaded)
        uow.commit()


def check_in(
    store: Store, id: str, times: int = 1, *, key: bytes | None = None, snapshot_every: int = 100
) -> Goal:
    with store.unit_of_work() as uow:
        streams = Streams(uow, key=key, snapshot_every=snapshot_every)
        goal = streams.get("Goal", id)
        assert isinstance(goal, Goal)
        changed = goal
        for n in range(times):
            changed = changed.check_in(by=OWNER, at=AT, on=AT.date(), value=n + 1)
        streams.save(changed, loaded=goal.version)
        uow.commit()
    return changed


def seal_all(store: Store, *, key: bytes | None = None, limit: int = 10_000) -> list[Seal]:
    made: list[Seal] = []
    while True:
        with store.unit_of_work() as uow:
            one = seal(uow, key=key, at=AT, limit=limit)
            if one is None:
                return made
            uow.commit()
        made.append(one)


def goals(store: Store, *ids: str, key: bytes | None = None) -> None:
    driver = driver_for("Goal")
    for id in ids:
        save(store, driver.reach("active", id=id), key=key)


def scan(store: Store) -> list[RecordedEvent]:
    with store.unit_of_work() as uow:
        return list(uow.events.scan(limit=100_000))


def intact(report: AuditReport) -> AuditReport:
    assert report.intact, report
    assert report.problem is None
    return report


# -- seals ----------------------------------------------------------------------------------------


def test_an_empty_store_is_intact_and_has_nothing_to_seal(new_store: StoreFactory) -> None:
    store = new_store()
    assert seal_all(store) == []
    report = intact(verify_store(store))
    assert (report.events, report.streams, report.seals) == (0, 0, 0)
    assert report.checkpoint == AuditCheckpoint(seal=0, seal_hash=b"", position=0, count=0)
    assert intact(verify_store(store, checkpoint=report.checkpoint))


def test_a_seal_covers_every_committed_event_and_names_each_stream(
    new_store: StoreFactory,
) -> None:
    store = new_store()
    goals(store, "g-1", "g-2")
    check_in(store, "g-1", 2)
    [made] = seal_all(store)
    events = scan(store)
    streams = b'[["Goal","g-1",5],["Goal","g-2",3]]'
    assert (made.number, made.upto, made.count, made.streams) == (
        1,
        events[-1].position,
        8,
        streams,
    )
    assert (made.previous_hash, made.at) == (b"", AT)
    # The hash, as the module's docstring spells it out.
    data = b"".join(
        (
            (0).to_bytes(4, "big"),
            (1).to_bytes(8, "big"),
            made.upto.to_bytes(8, "big"),
            (8).to_bytes(8, "big"),
            len(streams).to_bytes(8, "big"),
            streams,
            *(event.position.to_bytes(8, "big") + event.hash for event in events),
        )
    )
    assert made.hash == hashlib.sha256(data).digest()
    with store.unit_of_work() as uow:
        assert uow.seals.last() == made


def test_a_keyed_seal_is_an_hmac_chained_to_the_seal_before(new_store: StoreFactory) -> None:
    store = new_store()
    goals(store, "g-1", key=KEY)
    [first] = seal_all(store, key=KEY)
    goals(store, "g-2", key=KEY)
    [second] = seal_all(store, key=KEY)
    covered = [event for event in scan(store) if event.position > first.upto]
    assert (second.number, second.previous_hash, second.count) == (2, first.hash, 3)
    data = b"".join(
        (
            (32).to_bytes(4, "big"),
            first.hash,
            (2).to_bytes(8, "big"),
            second.upto.to_bytes(8, "big"),
            (3).to_bytes(8, "big"),
            len(second.streams).to_bytes(8, "big"),
            second.streams,
            *(event.position.to_bytes(8, "big") + event.hash for event in covered),
        )
    )
    assert second.hash == hmac.new(KEY, data, hashlib.sha256).digest()
    assert second.hash == seal_hash(
        previous_hash=first.hash,
        number=2,
        upto=second.upto,
        count=3,
        streams=second.streams,
        events=covered,
        key=KEY,
    )


def test_the_manifest_is_canonical_and_sorted() -> None:
    versions = {("Plan", "p-1"): 2, ("Goal", "g-2"): 1, ("Goal", "g-10"): 4}
    assert manifest(versions) == b'[["Goal","g-10",4],["Goal","g-2",1],["Plan","p-1",2]]'
    assert manifest({}) == b"[]"


def test_a_long_tail_is_sealed_in_batches_of_at_most_limit(new_store: StoreFactory) -> None:
    store = new_store()
    goals(store, "g-1", "g-2", "g-3")
    made = seal_all(store, limit=4)
    assert [one.count for one in made] == [4, 4, 1]
    assert [one.number for one in made] == [1, 2, 3]
    assert made[1].previous_hash == made[0].hash
    assert made[2].previous_hash == made[1].hash
    positions = [event.position for event in scan(store)]
    assert [one.upto for one in made] == [positions[3], positions[7], positions[8]]
    assert made[0].streams == b'[["Goal","g-1",3],["Goal","g-2",1]]'
    report = intact(verify_store(store))
    assert (report.events, report.seals) == (9, 3)


class _Narrowed:
    """A unit of work whose store says a lower stable position (writes still in flight)."""

    def __init__(self, uow: UnitOfWork, stable: int) -> None:
        self._uow = uow
        self._stable = stable

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)

    @property
    def events(self) -> Any:
        narrowed = self

        class Events:
            def __getattr__(self, name: str) -> Any:
                return getattr(narrowed._uow.events, name)

            def stable_position(self) -> int:
                return narrowed._stable

        return Events()


def test_a_seal_stops_at_the_stable_position(new_store: StoreFactory) -> None:
    store = new_store()
    goals(store, "g-1", "g-2")
    positions = [event.position for event in scan(store)]
    with store.unit_of_work() as uow:
        first = seal(_Narrowed(uow, positions[3]), key=None, at=AT)
        assert first is not None
        uow.commit()
    assert (first.upto, first.count) == (positions[3], 4)
    with store.unit_of_work() as uow:
        assert seal(_Narrowed(uow, positions[3]), key=None, at=AT) is None
    [second] = seal_all(store)
    assert (second.upto, second.count) == (positions[-1], 2)
    intact(verify_store(store))


def test_two_sealers_racing_one_wins_and_the_other_tries_again() -> None:
    store = MemoryStore()  # SQLite has one writer: the second would wait for the first
    goals(store, "g-1")
    with store.unit_of_work() as first, store.unit_of_work() as second:
        assert seal(first, key=None, at=AT) is not None
        assert seal(second, key=None, at=AT) is not None
        first.commit()
        with pytest.raises(ConcurrencyError) as raised:
            second.commit()
    assert raised.value.aggregate_type == SEALS
    assert seal_all(store) == []
    assert intact(verify_store(store)).seals == 1


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"key": "text"}, "key"),
        ({"key": b""}, "key"),
        ({"at": dt.datetime(2026, 3, 1)}, "at"),
        ({"limit": 0}, "limit"),
    ],
)
def test_seal_refuses_bad_arguments(arguments: dict[str, Any], field: str) -> None:
    store = MemoryStore()
    goals(store, "g-1")
    with store.unit_of_work() as uow, pytest.raises(ValidationError) as raised:
        seal(uow, **{"key": None, "at": AT, **arguments})
    assert raised.value.field == field


# -- verifying an intact store --------------------------------------------------------------------


def test_an_intact_store_verifies_with_or_without_replay(new_store: StoreFactory) -> None:
    store = new_store()
    goals(store, "g-1", "g-2")
    for _ in range(3):
        check_in(store, "g-1", 2, snapshot_every=3)  # snapshots at several versions
    seal_all(store, limit=5)
    check_in(store, "g-2")  # an unsealed tail
    for replay in (True, False):
        report = intact(verify_store(store, replay=replay))
        assert (report.events, report.streams, report.seals) == (13, 2, 3)
        assert report.detail == "the store is intact"
        assert report.checkpoint is not None
        assert report.checkpoint.seal == 3
        assert report.checkpoint.position == scan(store)[-1].position
        assert report.checkpoint.count == 13
    with store.unit_of_work() as uow:
        assert uow.snapshots.get("Goal", "g-1") is not None


def test_a_keyed_store_verifies_with_its_key_only(new_store: StoreFactory) -> None:
    store = new_store()
    goals(store, "g-1", "g-2", key=KEY)
    seal_all(store, key=KEY)
    intact(verify_store(store, key=KEY))
    first = scan(store)[0]
    for key in (None, b"another key"):
        report = verify_store(store, key=key)
        assert (report.problem, report.kind, report.id, report.version) == (
            AuditProblem.EVENT_EDITED,
            "Goal",
            "g-1",
            1,
        )
        assert report.position == first.position
        assert report.checkpoint is None
    with pytest.raises(ValidationError):
        verify_store(store, key="text")  # type: ignore[arg-type]


def _other_stream(store: Store, kind: str, id: str, versions: int) -> None:
    """A stream of a kind that is no aggregate type, written as perfcore writes its own."""
    events = [
        Event(
            aggregate_type=kind,
            aggregate_id=id,
            version=version,
            trigger="number",
            from_state=None if version == 1 else "open",
            to_state="open",
            actor_id="hana",
            at=AT,
            payload={"set": {"last": version}},
        )
        for version in range(1, versions + 1)
    ]
    recorded = record(events, b"")
    head = StreamHead(kind=kind, id=id, version=versions, hash=recorded[-1].hash, state="open")
    with store.unit_of_work() as uow:
        uow.events.append(head, recorded, expected_version=0)
        uow.commit()


def test_streams_of_other_kinds_are_chain_checked_only(new_store: StoreFactory) -> None:
    store = new_store()
    goals(store, "g-1")
    _other_stream(store, "Lineage", "l-1", 4)
    seal_all(store)
    report = intact(verify_store(store))
    assert (report.events, report.streams) == (7, 2)


def test_a_checkpoint_holds_while_the_store_grows(new_store: StoreFactory) -> None:
    store = new_store()
    goals(store, "g-1", "g-2")
    seal_all(store, limit=4)
    first = intact(verify_store(store)).checkpoint
    assert first is not None
    goals(store, "g-3")
    check_in(store, "g-1", 3)
    second = intact(verify_store(store, checkpoint=first)).checkpoint
    seal_all(store)
    third = intact(verify_store(store, checkpoint=second)).checkpoint
    assert intact(verify_store(store, checkpoint=first))
    assert first is not None
    assert second is not None
    assert third is not None
    assert (first.seal, second.seal, third.seal) == (2, 2, 3)
    assert first.count < second.count == third.count == 12
    assert AuditCheckpoint.from_text(third.as_text()) == third
    with pytest.raises(ValidationError):
        AuditCheckpoint.from_text("not a checkpoint")


# -- commands committing during a verification ----------------------------------------------------


class _Busy:
    """A store where, while a verification reads, commands commit through the same store:
    ``during(store)`` runs at the verification's first read of each kind named (for the
    reads of :class:`~perfcore.ports.RawEventReads`, after the first item they hand out)."""

    def __init__(self, store: Store, during: Callable[[Store], None], *reads: str) -> None:
        self.store = store
        self.during = during
        self.reads = set(reads)

    def close(self) -> None:
        self.store.close()

    def unit_of_work(self) -> Any:
        busy = self
        uow = self.store.unit_of_work()

        class Events:
            def __getattr__(self, name: str) -> Any:
                attribute = getattr(uow.events, name)
                if name not in busy.reads or not callable(attribute):
                    return attribute
                if name in RAW:

                    def iterate(*args: Any, **kwargs: Any) -> Iterator[Any]:
                        for index, item in enumerate(attribute(*args, **kwargs)):
                            yield item
                            if index == 0 and name in busy.reads:
                                busy.reads.discard(name)
                                busy.during(busy.store)

                    return iterate

                def call(*args: Any, **kwargs: Any) -> Any:
                    busy.reads.discard(name)
                    busy.during(busy.store)
                    return attribute(*args, **kwargs)

                return call

        class Work:
            events = Events()

            def __getattr__(self, name: str) -> Any:
                return getattr(uow, name)

            def __enter__(self) -> Any:
                uow.__enter__()
                return self

            def __exit__(self, *exc: Any) -> None:
                uow.__exit__(*exc)

        return Work()


def _commands(store: Store) -> None:
    check_in(store, "g-1", 2, snapshot_every=1)
    goals(store, "g-0", "g-9")
    seal_all(store, limit=3)


#: The reads a store that offers them makes instead of streams(), read() and scan().
RAW = ("raw_streams", "raw_links")


@pytest.mark.parametrize("read", ["streams", "scan", "read", "head", *RAW])
def test_commands_committing_during_a_verification_leave_it_intact(
    new_store: StoreFactory, read: str
) -> None:
    store = new_store()
    with store.unit_of_work() as uow:
        raw = isinstance(uow.events, RawEventReads)
    if read in RAW and not raw:
        pytest.skip("the store offers no raw reads")
    goals(store, "g-1", "g-2")
    check_in(store, "g-2")
    seal_all(store, limit=4)
    check_in(store, "g-1")
    before = verify_store(store).checkpoint
    busy = _Busy(store, _commands, read)
    report = intact(verify_store(busy, checkpoint=before))
    # The commands ran (a head is read only on need, and so are the records of a stream
    # when the store offers raw reads).
    assert not busy.reads or read == "head" or (raw and read not in RAW)
    assert intact(verify_store(store, checkpoint=report.checkpoint))


# -- gaps are not deletions -----------------------------------------------------------------------


def _skip_positions(path: Path, skip: int) -> None:
    """Move the position counter on, as a write that took positions and rolled back leaves it
    (in PostgreSQL; SQLite's own rollback gives its positions back)."""
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'events'", (skip,))
    raw.close()


def test_gaps_left_by_rolled_back_writes_verify_intact(tmp_path: Path) -> None:
    path = tmp_path / "gaps.db"
    store = SQLiteStore(path)
    goals(store, "g-1")
    store.close()
    _skip_positions(path, 5)
    store = SQLiteStore(path)
    with store.unit_of_work() as uow:  # a write that rolls back
        Streams(uow).save(driver_for("Goal").reach("active", id="g-x"), loaded=None)
        uow.rollback()
    goals(store, "g-2")
    [sealed] = seal_all(store)
    store.close()
    _skip_positions(path, 7)
    store = SQLiteStore(path)
    check_in(store, "g-2", 2)  # the unsealed tail has a gap too
    positions = [event.position for event in scan(store)]
    assert positions == [1, 2, 3, 9, 10, 11, 19, 20]
    assert (sealed.upto, sealed.count) == (11, 6)
    report = intact(verify_store(store))
    assert report.checkpoint == AuditCheckpoint(seal=1, seal_hash=sealed.hash, position=20, count=8)
    goals(store, "g-3")
    seal_all(store)
    assert intact(verify_store(store, checkpoint=report.checkpoint))
    store.close()


def test_an_event_deleted_after_sealing_is_not_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "deleted.db"
    store = SQLiteStore(path)
    goals(store, "g-1", "g-2")
    check_in(store, "g-1")
    seal_all(store)
    goals(store, "g-3")
    store.close()
    with sqlite3.connect(path) as raw:
        for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            raw.execute(f"DROP TRIGGER {name}")
        # g-1's last event goes, and its head is set back to the event before, consistently.
        key, version = raw.execute(
            "SELECT key, version FROM streams WHERE kind = 'Goal' AND id = 'g-1'"
        ).fetchone()
        raw.execute("DELETE FROM events WHERE stream = ? AND version = ?", (key, version))
        (hash,) = raw.execute(
            "SELECT hash FROM events WHERE stream = ? AND version = ?", (key, version - 1)
        ).fetchone()
        raw.execute(
            "UPDATE streams SET version = ?, hash = ?, state = 'active' WHERE key = ?",
            (version - 1, hash, key),
        )
    raw.close()
    store = SQLiteStore(path)
    report = verify_store(store)
    assert (report.problem, report.kind, report.id, report.version, report.seal) == (
        AuditProblem.STREAM_ROLLED_BACK,
        "Goal",
        "g-1",
        4,
        1,
    )
    store.close()


class _Spread:
    """A memory store seen with its positions spread out (``p`` as ``3 * p``): every position
    between two events is a gap."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def close(self) -> None:
        self.store.close()

    def unit_of_work(self) -> Any:
        uow = self.store.unit_of_work()

        def spread(event: RecordedEvent) -> RecordedEvent:
            return attrs.evolve(event, position=3 * event.position)

        class Events:
            def __getattr__(self, name: str) -> Any:
                return getattr(uow.events, name)

            def read(self, kind: str, id: str, *, after: int = 0) -> Iterator[RecordedEvent]:
                return map(spread, uow.events.read(kind, id, after=after))

            def scan(self, *, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
                return [spread(one) for one in uow.events.scan(after=after // 3, limit=limit)]

            def stable_position(self) -> int:
                return 3 * uow.events.stable_position()

        class Work:
            events = Events()

            def __getattr__(self, name: str) -> Any:
                return getattr(uow, name)

            def __enter__(self) -> Any:
                uow.__enter__()
                return self

            def __exit__(self, *exc: Any) -> None:
                uow.__exit__(*exc)

        return Work()


# -- random histories -----------------------------------------------------------------------------

_OTHER = Actor(id="ben", roles={Role.EMPLOYEE, Role.MANAGER})

#: One step of a random history: a new goal, check-ins on an existing one, or a seal.
steps = st.one_of(
    st.tuples(st.just("new"), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("check_in"), st.integers(0, 5), st.integers(1, 4)),
    st.tuples(st.just("seal"), st.integers(1, 7), st.just(0)),
)


@settings(deadline=None)
@given(history=st.lists(steps, max_size=25), spread=st.booleans(), keyed=st.booleans())
def test_any_history_of_appends_and_seals_verifies_intact(
    history: list[tuple[str, int, int]], spread: bool, keyed: bool
) -> None:
    memory = MemoryStore()
    store: Any = _Spread(memory) if spread else memory
    key = KEY if keyed else None
    driver = driver_for("Goal")
    made: set[str] = set()
    checkpoint: AuditCheckpoint | None = None
    for step, number, times in history:
        id = f"g-{number}"
        if step == "new" and id not in made:
            save(memory, driver.reach("active", id=id), key=key)
            made.add(id)
        elif step == "check_in" and id in made:
            check_in(memory, id, times, key=key, snapshot_every=3)
        elif step == "seal":
            seal_all(store, key=key, limit=number)
        report = intact(verify_store(store, key=key, checkpoint=checkpoint))
        checkpoint = report.checkpoint
    final = intact(verify_store(store, key=key, checkpoint=checkpoint, replay=False))
    assert final.streams == len(made)


# -- the fast check -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, b"the audit key"], ids=["sha256", "hmac"])
def test_every_type_in_every_state_is_proven_without_the_careful_check(
    new_store: StoreFactory, key: bytes | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast check (each chain over the rows as stored, the events folded as JSON data and
    compared with the snapshot and the head) proves every object perfcore writes: none is sent
    to the careful check, whose replay the fold stands for."""
    careful: list[tuple[str, str]] = []
    check = audit._Stream.check

    def counted(self: Any) -> None:
        careful.append((self.kind, self.id))
        check(self)

    monkeypatch.setattr(audit._Stream, "check", counted)
    store = new_store()
    saved = 0
    for driver in drivers().values():
        for state in driver.lifecycle.states:
            try:
                obj = driver.reach(state, id=f"x-{saved}")
            except ValueError:
                continue  # a state no path reaches
            saved += 1
            # A snapshot part of the way, then the rest of the events after it.
            part = obj.version // 2
            if part >= 1:
                save(store, type(obj).replay(obj.history[:part]), key=key, snapshot_every=1)
            save(store, obj, loaded=part or None, key=key, snapshot_every=1000)
    seal_all(store, key=key, limit=7)
    for replay in (True, False):
        report = intact(verify_store(store, key=key, replay=replay))
        assert report.streams >= saved > 20
    assert careful == []


@settings(deadline=None)
@given(
    kind=st.sampled_from(sorted(drivers())),
    data=st.data(),
    every=st.integers(1, 4),
    keyed=st.booleans(),
)
def test_random_histories_are_proven_without_the_careful_check(
    kind: str, data: st.DataObject, every: int, keyed: bool
) -> None:
    """Random commands on every type, each accepted one saved in its own unit of work with
    snapshots every few events: the fold agrees with every snapshot and head they leave."""
    from unittest import mock

    from perfcore.testing.strategies import command_sequences

    key = b"the audit key" if keyed else None
    sequence = data.draw(command_sequences(kind, max_size=12))
    store = MemoryStore()
    save(store, sequence.start, key=key, snapshot_every=every)
    for outcome in sequence.run():
        if outcome.error is None and outcome.after.version > outcome.before.version:
            save(
                store,
                outcome.after,
                loaded=outcome.before.version,
                key=key,
                snapshot_every=every,
            )
    careful: list[str] = []
    check = audit._Stream.check

    def counted(self: Any) -> None:
        careful.append(self.id)
        check(self)

    with mock.patch.object(audit._Stream, "check", counted):
        report = intact(verify_store(store, key=key))
    assert report.events >= sequence.start.version
    assert careful == []


def test_a_field_set_after_items_were_appended_to_it_folds_as_the_replay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No command sets a field it appends to, but the replay takes such a history: the set
    replaces the items appended before it, in the fold as in the replay."""
    from perfcore._codec import to_json_data

    goal = driver_for("Goal").reach("active", id="g-1")
    for value in (3, 4, 5):
        goal = goal.check_in(by=OWNER, at=AT, on=AT.date(), value=value)
    last = goal.history[-1]
    kept = to_json_data(list(goal.check_ins[:1]))
    reset = attrs.evolve(last, version=last.version + 1, payload={"set": {"check_ins": kept}})
    more = attrs.evolve(last, version=last.version + 2)
    replayed = Goal.replay([*goal.history, reset, more])
    assert [one.value for one in replayed.check_ins] == [3, 5]
    careful: list[str] = []
    check = audit._Stream.check

    def counted(self: Any) -> None:
        careful.append(self.id)
        check(self)

    monkeypatch.setattr(audit._Stream, "check", counted)
    for every in (1, 1000):  # a snapshot at the end, and none
        store = MemoryStore()
        save(store, replayed, snapshot_every=every)
        intact(verify_store(store))
    assert careful == []


def test_head_columns_worked_out_from_the_object_are_proven_by_building_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Heads that carry a column which is no field but worked out from the object: the fast
    check builds each object once from the folded data, as a snapshot is restored, and compares
    its head; a column edited in the database is found as before."""
    import perfcore.streams as streams_module

    plain = streams_module.index_of

    def index_of(obj: Aggregate) -> dict[str, Any]:
        found = plain(obj)
        if isinstance(obj, Goal):
            found["cycle"] = f"{obj.state}:{len(obj.check_ins)}"
        return found

    monkeypatch.setattr(streams_module, "index_of", index_of)
    careful: list[str] = []
    check = audit._Stream.check

    def counted(self: Any) -> None:
        careful.append(self.id)
        check(self)

    monkeypatch.setattr(audit._Stream, "check", counted)
    path = tmp_path / "derived.db"
    store = SQLiteStore(path)
    goals(store, "g-1", "g-2")
    check_in(store, "g-2", 2)
    with store.unit_of_work() as uow:
        head = uow.events.head("Goal", "g-2")
    assert head is not None
    assert head.columns["cycle"] == "active:2"
    intact(verify_store(store))
    assert careful == []
    store.close()
    with sqlite3.connect(path) as raw:
        for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            raw.execute(f'DROP TRIGGER "{name}"')
        raw.execute("UPDATE streams SET cycle = 'active:9' WHERE id = 'g-2'")
    raw.close()
    store = SQLiteStore(path)
    report = verify_store(store)
    store.close()
    assert (report.problem, report.id, careful) == (AuditProblem.STATE_EDITED, "g-2", ["g-2"])
    assert "'cycle'" in report.detail
