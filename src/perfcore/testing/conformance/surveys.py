"""Surveys: what an anonymous survey asks of a store (see docs/surveys.md).

A survey's answers wait in its ballot box, a snapshot of a kind no stream has, written in the
same unit of work as the participation. The store must therefore keep such a snapshot, commit it
with the events or not at all, and let exactly one of two racing answers to one survey commit at
a time, so that no answer is lost, none is kept twice, and none is left without its
participation (or the reverse).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from perfcore.actor import Actor, Role
from perfcore.errors import ConcurrencyError, ValidationError
from perfcore.ports import Store
from perfcore.services import Perfcore
from perfcore.services.surveys import BOX
from perfcore.survey import BALLOT_BOX, Question, Reply, Survey
from perfcore.testing._fakes import CountingIds, SteppingClock
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["SurveysContract"]

_START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
_MIA = Actor(id="mia", roles={Role.EMPLOYEE, Role.MANAGER})
_HR = Actor(id="hana", roles={Role.HR})
_ASKED = ("ana", "bo", "cy", "dee", "eli", "fay")


def _opened(store: Store) -> Perfcore:
    pc = Perfcore(store, clock=SteppingClock(_START), ids=CountingIds())
    pc.surveys.create(
        by=_MIA,
        id="s-1",
        title="Team health",
        manager_id="mia",
        questions=[Question(key="clear", text="My goals are clear")],
        opens_on=_START.date(),
        closes_on=_START.date() + dt.timedelta(days=14),
    )
    pc.surveys.open("s-1", by=_MIA, population=_ASKED)
    return pc


def _answer(pc: Perfcore, person: str, score: int = 4) -> None:
    pc.surveys.respond("s-1", by=Actor(id=person), replies=[Reply(question="clear", score=score)])


def _survey(pc: Perfcore) -> Survey:
    found = pc.surveys.get("s-1", by=_HR)
    assert isinstance(found, Survey)
    return found


def _waiting(store: Store) -> bytes | None:
    with store.unit_of_work() as uow:
        box = uow.snapshots.get(BOX, "s-1")
    return None if box is None else box.data


class SurveysContract(StoreFixture):
    """A survey's ballot box is kept with its participation, all or nothing, and racing answers
    are each kept once.

    .. versionadded:: 0.2.0
    """

    def test_an_answer_waits_in_the_box_with_its_participation(self, store: Store) -> None:
        pc = _opened(store)
        _answer(pc, "ana", 4)
        _answer(pc, "bo", 2)
        assert _survey(pc).participants == ("ana", "bo")
        waiting = _waiting(store)
        assert waiting is not None, "the ballot box was not kept"
        assert waiting == b'[{"replies":[{"question":"clear","score":2,"text":""}]},' + (
            b'{"replies":[{"question":"clear","score":4,"text":""}]}]'
        ), f"the box holds {waiting!r}, not the two answers sorted by content"

    def test_a_refused_answer_leaves_neither_box_nor_participation(self, store: Store) -> None:
        pc = _opened(store)
        _answer(pc, "ana")
        before = _waiting(store)
        with pytest.raises(ValidationError):
            pc.surveys.respond("s-1", by=Actor(id="bo"), replies=[Reply(question="x", score=1)])
        assert _waiting(store) == before
        assert _survey(pc).participants == ("ana",)

    def test_a_whole_batch_is_released_by_the_ballot_box(self, store: Store) -> None:
        pc = _opened(store)
        for score, person in enumerate(_ASKED[:3], start=1):
            _answer(pc, person, score)
        survey = _survey(pc)
        assert sorted(b.replies[0].score or 0 for b in survey.ballots) == [1, 2, 3]
        events = pc.history("Survey", "s-1", by=_HR)
        assert events[-1].trigger == "release_answers"
        assert events[-1].actor_id == BALLOT_BOX
        assert _waiting(store) == b"[]", "the released answers were left in the box"

    def test_racing_answers_are_each_kept_once(self, store: Store) -> None:
        self.require("supports_threads")
        pc = _opened(store)
        errors: list[BaseException] = []

        def answer(person: str) -> None:
            try:
                _answer(pc, person)
            except ConcurrencyError as error:  # ten tries each: should not happen with four
                errors.append(error)

        threads = [threading.Thread(target=answer, args=(p,)) for p in _ASKED[:4]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=self.deadlock_guard)
            assert not thread.is_alive(), "an answer to a survey waited for another for good"
        assert not errors, errors
        survey = _survey(pc)
        assert sorted(survey.participants) == sorted(_ASKED[:4])
        waiting = _waiting(store) or b"[]"
        kept = len(survey.ballots) + waiting.count(b'"replies"')
        assert kept == 4, f"{kept} answers kept for 4 people who answered"
