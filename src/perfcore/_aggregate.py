"""What every aggregate shares: id, version, history, and the one way a command changes state.

A command validates its arguments, then calls :meth:`Aggregate._execute`, which checks the table
(``TransitionNotAllowed``), the policy (``PermissionDenied``) and the guards (``GuardFailed``), in
that order, and only then builds the event and the new object. The event's payload is exactly what
changed, as JSON data, so :meth:`Aggregate.replay` rebuilds the object from its history alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Self

import attrs

from perfcore._codec import from_json_data, to_json_data
from perfcore._validate import check_aware, identifier, positive_whole, tuple_of
from perfcore.actor import Actor
from perfcore.errors import TransitionNotAllowed, ValidationError
from perfcore.events import CREATED, Event
from perfcore.lifecycle import Command, Lifecycle
from perfcore.policy import DEFAULT_POLICY, Policy

_BOOKKEEPING = frozenset({"id", "version", "state", "history"})


@attrs.frozen(kw_only=True)
class Changes:
    """What a command changes besides the state: fields given new values, items appended."""

    set: Mapping[str, Any] = attrs.field(factory=dict)
    append: Mapping[str, tuple[Any, ...]] = attrs.field(factory=dict)


ChangeFn = Callable[[Any], Changes]


def check_actor(value: object) -> Actor:
    """Return ``value`` if it is an :class:`Actor`, else raise ValidationError."""
    if not isinstance(value, Actor):
        raise ValidationError("by", f"must be an Actor, not {type(value).__name__}")
    return value


def check_reason(value: object, *, required: bool = False) -> str:
    """Return the reason, refusing a non-string, or a blank one where one is required."""
    if not isinstance(value, str):
        raise ValidationError("reason", f"must be text, not {type(value).__name__}")
    if required and not value.strip():
        raise ValidationError("reason", "is required for this command: say why")
    return value


@attrs.frozen(kw_only=True)
class Aggregate:
    """The base of JobDescription, Goal, Plan, Evaluation and ReviewCycle."""

    lifecycle: ClassVar[Lifecycle]

    id: str = attrs.field(validator=identifier)
    #: Each aggregate narrows this to its own state enum, defaulting to its first state.
    state: str = attrs.field(validator=identifier)
    version: int = attrs.field(default=1, validator=positive_whole)
    history: tuple[Event, ...] = attrs.field(default=(), validator=tuple_of(Event), repr=False)

    # -- reading --------------------------------------------------------------------------------

    @property
    def created_at(self) -> dt.datetime | None:
        """When the object was created (``None`` for one built by hand without history)."""
        return self.history[0].at if self.history else None

    @property
    def created_by(self) -> str | None:
        """Who created the object."""
        return self.history[0].actor_id if self.history else None

    def allowed_triggers(self, actor: Actor, policy: Policy | None = None) -> tuple[str, ...]:
        """The triggers ``actor`` may fire now: those the table allows from the current state
        and the policy allows this actor. Guards that depend on a command's arguments (dates,
        values) are checked when the command is fired."""
        policy = policy or DEFAULT_POLICY
        name = self.lifecycle.name
        return tuple(
            trigger
            for trigger in self.lifecycle.triggers_from(str(self.state))
            if policy.permits(actor, name, self, trigger)
        )

    # -- changing -------------------------------------------------------------------------------

    @classmethod
    def _create(
        cls,
        *,
        id: str,
        by: Actor,
        at: dt.datetime,
        fields: Mapping[str, Any],
        policy: Policy | None,
        reason: str = "",
    ) -> Self:
        check_actor(by)
        check_aware("at", at)
        check_reason(reason)
        initial = cls.lifecycle.initial
        draft = cls(id=id, state=initial, **fields)
        (policy or DEFAULT_POLICY).authorize(by, cls.lifecycle.name, draft, CREATED)
        event = Event(
            aggregate_type=cls.lifecycle.name,
            aggregate_id=id,
            version=1,
            trigger=CREATED,
            from_state=None,
            to_state=initial,
            actor_id=by.id,
            at=at,
            reason=reason,
            payload={"set": {name: to_json_data(getattr(draft, name)) for name in fields}},
        )
        return attrs.evolve(draft, history=(event,))

    def _execute(
        self,
        trigger: str,
        *,
        by: Actor,
        at: dt.datetime,
        policy: Policy | None,
        reason: str = "",
        args: Mapping[str, Any] | None = None,
        changes: ChangeFn | None = None,
    ) -> Self:
        check_actor(by)
        check_aware("at", at)
        check_reason(reason)
        policy = policy or DEFAULT_POLICY
        lifecycle = self.lifecycle
        state = str(self.state)
        allowed = lifecycle.triggers_from(state)
        if trigger not in allowed:
            raise TransitionNotAllowed(lifecycle.name, self.id, state, trigger, allowed)
        policy.authorize(by, lifecycle.name, self, trigger)
        command = Command(
            trigger=trigger, actor=by, at=at, reason=reason, args=args or {}, policy=policy
        )
        dest = lifecycle.fire(self, command)
        change = changes(self) if changes is not None else Changes()
        changed = self._next(dest, change.set, change.append)
        event = Event(
            aggregate_type=lifecycle.name,
            aggregate_id=self.id,
            version=self.version + 1,
            trigger=trigger,
            from_state=state,
            to_state=dest,
            actor_id=by.id,
            at=at,
            reason=reason,
            payload=_payload(changed, change),
        )
        return changed._recorded(event)

    def _edit(
        self,
        fields: Mapping[str, Any],
        editable: frozenset[str],
        *,
        by: Actor,
        at: dt.datetime,
        policy: Policy | None,
    ) -> Self:
        """The ``edit`` command every aggregate with a draft shares: set ``fields``, each of
        which must be ``editable``; the class validates the new values."""
        unknown = set(fields) - editable
        if unknown:
            raise ValidationError(
                sorted(unknown)[0], f"cannot be edited; editable: {', '.join(sorted(editable))}"
            )
        if not fields:
            raise ValidationError("fields", "name at least one field to change")
        values = dict(fields)
        return self._execute(
            "edit", by=by, at=at, policy=policy, changes=lambda _obj: Changes(set=values)
        )

    def _next(
        self, state: str, values: Mapping[str, Any], appended: Mapping[str, tuple[Any, ...]]
    ) -> Self:
        """The next version: in ``state``, ``values`` set, ``appended`` added, validated by the
        class (attrs runs every converter and validator again)."""
        updates = dict(values)
        for name, items in appended.items():
            updates[name] = getattr(self, name) + tuple(items)
        return attrs.evolve(self, state=state, version=self.version + 1, **updates)

    def _recorded(self, event: Event) -> Self:
        """This new, not yet shared object with ``event`` added to its history.

        The event is built from the validated new values, so it can only be added after
        ``_next``; setting it in place spares a second full validation per command (half the
        cost of a command), and is safe because nobody else holds the object yet.
        """
        object.__setattr__(self, "history", (*self.history, event))
        return self

    # -- replaying ------------------------------------------------------------------------------

    @classmethod
    def replay(cls, events: Iterable[Event]) -> Self:
        """Rebuild an object from its history alone, checking that the history is whole.

        Raises:
            ValidationError: the events are not one unbroken history of one object of this type,
                starting at its creation.
        """
        events = tuple(events)
        if not events or events[0].trigger != CREATED:
            raise ValidationError("events", "a history starts with the creation event")
        first = events[0]
        types = _field_types(cls)
        fields = _decode(types, first.payload.get("set", {}))
        current = cls(id=first.aggregate_id, state=first.to_state, **fields)
        current = attrs.evolve(current, history=(first,))
        for expected, event in enumerate(events[1:], start=2):
            _check_continues(cls.lifecycle, current, event, expected)
            values = _decode(types, event.payload.get("set", {}))
            appended = {
                name: _decode_one(types, name, items)
                for name, items in event.payload.get("append", {}).items()
            }
            current = current._next(event.to_state, values, appended)._recorded(event)
        return current


def _payload(changed: Aggregate, change: Changes) -> dict[str, Any]:
    """The event payload: new values as the class stored them (after its converters)."""
    payload: dict[str, Any] = {}
    if change.set:
        payload["set"] = {name: to_json_data(getattr(changed, name)) for name in change.set}
    if change.append:
        payload["append"] = {
            name: to_json_data(list(items)) for name, items in change.append.items()
        }
    return payload


_TYPES: dict[type, dict[str, Any]] = {}


def _field_types(cls: type) -> dict[str, Any]:
    if cls not in _TYPES:
        attrs.resolve_types(cls)
        _TYPES[cls] = {field.name: field.type for field in attrs.fields(cls)}
    return _TYPES[cls]


def _decode_one(types: Mapping[str, Any], name: str, data: Any) -> Any:
    if name not in types or name in _BOOKKEEPING:
        raise ValidationError("payload", f"names {name!r}, which is not a field one may change")
    return from_json_data(data, types[name])


def _decode(types: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _decode_one(types, name, value) for name, value in data.items()}


def _check_continues(lifecycle: Lifecycle, current: Aggregate, event: Event, expected: int) -> None:
    state = str(current.state)
    if (event.aggregate_type, event.aggregate_id) != (lifecycle.name, current.id):
        raise ValidationError("events", f"event {expected} belongs to another object")
    if event.version != expected:
        raise ValidationError("events", f"expected version {expected}, found {event.version}")
    if event.from_state != state:
        raise ValidationError(
            "events", f"event {expected} starts from {event.from_state!r}, not {state!r}"
        )
    if not lifecycle.has_transition(event.trigger, state, event.to_state):
        raise ValidationError(
            "events",
            f"event {expected} ({event.trigger}: {state} -> {event.to_state}) is not in the table",
        )
