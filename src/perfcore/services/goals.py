"""The Goal service: every command of a goal's lifecycle, each in one unit of work.

>>> import datetime as dt
>>> from perfcore import Actor
>>> from perfcore.adapters.memory import MemoryStore
>>> from perfcore.services import Perfcore
>>> pc = Perfcore(MemoryStore())
>>> ana, ben = Actor(id="ana"), Actor(id="ben", roles={"manager"})
>>> goal = pc.goals.create(by=ana, id="g1", owner_id="ana", manager_id="ben",
...     title="Faster replies", metric="median first reply", baseline=8, target=2,
...     direction="decrease", start=dt.date(2026, 1, 5), due=dt.date(2026, 6, 30))
>>> goal = pc.goals.propose("g1", by=ana)
>>> pc.goals.approve("g1", by=ben, idempotency_key="req-1").state
<GoalState.ACTIVE: 'active'>
>>> pc.goals.approve("g1", by=ben, idempotency_key="req-1").version   # the same answer again
3
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from perfcore.actor import Actor
from perfcore.goal import _EDITABLE, Direction, Goal, Horizon
from perfcore.services._commands import GoalCommands

__all__ = ["GoalService"]

Number = Decimal | int | str


class GoalService(GoalCommands):
    """Goals: draft, propose, approve, check in, achieve, miss, cancel."""

    kind = Goal
    id_argument = "goal_id"
    editable = _EDITABLE

    def create(
        self,
        *,
        by: Actor | str,
        owner_id: str,
        manager_id: str,
        baseline: Number,
        target: Number,
        start: dt.date,
        due: dt.date,
        title: str = "",
        description: str = "",
        metric: str = "",
        unit: str = "",
        direction: Direction | str = Direction.INCREASE,
        weight: Number = 1,
        parent_goal_id: str | None = None,
        safety_critical: bool = False,
        horizon: Horizon | str = Horizon.SHORT,
        id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Goal:
        """Draft a goal (see :meth:`perfcore.goal.Goal.create`); ``id`` defaults to a new one."""
        fields = {
            "owner_id": owner_id,
            "manager_id": manager_id,
            "baseline": baseline,
            "target": target,
            "start": start,
            "due": due,
            "title": title,
            "description": description,
            "metric": metric,
            "unit": unit,
            "direction": direction,
            "weight": weight,
            "parent_goal_id": parent_goal_id,
        }
        # Only when given, so that a request sent before these fields existed keeps its
        # idempotency fingerprint.
        if safety_critical is not False:
            fields["safety_critical"] = safety_critical
        if horizon != Horizon.SHORT:
            fields["horizon"] = horizon
        return self._create(id=id, by=by, fields=fields, idempotency_key=idempotency_key)
