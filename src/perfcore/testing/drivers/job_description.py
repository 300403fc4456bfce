"""The JobDescription driver: mia (a manager) writes it, hana is HR, ali, bo and cy respond."""

from __future__ import annotations

import datetime as dt

from perfcore.actor import Actor, Role
from perfcore.job_description import Criterion, JobDescription
from perfcore.testing.drivers import EPOCH, Driver

__all__ = ["JobDescriptionDriver"]

AUTHOR = Actor(id="mia", roles={Role.EMPLOYEE, Role.MANAGER})
HR = Actor(id="hana", roles={Role.HR})
AUDIENCE = (Actor(id="ali"), Actor(id="bo"), Actor(id="cy"))
CRITERIA = (
    Criterion(
        name="Reply time",
        measured_by="median hours to first reply, from the ticket system",
        weight=60,
        required_level="under 4 hours",
    ),
    Criterion(
        name="Customer rating",
        measured_by="average post-ticket survey score",
        weight=40,
        required_level=4,
    ),
)


class JobDescriptionDriver(Driver[JobDescription]):
    """Drives a support engineer's role description, endorsed by all three of its audience."""

    kind = JobDescription

    def create(self, id: str = "x-1") -> JobDescription:
        return JobDescription.create(
            id=id,
            by=AUTHOR,
            at=EPOCH,
            title="Support engineer",
            department="Customer support",
            responsibilities=("Answer customer tickets", "Write help-centre articles"),
            criteria=CRITERIA,
            audience={member.id for member in AUDIENCE},
        )

    def fire(self, obj: JobDescription, trigger: str, dest: str | None = None) -> JobDescription:
        at = EPOCH + dt.timedelta(days=1)
        if trigger == "edit":
            return obj.edit(by=AUTHOR, at=at, title="Senior support engineer")
        if trigger == "open_feedback":
            return obj.open_feedback(by=AUTHOR, at=at)
        if trigger == "give_feedback":
            return obj.give_feedback(by=AUDIENCE[0], at=at, supports=True, comment="fair")
        if trigger == "endorse":
            if self.allows(obj, trigger):
                for member in AUDIENCE:
                    obj = obj.give_feedback(by=member, at=at, supports=True)
            return obj.endorse(by=AUTHOR, at=at)
        if trigger == "revise":
            return obj.revise(by=AUTHOR, at=at, reason="add the on-call rota")
        if trigger == "publish":
            return obj.publish(by=HR, at=at)
        if trigger == "supersede":
            return obj.supersede(by=HR, at=at, reason="number 2 of the lineage is published")
        if trigger == "retire":
            return obj.retire(by=HR, at=at, reason="the role is merged into customer success")
        raise ValueError(f"JobDescription has no trigger {trigger!r}")
