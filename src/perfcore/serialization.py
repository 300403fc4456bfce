"""Stable JSON for every aggregate: versioned envelopes, one converter, forward migrations.

An object's stable JSON form (a snapshot's, or an integrator's export) is an envelope
``{"type": "Goal", "schema": 2, "data": {...}}``. ``data`` is the object's fields, without its
history (the events are stored once, in the object's stream), through the one cattrs converter
(Decimals as strings, dates as ISO 8601). When a type's shape changes, its schema number goes up and
a migration turns older data into the new shape, so an object stored by an older perfcore still
loads; an object from a newer perfcore is refused with a clear error rather than half-read.

Schema 1 (perfcore 0.1) held the whole history inside ``data``; schema 2 keeps only when the object
was created, by whom, and when it last changed, and a plan keeps who approved it.

>>> import datetime as dt
>>> from perfcore.testing.drivers import driver_for
>>> goal = driver_for("Goal").reach("active")
>>> envelope = to_envelope(goal)
>>> envelope["type"], envelope["schema"]
('Goal', 2)
>>> from_envelope(envelope) == goal
True
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import cattrs

from perfcore._aggregate import Aggregate
from perfcore._codec import canonical_json, from_json_data, to_json_data
from perfcore.errors import PerfcoreError, StorageError, ValidationError
from perfcore.events import Event
from perfcore.lifecycle import PerType, lifecycle_of, registered_types

__all__ = [
    "SCHEMA_VERSIONS",
    "UnsupportedSchema",
    "dumps",
    "event_from_json_data",
    "event_to_json_data",
    "from_envelope",
    "loads",
    "register_migration",
    "to_envelope",
]

#: The types of perfcore 0.1, whose schema 1 held the history: schema 2 moved it out.
_WITH_HISTORY_IN_SCHEMA_1 = ("JobDescription", "Goal", "Plan", "Evaluation", "ReviewCycle")

#: The schema number each aggregate type is written with now: 1 for a type without a row.
SCHEMA_VERSIONS: Mapping[str, int] = PerType(dict.fromkeys(_WITH_HISTORY_IN_SCHEMA_1, 2), default=1)

Migration = Callable[[dict[str, Any]], dict[str, Any]]
_MIGRATIONS: dict[tuple[str, int], Migration] = {}


class UnsupportedSchema(StorageError):
    """A stored object was written with a schema this perfcore does not know (a newer one)."""


def register_migration(type_name: str, from_schema: int) -> Callable[[Migration], Migration]:
    """Register a function that turns ``type_name`` data of ``from_schema`` into the next schema.

    >>> @register_migration("Example", 1)
    ... def add_unit(data):
    ...     return {**data, "unit": ""}
    """

    def register(migration: Migration) -> Migration:
        _MIGRATIONS[(type_name, from_schema)] = migration
        return migration

    return register


def _without_history(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 to 2: the history leaves the object; its first and last events give the stamps."""
    history = data.pop("history", None) or []
    if history:
        data.setdefault("created_at", history[0].get("at"))
        data.setdefault("created_by", history[0].get("actor_id"))
        data.setdefault("updated_at", history[-1].get("at"))
    return data


def _plan_without_history(data: dict[str, Any]) -> dict[str, Any]:
    approvals = [event for event in data.get("history") or [] if event.get("trigger") == "approve"]
    data.setdefault("approved_by", approvals[-1].get("actor_id") if approvals else None)
    return _without_history(data)


for _name in _WITH_HISTORY_IN_SCHEMA_1:
    register_migration(_name, 1)(_plan_without_history if _name == "Plan" else _without_history)


def _type_named(name: str) -> type[Aggregate]:
    for kind in registered_types():
        if kind.__name__ == name and issubclass(kind, Aggregate):
            return kind
    raise UnsupportedSchema(f"stored object has unknown type {name!r}")


def to_envelope(obj: Aggregate) -> dict[str, Any]:
    """``obj`` with its history as a JSON-ready envelope."""
    name = lifecycle_of(type(obj)).name
    return {"type": name, "schema": SCHEMA_VERSIONS[name], "data": to_json_data(obj)}


def from_envelope(envelope: Mapping[str, Any]) -> Aggregate:
    """Rebuild an aggregate from an envelope, migrating older schemas forward.

    Raises:
        UnsupportedSchema: the type or schema is unknown (for example written by a newer perfcore).
        StorageError: the data does not make a valid object (a corrupted row).
    """
    try:
        name = envelope["type"]
        schema = envelope["schema"]
        data = envelope["data"]
    except (KeyError, TypeError) as missing:
        raise StorageError(f"not a perfcore envelope: missing {missing}") from None
    kind = _type_named(name)
    current = SCHEMA_VERSIONS[name]
    if not isinstance(schema, int) or schema < 1 or schema > current:
        raise UnsupportedSchema(
            f"{name} was stored with schema {schema!r}; this perfcore reads schemas 1 to"
            f" {current}: upgrade perfcore to read it"
        )
    while schema < current:
        migrate = _MIGRATIONS.get((name, schema))
        if migrate is None:
            raise UnsupportedSchema(f"no migration for {name} from schema {schema}")
        data = migrate(dict(data))
        schema += 1
    try:
        obj: Aggregate = from_json_data(data, kind)
    except (cattrs.BaseValidationError, PerfcoreError, ValueError, TypeError, KeyError) as bad:
        raise StorageError(f"stored {name} is not valid: {_describe(bad)}") from bad
    return obj


def _describe(error: BaseException) -> str:
    if isinstance(error, cattrs.BaseValidationError):
        return "; ".join(_describe(inner) for inner in error.exceptions) or str(error)
    if isinstance(error, ValidationError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def event_to_json_data(event: Event) -> dict[str, Any]:
    """An event as JSON data (the form the audit log hashes)."""
    data: dict[str, Any] = to_json_data(event)
    return data


def event_from_json_data(data: Mapping[str, Any]) -> Event:
    """Rebuild an event from :func:`event_to_json_data`'s output."""
    try:
        event: Event = from_json_data(dict(data), Event)
    except (cattrs.BaseValidationError, PerfcoreError, ValueError, TypeError, KeyError) as bad:
        raise StorageError(f"stored event is not valid: {_describe(bad)}") from bad
    return event


def dumps(obj: Aggregate) -> str:
    """``obj``'s envelope as canonical JSON text."""
    return canonical_json(to_envelope(obj))


def loads(text: str | bytes) -> Aggregate:
    """Rebuild an aggregate from :func:`dumps`'s output.

    Raises:
        StorageError: the text is not JSON, or not a valid envelope.
    """
    try:
        envelope = json.loads(text)
    except (ValueError, TypeError) as bad:
        raise StorageError(f"stored text is not JSON: {bad}") from None
    if not isinstance(envelope, dict):
        raise StorageError("stored JSON is not an envelope object")
    return from_envelope(envelope)
