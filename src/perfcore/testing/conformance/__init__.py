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
project's plans use. The suite judges a store through :mod:`perfcore.ports` only (it appends
:class:`~perfcore.ports.RecordedEvent` bytes it builds itself, and reads them back):

- :class:`EventsContract`: appends only from the expected version, events back to the byte, in
  order, however long the stream;
- :class:`HeadsContract`: each append's head kept; ``find`` on the state and every query column,
  and ``streams``, answered from the newest heads, case and all;
- :class:`GlobalOrderContract`: positions increase in commit order and are never reused;
  ``scan`` pages through committed events; ``stable_position`` is never passed;
- :class:`UnitOfWorkContract`: all of a unit of work or none of it; ``expect`` holds at commit;
  a unit of work that only reads holds up nobody;
- :class:`ConcurrencyContract`: of racing appends (units of work, threads, processes), one wins;
- :class:`SnapshotsContract`: the newest snapshot kept, never replaced by an older one;
- :class:`SealsContract`: seals kept in order, each following the last;
- :class:`RawReadsContract`: for a store that offers the verification's raw reads
  (:class:`~perfcore.ports.RawEventReads`), the same heads, events and links as the ports give;
- :class:`RangeFindsContract`: for a store that offers range finds
  (:class:`~perfcore.ports.RangeFinds`), the heads whose text column is in a range, exactly;
- :class:`ColumnFindsContract`: for a store that offers column finds
  (:class:`~perfcore.ports.ColumnFinds`), the rows of the heads ``find`` gives, column for column;
- :class:`ErasureContract`: erasing replaces the bodies and nothing else;
- :class:`OutboxContract`: notifications oldest first, until delivered;
- :class:`IdempotencyContract`: a key taken once;
- :class:`ErrorsContract`: failures underneath come out as ``StorageError``; a closed store
  refuses work;
- :class:`ModelContract`: random units of work, checked against a model (hypothesis);
- :class:`SurveysContract`: a survey's ballot box (a snapshot of a kind no stream has) kept with
  its participation, all or nothing; racing answers to one survey each kept once;
- :class:`WorkflowContract`: random workflows through the services on the store and on the memory
  store side by side.

Pick mixins one by one to run part of the suite while an adapter is being written.

:class:`DirectoryContract` certifies a :class:`~perfcore.directory.Directory` (the organisation
by date) the same way, apart from the store.
"""

from __future__ import annotations

from perfcore.testing.conformance.columns import ColumnFindsContract
from perfcore.testing.conformance.concurrency import ConcurrencyContract
from perfcore.testing.conformance.directory import DirectoryContract
from perfcore.testing.conformance.erasure import ErasureContract
from perfcore.testing.conformance.errors import ErrorsContract
from perfcore.testing.conformance.events import EventsContract
from perfcore.testing.conformance.fixture import StoreFixture
from perfcore.testing.conformance.heads import HeadsContract
from perfcore.testing.conformance.idempotency import IdempotencyContract
from perfcore.testing.conformance.model import ModelContract
from perfcore.testing.conformance.order import GlobalOrderContract
from perfcore.testing.conformance.outbox import OutboxContract
from perfcore.testing.conformance.ranges import RangeFindsContract
from perfcore.testing.conformance.raw_reads import RawReadsContract
from perfcore.testing.conformance.seals import SealsContract
from perfcore.testing.conformance.snapshots import SnapshotsContract
from perfcore.testing.conformance.surveys import SurveysContract
from perfcore.testing.conformance.unit_of_work import UnitOfWorkContract
from perfcore.testing.conformance.workflow import WorkflowContract

__all__ = [
    "ColumnFindsContract",
    "ConcurrencyContract",
    "DirectoryContract",
    "ErasureContract",
    "ErrorsContract",
    "EventsContract",
    "GlobalOrderContract",
    "HeadsContract",
    "IdempotencyContract",
    "ModelContract",
    "OutboxContract",
    "RangeFindsContract",
    "RawReadsContract",
    "RepositoryContract",
    "SealsContract",
    "SnapshotsContract",
    "StoreContract",
    "StoreFixture",
    "SurveysContract",
    "UnitOfWorkContract",
    "WorkflowContract",
]


class StoreContract(
    EventsContract,
    HeadsContract,
    GlobalOrderContract,
    UnitOfWorkContract,
    ConcurrencyContract,
    SnapshotsContract,
    SealsContract,
    RawReadsContract,
    RangeFindsContract,
    ColumnFindsContract,
    ErasureContract,
    OutboxContract,
    IdempotencyContract,
    ErrorsContract,
    ModelContract,
    SurveysContract,
    WorkflowContract,
):
    """Every behaviour a store must show: the whole conformance suite.

    .. versionadded:: 0.1.0
    """


#: The whole suite, under the name issue 5 gives it: the same class as :class:`StoreContract`.
RepositoryContract = StoreContract
