"""The errors perfcore raises: one hierarchy rooted at :class:`PerfcoreError`.

Every error says what was tried, what state the object was in and what is allowed, in words an
HR user can read (``str(error)``) and as attributes a program can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perfcore.ports import IdempotencyRecord

__all__ = [
    "ConcurrencyError",
    "GuardFailed",
    "IdempotencyConflict",
    "LineageConflict",
    "NotFound",
    "PerfcoreError",
    "PermissionDenied",
    "StorageError",
    "TransitionNotAllowed",
    "ValidationError",
]


class PerfcoreError(Exception):
    """The root of every error perfcore raises on purpose."""


class ValidationError(PerfcoreError, ValueError):
    """A value given to perfcore is not acceptable; nothing was changed.

    Attributes:
        field: the name of the field or argument at fault.
        why: what is wrong with it, and what would be accepted.
    """

    def __init__(self, field: str, why: str) -> None:
        self.field = field
        self.why = why
        super().__init__(f"{field}: {why}")


class TransitionNotAllowed(PerfcoreError):
    """A trigger was fired in a state that has no transition for it; nothing was changed.

    Attributes:
        aggregate_type: "Goal", "Plan", ...
        aggregate_id: the object's id.
        state: the state the object is in.
        trigger: the trigger that was tried.
        allowed: the triggers the lifecycle allows from ``state``.
    """

    def __init__(
        self,
        aggregate_type: str,
        aggregate_id: str,
        state: str,
        trigger: str,
        allowed: Sequence[str],
    ) -> None:
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        self.state = state
        self.trigger = trigger
        self.allowed = tuple(allowed)
        choices = ", ".join(self.allowed) if self.allowed else "none (a final state)"
        super().__init__(
            f"{aggregate_type} {aggregate_id!r} is {state!r}: {trigger!r} is not possible there;"
            f" allowed triggers: {choices}"
        )


class GuardFailed(PerfcoreError):
    """A business rule of the lifecycle refused the transition; nothing was changed.

    Attributes:
        aggregate_type, aggregate_id, state, trigger: what was tried, on what.
        rule: the name of the guard that failed.
        why: the reason, in words a user can read.
    """

    def __init__(
        self,
        aggregate_type: str,
        aggregate_id: str,
        state: str,
        trigger: str,
        rule: str,
        why: str,
    ) -> None:
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        self.state = state
        self.trigger = trigger
        self.rule = rule
        self.why = why
        super().__init__(
            f"{aggregate_type} {aggregate_id!r} ({state}) cannot {trigger}: {why} [rule: {rule}]"
        )


class PermissionDenied(PerfcoreError):
    """The acting person may not fire this trigger on this object; nothing was changed.

    Attributes:
        actor_id: who tried.
        aggregate_type, aggregate_id: on what.
        trigger: what they tried.
        rule: the policy rule that refused them, in words.
    """

    def __init__(
        self, actor_id: str, aggregate_type: str, aggregate_id: str, trigger: str, rule: str
    ) -> None:
        self.actor_id = actor_id
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        self.trigger = trigger
        self.rule = rule
        super().__init__(
            f"{actor_id!r} may not {trigger} {aggregate_type} {aggregate_id!r}: only {rule}"
        )


class StorageError(PerfcoreError):
    """A store could not do what was asked; the message says what and, where known, why."""


class NotFound(StorageError, LookupError):
    """No object of that type with that id is stored.

    Attributes:
        aggregate_type: the type looked for.
        aggregate_id: the id looked for.
    """

    def __init__(self, aggregate_type: str, aggregate_id: str) -> None:
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        super().__init__(f"no {aggregate_type} with id {aggregate_id!r} is stored")


class ConcurrencyError(StorageError):
    """Someone else saved this object first; nothing was written. Reload it and try again.

    Attributes:
        aggregate_type, aggregate_id: the object.
        expected_version: the version the saver started from.
        actual_version: the version that is stored now (``None`` when it is not stored).
    """

    def __init__(
        self,
        aggregate_type: str,
        aggregate_id: str,
        expected_version: int,
        actual_version: int | None,
    ) -> None:
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        stored = "nothing" if actual_version is None else f"version {actual_version}"
        super().__init__(
            f"{aggregate_type} {aggregate_id!r} changed since it was loaded: the save started"
            f" from version {expected_version} but {stored} is stored; reload and try again"
        )


class IdempotencyConflict(ValidationError):
    """An idempotency key was used again for another command or other arguments; nothing was
    changed. Use a new key for a new request.

    Attributes:
        key: the key.
        first: the record of the command the key was first used for.
    """

    def __init__(self, key: str, first: IdempotencyRecord) -> None:
        self.key = key
        self.first = first
        super().__init__(
            "idempotency_key",
            f"{key!r} was first used for another command or other arguments (on"
            f" {first.aggregate_type} {first.aggregate_id!r}); use a new key for a new request",
        )


class LineageConflict(ConcurrencyError):
    """A job description's number is taken in its lineage: someone else drafted that version
    first. Nothing was written; reload the lineage and draft from its newest number.

    Attributes:
        lineage_id: the lineage.
        number: the number that is taken.
    """

    def __init__(self, aggregate_id: str, lineage_id: str, number: int) -> None:
        super().__init__("JobDescription", aggregate_id, 0, None)
        self.lineage_id = lineage_id
        self.number = number
        self.args = (
            f"job description number {number} of lineage {lineage_id!r} exists already (so"
            f" {aggregate_id!r} cannot be it): someone else drafted it first; reload the"
            " lineage and draft from its newest number",
        )
