"""The ReviewCycle service: each advance reads the participants' work from storage.

A cycle holds no other objects; to advance it, the service builds a
:class:`~perfcore.cycle_status.CycleStatus` in the same unit of work, from what is stored:

- **job description**: the newest published number of the descriptions written for the
  participant alone (read from the published descriptions' stream heads); failing one, with a
  directory, the newest published role description of the position the participant holds in the
  directory on the day asked (or the period's nearest day, for a day outside the period);
- **evaluation**: the participant's evaluation in this cycle (the cycle's evaluations' heads; the
  latest created if there are several);
- **plans**: the cycle's plans whose subject is the participant, or that name them as a team
  member;
- **goals**: the participant's goals whose span (start to due) overlaps the cycle's period, with
  their standing on the day, as the records stood then.

Every part is a fixed number of indexed queries, whatever the number of participants (see
:func:`cycle_status`), and an advance builds only the part its guard reads.

**The cycle schedules its own evaluations** (:meth:`CycleService.schedule_evaluations`), from the
directory, never from the caller: each participant's evaluator is their manager, their
description their own published one or their position's role description, ``subject_is_manager``
whether they have direct reports, and a manager's direct reports are asked for upward feedback
once the evaluation opens. It runs again safely (it creates only what is missing) and in batches
of one unit of work each (:meth:`perfcore.services.Perfcore.bulk`), so a run cut short is resumed
by running it again.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import attrs

from perfcore._aggregate import check_reason
from perfcore._validate import check_date, check_id, check_sequence, unchecked_maker
from perfcore.actor import Actor, Role
from perfcore.cycle_status import (
    FINISHED_EVALUATION_STATES,
    CycleStatus,
    EvaluationRef,
    GoalRef,
    JobDescriptionRef,
    Participant,
    ParticipantStatus,
    PlanRef,
)
from perfcore.directory import Directory
from perfcore.errors import GuardFailed, NotFound, PerfcoreError, ValidationError
from perfcore.evaluation import Evaluation, EvaluationState, Relationship
from perfcore.goal import Goal, GoalState
from perfcore.job_description import JobDescription, JobDescriptionState
from perfcore.limits import current
from perfcore.plan import Plan, PlanKind, PlanState
from perfcore.policy import Policy
from perfcore.repositories import Repositories
from perfcore.review_cycle import _EDITABLE, ReviewCycle, ReviewCycleState
from perfcore.services._as_of import as_of
from perfcore.services._commands import ReviewCycleCommands
from perfcore.services._heads import head_rows, overlaps_from, standing_from
from perfcore.services._runner import Session

__all__ = ["PARTS", "CycleService", "EvaluationSchedule", "cycle_status"]

#: The trigger that leaves each stage, for :meth:`CycleService.advance`.
NEXT = {
    ReviewCycleState.PLANNED: "start",
    ReviewCycleState.JOB_DESCRIPTIONS: "begin_evaluations",
    ReviewCycleState.EVALUATIONS: "begin_planning",
    ReviewCycleState.PLANNING: "begin_attainment",
    ReviewCycleState.ATTAINMENT: "close",
}
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)
#: The advances whose guards read the status summary.
NEEDS_STATUS = frozenset({"begin_evaluations", "begin_planning", "begin_attainment"})


#: The parts of the summary each stage's guard reads (an advance builds only those).
PARTS = frozenset({"job_descriptions", "evaluations", "plans", "goals"})
_NEEDS = {
    "begin_evaluations": frozenset({"job_descriptions"}),
    "begin_planning": frozenset({"evaluations"}),
    "begin_attainment": frozenset({"plans"}),
}
#: The states a goal can be in: the goals of a large cycle are found state by state (one
#: indexed query each), not participant by participant.
_GOAL_STATES = tuple(state.value for state in GoalState)
#: Up to this many participants, their goals are found owner by owner (one indexed query each)
#: rather than the whole organisation's, state by state.
_FEW = 64


def readable_cycle(uow: Repositories, policy: Policy, reader: Actor, cycle_id: str) -> ReviewCycle:
    """The stored cycle, if ``reader`` may read it.

    Raises:
        NotFound: no cycle is stored under ``cycle_id`` that ``reader`` may read.
    """
    cycle = uow.cycles.find(cycle_id)
    if cycle is None or not policy.may_read(reader, "ReviewCycle", cycle):
        raise NotFound("ReviewCycle", cycle_id, reader.id)
    return _as_read_by(cycle, reader)


def _as_read_by(cycle: ReviewCycle, reader: Actor) -> ReviewCycle:
    """The cycle with the participants ``reader`` may hear of: all of them for HR and whoever
    created it; for anyone else themselves and the people they manage, down the line in the
    directory, so that a summary or a progress report built from it tells a manager of their
    own line and a participant of themselves, never of the rest of the organisation."""
    if reader.is_a(Role.HR) or reader.id == cycle.created_by:
        return cycle
    relations = reader.relations
    visible = tuple(
        participant
        for participant in cycle.participants
        if participant.employee_id == reader.id
        or (relations is not None and relations.manages(participant.employee_id))
    )
    if len(visible) == len(cycle.participants):
        return cycle
    shown = copy.copy(cycle)
    object.__setattr__(shown, "participants", visible)  # a reader's view, never saved
    return shown


def cycle_status(
    uow: Repositories,
    cycle: ReviewCycle,
    on: dt.date,
    parts: frozenset[str] = PARTS,
    directory: Directory | None = None,
) -> CycleStatus:
    """The summary of the participants' work, read from ``uow``, with goal standings on ``on``.

    Built from a fixed number of set-based queries whatever the number of participants: the
    published job descriptions and the cycle's evaluations are read from their stream heads
    (no object is decoded, but for a participant with several evaluations in the cycle); the
    cycle's plans and the participants' goals are loaded from the heads one query found.
    ``parts`` limits the summary to what a guard reads (see :data:`PARTS`). With a
    ``directory``, a participant with no description of their own is measured against their
    position's published role description (:func:`positions_of`).
    """
    people = cycle.employee_ids
    wanted = frozenset(people)
    published: dict[str, JobDescriptionRef] = {}
    if "job_descriptions" in parts:

        def held(without: list[str]) -> dict[str, str]:
            return {} if directory is None else positions_of(directory, cycle, without, on)

        published = _job_descriptions(uow, wanted, held)
    evaluations = _evaluations(uow, cycle, wanted) if "evaluations" in parts else {}
    plans = _plans(uow, cycle, wanted) if "plans" in parts else {}
    goals = _goals(uow, cycle, wanted, on) if "goals" in parts else {}
    # Built unchecked: every value was read from the store, which holds only what the domain
    # checked, and refs the functions above made; checking 100,000 participants' entries again
    # would cost more than reading them.
    return CycleStatus(
        participants=[
            _participant_status(
                employee_id=person,
                job_description=published.get(person),
                evaluation=evaluations.get(person),
                plans=tuple(plans.get(person, ())),
                goals=tuple(goals.get(person, ())),
            )
            for person in people
        ]
    )


def cycle_day(cycle: ReviewCycle, on: dt.date) -> dt.date:
    """``on``, or the day of the cycle's period nearest to it: the day whose positions count."""
    return min(max(on, cycle.period_start), cycle.period_end)


def positions_of(
    directory: Directory, cycle: ReviewCycle, people: Sequence[str], on: dt.date
) -> dict[str, str]:
    """The position each of ``people`` holds in the directory on the cycle's day nearest ``on``
    (:func:`cycle_day`); someone with none, or not in the directory then, is left out."""
    day = cycle_day(cycle, on)
    held: dict[str, str] = {}
    for person_id in people:
        person = directory.person(person_id, day)
        if person is not None and person.position is not None:
            held[person_id] = person.position
    return held


def _job_descriptions(
    uow: Repositories,
    people: frozenset[str],
    positions_for: Callable[[list[str]], Mapping[str, str]] | None,
) -> dict[str, JobDescriptionRef]:
    """The newest published number written for each participant, from the heads alone; for a
    participant without one, the newest published role description of the position
    ``positions_for`` says they hold (asked only about them; the published role descriptions
    are loaded then, to read their position)."""
    newest: dict[str, tuple[int, str]] = {}
    role_rows: list[tuple[int, str]] = []
    published = JobDescriptionState.PUBLISHED.value
    for id, _state, employee, number in head_rows(
        uow.events, "JobDescription", "state", published, _EMPLOYEE_NUMBER
    ):
        if not isinstance(number, int):
            continue
        if employee is None:
            role_rows.append((number, id))
            continue
        if not isinstance(employee, str) or employee not in people:
            continue
        known = newest.get(employee)
        if known is None or (number, id) > known:
            newest[employee] = (number, id)
    without = sorted(people - newest.keys())
    if without and role_rows and positions_for is not None:
        positions = positions_for(without)
        wanted_positions = frozenset(positions.values())
        roles: dict[str, tuple[int, str]] = {}
        for number, id in role_rows if wanted_positions else ():
            position = cast(JobDescription, uow.streams.get("JobDescription", id)).position_id
            if position in wanted_positions:
                known = roles.get(position)
                if known is None or (number, id) > known:
                    roles[position] = (number, id)
        for person, position in positions.items():
            if person in people and person not in newest and position in roles:
                newest[person] = roles[position]
    return {
        employee: _job_description_ref(id=id, number=number)
        for employee, (number, id) in newest.items()
    }


def _evaluations(
    uow: Repositories, cycle: ReviewCycle, people: frozenset[str]
) -> dict[str, EvaluationRef]:
    """Each participant's evaluation in the cycle (the latest created if there are several)."""
    found: dict[str, EvaluationRef] = {}
    several: dict[str, list[str]] = {}
    for id, state, subject in head_rows(uow.events, "Evaluation", "cycle", cycle.id, _SUBJECT):
        if not isinstance(subject, str) or subject not in people:
            continue
        if subject in found:
            several.setdefault(subject, [found[subject].id]).append(id)
        else:
            found[subject] = _evaluation_ref(id=id, state=str(state))
    for subject, ids in several.items():
        loaded = [cast(Evaluation, uow.streams.get("Evaluation", id)) for id in ids]
        latest = max(loaded, key=lambda ev: (ev.created_at or _NEVER, ev.id))
        found[subject] = EvaluationRef(id=latest.id, state=latest.state)
    return found


def _plans(
    uow: Repositories, cycle: ReviewCycle, people: frozenset[str]
) -> dict[str, list[PlanRef]]:
    """The cycle's plans under each participant they concern (a team plan under each member)."""
    found: dict[str, list[PlanRef]] = {}
    for id, state, subject, changed, team in head_rows(
        uow.events, "Plan", "cycle", cycle.id, _SUBJECT_CHANGED_TEAM
    ):
        if isinstance(subject, str) and changed is not None and team is None:
            # Its head says all: a plan for one person (only a team plan names others).
            if subject in people:
                ref = _plan_ref(id=id, state=str(state))
                found.setdefault(subject, []).append(ref)
            continue
        plan = cast(Plan, uow.streams.get("Plan", id))
        concerned = {plan.subject_id}
        if plan.kind is PlanKind.TEAM:
            concerned.update(plan.team_member_ids)
        ref = PlanRef(id=plan.id, state=plan.state)
        for person in concerned & people:
            found.setdefault(person, []).append(ref)
    return found


def _goal_rows(uow: Repositories, people: frozenset[str]) -> list[tuple[Any, ...]]:
    if len(people) <= _FEW:
        return [
            row
            for person in sorted(people)
            for row in head_rows(uow.events, "Goal", "owner", person, _GOAL_COLUMNS)
        ]
    return [
        row
        for state in _GOAL_STATES
        for row in head_rows(uow.events, "Goal", "state", state, _GOAL_COLUMNS)
        if row[2] in people
    ]


def _goals(
    uow: Repositories, cycle: ReviewCycle, people: frozenset[str], on: dt.date
) -> dict[str, list[GoalRef]]:
    """The participants' goals whose span overlaps the cycle's period, standing on ``on``, in
    id order."""
    found: dict[str, list[GoalRef]] = {}
    day, first, last = on.isoformat(), cycle.period_start.isoformat(), cycle.period_end.isoformat()
    for id, state, owner, start, due, behind, changed in _goal_rows(uow, people):
        # From its head's columns where they say (see perfcore.services._heads), else decoded.
        standing = standing_from(state, start, behind, changed, day)
        inside = overlaps_from(start, due, first, last)
        if isinstance(owner, str) and standing is not None and inside is not None:
            if inside:
                ref = _goal_ref(id=id, standing=standing)
                found.setdefault(owner, []).append(ref)
            continue
        goal = cast(Goal, uow.streams.get("Goal", id))
        if goal.due < cycle.period_start or goal.start > cycle.period_end:
            continue
        then = as_of(goal, on, uow.streams)
        if then is not None:
            found.setdefault(goal.owner_id, []).append(
                GoalRef(id=goal.id, standing=then.standing(on))
            )
    # In id order: the rows come state by state, and most people have one goal.
    for refs in found.values():
        if len(refs) > 1:
            refs.sort(key=_by_id)
    return found


def _by_id(ref: GoalRef) -> str:
    return ref.id


#: The status's records, built unchecked from what the store holds (see ``cycle_status``).
_participant_status = unchecked_maker(ParticipantStatus)
_job_description_ref = unchecked_maker(JobDescriptionRef)
_evaluation_ref = unchecked_maker(EvaluationRef)
_plan_ref = unchecked_maker(PlanRef)
_goal_ref = unchecked_maker(GoalRef)

#: The head columns each part of a cycle's status reads (:func:`head_rows`).
_EMPLOYEE_NUMBER = ("employee", "number")
_SUBJECT = ("subject",)
_SUBJECT_CHANGED_TEAM = ("subject", "changed", "team")
_GOAL_COLUMNS = ("owner", "start", "due", "behind", "changed")


#: An evaluation in one of these asks for feedback (upward feedback is requested then).
_ASKING = frozenset({EvaluationState.SELF_REVIEW, EvaluationState.MANAGER_REVIEW})
#: A leaver's work that is still open, and is cancelled when they leave.
_OPEN_PLANS = frozenset(
    {
        PlanState.DRAFT,
        PlanState.SUBMITTED,
        PlanState.APPROVED,
        PlanState.ACTIVE,
        PlanState.IN_REVIEW,
    }
)
_OPEN_GOALS = frozenset({GoalState.DRAFT, GoalState.PROPOSED, GoalState.ACTIVE})


@attrs.frozen(kw_only=True)
class EvaluationSchedule:
    """What one run of :meth:`CycleService.schedule_evaluations` did, and what it could not.

    Attributes:
        cycle_id: the cycle.
        joined: who joined the organisation during the cycle and was brought into it.
        left: who had left the organisation and was taken out of it (excused).
        closed: a leaver's open work, cancelled with the reason they left: ``(type, id)``.
        created: the evaluations created, by id.
        opened: the evaluations opened (their period has ended, or the policy opens early).
        requested: the upward feedback requested: ``(evaluation id, direct report's id)``.
        waiting: the participants not (or not fully) scheduled, and why: ``(id, why)``. A
            later run, once the reason is gone, schedules them.
        unresolved: the cycle's evaluations that leavers leave for HR, and why: ``(evaluation
            id, why)``: one of someone no longer a participant (no command closes an
            evaluation: it stays as it is, and no longer holds the cycle up), or one whose
            reviewer has left without answering (waive the feedback, or go without).
    """

    cycle_id: str
    joined: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    closed: tuple[tuple[str, str], ...] = ()
    created: tuple[str, ...] = ()
    opened: tuple[str, ...] = ()
    requested: tuple[tuple[str, str], ...] = ()
    waiting: tuple[tuple[str, str], ...] = ()
    unresolved: tuple[tuple[str, str], ...] = ()


@attrs.define
class _Progress:
    """What a run did so far (each participant's command adds to it once it is accepted)."""

    created: list[str] = attrs.Factory(list)
    opened: list[str] = attrs.Factory(list)
    requested: list[tuple[str, str]] = attrs.Factory(list)
    waiting: list[tuple[str, str]] = attrs.Factory(list)


def _evaluation_id(cycle_id: str, employee_id: str) -> str | None:
    """The id a scheduled evaluation gets: one per cycle and participant, so that two runs at
    once cannot both create it (the second append conflicts); ``None`` if it would be too
    long for an id (the id factory's is used then)."""
    candidate = f"{cycle_id}.{employee_id}"
    return candidate if len(candidate) <= current().id_length else None


class CycleService(ReviewCycleCommands):
    """Review cycles: plan, start, and advance through the stages to closed."""

    kind = ReviewCycle
    id_argument = "cycle_id"
    editable = _EDITABLE

    def create(
        self,
        *,
        by: Actor | str,
        name: str,
        period_start: dt.date,
        period_end: dt.date,
        participants: Sequence[Participant] = (),
        schedule: str | None = None,
        id: str | None = None,
        idempotency_key: str | None = None,
    ) -> ReviewCycle:
        """Plan a cycle (see :meth:`perfcore.review_cycle.ReviewCycle.create`)."""
        fields = {
            "name": name,
            "period_start": period_start,
            "period_end": period_end,
            "participants": check_sequence("participants", participants),
            "schedule": schedule,
        }
        return self._create(id=id, by=by, fields=fields, idempotency_key=idempotency_key)

    def begin_evaluations(
        self,
        cycle_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> ReviewCycle:
        """Open the evaluations stage, once every participant has a published job description.

        Raises:
            GuardFailed: naming every participant who holds the cycle up, and why.
        """
        return self._advance(cycle_id, "begin_evaluations", by, reason, idempotency_key)

    def begin_planning(
        self,
        cycle_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> ReviewCycle:
        """Open the planning stage, once every participant's evaluation is finished."""
        return self._advance(cycle_id, "begin_planning", by, reason, idempotency_key)

    def begin_attainment(
        self,
        cycle_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> ReviewCycle:
        """Open the attainment stage, once every plan of the cycle is active or later."""
        return self._advance(cycle_id, "begin_attainment", by, reason, idempotency_key)

    def remove_participant(
        self,
        cycle_id: str,
        *,
        by: Actor | str,
        employee_id: str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> ReviewCycle:
        """Take someone out of a running cycle, saying why, so they no longer hold it up (see
        :meth:`perfcore.review_cycle.ReviewCycle.remove_participant`)."""
        check_id("employee_id", employee_id)
        return self._fire(
            cycle_id,
            "remove_participant",
            by=by,
            employee_id=employee_id,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def advance(
        self,
        cycle_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> ReviewCycle:
        """Move the cycle to its next stage (start, begin the next stage, or close), whichever
        its state calls for, with the status summary from storage where the step needs it.

        Raises:
            TransitionNotAllowed: the cycle is closed.
            GuardFailed: the stage's work is not done (every blocker is named).
        """
        return self._advance(cycle_id, None, by, reason, idempotency_key)

    def status(self, cycle_id: str, *, by: Actor | str, on: dt.date) -> CycleStatus:
        """The summary of the participants' work as stored, with goal standings on ``on``, for
        a reader of the cycle.

        Raises:
            NotFound: no cycle is stored under ``cycle_id`` that ``by`` may read.
        """
        check_id("cycle_id", cycle_id)
        check_date("on", on)
        reader = self._runner.reader(by)

        def work(uow: Repositories) -> CycleStatus:
            cycle = readable_cycle(uow, self._runner.policy, reader, cycle_id)
            return cycle_status(uow, cycle, on, directory=self._runner.directory)

        return self._runner.read(work)

    #: How many participants :meth:`schedule_evaluations` schedules in one unit of work (a
    #: bulk holds its writes, and on SQLite and PostgreSQL the write lock, until it ends).
    batch_size: int = 100

    def schedule_evaluations(
        self,
        cycle_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> EvaluationSchedule:
        """Create every participant's evaluation, as the directory says on the clock's day.

        First, in one unit of work with the cycle's ``schedule_evaluations`` event: a
        participant no longer in the directory is taken out of the cycle (excused, with the day
        as the reason) and their open plans of the cycle and open goals are cancelled; someone
        who joined the organisation after the cycle was planned, by the period's end, and reports
        to a participant (or to a joiner) is brought in. Then, ``batch_size`` participants to a
        unit of work (:meth:`perfcore.services.Perfcore.bulk`), each participant without an
        evaluation in the cycle gets one:

        - against their published description: one written for them alone, else the role
          description of the position they hold (:func:`positions_of`);
        - evaluated by their manager in the directory, ``subject_is_manager`` if they have
          direct reports;
        - opened when its period has ended (or the policy opens early), and then, for a
          manager, every direct report asked for upward feedback (``direct_report``).

        Running it again creates only what is missing: an evaluation opens, and its upward
        feedback is asked, on the first run after its period ends; a run cut short is resumed.
        An ``idempotency_key`` makes the first unit of work (the cycle's event, joiners and
        leavers) happen once; the batches, idempotent themselves, run on every call.

        Raises:
            ValidationError: perfcore has no directory, or :attr:`batch_size` is not a whole
                number above 0.
            NotFound: no cycle under ``cycle_id`` that ``by`` may read.
            TransitionNotAllowed: the cycle is not in its evaluations stage.
            PermissionDenied: ``by`` is not HR (the table's ``schedule_evaluations`` rule).
        """
        check_id("cycle_id", cycle_id)
        check_reason(reason)
        batch_size = self.batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValidationError("batch_size", f"must be a whole number above 0: {batch_size!r}")
        directory = self._runner.directory
        if directory is None:
            raise ValidationError(
                "directory",
                "scheduling reads the organisation from the directory: Perfcore(store,"
                " directory=...)",
            )
        joined: list[str] = []
        left: list[str] = []
        closed: list[tuple[str, str]] = []

        def start(session: Session) -> ReviewCycle:
            for found in (joined, left, closed):
                found.clear()  # a retried attempt starts again
            actor = session.actor(by)
            cycle = session.load_for(actor, ReviewCycle, cycle_id)
            cycle = cycle.schedule_evaluations(
                by=actor, at=session.at, reason=reason, policy=session.policy
            )
            cycle = _excuse_leavers(session, actor, cycle, directory, left, closed)
            cycle = _bring_in_joiners(session, actor, cycle, directory, joined)
            return session.changed(cycle)

        args = {"cycle_id": cycle_id, "by": by, "reason": reason}
        cycle = self._run("schedule_evaluations", args, start, idempotency_key)
        progress = _Progress()
        people = cycle.employee_ids
        day = self._runner.clock.now().date()

        def described(uow: Repositories) -> dict[str, JobDescriptionRef]:
            def held(without: list[str]) -> dict[str, str]:
                return positions_of(directory, cycle, without, day)

            return _job_descriptions(uow, frozenset(people), held)

        descriptions = self._runner.read(described)  # once: descriptions do not change here
        for first in range(0, len(people), batch_size):
            with self._runner.bulk():
                for employee_id in people[first : first + batch_size]:
                    ref = descriptions.get(employee_id)
                    self._schedule_one(cycle, employee_id, ref, by, directory, progress)
        unresolved = self._runner.read(lambda uow: _unresolved(uow, cycle, directory, day))
        return EvaluationSchedule(
            cycle_id=cycle.id,
            joined=tuple(joined),
            left=tuple(left),
            closed=tuple(closed),
            created=tuple(progress.created),
            opened=tuple(progress.opened),
            requested=tuple(progress.requested),
            waiting=tuple(progress.waiting),
            unresolved=unresolved,
        )

    def _schedule_one(
        self,
        cycle: ReviewCycle,
        employee_id: str,
        description: JobDescriptionRef | None,
        by: Actor | str,
        directory: Directory,
        progress: _Progress,
    ) -> None:
        """One participant's evaluation, as one command of the batch's bulk: created if
        missing, opened if it may be, and a manager's direct reports asked."""
        done = _Progress()

        def work(session: Session) -> ReviewCycle:
            for found in (done.created, done.opened, done.requested, done.waiting):
                found.clear()  # a retried attempt starts again
            actor = session.actor(by)
            day = session.at.date()
            evaluation = _existing(session, cycle, employee_id)
            if evaluation is None:
                why = _why_not(session, cycle, employee_id, description, directory, day)
                if isinstance(why, str):
                    done.waiting.append((employee_id, why))
                    return cycle
                evaluation = _create_evaluation(session, actor, cycle, why, directory, day)
                done.created.append(evaluation.id)
            if evaluation.state is EvaluationState.SCHEDULED:
                try:
                    evaluation = evaluation.open(by=actor, at=session.at, policy=session.policy)
                except GuardFailed:
                    pass  # its period has not ended: a later run opens it
                else:
                    done.opened.append(evaluation.id)
            if evaluation.state in _ASKING and evaluation.subject_is_manager:
                for report in directory.reports(employee_id, day):
                    if (
                        report == evaluation.evaluator_id
                        or evaluation.relationship_of(report) is not None
                    ):
                        continue
                    evaluation = evaluation.request_feedback(
                        by=actor, at=session.at, reviewer_id=report,
                        relationship=Relationship.DIRECT_REPORT, policy=session.policy,
                    )  # fmt: skip
                    done.requested.append((evaluation.id, report))
            session.changed(evaluation)
            return cycle

        args = {"cycle_id": cycle.id, "employee_id": employee_id, "by": by}
        try:
            self._runner.run("ReviewCycle.schedule_evaluation", args, work)
        except PerfcoreError as refused:  # nothing of it is kept; the others go on
            progress.waiting.append((employee_id, str(refused)))
            return
        progress.created.extend(done.created)
        progress.opened.extend(done.opened)
        progress.requested.extend(done.requested)
        progress.waiting.extend(done.waiting)

    def _advance(
        self,
        cycle_id: str,
        trigger: str | None,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None,
    ) -> ReviewCycle:
        check_id("cycle_id", cycle_id)

        def work(session: Session) -> ReviewCycle:
            actor = session.actor(by)
            cycle = session.load_for(actor, ReviewCycle, cycle_id)
            fired = trigger if trigger is not None else NEXT.get(cycle.state, "close")
            options: dict[str, Any] = {"reason": reason}
            if fired in NEEDS_STATUS:
                # Only the part of the summary the stage's guard reads.
                needs = _NEEDS[fired]
                options["status"] = cycle_status(
                    session.uow, cycle, session.at.date(), needs, self._runner.directory
                )
            command = getattr(cycle, fired)
            advanced: ReviewCycle = command(
                by=actor, at=session.at, policy=session.policy, **options
            )
            return session.changed(advanced)

        args = {"cycle_id": cycle_id, "by": by, "reason": reason}
        return self._run(trigger or "advance", args, work, idempotency_key)


# -- scheduling -----------------------------------------------------------------------------------


def _excuse_leavers(
    session: Session,
    actor: Actor,
    cycle: ReviewCycle,
    directory: Directory,
    left: list[str],
    closed: list[tuple[str, str]],
) -> ReviewCycle:
    """Take out of the cycle each participant the directory no longer has, and cancel their
    open plans of the cycle and their open goals, each with the reason."""
    day = session.at.date()
    for employee_id in cycle.employee_ids:
        if directory.person(employee_id, day) is not None or len(cycle.participants) < 2:
            continue
        why = f"{employee_id} is not in the organisation on {day} (the directory): excused"
        cycle = cycle.remove_participant(
            by=actor, at=session.at, employee_id=employee_id, reason=why, policy=session.policy
        )
        left.append(employee_id)
        for head in session.uow.events.find("Plan", "cycle", cycle.id):
            plan = session.load(Plan, head.id)
            if plan.subject_id == employee_id and plan.state in _OPEN_PLANS:
                session.changed(
                    plan.cancel(by=actor, at=session.at, reason=why, policy=session.policy)
                )
                closed.append(("Plan", plan.id))
        for head in session.uow.events.find("Goal", "owner", employee_id):
            goal = session.load(Goal, head.id)
            if goal.state in _OPEN_GOALS:
                session.changed(
                    goal.cancel(by=actor, at=session.at, reason=why, policy=session.policy)
                )
                closed.append(("Goal", goal.id))
    return cycle


def _unresolved(
    uow: Repositories, cycle: ReviewCycle, directory: Directory, day: dt.date
) -> tuple[tuple[str, str], ...]:
    """The cycle's unfinished evaluations that leavers leave for HR (see
    :attr:`EvaluationSchedule.unresolved`)."""
    found: list[tuple[str, str]] = []
    participants = frozenset(cycle.employee_ids)
    for head in sorted(uow.events.find("Evaluation", "cycle", cycle.id), key=lambda h: h.id):
        if head.state in FINISHED_EVALUATION_STATES:
            continue
        subject = head.columns.get("subject")
        if subject not in participants:
            found.append(
                (head.id, f"{subject} is no longer a participant: it stays {head.state}, since"
                          " no command closes an evaluation")
            )  # fmt: skip
            continue
        evaluation = cast(Evaluation, uow.streams.load_head(head))
        for reviewer in sorted(evaluation.pending_reviewer_ids):
            if directory.person(reviewer, day) is None:
                found.append(
                    (head.id, f"{reviewer} was asked for feedback and has left without"
                              " answering: waive the feedback, or go without")
                )  # fmt: skip
    return tuple(found)


def _bring_in_joiners(
    session: Session, actor: Actor, cycle: ReviewCycle, directory: Directory, joined: list[str]
) -> ReviewCycle:
    """Bring into the cycle whoever joined the organisation after it was planned (not in the
    directory that day), by the end of its period, and reports to a participant now."""
    day = session.at.date()
    planned = cycle.created_at.date() if cycle.created_at is not None else cycle.period_start
    by_end = min(day, cycle.period_end)
    queue = list(cycle.employee_ids)
    while queue:
        manager_id = queue.pop(0)
        for report in directory.reports(manager_id, day):
            if report in cycle.employee_ids:
                continue
            if directory.person(report, planned) is not None:
                continue  # in the organisation when the cycle was planned: HR left them out
            if directory.person(report, by_end) is None:
                continue  # joined after the period it reviews
            why = (
                f"{report} joined the organisation after the cycle was planned ({planned}) and"
                f" reports to {manager_id} on {day} (the directory)"
            )
            cycle = cycle.add_participant(
                by=actor, at=session.at, reason=why, policy=session.policy,
                participant=Participant(employee_id=report, manager_id=manager_id),
            )  # fmt: skip
            joined.append(report)
            queue.append(report)
    return cycle


def _existing(session: Session, cycle: ReviewCycle, employee_id: str) -> Evaluation | None:
    """The participant's evaluation in the cycle, if any (the scheduled id first, then any
    other created by hand)."""
    own = _evaluation_id(cycle.id, employee_id)
    if own is not None:
        found = session.find(Evaluation, own)
        if found is not None and (found.subject_id, found.cycle_id) == (employee_id, cycle.id):
            return found
    for head in session.uow.events.find("Evaluation", "subject", employee_id):
        if head.columns.get("cycle") == cycle.id:
            return session.load(Evaluation, head.id)
    return None


@attrs.frozen
class _Ready:
    """What a participant's new evaluation is made of."""

    employee_id: str
    manager_id: str
    description: JobDescription


def _why_not(
    session: Session,
    cycle: ReviewCycle,
    employee_id: str,
    ref: JobDescriptionRef | None,
    directory: Directory,
    day: dt.date,
) -> _Ready | str:
    """What the participant's evaluation is made of (``ref``: their published description, as
    :func:`_job_descriptions` found it), or why it cannot be made yet."""
    person = directory.person(employee_id, day)
    if person is None:
        return f"not in the organisation on {day} (the directory)"
    if person.manager_id is None:
        return "no manager in the directory to evaluate them: HR names a delegate by hand"
    if ref is None:
        held = positions_of(directory, cycle, [employee_id], day)
        where = f" or for their position {held[employee_id]!r}" if employee_id in held else ""
        return f"no published job description written for them{where}"
    description = session.load(JobDescription, ref.id)
    if description.state is not JobDescriptionState.PUBLISHED:
        return f"their job description {ref.id} is {description.state.value}, not published"
    return _Ready(employee_id, person.manager_id, description)


def _create_evaluation(
    session: Session,
    actor: Actor,
    cycle: ReviewCycle,
    ready: _Ready,
    directory: Directory,
    day: dt.date,
) -> Evaluation:
    own = _evaluation_id(cycle.id, ready.employee_id)
    if own is not None and session.find(Evaluation, own) is not None:
        own = None  # the id is another evaluation's (made by hand): take a new one
    description = ready.description
    return Evaluation.create(
        id=own if own is not None else session.new_id("Evaluation"),
        by=actor,
        at=session.at,
        policy=session.policy,
        subject_id=ready.employee_id,
        evaluator_id=ready.manager_id,
        job_description_id=description.id,
        job_description_number=description.number,
        criteria=description.criteria,
        period_start=cycle.period_start,
        period_end=cycle.period_end,
        subject_is_manager=bool(directory.reports(ready.employee_id, day)),
        cycle_id=cycle.id,
    )
