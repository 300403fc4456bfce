"""Each command declared once: its domain method is the declaration.

A trigger's arguments are the keyword parameters of the aggregate's method of the same name
(``Goal.check_in(*, by, at, on, value, note="", policy=None)``), with their types, defaults and
docstring; the parameters every command shares (``by``, ``at``, ``policy``) and those the
services read from the store for it (declared with :func:`services_supply`) are not the
caller's. From that one declaration:

- the services' methods are written (``tools/render_commands.py`` writes
  :mod:`perfcore.services._commands`, typed, so mypy checks every call);
- the docs list each trigger's arguments (``tools/render_lifecycles.py``);
- the tests check that the strategies and the workflow machine draw exactly those arguments.

An aggregate's editable fields are declared once too, as a ``TypedDict`` named after it
(``GoalEdits``): its ``edit`` takes ``**fields: Unpack[GoalEdits]``, so a misspelt or
uneditable name is a type error, and a ``ValidationError`` at run time.

>>> from perfcore import Goal
>>> [parameter.name for parameter in declared(Goal, "check_in")]
['on', 'value', 'note']
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "COMMON",
    "declared",
    "edits_of",
    "fired_by",
    "fired_through",
    "service_types",
    "services_supply",
    "supplied",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The parameters every command takes that are not the caller's own arguments: who, when, and
#: under which policy (the services pass the clock's time and their policy).
COMMON = frozenset({"self", "by", "at", "policy"})


def services_supply(*names: str) -> Callable[[F], F]:
    """Declare parameters of a domain command that the services read from the store, not from
    the caller (a plan's goals' states, say): the service method for it is written by hand and
    takes the other arguments."""

    def mark(method: F) -> F:
        method.__perfcore_supplied__ = frozenset(names)  # type: ignore[attr-defined]
        return method

    return mark


def fired_by(where: str) -> Callable[[F], F]:
    """Declare a trigger the services fire only as part of a command of their own that spans
    objects (``"Perfcore.reassign"`` moves a person's goals, plans and evaluations together):
    no service method fires it alone."""

    def mark(method: F) -> F:
        method.__perfcore_fired_by__ = where  # type: ignore[attr-defined]
        return method

    return mark


def fired_through(kind: type, trigger: str) -> str | None:
    """Where the services fire ``kind.trigger``, when only as part of another command."""
    where: str | None = getattr(getattr(kind, trigger), "__perfcore_fired_by__", None)
    return where


def supplied(kind: type, trigger: str) -> frozenset[str]:
    """The parameters of ``kind.trigger`` the services supply (see :func:`services_supply`)."""
    found: frozenset[str] = getattr(getattr(kind, trigger), "__perfcore_supplied__", frozenset())
    return found


def declared(kind: type, trigger: str) -> tuple[inspect.Parameter, ...]:
    """The caller's arguments of ``trigger`` on ``kind``, in order: the domain method's keyword
    parameters, less :data:`COMMON` and those the services supply."""
    method = getattr(kind, trigger)
    leave_out = COMMON | supplied(kind, trigger)
    return tuple(
        parameter
        for parameter in inspect.signature(method).parameters.values()
        if parameter.name not in leave_out and parameter.kind is inspect.Parameter.KEYWORD_ONLY
    )


def edits_of(kind: type) -> type | None:
    """The ``TypedDict`` of ``kind``'s editable fields (``GoalEdits``), if it has an ``edit``."""
    module = inspect.getmodule(kind)
    found = getattr(module, f"{kind.__name__}Edits", None)
    return found if isinstance(found, type) else None


def service_types() -> list[tuple[Any, type, str]]:
    """Each aggregate service class, its type, and the name of what its readers get (the type,
    or ``EvaluationView``)."""
    from perfcore.services import _service_classes

    return [
        (service, service.kind, service.view_name or service.kind.__name__)
        for service in _service_classes().values()
    ]
