"""The acting person: who fires a command, with which roles, from which department."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, Protocol

import attrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from perfcore._codec import converter
from perfcore._validate import identifier, optional_identifier
from perfcore.errors import ValidationError

__all__ = ["Actor", "Relationships", "Role"]


class Role(enum.StrEnum):
    """What a person may act as. A person may hold several roles at once."""

    EMPLOYEE = "employee"
    MANAGER = "manager"
    HR = "hr"
    APPROVER = "approver"


def _to_roles(value: object) -> frozenset[Role]:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, set | frozenset | list | tuple):
        raise ValidationError("roles", f"must be a set of roles, not {type(value).__name__}")
    try:
        return frozenset(Role(item) for item in items)
    except ValueError:
        known = ", ".join(role.value for role in Role)
        raise ValidationError(
            "roles", f"{sorted(map(str, items))} has an unknown role; use {known}"
        ) from None


class Relationships(Protocol):
    """What relationship rules may ask about the acting person on the command's day
    (:class:`perfcore.directory.Relations` answers from a directory)."""

    def manager_of(self, person_id: object) -> str | None:
        """``person_id``'s manager that day."""
        ...

    def manages(self, person_id: object) -> bool:
        """Whether the acting person is ``person_id``'s manager, or a manager above them."""
        ...

    def holders(self, position: str) -> Sequence[str]:
        """Who holds ``position`` that day (a role description's audience)."""
        ...

    def grounds(self) -> dict[str, Any]:
        """The facts about the acting person that an event records, as JSON data."""
        ...


@attrs.frozen(kw_only=True)
class Actor:
    """A person acting on perfcore's objects.

    Args:
        id: the person's id in the caller's HR system.
        roles: any of :class:`Role` (their names as strings are accepted).
        department: the person's department, which matters for department approvers: an id,
            matched exactly against the department a plan's approver names.
        relations: what the directory says of this person on the command's day (set by the
            services from a :class:`~perfcore.directory.Directory`; ``None`` when the caller's
            word is all there is). Relationship rules read it.

    >>> Actor(id="ana", roles={"manager"}).is_a(Role.MANAGER)
    True
    """

    id: str = attrs.field(validator=identifier)
    roles: frozenset[Role] = attrs.field(default=frozenset({Role.EMPLOYEE}), converter=_to_roles)
    department: str | None = attrs.field(default=None, validator=optional_identifier)
    relations: Relationships | None = attrs.field(default=None, eq=False, repr=False)

    def is_a(self, role: Role) -> bool:
        """Whether this person holds ``role``."""
        return role in self.roles


# An actor's stable form is who they are, not the directory facts looked up for one command:
# those are recorded in the event's grounds instead.
_OMIT = override(omit=True)
converter.register_unstructure_hook(
    Actor, make_dict_unstructure_fn(Actor, converter, relations=_OMIT)
)
converter.register_structure_hook(Actor, make_dict_structure_fn(Actor, converter, relations=_OMIT))
