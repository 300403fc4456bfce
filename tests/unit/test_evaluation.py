"""Evaluation: each guard and policy rule both ways, bad input, scores, views and replay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from functools import partial
from typing import Any

import attrs
import pytest

from perfcore import (
    Actor,
    EvaluationPolicy,
    GuardFailed,
    PermissionDenied,
    Policy,
    Role,
    ScoreWeights,
    TransitionNotAllowed,
    ValidationError,
    lifecycle_of,
)
from perfcore._codec import to_json_data
from perfcore.evaluation import (
    CriterionSnapshot,
    Evaluation,
    EvaluationState,
    FeedbackStatus,
    Rating,
    RatingScale,
    Relationship,
)
from perfcore.job_description import Criterion
from perfcore.testing.drivers import driver_for
from perfcore.testing.drivers.evaluation import (
    CRITERIA,
    EVALUATOR,
    HR,
    PERIOD_END,
    PERIOD_START,
    SUBJECT,
    EvaluationDriver,
    ratings,
)
from perfcore.visibility import (
    DeclineShown,
    DisputeShown,
    FeedbackGroup,
    RatingShown,
    ResolutionShown,
    ReviewerView,
    SubjectView,
)

AT = dt.datetime(2026, 1, 6, 9, tzinfo=dt.UTC)
STRANGER = Actor(id="zed", roles={Role.MANAGER})
HR_2 = Actor(id="hugo", roles={Role.HR})
#: An evaluator who also holds the HR role (a small company's HR manager).
HR_EVALUATOR = Actor(id="ben", roles={Role.MANAGER, Role.HR})
DRIVER = EvaluationDriver()


def scheduled(**changes: Any) -> Evaluation:
    fields: dict[str, Any] = {
        "id": "ev-1",
        "by": EVALUATOR,
        "at": AT,
        "subject_id": SUBJECT.id,
        "evaluator_id": EVALUATOR.id,
        "job_description_id": "jd-1",
        "job_description_number": 2,
        "criteria": CRITERIA,
        "period_start": PERIOD_START,
        "period_end": PERIOD_END,
    }
    fields.update(changes)
    return Evaluation.create(**fields)


def in_manager_review(**changes: Any) -> Evaluation:
    return (
        scheduled(**changes)
        .open(by=EVALUATOR, at=AT)
        .submit_self_review(by=SUBJECT, at=AT, ratings=ratings())
    )


def with_feedback(
    evaluation: Evaluation,
    scores: Mapping[str, Any],
    relationship: str = "peer",
    reviewer_id: str | None = None,
) -> Evaluation:
    reviewer_id = reviewer_id or f"reviewer-{len(evaluation.feedback_requests) + 1}"
    evaluation = evaluation.request_feedback(
        by=EVALUATOR, at=AT, reviewer_id=reviewer_id, relationship=relationship
    )
    return evaluation.give_feedback(by=Actor(id=reviewer_id), at=AT, scores=scores)


def manager_ratings(**scores: int) -> list[Rating]:
    """The manager's ratings: 4 on each criterion unless given, each with evidence."""
    return [
        Rating(criterion=name, score=scores.get(name, 4), evidence=f"evidence on {name}")
        for name in CRITERIA
    ]


def in_calibration(
    feedback: tuple[Mapping[str, Any], ...] = ({"Delivery": 4}, {"Delivery": 4}),
    manager: Mapping[str, int] | None = None,
    **changes: Any,
) -> Evaluation:
    evaluation = in_manager_review(**changes)
    for scores in feedback:
        evaluation = with_feedback(evaluation, scores)
    return evaluation.submit_manager_review(
        by=EVALUATOR, at=AT, ratings=manager_ratings(**(manager or {}))
    )


def finalized(**kwargs: Any) -> Evaluation:
    return in_calibration(**kwargs).finalize(by=HR, at=AT)


def refused(
    error: type[Exception], command: Callable[[], Evaluation], evaluation: Evaluation
) -> pytest.ExceptionInfo[Any]:
    """Run ``command``, expect ``error``, and check that ``evaluation`` did not change."""
    before = attrs.evolve(evaluation)
    with pytest.raises(error) as raised:
        command()
    assert evaluation == before
    return raised


# -- the table ----------------------------------------------------------------------------------


def test_the_table_as_written_in_the_issue() -> None:
    lifecycle = lifecycle_of(Evaluation)
    assert lifecycle.states == (
        "scheduled",
        "self_review",
        "manager_review",
        "calibration",
        "finalized",
        "acknowledged",
        "disputed",
    )
    loops = {
        (trigger, state, state)
        for trigger in ("request_feedback", "give_feedback", "decline_feedback")
        for state in ("self_review", "manager_review")
    }
    assert set(lifecycle.transitions) == loops | {
        ("open", "scheduled", "self_review"),
        ("submit_self_review", "self_review", "manager_review"),
        ("skip_self_review", "self_review", "manager_review"),
        ("waive_feedback", "manager_review", "manager_review"),
        ("submit_manager_review", "manager_review", "calibration"),
        ("calibrate", "calibration", "calibration"),
        ("finalize", "calibration", "finalized"),
        ("acknowledge", "finalized", "acknowledged"),
        ("dispute", "finalized", "disputed"),
        ("resolve_dispute", "disputed", "finalized"),
        ("resolve_dispute", "disputed", "calibration"),
        *(("reassign", state, state) for state in ("scheduled", "self_review", "manager_review")),
    }
    assert lifecycle.terminal_states == ("acknowledged",)


# -- creating -----------------------------------------------------------------------------------


def test_creation_is_the_first_event_with_a_snapshot_of_the_criteria() -> None:
    evaluation = scheduled(cycle_id="2026")
    assert (evaluation.state, evaluation.version) == (EvaluationState.SCHEDULED, 1)
    assert evaluation.criteria == (
        CriterionSnapshot(name="Delivery", weight=60),
        CriterionSnapshot(name="Collaboration", weight=40),
    )
    assert evaluation.scale == RatingScale(min=1, max=5)
    assert (evaluation.job_description_id, evaluation.job_description_number) == ("jd-1", 2)
    (event,) = evaluation.history
    assert (event.trigger, event.to_state, event.actor_id) == ("create", "scheduled", "ben")
    assert event.payload["set"]["criteria"][0] == {
        "name": "Delivery",
        "weight": "60",
        "safety_critical": False,
        "required_score": None,
    }
    assert Evaluation.replay(evaluation.history) == evaluation


def test_a_job_descriptions_criteria_are_snapshotted_by_name_and_weight() -> None:
    criteria = [
        Criterion(name="Reply time", weight=70, measured_by="median", required_level="4h"),
        Criterion(name="Quality", weight=30, measured_by="audits", required_level="95%"),
    ]
    evaluation = scheduled(criteria=criteria)
    assert evaluation.criterion_weights == {"Reply time": Decimal(70), "Quality": Decimal(30)}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"evaluator_id": "ana"}, "evaluator_id"),
        ({"period_end": PERIOD_START - dt.timedelta(days=1)}, "period_end"),
        ({"period_start": dt.datetime(2025, 1, 1, tzinfo=dt.UTC)}, "period_start"),
        ({"criteria": {}}, "criteria"),
        ({"criteria": {"Delivery": 50, "delivery": 50}}, "criteria"),
        ({"criteria": {"Delivery": 0}}, "criteria"),
        ({"criteria": {"Delivery": -1}}, "weight"),
        ({"criteria": "Delivery"}, "criteria"),
        ({"job_description_number": 0}, "job_description_number"),
        ({"scale": RatingScale(min=1, max=10), "subject_is_manager": "yes"}, "subject_is_manager"),
        ({"at": dt.datetime(2026, 1, 6, 9)}, "at"),
        ({"subject_id": " "}, "subject_id"),
    ],
)
def test_bad_fields_are_refused_by_name(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        scheduled(**changes)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max": 1}, "max"),
        ({"min": True}, "min"),
        ({"labels": ("low", "high")}, "labels"),
        ({"labels": ("a", "b", "", "d", "e")}, "labels[2]"),
    ],
)
def test_a_rating_scale_has_points_and_a_label_for_each_or_none(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        RatingScale(**changes)
    assert raised.value.field == field


def test_a_rating_scale_holds_whole_points() -> None:
    scale = RatingScale(min=0, max=2, labels=["below", "meets", "above"])
    assert [scale.contains(Decimal(s)) for s in ("-1", "0", "1.5", "2", "2.0", "3")] == [
        False,
        True,
        False,
        True,
        True,
        False,
    ]
    assert (scale.label(Decimal(1)), scale.label(Decimal("1.5"))) == ("meets", None)
    assert RatingScale().label(Decimal(3)) is None


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [(EVALUATOR, True), (HR, True), (SUBJECT, False), (STRANGER, False)],
)
def test_who_may_schedule(actor: Actor, allowed: bool) -> None:
    if allowed:
        assert scheduled(by=actor).created_by == actor.id
    else:
        with pytest.raises(PermissionDenied, match="the evaluator or HR, never the subject"):
            scheduled(by=actor)


def test_the_subject_never_schedules_their_own_evaluation_even_as_hr() -> None:
    with pytest.raises(PermissionDenied):
        scheduled(by=Actor(id="ana", roles={Role.HR}))


# -- open ---------------------------------------------------------------------------------------


def test_open_waits_for_the_end_of_the_period() -> None:
    evaluation = scheduled()
    early = dt.datetime.combine(PERIOD_END - dt.timedelta(days=1), dt.time(17), tzinfo=dt.UTC)
    raised = refused(GuardFailed, lambda: evaluation.open(by=EVALUATOR, at=early), evaluation)
    assert raised.value.rule == "period ended"
    assert f"the period runs until {PERIOD_END}" in raised.value.why
    on_the_day = dt.datetime.combine(PERIOD_END, dt.time(9), tzinfo=dt.UTC)
    assert evaluation.open(by=EVALUATOR, at=on_the_day).state is EvaluationState.SELF_REVIEW


def test_the_policy_may_allow_an_early_open() -> None:
    policy = Policy(evaluation=EvaluationPolicy(allow_early_open=True))
    early = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    assert scheduled().open(by=HR, at=early, policy=policy).state == "self_review"


@pytest.mark.parametrize(("actor", "allowed"), [(EVALUATOR, True), (HR, True), (SUBJECT, False)])
def test_who_may_open(actor: Actor, allowed: bool) -> None:
    evaluation = scheduled()
    if allowed:
        assert evaluation.open(by=actor, at=AT).history[-1].actor_id == actor.id
    else:
        refused(PermissionDenied, lambda: evaluation.open(by=actor, at=AT), evaluation)


# -- the self review ----------------------------------------------------------------------------


def test_the_subject_submits_a_self_review_of_every_criterion() -> None:
    evaluation = scheduled().open(by=EVALUATOR, at=AT)
    partial = [Rating(criterion="Delivery", score=3)]
    raised = refused(
        GuardFailed,
        lambda: evaluation.submit_self_review(by=SUBJECT, at=AT, ratings=partial),
        evaluation,
    )
    assert raised.value.rule == "every criterion rated"
    assert raised.value.why == "every criterion must be rated; not rated: Collaboration"
    done = evaluation.submit_self_review(by=SUBJECT, at=AT, ratings=ratings())
    assert done.state is EvaluationState.MANAGER_REVIEW
    assert [r.score for r in done.self_ratings] == [4, 4]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ([Rating(criterion="Delivery", score=6), Rating(criterion="Collaboration", score=4)],
         "self_ratings[0].score"),
        ([Rating(criterion="Delivery", score=0), Rating(criterion="Collaboration", score=4)],
         "self_ratings[0].score"),
        ([Rating(criterion="Delivery", score="3.5"), Rating(criterion="Collaboration", score=4)],
         "self_ratings[0].score"),
        ([*ratings(), Rating(criterion="Charm", score=4)], "self_ratings[2].criterion"),
        ([*ratings(), Rating(criterion="Delivery", score=2)], "self_ratings[2].criterion"),
        ({"Delivery": 4}, "ratings"),
        ([("Delivery", 4)], "ratings"),
    ],
)  # fmt: skip
def test_bad_self_ratings_are_refused_and_change_nothing(given: Any, field: str) -> None:
    evaluation = scheduled().open(by=EVALUATOR, at=AT)
    raised = refused(
        ValidationError,
        lambda: evaluation.submit_self_review(by=SUBJECT, at=AT, ratings=given),
        evaluation,
    )
    assert raised.value.field == field


@pytest.mark.parametrize("actor", [EVALUATOR, HR, STRANGER])
def test_only_the_subject_submits_the_self_review(actor: Actor) -> None:
    evaluation = scheduled().open(by=EVALUATOR, at=AT)
    raised = refused(
        PermissionDenied,
        lambda: evaluation.submit_self_review(by=actor, at=AT, ratings=ratings()),
        evaluation,
    )
    assert raised.value.rule == "the subject"


def test_the_evaluator_or_hr_may_skip_the_self_review_with_a_reason() -> None:
    evaluation = scheduled().open(by=EVALUATOR, at=AT)
    refused(
        ValidationError,
        lambda: evaluation.skip_self_review(by=HR, at=AT, reason=" "),
        evaluation,
    )
    refused(
        PermissionDenied,
        lambda: evaluation.skip_self_review(by=SUBJECT, at=AT, reason="busy"),
        evaluation,
    )
    skipped = evaluation.skip_self_review(by=HR, at=AT, reason="on leave")
    assert (skipped.state, skipped.self_ratings) == (EvaluationState.MANAGER_REVIEW, ())
    assert skipped.history[-1].reason == "on leave"


# -- feedback -----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["self_review", "manager_review"])
def test_feedback_is_requested_and_given_in_either_review(state: str) -> None:
    evaluation = DRIVER.reach(state)
    evaluation = evaluation.request_feedback(
        by=HR, at=AT, reviewer_id="cy", relationship=Relationship.DIRECT_REPORT
    )
    assert evaluation.request_status("cy") is FeedbackStatus.REQUESTED
    assert evaluation.pending_reviewer_ids == {"cy"}
    evaluation = evaluation.give_feedback(
        by=Actor(id="cy"), at=AT, scores={"Delivery": 2}, comment="late twice"
    )
    assert evaluation.state == state
    assert evaluation.request_status("cy") is FeedbackStatus.GIVEN
    assert evaluation.pending_reviewer_ids == frozenset()
    (response,) = evaluation.feedback_responses
    assert (response.reviewer_id, response.comment) == ("cy", "late twice")
    assert response.scores == (Rating(criterion="Delivery", score=2),)
    assert evaluation.relationship_of("cy") is Relationship.DIRECT_REPORT


@pytest.mark.parametrize(
    ("reviewer_id", "rule", "why"),
    [
        ("ana", "reviewer not the subject", "the subject cannot give feedback on themselves"),
        ("ben", "reviewer not the evaluator", "the evaluator gives the manager review"),
        ("peer-1", "asked once", "peer-1 was already asked, on 2026-01-06"),
    ],
)
def test_request_feedback_guards(reviewer_id: str, rule: str, why: str) -> None:
    evaluation = DRIVER.fire(DRIVER.reach("self_review"), "request_feedback")
    raised = refused(
        GuardFailed,
        lambda: evaluation.request_feedback(
            by=EVALUATOR, at=AT, reviewer_id=reviewer_id, relationship="peer"
        ),
        evaluation,
    )
    assert raised.value.rule == rule
    assert why in raised.value.why


def test_request_feedback_refuses_bad_input_and_the_subject() -> None:
    evaluation = DRIVER.reach("self_review")
    raised = refused(
        ValidationError,
        lambda: evaluation.request_feedback(
            by=EVALUATOR, at=AT, reviewer_id="cy", relationship="friend"
        ),
        evaluation,
    )
    assert raised.value.field == "relationship"
    refused(
        PermissionDenied,
        lambda: evaluation.request_feedback(
            by=SUBJECT, at=AT, reviewer_id="cy", relationship="peer"
        ),
        evaluation,
    )


def test_only_a_requested_reviewer_answers_and_only_once() -> None:
    evaluation = DRIVER.reach("self_review").request_feedback(
        by=EVALUATOR, at=AT, reviewer_id="cy", relationship="peer"
    )
    for actor in (Actor(id="dee"), SUBJECT, EVALUATOR, HR):
        raised = refused(
            PermissionDenied,
            partial(evaluation.give_feedback, by=actor, at=AT, scores={"Delivery": 3}),
            evaluation,
        )
        assert raised.value.rule == "a reviewer who was asked and has not answered yet"
    answered = evaluation.give_feedback(by=Actor(id="cy"), at=AT, scores={"Delivery": 3})
    refused(
        PermissionDenied,
        lambda: answered.give_feedback(by=Actor(id="cy"), at=AT, scores={"Delivery": 5}),
        answered,
    )
    refused(
        PermissionDenied,
        lambda: answered.decline_feedback(by=Actor(id="cy"), at=AT, reason="changed my mind"),
        answered,
    )


def test_a_reviewer_may_decline_with_a_reason_and_then_not_answer() -> None:
    evaluation = DRIVER.reach("manager_review").request_feedback(
        by=EVALUATOR, at=AT, reviewer_id="cy", relationship="other"
    )
    cy = Actor(id="cy")
    refused(
        ValidationError,
        lambda: evaluation.decline_feedback(by=cy, at=AT, reason=""),
        evaluation,
    )
    declined = evaluation.decline_feedback(by=cy, at=AT, reason="never worked together")
    assert declined.request_status("cy") is FeedbackStatus.DECLINED
    assert declined.feedback_declines[0].reason == "never worked together"
    refused(
        PermissionDenied,
        lambda: declined.give_feedback(by=cy, at=AT, scores={"Delivery": 3}),
        declined,
    )
    assert declined.request_status("nobody") is None


@pytest.mark.parametrize(
    ("scores", "field"),
    [
        ({}, "scores"),
        ([("Delivery", 3)], "scores"),
        ({"Delivery": 9}, "feedback_responses[0].scores[0].score"),
        ({"Charm": 3}, "feedback_responses[0].scores[0].criterion"),
        ({"Delivery": "high"}, "score"),
        ({"": 3}, "criterion"),
    ],
)
def test_bad_feedback_is_refused_and_changes_nothing(scores: Any, field: str) -> None:
    evaluation = DRIVER.reach("self_review").request_feedback(
        by=EVALUATOR, at=AT, reviewer_id="cy", relationship="peer"
    )
    raised = refused(
        ValidationError,
        lambda: evaluation.give_feedback(by=Actor(id="cy"), at=AT, scores=scores),
        evaluation,
    )
    assert raised.value.field == field


def test_feedback_closes_with_the_manager_review() -> None:
    evaluation = DRIVER.reach("calibration")
    refused(
        TransitionNotAllowed,
        lambda: evaluation.request_feedback(
            by=EVALUATOR, at=AT, reviewer_id="cy", relationship="peer"
        ),
        evaluation,
    )


# -- the manager review -------------------------------------------------------------------------


def test_the_manager_review_rates_every_criterion_with_evidence() -> None:
    evaluation = in_manager_review()
    for _ in range(2):
        evaluation = with_feedback(evaluation, {"Delivery": 4})
    no_evidence = [Rating(criterion=name, score=4, evidence=" ") for name in CRITERIA]
    raised = refused(
        ValidationError,
        lambda: evaluation.submit_manager_review(by=EVALUATOR, at=AT, ratings=no_evidence),
        evaluation,
    )
    assert raised.value.field == "manager_ratings[0].evidence"
    partial = manager_ratings()[:1]
    raised = refused(
        GuardFailed,
        lambda: evaluation.submit_manager_review(by=EVALUATOR, at=AT, ratings=partial),
        evaluation,
    )
    assert raised.value.rule == "every criterion rated"
    done = evaluation.submit_manager_review(by=EVALUATOR, at=AT, ratings=manager_ratings())
    assert done.state is EvaluationState.CALIBRATION


def test_the_manager_review_needs_the_feedback_minimum() -> None:
    evaluation = with_feedback(in_manager_review(), {"Delivery": 4})
    raised = refused(
        GuardFailed,
        lambda: evaluation.submit_manager_review(by=EVALUATOR, at=AT, ratings=manager_ratings()),
        evaluation,
    )
    assert raised.value.rule == "enough feedback"
    assert raised.value.why == (
        "2 feedback responses are needed, 1 given (or HR waives the feedback, with a reason)"
    )
    lenient = Policy(evaluation=EvaluationPolicy(min_feedback_responses=1))
    assert evaluation.submit_manager_review(
        by=EVALUATOR, at=AT, ratings=manager_ratings(), policy=lenient
    ).state == ("calibration")


def test_a_declined_request_is_not_a_response() -> None:
    evaluation = with_feedback(in_manager_review(), {"Delivery": 4})
    evaluation = evaluation.request_feedback(
        by=EVALUATOR, at=AT, reviewer_id="cy", relationship="peer"
    ).decline_feedback(by=Actor(id="cy"), at=AT, reason="no time")
    with pytest.raises(GuardFailed, match="1 given"):
        evaluation.submit_manager_review(by=EVALUATOR, at=AT, ratings=manager_ratings())


def test_a_manager_subject_needs_feedback_from_direct_reports() -> None:
    evaluation = in_manager_review(subject_is_manager=True)
    for _ in range(3):
        evaluation = with_feedback(evaluation, {"Delivery": 4}, "peer")
    evaluation = with_feedback(evaluation, {"Delivery": 4}, "direct_report")
    with pytest.raises(GuardFailed) as raised:
        evaluation.submit_manager_review(by=EVALUATOR, at=AT, ratings=manager_ratings())
    assert "a manager's evaluation needs 2 responses from direct reports, 1 given" in (
        raised.value.why
    )
    evaluation = with_feedback(evaluation, {"Delivery": 4}, "direct_report")
    done = evaluation.submit_manager_review(by=EVALUATOR, at=AT, ratings=manager_ratings())
    assert done.state is EvaluationState.CALIBRATION


def test_hr_may_waive_the_feedback_with_a_reason_once() -> None:
    evaluation = in_manager_review(subject_is_manager=True)
    refused(
        ValidationError,
        lambda: evaluation.waive_feedback(by=HR, at=AT, reason=""),
        evaluation,
    )
    for actor in (EVALUATOR, SUBJECT, Actor(id="ana", roles={Role.HR})):
        refused(
            PermissionDenied,
            partial(evaluation.waive_feedback, by=actor, at=AT, reason="new team"),
            evaluation,
        )
    waived = evaluation.waive_feedback(by=HR, at=AT, reason="a new team")
    assert (waived.feedback_waiver.by, waived.feedback_waiver.reason) == ("hana", "a new team")  # type: ignore[union-attr]
    raised = refused(
        GuardFailed, lambda: waived.waive_feedback(by=HR_2, at=AT, reason="again"), waived
    )
    assert raised.value.why == "feedback was already waived by hana on 2026-01-06"
    done = waived.submit_manager_review(by=EVALUATOR, at=AT, ratings=manager_ratings())
    assert done.state is EvaluationState.CALIBRATION


def test_feedback_is_waived_only_in_the_manager_review() -> None:
    evaluation = DRIVER.reach("self_review")
    refused(
        TransitionNotAllowed,
        lambda: evaluation.waive_feedback(by=HR, at=AT, reason="a new team"),
        evaluation,
    )


@pytest.mark.parametrize("actor", [HR, SUBJECT, STRANGER])
def test_only_the_evaluator_submits_the_manager_review(actor: Actor) -> None:
    evaluation = in_manager_review().waive_feedback(by=HR, at=AT, reason="a new team")
    raised = refused(
        PermissionDenied,
        lambda: evaluation.submit_manager_review(by=actor, at=AT, ratings=manager_ratings()),
        evaluation,
    )
    assert raised.value.rule == "the evaluator"


# -- calibration and finalisation ---------------------------------------------------------------


def test_hr_calibrates_a_criterion_with_a_reason() -> None:
    evaluation = in_calibration()
    adjusted = evaluation.calibrate(
        by=HR, at=AT, criterion="Delivery", score=3, reason="two late releases"
    )
    assert adjusted.calibrated_scores == {"Delivery": 3, "Collaboration": 4}
    kept = adjusted.calibrate(by=HR, at=AT, criterion="Delivery", score=None, reason="agreed")
    assert kept.calibrated_scores == {"Delivery": 3, "Collaboration": 4}
    note = kept.calibration_notes[-1]
    assert (note.criterion, note.score, note.reason, note.by) == (
        "Delivery",
        None,
        "agreed",
        "hana",
    )
    assert [r.score for r in kept.manager_ratings] == [4, 4]  # the manager's own stay on record


@pytest.mark.parametrize(
    ("criterion", "score", "reason", "field"),
    [
        ("Charm", 3, "why", "calibration_notes[0].criterion"),
        ("Delivery", 7, "why", "calibration_notes[0].score"),
        ("Delivery", 3, " ", "reason"),
        ("Delivery", "x", "why", "score"),
    ],
)
def test_bad_calibrations_are_refused(criterion: str, score: Any, reason: str, field: str) -> None:
    evaluation = in_calibration()
    raised = refused(
        ValidationError,
        lambda: evaluation.calibrate(by=HR, at=AT, criterion=criterion, score=score, reason=reason),
        evaluation,
    )
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (HR, True),
        (EVALUATOR, False),
        (HR_EVALUATOR, False),  # segregation of duties: never one's own ratings
        (Actor(id="ana", roles={Role.HR}), False),
        (STRANGER, False),
    ],
)
def test_who_may_calibrate(actor: Actor, allowed: bool) -> None:
    evaluation = in_calibration()

    def calibrate() -> Evaluation:
        return evaluation.calibrate(by=actor, at=AT, criterion="Delivery", score=3, reason="r")

    if allowed:
        assert calibrate().version == evaluation.version + 1
    else:
        raised = refused(PermissionDenied, calibrate, evaluation)
        assert raised.value.rule == "HR, never the subject, never the evaluator"


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [(HR, True), (HR_EVALUATOR, False), (EVALUATOR, False), (Actor(id="ana", roles={"hr"}), False)],
)
def test_who_may_finalize(actor: Actor, allowed: bool) -> None:
    evaluation = in_calibration()
    if allowed:
        assert evaluation.finalize(by=actor, at=AT).state is EvaluationState.FINALIZED
    else:
        refused(PermissionDenied, lambda: evaluation.finalize(by=actor, at=AT), evaluation)


def test_a_divergence_blocks_finalisation_until_noted() -> None:
    feedback = ({"Delivery": 1, "Collaboration": 2}, {"Delivery": 2, "Collaboration": 2})
    evaluation = in_calibration(feedback=feedback, manager={"Delivery": 4, "Collaboration": 4})
    assert [d.criterion for d in evaluation.divergences()] == ["Delivery", "Collaboration"]
    raised = refused(GuardFailed, lambda: evaluation.finalize(by=HR, at=AT), evaluation)
    assert raised.value.rule == "divergences noted"
    assert raised.value.why == (
        "the manager's score is too far from the feedback on Delivery (manager 4, feedback mean"
        " 1.50), Collaboration (manager 4, feedback mean 2.00): each needs a calibration note"
        " first"
    )
    noted = evaluation.calibrate(
        by=HR, at=AT, criterion="Delivery", score=None, reason="peers saw only Q4"
    )
    with pytest.raises(GuardFailed) as still:
        noted.finalize(by=HR, at=AT)
    assert "Delivery" not in still.value.why
    assert "Collaboration (manager 4" in still.value.why
    noted = noted.calibrate(by=HR, at=AT, criterion="Collaboration", score=3, reason="agreed")
    assert noted.unresolved_divergences() == ()
    assert noted.finalize(by=HR, at=AT).state is EvaluationState.FINALIZED


def test_a_difference_of_exactly_the_threshold_does_not_diverge() -> None:
    feedback = ({"Delivery": 2}, {"Delivery": 3})  # mean 2.5; the manager gives 4
    evaluation = in_calibration(feedback=feedback, manager={"Delivery": 4})
    assert evaluation.divergences() == ()
    strict = Policy(evaluation=EvaluationPolicy(divergence_threshold=Decimal("1.4")))
    assert [d.criterion for d in evaluation.divergences(strict)] == ["Delivery"]
    with pytest.raises(GuardFailed, match="Delivery"):
        evaluation.finalize(by=HR, at=AT, policy=strict)


def test_the_threshold_scales_with_the_rating_scale() -> None:
    feedback = ({"Delivery": 4}, {"Delivery": 4})
    ten = RatingScale(min=1, max=10)  # 1.5 points on 1..5 is 3.375 on 1..10
    close = in_calibration(feedback=feedback, manager={"Delivery": 7}, scale=ten)
    assert close.divergences() == ()
    far = in_calibration(feedback=feedback, manager={"Delivery": 8}, scale=ten)
    assert [d.difference for d in far.divergences()] == [Decimal(4)]


def test_a_criterion_without_feedback_never_diverges() -> None:
    evaluation = in_calibration(feedback=({"Delivery": 4}, {"Delivery": 4}))
    assert evaluation.feedback_scores()["Collaboration"] == []
    evaluation = in_calibration(manager={"Collaboration": 1})
    assert evaluation.divergences() == ()


def test_finalize_needs_a_component_that_counts() -> None:
    evaluation = in_calibration()
    only_self = Policy(evaluation=EvaluationPolicy(weights=ScoreWeights(self_review=0, manager=0)))
    raised = refused(
        GuardFailed, lambda: evaluation.finalize(by=HR, at=AT, policy=only_self), evaluation
    )
    assert raised.value.rule == "score computable"


# -- the final score ----------------------------------------------------------------------------


def test_the_final_score_is_the_weighted_calibrated_manager_score_by_default() -> None:
    evaluation = in_calibration(manager={"Delivery": 5, "Collaboration": 2})
    assert evaluation.final_score() == Decimal("3.8")  # (60*5 + 40*2) / 100
    evaluation = evaluation.calibrate(by=HR, at=AT, criterion="Delivery", score=4, reason="r")
    assert evaluation.final_score() == Decimal("3.2")
    assert scheduled().final_score() is None
    assert DRIVER.reach("manager_review").final_score() is None


def test_the_final_score_combines_the_components_by_the_policys_weights() -> None:
    feedback = ({"Delivery": 2, "Collaboration": 3}, {"Delivery": 3})
    evaluation = in_calibration(feedback=feedback, manager={"Delivery": 5, "Collaboration": 2})
    policy = Policy(
        evaluation=EvaluationPolicy(weights=ScoreWeights(self_review=1, manager=2, feedback=1))
    )
    # self 4; manager 3.8; feedback: Delivery mean 2.5, Collaboration 3 -> (150 + 120) / 100
    assert evaluation.final_score(policy) == Decimal("3.575")  # (4 + 2 * 3.8 + 2.7) / 4
    skipped = (
        scheduled()
        .open(by=EVALUATOR, at=AT)
        .skip_self_review(by=EVALUATOR, at=AT, reason="on leave")
    )
    for scores in feedback:
        skipped = with_feedback(skipped, scores)
    skipped = skipped.submit_manager_review(
        by=EVALUATOR, at=AT, ratings=manager_ratings(Delivery=5, Collaboration=2)
    )
    # no self review: its weight is dropped, the others renormalised: (2 * 3.8 + 2.7) / 3
    assert skipped.final_score(policy) == Decimal("10.3") / 3


def test_the_final_score_keeps_the_weights_it_was_finalized_with() -> None:
    feedback = ({"Delivery": 2, "Collaboration": 3}, {"Delivery": 3})
    mixed = Policy(evaluation=EvaluationPolicy(weights=ScoreWeights(manager=1, feedback=1)))
    evaluation = in_calibration(feedback=feedback, manager={"Delivery": 4, "Collaboration": 3})
    final = evaluation.finalize(by=HR, at=AT, policy=mixed)
    assert final.score_weights == ScoreWeights(manager=1, feedback=1)
    assert final.final_score() == final.final_score(mixed) == Decimal("3.15")  # (3.6 + 2.7) / 2
    disputed = final.dispute(by=SUBJECT, at=AT, reason="unfair")
    reopened = disputed.resolve_dispute(by=HR, at=AT, resolution="look again", reopen=True)
    assert reopened.score_weights is None
    assert reopened.final_score() == Decimal("3.6")  # the default policy's weights again
    assert Evaluation.replay(reopened.history) == reopened


# -- acknowledge, dispute, resolve --------------------------------------------------------------


def test_the_subject_acknowledges_with_an_optional_comment() -> None:
    evaluation = finalized()
    for actor in (EVALUATOR, HR):
        refused(
            PermissionDenied,
            partial(evaluation.acknowledge, by=actor, at=AT),
            evaluation,
        )
    done = evaluation.acknowledge(by=SUBJECT, at=AT, comment="fair")
    assert done.state is EvaluationState.ACKNOWLEDGED
    assert (done.acknowledgement.by, done.acknowledgement.comment) == ("ana", "fair")  # type: ignore[union-attr]
    assert evaluation.acknowledge(by=SUBJECT, at=AT).acknowledgement.comment == ""  # type: ignore[union-attr]


def test_the_subject_disputes_with_a_reason() -> None:
    evaluation = finalized()
    refused(ValidationError, lambda: evaluation.dispute(by=SUBJECT, at=AT, reason=""), evaluation)
    refused(
        PermissionDenied, lambda: evaluation.dispute(by=EVALUATOR, at=AT, reason="x"), evaluation
    )
    disputed = evaluation.dispute(by=SUBJECT, at=AT, reason="my on-call work is missing")
    assert disputed.state is EvaluationState.DISPUTED
    assert disputed.disputes[0].reason == "my on-call work is missing"


@pytest.mark.parametrize(("reopen", "state"), [(False, "finalized"), (True, "calibration")])
def test_hr_resolves_a_dispute_keeping_or_reopening_it(reopen: bool, state: str) -> None:
    evaluation = finalized().dispute(by=SUBJECT, at=AT, reason="unfair")
    resolved = evaluation.resolve_dispute(by=HR, at=AT, resolution="reviewed", reopen=reopen)
    assert resolved.state == state
    assert resolved.resolutions[0].reopened is reopen
    assert resolved.history[-1].reason == "reviewed"


def test_bad_resolutions_are_refused() -> None:
    evaluation = finalized().dispute(by=SUBJECT, at=AT, reason="unfair")
    refused(
        ValidationError,
        lambda: evaluation.resolve_dispute(by=HR, at=AT, resolution=" "),
        evaluation,
    )
    refused(
        ValidationError,
        lambda: evaluation.resolve_dispute(by=HR, at=AT, resolution="ok", reopen="yes"),  # type: ignore[arg-type]
        evaluation,
    )
    for actor in (SUBJECT, Actor(id="ana", roles={Role.HR}), EVALUATOR):
        refused(
            PermissionDenied,
            partial(evaluation.resolve_dispute, by=actor, at=AT, resolution="ok"),
            evaluation,
        )


def test_a_reopened_evaluation_can_be_calibrated_finalized_and_disputed_again() -> None:
    evaluation = finalized().dispute(by=SUBJECT, at=AT, reason="unfair")
    evaluation = evaluation.resolve_dispute(by=HR, at=AT, resolution="look again", reopen=True)
    evaluation = evaluation.calibrate(by=HR, at=AT, criterion="Delivery", score=5, reason="r")
    evaluation = evaluation.finalize(by=HR, at=AT).dispute(by=SUBJECT, at=AT, reason="still")
    evaluation = evaluation.resolve_dispute(by=HR, at=AT, resolution="final")
    assert evaluation.state is EvaluationState.FINALIZED
    assert [d.reason for d in evaluation.disputes] == ["unfair", "still"]
    assert [r.reopened for r in evaluation.resolutions] == [True, False]
    assert Evaluation.replay(evaluation.history) == evaluation


# -- what each reader may see -------------------------------------------------------------------


def _walk(data: Any) -> Iterator[Any]:
    """Every field name, key and value in a view, however deeply nested."""
    if attrs.has(type(data)):
        for field in attrs.fields(type(data)):
            yield field.name
            yield from _walk(getattr(data, field.name))
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield key
            yield from _walk(value)
    elif isinstance(data, tuple | list):
        for item in data:
            yield from _walk(item)
    else:
        yield data


def _three_peers_and_a_report(**changes: Any) -> Evaluation:
    evaluation = in_manager_review(**changes)
    for delivery in (2, 3, 4):
        evaluation = with_feedback(evaluation, {"Delivery": delivery, "Collaboration": 5})
    evaluation = with_feedback(
        evaluation, {"Delivery": 1}, "direct_report", reviewer_id="dora-the-report"
    )
    return evaluation.submit_manager_review(by=EVALUATOR, at=AT, ratings=manager_ratings())


def test_the_subject_sees_nothing_of_the_manager_or_feedback_before_the_result() -> None:
    evaluation = _three_peers_and_a_report()
    view = evaluation.view_for(SUBJECT)
    assert isinstance(view, SubjectView)
    assert view.audience == "subject"
    assert (view.released, view.manager_ratings, view.feedback) == (False, None, None)
    assert view.final_score is None
    assert [r.score for r in view.self_ratings] == [4, 4]
    # Neither the version nor the time of the last change: they would count hidden feedback.
    assert not {"version", "updated_at"} & {field.name for field in attrs.fields(SubjectView)}


def test_the_subject_sees_the_result_and_anonymous_group_averages_once_final() -> None:
    evaluation = _three_peers_and_a_report()
    evaluation = evaluation.calibrate(by=HR, at=AT, criterion="Delivery", score=3, reason="r")
    view = evaluation.finalize(by=HR, at=AT).view_for(SUBJECT)
    assert isinstance(view, SubjectView)
    assert view.manager_ratings == (
        RatingShown(criterion="Delivery", score=Decimal(3), evidence="evidence on Delivery"),
        RatingShown(
            criterion="Collaboration", score=Decimal(4), evidence="evidence on Collaboration"
        ),
    )
    assert view.feedback == (  # the lone direct report is not shown, nor counted anywhere
        FeedbackGroup(
            relationship=Relationship.PEER,
            responses=3,
            averages={"Delivery": Decimal(3), "Collaboration": Decimal(5)},
        ),
    )
    assert view.final_score == Decimal("3.4")
    assert view.final_score_withheld is False
    everything = list(_walk(view))
    assert not {f"reviewer-{n}" for n in (1, 2, 3)} & set(everything)
    assert "dora-the-report" not in everything
    assert "calibration_notes" not in everything
    assert to_json_data(view)["feedback"][0]["averages"] == {"Delivery": "3", "Collaboration": "5"}


def test_a_criterion_too_few_reviewers_scored_is_hidden_within_a_group() -> None:
    evaluation = in_manager_review()
    for scores in ({"Delivery": 2, "Collaboration": 4}, {"Delivery": 3}, {"Delivery": 4}):
        evaluation = with_feedback(evaluation, scores)
    evaluation = evaluation.submit_manager_review(by=EVALUATOR, at=AT, ratings=manager_ratings())
    view = evaluation.finalize(by=HR, at=AT).view_for(SUBJECT)
    assert isinstance(view, SubjectView)
    assert view.feedback is not None
    assert view.feedback[0].averages == {"Delivery": Decimal(3)}


def test_the_final_score_is_withheld_from_the_subject_when_it_holds_hidden_feedback() -> None:
    mixed = Policy(evaluation=EvaluationPolicy(weights=ScoreWeights(manager=3, feedback=1)))
    evaluation = _three_peers_and_a_report().finalize(by=HR, at=AT, policy=mixed)
    view = evaluation.view_for(SUBJECT, mixed)
    assert isinstance(view, SubjectView)
    assert (view.final_score, view.final_score_withheld) == (None, True)
    assert evaluation.view_for(HR, mixed) is evaluation
    lower = Policy(evaluation=EvaluationPolicy(anonymity_threshold=1))
    view = evaluation.view_for(SUBJECT, lower)
    assert isinstance(view, SubjectView)
    assert view.feedback is not None
    assert view.final_score == evaluation.final_score()
    assert [g.relationship for g in view.feedback] == ["peer", "direct_report"]


def test_a_reopened_evaluation_is_hidden_from_the_subject_until_final_again() -> None:
    evaluation = finalized().dispute(by=SUBJECT, at=AT, reason="unfair")
    disputed = evaluation.view_for(SUBJECT)
    assert isinstance(disputed, SubjectView)
    assert disputed.manager_ratings is not None
    reopened = evaluation.resolve_dispute(by=HR, at=AT, resolution="again", reopen=True)
    view = reopened.view_for(SUBJECT)
    assert isinstance(view, SubjectView)
    assert (view.manager_ratings, view.final_score) == (None, None)
    assert view.disputes == (DisputeShown(at=AT, reason="unfair"),)
    assert view.resolutions == (ResolutionShown(at=AT, resolution="again", reopened=True),)


def test_the_subject_sees_the_subject_view_even_as_hr() -> None:
    view = _three_peers_and_a_report().view_for(Actor(id="ana", roles={Role.HR}))
    assert isinstance(view, SubjectView)


def test_a_reviewer_sees_only_their_own_answer() -> None:
    evaluation = _three_peers_and_a_report()
    view = evaluation.view_for(Actor(id="reviewer-2"))
    assert isinstance(view, ReviewerView)
    assert view.audience == "reviewer"
    assert view.response is not None
    assert view.response.scores == {"Delivery": 3, "Collaboration": 5}
    assert (view.relationship, view.status, view.decline) == ("peer", "given", None)
    everything = list(_walk(view))
    assert not {"reviewer-1", "dora-the-report"} & set(everything)
    assert not {"self_ratings", "manager_ratings", "feedback_responses"} & set(everything)
    declined = (
        DRIVER.reach("self_review")
        .request_feedback(by=EVALUATOR, at=AT, reviewer_id="cy", relationship="other")
        .decline_feedback(by=Actor(id="cy"), at=AT, reason="no time")
    )
    view = declined.view_for(Actor(id="cy"))
    assert isinstance(view, ReviewerView)
    assert (view.response, view.decline) == (None, DeclineShown(reason="no time", at=AT))


@pytest.mark.parametrize("actor", [EVALUATOR, HR])
def test_the_evaluator_and_hr_see_everything(actor: Actor) -> None:
    evaluation = _three_peers_and_a_report()
    assert evaluation.view_for(actor) is evaluation


def test_anyone_else_sees_nothing() -> None:
    evaluation = _three_peers_and_a_report()
    with pytest.raises(PermissionDenied) as raised:
        evaluation.view_for(STRANGER)
    assert raised.value.trigger == "view"
    assert raised.value.rule == "the subject, the evaluator, HR or a reviewer who was asked"
    with pytest.raises(ValidationError):
        evaluation.view_for("ana")  # type: ignore[arg-type]


# -- replay -------------------------------------------------------------------------------------


def test_a_full_history_replays_to_the_same_evaluation() -> None:
    evaluation = in_manager_review(subject_is_manager=True, cycle_id="2026")
    evaluation = evaluation.request_feedback(
        by=HR, at=AT, reviewer_id="cy", relationship="direct_report"
    ).decline_feedback(by=Actor(id="cy"), at=AT, reason="new here")
    evaluation = evaluation.waive_feedback(by=HR, at=AT, reason="a new team")
    evaluation = evaluation.submit_manager_review(by=EVALUATOR, at=AT, ratings=manager_ratings())
    evaluation = evaluation.calibrate(by=HR, at=AT, criterion="Delivery", score=5, reason="r")
    evaluation = evaluation.finalize(by=HR, at=AT).acknowledge(by=SUBJECT, at=AT, comment="ok")
    replayed = Evaluation.replay(evaluation.history)
    assert replayed == evaluation
    assert replayed.final_score() == evaluation.final_score() == Decimal("4.6")


def test_an_evaluation_built_by_hand_keeps_the_same_invariants() -> None:
    evaluation = DRIVER.reach("calibration")  # peer-1 and peer-2 answered
    response = evaluation.feedback_responses[0]
    stranger = attrs.evolve(response, reviewer_id="zed")
    with pytest.raises(ValidationError, match="zed was not asked"):
        attrs.evolve(evaluation, feedback_responses=(*evaluation.feedback_responses, stranger))
    with pytest.raises(ValidationError, match="peer-1 has already answered"):
        attrs.evolve(evaluation, feedback_responses=(*evaluation.feedback_responses, response))
    with pytest.raises(ValidationError) as raised:
        attrs.evolve(evaluation, manager_ratings=(Rating(criterion="Delivery", score=3),))
    assert raised.value.field == "manager_ratings[0].evidence"


def test_an_evaluator_with_hr_rights_cannot_judge_their_own_rating() -> None:
    """Waivers, finalising and disputes are a second opinion on the evaluator's work."""
    driver = driver_for(Evaluation)
    checks = [
        ("manager_review", lambda e: e.waive_feedback(by=HR_EVALUATOR, at=AT, reason="r")),
        ("calibration", lambda e: e.finalize(by=HR_EVALUATOR, at=AT)),
        ("disputed", lambda e: e.resolve_dispute(by=HR_EVALUATOR, at=AT, resolution="kept")),
    ]
    for state, attempt in checks:
        evaluation = driver.reach(state)
        raised = refused(PermissionDenied, lambda e=evaluation, a=attempt: a(e), evaluation)
        assert raised.value.rule == "HR, never the subject, never the evaluator"
