"""Authorisation rules: who may fire a trigger on an object, as small composable predicates.

A rule answers yes or no for an actor and an object, and carries a description that reads as the
end of "only ..." in a :class:`~perfcore.errors.PermissionDenied` message. Rules compose with
``|`` (either), ``&`` (both) and :func:`never` (segregation of duties). A rule that needs the
command too (its time, reason or arguments) is made with :meth:`Rule.on_command`.

>>> from perfcore.actor import Actor, Role
>>> rule = has_role(Role.HR) | is_person("manager_id", "the owner's manager")
>>> rule.description
"HR or the owner's manager"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from perfcore.actor import Actor, Role

if TYPE_CHECKING:
    from perfcore.lifecycle import Command

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
        check: ``check(actor, aggregate) -> bool``; for a rule made with :meth:`on_command`,
            ``check(actor, aggregate, command) -> bool``.
        sees_command: whether ``check`` takes the command as well (set by :meth:`on_command`).
    """

    description: str
    check: Callable[..., bool] = attrs.field(eq=False, repr=False)
    sees_command: bool = attrs.field(default=False, kw_only=True)

    @classmethod
    def on_command(cls, description: str, check: Callable[[Actor, Any, Command], bool]) -> Rule:
        """A rule that decides on the command as well as the actor and the object: its time
        (``command.at``), reason and arguments (``command.args``).

        Before a command exists (:meth:`~perfcore._aggregate.Aggregate.allowed_triggers`) such a
        rule cannot be decided, so the trigger is listed and the rule is checked when it fires.

        >>> import datetime as dt
        >>> weekdays = Rule.on_command(
        ...     "anyone, on a weekday", lambda actor, obj, command: command.at.weekday() < 5)
        >>> weekdays.sees_command
        True
        """
        return cls(description, check, sees_command=True)

    def __call__(self, actor: Actor, aggregate: Any, command: Command | None = None) -> bool:
        """Whether ``actor`` passes, for ``aggregate`` (and, for a rule that sees it, the
        ``command``, which it then requires)."""
        if not self.sees_command:
            return bool(self.check(actor, aggregate))
        if command is None:
            raise TypeError(f"the rule {self.description!r} decides on the command: pass it")
        return bool(self.check(actor, aggregate, command))

    # A composed rule's check takes the command as an optional third argument and hands it to
    # its parts; it sees the command when either part does.

    def __or__(self, other: Rule) -> Rule:
        return Rule(
            f"{self.description} or {other.description}",
            lambda actor, aggregate, command=None: (
                self(actor, aggregate, command) or other(actor, aggregate, command)
            ),
            sees_command=self.sees_command or other.sees_command,
        )

    def __and__(self, other: Rule) -> Rule:
        return Rule(
            f"{self.description}, {other.description}",
            lambda actor, aggregate, command=None: (
                self(actor, aggregate, command) and other(actor, aggregate, command)
            ),
            sees_command=self.sees_command or other.sees_command,
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
    if rule.sees_command:
        return Rule.on_command(
            f"never {rule.description}",
            lambda actor, aggregate, command: not rule(actor, aggregate, command),
        )
    return Rule(f"never {rule.description}", lambda actor, aggregate: not rule(actor, aggregate))


#: Every actor passes: for triggers that carry no authority of their own.
anyone = Rule("anyone", lambda _actor, _aggregate: True)

#: No actor passes: a trigger left closed.
nobody = Rule("nobody (this trigger is closed by the policy)", lambda _actor, _aggregate: False)
