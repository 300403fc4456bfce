"""What a review cycle knows of its participants' work: the status summary, and the progress report.

A :class:`~perfcore.review_cycle.ReviewCycle` stores no job descriptions, evaluations, plans or
goals: those are aggregates of their own. The service layer reads them from storage and hands the
cycle a :class:`CycleStatus`, plain data saying, per participant, which job description is
published for them, what state their evaluation is in, their plans' states and their goals'
standings. The cycle's guards and its progress report read only that summary, through the pure
functions here, so they can be tested (and reasoned about) without any storage.

States travel as the names the other lifecycles use (``"finalized"``, ``"active"``): a plain
string or the other module's state enum (a ``StrEnum``) is accepted, checked against the names
those lifecycles define, and kept as a plain string.

Decisions the issue leaves open, made here:

- **A participant missing from the summary** has done nothing yet: no job description, no
  evaluation, no plans, no goals. It blocks every stage that needs something of it.
- **A disputed evaluation is finished** for the cycle (the subject has had their say; HR
  resolves the dispute on the evaluation itself) and is listed in :attr:`ProgressReport.disputed`.
- **"Every plan is active or later"** means active, in review, attained or closed. A cancelled
  plan never becomes active, so it does not hold the cycle up; it is still shown in the report.
  A participant with no plan does not hold it up either: not everyone needs a plan.
- **A team plan** is listed under each participant it concerns (or under the one who answers for
  it); the same plan id may appear under several participants, and blocks each of them.
- **Meeting their goals** means at least one goal on track or achieved and none behind or missed;
  a participant with a goal behind or missed is not meeting them; one whose goals are all not
  started or cancelled (or who has none) has none under way (:class:`GoalOutlook`).

>>> from perfcore.goal import Standing
>>> status = CycleStatus(participants=[
...     ParticipantStatus(employee_id="ana", job_description=JobDescriptionRef(id="jd-1", number=2),
...                       goals=[GoalRef(id="g-1", standing=Standing.BEHIND)]),
...     ParticipantStatus(employee_id="ben")])
>>> explain(blockers(Stage.JOB_DESCRIPTIONS, ["ana", "ben", "cy"], status))
'2 participants have no published job description: ben, cy'
>>> GoalCounts.of(goal.standing for goal in status.of("ana").goals).outlook
<GoalOutlook.NOT_MEETING: 'not_meeting'>
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs

from perfcore._validate import (
    Validator,
    identifier,
    instance_of,
    optional_identifier,
    positive_whole,
    to_enum,
    to_tuple,
    tuple_of,
)
from perfcore.errors import ValidationError
from perfcore.goal import Standing

__all__ = [
    "EVALUATION_STATES",
    "FINISHED_EVALUATION_STATES",
    "PLAN_STATES",
    "UNDER_WAY_PLAN_STATES",
    "BlockReason",
    "Blocker",
    "CycleStatus",
    "EvaluationRef",
    "GoalCounts",
    "GoalOutlook",
    "GoalRef",
    "JobDescriptionRef",
    "Participant",
    "ParticipantProgress",
    "ParticipantStatus",
    "PlanRef",
    "ProgressReport",
    "Stage",
    "StageProgress",
    "blockers",
    "explain",
    "progress_report",
]

#: The states of an evaluation, as the Evaluation lifecycle names them.
EVALUATION_STATES = (
    "scheduled",
    "self_review",
    "manager_review",
    "calibration",
    "finalized",
    "acknowledged",
    "disputed",
)
#: An evaluation in one of these no longer holds the cycle up.
FINISHED_EVALUATION_STATES = frozenset({"finalized", "acknowledged", "disputed"})
#: The states of a plan, as the Plan lifecycle names them.
PLAN_STATES = (
    "draft",
    "submitted",
    "approved",
    "active",
    "in_review",
    "attained",
    "closed",
    "cancelled",
)
#: "Active or later": a plan in one of these no longer holds the cycle up (nor does a cancelled
#: one, which never becomes active).
UNDER_WAY_PLAN_STATES = frozenset({"active", "in_review", "attained", "closed"})
_DONE_WITH_PLANS = UNDER_WAY_PLAN_STATES | {"cancelled"}


class Stage(enum.StrEnum):
    """A stage of the cycle whose work the summary reports; the cycle leaves it when it is done."""

    JOB_DESCRIPTIONS = "job_descriptions"
    EVALUATIONS = "evaluations"
    PLANNING = "planning"
    ATTAINMENT = "attainment"


class BlockReason(enum.StrEnum):
    """Why a participant holds up the end of a stage."""

    NO_JOB_DESCRIPTION = "no_job_description"
    NO_EVALUATION = "no_evaluation"
    EVALUATION_UNFINISHED = "evaluation_unfinished"
    PLAN_NOT_ACTIVE = "plan_not_active"


class GoalOutlook(enum.StrEnum):
    """Whether a participant is meeting their goals, from their goals' standings."""

    MEETING = "meeting"
    NOT_MEETING = "not_meeting"
    NONE_UNDER_WAY = "none_under_way"


def _state_name(known: Sequence[str], value: object) -> str:
    """A state kept as a plain string (an enum member becomes its value), or ValidationError."""
    if isinstance(value, str) and value in known:
        return str(value)
    raise ValidationError("state", f"must be one of {', '.join(known)}, not {value!r}")


def _evaluation_state(value: object) -> str:
    return _state_name(EVALUATION_STATES, value)


def _plan_state(value: object) -> str:
    return _state_name(PLAN_STATES, value)


def _standing(value: object) -> Standing:
    return to_enum(Standing, "standing")(value)


def _unique(key: str, what: str) -> Validator:
    """A validator refusing a tuple in which two items share ``key``."""

    def validate(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        seen: set[str] = set()
        for item in value:
            found = getattr(item, key)
            if found in seen:
                raise ValidationError(attribute.name, f"names {what} {found!r} twice")
            seen.add(found)

    return validate


def _not_own_manager(instance: Participant, attribute: attrs.Attribute[Any], value: object) -> None:
    if value == instance.employee_id:
        raise ValidationError(attribute.name, f"{value!r} cannot be their own manager")


@attrs.frozen(kw_only=True)
class Participant:
    """One person taking part in a cycle, with the manager who evaluates them.

    Args:
        employee_id: the person's id.
        manager_id: their manager's id (who may be a participant too), or ``None`` for someone
            with no manager in the cycle (the head of the organisation).
    """

    employee_id: str = attrs.field(validator=identifier)
    manager_id: str | None = attrs.field(
        default=None, validator=[optional_identifier, _not_own_manager]
    )


@attrs.frozen(kw_only=True)
class JobDescriptionRef:
    """The job description published for a participant: its id and number in its lineage."""

    id: str = attrs.field(validator=identifier)
    number: int = attrs.field(validator=positive_whole)


@attrs.frozen(kw_only=True)
class EvaluationRef:
    """A participant's evaluation in this cycle, and the state it is in."""

    id: str = attrs.field(validator=identifier)
    state: str = attrs.field(converter=_evaluation_state)

    @property
    def finished(self) -> bool:
        """Whether it no longer holds the cycle up (finalized, acknowledged or disputed)."""
        return self.state in FINISHED_EVALUATION_STATES


@attrs.frozen(kw_only=True)
class PlanRef:
    """A plan of the cycle for a participant, and the state it is in."""

    id: str = attrs.field(validator=identifier)
    state: str = attrs.field(converter=_plan_state)


@attrs.frozen(kw_only=True)
class GoalRef:
    """A participant's goal, and how it stands (``Goal.standing(on)`` on the report's day)."""

    id: str = attrs.field(validator=identifier)
    standing: Standing = attrs.field(converter=_standing)


def _optional(kind: type) -> Validator:
    check = instance_of(kind)

    def validate(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check(instance, attribute, value)

    return validate


@attrs.frozen(kw_only=True)
class ParticipantStatus:
    """What one participant has so far: the part of the summary about them.

    Args:
        employee_id: the participant.
        job_description: the job description published for them, or ``None``.
        evaluation: their evaluation in this cycle, or ``None`` if there is none yet.
        plans: the cycle's plans for them (ids unique).
        goals: their goals with their standings (ids unique).
    """

    employee_id: str = attrs.field(validator=identifier)
    job_description: JobDescriptionRef | None = attrs.field(
        default=None, validator=_optional(JobDescriptionRef)
    )
    evaluation: EvaluationRef | None = attrs.field(default=None, validator=_optional(EvaluationRef))
    plans: tuple[PlanRef, ...] = attrs.field(
        default=(), converter=to_tuple, validator=[tuple_of(PlanRef), _unique("id", "plan")]
    )
    goals: tuple[GoalRef, ...] = attrs.field(
        default=(), converter=to_tuple, validator=[tuple_of(GoalRef), _unique("id", "goal")]
    )


@attrs.frozen(kw_only=True)
class CycleStatus:
    """The status summary a cycle's guards and progress report read, built by the service layer.

    Args:
        participants: one entry per participant (employee ids unique); a participant without an
            entry has done nothing yet.
    """

    participants: tuple[ParticipantStatus, ...] = attrs.field(
        default=(),
        converter=to_tuple,
        validator=[tuple_of(ParticipantStatus), _unique("employee_id", "participant")],
    )
    # An organisation-wide cycle may have thousands of participants: look each up in one step.
    _by_employee: dict[str, ParticipantStatus] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        index = {entry.employee_id: entry for entry in self.participants}
        object.__setattr__(self, "_by_employee", index)

    @property
    def employee_ids(self) -> tuple[str, ...]:
        """The employees the summary has an entry for, in its order."""
        return tuple(self._by_employee)

    def of(self, employee_id: str) -> ParticipantStatus:
        """The entry for ``employee_id``, or an empty one if the summary has none."""
        found = self._by_employee.get(employee_id)
        return ParticipantStatus(employee_id=employee_id) if found is None else found


@attrs.frozen(kw_only=True)
class Blocker:
    """One reason one participant holds up the end of a stage.

    Attributes:
        employee_id: the participant.
        stage: the stage whose work is unfinished.
        reason: what is missing.
        item_id: the evaluation or plan at fault, where there is one.
        state: the state it is in.
    """

    employee_id: str
    stage: Stage
    reason: BlockReason
    item_id: str | None = None
    state: str | None = None


# -- the checks ---------------------------------------------------------------------------------


def _job_description(entry: ParticipantStatus) -> Iterator[Blocker]:
    if entry.job_description is None:
        yield Blocker(
            employee_id=entry.employee_id,
            stage=Stage.JOB_DESCRIPTIONS,
            reason=BlockReason.NO_JOB_DESCRIPTION,
        )


def _evaluation(entry: ParticipantStatus) -> Iterator[Blocker]:
    evaluation = entry.evaluation
    if evaluation is None:
        yield Blocker(
            employee_id=entry.employee_id,
            stage=Stage.EVALUATIONS,
            reason=BlockReason.NO_EVALUATION,
        )
    elif not evaluation.finished:
        yield Blocker(
            employee_id=entry.employee_id,
            stage=Stage.EVALUATIONS,
            reason=BlockReason.EVALUATION_UNFINISHED,
            item_id=evaluation.id,
            state=evaluation.state,
        )


def _plans(entry: ParticipantStatus) -> Iterator[Blocker]:
    for plan in entry.plans:
        if plan.state not in _DONE_WITH_PLANS:
            yield Blocker(
                employee_id=entry.employee_id,
                stage=Stage.PLANNING,
                reason=BlockReason.PLAN_NOT_ACTIVE,
                item_id=plan.id,
                state=plan.state,
            )


# The attainment stage has no check: the cycle closes whatever the goals' outcomes.
_CHECKS: dict[Stage, Callable[[ParticipantStatus], Iterator[Blocker]]] = {
    Stage.JOB_DESCRIPTIONS: _job_description,
    Stage.EVALUATIONS: _evaluation,
    Stage.PLANNING: _plans,
}


def blockers(stage: Stage, employee_ids: Iterable[str], status: CycleStatus) -> tuple[Blocker, ...]:
    """Who holds up the end of ``stage``, and why, in the order of ``employee_ids``.

    Args:
        stage: the stage whose work is checked (the attainment stage never has blockers).
        employee_ids: the cycle's participants.
        status: the summary of their work.
    """
    check = _CHECKS.get(stage)
    if check is None:
        return ()
    return tuple(found for employee_id in employee_ids for found in check(status.of(employee_id)))


# -- the words ----------------------------------------------------------------------------------


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _people(found: Sequence[Blocker]) -> list[str]:
    return list(dict.fromkeys(blocker.employee_id for blocker in found))


def _with_details(found: Sequence[Blocker], detail: Callable[[Blocker], str]) -> str:
    details: dict[str, list[str]] = {}
    for blocker in found:
        details.setdefault(blocker.employee_id, []).append(detail(blocker))
    return ", ".join(f"{person} ({', '.join(items)})" for person, items in details.items())


def _sentence(reason: BlockReason, found: Sequence[Blocker]) -> str:
    number = len(_people(found))
    if reason is BlockReason.NO_JOB_DESCRIPTION:
        who = _count(number, "participant has", "participants have")
        return f"{who} no published job description: {', '.join(_people(found))}"
    if reason is BlockReason.NO_EVALUATION:
        who = _count(number, "participant has", "participants have")
        return f"{who} no evaluation: {', '.join(_people(found))}"
    if reason is BlockReason.EVALUATION_UNFINISHED:
        whose = _count(number, "participant's evaluation is", "participants' evaluations are")
        listed = _with_details(found, lambda blocker: str(blocker.state))
        return f"{whose} not yet finalized, acknowledged or disputed: {listed}"
    who = _count(number, "participant has", "participants have")
    listed = _with_details(found, lambda blocker: f"plan {blocker.item_id} is {blocker.state}")
    return f"{who} a plan that is not yet active: {listed}"


def explain(found: Sequence[Blocker]) -> str:
    """The blockers in words an HR user can read, grouped by reason and naming every participant.

    >>> explain([Blocker(employee_id="e-3", stage=Stage.PLANNING,
    ...     reason=BlockReason.PLAN_NOT_ACTIVE, item_id="p-1", state="draft")])
    '1 participant has a plan that is not yet active: e-3 (plan p-1 is draft)'
    """
    sentences = []
    for reason in BlockReason:
        group = [blocker for blocker in found if blocker.reason is reason]
        if group:
            sentences.append(_sentence(reason, group))
    return "; ".join(sentences)


# -- the progress report ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class GoalCounts:
    """How many goals stand each way (the fields are :class:`~perfcore.goal.Standing` values)."""

    not_started: int = 0
    on_track: int = 0
    behind: int = 0
    achieved: int = 0
    missed: int = 0
    cancelled: int = 0

    @classmethod
    def of(cls, standings: Iterable[Standing]) -> GoalCounts:
        """Count ``standings``."""
        counts = dict.fromkeys((standing.value for standing in Standing), 0)
        for standing in standings:
            counts[Standing(standing).value] += 1
        return cls(**counts)

    @property
    def total(self) -> int:
        """Every goal counted, cancelled ones included."""
        return sum(self.count(standing) for standing in Standing)

    def count(self, standing: Standing | str) -> int:
        """How many goals have ``standing``."""
        value: int = getattr(self, Standing(standing).value)
        return value

    @property
    def outlook(self) -> GoalOutlook:
        """Meeting (something on track or achieved, nothing behind or missed), not meeting
        (something behind or missed), or none under way (only goals not started or cancelled)."""
        if self.behind or self.missed:
            return GoalOutlook.NOT_MEETING
        if self.on_track or self.achieved:
            return GoalOutlook.MEETING
        return GoalOutlook.NONE_UNDER_WAY


@attrs.frozen(kw_only=True)
class StageProgress:
    """One stage's work across the cycle.

    Attributes:
        stage: the stage.
        done: the participants who have done what the stage needs of them.
        blockers: what the others still lack (see :class:`Blocker`).
    """

    stage: Stage
    done: tuple[str, ...]
    blockers: tuple[Blocker, ...]

    @property
    def complete(self) -> bool:
        """Whether nobody holds the stage up."""
        return not self.blockers

    @property
    def waiting_on(self) -> tuple[str, ...]:
        """The participants who hold the stage up, each once."""
        return tuple(_people(self.blockers))


@attrs.frozen(kw_only=True)
class ParticipantProgress:
    """One participant's part of the report.

    Attributes:
        employee_id, manager_id: the participant and their manager.
        job_description, evaluation, plans: what the summary has for them.
        goals: how their goals stand, counted.
        outlook: whether they are meeting their goals.
        done: the stages they have done their part of.
        blockers: what they still lack, for every stage.
    """

    employee_id: str
    manager_id: str | None
    job_description: JobDescriptionRef | None
    evaluation: EvaluationRef | None
    plans: tuple[PlanRef, ...]
    goals: GoalCounts
    outlook: GoalOutlook
    done: tuple[Stage, ...]
    blockers: tuple[Blocker, ...]

    @property
    def disputed(self) -> bool:
        """Whether they dispute their evaluation."""
        return self.evaluation is not None and self.evaluation.state == "disputed"


@attrs.frozen(kw_only=True)
class ProgressReport:
    """Where a cycle stands, per stage and per participant, on one day.

    Attributes:
        cycle_id: the cycle.
        state: the stage the cycle is in (a ``ReviewCycleState`` value).
        on: the day the report is for (the summary's goal standings are for that day).
        stages: the job descriptions, evaluations and planning stages, in order; the attainment
            stage's work is the goals below.
        participants: one entry per participant, in the cycle's order.
        goals: every participant's goals, counted together.
        meeting, not_meeting, none_under_way: the participants by :class:`GoalOutlook`.
        disputed: the participants who dispute their evaluation.
    """

    cycle_id: str
    state: str
    on: dt.date
    stages: tuple[StageProgress, ...]
    participants: tuple[ParticipantProgress, ...]
    goals: GoalCounts
    meeting: tuple[str, ...]
    not_meeting: tuple[str, ...]
    none_under_way: tuple[str, ...]
    disputed: tuple[str, ...]

    def stage(self, stage: Stage | str) -> StageProgress:
        """The progress of one stage (job descriptions, evaluations or planning)."""
        wanted = to_enum(Stage, "stage")(stage)
        for progress in self.stages:
            if progress.stage is wanted:
                return progress
        raise ValidationError("stage", f"the report has no checks for {wanted.value!r}")

    def participant(self, employee_id: str) -> ParticipantProgress:
        """One participant's part of the report."""
        for progress in self.participants:
            if progress.employee_id == employee_id:
                return progress
        raise ValidationError("employee_id", f"{employee_id!r} is not a participant")


def _participant_progress(
    participant: Participant, entry: ParticipantStatus
) -> ParticipantProgress:
    goals = GoalCounts.of(goal.standing for goal in entry.goals)
    found = {stage: tuple(check(entry)) for stage, check in _CHECKS.items()}
    return ParticipantProgress(
        employee_id=participant.employee_id,
        manager_id=participant.manager_id,
        job_description=entry.job_description,
        evaluation=entry.evaluation,
        plans=entry.plans,
        goals=goals,
        outlook=goals.outlook,
        done=tuple(stage for stage, missing in found.items() if not missing),
        blockers=tuple(blocker for missing in found.values() for blocker in missing),
    )


def progress_report(
    *,
    cycle_id: str,
    state: str,
    participants: Sequence[Participant],
    status: CycleStatus,
    on: dt.date,
) -> ProgressReport:
    """The progress report of a cycle (see :meth:`ReviewCycle.progress`)."""
    people = tuple(_participant_progress(p, status.of(p.employee_id)) for p in participants)
    stages = tuple(
        StageProgress(
            stage=stage,
            done=tuple(person.employee_id for person in people if stage in person.done),
            blockers=tuple(b for person in people for b in person.blockers if b.stage is stage),
        )
        for stage in _CHECKS
    )

    def having(outlook: GoalOutlook) -> tuple[str, ...]:
        return tuple(person.employee_id for person in people if person.outlook is outlook)

    return ProgressReport(
        cycle_id=cycle_id,
        state=state,
        on=on,
        stages=stages,
        participants=people,
        goals=GoalCounts.of(
            goal.standing for p in participants for goal in status.of(p.employee_id).goals
        ),
        meeting=having(GoalOutlook.MEETING),
        not_meeting=having(GoalOutlook.NOT_MEETING),
        none_under_way=having(GoalOutlook.NONE_UNDER_WAY),
        disputed=tuple(person.employee_id for person in people if person.disputed),
    )
