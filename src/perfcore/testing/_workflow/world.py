"""What a command is drawn from: the day, the people, the policy, and what is stored.

Draws lean towards commands that can succeed (a trigger the table allows now, an actor the policy
admits, arguments that satisfy the guards) so that a short run reaches deep states, and still
draw anything at all now and then, so that refusals are exercised too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st

from perfcore.actor import Actor
from perfcore.lifecycle import lifecycle_of
from perfcore.policy import DEFAULT_POLICY, Policy
from perfcore.testing._workflow.snapshot import Snapshot
from perfcore.testing.strategies._common import Ranges, decimals

__all__ = ["LIKELY", "REASONS", "World", "draft", "lean", "mostly", "pick"]

T = TypeVar("T")

#: Reasons a person gives; now and then a blank one, which is refused where one is required.
REASONS = st.sampled_from(("agreed in our 1:1", "the team was reorganised") * 2 + ("",))

#: How often a draw takes a likely choice rather than any choice at all: three times in four.
LIKELY = st.sampled_from((True, True, True, False))


def draft(**fields: Any) -> Any:
    """An object-like view of a creation's fields, for asking the policy who may create it."""
    return SimpleNamespace(**fields)


@attrs.frozen(kw_only=True)
class World:
    """The state a command is drawn against.

    Attributes:
        today: the day the next command runs (the clock's next reading).
        actors: everyone who may act.
        policy: the policy in force.
        snapshot: what the store holds.
        ranges: how far drawn dates and numbers range.
    """

    today: dt.date
    actors: tuple[Actor, ...]
    policy: Policy
    snapshot: Snapshot
    ranges: Ranges = attrs.field(factory=Ranges)

    def span(self, default: int) -> int:
        """How many days a date may be from today: the ranges' ``days``, or ``default``."""
        return self.ranges.day_span(default)

    def numbers(self, *defaults: int) -> st.SearchStrategy[Any]:
        """A goal's metric value: one of ``defaults``, or any in the ranges' ``numbers``."""
        if self.ranges.numbers is None:
            return st.sampled_from(defaults)
        return decimals(*self.ranges.numbers, places=2)

    @property
    def people(self) -> tuple[str, ...]:
        """Everyone's id."""
        return tuple(actor.id for actor in self.actors)

    def objects(self, name: str) -> list[Any]:
        """The stored objects of aggregate type ``name``, by id."""
        return [obj for (kind, _), obj in sorted(self.snapshot.objects.items()) if kind == name]

    def ids(self, name: str) -> tuple[str, ...]:
        """The ids of the stored objects of aggregate type ``name``."""
        return tuple(obj.id for obj in self.objects(name))

    def person(self, *, besides: str | None = None) -> st.SearchStrategy[str]:
        """Anyone's id; mostly not ``besides``'s."""
        return lean([person for person in self.people if person != besides], self.people)

    def day(self, low: int, high: int) -> st.SearchStrategy[dt.date]:
        """A day from ``low`` to ``high`` days after today."""
        return st.integers(low, high).map(lambda offset: self.today + dt.timedelta(days=offset))

    def actor(self, name: str, target: Any, trigger: str) -> st.SearchStrategy[Actor]:
        """Mostly someone the policy lets fire ``trigger`` on ``target``, and of those mostly
        someone the object names (its owner, manager, author, subject...); sometimes anyone.

        Leaning to the people an object names moves it along (the owner's manager approves),
        and tempts a lax policy into letting someone act on their own object. Where the policy
        admits someone the default policy would refuse, the lean is to them first (the object's
        own people among them first): that is where a policy of one's own goes wrong.
        """
        admitted = [a for a in self.actors if _admits(self.policy, a, name, target, trigger)]
        named = [actor for actor in admitted if actor.id in _people_named(target)]
        tempting: list[Actor] = []
        if self.policy is not DEFAULT_POLICY:
            tempting = [
                a for a in admitted if not _admits(DEFAULT_POLICY, a, name, target, trigger)
            ]
        own = [actor for actor in tempting if actor in named]
        # Each tier is taken three times in four when it has someone: tempted (own people
        # first), named, admitted, anyone.
        return _tiered(((own, tempting), (named,), (admitted,)), tuple(self.actors))

    def triggers(
        self, obj: Any, available: Sequence[str], setbacks: frozenset[str] = frozenset()
    ) -> st.SearchStrategy[str]:
        """Mostly a trigger the table allows from ``obj``'s state that moves it on (not one of
        ``setbacks``); sometimes any of ``available`` (the ones the service offers)."""
        lifecycle = lifecycle_of(type(obj))
        allowed = [t for t in lifecycle.triggers_from(str(obj.state)) if t in available]
        onward = [t for t in allowed if t not in setbacks]
        return lean(onward or allowed, available)


def _admits(policy: Policy, actor: Actor, name: str, target: Any, trigger: str) -> bool:
    try:
        return policy.permits(actor, name, target, trigger)
    except Exception:  # an integrator's rule may want more of a draft than it has: no lean
        return False


#: The fields in which an object names people.
_NAMING = ("owner_id", "manager_id", "author_id", "subject_id", "evaluator_id", "employee_id")


def _people_named(target: Any) -> set[str]:
    return {value for field in _NAMING if isinstance(value := getattr(target, field, None), str)}


#: An index into a list of any length (taken modulo its length): always one choice, whatever the
#: length, and 0 (the first) when shrunk.
_INDEX = st.integers(0, 1023)


def pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    """One of ``options`` (shrinking to the first), drawn as one choice however many there are.

    ``st.sampled_from`` draws nothing from a list of one: had a shorter story left two goals
    to choose from where a longer one left one, every later choice of a failing run would
    move, and it would not shrink to the shorter story.
    """
    return options[draw(_INDEX) % len(options)]


def lean(likely: Sequence[T], anything: Sequence[T]) -> st.SearchStrategy[T]:
    """Mostly one of ``likely`` (when there is one); sometimes one of ``anything``."""
    return _tiered(((tuple(likely),),), tuple(anything))


@st.composite
def _tiered(
    draw: st.DrawFn, tiers: tuple[tuple[Sequence[T], ...], ...], anything: Sequence[T]
) -> T:
    """One of the first tier (a list of lists, the first with someone in it, three times in
    four) that has someone, else of the next..., else of ``anything``.

    Every call makes the same choices however long the lists are (one "take it?" per list, one
    index), so that a failing run's later choices stay where they are when shrinking changes
    which objects there are to choose from.
    """
    chosen: Sequence[T] = anything
    for tier in tiers:
        taken = [draw(LIKELY) for _ in tier]
        if chosen is anything:
            for options, take in zip(tier, taken, strict=True):
                if take and options:
                    chosen = options
                    break
    return pick(draw, chosen)


def mostly(good: st.SearchStrategy[T], anything: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """Mostly a draw from ``good``; sometimes one from ``anything``."""
    return LIKELY.flatmap(lambda yes: good if yes else anything)
