"""Objects as they stood on a day: the history up to its end, replayed."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TypeVar

from perfcore._aggregate import Aggregate

__all__ = ["as_of"]

A = TypeVar("A", bound=Aggregate)


def as_of(obj: A, on: dt.date) -> A | None:
    """``obj`` as it stood at the end of day ``on`` (UTC), or ``None`` if it did not exist yet."""
    cutoff = dt.datetime.combine(on + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    events = tuple(itertools.takewhile(lambda event: event.at < cutoff, obj.history))
    if not events:
        return None
    if len(events) == len(obj.history):
        return obj
    return type(obj).replay(events)
