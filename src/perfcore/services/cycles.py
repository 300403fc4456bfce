"""The ReviewCycle service: each advance reads the participants' work from storage.

A cycle holds no other objects; to advance it, the service builds a
:class:`~perfcore.cycle_status.CycleStatus` in the same unit of work, from what is stored:

- **job description**: the newest published number of the descriptions written for the
  participant (read from the published descriptions' stream heads); a role description names no
  employee, so it does not count;
- **evaluation**: the participant's evaluation in this cycle (the cycle's evaluations' heads; the
  latest created if there are several);
- **plans**: the cycle's plans whose subject is the participant, or that name them as a team
  member;
- **goals**: the participant's goals whose span (start to due) overlaps the cycle's period, with
  their standing on the day, as the records stood then.

Every part is a fixed number of indexed queries, whatever the number of participants (see
:func:`cycle_status`), and an advance builds only the part its guard reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

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
from perfcore.errors import NotFound
from perfcore.evaluation import Evaluation
from perfcore.goal import Goal, GoalState
from perfcore.job_description import JobDescriptionState
from perfcore.plan import Plan, PlanKind
from perfcore.policy import Policy
from perfcore.ports import StreamHead
from perfcore.repositories import Repositories
from perfcore.review_cycle import _EDITABLE, ReviewCycle, ReviewCycleState
from perfcore.services._as_of import as_of
from perfcore.services._base import AggregateService
from perfcore.services._runner import Session

__all__ = ["PARTS", "CycleService", "cycle_status"]

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
    return cycle


def cycle_status(
    uow: Repositories, cycle: ReviewCycle, on: dt.date, parts: frozenset[str] = PARTS
) -> CycleStatus:
    """The summary of the participants' work, read from ``uow``, with goal standings on ``on``.

    Built from a fixed number of set-based queries whatever the number of participants: the
    published job descriptions and the cycle's evaluations are read from their stream heads
    (no object is decoded, but for a participant with several evaluations in the cycle); the
    cycle's plans and the participants' goals are loaded from the heads one query found.
    ``parts`` limits the summary to what a guard reads (see :data:`PARTS`).
    """
    people = cycle.employee_ids
    wanted = frozenset(people)
    published = _job_descriptions(uow, wanted) if "job_descriptions" in parts else {}
    evaluations = _evaluations(uow, cycle, wanted) if "evaluations" in parts else {}
    plans = _plans(uow, cycle, wanted) if "plans" in parts else {}
    goals = _goals(uow, cycle, wanted, on) if "goals" in parts else {}
    return CycleStatus(
        participants=[
            ParticipantStatus(
                employee_id=person,
                job_description=published.get(person),
                evaluation=evaluations.get(person),
                plans=plans.get(person, ()),
                goals=goals.get(person, ()),
            )
            for person in people
        ]
    )


def _job_descriptions(uow: Repositories, people: frozenset[str]) -> dict[str, JobDescriptionRef]:
    """The newest published number written for each participant, from the heads alone."""
    newest: dict[str, tuple[int, str]] = {}
    for head in uow.events.find("JobDescription", "state", JobDescriptionState.PUBLISHED.value):
        employee, number = head.columns.get("employee"), head.columns.get("number")
        if not isinstance(employee, str) or employee not in people or not isinstance(number, int):
            continue  # a role description names no employee: it does not count
        known = newest.get(employee)
        if known is None or (number, head.id) > known:
            newest[employee] = (number, head.id)
    return {
        employee: JobDescriptionRef(id=id, number=number)
        for employee, (number, id) in newest.items()
    }


def _evaluations(
    uow: Repositories, cycle: ReviewCycle, people: frozenset[str]
) -> dict[str, EvaluationRef]:
    """Each participant's evaluation in the cycle (the latest created if there are several)."""
    theirs: dict[str, list[StreamHead]] = {}
    for head in uow.events.find("Evaluation", "cycle", cycle.id):
        subject = head.columns.get("subject")
        if isinstance(subject, str) and subject in people:
            theirs.setdefault(subject, []).append(head)
    found: dict[str, EvaluationRef] = {}
    for subject, heads in theirs.items():
        if len(heads) == 1:
            found[subject] = EvaluationRef(id=heads[0].id, state=heads[0].state)
            continue
        loaded = [cast(Evaluation, uow.streams.load_head(head)) for head in heads]
        latest = max(loaded, key=lambda ev: (ev.created_at or _NEVER, ev.id))
        found[subject] = EvaluationRef(id=latest.id, state=latest.state)
    return found


def _plans(
    uow: Repositories, cycle: ReviewCycle, people: frozenset[str]
) -> dict[str, list[PlanRef]]:
    """The cycle's plans under each participant they concern (a team plan under each member)."""
    found: dict[str, list[PlanRef]] = {}
    for head in uow.events.find("Plan", "cycle", cycle.id):
        plan = cast(Plan, uow.streams.load_head(head))
        concerned = {plan.subject_id}
        if plan.kind is PlanKind.TEAM:
            concerned.update(plan.team_member_ids)
        ref = PlanRef(id=plan.id, state=plan.state)
        for person in concerned & people:
            found.setdefault(person, []).append(ref)
    return found


def _goal_heads(uow: Repositories, people: frozenset[str]) -> list[StreamHead]:
    if len(people) <= _FEW:
        return [
            head for person in sorted(people) for head in uow.events.find("Goal", "owner", person)
        ]
    return [
        head
        for state in _GOAL_STATES
        for head in uow.events.find("Goal", "state", state)
        if head.columns.get("owner") in people
    ]


def _goals(
    uow: Repositories, cycle: ReviewCycle, people: frozenset[str], on: dt.date
) -> dict[str, list[GoalRef]]:
    """The participants' goals whose span overlaps the cycle's period, standing on ``on``, in
    id order."""
    found: dict[str, list[GoalRef]] = {}
    for head in sorted(_goal_heads(uow, people), key=lambda head: head.id):
        goal = cast(Goal, uow.streams.load_head(head))
        if goal.due < cycle.period_start or goal.start > cycle.period_end:
            continue
        then = as_of(goal, on, uow.streams)
        if then is not None:
            found.setdefault(goal.owner_id, []).append(
                GoalRef(id=goal.id, standing=then.standing(on))
            )
    return found


class CycleService(AggregateService[ReviewCycle, ReviewCycle]):
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
            return cycle_status(uow, readable_cycle(uow, self._runner.policy, reader, cycle_id), on)

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
            cycle = session.load_for(actor, ReviewCycle, cycle_id)
            fired = trigger if trigger is not None else NEXT.get(cycle.state, "close")
            options: dict[str, Any] = {"reason": reason}
            if fired in NEEDS_STATUS:
                # Only the part of the summary the stage's guard reads.
                needs = _NEEDS[fired]
                options["status"] = cycle_status(session.uow, cycle, session.at.date(), needs)
            command = getattr(cycle, fired)
            advanced: ReviewCycle = command(
                by=actor, at=session.at, policy=session.policy, **options
            )
            return session.changed(advanced)

        args = {"cycle_id": cycle_id, "by": by, "reason": reason}
        return self._run(trigger or "advance", args, work, idempotency_key)
