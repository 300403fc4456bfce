"""The organisation's policy: who may do what (deny by default), and the numbers its rules use.

Every command checks the policy before any guard. The default authorisation table is the ``who``
column of the lifecycle tables; :meth:`Policy.table` shows it whole, and :meth:`Policy.with_rules`
or ``Policy(rules=...)`` replaces any of it. A trigger with no rule in the table is refused.

>>> from perfcore import Actor, Goal, Policy, Role
>>> Policy().rule_for("Goal", "approve").description
"the owner's manager or HR, never the owner"
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from perfcore._validate import non_negative, to_decimal
from perfcore.actor import Actor, Role
from perfcore.errors import PermissionDenied, ValidationError
from perfcore.events import CREATED
from perfcore.lifecycle import lifecycle_of, registered_types
from perfcore.rules import Rule, has_role

__all__ = [
    "DEFAULT_POLICY",
    "EndorsementPolicy",
    "EvaluationPolicy",
    "Policy",
    "ScoreWeights",
]

RuleKey = tuple[str, str]

#: The rules for acts on a person's whole record rather than on one object: erasing their
#: personal data and exporting it (a subject-access request). HR's, by default.
PERSON_RULES: Mapping[RuleKey, Rule] = {
    ("Person", "erase"): has_role(Role.HR),
    ("Person", "export"): has_role(Role.HR),
}


def _whole(minimum: int) -> Any:
    def validate(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValidationError(attribute.name, f"must be a whole number >= {minimum}")

    return validate


def _share(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Decimal) or not Decimal(0) <= value <= Decimal(1):
        raise ValidationError(attribute.name, f"must be a share from 0 to 1, not {value!r}")


@attrs.frozen(kw_only=True)
class EndorsementPolicy:
    """When a job description in feedback may be endorsed.

    Args:
        min_responses: at least this many audience members answered.
        min_support: at least this share of the responses (0..1) supports it.
        subject_in_audience: whether the employee a description is written for must be in its
            audience (they are the first to be asked whether it describes their work).
    """

    min_responses: int = attrs.field(default=3, validator=_whole(0))
    min_support: Decimal = attrs.field(
        default=Decimal("0.6"), converter=to_decimal, validator=_share
    )
    subject_in_audience: bool = True


@attrs.frozen(kw_only=True)
class ScoreWeights:
    """How much each component counts in an evaluation's final score.

    A component with no data is dropped and the others are renormalised.
    """

    self_review: Decimal = attrs.field(
        default=Decimal(0), converter=to_decimal, validator=non_negative
    )
    manager: Decimal = attrs.field(default=Decimal(1), converter=to_decimal, validator=non_negative)
    feedback: Decimal = attrs.field(
        default=Decimal(0), converter=to_decimal, validator=non_negative
    )


@attrs.frozen(kw_only=True)
class EvaluationPolicy:
    """The numbers that guard evaluations against snap judgements.

    Args:
        min_feedback_responses: feedback responses needed before the manager review is submitted.
        min_report_responses: for a subject who manages people, responses needed from direct
            reports.
        divergence_threshold: on a 1..5 scale, how far the manager's score on a criterion may be
            from the mean feedback score before a calibration note is required (scaled to other
            rating scales by their span).
        anonymity_threshold: a feedback group with fewer responses is hidden from the subject.
        weights: the final score's component weights.
        allow_early_open: whether an evaluation may open before its period ends.
    """

    min_feedback_responses: int = attrs.field(default=2, validator=_whole(0))
    min_report_responses: int = attrs.field(default=2, validator=_whole(0))
    divergence_threshold: Decimal = attrs.field(
        default=Decimal("1.5"), converter=to_decimal, validator=non_negative
    )
    anonymity_threshold: int = attrs.field(default=3, validator=_whole(1))
    weights: ScoreWeights = attrs.field(factory=ScoreWeights)
    allow_early_open: bool = False


@attrs.frozen(kw_only=True)
class Policy:
    """Authorisation and organisational settings, passed to every command.

    Args:
        rules: the whole authorisation table, ``{(aggregate type, trigger): Rule}``; anything
            missing from it is refused. ``None`` (the default) uses each lifecycle's own ``who``
            column. The creation of an object is the trigger ``"create"``.
        endorsement: when job descriptions may be endorsed.
        evaluation: the evaluation thresholds and score weights.
    """

    rules: Mapping[RuleKey, Rule] | None = None
    endorsement: EndorsementPolicy = attrs.field(factory=EndorsementPolicy)
    evaluation: EvaluationPolicy = attrs.field(factory=EvaluationPolicy)

    def rule_for(self, aggregate_type: str, trigger: str) -> Rule | None:
        """The rule for ``trigger`` on ``aggregate_type``, or ``None`` (refused)."""
        if self.rules is not None:
            return self.rules.get((aggregate_type, trigger))
        if (aggregate_type, trigger) in PERSON_RULES:
            return PERSON_RULES[(aggregate_type, trigger)]
        lifecycle = lifecycle_of(aggregate_type)
        if trigger == CREATED:
            return lifecycle.create_rule
        if trigger not in lifecycle.triggers:
            return None
        return lifecycle.rule_for(trigger)

    def table(self) -> dict[RuleKey, Rule]:
        """The whole authorisation table as it is in force."""
        if self.rules is not None:
            return dict(self.rules)
        table: dict[RuleKey, Rule] = dict(PERSON_RULES)
        for kind in registered_types():
            lifecycle = lifecycle_of(kind)
            table[(lifecycle.name, CREATED)] = lifecycle.create_rule
            for trigger in lifecycle.triggers:
                table[(lifecycle.name, trigger)] = lifecycle.rule_for(trigger)
        return table

    def with_rules(self, overrides: Mapping[RuleKey, Rule]) -> Policy:
        """A copy whose table has ``overrides`` in place of the rules of the same keys."""
        return attrs.evolve(self, rules={**self.table(), **overrides})

    def permits(self, actor: Actor, aggregate_type: str, aggregate: Any, trigger: str) -> bool:
        """Whether ``actor`` may fire ``trigger`` on ``aggregate``."""
        rule = self.rule_for(aggregate_type, trigger)
        return rule is not None and rule(actor, aggregate)

    def authorize(self, actor: Actor, aggregate_type: str, aggregate: Any, trigger: str) -> None:
        """Raise :class:`PermissionDenied` unless ``actor`` may fire ``trigger``."""
        rule = self.rule_for(aggregate_type, trigger)
        target = str(getattr(aggregate, "id", ""))
        if rule is None:
            raise PermissionDenied(actor.id, aggregate_type, target, trigger, "nobody (no rule)")
        if not rule(actor, aggregate):
            raise PermissionDenied(actor.id, aggregate_type, target, trigger, rule.description)


#: The policy commands use when none is passed.
DEFAULT_POLICY = Policy()
