"""The arithmetic of an evaluation's final score, and the divergences calibration must look at.

Pure functions on plain numbers: no aggregate, no policy object beyond :class:`ScoreWeights`.

Scores are given per criterion, per component. A component (the self review, the manager's
calibrated review, the feedback) gives each criterion a sequence of scores: one for the self and
manager reviews, one per response for feedback. Then:

1. a criterion's value in a component is the mean of its scores (a criterion with no scores has
   no value there);
2. a component's score is the mean of its criterion values weighted by the criteria's weights,
   over the criteria that have a value (their weights renormalised);
3. the final score is the mean of the component scores weighted by :class:`ScoreWeights`, over the
   components that have a score (their weights renormalised). A component with no data is
   dropped: it never counts in a denominator.

Precision: the arithmetic is exact (scores and weights become fractions) and the result is
rounded once, at the end, to :data:`PRECISION` significant digits (ROUND_HALF_EVEN), whatever the
caller's decimal context. Because that one rounding is monotone, the result stays within the
range of the scores it combines and never falls when a score rises. Round for display only, with
:func:`for_display`.

>>> from decimal import Decimal as D
>>> weights = {"Delivery": D(60), "Teamwork": D(40)}
>>> manager = {"Delivery": [D(4)], "Teamwork": [D(3)]}
>>> component_score(manager, weights)
Decimal('3.6')
>>> feedback = {"Delivery": [D(2), D(3)], "Teamwork": [D(5)]}
>>> final_score({Component.MANAGER: manager, Component.FEEDBACK: feedback}, weights,
...     ScoreWeights(manager=3, feedback=1))
Decimal('3.575')
>>> final_score({Component.MANAGER: manager, Component.FEEDBACK: {}}, weights,
...     ScoreWeights(manager=3, feedback=1))
Decimal('3.6')
>>> divergences({"Delivery": D(5), "Teamwork": D(4)}, feedback, scaled_threshold(D("1.5"), 1, 5))
(Divergence(criterion='Delivery', manager_score=Decimal('5'), feedback_mean=Decimal('2.5'),
            difference=Decimal('2.5')),)
"""

from __future__ import annotations

import decimal
import enum
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from math import gcd

import attrs

from perfcore.errors import ValidationError
from perfcore.policy import ScoreWeights

__all__ = [
    "PRECISION",
    "Component",
    "CriterionScores",
    "Divergence",
    "component_score",
    "divergences",
    "final_score",
    "for_display",
    "mean",
    "scaled_threshold",
]

#: Significant digits of every number this module returns (Decimal's default precision).
PRECISION = 28

#: Per criterion name, the scores one component gave it.
CriterionScores = Mapping[str, Sequence[Decimal]]

#: The span of the scale :class:`~perfcore.policy.EvaluationPolicy`'s threshold is written for.
_REFERENCE_SPAN = 4


class Component(enum.StrEnum):
    """A part of the final score; the values are the names of :class:`ScoreWeights`' fields."""

    SELF_REVIEW = "self_review"
    MANAGER = "manager"
    FEEDBACK = "feedback"


@attrs.frozen(kw_only=True)
class Divergence:
    """A criterion on which the manager and the feedback disagree by more than the threshold."""

    criterion: str
    manager_score: Decimal
    feedback_mean: Decimal
    difference: Decimal


#: An exact rational number as (numerator, denominator), the denominator above zero, in lowest
#: terms. Plain integer pairs rather than :class:`~fractions.Fraction`, whose operators cost
#: ten times as much: every evaluation command's view computes a final score.
_Q = tuple[int, int]


def _exact(value: Decimal | int | Fraction) -> _Q:
    numerator, denominator = value.as_integer_ratio()
    return numerator, denominator


def _reduced(numerator: int, denominator: int) -> _Q:
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    common = gcd(numerator, denominator)
    return numerator // common, denominator // common


def _to_decimal(value: _Q) -> Decimal:
    # A local context, so that the caller's precision or rounding never changes a score.
    with decimal.localcontext(prec=PRECISION, rounding=ROUND_HALF_EVEN):
        return Decimal(value[0]) / Decimal(value[1])


def _weighted_mean(pairs: Iterable[tuple[_Q, _Q]]) -> _Q | None:
    """The mean of (value, weight) pairs, or ``None`` when the weights sum to zero."""
    total_n, total_d = 0, 1
    sum_n, sum_d = 0, 1
    for (value_n, value_d), (weight_n, weight_d) in pairs:
        total_n, total_d = _reduced(total_n * weight_d + weight_n * total_d, total_d * weight_d)
        term_n, term_d = value_n * weight_n, value_d * weight_d
        sum_n, sum_d = _reduced(sum_n * term_d + term_n * sum_d, sum_d * term_d)
    if total_n == 0:
        return None
    return _reduced(sum_n * total_d, sum_d * total_n)


def _mean(values: Sequence[Decimal]) -> _Q | None:
    return _weighted_mean((_exact(value), (1, 1)) for value in values)


def _component(scores: CriterionScores, criterion_weights: Mapping[str, Decimal]) -> _Q | None:
    pairs = []
    for name, values in scores.items():
        if name not in criterion_weights:
            known = ", ".join(criterion_weights)
            raise ValidationError("scores", f"{name!r} is not a criterion; criteria: {known}")
        value = _mean(values)
        if value is not None:
            pairs.append((value, _exact(criterion_weights[name])))
    return _weighted_mean(pairs)


def mean(values: Sequence[Decimal]) -> Decimal | None:
    """The plain mean of ``values``, or ``None`` for none."""
    value = _mean(values)
    return None if value is None else _to_decimal(value)


def component_score(
    scores: CriterionScores, criterion_weights: Mapping[str, Decimal]
) -> Decimal | None:
    """One component's score: its criterion means weighted by the criteria's weights.

    Criteria without scores are left out and the others' weights renormalised.

    Returns:
        The score, or ``None`` when no criterion with a weight above zero has a score.

    Raises:
        ValidationError: ``scores`` names a criterion missing from ``criterion_weights``.
    """
    value = _component(scores, criterion_weights)
    return None if value is None else _to_decimal(value)


def final_score(
    components: Mapping[Component, CriterionScores],
    criterion_weights: Mapping[str, Decimal],
    weights: ScoreWeights,
) -> Decimal | None:
    """The final score: the component scores weighted by ``weights``.

    A component that is missing from ``components``, or has no scores, is dropped and the other
    components' weights renormalised.

    Returns:
        The score, or ``None`` when no component with a weight above zero has data.

    Raises:
        ValidationError: a component names a criterion missing from ``criterion_weights``.
    """
    pairs = []
    for component, scores in components.items():
        value = _component(scores, criterion_weights)
        if value is not None:
            pairs.append((value, _exact(getattr(weights, Component(component).value))))
    value = _weighted_mean(pairs)
    return None if value is None else _to_decimal(value)


def scaled_threshold(threshold: Decimal, low: int, high: int) -> Decimal:
    """The divergence threshold for a ``low``..``high`` scale.

    The policy's threshold is written for a 1..5 scale (a span of 4 points); another scale gets
    it in proportion to its span, so that 1.5 on 1..5 becomes 3.375 on 1..10.

    >>> scaled_threshold(Decimal("1.5"), 1, 10)
    Decimal('3.375')
    """
    numerator, denominator = _exact(threshold)
    return _to_decimal(_reduced(numerator * (high - low), denominator * _REFERENCE_SPAN))


def divergences(
    manager: Mapping[str, Decimal], feedback: CriterionScores, limit: Decimal
) -> tuple[Divergence, ...]:
    """The criteria whose manager score differs from the feedback mean by more than ``limit``.

    Args:
        manager: per criterion, the manager's (calibrated) score.
        feedback: per criterion, the feedback scores; a criterion without any never diverges.
        limit: the largest difference allowed, already scaled (:func:`scaled_threshold`).

    Returns:
        One :class:`Divergence` per diverging criterion, in the order of ``manager``.
    """
    found = []
    for name, score in manager.items():
        feedback_mean = _mean(feedback.get(name, ()))
        if feedback_mean is None:
            continue
        difference = abs(Fraction(score) - Fraction(*feedback_mean))
        if difference > Fraction(limit):
            found.append(
                Divergence(
                    criterion=name,
                    manager_score=score,
                    feedback_mean=_to_decimal(feedback_mean),
                    difference=_to_decimal((difference.numerator, difference.denominator)),
                )
            )
    return tuple(found)


def for_display(score: Decimal, places: int = 2) -> Decimal:
    """``score`` rounded half up to ``places`` decimal places, for showing to people only.

    >>> for_display(Decimal("3.6666666666666666666666666667"))
    Decimal('3.67')
    """
    with decimal.localcontext(prec=PRECISION):
        return score.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
