"""The organisation's policy: who may do what (deny by default), the guards it adds to or waives
from the lifecycle tables, and the numbers its rules use.

Every command checks the policy before any guard. The default authorisation table is the ``who``
column of the lifecycle tables; :meth:`Policy.table` shows it whole, and :meth:`Policy.with_rules`
or ``Policy(rules=...)`` replaces any of it. A trigger with no rule in the table is refused.
:meth:`Policy.with_guards` adds business rules of your own to a trigger and
:meth:`Policy.without_guards` waives the table's by name; :meth:`Policy.guards_for` shows what is
in force. A policy is passed in where perfcore is put together (``Perfcore(store, policy=...)``),
so two ``Perfcore`` objects in one process can run two organisations' rules.

>>> from perfcore import Actor, Goal, Policy, Role
>>> Policy().rule_for("Goal", "approve").description
"the owner's manager or HR, never the owner"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from perfcore._validate import non_negative, to_decimal
from perfcore.actor import Actor, Role
from perfcore.errors import PermissionDenied, ValidationError
from perfcore.events import CREATED
from perfcore.lifecycle import Command, Guard, lifecycle_of, registered_types
from perfcore.reading import HISTORY, HISTORY_RULES, READ, READ_RULES, up_the_line
from perfcore.rules import Rule, has_role, is_person

__all__ = [
    "DEFAULT_POLICY",
    "EndorsementPolicy",
    "EvaluationPolicy",
    "Policy",
    "ScoreWeights",
]

RuleKey = tuple[str, str]
#: Guards by ``(aggregate type, trigger)``; ``"create"`` names an object's creation.
GuardTable = Mapping[RuleKey, tuple[Guard, ...]]

#: The rules for acts on a person's whole record rather than on one object: erasing their
#: personal data and exporting it (a subject-access request), HR's by default; and reading
#: their to-do list, theirs, their managers' up the line and HR's.
PERSON_RULES: Mapping[RuleKey, Rule] = {
    ("Person", "erase"): has_role(Role.HR),
    ("Person", "export"): has_role(Role.HR),
    ("Person", "todo"): has_role(Role.HR)
    | is_person("id", "the person")
    | up_the_line("id", "a manager of the person up the line"),
}


def _check_trigger(kind: str, trigger: str) -> None:
    lifecycle = lifecycle_of(kind)
    if trigger != CREATED and trigger not in lifecycle.triggers:
        raise ValidationError("guards", f"{kind} has no trigger {trigger!r}")


def _table_guards(kind: str, trigger: str) -> tuple[Guard, ...]:
    """The guards the lifecycle table gives ``trigger``, each once (rows share them)."""
    _check_trigger(kind, trigger)
    found: dict[str, Guard] = {}
    for step in lifecycle_of(kind).steps:
        if step.trigger == trigger:
            for guard in step.guards:
                found.setdefault(guard.name, guard)
    return tuple(found.values())


def _guard_table(
    value: Mapping[RuleKey, Guard | Iterable[Guard]],
) -> dict[RuleKey, tuple[Guard, ...]]:
    if not isinstance(value, Mapping):
        raise ValidationError("guards", "must map (aggregate type, trigger) to guards")
    table: dict[RuleKey, tuple[Guard, ...]] = {}
    for key, given in value.items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
            raise ValidationError("guards", f"{key!r} is not an (aggregate type, trigger) pair")
        guards = (given,) if isinstance(given, Guard) else tuple(given)
        if not all(isinstance(guard, Guard) for guard in guards):
            raise ValidationError("guards", f"{key[0]}.{key[1]}: every item must be a Guard")
        table[key] = guards
    return table


def _waived(value: Iterable[Any]) -> frozenset[tuple[str, str, str]]:
    items = frozenset(value)
    for item in items:
        if not (
            isinstance(item, tuple) and len(item) == 3 and all(isinstance(k, str) for k in item)
        ):
            raise ValidationError("waived", f"{item!r} is not an (aggregate type, trigger, guard)")
    return items


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
            column. The creation of an object is the trigger ``"create"``; reading it is
            ``"read"``, and reading its whole history ``"history"`` (the defaults are in
            :mod:`perfcore.reading`).
        endorsement: when job descriptions may be endorsed.
        evaluation: the evaluation thresholds and score weights.
        guards: guards of your own, checked after the table's for the same trigger (and, for
            ``"create"``, when an object is created), in the order given. Set them with
            :meth:`with_guards`.
        waived: ``(aggregate type, trigger, guard name)`` of the table's guards this policy
            does not check. Set them with :meth:`without_guards`.
    """

    rules: Mapping[RuleKey, Rule] | None = None
    endorsement: EndorsementPolicy = attrs.field(factory=EndorsementPolicy)
    evaluation: EvaluationPolicy = attrs.field(factory=EvaluationPolicy)
    guards: GuardTable = attrs.field(factory=dict, converter=_guard_table)
    waived: frozenset[tuple[str, str, str]] = attrs.field(default=frozenset(), converter=_waived)

    def __attrs_post_init__(self) -> None:
        for kind, trigger, name in self.waived:
            if name not in {guard.name for guard in _table_guards(kind, trigger)}:
                raise ValidationError(
                    "waived", f"{kind}.{trigger} has no guard named {name!r} in its table"
                )
        for kind, trigger in self.guards:
            _check_trigger(kind, trigger)

    def rule_for(self, aggregate_type: str, trigger: str) -> Rule | None:
        """The rule for ``trigger`` on ``aggregate_type``, or ``None`` (refused)."""
        if self.rules is not None:
            return self.rules.get((aggregate_type, trigger))
        if (aggregate_type, trigger) in PERSON_RULES:
            return PERSON_RULES[(aggregate_type, trigger)]
        if trigger in (READ, HISTORY):
            lifecycle_of(aggregate_type)  # an unknown type is an error, as for a trigger
            return (READ_RULES if trigger == READ else HISTORY_RULES).get(aggregate_type)
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
            if lifecycle.name in READ_RULES:
                table[(lifecycle.name, READ)] = READ_RULES[lifecycle.name]
                table[(lifecycle.name, HISTORY)] = HISTORY_RULES[lifecycle.name]
            for trigger in lifecycle.triggers:
                table[(lifecycle.name, trigger)] = lifecycle.rule_for(trigger)
        return table

    def with_rules(self, overrides: Mapping[RuleKey, Rule]) -> Policy:
        """A copy whose table has ``overrides`` in place of the rules of the same keys."""
        return attrs.evolve(self, rules={**self.table(), **overrides})

    def with_guards(self, extra: Mapping[RuleKey, Guard | Iterable[Guard]]) -> Policy:
        """A copy that also checks ``extra``: for each ``(aggregate type, trigger)``, one guard
        or several, after the table's own (and after any this policy already adds).

        >>> import datetime as dt
        >>> from perfcore import Guard, Policy
        >>> no_fridays = Guard("not on a Friday",
        ...     lambda goal, command: "not on a Friday" if command.at.weekday() == 4 else None)
        >>> policy = Policy().with_guards({("Goal", "approve"): no_fridays})
        >>> [guard.name for guard in policy.guards_for("Goal", "approve")]
        ['not on a Friday']

        Raises:
            ValidationError: a type or trigger that does not exist.
        """
        merged = {key: tuple(guards) for key, guards in self.guards.items()}
        for key, added in _guard_table(extra).items():
            merged[key] = (*merged.get(key, ()), *added)
        return attrs.evolve(self, guards=merged)

    def without_guards(self, names: Mapping[RuleKey, str | Iterable[str]]) -> Policy:
        """A copy that does not check the table's guards named in ``names`` (for each
        ``(aggregate type, trigger)``, one name or several). To replace a guard, waive it and
        add your own with :meth:`with_guards`.

        >>> from perfcore import Policy
        >>> policy = Policy().without_guards({("Goal", "achieve"): "target met"})
        >>> [guard.name for guard in policy.guards_for("Goal", "achieve")]
        []

        Raises:
            ValidationError: the table has no guard of that name for that trigger.
        """
        waived: set[tuple[str, str, str]] = set(self.waived)
        for (kind, trigger), given in names.items():
            for name in (given,) if isinstance(given, str) else tuple(given):
                waived.add((kind, trigger, name))
        return attrs.evolve(self, waived=waived)

    def may_read(self, actor: Actor, aggregate_type: str, aggregate: Any) -> bool:
        """Whether ``actor`` may read ``aggregate`` (the ``(type, "read")`` rule: see
        :mod:`perfcore.reading`)."""
        return self.permits(actor, aggregate_type, aggregate, READ)

    def guards_for(self, aggregate_type: str, trigger: str) -> tuple[Guard, ...]:
        """Every guard in force for ``trigger``: the table's, less those waived, then this
        policy's own."""
        table = tuple(
            guard
            for guard in _table_guards(aggregate_type, trigger)
            if (aggregate_type, trigger, guard.name) not in self.waived
        )
        return table + tuple(self.guards.get((aggregate_type, trigger), ()))

    def permits(
        self,
        actor: Actor,
        aggregate_type: str,
        aggregate: Any,
        trigger: str,
        command: Command | None = None,
    ) -> bool:
        """Whether ``actor`` may fire ``trigger`` on ``aggregate``. Without ``command``, a rule
        that decides on the command (:meth:`~perfcore.rules.Rule.on_command`) counts as
        passing: it is checked when the command is fired."""
        rule = self.rule_for(aggregate_type, trigger)
        if rule is None:
            return False
        if rule.sees_command and command is None:
            return True
        return rule(actor, aggregate, command)

    def authorize(
        self,
        actor: Actor,
        aggregate_type: str,
        aggregate: Any,
        trigger: str,
        command: Command | None = None,
    ) -> None:
        """Raise :class:`PermissionDenied` unless ``actor`` may fire ``trigger`` (a rule that
        decides on the command refuses when there is none)."""
        rule = self.rule_for(aggregate_type, trigger)
        target = str(getattr(aggregate, "id", ""))
        if rule is None:
            raise PermissionDenied(actor.id, aggregate_type, target, trigger, "nobody (no rule)")
        allowed = (
            (command is not None and rule(actor, aggregate, command))
            if rule.sees_command
            else rule(actor, aggregate)
        )
        if not allowed:
            raise PermissionDenied(actor.id, aggregate_type, target, trigger, rule.description)


#: The policy commands use when none is passed.
DEFAULT_POLICY = Policy()
