"""Races between processes on one SQLite file, through the services, as application servers race.

- Two processes publish numbers 1 and 2 of one lineage at the same moment: whatever the timing,
  the lineage never ends with two published numbers (the lineage is a stream of its own, claimed
  with an expected version by every command that drafts or publishes a number of it).
- Four processes send one request with one idempotency key at once: every one of them receives
  the first result, and the request changes the object once.

The workers start once and run every round, meeting at a barrier before each command, so that
100 rounds take seconds rather than 100 process starts.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import queue
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from perfcore import Actor, Perfcore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.errors import PerfcoreError
from perfcore.job_description import Criterion

#: Reads name their reader: HR reads everything.
READER = Actor(id="hr-reader", roles={"hr"})

MIA = Actor(id="mia", roles={"manager"})
ANA, BEN = Actor(id="ana"), Actor(id="ben", roles={"manager"})
AUDIENCE = ("ana", "bo", "cy")
CRITERIA = (
    Criterion(name="Reply time", measured_by="median hours", weight=100, required_level="4h"),
)
LINEAGE_ROUNDS = 100
KEY_ROUNDS = 25
_WAIT = 60.0


def _lineage(pc: Perfcore, round: int) -> None:
    """Numbers 1 and 2 of lineage ``L{round}``, both endorsed, neither published."""
    first = f"L{round}-1"
    pc.job_descriptions.create(
        by=MIA, id=first, title="Support engineer", department="Support",
        responsibilities=["Answer tickets"], audience=set(AUDIENCE), criteria=CRITERIA,
    )  # fmt: skip
    pc.job_descriptions.new_version(first, by=MIA, id=f"L{round}-2")
    for jd_id in (first, f"L{round}-2"):
        pc.job_descriptions.open_feedback(jd_id, by=MIA)
        for member in AUDIENCE:
            pc.job_descriptions.give_feedback(jd_id, by=Actor(id=member), supports=True)
        pc.job_descriptions.endorse(jd_id, by=MIA)


def _proposed_goal(pc: Perfcore, round: int) -> None:
    goal_id = f"g{round}"
    pc.goals.create(
        by=ANA, id=goal_id, owner_id="ana", manager_id="ben", title="Faster replies",
        metric="hours", baseline=8, target=2, direction="decrease",
        start=dt.date(2026, 1, 5), due=dt.date(2026, 6, 30),
    )  # fmt: skip
    pc.goals.propose(goal_id, by=ANA)


def _publisher(path: str, number: int, rounds: int, barrier: Any, results: Any) -> None:
    """Publish number ``number`` of each round's lineage, all at the barrier's signal."""
    with SQLiteStore(path, busy_timeout_ms=30_000) as store:
        pc = Perfcore(store)
        for round in range(rounds):
            barrier.wait(_WAIT)
            try:
                pc.job_descriptions.publish(f"L{round}-{number}", by=MIA)
                results.put((round, number, "published"))
            except PerfcoreError as refused:
                results.put((round, number, type(refused).__name__))


def _approver(path: str, rounds: int, barrier: Any, results: Any) -> None:
    """Approve each round's goal with one idempotency key, at the barrier's signal."""
    with SQLiteStore(path, busy_timeout_ms=30_000) as store:
        pc = Perfcore(store)
        for round in range(rounds):
            barrier.wait(_WAIT)
            try:
                approved = pc.goals.approve(f"g{round}", by=BEN, idempotency_key=f"k{round}")
                results.put((round, approved.version, str(approved.state)))
            except PerfcoreError as refused:
                results.put((round, 0, f"{type(refused).__name__}: {refused}"))


@contextmanager
def _workers(
    target: Callable[..., None], arguments: list[tuple[Any, ...]], barrier: Any
) -> Iterator[None]:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=target, args=args, daemon=True) for args in arguments]
    for process in processes:
        process.start()
    try:
        yield
    finally:
        barrier.abort()
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()


def _collect(results: Any, count: int) -> list[Any]:
    found = []
    for _ in range(count):
        try:
            found.append(results.get(timeout=_WAIT))
        except queue.Empty:
            pytest.fail(f"a worker fell silent after {len(found)} of {count} results")
    return found


def test_two_numbers_of_one_lineage_are_never_both_published(tmp_path: Path) -> None:
    path = str(tmp_path / "lineages.sqlite3")
    with SQLiteStore(path) as store:
        pc = Perfcore(store)
        for round in range(LINEAGE_ROUNDS):
            _lineage(pc, round)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(3), context.Queue()
    arguments = [(path, number, LINEAGE_ROUNDS, barrier, results) for number in (1, 2)]
    with _workers(_publisher, arguments, barrier):
        outcomes: dict[int, dict[int, str]] = {}
        for _round in range(LINEAGE_ROUNDS):
            barrier.wait(_WAIT)
            for round, number, outcome in _collect(results, 2):
                outcomes.setdefault(round, {})[number] = outcome
    with SQLiteStore(path) as store:
        pc = Perfcore(store)
        for round in range(LINEAGE_ROUNDS):
            states = [
                str(pc.job_descriptions.get(f"L{round}-{number}", by=READER).state)
                for number in (1, 2)
            ]
            assert states.count("published") == 1, (round, states, outcomes[round])
            assert set(outcomes[round].values()) <= {"published", "GuardFailed"}, outcomes[round]
        assert pc.verify_audit_log().intact


def test_one_request_sent_four_times_at_once_gets_the_first_result_everywhere(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "keys.sqlite3")
    with SQLiteStore(path) as store:
        pc = Perfcore(store)
        for round in range(KEY_ROUNDS):
            _proposed_goal(pc, round)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(5), context.Queue()
    arguments = [(path, KEY_ROUNDS, barrier, results) for _worker in range(4)]
    with _workers(_approver, arguments, barrier):
        answers: dict[int, list[tuple[int, str]]] = {}
        for _round in range(KEY_ROUNDS):
            barrier.wait(_WAIT)
            for round, version, state in _collect(results, 4):
                answers.setdefault(round, []).append((version, state))
    for round, got in answers.items():
        assert got == [(3, "active")] * 4, (round, got)
    with SQLiteStore(path) as store:
        pc = Perfcore(store)
        for round in range(KEY_ROUNDS):
            assert pc.goals.get(f"g{round}", by=READER).version == 3
        assert pc.verify_audit_log().intact
