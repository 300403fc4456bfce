"""Goal: each guard and each policy rule both ways, progress and standing, bad input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pytest

from perfcore import (
    Actor,
    Goal,
    GoalState,
    GuardFailed,
    PermissionDenied,
    Policy,
    Role,
    Standing,
    ValidationError,
)
from perfcore.rules import has_role
from perfcore.testing.drivers import driver_for

AT = dt.datetime(2026, 1, 6, 9, tzinfo=dt.UTC)
ANA = Actor(id="ana")
BEN = Actor(id="ben", roles={Role.MANAGER})
HANA = Actor(id="hana", roles={Role.HR})
ZED = Actor(id="zed", roles={Role.MANAGER})
START, DUE = dt.date(2026, 1, 5), dt.date(2026, 7, 4)


def draft(**changes: object) -> Goal:
    fields: dict[str, object] = {
        "id": "g-1",
        "by": ANA,
        "at": AT,
        "owner_id": "ana",
        "manager_id": "ben",
        "title": "Resolve more tickets",
        "metric": "tickets a week",
        "baseline": 0,
        "target": 10,
        "start": START,
        "due": DUE,
    }
    fields.update(changes)
    return Goal.create(**fields)  # type: ignore[arg-type]


def active(**changes: object) -> Goal:
    return draft(**changes).propose(by=ANA, at=AT).approve(by=BEN, at=AT)


def test_creation_is_the_first_event() -> None:
    goal = draft()
    assert goal.version == 1
    assert goal.state is GoalState.DRAFT
    (event,) = goal.history
    assert (event.trigger, event.from_state, event.to_state) == ("create", None, "draft")
    assert (event.actor_id, event.at) == ("ana", AT)
    assert event.payload["set"]["target"] == "10"
    assert goal.created_by == "ana"
    assert goal.created_at == AT


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"title": "  "}, "needs a title"),
        ({"metric": ""}, "needs a metric"),
        ({"target": 0}, "must differ from the baseline"),
        ({"target": -5}, "not in the goal's direction"),
        ({"direction": "decrease"}, "not in the goal's direction"),
    ],
)
def test_propose_needs_a_measurable_goal(changes: dict[str, object], why: str) -> None:
    goal = draft(**changes)
    with pytest.raises(GuardFailed) as refused:
        goal.propose(by=ANA, at=AT)
    assert refused.value.rule == "measurable"
    assert why in refused.value.why
    assert goal.state is GoalState.DRAFT


def test_propose_needs_due_after_start() -> None:
    with pytest.raises(GuardFailed, match="must come after the start") as refused:
        draft(due=START).propose(by=ANA, at=AT)
    assert refused.value.rule == "dated"


def test_a_decreasing_goal_is_measurable() -> None:
    goal = draft(baseline=8, target=2, direction="decrease").propose(by=ANA, at=AT)
    assert goal.state is GoalState.PROPOSED


def test_edit_changes_a_draft_and_records_only_what_changed() -> None:
    goal = draft(title="").edit(by=ANA, at=AT, title="Answer faster", target="12.5")
    assert (goal.title, goal.target) == ("Answer faster", Decimal("12.5"))
    assert goal.history[-1].payload == {"set": {"title": "Answer faster", "target": "12.5"}}
    with pytest.raises(ValidationError, match="cannot be edited"):
        goal.edit(by=ANA, at=AT, owner_id="zed")
    with pytest.raises(ValidationError, match="at least one"):
        goal.edit(by=ANA, at=AT)


@pytest.mark.parametrize("approver", [BEN, HANA])
def test_the_manager_or_hr_approve(approver: Actor) -> None:
    goal = draft().propose(by=ANA, at=AT).approve(by=approver, at=AT)
    assert goal.state is GoalState.ACTIVE
    assert goal.history[-1].actor_id == approver.id


@pytest.mark.parametrize("actor", [ANA, ZED, Actor(id="ana", roles={Role.HR, Role.MANAGER})])
def test_nobody_else_approves_and_never_the_owner(actor: Actor) -> None:
    goal = draft().propose(by=ANA, at=AT)
    with pytest.raises(PermissionDenied) as refused:
        goal.approve(by=actor, at=AT)
    assert refused.value.rule == "the owner's manager or HR, never the owner"
    assert goal.state is GoalState.PROPOSED


def test_request_changes_needs_a_reason_and_returns_to_draft() -> None:
    goal = draft().propose(by=ANA, at=AT)
    with pytest.raises(ValidationError, match="reason"):
        goal.request_changes(by=BEN, at=AT, reason=" ")
    goal = goal.request_changes(by=BEN, at=AT, reason="make it weekly")
    assert goal.state is GoalState.DRAFT
    assert goal.history[-1].reason == "make it weekly"


def test_check_ins_drive_progress_clamped_to_one() -> None:
    goal = active()
    assert goal.progress == 0
    assert goal.latest_value is None
    goal = goal.check_in(by=ANA, at=AT, on=AT.date(), value=4, note="first week")
    assert goal.progress == Decimal("0.4")
    goal = goal.check_in(by=BEN, at=AT, on=AT.date(), value=14)
    assert goal.progress == 1
    assert goal.check_ins[-1].by == "ben"


def test_progress_of_a_decreasing_goal() -> None:
    goal = active(baseline=8, target=2, direction="decrease")
    goal = goal.check_in(by=ANA, at=AT, on=AT.date(), value=5)
    assert goal.progress == Decimal("0.5")
    goal = goal.check_in(by=ANA, at=AT, on=AT.date(), value=9)
    assert goal.progress == 0


def test_the_latest_check_in_is_by_date_not_by_recording() -> None:
    late = AT + dt.timedelta(days=30)
    goal = active().check_in(by=ANA, at=late, on=late.date(), value=6)
    goal = goal.check_in(by=ANA, at=late, on=AT.date(), value=2)  # back-filled
    assert goal.latest_value == 6
    assert goal.progress_on(AT.date()) == Decimal("0.2")
    assert goal.progress_on(START) == 0


def test_a_check_in_cannot_be_dated_in_the_future() -> None:
    with pytest.raises(GuardFailed, match="after the day it is recorded"):
        active().check_in(by=ANA, at=AT, on=AT.date() + dt.timedelta(days=1), value=3)


def test_only_the_owner_and_manager_check_in() -> None:
    with pytest.raises(PermissionDenied):
        active().check_in(by=HANA, at=AT, on=AT.date(), value=3)


def test_achieve_needs_the_target_met() -> None:
    goal = active()
    with pytest.raises(GuardFailed, match="no check-in yet"):
        goal.achieve(by=BEN, at=AT)
    goal = goal.check_in(by=ANA, at=AT, on=AT.date(), value=9)
    with pytest.raises(GuardFailed, match="does not meet the target 10"):
        goal.achieve(by=BEN, at=AT)
    goal = goal.check_in(by=ANA, at=AT, on=AT.date(), value=10).achieve(by=BEN, at=AT)
    assert goal.state is GoalState.ACHIEVED


def test_miss_only_when_due_and_unmet() -> None:
    goal = active().check_in(by=ANA, at=AT, on=AT.date(), value=3)
    with pytest.raises(GuardFailed, match="not due until"):
        goal.miss(by=BEN, at=AT)
    due = dt.datetime.combine(DUE, dt.time(18), tzinfo=dt.UTC)
    assert goal.miss(by=BEN, at=due).state is GoalState.MISSED
    met = goal.check_in(by=ANA, at=due, on=DUE, value=10)
    with pytest.raises(GuardFailed, match="achieve it instead"):
        met.miss(by=BEN, at=due)


def test_cancel_needs_a_reason() -> None:
    with pytest.raises(ValidationError, match="reason"):
        active().cancel(by=BEN, at=AT, reason="")
    assert active().cancel(by=BEN, at=AT, reason="reorganised").state is GoalState.CANCELLED


def test_standing_compares_progress_with_a_steady_pace() -> None:
    goal = active()
    midway = START + (DUE - START) / 2
    assert goal.standing(START - dt.timedelta(days=1)) is Standing.NOT_STARTED
    behind = goal.check_in(by=ANA, at=AT, on=AT.date(), value=2)
    assert behind.standing(midway) is Standing.BEHIND
    on_track = goal.check_in(by=ANA, at=AT, on=AT.date(), value=6)
    assert on_track.standing(midway) is Standing.ON_TRACK
    assert draft().standing(midway) is Standing.NOT_STARTED
    assert driver_for(Goal).reach("missed").standing(midway) is Standing.MISSED


def test_a_refused_command_leaves_the_object_as_it_was() -> None:
    goal = active()
    before = attrs.evolve(goal)
    for attempt in (
        lambda: goal.approve(by=BEN, at=AT),
        lambda: goal.achieve(by=BEN, at=AT),
        lambda: goal.check_in(by=HANA, at=AT, on=AT.date(), value=1),
        lambda: goal.check_in(by=ANA, at=AT.replace(tzinfo=None), on=AT.date(), value=1),
    ):
        with pytest.raises(Exception, match=r".") as raised:
            attempt()
        assert raised.type.__module__ == "perfcore.errors"
        assert goal == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"at": dt.datetime(2026, 1, 6, 9)}, "at"),
        ({"baseline": "lots"}, "baseline"),
        ({"target": float("nan")}, "target"),
        ({"weight": -1}, "weight"),
        ({"start": dt.datetime(2026, 1, 5, tzinfo=dt.UTC)}, "start"),
        ({"owner_id": ""}, "owner_id"),
        ({"owner_id": 7}, "owner_id"),
        ({"direction": "sideways"}, "direction"),
        ({"title": None}, "title"),
        ({"by": "ana"}, "by"),
        ({"parent_goal_id": " "}, "parent_goal_id"),
    ],
)
def test_bad_input_names_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        draft(**changes)
    assert refused.value.field == field


def test_the_creator_must_be_allowed() -> None:
    with pytest.raises(PermissionDenied, match="only the owner or the owner's manager or HR"):
        draft(by=ZED)


def test_an_organisation_can_replace_a_rule() -> None:
    hr_only = Policy().with_rules({("Goal", "approve"): has_role(Role.HR)})
    goal = draft().propose(by=ANA, at=AT)
    with pytest.raises(PermissionDenied, match="only HR"):
        goal.approve(by=BEN, at=AT, policy=hr_only)
    assert goal.approve(by=HANA, at=AT, policy=hr_only).state is GoalState.ACTIVE
    assert "approve" not in goal.allowed_triggers(BEN, hr_only)
