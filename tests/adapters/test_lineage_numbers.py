"""Threads racing on one lineage of job descriptions through the services, on the memory store
and on SQLite: the lineage is a stream of its own, which every command that drafts or publishes a
number of it claims with the version it found, so two such commands cannot both commit on what
they read.

- Two threads publish numbers 1 and 2 of one lineage at the same moment: the lineage never ends
  with two published numbers (whichever order they commit in).
- Two threads draft a new version from number 1 at the same moment: never two number 2s.

``test_races.py`` runs the publishing race between processes on one SQLite file; here the racers
are threads sharing one :class:`~perfcore.services.Perfcore` (and its object cache), as the
threads of one application server do. Python switches threads often during the races, so that
their commands interleave rather than run one after the other.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from perfcore import Actor, GuardFailed
from perfcore.adapters.memory import MemoryStore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.job_description import Criterion
from perfcore.ports import Store
from perfcore.repositories import Repositories
from perfcore.services import Perfcore
from perfcore.streams import ObjectCache, Streams

#: Reads name their reader: HR reads everything.
READER = Actor(id="hr-reader", roles={"hr"})

MIA = Actor(id="mia", roles={"employee", "manager"})
AUDIENCE = (Actor(id="ali"), Actor(id="bo"), Actor(id="cy"))
CRITERIA = (
    Criterion(name="Reply time", measured_by="median hours", weight=60, required_level="4h"),
    Criterion(name="Rating", measured_by="survey score", weight=40, required_level=4),
)
ROUNDS = 50
_WAIT = 60.0


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store
    if request.param == "memory":
        opened = MemoryStore()
    else:
        # The races are about locks and versions, not durability: no fsync.
        opened = SQLiteStore(tmp_path / "lineages.sqlite3", synchronous="OFF")
    yield opened
    opened.close()


@pytest.fixture
def interleaved() -> Iterator[None]:
    """Threads switched every few bytecodes instead of every 5 ms."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def first_number(pc: Perfcore, round: int) -> str:
    """Number 1 of lineage ``L{round}``, drafted."""
    jd_id = f"L{round}-1"
    pc.job_descriptions.create(
        by=MIA, id=jd_id, title="Support engineer", department="Support",
        responsibilities=["Answer tickets"], criteria=CRITERIA,
        audience={member.id for member in AUDIENCE},
    )  # fmt: skip
    return jd_id


def endorse(pc: Perfcore, jd_id: str) -> None:
    """Open feedback on ``jd_id``, the whole audience supporting it, and endorse it."""
    pc.job_descriptions.open_feedback(jd_id, by=MIA)
    for member in AUDIENCE:
        pc.job_descriptions.give_feedback(jd_id, by=member, supports=True)
    pc.job_descriptions.endorse(jd_id, by=MIA)


def race(rounds: int, racers: list[Callable[[int], str]]) -> list[list[str]]:
    """Run each racer once per round, all of them at once; each round's outcomes."""
    start = threading.Barrier(len(racers), timeout=_WAIT)
    outcomes = [["" for _ in racers] for _ in range(rounds)]
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            for round in range(rounds):
                start.wait()
                outcomes[round][index] = racers[index](round)
        except BaseException as error:  # reported below, with the thread's own traceback
            failures.append(error)
            start.abort()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(racers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_WAIT * 2)
    if failures:
        raise failures[0]
    return outcomes


def numbers(store: Store, lineage_id: str) -> list[tuple[str, int]]:
    """The ids and numbers of one lineage, as stored."""
    with store.unit_of_work() as uow:
        lineage = Repositories(Streams(uow, ObjectCache(0))).job_descriptions.by_lineage(lineage_id)
        return [(jd.id, jd.number) for jd in lineage]


def outcome(command: Callable[[], object]) -> str:
    """What one racer's command did: ``"ok"``, or the refusal's name."""
    try:
        command()
    except GuardFailed:
        return "GuardFailed"
    return "ok"


def test_two_numbers_of_one_lineage_are_never_both_published(
    store: Store, interleaved: None
) -> None:
    pc = Perfcore(store)
    for round in range(ROUNDS):
        first = first_number(pc, round)
        pc.job_descriptions.new_version(first, by=MIA, id=f"L{round}-2")
        endorse(pc, first)
        endorse(pc, f"L{round}-2")

    def publisher(number: int) -> Callable[[int], str]:
        def publish(round: int) -> str:
            return outcome(lambda: pc.job_descriptions.publish(f"L{round}-{number}", by=MIA))

        return publish

    outcomes = race(ROUNDS, [publisher(1), publisher(2)])
    cold = Perfcore(store, cache_size=0)
    for round in range(ROUNDS):
        states = [str(cold.job_descriptions.get(f"L{round}-{n}", by=READER).state) for n in (1, 2)]
        # Number 1 first, then 2 superseding it; or 2 first, and 1 refused as older.
        assert states in (["superseded", "published"], ["endorsed", "published"]), (
            round,
            states,
            outcomes[round],
        )
        assert outcomes[round][1] == "ok", outcomes[round]
        assert outcomes[round][0] == ("ok" if states[0] == "superseded" else "GuardFailed")
    assert cold.verify_audit_log().intact


def test_two_new_versions_from_one_number_are_never_both_number_two(
    store: Store, interleaved: None
) -> None:
    pc = Perfcore(store)
    for round in range(ROUNDS):
        first_number(pc, round)

    def drafter(name: str) -> Callable[[int], str]:
        def draft(round: int) -> str:
            source, new_id = f"L{round}-1", f"L{round}-{name}"
            return outcome(lambda: pc.job_descriptions.new_version(source, by=MIA, id=new_id))

        return draft

    outcomes = race(ROUNDS, [drafter("a"), drafter("b")])
    cold = Perfcore(store, cache_size=0)
    for round in range(ROUNDS):
        assert sorted(outcomes[round]) == ["GuardFailed", "ok"], (round, outcomes[round])
        winner = "a" if outcomes[round][0] == "ok" else "b"
        lineage = cold.job_descriptions.get(f"L{round}-1", by=READER).lineage_id
        assert numbers(store, lineage) == [(f"L{round}-1", 1), (f"L{round}-{winner}", 2)]
    assert cold.verify_audit_log().intact
