"""A clock and an id factory for tests: deterministic, readable, and safe for threads.

Both are what :class:`~perfcore.services.Perfcore` takes as ``clock`` and ``ids``. Two instances
made with the same arguments give the same sequence, so two services run side by side (a store
under test and the in-memory reference) stamp the same commands with the same times and ids.
"""

from __future__ import annotations

import datetime as dt
import threading

from perfcore._validate import check_aware

__all__ = ["CountingIds", "SteppingClock"]


class SteppingClock:
    """A clock that moves on by ``step`` each time it is read, from ``start``.

    Args:
        start: the time before the first reading (timezone-aware); the first reading is
            ``start + step``.
        step: how far each reading moves the clock on.

    .. versionadded:: 0.1.0
    """

    def __init__(self, start: dt.datetime, step: dt.timedelta = dt.timedelta(minutes=1)) -> None:
        self._now = check_aware("start", start)
        self._step = step
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """The next time: a ``step`` later than the last reading."""
        with self._lock:
            self._now += self._step
            return self._now

    def peek(self) -> dt.datetime:
        """The time the next reading will give, without moving the clock."""
        with self._lock:
            return self._now + self._step


class CountingIds:
    """Ids ``kind-1``, ``kind-2``, ... (one count for every kind): readable, never repeated.

    .. versionadded:: 0.1.0
    """

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def new_id(self, kind: str) -> str:
        """A new id for an object of ``kind`` ("Goal" gives "goal-7")."""
        with self._lock:
            self._count += 1
            return f"{kind.lower()}-{self._count}"
