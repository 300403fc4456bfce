"""Strategies for evaluations: rating scales, scores, ratings, the feedback and calibration
records an evaluation keeps, and evaluations in any state of their lifecycle.

A drawn evaluation measures one person (the subject) against criteria whose weights sum to 100,
on a drawn scale, with their manager (the evaluator) and HR (``hana``) as two other people.
Reviewers are asked, answer or decline on the way; the manager review goes ahead on enough
feedback or on HR's waiver, and every divergence gets a calibration note before it is final.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from decimal import Decimal
from typing import cast

import attrs
from hypothesis import strategies as st

from perfcore.actor import Actor, Role
from perfcore.evaluation import (
    OPEN_PLAN_STATES,
    CalibrationNote,
    CriterionSnapshot,
    Dispute,
    Evaluation,
    EvaluationState,
    FeedbackDecline,
    FeedbackRequest,
    FeedbackWaiver,
    LinkedPlan,
    Rating,
    RatingScale,
    Relationship,
    Resolution,
    ReviewerFeedback,
    SafetyShortfall,
)
from perfcore.policy import DEFAULT_POLICY
from perfcore.testing.strategies._common import (
    PEOPLE,
    Ranges,
    aware_datetimes,
    choice,
    day_start,
    distinct_people,
    hr,
    ids,
    in_force,
    integers,
    manager,
    optional_text,
    people,
    reasons,
    texts,
)
from perfcore.testing.strategies._engine import (
    Arguments,
    ArgumentsAt,
    Kit,
    checked_states,
    fire,
    reached,
    register,
)
from perfcore.testing.strategies.job_description import (
    criteria_sets,
    criterion_names,
    weights,
)
from perfcore.visibility import ReviewerView, SubjectView

__all__ = [
    "calibration_notes",
    "criterion_snapshots",
    "disputes",
    "evaluations",
    "feedback_declines",
    "feedback_requests",
    "feedback_waivers",
    "linked_plans",
    "rating_scales",
    "ratings",
    "resolutions",
    "reviewer_feedback",
    "reviewer_views",
    "safety_shortfalls",
    "scores",
    "subject_views",
]

#: Who may be asked for feedback: people other than the subject and the evaluator, then a few
#: more, so that a long history does not run out of reviewers (``max`` among them: a reviewer
#: whose id is also a word of the subject's view, which must raise no false alarm).
REVIEWERS = (*PEOPLE, "lea", "max", "nia")
_MORE_REVIEWERS = REVIEWERS[len(PEOPLE) :]


def _reviewers() -> tuple[str, ...]:
    """Who may be asked, with the people in force: theirs first, then perfcore's."""
    cast = in_force().cast
    if cast.actors is None:
        return REVIEWERS
    return tuple(dict.fromkeys((*cast.everyone, *_MORE_REVIEWERS)))


EVIDENCE = ("shipped the billing rewrite", "two missed handovers", "led the incident review")
COMMENTS = ("reliable", "could share more", "great mentor")
LABELS = ("poor", "fair", "good", "strong", "outstanding")


@functools.cache
def _custom_scale(low: int, span: int, labelled: bool) -> RatingScale:
    labels = LABELS if span == len(LABELS) - 1 else tuple(f"level {n}" for n in range(span + 1))
    return RatingScale(min=low, max=low + span, labels=labels if labelled else ())


def rating_scales() -> st.SearchStrategy[RatingScale]:
    """Rating scales: the default 1 to 5 first, then others from 2 to 10 points, some labelled.

    .. versionadded:: 0.1.0
    """
    return _SCALES


_SCALES = st.one_of(
    st.just(RatingScale()),
    st.builds(_custom_scale, st.integers(-2, 1), st.integers(1, 9), st.booleans()),
)


@functools.cache
def scores(scale: RatingScale | None = None) -> st.SearchStrategy[Decimal]:
    """Scores on ``scale`` (by default 1 to 5): its whole points, as decimals.

    .. versionadded:: 0.1.0
    """
    scale = RatingScale() if scale is None else scale
    return st.integers(scale.min, scale.max).map(Decimal)


def ratings(
    scale: RatingScale | None = None, *, evidence: bool = True
) -> st.SearchStrategy[Rating]:
    """A rating of one criterion on ``scale``, with evidence unless ``evidence`` is False.

    .. versionadded:: 0.1.0
    """
    return st.builds(
        Rating,
        criterion=criterion_names(),
        score=scores(scale),
        evidence=texts(EVIDENCE) if evidence else optional_text(EVIDENCE),
    )


def criterion_snapshots() -> st.SearchStrategy[CriterionSnapshot]:
    """A criterion as an evaluation keeps it: a name and a weight.

    .. versionadded:: 0.1.0
    """
    return st.builds(
        CriterionSnapshot,
        name=criterion_names(),
        weight=weights(),
        safety_critical=st.booleans(),
        required_score=st.none() | st.integers(1, 5).map(Decimal),
    )


def linked_plans() -> st.SearchStrategy[LinkedPlan]:
    """What ``finalize`` is told of a linked plan: its id, kind, subject and state (any of a
    plan's, so some are refused by the safety guard).

    .. versionadded:: 0.3.0
    """
    return st.builds(
        LinkedPlan,
        id=ids("p"),
        kind=st.sampled_from(["improvement", "development", "team"]),
        subject_id=people(),
        state=st.sampled_from(
            ["draft", "submitted", "approved", "active", "in_review", "attained", "closed"]
        ),
    )


def safety_shortfalls(scale: RatingScale | None = None) -> st.SearchStrategy[SafetyShortfall]:
    """A safety-critical criterion rated below its required level on ``scale`` (by default 1
    to 5): a score, and a required score above it.

    .. versionadded:: 0.3.0
    """
    scale = scale or RatingScale()

    @st.composite
    def build(draw: st.DrawFn) -> SafetyShortfall:
        required = draw(st.integers(scale.min + 1, scale.max), label="required")
        score = draw(st.integers(scale.min, required - 1), label="score")
        return SafetyShortfall(
            criterion=draw(criterion_names(), label="criterion"),
            score=Decimal(score),
            required=Decimal(required),
        )

    return build()


def feedback_requests() -> st.SearchStrategy[FeedbackRequest]:
    """A request for feedback: the reviewer, how they know the subject, by whom and when.

    .. versionadded:: 0.1.0
    """
    return st.builds(
        FeedbackRequest,
        reviewer_id=st.sampled_from(REVIEWERS),
        relationship=st.sampled_from(Relationship),
        requested_by=people(),
        requested_at=aware_datetimes(),
    )


def reviewer_feedback(scale: RatingScale | None = None) -> st.SearchStrategy[ReviewerFeedback]:
    """A reviewer's answer: scores on one or more different criteria, when, and a comment.

    .. versionadded:: 0.1.0
    """
    scored = st.lists(
        ratings(scale, evidence=False), min_size=1, max_size=3, unique_by=lambda r: r.criterion
    )
    return st.builds(
        ReviewerFeedback,
        reviewer_id=st.sampled_from(REVIEWERS),
        scores=scored.map(tuple),
        at=aware_datetimes(),
        comment=optional_text(COMMENTS),
    )


def feedback_declines() -> st.SearchStrategy[FeedbackDecline]:
    """A reviewer's refusal to give feedback, with a reason.

    .. versionadded:: 0.1.0
    """
    return st.builds(
        FeedbackDecline,
        reviewer_id=st.sampled_from(REVIEWERS),
        reason=reasons(),
        at=aware_datetimes(),
    )


def feedback_waivers() -> st.SearchStrategy[FeedbackWaiver]:
    """HR's waiver of the feedback minimum, with a reason.

    .. versionadded:: 0.1.0
    """
    return st.builds(FeedbackWaiver, by=st.just(hr().id), reason=reasons(), at=aware_datetimes())


def calibration_notes(scale: RatingScale | None = None) -> st.SearchStrategy[CalibrationNote]:
    """HR's note on one criterion: a new score on ``scale`` or ``None`` (kept), and why.

    .. versionadded:: 0.1.0
    """
    return st.builds(
        CalibrationNote,
        criterion=criterion_names(),
        score=st.none() | scores(scale),
        reason=reasons(),
        by=st.just(hr().id),
        at=aware_datetimes(),
    )


def disputes() -> st.SearchStrategy[Dispute]:
    """The subject's dispute of a final result, and why.

    .. versionadded:: 0.1.0
    """
    return st.builds(Dispute, by=people(), at=aware_datetimes(), reason=reasons())


def resolutions() -> st.SearchStrategy[Resolution]:
    """HR's resolution of a dispute: kept as final, or reopened.

    .. versionadded:: 0.1.0
    """
    return st.builds(
        Resolution,
        by=st.just(hr().id),
        at=aware_datetimes(),
        resolution=reasons(),
        reopened=st.booleans(),
    )


def evaluations(
    states: Iterable[EvaluationState | str] | None = None,
    *,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[Evaluation]:
    """Evaluations in any state (or one of ``states``), built by real commands.

    Args:
        states: the states to draw from; by default every state of the lifecycle.
        actors: the people evaluations are of and by: subjects, evaluators and reviewers are
            drawn from their ids (reviewers from perfcore's pool too, when they run out).
        ranges: how far dates range (see :class:`Ranges`): when the period ends, and how
            long it is.

    Raises:
        hypothesis.errors.InvalidArgument: a state the evaluation lifecycle does not have.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``actors`` and ``ranges``.
    """
    return reached(KIT, checked_states(KIT, states), actors=actors, ranges=ranges)


def subject_views(
    states: Iterable[EvaluationState | str] | None = None,
) -> st.SearchStrategy[SubjectView]:
    """What an evaluation's subject may see of it (:class:`perfcore.visibility.SubjectView`),
    of evaluations in any state (or one of ``states``), under the default policy.

    .. versionadded:: 0.2.0
    """
    return evaluations(states).map(
        lambda ev: cast(SubjectView, ev.view_for(Actor(id=ev.subject_id)))
    )


@st.composite
def _reviewer_views(draw: st.DrawFn, states: tuple[str, ...] | None) -> ReviewerView:
    asked = evaluations(states).filter(lambda ev: bool(ev.feedback_requests))
    evaluation = draw(asked, label="evaluation")
    request = draw(st.sampled_from(evaluation.feedback_requests), label="reviewer")
    return cast(ReviewerView, evaluation.view_for(Actor(id=request.reviewer_id)))


def reviewer_views(
    states: Iterable[EvaluationState | str] | None = None,
) -> st.SearchStrategy[ReviewerView]:
    """What a reviewer who was asked may see of an evaluation
    (:class:`perfcore.visibility.ReviewerView`): evaluations that asked someone, in any state
    from the self review on (or one of ``states``), each seen by one of the reviewers it asked.

    .. versionadded:: 0.2.0
    """
    chosen = None if states is None else tuple(str(state) for state in states)
    return _reviewer_views(chosen or tuple(_ASKING_STATES))


#: The states in which an evaluation may have asked for feedback.
_ASKING_STATES = (
    "self_review",
    "manager_review",
    "calibration",
    "finalized",
    "acknowledged",
    "disputed",
)


# -- content ------------------------------------------------------------------------------------

_CRITERIA_SETS = criteria_sets()
_BOOLEANS = st.booleans()
#: Day offsets where no ranges say otherwise: the period's end from today, and its length.
_PERIOD_END, _PERIOD_LENGTH = 60, 364
_NUMBERS = st.integers(1, 3)
_CYCLES = st.none() | ids("rc")
_EVIDENCE = texts(EVIDENCE)
_OPTIONAL_EVIDENCE = optional_text(EVIDENCE)
_COMMENTS = optional_text(COMMENTS)
_REASONED = {"skip_self_review", "decline_feedback", "waive_feedback", "dispute"}


@functools.cache
def _subsets(names: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    """Non-empty subsets of the criteria, in the evaluation's order: what one reviewer scores."""
    picked = st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True)
    return picked.map(lambda chosen: [name for name in names if name in chosen])


def _names(evaluation: Evaluation) -> tuple[str, ...]:
    return tuple(evaluation.criterion_weights)


def _rating_list(draw: st.DrawFn, evaluation: Evaluation, *, evidence: bool) -> list[Rating]:
    points = scores(evaluation.scale)
    return [
        Rating(
            criterion=name,
            score=draw(points, label=f"score {name}"),
            evidence=draw(_EVIDENCE if evidence else _OPTIONAL_EVIDENCE),
        )
        for name in _names(evaluation)
    ]


def _unasked(evaluation: Evaluation) -> tuple[str, ...]:
    asked = {request.reviewer_id for request in evaluation.feedback_requests}
    taken = {evaluation.subject_id, evaluation.evaluator_id, *asked}
    return tuple(person for person in _reviewers() if person not in taken)


def _request(draw: st.DrawFn, evaluation: Evaluation) -> Arguments:
    unasked = _unasked(evaluation)
    # With nobody left to ask, someone already asked: the guard refuses them (never in a build).
    reviewer = choice(draw, unasked, label="reviewer") if unasked else _reviewers()[0]
    return {"reviewer_id": reviewer, "relationship": choice(draw, tuple(Relationship))}


def _feedback(draw: st.DrawFn, evaluation: Evaluation) -> Arguments:
    points = scores(evaluation.scale)
    chosen = draw(_subsets(_names(evaluation)), label="criteria scored")
    return {"scores": {name: draw(points) for name in chosen}, "comment": draw(_COMMENTS)}


def _wild_ratings(draw: st.DrawFn, evaluation: Evaluation, trigger: str) -> Arguments:
    whole = _rating_list(draw, evaluation, evidence=trigger == "submit_manager_review")
    first = whole[0]
    refused: tuple[object, ...] = (
        whole[1:],  # a criterion not rated: the guard refuses it (or nothing rated)
        [*whole, first],  # a criterion rated twice
        [Rating(criterion=first.criterion, score=evaluation.scale.max + 1, evidence="x")],
        [Rating(criterion="Nope", score=evaluation.scale.min, evidence="x")],
        [Rating(criterion=first.criterion, score=first.score, evidence="")],  # no evidence
        "4",  # not a list of ratings
    )
    return {"ratings": choice(draw, refused, label="wild ratings")}


def _wild_request(draw: st.DrawFn, evaluation: Evaluation) -> Arguments:
    asked = [request.reviewer_id for request in evaluation.feedback_requests]
    refused = (
        {"reviewer_id": evaluation.subject_id, "relationship": Relationship.PEER},
        {"reviewer_id": evaluation.evaluator_id, "relationship": Relationship.PEER},
        {"reviewer_id": (asked or ["lea"])[0], "relationship": Relationship.PEER},
        {"reviewer_id": "lea", "relationship": "boss"},  # not a relationship
    )
    return choice(draw, refused, label="wild request")


def _wild_feedback(draw: st.DrawFn, evaluation: Evaluation) -> Arguments:
    first = _names(evaluation)[0]
    refused: tuple[object, ...] = ({}, {"Nope": 3}, {first: evaluation.scale.max + 1})
    return {"scores": choice(draw, refused, label="wild scores")}


def _not_evaluators(evaluation: Evaluation) -> set[str]:
    """Who may not become the evaluation's evaluator: its subject, its evaluator, a reviewer."""
    asked = {request.reviewer_id for request in evaluation.feedback_requests}
    return {evaluation.subject_id, evaluation.evaluator_id, *asked}


class EvaluationKit(Kit[Evaluation]):
    """An evaluation of one person by their manager, with HR as ``hana``."""

    kind = Evaluation

    def create(self, draw: st.DrawFn) -> Evaluation:
        subject, evaluator = draw(distinct_people(2), label="subject and evaluator")
        at = draw(aware_datetimes(), label="created at")
        ranges = in_force().ranges
        ends = ranges.day_span(_PERIOD_END)
        end = at.date() + dt.timedelta(days=draw(integers(-ends, ends), label="period end"))
        length = draw(integers(0, ranges.day_span(_PERIOD_LENGTH)), label="period")
        return Evaluation.create(
            id=draw(ids("ev"), label="id"),
            by=choice(draw, (manager(evaluator), hr(besides={subject})), label="created by"),
            at=at,
            subject_id=subject,
            evaluator_id=evaluator,
            subject_is_manager=draw(_BOOLEANS, label="subject is a manager"),
            job_description_id=draw(ids("jd"), label="job description"),
            job_description_number=draw(_NUMBERS, label="number"),
            criteria=draw(_CRITERIA_SETS, label="criteria"),
            period_start=end - dt.timedelta(days=length),
            period_end=end,
            scale=draw(_SCALES, label="scale"),
            cycle_id=draw(_CYCLES, label="cycle"),
        )

    def cast(self, obj: Evaluation) -> tuple[Actor, ...]:
        roles = {Role.EMPLOYEE, Role.MANAGER} if obj.subject_is_manager else {Role.EMPLOYEE}
        reviewers = tuple(Actor(id=request.reviewer_id) for request in obj.feedback_requests)
        named = {obj.subject_id, obj.evaluator_id, *(actor.id for actor in reviewers)}
        outsider = next((person for person in _reviewers() if person not in named), "zed")
        return (
            Actor(id=obj.subject_id, roles=roles),
            manager(obj.evaluator_id),
            hr(besides={obj.subject_id}),
            *reviewers,
            Actor(id=outsider),
        )

    def arguments(
        self, draw: st.DrawFn, obj: Evaluation, trigger: str, dest: str | None, at: dt.datetime
    ) -> Arguments:
        if trigger in {"submit_self_review", "submit_manager_review"}:
            evidence = trigger == "submit_manager_review"
            return {"ratings": _rating_list(draw, obj, evidence=evidence)}
        if trigger == "request_feedback":
            return _request(draw, obj)
        if trigger == "give_feedback":
            return _feedback(draw, obj)
        if trigger in _REASONED:
            return {"reason": draw(reasons())}
        if trigger == "calibrate":
            return {
                "criterion": choice(draw, _names(obj), label="criterion"),
                "score": draw(st.none() | scores(obj.scale), label="calibrated score"),
                "reason": draw(reasons()),
            }
        if trigger == "acknowledge":
            return {"comment": draw(_COMMENTS)}
        if trigger == "resolve_dispute":
            reopen = dest == "calibration" if dest else draw(_BOOLEANS, label="reopen")
            return {"resolution": draw(reasons()), "reopen": reopen}
        if trigger == "finalize":
            return {"improvement_plan": _improvement_plan(draw, obj)}
        if trigger == "reassign":
            left = set(in_force().cast.people) - _not_evaluators(obj)
            # Nobody left to take it: its evaluator again, which a guard refuses.
            new = obj.evaluator_id
            if left:
                new = draw(people(_not_evaluators(obj)), label="new evaluator")
            return {"evaluator_id": new, "reason": draw(reasons())}
        return {}

    def wild_arguments(
        self, draw: st.DrawFn, obj: Evaluation, trigger: str, at: dt.datetime
    ) -> Arguments:
        if trigger in {"submit_self_review", "submit_manager_review"}:
            return _wild_ratings(draw, obj, trigger)
        if trigger == "request_feedback":
            return _wild_request(draw, obj)
        if trigger == "give_feedback":
            return _wild_feedback(draw, obj)
        if trigger in _REASONED:
            return {"reason": " "}
        if trigger == "calibrate":
            return {"criterion": "Nope", "score": None, "reason": "unknown criterion"}
        if trigger == "resolve_dispute":
            return {"resolution": "", "reopen": False}
        if trigger == "finalize" and obj.safety_shortfalls():
            return {"improvement_plan": _unsuitable_plan(draw, obj)}
        if trigger == "reassign":
            # Its evaluator already (a guard refuses it), or the subject (validation does).
            who = choice(draw, (obj.evaluator_id, obj.subject_id))
            return {"evaluator_id": who, "reason": "moved"}
        return self.arguments(draw, obj, trigger, None, at)

    def earliest(self, obj: Evaluation, trigger: str) -> dt.datetime | None:
        return day_start(obj.period_end) if trigger == "open" else None

    def feasible(self, obj: Evaluation, trigger: str) -> bool:
        if trigger == "waive_feedback":
            return obj.feedback_waiver is None
        if trigger in {"request_feedback", "give_feedback", "decline_feedback"}:
            return bool(_unasked(obj) or obj.pending_reviewer_ids)
        if trigger == "reassign":  # someone neither evaluated, evaluating, nor asked
            return bool(set(in_force().cast.people) - _not_evaluators(obj))
        return True

    def prepare(
        self, draw: st.DrawFn, obj: Evaluation, trigger: str, dest: str | None
    ) -> Evaluation:
        if trigger in {"give_feedback", "decline_feedback"} and not obj.pending_reviewer_ids:
            return fire(draw, self, obj, "request_feedback")
        if trigger == "submit_manager_review":
            return self._enough_feedback(draw, obj)
        if trigger == "finalize":
            for divergence in obj.unresolved_divergences():
                obj = fire(
                    draw, self, obj, "calibrate", arguments=_noting(obj, divergence.criterion)
                )
        return obj

    def _enough_feedback(self, draw: st.DrawFn, obj: Evaluation) -> Evaluation:
        """Feedback until the default minimums are met, or HR's waiver (drawn, or when nobody
        is left to ask)."""
        waive = choice(draw, (True, False), label="waive the feedback")
        while (short := _shortfall(obj)) is not None:
            if waive or not _unasked(obj):
                return fire(draw, self, obj, "waive_feedback")
            wanted = Relationship.DIRECT_REPORT if short == "reports" else None
            pending = [
                request.reviewer_id
                for request in obj.feedback_requests
                if request.reviewer_id in obj.pending_reviewer_ids
                and wanted in (None, request.relationship)
            ]
            if not pending:
                obj = fire(draw, self, obj, "request_feedback", arguments=_asking(obj, wanted))
                pending = [obj.feedback_requests[-1].reviewer_id]
            obj = fire(draw, self, obj, "give_feedback", by=Actor(id=pending[0]))
        return obj


def _improvement_plan(draw: st.DrawFn, evaluation: Evaluation) -> LinkedPlan | None:
    """A plan to link on finalize: an open improvement plan for the subject when a
    safety-critical criterion is rated below its level, else one or none, as drawn."""
    needed = bool(evaluation.safety_shortfalls())
    if not needed and not draw(_BOOLEANS, label="link a plan"):
        return None
    return LinkedPlan(
        id=draw(ids("p"), label="improvement plan"),
        kind="improvement",
        subject_id=evaluation.subject_id,
        state=choice(draw, sorted(OPEN_PLAN_STATES), label="plan state"),
    )


def _unsuitable_plan(draw: st.DrawFn, evaluation: Evaluation) -> LinkedPlan | None:
    """What the safety guard refuses: no plan, a plan of another kind, for someone else, or
    no longer open."""
    plan = LinkedPlan(
        id="p-x", kind="improvement", subject_id=evaluation.subject_id, state="active"
    )
    return choice(
        draw,
        (
            None,
            attrs.evolve(plan, kind="development"),
            attrs.evolve(plan, subject_id=f"{evaluation.subject_id}-not"),
            attrs.evolve(plan, state="closed"),
        ),
        label="unsuitable plan",
    )


def _shortfall(evaluation: Evaluation) -> str | None:
    """What the manager review still lacks under the default policy: ``"reports"`` (responses
    from direct reports, for a manager), ``"responses"``, or nothing (also once waived)."""
    if evaluation.feedback_waiver is not None:
        return None
    rules = DEFAULT_POLICY.evaluation
    if evaluation.subject_is_manager:
        reports = evaluation.responses_by_relationship().get(Relationship.DIRECT_REPORT, ())
        if len(reports) < rules.min_report_responses:
            return "reports"
    if len(evaluation.feedback_responses) < rules.min_feedback_responses:
        return "responses"
    return None


def _asking(evaluation: Evaluation, relationship: Relationship | None) -> ArgumentsAt:
    """A request to a new reviewer, who knows the subject as ``relationship`` (or as drawn)."""

    def arguments(draw: st.DrawFn, _at: dt.datetime) -> Arguments:
        request = _request(draw, evaluation)
        return request if relationship is None else {**request, "relationship": relationship}

    return arguments


def _noting(evaluation: Evaluation, criterion: str) -> ArgumentsAt:
    """A calibration note on ``criterion``: a new score, or none (the score is kept)."""

    def arguments(draw: st.DrawFn, _at: dt.datetime) -> Arguments:
        score = draw(st.none() | scores(evaluation.scale), label="calibrated score")
        return {"criterion": criterion, "score": score, "reason": draw(reasons())}

    return arguments


KIT = EvaluationKit()
register(KIT)
