"""The acting person: who fires a command, with which roles, from which department."""

from __future__ import annotations

import enum

import attrs

from perfcore._validate import identifier, optional_text
from perfcore.errors import ValidationError

__all__ = ["Actor", "Role"]


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


@attrs.frozen(kw_only=True)
class Actor:
    """A person acting on perfcore's objects.

    Args:
        id: the person's id in the caller's HR system.
        roles: any of :class:`Role` (their names as strings are accepted).
        department: the person's department, which matters for department approvers.

    >>> Actor(id="ana", roles={"manager"}).is_a(Role.MANAGER)
    True
    """

    id: str = attrs.field(validator=identifier)
    roles: frozenset[Role] = attrs.field(default=frozenset({Role.EMPLOYEE}), converter=_to_roles)
    department: str | None = attrs.field(default=None, validator=optional_text)

    def is_a(self, role: Role) -> bool:
        """Whether this person holds ``role``."""
        return role in self.roles
