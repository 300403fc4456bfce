"""Anonymous surveys and continuous feedback through the services, with a directory.

The anonymity tests read the store as an attacker with the database would: every stored event's
header and body, the idempotency records and the ballot box, and check that no answer can be
tied to who gave it by actor, time, order or version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from perfcore import (
    Actor,
    MemoryDirectory,
    NotFound,
    PermissionDenied,
    Question,
    Reply,
    Survey,
    ValidationError,
)
from perfcore.adapters.memory import MemoryStore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.errors import ConcurrencyError, GuardFailed
from perfcore.job_description import Criterion
from perfcore.ports import Store
from perfcore.recording import decode
from perfcore.services import Perfcore
from perfcore.services._runner import scoped_key
from perfcore.services.surveys import BOX, SurveyView
from perfcore.survey import BALLOT_BOX

DAY = dt.date(2026, 3, 2)
TEAM = ("ana", "bo", "cy", "dee", "eli", "fay", "gus")
QUESTIONS = [
    Question(key="clear", text="My goals are clear"),
    Question(key="heard", text="My manager listens", low=0, high=10),
    Question(key="help", text="What would help?", kind="text", required=False),
]


class Clock:
    def __init__(self) -> None:
        self.at = dt.datetime.combine(DAY, dt.time(9), tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        self.at += dt.timedelta(minutes=7)
        return self.at


def organisation() -> MemoryDirectory:
    org = MemoryDirectory()
    since = dt.date(2020, 1, 1)
    org.place("hana", on=since, department="People", roles={"employee", "hr"})
    org.place("ceo", on=since, department="Board", roles={"employee", "manager"})
    org.place(
        "mia", on=since, manager_id="ceo", department="Support", roles={"employee", "manager"}
    )
    for person in TEAM[:5]:
        org.place(person, on=since, manager_id="mia", department="Support")
    org.place("lee", on=since, manager_id="ana", department="Support")
    # Two below mia but in another department: in her team, not in her department.
    org.place("fay", on=since, manager_id="mia", department="Sales")
    org.place("gus", on=since, manager_id="fay", department="Sales")
    org.place("zoe", on=since, department="Sales")
    return org


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "memory":
        yield MemoryStore()
        return
    opened = SQLiteStore(tmp_path / "surveys.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def pc(store: Store) -> Perfcore:
    return Perfcore(store, clock=Clock(), directory=organisation())


def _survey(pc: Perfcore, scope: str = "reports", id: str = "s-1") -> None:
    pc.surveys.create(
        by="mia",
        id=id,
        title="Team health",
        manager_id="mia",
        scope=scope,
        questions=QUESTIONS,
        opens_on=DAY,
        closes_on=DAY + dt.timedelta(days=14),
    )


def _answer(score: int, words: str = "") -> list[Reply]:
    found = [Reply(question="clear", score=score), Reply(question="heard", score=score * 2)]
    return [*found, Reply(question="help", text=words)] if words else found


# -- the population comes from the directory ------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "asked"),
    [
        ("reports", {"ana", "bo", "cy", "dee", "eli", "fay"}),
        ("team", {"ana", "bo", "cy", "dee", "eli", "fay", "gus", "lee"}),
        ("department", {"ana", "bo", "cy", "dee", "eli", "lee"}),
    ],
)
def test_the_directory_decides_who_is_asked(pc: Perfcore, scope: str, asked: set[str]) -> None:
    _survey(pc, scope)
    opened = pc.surveys.open("s-1", by="hana")
    assert isinstance(opened, Survey)
    assert opened.population == asked
    assert opened.department == "Support"
    assert opened.threshold == pc.policy.evaluation.anonymity_threshold


def test_a_population_from_the_caller_is_refused_with_a_directory(pc: Perfcore) -> None:
    _survey(pc)
    with pytest.raises(ValidationError, match="the directory decides"):
        pc.surveys.open("s-1", by="mia", population=["ana", "zoe"])


def test_only_hr_or_the_populations_manager_organises(pc: Perfcore) -> None:
    with pytest.raises(PermissionDenied):
        pc.surveys.create(
            by="ana", title="T", manager_id="mia", questions=QUESTIONS,
            opens_on=DAY, closes_on=DAY,
        )  # fmt: skip
    _survey(pc)
    with pytest.raises(NotFound):  # bo may not read a draft he is not asked in yet
        pc.surveys.open("s-1", by="bo")


def test_a_population_below_the_threshold_never_opens(pc: Perfcore) -> None:
    pc.surveys.create(
        by="ana", id="small", title="T", manager_id="ana", questions=QUESTIONS,
        opens_on=DAY, closes_on=DAY,
    )  # fmt: skip
    with pytest.raises(GuardFailed, match="fewer than the anonymity threshold"):
        pc.surveys.open("small", by="ana")


# -- answering -----------------------------------------------------------------------------------


def test_each_person_asked_answers_once_and_nobody_else_answers(pc: Perfcore) -> None:
    _survey(pc)
    pc.surveys.open("s-1", by="mia")
    view = pc.surveys.respond("s-1", by="ana", replies=_answer(4))
    assert isinstance(view, SurveyView)
    assert view.took_part
    assert view.responses == 1
    assert view.results is None
    with pytest.raises(PermissionDenied):
        pc.surveys.respond("s-1", by="ana", replies=_answer(1))
    with pytest.raises(NotFound):  # zoe is not asked: to her the survey is not there
        pc.surveys.respond("s-1", by="zoe", replies=_answer(1))
    with pytest.raises(ValidationError):
        pc.surveys.respond("s-1", by="bo", replies=[Reply(question="clear", score=9)])
    with pytest.raises(ValidationError, match="required"):
        pc.surveys.respond("s-1", by="bo", replies=[Reply(question="clear", score=3)])


def _history(pc: Perfcore, id: str = "s-1") -> list:  # type: ignore[type-arg]
    return list(pc.history("Survey", id, by="hana"))


def test_answers_are_released_in_whole_batches_by_the_ballot_box(pc: Perfcore) -> None:
    _survey(pc)
    pc.surveys.open("s-1", by="mia")
    for score, person in enumerate(("ana", "bo", "cy", "dee", "eli"), start=1):
        pc.surveys.respond("s-1", by=person, replies=_answer(score, f"words of {score}"))
    events = _history(pc)
    triggers = [event.trigger for event in events]
    assert triggers == ["create", "open", *["respond"] * 3, "release_answers", "respond", "respond"]
    release = events[5]
    assert release.actor_id == BALLOT_BOX
    assert release.grounds == {}
    survey = pc.surveys.get("s-1", by="hana")
    assert isinstance(survey, Survey)
    assert len(survey.ballots) == 3
    assert survey.withheld == 2
    # Two answers wait in the box, fewer than a batch: the close drops them.
    closed = pc.surveys.close("s-1", by="mia")
    assert isinstance(closed, SurveyView)
    assert closed.results is None
    survey = pc.surveys.get("s-1", by="hana")
    assert isinstance(survey, Survey)
    assert survey.withheld == 2
    with pc.store.unit_of_work() as uow:
        box = uow.snapshots.get(BOX, "s-1")
    assert box is not None
    assert json.loads(box.data) == []
    released = pc.surveys.release("s-1", by="mia")
    assert isinstance(released, SurveyView)
    assert released.results is not None
    assert released.results.answers == 3
    assert released.results.questions[0].mean == 2  # 1, 2, 3
    assert released.results.questions[2].texts == ("words of 1", "words of 2", "words of 3")


def test_nothing_stored_ties_an_answer_to_who_gave_it(pc: Perfcore) -> None:
    """As someone who reads the whole database: the participation events carry no answer; the
    answers carry no actor, no time of their own, and come in shuffled batches; the box holds
    answers sorted by content; the idempotency record does not depend on the replies."""
    _survey(pc)
    pc.surveys.open("s-1", by="mia")
    words = {person: f"secret words number {index}" for index, person in enumerate(TEAM[:3])}
    for score, person in enumerate(TEAM[:3], start=2):
        pc.surveys.respond(
            "s-1", by=person, replies=_answer(score, words[person]), idempotency_key="k"
        )
    with pc.store.unit_of_work() as uow:
        recorded = list(uow.events.read("Survey", "s-1"))
        key = uow.idempotency.get(scoped_key("ana", "k"))
    for stored in recorded:
        header = json.loads(stored.header)
        event = decode(stored)
        text = stored.header.decode() + json.dumps(event.payload)
        if event.trigger == "respond":
            assert header[3] in TEAM
            assert not any(secret in text for secret in words.values())
            assert "score" not in text
            assert "replies" not in json.dumps(event.payload)
        if event.trigger == "release_answers":
            assert header[3] == BALLOT_BOX
            assert event.grounds == {}
    release = decode(recorded[-1])
    ballots = release.payload["append"]["ballots"]
    assert len(ballots) == 3
    # A ballot holds replies and nothing else; the batch holds all three answers.
    assert all(set(ballot) == {"replies"} for ballot in ballots)
    assert all(
        set(reply) <= {"question", "score", "text"} for b in ballots for reply in b["replies"]
    )
    assert {ballot["replies"][2]["text"] for ballot in ballots} == set(words.values())
    # The idempotency record holds a fingerprint of the survey and the person only.
    assert key is not None
    assert key.fingerprint == _fingerprint_without_replies("ana")


def _fingerprint_without_replies(person: str) -> str:
    from perfcore.services._runner import fingerprint

    return fingerprint("Survey.respond", {"id": "s-1", "by": person})


def test_batches_are_shuffled() -> None:
    """Over many surveys answered in one order, the released order is not always it."""
    orders = set()
    for round in range(12):
        pc = Perfcore(MemoryStore(), clock=Clock(), directory=organisation())
        _survey(pc, id=f"s-{round}")
        pc.surveys.open(f"s-{round}", by="mia")
        for score, person in enumerate(("ana", "bo", "cy"), start=1):
            pc.surveys.respond(f"s-{round}", by=person, replies=_answer(score))
        survey = pc.surveys.get(f"s-{round}", by="hana")
        assert isinstance(survey, Survey)
        orders.add(tuple(ballot.replies[0].score for ballot in survey.ballots))
    assert len(orders) > 1
    assert hashlib  # the module is imported for the fingerprint's own hash


# -- who sees what ---------------------------------------------------------------------------------


def test_only_hr_sees_who_took_part(pc: Perfcore) -> None:
    _survey(pc)
    pc.surveys.open("s-1", by="mia")
    pc.surveys.respond("s-1", by="ana", replies=_answer(3))
    for reader in ("mia", "ceo", "bo"):
        view = pc.surveys.get("s-1", by=reader)
        assert isinstance(view, SurveyView)
        assert not hasattr(view, "participants")
        assert view.responses == 1
    assert pc.surveys.get("s-1", by="bo").took_part is False  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        pc.surveys.get("s-1", by="zoe")
    with pytest.raises(PermissionDenied):  # the history names who took part, and when
        pc.history("Survey", "s-1", by="mia")


def test_results_roll_up_by_department_and_feed_the_managers_evaluation(pc: Perfcore) -> None:
    _survey(pc)
    pc.surveys.open("s-1", by="mia")
    for score, person in enumerate(("ana", "bo", "cy"), start=3):
        pc.surveys.respond("s-1", by=person, replies=_answer(score))
    pc.surveys.close("s-1", by="mia")
    pc.surveys.release("s-1", by="hana")
    rolled = pc.surveys.by_department(by="hana")
    assert [(d.department, d.answers) for d in rolled] == [("Support", 3)]
    assert rolled[0].score is not None
    assert 0 < rolled[0].score <= 1
    assert pc.surveys.by_department(by="zoe") == ()
    # mia's evaluation, by the ceo: her reports' survey is a feedback group beside it.
    pc.job_descriptions.create(
        by="hana", id="jd-lead", title="Support lead", department="Support",
        criteria=[Criterion(name="Coaching", measured_by="surveys", weight=100,
                            required_level="4")],
    )  # fmt: skip
    pc.evaluations.create(
        by="ceo", id="ev-mia", subject_id="mia", evaluator_id="ceo",
        job_description_id="jd-lead", job_description_number=1, criteria={"Coaching": 100},
        period_start=DAY - dt.timedelta(days=90), period_end=DAY + dt.timedelta(days=30),
        subject_is_manager=True,
    )  # fmt: skip
    opinion = pc.surveys.second_opinion("ev-mia", by="ceo")
    assert [(results.survey_id, results.answers) for results in opinion] == [("s-1", 3)]
    assert pc.surveys.second_opinion("ev-mia", by="mia") == opinion
    with pytest.raises(NotFound):
        pc.surveys.second_opinion("ev-mia", by="ana")


# -- continuous feedback ---------------------------------------------------------------------------


def test_notes_are_read_per_policy_and_listed_beside_the_next_evaluation(pc: Perfcore) -> None:
    praise = pc.notes.create(by="bo", subject_id="ana", kind="praise", text="Great handover.")
    private = pc.notes.create(
        by="mia", subject_id="ana", text="Missed two stand-ups.", visibility="private"
    )
    with pytest.raises(PermissionDenied):
        pc.notes.create(by="ana", subject_id="ana", text="I am great.")
    with pytest.raises(ValidationError):
        pc.notes.create(by="bo", subject_id="nobody", text="Who?")
    assert [n.id for n in pc.notes.about("ana", by="ana")] == [praise.id]
    assert [n.id for n in pc.notes.about("ana", by="mia")] == [praise.id, private.id]
    assert [n.id for n in pc.notes.about("ana", by="ceo")] == [praise.id, private.id]
    assert [n.id for n in pc.notes.about("ana", by="cy")] == []
    with pytest.raises(NotFound):
        pc.notes.get(private.id, by="ana")
    pc.job_descriptions.create(
        by="mia", id="jd-eng", title="Support engineer", department="Support", employee_id="ana",
        criteria=[Criterion(name="Delivery", measured_by="releases", weight=100,
                            required_level="monthly")],
    )  # fmt: skip
    on_criterion = pc.notes.create(
        by="mia", subject_id="ana", job_description_id="jd-eng", criterion="Delivery",
        text="Shipped the macro fix early.",
    )  # fmt: skip
    with pytest.raises(ValidationError):
        pc.notes.create(
            by="mia", subject_id="ana", job_description_id="jd-eng", criterion="Speed",
            text="?",
        )  # fmt: skip
    pc.evaluations.create(
        by="mia", id="ev-ana", subject_id="ana", evaluator_id="mia",
        job_description_id="jd-eng", job_description_number=1, criteria={"Delivery": 100},
        period_start=DAY - dt.timedelta(days=90), period_end=DAY + dt.timedelta(days=30),
    )  # fmt: skip
    listed = pc.notes.for_evaluation("ev-ana", by="mia")
    assert [n.id for n in listed] == [praise.id, private.id, on_criterion.id]
    assert [n.id for n in pc.notes.for_evaluation("ev-ana", by="ana")] == [
        praise.id,
        on_criterion.id,
    ]
    pc.notes.withdraw(praise.id, by="bo", reason="posted twice")
    assert [n.id for n in pc.notes.for_evaluation("ev-ana", by="mia")] == [
        private.id,
        on_criterion.id,
    ]


def test_a_note_on_a_goal_is_about_its_owner(pc: Perfcore) -> None:
    pc.goals.create(
        by="ana", id="g-1", owner_id="ana", manager_id="mia", title="Replies",
        metric="replies", baseline=0, target=10, start=DAY, due=DAY + dt.timedelta(days=60),
    )  # fmt: skip
    note = pc.notes.create(by="mia", goal_id="g-1", text="Good start on the replies.")
    assert (note.subject_id, note.about, note.goal_id) == ("ana", "goal", "g-1")
    with pytest.raises(ValidationError):
        pc.notes.create(by="mia", goal_id="g-1", subject_id="bo", text="Wrong person.")
    with pytest.raises(NotFound):  # bo may not read ana's goal
        pc.notes.create(by="bo", goal_id="g-1", text="Nice goal.")


def test_without_a_directory_the_caller_names_the_population() -> None:
    pc = Perfcore(MemoryStore(), clock=Clock())
    mia = Actor(id="mia", roles={"manager"})
    pc.surveys.create(
        by=mia, id="s-1", title="T", manager_id="mia", questions=QUESTIONS,
        opens_on=DAY, closes_on=DAY + dt.timedelta(days=3),
    )  # fmt: skip
    with pytest.raises(ValidationError, match="name who is asked"):
        pc.surveys.open("s-1", by=mia)
    opened = pc.surveys.open("s-1", by=mia, population=["ana", "bo", "cy"])
    assert isinstance(opened, SurveyView)
    assert opened.asked == 3


def test_a_respondents_personal_data_holds_no_answer(pc: Perfcore) -> None:
    """A subject-access export of someone who answered holds that they took part, never what
    they answered; erasing them leaves the released answers (which are nobody's) as they were."""
    _survey(pc)
    pc.surveys.open("s-1", by="mia")
    for score, person in enumerate(("ana", "bo", "cy"), start=2):
        pc.surveys.respond("s-1", by=person, replies=_answer(score, f"private words {score}"))
    exported = json.dumps(pc.export_person("ana", by="hana"))
    assert "private words" not in exported
    assert '"respond"' in exported
    before = pc.surveys.get("s-1", by="hana")
    pc.erase_person("ana", by="hana", reason="her request")
    after = pc.surveys.get("s-1", by="hana")
    assert isinstance(before, Survey)
    assert isinstance(after, Survey)
    assert after.ballots == before.ballots


def test_a_box_that_disagrees_with_the_survey_is_never_released(pc: Perfcore) -> None:
    """An answer committed between the survey's load and the box's read (a store whose reads
    are not one snapshot) is a conflict, run again; a box that stays out of step (here, an
    answer slipped in by hand) is refused every time, and nothing is stored."""
    from perfcore.ports import Snapshot

    _survey(pc)
    pc.surveys.open("s-1", by="mia")
    pc.surveys.respond("s-1", by="ana", replies=_answer(3))
    slipped = b'[{"replies":[{"question":"clear","score":1,"text":""}]},' + (
        b'{"replies":[{"question":"clear","score":3,"text":""}]}]'
    )
    with pc.store.unit_of_work() as uow:
        uow.snapshots.put(Snapshot(kind=BOX, id="s-1", version=9, schema=1, data=slipped))
        uow.commit()
    before = pc.surveys.get("s-1", by="hana")
    with pytest.raises(ConcurrencyError):
        pc.surveys.respond("s-1", by="bo", replies=_answer(4))
    assert pc.surveys.get("s-1", by="hana") == before
