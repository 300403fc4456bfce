"""ReviewCycle: creation, every guard both ways, the status summary, progress, schedule, replay."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import attrs
import pytest

from perfcore import (
    Actor,
    GuardFailed,
    PermissionDenied,
    Role,
    Standing,
    TransitionNotAllowed,
    ValidationError,
    lifecycle_of,
)
from perfcore.cycle_status import (
    Blocker,
    BlockReason,
    CycleStatus,
    EvaluationRef,
    GoalCounts,
    GoalOutlook,
    GoalRef,
    JobDescriptionRef,
    Participant,
    ParticipantStatus,
    PlanRef,
    Stage,
)
from perfcore.review_cycle import ReviewCycle, ReviewCycleState
from perfcore.serialization import from_envelope, to_envelope
from perfcore.testing.drivers import path_to
from perfcore.testing.drivers.review_cycle import ready_status

HR = Actor(id="hana", roles={Role.HR})
MANAGER = Actor(id="ben", roles={Role.EMPLOYEE, Role.MANAGER})
AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
LATER = AT + dt.timedelta(days=30)
ORG = (
    Participant(employee_id="ana", manager_id="ben"),
    Participant(employee_id="ben"),
    Participant(employee_id="cy", manager_id="ben"),
    Participant(employee_id="dee", manager_id="ana"),
)
IDS = tuple(participant.employee_id for participant in ORG)
READY = ready_status(IDS)
YEARLY = "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1"


def _create(**overrides: Any) -> ReviewCycle:
    fields: dict[str, Any] = {
        "id": "c-2026",
        "by": HR,
        "at": AT,
        "name": "2026 reviews",
        "participants": ORG,
        "period_start": dt.date(2026, 1, 1),
        "period_end": dt.date(2026, 12, 31),
        "schedule": YEARLY,
    }
    fields.update(overrides)
    return ReviewCycle.create(**fields)


def _fire(cycle: ReviewCycle, trigger: str, status: CycleStatus = READY) -> ReviewCycle:
    if trigger in {"start", "close"}:
        result: ReviewCycle = getattr(cycle, trigger)(by=HR, at=LATER)
        return result
    advanced: ReviewCycle = getattr(cycle, trigger)(by=HR, at=LATER, status=status)
    return advanced


def _cycle_in(state: str, **overrides: Any) -> ReviewCycle:
    cycle = _create(**overrides)
    for trigger, _dest in path_to(cycle.lifecycle, state):
        cycle = _fire(cycle, trigger)
    return cycle


def _without(status: CycleStatus, employee_id: str, **changes: Any) -> CycleStatus:
    """``status`` with one participant's entry changed (or dropped, with no changes)."""
    entries = []
    for entry in status.participants:
        if entry.employee_id != employee_id:
            entries.append(entry)
        elif changes:
            entries.append(attrs.evolve(entry, **changes))
    return CycleStatus(participants=entries)


def _refused(cycle: ReviewCycle, trigger: str, status: CycleStatus) -> GuardFailed:
    before = attrs.evolve(cycle)
    with pytest.raises(GuardFailed) as raised:
        _fire(cycle, trigger, status)
    assert cycle == before
    return raised.value


# -- creation and the table ---------------------------------------------------------------------


def test_create_records_who_planned_the_cycle() -> None:
    cycle = _create()
    assert cycle.state is ReviewCycleState.PLANNED
    assert (cycle.version, cycle.created_by, cycle.created_at) == (1, "hana", AT)
    assert cycle.employee_ids == IDS
    assert cycle.history[0].payload["set"]["participants"][0] == {
        "employee_id": "ana",
        "manager_id": "ben",
    }


def test_the_table_is_the_issues() -> None:
    lifecycle = lifecycle_of(ReviewCycle)
    assert lifecycle.states == (
        "planned",
        "job_descriptions",
        "evaluations",
        "planning",
        "attainment",
        "closed",
    )
    assert lifecycle.transitions == (
        ("edit", "planned", "planned"),
        ("start", "planned", "job_descriptions"),
        ("begin_evaluations", "job_descriptions", "evaluations"),
        ("begin_planning", "evaluations", "planning"),
        ("begin_attainment", "planning", "attainment"),
        ("close", "attainment", "closed"),
        *(
            (trigger, state, state)
            for trigger in ("add_participant", "remove_participant")
            for state in ("job_descriptions", "evaluations", "planning", "attainment")
        ),
        ("schedule_evaluations", "evaluations", "evaluations"),
    )
    assert lifecycle.terminal_states == ("closed",)


def test_only_hr_creates_and_advances_a_cycle() -> None:
    with pytest.raises(PermissionDenied) as raised:
        _create(by=MANAGER)
    assert raised.value.rule == "HR"
    cycle = _create()
    for actor in (MANAGER, Actor(id="ana")):
        assert cycle.allowed_triggers(actor) == ()
        with pytest.raises(PermissionDenied):
            cycle.start(by=actor, at=LATER)
    assert cycle.allowed_triggers(HR) == ("edit", "start")
    with pytest.raises(PermissionDenied):
        _cycle_in("job_descriptions").begin_evaluations(by=MANAGER, at=LATER, status=READY)


def test_a_trigger_out_of_turn_is_not_allowed() -> None:
    cycle = _create()
    with pytest.raises(TransitionNotAllowed) as raised:
        cycle.begin_planning(by=HR, at=LATER, status=READY)
    assert raised.value.allowed == ("edit", "start")


# -- every guard, both ways ---------------------------------------------------------------------


def test_start_needs_a_participant() -> None:
    empty = _create(participants=())
    error = _refused(empty, "start", READY)
    assert error.rule == "has participants"
    assert error.why == "a cycle needs at least one participant before it starts"
    edited = empty.edit(by=HR, at=AT, participants=[Participant(employee_id="ana")])
    assert edited.start(by=HR, at=LATER).state is ReviewCycleState.JOB_DESCRIPTIONS


def test_begin_evaluations_waits_for_every_published_job_description() -> None:
    cycle = _cycle_in("job_descriptions")
    # ben has an entry without a job description; dee has no entry at all.
    status = _without(_without(READY, "ben", job_description=None), "dee")
    error = _refused(cycle, "begin_evaluations", status)
    assert error.rule == "every job description published"
    assert error.why == "2 participants have no published job description: ben, dee"
    assert "ana" not in error.why
    assert "cy" not in error.why

    one = _refused(cycle, "begin_evaluations", _without(READY, "cy", job_description=None))
    assert one.why == "1 participant has no published job description: cy"

    after = cycle.begin_evaluations(by=HR, at=LATER, status=READY)
    assert after.state is ReviewCycleState.EVALUATIONS
    assert (after.version, after.history[-1].trigger) == (cycle.version + 1, "begin_evaluations")


def test_begin_planning_waits_for_every_evaluation_to_be_finished() -> None:
    cycle = _cycle_in("evaluations")
    status = _without(
        _without(
            _without(READY, "ana", evaluation=EvaluationRef(id="ev-a", state="manager_review")),
            "cy",
            evaluation=EvaluationRef(id="ev-c", state="calibration"),
        ),
        "dee",
        evaluation=None,
    )
    error = _refused(cycle, "begin_planning", status)
    assert error.rule == "every evaluation finished"
    assert error.why == (
        "1 participant has no evaluation: dee; 2 participants' evaluations are not yet"
        " finalized, acknowledged or disputed: ana (manager_review), cy (calibration)"
    )
    assert "ben" not in error.why


@pytest.mark.parametrize("state", ["finalized", "acknowledged", "disputed"])
def test_a_finished_evaluation_lets_planning_begin(state: str) -> None:
    cycle = _cycle_in("evaluations")
    status = _without(READY, "cy", evaluation=EvaluationRef(id="ev-c", state=state))
    assert cycle.begin_planning(by=HR, at=LATER, status=status).state == "planning"


@pytest.mark.parametrize("state", ["scheduled", "self_review", "manager_review", "calibration"])
def test_an_unfinished_evaluation_holds_planning_up(state: str) -> None:
    cycle = _cycle_in("evaluations")
    status = _without(READY, "cy", evaluation=EvaluationRef(id="ev-c", state=state))
    error = _refused(cycle, "begin_planning", status)
    assert error.why == (
        f"1 participant's evaluation is not yet finalized, acknowledged or disputed: cy ({state})"
    )


def test_begin_attainment_waits_for_every_plan_to_be_active() -> None:
    cycle = _cycle_in("planning")
    status = _without(
        _without(
            READY,
            "ana",
            plans=[
                PlanRef(id="p-1", state="draft"),
                PlanRef(id="p-2", state="active"),
                PlanRef(id="p-3", state="approved"),
            ],
        ),
        "dee",
        plans=[PlanRef(id="p-9", state="submitted")],
    )
    error = _refused(cycle, "begin_attainment", status)
    assert error.rule == "every plan active"
    assert error.why == (
        "2 participants have a plan that is not yet active:"
        " ana (plan p-1 is draft, plan p-3 is approved), dee (plan p-9 is submitted)"
    )
    found = cycle.blockers(status)
    assert [(b.employee_id, b.item_id, b.state) for b in found] == [
        ("ana", "p-1", "draft"),
        ("ana", "p-3", "approved"),
        ("dee", "p-9", "submitted"),
    ]


def test_plans_under_way_cancelled_or_missing_let_attainment_begin() -> None:
    cycle = _cycle_in("planning")
    status = _without(
        _without(
            _without(
                READY,
                "ana",
                plans=[PlanRef(id=f"p-{state}", state=state) for state in ("in_review", "closed")],
            ),
            "ben",
            plans=[PlanRef(id="p-b", state="cancelled"), PlanRef(id="p-c", state="attained")],
        ),
        "cy",
        plans=(),
    )
    assert cycle.begin_attainment(by=HR, at=LATER, status=status).state == "attainment"
    # A participant with no entry has no plans either: nothing to wait for at this stage.
    assert cycle.begin_attainment(by=HR, at=LATER, status=CycleStatus()).state == "attainment"


def test_close_needs_nothing_but_the_attainment_stage() -> None:
    cycle = _cycle_in("attainment")
    closed = cycle.close(by=HR, at=LATER, reason="year end")
    assert closed.state is ReviewCycleState.CLOSED
    assert closed.history[-1].reason == "year end"
    assert closed.allowed_triggers(HR) == ()


# -- blockers as data ---------------------------------------------------------------------------


def test_blockers_default_to_the_stage_the_cycle_is_in() -> None:
    status = _without(READY, "ben", job_description=None, evaluation=None)
    assert _create().blockers(status) == ()
    assert _cycle_in("job_descriptions").blockers(status) == (
        Blocker(
            employee_id="ben",
            stage=Stage.JOB_DESCRIPTIONS,
            reason=BlockReason.NO_JOB_DESCRIPTION,
        ),
    )
    assert _cycle_in("evaluations").blockers(status) == (
        Blocker(employee_id="ben", stage=Stage.EVALUATIONS, reason=BlockReason.NO_EVALUATION),
    )
    assert _cycle_in("attainment").blockers(status) == ()
    assert _cycle_in("closed").blockers(status) == ()
    planned = _create()
    assert [b.stage for b in planned.blockers(status, "evaluations")] == [Stage.EVALUATIONS]
    with pytest.raises(ValidationError) as raised:
        planned.blockers(status, "closed")
    assert raised.value.field == "stage"


def test_a_summary_must_be_about_this_cycles_participants() -> None:
    cycle = _cycle_in("job_descriptions")
    stranger = CycleStatus(participants=[*READY.participants, ParticipantStatus(employee_id="zed")])
    before = attrs.evolve(cycle)
    with pytest.raises(ValidationError) as raised:
        cycle.begin_evaluations(by=HR, at=LATER, status=stranger)
    assert raised.value.field == "status"
    assert "zed, who is not a participant of cycle 'c-2026'" in raised.value.why
    with pytest.raises(ValidationError):
        cycle.begin_evaluations(by=HR, at=LATER, status={"ana": "published"})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        cycle.progress(stranger, on=dt.date(2026, 3, 1))
    assert cycle == before


# -- the status summary's own checks ------------------------------------------------------------


class _PlanState(enum.StrEnum):
    """Stands in for the Plan module's state enum: a StrEnum member is taken as its value."""

    ACTIVE = "active"


def test_states_are_kept_as_plain_names() -> None:
    plan = PlanRef(id="p-1", state=_PlanState.ACTIVE)
    assert plan.state == "active"
    assert type(plan.state) is str
    assert GoalRef(id="g-1", standing="behind").standing is Standing.BEHIND


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: EvaluationRef(id="ev-1", state="done"), "state"),
        (lambda: PlanRef(id="p-1", state="Active"), "state"),
        (lambda: PlanRef(id="p-1", state=3), "state"),
        (lambda: GoalRef(id="g-1", standing="fine"), "standing"),
        (lambda: JobDescriptionRef(id="jd-1", number=0), "number"),
        (lambda: JobDescriptionRef(id=" ", number=1), "id"),
        (lambda: ParticipantStatus(employee_id="ana", job_description="jd-1"), "job_description"),
        (
            lambda: ParticipantStatus(
                employee_id="ana", plans=[PlanRef(id="p", state="draft")] * 2
            ),
            "plans",
        ),
        (
            lambda: ParticipantStatus(
                employee_id="ana", goals=[GoalRef(id="g", standing="behind")] * 2
            ),
            "goals",
        ),
        (
            lambda: CycleStatus(participants=[ParticipantStatus(employee_id="ana")] * 2),
            "participants",
        ),
        (lambda: CycleStatus(participants=["ana"]), "participants[0]"),
        (lambda: Participant(employee_id="ana", manager_id="ana"), "manager_id"),
        (lambda: Participant(employee_id=""), "employee_id"),
    ],
)
def test_a_malformed_summary_is_refused(build: Any, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        build()
    assert raised.value.field == field


# -- the progress report ------------------------------------------------------------------------


def _small_org_status() -> CycleStatus:
    """ana: all done, goals on track and achieved; ben: disputes, a goal behind; cy: evaluation
    in calibration, a plan in draft, a goal missed; dee: nothing yet."""
    return CycleStatus(
        participants=[
            ParticipantStatus(
                employee_id="ana",
                job_description=JobDescriptionRef(id="jd-a", number=2),
                evaluation=EvaluationRef(id="ev-a", state="acknowledged"),
                plans=[PlanRef(id="p-a", state="active")],
                goals=[
                    GoalRef(id="g-a1", standing=Standing.ON_TRACK),
                    GoalRef(id="g-a2", standing=Standing.ACHIEVED),
                ],
            ),
            ParticipantStatus(
                employee_id="ben",
                job_description=JobDescriptionRef(id="jd-b", number=1),
                evaluation=EvaluationRef(id="ev-b", state="disputed"),
                goals=[
                    GoalRef(id="g-b1", standing=Standing.ON_TRACK),
                    GoalRef(id="g-b2", standing=Standing.BEHIND),
                ],
            ),
            ParticipantStatus(
                employee_id="cy",
                job_description=JobDescriptionRef(id="jd-c", number=1),
                evaluation=EvaluationRef(id="ev-c", state="calibration"),
                plans=[PlanRef(id="p-c", state="draft"), PlanRef(id="p-x", state="cancelled")],
                goals=[
                    GoalRef(id="g-c1", standing=Standing.MISSED),
                    GoalRef(id="g-c2", standing=Standing.CANCELLED),
                ],
            ),
        ]
    )


def test_progress_reports_each_stage_and_participant() -> None:
    cycle = _cycle_in("evaluations")
    report = cycle.progress(_small_org_status(), on=dt.date(2026, 9, 30))
    assert (report.cycle_id, report.state, report.on) == (
        "c-2026",
        "evaluations",
        dt.date(2026, 9, 30),
    )

    assert [stage.stage for stage in report.stages] == [
        Stage.JOB_DESCRIPTIONS,
        Stage.EVALUATIONS,
        Stage.PLANNING,
    ]
    job_descriptions = report.stage("job_descriptions")
    assert job_descriptions.done == ("ana", "ben", "cy")
    assert job_descriptions.waiting_on == ("dee",)
    assert not job_descriptions.complete
    evaluations = report.stage(Stage.EVALUATIONS)
    assert evaluations.done == ("ana", "ben")
    assert [(b.employee_id, b.reason, b.state) for b in evaluations.blockers] == [
        ("cy", BlockReason.EVALUATION_UNFINISHED, "calibration"),
        ("dee", BlockReason.NO_EVALUATION, None),
    ]
    planning = report.stage(Stage.PLANNING)
    assert planning.done == ("ana", "ben", "dee")  # ben and dee have no plan: none needed
    assert [(b.employee_id, b.item_id) for b in planning.blockers] == [("cy", "p-c")]

    assert report.disputed == ("ben",)
    assert report.meeting == ("ana",)
    assert report.not_meeting == ("ben", "cy")
    assert report.none_under_way == ("dee",)
    assert report.goals == GoalCounts(on_track=2, behind=1, achieved=1, missed=1, cancelled=1)
    assert report.goals.total == 6

    cy = report.participant("cy")
    assert cy.manager_id == "ben"
    assert cy.done == (Stage.JOB_DESCRIPTIONS,)
    assert [b.stage for b in cy.blockers] == [Stage.EVALUATIONS, Stage.PLANNING]
    assert cy.goals == GoalCounts(missed=1, cancelled=1)
    assert cy.outlook is GoalOutlook.NOT_MEETING
    assert cy.plans == (PlanRef(id="p-c", state="draft"), PlanRef(id="p-x", state="cancelled"))
    ben = report.participant("ben")
    assert ben.disputed
    assert ben.done == (Stage.JOB_DESCRIPTIONS, Stage.EVALUATIONS, Stage.PLANNING)
    dee = report.participant("dee")
    assert (dee.job_description, dee.evaluation, dee.plans) == (None, None, ())
    assert dee.goals.total == 0


def test_the_report_refuses_what_it_does_not_have() -> None:
    report = _create().progress(READY, on=dt.date(2026, 3, 1))
    assert report.state == "planned"
    with pytest.raises(ValidationError):
        report.participant("zed")
    with pytest.raises(ValidationError):
        report.stage(Stage.ATTAINMENT)
    with pytest.raises(ValidationError):
        _create().progress(READY, on=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))


@pytest.mark.parametrize(
    ("standings", "outlook"),
    [
        ((), GoalOutlook.NONE_UNDER_WAY),
        ((Standing.NOT_STARTED, Standing.CANCELLED), GoalOutlook.NONE_UNDER_WAY),
        ((Standing.ON_TRACK,), GoalOutlook.MEETING),
        ((Standing.ACHIEVED, Standing.NOT_STARTED), GoalOutlook.MEETING),
        ((Standing.ACHIEVED, Standing.BEHIND), GoalOutlook.NOT_MEETING),
        ((Standing.MISSED,), GoalOutlook.NOT_MEETING),
    ],
)
def test_meeting_goals_means_some_on_track_or_achieved_and_none_behind_or_missed(
    standings: tuple[Standing, ...], outlook: GoalOutlook
) -> None:
    assert GoalCounts.of(standings).outlook is outlook


# -- the schedule -------------------------------------------------------------------------------


def test_a_yearly_cycle_starts_again_each_first_of_january() -> None:
    cycle = _create(schedule=YEARLY)
    assert cycle.next_cycle_start(dt.date(2026, 12, 31)) == dt.date(2027, 1, 1)
    assert cycle.next_cycle_start(dt.date(2026, 1, 1)) == dt.date(2027, 1, 1)  # strictly after
    assert cycle.next_cycle_start(dt.date(2025, 6, 1)) == dt.date(2026, 1, 1)
    assert cycle.next_cycle_start(dt.date(2030, 2, 28)) == dt.date(2031, 1, 1)


@pytest.mark.parametrize(
    "schedule", ["FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1", "RRULE:FREQ=YEARLY;BYMONTH=1,4,7,10"]
)
def test_a_quarterly_cycle_starts_again_each_quarter(schedule: str) -> None:
    cycle = _create(
        period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 3, 31), schedule=schedule
    )
    assert cycle.next_cycle_start(cycle.period_end) == dt.date(2026, 4, 1)
    assert cycle.next_cycle_start(dt.date(2026, 4, 1)) == dt.date(2026, 7, 1)
    assert cycle.next_cycle_start(dt.date(2026, 11, 15)) == dt.date(2027, 1, 1)


def test_the_schedule_counts_from_the_cycles_first_day() -> None:
    cycle = _create(
        period_start=dt.date(2026, 2, 15),
        period_end=dt.date(2026, 5, 14),
        schedule="FREQ=MONTHLY;INTERVAL=3",
    )
    assert cycle.next_cycle_start(cycle.period_end) == dt.date(2026, 5, 15)
    assert cycle.next_cycle_start(dt.date(2026, 5, 15)) == dt.date(2026, 8, 15)


def test_a_cycle_without_a_schedule_or_past_its_end_has_no_next_start() -> None:
    assert _create(schedule=None).next_cycle_start(dt.date(2026, 12, 31)) is None
    twice = _create(schedule="FREQ=YEARLY;COUNT=2")
    assert twice.next_cycle_start(dt.date(2026, 6, 1)) == dt.date(2027, 1, 1)
    assert twice.next_cycle_start(dt.date(2027, 1, 1)) is None
    until = _create(schedule="FREQ=YEARLY;UNTIL=20280101")
    assert until.next_cycle_start(dt.date(2027, 6, 1)) == dt.date(2028, 1, 1)
    assert until.next_cycle_start(dt.date(2028, 1, 1)) is None
    with pytest.raises(ValidationError):
        _create().next_cycle_start(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))  # type: ignore[arg-type]


# -- bad input changes nothing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"at": dt.datetime(2026, 1, 5, 9)}, "at"),
        ({"name": "  "}, "name"),
        ({"participants": [ORG[0], Participant(employee_id="ana")]}, "participants[1]"),
        ({"participants": ["ana", "ben"]}, "participants[0]"),
        ({"period_end": dt.date(2025, 12, 31)}, "period_end"),
        ({"period_start": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, "period_start"),
        ({"schedule": "FREQ=HOURLY"}, "schedule"),
        ({"schedule": "FREQ=YEARLY;INTERVAL=0"}, "schedule"),
        ({"schedule": "every year"}, "schedule"),
        ({"schedule": "FREQ=YEARLY;BYMONTH=13"}, "schedule"),
        ({"schedule": "FREQ=YEARLY;BYDAY=XX"}, "schedule"),
        ({"schedule": "FREQ=YEARLY;COUNT=2;UNTIL=20300101"}, "schedule"),
        ({"schedule": "DTSTART:20260101\nRRULE:FREQ=YEARLY"}, "schedule"),
        ({"schedule": "FREQ=YEARLY;UNTIL=2030"}, "schedule"),
        ({"schedule": "FREQ=YEARLY;EXDATE=20270101"}, "schedule"),
        ({"schedule": 2027}, "schedule"),
    ],
)
def test_bad_input_is_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _create(**overrides)
    assert raised.value.field == field


def test_a_period_may_be_a_single_day() -> None:
    day = dt.date(2026, 3, 1)
    assert _create(period_start=day, period_end=day).period_end == day


def test_a_bad_command_changes_nothing() -> None:
    cycle = _create()
    before = attrs.evolve(cycle)
    naive = dt.datetime(2026, 2, 1, 9)
    with pytest.raises(ValidationError):
        cycle.start(by=HR, at=naive)
    with pytest.raises(ValidationError):
        cycle.edit(by=HR, at=LATER, period_end=dt.date(2025, 1, 1))
    with pytest.raises(ValidationError):
        cycle.edit(by=HR, at=LATER, participants=[*ORG, Participant(employee_id="cy")])
    with pytest.raises(ValidationError):
        cycle.edit(by=HR, at=LATER, schedule="FREQ=SOMETIMES")
    with pytest.raises(ValidationError) as raised:
        cycle.edit(by=HR, at=LATER, state="closed")
    assert raised.value.field == "state"
    with pytest.raises(ValidationError):
        cycle.edit(by=HR, at=LATER)
    assert cycle == before
    started = cycle.start(by=HR, at=LATER)
    with pytest.raises(ValidationError):
        started.begin_evaluations(by=HR, at=naive, status=READY)
    with pytest.raises(TransitionNotAllowed):
        started.edit(by=HR, at=LATER, name="too late")


def test_edit_changes_a_planned_cycle() -> None:
    cycle = _create().edit(
        by=HR,
        at=LATER,
        name="2026 annual reviews",
        participants=[*ORG, Participant(employee_id="eve", manager_id="dee")],
        schedule=None,
    )
    assert cycle.name == "2026 annual reviews"
    assert cycle.employee_ids == (*IDS, "eve")
    assert cycle.schedule is None
    assert cycle.history[-1].changed_fields == {"name", "participants", "schedule"}


# -- replay -------------------------------------------------------------------------------------


def test_a_whole_cycle_replays_and_round_trips_to_the_same_object() -> None:
    cycle = _create().edit(by=HR, at=AT, participants=[*ORG, Participant(employee_id="eve")])
    for trigger in ("start", "begin_evaluations", "begin_planning", "begin_attainment", "close"):
        cycle = _fire(cycle, trigger, ready_status(cycle.employee_ids))
    assert cycle.state is ReviewCycleState.CLOSED
    assert [event.version for event in cycle.history] == list(range(1, 8))
    assert ReviewCycle.replay(cycle.history) == cycle
    assert from_envelope(to_envelope(cycle)) == cycle


def test_participants_join_and_leave_a_running_cycle_with_a_reason() -> None:
    from perfcore.testing.drivers import driver_for
    from perfcore.testing.drivers.review_cycle import HR as HANA
    from perfcore.testing.drivers.review_cycle import ready_status

    cycle = driver_for(ReviewCycle).reach("job_descriptions")
    at = cycle.history[-1].at
    joiner = Participant(employee_id="dee", manager_id="ben")
    with pytest.raises(ValidationError, match="reason"):
        cycle.add_participant(by=HANA, at=at, participant=joiner, reason="")
    grown = cycle.add_participant(by=HANA, at=at, participant=joiner, reason="new hire")
    assert grown.employee_ids == ("ana", "ben", "cy", "dee")
    assert grown.history[-1].payload == {
        "append": {"participants": [{"employee_id": "dee", "manager_id": "ben"}]}
    }
    with pytest.raises(GuardFailed, match="dee is a participant already"):
        grown.add_participant(by=HANA, at=at, participant=joiner, reason="again")
    # Someone who left no longer holds the stage up.
    without_cy = ready_status(["ana", "ben", "dee"])
    with pytest.raises(ValidationError):
        grown.begin_evaluations(by=HANA, at=at, status=ready_status(["ana", "ben", "cy", "x"]))
    shrunk = grown.remove_participant(by=HANA, at=at, employee_id="cy", reason="left the company")
    assert shrunk.begin_evaluations(by=HANA, at=at, status=without_cy).state == "evaluations"
    with pytest.raises(GuardFailed, match="cy is not a participant"):
        shrunk.remove_participant(by=HANA, at=at, employee_id="cy", reason="twice")
    assert ReviewCycle.replay(shrunk.history) == shrunk


def test_the_last_participant_stays() -> None:
    from perfcore.testing.drivers import driver_for
    from perfcore.testing.drivers.review_cycle import HR as HANA

    cycle = driver_for(ReviewCycle).reach("evaluations")
    at = cycle.history[-1].at
    for employee in ("ana", "ben"):
        cycle = cycle.remove_participant(by=HANA, at=at, employee_id=employee, reason="moved")
    with pytest.raises(GuardFailed, match="cy is the last participant"):
        cycle.remove_participant(by=HANA, at=at, employee_id="cy", reason="moved")
    with pytest.raises(TransitionNotAllowed):
        driver_for(ReviewCycle).create().remove_participant(
            by=HANA, at=at, employee_id="ana", reason="not running"
        )
