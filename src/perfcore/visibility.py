"""What each reader of an evaluation may see: :func:`view_for` (also ``Evaluation.view_for``).

An evaluation holds what people said about a colleague. Who may read what is decided here, in
the domain, so that no integrator can show it to the wrong person by accident. The reader is
matched in this order, and the first match decides:

1. **The subject**, whatever roles they hold (HR included), gets a :class:`SubjectView`: their
   own self ratings; and once the result is released (finalized, acknowledged or disputed) the
   manager's calibrated scores with their evidence, the final score, and the feedback as
   averages per relationship group. A group with fewer responses than the policy's
   ``anonymity_threshold`` is left out entirely, and so is, within a group shown, a criterion
   that fewer reviewers than that scored. No reviewer id, comment, request, decline or
   calibration note is shown, and neither is the evaluation's version or the time of its last
   change, which would count or date feedback the subject may not see. Feedback is shown only
   once released, when it can no longer change, so that two views cannot be compared to single
   out one response. The final score is withheld (``None``, with ``final_score_withheld``) when
   it rolls in feedback scores the subject may not see, since it could be solved for them.
2. **The evaluator and HR** get the :class:`~perfcore.evaluation.Evaluation` itself: everything.
3. **A reviewer who was asked** gets a :class:`ReviewerView`: what they need to answer (the
   header: criteria, scale, period) and their own request, response or decline; nothing anyone
   else wrote.
4. Anyone else is refused with :class:`~perfcore.errors.PermissionDenied`.

Views are frozen attrs objects; ``perfcore.to_json_data(view)`` gives their stable JSON.

>>> import datetime as dt
>>> from perfcore import Actor
>>> from perfcore.testing.drivers import driver_for
>>> evaluation = driver_for("Evaluation").reach("calibration")
>>> view_for(evaluation, Actor(id="ana")).manager_ratings is None  # not released yet
True
>>> view_for(evaluation, Actor(id="peer-1")).response.scores
{'Delivery': Decimal('4'), 'Collaboration': Decimal('4')}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar, TypeAlias

import attrs

from perfcore import scoring
from perfcore._aggregate import check_actor
from perfcore.actor import Actor, Role
from perfcore.errors import PermissionDenied
from perfcore.evaluation_records import FeedbackStatus, RatingScale, Relationship
from perfcore.policy import DEFAULT_POLICY, Policy

if TYPE_CHECKING:
    from perfcore.evaluation import Evaluation

__all__ = [
    "AcknowledgementShown",
    "CriterionShown",
    "DeclineShown",
    "DisputeShown",
    "EvaluationView",
    "FeedbackGroup",
    "JobDescriptionRef",
    "Period",
    "RatingShown",
    "ResolutionShown",
    "ResponseShown",
    "ReviewerView",
    "SubjectView",
    "view_for",
]

_READERS = "the subject, the evaluator, HR or a reviewer who was asked"


@attrs.frozen(kw_only=True)
class JobDescriptionRef:
    """The published job description an evaluation rests on: its id and number."""

    id: str
    number: int


@attrs.frozen(kw_only=True)
class CriterionShown:
    """A criterion of the evaluation, with its weight."""

    name: str
    weight: Decimal


@attrs.frozen(kw_only=True)
class Period:
    """The days an evaluation covers."""

    start: dt.date
    end: dt.date


@attrs.frozen(kw_only=True)
class RatingShown:
    """A score on one criterion, with the evidence for it."""

    criterion: str
    score: Decimal
    evidence: str


@attrs.frozen(kw_only=True)
class FeedbackGroup:
    """The feedback of one relationship group (peers, reports...), as the subject may see it:
    how many responded and the mean score per criterion that enough of them scored."""

    relationship: Relationship
    responses: int
    averages: Mapping[str, Decimal]


@attrs.frozen(kw_only=True)
class AcknowledgementShown:
    """When the subject acknowledged the result, and what they said."""

    at: dt.datetime
    comment: str


@attrs.frozen(kw_only=True)
class DisputeShown:
    """A dispute the subject raised."""

    at: dt.datetime
    reason: str


@attrs.frozen(kw_only=True)
class ResolutionShown:
    """How a dispute was resolved (who resolved it is left out: an HR person may also have
    been a reviewer)."""

    at: dt.datetime
    resolution: str
    reopened: bool


@attrs.frozen(kw_only=True)
class ResponseShown:
    """A reviewer's own response: their scores by criterion, comment and time."""

    scores: Mapping[str, Decimal]
    comment: str
    at: dt.datetime


@attrs.frozen(kw_only=True)
class DeclineShown:
    """A reviewer's own decline: why, and when."""

    reason: str
    at: dt.datetime


@attrs.frozen(kw_only=True)
class _Header:
    id: str
    #: An :class:`~perfcore.evaluation.EvaluationState` (a string).
    state: str
    subject_id: str
    evaluator_id: str
    cycle_id: str | None
    job_description: JobDescriptionRef
    criteria: tuple[CriterionShown, ...]
    period: Period
    scale: RatingScale


@attrs.frozen(kw_only=True)
class SubjectView(_Header):
    """What the subject of an evaluation may see of it (see the module's docs).

    Attributes:
        released: whether the result is released (finalized, acknowledged or disputed).
        self_ratings: their own self review.
        manager_ratings: the manager's calibrated scores with their evidence; ``None`` until
            released.
        feedback: the groups shown; ``None`` until released.
        final_score: ``None`` until released, or when withheld.
        final_score_withheld: the final score rolls in feedback the subject may not see.
        acknowledgement, disputes, resolutions: what followed the result.
    """

    audience: ClassVar[str] = "subject"
    released: bool
    self_ratings: tuple[RatingShown, ...]
    manager_ratings: tuple[RatingShown, ...] | None
    feedback: tuple[FeedbackGroup, ...] | None
    final_score: Decimal | None
    final_score_withheld: bool
    acknowledgement: AcknowledgementShown | None
    disputes: tuple[DisputeShown, ...]
    resolutions: tuple[ResolutionShown, ...]


@attrs.frozen(kw_only=True)
class ReviewerView(_Header):
    """What a reviewer who was asked may see: the header and their own request, response or
    decline.

    Attributes:
        reviewer_id: who this view is for.
        relationship: how they know the subject.
        requested_at: when they were asked.
        status: where their request stands.
        response: their response, or ``None``.
        decline: their decline, or ``None``.
    """

    audience: ClassVar[str] = "reviewer"
    reviewer_id: str
    relationship: Relationship
    requested_at: dt.datetime
    status: FeedbackStatus
    response: ResponseShown | None
    decline: DeclineShown | None


#: What a reader gets: the subject's view, a reviewer's, or (the evaluator, HR) the evaluation.
EvaluationView: TypeAlias = "SubjectView | ReviewerView | Evaluation"


def view_for(
    evaluation: Evaluation, actor: Actor, policy: Policy | None = None
) -> SubjectView | ReviewerView | Evaluation:
    """What ``actor`` may see of ``evaluation`` (see the module's docs).

    Args:
        evaluation: the evaluation to show.
        actor: who is reading.
        policy: the policy in force: its anonymity threshold and, until the evaluation is
            finalized, its score weights.

    Returns:
        A :class:`SubjectView`, a :class:`ReviewerView`, or the evaluation itself (for its
        evaluator and HR).

    Raises:
        ValidationError: ``actor`` is not an Actor.
        PermissionDenied: ``actor`` may not read this evaluation.
    """
    check_actor(actor)
    policy = policy or DEFAULT_POLICY
    if actor.id == evaluation.subject_id:
        return _subject_view(evaluation, policy)
    if actor.id == evaluation.evaluator_id or actor.is_a(Role.HR):
        return evaluation
    if evaluation.relationship_of(actor.id) is not None:
        return _reviewer_view(evaluation, actor.id)
    raise PermissionDenied(actor.id, "Evaluation", evaluation.id, "view", _READERS)


def _header(evaluation: Evaluation) -> dict[str, object]:
    return {
        "id": evaluation.id,
        "state": evaluation.state,
        "subject_id": evaluation.subject_id,
        "evaluator_id": evaluation.evaluator_id,
        "cycle_id": evaluation.cycle_id,
        "job_description": JobDescriptionRef(
            id=evaluation.job_description_id, number=evaluation.job_description_number
        ),
        "criteria": tuple(
            CriterionShown(name=criterion.name, weight=criterion.weight)
            for criterion in evaluation.criteria
        ),
        "period": Period(start=evaluation.period_start, end=evaluation.period_end),
        "scale": evaluation.scale,
    }


def _subject_view(evaluation: Evaluation, policy: Policy) -> SubjectView:
    released = evaluation.released
    groups, hidden = _feedback_groups(evaluation, policy.evaluation.anonymity_threshold)
    withheld = released and hidden and evaluation.effective_weights(policy).feedback > 0
    evidence = {rating.criterion: rating.evidence for rating in evaluation.manager_ratings}
    manager = tuple(
        RatingShown(criterion=name, score=score, evidence=evidence[name])
        for name, score in evaluation.calibrated_scores.items()
    )
    acknowledgement = evaluation.acknowledgement
    return SubjectView(
        **_header(evaluation),  # type: ignore[arg-type]
        released=released,
        self_ratings=tuple(
            RatingShown(criterion=rating.criterion, score=rating.score, evidence=rating.evidence)
            for rating in evaluation.self_ratings
        ),
        manager_ratings=manager if released else None,
        feedback=groups if released else None,
        final_score=evaluation.final_score(policy) if released and not withheld else None,
        final_score_withheld=withheld,
        acknowledgement=None
        if acknowledgement is None
        else AcknowledgementShown(at=acknowledgement.at, comment=acknowledgement.comment),
        disputes=tuple(
            DisputeShown(at=item.at, reason=item.reason) for item in evaluation.disputes
        ),
        resolutions=tuple(
            ResolutionShown(at=item.at, resolution=item.resolution, reopened=item.reopened)
            for item in evaluation.resolutions
        ),
    )


def _feedback_groups(
    evaluation: Evaluation, threshold: int
) -> tuple[tuple[FeedbackGroup, ...], bool]:
    """The groups the subject may see, and whether any feedback score is hidden from them."""
    shown = []
    hidden = False
    for relationship, responses in evaluation.responses_by_relationship().items():
        if len(responses) < threshold:
            hidden = True
            continue
        averages = {}
        for criterion, scores in evaluation.feedback_scores(responses).items():
            mean = scoring.mean(scores)
            if len(scores) >= threshold and mean is not None:
                averages[criterion] = mean
            elif scores:
                hidden = True
        shown.append(
            FeedbackGroup(relationship=relationship, responses=len(responses), averages=averages)
        )
    return tuple(shown), hidden


def _reviewer_view(evaluation: Evaluation, reviewer_id: str) -> ReviewerView:
    request = next(r for r in evaluation.feedback_requests if r.reviewer_id == reviewer_id)
    response = next(
        (r for r in evaluation.feedback_responses if r.reviewer_id == reviewer_id), None
    )
    decline = next((d for d in evaluation.feedback_declines if d.reviewer_id == reviewer_id), None)
    status = evaluation.request_status(reviewer_id)
    assert status is not None  # they were asked
    return ReviewerView(
        **_header(evaluation),  # type: ignore[arg-type]
        reviewer_id=reviewer_id,
        relationship=request.relationship,
        requested_at=request.requested_at,
        status=status,
        response=None
        if response is None
        else ResponseShown(
            scores={rating.criterion: rating.score for rating in response.scores},
            comment=response.comment,
            at=response.at,
        ),
        decline=None if decline is None else DeclineShown(reason=decline.reason, at=decline.at),
    )
