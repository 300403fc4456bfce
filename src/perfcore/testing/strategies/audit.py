"""Strategies for what storage records: recorded events, stream heads, snapshots, audit reports
and checkpoints, and notifications.

Recorded events are a drawn object's history encoded and chained by
:func:`perfcore.recording.record`, so their hashes hold; reports are what
:func:`perfcore.audit.verify_store` says of a store holding such a stream, intact or checked
against a checkpoint that its log no longer reaches.
"""

from __future__ import annotations

from hypothesis import strategies as st

from perfcore._aggregate import Aggregate
from perfcore.audit import AuditCheckpoint, AuditReport, verify_store
from perfcore.ports import Notification, RecordedEvent, Snapshot, Store, StreamHead
from perfcore.recording import record
from perfcore.streams import Streams, head_of, snapshot_of
from perfcore.testing.strategies._common import aware_datetimes, choice, distinct_people, ids
from perfcore.testing.strategies.aggregates import aggregates

__all__ = [
    "audit_checkpoints",
    "audit_reports",
    "notifications",
    "recorded_events",
    "recorded_streams",
    "snapshots",
    "stream_heads",
]

NOTIFICATION_KINDS = ("plan_attained", "feedback_requested", "review_due")


def recorded_streams() -> st.SearchStrategy[list[RecordedEvent]]:
    """A whole stream as a store keeps it: a drawn object's history, recorded and chained.

    .. versionadded:: 0.2.0
    """
    return aggregates().map(lambda obj: record(obj.history, b""))


def recorded_events() -> st.SearchStrategy[RecordedEvent]:
    """One event of a drawn stream.

    .. versionadded:: 0.2.0
    """
    return recorded_streams().flatmap(st.sampled_from)


def _head(obj: Aggregate) -> StreamHead:
    return head_of(obj, record(obj.history, b"")[-1].hash)


def stream_heads() -> st.SearchStrategy[StreamHead]:
    """The head of a drawn object's stream: its version, last hash, state and query columns.

    .. versionadded:: 0.2.0
    """
    return aggregates().map(_head)


def snapshots() -> st.SearchStrategy[Snapshot]:
    """A snapshot of a drawn object.

    .. versionadded:: 0.2.0
    """
    return aggregates().map(snapshot_of)


def _store_holding(obj: Aggregate) -> Store:
    from perfcore.adapters.memory import MemoryStore  # the strategies need no store otherwise

    store = MemoryStore()
    with store.unit_of_work() as uow:
        Streams(uow).save(obj, loaded=None)
        uow.commit()
    return store


@st.composite
def _reports(draw: st.DrawFn) -> AuditReport:
    obj = draw(aggregates())
    store = _store_holding(obj)
    report = verify_store(store)
    beyond = choice(draw, (0, 1, 3), label="events the checkpoint claims beyond the log")
    if not beyond or report.checkpoint is None:
        return report
    checkpoint = report.checkpoint
    claimed = AuditCheckpoint(
        seal=checkpoint.seal,
        seal_hash=checkpoint.seal_hash,
        position=checkpoint.position + beyond,
        count=checkpoint.count + beyond,
    )
    return verify_store(store, checkpoint=claimed)


def audit_reports() -> st.SearchStrategy[AuditReport]:
    """What verifying a store holding a drawn object says: intact, or (checked against a
    checkpoint its log no longer reaches) a cut-off tail.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 reports of :func:`perfcore.audit.verify_store`.
    """
    return _reports()


def _checkpoint(obj: Aggregate) -> AuditCheckpoint:
    checkpoint = verify_store(_store_holding(obj)).checkpoint
    assert checkpoint is not None, "a store holding one intact stream verifies"
    return checkpoint


def audit_checkpoints() -> st.SearchStrategy[AuditCheckpoint]:
    """What a verification of a store holding a drawn object says to keep outside it.

    .. versionadded:: 0.2.0
    """
    return aggregates().map(_checkpoint)


def notifications() -> st.SearchStrategy[Notification]:
    """Something people must be told about a change.

    .. versionadded:: 0.1.0
    """
    return st.builds(
        Notification,
        id=ids("n"),
        kind=st.sampled_from(NOTIFICATION_KINDS),
        recipients=distinct_people(1, max_count=3).map(tuple),
        aggregate_type=st.sampled_from(("Goal", "Plan", "Evaluation")),
        aggregate_id=ids("x"),
        version=st.integers(1, 20),
        at=aware_datetimes(),
    )
