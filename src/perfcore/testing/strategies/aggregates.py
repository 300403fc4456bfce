"""Strategies for any aggregate, and for the events in their histories."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.events import Event
from perfcore.testing.strategies._common import Ranges, check_actors, check_ranges
from perfcore.testing.strategies._engine import kit_for, kits, reached

__all__ = ["aggregates", "events"]


def aggregates(
    kinds: Iterable[type[Any] | str] | None = None,
    *,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[Aggregate]:
    """Objects of any perfcore aggregate type (or of ``kinds``), in any reachable state, built
    by real commands, so that ``type(obj).replay(obj.history) == obj``.

    Args:
        kinds: the aggregate types (classes or names) to draw from; by default all of them.
        actors: the people objects name (see :func:`goals`).
        ranges: how far dates and numbers range (see :class:`Ranges`).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``actors`` and ``ranges``.
    """
    chosen = kits() if kinds is None else tuple(kit_for(kind) for kind in kinds)
    people, limits = check_actors(actors), check_ranges(ranges)
    return st.one_of(
        [reached(kit, kit.lifecycle.states, actors=people, ranges=limits) for kit in chosen]
    )


def events() -> st.SearchStrategy[Event]:
    """Events from the histories of drawn aggregates: each one an accepted command (or a
    creation) that really happened to the object it names.

    .. versionadded:: 0.1.0
    """
    return aggregates().flatmap(lambda obj: st.sampled_from(obj.history))
