"""Optimistic concurrency: two commands that loaded one version, one wins, the other changes
nothing: in one process's threads, and (when the adapter declares it) across processes.

The tests decide the order of events with barriers and pipes, never with sleeps or timing.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from perfcore.actor import Actor
from perfcore.errors import ConcurrencyError, PerfcoreError
from perfcore.plan import Plan
from perfcore.ports import Store, UnitOfWork
from perfcore.testing.conformance._support import (
    BEN,
    CLEO,
    DEADLOCK_GUARD,
    DRIVERS,
    audit_entries,
    perfcore,
    proposed_goal,
    seed,
    stored,
    write_and_commit,
)
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["ConcurrencyContract"]


class _PausingRepository:
    """A repository whose ``get`` waits at a barrier once it has loaded: every command then
    holds the same version before any of them saves."""

    def __init__(self, inner: Any, barrier: threading.Barrier) -> None:
        self._inner = inner
        self._barrier = barrier

    def get(self, id: str) -> Any:
        found = self._inner.get(id)
        self._barrier.wait()
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _PausingUnit:
    def __init__(self, inner: UnitOfWork, barrier: threading.Barrier) -> None:
        self._inner = inner
        self.plans = _PausingRepository(inner.plans, barrier)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _PausingUnit:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)


class _PausingStore:
    def __init__(self, inner: Store, barrier: threading.Barrier) -> None:
        self._inner = inner
        self._barrier = barrier

    def unit_of_work(self) -> Any:
        return _PausingUnit(self._inner.unit_of_work(), self._barrier)

    def close(self) -> None:
        self._inner.close()


#: The program each process of the process test runs: approve a plan, but only once every
#: process has loaded it (the test says when, on stdin), then print the outcome.
_APPROVER_PROGRAM = r"""
import pickle, sys
from perfcore.errors import ConcurrencyError
from perfcore.services import Perfcore

factory, plan_id, actor = pickle.load(sys.stdin.buffer)

class Pause:
    def __init__(self, inner): self.inner = inner
    def get(self, id):
        found = self.inner.get(id)
        print("loaded", flush=True)
        sys.stdin.buffer.readline()
        return found
    def __getattr__(self, name): return getattr(self.inner, name)

class Unit:
    def __init__(self, inner): self.inner, self.plans = inner, Pause(inner.plans)
    def __getattr__(self, name): return getattr(self.inner, name)
    def __enter__(self): self.inner.__enter__(); return self
    def __exit__(self, *exc): self.inner.__exit__(*exc)

class Store:
    def __init__(self, inner): self.inner = inner
    def unit_of_work(self): return Unit(self.inner.unit_of_work())
    def close(self): self.inner.close()

store = factory()
try:
    Perfcore(Store(store)).plans.approve(plan_id, by=actor)
    print("won", flush=True)
except ConcurrencyError:
    print("conflict", flush=True)
finally:
    store.close()
"""


class ConcurrencyContract(StoreFixture):
    """Two commands that loaded one version: exactly one wins, the other changes nothing.

    .. versionadded:: 0.1.0
    """

    def test_two_copies_loaded_at_one_version_exactly_one_save_wins(self, store: Store) -> None:
        driver = DRIVERS["Goal"]
        proposed = driver.reach("proposed", id="g-1")
        seed(store, proposed)
        with store.unit_of_work() as first, store.unit_of_work() as second:
            mine, theirs = first.goals.get("g-1"), second.goals.get("g-1")
            first.goals.save(driver.fire(mine, "approve"), expected_version=mine.version)
            first.commit()
            cancelled = driver.fire(theirs, "cancel")
            with pytest.raises(ConcurrencyError) as raised:
                write_and_commit(
                    second, lambda: second.goals.save(cancelled, expected_version=theirs.version)
                )
        assert raised.value.expected_version == proposed.version
        assert str(getattr(stored(store, proposed), "state", None)) == "active"

    def test_threads_approving_one_plan_one_wins(self, store: Store) -> None:
        self.require("supports_threads")
        plan = DRIVERS["Plan"].reach("submitted", id="plan-1")
        seed(store, plan)
        barrier = threading.Barrier(2, timeout=DEADLOCK_GUARD)
        pc = perfcore(_PausingStore(store, barrier))
        outcomes = _in_threads(2, lambda: pc.plans.approve("plan-1", by=CLEO))
        assert sorted(outcomes) == ["ConcurrencyError", "won"]
        self._check_one_approval(store, plan)

    def test_many_threads_racing_leave_exactly_one_approval(self, store: Store) -> None:
        self.require("supports_threads")
        plan = DRIVERS["Plan"].reach("submitted", id="plan-1")
        seed(store, plan)
        pc = perfcore(store)
        outcomes = _in_threads(8, lambda: pc.plans.approve("plan-1", by=CLEO))
        assert outcomes.count("won") == 1
        losers = set(outcomes) - {"won"}
        assert losers <= {"ConcurrencyError", "TransitionNotAllowed"}
        self._check_one_approval(store, plan)

    def test_threads_changing_different_objects_all_succeed(self, store: Store) -> None:
        self.require("supports_threads")
        pc = perfcore(store)

        def work(thread: int) -> None:
            owner = Actor(id=f"owner-{thread}")
            for number in range(3):
                proposed_goal(pc, f"g-{thread}-{number}", owner=owner)
                pc.goals.approve(f"g-{thread}-{number}", by=BEN)

        counter = iter(range(4))
        lock = threading.Lock()

        def next_thread() -> None:
            with lock:
                thread = next(counter)
            work(thread)

        assert _in_threads(4, next_thread) == ["won"] * 4
        assert len(audit_entries(store)) == 4 * 3 * 3
        assert pc.verify_audit_log().intact

    def test_processes_approving_one_plan_one_wins(self, store: Store) -> None:
        self.require("supports_processes")
        factory = self.process_store_factory(store)
        plan = DRIVERS["Plan"].reach("submitted", id="plan-1")
        seed(store, plan)
        children = [_start_approver(factory, "plan-1", CLEO) for _ in range(2)]
        try:
            for child in children:
                assert child.stdout is not None
                assert child.stdout.readline().strip() == b"loaded"
            for child in children:
                assert child.stdin is not None
                child.stdin.write(b"go\n")
                child.stdin.close()
            outcomes = [_finish(child) for child in children]
        finally:
            for child in children:
                _end(child)
        assert sorted(out.decode().strip() for out in outcomes) == ["conflict", "won"]
        self._check_one_approval(store, plan)

    @staticmethod
    def _check_one_approval(store: Store, plan: Plan) -> None:
        now = stored(store, plan)
        assert now is not None
        assert str(now.state) == "approved"
        assert [event.trigger for event in now.history].count("approve") == 1
        logged = [entry.event.trigger for entry in audit_entries(store)]
        assert logged.count("approve") == 1
        assert perfcore(store).verify_audit_log().intact


def _in_threads(count: int, command: Callable[[], object]) -> list[str]:
    """Run ``command`` in ``count`` threads at once; "won" or the error's class name each."""
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(count, timeout=DEADLOCK_GUARD)

    def run() -> None:
        start.wait()
        try:
            command()
            outcome = "won"
        except PerfcoreError as error:
            outcome = type(error).__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLOCK_GUARD)
    assert len(outcomes) == count, "a thread did not finish"
    return outcomes


def _finish(child: Any) -> bytes:
    """The rest of a child's output, once it has ended."""
    output: bytes = child.stdout.read()
    child.wait(DEADLOCK_GUARD)
    return output


def _end(child: Any) -> None:
    """Stop a child that is still running, and close its pipes."""
    if child.poll() is None:
        child.kill()
        child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None and not pipe.closed:
            pipe.close()


def _start_approver(factory: Callable[[], Store], plan_id: str, actor: Actor) -> Any:
    child = subprocess.Popen(
        [sys.executable, "-c", _APPROVER_PROGRAM],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdin is not None
    child.stdin.write(pickle.dumps((factory, plan_id, actor)))
    child.stdin.flush()
    return child
