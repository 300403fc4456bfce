"""Strategies for any aggregate, and for the events in their histories."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

from perfcore._aggregate import Aggregate
from perfcore.events import Event
from perfcore.testing.strategies._engine import kit_for, kits, reached

__all__ = ["aggregates", "events"]


def aggregates(kinds: Iterable[type[Any] | str] | None = None) -> st.SearchStrategy[Aggregate]:
    """Objects of any perfcore aggregate type (or of ``kinds``), in any reachable state, built
    by real commands, so that ``type(obj).replay(obj.history) == obj``.

    Args:
        kinds: the aggregate types (classes or names) to draw from; by default all of them.

    .. versionadded:: 0.1.0
    """
    chosen = kits() if kinds is None else tuple(kit_for(kind) for kind in kinds)
    return st.one_of([reached(kit, kit.lifecycle.states) for kit in chosen])


def events() -> st.SearchStrategy[Event]:
    """Events from the histories of drawn aggregates: each one an accepted command (or a
    creation) that really happened to the object it names.

    .. versionadded:: 0.1.0
    """
    return aggregates().flatmap(lambda obj: st.sampled_from(obj.history))
