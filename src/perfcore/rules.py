"""Authorisation rules: who may fire a trigger on an object, as small composable predicates.

A rule answers yes or no for an actor and an object, and carries a description that reads as the
end of "only ..." in a :class:`~perfcore.errors.PermissionDenied` message. Rules compose with
``|`` (either), ``&`` (both) and :func:`never` (segregation of duties).

>>> from perfcore.actor import Actor, Role
>>> rule = has_role(Role.HR) | is_person("manager_id", "the owner's manager")
>>> rule.description
"HR or the owner's manager"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from perfcore.actor import Actor, Role

__all__ = [
    "Rule",
    "anyone",
    "has_role",
    "in_line_of",
    "is_member",
    "is_person",
    "manager_in_directory",
    "never",
    "nobody",
]


@attrs.frozen
class Rule:
    """A yes/no authorisation predicate with a description a person can read.

    Args:
        description: who passes, as the end of "only ...": "HR or the owner's manager".
        check: ``check(actor, aggregate) -> bool``.
    """

    description: str
    check: Callable[[Actor, Any], bool] = attrs.field(eq=False, repr=False)

    def __call__(self, actor: Actor, aggregate: Any) -> bool:
        return bool(self.check(actor, aggregate))

    def __or__(self, other: Rule) -> Rule:
        return Rule(
            f"{self.description} or {other.description}",
            lambda actor, aggregate: self(actor, aggregate) or other(actor, aggregate),
        )

    def __and__(self, other: Rule) -> Rule:
        return Rule(
            f"{self.description}, {other.description}",
            lambda actor, aggregate: self(actor, aggregate) and other(actor, aggregate),
        )


def has_role(role: Role) -> Rule:
    """Anyone holding ``role``."""
    name = "HR" if role is Role.HR else f"a {role.value}"
    return Rule(name, lambda actor, _aggregate: role in actor.roles)


def is_person(attribute: str, description: str) -> Rule:
    """The person whose id is the object's ``attribute`` (for example ``"owner_id"``)."""
    return Rule(description, lambda actor, aggregate: actor.id == getattr(aggregate, attribute))


def is_member(attribute: str, description: str) -> Rule:
    """A person whose id is in the object's collection ``attribute`` (for example the audience)."""
    return Rule(description, lambda actor, aggregate: actor.id in getattr(aggregate, attribute))


def in_line_of(attribute: str, description: str) -> Rule:
    """A manager, in the directory on the command's day, of the person whose id is the
    object's ``attribute`` (their manager or one above). An actor the services did not resolve
    through a directory (``actor.relations`` is ``None``: the domain used alone) passes: there is
    nothing to check the caller's word against."""

    def check(actor: Actor, aggregate: Any) -> bool:
        relations = actor.relations
        return relations is None or relations.manages(getattr(aggregate, attribute))

    return Rule(description, check)


def manager_in_directory(person: str, manager: str, description: str) -> Rule:
    """The object's ``manager`` attribute names the directory's manager, on the command's day,
    of the person its ``person`` attribute names (a goal's ``manager_id`` is its owner's
    manager). Passes without a directory, as :func:`in_line_of` does."""

    def check(actor: Actor, aggregate: Any) -> bool:
        relations = actor.relations
        if relations is None:
            return True
        named: object = getattr(aggregate, manager)
        return relations.manager_of(getattr(aggregate, person)) == named

    return Rule(description, check)


def never(rule: Rule) -> Rule:
    """Segregation of duties: refuse whoever ``rule`` matches."""
    return Rule(f"never {rule.description}", lambda actor, aggregate: not rule(actor, aggregate))


#: Every actor passes: for triggers that carry no authority of their own.
anyone = Rule("anyone", lambda _actor, _aggregate: True)

#: No actor passes: a trigger left closed.
nobody = Rule("nobody (this trigger is closed by the policy)", lambda _actor, _aggregate: False)
