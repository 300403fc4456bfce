"""Plan: a development, improvement or team plan, from draft through approval to attained or closed.

A plan names the goals that make it up (its objectives) and what success means for each, the
support promised, who approves it, and when it is reviewed: an RFC 5545 recurrence rule such as
``"FREQ=WEEKLY;INTERVAL=4"``, whose DTSTART is the plan's start. The employee acknowledges the
approved plan, which makes it active; reviews then follow the schedule until every objective's
goal is achieved (the plan is attained) or the plan ends and is closed.

>>> import datetime as dt
>>> from perfcore import Actor, Role
>>> from perfcore.plan import Approver, Objective, Plan
>>> at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
>>> ben = Actor(id="ben", roles={"manager"})
>>> ana, cleo = Actor(id="ana"), Actor(id="cleo", roles={"approver"}, department="people")
>>> plan = Plan.create(id="p1", by=ben, at=at, kind="development", subject_id="ana",
...     author_id="ben", approver=Approver.department("people"),
...     objectives=[Objective(goal_id="g1", success="leads two releases")],
...     review_schedule="FREQ=WEEKLY;INTERVAL=4",
...     start=dt.date(2026, 1, 5), end=dt.date(2026, 6, 30))
>>> plan = plan.submit(by=ben, at=at).approve(by=cleo, at=at).acknowledge(by=ana, at=at)
>>> plan.state, plan.review_due
(<PlanState.ACTIVE: 'active'>, datetime.date(2026, 2, 2))
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypedDict, Unpack

import attrs

from perfcore._aggregate import Aggregate, Changes, check_actor, check_reason
from perfcore._validate import (
    SELF_CONTAINED,
    aware_datetime,
    check_aware,
    check_date,
    check_optional_id,
    date,
    identifier,
    ids,
    optional_identifier,
    optional_instance_of,
    reads,
    text,
    text_length,
    to_enum,
    to_frozenset,
    to_tuple,
    tuple_of,
)
from perfcore.actor import Actor, Role
from perfcore.commands import fired_by, services_supply
from perfcore.errors import ValidationError
from perfcore.goal import GoalState
from perfcore.lifecycle import Command, Guard, Lifecycle, Step, register
from perfcore.policy import Policy
from perfcore.reassignment import reassign, reassign_steps
from perfcore.records import Acknowledgement
from perfcore.recurrence import parse_rule, recurrence_rule
from perfcore.rules import Rule, has_role, is_person, never

__all__ = [
    "Acknowledgement",
    "Approver",
    "ApproverKind",
    "Attainment",
    "Objective",
    "Plan",
    "PlanKind",
    "PlanState",
    "ReviewNote",
    "Support",
    "SupportKind",
]


class PlanState(enum.StrEnum):
    """Where a plan is in its lifecycle."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    ACTIVE = "active"
    IN_REVIEW = "in_review"
    ATTAINED = "attained"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class PlanKind(enum.StrEnum):
    """What the plan is for: one employee's development or improvement, or a team."""

    DEVELOPMENT = "development"
    IMPROVEMENT = "improvement"
    TEAM = "team"


class ApproverKind(enum.StrEnum):
    """Whether a plan's approver is one person or any approver of a department."""

    PERSON = "person"
    DEPARTMENT = "department"


class SupportKind(enum.StrEnum):
    """The kinds of support a plan may promise."""

    TRAINING = "training"
    MENTORING = "mentoring"
    TIME = "time"
    BUDGET = "budget"


# -- value objects ------------------------------------------------------------------------------


def _approver_kind(value: object) -> ApproverKind:
    return to_enum(ApproverKind, "approver.kind")(value)


def _support_kind(value: object) -> SupportKind:
    return to_enum(SupportKind, "support.kind")(value)


@attrs.frozen(kw_only=True)
class Approver:
    """Who approves a plan: a person (``id`` is their id) or a department (``id`` is its name,
    and any actor with the approver role in that department may approve).

    One class with a ``kind`` rather than two classes, so that events and storage round-trip it.

    >>> Approver.department("people")
    Approver(kind=<ApproverKind.DEPARTMENT: 'department'>, id='people')
    """

    kind: ApproverKind = attrs.field(converter=_approver_kind)
    id: str = attrs.field(validator=identifier)

    @classmethod
    def person(cls, id: str) -> Approver:
        """The person with this id approves."""
        return cls(kind=ApproverKind.PERSON, id=id)

    @classmethod
    def department(cls, id: str) -> Approver:
        """Any actor with :attr:`Role.APPROVER` whose department is ``id`` approves."""
        return cls(kind=ApproverKind.DEPARTMENT, id=id)

    def admits(self, actor: Actor) -> bool:
        """Whether ``actor`` is this approver (or one of this department's approvers)."""
        if self.kind is ApproverKind.PERSON:
            return actor.id == self.id
        return actor.is_a(Role.APPROVER) and actor.department == self.id


@attrs.frozen(kw_only=True)
class Objective:
    """One goal of the plan (by id) and what success means for it, in words."""

    goal_id: str = attrs.field(validator=identifier)
    success: str = attrs.field(validator=text)


@attrs.frozen(kw_only=True)
class Support:
    """One item of support the plan promises: training, mentoring, time or budget."""

    kind: SupportKind = attrs.field(converter=_support_kind)
    description: str = attrs.field(validator=text)


@attrs.frozen(kw_only=True)
class ReviewNote:
    """The outcome of one review: when it concluded, by whom, and the notes."""

    at: dt.datetime = attrs.field(validator=aware_datetime)
    by: str = attrs.field(validator=identifier)
    notes: str = attrs.field(validator=text)


@attrs.frozen(kw_only=True)
class Attainment:
    """The record that a plan was attained: who recorded it, when, and which goals (every
    objective's, in the plan's order) were achieved, so that the manager can be told."""

    by: str = attrs.field(validator=identifier)
    at: dt.datetime = attrs.field(validator=aware_datetime)
    goal_ids: tuple[str, ...] = attrs.field(converter=to_tuple, validator=tuple_of(str))


# -- field validators ---------------------------------------------------------------------------


def _plan_state(value: object) -> PlanState:
    return to_enum(PlanState, "state")(value)


def _plan_kind(value: object) -> PlanKind:
    return to_enum(PlanKind, "kind")(value)


@reads("kind")
def _fits_kind(instance: Any, attribute: attrs.Attribute[Any], value: frozenset[str]) -> None:
    if instance.kind is PlanKind.TEAM and not value:
        raise ValidationError(attribute.name, "a team plan needs at least one team member")
    if instance.kind is not PlanKind.TEAM and value:
        raise ValidationError(
            attribute.name, f"only a team plan has team members; this is a {instance.kind} plan"
        )


def _distinct_goals(
    _instance: object, attribute: attrs.Attribute[Any], value: tuple[Objective, ...]
) -> None:
    seen: set[str] = set()
    for objective in value:
        if objective.goal_id in seen:
            raise ValidationError(
                attribute.name, f"names goal {objective.goal_id} twice; a goal is one objective"
            )
        seen.add(objective.goal_id)


@reads("kind")
def _career_kind(instance: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and instance.kind is not PlanKind.DEVELOPMENT:
        raise ValidationError(
            attribute.name,
            f"only a development plan leads to a target role; this is a {instance.kind} plan",
        )


# Each reads its own value only: commands that leave the field as it was skip them.
SELF_CONTAINED.update((_distinct_goals, recurrence_rule))


@attrs.frozen(kw_only=True)
class Plan(Aggregate):
    """A development, improvement or team plan, approved, acknowledged and reviewed.

    Create one with :meth:`Plan.create`; every command returns a new Plan.
    """

    state: PlanState = attrs.field(default=PlanState.DRAFT, converter=_plan_state)
    kind: PlanKind = attrs.field(converter=_plan_kind)
    #: The employee's id, or for a team plan the team's id.
    subject_id: str = attrs.field(validator=identifier)
    author_id: str = attrs.field(validator=identifier)
    start: dt.date = attrs.field(validator=date)
    end: dt.date = attrs.field(validator=date)
    team_member_ids: frozenset[str] = attrs.field(
        default=frozenset(), converter=to_frozenset, validator=[ids, _fits_kind]
    )
    approver: Approver | None = attrs.field(default=None, validator=optional_instance_of(Approver))
    objectives: tuple[Objective, ...] = attrs.field(
        default=(), converter=to_tuple, validator=[tuple_of(Objective), _distinct_goals]
    )
    support: tuple[Support, ...] = attrs.field(
        default=(), converter=to_tuple, validator=tuple_of(Support)
    )
    review_schedule: str | None = attrs.field(
        default=None, validator=[text_length, recurrence_rule]
    )
    cycle_id: str | None = attrs.field(default=None, validator=optional_identifier)
    acknowledgement: Acknowledgement | None = attrs.field(
        default=None, validator=optional_instance_of(Acknowledgement)
    )
    review_notes: tuple[ReviewNote, ...] = attrs.field(
        default=(), converter=to_tuple, validator=tuple_of(ReviewNote)
    )
    attainment: Attainment | None = attrs.field(
        default=None, validator=optional_instance_of(Attainment)
    )
    #: Who approved the plan (``None`` until it is approved; kept when it goes back to draft).
    approved_by: str | None = attrs.field(default=None, validator=optional_identifier)
    #: A career path: the role a development plan leads its subject toward (a role
    #: description's id, or a job description's), reached through its long-term goals.
    target_role_id: str | None = attrs.field(
        default=None, validator=[optional_identifier, _career_kind]
    )

    # -- reading --------------------------------------------------------------------------------

    @property
    def goal_ids(self) -> tuple[str, ...]:
        """The ids of the objectives' goals, in the plan's order."""
        return tuple(objective.goal_id for objective in self.objectives)

    def next_review(self, after: dt.date) -> dt.date | None:
        """The first review day of the schedule strictly after ``after``.

        The schedule starts on the plan's start (its DTSTART) and stops at the plan's end (or
        the rule's UNTIL or COUNT, if sooner).

        Args:
            after: a day; the answer is later than it.

        Returns:
            The day, or ``None`` when no review is scheduled after ``after`` up to the plan's
            end, or the plan has no schedule yet.

        Raises:
            ValidationError: ``after`` is not a ``datetime.date``.
        """
        after = check_date("after", after)
        if self.review_schedule is None:
            return None
        return parse_rule(self.review_schedule, "review_schedule").next_after(
            after, start=self.start, last=self.end
        )

    @property
    def review_due(self) -> dt.date | None:
        """The day from which the next review may start: the first scheduled day after the
        latest concluded review, or after the start when there has been none (and after the
        start in any case, should the start have moved). ``None`` when no review remains."""
        held = [note.at.date() for note in self.review_notes]
        return self.next_review(max([self.start, *held]))

    # -- creating -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        id: str,
        by: Actor,
        at: dt.datetime,
        kind: PlanKind | str,
        subject_id: str,
        author_id: str,
        start: dt.date,
        end: dt.date,
        team_member_ids: Collection[str] = frozenset(),
        approver: Approver | None = None,
        objectives: Sequence[Objective] = (),
        support: Sequence[Support] = (),
        review_schedule: str | None = None,
        cycle_id: str | None = None,
        target_role_id: str | None = None,
        policy: Policy | None = None,
    ) -> Plan:
        """Draft a plan. A draft may be incomplete; :meth:`submit` checks that it is whole.

        Args:
            kind: development, improvement or team.
            subject_id: the employee the plan is for, or the team's id for a team plan.
            author_id: who writes the plan and answers for it (never its approver).
            start, end: the days the plan runs from and to.
            team_member_ids: for a team plan (only), the members: at least one.
            approver: who approves the plan.
            objectives: the goals that make up the plan, each once.
            support: the support promised.
            review_schedule: an RFC 5545 recurrence rule, such as "FREQ=WEEKLY;INTERVAL=4",
                counted from the start: DAILY, WEEKLY, MONTHLY or YEARLY, with INTERVAL (up to
                1000), COUNT or UNTIL (a date), BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, WKST.
            cycle_id: the review cycle the plan belongs to, if any.
            target_role_id: for a development plan, the role it leads toward (a career path).

        Raises:
            ValidationError: a field has the wrong type or an impossible value.
            PermissionDenied: ``by`` is neither a manager nor HR.
        """
        fields = {
            "kind": kind,
            "subject_id": subject_id,
            "author_id": author_id,
            "start": start,
            "end": end,
            "team_member_ids": team_member_ids,
            "approver": approver,
            "objectives": objectives,
            "support": support,
            "review_schedule": review_schedule,
            "cycle_id": cycle_id,
            "target_role_id": target_role_id,
        }
        return cls._create(id=id, by=by, at=at, fields=fields, policy=policy)

    # -- commands -------------------------------------------------------------------------------

    def edit(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        policy: Policy | None = None,
        **fields: Unpack[PlanEdits],
    ) -> Plan:
        """Change a draft: its objectives, support, schedule, dates, approver, team members or
        cycle. Dates may be out of order in a draft; :meth:`submit` refuses them.

        Raises:
            ValidationError: a field is not editable or its new value is not acceptable.
        """
        return self._edit(fields, _EDITABLE, by=by, at=at, policy=policy)

    @services_supply("goal_owners")
    def submit(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        goal_owners: Mapping[str, str | None] | None = None,
        policy: Policy | None = None,
    ) -> Plan:
        """Put the draft to its approver: it needs at least one objective, an approver, a
        review schedule with a review between the start and the end, and an end after the
        start; and each objective's goal must be a stored goal of its subject (for a team plan,
        of a team member).

        Args:
            goal_owners: the owner of every objective's goal as stored, by goal id (``None``,
                or no entry, for a goal that is not stored). The services read it from the
                store; the domain used alone, without it, has nothing to check against.

        Raises:
            ValidationError: ``goal_owners`` is not a mapping of goal ids to owner ids.
            GuardFailed: an objective names a goal that is not stored, or someone else's.
        """
        owners = self._goal_owners(goal_owners)
        return self._execute("submit", by=by, at=at, policy=policy, args={"goal_owners": owners})

    def request_changes(
        self, *, by: Actor, at: dt.datetime, reason: str, policy: Policy | None = None
    ) -> Plan:
        """Send a submitted plan back to draft, saying what should change (the approver)."""
        check_reason(reason, required=True)
        return self._execute("request_changes", by=by, at=at, reason=reason, policy=policy)

    def approve(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> Plan:
        """Approve a submitted plan: the named approver, or an approver of the named
        department; never the plan's author."""
        check_actor(by)
        return self._execute(
            "approve",
            by=by,
            at=at,
            reason=reason,
            policy=policy,
            changes=lambda _plan: Changes(set={"approved_by": by.id}),
        )

    def acknowledge(self, *, by: Actor, at: dt.datetime, policy: Policy | None = None) -> Plan:
        """The employee (for a team plan, a team member) acknowledges the approved plan: they
        have been told how to reach it and when it is reviewed (:attr:`review_due`). The plan
        becomes active."""
        check_actor(by)
        check_aware("at", at)
        record = Acknowledgement(by=by.id, at=at)
        return self._execute(
            "acknowledge",
            by=by,
            at=at,
            policy=policy,
            changes=lambda _plan: Changes(set={"acknowledgement": record}),
        )

    def start_review(self, *, by: Actor, at: dt.datetime, policy: Policy | None = None) -> Plan:
        """Start a review: only on or after the day :attr:`review_due` gives, that is, the
        first scheduled day after the latest review (or after the start)."""
        return self._execute("start_review", by=by, at=at, policy=policy)

    def conclude_review(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        notes: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        policy: Policy | None = None,
    ) -> Plan:
        """Conclude the review with notes; the start and end may move (the end must still come
        after the start), the objectives may not (use :meth:`revise`).

        Raises:
            ValidationError: the notes are empty, or a date is not a ``datetime.date``.
        """
        check_actor(by)
        check_aware("at", at)
        note = ReviewNote(at=at, by=by.id, notes=notes)
        dates = {
            name: check_date(name, value)
            for name, value in (("start", start), ("end", end))
            if value is not None
        }
        return self._execute(
            "conclude_review",
            by=by,
            at=at,
            policy=policy,
            args=dates,
            changes=lambda _plan: Changes(set=dates, append={"review_notes": (note,)}),
        )

    def revise(
        self, *, by: Actor, at: dt.datetime, reason: str, policy: Policy | None = None
    ) -> Plan:
        """Take a plan under review back to draft so that its objectives can change; it then
        needs approval, and the employee's acknowledgement, again (the old one is cleared)."""
        check_reason(reason, required=True)
        return self._execute(
            "revise",
            by=by,
            at=at,
            reason=reason,
            policy=policy,
            changes=lambda _plan: Changes(set={"acknowledgement": None}),
        )

    @services_supply("goal_states", "goal_owners")
    def attain(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        goal_states: Mapping[str, GoalState | str],
        goal_owners: Mapping[str, str | None] | None = None,
        policy: Policy | None = None,
    ) -> Plan:
        """Record that the plan was attained: only when every objective's goal is achieved,
        and (where ``goal_owners`` is given) is a stored goal of the plan's subject.

        Args:
            goal_states: the state of every objective's goal, by goal id, as the caller's
                goals stand now.
            goal_owners: the owner of every objective's goal as stored (see :meth:`submit`).

        Raises:
            ValidationError: ``goal_states`` is not a mapping of goal ids to goal states, or
                names a goal that is not one of the plan's objectives.
            GuardFailed: a goal is not achieved, or its state was not given, or it is not the
                subject's.
        """
        check_actor(by)
        check_aware("at", at)
        states = self._goal_states(goal_states)
        owners = self._goal_owners(goal_owners)
        record = Attainment(by=by.id, at=at, goal_ids=self.goal_ids)
        return self._execute(
            "attain",
            by=by,
            at=at,
            policy=policy,
            args={"goal_states": states, "goal_owners": owners},
            changes=lambda _plan: Changes(set={"attainment": record}),
        )

    def close(
        self, *, by: Actor, at: dt.datetime, reason: str, policy: Policy | None = None
    ) -> Plan:
        """Close the plan on or after its end day, saying why (say, not every goal was met)."""
        check_reason(reason, required=True)
        return self._execute("close", by=by, at=at, reason=reason, policy=policy)

    @fired_by("Perfcore.reassign")
    def reassign(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        author_id: str,
        reason: str,
        policy: Policy | None = None,
    ) -> Plan:
        """Hand an open plan to its subject's new manager as its author, saying why (see
        :mod:`perfcore.reassignment`).

        Raises:
            ValidationError: the reason is blank, or ``author_id`` is not an id.
            GuardFailed: ``author_id`` is its author already, is not the subject's manager in
                the directory that day, or approves the plan.
            TransitionNotAllowed: the plan is attained, closed or cancelled.
            PermissionDenied: ``by`` is not HR, or is the plan's subject.
        """
        return reassign(self, "author_id", author_id, by=by, at=at, reason=reason, policy=policy)

    def cancel(
        self, *, by: Actor, at: dt.datetime, reason: str, policy: Policy | None = None
    ) -> Plan:
        """Cancel the plan, saying why (from any state but attained and closed)."""
        check_reason(reason, required=True)
        return self._execute("cancel", by=by, at=at, reason=reason, policy=policy)

    def _goal_owners(self, goal_owners: object) -> dict[str, str | None] | None:
        if goal_owners is None:
            return None
        if not isinstance(goal_owners, Mapping):
            raise ValidationError(
                "goal_owners", f"must map goal ids to owner ids, not {type(goal_owners).__name__}"
            )
        owners: dict[str, str | None] = {}
        for goal_id, owner in goal_owners.items():
            if goal_id not in self.goal_ids:
                raise ValidationError(
                    "goal_owners", f"names {goal_id!r}, which is not a goal of this plan"
                )
            owners[goal_id] = check_optional_id(f"goal_owners[{goal_id!r}]", owner)
        return owners

    def _goal_states(self, goal_states: object) -> dict[str, GoalState]:
        if not isinstance(goal_states, Mapping):
            raise ValidationError(
                "goal_states", f"must map goal ids to goal states, not {type(goal_states).__name__}"
            )
        states: dict[str, GoalState] = {}
        for goal_id, state in goal_states.items():
            if not isinstance(goal_id, str) or goal_id not in self.goal_ids:
                raise ValidationError(
                    "goal_states", f"names {goal_id!r}, which is not a goal of this plan"
                )
            states[goal_id] = to_enum(GoalState, f"goal_states[{goal_id!r}]")(state)
        return states


class PlanEdits(TypedDict, total=False):
    """The fields :meth:`Plan.edit` may change, and what each takes: the one
    declaration of them (see :mod:`perfcore.commands`)."""

    approver: Approver | None
    cycle_id: str | None
    end: dt.date
    objectives: Sequence[Objective]
    review_schedule: str | None
    start: dt.date
    support: Sequence[Support]
    target_role_id: str | None
    team_member_ids: Collection[str]


_EDITABLE = frozenset(PlanEdits.__annotations__)


# -- the lifecycle table ------------------------------------------------------------------------


def _complete(plan: Plan, _command: Command) -> str | None:
    missing = [
        need
        for need, present in (
            ("at least one objective", plan.objectives),
            ("an approver", plan.approver),
            ("a review schedule", plan.review_schedule),
        )
        if not present
    ]
    if not missing:
        return None
    needs = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
    return f"a plan needs {needs} before it is submitted"


def _dated(plan: Plan, command: Command) -> str | None:
    # conclude_review may move the dates: check the ones the plan would have.
    start = command.args.get("start", plan.start)
    end = command.args.get("end", plan.end)
    if end < start:
        return f"the plan ends on {end}, before it starts on {start}"
    if end == start:
        return f"the plan ends on the day it starts ({start}); it must end after it starts"
    return None


def _reviews_scheduled(plan: Plan, _command: Command) -> str | None:
    if plan.next_review(plan.start) is None:
        return (
            f"the review schedule {plan.review_schedule} has no review day after the start"
            f" ({plan.start}) and on or before the end ({plan.end})"
        )
    return None


def _review_due(plan: Plan, command: Command) -> str | None:
    due = plan.review_due
    today = command.at.date()
    if due is None:
        return f"no review is scheduled from now until the plan ends on {plan.end}"
    if today < due:
        return f"the next review is scheduled for {due}; it cannot start on {today}"
    return None


def _objectives_achieved(plan: Plan, command: Command) -> str | None:
    states: Mapping[str, GoalState] = command.args["goal_states"]
    problems = []
    for goal_id in plan.goal_ids:
        state = states.get(goal_id)
        if state is None:
            problems.append(f"the state of goal {goal_id} was not given")
        elif state is not GoalState.ACHIEVED:
            problems.append(f"goal {goal_id} is {state}, not achieved")
    return "; ".join(problems) or None


def _objectives_the_subjects(plan: Plan, command: Command) -> str | None:
    """Each objective's goal is stored and is the subject's own (for a team plan, a team
    member's): a plan cannot be attained through someone else's goal. Without the goals' owners
    (the domain used alone) there is nothing to check against."""
    owners: Mapping[str, str | None] | None = command.args.get("goal_owners")
    if owners is None:
        return None
    allowed = plan.team_member_ids if plan.kind is PlanKind.TEAM else {plan.subject_id}
    whose = "a team member's" if plan.kind is PlanKind.TEAM else f"{plan.subject_id}'s"
    problems = []
    for goal_id in plan.goal_ids:
        owner = owners.get(goal_id)
        if owner is None:
            problems.append(f"goal {goal_id} is not stored")
        elif owner not in allowed:
            problems.append(f"goal {goal_id} is {owner}'s, not {whose}")
    return "; ".join(problems) or None


def _ended(plan: Plan, command: Command) -> str | None:
    if command.at.date() < plan.end:
        return f"the plan runs until {plan.end}; it can be closed from that day on"
    return None


def _is_approver(actor: Actor, plan: Plan) -> bool:
    return plan.approver is not None and plan.approver.admits(actor)


def _is_subject(actor: Actor, plan: Plan) -> bool:
    if plan.kind is PlanKind.TEAM:
        return actor.id in plan.team_member_ids
    return actor.id == plan.subject_id


_author = is_person("author_id", "the plan's author")
_approver = Rule(
    "the plan's approver (the named person, or an approver of the named department)", _is_approver
)
_subject = Rule("the employee the plan is for (for a team plan, a team member)", _is_subject)
_hr = has_role(Role.HR)
_writer = _author | _hr
#: Whoever drafted the plan in perfcore, whatever author it names.
_drafter = is_person("created_by", "whoever drafted it")
_approval = _approver & never(_author) & never(_subject) & never(_drafter)
_overseer = Rule("the plan's author, its approver or HR", _author | _approver | _hr)


def _not_the_approver(plan: Plan, command: Command) -> str | None:
    to = command.args["author_id"]
    approver = plan.approver
    if approver is not None and approver.kind is ApproverKind.PERSON and approver.id == to:
        return f"{to} approves the plan: its author never does (name another approver first)"
    return None


LIFECYCLE = Lifecycle(
    name="Plan",
    states=[state.value for state in PlanState],
    initial=PlanState.DRAFT.value,
    create_rule=has_role(Role.MANAGER) | _hr,
    steps=[
        Step(trigger="edit", sources=["draft"], dest="draft", who=_writer),
        Step(
            trigger="submit",
            sources=["draft"],
            dest="submitted",
            who=_writer,
            guards=[
                Guard("complete", _complete),
                Guard("dated", _dated),
                Guard("reviews scheduled", _reviews_scheduled),
                Guard("objectives are the subject's goals", _objectives_the_subjects),
            ],
        ),
        Step(trigger="request_changes", sources=["submitted"], dest="draft", who=_approval),
        Step(trigger="approve", sources=["submitted"], dest="approved", who=_approval),
        Step(trigger="acknowledge", sources=["approved"], dest="active", who=_subject),
        Step(
            trigger="start_review",
            sources=["active"],
            dest="in_review",
            who=_overseer,
            guards=[Guard("review due", _review_due)],
        ),
        Step(
            trigger="conclude_review",
            sources=["in_review"],
            dest="active",
            who=_overseer,
            guards=[Guard("dated", _dated)],
        ),
        Step(trigger="revise", sources=["in_review"], dest="draft", who=_writer),
        Step(
            trigger="attain",
            sources=["active", "in_review"],
            dest="attained",
            who=_overseer,
            guards=[
                Guard("objectives are the subject's goals", _objectives_the_subjects),
                Guard("objectives achieved", _objectives_achieved),
            ],
        ),
        Step(
            trigger="close",
            sources=["active", "in_review"],
            dest="closed",
            who=_overseer,
            guards=[Guard("ended", _ended)],
        ),
        Step(
            trigger="cancel",
            sources=["draft", "submitted", "approved", "active", "in_review"],
            dest="cancelled",
            who=_writer,
        ),
        *reassign_steps(
            ["draft", "submitted", "approved", "active", "in_review"],
            field="author_id",
            concerned="subject_id",
            what="author",
            who=_hr & never(_subject),
            guards=[Guard("not the approver", _not_the_approver)],
        ),
    ],
)
Plan.lifecycle = LIFECYCLE
register(Plan, LIFECYCLE)
