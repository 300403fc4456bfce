"""The final-score arithmetic and divergence detection, against cases worked out by hand."""

from __future__ import annotations

import decimal
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfcore import ScoreWeights, ValidationError
from perfcore.scoring import (
    PRECISION,
    Component,
    Divergence,
    component_score,
    divergences,
    final_score,
    for_display,
    mean,
    scaled_threshold,
)

D = Decimal
WEIGHTS = {"Delivery": D(60), "Teamwork": D(30), "Docs": D(10)}
SELF = {"Delivery": [D(5)], "Teamwork": [D(5)], "Docs": [D(5)]}
MANAGER = {"Delivery": [D(4)], "Teamwork": [D(3)], "Docs": [D(2)]}
FEEDBACK = {"Delivery": [D(2), D(3), D(4)], "Teamwork": [D(1)], "Docs": []}


def test_mean() -> None:
    assert mean([D(1), D(2)]) == D("1.5")
    assert mean([D(1), D(1), D(2)]) == D("1.333333333333333333333333333")
    assert mean([]) is None


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        (MANAGER, D("3.5")),  # (240 + 90 + 20) / 100
        (SELF, D(5)),
        # Docs has no scores: its weight is dropped, Delivery and Teamwork renormalised:
        # (60 * 3 + 30 * 1) / 90 = 210 / 90
        (FEEDBACK, D("2.333333333333333333333333333")),
        ({"Docs": [D(1), D(2)]}, D("1.5")),
        ({}, None),
        ({"Docs": []}, None),
    ],
)
def test_component_score(scores: dict[str, list[Decimal]], expected: Decimal | None) -> None:
    assert component_score(scores, WEIGHTS) == expected


def test_a_criterion_of_weight_zero_alone_gives_no_score() -> None:
    assert component_score({"Extra": [D(3)]}, {"Extra": D(0), "Delivery": D(1)}) is None


def test_an_unknown_criterion_is_refused() -> None:
    with pytest.raises(ValidationError, match="'Charm' is not a criterion"):
        component_score({"Charm": [D(3)]}, WEIGHTS)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        (ScoreWeights(), D("3.5")),  # the default: the manager's score alone
        (ScoreWeights(self_review=1, manager=1), D("4.25")),  # (5 + 3.5) / 2
        # (5 + 2 * 3.5 + 7/3) / 4 = (12 + 7/3) / 4 = 43 / 12
        (
            ScoreWeights(self_review=1, manager=2, feedback=1),
            D("3.583333333333333333333333333"),
        ),
        (ScoreWeights(self_review=0, manager=0, feedback=1), D("2.333333333333333333333333333")),
        (ScoreWeights(self_review=0, manager=0, feedback=0), None),
        # weights need not sum to anything: only their proportions count
        (ScoreWeights(self_review=D("0.2"), manager=D("0.8")), D("3.8")),
        (ScoreWeights(self_review=20, manager=80), D("3.8")),
    ],
)
def test_final_score_weights_the_components(
    weights: ScoreWeights, expected: Decimal | None
) -> None:
    components = {
        Component.SELF_REVIEW: SELF,
        Component.MANAGER: MANAGER,
        Component.FEEDBACK: FEEDBACK,
    }
    assert final_score(components, WEIGHTS, weights) == expected


def test_a_component_with_no_data_is_dropped_not_averaged_in() -> None:
    weights = ScoreWeights(self_review=1, manager=1, feedback=2)
    without = final_score({Component.MANAGER: MANAGER}, WEIGHTS, weights)
    skipped = final_score(
        {Component.SELF_REVIEW: {}, Component.MANAGER: MANAGER, Component.FEEDBACK: {"Docs": []}},
        WEIGHTS,
        weights,
    )
    assert without == skipped == D("3.5")  # not 3.5 / 4, nor 3.5 / 2


def test_components_may_be_named_by_their_weight_field() -> None:
    assert final_score({"manager": MANAGER}, WEIGHTS, ScoreWeights()) == D("3.5")  # type: ignore[dict-item]


def test_the_callers_decimal_context_changes_nothing() -> None:
    weights = ScoreWeights(self_review=1, manager=2, feedback=1)
    components = {
        Component.SELF_REVIEW: SELF,
        Component.MANAGER: MANAGER,
        Component.FEEDBACK: FEEDBACK,
    }
    expected = final_score(components, WEIGHTS, weights)
    with decimal.localcontext(prec=3, rounding=decimal.ROUND_FLOOR):
        assert final_score(components, WEIGHTS, weights) == expected


def test_the_result_is_rounded_once_not_at_each_step() -> None:
    # With Decimal arithmetic at each step these weights would give 4.999...998: off the scale.
    third = D(1) / D(3)
    fives = {"a": [D(5)], "b": [D(5)], "c": [D(5)]}
    assert component_score(fives, {"a": third, "b": third, "c": third}) == D(5)


@pytest.mark.parametrize(
    ("threshold", "low", "high", "expected"),
    [
        (D("1.5"), 1, 5, D("1.5")),
        (D("1.5"), 1, 10, D("3.375")),
        (D("1.5"), 0, 100, D("37.5")),
        (D("1.5"), 1, 3, D("0.75")),
        (D(0), 1, 5, D(0)),
    ],
)
def test_scaled_threshold(threshold: Decimal, low: int, high: int, expected: Decimal) -> None:
    assert scaled_threshold(threshold, low, high) == expected


def test_divergences_are_strictly_beyond_the_limit() -> None:
    manager = {"Delivery": D(5), "Teamwork": D(3), "Docs": D(5)}
    feedback = {"Delivery": [D(2), D(3)], "Teamwork": [D("1.5")]}  # means 2.5 and 1.5
    assert divergences(manager, feedback, D("1.5")) == (
        Divergence(
            criterion="Delivery",
            manager_score=D(5),
            feedback_mean=D("2.5"),
            difference=D("2.5"),
        ),
    )  # Teamwork differs by exactly 1.5; Docs has no feedback
    assert [d.criterion for d in divergences(manager, feedback, D("1.49"))] == [
        "Delivery",
        "Teamwork",
    ]
    assert divergences({"Delivery": D(1)}, {"Delivery": [D(5)]}, D(4)) == ()


@pytest.mark.parametrize(
    ("score", "places", "shown"),
    [
        (D("3.583333333333333333333333333"), 2, D("3.58")),
        (D("2.345"), 2, D("2.35")),  # half up, as people expect
        (D("4"), 1, D("4.0")),
        (D("2.5"), 0, D("3")),
    ],
)
def test_for_display(score: Decimal, places: int, shown: Decimal) -> None:
    assert str(for_display(score, places)) == str(shown)


def _fraction_final_score(
    components: dict[Component, dict[str, list[Decimal]]],
    criterion_weights: dict[str, Decimal],
    weights: ScoreWeights,
) -> Decimal | None:
    """The final score written plainly with :class:`~fractions.Fraction`: the reference the
    module's integer arithmetic must agree with, digit for digit."""

    def weighted(pairs: list[tuple[Fraction, Fraction]]) -> Fraction | None:
        total = sum((weight for _, weight in pairs), Fraction(0))
        if total == 0:
            return None
        return sum((value * weight for value, weight in pairs), Fraction(0)) / total

    parts = []
    for component, scores in components.items():
        means = [
            (mean, Fraction(criterion_weights[name]))
            for name, values in scores.items()
            if (mean := weighted([(Fraction(v), Fraction(1)) for v in values])) is not None
        ]
        value = weighted(means)
        if value is not None:
            parts.append((value, Fraction(getattr(weights, component.value))))
    found = weighted(parts)
    if found is None:
        return None
    with decimal.localcontext(prec=PRECISION, rounding=decimal.ROUND_HALF_EVEN):
        return Decimal(found.numerator) / Decimal(found.denominator)


_scores = st.lists(st.decimals(min_value=0, max_value=10, places=3, allow_nan=False), max_size=4)


@given(
    components=st.dictionaries(
        st.sampled_from(list(Component)),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), _scores, max_size=3),
        max_size=3,
    ),
    criterion_weights=st.fixed_dictionaries(
        {name: st.decimals(min_value=0, max_value=100, places=2) for name in "abc"}
    ),
    manager=st.integers(0, 5),
    feedback=st.integers(0, 5),
    self_review=st.integers(0, 5),
)
def test_the_final_score_is_the_exact_fraction_rounded_once(
    components: dict[Component, dict[str, list[Decimal]]],
    criterion_weights: dict[str, Decimal],
    manager: int,
    feedback: int,
    self_review: int,
) -> None:
    weights = ScoreWeights(manager=manager, feedback=feedback, self_review=self_review)
    assert final_score(components, criterion_weights, weights) == _fraction_final_score(
        components, criterion_weights, weights
    )
