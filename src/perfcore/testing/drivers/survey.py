"""The Survey driver: mia manages ana, bo and cy, whom her survey asks; hana is HR."""

from __future__ import annotations

import datetime as dt

from perfcore.actor import Actor, Role
from perfcore.survey import BALLOT_BOX, Ballot, Question, Reply, Survey
from perfcore.testing.drivers import EPOCH, Driver

__all__ = ["SurveyDriver"]

MANAGER = Actor(id="mia", roles={Role.EMPLOYEE, Role.MANAGER})
HR = Actor(id="hana", roles={Role.HR})
ASKED = ("ana", "bo", "cy")
QUESTIONS = (
    Question(key="clear", text="My goals are clear"),
    Question(key="help", text="What would help?", kind="text", required=False),
)
OPENS = EPOCH.date()
CLOSES = OPENS + dt.timedelta(days=14)


def replies(score: int = 4) -> list[Reply]:
    """An answer: ``score`` on the scale, and a few words."""
    return [Reply(question="clear", score=score), Reply(question="help", text="fewer meetings")]


class SurveyDriver(Driver[Survey]):
    """Drives a survey of mia's three reports, under the default threshold of three."""

    kind = Survey

    def create(self, id: str = "x-1") -> Survey:
        return Survey.create(
            id=id,
            by=MANAGER,
            at=EPOCH,
            title="How is the team doing?",
            manager_id=MANAGER.id,
            questions=QUESTIONS,
            opens_on=OPENS,
            closes_on=CLOSES,
        )

    def fire(self, obj: Survey, trigger: str, dest: str | None = None) -> Survey:
        at = EPOCH + dt.timedelta(days=1)
        if trigger == "edit":
            return obj.edit(by=MANAGER, at=at, title="How is the team doing, this spring?")
        if trigger == "open":
            return obj.open(by=MANAGER, at=at, population=ASKED, department="Support", threshold=3)
        if trigger == "respond":
            # Everyone has answered: the first answers again, and is refused.
            person = next((p for p in ASKED if not obj.took_part(p)), ASKED[0])
            return obj.respond(by=Actor(id=person), at=at, replies=replies())
        if trigger == "release_answers":
            if self.allows(obj, trigger):
                for person in ASKED:
                    if not obj.took_part(person):
                        obj = obj.respond(by=Actor(id=person), at=at, replies=replies())
            batch = [Ballot(replies=tuple(replies(score))) for score in (3, 4, 5)]
            return obj.release_answers(by=Actor(id=BALLOT_BOX), at=at, ballots=batch)
        if trigger == "close":
            return obj.close(by=MANAGER, at=at)
        if trigger == "release":
            return obj.release(by=MANAGER, at=at)
        raise ValueError(f"Survey has no trigger {trigger!r}")
