"""Plan: each guard and each policy rule both ways, the review schedule, attainment, bad input."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import attrs
import pytest

from perfcore import (
    Actor,
    GoalState,
    GuardFailed,
    PermissionDenied,
    Policy,
    Role,
    TransitionNotAllowed,
    ValidationError,
    lifecycle_of,
)
from perfcore._codec import from_json_data, to_json_data
from perfcore.plan import (
    Acknowledgement,
    Approver,
    ApproverKind,
    Attainment,
    Objective,
    Plan,
    PlanKind,
    PlanState,
    ReviewNote,
    Support,
    SupportKind,
)
from perfcore.rules import has_role

UTC = dt.UTC
AT = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)
START = dt.date(2026, 1, 5)  # a Monday
END = dt.date(2026, 6, 30)

BEN = Actor(id="ben", roles={"employee", "manager"})  # the author
ANA = Actor(id="ana")  # the employee
CLEO = Actor(id="cleo", roles={"employee", "approver"}, department="people")  # the approver
HANA = Actor(id="hana", roles={"hr"})
DAN = Actor(id="dan", roles={"employee", "manager"})  # another manager, no relation
TOM = Actor(id="tom")  # a team member


def on(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=UTC)


def objective(goal_id: str) -> Objective:
    return Objective(goal_id=goal_id, success=f"{goal_id} is achieved")


def draft(**fields: Any) -> Plan:
    values: dict[str, Any] = {
        "id": "p-1",
        "by": BEN,
        "at": AT,
        "kind": "development",
        "subject_id": "ana",
        "author_id": "ben",
        "approver": Approver.person("cleo"),
        "objectives": [objective("g-1"), objective("g-2")],
        "support": [Support(kind="mentoring", description="an hour a week with a senior")],
        "review_schedule": "FREQ=WEEKLY;INTERVAL=4",
        "start": START,
        "end": END,
    }
    values.update(fields)
    return Plan.create(**values)


def submitted(**fields: Any) -> Plan:
    return draft(**fields).submit(by=BEN, at=AT)


def active(**fields: Any) -> Plan:
    plan = submitted(**fields).approve(by=CLEO, at=AT)
    member = ANA if plan.kind is not PlanKind.TEAM else TOM
    return plan.acknowledge(by=member, at=AT)


def in_review(**fields: Any) -> Plan:
    return active(**fields).start_review(by=BEN, at=on(dt.date(2026, 2, 2)))


def assert_unchanged(plan: Plan, attempt: Any, error: type[Exception]) -> Exception:
    before = attrs.evolve(plan)
    with pytest.raises(error) as raised:
        attempt(plan)
    assert plan == before
    return raised.value


# -- the table ----------------------------------------------------------------------------------


def test_the_table_has_the_states_and_triggers_of_the_issue() -> None:
    lifecycle = lifecycle_of(Plan)
    assert lifecycle.states == (
        "draft",
        "submitted",
        "approved",
        "active",
        "in_review",
        "attained",
        "closed",
        "cancelled",
    )
    assert set(lifecycle.terminal_states) == {"attained", "closed", "cancelled"}
    assert ("attain", "in_review", "attained") in lifecycle.transitions
    assert ("revise", "in_review", "draft") in lifecycle.transitions
    assert {source for trigger, source, _ in lifecycle.transitions if trigger == "cancel"} == {
        "draft",
        "submitted",
        "approved",
        "active",
        "in_review",
    }
    assert "    in_review --> active: conclude_review" in lifecycle.to_mermaid()


# -- creating -----------------------------------------------------------------------------------


def test_create_records_the_fields_and_the_first_event() -> None:
    plan = draft(cycle_id="2026-h1")
    assert plan.state is PlanState.DRAFT
    assert plan.kind is PlanKind.DEVELOPMENT
    assert plan.version == 1
    assert plan.created_by == "ben"
    assert plan.created_at == AT
    assert plan.goal_ids == ("g-1", "g-2")
    assert plan.cycle_id == "2026-h1"
    assert plan.acknowledgement is None
    assert plan.attainment is None
    assert plan.support[0].kind is SupportKind.MENTORING
    event = plan.history[0]
    assert (event.trigger, event.from_state, event.to_state) == ("create", None, "draft")
    assert event.payload["set"]["approver"] == {"kind": "person", "id": "cleo"}


def test_a_draft_may_be_incomplete() -> None:
    plan = draft(approver=None, objectives=[], review_schedule=None)
    assert plan.approver is None
    assert plan.next_review(START) is None
    assert plan.review_due is None


@pytest.mark.parametrize("creator", [BEN, HANA])
def test_a_manager_or_hr_may_create(creator: Actor) -> None:
    assert draft(by=creator).created_by == creator.id


@pytest.mark.parametrize("creator", [ANA, CLEO])
def test_others_may_not_create(creator: Actor) -> None:
    with pytest.raises(PermissionDenied) as raised:
        draft(by=creator)
    assert raised.value.trigger == "create"
    assert "a manager or HR" in str(raised.value)


def test_a_team_plan_needs_members_and_only_a_team_plan_has_them() -> None:
    team = draft(kind="team", subject_id="team-7", team_member_ids=["tom", "ana"])
    assert team.team_member_ids == frozenset({"tom", "ana"})
    with pytest.raises(ValidationError) as raised:
        draft(kind="team", subject_id="team-7")
    assert raised.value.field == "team_member_ids"
    assert "at least one team member" in raised.value.why
    with pytest.raises(ValidationError) as raised:
        draft(team_member_ids={"tom"})
    assert "only a team plan has team members" in raised.value.why


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"at": dt.datetime(2026, 1, 5, 9)}, "at"),
        ({"kind": "coaching"}, "kind"),
        ({"subject_id": " "}, "subject_id"),
        ({"start": dt.datetime(2026, 1, 5, tzinfo=UTC)}, "start"),
        ({"end": "2026-06-30"}, "end"),
        ({"approver": "cleo"}, "approver"),
        ({"objectives": [objective("g-1"), objective("g-1")]}, "objectives"),
        ({"objectives": [{"goal_id": "g-1", "success": "done"}]}, "objectives[0]"),
        ({"support": ["an hour a week"]}, "support[0]"),
        ({"team_member_ids": "tom"}, "team_member_ids"),
        ({"review_schedule": "every four weeks"}, "review_schedule"),
        ({"review_schedule": 4}, "review_schedule"),
        ({"cycle_id": ""}, "cycle_id"),
        ({"by": "ben"}, "by"),
    ],
)
def test_bad_input_at_creation_is_a_validation_error(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        draft(**fields)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Approver(kind="team", id="x"), "approver.kind"),
        (lambda: Approver.person(""), "id"),
        (lambda: Objective(goal_id="g-1", success=" "), "success"),
        (lambda: Support(kind="coffee", description="a lot"), "support.kind"),
        (lambda: Support(kind="time", description=""), "description"),
        (lambda: Acknowledgement(by="ana", at=dt.datetime(2026, 1, 5)), "at"),
        (lambda: ReviewNote(at=AT, by="ben", notes=""), "notes"),
        (lambda: Attainment(by="ben", at=AT, goal_ids=("g-1", 2)), "goal_ids[1]"),
    ],
)
def test_value_objects_validate_their_fields(make: Any, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        make()
    assert raised.value.field == field


def test_the_value_objects_round_trip_through_json() -> None:
    values: list[Any] = [
        Approver.department("people"),
        Approver.person("cleo"),
        objective("g-1"),
        Support(kind="budget", description="500 EUR for a course"),
        Acknowledgement(by="ana", at=AT),
        ReviewNote(at=AT, by="ben", notes="fine"),
        Attainment(by="ben", at=AT, goal_ids=("g-1", "g-2")),
    ]
    for value in values:
        assert from_json_data(to_json_data(value), type(value)) == value
    assert from_json_data(None, Approver | None) is None


# -- edit ---------------------------------------------------------------------------------------


def test_the_author_edits_a_draft() -> None:
    plan = draft().edit(
        by=BEN,
        at=AT,
        objectives=[objective("g-3")],
        review_schedule="FREQ=MONTHLY",
        approver=Approver.department("people"),
    )
    assert plan.goal_ids == ("g-3",)
    assert plan.approver == Approver(kind=ApproverKind.DEPARTMENT, id="people")
    assert plan.version == 2
    assert plan.history[-1].payload["set"]["objectives"] == [
        {"goal_id": "g-3", "success": "g-3 is achieved"}
    ]


def test_hr_may_edit_but_not_the_approver_or_the_employee() -> None:
    assert draft().edit(by=HANA, at=AT, cycle_id="c-2").cycle_id == "c-2"
    for actor in (CLEO, ANA, DAN):
        assert_unchanged(
            draft(), lambda plan, a=actor: plan.edit(by=a, at=AT, cycle_id="c"), PermissionDenied
        )


def test_edit_refuses_fields_that_are_not_editable_and_bad_values() -> None:
    error = assert_unchanged(
        draft(), lambda plan: plan.edit(by=BEN, at=AT, author_id="dan"), ValidationError
    )
    assert isinstance(error, ValidationError)
    assert error.field == "author_id"
    assert_unchanged(draft(), lambda plan: plan.edit(by=BEN, at=AT), ValidationError)
    error = assert_unchanged(
        draft(),
        lambda plan: plan.edit(by=BEN, at=AT, review_schedule="FREQ=WEEKLY;INTERVAL=0"),
        ValidationError,
    )
    assert isinstance(error, ValidationError)
    assert error.field == "review_schedule"


def test_end_before_start_is_allowed_in_a_draft_and_refused_at_submit() -> None:
    plan = draft().edit(by=BEN, at=AT, start=dt.date(2026, 3, 1), end=dt.date(2026, 1, 1))
    assert plan.end < plan.start
    error = assert_unchanged(plan, lambda p: p.submit(by=BEN, at=AT), GuardFailed)
    assert isinstance(error, GuardFailed)
    assert error.rule == "dated"
    assert error.why == "the plan ends on 2026-01-01, before it starts on 2026-03-01"


def test_edit_is_for_drafts_only() -> None:
    error = assert_unchanged(
        submitted(), lambda plan: plan.edit(by=BEN, at=AT, cycle_id="c"), TransitionNotAllowed
    )
    assert isinstance(error, TransitionNotAllowed)
    assert error.allowed == ("request_changes", "approve", "cancel", "reassign")


# -- submit -------------------------------------------------------------------------------------


def test_a_whole_plan_is_submitted() -> None:
    plan = submitted()
    assert plan.state is PlanState.SUBMITTED
    assert plan.history[-1].trigger == "submit"


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"objectives": []}, "a plan needs at least one objective before it is submitted"),
        ({"approver": None}, "a plan needs an approver before it is submitted"),
        ({"review_schedule": None}, "a plan needs a review schedule before it is submitted"),
        (
            {"objectives": [], "approver": None, "review_schedule": None},
            "a plan needs at least one objective, an approver and a review schedule"
            " before it is submitted",
        ),
    ],
)
def test_submit_needs_objectives_an_approver_and_a_schedule(
    fields: dict[str, Any], why: str
) -> None:
    error = assert_unchanged(draft(**fields), lambda p: p.submit(by=BEN, at=AT), GuardFailed)
    assert isinstance(error, GuardFailed)
    assert (error.rule, error.why) == ("complete", why)


def test_submit_needs_the_end_after_the_start() -> None:
    error = assert_unchanged(draft(end=START), lambda p: p.submit(by=BEN, at=AT), GuardFailed)
    assert isinstance(error, GuardFailed)
    assert error.why == (
        "the plan ends on the day it starts (2026-01-05); it must end after it starts"
    )


@pytest.mark.parametrize(
    "schedule", ["FREQ=YEARLY", "FREQ=WEEKLY;COUNT=1", "FREQ=DAILY;UNTIL=20260105"]
)
def test_submit_needs_a_review_between_start_and_end(schedule: str) -> None:
    plan = draft(review_schedule=schedule)
    error = assert_unchanged(plan, lambda p: p.submit(by=BEN, at=AT), GuardFailed)
    assert isinstance(error, GuardFailed)
    assert error.rule == "reviews scheduled"
    assert error.why == (
        f"the review schedule {schedule} has no review day after the start (2026-01-05)"
        " and on or before the end (2026-06-30)"
    )


def test_hr_may_submit_and_the_approver_may_not() -> None:
    assert draft().submit(by=HANA, at=AT).state is PlanState.SUBMITTED
    assert_unchanged(draft(), lambda p: p.submit(by=CLEO, at=AT), PermissionDenied)


def test_the_policy_is_checked_before_the_guards() -> None:
    plan = draft(objectives=[])
    assert_unchanged(plan, lambda p: p.submit(by=DAN, at=AT), PermissionDenied)


# -- request_changes and approve ----------------------------------------------------------------


def test_the_approver_requests_changes_with_a_reason() -> None:
    plan = submitted().request_changes(by=CLEO, at=AT, reason="say how g-2 is measured")
    assert plan.state is PlanState.DRAFT
    assert plan.history[-1].reason == "say how g-2 is measured"
    assert_unchanged(
        submitted(), lambda p: p.request_changes(by=CLEO, at=AT, reason=" "), ValidationError
    )
    assert_unchanged(
        submitted(), lambda p: p.request_changes(by=BEN, at=AT, reason="x"), PermissionDenied
    )


def test_the_named_person_approves_and_nobody_else() -> None:
    assert submitted().approve(by=CLEO, at=AT).state is PlanState.APPROVED
    other_approver = Actor(id="olga", roles={"approver"}, department="people")
    for actor in (BEN, ANA, HANA, DAN, other_approver):
        error = assert_unchanged(
            submitted(), lambda p, a=actor: p.approve(by=a, at=AT), PermissionDenied
        )
        assert isinstance(error, PermissionDenied)
        assert error.rule == (
            "the plan's approver (the named person, or an approver of the named department),"
            " never the plan's author, never the employee the plan is for (for a team plan, a"
            " team member), never whoever drafted it"
        )


def test_the_subject_named_approver_of_their_own_plan_may_not_approve_it() -> None:
    """An employee named as approver of her own improvement plan cannot approve it."""
    plan = submitted(approver=Approver.person("ana"))
    error = assert_unchanged(plan, lambda p: p.approve(by=ANA, at=AT), PermissionDenied)
    assert "never the employee the plan is for" in str(error)


def test_whoever_drafted_a_plan_never_approves_it_whatever_author_it_names() -> None:
    """HR drafts a plan naming someone else its author and itself its approver: refused."""
    hr_drafted = draft(by=HANA, approver=Approver.person("hana")).submit(by=BEN, at=AT)
    error = assert_unchanged(hr_drafted, lambda p: p.approve(by=HANA, at=AT), PermissionDenied)
    assert "never whoever drafted it" in str(error)


def test_an_approver_of_the_named_department_approves() -> None:
    plan = submitted(approver=Approver.department("people"))
    assert plan.approve(by=CLEO, at=AT).state is PlanState.APPROVED
    olga = Actor(id="olga", roles={"approver"}, department="people")
    assert plan.request_changes(by=olga, at=AT, reason="x").state is PlanState.DRAFT
    not_an_approver = Actor(id="pia", roles={"employee"}, department="people")
    elsewhere = Actor(id="quinn", roles={"approver"}, department="finance")
    no_department = Actor(id="rob", roles={"approver"})
    for actor in (not_an_approver, elsewhere, no_department, HANA):
        assert_unchanged(plan, lambda p, a=actor: p.approve(by=a, at=AT), PermissionDenied)


def test_segregation_of_duties_the_author_never_approves() -> None:
    # The author named themself...
    self_named = submitted(approver=Approver.person("ben"))
    assert_unchanged(self_named, lambda p: p.approve(by=BEN, at=AT), PermissionDenied)
    assert_unchanged(
        self_named, lambda p: p.request_changes(by=BEN, at=AT, reason="x"), PermissionDenied
    )
    # ...or is an approver of the named department.
    boss = Actor(id="ben", roles={"manager", "approver"}, department="people")
    by_department = submitted(by=boss, approver=Approver.department("people"))
    assert_unchanged(by_department, lambda p: p.approve(by=boss, at=AT), PermissionDenied)
    assert by_department.approve(by=CLEO, at=AT).state is PlanState.APPROVED


def test_the_policy_table_is_replaceable() -> None:
    policy = Policy().with_rules({("Plan", "approve"): has_role(Role.HR)})
    plan = submitted()
    assert plan.approve(by=HANA, at=AT, policy=policy).state is PlanState.APPROVED
    assert_unchanged(plan, lambda p: p.approve(by=CLEO, at=AT, policy=policy), PermissionDenied)
    assert Policy().rule_for("Plan", "acknowledge") is not None


# -- acknowledge --------------------------------------------------------------------------------


def test_the_employee_acknowledges_and_the_plan_becomes_active() -> None:
    approved = submitted().approve(by=CLEO, at=AT)
    assert approved.allowed_triggers(ANA) == ("acknowledge",)
    plan = approved.acknowledge(by=ANA, at=on(START, 11))
    assert plan.state is PlanState.ACTIVE
    assert plan.acknowledgement == Acknowledgement(by="ana", at=on(START, 11))
    assert plan.review_due == dt.date(2026, 2, 2)
    for actor in (BEN, CLEO, HANA):
        assert_unchanged(approved, lambda p, a=actor: p.acknowledge(by=a, at=AT), PermissionDenied)


def test_a_team_member_acknowledges_a_team_plan() -> None:
    fields = {"kind": "team", "subject_id": "team-7", "team_member_ids": {"tom", "ana"}}
    approved = submitted(**fields).approve(by=CLEO, at=AT)
    assert approved.acknowledge(by=TOM, at=AT).acknowledgement == Acknowledgement(by="tom", at=AT)
    team_id = Actor(id="team-7")
    for actor in (team_id, DAN):
        assert_unchanged(approved, lambda p, a=actor: p.acknowledge(by=a, at=AT), PermissionDenied)


def test_bad_input_to_a_command_changes_nothing() -> None:
    approved = submitted().approve(by=CLEO, at=AT)
    naive = dt.datetime(2026, 1, 6, 9)
    assert_unchanged(approved, lambda p: p.acknowledge(by=ANA, at=naive), ValidationError)
    assert_unchanged(approved, lambda p: p.acknowledge(by="ana", at=AT), ValidationError)
    assert_unchanged(approved, lambda p: p.approve(by=CLEO, at=naive), ValidationError)


# -- reviews ------------------------------------------------------------------------------------


def test_a_review_starts_on_or_after_the_scheduled_day_only() -> None:
    plan = active()
    error = assert_unchanged(
        plan, lambda p: p.start_review(by=BEN, at=on(dt.date(2026, 2, 1), 23)), GuardFailed
    )
    assert isinstance(error, GuardFailed)
    assert error.rule == "review due"
    assert error.why == "the next review is scheduled for 2026-02-02; it cannot start on 2026-02-01"
    assert plan.start_review(by=BEN, at=on(dt.date(2026, 2, 2), 0)).state is PlanState.IN_REVIEW
    assert plan.start_review(by=BEN, at=on(dt.date(2026, 2, 20))).state is PlanState.IN_REVIEW


def test_after_a_review_the_next_one_is_the_next_scheduled_day() -> None:
    late = dt.date(2026, 2, 10)
    plan = (
        active()
        .start_review(by=BEN, at=on(late))
        .conclude_review(by=CLEO, at=on(late, 12), notes="g-1 is nearly there")
    )
    assert plan.state is PlanState.ACTIVE
    assert plan.review_notes == (
        ReviewNote(at=on(late, 12), by="cleo", notes="g-1 is nearly there"),
    )
    assert plan.review_due == dt.date(2026, 3, 2)
    assert_unchanged(plan, lambda p: p.start_review(by=BEN, at=on(late, 13)), GuardFailed)
    assert plan.start_review(by=HANA, at=on(dt.date(2026, 3, 2))).state is PlanState.IN_REVIEW


def test_no_review_remains_after_the_last_scheduled_day() -> None:
    plan = active(end=dt.date(2026, 2, 15))
    plan = plan.start_review(by=BEN, at=on(dt.date(2026, 2, 2))).conclude_review(
        by=BEN, at=on(dt.date(2026, 2, 2), 11), notes="fine"
    )
    assert plan.review_due is None
    error = assert_unchanged(
        plan, lambda p: p.start_review(by=BEN, at=on(dt.date(2026, 3, 2))), GuardFailed
    )
    assert isinstance(error, GuardFailed)
    assert error.why == "no review is scheduled from now until the plan ends on 2026-02-15"


def test_who_may_run_a_review() -> None:
    plan = active()
    when = on(dt.date(2026, 2, 2))
    for actor in (BEN, CLEO, HANA):
        assert plan.start_review(by=actor, at=when).state is PlanState.IN_REVIEW
    for actor in (ANA, DAN):
        assert_unchanged(plan, lambda p, a=actor: p.start_review(by=a, at=when), PermissionDenied)
    reviewing = in_review()
    assert_unchanged(
        reviewing, lambda p: p.conclude_review(by=ANA, at=AT, notes="x"), PermissionDenied
    )


def test_a_review_may_move_the_dates() -> None:
    plan = in_review().conclude_review(
        by=BEN, at=AT, notes="more time", start=dt.date(2026, 1, 12), end=dt.date(2026, 9, 30)
    )
    assert (plan.start, plan.end) == (dt.date(2026, 1, 12), dt.date(2026, 9, 30))
    assert plan.goal_ids == ("g-1", "g-2")
    assert plan.history[-1].payload == {
        "set": {"start": "2026-01-12", "end": "2026-09-30"},
        "append": {"review_notes": [{"at": AT.isoformat(), "by": "ben", "notes": "more time"}]},
    }


def test_a_review_may_not_put_the_end_before_the_start() -> None:
    error = assert_unchanged(
        in_review(),
        lambda p: p.conclude_review(by=BEN, at=AT, notes="x", end=dt.date(2026, 1, 1)),
        GuardFailed,
    )
    assert isinstance(error, GuardFailed)
    assert (error.rule, error.why) == (
        "dated",
        "the plan ends on 2026-01-01, before it starts on 2026-01-05",
    )


def test_a_review_needs_notes_and_real_dates() -> None:
    reviewing = in_review()
    assert_unchanged(
        reviewing, lambda p: p.conclude_review(by=BEN, at=AT, notes=""), ValidationError
    )
    error = assert_unchanged(
        reviewing,
        lambda p: p.conclude_review(by=BEN, at=AT, notes="x", end="2026-09-30"),
        ValidationError,
    )
    assert isinstance(error, ValidationError)
    assert error.field == "end"


def test_revise_returns_to_draft_so_the_objectives_can_change() -> None:
    plan = in_review().revise(by=BEN, at=AT, reason="g-2 is obsolete")
    assert plan.state is PlanState.DRAFT
    assert plan.acknowledgement is None
    plan = plan.edit(by=BEN, at=AT, objectives=[objective("g-1"), objective("g-3")])
    again = plan.submit(by=BEN, at=AT).approve(by=CLEO, at=AT).acknowledge(by=ANA, at=AT)
    assert again.goal_ids == ("g-1", "g-3")
    assert again.state is PlanState.ACTIVE
    assert_unchanged(in_review(), lambda p: p.revise(by=BEN, at=AT, reason=""), ValidationError)
    assert_unchanged(in_review(), lambda p: p.revise(by=CLEO, at=AT, reason="x"), PermissionDenied)
    assert in_review().revise(by=HANA, at=AT, reason="x").state is PlanState.DRAFT


# -- attain -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [active, in_review])
def test_attain_when_every_goal_is_achieved(make: Any) -> None:
    states = {"g-1": GoalState.ACHIEVED, "g-2": "achieved"}
    plan = make().attain(by=CLEO, at=on(dt.date(2026, 5, 1)), goal_states=states)
    assert plan.state is PlanState.ATTAINED
    assert plan.attainment == Attainment(
        by="cleo", at=on(dt.date(2026, 5, 1)), goal_ids=("g-1", "g-2")
    )
    assert Plan.replay(plan.history) == plan


@pytest.mark.parametrize(
    ("states", "why"),
    [
        ({"g-1": "achieved", "g-2": "active"}, "goal g-2 is active, not achieved"),
        ({"g-1": "achieved"}, "the state of goal g-2 was not given"),
        (
            {"g-1": GoalState.MISSED},
            "goal g-1 is missed, not achieved; the state of goal g-2 was not given",
        ),
        ({}, "the state of goal g-1 was not given; the state of goal g-2 was not given"),
    ],
)
def test_attain_says_which_goals_are_not_achieved(states: dict[str, Any], why: str) -> None:
    error = assert_unchanged(
        active(), lambda p: p.attain(by=BEN, at=AT, goal_states=states), GuardFailed
    )
    assert isinstance(error, GuardFailed)
    assert (error.rule, error.why) == ("objectives achieved", why)


@pytest.mark.parametrize(
    ("states", "field"),
    [
        ({"g-1": "achieved", "g-2": "achieved", "g-9": "achieved"}, "goal_states"),
        ({"g-1": "done", "g-2": "achieved"}, "goal_states['g-1']"),
        ({1: "achieved"}, "goal_states"),
        ([("g-1", "achieved")], "goal_states"),
    ],
)
def test_attain_refuses_bad_goal_states(states: Any, field: str) -> None:
    error = assert_unchanged(
        active(), lambda p: p.attain(by=BEN, at=AT, goal_states=states), ValidationError
    )
    assert isinstance(error, ValidationError)
    assert error.field == field


@pytest.mark.parametrize(
    ("owners", "why"),
    [
        ({"g-1": "ana", "g-2": "bo"}, "goal g-2 is bo's, not ana's"),
        ({"g-1": "ana"}, "goal g-2 is not stored"),
        ({"g-1": None, "g-2": "ana"}, "goal g-1 is not stored"),
    ],
)
def test_attain_through_someone_elses_goal_is_refused(owners: dict[str, Any], why: str) -> None:
    achieved = {"g-1": "achieved", "g-2": "achieved"}
    error = assert_unchanged(
        active(),
        lambda p: p.attain(by=BEN, at=AT, goal_states=achieved, goal_owners=owners),
        GuardFailed,
    )
    assert isinstance(error, GuardFailed)
    assert (error.rule, error.why) == ("objectives are the subject's goals", why)
    theirs = {"g-1": "ana", "g-2": "ana"}
    attained = active().attain(by=BEN, at=AT, goal_states=achieved, goal_owners=theirs)
    assert attained.state is PlanState.ATTAINED


def test_a_plan_is_submitted_only_with_its_subjects_goals() -> None:
    error = assert_unchanged(
        draft(), lambda p: p.submit(by=BEN, at=AT, goal_owners={"g-9": "ana"}), ValidationError
    )
    assert isinstance(error, ValidationError)
    assert error.field == "goal_owners"
    error = assert_unchanged(
        draft(),
        lambda p: p.submit(by=BEN, at=AT, goal_owners={"g-1": "ana", "g-2": "bo"}),
        GuardFailed,
    )
    assert isinstance(error, GuardFailed)
    assert error.why == "goal g-2 is bo's, not ana's"
    team = draft(kind="team", team_member_ids={"ana", "tom"})
    owners = {"g-1": "ana", "g-2": "tom"}
    assert team.submit(by=BEN, at=AT, goal_owners=owners).state is PlanState.SUBMITTED


def test_who_may_record_attainment() -> None:
    achieved = {"g-1": "achieved", "g-2": "achieved"}
    for actor in (BEN, CLEO, HANA):
        assert active().attain(by=actor, at=AT, goal_states=achieved).attainment is not None
    for actor in (ANA, DAN):
        assert_unchanged(
            active(),
            lambda p, a=actor: p.attain(by=a, at=AT, goal_states=achieved),
            PermissionDenied,
        )


# -- close and cancel ---------------------------------------------------------------------------


def test_close_on_or_after_the_end_with_a_reason() -> None:
    error = assert_unchanged(
        active(), lambda p: p.close(by=BEN, at=on(dt.date(2026, 6, 29)), reason="x"), GuardFailed
    )
    assert isinstance(error, GuardFailed)
    assert (error.rule, error.why) == (
        "ended",
        "the plan runs until 2026-06-30; it can be closed from that day on",
    )
    plan = active().close(by=CLEO, at=on(END), reason="g-2 was not reached")
    assert plan.state is PlanState.CLOSED
    assert in_review().close(by=HANA, at=on(END), reason="x").state is PlanState.CLOSED
    assert_unchanged(active(), lambda p: p.close(by=BEN, at=on(END), reason=""), ValidationError)
    assert_unchanged(active(), lambda p: p.close(by=ANA, at=on(END), reason="x"), PermissionDenied)


@pytest.mark.parametrize("make", [draft, submitted, active, in_review])
def test_the_author_or_hr_cancels_with_a_reason(make: Any) -> None:
    assert make().cancel(by=BEN, at=AT, reason="ana left").state is PlanState.CANCELLED
    assert make().cancel(by=HANA, at=AT, reason="ana left").state is PlanState.CANCELLED
    assert_unchanged(make(), lambda p: p.cancel(by=CLEO, at=AT, reason="x"), PermissionDenied)
    assert_unchanged(make(), lambda p: p.cancel(by=BEN, at=AT, reason=" "), ValidationError)


def test_a_finished_plan_cannot_be_cancelled() -> None:
    closed = active().close(by=BEN, at=on(END), reason="ended")
    error = assert_unchanged(
        closed, lambda p: p.cancel(by=BEN, at=AT, reason="x"), TransitionNotAllowed
    )
    assert isinstance(error, TransitionNotAllowed)
    assert error.allowed == ()


# -- the review schedule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        ("FREQ=WEEKLY", START, dt.date(2026, 1, 12)),
        ("FREQ=WEEKLY", dt.date(2026, 1, 11), dt.date(2026, 1, 12)),
        ("FREQ=WEEKLY", dt.date(2026, 1, 12), dt.date(2026, 1, 19)),
        ("FREQ=WEEKLY;INTERVAL=4", START, dt.date(2026, 2, 2)),
        ("FREQ=WEEKLY;INTERVAL=4", dt.date(2026, 2, 2), dt.date(2026, 3, 2)),
        ("RRULE:FREQ=WEEKLY;INTERVAL=4", dt.date(2026, 6, 1), dt.date(2026, 6, 22)),
        ("FREQ=WEEKLY;BYDAY=FR", START, dt.date(2026, 1, 9)),
        # the week starts on Monday unless WKST says otherwise (RFC 5545)
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU", START, dt.date(2026, 1, 11)),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU", START, dt.date(2026, 1, 18)),
        ("FREQ=MONTHLY", START, dt.date(2026, 2, 5)),
        ("FREQ=MONTHLY", dt.date(2026, 5, 5), dt.date(2026, 6, 5)),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1", START, dt.date(2026, 1, 26)),
        ("freq=monthly;interval=2", START, dt.date(2026, 3, 5)),
        ("FREQ=DAILY", dt.date(2025, 12, 1), START),  # the start itself is scheduled
        # past the end
        ("FREQ=MONTHLY", dt.date(2026, 6, 5), None),
        ("FREQ=WEEKLY;INTERVAL=4", dt.date(2026, 6, 22), None),
        ("FREQ=WEEKLY", END, None),
        ("FREQ=WEEKLY", dt.date(2027, 1, 1), None),
        # the rule's own end
        ("FREQ=WEEKLY;UNTIL=20260119", START, dt.date(2026, 1, 12)),
        ("FREQ=WEEKLY;UNTIL=20260119", dt.date(2026, 1, 19), None),
        ("FREQ=WEEKLY;COUNT=2", START, dt.date(2026, 1, 12)),
        ("FREQ=WEEKLY;COUNT=2", dt.date(2026, 1, 12), None),
        # a rule that matches no day at all answers at once
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", START, None),
    ],
)
def test_next_review(schedule: str, after: dt.date, expected: dt.date | None) -> None:
    assert draft(review_schedule=schedule).next_review(after) == expected


def test_the_week_starts_on_monday_whatever_the_calendar_module_says() -> None:
    plan = draft(review_schedule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU")
    calendar.setfirstweekday(calendar.SUNDAY)
    try:
        assert plan.next_review(START) == dt.date(2026, 1, 11)
    finally:
        calendar.setfirstweekday(calendar.MONDAY)


def test_next_review_runs_to_the_end_inclusive() -> None:
    plan = draft(review_schedule="FREQ=DAILY", end=dt.date(2026, 1, 7))
    assert plan.next_review(dt.date(2026, 1, 6)) == dt.date(2026, 1, 7)
    assert plan.next_review(dt.date(2026, 1, 7)) is None


def test_a_leap_day_schedule_keeps_to_leap_years() -> None:
    plan = draft(
        review_schedule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        start=dt.date(2026, 1, 1),
        end=dt.date(2036, 1, 1),
    )
    assert plan.next_review(dt.date(2026, 1, 1)) == dt.date(2028, 2, 29)
    assert plan.next_review(dt.date(2028, 2, 29)) == dt.date(2032, 2, 29)


def test_next_review_wants_a_date() -> None:
    with pytest.raises(ValidationError) as raised:
        draft().next_review(AT)  # type: ignore[arg-type]
    assert raised.value.field == "after"


@pytest.mark.parametrize(
    ("schedule", "why"),
    [
        ("", "is not one recurrence rule"),
        ("DTSTART:20260101\nRRULE:FREQ=WEEKLY", "is not one recurrence rule"),
        ("FREQ=WEEKLY; INTERVAL=2", "is not one recurrence rule"),
        ("FREQ=HOURLY", "needs FREQ set to DAILY, WEEKLY, MONTHLY or YEARLY"),
        ("INTERVAL=2", "needs FREQ set to"),
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL=0 is out of range"),
        ("FREQ=WEEKLY;INTERVAL=1001", "INTERVAL=1001 is out of range"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT=0 is out of range"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY=32 is out of range"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH=13 is out of range"),
        ("FREQ=WEEKLY;COUNT=2;UNTIL=20260301", "give COUNT or UNTIL, not both"),
        ("FREQ=WEEKLY;UNTIL=20260301T000000Z", "UNTIL=20260301T000000Z is not a date"),
        ("FREQ=WEEKLY;UNTIL=20261301", "is not a date"),
        ("FREQ=WEEKLY;BYHOUR=9", "BYHOUR is not supported"),
        ("FREQ=WEEKLY;FREQ=DAILY", "FREQ is given twice"),
        ("FREQ=WEEKLY;INTERVAL", "is not a rule part of the form NAME=VALUE"),
        ("FREQ=WEEKLY;BYDAY=XX", "is not a recurrence rule dateutil can read"),
        ("FREQ=WEEKLY;BYSETPOS=0", "is not a recurrence rule dateutil can read"),
        ("FREQ=WEEKLY;COUNT=" + "9" * 5000, "is out of range"),
        ("FREQ=WEEKLY;BYSETPOS=" + "9" * 5000, "is not a recurrence rule dateutil can read"),
        ("FREQ=WEEKLY;WKST=XX", "is not a recurrence rule dateutil can read"),
    ],
)
def test_a_bad_schedule_is_refused(schedule: str, why: str) -> None:
    with pytest.raises(ValidationError) as raised:
        draft(review_schedule=schedule)
    assert raised.value.field == "review_schedule"
    assert why in raised.value.why


# -- replay -------------------------------------------------------------------------------------


def test_a_long_history_replays_to_the_same_plan() -> None:
    plan = (
        draft(approver=Approver.department("people"), cycle_id="2026-h1")
        .edit(by=BEN, at=AT, end=dt.date(2026, 3, 1), start=dt.date(2026, 4, 1))
        .edit(by=BEN, at=AT, start=START, end=END)
        .submit(by=BEN, at=AT)
        .request_changes(by=CLEO, at=AT, reason="add support")
        .edit(by=HANA, at=AT, support=[Support(kind="time", description="Friday afternoons")])
        .submit(by=BEN, at=AT)
        .approve(by=CLEO, at=AT)
        .acknowledge(by=ANA, at=AT)
        .start_review(by=BEN, at=on(dt.date(2026, 2, 2)))
        .revise(by=BEN, at=on(dt.date(2026, 2, 2), 11), reason="another goal")
        .edit(by=BEN, at=AT, objectives=[objective("g-3")])
        .submit(by=BEN, at=AT)
        .approve(by=CLEO, at=AT)
        .acknowledge(by=ANA, at=AT)
        .start_review(by=BEN, at=on(dt.date(2026, 2, 2)))
        .conclude_review(
            by=BEN, at=on(dt.date(2026, 2, 2), 12), notes="ok", end=dt.date(2026, 7, 31)
        )
        .attain(by=CLEO, at=on(dt.date(2026, 7, 1)), goal_states={"g-3": "achieved"})
    )
    assert plan.version == len(plan.history) == 18
    assert Plan.replay(plan.history) == plan
    assert [event.to_state for event in Plan.replay(plan.history).history] == [
        event.to_state for event in plan.history
    ]
