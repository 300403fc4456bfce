"""Checks on append that cost the same however long the field has grown (an evaluation's feedback,
a cycle's participants), and still refuse what the whole-value checks refuse: an answer from
someone not asked, a second answer, a participant twice, scores off the scale; and the kept
indexes they read (Entries.position) across lines and branches of sequences."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from perfcore._aggregate import Changes
from perfcore.actor import Actor
from perfcore.cycle_status import Participant
from perfcore.entries import Entries
from perfcore.errors import ValidationError
from perfcore.evaluation import Evaluation, Rating
from perfcore.evaluation_records import FeedbackDecline, FeedbackRequest, ReviewerFeedback
from perfcore.review_cycle import ReviewCycle
from perfcore.testing.drivers import driver_for

AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def _asked(count: int) -> Evaluation:
    evaluation = driver_for("Evaluation").reach("self_review")
    assert isinstance(evaluation, Evaluation)
    for n in range(count):
        evaluation = evaluation.request_feedback(
            by=Actor(id=evaluation.evaluator_id, roles={"manager"}),
            at=AT,
            reviewer_id=f"r-{n}",
            relationship="peer",
        )
    return evaluation


def _append(obj: object, field: str, *items: object) -> object:
    """What a command's ``Changes(append=...)`` makes, without the command's guards."""
    return obj._next(str(obj.state), {}, {field: items})  # type: ignore[attr-defined]


def _response(reviewer: str, score: int = 4, criterion: str = "Delivery") -> ReviewerFeedback:
    scores = (Rating(criterion=criterion, score=score),)
    return ReviewerFeedback(reviewer_id=reviewer, scores=scores, at=AT)


def test_an_answer_from_someone_not_asked_is_refused_on_append() -> None:
    evaluation = _asked(3)
    with pytest.raises(ValidationError, match="r-9 was not asked"):
        _append(evaluation, "feedback_responses", _response("r-9"))
    with pytest.raises(ValidationError, match="r-9 was not asked"):
        _append(
            evaluation, "feedback_declines", FeedbackDecline(reviewer_id="r-9", reason="x", at=AT)
        )


def test_a_second_answer_is_refused_on_append_whichever_kind() -> None:
    evaluation = _asked(3)
    answered = _append(evaluation, "feedback_responses", _response("r-1"))
    with pytest.raises(ValidationError, match="r-1 has already answered"):
        _append(answered, "feedback_responses", _response("r-1"))
    with pytest.raises(ValidationError, match="r-1 has already answered"):
        _append(
            answered, "feedback_declines", FeedbackDecline(reviewer_id="r-1", reason="x", at=AT)
        )
    declined = _append(
        evaluation, "feedback_declines", FeedbackDecline(reviewer_id="r-2", reason="x", at=AT)
    )
    with pytest.raises(ValidationError, match="r-2 has already answered"):
        _append(declined, "feedback_responses", _response("r-2"))
    with pytest.raises(ValidationError, match="r-0 has already answered"):
        _append(evaluation, "feedback_responses", _response("r-0"), _response("r-0"))


def test_scores_off_the_scale_or_criteria_are_refused_on_append() -> None:
    evaluation = _asked(2)
    with pytest.raises(ValidationError, match="scores"):
        _append(evaluation, "feedback_responses", _response("r-1", score=99))
    wrong = _response("r-1", score=3, criterion="Nothing")
    with pytest.raises(ValidationError, match="not a criterion"):
        _append(evaluation, "feedback_responses", wrong)


def test_the_whole_value_is_still_checked_when_a_field_is_set() -> None:
    evaluation = _asked(3)
    answered = _append(evaluation, "feedback_responses", _response("r-1"))
    assert isinstance(answered, Evaluation)
    # Requests set to exclude someone who answered: the answers are checked against them.
    kept = tuple(r for r in answered.feedback_requests if r.reviewer_id != "r-1")
    with pytest.raises(ValidationError, match="r-1 was not asked"):
        answered._next(str(answered.state), {"feedback_requests": kept}, {})
    # A new object from its fields (a snapshot restored) checks everything.
    with pytest.raises(ValidationError, match="r-1 was not asked"):
        attrs.evolve(answered, feedback_requests=kept)
    twice = (*answered.feedback_responses, _response("r-1"))
    with pytest.raises(ValidationError, match="already answered"):
        attrs.evolve(answered, feedback_responses=twice)
    # A scale the responses no longer fit, though the responses did not change.
    narrow = attrs.evolve(answered.scale, max=3)
    with pytest.raises(ValidationError, match="scores"):
        answered._next(str(answered.state), {"scale": narrow}, {})


def test_a_participant_is_refused_twice_on_append_and_as_a_whole() -> None:
    cycle = driver_for("ReviewCycle").reach("job_descriptions")
    assert isinstance(cycle, ReviewCycle)
    first = cycle.participants[0]
    with pytest.raises(ValidationError, match="is a participant already"):
        _append(cycle, "participants", first)
    newcomer = Participant(employee_id="zed", manager_id=first.manager_id)
    with pytest.raises(ValidationError, match="is a participant already"):
        _append(cycle, "participants", newcomer, newcomer)
    grown = _append(cycle, "participants", newcomer)
    assert isinstance(grown, ReviewCycle)
    assert grown.has_participant("zed")
    assert not cycle.has_participant("zed")
    with pytest.raises(ValidationError, match="is a participant already"):
        attrs.evolve(grown, participants=(*grown.participants, newcomer))
    assert Changes  # the command path is the same _next


def test_a_kept_index_answers_for_each_sequence_of_its_line_and_for_branches() -> None:
    key = str.upper
    base = Entries(["a", "b"])
    assert base.position(key, "B") == 1
    line = [base]
    for letter in "cdefghijklmnopqrstuvwxyz" * 3:
        line.append(line[-1] + (letter,))
    for length, sequence in enumerate(line, start=2):
        assert sequence.position(key, "Z") == (25 if length > 25 else None)
        assert sequence.position(key, "A") == 0
    left, right = base.__add__(("x",)), base.__add__(("y",))  # two branches of one sequence
    assert (left.position(key, "X"), left.position(key, "Y")) == (2, None)
    assert (right.position(key, "Y"), right.position(key, "X")) == (2, None)
    assert base.position(key, "X") is None
    assert base.position(key, "Y") is None
    # Another key function builds an index of its own.
    assert line[-1].position(str.lower, "z") == 25


def test_feedback_keeps_its_json_and_history() -> None:
    evaluation = _asked(3)
    assert isinstance(evaluation.feedback_requests, Entries)
    assert evaluation.feedback_requests == tuple(evaluation.feedback_requests)
    replayed = Evaluation.replay(evaluation.history)
    assert replayed == evaluation
    assert [r.reviewer_id for r in replayed.feedback_requests] == ["r-0", "r-1", "r-2"]
    assert isinstance(replayed.feedback_requests[0], FeedbackRequest)
