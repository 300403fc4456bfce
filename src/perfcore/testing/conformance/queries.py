"""Queries give the reference answer: every selection, order and date range, computed from the
objects themselves and compared with what the store returns."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.adapters.memory import MemoryStore
from perfcore.evaluation import Evaluation
from perfcore.goal import Goal
from perfcore.job_description import JobDescription
from perfcore.plan import Approver, Objective, Plan, PlanState
from perfcore.ports import Store
from perfcore.services import GoalStatus, PlanReview
from perfcore.testing.conformance._support import (
    BEN,
    CLEO,
    DRIVERS,
    every_state,
    perfcore,
    repository,
)
from perfcore.testing.conformance.fixture import StoreFixture
from perfcore.testing.drivers import EPOCH

__all__ = ["QueriesContract", "population"]

A = TypeVar("A", bound=Aggregate)

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

#: The days the date-range tests ask about: before anything existed, on the days things
#: happened, and long after.
DAYS = [EPOCH.date() + dt.timedelta(days=offset) for offset in (-1, 0, 2, 4, 9, 30, 200)]


def _day(offset: int, hour: int = 10) -> dt.datetime:
    return EPOCH + dt.timedelta(days=offset, hours=hour - EPOCH.hour)


# -- a population: every type, state, owner, subject, lineage, cycle and day ---------------------


def _goal(id: str, owner: str, manager: str, steps: int) -> Goal:
    """A goal whose commands happen on different days, ``steps`` of them after its creation."""
    owner_actor, manager_actor = Actor(id=owner), Actor(id=manager, roles={"manager"})
    goal = Goal.create(
        id=id, by=owner_actor, at=_day(0), owner_id=owner, manager_id=manager, title="t",
        metric="m", baseline=0, target=10, start=EPOCH.date(),
        due=EPOCH.date() + dt.timedelta(days=90),
    )  # fmt: skip
    moves: list[Callable[[Goal], Goal]] = [
        lambda g: g.propose(by=owner_actor, at=_day(1)),
        lambda g: g.approve(by=manager_actor, at=_day(2)),
        lambda g: g.check_in(by=owner_actor, at=_day(3), on=_day(3).date(), value=3),
        lambda g: g.check_in(by=owner_actor, at=_day(9), on=_day(8).date(), value=9),
        lambda g: g.cancel(by=manager_actor, at=_day(30), reason="reorganised"),
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
                id=f"plan-{index}", by=BEN, at=EPOCH, kind="development", subject_id=subject,
                author_id=BEN.id, start=EPOCH.date(), end=EPOCH.date() + dt.timedelta(days=90),
                cycle_id=cycle,
            )
        )  # fmt: skip
    return found


def _active_plan(id: str, author: Actor, start: int, schedule: str, reviews: int) -> Plan:
    """An active plan starting ``start`` days after the epoch, with ``reviews`` held."""
    subject = Actor(id=f"subject-of-{id}")
    plan = Plan.create(
        id=id, by=author, at=_day(start), kind="improvement", subject_id=subject.id,
        author_id=author.id, approver=Approver.person(CLEO.id),
        objectives=[Objective(goal_id=f"goal-of-{id}", success="done")],
        review_schedule=schedule, start=_day(start).date(),
        end=_day(start + 120).date(),
    )  # fmt: skip
    plan = plan.submit(by=author, at=_day(start)).approve(by=CLEO, at=_day(start))
    plan = plan.acknowledge(by=subject, at=_day(start))
    for _ in range(reviews):
        due = plan.review_due
        assert due is not None
        at = dt.datetime.combine(due, dt.time(11), tzinfo=dt.UTC)
        plan = plan.start_review(by=author, at=at).conclude_review(by=author, at=at, notes="ok")
    return plan


def _plans_with_reviews() -> list[Plan]:
    mia = Actor(id="mia", roles={"manager"})
    return [
        _active_plan("review-0", BEN, 0, "FREQ=WEEKLY", 0),
        _active_plan("review-1", BEN, 3, "FREQ=WEEKLY;INTERVAL=2", 1),
        _active_plan("review-2", mia, -20, "FREQ=DAILY;INTERVAL=5", 2),
        _active_plan("review-3", mia, 10, "FREQ=MONTHLY", 0),
        _active_plan("review-4", BEN, -60, "FREQ=WEEKLY;COUNT=3", 2),
    ]


def _evaluations() -> list[Evaluation]:
    found: list[Evaluation] = []
    for index, (subject, cycle) in enumerate(
        [("ana", "c-1"), ("ana", None), ("bo", "c-1"), ("cy", "c-2")]
    ):
        found.append(
            Evaluation.create(
                id=f"ev-{index}", by=BEN, at=EPOCH, subject_id=subject, evaluator_id=BEN.id,
                job_description_id="jd-0-1", job_description_number=1,
                criteria={"Delivery": 100}, period_start=EPOCH.date() - dt.timedelta(days=365),
                period_end=EPOCH.date() - dt.timedelta(days=1), cycle_id=cycle,
            )
        )  # fmt: skip
    return found


def population() -> list[Aggregate]:
    """Objects of every type, in every reachable state, with owners, subjects, lineages, cycles
    and days that repeat, so that every query has several answers and some empty ones.

    .. versionadded:: 0.1.0
    """
    objects: list[Aggregate] = [
        DRIVERS[name].reach(state, id=f"{name.lower()}-{state}") for name, state in every_state()
    ]
    people = ["ana", "bo", "cy"]
    for index in range(12):
        owner, manager = people[index % 3], ["ben", "mia"][index % 2]
        objects.append(_goal(f"goal-{index}", owner, manager, index % 6))
    objects += _job_descriptions()
    objects += _plans()
    objects += _plans_with_reviews()
    objects += _evaluations()
    objects.append(DRIVERS["ReviewCycle"].reach("evaluations", id="c-1"))
    return objects


def _as_of(obj: A, day: dt.date) -> A | None:
    """The reference for "as the records stood at the end of ``day``": a replay of the events
    recorded before midnight that followed it."""
    cutoff = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    events = list(itertools.takewhile(lambda event: event.at < cutoff, obj.history))
    return type(obj).replay(events) if events else None


def _of_type(objects: Sequence[Aggregate], kind: type[A]) -> list[A]:
    return [obj for obj in objects if isinstance(obj, kind)]


class QueriesContract(StoreFixture):
    """Every query returns exactly the objects it should, in its order; questions about a day
    or a range of days are answered as the objects themselves say.

    .. versionadded:: 0.1.0
    """

    @pytest.fixture
    def populated(self, store: Store) -> list[Aggregate]:
        """The store, holding :func:`population`; returns the objects stored."""
        objects = population()
        with store.unit_of_work() as uow:
            for obj in objects:
                repository(uow, type(obj).lifecycle.name).add(obj)
            uow.commit()
        return objects

    def test_queries_give_the_reference_answer(
        self, store: Store, populated: list[Aggregate]
    ) -> None:
        with store.unit_of_work() as uow:
            for name in DRIVERS:
                mine = [obj for obj in populated if type(obj).lifecycle.name == name]
                self._check_by_state(repository(uow, name), mine, name)
                for method, field in QUERIES[name]:
                    self._check_query(repository(uow, name), mine, method, field)

    @pytest.mark.parametrize("manager_id", ["ben", "mia", "nobody"])
    def test_team_goals_on_a_day_are_as_the_records_stood(
        self, store: Store, populated: list[Aggregate], manager_id: str
    ) -> None:
        goals = [g for g in _of_type(populated, Goal) if g.manager_id == manager_id]
        pc = perfcore(store)
        for day in DAYS:
            then = [goal for goal in (_as_of(g, day) for g in goals) if goal is not None]
            expected = sorted(
                (GoalStatus.of(goal, day) for goal in then),
                key=lambda status: (status.owner_id, status.goal.id),
            )
            assert pc.queries.team_goals(manager_id, on=day) == expected, day

    @pytest.mark.parametrize("author_id", [None, "ben", "mia"])
    @pytest.mark.parametrize("include_overdue", [True, False])
    def test_plans_due_for_review_in_a_range_are_the_reference_ones(
        self,
        store: Store,
        populated: list[Aggregate],
        author_id: str | None,
        include_overdue: bool,
    ) -> None:
        active = [p for p in _of_type(populated, Plan) if p.state is PlanState.ACTIVE]
        pc = perfcore(store)
        for first, last in itertools.combinations(DAYS, 2):
            expected = sorted(
                (
                    PlanReview(plan=plan, due=due)
                    for plan in active
                    if (due := plan.review_due) is not None
                    and due <= last
                    and (include_overdue or due >= first)
                    and author_id in (None, plan.author_id)
                ),
                key=lambda review: (review.due, review.plan.id),
            )
            found = pc.queries.plans_due_for_review(
                first, last, author_id=author_id, include_overdue=include_overdue
            )
            assert found == expected, (first, last)

    def test_cycle_progress_matches_the_reference_store(
        self, store: Store, populated: list[Aggregate]
    ) -> None:
        reference = MemoryStore()
        with reference.unit_of_work() as uow:
            for obj in populated:
                repository(uow, type(obj).lifecycle.name).add(obj)
            uow.commit()
        for day in DAYS:
            expected = perfcore(reference).queries.cycle_progress("c-1", on=day)
            assert perfcore(store).queries.cycle_progress("c-1", on=day) == expected, day

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
