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
from perfcore.policy import Policy
from perfcore.testing._workflow.snapshot import Snapshot

__all__ = ["LIKELY", "REASONS", "World", "draft", "lean", "mostly"]

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
    """

    today: dt.date
    actors: tuple[Actor, ...]
    policy: Policy
    snapshot: Snapshot

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
        and tempts a lax policy into letting someone act on their own object.
        """
        admitted = [actor for actor in self.actors if self._admits(actor, name, target, trigger)]
        named = [actor for actor in admitted if actor.id in _people_named(target)]
        if not admitted:
            return st.sampled_from(self.actors)
        return mostly(lean(named, admitted), st.sampled_from(self.actors))

    def _admits(self, actor: Actor, name: str, target: Any, trigger: str) -> bool:
        try:
            return self.policy.permits(actor, name, target, trigger)
        except Exception:  # an integrator's rule may want more of a draft than it has: no lean
            return False

    def triggers(
        self, obj: Any, available: Sequence[str], setbacks: frozenset[str] = frozenset()
    ) -> st.SearchStrategy[str]:
        """Mostly a trigger the table allows from ``obj``'s state that moves it on (not one of
        ``setbacks``); sometimes any of ``available`` (the ones the service offers)."""
        lifecycle = lifecycle_of(type(obj))
        allowed = [t for t in lifecycle.triggers_from(str(obj.state)) if t in available]
        onward = [t for t in allowed if t not in setbacks]
        return lean(onward or allowed, available)


#: The fields in which an object names people.
_NAMING = ("owner_id", "manager_id", "author_id", "subject_id", "evaluator_id", "employee_id")


def _people_named(target: Any) -> set[str]:
    return {value for field in _NAMING if isinstance(value := getattr(target, field, None), str)}


def lean(likely: Sequence[T], anything: Sequence[T]) -> st.SearchStrategy[T]:
    """Mostly one of ``likely`` (when there is one); sometimes one of ``anything``."""
    if not likely:
        return st.sampled_from(anything)
    return mostly(st.sampled_from(likely), st.sampled_from(anything))


def mostly(good: st.SearchStrategy[T], anything: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """Mostly a draw from ``good``; sometimes one from ``anything``."""
    return LIKELY.flatmap(lambda yes: good if yes else anything)
