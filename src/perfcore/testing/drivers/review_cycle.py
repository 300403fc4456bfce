"""The ReviewCycle driver: hana (HR) runs a cycle for ana, ben (her manager) and cy (ben's report).

:data:`READY` is a status summary in which everyone has done everything, so it satisfies the
guard of every advance; the driver passes it to each one. :func:`ready_status` makes one like it
for any participants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from perfcore.actor import Actor, Role
from perfcore.cycle_status import (
    CycleStatus,
    EvaluationRef,
    GoalRef,
    JobDescriptionRef,
    Participant,
    ParticipantStatus,
    PlanRef,
)
from perfcore.goal import Standing
from perfcore.review_cycle import ReviewCycle
from perfcore.testing.drivers import EPOCH, Driver

__all__ = ["ReviewCycleDriver"]

HR = Actor(id="hana", roles={Role.HR})
PARTICIPANTS = (
    Participant(employee_id="ana", manager_id="ben"),
    Participant(employee_id="ben", manager_id=None),
    Participant(employee_id="cy", manager_id="ben"),
)
START = dt.date(EPOCH.year, 1, 1)
END = dt.date(EPOCH.year, 12, 31)

#: Every participant has a published job description, a finished evaluation, plans under way
#: (or none) and goals with a standing: every guard of the cycle holds.
READY = CycleStatus(
    participants=[
        ParticipantStatus(
            employee_id="ana",
            job_description=JobDescriptionRef(id="jd-ana", number=1),
            evaluation=EvaluationRef(id="ev-ana", state="acknowledged"),
            plans=[PlanRef(id="pl-ana", state="active")],
            goals=[GoalRef(id="g-ana", standing=Standing.ON_TRACK)],
        ),
        ParticipantStatus(
            employee_id="ben",
            job_description=JobDescriptionRef(id="jd-ben", number=3),
            evaluation=EvaluationRef(id="ev-ben", state="finalized"),
        ),
        ParticipantStatus(
            employee_id="cy",
            job_description=JobDescriptionRef(id="jd-cy", number=1),
            evaluation=EvaluationRef(id="ev-cy", state="disputed"),
            plans=[PlanRef(id="pl-cy", state="in_review"), PlanRef(id="pl-cy2", state="cancelled")],
            goals=[GoalRef(id="g-cy", standing=Standing.BEHIND)],
        ),
    ]
)


def ready_status(employee_ids: Iterable[str]) -> CycleStatus:
    """A summary in which each of ``employee_ids`` has a published job description, an
    acknowledged evaluation, an active plan and a goal on track."""
    return CycleStatus(
        participants=[
            ParticipantStatus(
                employee_id=employee,
                job_description=JobDescriptionRef(id=f"jd-{employee}", number=1),
                evaluation=EvaluationRef(id=f"ev-{employee}", state="acknowledged"),
                plans=[PlanRef(id=f"pl-{employee}", state="active")],
                goals=[GoalRef(id=f"g-{employee}", standing=Standing.ON_TRACK)],
            )
            for employee in employee_ids
        ]
    )


class ReviewCycleDriver(Driver[ReviewCycle]):
    """Drives the 2026 cycle, yearly on 1 January, with :data:`READY` (or, once participants
    change, :func:`ready_status` of them) as every advance's summary."""

    kind = ReviewCycle

    def create(self, id: str = "x-1") -> ReviewCycle:
        return ReviewCycle.create(
            id=id,
            by=HR,
            at=EPOCH,
            name=f"{EPOCH.year} reviews",
            participants=PARTICIPANTS,
            period_start=START,
            period_end=END,
            schedule="FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1",
        )

    def fire(self, obj: ReviewCycle, trigger: str, dest: str | None = None) -> ReviewCycle:
        at = EPOCH + dt.timedelta(days=1)
        if trigger == "edit":
            return obj.edit(by=HR, at=at, name=f"{EPOCH.year} annual reviews")
        if trigger == "start":
            return obj.start(by=HR, at=at)
        ready = READY if obj.participants == PARTICIPANTS else ready_status(obj.employee_ids)
        if trigger == "begin_evaluations":
            return obj.begin_evaluations(by=HR, at=at, status=ready)
        if trigger == "begin_planning":
            return obj.begin_planning(by=HR, at=at, status=ready)
        if trigger == "begin_attainment":
            return obj.begin_attainment(by=HR, at=at, status=ready)
        if trigger == "add_participant":
            joiner = Participant(employee_id=f"joiner-{obj.version}", manager_id="ben")
            return obj.add_participant(by=HR, at=at, participant=joiner, reason="a new hire")
        if trigger == "remove_participant":
            if self.allows(obj, trigger) and len(obj.participants) < 2:
                obj = self.fire(obj, "add_participant")
            leaver = obj.employee_ids[-1] if obj.employee_ids else "nobody"
            return obj.remove_participant(by=HR, at=at, employee_id=leaver, reason="left")
        if trigger == "schedule_evaluations":
            return obj.schedule_evaluations(by=HR, at=at, reason="the period has ended")
        if trigger == "close":
            return obj.close(by=HR, at=at)
        raise ValueError(f"ReviewCycle has no trigger {trigger!r}")
