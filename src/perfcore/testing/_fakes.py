"""Clocks and an id factory for tests: deterministic, readable, and safe for threads.

Each is what :class:`~perfcore.services.Perfcore` takes as ``clock`` or ``ids``. Two instances
made with the same arguments give the same sequence, so two services run side by side (a store
under test and the in-memory reference) stamp the same commands with the same times and ids.
"""

from __future__ import annotations

import datetime as dt
import threading

from perfcore._validate import check_aware

__all__ = ["CountingIds", "ManualClock", "SteppingClock"]


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


class ManualClock:
    """A clock that stands still until the test moves it: every reading is the same time
    until :meth:`advance` or :meth:`set`.

    >>> import datetime as dt
    >>> clock = ManualClock(dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC))
    >>> clock.advance(days=30).date()
    datetime.date(2026, 2, 4)
    >>> clock.now() == clock.now()
    True

    Args:
        start: the time it shows first (timezone-aware).

    .. versionadded:: 0.2.0
    """

    def __init__(self, start: dt.datetime) -> None:
        self._now = check_aware("start", start)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """The time the clock shows."""
        with self._lock:
            return self._now

    def advance(
        self, delta: dt.timedelta | None = None, *, days: float = 0, hours: float = 0
    ) -> dt.datetime:
        """Move the clock on by ``delta`` (or by ``days`` and ``hours``); returns the new time.

        Raises:
            ValueError: the move is backwards (time only moves on).
        """
        step = (delta or dt.timedelta()) + dt.timedelta(days=days, hours=hours)
        if step < dt.timedelta():
            raise ValueError(f"a clock only moves on, not back by {-step}")
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: dt.datetime) -> dt.datetime:
        """Show ``moment`` from now on (timezone-aware; any time, earlier ones too, so that a
        test can replay a day); returns it."""
        moment = check_aware("moment", moment)
        with self._lock:
            self._now = moment
            return moment


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
