"""Objects as they stood on a day: the stored history up to its end, replayed when needed."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TypeVar

from perfcore._aggregate import Aggregate
from perfcore.lifecycle import lifecycle_of
from perfcore.streams import Streams

__all__ = ["as_of"]

A = TypeVar("A", bound=Aggregate)


def as_of(obj: A, on: dt.date, streams: Streams) -> A | None:
    """``obj`` as it stood at the end of day ``on`` (UTC), or ``None`` if it did not exist yet.

    An object unchanged since that day is returned as it is; only one changed later has its
    events read back from the store and replayed.
    """
    cutoff = dt.datetime.combine(on + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    if obj.updated_at is not None and obj.updated_at < cutoff:
        return obj
    if obj.created_at is not None and obj.created_at >= cutoff:
        return None
    kind = lifecycle_of(type(obj)).name
    events = itertools.takewhile(
        lambda event: event.at < cutoff and event.version <= obj.version,
        streams.events(kind, obj.id),
    )
    first = next(events, None)
    if first is None:
        return None
    return type(obj).replay(itertools.chain((first,), events))
