"""Strategies for commands: one command to try on an object, and whole sequences of them.

A :class:`Command` is a small record (trigger, actor, time, arguments) that :meth:`Command.apply`
fires on an object. :func:`commands` draws one for an object as it stands: about four in five are
ones the table and the policy allow now, by someone the policy admits, so that walks get deep; the
rest are any trigger by anyone in the object's cast (outsiders included), or by anyone of the
``actors`` you give. About one in ten has wild arguments (a blank reason, a score off the scale, a
check-in dated tomorrow, a time without a time zone), so that every kind of refusal is exercised
too.

:func:`command_sequences` draws a starting object (in any state but a final one) and a sequence
of such commands, each drawn for the object as the ones before it left it, ending early when one
leaves it in a final state; :meth:`CommandSequence.run` replays them and yields each
:class:`Outcome`. In a failing example each prints in a line (``approve(by='ben' [employee,
manager], ...)``), the start object in two, and the policy by what it changes of the default.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar, cast, overload

import attrs
from hypothesis import strategies as st

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.errors import PerfcoreError
from perfcore.lifecycle import Lifecycle
from perfcore.policy import DEFAULT_POLICY, Policy
from perfcore.testing._report import describe, describe_policy, short
from perfcore.testing.strategies._common import (
    Ranges,
    check_actors,
    check_ranges,
    choice,
    later,
    using,
)
from perfcore.testing.strategies._engine import Kit, checked_states, kit_for, reached

__all__ = ["Command", "CommandSequence", "Outcome", "command_sequences", "commands"]

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

#: 0 to 3 (shrinks to 0): a command the table and policy allow now; 4: any command by anyone.
_PLAUSIBLE = st.integers(0, 4)
#: 9 (one in ten): wild arguments; anything else (shrinks to 0): valid ones.
_WILD = st.integers(0, 9)
#: 0 (one in five of the wild ones): the time loses its time zone.
_NAIVE = st.integers(0, 4)
#: 3 (one in four): of the triggers allowed now, take one that ends the lifecycle.
_ENDING = st.integers(0, 3)


@attrs.frozen(kw_only=True, repr=False)
class Command:
    """One command to try: who fires which trigger, when, with which keyword arguments.

    Not :class:`perfcore.lifecycle.Command`, which is what a guard sees of a command being
    fired; this one is a plan to fire it.

    Attributes:
        trigger: the trigger, which is also the name of the aggregate's method.
        by: who fires it.
        at: when (drawn timezone-aware, except in some wild commands).
        args: the method's other keyword arguments.

    .. versionadded:: 0.1.0
    """

    trigger: str
    by: Actor
    at: dt.datetime
    args: Mapping[str, Any] = attrs.field(factory=dict)

    def apply(self, obj: A, policy: Policy | None = None) -> A:
        """Fire the command on ``obj`` (which is left as it was) and return the new object.

        Raises:
            PerfcoreError: the command was refused (its subclass says why).
        """
        method = getattr(obj, self.trigger)
        return cast(A, method(by=self.by, at=self.at, policy=policy, **self.args))

    def __repr__(self) -> str:
        # Short enough to read in a failing example: the actor by id and roles, the time in ISO.
        args = "".join(f", {name}={short(value)}" for name, value in self.args.items())
        return f"{self.trigger}(by={short(self.by)}, at={self.at.isoformat()!r}{args})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@attrs.frozen
class Outcome(Generic[A]):
    """What one command did: the object before and after, and the error if it was refused.

    Attributes:
        before: the object the command was tried on.
        command: the command.
        after: the new object, or ``before`` itself when the command was refused.
        error: why it was refused, or ``None`` when it was accepted.

    .. versionadded:: 0.1.0
    """

    before: A
    command: Command
    after: A
    error: PerfcoreError | None = None

    @property
    def accepted(self) -> bool:
        """Whether the command was accepted."""
        return self.error is None

    def __repr__(self) -> str:
        if self.error is not None:
            said = f"refused ({type(self.error).__name__}: {self.error})"
        else:
            said = f"accepted, {self.before.state} -> {self.after.state}"
        return f"Outcome({self.command!r}: {said})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@attrs.frozen(kw_only=True, repr=False)
class CommandSequence(Generic[A]):
    """A starting object and commands to try on it, one after the other.

    Attributes:
        start: the object the first command is tried on.
        commands: the commands, in order.
        policy: the policy they were drawn for and are run under (``None``: the default).

    .. versionadded:: 0.1.0
    """

    start: A
    commands: tuple[Command, ...]
    policy: Policy | None = attrs.field(default=None, repr=False)

    def run(self) -> Iterator[Outcome[A]]:
        """Try each command on the object the ones before it left, yielding what it did.

        A refused command (any :class:`~perfcore.errors.PerfcoreError`) is yielded with its
        error and leaves the object as it was; any other exception is a bug, and propagates.
        """
        obj = self.start
        for command in self.commands:
            try:
                after = command.apply(obj, self.policy)
            except PerfcoreError as error:
                yield Outcome(obj, command, obj, error)
                continue
            yield Outcome(obj, command, after)
            obj = after

    def final(self) -> A:
        """The object after every command (refused ones change nothing)."""
        obj = self.start
        for outcome in self.run():
            obj = outcome.after
        return obj

    def __repr__(self) -> str:
        start = describe(self.start).replace("\n", "\n    ")
        commands = "".join(f"\n    {command!r}," for command in self.commands)
        return (
            f"CommandSequence(\n  start={start},\n  policy={describe_policy(self.policy)},"
            f"\n  commands=[{commands}\n  ])"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        for number, line in enumerate(repr(self).splitlines()):
            if number:
                printer.break_()
            printer.text(line)


def commands(
    obj: A,
    *,
    policy: Policy | None = None,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[Command]:
    """One command to try on ``obj`` as it stands, biased towards ones ``policy`` allows.

    Args:
        obj: the object (any perfcore aggregate).
        policy: the policy whose table decides which commands count as allowed now (by default
            :data:`~perfcore.policy.DEFAULT_POLICY`); apply the command under the same one.
        actors: who may fire it: your own actors, roles and all; by default the people ``obj``
            names, HR and an outsider.
        ranges: how far the dates and numbers of its arguments range (see :class:`Ranges`).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``actors`` and ``ranges``.
    """
    return _in_force(
        _command(kit_for(obj), obj, policy or DEFAULT_POLICY), check_actors(actors), ranges
    )


def _in_force(
    strategy: st.SearchStrategy[T],
    actors: tuple[Actor, ...] | None,
    ranges: Ranges | None,
) -> st.SearchStrategy[T]:
    """``strategy``, drawn with ``actors`` and ``ranges`` in force, where given."""
    if actors is None and check_ranges(ranges) is None:
        return strategy
    return _drawn_with(strategy, actors, ranges)


@st.composite
def _drawn_with(
    draw: st.DrawFn,
    strategy: st.SearchStrategy[T],
    actors: tuple[Actor, ...] | None,
    ranges: Ranges | None,
) -> T:
    with using(actors, ranges):
        return draw(strategy)


@st.composite
def _command(draw: st.DrawFn, kit: Kit[A], obj: A, policy: Policy) -> Command:
    cast_ = kit.actors(obj)
    allowed: dict[str, list[Actor]] = {}
    if draw(_PLAUSIBLE, label="implausible") < 4:
        for actor in cast_:
            for trigger in obj.allowed_triggers(actor, policy):
                allowed.setdefault(trigger, []).append(actor)
    if allowed:
        trigger = _onward(draw, kit, list(allowed))
        actor = choice(draw, allowed[trigger], label="by")
    else:
        trigger = choice(draw, kit.lifecycle.triggers, label="trigger")
        actor = choice(draw, cast_, label="by")
    if draw(_WILD, label="wild") == 9:
        at = later(draw, obj.history[-1].at)
        if draw(_NAIVE, label="naive") == 0:
            at = at.replace(tzinfo=None)  # perfcore refuses a time without a time zone
        args = kit.wild_arguments(draw, obj, trigger, at)
    else:
        at = later(draw, obj.history[-1].at, kit.earliest(obj, trigger))
        args = kit.arguments(draw, obj, trigger, None, at)
    return Command(trigger=trigger, by=actor, at=at, args=args)


def _onward(draw: st.DrawFn, kit: Kit[Any], triggers: list[str]) -> str:
    """One of ``triggers``; one that ends the lifecycle (cancel, retire) only one time in four,
    so that walks get deep rather than stop at the first cancellation."""
    ending = [trigger for trigger in triggers if _ends(kit.lifecycle, trigger)]
    onward = [trigger for trigger in triggers if trigger not in ending]
    if onward and (not ending or draw(_ENDING, label="end the lifecycle") < 3):
        return choice(draw, onward, label="trigger")
    return choice(draw, ending, label="ending trigger")


def _ends(lifecycle: Lifecycle, trigger: str) -> bool:
    """Whether every row of ``trigger`` leads to a state no transition leaves."""
    terminal = set(lifecycle.terminal_states)
    return all(dest in terminal for name, _source, dest in lifecycle.transitions if name == trigger)


@overload
def command_sequences(
    kind: type[A],
    *,
    states: Iterable[str] | None = None,
    max_size: int = 20,
    policy: Policy | None = None,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[CommandSequence[A]]: ...


@overload
def command_sequences(
    kind: str,
    *,
    states: Iterable[str] | None = None,
    max_size: int = 20,
    policy: Policy | None = None,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[CommandSequence[Any]]: ...


def command_sequences(
    kind: type[Any] | str,
    *,
    states: Iterable[str] | None = None,
    max_size: int = 20,
    policy: Policy | None = None,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[CommandSequence[Any]]:
    """A starting object of type ``kind`` and up to ``max_size`` commands to try on it.

    Each command is drawn (with :func:`commands`) for the object as the commands before it left
    it, so that most are allowed when their turn comes; some are refused, for every reason.
    A sequence ends early once a command leaves the object in a final state (one no transition
    leaves), where every command would be refused for that alone. Sequences shrink to fewer
    commands and to a start on a shorter path.

    Args:
        kind: the aggregate type, or its name (``"Goal"``).
        states: the states the starting object is drawn in; by default any state some
            transition leaves.
        max_size: the most commands in a sequence.
        policy: the policy the commands are drawn for and run under.
        actors: your own people (HR, managers, employees, as your directory has them): the
            start object names them (its owner, manager, author, subject... are drawn from
            their ids, HR people too) and only they fire the commands, with their own roles.
            By default perfcore's pool (``ana``, ``ben``... and ``hana`` for HR) and each
            object's cast.
        ranges: how far dates and numbers range, in the start object and in the commands'
            arguments (see :class:`Ranges`): widen them to reach the edges of your own rules.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``actors`` and ``ranges``; sequences end at a final state.
    """
    kit = kit_for(kind)
    if states is None:
        terminal = kit.lifecycle.terminal_states
        states = [state for state in kit.lifecycle.states if state not in terminal]
    return _in_force(
        _sequences(kit, checked_states(kit, states), max_size, policy), check_actors(actors), ranges
    )


@st.composite
def _sequences(
    draw: st.DrawFn, kit: Kit[A], states: tuple[str, ...], max_size: int, policy: Policy | None
) -> CommandSequence[A]:
    start = draw(reached(kit, states), label="start")
    obj = start
    tried = []
    for _ in range(draw(st.integers(0, max_size), label="commands")):
        if not kit.lifecycle.triggers_from(str(obj.state)):
            break  # a final state: nothing more can happen to it
        command = draw(_command(kit, obj, policy or DEFAULT_POLICY))
        tried.append(command)
        # Refused, or a bug that run() will raise in the test: either way, the next command is
        # drawn for the object as it was.
        with contextlib.suppress(Exception):
            obj = command.apply(obj, policy)
    return CommandSequence(start=start, commands=tuple(tried), policy=policy)
