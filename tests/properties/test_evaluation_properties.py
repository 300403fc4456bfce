"""Evaluation properties: the score arithmetic, anonymity, divergence and random command walks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from perfcore import (
    Actor,
    EvaluationPolicy,
    GuardFailed,
    PerfcoreError,
    Policy,
    Role,
    ScoreWeights,
    lifecycle_of,
)
from perfcore.evaluation import Evaluation, Rating, Relationship
from perfcore.scoring import Component, CriterionScores, final_score
from perfcore.testing.drivers.evaluation import EVALUATOR, HR, SUBJECT, EvaluationDriver
from perfcore.visibility import SubjectView

AT = dt.datetime(2026, 1, 6, 9, tzinfo=dt.UTC)
NAMES = ("Delivery", "Teamwork", "Docs", "Mentoring")
REVIEWER = "reviewer-"  # every reviewer id starts so, and nothing else the subject sees does

weights = st.one_of(st.integers(0, 100).map(Decimal), st.decimals("0", "1", places=3))


@st.composite
def scoring_cases(
    draw: st.DrawFn,
) -> tuple[dict[Component, dict[str, list[Decimal]]], dict[str, Decimal], ScoreWeights, int, int]:
    """Components with scores on a random scale, criteria weights and component weights."""
    low = draw(st.integers(-3, 3), label="low")
    high = low + draw(st.integers(1, 9), label="span")
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, unique=True), label="names")
    criterion_weights = {name: draw(weights, label=f"weight {name}") for name in names}
    points = st.integers(low, high).map(Decimal)
    components = {}
    for component, most in (
        (Component.SELF_REVIEW, 1),
        (Component.MANAGER, 1),
        (Component.FEEDBACK, 6),
    ):
        rated = draw(st.lists(st.sampled_from(names), unique=True), label=f"{component} rates")
        components[component] = {
            name: draw(st.lists(points, min_size=1, max_size=most), label=f"{component} {name}")
            for name in rated
        }
    score_weights = ScoreWeights(
        self_review=draw(weights, label="self weight"),
        manager=draw(weights, label="manager weight"),
        feedback=draw(weights, label="feedback weight"),
    )
    return components, criterion_weights, score_weights, low, high


Case = tuple[dict[Component, dict[str, list[Decimal]]], dict[str, Decimal], ScoreWeights, int, int]


def _has_data(scores: CriterionScores, criterion_weights: Mapping[str, Decimal]) -> bool:
    return any(values and criterion_weights[name] > 0 for name, values in scores.items())


# -- the arithmetic -----------------------------------------------------------------------------


@given(case=scoring_cases())
def test_the_final_score_is_within_the_scale(case: Case) -> None:
    components, criterion_weights, score_weights, low, high = case
    score = final_score(components, criterion_weights, score_weights)
    counted = [
        component
        for component, scores in components.items()
        if _has_data(scores, criterion_weights) and getattr(score_weights, component.value) > 0
    ]
    assert (score is None) == (not counted)
    if score is not None:
        assert low <= score <= high


@given(case=scoring_cases(), component=st.sampled_from(Component), weight=weights)
def test_a_component_with_no_data_never_changes_the_result(
    case: Case, component: Component, weight: Decimal
) -> None:
    components, criterion_weights, score_weights, _low, _high = case
    others = {name: scores for name, scores in components.items() if name is not component}
    expected = final_score(others, criterion_weights, score_weights)
    reweighted = attrs.evolve(score_weights, **{component.value: weight})
    no_scores: dict[str, list[Decimal]] = {name: [] for name in criterion_weights}
    for empty in ({}, no_scores):
        with_empty = {**others, component: empty}
        assert final_score(with_empty, criterion_weights, score_weights) == expected
        assert final_score(with_empty, criterion_weights, reweighted) == expected


@given(case=scoring_cases(), data=st.data())
def test_the_final_score_is_monotone_in_each_score(case: Case, data: st.DataObject) -> None:
    components, criterion_weights, score_weights, _low, high = case
    rated = [
        (component, name, position)
        for component, scores in components.items()
        for name, values in scores.items()
        for position in range(len(values))
    ]
    assume(rated)
    component, name, position = data.draw(st.sampled_from(rated), label="score raised")
    values = components[component][name]
    assume(values[position] < high)
    raised_by = data.draw(st.integers(1, high - int(values[position])), label="by")
    raised_values = [*values[:position], values[position] + raised_by, *values[position + 1 :]]
    raised = {**components, component: {**components[component], name: raised_values}}
    before = final_score(components, criterion_weights, score_weights)
    after = final_score(raised, criterion_weights, score_weights)
    assert (before is None) == (after is None)
    if before is not None and after is not None:
        assert after >= before


# -- anonymity ----------------------------------------------------------------------------------

responses = st.lists(
    st.tuples(
        st.sampled_from(Relationship),
        st.dictionaries(st.sampled_from(NAMES[:3]), st.integers(1, 5), min_size=1),
    ),
    max_size=12,
)


def _leaves(data: Any) -> Iterator[Any]:
    """Every field name, key and value of a view, however deeply nested."""
    if attrs.has(type(data)):
        for field in attrs.fields(type(data)):
            yield field.name
            yield from _leaves(getattr(data, field.name))
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield key
            yield from _leaves(value)
    elif isinstance(data, tuple | list):
        for item in data:
            yield from _leaves(item)
    else:
        yield data


def _with_feedback(answers: list[tuple[Relationship, dict[str, int]]]) -> Evaluation:
    """An evaluation in manager review with these feedback responses (reviewer ids numbered)."""
    evaluation = Evaluation.create(
        id="ev-1",
        by=EVALUATOR,
        at=AT,
        subject_id=SUBJECT.id,
        evaluator_id=EVALUATOR.id,
        job_description_id="jd-1",
        job_description_number=1,
        criteria={"Delivery": 50, "Teamwork": 30, "Docs": 20},
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2025, 12, 31),
    )
    evaluation = evaluation.open(by=EVALUATOR, at=AT)
    evaluation = evaluation.skip_self_review(by=EVALUATOR, at=AT, reason="on leave")
    for number, (relationship, scores) in enumerate(answers, start=1):
        reviewer_id = f"{REVIEWER}{number}"
        evaluation = evaluation.request_feedback(
            by=EVALUATOR, at=AT, reviewer_id=reviewer_id, relationship=relationship
        )
        evaluation = evaluation.give_feedback(
            by=Actor(id=reviewer_id), at=AT, scores=scores, comment=f"from {reviewer_id}"
        )
    return evaluation


def _manager_ratings(*scores: int) -> list[Rating]:
    return [
        Rating(criterion=name, score=score, evidence="the quarterly reviews")
        for name, score in zip(NAMES[:3], scores, strict=True)
    ]


@given(
    answers=responses,
    threshold=st.integers(1, 4),
    feedback_weight=st.sampled_from([0, 1]),
)
def test_the_subject_never_sees_a_small_group_or_a_reviewer_id(
    answers: list[tuple[Relationship, dict[str, int]]], threshold: int, feedback_weight: int
) -> None:
    policy = Policy(
        evaluation=EvaluationPolicy(
            anonymity_threshold=threshold,
            weights=ScoreWeights(manager=1, feedback=feedback_weight),
        )
    )
    calibrating = _with_feedback(answers).waive_feedback(by=HR, at=AT, reason="a small team")
    calibrating = calibrating.submit_manager_review(
        by=EVALUATOR, at=AT, ratings=_manager_ratings(3, 3, 3)
    )
    for name in NAMES[:3]:  # whatever diverges is noted
        calibrating = calibrating.calibrate(by=HR, at=AT, criterion=name, score=None, reason="ok")
    before = calibrating.view_for(SUBJECT, policy)
    assert isinstance(before, SubjectView)
    assert before.feedback is None  # not before the result
    evaluation = calibrating.finalize(by=HR, at=AT, policy=policy)
    view = evaluation.view_for(SUBJECT, policy)
    assert isinstance(view, SubjectView)
    assert view.feedback is not None
    leaves = list(_leaves(view))
    assert not [leaf for leaf in leaves if isinstance(leaf, str) and REVIEWER in leaf]
    groups = evaluation.responses_by_relationship()
    hidden = False
    for group in view.feedback:
        members = groups[group.relationship]
        assert group.responses == len(members) >= threshold
        scores = evaluation.feedback_scores(members)
        for name, values in scores.items():
            if len(values) >= threshold:
                assert group.averages[name] == sum(values) / len(values)
            else:
                assert name not in group.averages
                hidden = hidden or bool(values)
    shown = {group.relationship for group in view.feedback}
    small = {kind for kind, members in groups.items() if len(members) < threshold}
    assert not shown & small
    hidden = hidden or bool(small)
    if feedback_weight and hidden:
        assert (view.final_score, view.final_score_withheld) == (None, True)
    else:
        assert view.final_score == evaluation.final_score(policy)


# -- divergence ---------------------------------------------------------------------------------


@given(
    answers=st.lists(
        st.tuples(
            st.just(Relationship.PEER),
            st.dictionaries(st.sampled_from(NAMES[:3]), st.integers(1, 5), min_size=1),
        ),
        min_size=2,
        max_size=5,
    ),
    manager=st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)),
    noted=st.sets(st.sampled_from(NAMES[:3])),
)
def test_a_divergence_blocks_finalisation_until_noted(
    answers: list[tuple[Relationship, dict[str, int]]],
    manager: tuple[int, int, int],
    noted: set[str],
) -> None:
    evaluation = _with_feedback(answers).submit_manager_review(
        by=EVALUATOR, at=AT, ratings=_manager_ratings(*manager)
    )
    for name in sorted(noted):
        evaluation = evaluation.calibrate(by=HR, at=AT, criterion=name, score=None, reason="seen")
    feedback = evaluation.feedback_scores()
    diverging = {
        name
        for name, score in zip(NAMES[:3], manager, strict=True)
        if feedback[name]
        and abs(score - sum(feedback[name], Decimal(0)) / len(feedback[name])) > Decimal("1.5")
    }
    assert {d.criterion for d in evaluation.divergences()} == diverging
    if diverging - noted:
        with pytest.raises(GuardFailed) as refused:
            evaluation.finalize(by=HR, at=AT)
        assert refused.value.rule == "divergences noted"
        for name in NAMES[:3]:
            assert (f"{name} (manager" in refused.value.why) == (name in diverging - noted)
    else:
        final = evaluation.finalize(by=HR, at=AT)
        assert Evaluation.replay(final.history) == final


# -- random walks -------------------------------------------------------------------------------

LIFECYCLE = lifecycle_of(Evaluation)
TABLE = set(LIFECYCLE.transitions)
PEOPLE = (
    SUBJECT,
    EVALUATOR,
    HR,
    Actor(id="ana", roles={Role.HR}),
    Actor(id="ben", roles={Role.MANAGER, Role.HR}),
    *(Actor(id=f"{REVIEWER}{n}") for n in range(1, 4)),
)
ids = st.sampled_from([person.id for person in PEOPLE])
scores = st.integers(0, 6)
rating_lists = st.one_of(
    # a complete set with evidence half the time, so that walks get past the reviews
    st.lists(st.sampled_from([1, 3, 5]), min_size=2, max_size=2).map(
        lambda pair: [
            Rating(criterion=name, score=score, evidence="shipped on time")
            for name, score in zip(["Delivery", "Collaboration"], pair, strict=True)
        ]
    ),
    st.lists(
        st.builds(
            Rating,
            criterion=st.sampled_from(["Delivery", "Collaboration", "Charm"]),
            score=scores,
            evidence=st.sampled_from(["", "shipped on time"]),
        ),
        max_size=3,
    ),
)
reasons = st.sampled_from(["because", "agreed", "noted", ""])  # mostly given: walks go on
ARGS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "open": st.just({}),
    "submit_self_review": st.fixed_dictionaries({"ratings": rating_lists}),
    "skip_self_review": st.fixed_dictionaries({"reason": reasons}),
    "request_feedback": st.fixed_dictionaries(
        {"reviewer_id": ids, "relationship": st.sampled_from([*Relationship, "friend"])}
    ),
    "give_feedback": st.fixed_dictionaries(
        {"scores": st.dictionaries(st.sampled_from(["Delivery", "Collaboration"]), scores)}
    ),
    "decline_feedback": st.fixed_dictionaries({"reason": reasons}),
    "waive_feedback": st.fixed_dictionaries({"reason": reasons}),
    "submit_manager_review": st.fixed_dictionaries({"ratings": rating_lists}),
    "calibrate": st.fixed_dictionaries(
        {
            "criterion": st.sampled_from(["Delivery", "Collaboration", "Charm"]),
            "score": st.one_of(st.none(), scores),
            "reason": reasons,
        }
    ),
    "finalize": st.just({}),
    "acknowledge": st.fixed_dictionaries({"comment": reasons}),
    "dispute": st.fixed_dictionaries({"reason": reasons}),
    "resolve_dispute": st.fixed_dictionaries({"resolution": reasons, "reopen": st.booleans()}),
    # Only ever refused here (its evaluator already, or the subject), so that the walk's
    # readers stay who they are; tests/unit/test_reassignment.py moves evaluations.
    "reassign": st.fixed_dictionaries(
        {"evaluator_id": st.sampled_from([EVALUATOR.id, SUBJECT.id]), "reason": reasons}
    ),
}
lenient = Policy(evaluation=EvaluationPolicy(min_feedback_responses=0))
policies = st.sampled_from([None, lenient])
moments = st.sampled_from([AT, AT.replace(tzinfo=None)])  # naive: always refused


def _step(evaluation: Evaluation, data: st.DataObject) -> Evaluation:
    """One command, mostly one the table and policy allow now; checks what must hold."""
    plausible = data.draw(st.integers(0, 9), label="plausible") > 0
    state = str(evaluation.state)
    triggers = LIFECYCLE.triggers_from(state) if plausible else LIFECYCLE.triggers
    trigger = data.draw(st.sampled_from(triggers or LIFECYCLE.triggers), label="trigger")
    allowed = [p for p in PEOPLE if trigger in evaluation.allowed_triggers(p)]
    by = data.draw(st.sampled_from(allowed if plausible and allowed else PEOPLE), label="by")
    args = data.draw(ARGS[trigger], label="args")
    policy = data.draw(policies, label="policy")
    at = data.draw(moments, label="at")
    before = attrs.evolve(evaluation)
    try:
        after: Evaluation = getattr(evaluation, trigger)(by=by, at=at, policy=policy, **args)
    except PerfcoreError:
        assert evaluation == before  # a refused command changes nothing
        return evaluation
    assert evaluation == before
    event = after.history[-1]
    assert (event.trigger, event.from_state, event.to_state) in TABLE
    assert (after.version, event.actor_id) == (evaluation.version + 1, by.id)
    return after


def _check_invariants(evaluation: Evaluation) -> None:
    reviewers = [request.reviewer_id for request in evaluation.feedback_requests]
    assert len(reviewers) == len(set(reviewers))
    assert not {evaluation.subject_id, evaluation.evaluator_id} & set(reviewers)
    answered = [r.reviewer_id for r in evaluation.feedback_responses] + [
        d.reviewer_id for d in evaluation.feedback_declines
    ]
    assert len(answered) == len(set(answered))
    assert set(answered) <= set(reviewers)
    assert all(note.by not in {"ana", "ben"} for note in evaluation.calibration_notes)
    score = evaluation.final_score()
    if score is not None:
        assert evaluation.scale.min <= score <= evaluation.scale.max


@given(data=st.data())
def test_random_commands_keep_to_the_table_and_replay(data: st.DataObject) -> None:
    evaluation = EvaluationDriver().create()
    for _ in range(data.draw(st.integers(0, 40), label="length")):
        evaluation = _step(evaluation, data)
        _check_invariants(evaluation)
    assert Evaluation.replay(evaluation.history) == evaluation
    for person in PEOPLE:
        try:
            view = evaluation.view_for(person)
        except PerfcoreError:
            assert person.id.startswith(REVIEWER)
            assert evaluation.relationship_of(person.id) is None
            continue
        if isinstance(view, SubjectView):
            assert not [x for x in _leaves(view) if isinstance(x, str) and REVIEWER in x]
