"""The Goal driver: ana owns the goal, ben manages her, hana is HR."""

from __future__ import annotations

import datetime as dt

from perfcore.actor import Actor, Role
from perfcore.goal import Goal
from perfcore.testing.drivers import EPOCH, Driver

__all__ = ["GoalDriver"]

OWNER = Actor(id="ana", roles={Role.EMPLOYEE})
MANAGER = Actor(id="ben", roles={Role.EMPLOYEE, Role.MANAGER})
HR = Actor(id="hana", roles={Role.HR})
START = EPOCH.date()
DUE = START + dt.timedelta(days=180)


class GoalDriver(Driver[Goal]):
    """Drives a goal from 0 to 10 resolved tickets a week, due in 180 days."""

    kind = Goal

    def create(self, id: str = "x-1") -> Goal:
        return Goal.create(
            id=id,
            by=OWNER,
            at=EPOCH,
            owner_id=OWNER.id,
            manager_id=MANAGER.id,
            title="Resolve more tickets",
            metric="tickets resolved a week",
            unit="tickets",
            baseline=0,
            target=10,
            start=START,
            due=DUE,
        )

    def fire(self, obj: Goal, trigger: str, dest: str | None = None) -> Goal:
        at = EPOCH + dt.timedelta(days=1)
        if trigger == "edit":
            return obj.edit(by=OWNER, at=at, description="Counted from the ticket system")
        if trigger == "propose":
            return obj.propose(by=OWNER, at=at)
        if trigger == "request_changes":
            return obj.request_changes(by=MANAGER, at=at, reason="make the target weekly")
        if trigger == "approve":
            return obj.approve(by=MANAGER, at=at)
        if trigger == "check_in":
            return obj.check_in(by=OWNER, at=at, on=at.date(), value=4)
        if trigger == "achieve":
            if self.allows(obj, trigger):
                obj = obj.check_in(by=OWNER, at=at, on=at.date(), value=10)
            return obj.achieve(by=MANAGER, at=at)
        if trigger == "miss":
            late = dt.datetime.combine(DUE, dt.time(17), tzinfo=dt.UTC)
            return obj.miss(by=MANAGER, at=late)
        if trigger == "cancel":
            return obj.cancel(by=MANAGER, at=at, reason="the team was reorganised")
        if trigger == "reassign":
            to = "ben" if obj.manager_id == "mia" else "mia"
            return obj.reassign(by=HR, at=at, manager_id=to, reason="ana moved to mia's team")
        raise ValueError(f"Goal has no trigger {trigger!r}")
