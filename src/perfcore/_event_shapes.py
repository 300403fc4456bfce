"""The shapes of stored events that changed, and the upcasters that read the older ones.

Events are never rewritten (see :mod:`perfcore.recording`): when a command's payload gains a
field, its ``(type, trigger)`` gets a new schema number in :data:`~perfcore.recording.EVENT_SCHEMAS`
and an upcaster fills the field, as its default, into events stored before. Each upcaster names
the change it reads forward.

Schema 2 (issue 11: safety-critical expectations and career paths):

- ``Goal.create``: ``safety_critical`` (false) and ``horizon`` ("short");
- ``Plan.create``: ``target_role_id`` (none);
- ``JobDescription.create`` and ``JobDescription.edit`` (when it sets the criteria) and
  ``Evaluation.create``: each criterion's ``safety_critical`` (false) and ``required_score``
  (none).

>>> from perfcore.recording import schema_of
>>> schema_of("Goal", "create"), schema_of("Goal", "check_in")
(2, 1)
"""

from __future__ import annotations

from typing import Any

from perfcore.recording import EVENT_SCHEMAS, register_upcaster

__all__: list[str] = []


def _set(data: dict[str, Any]) -> dict[str, Any]:
    payload = data.setdefault("payload", {})
    found: dict[str, Any] = payload.setdefault("set", {})
    return found


def _criteria_defaults(fields: dict[str, Any]) -> None:
    criteria = fields.get("criteria")
    if isinstance(criteria, list):
        for criterion in criteria:
            if isinstance(criterion, dict):
                criterion.setdefault("safety_critical", False)
                criterion.setdefault("required_score", None)


EVENT_SCHEMAS[("Goal", "create")] = 2
EVENT_SCHEMAS[("Plan", "create")] = 2
EVENT_SCHEMAS[("JobDescription", "create")] = 2
EVENT_SCHEMAS[("JobDescription", "edit")] = 2
EVENT_SCHEMAS[("Evaluation", "create")] = 2


@register_upcaster("Goal", "create", 1)
def _goal_created(data: dict[str, Any]) -> dict[str, Any]:
    fields = _set(data)
    fields.setdefault("safety_critical", False)
    fields.setdefault("horizon", "short")
    return data


@register_upcaster("Plan", "create", 1)
def _plan_created(data: dict[str, Any]) -> dict[str, Any]:
    _set(data).setdefault("target_role_id", None)
    return data


@register_upcaster("JobDescription", "create", 1)
@register_upcaster("JobDescription", "edit", 1)
@register_upcaster("Evaluation", "create", 1)
def _criteria_flagged(data: dict[str, Any]) -> dict[str, Any]:
    payload = data.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("set"), dict):
        _criteria_defaults(payload["set"])
    return data
