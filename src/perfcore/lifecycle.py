"""Lifecycles as data: one table of states, triggers, guards and rules per aggregate type.

Each table is built into one ``transitions`` Machine for its type (never one per object): the
machine runs on a tiny slotted carrier that holds the object's current state and the command, so
that frozen aggregates stay plain attrs objects that cost nothing extra per instance.

The Machine is the single source of what a type may do. Commands dispatch through a table
compiled from it when the lifecycle is built (:meth:`Lifecycle.fire`): for each (state, trigger)
the Machine's own transitions, in the order it tries them, each with its guards in the order it
checks them. :meth:`Lifecycle.fire_machine` runs the Machine itself; the tests prove the two agree
on every (state, trigger) and every outcome of the guards.

>>> from perfcore import Goal, lifecycle_of
>>> lifecycle_of(Goal).states[:3]
('draft', 'proposed', 'active')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs
from transitions import EventData, Machine

from perfcore.actor import Actor
from perfcore.errors import GuardFailed, ValidationError
from perfcore.rules import Rule

if TYPE_CHECKING:
    from perfcore.policy import Policy

__all__ = [
    "Command",
    "Guard",
    "Lifecycle",
    "PerType",
    "Step",
    "lifecycle_of",
    "register",
    "registered_names",
]


@attrs.frozen(kw_only=True)
class Command:
    """What a guard sees of the command being tried: who, when, why, the arguments, the policy."""

    trigger: str
    actor: Actor
    at: dt.datetime
    reason: str
    args: Mapping[str, Any]
    policy: Policy


def _names(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


def _guards(items: Iterable[Guard]) -> tuple[Guard, ...]:
    return tuple(items)


def _steps(items: Iterable[Step]) -> tuple[Step, ...]:
    return tuple(items)


@attrs.frozen
class Guard:
    """A business rule of a transition.

    Args:
        name: a short name, shown in :class:`~perfcore.errors.GuardFailed` (``rule``).
        check: ``check(aggregate, command)`` returns ``None`` when the rule holds, else the
            reason it does not, in words a user can read.
    """

    name: str
    check: Callable[[Any, Command], str | None] = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class Step:
    """One row of a lifecycle table: ``trigger`` takes an object from any of ``sources`` to
    ``dest`` when every guard holds, for an actor that ``who`` admits."""

    trigger: str
    sources: tuple[str, ...] = attrs.field(converter=_names)
    dest: str
    who: Rule
    guards: tuple[Guard, ...] = attrs.field(default=(), converter=_guards)


class _Carrier:
    """What the shared machine runs on for one firing: never kept, never shared."""

    __slots__ = ("aggregate", "command", "failures", "state")

    def __init__(self, state: str, aggregate: Any, command: Command) -> None:
        self.state = state
        self.aggregate = aggregate
        self.command = command
        self.failures: list[tuple[str, str]] = []


def _condition(kind: str, trigger: str, guard: Guard) -> Callable[[EventData], bool]:
    waived = (kind, trigger, guard.name)

    def holds(event: EventData) -> bool:
        carrier = cast(_Carrier, event.model)
        command = carrier.command
        if command.policy.waived and waived in command.policy.waived:
            return True
        why = guard.check(carrier.aggregate, command)
        if why is None:
            return True
        carrier.failures.append((guard.name, why))
        return False

    return holds


@attrs.frozen(kw_only=True)
class Lifecycle:
    """The lifecycle of one aggregate type.

    Attributes:
        name: the aggregate type's name ("Goal").
        states: the state names, in the order the docs show them.
        initial: the state a new object starts in.
        steps: the table's rows.
        create_rule: who may create an object of this type.
    """

    name: str
    states: tuple[str, ...] = attrs.field(converter=_names)
    initial: str
    steps: tuple[Step, ...] = attrs.field(converter=_steps)
    create_rule: Rule
    _machine: Machine = attrs.field(init=False, eq=False, repr=False)
    _from: Mapping[str, tuple[str, ...]] = attrs.field(init=False, eq=False, repr=False)
    _rules: Mapping[str, Rule] = attrs.field(init=False, eq=False, repr=False)
    _transitions: frozenset[tuple[str, str, str]] = attrs.field(init=False, eq=False, repr=False)
    _table: Mapping[tuple[str, str], tuple[_Row, ...]] = attrs.field(
        init=False, eq=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        self._check_table()
        guard_of: dict[Callable[[EventData], bool], Guard] = {}
        machine = Machine(
            model=None,
            states=list(self.states),
            initial=None,
            auto_transitions=False,
            send_event=True,
            name=self.name,
        )
        for step in self.steps:
            conditions: list[Callable[..., bool | None] | str] = []
            for guard in step.guards:
                condition = _condition(self.name, step.trigger, guard)
                guard_of[condition] = guard
                conditions.append(condition)
            machine.add_transition(
                step.trigger, list(step.sources), step.dest, conditions=conditions
            )
        triggers_from: dict[str, list[str]] = {state: [] for state in self.states}
        for step in self.steps:
            for source in step.sources:
                if step.trigger not in triggers_from[source]:
                    triggers_from[source].append(step.trigger)
        object.__setattr__(self, "_machine", machine)
        object.__setattr__(
            self, "_from", {state: tuple(names) for state, names in triggers_from.items()}
        )
        rules: dict[str, Rule] = {}
        for step in self.steps:
            rules.setdefault(step.trigger, step.who)
        object.__setattr__(self, "_rules", rules)
        object.__setattr__(self, "_transitions", frozenset(self.transitions))
        object.__setattr__(self, "_table", _compile(machine, guard_of))

    def _check_table(self) -> None:
        known = set(self.states)
        if self.initial not in known:
            raise ValueError(f"{self.name}: initial state {self.initial!r} is not a state")
        for step in self.steps:
            unknown = (set(step.sources) | {step.dest}) - known
            if unknown:
                raise ValueError(f"{self.name}.{step.trigger}: unknown states {sorted(unknown)}")

    @property
    def transitions(self) -> tuple[tuple[str, str, str], ...]:
        """Every (trigger, source, destination), in table order."""
        return tuple(
            (step.trigger, source, step.dest) for step in self.steps for source in step.sources
        )

    @property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger name, in table order, each once."""
        return tuple(self._rules)

    def has_transition(self, trigger: str, source: str, dest: str) -> bool:
        """Whether the table has the row (trigger, source, dest)."""
        return (trigger, source, dest) in self._transitions

    @property
    def terminal_states(self) -> tuple[str, ...]:
        """The states no transition leaves."""
        return tuple(state for state in self.states if not self._from[state])

    def triggers_from(self, state: str) -> tuple[str, ...]:
        """The triggers the table allows from ``state``, whoever fires them."""
        return self._from[state]

    def rule_for(self, trigger: str) -> Rule:
        """Who the table lets fire ``trigger`` (the default the policy starts from)."""
        try:
            return self._rules[trigger]
        except KeyError:
            raise ValidationError("trigger", f"{self.name} has no trigger {trigger!r}") from None

    def compiled(self) -> Mapping[tuple[str, str], tuple[tuple[str, tuple[Guard, ...]], ...]]:
        """The table :meth:`fire` dispatches through, compiled from the Machine: for each
        (state, trigger) the Machine allows, its transitions in the order the Machine tries
        them, as (destination, guards in the order it checks them)."""
        return {
            key: tuple((row.dest, row.guards) for row in rows) for key, rows in self._table.items()
        }

    def fire(self, aggregate: Any, command: Command) -> str:
        """Run ``command`` through the table compiled from the machine and return the
        destination state: the first transition whose guards all hold, as the machine would.

        The caller has already checked that the trigger leaves the current state.

        Raises:
            GuardFailed: no row for this trigger and state had all its guards holding.
        """
        state = str(aggregate.state)
        rows = self._table.get((state, command.trigger))
        if rows is None:
            raise GuardFailed(
                self.name, aggregate.id, state, command.trigger, "table", "no row applies"
            )
        failures: list[tuple[str, str]] = []
        waived = command.policy.waived  # the table's guards this policy does not check
        for row in rows:
            for guard in row.guards:
                if waived and (self.name, command.trigger, guard.name) in waived:
                    continue
                why = guard.check(aggregate, command)
                if why is not None:
                    failures.append((guard.name, why))
                    break
            else:
                self.check_policy_guards(aggregate, command)
                return row.dest
        rule, why = failures[0]
        if len(failures) > 1:
            why = "; or ".join(reason for _name, reason in failures)
        raise GuardFailed(self.name, aggregate.id, state, command.trigger, rule, why)

    def fire_machine(self, aggregate: Any, command: Command) -> str:
        """Run ``command`` through the ``transitions`` Machine itself and return the destination
        state: the reference :meth:`fire` is compiled from and tested against.

        Raises:
            GuardFailed: no row for this trigger and state had all its guards holding.
        """
        state = str(aggregate.state)
        carrier = _Carrier(state, aggregate, command)
        if not self._machine.events[command.trigger].trigger(carrier):
            rule, why = carrier.failures[0] if carrier.failures else ("table", "no row applies")
            if len(carrier.failures) > 1:
                why = "; or ".join(reason for _name, reason in carrier.failures)
            raise GuardFailed(self.name, aggregate.id, state, command.trigger, rule, why)
        self.check_policy_guards(aggregate, command)
        return carrier.state

    def check_policy_guards(self, aggregate: Any, command: Command) -> None:
        """Check the guards the command's policy adds to its trigger
        (:meth:`~perfcore.policy.Policy.with_guards`), in order.

        Raises:
            GuardFailed: the first that does not hold.
        """
        own = command.policy.guards
        if not own:
            return
        for guard in own.get((self.name, command.trigger), ()):
            why = guard.check(aggregate, command)
            if why is not None:
                raise GuardFailed(
                    self.name, aggregate.id, str(aggregate.state), command.trigger, guard.name, why
                )

    def to_mermaid(self) -> str:
        """The lifecycle as a Mermaid ``stateDiagram-v2``, generated from the table."""
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        lines += [
            f"    {source} --> {dest}: {trigger}" for trigger, source, dest in self.transitions
        ]
        lines += [f"    {state} --> [*]" for state in self.terminal_states]
        return "\n".join(lines) + "\n"


class _Row:
    """One transition of the compiled table: where it goes, and the guards that must hold."""

    __slots__ = ("dest", "guards")

    def __init__(self, dest: str, guards: tuple[Guard, ...]) -> None:
        self.dest = dest
        self.guards = guards


def _compile(
    machine: Machine, guard_of: Mapping[Callable[[EventData], bool], Guard]
) -> dict[tuple[str, str], tuple[_Row, ...]]:
    """The Machine's transitions as a table: (source, trigger) to its rows, in the order the
    Machine tries them, each with the guards of its conditions in the order it checks them."""
    table: dict[tuple[str, str], tuple[_Row, ...]] = {}
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            rows = []
            for transition in transitions:
                guards = []
                for condition in transition.conditions:
                    func = condition.func
                    if condition.target is not True or not callable(func):
                        raise ValueError(
                            f"{machine.name}.{trigger}: a condition not from the table"
                        )
                    guard = guard_of.get(cast(Callable[[EventData], bool], func))
                    if guard is None:
                        raise ValueError(
                            f"{machine.name}.{trigger}: a condition not from the table"
                        )
                    guards.append(guard)
                if transition.dest is None:
                    raise ValueError(f"{machine.name}.{trigger}: an internal transition")
                rows.append(_Row(transition.dest, tuple(guards)))
            table[(source, trigger)] = tuple(rows)
    return table


_REGISTRY: dict[type, Lifecycle] = {}
_BY_NAME: dict[str, Lifecycle] = {}


def register(kind: type, lifecycle: Lifecycle) -> None:
    """Make ``lifecycle`` the one :func:`lifecycle_of` returns for ``kind``."""
    _REGISTRY[kind] = lifecycle
    _BY_NAME[kind.__name__] = lifecycle


def lifecycle_of(kind: type | str) -> Lifecycle:
    """The lifecycle of an aggregate type, given the class or its name.

    Raises:
        ValidationError: ``kind`` is not one of perfcore's aggregate types.
    """
    found = _BY_NAME.get(kind) if isinstance(kind, str) else _REGISTRY.get(kind)
    if found is None:
        known = ", ".join(sorted(_BY_NAME))
        raise ValidationError("kind", f"{kind!r} has no lifecycle; known: {known}")
    return found


def registered_types() -> Iterable[type]:
    """Every aggregate type with a lifecycle."""
    return tuple(_REGISTRY)


def registered_names() -> tuple[str, ...]:
    """The name of every aggregate type with a lifecycle, in the order they were registered."""
    return tuple(lifecycle.name for lifecycle in _REGISTRY.values())


V = TypeVar("V")


class PerType(Mapping[str, V]):
    """A table with a row for every registered aggregate type: the rows it was given, and
    ``default`` for every other registered type (a new type needs no row of its own unless it
    differs). Read when asked, so a type registered after the table was made is in it.

    >>> from perfcore import Goal
    >>> table = PerType({"Goal": 2}, default=1)
    >>> table["Goal"], table["ReviewCycle"], "Nothing" in table
    (2, 1, False)
    """

    def __init__(self, rows: Mapping[str, V], *, default: V) -> None:
        self._rows = dict(rows)
        self._default = default

    def __getitem__(self, name: str) -> V:
        found = self._rows.get(name, _MISSING)
        if found is not _MISSING:
            return cast(V, found)
        if name in _BY_NAME:
            return self._default
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return name in self._rows or name in _BY_NAME

    def __iter__(self) -> Iterator[str]:
        names = list(self._rows)
        names += [name for name in registered_names() if name not in self._rows]
        return iter(names)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"PerType({dict(self)!r})"


_MISSING: Any = object()
