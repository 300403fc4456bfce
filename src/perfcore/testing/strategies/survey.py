"""Strategies for surveys: questions, replies, released answers, and surveys in any state.

A drawn survey asks three to five people below its manager (the population a directory would
give), on a scale and in words; on its way it is answered by some of them, and its answers reach
its record in whole batches released by the ballot box, as the services release them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from hypothesis import strategies as st

from perfcore.actor import Actor
from perfcore.policy import DEFAULT_POLICY
from perfcore.survey import (
    BALLOT_BOX,
    Ballot,
    Question,
    QuestionKind,
    Reply,
    Scope,
    Survey,
    SurveyResults,
    SurveyState,
)
from perfcore.testing.strategies._common import (
    Ranges,
    aware_datetimes,
    choice,
    distinct_people,
    employee,
    hr,
    ids,
    manager,
    outsider,
    people,
    reasons,
)
from perfcore.testing.strategies._engine import (
    Arguments,
    Kit,
    checked_states,
    reached,
    register,
)

__all__ = ["ballots", "questions", "replies", "survey_results", "surveys"]

_TITLES = st.sampled_from(("How is the team doing?", "Pulse", "Onboarding"))
_WORDS = st.sampled_from(("fewer meetings", "", "clearer priorities", "more pairing"))


def questions() -> st.SearchStrategy[tuple[Question, ...]]:
    """One scale question (1 to 5, or 0 to 10), and sometimes a free-text one, which may be
    optional.

    .. versionadded:: 0.2.0
    """
    scale = st.builds(
        Question,
        key=st.just("clear"),
        text=st.just("My goals are clear"),
        low=st.just(1) | st.just(0),
        high=st.just(5) | st.just(10),
    )
    text = st.builds(
        Question,
        key=st.just("help"),
        text=st.just("What would help?"),
        kind=st.just(QuestionKind.TEXT),
        required=st.booleans(),
    )
    return st.tuples(scale, st.none() | text).map(
        lambda pair: tuple(question for question in pair if question is not None)
    )


@st.composite
def replies(draw: st.DrawFn, asked: tuple[Question, ...] | None = None) -> tuple[Reply, ...]:
    """An answer to ``asked`` (by default, to drawn questions): a score on each scale, words
    (or none, where optional) for each text question.

    .. versionadded:: 0.2.0
    """
    asked = draw(questions()) if asked is None else asked
    found = []
    for question in asked:
        if question.kind is QuestionKind.SCALE:
            score = draw(st.integers(question.low, question.high), label=question.key)
            found.append(Reply(question=question.key, score=score))
        else:
            words = draw(_WORDS, label=question.key)
            if words or question.required:
                found.append(Reply(question=question.key, text=words or "no idea"))
    return tuple(found)


def ballots(asked: tuple[Question, ...] | None = None) -> st.SearchStrategy[Ballot]:
    """A released answer to ``asked`` (by default, to drawn questions): replies, no name.

    .. versionadded:: 0.2.0
    """
    return replies(asked).map(lambda given: Ballot(replies=given))


@st.composite
def survey_results(draw: st.DrawFn) -> SurveyResults:
    """The results of a survey whose answers were released: from three to eight answers.

    .. versionadded:: 0.2.0
    """
    asked = draw(questions(), label="questions")
    answers = draw(st.lists(ballots(asked), min_size=3, max_size=8), label="answers")
    day = draw(aware_datetimes(), label="opened").date()
    survey = Survey(
        id=draw(ids("survey"), label="id"),
        state=SurveyState.RELEASED,
        title=draw(_TITLES, label="title"),
        manager_id=draw(people(), label="manager"),
        questions=asked,
        opens_on=day,
        closes_on=day,
        department=draw(st.none() | st.just("support"), label="department"),
        threshold=_threshold(),
        ballots=tuple(answers),
    )
    results = survey.results()
    assert results is not None  # three answers or more: at the default threshold
    return results


def surveys(
    states: Iterable[SurveyState | str] | None = None,
    *,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[Survey]:
    """Surveys in any state (or one of ``states``), built by real commands, answered by some
    of the people asked, with answers released in whole batches by the ballot box.

    .. versionadded:: 0.2.0
    """
    return reached(KIT, checked_states(KIT, states), actors=actors, ranges=ranges)


def _threshold() -> int:
    return DEFAULT_POLICY.evaluation.anonymity_threshold


def _waiting(survey: Survey) -> tuple[str, ...]:
    return tuple(person for person in sorted(survey.population) if not survey.took_part(person))


class SurveyKit(Kit[Survey]):
    """Surveys a manager runs of their people; HR too; the ballot box releases answers."""

    kind = Survey

    def create(self, draw: st.DrawFn) -> Survey:
        at = draw(aware_datetimes(), label="created at")
        boss = draw(people(), label="manager")
        return Survey.create(
            id=draw(ids("survey"), label="id"),
            by=manager(boss),
            at=at,
            title=draw(_TITLES, label="title"),
            manager_id=boss,
            scope=draw(st.sampled_from(list(Scope)), label="scope"),
            questions=draw(questions(), label="questions"),
            opens_on=at.date(),
            closes_on=at.date() + dt.timedelta(days=90),
        )

    def cast(self, obj: Survey) -> tuple[Actor, ...]:
        asked = tuple(employee(person) for person in _waiting(obj))
        named = {obj.manager_id, *obj.population}
        return (
            manager(obj.manager_id),
            hr(besides=named),
            *asked[:1],
            employee(outsider(named)),
            Actor(id=BALLOT_BOX),
        )

    def arguments(
        self, draw: st.DrawFn, obj: Survey, trigger: str, dest: str | None, at: dt.datetime
    ) -> Arguments:
        if trigger == "edit":
            return {"title": draw(_TITLES, label="title")}
        if trigger == "open":
            asked = draw(distinct_people(3, {obj.manager_id}, max_count=5), label="population")
            department = draw(st.none() | st.just("support"), label="department")
            return {"population": asked, "department": department, "threshold": _threshold()}
        if trigger == "respond":
            return {"replies": draw(replies(obj.questions), label="replies")}
        if trigger == "release_answers":
            batch = [draw(ballots(obj.questions)) for _ in range(max(1, obj.withheld))]
            return {"ballots": batch}
        return {"reason": draw(st.just("") | reasons(), label="reason")}

    def wild_arguments(
        self, draw: st.DrawFn, obj: Survey, trigger: str, at: dt.datetime
    ) -> Arguments:
        if trigger == "open":
            few = draw(distinct_people(0, {obj.manager_id}, max_count=2), label="population")
            return {"population": few, "department": None, "threshold": choice(draw, (0, 3))}
        if trigger == "respond":
            return {"replies": choice(draw, ([], [{"question": "clear", "score": 99}]))}
        if trigger == "release_answers":
            return {"ballots": []}
        return self.arguments(draw, obj, trigger, None, at)

    def feasible(self, obj: Survey, trigger: str) -> bool:
        if trigger == "respond":
            return bool(_waiting(obj))
        if trigger == "release_answers":  # prepare has the people waiting answer first
            return obj.withheld + len(_waiting(obj)) >= max(1, obj.threshold)
        return True

    def prepare(self, draw: st.DrawFn, obj: Survey, trigger: str, dest: str | None) -> Survey:
        if trigger != "release_answers":
            return obj
        while obj.withheld < max(1, obj.threshold) and _waiting(obj):
            moment = obj.history[-1].at + dt.timedelta(minutes=1)
            given = draw(replies(obj.questions), label="replies")
            obj = obj.respond(by=employee(_waiting(obj)[0]), at=moment, replies=given)
        return obj


KIT = SurveyKit()
register(KIT)
