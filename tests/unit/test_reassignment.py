"""Reassignment: a person's open goals, plans and evaluations follow them to a new manager."""

from __future__ import annotations

import datetime as dt

import pytest

from perfcore import Actor, MemoryDirectory, Perfcore, PermissionDenied, ValidationError
from perfcore.adapters.memory import MemoryStore
from perfcore.errors import GuardFailed, TransitionNotAllowed
from perfcore.evaluation import Evaluation
from perfcore.goal import Goal
from perfcore.plan import Approver, Objective, Plan, PlanKind
from perfcore.services import Reassignment

SINCE = dt.date(2020, 1, 1)
MOVE = dt.date(2026, 3, 1)
AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
HR = Actor(id="hana", roles={"employee", "hr"})
PERIOD = {"period_start": dt.date(2025, 7, 1), "period_end": dt.date(2025, 12, 31)}


class Clock:
    def __init__(self) -> None:
        self.at = AT

    def now(self) -> dt.datetime:
        return self.at


@pytest.fixture
def org() -> MemoryDirectory:
    org = MemoryDirectory()
    manager = {"employee", "manager"}
    org.place("mia", on=SINCE, department="support", roles=manager)
    org.place("ben", on=SINCE, manager_id="mia", department="support", roles=manager)
    org.place("lea", on=SINCE, manager_id="mia", department="support", roles=manager)
    org.place("ana", on=SINCE, manager_id="ben", department="support")
    org.place("cy", on=SINCE, manager_id="ben", department="support")
    org.place("hana", on=SINCE, department="people", roles={"employee", "hr"})
    return org


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pc(org: MemoryDirectory, clock: Clock) -> Perfcore:
    return Perfcore(MemoryStore(), clock=clock, directory=org)


def a_goal(pc: Perfcore, id: str, owner: str = "ana") -> Goal:
    return pc.goals.create(
        by=owner, id=id, owner_id=owner, manager_id="ben", title="Replies",
        metric="replies a day", baseline=1, target=5, start=dt.date(2026, 1, 5),
        due=dt.date(2026, 6, 30),
    )  # fmt: skip


def an_evaluation(pc: Perfcore, id: str) -> None:
    pc.evaluations.create(
        by="ben", id=id, subject_id="ana", evaluator_id="ben", job_description_id="jd-1",
        job_description_number=1, criteria={"Replies": 100}, **PERIOD,
    )  # fmt: skip


def ana_s_work(pc: Perfcore) -> None:
    """Ana's work under ben: an active goal, a draft goal, an achieved one, a plan ben wrote,
    an evaluation ben has not reviewed, and cy's goal (which stays with ben)."""
    a_goal(pc, "g-active")
    pc.goals.propose("g-active", by="ana")
    pc.goals.approve("g-active", by="ben")
    a_goal(pc, "g-draft")
    a_goal(pc, "g-done")
    pc.goals.propose("g-done", by="ana")
    pc.goals.approve("g-done", by="ben")
    pc.goals.check_in("g-done", by="ana", on=AT.date(), value=5)
    pc.goals.achieve("g-done", by="ben")
    a_goal(pc, "g-cy", owner="cy")
    pc.plans.create(
        by="ben", id="p-1", kind=PlanKind.DEVELOPMENT, subject_id="ana", author_id="ben",
        start=dt.date(2026, 1, 5), end=dt.date(2026, 6, 30), approver=Approver.person("hana"),
        objectives=[Objective(goal_id="g-active", success="ten a day")],
    )  # fmt: skip
    an_evaluation(pc, "ev-1")


def moved(pc: Perfcore, org: MemoryDirectory, clock: Clock) -> Reassignment:
    org.place("ana", on=MOVE, manager_id="lea", department="support")
    clock.at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    return pc.reassign("ana", on=MOVE, by="hana", reason="ana joined lea's team on 1 March")


def test_open_work_follows_the_person_with_the_reason(
    pc: Perfcore, org: MemoryDirectory, clock: Clock
) -> None:
    ana_s_work(pc)
    done = moved(pc, org, clock)
    assert (done.from_manager, done.to_manager, done.on) == ("ben", "lea", MOVE)
    assert done.moved == (
        ("Goal", "g-active"), ("Goal", "g-draft"), ("Plan", "p-1"), ("Evaluation", "ev-1"),
    )  # fmt: skip
    assert pc.goals.get("g-active", by=HR).manager_id == "lea"
    assert pc.goals.get("g-draft", by=HR).manager_id == "lea"
    assert pc.goals.get("g-done", by=HR).manager_id == "ben"  # finished: ben's record
    assert pc.goals.get("g-cy", by=HR).manager_id == "ben"  # cy did not move
    plan = pc.plans.get("p-1", by=HR)
    assert isinstance(plan, Plan)
    assert plan.author_id == "lea"
    evaluation = pc.evaluations.get("ev-1", by=HR)
    assert isinstance(evaluation, Evaluation)
    assert evaluation.evaluator_id == "lea"
    for kind, id in done.moved:
        last = pc.history(kind, id, by=HR)[-1]
        assert (last.trigger, last.actor_id) == ("reassign", "hana")
        assert last.reason == "ana joined lea's team on 1 March"
    # The new manager now acts as the manager; the old one no longer can.
    pc.goals.check_in("g-active", by="lea", on=dt.date(2026, 3, 2), value=3)
    with pytest.raises((PermissionDenied, LookupError)):
        pc.goals.check_in("g-active", by="ben", on=dt.date(2026, 3, 2), value=4)


def test_running_it_again_moves_nothing(pc: Perfcore, org: MemoryDirectory, clock: Clock) -> None:
    ana_s_work(pc)
    moved(pc, org, clock)
    again = pc.reassign("ana", on=MOVE, by="hana", reason="again")
    assert again.moved == ()


def test_only_hr_reassigns(pc: Perfcore, org: MemoryDirectory, clock: Clock) -> None:
    ana_s_work(pc)
    org.place("ana", on=MOVE, manager_id="lea", department="support")
    clock.at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    with pytest.raises(PermissionDenied):
        pc.reassign("ana", on=MOVE, by="mia", reason="moved")
    assert pc.goals.get("g-active", by=HR).manager_id == "ben"


def test_the_move_comes_from_the_directory(
    pc: Perfcore, org: MemoryDirectory, clock: Clock
) -> None:
    ana_s_work(pc)
    clock.at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    with pytest.raises(ValidationError, match="no new manager for ana on 2026-03-01"):
        pc.reassign("ana", on=MOVE, by="hana", reason="moved")
    org.place("ana", on=dt.date(2026, 4, 1), manager_id="lea")
    with pytest.raises(ValidationError, match="has not come"):
        pc.reassign("ana", on=dt.date(2026, 4, 1), by="hana", reason="moved")
    with pytest.raises(ValidationError, match="reason"):
        pc.reassign("ana", on=MOVE, by="hana", reason=" ")


def test_one_object_that_cannot_follow_stops_them_all(
    pc: Perfcore, org: MemoryDirectory, clock: Clock
) -> None:
    ana_s_work(pc)
    pc.evaluations.create(
        by="ben", id="ev-2", subject_id="ana", evaluator_id="ben", job_description_id="jd-1",
        job_description_number=1, criteria={"Replies": 100}, period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2025, 6, 30),
    )  # fmt: skip
    pc.evaluations.open("ev-2", by="ben")
    pc.evaluations.request_feedback("ev-2", by="ben", reviewer_id="lea", relationship="peer")
    with pytest.raises(GuardFailed, match="lea was asked for feedback"):
        moved(pc, org, clock)
    assert pc.goals.get("g-active", by=HR).manager_id == "ben"


def test_the_domain_rules_of_reassign() -> None:
    ana = Actor(id="ana")
    goal = Goal.create(
        id="g-1", by=ana, at=AT, owner_id="ana", manager_id="ben", title="Replies",
        metric="replies a day", baseline=1, target=5, start=dt.date(2026, 1, 5),
        due=dt.date(2026, 6, 30),
    )  # fmt: skip
    assert "reassign" in goal.allowed_triggers(HR)
    assert "reassign" not in goal.allowed_triggers(Actor(id="ben", roles={"manager"}))
    with pytest.raises(GuardFailed, match="ben is its manager already"):
        goal.reassign(by=HR, at=AT, manager_id="ben", reason="moved")
    with pytest.raises(ValidationError):
        goal.reassign(by=HR, at=AT, manager_id="ana", reason="moved")  # her own manager
    cancelled = goal.cancel(by=HR, at=AT, reason="dropped")
    with pytest.raises(TransitionNotAllowed):
        cancelled.reassign(by=HR, at=AT, manager_id="lea", reason="moved")


def test_a_plan_never_goes_to_its_approver(pc: Perfcore, org: MemoryDirectory) -> None:
    plan = pc.plans.create(
        by="ben", id="p-2", kind=PlanKind.IMPROVEMENT, subject_id="ana", author_id="ben",
        start=dt.date(2026, 1, 5), end=dt.date(2026, 6, 30), approver=Approver.person("lea"),
    )  # fmt: skip
    with pytest.raises(GuardFailed, match="lea approves the plan"):
        plan.reassign(by=HR, at=AT, author_id="lea", reason="moved")
