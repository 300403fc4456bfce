"""The Plan driver: ben (a manager) writes ana's development plan, cleo approves it, hana is HR."""

from __future__ import annotations

import datetime as dt

from perfcore.actor import Actor, Role
from perfcore.plan import Approver, Objective, Plan, Support
from perfcore.testing.drivers import EPOCH, Driver

__all__ = ["PlanDriver"]

AUTHOR = Actor(id="ben", roles={Role.EMPLOYEE, Role.MANAGER})
SUBJECT = Actor(id="ana", roles={Role.EMPLOYEE})
APPROVER = Actor(id="cleo", roles={Role.EMPLOYEE, Role.APPROVER}, department="people")
HR = Actor(id="hana", roles={Role.HR})
START = EPOCH.date()
END = START + dt.timedelta(days=180)
SCHEDULE = "FREQ=WEEKLY;INTERVAL=4"


def _at(obj: Plan, wanted: dt.datetime) -> dt.datetime:
    """``wanted``, or just after the plan's last event if that is later: time only moves on."""
    last = obj.history[-1].at if obj.history else wanted
    return max(wanted, last + dt.timedelta(minutes=1))


def _on(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


class PlanDriver(Driver[Plan]):
    """Drives a 180-day development plan for ana with one goal, reviewed every 4 weeks."""

    kind = Plan

    def create(self, id: str = "x-1") -> Plan:
        return Plan.create(
            id=id,
            by=AUTHOR,
            at=EPOCH,
            kind="development",
            subject_id=SUBJECT.id,
            author_id=AUTHOR.id,
            approver=Approver.person(APPROVER.id),
            objectives=[Objective(goal_id="g-1", success="runs the weekly release on her own")],
            support=[Support(kind="mentoring", description="an hour a week with a senior")],
            review_schedule=SCHEDULE,
            start=START,
            end=END,
        )

    def fire(self, obj: Plan, trigger: str, dest: str | None = None) -> Plan:
        at = _at(obj, EPOCH + dt.timedelta(days=1))
        if trigger == "edit":
            extra = Support(kind="training", description="the release engineering course")
            return obj.edit(by=AUTHOR, at=at, support=(*obj.support, extra))
        if trigger == "submit":
            return obj.submit(by=AUTHOR, at=at)
        if trigger == "request_changes":
            return obj.request_changes(by=APPROVER, at=at, reason="say what success looks like")
        if trigger == "approve":
            return obj.approve(by=APPROVER, at=at)
        if trigger == "acknowledge":
            return obj.acknowledge(by=SUBJECT, at=at)
        if trigger == "start_review":
            due = obj.review_due
            if due is not None:
                at = _at(obj, _on(due, 10))
            return obj.start_review(by=AUTHOR, at=at)
        if trigger == "conclude_review":
            return obj.conclude_review(by=AUTHOR, at=at, notes="on track; keep the mentoring")
        if trigger == "revise":
            return obj.revise(by=AUTHOR, at=at, reason="add a goal for code reviews")
        if trigger == "attain":
            states = dict.fromkeys(obj.goal_ids, "achieved")
            return obj.attain(by=AUTHOR, at=at, goal_states=states)
        if trigger == "close":
            return obj.close(by=AUTHOR, at=_at(obj, _on(obj.end, 17)), reason="the plan ended")
        if trigger == "cancel":
            return obj.cancel(by=AUTHOR, at=at, reason="ana moved to another team")
        if trigger == "reassign":
            to = "ben" if obj.author_id == "mia" else "mia"
            return obj.reassign(by=HR, at=at, author_id=to, reason="ana moved to mia's team")
        raise ValueError(f"Plan has no trigger {trigger!r}")
