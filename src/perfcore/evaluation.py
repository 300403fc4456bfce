"""Evaluation: one person rated against their job description, on evidence and second opinions.

The subject rates themselves, reviewers give feedback, the evaluator (the subject's manager)
rates every criterion with evidence, HR calibrates and finalises, and the subject acknowledges
or disputes. The final score is computed (:mod:`perfcore.scoring`), never entered; what each
reader may see is decided here too (:meth:`Evaluation.view_for`, :mod:`perfcore.visibility`).

Decisions the issue leaves open, made here:

- **Scores are the scale's whole points** (1, 2, ... 5 by default); a label, when the scale has
  labels, names each point. Fractions are what means produce, never what a person enters.
- **Feedback may leave criteria out**: a reviewer rates what they saw. A criterion without
  feedback scores never diverges, and the feedback component renormalises over the criteria that
  have scores.
- **A calibration note may keep the score** (``score=None``): it records that HR looked at the
  criterion, which is what a divergence needs. The latest note with a score sets the criterion's
  calibrated score.
- **Who may**: the subject never organises, calibrates or resolves their own evaluation (even
  when they are HR); the evaluator never calibrates their own ratings; neither the subject nor
  the evaluator is asked for feedback (the evaluator's view is the manager review). Each rule is
  in the table below and can be replaced with :meth:`~perfcore.policy.Policy.with_rules`.
- **A manager subject** is said so at creation (``subject_is_manager``), not guessed from the
  requests: a manager whose reports were never asked would otherwise need none.
- **The weights are fixed at finalisation**: ``finalize`` records the policy's
  :class:`~perfcore.policy.ScoreWeights` (what the score is computed from), so that a policy
  changed next year never changes a score already final. Reopening a dispute clears them.
- **A request's status is derived** from the responses and declines (:meth:`request_status`).
- **No final score before the manager review**: :meth:`Evaluation.final_score` is ``None``
  until the evaluator has rated every criterion with evidence, whatever the weights.

>>> import datetime as dt
>>> from perfcore import Actor
>>> from perfcore.evaluation import Evaluation, Rating
>>> at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
>>> ana, ben = Actor(id="ana"), Actor(id="ben", roles={"manager"})
>>> hana = Actor(id="hana", roles={"hr"})
>>> ev = Evaluation.create(id="ev-1", by=ben, at=at, subject_id="ana", evaluator_id="ben",
...     job_description_id="jd-1", job_description_number=1,
...     criteria={"Delivery": 60, "Teamwork": 40},
...     period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 31))
>>> ev = ev.open(by=ben, at=at).skip_self_review(by=ben, at=at, reason="on leave")
>>> for name in ("cy", "dee"):
...     ev = ev.request_feedback(by=ben, at=at, reviewer_id=name, relationship="peer")
...     ev = ev.give_feedback(by=Actor(id=name), at=at, scores={"Delivery": 3, "Teamwork": 4})
>>> ev = ev.submit_manager_review(by=ben, at=at, ratings=[
...     Rating(criterion="Delivery", score=4, evidence="shipped the billing rewrite"),
...     Rating(criterion="Teamwork", score=3, evidence="two missed handovers")])
>>> ev = ev.finalize(by=hana, at=at)
>>> ev.state, ev.final_score()
(<EvaluationState.FINALIZED: 'finalized'>, Decimal('3.6'))
>>> ev.view_for(ana).feedback  # two peers: fewer than the anonymity threshold of 3
()
"""

from __future__ import annotations

import datetime as dt
import enum
import operator
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

import attrs

from perfcore import scoring, visibility
from perfcore._aggregate import Aggregate, Changes, check_actor, check_reason
from perfcore._validate import (
    ITEMWISE,
    SELF_CONTAINED,
    Validator,
    date,
    entries_of,
    identifier,
    instance_of,
    optional_identifier,
    optional_instance_of,
    positive_whole,
    reads,
    to_enum,
    to_tuple,
    tuple_of,
)
from perfcore.actor import Actor, Role
from perfcore.commands import fired_by, services_supply
from perfcore.entries import Entries, to_entries
from perfcore.errors import ValidationError
from perfcore.evaluation_records import (
    CalibrationNote,
    CriterionSnapshot,
    Dispute,
    FeedbackDecline,
    FeedbackRequest,
    FeedbackStatus,
    FeedbackWaiver,
    Rating,
    RatingScale,
    Relationship,
    Resolution,
    ReviewerFeedback,
)
from perfcore.lifecycle import Command, Guard, Lifecycle, Step, register
from perfcore.policy import DEFAULT_POLICY, Policy, ScoreWeights
from perfcore.reassignment import reassign, reassign_steps
from perfcore.records import Acknowledgement
from perfcore.rules import Rule, has_role, is_person, manager_in_directory, never
from perfcore.scoring import Component, Divergence

__all__ = [
    "Acknowledgement",
    "CalibrationNote",
    "CriterionSnapshot",
    "Dispute",
    "Evaluation",
    "EvaluationState",
    "FeedbackDecline",
    "FeedbackRequest",
    "FeedbackStatus",
    "FeedbackWaiver",
    "LinkedPlan",
    "Rating",
    "RatingScale",
    "Relationship",
    "Resolution",
    "ReviewerFeedback",
    "SafetyShortfall",
]

#: The states of a plan that still answers for a shortfall: drafted, under approval or under
#: way (not attained, closed or cancelled).
OPEN_PLAN_STATES = frozenset({"draft", "submitted", "approved", "active", "in_review"})


@attrs.frozen(kw_only=True)
class SafetyShortfall:
    """A safety-critical criterion rated below its required level.

    Attributes:
        criterion: its name.
        score: the calibrated manager score.
        required: the lowest score that meets the required level.
    """

    criterion: str
    score: Decimal
    required: Decimal


@attrs.frozen(kw_only=True)
class LinkedPlan:
    """What ``finalize`` is told of the improvement plan linked to an evaluation, as stored
    (the services read it from the store; the domain used alone takes the caller's word).

    Attributes:
        id: the plan's id.
        kind: its kind ("improvement", "development", "team").
        subject_id: whom it is for.
        state: its state.
    """

    id: str = attrs.field(validator=identifier)
    kind: str = attrs.field(validator=identifier)
    subject_id: str = attrs.field(validator=identifier)
    state: str = attrs.field(validator=identifier)


Score = Decimal | int | str


class EvaluationState(enum.StrEnum):
    """Where an evaluation is in its lifecycle."""

    SCHEDULED = "scheduled"
    SELF_REVIEW = "self_review"
    MANAGER_REVIEW = "manager_review"
    CALIBRATION = "calibration"
    FINALIZED = "finalized"
    ACKNOWLEDGED = "acknowledged"
    DISPUTED = "disputed"


#: The states in which the result is final and released to the subject.
_RELEASED = frozenset(
    {EvaluationState.FINALIZED, EvaluationState.ACKNOWLEDGED, EvaluationState.DISPUTED}
)


def _evaluation_state(value: object) -> EvaluationState:
    return to_enum(EvaluationState, "state")(value)


# -- the evaluation's invariants ----------------------------------------------------------------
# attrs runs validators after every field is set, in field order, so these may read the
# (already validated) criteria and scale declared before the fields they check.


def _to_criteria(value: object) -> object:
    """``{name: weight}``, or items with a name and a weight (a job description's criteria),
    as the snapshot the evaluation keeps; anything else is left for the validator to refuse."""
    if isinstance(value, Mapping):
        return tuple(CriterionSnapshot(name=name, weight=weight) for name, weight in value.items())
    if isinstance(value, list | tuple):
        return tuple(_snapshot(item) for item in value)
    return value


def _snapshot(item: Any) -> object:
    if (
        isinstance(item, CriterionSnapshot)
        or not hasattr(item, "name")
        or not hasattr(item, "weight")
    ):
        return item
    # A job description's criterion keeps whether it is safety-critical, and its required score.
    return CriterionSnapshot(
        name=item.name,
        weight=item.weight,
        safety_critical=getattr(item, "safety_critical", False),
        required_score=getattr(item, "required_score", None),
    )


_CRITERION_SNAPSHOTS = tuple_of(CriterionSnapshot)


def _criteria(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _CRITERION_SNAPSHOTS(instance, attribute, value)
    criteria = cast(tuple[CriterionSnapshot, ...], value)
    if not criteria:
        raise ValidationError(attribute.name, "an evaluation needs at least one criterion")
    names = [criterion.name.strip().casefold() for criterion in criteria]
    if len(names) != len(set(names)):
        raise ValidationError(attribute.name, "criterion names must be unique")
    if sum(criterion.weight for criterion in criteria) <= 0:
        raise ValidationError(attribute.name, "at least one criterion must weigh more than 0")


@reads("subject_id")
def _not_the_subject(instance: Evaluation, attribute: attrs.Attribute[Any], value: str) -> None:
    if value == instance.subject_id:
        raise ValidationError(attribute.name, "the subject cannot evaluate themselves")


@reads("period_start")
def _not_before_start(
    instance: Evaluation, attribute: attrs.Attribute[Any], value: dt.date
) -> None:
    if value < instance.period_start:
        raise ValidationError(
            attribute.name, f"the period cannot end before it starts ({instance.period_start})"
        )


def _check_criterion(known: Collection[str], name: str, criterion: str) -> None:
    if criterion not in known:
        listed = ", ".join(known)
        raise ValidationError(name, f"{criterion!r} is not a criterion here; criteria: {listed}")


def _check_ratings(
    evaluation: Evaluation, field: str, ratings: tuple[Rating, ...], *, evidence: bool
) -> None:
    known = evaluation.criterion_weights
    seen: set[str] = set()
    for position, rating in enumerate(ratings):
        where = f"{field}[{position}]"
        _check_criterion(known, f"{where}.criterion", rating.criterion)
        if rating.criterion in seen:
            raise ValidationError(f"{where}.criterion", f"{rating.criterion!r} is rated twice")
        seen.add(rating.criterion)
        evaluation.scale.check(f"{where}.score", rating.score)
        if evidence and not rating.evidence.strip():
            raise ValidationError(
                f"{where}.evidence", "the manager's rating must say what it rests on"
            )


_RATINGS = tuple_of(Rating)


def _ratings(*, evidence: bool) -> Validator:
    def validate(instance: Evaluation, attribute: attrs.Attribute[Any], value: object) -> None:
        _RATINGS(instance, attribute, value)
        _check_ratings(instance, attribute.name, cast(tuple[Rating, ...], value), evidence=evidence)

    return validate


def _check_answers(
    evaluation: Evaluation, field: str, answers: Sequence[ReviewerFeedback | FeedbackDecline]
) -> None:
    """Each answer comes from a reviewer who was asked, and answered nothing else."""
    asked = {request.reviewer_id for request in evaluation.feedback_requests}
    answered = {response.reviewer_id for response in evaluation.feedback_responses}
    seen: set[str] = set()
    for position, answer in enumerate(answers):
        reviewer_id = answer.reviewer_id
        if reviewer_id not in asked:
            raise ValidationError(f"{field}[{position}]", f"{reviewer_id} was not asked")
        if reviewer_id in seen or (isinstance(answer, FeedbackDecline) and reviewer_id in answered):
            raise ValidationError(f"{field}[{position}]", f"{reviewer_id} has already answered")
        seen.add(reviewer_id)


# -- feedback: requests, responses and declines, checked as they grow ---------------------------
#
# The three sequences are Entries with an index of their reviewers kept beside them, and each
# validator checks, when a command appends to its field, only the items appended (before the
# object holds them: ``Aggregate._next`` hands an item-by-item validator the new items alone),
# against the indexes; given a whole value (a new object, a snapshot, a field set), it checks
# everything. They are declared to read only their own field, so a command that leaves it as it
# was skips them, and what each reads of the others is covered where those change:
#
# - responses and declines come from someone asked: appending a request cannot break that;
#   setting the requests checks every answer against them (``_requests``);
# - a decline is refused for someone who responded, and a response for someone who declined,
#   whichever of the two is appended second;
# - the scores fit the criteria and the scale: changing either checks every response again
#   (``_answers_fit``, on the scale).

#: A record's key in the kept indexes (:meth:`perfcore.entries.Entries.position`).
_REVIEWER = operator.attrgetter("reviewer_id")


def _has(items: Sequence[Any], reviewer_id: str) -> bool:
    """Whether an item of ``items`` (requests, responses or declines) is ``reviewer_id``'s."""
    if isinstance(items, Entries):
        return items.position(_REVIEWER, reviewer_id) is not None
    return any(item.reviewer_id == reviewer_id for item in items)


def _appended(instance: object, attribute: attrs.Attribute[Any], value: object) -> Any:
    """The sequence ``value`` is being appended to (``None``: ``value`` is the whole field)."""
    current = getattr(instance, attribute.name, None)
    return None if value is current else current


def _requests(instance: Evaluation, attribute: attrs.Attribute[Any], value: object) -> None:
    _REQUESTS(instance, attribute, value)
    if _appended(instance, attribute, value) is not None:
        return  # more people asked: every answer still comes from someone asked
    asked = {request.reviewer_id for request in cast(Sequence[FeedbackRequest], value)}
    for field in ("feedback_responses", "feedback_declines"):
        for position, answer in enumerate(getattr(instance, field, ())):
            if answer.reviewer_id not in asked:
                raise ValidationError(f"{field}[{position}]", f"{answer.reviewer_id} was not asked")


def _responses(instance: Evaluation, attribute: attrs.Attribute[Any], value: object) -> None:
    _RESPONSES(instance, attribute, value)
    responses = cast(Sequence[ReviewerFeedback], value)
    before = _appended(instance, attribute, value)
    if before is None:
        _check_answers(instance, attribute.name, responses)
        for position, response in enumerate(responses):
            field = f"{attribute.name}[{position}].scores"
            _check_ratings(instance, field, response.scores, evidence=False)
        return
    _check_added(instance, attribute.name, before, responses, instance.feedback_declines)
    for offset, response in enumerate(responses):
        field = f"{attribute.name}[{len(before) + offset}].scores"
        _check_ratings(instance, field, response.scores, evidence=False)


def _declines(instance: Evaluation, attribute: attrs.Attribute[Any], value: object) -> None:
    _DECLINES(instance, attribute, value)
    declines = cast(Sequence[FeedbackDecline], value)
    before = _appended(instance, attribute, value)
    if before is None:
        _check_answers(instance, attribute.name, declines)
        return
    _check_added(instance, attribute.name, before, declines, instance.feedback_responses)


def _check_added(
    evaluation: Evaluation,
    field: str,
    before: Sequence[Any],
    added: Sequence[ReviewerFeedback | FeedbackDecline],
    others: Sequence[Any],
) -> None:
    """Answers appended after ``before``: each from someone asked who has not answered, in
    ``field`` or in ``others`` (the other kind of answer), all through the kept indexes."""
    seen: set[str] = set()
    for offset, answer in enumerate(added):
        where = f"{field}[{len(before) + offset}]"
        reviewer_id = answer.reviewer_id
        if not _has(evaluation.feedback_requests, reviewer_id):
            raise ValidationError(where, f"{reviewer_id} was not asked")
        if reviewer_id in seen or _has(before, reviewer_id) or _has(others, reviewer_id):
            raise ValidationError(where, f"{reviewer_id} has already answered")
        seen.add(reviewer_id)


@reads("criteria")
def _answers_fit(instance: Evaluation, _attribute: attrs.Attribute[Any], _value: object) -> None:
    """Every response's scores fit the criteria and the scale (run when either changes)."""
    for position, response in enumerate(instance.feedback_responses):
        field = f"feedback_responses[{position}].scores"
        _check_ratings(instance, field, response.scores, evidence=False)


_REQUESTS = entries_of(FeedbackRequest)
_RESPONSES = entries_of(ReviewerFeedback)
_DECLINES = entries_of(FeedbackDecline)
SELF_CONTAINED.update((_requests, _responses, _declines))
ITEMWISE.update((_requests, _responses, _declines))


_CALIBRATION_NOTES = tuple_of(CalibrationNote)


def _notes(instance: Evaluation, attribute: attrs.Attribute[Any], value: object) -> None:
    _CALIBRATION_NOTES(instance, attribute, value)
    known = instance.criterion_weights
    for position, note in enumerate(cast(tuple[CalibrationNote, ...], value)):
        where = f"{attribute.name}[{position}]"
        _check_criterion(known, f"{where}.criterion", note.criterion)
        if note.score is not None:
            instance.scale.check(f"{where}.score", note.score)


def _tuple_field(kind: type, validator: Validator | None = None) -> Any:
    return attrs.field(default=(), converter=to_tuple, validator=validator or tuple_of(kind))


@attrs.frozen(kw_only=True)
class Evaluation(Aggregate):
    """One person's evaluation for one period, against a snapshot of their job description.

    Create one with :meth:`create`; every command returns a new Evaluation. The final score is
    :meth:`final_score`; what a reader may see is :meth:`view_for`.
    """

    state: EvaluationState = attrs.field(
        default=EvaluationState.SCHEDULED, converter=_evaluation_state
    )
    subject_id: str = attrs.field(validator=identifier)
    evaluator_id: str = attrs.field(validator=[identifier, _not_the_subject])
    subject_is_manager: bool = attrs.field(default=False, validator=instance_of(bool))
    cycle_id: str | None = attrs.field(default=None, validator=optional_identifier)
    job_description_id: str = attrs.field(validator=identifier)
    job_description_number: int = attrs.field(validator=positive_whole)
    criteria: tuple[CriterionSnapshot, ...] = attrs.field(
        converter=_to_criteria, validator=_criteria
    )
    period_start: dt.date = attrs.field(validator=date)
    period_end: dt.date = attrs.field(validator=[date, _not_before_start])
    scale: RatingScale = attrs.field(
        factory=RatingScale, validator=[instance_of(RatingScale), _answers_fit]
    )
    self_ratings: tuple[Rating, ...] = _tuple_field(Rating, _ratings(evidence=False))
    #: Who was asked for feedback, who gave it, who declined: read-only sequences whose
    #: additions share what is there, each with its reviewers' index kept beside it.
    feedback_requests: Entries[FeedbackRequest] = attrs.field(
        factory=Entries, converter=to_entries, validator=_requests
    )
    feedback_responses: Entries[ReviewerFeedback] = attrs.field(
        factory=Entries, converter=to_entries, validator=_responses
    )
    feedback_declines: Entries[FeedbackDecline] = attrs.field(
        factory=Entries, converter=to_entries, validator=_declines
    )
    feedback_waiver: FeedbackWaiver | None = attrs.field(
        default=None, validator=optional_instance_of(FeedbackWaiver)
    )
    manager_ratings: tuple[Rating, ...] = _tuple_field(Rating, _ratings(evidence=True))
    calibration_notes: tuple[CalibrationNote, ...] = _tuple_field(CalibrationNote, _notes)
    #: The weights the final score was computed with, fixed by ``finalize``.
    score_weights: ScoreWeights | None = attrs.field(
        default=None, validator=optional_instance_of(ScoreWeights)
    )
    acknowledgement: Acknowledgement | None = attrs.field(
        default=None, validator=optional_instance_of(Acknowledgement)
    )
    disputes: tuple[Dispute, ...] = _tuple_field(Dispute)
    resolutions: tuple[Resolution, ...] = _tuple_field(Resolution)
    #: The improvement plan linked when it was finalized (required by a safety shortfall).
    improvement_plan_id: str | None = attrs.field(default=None, validator=optional_identifier)

    # -- reading --------------------------------------------------------------------------------

    @property
    def criterion_weights(self) -> dict[str, Decimal]:
        """Each criterion's weight, by name, in the job description's order."""
        return {criterion.name: criterion.weight for criterion in self.criteria}

    @property
    def released(self) -> bool:
        """Whether the result is final and shown to the subject: finalized, acknowledged or
        disputed (a dispute reopened for calibration hides it until it is final again)."""
        return self.state in _RELEASED

    @property
    def pending_reviewer_ids(self) -> frozenset[str]:
        """The reviewers asked for feedback who have neither given nor declined it."""
        answered = {response.reviewer_id for response in self.feedback_responses}
        answered |= {decline.reviewer_id for decline in self.feedback_declines}
        return frozenset(request.reviewer_id for request in self.feedback_requests) - answered

    def relationship_of(self, reviewer_id: str) -> Relationship | None:
        """How ``reviewer_id`` knows the subject, or ``None`` when they were not asked."""
        for request in self.feedback_requests:
            if request.reviewer_id == reviewer_id:
                return request.relationship
        return None

    def request_status(self, reviewer_id: str) -> FeedbackStatus | None:
        """Where ``reviewer_id``'s request stands, or ``None`` when they were not asked."""
        if self.relationship_of(reviewer_id) is None:
            return None
        if any(response.reviewer_id == reviewer_id for response in self.feedback_responses):
            return FeedbackStatus.GIVEN
        if any(decline.reviewer_id == reviewer_id for decline in self.feedback_declines):
            return FeedbackStatus.DECLINED
        return FeedbackStatus.REQUESTED

    def responses_by_relationship(self) -> dict[Relationship, tuple[ReviewerFeedback, ...]]:
        """The feedback responses grouped by the reviewers' relationship to the subject."""
        asked = {request.reviewer_id: request.relationship for request in self.feedback_requests}
        groups: dict[Relationship, list[ReviewerFeedback]] = {}
        for response in self.feedback_responses:
            groups.setdefault(asked[response.reviewer_id], []).append(response)
        # In the enum's order, not the order of the first answers, which would say who was first.
        return {kind: tuple(groups[kind]) for kind in Relationship if kind in groups}

    def feedback_scores(
        self, responses: Sequence[ReviewerFeedback] | None = None
    ) -> dict[str, list[Decimal]]:
        """Per criterion, the feedback scores given to it (by ``responses``, by default all)."""
        scores: dict[str, list[Decimal]] = {name: [] for name in self.criterion_weights}
        for response in self.feedback_responses if responses is None else responses:
            for rating in response.scores:
                scores[rating.criterion].append(rating.score)
        return scores

    @property
    def calibrated_scores(self) -> dict[str, Decimal]:
        """The manager's score on each criterion, as the latest calibration note set it."""
        scores = {rating.criterion: rating.score for rating in self.manager_ratings}
        for note in self.calibration_notes:
            if note.score is not None:
                scores[note.criterion] = note.score
        return scores

    def divergences(self, policy: Policy | None = None) -> tuple[Divergence, ...]:
        """The criteria whose calibrated score is further from the feedback mean than the
        policy's threshold, scaled to this evaluation's scale."""
        rules = (policy or DEFAULT_POLICY).evaluation
        limit = scoring.scaled_threshold(rules.divergence_threshold, self.scale.min, self.scale.max)
        return scoring.divergences(self.calibrated_scores, self.feedback_scores(), limit)

    def unresolved_divergences(self, policy: Policy | None = None) -> tuple[Divergence, ...]:
        """The divergences with no calibration note on their criterion: they block finalize."""
        noted = {note.criterion for note in self.calibration_notes}
        return tuple(item for item in self.divergences(policy) if item.criterion not in noted)

    def safety_shortfalls(self) -> tuple[SafetyShortfall, ...]:
        """The safety-critical criteria whose calibrated manager score is below their required
        level (:meth:`CriterionSnapshot.required_on` this evaluation's scale), in the job
        description's order; none before the manager review."""
        scores = self.calibrated_scores
        found = []
        for criterion in self.criteria:
            score = scores.get(criterion.name)
            if not criterion.safety_critical or score is None:
                continue
            required = criterion.required_on(self.scale)
            if score < required:
                found.append(
                    SafetyShortfall(criterion=criterion.name, score=score, required=required)
                )
        return tuple(found)

    def effective_weights(self, policy: Policy | None = None) -> ScoreWeights:
        """The score weights in force: those ``finalize`` recorded, else the policy's."""
        return self.score_weights or (policy or DEFAULT_POLICY).evaluation.weights

    def final_score(self, policy: Policy | None = None) -> Decimal | None:
        """The final score, computed from the ratings (see :mod:`perfcore.scoring`).

        Args:
            policy: whose :class:`~perfcore.policy.ScoreWeights` apply until ``finalize``
                records them; from then on the recorded weights apply.

        Returns:
            The score, exact to 28 significant digits, or ``None`` before the manager review
            (or when the weights give no weight to any component with data).
        """
        if not self.manager_ratings:
            return None
        components = {
            Component.SELF_REVIEW: {r.criterion: [r.score] for r in self.self_ratings},
            Component.MANAGER: {name: [s] for name, s in self.calibrated_scores.items()},
            Component.FEEDBACK: self.feedback_scores(),
        }
        return scoring.final_score(
            components, self.criterion_weights, self.effective_weights(policy)
        )

    def view_for(
        self, actor: Actor, policy: Policy | None = None
    ) -> visibility.SubjectView | visibility.ReviewerView | Evaluation:
        """What ``actor`` may see of this evaluation: the subject's view, a reviewer's, or (for
        the evaluator and HR) the evaluation itself.

        See :func:`perfcore.visibility.view_for` for the rules.

        Raises:
            PermissionDenied: ``actor`` is not the subject, the evaluator, HR or a reviewer
                asked for feedback.
        """
        return visibility.view_for(self, actor, policy)

    # -- creating -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        id: str,
        by: Actor,
        at: dt.datetime,
        subject_id: str,
        evaluator_id: str,
        job_description_id: str,
        job_description_number: int,
        criteria: Mapping[str, Score] | Sequence[Any],
        period_start: dt.date,
        period_end: dt.date,
        scale: RatingScale | None = None,
        subject_is_manager: bool = False,
        cycle_id: str | None = None,
        policy: Policy | None = None,
    ) -> Evaluation:
        """Schedule an evaluation.

        Args:
            id: the evaluation's id.
            by: the evaluator or HR (never the subject) under the default policy.
            at: when (timezone-aware).
            subject_id: who is evaluated.
            evaluator_id: the subject's manager, who writes the manager review.
            job_description_id: the job description the subject is measured against.
            job_description_number: its number within its lineage.
            criteria: a snapshot of its criteria: ``{name: weight}``, or the description's
                criteria themselves (anything with a ``name`` and a ``weight``).
            period_start: the first day of the period evaluated.
            period_end: its last day; the evaluation opens on or after it.
            scale: the rating scale; by default 1..5 without labels.
            subject_is_manager: whether the subject manages people, so that the manager review
                needs feedback from their direct reports.
            cycle_id: the review cycle it belongs to, if any.
            policy: the policy in force.

        Returns:
            The evaluation, ``scheduled``, at version 1.

        Raises:
            ValidationError: a field has the wrong type or an impossible value.
            PermissionDenied: ``by`` may not schedule this evaluation.
        """
        fields = {
            "subject_id": subject_id,
            "evaluator_id": evaluator_id,
            "subject_is_manager": subject_is_manager,
            "cycle_id": cycle_id,
            "job_description_id": job_description_id,
            "job_description_number": job_description_number,
            "criteria": criteria,
            "period_start": period_start,
            "period_end": period_end,
            "scale": RatingScale() if scale is None else scale,
        }
        return cls._create(id=id, by=by, at=at, fields=fields, policy=policy)

    # -- commands -------------------------------------------------------------------------------

    def open(self, *, by: Actor, at: dt.datetime, policy: Policy | None = None) -> Evaluation:
        """Open the evaluation for the self review.

        Raises:
            GuardFailed: the period has not ended and the policy does not allow early opening.
            TransitionNotAllowed: the evaluation is not scheduled.
            PermissionDenied: ``by`` is neither the evaluator nor HR, or is the subject.
        """
        return self._execute("open", by=by, at=at, policy=policy)

    def submit_self_review(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        ratings: Sequence[Rating],
        policy: Policy | None = None,
    ) -> Evaluation:
        """Record the subject's own ratings and pass the evaluation to the manager.

        Args:
            by: the subject.
            at: when (timezone-aware).
            ratings: one :class:`Rating` per criterion (evidence optional).
            policy: the policy in force.

        Raises:
            ValidationError: a rating is off the scale, names an unknown criterion or repeats one.
            GuardFailed: a criterion is not rated.
            TransitionNotAllowed: the evaluation is not in self review.
            PermissionDenied: ``by`` is not the subject.
        """
        entries = _as_ratings(ratings)
        return self._execute(
            "submit_self_review",
            by=by,
            at=at,
            policy=policy,
            args={"ratings": entries},
            changes=lambda _ev: Changes(set={"self_ratings": entries}),
        )

    def skip_self_review(
        self, *, by: Actor, at: dt.datetime, reason: str, policy: Policy | None = None
    ) -> Evaluation:
        """Pass the evaluation to the manager without a self review, saying why.

        Raises:
            ValidationError: the reason is blank.
            TransitionNotAllowed: the evaluation is not in self review.
            PermissionDenied: ``by`` is neither the evaluator nor HR, or is the subject.
        """
        check_reason(reason, required=True)
        return self._execute("skip_self_review", by=by, at=at, reason=reason, policy=policy)

    def request_feedback(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        reviewer_id: str,
        relationship: Relationship | str,
        policy: Policy | None = None,
    ) -> Evaluation:
        """Ask ``reviewer_id`` for feedback on the subject.

        Args:
            by: the evaluator or HR, never the subject.
            at: when (timezone-aware).
            reviewer_id: who is asked; each person is asked once.
            relationship: ``"peer"``, ``"direct_report"`` or ``"other"``.
            policy: the policy in force.

        Raises:
            ValidationError: an unknown relationship, or a blank id.
            GuardFailed: the reviewer is the subject or the evaluator, or was already asked.
            TransitionNotAllowed: the evaluation is not in self or manager review.
            PermissionDenied: ``by`` is neither the evaluator nor HR, or is the subject.
        """
        request = FeedbackRequest(
            reviewer_id=reviewer_id,
            relationship=relationship,
            requested_by=check_actor(by).id,
            requested_at=at,
        )
        return self._execute(
            "request_feedback",
            by=by,
            at=at,
            policy=policy,
            args={"request": request},
            changes=lambda _ev: Changes(append={"feedback_requests": (request,)}),
        )

    def give_feedback(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        scores: Mapping[str, Score],
        comment: str = "",
        policy: Policy | None = None,
    ) -> Evaluation:
        """Record a requested reviewer's feedback.

        Args:
            by: a reviewer who was asked and has not answered yet.
            at: when (timezone-aware).
            scores: ``{criterion: score}`` for the criteria they can judge (at least one).
            comment: what they would like the subject to hear through the evaluator.
            policy: the policy in force.

        Raises:
            ValidationError: no score, a score off the scale, or an unknown criterion.
            TransitionNotAllowed: the evaluation is not in self or manager review.
            PermissionDenied: ``by`` was not asked, or has already answered.
        """
        response = ReviewerFeedback(
            reviewer_id=check_actor(by).id, scores=_as_scores(scores), at=at, comment=comment
        )
        return self._execute(
            "give_feedback",
            by=by,
            at=at,
            policy=policy,
            changes=lambda _ev: Changes(append={"feedback_responses": (response,)}),
        )

    def decline_feedback(
        self, *, by: Actor, at: dt.datetime, reason: str, policy: Policy | None = None
    ) -> Evaluation:
        """Record that a requested reviewer will not give feedback, and why.

        Raises:
            ValidationError: the reason is blank.
            TransitionNotAllowed: the evaluation is not in self or manager review.
            PermissionDenied: ``by`` was not asked, or has already answered.
        """
        decline = FeedbackDecline(reviewer_id=check_actor(by).id, reason=reason, at=at)
        return self._execute(
            "decline_feedback",
            by=by,
            at=at,
            reason=reason,
            policy=policy,
            changes=lambda _ev: Changes(append={"feedback_declines": (decline,)}),
        )

    def waive_feedback(
        self, *, by: Actor, at: dt.datetime, reason: str, policy: Policy | None = None
    ) -> Evaluation:
        """Let the manager review go ahead without the feedback minimum, saying why.

        Raises:
            ValidationError: the reason is blank.
            GuardFailed: feedback was already waived.
            TransitionNotAllowed: the evaluation is not in manager review.
            PermissionDenied: ``by`` is not HR, or is the subject.
        """
        waiver = FeedbackWaiver(by=check_actor(by).id, reason=reason, at=at)
        return self._execute(
            "waive_feedback",
            by=by,
            at=at,
            reason=reason,
            policy=policy,
            changes=lambda _ev: Changes(set={"feedback_waiver": waiver}),
        )

    def submit_manager_review(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        ratings: Sequence[Rating],
        policy: Policy | None = None,
    ) -> Evaluation:
        """Record the evaluator's ratings and pass the evaluation to calibration.

        Args:
            by: the evaluator.
            at: when (timezone-aware).
            ratings: one :class:`Rating` per criterion, each with evidence.
            policy: the policy in force (its feedback minimums apply).

        Raises:
            ValidationError: a rating without evidence, off the scale, naming an unknown
                criterion or repeating one.
            GuardFailed: a criterion is not rated, or too little feedback and no waiver.
            TransitionNotAllowed: the evaluation is not in manager review.
            PermissionDenied: ``by`` is not the evaluator.
        """
        entries = _as_ratings(ratings)
        return self._execute(
            "submit_manager_review",
            by=by,
            at=at,
            policy=policy,
            args={"ratings": entries},
            changes=lambda _ev: Changes(set={"manager_ratings": entries}),
        )

    def calibrate(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        criterion: str,
        score: Score | None,
        reason: str,
        policy: Policy | None = None,
    ) -> Evaluation:
        """Note HR's calibration of one criterion: a new score, or ``None`` to keep it.

        Raises:
            ValidationError: an unknown criterion, a score off the scale, or a blank reason.
            TransitionNotAllowed: the evaluation is not in calibration.
            PermissionDenied: ``by`` is not HR, or is the subject or the evaluator.
        """
        note = CalibrationNote(
            criterion=criterion, score=score, reason=reason, by=check_actor(by).id, at=at
        )
        return self._execute(
            "calibrate",
            by=by,
            at=at,
            reason=reason,
            policy=policy,
            changes=lambda _ev: Changes(append={"calibration_notes": (note,)}),
        )

    @fired_by("Perfcore.reassign")
    def reassign(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        evaluator_id: str,
        reason: str,
        policy: Policy | None = None,
    ) -> Evaluation:
        """Hand an evaluation not yet reviewed by its manager to the subject's new manager,
        saying why (see :mod:`perfcore.reassignment`).

        Raises:
            ValidationError: the reason is blank, or ``evaluator_id`` is not an id or the
                subject.
            GuardFailed: ``evaluator_id`` is its evaluator already, is not the subject's
                manager in the directory that day, or was asked for feedback on it.
            TransitionNotAllowed: the manager review is submitted already.
            PermissionDenied: ``by`` is not HR, or is the subject.
        """
        return reassign(
            self, "evaluator_id", evaluator_id, by=by, at=at, reason=reason, policy=policy
        )

    @services_supply("improvement_plan")
    def finalize(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        improvement_plan: LinkedPlan | None = None,
        policy: Policy | None = None,
    ) -> Evaluation:
        """Make the result final and show it to the subject; the policy's score weights are
        recorded, so the final score stays what it is now.

        Args:
            improvement_plan: the improvement plan linked to the result, as stored: required
                when a safety-critical criterion is rated below its required level
                (:meth:`safety_shortfalls`); it must be an improvement plan for the subject
                that is not attained, closed or cancelled. Its id is recorded.

        Raises:
            ValidationError: ``improvement_plan`` is not a :class:`LinkedPlan`.
            GuardFailed: a divergence has no calibration note, the weights leave no component
                with data to score, or a safety shortfall has no improvement plan.
            TransitionNotAllowed: the evaluation is not in calibration.
            PermissionDenied: ``by`` is not HR, or is the subject.
        """
        if improvement_plan is not None and not isinstance(improvement_plan, LinkedPlan):
            raise ValidationError("improvement_plan", "must be a LinkedPlan or None")
        weights = (policy or DEFAULT_POLICY).evaluation.weights
        linked = {} if improvement_plan is None else {"improvement_plan_id": improvement_plan.id}
        return self._execute(
            "finalize",
            by=by,
            at=at,
            policy=policy,
            args={"improvement_plan": improvement_plan},
            changes=lambda _ev: Changes(set={"score_weights": weights, **linked}),
        )

    def acknowledge(
        self, *, by: Actor, at: dt.datetime, comment: str = "", policy: Policy | None = None
    ) -> Evaluation:
        """Record that the subject has seen the final result (a comment is optional).

        Raises:
            TransitionNotAllowed: the evaluation is not finalized.
            PermissionDenied: ``by`` is not the subject.
        """
        record = Acknowledgement(by=check_actor(by).id, at=at, comment=comment)
        return self._execute(
            "acknowledge",
            by=by,
            at=at,
            reason=comment,
            policy=policy,
            changes=lambda _ev: Changes(set={"acknowledgement": record}),
        )

    def dispute(
        self, *, by: Actor, at: dt.datetime, reason: str, policy: Policy | None = None
    ) -> Evaluation:
        """Record that the subject disputes the final result, and why.

        Raises:
            ValidationError: the reason is blank.
            TransitionNotAllowed: the evaluation is not finalized.
            PermissionDenied: ``by`` is not the subject.
        """
        record = Dispute(by=check_actor(by).id, at=at, reason=reason)
        return self._execute(
            "dispute",
            by=by,
            at=at,
            reason=reason,
            policy=policy,
            changes=lambda _ev: Changes(append={"disputes": (record,)}),
        )

    def resolve_dispute(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        resolution: str,
        reopen: bool = False,
        policy: Policy | None = None,
    ) -> Evaluation:
        """Resolve the dispute: keep the result final, or reopen it for calibration.

        Args:
            by: HR, never the subject.
            at: when (timezone-aware).
            resolution: what was decided, and why.
            reopen: ``True`` takes the evaluation back to calibration (the recorded weights are
                cleared, so finalising again records the policy's weights then).
            policy: the policy in force.

        Raises:
            ValidationError: the resolution is blank, or ``reopen`` is not a bool.
            TransitionNotAllowed: the evaluation is not disputed.
            PermissionDenied: ``by`` is not HR, or is the subject.
        """
        record = Resolution(by=check_actor(by).id, at=at, resolution=resolution, reopened=reopen)
        cleared = {"score_weights": None} if reopen else {}
        return self._execute(
            "resolve_dispute",
            by=by,
            at=at,
            reason=resolution,
            policy=policy,
            args={"reopen": reopen},
            changes=lambda _ev: Changes(set=cleared, append={"resolutions": (record,)}),
        )


def _as_ratings(ratings: object) -> tuple[Rating, ...]:
    if not isinstance(ratings, list | tuple) or not all(
        isinstance(item, Rating) for item in ratings
    ):
        raise ValidationError("ratings", "must be a list of Rating, one per criterion")
    return tuple(ratings)


def _as_scores(scores: object) -> tuple[Rating, ...]:
    if not isinstance(scores, Mapping) or not scores:
        raise ValidationError("scores", "must map at least one criterion to its score")
    return tuple(Rating(criterion=name, score=score) for name, score in scores.items())


# -- the lifecycle table ------------------------------------------------------------------------


def _period_ended(evaluation: Evaluation, command: Command) -> str | None:
    if command.policy.evaluation.allow_early_open or command.at.date() >= evaluation.period_end:
        return None
    return (
        f"the period runs until {evaluation.period_end}: the evaluation opens on or after that"
        " day, unless the policy allows early opening"
    )


def _every_criterion_rated(evaluation: Evaluation, command: Command) -> str | None:
    rated = {rating.criterion for rating in command.args["ratings"]}
    missing = [name for name in evaluation.criterion_weights if name not in rated]
    if missing:
        return f"every criterion must be rated; not rated: {', '.join(missing)}"
    return None


def _enough_feedback(evaluation: Evaluation, command: Command) -> str | None:
    if evaluation.feedback_waiver is not None:
        return None
    rules = command.policy.evaluation
    short = []
    given = len(evaluation.feedback_responses)
    if given < rules.min_feedback_responses:
        short.append(f"{rules.min_feedback_responses} feedback responses are needed, {given} given")
    if evaluation.subject_is_manager:
        groups = evaluation.responses_by_relationship()
        reports = len(groups.get(Relationship.DIRECT_REPORT, ()))
        if reports < rules.min_report_responses:
            short.append(
                f"a manager's evaluation needs {rules.min_report_responses} responses from"
                f" direct reports, {reports} given"
            )
    if short:
        return "; ".join(short) + " (or HR waives the feedback, with a reason)"
    return None


def _reviewer_not_subject(evaluation: Evaluation, command: Command) -> str | None:
    if command.args["request"].reviewer_id == evaluation.subject_id:
        return "the subject cannot give feedback on themselves"
    return None


def _reviewer_not_evaluator(evaluation: Evaluation, command: Command) -> str | None:
    if command.args["request"].reviewer_id == evaluation.evaluator_id:
        return "the evaluator gives the manager review, not feedback"
    return None


def _asked_once(evaluation: Evaluation, command: Command) -> str | None:
    reviewer_id = command.args["request"].reviewer_id
    requests = evaluation.feedback_requests
    position = (
        requests.position(_REVIEWER, reviewer_id)
        if isinstance(requests, Entries)
        else next((n for n, r in enumerate(requests) if r.reviewer_id == reviewer_id), None)
    )
    if position is not None:
        request = requests[position]
        return f"{reviewer_id} was already asked, on {request.requested_at.date()}"
    return None


def _not_yet_waived(evaluation: Evaluation, _command: Command) -> str | None:
    waiver = evaluation.feedback_waiver
    if waiver is not None:
        return f"feedback was already waived by {waiver.by} on {waiver.at.date()}"
    return None


def _divergences_noted(evaluation: Evaluation, command: Command) -> str | None:
    unresolved = evaluation.unresolved_divergences(command.policy)
    if not unresolved:
        return None
    listed = ", ".join(
        f"{item.criterion} (manager {item.manager_score},"
        f" feedback mean {scoring.for_display(item.feedback_mean)})"
        for item in unresolved
    )
    return (
        f"the manager's score is too far from the feedback on {listed}:"
        " each needs a calibration note first"
    )


def _score_computable(evaluation: Evaluation, command: Command) -> str | None:
    if evaluation.final_score(command.policy) is None:
        return "the policy's score weights give no weight to any component that has scores"
    return None


def _plain(score: Decimal) -> str:
    """A score as people write it: 4, 3.5 (rounded to two places, no trailing zeros)."""
    text = format(scoring.for_display(score), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _safety_planned(evaluation: Evaluation, command: Command) -> str | None:
    shortfalls = evaluation.safety_shortfalls()
    if not shortfalls:
        return None
    listed = ", ".join(
        f"{item.criterion} ({_plain(item.score)} < {_plain(item.required)})" for item in shortfalls
    )
    plan = command.args.get("improvement_plan")
    if plan is None:
        return (
            f"safety-critical criteria are rated below their required level: {listed};"
            " link an improvement plan for the subject first"
        )
    if plan.kind != "improvement":
        return f"plan {plan.id} is a {plan.kind} plan; a safety shortfall needs an improvement plan"
    if plan.subject_id != evaluation.subject_id:
        return f"plan {plan.id} is for {plan.subject_id}, not for {evaluation.subject_id}"
    if plan.state not in OPEN_PLAN_STATES:
        return f"plan {plan.id} is {plan.state}; a safety shortfall needs a plan still open"
    return None


def _kept(_evaluation: Evaluation, command: Command) -> str | None:
    return "the dispute reopens the evaluation" if command.args["reopen"] else None


def _reopened(_evaluation: Evaluation, command: Command) -> str | None:
    return None if command.args["reopen"] else "the dispute keeps the result final"


def _is_pending_reviewer(actor: Actor, evaluation: Evaluation) -> bool:
    return actor.id in evaluation.pending_reviewer_ids


_subject = is_person("subject_id", "the subject")
_evaluator = is_person("evaluator_id", "the evaluator")
_hr = has_role(Role.HR)
_reviewer = Rule("a reviewer who was asked and has not answered yet", _is_pending_reviewer)
#: The subject never runs their own evaluation, whatever roles they hold.
_organiser = (_evaluator | _hr) & never(_subject)
#: The evaluator is the subject's manager in the directory on the day, unless HR names a delegate.
_managed_by_evaluator = manager_in_directory(
    "subject_id", "evaluator_id", "naming the subject's manager in the directory as evaluator"
)
#: Calibration, waivers, finalising and disputes are a second opinion on the evaluator's work:
#: never the subject's, never the evaluator's own, whatever roles they hold.
_independent_hr = _hr & never(_subject) & never(_evaluator)

_FEEDBACK_STATES = ("self_review", "manager_review")
_rated = Guard("every criterion rated", _every_criterion_rated)


def _in_reviews(trigger: str, who: Rule, guards: Sequence[Guard] = ()) -> list[Step]:
    """The same self-loop in self review and in manager review."""
    return [
        Step(trigger=trigger, sources=[state], dest=state, who=who, guards=guards)
        for state in _FEEDBACK_STATES
    ]


def _not_a_reviewer(evaluation: Evaluation, command: Command) -> str | None:
    to = command.args["evaluator_id"]
    if evaluation.relationship_of(to) is not None:
        return f"{to} was asked for feedback on this evaluation: a reviewer is not its evaluator"
    return None


LIFECYCLE = Lifecycle(
    name="Evaluation",
    states=[state.value for state in EvaluationState],
    initial=EvaluationState.SCHEDULED.value,
    create_rule=_organiser & (_managed_by_evaluator | _hr),
    steps=[
        Step(
            trigger="open",
            sources=["scheduled"],
            dest="self_review",
            who=_organiser,
            guards=[Guard("period ended", _period_ended)],
        ),
        Step(
            trigger="submit_self_review",
            sources=["self_review"],
            dest="manager_review",
            who=_subject,
            guards=[_rated],
        ),
        Step(
            trigger="skip_self_review",
            sources=["self_review"],
            dest="manager_review",
            who=_organiser,
        ),
        *_in_reviews(
            "request_feedback",
            _organiser,
            [
                Guard("reviewer not the subject", _reviewer_not_subject),
                Guard("reviewer not the evaluator", _reviewer_not_evaluator),
                Guard("asked once", _asked_once),
            ],
        ),
        *_in_reviews("give_feedback", _reviewer),
        *_in_reviews("decline_feedback", _reviewer),
        Step(
            trigger="waive_feedback",
            sources=["manager_review"],
            dest="manager_review",
            who=_independent_hr,
            guards=[Guard("not yet waived", _not_yet_waived)],
        ),
        Step(
            trigger="submit_manager_review",
            sources=["manager_review"],
            dest="calibration",
            who=_evaluator,
            guards=[_rated, Guard("enough feedback", _enough_feedback)],
        ),
        Step(trigger="calibrate", sources=["calibration"], dest="calibration", who=_independent_hr),
        Step(
            trigger="finalize",
            sources=["calibration"],
            dest="finalized",
            who=_independent_hr,
            guards=[
                Guard("divergences noted", _divergences_noted),
                Guard("score computable", _score_computable),
                Guard("safety shortfalls planned", _safety_planned),
            ],
        ),
        Step(trigger="acknowledge", sources=["finalized"], dest="acknowledged", who=_subject),
        Step(trigger="dispute", sources=["finalized"], dest="disputed", who=_subject),
        # One trigger, two rows: the machine takes the first whose guard holds.
        Step(
            trigger="resolve_dispute",
            sources=["disputed"],
            dest="finalized",
            who=_independent_hr,
            guards=[Guard("result kept", _kept)],
        ),
        Step(
            trigger="resolve_dispute",
            sources=["disputed"],
            dest="calibration",
            who=_independent_hr,
            guards=[Guard("reopened", _reopened)],
        ),
        *reassign_steps(
            ["scheduled", "self_review", "manager_review"],
            field="evaluator_id",
            concerned="subject_id",
            what="evaluator",
            who=_hr & never(_subject),
            guards=[Guard("not a reviewer", _not_a_reviewer)],
        ),
    ],
)
Evaluation.lifecycle = LIFECYCLE
register(Evaluation, LIFECYCLE)
