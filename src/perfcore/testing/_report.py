"""Short descriptions for failure reports: an object in a line or two, a policy by what it changes.

Hypothesis prints a failing example with its own pretty-printer, which spells out an attrs object
field by field: a start object with every event of its history, a policy with every rule of its
table. The records of :mod:`perfcore.testing` print themselves with these functions instead
(their ``_repr_pretty_``), so that a failing example reads in a few lines per command.
"""

from __future__ import annotations

import datetime as dt
import enum
import textwrap
from collections.abc import Mapping, Sized
from decimal import Decimal
from typing import Any

import attrs

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.policy import DEFAULT_POLICY, Policy

__all__ = ["describe", "describe_policy", "short"]

#: Fields every aggregate has that say nothing a reader of a failure needs.
_BOOKKEEPING = frozenset({"id", "version", "created_at", "created_by", "updated_at", "state"})
#: The longest text shown whole.
_LONGEST = 40


def short(value: Any) -> str:
    """``value`` as a reader wants it in a failing example: dates in ISO, decimals as numbers,
    enums by value, an actor by id and roles, records by their fields, long text cut."""
    if isinstance(value, Actor):
        roles = ",".join(sorted(str(role) for role in value.roles))
        return f"{value.id!r} [{roles}]"
    if isinstance(value, Aggregate):
        return f"{type(value).__name__}({value.id!r}, {value.state}, v{value.version})"
    if isinstance(value, enum.Enum):
        return repr(value.value)
    if isinstance(value, dt.datetime):
        return repr(value.isoformat())
    if isinstance(value, dt.date):
        return repr(value.isoformat())
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return repr(value if len(value) <= _LONGEST else value[: _LONGEST - 3] + "...")
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{short(k)}: {short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(short(item) for item in value) + "]"
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(sorted(short(item) for item in value)) + "}"
    if attrs.has(type(value)):
        shown = [
            f"{field.name}={short(getattr(value, field.name))}"
            for field in attrs.fields(type(value))
            if field.init and field.repr is not False
        ]
        return f"{type(value).__name__}({', '.join(shown)})"
    return repr(value)


def _at_default(field: attrs.Attribute[Any], value: Any) -> bool:
    """Whether ``value`` is the field's plain default (not one a factory makes)."""
    default = field.default
    if default is attrs.NOTHING or isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return False
    return bool(value == default)


def describe(obj: Aggregate) -> str:
    """An aggregate in a few lines: what it is and how it got there (each event's trigger and
    actor), then the fields that hold something other than their default (long collections by
    their length)."""
    path = ", ".join(f"{event.trigger} by {event.actor_id}" for event in obj.history)
    head = f"{type(obj).__name__} {obj.id!r}, {obj.state}, version {obj.version}"
    head += f" ({path})" if path else ""
    fields = []
    for field in attrs.fields(type(obj)):
        name = field.name.lstrip("_")
        if not field.init or name in _BOOKKEEPING or field.name.startswith("_"):
            continue
        value = getattr(obj, field.name)
        if value is None or (isinstance(value, Sized) and not len(value)):
            continue
        if _at_default(field, value):
            continue
        if isinstance(value, list | tuple | set | frozenset) and len(value) > 3:
            fields.append(f"{name}=<{len(value)} items>")
        else:
            fields.append(f"{name}={short(value)}")
    body = textwrap.wrap(", ".join(fields), width=92, break_long_words=False)
    return "\n  ".join([f"{head}:", *body])


def describe_policy(policy: Policy | None) -> str:
    """A policy by what it changes of the default: the rules whose description differs, and
    the numbers that differ. ``DEFAULT_POLICY`` when nothing does."""
    if policy is None:
        return "DEFAULT_POLICY"
    changes = []
    default_rules = DEFAULT_POLICY.table()
    rules = policy.table()
    for key in sorted(set(default_rules) | set(rules)):
        rule, default = rules.get(key), default_rules.get(key)
        if (rule and rule.description) != (default and default.description):
            shown = "no rule" if rule is None else repr(rule.description)
            changes.append(f"{key[0]}.{key[1]}: {shown}")
    for part in ("endorsement", "evaluation"):
        mine, theirs = getattr(policy, part), getattr(DEFAULT_POLICY, part)
        for field in attrs.fields(type(mine)):
            value = getattr(mine, field.name)
            if value != getattr(theirs, field.name):
                changes.append(f"{part}.{field.name}={short(value)}")
    if not changes:
        return "DEFAULT_POLICY"
    return f"Policy(the default but {'; '.join(changes)})"
