"""What an adapter's test class declares: the ``store`` fixture, its capabilities, and hooks.

Every contract mixin derives from :class:`StoreFixture`. The adapter's test class provides one
pytest fixture, ``store``: a fresh, empty store for each test. A capability the adapter lacks is a
flag left ``False``; every test that needs it is skipped, saying which flag, never passed.
A flag set ``True`` whose hook is left alone is an error, not a skip: the class claimed more than
it gave.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, settings

from perfcore.ports import Store
from perfcore.testing.conformance._support import finish_within

__all__ = ["StoreFixture"]

T = TypeVar("T")


class StoreFixture:
    """The capabilities and hooks of an adapter under test.

    The test class also defines the ``store`` fixture (a fresh, empty store per test), which the
    contract's tests request.

    .. versionadded:: 0.1.0
    """

    #: Several threads may use one store at once.
    supports_threads: ClassVar[bool] = True
    #: Several processes may use one store's data at once (see :meth:`process_store_factory`).
    supports_processes: ClassVar[bool] = False
    #: The tests may make the storage under the store fail, as a full disk or a dropped
    #: connection would (see :meth:`break_store`), to check that the failure comes out as a
    #: :class:`~perfcore.errors.StorageError`.
    supports_failure_injection: ClassVar[bool] = False
    #: The workflow comparison may open new, empty stores (see :meth:`new_store`): it needs one
    #: for every example it runs.
    supports_new_stores: ClassVar[bool] = False

    #: How long (seconds) a test waits for a thread or a process before it calls it stuck.
    #: A guard against a hang, never a measure: the tests order events with barriers and pipes.
    deadlock_guard: ClassVar[float] = 60.0

    def require(self, capability: str) -> None:
        """Skip the test, saying why, unless the adapter declares ``capability``."""
        if not getattr(self, capability):
            pytest.skip(f"the adapter does not declare {capability} = True")

    def meanwhile(self, command: Callable[[], T], what: str) -> T:
        """``command()``, run while this thread holds another unit of work open: in a thread of
        its own, so that a store whose ``command`` waits for that unit of work fails the test
        (saying that ``what`` waited) instead of hanging; here, without :attr:`supports_threads`.
        """
        if not self.supports_threads:
            return command()
        return finish_within(command, self.deadlock_guard, what)

    def process_store_factory(self, store: Store) -> Callable[[], Store]:
        """A picklable function that opens ``store``'s data in another process.

        Needed when :attr:`supports_processes` is set. A store that cannot be shared (one in
        memory, say) may call ``pytest.skip`` with the reason.
        """
        raise NotImplementedError("supports_processes is set: define process_store_factory")

    def break_store(self, store: Store) -> None:
        """Make the storage under ``store`` fail from now on, going around perfcore (close its
        connection underneath it, make its file unreadable, drop a table, stop its server).

        Needed when :attr:`supports_failure_injection` is set. The store's driver then raises
        its own errors, which the store must turn into
        :class:`~perfcore.errors.StorageError`.
        """
        raise NotImplementedError("supports_failure_injection is set: define break_store")

    def new_store(self, store: Store) -> Store:
        """Another new, empty store like ``store`` (which it must not share data with).

        Needed when :attr:`supports_new_stores` is set. The caller closes it.
        """
        raise NotImplementedError("supports_new_stores is set: define new_store")

    def hypothesis_settings(self) -> settings:
        """The settings of the suite's property tests: the current hypothesis profile's, a
        quarter as many examples (each runs many units of work), and no deadline."""
        profile = settings()
        return settings(
            profile,
            max_examples=max(10, profile.max_examples // 4),
            deadline=None,
            stateful_step_count=20,
            suppress_health_check=[*profile.suppress_health_check, HealthCheck.too_slow],
        )
