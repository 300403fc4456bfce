"""The adapter conformance suite: the behaviour every store keeps, as pytest mixin classes.

An adapter author certifies a store by combining :class:`StoreContract` with one fixture,
``store``, that builds a fresh, empty store, and by declaring what the store can do::

    import pytest
    from perfcore.testing.conformance import StoreContract

    class TestMyStore(StoreContract):
        supports_processes = False          # capabilities (see StoreFixture)

        @pytest.fixture
        def store(self):
            store = MyStore(...)
            yield store
            store.close()

A capability the adapter lacks is a flag left ``False``: the tests that need it are skipped with
that reason, never passed. :data:`RepositoryContract` is the same class under the name the
project's plans use. The suite covers every port:

- :class:`ObjectsContract`: round trips of every aggregate in every state, not-found, refused
  adds and saves;
- :class:`QueriesContract`: every query, and questions about days and ranges of days, compared
  with a reference answer computed from the objects;
- :class:`ConcurrencyContract`: stale saves, racing threads and processes;
- :class:`UnitOfWorkContract`: all of a unit of work or none of it;
- :class:`AuditLogContract`: order, append only, verification, tampering found where it is;
- :class:`OutboxContract`: order, at least once, nothing lost after a failed hand-off;
- :class:`IdempotencyContract`: a key taken once, the first answer given again;
- :class:`WorkflowContract`: random workflows through the services, compared step by step with
  the in-memory reference.

Pick mixins one by one to run part of the suite while an adapter is being written.
"""

from __future__ import annotations

from perfcore.testing.conformance.audit import AuditLogContract
from perfcore.testing.conformance.concurrency import ConcurrencyContract
from perfcore.testing.conformance.fixture import StoreFixture
from perfcore.testing.conformance.idempotency import IdempotencyContract
from perfcore.testing.conformance.objects import ObjectsContract
from perfcore.testing.conformance.outbox import OutboxContract
from perfcore.testing.conformance.queries import QueriesContract
from perfcore.testing.conformance.unit_of_work import UnitOfWorkContract
from perfcore.testing.conformance.workflow import WorkflowContract

__all__ = [
    "AuditLogContract",
    "ConcurrencyContract",
    "IdempotencyContract",
    "ObjectsContract",
    "OutboxContract",
    "QueriesContract",
    "RepositoryContract",
    "StoreContract",
    "StoreFixture",
    "UnitOfWorkContract",
    "WorkflowContract",
]


class StoreContract(
    ObjectsContract,
    QueriesContract,
    ConcurrencyContract,
    UnitOfWorkContract,
    AuditLogContract,
    OutboxContract,
    IdempotencyContract,
    WorkflowContract,
):
    """Every behaviour a store must show: the whole conformance suite.

    .. versionadded:: 0.1.0
    """


#: The whole suite, under the name issue 5 gives it: the same class as :class:`StoreContract`.
RepositoryContract = StoreContract
