"""The records an evaluation is made of: its rating scale, ratings, feedback requests and
responses, declines and waivers, calibration notes, disputes and their resolutions.

Each is a frozen value; :class:`~perfcore.evaluation.Evaluation` holds them and checks how they
fit together (a rating names a known criterion, an answer comes from a reviewer who was asked).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import attrs

from perfcore._validate import (
    any_text,
    aware_datetime,
    identifier,
    instance_of,
    non_negative,
    number,
    optional_number,
    short_text,
    short_texts,
    text,
    to_decimal,
    to_enum,
    to_tuple,
    tuple_of,
    whole_number,
)
from perfcore.errors import ValidationError

__all__ = [
    "CalibrationNote",
    "CriterionSnapshot",
    "Dispute",
    "FeedbackDecline",
    "FeedbackRequest",
    "FeedbackStatus",
    "FeedbackWaiver",
    "Rating",
    "RatingScale",
    "Relationship",
    "Resolution",
    "ReviewerFeedback",
]


class Relationship(enum.StrEnum):
    """How a reviewer knows the subject; feedback is shown to the subject per group."""

    PEER = "peer"
    DIRECT_REPORT = "direct_report"
    OTHER = "other"


class FeedbackStatus(enum.StrEnum):
    """Where one feedback request stands (derived, see :meth:`Evaluation.request_status`)."""

    REQUESTED = "requested"
    GIVEN = "given"
    DECLINED = "declined"


def _relationship(value: object) -> Relationship:
    return to_enum(Relationship, "relationship")(value)


def _above_min(instance: RatingScale, attribute: attrs.Attribute[Any], value: int) -> None:
    if value <= instance.min:
        raise ValidationError(attribute.name, f"must be above min ({instance.min}), not {value}")


def _one_label_per_point(
    instance: RatingScale, attribute: attrs.Attribute[Any], value: tuple[str, ...]
) -> None:
    points = instance.max - instance.min + 1
    if value and len(value) != points:
        raise ValidationError(
            attribute.name, f"must name all {points} points of the scale, or none; {len(value)}"
        )


@attrs.frozen(kw_only=True)
class RatingScale:
    """The points a score may take: the whole numbers from ``min`` to ``max``.

    Args:
        min: the lowest point.
        max: the highest point, above ``min``.
        labels: a name for each point, lowest first, or none.

    >>> RatingScale(labels=("poor", "fair", "good", "strong", "outstanding")).label(Decimal(4))
    'strong'
    """

    min: int = attrs.field(default=1, validator=whole_number)
    max: int = attrs.field(default=5, validator=[whole_number, _above_min])
    labels: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, validator=[short_texts, _one_label_per_point]
    )

    def contains(self, score: Decimal) -> bool:
        """Whether ``score`` is one of the scale's points."""
        return score == score.to_integral_value() and self.min <= score <= self.max

    def check(self, name: str, score: Decimal) -> None:
        """Raise :class:`ValidationError` naming ``name`` unless ``score`` is on the scale."""
        if not self.contains(score):
            raise ValidationError(
                name, f"must be a whole number from {self.min} to {self.max}, not {score}"
            )

    def label(self, score: Decimal) -> str | None:
        """The label of the point ``score``, or ``None`` (no labels, or not a point)."""
        if not self.labels or not self.contains(score):
            return None
        return self.labels[int(score) - self.min]


@attrs.frozen(kw_only=True)
class CriterionSnapshot:
    """A criterion of the job description as it stood when the evaluation was created: its
    name and weight, and whether it is safety-critical with the lowest score that meets its
    required level (``None``: the scale's middle; see
    :attr:`perfcore.job_description.Criterion.required_score`)."""

    name: str = attrs.field(validator=short_text)
    weight: Decimal = attrs.field(converter=to_decimal, validator=non_negative)
    safety_critical: bool = attrs.field(default=False, validator=instance_of(bool))
    required_score: Decimal | None = attrs.field(
        default=None, converter=to_decimal, validator=optional_number
    )

    def required_on(self, scale: RatingScale) -> Decimal:
        """The lowest score on ``scale`` that meets the required level: ``required_score``, or
        the scale's middle ((min + max) / 2) when the criterion does not say."""
        if self.required_score is not None:
            return self.required_score
        return (Decimal(scale.min) + Decimal(scale.max)) / 2


@attrs.frozen(kw_only=True)
class Rating:
    """A score on one criterion, with the evidence it rests on (required of the manager)."""

    criterion: str = attrs.field(validator=short_text)
    score: Decimal = attrs.field(converter=to_decimal, validator=number)
    evidence: str = attrs.field(default="", validator=any_text)


@attrs.frozen(kw_only=True)
class FeedbackRequest:
    """Who was asked for feedback, how they know the subject, by whom and when."""

    reviewer_id: str = attrs.field(validator=identifier)
    relationship: Relationship = attrs.field(converter=_relationship)
    requested_by: str = attrs.field(validator=identifier)
    requested_at: dt.datetime = attrs.field(validator=aware_datetime)


@attrs.frozen(kw_only=True)
class ReviewerFeedback:
    """A requested reviewer's answer: scores on the criteria they can judge, and a comment."""

    reviewer_id: str = attrs.field(validator=identifier)
    scores: tuple[Rating, ...] = attrs.field(converter=to_tuple, validator=tuple_of(Rating))
    at: dt.datetime = attrs.field(validator=aware_datetime)
    comment: str = attrs.field(default="", validator=any_text)


@attrs.frozen(kw_only=True)
class FeedbackDecline:
    """A requested reviewer's refusal to give feedback, and why."""

    reviewer_id: str = attrs.field(validator=identifier)
    reason: str = attrs.field(validator=text)
    at: dt.datetime = attrs.field(validator=aware_datetime)


@attrs.frozen(kw_only=True)
class FeedbackWaiver:
    """HR's decision that the manager review may go ahead without the feedback minimum."""

    by: str = attrs.field(validator=identifier)
    reason: str = attrs.field(validator=text)
    at: dt.datetime = attrs.field(validator=aware_datetime)


@attrs.frozen(kw_only=True)
class CalibrationNote:
    """HR's note on one criterion: the adjusted score (``None`` keeps it), and why."""

    criterion: str = attrs.field(validator=short_text)
    score: Decimal | None = attrs.field(converter=to_decimal, validator=optional_number)
    reason: str = attrs.field(validator=text)
    by: str = attrs.field(validator=identifier)
    at: dt.datetime = attrs.field(validator=aware_datetime)


@attrs.frozen(kw_only=True)
class Dispute:
    """The subject's dispute of the final result, and why."""

    by: str = attrs.field(validator=identifier)
    at: dt.datetime = attrs.field(validator=aware_datetime)
    reason: str = attrs.field(validator=text)


@attrs.frozen(kw_only=True)
class Resolution:
    """HR's resolution of the latest dispute: kept as final, or reopened for calibration."""

    by: str = attrs.field(validator=identifier)
    at: dt.datetime = attrs.field(validator=aware_datetime)
    resolution: str = attrs.field(validator=text)
    reopened: bool = attrs.field(validator=instance_of(bool))
