"""Reassignment: when someone changes manager, their open work follows them.

The move is a directory change (the person's placement under the new manager from a day on),
then one command, :meth:`Reassignments.reassign` (``pc.reassign(person_id, on=..., by=...,
reason=...)``): the old manager is whoever the directory had the day before ``on``, the new one
whoever it has on ``on`` (never the caller's word), and in one unit of work

- each open goal of theirs (draft, proposed, active) that the old manager holds gets the new
  one as ``manager_id``;
- each open individual plan for them (draft to in review) that the old manager wrote gets the
  new one as ``author_id``;
- each of their evaluations not yet reviewed by the old manager (scheduled, self review,
  manager review) gets the new one as ``evaluator_id``;

each by its type's ``reassign`` command (HR, never the person concerned; the new person must be
the manager in the directory that day: see :mod:`perfcore.reassignment`), with the reason in its
history. What the old manager had finished stays theirs: an approved goal's check-ins, a manager
review submitted, a plan attained. Work the caller may not read is left as it is and not told of.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import attrs

from perfcore._aggregate import Aggregate, check_reason
from perfcore._validate import check_date, check_id
from perfcore.actor import Actor
from perfcore.errors import ValidationError
from perfcore.evaluation import Evaluation, EvaluationState
from perfcore.goal import Goal, GoalState
from perfcore.lifecycle import lifecycle_of
from perfcore.plan import Plan, PlanKind, PlanState
from perfcore.services._runner import Runner, Session

__all__ = ["Reassignment", "Reassignments"]

_OPEN_GOALS = frozenset({GoalState.DRAFT, GoalState.PROPOSED, GoalState.ACTIVE})
_OPEN_PLANS = frozenset(
    {
        PlanState.DRAFT,
        PlanState.SUBMITTED,
        PlanState.APPROVED,
        PlanState.ACTIVE,
        PlanState.IN_REVIEW,
    }
)
_UNREVIEWED = frozenset(
    {EvaluationState.SCHEDULED, EvaluationState.SELF_REVIEW, EvaluationState.MANAGER_REVIEW}
)


@attrs.frozen(kw_only=True)
class Reassignment:
    """What one reassignment moved.

    Attributes:
        person_id: who changed manager.
        on: the day the move took effect in the directory.
        from_manager: their manager the day before.
        to_manager: their manager from ``on``.
        moved: each object moved, as ``(type, id)``, goals first, then plans, then evaluations.
    """

    person_id: str
    on: dt.date
    from_manager: str | None
    to_manager: str
    moved: tuple[tuple[str, str], ...] = ()


class Reassignments:
    """``pc.reassign``: a person's open work follows them to their new manager."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    def reassign(
        self,
        person_id: str,
        *,
        on: dt.date,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> Reassignment:
        """Move ``person_id``'s open goals, plans and evaluations from the manager the
        directory had the day before ``on`` to the one it has on ``on``, each with ``reason``.

        Raises:
            ValidationError: no directory; a blank reason; ``on`` after today; the directory
                shows no change of manager for them on ``on``.
            PermissionDenied: ``by`` may not reassign (HR, never the person concerned).
            GuardFailed: an object cannot follow (the new manager was asked for feedback on the
                evaluation, or approves the plan): nothing is moved.
        """
        check_id("person_id", person_id)
        day = check_date("on", on)
        check_reason(reason, required=True)
        directory = self._runner.directory
        if directory is None:
            raise ValidationError(
                "directory",
                "a reassignment reads the move from the directory: Perfcore(store, directory=...)",
            )
        found: list[Reassignment] = []

        def work(session: Session) -> Any:
            found.clear()  # a retried attempt starts again
            actor = session.actor(by)
            if day > session.at.date():
                raise ValidationError(
                    "on", f"{day} has not come: reassign on or after the day the move holds"
                )
            now = directory.person(person_id, day)
            before = directory.person(person_id, day - dt.timedelta(days=1))
            old = None if before is None else before.manager_id
            new = None if now is None else now.manager_id
            if new is None or new == old:
                raise ValidationError(
                    "on",
                    f"the directory shows no new manager for {person_id} on {day}"
                    f" ({old} the day before, {new} that day)",
                )
            moved: list[tuple[str, str]] = []
            for obj in _following(session, actor, person_id, old):
                session.changed(_reassigned(obj, session, actor, new, reason))
                moved.append((lifecycle_of(type(obj)).name, obj.id))
            found.append(
                Reassignment(
                    person_id=person_id,
                    on=day,
                    from_manager=old,
                    to_manager=new,
                    moved=tuple(moved),
                )
            )
            return None

        args = {"person_id": person_id, "on": day, "by": by, "reason": reason}
        self._runner.run("reassign", args, work, idempotency_key)
        return found[0]


def _reassigned(obj: Aggregate, session: Session, actor: Actor, new: str, reason: str) -> Aggregate:
    """``obj``'s own ``reassign``, naming ``new`` on its manager's side."""
    common: dict[str, Any] = {"by": actor, "at": session.at, "reason": reason}
    if isinstance(obj, Goal):
        return obj.reassign(manager_id=new, policy=session.policy, **common)
    if isinstance(obj, Plan):
        return obj.reassign(author_id=new, policy=session.policy, **common)
    return cast(Evaluation, obj).reassign(evaluator_id=new, policy=session.policy, **common)


def _following(session: Session, actor: Actor, person_id: str, old: str | None) -> list[Aggregate]:
    """The person's open work the old manager holds, that ``actor`` may read."""
    events, policy = session.uow.events, session.policy
    found: list[Aggregate] = []
    for head in events.find("Goal", "owner", person_id):
        goal = session.load(Goal, head.id)
        if goal.state in _OPEN_GOALS and goal.manager_id == old:
            found.append(goal)
    for head in events.find("Plan", "subject", person_id):
        plan = session.load(Plan, head.id)
        if plan.kind is not PlanKind.TEAM and plan.state in _OPEN_PLANS and plan.author_id == old:
            found.append(plan)
    for head in events.find("Evaluation", "subject", person_id):
        evaluation = session.load(Evaluation, head.id)
        if evaluation.state in _UNREVIEWED and evaluation.evaluator_id == old:
            found.append(evaluation)
    return [
        obj for obj in found if policy.may_read(actor, lifecycle_of(type(obj)).name, cast(Any, obj))
    ]
