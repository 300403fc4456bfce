"""Strategies for plans: objectives, support, approvers, review schedules and the records a plan
keeps, and plans in any state of their lifecycle.

A drawn plan can be submitted: objectives, an approver who is not its author, and a review
schedule with a review at least every five weeks over a plan of six months or more, so that
every review its history takes (detours included) has a day to fall on.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

from perfcore.actor import Actor, Role
from perfcore.goal import GoalState
from perfcore.plan import (
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
from perfcore.testing.strategies._common import (
    APPROVER_PEOPLE,
    DEPARTMENTS,
    Ranges,
    aware_datetimes,
    choice,
    day_start,
    distinct_people,
    employee,
    hr,
    ids,
    in_force,
    integers,
    manager,
    optional_text,
    outsider,
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
    "approvers",
    "attainments",
    "objectives",
    "plans",
    "review_notes",
    "review_schedules",
    "supports",
]

GOAL_IDS = ("g-1", "g-2", "g-3", "g-4")
SUCCESS = ("runs the release alone", "leads two reviews", "halves the backlog")
SUPPORT = ("an hour a week with a senior", "the release course", "Friday afternoons")
NOTES = ("on track", "behind on the backlog", "keep the mentoring")
#: Schedules with a review at least every five weeks: a plan of 180 days has five or more.
STEADY_SCHEDULES = (
    "FREQ=MONTHLY",
    "FREQ=WEEKLY",
    "FREQ=WEEKLY;INTERVAL=2",
    "FREQ=WEEKLY;INTERVAL=4",
    "FREQ=MONTHLY;BYDAY=1MO",
    "FREQ=DAILY;INTERVAL=10",
)
#: Accepted schedules that may leave a plan with few reviews, or none.
SPARSE_SCHEDULES = (
    "FREQ=YEARLY",
    "FREQ=WEEKLY;COUNT=3",
    "FREQ=MONTHLY;UNTIL=20250101",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "RRULE:FREQ=WEEKLY;BYDAY=MO,TH;WKST=SU",
)
_SHORTEST_PLAN = 180


def objectives() -> st.SearchStrategy[Objective]:
    """An objective: a goal id and what success means for it.

    .. versionadded:: 0.1.0
    """
    return st.builds(Objective, goal_id=st.sampled_from(GOAL_IDS), success=texts(SUCCESS))


def supports() -> st.SearchStrategy[Support]:
    """An item of support: training, mentoring, time or budget, described.

    .. versionadded:: 0.1.0
    """
    return st.builds(Support, kind=st.sampled_from(SupportKind), description=texts(SUPPORT))


@functools.cache
def _approvers_excluding(exclude: frozenset[str]) -> st.SearchStrategy[Approver]:
    return st.one_of(
        people(exclude).map(Approver.person), st.sampled_from(DEPARTMENTS).map(Approver.department)
    )


def approvers(exclude: Iterable[str] = ()) -> st.SearchStrategy[Approver]:
    """A person (not one of ``exclude``) or a department that approves a plan.

    .. versionadded:: 0.1.0
    """
    return _approvers_excluding(frozenset(exclude))


def review_schedules(*, steady: bool = False) -> st.SearchStrategy[str]:
    """Review schedules a plan accepts (RFC 5545 rules, the plan's start being DTSTART).

    Args:
        steady: only schedules with a review at least every five weeks.

    .. versionadded:: 0.1.0
    """
    return st.sampled_from(STEADY_SCHEDULES if steady else STEADY_SCHEDULES + SPARSE_SCHEDULES)


def review_notes() -> st.SearchStrategy[ReviewNote]:
    """The outcome of one review: when, by whom, and the notes.

    .. versionadded:: 0.1.0
    """
    return st.builds(ReviewNote, at=aware_datetimes(), by=people(), notes=texts(NOTES))


def attainments() -> st.SearchStrategy[Attainment]:
    """The record that a plan was attained, naming its goals.

    .. versionadded:: 0.1.0
    """
    goal_ids = st.lists(st.sampled_from(GOAL_IDS), min_size=1, unique=True).map(tuple)
    return st.builds(Attainment, by=people(), at=aware_datetimes(), goal_ids=goal_ids)


def plans(
    states: Iterable[PlanState | str] | None = None,
    *,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[Plan]:
    """Plans in any state (or one of ``states``), built by real commands.

    Args:
        states: the states to draw from; by default every state of the lifecycle.
        actors: the people plans are by and for: authors, subjects, team members and approving
            people are drawn from their ids.
        ranges: how far dates range (see :class:`Ranges`): a plan's start, and how far a
            review extends it; a plan lasts 180 days or more all the same.

    Raises:
        hypothesis.errors.InvalidArgument: a state the plan lifecycle does not have.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``actors`` and ``ranges``.
    """
    return reached(KIT, checked_states(KIT, states), actors=actors, ranges=ranges)


# -- content ------------------------------------------------------------------------------------

_OBJECTIVE_LISTS = st.lists(objectives(), min_size=1, max_size=3, unique_by=lambda o: o.goal_id)
_SUPPORT_LISTS = st.lists(supports(), max_size=2)
_STEADY = review_schedules(steady=True)
_ANY_SCHEDULE = review_schedules()
_CYCLES = st.none() | ids("rc")
#: A development plan's target role (a career path), or none.
_ROLES = st.none() | ids("jd")
_BOOLEANS = st.booleans()
#: Day offsets where no ranges say otherwise: the start's shift, the length, an extension.
_START_SHIFT, _LENGTH, _EXTENSION = 30, 400, 60
_NOTES = texts(NOTES)
_REASONS_OR_NONE = optional_text()
_EDITS: dict[str, st.SearchStrategy[Any]] = {
    "support": _SUPPORT_LISTS,
    "objectives": _OBJECTIVE_LISTS,
    "review_schedule": _STEADY,
    "cycle_id": _CYCLES,
}
_TWICE = [Objective(goal_id="g-1", success="one"), Objective(goal_id="g-1", success="two")]
_WILD_EDITS: tuple[Arguments, ...] = (
    {},  # no field: refused
    {"subject_id": "zed"},  # not editable: refused
    {"review_schedule": "FREQ=HOURLY"},  # reviews fall on days: refused
    {"objectives": _TWICE},  # one goal twice: refused
    {"objectives": []},  # accepted in a draft; submit refuses it
)


def _dates(draw: st.DrawFn, around: dt.date) -> Arguments:
    ranges = in_force().ranges
    shift = ranges.day_span(_START_SHIFT)
    start = around + dt.timedelta(days=draw(integers(-shift, shift), label="start"))
    longest = max(_SHORTEST_PLAN, ranges.day_span(_LENGTH))
    length = draw(integers(_SHORTEST_PLAN, longest), label="days")
    return {"start": start, "end": start + dt.timedelta(days=length)}


def _subjects(plan: Plan) -> tuple[str, ...]:
    return tuple(sorted(plan.team_member_ids)) if plan.kind is PlanKind.TEAM else (plan.subject_id,)


def _team(draw: st.DrawFn, author: str, *besides: str) -> list[str]:
    """One to three members, never the author (nor, once named, the approver: a plan its
    approver is a member of could not be approved)."""
    return draw(distinct_people(1, exclude={author, *besides}, max_count=3), label="team")


def _edit(draw: st.DrawFn, plan: Plan) -> Arguments:
    kinds = (*_EDITS, "approver", "dates")
    kind = choice(draw, (*kinds, "team") if plan.kind is PlanKind.TEAM else kinds, label="edit")
    if kind == "approver":
        return {"approver": draw(approvers(exclude={plan.author_id, *_subjects(plan)}))}
    if kind == "dates":
        return _dates(draw, plan.start)
    if kind == "team":
        approver = [plan.approver.id] if plan.approver is not None else []
        return {"team_member_ids": _team(draw, plan.author_id, *approver)}
    if kind == "cycle_id" and plan.kind is PlanKind.DEVELOPMENT and draw(_BOOLEANS, label="role"):
        return {"target_role_id": draw(_ROLES, label="target role")}
    return {kind: draw(_EDITS[kind])}


def _wild_edit(draw: st.DrawFn, plan: Plan) -> Arguments:
    kind = choice(draw, ("fixed", "schedule", "approver", "dates", "team"), label="wild edit")
    if kind == "schedule":
        return {"review_schedule": draw(_ANY_SCHEDULE)}  # accepted; submit may refuse it
    if kind == "approver":
        return {"approver": Approver.person(plan.author_id)}  # accepted; nobody may approve
    if kind == "dates":
        return {"end": plan.start}  # accepted in a draft; submit refuses it
    if kind == "team":
        # Refused: a team plan needs members, and only a team plan has them.
        return {"team_member_ids": [] if plan.kind is PlanKind.TEAM else ["ana"]}
    if kind == "fixed" and plan.kind is not PlanKind.DEVELOPMENT:
        return {"target_role_id": "jd-lead"}  # refused: only a development plan has a role
    return choice(draw, _WILD_EDITS)


def _wild_attainment(draw: st.DrawFn, plan: Plan) -> Arguments:
    first = plan.goal_ids[0] if plan.goal_ids else "g-1"
    refused: tuple[object, ...] = (
        {first: GoalState.ACTIVE},  # not achieved
        {},  # the states were not given
        {"g-99": GoalState.ACHIEVED},  # not a goal of the plan
        "achieved",  # not a mapping
    )
    return {"goal_states": choice(draw, refused, label="goal states")}


def _not_authors(plan: Plan) -> set[str]:
    """Who may not become the plan's author: its author, its subjects, its approver."""
    return {plan.author_id, *_subjects(plan), *_approver_people(plan)}


def _approver_people(plan: Plan) -> tuple[str, ...]:
    """The plan's approver, when it names a person."""
    approver = plan.approver
    return (approver.id,) if approver is not None and approver.kind is ApproverKind.PERSON else ()


class PlanKit(Kit[Plan]):
    """Plans a manager writes (or HR for them) for an employee or a team, approved by another
    person or by an approver of a department (``olga``)."""

    kind = Plan

    def create(self, draw: st.DrawFn) -> Plan:
        author = draw(people(), label="author")
        kind = choice(draw, tuple(PlanKind), label="kind")
        members: list[str] = []
        if kind is PlanKind.TEAM:
            members = _team(draw, author)
            subject = draw(ids("team"), label="team id")
        else:
            subject = draw(people(exclude={author}), label="subject")
        at = draw(aware_datetimes(), label="created at")
        approver = draw(approvers(exclude={author, subject, *members}), label="approver")
        # Whoever drafts a plan may not approve it: HR drafts it only if HR is not its approver.
        drafter = hr(besides={subject, *members, approver.id})
        return Plan.create(
            id=draw(ids("p"), label="id"),
            by=choice(draw, (manager(author), drafter), label="created by"),
            at=at,
            kind=kind,
            subject_id=subject,
            author_id=author,
            team_member_ids=members,
            approver=approver,
            objectives=draw(_OBJECTIVE_LISTS, label="objectives"),
            support=draw(_SUPPORT_LISTS, label="support"),
            review_schedule=draw(_STEADY, label="schedule"),
            cycle_id=draw(_CYCLES, label="cycle"),
            target_role_id=draw(_ROLES, label="target role")
            if kind is PlanKind.DEVELOPMENT
            else None,
            **_dates(draw, at.date()),
        )

    def cast(self, obj: Plan) -> tuple[Actor, ...]:
        subjects = tuple(employee(person) for person in _subjects(obj))
        stranger = outsider({obj.author_id, *_subjects(obj)})
        department = obj.approver.id if obj.approver is not None else DEPARTMENTS[0]
        elsewhere = next(name for name in DEPARTMENTS if name != department)
        return (
            manager(obj.author_id),
            *subjects,
            *_approvers(obj),
            hr(besides=_subjects(obj)),
            employee(stranger),
            Actor(id=APPROVER_PEOPLE[1], roles={Role.APPROVER}, department=elsewhere),
        )

    def arguments(
        self, draw: st.DrawFn, obj: Plan, trigger: str, dest: str | None, at: dt.datetime
    ) -> Arguments:
        if trigger == "edit":
            return _edit(draw, obj)
        if trigger in {"request_changes", "revise", "close", "cancel"}:
            return {"reason": draw(reasons())}
        if trigger == "approve":
            return {"reason": draw(_REASONS_OR_NONE)}
        if trigger == "conclude_review":
            notes = {"notes": draw(_NOTES)}
            if choice(draw, (False, True), label="extend the plan"):
                extension = integers(0, in_force().ranges.day_span(_EXTENSION))
                return {**notes, "end": obj.end + dt.timedelta(days=draw(extension))}
            return notes
        if trigger == "attain":
            return {"goal_states": dict.fromkeys(obj.goal_ids, GoalState.ACHIEVED)}
        if trigger == "reassign":
            left = set(in_force().cast.people) - _not_authors(obj)
            # Nobody left to take it: its author again, which a guard refuses.
            new = draw(people(_not_authors(obj)), label="new author") if left else obj.author_id
            return {"author_id": new, "reason": draw(reasons())}
        return {}

    def wild_arguments(
        self, draw: st.DrawFn, obj: Plan, trigger: str, at: dt.datetime
    ) -> Arguments:
        if trigger == "edit":
            return _wild_edit(draw, obj)
        if trigger in {"request_changes", "revise", "close", "cancel"}:
            return {"reason": " "}
        if trigger == "conclude_review":
            return choice(draw, ({"notes": ""}, {"notes": "moved", "end": obj.start}))
        if trigger == "attain":
            return _wild_attainment(draw, obj)
        if trigger == "reassign":
            # Its author already, or its approver (guards refuse both), or no reason.
            named = (obj.author_id, *_approver_people(obj))
            return choice(draw, ({"author_id": named[-1], "reason": "moved"},
                                 {"author_id": obj.author_id, "reason": " "}))  # fmt: skip
        return self.arguments(draw, obj, trigger, None, at)

    def earliest(self, obj: Plan, trigger: str) -> dt.datetime | None:
        if trigger == "start_review" and obj.review_due is not None:
            return day_start(obj.review_due)
        if trigger == "close":
            return day_start(obj.end)
        return None

    def feasible(self, obj: Plan, trigger: str) -> bool:
        if trigger == "reassign":  # someone neither its author, its subject nor its approver
            return bool(set(in_force().cast.people) - _not_authors(obj))
        return trigger != "start_review" or obj.review_due is not None


def _approvers(plan: Plan) -> tuple[Actor, ...]:
    if plan.approver is None:
        return ()
    if plan.approver.kind is ApproverKind.PERSON:
        return (employee(plan.approver.id),)
    return (Actor(id=APPROVER_PEOPLE[0], roles={Role.APPROVER}, department=plan.approver.id),)


KIT = PlanKit()
register(KIT)
