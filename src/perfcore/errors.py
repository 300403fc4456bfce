"""The errors perfcore raises: one hierarchy rooted at :class:`PerfcoreError`.

Every error says what was tried, what state the object was in and what is allowed, in words an
HR user can read (``str(error)``) and as attributes a program can act on. Each survives
:mod:`pickle` and :mod:`copy` with its message and attributes, so it can cross a process pool or a
task queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from perfcore.ports import IdempotencyRecord

__all__ = [
    "ConcurrencyError",
    "Erased",
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
    """The root of every error perfcore raises on purpose.

    A subclass whose ``__init__`` takes more than the message lists, in ``_init_attrs``, the
    attributes that hold its arguments, each named as its argument; pickle and :mod:`copy` then
    rebuild it by calling ``__init__`` with them (see :meth:`__reduce__`). A subclass inherits
    the list with ``__init__``, so one whose ``__init__`` takes other arguments lists its own.
    """

    #: The attributes holding this class's ``__init__`` arguments, named as the arguments.
    #: Empty: ``__init__`` takes just the message, as Exception's does.
    _init_attrs: ClassVar[tuple[str, ...]] = ()

    def __reduce__(self) -> str | tuple[Any, ...]:
        """Rebuild by calling ``__init__`` with the ``_init_attrs``, then restore ``__dict__``.

        Exception's own ``__reduce__`` calls ``type(self)(*self.args)``, and ``args`` holds only
        the finished message, so an ``__init__`` with other required arguments fails on
        unpickling. Calling ``__init__`` with the arguments makes the message and the derived
        attributes again; restoring ``__dict__`` afterwards keeps anything set later, such as
        ``__notes__``.
        """
        if not self._init_attrs:
            # A message-only __init__: Exception's way, cls(*args) then __dict__, is right.
            return super().__reduce__()
        kwargs = {name: getattr(self, name) for name in self._init_attrs}
        return (_rebuild, (type(self), kwargs), self.__dict__ or None)


def _rebuild(cls: Callable[..., PerfcoreError], kwargs: dict[str, Any]) -> PerfcoreError:
    """``cls(**kwargs)``: how pickle and :mod:`copy` remake a :class:`PerfcoreError`.

    A module-level function because pickle stores the callable by name, and it cannot call
    ``cls`` with keyword arguments itself.
    """
    return cls(**kwargs)


class ValidationError(PerfcoreError, ValueError):
    """A value given to perfcore is not acceptable; nothing was changed.

    Attributes:
        field: the name of the field or argument at fault.
        why: what is wrong with it, and what would be accepted.
    """

    _init_attrs: ClassVar[tuple[str, ...]] = ("field", "why")

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

    _init_attrs: ClassVar[tuple[str, ...]] = (
        "aggregate_type",
        "aggregate_id",
        "state",
        "trigger",
        "allowed",
    )

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

    _init_attrs: ClassVar[tuple[str, ...]] = (
        "aggregate_type",
        "aggregate_id",
        "state",
        "trigger",
        "rule",
        "why",
    )

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

    _init_attrs: ClassVar[tuple[str, ...]] = (
        "actor_id",
        "aggregate_type",
        "aggregate_id",
        "trigger",
        "rule",
    )

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
    """A store could not do what was asked; the message says what and, where known, why.

    Attributes:
        retryable: whether running the command again, in a new unit of work, is safe and may
            succeed (a serialization failure, a connection lost before anything was sent); an
            adapter sets it on its own errors. The services run such a command again, a few
            times.
    """

    retryable: bool = False


class NotFound(StorageError, LookupError):
    """No object of that type with that id is stored (or, when ``reader`` is set, none that the
    reader may read: the services say the same either way).

    Attributes:
        aggregate_type: the type looked for.
        aggregate_id: the id looked for.
        reader: who looked, for a read or a command through the services; else ``None``.
    """

    _init_attrs: ClassVar[tuple[str, ...]] = ("aggregate_type", "aggregate_id", "reader")

    def __init__(self, aggregate_type: str, aggregate_id: str, reader: str | None = None) -> None:
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        self.reader = reader
        if reader is None:
            super().__init__(f"no {aggregate_type} with id {aggregate_id!r} is stored")
        else:
            # The same words whether nothing is stored or the reader may not see it: a refusal
            # tells them nothing about the object, not even that it exists.
            super().__init__(
                f"no {aggregate_type} with id {aggregate_id!r} that {reader!r} may read"
            )


class Erased(StorageError):
    """The object's personal data was erased on request: it can no longer be read back. Its
    history's headers (who did what, when) remain, and the record still verifies.

    Attributes:
        aggregate_type: the type of the object.
        aggregate_id: its id.
    """

    _init_attrs: ClassVar[tuple[str, ...]] = ("aggregate_type", "aggregate_id")

    def __init__(self, aggregate_type: str, aggregate_id: str) -> None:
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        super().__init__(
            f"{aggregate_type} {aggregate_id!r} was erased (its person's data was erased on"
            " request): it cannot be read back"
        )


class ConcurrencyError(StorageError):
    """Someone else saved this object first; nothing was written. Reload it and try again.

    Attributes:
        aggregate_type, aggregate_id: the object.
        expected_version: the version the saver started from.
        actual_version: the version that is stored now (``None`` when it is not stored).
    """

    _init_attrs: ClassVar[tuple[str, ...]] = (
        "aggregate_type",
        "aggregate_id",
        "expected_version",
        "actual_version",
    )

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

    _init_attrs: ClassVar[tuple[str, ...]] = ("key", "first")

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

    _init_attrs: ClassVar[tuple[str, ...]] = ("aggregate_id", "lineage_id", "number")

    def __init__(self, aggregate_id: str, lineage_id: str, number: int) -> None:
        super().__init__("JobDescription", aggregate_id, 0, None)
        self.lineage_id = lineage_id
        self.number = number
        self.args = (
            f"job description number {number} of lineage {lineage_id!r} exists already (so"
            f" {aggregate_id!r} cannot be it): someone else drafted it first; reload the"
            " lineage and draft from its newest number",
        )
