"""The Plan service: drafting, approval, acknowledgement, reviews, and attainment.

Attaining a plan reads its goals from storage in the same unit of work and passes their states
to the plan, so that a plan is attained only while every one of its goals is achieved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from perfcore._validate import check_id, check_sequence, check_set
from perfcore.actor import Actor
from perfcore.goal import Goal, GoalState
from perfcore.plan import _EDITABLE, Approver, Objective, Plan, PlanKind, Support
from perfcore.services._commands import PlanCommands
from perfcore.services._runner import Session

__all__ = ["PlanService"]


class PlanService(PlanCommands):
    """Plans: draft, submit, approve, acknowledge, review, attain, close, cancel."""

    kind = Plan
    id_argument = "plan_id"
    editable = _EDITABLE

    def create(
        self,
        *,
        by: Actor | str,
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
        id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Plan:
        """Draft a plan (see :meth:`perfcore.plan.Plan.create`)."""
        fields = {
            "kind": kind,
            "subject_id": subject_id,
            "author_id": author_id,
            "start": start,
            "end": end,
            "team_member_ids": check_set("team_member_ids", team_member_ids),
            "approver": approver,
            "objectives": check_sequence("objectives", objectives),
            "support": check_sequence("support", support),
            "review_schedule": review_schedule,
            "cycle_id": cycle_id,
        }
        if target_role_id is not None:  # only when given: older requests keep their fingerprint
            fields["target_role_id"] = target_role_id
        return self._create(id=id, by=by, fields=fields, idempotency_key=idempotency_key)

    def submit(self, plan_id: str, *, by: Actor | str, idempotency_key: str | None = None) -> Plan:
        """Put the draft to its approver, checking that each objective's goal is a stored goal
        of the plan's subject (for a team plan, of a team member).

        Raises:
            GuardFailed: the plan is incomplete, or an objective names a goal that is not
                stored or is someone else's.
        """
        check_id("plan_id", plan_id)

        def work(session: Session) -> Plan:
            actor = session.actor(by)
            plan = session.load_for(actor, Plan, plan_id)
            submitted = plan.submit(
                by=actor, at=session.at, goal_owners=_owners(session, plan), policy=session.policy
            )
            return session.changed(submitted)

        return self._run("submit", {"plan_id": plan_id, "by": by}, work, idempotency_key)

    def attain(self, plan_id: str, *, by: Actor | str, idempotency_key: str | None = None) -> Plan:
        """Record that the plan was attained, checking its goals' stored states; its author and
        approver are notified.

        Raises:
            GuardFailed: a goal is not achieved, or is not stored.
        """
        check_id("plan_id", plan_id)

        def work(session: Session) -> Plan:
            actor = session.actor(by)
            plan = session.load_for(actor, Plan, plan_id)
            states: dict[str, GoalState] = {}
            for goal_id in plan.goal_ids:
                goal = session.find(Goal, goal_id)
                if goal is not None:
                    states[goal_id] = goal.state
            attained = plan.attain(
                by=actor,
                at=session.at,
                goal_states=states,
                goal_owners=_owners(session, plan),
                policy=session.policy,
            )
            return session.changed(attained)

        return self._run("attain", {"plan_id": plan_id, "by": by}, work, idempotency_key)


def _owners(session: Session, plan: Plan) -> dict[str, str | None]:
    """The owner of each objective's goal as stored (``None``: not stored), read in the
    command's unit of work, so that the commit fails if one changes meanwhile."""
    owners: dict[str, str | None] = {}
    for goal_id in plan.goal_ids:
        goal = session.find(Goal, goal_id)
        owners[goal_id] = None if goal is None else goal.owner_id
    return owners
