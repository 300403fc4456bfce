"""perfcore's pytest plugin: fixtures for a store, a :class:`~perfcore.services.Perfcore` and a
clock you move by hand, and perfcore's hypothesis profiles.

An installed perfcore provides it to every pytest run (it is registered under the ``pytest11``
entry point ``perfcore.testing.pytest_plugin``; ``-p no:perfcore.testing.pytest_plugin`` turns it
off). It defines no fixture a test does not ask for, and changes nothing else: it registers the
profiles of :mod:`perfcore.testing.profiles` and, when ``HYPOTHESIS_PROFILE`` names one of them,
loads it (hypothesis's own ``--hypothesis-profile`` option still wins).

The fixtures, each new for every test:

- ``perfcore_clock``: a :class:`ManualClock` that shows 9:00 UTC on 5 January 2026 until the
  test moves it (``perfcore_clock.advance(days=30)``);
- ``perfcore_ids``: a :class:`CountingIds` (``goal-1``, ``goal-2``, ...);
- ``perfcore_policy``: the policy the services run under, :data:`~perfcore.policy.DEFAULT_POLICY`;
  override this fixture in your ``conftest.py`` to test your own;
- ``perfcore_store``: a new, empty :class:`~perfcore.adapters.memory.MemoryStore`, closed after;
- ``perfcore_services``: a :class:`~perfcore.services.Perfcore` on those four.

For example, a whole test module::

    import datetime as dt
    from perfcore import Actor

    def test_a_goal_is_approved_by_the_owners_manager(perfcore_services, perfcore_clock):
        pc = perfcore_services
        ana, ben = Actor(id="ana"), Actor(id="ben", roles={"manager"})
        pc.goals.create(by=ana, id="g-1", owner_id="ana", manager_id="ben", title="Reply",
                        metric="hours", baseline=8, target=2, direction="decrease",
                        start=dt.date(2026, 1, 5), due=dt.date(2026, 6, 30))
        pc.goals.propose("g-1", by=ana)
        perfcore_clock.advance(days=1)
        assert pc.goals.approve("g-1", by=ben).state == "active"

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Iterator

import pytest

from perfcore.adapters.memory import MemoryStore
from perfcore.policy import DEFAULT_POLICY, Policy
from perfcore.services import Perfcore
from perfcore.testing._fakes import CountingIds, ManualClock, SteppingClock

__all__ = [
    "CLOCK_START",
    "CountingIds",
    "ManualClock",
    "SteppingClock",
    "perfcore_clock",
    "perfcore_ids",
    "perfcore_policy",
    "perfcore_services",
    "perfcore_store",
]

#: The time ``perfcore_clock`` shows first: a Monday morning.
CLOCK_START = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Load the perfcore profile ``HYPOTHESIS_PROFILE`` names, if it names one; before
    hypothesis's own plugin, so that ``--hypothesis-profile`` wins."""
    del config
    if importlib.util.find_spec("hypothesis") is None:
        return  # perfcore and pytest without perfcore[testing]: the fixtures work all the same
    from hypothesis import settings

    from perfcore.testing import profiles

    name = profiles.requested()
    if name is not None and name in profiles.PROFILES:
        settings.load_profile(name)


@pytest.fixture
def perfcore_clock() -> ManualClock:
    """A clock that stands at :data:`CLOCK_START` until the test moves it."""
    return ManualClock(CLOCK_START)


@pytest.fixture
def perfcore_ids() -> CountingIds:
    """Ids ``goal-1``, ``plan-2``, ... for the objects and notifications the services make."""
    return CountingIds()


@pytest.fixture
def perfcore_policy() -> Policy:
    """The policy ``perfcore_services`` runs under: override it to test your own."""
    return DEFAULT_POLICY


@pytest.fixture
def perfcore_store() -> Iterator[MemoryStore]:
    """A new, empty in-memory store, closed after the test."""
    store = MemoryStore()
    yield store
    store.close()


@pytest.fixture
def perfcore_services(
    perfcore_store: MemoryStore,
    perfcore_clock: ManualClock,
    perfcore_ids: CountingIds,
    perfcore_policy: Policy,
) -> Perfcore:
    """perfcore's services on ``perfcore_store``, at ``perfcore_clock``'s time, under
    ``perfcore_policy``."""
    return Perfcore(perfcore_store, clock=perfcore_clock, ids=perfcore_ids, policy=perfcore_policy)
