"""Authorised reads through the services: every read names its reader and returns what they may
see; a refusal tells an unauthorised person nothing about the object; commands return the acting
person's view; idempotency keys are each person's own."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from perfcore import (
    Actor,
    Evaluation,
    Goal,
    IdempotencyConflict,
    MemoryDirectory,
    NotFound,
    PermissionDenied,
    Policy,
)
from perfcore.adapters.memory import MemoryStore
from perfcore.cycle_status import Participant
from perfcore.evaluation import Rating
from perfcore.job_description import Criterion
from perfcore.rules import anyone
from perfcore.services import Perfcore
from perfcore.services._runner import scoped_key
from perfcore.visibility import ReviewerView, SubjectView

START = dt.date(2026, 1, 5)
AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
MEASURED = {"measured_by": "the quarterly review", "required_level": "3"}
ONE_CRITERION = [Criterion(name="Delivery", weight=100, **MEASURED)]
TWO_CRITERIA = [
    Criterion(name="Delivery", weight=50, **MEASURED),
    Criterion(name="Teamwork", weight=50, **MEASURED),
]


class Clock:
    def __init__(self) -> None:
        self.at = AT

    def now(self) -> dt.datetime:
        return self.at


def organisation() -> MemoryDirectory:
    """Mia heads Support; Ben manages Ana and Cy; Hana is HR; Zoe is in Sales, elsewhere."""
    org = MemoryDirectory()
    day = dt.date(2020, 1, 1)
    org.place("mia", on=day, department="support", roles={"employee", "manager"})
    org.place("ben", on=day, manager_id="mia", department="support", roles={"employee", "manager"})
    for person in ("ana", "cy", "dee", "eli"):
        org.place(person, on=day, manager_id="ben", department="support")
    org.place("hana", on=day, department="people", roles={"employee", "hr"})
    org.place("zoe", on=day, department="sales", roles={"employee", "manager"})
    return org


@pytest.fixture
def pc() -> Perfcore:
    return Perfcore(MemoryStore(), clock=Clock(), directory=organisation())


def a_goal(pc: Perfcore, id: str = "g-1") -> Goal:
    return pc.goals.create(
        by="ana",
        id=id,
        owner_id="ana",
        manager_id="ben",
        title="More articles",
        metric="articles a month",
        baseline=0,
        target=10,
        start=START,
        due=START + dt.timedelta(days=90),
    )


@pytest.mark.parametrize("reader", ["ana", "ben", "mia", "hana"])
def test_the_owner_their_managers_up_the_line_and_hr_read_a_goal(pc: Perfcore, reader: str) -> None:
    created = a_goal(pc)
    assert pc.goals.get("g-1", by=reader) == created
    assert pc.goals.find("g-1", by=reader) == created
    assert [event.trigger for event in pc.history("Goal", "g-1", by=reader)] == ["create"]


@pytest.mark.parametrize("reader", ["cy", "zoe"])
def test_a_colleague_learns_nothing_of_a_goal_not_even_that_it_exists(
    pc: Perfcore, reader: str
) -> None:
    a_goal(pc)
    with pytest.raises(NotFound) as hidden:
        pc.goals.get("g-1", by=reader)
    with pytest.raises(NotFound) as missing:
        pc.goals.get("g-404", by=reader)
    assert str(hidden.value).replace("g-1", "ID") == str(missing.value).replace("g-404", "ID")
    assert pc.goals.find("g-1", by=reader) is None
    with pytest.raises(NotFound):
        pc.history("Goal", "g-1", by=reader)


@pytest.mark.parametrize(
    "command",
    [
        lambda pc: pc.goals.propose("g-1", by="cy"),
        lambda pc: pc.goals.approve("g-1", by="zoe"),  # a state it is not in: still NotFound
        lambda pc: pc.goals.check_in("g-1", by="cy", on=START, value=3),
        lambda pc: pc.goals.edit("g-1", by="cy", title="Mine now"),
    ],
)
def test_a_command_by_someone_who_may_not_read_the_object_is_not_told_its_state(
    pc: Perfcore, command: object
) -> None:
    created = a_goal(pc)
    with pytest.raises(NotFound) as refused:
        command(pc)  # type: ignore[operator]
    assert "draft" not in str(refused.value)
    assert pc.goals.get("g-1", by="hana") == created


def test_a_claimed_role_is_checked_on_a_read(pc: Perfcore) -> None:
    a_goal(pc)
    with pytest.raises(PermissionDenied):
        pc.goals.get("g-1", by=Actor(id="cy", roles={"hr"}))


def test_queries_answer_with_what_the_reader_may_read(pc: Perfcore) -> None:
    a_goal(pc, "g-ana")
    assert [s.goal.id for s in pc.queries.team_goals("ben", by="hana", on=START)] == ["g-ana"]
    assert [s.goal.id for s in pc.queries.team_goals("ben", by="mia", on=START)] == ["g-ana"]
    assert pc.queries.team_goals("ben", by="cy", on=START) == []
    assert pc.queries.team_goals("ben", by="zoe", on=START) == []


def drafted_description(
    pc: Perfcore, id: str = "jd-1", title: str = "Support engineer", criteria: Any = TWO_CRITERIA
) -> None:
    pc.job_descriptions.create(
        by="ben",
        id=id,
        title=title,
        department="support",
        author_id="ben",
        responsibilities=["Answer tickets"],
        criteria=criteria,
        audience={"ana", "cy", "dee", "eli"},
    )


def published_description(pc: Perfcore, id: str = "jd-1", **draft: Any) -> str:
    drafted_description(pc, id, **draft)
    pc.job_descriptions.open_feedback(id, by="ben")
    for person in ("ana", "cy", "dee"):
        pc.job_descriptions.give_feedback(id, by=person, supports=True)
    pc.job_descriptions.endorse(id, by="ben")
    pc.job_descriptions.publish(id, by="ben")
    return id


def test_a_published_description_is_anyones_a_draft_its_audiences(pc: Perfcore) -> None:
    drafted_description(pc, criteria=ONE_CRITERION)
    assert pc.job_descriptions.find("jd-1", by="ana") is not None
    assert pc.job_descriptions.find("jd-1", by="zoe") is None
    published_description(pc, "jd-2", title="Support lead", criteria=ONE_CRITERION)
    assert pc.job_descriptions.get("jd-2", by="zoe").state == "published"


def an_evaluation_in_feedback(pc: Perfcore) -> None:
    published_description(pc)
    pc.evaluations.create(
        by="ben",
        id="ev-1",
        subject_id="ana",
        evaluator_id="ben",
        job_description_id="jd-1",
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2025, 12, 31),
    )
    pc.evaluations.open("ev-1", by="ben")


def test_each_reader_gets_their_own_view_of_an_evaluation(pc: Perfcore) -> None:
    an_evaluation_in_feedback(pc)
    self_review = pc.evaluations.submit_self_review(
        "ev-1",
        by="ana",
        ratings=[
            Rating(criterion="Delivery", score=4, evidence="shipped it"),
            Rating(criterion="Teamwork", score=4, evidence="helped"),
        ],
    )
    assert isinstance(self_review, SubjectView)  # a command answers with its actor's view
    pc.evaluations.request_feedback("ev-1", by="ben", reviewer_id="cy", relationship="peer")
    given = pc.evaluations.give_feedback(
        "ev-1", by="cy", scores={"Delivery": 2, "Teamwork": 5}, comment="slow at times"
    )
    assert isinstance(given, ReviewerView)
    assert given.response is not None
    assert given.response.scores == {"Delivery": Decimal(2), "Teamwork": Decimal(5)}

    subject = pc.evaluations.get("ev-1", by="ana")
    assert isinstance(subject, SubjectView)
    assert subject.feedback is None
    assert "'cy'" not in repr(subject)
    assert isinstance(pc.evaluations.get("ev-1", by="cy"), ReviewerView)
    assert isinstance(pc.evaluations.get("ev-1", by="ben"), Evaluation)
    assert isinstance(pc.evaluations.get("ev-1", by="hana"), Evaluation)
    assert pc.evaluations.find("ev-1", by="dee") is None  # not asked
    assert pc.evaluations.find("ev-1", by="mia") is None


def test_only_the_evaluator_and_hr_read_an_evaluations_history(pc: Perfcore) -> None:
    an_evaluation_in_feedback(pc)
    assert pc.history("Evaluation", "ev-1", by="ben")
    assert pc.history("Evaluation", "ev-1", by="hana")
    with pytest.raises(PermissionDenied):
        pc.history("Evaluation", "ev-1", by="ana")  # the subject: reviewers are named there
    with pytest.raises(NotFound):
        pc.history("Evaluation", "ev-1", by="zoe")


def test_the_read_rules_are_the_policys_and_replaceable() -> None:
    open_goals = Policy().with_rules({("Goal", "read"): anyone})
    pc = Perfcore(MemoryStore(), clock=Clock(), directory=organisation(), policy=open_goals)
    a_goal(pc)
    assert pc.goals.get("g-1", by="zoe").owner_id == "ana"
    assert ("Goal", "read") in Policy().table()
    assert Policy().rule_for("Evaluation", "history") is not None


def test_an_idempotency_key_is_the_acting_persons_own(pc: Perfcore) -> None:
    a_goal(pc, "g-ana")
    pc.goals.create(
        by="cy",
        id="g-cy",
        owner_id="cy",
        manager_id="ben",
        title="Faster replies",
        metric="hours",
        baseline=8,
        target=2,
        direction="decrease",
        start=START,
        due=START + dt.timedelta(days=90),
    )
    # Ana and Cy both send "req-1": two requests, each answered for itself.
    first = pc.goals.propose("g-ana", by="ana", idempotency_key="req-1")
    second = pc.goals.propose("g-cy", by="cy", idempotency_key="req-1")
    assert (first.id, second.id) == ("g-ana", "g-cy")
    with pc.store.unit_of_work() as uow:
        assert uow.idempotency.get(scoped_key("ana", "req-1")).aggregate_id == "g-ana"
        assert uow.idempotency.get(scoped_key("cy", "req-1")).aggregate_id == "g-cy"
        assert uow.idempotency.get("req-1") is None
    # Ana again: her first answer; a different command under her key is a conflict that names
    # only her own object.
    assert pc.goals.propose("g-ana", by="ana", idempotency_key="req-1") == first
    with pytest.raises(IdempotencyConflict) as conflict:
        pc.goals.check_in("g-ana", by="ana", on=START, value=1, idempotency_key="req-1")
    assert conflict.value.key == "req-1"
    assert "g-cy" not in str(conflict.value)


def test_a_cycles_summary_tells_each_reader_of_their_own_people(pc: Perfcore) -> None:
    people = ("ana", "cy", "ben", "zoe")
    pc.cycles.create(
        by="hana",
        id="c-1",
        name="2026 reviews",
        participants=[Participant(employee_id=person) for person in people],
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31),
    )

    def seen(reader: str) -> set[str]:
        status = pc.cycles.status("c-1", by=reader, on=START)
        report = pc.queries.cycle_progress("c-1", by=reader, on=START)
        told = {participant.employee_id for participant in report.participants}
        assert told == {participant.employee_id for participant in status.participants}
        return told

    assert seen("hana") == set(people)  # HR, who made it
    assert seen("mia") == {"ana", "cy", "ben"}  # her line, down through ben
    assert seen("ben") == {"ana", "cy", "ben"}  # himself and his reports
    assert seen("ana") == {"ana"}
    assert seen("zoe") == {"zoe"}
    with pytest.raises(NotFound):
        pc.cycles.status("c-1", by="eli", on=START)  # neither a participant nor a manager
