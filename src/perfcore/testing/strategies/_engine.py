"""How the aggregate strategies build objects: a kit per type, and a path through its table.

A :class:`Kit` knows, for one aggregate type, how to draw the content of a new object, who acts on
an object (its cast), and arguments for each trigger: valid ones, which satisfy the trigger's
guards, and wild ones, which sometimes do not. :func:`reached` draws a target state, creates an
object and fires real commands along the shortest path to the target, taking a few drawn detours
(self-loops such as check-ins, or steps back such as a request for changes) on the way. Every
detour is a drawn choice that shrinks to "no detour", so failing examples shrink to the shortest
path, which is what a reader can follow.
"""

from __future__ import annotations

import abc
import datetime as dt
import functools
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, TypeVar, cast

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.lifecycle import Lifecycle, lifecycle_of
from perfcore.policy import DEFAULT_POLICY
from perfcore.testing.strategies._common import (
    HR_PEOPLE,
    Ranges,
    check_actors,
    check_ranges,
    choice,
    hr,
    in_force,
    later,
    using,
)

A = TypeVar("A", bound=Aggregate)
Arguments = dict[str, Any]
#: Draws the arguments of a command fired at a given moment (a check-in is dated by it).
ArgumentsAt = Callable[[st.DrawFn, dt.datetime], Arguments]

#: At most this many detours per object: enough to vary the history, few enough to stay cheap.
MAX_DETOURS = 3
#: 1 in 4: take a detour; shrinking takes the integer to 0, so examples shrink to no detour.
_DETOUR = st.integers(0, 3)


class Kit(abc.ABC, Generic[A]):
    """What the strategies need to know about one aggregate type.

    Kits draw under :data:`~perfcore.policy.DEFAULT_POLICY`: a cast member may fire a trigger
    when the default table says so.
    """

    kind: ClassVar[type[Aggregate]]

    @property
    def lifecycle(self) -> Lifecycle:
        """The lifecycle of :attr:`kind`."""
        return lifecycle_of(self.kind)

    @abc.abstractmethod
    def create(self, draw: st.DrawFn) -> A:
        """Draw the content of a new object and create it, by an actor the policy admits."""

    @abc.abstractmethod
    def cast(self, obj: A) -> tuple[Actor, ...]:
        """Everyone who acts on ``obj``: the people it names, HR, and an outsider or two."""

    def actors(self, obj: A) -> tuple[Actor, ...]:
        """Who fires commands on ``obj``: the actors in force, if the user gave some (as they
        are, roles and all), else :meth:`cast`."""
        given = in_force().cast.actors
        return self.cast(obj) if given is None else given

    # Kits draw arguments directly rather than return strategies: a strategy built anew for
    # every command would be validated anew by hypothesis, which costs more than the command.
    @abc.abstractmethod
    def arguments(
        self, draw: st.DrawFn, obj: A, trigger: str, dest: str | None, at: dt.datetime
    ) -> Arguments:
        """Draw keyword arguments for ``trigger`` fired at ``at`` that satisfy its guards (those
        the arguments decide), leading to ``dest`` where the trigger has several destinations.
        Called for any trigger in any state: it must not fail where the table refuses."""

    def wild_arguments(self, draw: st.DrawFn, obj: A, trigger: str, at: dt.datetime) -> Arguments:
        """Draw arguments that are often invalid: blank reasons, values off the scale, dates in
        the future. By default the valid ones."""
        return self.arguments(draw, obj, trigger, None, at)

    def earliest(self, obj: A, trigger: str) -> dt.datetime | None:
        """The first moment ``trigger``'s time guard holds (a due date, a review day), if any."""
        return None

    def feasible(self, obj: A, trigger: str) -> bool:
        """Whether ``trigger`` can be fired validly now (taken as a detour only then)."""
        return True

    def prepare(self, draw: st.DrawFn, obj: A, trigger: str, dest: str | None) -> A:
        """Fire the self-loops ``trigger``'s guards need first (a check-in that meets the
        target before ``achieve``); called only when the table allows ``trigger`` now."""
        return obj


_KITS: dict[str, Kit[Any]] = {}


def register(kit: Kit[Any]) -> None:
    """Make ``kit`` the one :func:`kit_for` returns for its type."""
    _KITS[kit.lifecycle.name] = kit


def kits() -> tuple[Kit[Any], ...]:
    """Every registered kit, in the order they were registered."""
    return tuple(_KITS.values())


def kit_for(kind: type[Any] | str | Aggregate) -> Kit[Any]:
    """The kit for an aggregate type, given the class, its name or an object of it."""
    if isinstance(kind, Aggregate):
        kind = type(kind)
    name = kind if isinstance(kind, str) else getattr(kind, "__name__", repr(kind))
    try:
        return _KITS[name]
    except KeyError:
        known = ", ".join(_KITS)
        raise InvalidArgument(f"no strategies for {name!r}; known: {known}") from None


def checked_states(kit: Kit[Any], states: Iterable[str] | None) -> tuple[str, ...]:
    """``states`` (all of the lifecycle's by default) in the lifecycle's order, so that a drawn
    state shrinks towards the initial one; an unknown or empty choice is refused."""
    lifecycle = kit.lifecycle
    if states is None:
        return lifecycle.states
    wanted = {str(state) for state in states}
    unknown = wanted - set(lifecycle.states)
    if unknown:
        raise InvalidArgument(
            f"{lifecycle.name} has no state {sorted(unknown)}; its states: {lifecycle.states}"
        )
    if not wanted:
        raise InvalidArgument(f"give at least one {lifecycle.name} state, or None for any")
    return tuple(state for state in lifecycle.states if state in wanted)


# -- firing -------------------------------------------------------------------------------------


def permitted(kit: Kit[A], obj: A, trigger: str) -> tuple[Actor, ...]:
    """The cast members the default policy lets fire ``trigger`` on ``obj`` now; when none may
    (the user's only HR person is the subject, say), another HR person, who is nobody else."""
    name = kit.lifecycle.name
    found = tuple(
        actor for actor in kit.cast(obj) if DEFAULT_POLICY.permits(actor, name, obj, trigger)
    )
    if not found:
        cast = in_force().cast
        taken = {*cast.everyone, *cast.hr_ids}
        spare = hr(next(p for p in (*HR_PEOPLE, "hr-1", "hr-2", "hr-3") if p not in taken))
        found = (spare,) if DEFAULT_POLICY.permits(spare, name, obj, trigger) else ()
    if not found:
        # A kit's cast must include someone for every step it fires: this is a bug in the kit.
        raise RuntimeError(f"{name}: nobody in the cast may fire {trigger} from {obj.state}")
    return found


def fire(
    draw: st.DrawFn,
    kit: Kit[A],
    obj: A,
    trigger: str,
    dest: str | None = None,
    *,
    by: Actor | None = None,
    arguments: ArgumentsAt | None = None,
) -> A:
    """Fire ``trigger`` on ``obj`` by a permitted cast member, with valid drawn arguments,
    after the self-loops its guards need; ``by`` and ``arguments`` override the drawn ones."""
    if trigger in kit.lifecycle.triggers_from(str(obj.state)):
        obj = kit.prepare(draw, obj, trigger, dest)
    actor = by if by is not None else choice(draw, permitted(kit, obj, trigger))
    at = later(draw, obj.history[-1].at, kit.earliest(obj, trigger))
    args = kit.arguments(draw, obj, trigger, dest, at) if arguments is None else arguments(draw, at)
    command = getattr(obj, trigger)
    return cast(A, command(by=actor, at=at, **args))


# -- paths --------------------------------------------------------------------------------------


@functools.cache
def distances(name: str, target: str) -> dict[str, int]:
    """How many steps each state is from ``target`` (states that cannot reach it are absent)."""
    transitions = lifecycle_of(name).transitions
    distance = {target: 0}
    frontier = [target]
    while frontier:
        reached_now = []
        for here in frontier:
            for _trigger, source, dest in transitions:
                if dest == here and source not in distance:
                    distance[source] = distance[here] + 1
                    reached_now.append(source)
        frontier = reached_now
    return distance


def next_step(lifecycle: Lifecycle, here: str, target: str) -> tuple[str, str]:
    """The first (trigger, destination) of a shortest path from ``here`` to ``target``."""
    distance = distances(lifecycle.name, target)
    for trigger, source, dest in lifecycle.transitions:
        if source == here and distance.get(dest, -1) == distance[here] - 1:
            return trigger, dest
    raise ValueError(f"{lifecycle.name}: {target!r} cannot be reached from {here!r}")


def _detours(kit: Kit[A], obj: A, target: str) -> list[tuple[str, str]]:
    """The steps from here after which ``target`` can still be reached (at the target too: a
    round trip, such as a review started and concluded, leaves an active plan active)."""
    here = str(obj.state)
    distance = distances(kit.lifecycle.name, target)
    return [
        (trigger, dest)
        for trigger, source, dest in kit.lifecycle.transitions
        if source == here and dest in distance and kit.feasible(obj, trigger)
    ]


def reached(
    kit: Kit[A],
    states: tuple[str, ...],
    *,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[A]:
    """An object of ``kit``'s type in one of ``states``, built by real commands; naming the
    people of ``actors`` and drawn within ``ranges``, where given (see ``_common.using``)."""
    chosen, limits = check_actors(actors), check_ranges(ranges)
    if chosen is None and limits is None:
        return _reached(kit, states)
    return _reached_with(kit, states, chosen, limits)


@st.composite
def _reached_with(
    draw: st.DrawFn,
    kit: Kit[A],
    states: tuple[str, ...],
    actors: tuple[Actor, ...] | None,
    ranges: Ranges | None,
) -> A:
    with using(actors, ranges):
        return draw(_reached(kit, states))


@st.composite
def _reached(draw: st.DrawFn, kit: Kit[A], states: tuple[str, ...]) -> A:
    target = choice(draw, states, label="state")
    obj = kit.create(draw)
    budget = MAX_DETOURS
    while True:
        options = _detours(kit, obj, target) if budget else []
        if options and draw(_DETOUR, label="detour") == 3:
            trigger, dest = choice(draw, options, label="detour step")
            budget -= 1
        elif str(obj.state) == target:
            return obj
        else:
            trigger, dest = next_step(kit.lifecycle, str(obj.state), target)
        obj = fire(draw, kit, obj, trigger, dest)
