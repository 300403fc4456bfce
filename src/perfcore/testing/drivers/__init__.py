"""Drivers: a valid way to fire every trigger of every lifecycle, and to reach every state.

A driver knows, for one aggregate type, a cast of actors, and arguments that satisfy each
trigger's guards. Tests use it to put an object in any reachable state by real commands (never by
setting fields), to check every (state, trigger) pair against the table, and to build examples.

>>> from perfcore.testing.drivers import driver_for
>>> driver_for("Goal").reach("achieved").state
<GoalState.ACHIEVED: 'achieved'>
"""

from __future__ import annotations

import abc
import datetime as dt
import importlib
from collections import deque
from typing import Any, ClassVar, Generic, TypeVar

from perfcore._aggregate import Aggregate
from perfcore.lifecycle import Lifecycle, lifecycle_of

__all__ = ["Driver", "driver_for", "drivers", "path_to"]

A = TypeVar("A", bound=Aggregate)

#: The moment drivers start from: every driver's first command is at this time.
EPOCH = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


class Driver(abc.ABC, Generic[A]):
    """Fires any trigger of one lifecycle with arguments that satisfy its guards.

    Subclasses set :attr:`kind` and implement :meth:`create` and :meth:`fire`; the base class
    finds paths through the table.
    """

    kind: ClassVar[type]

    @property
    def lifecycle(self) -> Lifecycle:
        """The lifecycle this driver drives."""
        return lifecycle_of(self.kind)

    @abc.abstractmethod
    def create(self, id: str = "x-1") -> A:
        """A new object in the initial state, created by an actor the default policy admits."""

    @abc.abstractmethod
    def fire(self, obj: A, trigger: str, dest: str | None = None) -> A:
        """Fire ``trigger`` on ``obj`` so that its guards hold, reaching ``dest`` where a
        trigger has more than one. A driver may first fire self-loop commands (a check-in, a
        feedback response) that a guard needs; the returned object has fired ``trigger`` last.
        """

    def allows(self, obj: A, trigger: str) -> bool:
        """Whether the table allows ``trigger`` from ``obj``'s state: a driver prepares a guard's
        data only then, so that a refused trigger is refused for itself, not for its preparation.
        """
        return trigger in self.lifecycle.triggers_from(str(obj.state))

    def reach(self, state: str, id: str = "x-1") -> A:
        """A new object brought to ``state`` by real commands along a shortest path."""
        obj = self.create(id)
        for trigger, dest in path_to(self.lifecycle, state):
            obj = self.fire(obj, trigger, dest)
        return obj


def path_to(lifecycle: Lifecycle, state: str) -> list[tuple[str, str]]:
    """A shortest list of (trigger, destination) steps from the initial state to ``state``."""
    previous: dict[str, tuple[str, str, str] | None] = {lifecycle.initial: None}
    queue = deque([lifecycle.initial])
    while queue:
        here = queue.popleft()
        for trigger, source, dest in lifecycle.transitions:
            if source == here and dest not in previous:
                previous[dest] = (here, trigger, dest)
                queue.append(dest)
    if state not in previous:
        raise ValueError(f"{lifecycle.name}: {state!r} cannot be reached")
    steps: list[tuple[str, str]] = []
    cursor = state
    while (link := previous[cursor]) is not None:
        source, trigger, dest = link
        steps.append((trigger, dest))
        cursor = source
    return steps[::-1]


#: The driver modules, one per aggregate type; each defines exactly one Driver subclass.
_MODULES = (
    "perfcore.testing.drivers.evaluation",
    "perfcore.testing.drivers.goal",
    "perfcore.testing.drivers.job_description",
    "perfcore.testing.drivers.plan",
    "perfcore.testing.drivers.review_cycle",
    "perfcore.testing.drivers.survey",
    "perfcore.testing.drivers.note",
)


def drivers() -> dict[str, Driver[Any]]:
    """A driver for every aggregate type perfcore ships, by type name."""
    found: dict[str, Driver[Any]] = {}
    for module_name in _MODULES:
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Driver) and value is not Driver:
                driver = value()
                found[driver.lifecycle.name] = driver
    return found


def driver_for(kind: type | str) -> Driver[Any]:
    """The driver for one aggregate type, by class or name."""
    return drivers()[lifecycle_of(kind).name]
