"""What an adapter's test class declares: the ``store`` fixture, its capabilities, and hooks.

Every contract mixin derives from :class:`StoreFixture`. The adapter's test class provides one
pytest fixture, ``store``: a fresh, empty store for each test. A capability the adapter lacks is a
flag left ``False``; every test that needs it is skipped, saying which flag, never passed.
A flag set ``True`` whose hook is left alone is an error, not a skip: the class claimed more than
it gave.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

import pytest

from perfcore.ports import AuditEntry, Store

__all__ = ["StoreFixture"]


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
    #: The tests may rewrite the stored audit log around perfcore, as someone with write access
    #: to the database could (see :meth:`rewrite_audit_log`), to check that tampering is found.
    supports_tampering: ClassVar[bool] = False
    #: The workflow comparison may open new, empty stores (see :meth:`new_store`): it needs one
    #: for every example it runs.
    supports_new_stores: ClassVar[bool] = False

    def require(self, capability: str) -> None:
        """Skip the test, saying why, unless the adapter declares ``capability``."""
        if not getattr(self, capability):
            pytest.skip(f"the adapter does not declare {capability} = True")

    def rewrite_audit_log(self, store: Store, entries: Sequence[AuditEntry]) -> None:
        """Replace ``store``'s audit log with ``entries``, going around perfcore.

        Needed when :attr:`supports_tampering` is set.
        """
        raise NotImplementedError("supports_tampering is set: define rewrite_audit_log")

    def process_store_factory(self, store: Store) -> Callable[[], Store]:
        """A picklable function that opens ``store``'s data in another process.

        Needed when :attr:`supports_processes` is set. A store that cannot be shared (one in
        memory, say) may call ``pytest.skip`` with the reason.
        """
        raise NotImplementedError("supports_processes is set: define process_store_factory")

    def new_store(self, store: Store) -> Store:
        """Another new, empty store like ``store`` (which it must not share data with).

        Needed when :attr:`supports_new_stores` is set. The caller closes it.
        """
        raise NotImplementedError("supports_new_stores is set: define new_store")
