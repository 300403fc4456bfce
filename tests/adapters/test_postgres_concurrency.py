"""Many application servers on one PostgreSQL database: 8 processes hammer the same 100 goals and
100 plans with commands through :class:`~perfcore.services.Perfcore`, sealing the audit log as
they go, for 8 and for 30 seconds, both in the thorough run (marked ``thorough``: they run under
``HYPOTHESIS_PROFILE=ci``, as ``.ci/run`` sets, and are skipped otherwise, saying so, so that
README's test command stays within three minutes; see ``tests/conftest.py``). Afterwards:

- the audit log, sealed once more, verifies: every stream's chain, every snapshot and every object
  the store loads equal to the replay of its events, the seals over the global order;
- every goal and plan is the replay of its events, its versions 1, 2, 3, ... without a gap, its
  positions rising with them;
- the commands each process saw accepted are exactly the events that carry its mark (each
  process's clock writes its number into the microseconds of its events' time): nothing accepted
  was lost, nothing refused was written;
- every refused command got :class:`~perfcore.errors.ConcurrencyError`, or a guard or transition
  error (the object had moved on), and nothing else.

Skipped, naming the variable, without ``PERFCORE_POSTGRES_DSN``.
"""

from __future__ import annotations

import collections
import datetime as dt
import multiprocessing
import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.adapters import _postgres_worker as worker
from tests.adapters._postgres_worker import DSN, SKIP_REASON, drop_schemas

from perfcore.actor import Actor
from perfcore.adapters.postgres import PostgresStore
from perfcore.goal import Goal
from perfcore.plan import Plan
from perfcore.recording import decode
from perfcore.services import Perfcore
from perfcore.testing.drivers import EPOCH

#: Reads name their reader: HR reads everything.
READER = Actor(id="hr-reader", roles={"hr"})

pytestmark = pytest.mark.skipif(not DSN, reason=SKIP_REASON)

PROCESSES = 8
OBJECTS = 100
#: How long the servers hammer: briefly, and 30 seconds (the issue's), both in the thorough run.
DURATIONS = [
    pytest.param(8.0, marks=pytest.mark.thorough, id="8s"),
    pytest.param(30.0, marks=pytest.mark.thorough, id="30s"),
]


class SetUpClock:
    """The set-up's time: before the hammering's."""

    def now(self) -> Any:
        return EPOCH + dt.timedelta(days=1)


@pytest.fixture
def schema_name() -> Iterator[str]:
    name = worker.new_schema()
    yield name
    drop_schemas(name)


@pytest.mark.parametrize("seconds", DURATIONS)
def test_eight_servers_hammering_the_same_objects_lose_nothing(
    schema_name: str, seconds: float
) -> None:
    with PostgresStore(DSN, schema=schema_name) as store:
        worker.set_up(Perfcore(store, clock=SetUpClock()), OBJECTS)
        before = _events_per_stream(store)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES + 1), context.Queue()
    started = time.time()
    processes = [
        context.Process(
            target=worker.hammer,
            args=(DSN, schema_name, slot, OBJECTS, seconds, started, barrier, results),
            daemon=True,
        )
        for slot in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    tallies: list[dict[str, Any]] = []
    try:
        barrier.wait(180)
        for _ in processes:
            try:
                tallies.append(results.get(timeout=seconds + 120))
            except queue.Empty:
                pytest.fail(f"a server fell silent; {len(tallies)} of {PROCESSES} reported")
    finally:
        barrier.abort()
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
    crashed = [tally for tally in tallies if "crashed" in tally]
    assert not crashed, crashed
    unexpected = [message for tally in tallies for message in tally["unexpected"]]
    assert not unexpected, f"refusals other than conflicts and guards: {unexpected[:5]}"
    refused: collections.Counter[str] = collections.Counter()
    for tally in tallies:
        refused.update(tally["refused"])
    assert set(refused) <= {error.__name__ for error in worker.REFUSALS}, refused
    accepted = sum(tally["accepted"] for tally in tallies)
    assert accepted > 0, refused
    assert refused["ConcurrencyError"] > 0, "the servers never raced: the test has no teeth"

    with PostgresStore(DSN, schema=schema_name) as store:
        pc = Perfcore(store, cache_size=0)
        pc.seal_audit_log()
        report = pc.verify_audit_log()
        assert report.intact, report
        assert report.seals >= 2  # the servers sealed while they hammered, and once more here
        marks = _check_every_object(pc, store)
        after = _events_per_stream(store)
    appended = sum(after.values()) - sum(before.values())
    assert appended == accepted == sum(marks.values()), (appended, accepted, marks)
    for tally in tallies:
        assert marks.get(tally["slot"], 0) == tally["events"], (tally["slot"], marks, tally)
    print(  # shown with -s: how hard the servers hammered
        f"\n{PROCESSES} servers, {seconds:.0f} s: {accepted} commands accepted"
        f" ({accepted / seconds:.0f}/s), refused: {dict(refused)}; {report.seals} seals"
    )


def _events_per_stream(store: PostgresStore) -> dict[tuple[str, str], int]:
    with store.unit_of_work() as uow:
        return {
            (head.kind, head.id): head.version
            for head in uow.events.streams(limit=10_000)
            if head.kind in ("Goal", "Plan")
        }


def _check_every_object(pc: Perfcore, store: PostgresStore) -> dict[int, int]:
    """Each goal and plan is the replay of its events, versions without a gap, positions rising
    with them; how many events of the hammering each process's mark is on."""
    marks: collections.Counter[int] = collections.Counter()
    services: dict[str, tuple[Any, Any]] = {"Goal": (pc.goals, Goal), "Plan": (pc.plans, Plan)}
    with store.unit_of_work() as uow:
        heads = [h for h in uow.events.streams(limit=10_000) if h.kind in services]
        assert len(heads) == 2 * OBJECTS
        for head in heads:
            recorded = list(uow.events.read(head.kind, head.id))
            assert [e.version for e in recorded] == list(range(1, head.version + 1)), head.id
            positions = [e.position for e in recorded]
            assert positions == sorted(positions), head.id
            events = [decode(one) for one in recorded]
            service, kind = services[head.kind]
            assert service.get(head.id, by=READER) == kind.replay(events), head.id
            for event in events:
                if event.at >= worker.RUN_START:
                    marks[event.at.microsecond % worker.SLOTS] += 1
    return dict(marks)
