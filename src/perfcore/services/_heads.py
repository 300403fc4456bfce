"""Answers read from stream heads alone: a goal's standing on a day, the goals behind on a day,
the plans whose review falls due, from the query columns worked out from each object
(:data:`perfcore.streams.DERIVED_COLUMNS`), so that organisation-wide questions decode only the
objects they return.

A head that cannot answer (written before those columns existed, or changed after the day asked
about, so that the day's answer needs the history replayed) is named for the caller to decode,
as the questions did before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from perfcore.goal import GoalState, Standing
from perfcore.ports import ColumnFinds, EventStore, IndexValue, RangeFinds, StreamHead

__all__ = [
    "behind_heads",
    "head_rows",
    "overlaps_from",
    "review_heads",
    "standing_from",
]

_FINISHED = {
    GoalState.ACHIEVED.value: Standing.ACHIEVED,
    GoalState.MISSED.value: Standing.MISSED,
    GoalState.CANCELLED.value: Standing.CANCELLED,
}
#: The states a goal is in now if it could have been under way (active) on some day.
_ONCE_ACTIVE = frozenset(
    state.value
    for state in (GoalState.ACTIVE, GoalState.ACHIEVED, GoalState.MISSED, GoalState.CANCELLED)
)


def _text(head: StreamHead, column: str) -> str | None:
    value = head.columns.get(column)
    return value if isinstance(value, str) else None


def standing_from(
    state: str, start: object, behind: object, changed: object, day: str
) -> Standing | None:
    """How a goal stood on ``day`` (ISO 8601 text), as :meth:`perfcore.goal.Goal.standing` of
    the goal as it stood then, from its head's state and ``start``, ``behind`` and ``changed``
    columns (a row of :func:`head_rows`); ``None`` when only its object can say: the head has
    no derived columns, or the goal changed after that day."""
    if not isinstance(changed, str) or changed > day:
        return None
    finished = _FINISHED.get(state)
    if finished is not None:
        return finished
    if not isinstance(start, str):
        return None
    if state != GoalState.ACTIVE.value or day < start:
        return Standing.NOT_STARTED
    return Standing.BEHIND if isinstance(behind, str) and behind <= day else Standing.ON_TRACK


def overlaps_from(start: object, due: object, first: str, last: str) -> bool | None:
    """Whether a goal (from its head's ``start`` and ``due`` columns) overlaps ``first`` to
    ``last`` (days as ISO 8601 text); ``None`` when the head does not say."""
    if not isinstance(start, str) or not isinstance(due, str):
        return None
    return not (due < first or start > last)


def head_rows(
    events: EventStore, kind: str, column: str, value: IndexValue, columns: Sequence[str]
) -> Sequence[tuple[Any, ...]]:
    """``(id, state, *values of columns)`` of each head ``events.find`` gives, in its order:
    read as rows by a store that offers :class:`~perfcore.ports.ColumnFinds`, else taken from
    the heads."""
    if isinstance(events, ColumnFinds):
        return events.find_columns(kind, column, value, columns)
    return [
        (head.id, head.state, *(head.columns.get(name) for name in columns))
        for head in events.find(kind, column, value)
    ]


def behind_heads(events: EventStore, on: dt.date) -> list[StreamHead] | None:
    """The heads of every goal that may have stood behind on day ``on``, ordered by id: those
    behind on that day as they stand (found by their ``behind`` column), those changed since
    (which a replay must judge), and those written before the columns existed; ``None`` if the
    store cannot find by a range (the caller then judges every goal once under way)."""
    if not isinstance(events, RangeFinds):
        return None
    day = on.isoformat()
    found = {head.id: head for head in events.find_between("Goal", "behind", None, day)}
    since = (on + dt.timedelta(days=1)).isoformat()
    for head in events.find_between("Goal", "changed", since, None):
        if head.state in _ONCE_ACTIVE:
            found[head.id] = head
    for head in events.find("Goal", "changed", None):
        if head.state in _ONCE_ACTIVE:
            found[head.id] = head
    return [found[id] for id in sorted(found)]


def review_heads(
    events: EventStore, first: dt.date | None, last: dt.date
) -> tuple[list[tuple[dt.date, StreamHead]], list[StreamHead]] | None:
    """The active plans whose next review falls from ``first`` (``None``: any day before) to
    ``last``, each with that day, from their ``review`` column; and the active plans written
    before the columns existed, which only their object can place. ``None`` if the store cannot
    find by a range."""
    if not isinstance(events, RangeFinds):
        return None
    low = None if first is None else first.isoformat()
    dated: list[tuple[dt.date, StreamHead]] = []
    older: list[StreamHead] = []
    for head in events.find_between("Plan", "review", low, last.isoformat()):
        review = _text(head, "review")
        if review is None or head.state != "active":
            continue
        try:
            dated.append((dt.date.fromisoformat(review), head))
        except ValueError:
            older.append(head)  # not a day: its object says when its review falls due
    older.extend(head for head in events.find("Plan", "changed", None) if head.state == "active")
    return dated, older
