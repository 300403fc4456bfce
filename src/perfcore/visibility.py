"""What each reader of an evaluation may see: :func:`view_for` (also ``Evaluation.view_for``).

An evaluation holds what people said about a colleague. Who may read what is decided here, in
the domain, so that no integrator can show it to the wrong person by accident. The reader is
matched in this order, and the first match decides:

1. **The subject**, whatever roles they hold (HR included), sees their own self ratings; and once
   the result is released (finalized, acknowledged or disputed) the manager's calibrated scores
   with their evidence, the final score, and the feedback as averages per relationship group.
   A group with fewer responses than the policy's ``anonymity_threshold`` is left out entirely,
   and so is, within a group shown, a criterion that fewer reviewers than that scored. No
   reviewer id, comment, request, decline or calibration note is shown. Feedback is shown only
   once released, when it can no longer change, so that two views cannot be compared to single
   out one response. The final score is withheld (``None``, with ``final_score_withheld``) when
   it rolls in feedback scores the subject may not see, since it could be solved for them.
2. **The evaluator and HR** see everything.
3. **A reviewer who was asked** sees what they need to answer (the header: criteria, scale,
   period) and their own request, response or decline; nothing anyone else wrote.
4. Anyone else is refused with :class:`~perfcore.errors.PermissionDenied`.

A view is a dict of plain values: str, int, bool, Decimal, date, datetime, None, tuples and
dicts (enum values are ``StrEnum`` members, which are strings). Its keys are fixed per audience:

- every view: ``audience`` (``"subject"``, ``"full"`` or ``"reviewer"``), ``id``, ``state``,
  ``version``, ``subject_id``, ``evaluator_id``, ``cycle_id``, ``job_description`` (``id``,
  ``number``), ``criteria`` (``name``, ``weight`` each), ``period`` (``start``, ``end``),
  ``scale`` (``min``, ``max``, ``labels``);
- ``"subject"``: ``released``, ``self_ratings``, ``manager_ratings`` (``criterion``, ``score``,
  ``evidence`` each; ``None`` until released), ``feedback`` (``relationship``, ``responses``,
  ``averages`` by criterion, per group shown; ``None`` until released), ``final_score``,
  ``final_score_withheld``, ``acknowledgement`` (``at``, ``comment``), ``disputes`` (``at``,
  ``reason``), ``resolutions`` (``at``, ``resolution``, ``reopened``);
- ``"full"``: every field of the evaluation but its history, as dicts, and ``feedback_status``
  (by reviewer id), ``calibrated_scores``, ``divergences``, ``unresolved_divergences`` (criterion
  names) and ``final_score``;
- ``"reviewer"``: ``relationship``, ``requested_at``, ``status``, ``response`` (``scores`` by
  criterion, ``comment``, ``at``; or ``None``), ``decline`` (``reason``, ``at``; or ``None``).

>>> import datetime as dt
>>> from perfcore import Actor
>>> from perfcore.testing.drivers import driver_for
>>> evaluation = driver_for("Evaluation").reach("calibration")
>>> view_for(evaluation, Actor(id="ana"))["manager_ratings"] is None  # not released yet
True
>>> view_for(evaluation, Actor(id="peer-1"))["response"]["scores"]
{'Delivery': Decimal('4'), 'Collaboration': Decimal('4')}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from perfcore import scoring
from perfcore._aggregate import check_actor
from perfcore.actor import Actor, Role
from perfcore.errors import PermissionDenied
from perfcore.policy import DEFAULT_POLICY, Policy

if TYPE_CHECKING:
    from perfcore.evaluation import Evaluation, Rating

__all__ = ["view_for"]

_READERS = "the subject, the evaluator, HR or a reviewer who was asked"

#: The fields the full view shows as they are stored (the header shows the others).
_FULL_FIELDS = (
    "subject_is_manager",
    "self_ratings",
    "feedback_requests",
    "feedback_responses",
    "feedback_declines",
    "feedback_waiver",
    "manager_ratings",
    "calibration_notes",
    "score_weights",
    "acknowledgement",
    "disputes",
    "resolutions",
)


def view_for(evaluation: Evaluation, actor: Actor, policy: Policy | None = None) -> dict[str, Any]:
    """What ``actor`` may see of ``evaluation``, as plain data (see the module's docs).

    Args:
        evaluation: the evaluation to show.
        actor: who is reading.
        policy: the policy in force: its anonymity threshold and, until the evaluation is
            finalized, its score weights.

    Returns:
        A dict with the keys of the actor's audience.

    Raises:
        ValidationError: ``actor`` is not an Actor.
        PermissionDenied: ``actor`` may not read this evaluation.
    """
    check_actor(actor)
    policy = policy or DEFAULT_POLICY
    if actor.id == evaluation.subject_id:
        return _subject_view(evaluation, policy)
    if actor.id == evaluation.evaluator_id or actor.is_a(Role.HR):
        return _full_view(evaluation, policy)
    if evaluation.relationship_of(actor.id) is not None:
        return _reviewer_view(evaluation, actor.id)
    raise PermissionDenied(actor.id, "Evaluation", evaluation.id, "view", _READERS)


def _header(evaluation: Evaluation, audience: str) -> dict[str, Any]:
    scale = evaluation.scale
    return {
        "audience": audience,
        "id": evaluation.id,
        "state": evaluation.state,
        "version": evaluation.version,
        "subject_id": evaluation.subject_id,
        "evaluator_id": evaluation.evaluator_id,
        "cycle_id": evaluation.cycle_id,
        "job_description": {
            "id": evaluation.job_description_id,
            "number": evaluation.job_description_number,
        },
        "criteria": tuple(
            {"name": criterion.name, "weight": criterion.weight}
            for criterion in evaluation.criteria
        ),
        "period": {"start": evaluation.period_start, "end": evaluation.period_end},
        "scale": {"min": scale.min, "max": scale.max, "labels": scale.labels},
    }


def _ratings(ratings: Sequence[Rating]) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"criterion": rating.criterion, "score": rating.score, "evidence": rating.evidence}
        for rating in ratings
    )


def _subject_view(evaluation: Evaluation, policy: Policy) -> dict[str, Any]:
    view = _header(evaluation, "subject")
    released = evaluation.released
    groups, hidden = _feedback_groups(evaluation, policy.evaluation.anonymity_threshold)
    withheld = released and hidden and evaluation.effective_weights(policy).feedback > 0
    evidence = {rating.criterion: rating.evidence for rating in evaluation.manager_ratings}
    manager = tuple(
        {"criterion": name, "score": score, "evidence": evidence[name]}
        for name, score in evaluation.calibrated_scores.items()
    )
    acknowledgement = evaluation.acknowledgement
    view.update(
        released=released,
        self_ratings=_ratings(evaluation.self_ratings),
        manager_ratings=manager if released else None,
        feedback=groups if released else None,
        final_score=evaluation.final_score(policy) if released and not withheld else None,
        final_score_withheld=withheld,
        acknowledgement=None
        if acknowledgement is None
        else {"at": acknowledgement.at, "comment": acknowledgement.comment},
        disputes=tuple({"at": item.at, "reason": item.reason} for item in evaluation.disputes),
        # Who resolved a dispute is left out: an HR person may also have been a reviewer.
        resolutions=tuple(
            {"at": item.at, "resolution": item.resolution, "reopened": item.reopened}
            for item in evaluation.resolutions
        ),
    )
    return view


def _feedback_groups(
    evaluation: Evaluation, threshold: int
) -> tuple[tuple[dict[str, Any], ...], bool]:
    """The groups the subject may see, and whether any feedback score is hidden from them."""
    shown = []
    hidden = False
    for relationship, responses in evaluation.responses_by_relationship().items():
        if len(responses) < threshold:
            hidden = True
            continue
        averages = {}
        for criterion, scores in evaluation.feedback_scores(responses).items():
            if len(scores) >= threshold:
                averages[criterion] = scoring.mean(scores)
            elif scores:
                hidden = True
        shown.append(
            {"relationship": relationship, "responses": len(responses), "averages": averages}
        )
    return tuple(shown), hidden


def _plain(value: Any) -> Any:
    if attrs.has(type(value)):
        return attrs.asdict(value)  # tuples stay tuples
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return value


def _full_view(evaluation: Evaluation, policy: Policy) -> dict[str, Any]:
    view = _header(evaluation, "full")
    view.update({name: _plain(getattr(evaluation, name)) for name in _FULL_FIELDS})
    view.update(
        feedback_status={
            request.reviewer_id: evaluation.request_status(request.reviewer_id)
            for request in evaluation.feedback_requests
        },
        calibrated_scores=evaluation.calibrated_scores,
        divergences=_plain(evaluation.divergences(policy)),
        unresolved_divergences=tuple(
            item.criterion for item in evaluation.unresolved_divergences(policy)
        ),
        final_score=evaluation.final_score(policy),
    )
    return view


def _reviewer_view(evaluation: Evaluation, reviewer_id: str) -> dict[str, Any]:
    view = _header(evaluation, "reviewer")
    request = next(r for r in evaluation.feedback_requests if r.reviewer_id == reviewer_id)
    response = next(
        (r for r in evaluation.feedback_responses if r.reviewer_id == reviewer_id), None
    )
    decline = next((d for d in evaluation.feedback_declines if d.reviewer_id == reviewer_id), None)
    view.update(
        relationship=request.relationship,
        requested_at=request.requested_at,
        status=evaluation.request_status(reviewer_id),
        response=None
        if response is None
        else {
            "scores": {rating.criterion: rating.score for rating in response.scores},
            "comment": response.comment,
            "at": response.at,
        },
        decline=None if decline is None else {"reason": decline.reason, "at": decline.at},
    )
    return view
