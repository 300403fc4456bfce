"""The ReviewCycle service: each advance reads the participants' work from storage.

A cycle holds no other objects; to advance it, the service builds a
:class:`~perfcore.cycle_status.CycleStatus` in the same unit of work, from what is stored:

- **job description**: the newest published number of the descriptions written for the
  participant (``by_employee``); a role description names no employee, so it does not count;
- **evaluation**: the participant's evaluation in this cycle (``by_cycle``; the latest created if
  there are several);
- **plans**: the cycle's plans whose subject is the participant, or that name them as a team
  member;
- **goals**: the participant's goals whose span (start to due) overlaps the cycle's period, with
  their standing on the day, as the records stood then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from perfcore._validate import check_date, check_id, check_sequence
from perfcore.actor import Actor
from perfcore.cycle_status import (
    CycleStatus,
    EvaluationRef,
    GoalRef,
    JobDescriptionRef,
    Participant,
    ParticipantStatus,
    PlanRef,
)
from perfcore.evaluation import Evaluation
from perfcore.goal import Goal
from perfcore.job_description import JobDescription, JobDescriptionState
from perfcore.plan import Plan, PlanKind
from perfcore.repositories import Repositories
from perfcore.review_cycle import _EDITABLE, ReviewCycle, ReviewCycleState
from perfcore.services._as_of import as_of
from perfcore.services._base import AggregateService
from perfcore.services._runner import Session

__all__ = ["CycleService", "cycle_status"]

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


def cycle_status(uow: Repositories, cycle: ReviewCycle, on: dt.date) -> CycleStatus:
    """The summary of the participants' work, read from ``uow``, with goal standings on ``on``."""
    plans = uow.plans.by_cycle(cycle.id)
    evaluations = uow.evaluations.by_cycle(cycle.id)
    return CycleStatus(
        participants=[
            ParticipantStatus(
                employee_id=person.employee_id,
                job_description=_job_description(uow.job_descriptions.by_employee(person.employee_id)),
                evaluation=_evaluation(person, evaluations),
                plans=[PlanRef(id=p.id, state=p.state) for p in plans if _concerns(p, person)],
                goals=_goals(uow, uow.goals.by_owner(person.employee_id), cycle, on),
            )
            for person in cycle.participants
        ]
    )  # fmt: skip


def _job_description(written: Sequence[JobDescription]) -> JobDescriptionRef | None:
    published = [jd for jd in written if jd.state is JobDescriptionState.PUBLISHED]
    if not published:
        return None
    newest = max(published, key=lambda jd: (jd.number, jd.id))
    return JobDescriptionRef(id=newest.id, number=newest.number)


def _evaluation(person: Participant, evaluations: Sequence[Evaluation]) -> EvaluationRef | None:
    theirs = [ev for ev in evaluations if ev.subject_id == person.employee_id]
    if not theirs:
        return None
    latest = max(theirs, key=lambda ev: (ev.created_at or _NEVER, ev.id))
    return EvaluationRef(id=latest.id, state=latest.state)


def _concerns(plan: Plan, person: Participant) -> bool:
    if plan.kind is PlanKind.TEAM:
        return person.employee_id in plan.team_member_ids or plan.subject_id == person.employee_id
    return plan.subject_id == person.employee_id


def _goals(
    uow: Repositories, goals: Sequence[Goal], cycle: ReviewCycle, on: dt.date
) -> list[GoalRef]:
    found = []
    for goal in goals:
        if goal.due < cycle.period_start or goal.start > cycle.period_end:
            continue
        then = as_of(goal, on, uow.streams)
        if then is not None:
            found.append(GoalRef(id=goal.id, standing=then.standing(on)))
    return found


class CycleService(AggregateService[ReviewCycle]):
    """Review cycles: plan, start, and advance through the stages to closed."""

    kind = ReviewCycle
    id_argument = "cycle_id"
    editable = _EDITABLE

    def create(
        self,
        *,
        by: Actor,
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

    def edit(
        self, cycle_id: str, *, by: Actor, idempotency_key: str | None = None, **fields: Any
    ) -> ReviewCycle:
        """Change a planned cycle (see :meth:`perfcore.review_cycle.ReviewCycle.edit`).

        Raises:
            ValidationError: a name that is not an editable field, before anything else.
        """
        return self._edit(cycle_id, fields, by=by, idempotency_key=idempotency_key)

    def start(
        self, cycle_id: str, *, by: Actor, reason: str = "", idempotency_key: str | None = None
    ) -> ReviewCycle:
        """Open the job descriptions stage."""
        return self._fire(cycle_id, "start", by=by, reason=reason, idempotency_key=idempotency_key)

    def begin_evaluations(
        self, cycle_id: str, *, by: Actor, reason: str = "", idempotency_key: str | None = None
    ) -> ReviewCycle:
        """Open the evaluations stage, once every participant has a published job description.

        Raises:
            GuardFailed: naming every participant who holds the cycle up, and why.
        """
        return self._advance(cycle_id, "begin_evaluations", by, reason, idempotency_key)

    def begin_planning(
        self, cycle_id: str, *, by: Actor, reason: str = "", idempotency_key: str | None = None
    ) -> ReviewCycle:
        """Open the planning stage, once every participant's evaluation is finished."""
        return self._advance(cycle_id, "begin_planning", by, reason, idempotency_key)

    def begin_attainment(
        self, cycle_id: str, *, by: Actor, reason: str = "", idempotency_key: str | None = None
    ) -> ReviewCycle:
        """Open the attainment stage, once every plan of the cycle is active or later."""
        return self._advance(cycle_id, "begin_attainment", by, reason, idempotency_key)

    def close(
        self, cycle_id: str, *, by: Actor, reason: str = "", idempotency_key: str | None = None
    ) -> ReviewCycle:
        """Close the cycle."""
        return self._fire(cycle_id, "close", by=by, reason=reason, idempotency_key=idempotency_key)

    def add_participant(
        self,
        cycle_id: str,
        *,
        by: Actor,
        participant: Participant,
        reason: str,
        idempotency_key: str | None = None,
    ) -> ReviewCycle:
        """Bring someone into a running cycle, saying why (see
        :meth:`perfcore.review_cycle.ReviewCycle.add_participant`)."""
        return self._fire(
            cycle_id,
            "add_participant",
            by=by,
            participant=participant,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def remove_participant(
        self,
        cycle_id: str,
        *,
        by: Actor,
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
        self, cycle_id: str, *, by: Actor, reason: str = "", idempotency_key: str | None = None
    ) -> ReviewCycle:
        """Move the cycle to its next stage (start, begin the next stage, or close), whichever
        its state calls for, with the status summary from storage where the step needs it.

        Raises:
            TransitionNotAllowed: the cycle is closed.
            GuardFailed: the stage's work is not done (every blocker is named).
        """
        return self._advance(cycle_id, None, by, reason, idempotency_key)

    def status(self, cycle_id: str, *, on: dt.date) -> CycleStatus:
        """The summary of the participants' work as stored, with goal standings on ``on``."""
        check_id("cycle_id", cycle_id)
        check_date("on", on)

        def work(uow: Repositories) -> CycleStatus:
            return cycle_status(uow, uow.cycles.get(cycle_id), on)

        return self._runner.read(work)

    def _advance(
        self,
        cycle_id: str,
        trigger: str | None,
        by: Actor,
        reason: str,
        idempotency_key: str | None,
    ) -> ReviewCycle:
        check_id("cycle_id", cycle_id)

        def work(session: Session) -> ReviewCycle:
            actor = session.actor(by)
            cycle = session.load(ReviewCycle, cycle_id)
            fired = trigger if trigger is not None else NEXT.get(cycle.state, "close")
            options: dict[str, Any] = {"reason": reason}
            if fired in NEEDS_STATUS:
                options["status"] = cycle_status(session.uow, cycle, session.at.date())
            command = getattr(cycle, fired)
            advanced: ReviewCycle = command(
                by=actor, at=session.at, policy=session.policy, **options
            )
            return session.changed(advanced)

        args = {"cycle_id": cycle_id, "by": by, "reason": reason}
        return self._run(trigger or "advance", args, work, idempotency_key)
