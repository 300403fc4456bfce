"""ReviewCycle: one organisation-wide pass through the four stages, from planned to closed.

A cycle names its participants (each with their manager) and its period, and moves through the
stages in order: job descriptions are published, evaluations finished, plans made active, and
goals pursued until the cycle closes. It may repeat on a schedule, an RFC 5545 recurrence rule
whose DTSTART is the cycle's first day (``next_cycle_start`` gives the next cycle's first day).

The cycle does not hold the other objects. Each advance takes a
:class:`~perfcore.cycle_status.CycleStatus` the service layer builds from storage, and is refused
with a :class:`~perfcore.errors.GuardFailed` naming every participant who holds it up and why;
:meth:`ReviewCycle.blockers` gives the same as data, and :meth:`ReviewCycle.progress` reports
where every stage and every participant stands.

Decisions the issue leaves open, made here:

- **No policy is stored.** A :class:`~perfcore.policy.Policy` holds rules (callables), which an
  event payload cannot carry; the caller passes the policy in force to each command, as for every
  other aggregate.
- **Starting needs a participant**: a cycle with nobody in it would pass every stage vacuously.
- **Dates change only while planned** (``edit``); there is no ``cancel``, since every stage
  leads forward to ``closed``. Once running, HR adds or removes participants one at a time with
  a reason (``add_participant``, ``remove_participant``), so that a new hire joins and a leaver
  no longer holds up a stage; the history keeps who was in the cycle when.
- **A summary must be about this cycle**: one naming someone who is not a participant is refused
  (``ValidationError``), as it is most likely another cycle's.
- **Who may**: HR creates a cycle and fires every trigger (deny by default for everyone else).
- **The cycle schedules its evaluations** (``schedule_evaluations``, in the evaluations stage):
  the command records that HR ran the scheduling; the service
  (:meth:`perfcore.services.cycles.CycleService.schedule_evaluations`) creates each
  participant's evaluation from the directory, brings in joiners and excuses leavers, each with
  an event of its own.

>>> import datetime as dt
>>> from perfcore import Actor
>>> from perfcore.cycle_status import CycleStatus, JobDescriptionRef, Participant
>>> from perfcore.cycle_status import ParticipantStatus
>>> hana = Actor(id="hana", roles={"hr"})
>>> at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
>>> cycle = ReviewCycle.create(id="c-2026", by=hana, at=at, name="2026 reviews",
...     participants=[Participant(employee_id="ana", manager_id="ben"),
...                   Participant(employee_id="ben")],
...     period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31),
...     schedule="FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1")
>>> cycle = cycle.start(by=hana, at=at)
>>> published = JobDescriptionRef(id="jd-1", number=1)
>>> only_ana = CycleStatus(participants=[
...     ParticipantStatus(employee_id="ana", job_description=published)])
>>> cycle.begin_evaluations(by=hana, at=at, status=only_ana)
Traceback (most recent call last):
...
perfcore.errors.GuardFailed: ReviewCycle 'c-2026' (job_descriptions) cannot begin_evaluations:
1 participant has no published job description: ben [rule: every job description published]
>>> cycle.next_cycle_start(cycle.period_end)
datetime.date(2027, 1, 1)
"""

from __future__ import annotations

import datetime as dt
import enum
import operator
from collections.abc import Sequence
from typing import Any, TypedDict, Unpack, cast

import attrs

from perfcore._aggregate import Aggregate, Changes, check_reason
from perfcore._validate import (
    ITEMWISE,
    SELF_CONTAINED,
    check_date,
    date,
    entries_of,
    reads,
    short_text,
    text_length,
    to_enum,
)
from perfcore.actor import Actor, Role
from perfcore.commands import services_supply
from perfcore.cycle_status import (
    Blocker,
    CycleStatus,
    Participant,
    ProgressReport,
    Stage,
    blockers,
    explain,
    progress_report,
)
from perfcore.entries import Entries, to_entries
from perfcore.errors import ValidationError
from perfcore.lifecycle import Command, Guard, Lifecycle, Step, register
from perfcore.policy import Policy
from perfcore.recurrence import parse_rule, recurrence_rule
from perfcore.rules import has_role

__all__ = ["ReviewCycle", "ReviewCycleState"]


class ReviewCycleState(enum.StrEnum):
    """Where a review cycle is: planned, in one of its four stages, or closed."""

    PLANNED = "planned"
    JOB_DESCRIPTIONS = "job_descriptions"
    EVALUATIONS = "evaluations"
    PLANNING = "planning"
    ATTAINMENT = "attainment"
    CLOSED = "closed"


def _cycle_state(value: object) -> ReviewCycleState:
    return to_enum(ReviewCycleState, "state")(value)


# -- field validators ---------------------------------------------------------------------------


@reads("period_start")
def _not_before_start(
    instance: ReviewCycle, attribute: attrs.Attribute[Any], value: dt.date
) -> None:
    if value < instance.period_start:
        raise ValidationError(
            attribute.name,
            f"the period cannot end ({value}) before it starts ({instance.period_start})",
        )


#: A participant's key in the participants' kept index (:meth:`perfcore.entries.Entries.position`).
_EMPLOYEE = operator.attrgetter("employee_id")


def _distinct_people(
    _instance: object, attribute: attrs.Attribute[Any], value: Sequence[Participant]
) -> None:
    seen: set[str] = set()
    for position, participant in enumerate(value):
        if participant.employee_id in seen:
            raise ValidationError(
                f"{attribute.name}[{position}]",
                f"{participant.employee_id!r} is a participant already",
            )
        seen.add(participant.employee_id)


def _participants(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Participants, each once. Given the whole value, every one is checked; given the items a
    command appends (``Aggregate._next`` checks an item-by-item validator with those alone,
    before the object holds them), each new one is checked against the participants already
    there through their kept index, so adding one costs the same at 10 as at 100,000."""
    current = getattr(instance, attribute.name, None)
    _ENTRIES(instance, attribute, value)
    added = cast(Entries[Participant], value)
    if value is current:
        _distinct_people(instance, attribute, added)
        return
    if not isinstance(current, Entries):  # appended to a sequence without a kept index
        _distinct_people(instance, attribute, (*(current or ()), *added))
        return
    seen: set[str] = set()
    for offset, participant in enumerate(added):
        employee_id = participant.employee_id
        if employee_id in seen or current.position(_EMPLOYEE, employee_id) is not None:
            raise ValidationError(
                f"{attribute.name}[{len(current) + offset}]",
                f"{employee_id!r} is a participant already",
            )
        seen.add(employee_id)


_ENTRIES = entries_of(Participant)
# Each reads its own value only: commands that leave the field as it was skip them. The
# participants' validator checks appended participants alone, against the kept index.
SELF_CONTAINED.update((_distinct_people, recurrence_rule, _participants))
ITEMWISE.add(_participants)


# -- the aggregate ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ReviewCycle(Aggregate):
    """One organisation-wide pass through job descriptions, evaluations, planning and attainment.

    Create one with :meth:`ReviewCycle.create`; every command returns a new ReviewCycle.
    """

    state: ReviewCycleState = attrs.field(default=ReviewCycleState.PLANNED, converter=_cycle_state)
    name: str = attrs.field(validator=short_text)
    #: Who takes part, each once: a read-only sequence whose additions share the participants
    #: already there, with an index of their ids kept beside it.
    participants: Entries[Participant] = attrs.field(
        factory=Entries, converter=to_entries, validator=_participants
    )
    period_start: dt.date = attrs.field(validator=date)
    period_end: dt.date = attrs.field(validator=[date, _not_before_start])
    schedule: str | None = attrs.field(default=None, validator=[text_length, recurrence_rule])

    # -- reading --------------------------------------------------------------------------------

    @property
    def employee_ids(self) -> tuple[str, ...]:
        """The participants' ids, in the cycle's order."""
        return tuple(participant.employee_id for participant in self.participants)

    def has_participant(self, employee_id: str) -> bool:
        """Whether ``employee_id`` takes part (through the participants' kept index)."""
        participants = self.participants
        if isinstance(participants, Entries):
            return participants.position(_EMPLOYEE, employee_id) is not None
        return any(participant.employee_id == employee_id for participant in participants)

    def next_cycle_start(self, after: dt.date) -> dt.date | None:
        """The first day of the schedule strictly after ``after`` (the next cycle's start), or
        ``None`` when the cycle does not repeat or its schedule has ended.

        The schedule counts from this cycle's first day: an INTERVAL counts from it, and what the
        rule leaves out (the day of the month of a monthly rule) is taken from it.
        """
        day = check_date("after", after)
        if self.schedule is None:
            return None
        return parse_rule(self.schedule, "schedule").next_after(day, start=self.period_start)

    def blockers(
        self, status: CycleStatus, stage: Stage | str | None = None
    ) -> tuple[Blocker, ...]:
        """Who holds up the end of ``stage`` (by default the stage the cycle is in), and why.

        The attainment stage, and a cycle planned or closed, have none.

        Raises:
            ValidationError: ``status`` is not a summary of this cycle's participants.
        """
        self._check_status(status)
        if stage is None:
            if self.state.value not in _STAGES:
                return ()  # planned and closed: no stage's work to check
            stage = self.state.value
        return blockers(to_enum(Stage, "stage")(stage), self.employee_ids, status)

    def progress(self, status: CycleStatus, on: dt.date) -> ProgressReport:
        """Where every stage and every participant stands on day ``on``, from ``status`` (whose
        goal standings should be for that day): what is done, what is missing, who is meeting
        their goals and who is not, and whose evaluation is disputed.

        Raises:
            ValidationError: ``status`` is not a summary of this cycle's participants, or ``on``
                is not a date.
        """
        self._check_status(status)
        return progress_report(
            cycle_id=self.id,
            state=self.state.value,
            participants=self.participants,
            status=status,
            on=check_date("on", on),
        )

    def _check_status(self, status: object) -> CycleStatus:
        if not isinstance(status, CycleStatus):
            raise ValidationError("status", f"must be a CycleStatus, not {type(status).__name__}")
        known = set(self.employee_ids)
        strangers = [employee for employee in status.employee_ids if employee not in known]
        if strangers:
            raise ValidationError(
                "status",
                f"names {', '.join(strangers)}, who {'is' if len(strangers) == 1 else 'are'}"
                f" not a participant of cycle {self.id!r}",
            )
        return status

    # -- creating -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        id: str,
        by: Actor,
        at: dt.datetime,
        name: str,
        period_start: dt.date,
        period_end: dt.date,
        participants: tuple[Participant, ...] | list[Participant] = (),
        schedule: str | None = None,
        policy: Policy | None = None,
    ) -> ReviewCycle:
        """Plan a cycle.

        Args:
            id: the cycle's id.
            by: who plans it (HR).
            at: when.
            name: what people call it ("2026 reviews").
            period_start: the first day of the period the cycle reviews.
            period_end: its last day (not before the first).
            participants: who takes part, each once, with their manager.
            schedule: an RFC 5545 recurrence rule for repeating cycles, such as
                ``"FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1"``; ``period_start`` is its DTSTART.
            policy: the policy in force (default: :data:`~perfcore.policy.DEFAULT_POLICY`).

        Raises:
            ValidationError: a field has the wrong type or an impossible value.
            PermissionDenied: ``by`` is not HR.
        """
        fields = {
            "name": name,
            "participants": participants,
            "period_start": period_start,
            "period_end": period_end,
            "schedule": schedule,
        }
        return cls._create(id=id, by=by, at=at, fields=fields, policy=policy)

    # -- commands -------------------------------------------------------------------------------

    def edit(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        policy: Policy | None = None,
        **fields: Unpack[ReviewCycleEdits],
    ) -> ReviewCycle:
        """Change a planned cycle's name, participants, period or schedule (any of the fields
        :meth:`create` takes)."""
        return self._edit(fields, _EDITABLE, by=by, at=at, policy=policy)

    def start(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> ReviewCycle:
        """Open the job descriptions stage: participants' job descriptions are written and
        published."""
        return self._execute("start", by=by, at=at, reason=reason, policy=policy)

    @services_supply("status")
    def begin_evaluations(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        status: CycleStatus,
        reason: str = "",
        policy: Policy | None = None,
    ) -> ReviewCycle:
        """Open the evaluations stage: only when every participant has a published job
        description."""
        return self._advance("begin_evaluations", by, at, status, reason, policy)

    @services_supply("status")
    def begin_planning(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        status: CycleStatus,
        reason: str = "",
        policy: Policy | None = None,
    ) -> ReviewCycle:
        """Open the planning stage: only when every participant's evaluation is finalized,
        acknowledged or disputed."""
        return self._advance("begin_planning", by, at, status, reason, policy)

    @services_supply("status")
    def begin_attainment(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        status: CycleStatus,
        reason: str = "",
        policy: Policy | None = None,
    ) -> ReviewCycle:
        """Open the attainment stage: only when every plan of the cycle is active or later
        (active, in review, attained or closed; a cancelled plan does not count)."""
        return self._advance("begin_attainment", by, at, status, reason, policy)

    def schedule_evaluations(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> ReviewCycle:
        """Record that the cycle's evaluations are being scheduled: the services then create
        every participant's evaluation (see
        :meth:`perfcore.services.cycles.CycleService.schedule_evaluations`). It may run again:
        each run creates only what is missing.

        Raises:
            TransitionNotAllowed: the cycle is not in its evaluations stage.
            PermissionDenied: ``by`` is not HR.
        """
        return self._execute("schedule_evaluations", by=by, at=at, reason=reason, policy=policy)

    def close(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> ReviewCycle:
        """Close the cycle, whatever its goals' outcomes (the report keeps them)."""
        return self._execute("close", by=by, at=at, reason=reason, policy=policy)

    def add_participant(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        participant: Participant,
        reason: str,
        policy: Policy | None = None,
    ) -> ReviewCycle:
        """Bring someone into a running cycle (a new hire, a transfer), saying why.

        Raises:
            GuardFailed: they are a participant already.
        """
        check_reason(reason, required=True)
        if not isinstance(participant, Participant):
            raise ValidationError(
                "participant", f"must be a Participant, not {type(participant).__name__}"
            )
        return self._execute(
            "add_participant",
            by=by,
            at=at,
            reason=reason,
            policy=policy,
            args={"employee_id": participant.employee_id},
            changes=lambda _cycle: Changes(append={"participants": (participant,)}),
        )

    def remove_participant(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        employee_id: str,
        reason: str,
        policy: Policy | None = None,
    ) -> ReviewCycle:
        """Take someone out of a running cycle (they left, or moved to another cycle), saying
        why, so that they no longer hold up its stages. The history keeps that they were in it.

        Raises:
            GuardFailed: they are not a participant, or they are the last one.
        """
        check_reason(reason, required=True)
        if not isinstance(employee_id, str) or not employee_id.strip():
            raise ValidationError("employee_id", f"must be a non-blank id, not {employee_id!r}")
        remaining = tuple(p for p in self.participants if p.employee_id != employee_id)
        return self._execute(
            "remove_participant",
            by=by,
            at=at,
            reason=reason,
            policy=policy,
            args={"employee_id": employee_id},
            changes=lambda _cycle: Changes(set={"participants": remaining}),
        )

    def _advance(
        self,
        trigger: str,
        by: Actor,
        at: dt.datetime,
        status: CycleStatus,
        reason: str,
        policy: Policy | None,
    ) -> ReviewCycle:
        checked = self._check_status(status)
        return self._execute(
            trigger, by=by, at=at, reason=reason, policy=policy, args={"status": checked}
        )


_STAGES = frozenset(stage.value for stage in Stage)


class ReviewCycleEdits(TypedDict, total=False):
    """The fields :meth:`ReviewCycle.edit` may change, and what each takes: the one
    declaration of them (see :mod:`perfcore.commands`)."""

    name: str
    participants: tuple[Participant, ...] | list[Participant]
    period_end: dt.date
    period_start: dt.date
    schedule: str | None


_EDITABLE = frozenset(ReviewCycleEdits.__annotations__)


# -- the lifecycle table ------------------------------------------------------------------------


def _has_participants(cycle: ReviewCycle, _command: Command) -> str | None:
    if not cycle.participants:
        return "a cycle needs at least one participant before it starts"
    return None


def _not_yet_in(cycle: ReviewCycle, command: Command) -> str | None:
    employee_id = command.args["employee_id"]
    if cycle.has_participant(employee_id):
        return f"{employee_id} is a participant already"
    return None


def _one_of_several(cycle: ReviewCycle, command: Command) -> str | None:
    employee_id = command.args["employee_id"]
    if employee_id not in cycle.employee_ids:
        return f"{employee_id} is not a participant"
    if len(cycle.participants) == 1:
        return f"{employee_id} is the last participant; a cycle needs at least one"
    return None


_RUNNING = ("job_descriptions", "evaluations", "planning", "attainment")


def _stage_done(stage: Stage) -> Guard:
    def check(cycle: ReviewCycle, command: Command) -> str | None:
        found = blockers(stage, cycle.employee_ids, command.args["status"])
        return explain(found) if found else None

    names = {
        Stage.JOB_DESCRIPTIONS: "every job description published",
        Stage.EVALUATIONS: "every evaluation finished",
        Stage.PLANNING: "every plan active",
    }
    return Guard(names[stage], check)


_hr = has_role(Role.HR)

LIFECYCLE = Lifecycle(
    name="ReviewCycle",
    states=[state.value for state in ReviewCycleState],
    initial=ReviewCycleState.PLANNED.value,
    create_rule=_hr,
    steps=[
        Step(trigger="edit", sources=["planned"], dest="planned", who=_hr),
        Step(
            trigger="start",
            sources=["planned"],
            dest="job_descriptions",
            who=_hr,
            guards=[Guard("has participants", _has_participants)],
        ),
        Step(
            trigger="begin_evaluations",
            sources=["job_descriptions"],
            dest="evaluations",
            who=_hr,
            guards=[_stage_done(Stage.JOB_DESCRIPTIONS)],
        ),
        Step(
            trigger="begin_planning",
            sources=["evaluations"],
            dest="planning",
            who=_hr,
            guards=[_stage_done(Stage.EVALUATIONS)],
        ),
        Step(
            trigger="begin_attainment",
            sources=["planning"],
            dest="attainment",
            who=_hr,
            guards=[_stage_done(Stage.PLANNING)],
        ),
        Step(trigger="close", sources=["attainment"], dest="closed", who=_hr),
        *(
            Step(
                trigger="add_participant",
                sources=[state],
                dest=state,
                who=_hr,
                guards=[Guard("not a participant yet", _not_yet_in)],
            )
            for state in _RUNNING
        ),
        *(
            Step(
                trigger="remove_participant",
                sources=[state],
                dest=state,
                who=_hr,
                guards=[Guard("one of several participants", _one_of_several)],
            )
            for state in _RUNNING
        ),
        Step(trigger="schedule_evaluations", sources=["evaluations"], dest="evaluations", who=_hr),
    ],
)
ReviewCycle.lifecycle = LIFECYCLE
register(ReviewCycle, LIFECYCLE)
