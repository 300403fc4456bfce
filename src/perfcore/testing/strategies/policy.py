"""Strategies for policies: the organisation's numbers, and authorisation rules.

A drawn :class:`~perfcore.policy.Policy` is mostly the default table with other numbers; now and
then one rule of the table is replaced (by ``anyone``, ``nobody`` or a role), as an integrator's
policy would.
"""

from __future__ import annotations

import functools

from hypothesis import strategies as st

from perfcore.actor import Role
from perfcore.policy import (
    DEFAULT_POLICY,
    EndorsementPolicy,
    EvaluationPolicy,
    Policy,
    ScoreWeights,
)
from perfcore.rules import Rule, anyone, has_role, nobody
from perfcore.testing.strategies._common import choice, decimals

__all__ = [
    "endorsement_policies",
    "evaluation_policies",
    "policies",
    "rules",
    "score_weights",
]


def endorsement_policies() -> st.SearchStrategy[EndorsementPolicy]:
    """When a job description may be endorsed: 0 to 6 responses, a share of support 0 to 1.

    .. versionadded:: 0.1.0
    """
    return st.builds(EndorsementPolicy, min_responses=st.integers(0, 6), min_support=decimals(0, 1))


def score_weights() -> st.SearchStrategy[ScoreWeights]:
    """How much each component of an evaluation's score counts: 0 to 10 each, to the hundredth.

    .. versionadded:: 0.1.0
    """
    weight = decimals(0, 10)
    return st.builds(ScoreWeights, self_review=weight, manager=weight, feedback=weight)


def evaluation_policies() -> st.SearchStrategy[EvaluationPolicy]:
    """The numbers that guard evaluations: feedback minimums, the divergence and anonymity
    thresholds, the score weights, and whether an evaluation may open early.

    .. versionadded:: 0.1.0
    """
    return st.builds(
        EvaluationPolicy,
        min_feedback_responses=st.integers(0, 4),
        min_report_responses=st.integers(0, 4),
        divergence_threshold=decimals(0, 4),
        anonymity_threshold=st.integers(1, 5),
        weights=score_weights(),
        allow_early_open=st.booleans(),
    )


@functools.cache
def _simple_rules() -> tuple[Rule, ...]:
    return (anyone, nobody, *(has_role(role) for role in Role))


def rules() -> st.SearchStrategy[Rule]:
    """Authorisation rules: ``anyone``, ``nobody``, a role, or one of the default table's rules.

    .. versionadded:: 0.1.0
    """
    return st.sampled_from((*_simple_rules(), *DEFAULT_POLICY.table().values()))


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """Policies: drawn numbers, and the default table with, sometimes, one rule replaced.

    .. versionadded:: 0.1.0
    """
    endorsement = draw(endorsement_policies(), label="endorsement")
    evaluation = draw(evaluation_policies(), label="evaluation")
    policy = Policy(endorsement=endorsement, evaluation=evaluation)
    if draw(st.booleans(), label="a rule replaced"):
        keys = sorted(DEFAULT_POLICY.table())
        key = choice(draw, keys, label="rule replaced")
        policy = policy.with_rules({key: choice(draw, _simple_rules(), label="new rule")})
    return policy
