"""Strategies for review cycles: participants, the status summaries a cycle's guards read, the
progress reports it gives, and cycles in any state of their lifecycle.

A drawn cycle has one to four participants, each with no manager or another person as manager,
and a period of up to a year; HR (``hana``) runs it. Each advance passes a summary in which every
participant has done every stage's work, with the states, numbers and standings drawn.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence

from hypothesis import strategies as st

from perfcore import cycle_status
from perfcore.actor import Actor
from perfcore.cycle_status import (
    EVALUATION_STATES,
    FINISHED_EVALUATION_STATES,
    PLAN_STATES,
    Blocker,
    CycleStatus,
    EvaluationRef,
    GoalCounts,
    GoalRef,
    JobDescriptionRef,
    Participant,
    ParticipantProgress,
    ParticipantStatus,
    PlanRef,
    ProgressReport,
    Stage,
    StageProgress,
)
from perfcore.goal import Standing
from perfcore.review_cycle import ReviewCycle, ReviewCycleState
from perfcore.testing.strategies._common import (
    Ranges,
    aware_datetimes,
    choice,
    dates,
    hr,
    ids,
    in_force,
    integers,
    manager,
    optional_people,
    optional_text,
    people,
    reasons,
    texts,
)
from perfcore.testing.strategies._engine import (
    Arguments,
    Kit,
    checked_states,
    reached,
    register,
)

__all__ = [
    "blockers",
    "cycle_schedules",
    "cycle_statuses",
    "evaluation_refs",
    "goal_counts",
    "goal_refs",
    "job_description_refs",
    "participant_lists",
    "participant_progress",
    "participant_statuses",
    "participants",
    "plan_refs",
    "progress_reports",
    "review_cycles",
    "stage_progress",
]

NAMES = ("2026 reviews", "Spring calibration", "Mid-year check")
CYCLE_SCHEDULES = (
    "FREQ=YEARLY",
    "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1",
    "FREQ=MONTHLY;INTERVAL=6",
    "FREQ=YEARLY;COUNT=3",
)
#: The plan states that no longer hold a cycle up ("active or later", or cancelled).
SETTLED_PLAN_STATES = ("active", "in_review", "attained", "closed", "cancelled")


def cycle_schedules() -> st.SearchStrategy[str | None]:
    """How a cycle repeats: not at all, or by one of a few accepted recurrence rules.

    .. versionadded:: 0.1.0
    """
    return _SCHEDULES


_SCHEDULES: st.SearchStrategy[str | None] = st.none() | st.sampled_from(CYCLE_SCHEDULES)


@st.composite
def participants(draw: st.DrawFn, employee_id: str | None = None) -> Participant:
    """A participant (``employee_id``, or a drawn person) with no manager or another person.

    .. versionadded:: 0.1.0
    """
    employee = draw(people()) if employee_id is None else employee_id
    boss = draw(optional_people(exclude={employee}), label=f"manager of {employee}")
    return Participant(employee_id=employee, manager_id=boss)


@st.composite
def participant_lists(
    draw: st.DrawFn, *, min_size: int = 1, max_size: int = 4
) -> tuple[Participant, ...]:
    """Participants of one cycle: different people, each with no manager or another person.

    .. versionadded:: 0.1.0
    """
    chosen = draw(_distinct_ids(min_size, max_size), label="participants")
    return tuple(draw(participants(employee)) for employee in chosen)


@functools.cache
def _distinct_ids(low: int, high: int) -> st.SearchStrategy[list[str]]:
    return st.lists(people(), min_size=low, max_size=high, unique=True)


def job_description_refs() -> st.SearchStrategy[JobDescriptionRef]:
    """A published job description as a summary names it: an id and a number.

    .. versionadded:: 0.1.0
    """
    return st.builds(JobDescriptionRef, id=ids("jd"), number=st.integers(1, 4))


@functools.cache
def evaluation_refs(states: Sequence[str] = EVALUATION_STATES) -> st.SearchStrategy[EvaluationRef]:
    """An evaluation as a summary names it, in one of ``states`` (by default any).

    .. versionadded:: 0.1.0
    """
    return st.builds(EvaluationRef, id=ids("ev"), state=st.sampled_from(tuple(states)))


@functools.cache
def plan_refs(states: Sequence[str] = PLAN_STATES) -> st.SearchStrategy[PlanRef]:
    """A plan as a summary names it, in one of ``states`` (by default any).

    .. versionadded:: 0.1.0
    """
    return st.builds(PlanRef, id=ids("p"), state=st.sampled_from(tuple(states)))


def goal_refs() -> st.SearchStrategy[GoalRef]:
    """A goal as a summary names it, with how it stands.

    .. versionadded:: 0.1.0
    """
    return _GOAL_REFS


_GOAL_REFS = st.builds(GoalRef, id=ids("g"), standing=st.sampled_from(Standing))


_JD_REFS = job_description_refs()
_OPTIONAL_JD_REFS = st.none() | _JD_REFS
_FINISHED = evaluation_refs(tuple(sorted(FINISHED_EVALUATION_STATES)))
_OPTIONAL_EVALUATIONS = st.none() | evaluation_refs()
_SETTLED_PLANS = st.lists(plan_refs(SETTLED_PLAN_STATES), max_size=2, unique_by=lambda p: p.id)
_ANY_PLANS = st.lists(plan_refs(), max_size=2, unique_by=lambda p: p.id)
_GOALS = st.lists(_GOAL_REFS, max_size=2, unique_by=lambda g: g.id)


@st.composite
def participant_statuses(
    draw: st.DrawFn, employee_id: str | None = None, *, ready: bool = False
) -> ParticipantStatus:
    """What one participant has so far; with ``ready``, every stage's work is done.

    .. versionadded:: 0.1.0
    """
    employee = draw(people()) if employee_id is None else employee_id
    return ParticipantStatus(
        employee_id=employee,
        job_description=draw(_JD_REFS if ready else _OPTIONAL_JD_REFS),
        evaluation=draw(_FINISHED if ready else _OPTIONAL_EVALUATIONS),
        plans=draw(_SETTLED_PLANS if ready else _ANY_PLANS),
        goals=draw(_GOALS),
    )


@st.composite
def cycle_statuses(
    draw: st.DrawFn, employee_ids: Iterable[str] | None = None, *, ready: bool = False
) -> CycleStatus:
    """A status summary for ``employee_ids`` (by default some drawn people); without ``ready``,
    some may be left out (they have done nothing yet); with it, all have done everything.

    .. versionadded:: 0.1.0
    """
    chosen = draw(_distinct_ids(0, 4)) if employee_ids is None else list(employee_ids)
    if not ready:
        chosen = [employee for employee in chosen if draw(_KEEP, label=f"{employee} in summary")]
    return CycleStatus(
        participants=[draw(participant_statuses(employee, ready=ready)) for employee in chosen]
    )


_KEEP = st.sampled_from((True, False))


def goal_counts() -> st.SearchStrategy[GoalCounts]:
    """Goals counted by standing.

    .. versionadded:: 0.1.0
    """
    return st.lists(st.sampled_from(Standing), max_size=6).map(GoalCounts.of)


@st.composite
def blockers(draw: st.DrawFn) -> Blocker:
    """One reason a participant holds a stage up, as :func:`perfcore.cycle_status.blockers`
    finds it in a summary where the participant has not done that stage's work.

    .. versionadded:: 0.1.0
    """
    employee = draw(people())
    stage = choice(draw, (Stage.JOB_DESCRIPTIONS, Stage.EVALUATIONS, Stage.PLANNING))
    blocked = ParticipantStatus(
        employee_id=employee,
        evaluation=draw(st.none() | evaluation_refs(_UNFINISHED)),
        plans=draw(st.lists(plan_refs(_UNSETTLED), min_size=1, max_size=2, unique_by=_ref_id)),
    )
    found = cycle_status.blockers(stage, [employee], CycleStatus(participants=[blocked]))
    return choice(draw, found)


def _ref_id(ref: PlanRef) -> str:
    return ref.id


_UNFINISHED = tuple(state for state in EVALUATION_STATES if state not in FINISHED_EVALUATION_STATES)
_UNSETTLED = tuple(state for state in PLAN_STATES if state not in SETTLED_PLAN_STATES)


def progress_reports() -> st.SearchStrategy[ProgressReport]:
    """Progress reports of drawn cycles from drawn summaries, as :meth:`ReviewCycle.progress`
    gives them.

    .. versionadded:: 0.1.0
    """
    return _REPORTS


@st.composite
def _reports(draw: st.DrawFn) -> ProgressReport:
    cycle = draw(review_cycles())
    status = draw(cycle_statuses(cycle.employee_ids))
    return cycle.progress(status, draw(dates(), label="on"))


_REPORTS = _reports()


def stage_progress() -> st.SearchStrategy[StageProgress]:
    """One stage's progress, from a drawn report.

    .. versionadded:: 0.1.0
    """
    return _REPORTS.flatmap(lambda report: st.sampled_from(report.stages))


def participant_progress() -> st.SearchStrategy[ParticipantProgress]:
    """One participant's progress, from a drawn report.

    .. versionadded:: 0.1.0
    """
    return _REPORTS.flatmap(lambda report: st.sampled_from(report.participants))


def review_cycles(
    states: Iterable[ReviewCycleState | str] | None = None,
    *,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[ReviewCycle]:
    """Review cycles in any state (or one of ``states``), built by real commands.

    Args:
        states: the states to draw from; by default every state of the lifecycle.
        actors: the people cycles are for: participants and their managers are drawn from
            their ids; HR runs the cycle (their first HR person, if they give one).
        ranges: how far dates range (see :class:`Ranges`): when the period starts, and how
            long it is.

    Raises:
        hypothesis.errors.InvalidArgument: a state the cycle lifecycle does not have.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``actors`` and ``ranges``.
    """
    return reached(KIT, checked_states(KIT, states), actors=actors, ranges=ranges)


# -- content ------------------------------------------------------------------------------------

_NAMES = texts(NAMES)
_PARTICIPANT_LISTS = participant_lists()
#: Day offsets where no ranges say otherwise: the period's start from today, and its length.
_PERIOD_START, _PERIOD_LENGTH = 60, 364
_REASONS_OR_NONE = optional_text()
_ADVANCES = ("begin_evaluations", "begin_planning", "begin_attainment")
_EDIT_KINDS = ("name", "participants", "period", "schedule")


def _period(draw: st.DrawFn, around: dt.date) -> Arguments:
    ranges = in_force().ranges
    shift = ranges.day_span(_PERIOD_START)
    start = around + dt.timedelta(days=draw(integers(-shift, shift), label="period start"))
    length = integers(0, ranges.day_span(_PERIOD_LENGTH))
    end = start + dt.timedelta(days=draw(length, label="period length"))
    return {"period_start": start, "period_end": end}


def _edit(draw: st.DrawFn, cycle: ReviewCycle) -> Arguments:
    kind = choice(draw, _EDIT_KINDS, label="edit")
    if kind == "name":
        return {"name": draw(_NAMES)}
    if kind == "participants":
        return {"participants": draw(_PARTICIPANT_LISTS)}
    if kind == "period":
        return _period(draw, cycle.period_start)
    return {"schedule": draw(_SCHEDULES)}


def _newcomers(cycle: ReviewCycle) -> tuple[str, ...]:
    everyone = in_force().cast.everyone
    return tuple(person for person in everyone if person not in cycle.employee_ids)


def _first() -> str:
    return in_force().cast.people[0]


class ReviewCycleKit(Kit[ReviewCycle]):
    """Cycles HR plans and runs; a manager (not HR) is the outsider the policy refuses."""

    kind = ReviewCycle

    def create(self, draw: st.DrawFn) -> ReviewCycle:
        at = draw(aware_datetimes(), label="created at")
        return ReviewCycle.create(
            id=draw(ids("rc"), label="id"),
            by=hr(),
            at=at,
            name=draw(_NAMES, label="name"),
            participants=draw(_PARTICIPANT_LISTS, label="participants"),
            schedule=draw(_SCHEDULES, label="schedule"),
            **_period(draw, at.date()),
        )

    def cast(self, obj: ReviewCycle) -> tuple[Actor, ...]:
        return (hr(), manager(obj.employee_ids[0] if obj.employee_ids else _first()))

    def arguments(
        self, draw: st.DrawFn, obj: ReviewCycle, trigger: str, dest: str | None, at: dt.datetime
    ) -> Arguments:
        if trigger == "edit":
            return _edit(draw, obj)
        if trigger in _ADVANCES:
            status = draw(cycle_statuses(obj.employee_ids, ready=True), label="status")
            return {"status": status, "reason": draw(_REASONS_OR_NONE)}
        if trigger == "add_participant":
            newcomers = _newcomers(obj)
            employee = choice(draw, newcomers) if newcomers else _first()
            return {"participant": draw(participants(employee)), "reason": draw(reasons())}
        if trigger == "remove_participant":
            leaver = choice(draw, obj.employee_ids) if obj.employee_ids else _first()
            return {"employee_id": leaver, "reason": draw(reasons())}
        return {"reason": draw(_REASONS_OR_NONE)}

    def wild_arguments(
        self, draw: st.DrawFn, obj: ReviewCycle, trigger: str, at: dt.datetime
    ) -> Arguments:
        if trigger == "edit":
            return choice(draw, ({}, {"id": "rc-9"}, {"name": " "}, {"participants": []}))
        if trigger in _ADVANCES:
            # A summary of some participants' work, however far it is: the guards decide; or one
            # naming a stranger, which is refused as another cycle's.
            status = draw(cycle_statuses(obj.employee_ids), label="status")
            stranger = CycleStatus(participants=[ParticipantStatus(employee_id="zed")])
            return {"status": choice(draw, (status, stranger, None))}
        if trigger == "add_participant":
            known = obj.employee_ids[0] if obj.employee_ids else _first()
            joiner = Participant(employee_id=known)  # already in: the guard refuses it
            return {"participant": joiner, "reason": choice(draw, ("joined", " "))}
        if trigger == "remove_participant":
            return {"employee_id": choice(draw, ("zed", " ")), "reason": "left"}
        return self.arguments(draw, obj, trigger, None, at)

    def feasible(self, obj: ReviewCycle, trigger: str) -> bool:
        if trigger == "add_participant":
            return bool(_newcomers(obj))
        if trigger == "remove_participant":
            return len(obj.participants) > 1
        return True


KIT = ReviewCycleKit()
register(KIT)
