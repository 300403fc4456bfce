"""The behaviour every store keeps, as pytest mixin classes over one fixture: ``store``.

An adapter's tests combine the mixins with a fixture that builds a fresh, empty store::

    class TestMyStore(StoreContract):
        supports_processes = True            # capabilities the adapter has (see StoreFixture)

        @pytest.fixture
        def store(self):
            store = MyStore(...)
            yield store
            store.close()

        def rewrite_audit_log(self, store, entries):   # optional: lets the tamper tests run
            ...

A capability the adapter lacks is a flag left ``False`` (or a hook left alone): the tests that
need it are skipped, with that reason, never passed silently. The module imports perfcore's
public ports, services and drivers only, so that it can move into ``perfcore.testing.conformance``
as it is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import attrs
import pytest

from perfcore import Actor, ConcurrencyError, NotFound, PerfcoreError, TransitionNotAllowed
from perfcore._aggregate import Aggregate
from perfcore.audit import AuditProblem, chain
from perfcore.evaluation import Evaluation
from perfcore.goal import Goal
from perfcore.job_description import JobDescription
from perfcore.plan import Plan
from perfcore.ports import (
    AUDIT_LOG,
    IDEMPOTENCY_KEY,
    AuditEntry,
    IdempotencyRecord,
    Notification,
    Store,
    UnitOfWork,
)
from perfcore.services import IdempotencyConflict, Perfcore
from perfcore.testing.drivers import EPOCH, Driver, drivers, path_to

#: The unit-of-work attribute that holds each aggregate type.
REPOSITORIES = {
    "JobDescription": "job_descriptions",
    "Goal": "goals",
    "Plan": "plans",
    "Evaluation": "evaluations",
    "ReviewCycle": "cycles",
}

#: Each type's queries beyond ``by_state``: (method, the field it selects on).
QUERIES = {
    "JobDescription": (("by_lineage", "lineage_id"), ("by_employee", "employee_id")),
    "Goal": (("by_owner", "owner_id"), ("by_manager", "manager_id")),
    "Plan": (("by_subject", "subject_id"), ("by_cycle", "cycle_id")),
    "Evaluation": (("by_subject", "subject_id"), ("by_cycle", "cycle_id")),
    "ReviewCycle": (),
}

#: How each query orders its answer (every other query orders by id).
ORDERS: dict[str, Callable[[Any], Any]] = {
    "by_lineage": lambda jd: jd.number,
    "by_employee": lambda jd: (jd.lineage_id, jd.number),
}

DRIVERS: dict[str, Driver[Any]] = drivers()

ANA = Actor(id="ana")
BEN = Actor(id="ben", roles={"employee", "manager"})
CLEO = Actor(id="cleo", roles={"employee", "approver"}, department="people")

#: A guard against a deadlock, never a measure of anything: tests wait for events, not time.
DEADLOCK_GUARD = 60


def every_state() -> list[tuple[str, str]]:
    """Every (type, state) a driver reaches, in a stable order."""
    found = []
    for name, driver in sorted(DRIVERS.items()):
        for state in driver.lifecycle.states:
            with contextlib.suppress(ValueError):
                path_to(driver.lifecycle, state)
                found.append((name, state))
    return found


def repository(uow: UnitOfWork, name: str) -> Any:
    """The repository of aggregate type ``name`` in ``uow``."""
    return getattr(uow, REPOSITORIES[name])


class StepClock:
    """A clock that starts at the drivers' epoch and moves one minute each time it is read."""

    def __init__(self, start: dt.datetime = EPOCH + dt.timedelta(days=2)) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            self._now += dt.timedelta(minutes=1)
            return self._now


class CountingIds:
    """Ids ``kind-1``, ``kind-2``, ...: readable and never repeated."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def new_id(self, kind: str) -> str:
        with self._lock:
            self._count += 1
            return f"{kind.lower()}-{self._count}"


def perfcore(store: Store, **options: Any) -> Perfcore:
    """Services over ``store`` with a stepping clock and counting ids."""
    options.setdefault("clock", StepClock())
    options.setdefault("ids", CountingIds())
    return Perfcore(store, **options)


def seed(store: Store, *objects: Aggregate, key: bytes | None = None) -> None:
    """Store objects built by drivers, with their histories in the audit log, as the services
    would have left them."""
    with store.unit_of_work() as uow:
        for obj in objects:
            repository(uow, type(obj).lifecycle.name).add(obj)
        events = [event for obj in objects for event in obj.history]
        uow.audit.append(chain(events, uow.audit.last(), key=key))
        uow.commit()


def write_and_commit(uow: UnitOfWork, *writes: Callable[[], object]) -> None:
    """Run ``writes``, then commit: an adapter may refuse at a write or at the commit."""
    for write in writes:
        write()
    uow.commit()


def stored(store: Store, obj: Aggregate) -> Aggregate | None:
    """What ``store`` holds under ``obj``'s type and id."""
    with store.unit_of_work() as uow:
        found: Aggregate | None = repository(uow, type(obj).lifecycle.name).find(obj.id)
        return found


def audit_entries(store: Store, after: int = 0) -> list[AuditEntry]:
    """The whole audit log (after ``after``)."""
    with store.unit_of_work() as uow:
        return list(uow.audit.read(after))


def pending(store: Store, limit: int = 1000) -> list[Notification]:
    """The undelivered notifications."""
    with store.unit_of_work() as uow:
        return list(uow.outbox.pending(limit))


def notification(id: str, kind: str = "review_due") -> Notification:
    """A notification for the outbox tests."""
    return Notification(
        id=id,
        kind=kind,
        recipients=("ana",),
        aggregate_type="Goal",
        aggregate_id="g-1",
        version=1,
        at=EPOCH,
        data={"note": "résumé ✓", "n": 1},
    )


def record(key: str, version: int = 1) -> IdempotencyRecord:
    """An idempotency record for the key tests."""
    return IdempotencyRecord(
        key=key,
        fingerprint="f" * 64,
        aggregate_type="Goal",
        aggregate_id="g-1",
        version=version,
        at=EPOCH,
    )


def proposed_goal(pc: Perfcore, id: str = "g-1", owner: Actor = ANA) -> Goal:
    """A goal of ``owner``'s, managed by ben, proposed through the services."""
    pc.goals.create(
        by=owner,
        id=id,
        owner_id=owner.id,
        manager_id=BEN.id,
        title="Resolve more tickets",
        metric="tickets a week",
        baseline=0,
        target=10,
        start=EPOCH.date(),
        due=EPOCH.date() + dt.timedelta(days=180),
    )
    return pc.goals.propose(id, by=owner)


# -- building a population for the query tests ----------------------------------------------------


def _goal(id: str, owner: str, manager: str, steps: int) -> Goal:
    owner_actor = Actor(id=owner)
    manager_actor = Actor(id=manager, roles={"manager"})
    at = EPOCH
    goal = Goal.create(
        id=id, by=owner_actor, at=at, owner_id=owner, manager_id=manager, title="t",
        metric="m", baseline=0, target=10, start=at.date(), due=at.date() + dt.timedelta(days=90),
    )  # fmt: skip
    moves: list[Callable[[Goal], Goal]] = [
        lambda g: g.propose(by=owner_actor, at=at),
        lambda g: g.approve(by=manager_actor, at=at),
        lambda g: g.check_in(by=owner_actor, at=at, on=at.date(), value=3),
        lambda g: g.cancel(by=manager_actor, at=at, reason="reorganised"),
    ]
    for move in moves[:steps]:
        goal = move(goal)
    return goal


def _job_descriptions() -> list[JobDescription]:
    author = Actor(id="mia", roles={"manager"})
    found: list[JobDescription] = []
    for lineage, (employee, numbers) in enumerate([("ana", 3), (None, 2), ("ana", 1), ("bo", 1)]):
        jd = JobDescription.create(
            id=f"jd-{lineage}-1", by=author, at=EPOCH, title="Support engineer",
            department="Support", employee_id=employee,
        )  # fmt: skip
        found.append(jd)
        for number in range(2, numbers + 1):
            jd = jd.new_version(id=f"jd-{lineage}-{number}", by=author, at=EPOCH)
            found.append(jd)
    return found


def _plans() -> list[Plan]:
    found = []
    for index, (subject, cycle) in enumerate(
        [("ana", "c-1"), ("ana", None), ("bo", "c-1"), ("cy", "c-2"), ("bo", None)]
    ):
        found.append(
            Plan.create(
                id=f"plan-{index}",
                by=BEN,
                at=EPOCH,
                kind="development",
                subject_id=subject,
                author_id=BEN.id,
                start=EPOCH.date(),
                end=EPOCH.date() + dt.timedelta(days=90),
                cycle_id=cycle,
            )
        )
    return found


def _evaluations() -> list[Evaluation]:
    found: list[Evaluation] = []
    for index, (subject, cycle) in enumerate(
        [("ana", "c-1"), ("ana", None), ("bo", "c-1"), ("cy", "c-2")]
    ):
        found.append(
            Evaluation.create(
                id=f"ev-{index}",
                by=BEN,
                at=EPOCH,
                subject_id=subject,
                evaluator_id=BEN.id,
                job_description_id="jd-0-1",
                job_description_number=1,
                criteria={"Delivery": 100},
                period_start=EPOCH.date() - dt.timedelta(days=365),
                period_end=EPOCH.date() - dt.timedelta(days=1),
                cycle_id=cycle,
            )
        )
    return found


def population() -> list[Aggregate]:
    """Objects of every type, in every reachable state, with owners, subjects, lineages and
    cycles that repeat, so that every query has several answers and some empty ones."""
    objects: list[Aggregate] = [
        DRIVERS[name].reach(state, id=f"{name.lower()}-{state}") for name, state in every_state()
    ]
    people = ["ana", "bo", "cy"]
    for index in range(9):
        owner, manager = people[index % 3], ["ben", "mia"][index % 2]
        objects.append(_goal(f"goal-{index}", owner, manager, index % 5))
    objects += _job_descriptions()
    objects += _plans()
    objects += _evaluations()
    return objects


# -- the fixture and its capabilities --------------------------------------------------------------


class StoreFixture:
    """What an adapter's test class declares: its capabilities, and hooks the tests use.

    The adapter's class provides a ``store`` fixture (a fresh, empty store per test).
    """

    #: Several threads may use one store at once.
    supports_threads: ClassVar[bool] = True
    #: Several processes may use one store's data at once (see :meth:`process_store_factory`).
    supports_processes: ClassVar[bool] = False

    def rewrite_audit_log(self, store: Store, entries: Sequence[AuditEntry]) -> None:
        """Replace the stored audit log with ``entries``, going around perfcore (as someone with
        write access to the database could). Adapters that allow it let the tamper tests run."""
        pytest.skip("the adapter gives the tests no way around perfcore to its audit log")

    def process_store_factory(self, store: Store) -> Callable[[], Store]:
        """A picklable function that opens ``store``'s data in another process."""
        pytest.skip("the adapter declares no way to open its data in another process")

    def require(self, capability: str) -> None:
        """Skip the test, saying why, unless the adapter has ``capability``."""
        if not getattr(self, capability):
            pytest.skip(f"the adapter does not declare {capability}")


# -- repositories ----------------------------------------------------------------------------------


class RepositoryContract(StoreFixture):
    """Objects come back exactly as stored; ids are never overwritten; queries are right."""

    @pytest.mark.parametrize(("name", "state"), every_state())
    def test_every_aggregate_in_every_state_round_trips(
        self, store: Store, name: str, state: str
    ) -> None:
        obj = DRIVERS[name].reach(state, id=f"{name}-{state}")
        with store.unit_of_work() as uow:
            repository(uow, name).add(obj)
            uow.commit()
        with store.unit_of_work() as uow:
            loaded = repository(uow, name).get(obj.id)
        assert loaded == obj
        assert type(loaded).replay(loaded.history) == loaded

    @pytest.mark.parametrize("name", sorted(DRIVERS))
    def test_a_missing_object_is_not_found(self, store: Store, name: str) -> None:
        with store.unit_of_work() as uow:
            assert repository(uow, name).find("nobody") is None
            with pytest.raises(NotFound) as raised:
                repository(uow, name).get("nobody")
        assert (raised.value.aggregate_type, raised.value.aggregate_id) == (name, "nobody")

    @pytest.mark.parametrize("name", sorted(DRIVERS))
    def test_add_refuses_an_id_that_is_stored(self, store: Store, name: str) -> None:
        first = DRIVERS[name].create("same")
        second = DRIVERS[name].reach(DRIVERS[name].lifecycle.states[1], id="same")
        with store.unit_of_work() as uow:
            repository(uow, name).add(first)
            uow.commit()
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            write_and_commit(uow, lambda: repository(uow, name).add(second))
        assert stored(store, first) == first

    def test_add_refuses_an_id_added_in_the_same_unit_of_work(self, store: Store) -> None:
        goal = DRIVERS["Goal"].create("g-1")
        with store.unit_of_work() as uow:
            uow.goals.add(goal)
            with pytest.raises(ConcurrencyError):
                uow.goals.add(goal)

    def test_save_of_an_object_never_added_is_not_found(self, store: Store) -> None:
        goal = DRIVERS["Goal"].reach("proposed", id="g-1")
        with store.unit_of_work() as uow, pytest.raises(NotFound):
            uow.goals.save(goal, expected_version=1)

    def test_save_replaces_the_whole_record(self, store: Store) -> None:
        driver = DRIVERS["Goal"]
        draft = driver.create("g-1")
        active = driver.reach("active", id="g-1")
        with store.unit_of_work() as uow:
            uow.goals.add(draft)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.goals.save(active, expected_version=draft.version)
            uow.commit()
        assert stored(store, draft) == active

    def test_save_from_another_version_is_refused_and_writes_nothing(self, store: Store) -> None:
        driver = DRIVERS["Goal"]
        proposed = driver.reach("proposed", id="g-1")
        active = driver.fire(proposed, "approve")
        with store.unit_of_work() as uow:
            uow.goals.add(proposed)
            uow.commit()
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError) as raised:
            write_and_commit(
                uow, lambda: uow.goals.save(active, expected_version=proposed.version - 1)
            )
        assert raised.value.actual_version == proposed.version
        assert stored(store, proposed) == proposed

    def test_save_of_an_object_that_is_not_later_is_refused(self, store: Store) -> None:
        proposed = DRIVERS["Goal"].reach("proposed", id="g-1")
        with store.unit_of_work() as uow:
            uow.goals.add(proposed)
            uow.commit()
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            write_and_commit(
                uow, lambda: uow.goals.save(proposed, expected_version=proposed.version)
            )

    def test_queries_give_the_reference_answer(self, store: Store) -> None:
        objects = population()
        with store.unit_of_work() as uow:
            for obj in objects:
                repository(uow, type(obj).lifecycle.name).add(obj)
            uow.commit()
        with store.unit_of_work() as uow:
            for name in DRIVERS:
                mine = [obj for obj in objects if type(obj).lifecycle.name == name]
                self._check_by_state(repository(uow, name), mine, name)
                for method, field in QUERIES[name]:
                    self._check_query(repository(uow, name), mine, method, field)

    @staticmethod
    def _check_by_state(repo: Any, objects: list[Aggregate], name: str) -> None:
        for state in DRIVERS[name].lifecycle.states:
            expected = sorted((o for o in objects if str(o.state) == state), key=lambda o: o.id)
            assert list(repo.by_state(state)) == expected, (name, state)

    @staticmethod
    def _check_query(repo: Any, objects: list[Aggregate], method: str, field: str) -> None:
        order = ORDERS.get(method, lambda obj: obj.id)
        values = {getattr(obj, field) for obj in objects} - {None} | {"nobody-has-this"}
        for value in sorted(values):
            expected = sorted((o for o in objects if getattr(o, field) == value), key=order)
            assert list(getattr(repo, method)(value)) == expected, (method, value)


# -- concurrency -----------------------------------------------------------------------------------


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
    """Two commands that loaded one version: exactly one wins, the other changes nothing."""

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
        pc = perfcore(_PausingStore(store, barrier))  # type: ignore[arg-type]
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


# -- units of work ---------------------------------------------------------------------------------


class UnitOfWorkContract(StoreFixture):
    """All of a unit of work's writes become visible at commit, together, or none do."""

    @staticmethod
    def _write_everything(uow: UnitOfWork, existing: Goal) -> None:
        driver = DRIVERS["Goal"]
        uow.goals.add(driver.create("g-new"))
        uow.goals.save(driver.fire(existing, "approve"), expected_version=existing.version)
        uow.audit.append(chain([driver.create("g-new").history[0]], uow.audit.last()))
        uow.outbox.put(notification("n-1"))
        uow.idempotency.put(record("k-1"))

    def _nothing_written(self, store: Store, existing: Goal, log_length: int) -> None:
        with store.unit_of_work() as uow:
            assert uow.goals.find("g-new") is None
            assert uow.goals.get(existing.id) == existing
            assert len(list(uow.audit.read())) == log_length
            assert list(uow.outbox.pending()) == []
            assert uow.idempotency.get("k-1") is None

    def test_commit_makes_every_write_visible(self, store: Store) -> None:
        existing = DRIVERS["Goal"].reach("proposed", id="g-1")
        seed(store, existing)
        with store.unit_of_work() as uow:
            self._write_everything(uow, existing)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.goals.get("g-new").version == 1
            assert str(uow.goals.get(existing.id).state) == "active"
            assert len(list(uow.audit.read())) == len(existing.history) + 1
            assert [n.id for n in uow.outbox.pending()] == ["n-1"]
            assert uow.idempotency.get("k-1") == record("k-1")

    def test_writes_are_not_visible_to_others_before_commit(self, store: Store) -> None:
        existing = DRIVERS["Goal"].reach("proposed", id="g-1")
        seed(store, existing)
        with store.unit_of_work() as writer:
            writer.goals.add(DRIVERS["Goal"].create("g-new"))
            with store.unit_of_work() as reader:
                assert reader.goals.find("g-new") is None

    def test_an_exception_leaves_nothing(self, store: Store) -> None:
        existing = DRIVERS["Goal"].reach("proposed", id="g-1")
        seed(store, existing)

        def fail_half_way() -> None:
            with store.unit_of_work() as uow:
                self._write_everything(uow, existing)
                raise RuntimeError("the command failed half way")

        with pytest.raises(RuntimeError):
            fail_half_way()
        self._nothing_written(store, existing, len(existing.history))

    def test_leaving_without_commit_leaves_nothing(self, store: Store) -> None:
        existing = DRIVERS["Goal"].reach("proposed", id="g-1")
        seed(store, existing)
        with store.unit_of_work() as uow:
            self._write_everything(uow, existing)
        self._nothing_written(store, existing, len(existing.history))

    def test_rollback_discards_every_write(self, store: Store) -> None:
        existing = DRIVERS["Goal"].reach("proposed", id="g-1")
        seed(store, existing)
        with store.unit_of_work() as uow:
            self._write_everything(uow, existing)
            uow.rollback()
        self._nothing_written(store, existing, len(existing.history))

    def test_a_conflict_writes_none_of_the_unit_of_work(self, store: Store) -> None:
        driver = DRIVERS["Goal"]
        existing = driver.reach("proposed", id="g-1")
        seed(store, existing)
        with store.unit_of_work() as late, store.unit_of_work() as early:
            stale = late.goals.get("g-1")
            early.goals.save(driver.fire(existing, "cancel"), expected_version=existing.version)
            early.commit()
            approved = driver.fire(stale, "approve")
            with pytest.raises(ConcurrencyError):
                write_and_commit(
                    late,
                    lambda: late.goals.add(driver.create("g-new")),
                    lambda: late.outbox.put(notification("n-1")),
                    lambda: late.goals.save(approved, expected_version=stale.version),
                )
        with store.unit_of_work() as uow:
            assert uow.goals.find("g-new") is None
            assert str(uow.goals.get("g-1").state) == "cancelled"
            assert list(uow.outbox.pending()) == []


# -- the audit log ---------------------------------------------------------------------------------


def _commands(pc: Perfcore) -> None:
    """A few commands on two goals: eight audit entries."""
    proposed_goal(pc, "g-1")
    proposed_goal(pc, "g-2", owner=Actor(id="bo"))
    pc.goals.approve("g-1", by=BEN)
    pc.goals.check_in("g-1", by=ANA, on=EPOCH.date(), value=4)
    pc.goals.cancel("g-2", by=BEN, reason="the team was reorganised")
    pc.goals.check_in("g-1", by=ANA, on=EPOCH.date(), value=5)


def _edit(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    event = attrs.evolve(entries[index].event, reason="nothing to see here")
    return [*entries[:index], attrs.evolve(entries[index], event=event), *entries[index + 1 :]]


def _delete(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    return [*entries[:index], *entries[index + 1 :]]


def _swap(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    # Rows keep their sequence numbers; their contents trade places, as an UPDATE would do.
    first, second = entries[index], entries[index + 1]
    swapped = [
        attrs.evolve(second, sequence=first.sequence),
        attrs.evolve(first, sequence=second.sequence),
    ]
    return [*entries[:index], *swapped, *entries[index + 2 :]]


def _truncate(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    return entries[:index]


TAMPERING: dict[AuditProblem, Callable[[list[AuditEntry], int], list[AuditEntry]]] = {
    AuditProblem.EDITED: _edit,
    AuditProblem.DELETED: _delete,
    AuditProblem.REORDERED: _swap,
    AuditProblem.TRUNCATED: _truncate,
}


class AuditLogContract(StoreFixture):
    """The log keeps entries exactly, in order, only ever appended; tampering is found."""

    def test_entries_come_back_exactly_in_order(self, store: Store) -> None:
        goal = DRIVERS["Goal"].reach("achieved", id="g-1")
        entries = chain(goal.history, None)
        with store.unit_of_work() as uow:
            uow.audit.append(entries[:2])
            uow.audit.append(chain(goal.history[2:], entries[1]))
            uow.commit()
        with store.unit_of_work() as uow:
            assert list(uow.audit.read()) == entries
            assert list(uow.audit.read(after=2)) == entries[2:]
            assert uow.audit.last() == entries[-1]

    def test_an_empty_log_has_no_last_entry(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.audit.last() is None
            assert list(uow.audit.read()) == []

    @pytest.mark.parametrize("start", [0, 2, 4])
    def test_append_must_follow_the_last_entry(self, store: Store, start: int) -> None:
        goal = DRIVERS["Goal"].reach("active", id="g-1")
        entries = chain(goal.history, None)
        seed(store, goal)
        wrong = [attrs.evolve(entry, sequence=start + n + 1) for n, entry in enumerate(entries)]
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError) as raised:
            write_and_commit(uow, lambda: uow.audit.append(wrong))
        assert raised.value.aggregate_type == AUDIT_LOG
        assert audit_entries(store) == entries

    def test_two_appends_of_one_sequence_cannot_both_commit(self, store: Store) -> None:
        first, second = (DRIVERS["Goal"].create(id) for id in ("g-1", "g-2"))
        seed(store, DRIVERS["Goal"].create("g-0"))
        with store.unit_of_work() as uow:
            stale_last = uow.audit.last()
        with store.unit_of_work() as early:
            early.audit.append(chain(first.history, early.audit.last()))
            early.commit()
        stale = chain(second.history, stale_last)
        with store.unit_of_work() as late, pytest.raises(ConcurrencyError) as raised:
            write_and_commit(late, lambda: late.audit.append(stale))
        assert raised.value.aggregate_type == AUDIT_LOG
        assert [entry.event.aggregate_id for entry in audit_entries(store)] == ["g-0", "g-1"]

    def test_services_log_every_event_in_commit_order(self, store: Store) -> None:
        pc = perfcore(store)
        _commands(pc)
        logged = [(e.event.aggregate_id, e.event.version) for e in audit_entries(store)]
        assert logged == [
            ("g-1", 1), ("g-1", 2), ("g-2", 1), ("g-2", 2),
            ("g-1", 3), ("g-1", 4), ("g-2", 3), ("g-1", 5),
        ]  # fmt: skip
        assert [entry.sequence for entry in audit_entries(store)] == list(range(1, 9))
        report = pc.verify_audit_log()
        assert report.intact, report.detail
        assert report.checked == 8

    def test_earlier_entries_never_change(self, store: Store) -> None:
        pc = perfcore(store)
        proposed_goal(pc, "g-1")
        before = audit_entries(store)
        pc.goals.approve("g-1", by=BEN)
        after = audit_entries(store)
        assert after[: len(before)] == before
        assert len(after) == len(before) + 1

    def test_a_keyed_log_verifies_only_with_its_key(self, store: Store) -> None:
        _commands(perfcore(store, audit_key=b"secret"))
        assert perfcore(store, audit_key=b"secret").verify_audit_log().intact
        wrong = perfcore(store, audit_key=b"another secret").verify_audit_log()
        assert (wrong.intact, wrong.index) == (False, 0)
        unkeyed = perfcore(store).verify_audit_log()
        assert (unkeyed.problem, unkeyed.index) == (AuditProblem.UNVERIFIABLE, 0)

    @pytest.mark.parametrize("problem", sorted(TAMPERING))
    @pytest.mark.parametrize("index", [0, 3, 6])
    def test_tampering_is_reported_at_its_index(
        self, store: Store, problem: AuditProblem, index: int
    ) -> None:
        pc = perfcore(store)
        _commands(pc)
        entries = audit_entries(store)
        self.rewrite_audit_log(store, TAMPERING[problem](entries, index))
        report = pc.verify_audit_log()
        assert not report.intact
        assert (report.index, report.problem) == (index, problem), report.detail
        assert report.sequence == index + 1

    def test_an_edit_with_a_fresh_hash_is_found_at_its_index(self, store: Store) -> None:
        pc = perfcore(store)
        _commands(pc)
        entries = audit_entries(store)
        forged = chain([attrs.evolve(entries[4].event, reason="forged")], entries[3])[0]
        self.rewrite_audit_log(store, [*entries[:4], forged, *entries[5:]])
        report = pc.verify_audit_log()
        assert (report.index, report.problem) == (4, AuditProblem.EDITED), report.detail

    def test_a_rewritten_keyed_log_is_found_without_the_key(self, store: Store) -> None:
        pc = perfcore(store, audit_key=b"secret")
        _commands(pc)
        entries = audit_entries(store)
        # Someone who can rewrite the table, but has no key, re-chains everything unkeyed.
        events = [entry.event for entry in entries]
        events[2] = attrs.evolve(events[2], reason="forged")
        self.rewrite_audit_log(store, chain(events, None))
        report = pc.verify_audit_log()
        assert (report.index, report.problem) == (0, AuditProblem.EDITED), report.detail


# -- the outbox ------------------------------------------------------------------------------------


class _Notifier:
    """Records what it is handed; raises for the ids in ``failing`` (once each, if ``once``)."""

    def __init__(self, failing: Sequence[str] = (), *, once: bool = True) -> None:
        self.handed: list[str] = []
        self.failing = set(failing)
        self.once = once

    def notify(self, notification: Notification) -> None:
        self.handed.append(notification.id)
        if notification.id in self.failing:
            if self.once:
                self.failing.discard(notification.id)
            raise ConnectionError("the mail server is down")


class _UnmarkableStore:
    """A store whose ``mark_delivered`` fails: the process died right after the hand-off."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner

    def unit_of_work(self) -> Any:
        uow = self._inner.unit_of_work()

        def refuse(notification_id: str, at: dt.datetime) -> None:
            raise OSError("killed")

        uow.outbox.mark_delivered = refuse  # type: ignore[method-assign]
        return uow

    def close(self) -> None:
        self._inner.close()


class OutboxContract(StoreFixture):
    """Notifications wait, oldest first, until marked delivered; none is ever lost."""

    def test_pending_notifications_come_back_oldest_first(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for id in ("n-3", "n-1", "n-2"):
                uow.outbox.put(notification(id))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.outbox.put(notification("n-0"))
            uow.commit()
        assert [n.id for n in pending(store)] == ["n-3", "n-1", "n-2", "n-0"]
        assert pending(store)[0] == notification("n-3")
        with store.unit_of_work() as uow:
            assert [n.id for n in uow.outbox.pending(limit=2)] == ["n-3", "n-1"]

    def test_a_delivered_notification_is_not_offered_again(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.outbox.put(notification("n-1"))
            uow.outbox.put(notification("n-2"))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.outbox.mark_delivered("n-1", EPOCH)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.outbox.mark_delivered("n-1", EPOCH)  # two deliverers raced: nothing changes
            uow.commit()
        assert [n.id for n in pending(store)] == ["n-2"]

    def test_marking_an_unknown_notification_is_not_found(self, store: Store) -> None:
        with store.unit_of_work() as uow, pytest.raises(NotFound):
            write_and_commit(uow, lambda: uow.outbox.mark_delivered("nobody", EPOCH))

    def test_a_rolled_back_notification_is_never_offered(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.outbox.put(notification("n-1"))
            uow.rollback()
        assert pending(store) == []

    def test_a_failed_hand_off_loses_nothing(self, store: Store) -> None:
        notifier = _Notifier()
        pc = perfcore(store, notifier=notifier)
        plan = DRIVERS["Plan"].reach("active", id="plan-1")
        goal = DRIVERS["Goal"].reach("achieved", id="g-1")
        seed(store, plan, goal)
        pc.plans.attain("plan-1", by=BEN)
        [waiting] = pending(store)
        notifier.failing = {waiting.id}
        first = pc.deliver_notifications()
        assert (first.delivered, list(first.failed)) == ((), [waiting.id])
        assert pending(store) == [waiting]
        second = pc.deliver_notifications()
        assert second.delivered == (waiting.id,)
        assert pending(store) == []
        assert notifier.handed == [waiting.id, waiting.id]

    def test_a_crash_after_the_hand_off_hands_it_over_again(self, store: Store) -> None:
        notifier = _Notifier()
        plan = DRIVERS["Plan"].reach("active", id="plan-1")
        seed(store, plan, DRIVERS["Goal"].reach("achieved", id="g-1"))
        perfcore(store).plans.attain("plan-1", by=BEN)
        with pytest.raises(OSError, match="killed"):
            perfcore(_UnmarkableStore(store), notifier=notifier).deliver_notifications()  # type: ignore[arg-type]
        perfcore(store, notifier=notifier).deliver_notifications()
        assert len(notifier.handed) == 2
        assert len(set(notifier.handed)) == 1, "the same id both times, so it can be dropped"
        assert pending(store) == []


# -- idempotency keys ------------------------------------------------------------------------------


class IdempotencyContract(StoreFixture):
    """A key is remembered once; the same request again gets the first answer."""

    def test_a_key_is_remembered_once(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("k-1") is None
            uow.idempotency.put(record("k-1"))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("k-1") == record("k-1")
            with pytest.raises(ConcurrencyError) as raised:
                write_and_commit(uow, lambda: uow.idempotency.put(record("k-1", version=2)))
        assert raised.value.aggregate_type == IDEMPOTENCY_KEY
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("k-1") == record("k-1")

    def test_two_units_of_work_cannot_both_take_a_key(self, store: Store) -> None:
        with store.unit_of_work() as late, store.unit_of_work() as early:
            assert late.idempotency.get("k-1") is None
            early.idempotency.put(record("k-1"))
            early.commit()
            with pytest.raises(ConcurrencyError) as raised:
                write_and_commit(late, lambda: late.idempotency.put(record("k-1", version=2)))
        assert raised.value.aggregate_type == IDEMPOTENCY_KEY

    def test_the_same_request_again_returns_the_first_result(self, store: Store) -> None:
        pc = perfcore(store)
        proposed_goal(pc)
        first = pc.goals.approve("g-1", by=BEN, idempotency_key="req-1")
        log = audit_entries(store)
        again = pc.goals.approve("g-1", by=BEN, idempotency_key="req-1")
        assert again == first
        assert audit_entries(store) == log

    def test_the_first_result_is_returned_after_the_object_moved_on(self, store: Store) -> None:
        pc = perfcore(store)
        proposed_goal(pc)
        first = pc.goals.approve("g-1", by=BEN, idempotency_key="req-1")
        pc.goals.check_in("g-1", by=ANA, on=EPOCH.date(), value=3)
        assert pc.goals.approve("g-1", by=BEN, idempotency_key="req-1") == first

    def test_a_key_reused_for_another_request_is_refused(self, store: Store) -> None:
        pc = perfcore(store)
        proposed_goal(pc)
        pc.goals.approve("g-1", by=BEN, idempotency_key="req-1")
        log = audit_entries(store)
        with pytest.raises(IdempotencyConflict):
            pc.goals.approve("g-1", by=BEN, reason="other words", idempotency_key="req-1")
        with pytest.raises(IdempotencyConflict):
            pc.goals.check_in("g-1", by=ANA, on=EPOCH.date(), value=3, idempotency_key="req-1")
        assert audit_entries(store) == log

    def test_a_failed_command_does_not_take_its_key(self, store: Store) -> None:
        pc = perfcore(store)
        proposed_goal(pc)
        with pytest.raises(TransitionNotAllowed):
            pc.goals.achieve("g-1", by=BEN, idempotency_key="req-1")
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("req-1") is None


class StoreContract(
    RepositoryContract,
    ConcurrencyContract,
    UnitOfWorkContract,
    AuditLogContract,
    OutboxContract,
    IdempotencyContract,
):
    """Every behaviour a store must show."""


__all__ = [
    "AuditLogContract",
    "ConcurrencyContract",
    "IdempotencyContract",
    "OutboxContract",
    "RepositoryContract",
    "StoreContract",
    "StoreFixture",
    "UnitOfWorkContract",
]
