"""Events: the append-only record of every accepted command.

An aggregate's ``history`` is the tuple of its events, from its creation (version 1) on. Each
event says who did what, when, from which state to which, why, and what changed; its payload is
plain JSON data, so the same record serves replay, storage and the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from perfcore._validate import any_text, aware_datetime, identifier, optional_text, positive_whole
from perfcore.errors import ValidationError

__all__ = ["CREATED", "Event"]

#: The trigger name of every aggregate's first event.
CREATED = "create"


def _payload(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Mapping):
        raise ValidationError(attribute.name, f"must be a mapping, not {type(value).__name__}")


@attrs.frozen(kw_only=True)
class Event:
    """One accepted command (or the creation) of one aggregate.

    Attributes:
        aggregate_type: "JobDescription", "Goal", "Plan", "Evaluation" or "ReviewCycle".
        aggregate_id: the aggregate's id.
        version: the aggregate's version after this event (the creation is version 1).
        trigger: the command's trigger name (``"create"`` for the creation).
        from_state: the state before (``None`` for the creation).
        to_state: the state after.
        actor_id: who fired it.
        at: when (timezone-aware).
        reason: why, in the actor's words (may be empty).
        payload: what changed, as JSON data: ``{"set": {field: value}}`` for fields given a new
            value and ``{"append": {field: [items]}}`` for items added to a list field.
        grounds: the directory facts that authorised it, as JSON data (the acting person's
            roles, department and manager on the day: see
            :meth:`perfcore.directory.Relations.grounds`); empty when no directory was asked.
    """

    aggregate_type: str = attrs.field(validator=identifier)
    aggregate_id: str = attrs.field(validator=identifier)
    version: int = attrs.field(validator=positive_whole)
    trigger: str = attrs.field(validator=identifier)
    from_state: str | None = attrs.field(validator=optional_text)
    to_state: str = attrs.field(validator=identifier)
    actor_id: str = attrs.field(validator=identifier)
    at: dt.datetime = attrs.field(validator=aware_datetime)
    reason: str = attrs.field(default="", validator=any_text)
    payload: Mapping[str, Any] = attrs.field(factory=dict, validator=_payload, eq=True)
    grounds: Mapping[str, Any] = attrs.field(factory=dict, validator=_payload)

    @property
    def changed_fields(self) -> frozenset[str]:
        """The names of the fields this event gave a value to or appended to."""
        return frozenset(self.payload.get("set", {})) | frozenset(self.payload.get("append", {}))
