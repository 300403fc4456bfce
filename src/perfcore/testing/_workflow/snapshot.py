"""A whole store, read at once: every object, the audit log, the outbox, the keys in use.

The workflow machine compares snapshots taken before and after each command: a refused command
must leave the snapshot as it was, an accepted one must change only what it says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from perfcore._aggregate import Aggregate
from perfcore.lifecycle import lifecycle_of, registered_types
from perfcore.ports import AuditEntry, IdempotencyRecord, Notification, Store

__all__ = ["REPOSITORIES", "ObjectKey", "Snapshot", "key_of", "take"]

#: The unit-of-work attribute that holds each aggregate type.
REPOSITORIES = {
    "JobDescription": "job_descriptions",
    "Goal": "goals",
    "Plan": "plans",
    "Evaluation": "evaluations",
    "ReviewCycle": "cycles",
}

ObjectKey = tuple[str, str]

#: More than a workflow ever leaves pending: ``pending`` is asked for all of them.
_EVERY_NOTIFICATION = 1_000_000


def key_of(obj: Aggregate) -> ObjectKey:
    """An object's (type name, id)."""
    return (lifecycle_of(type(obj)).name, obj.id)


@attrs.frozen(kw_only=True)
class Snapshot:
    """What a store holds at one moment.

    Attributes:
        objects: every stored object, by (type name, id).
        audit: the whole audit log, in sequence order.
        pending: the undelivered notifications, oldest first.
        keys: the record of each idempotency key asked about (``None`` when it is not taken).

    .. versionadded:: 0.1.0
    """

    objects: Mapping[ObjectKey, Aggregate]
    audit: tuple[AuditEntry, ...]
    pending: tuple[Notification, ...]
    keys: Mapping[str, IdempotencyRecord | None]

    def of_type(self, kind: type[Any]) -> list[Any]:
        """The stored objects of one aggregate type, by id."""
        name = lifecycle_of(kind).name
        return [obj for (type_name, _), obj in sorted(self.objects.items()) if type_name == name]


def take(store: Store, keys: Iterable[str]) -> Snapshot:
    """Read everything ``store`` holds, in one unit of work, through the ports only.

    Objects are found through ``by_state`` for every state of every type, as
    :meth:`~perfcore.services.Perfcore.verify_audit_log` finds them.

    Raises:
        AssertionError: one object is listed under two states.
    """
    with store.unit_of_work() as uow:
        objects: dict[ObjectKey, Aggregate] = {}
        for kind in registered_types():
            lifecycle = lifecycle_of(kind)
            repository = getattr(uow, REPOSITORIES[lifecycle.name], None)
            if repository is None:
                continue
            for state in lifecycle.states:
                for obj in repository.by_state(state):
                    key = key_of(obj)
                    assert key not in objects, f"{key} is listed under two states"
                    objects[key] = obj
        return Snapshot(
            objects=objects,
            audit=tuple(uow.audit.read()),
            pending=tuple(uow.outbox.pending(_EVERY_NOTIFICATION)),
            keys={key: uow.idempotency.get(key) for key in keys},
        )
