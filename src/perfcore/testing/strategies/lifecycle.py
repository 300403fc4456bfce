"""Strategies for the lifecycle tables themselves: lifecycles, their steps, and their guards."""

from __future__ import annotations

from hypothesis import strategies as st

from perfcore.lifecycle import Guard, Lifecycle, Step
from perfcore.testing.strategies._engine import kits

__all__ = ["guards", "lifecycles", "steps"]


def lifecycles() -> st.SearchStrategy[Lifecycle]:
    """The lifecycle of one of perfcore's aggregate types.

    .. versionadded:: 0.1.0
    """
    return st.sampled_from(tuple(kit.lifecycle for kit in kits()))


def steps() -> st.SearchStrategy[Step]:
    """A row of one of the lifecycle tables.

    .. versionadded:: 0.1.0
    """
    return lifecycles().flatmap(lambda lifecycle: st.sampled_from(lifecycle.steps))


def guards() -> st.SearchStrategy[Guard]:
    """A guard of one of the lifecycle tables' rows.

    .. versionadded:: 0.1.0
    """
    return st.sampled_from(
        tuple(guard for kit in kits() for step in kit.lifecycle.steps for guard in step.guards)
    )
