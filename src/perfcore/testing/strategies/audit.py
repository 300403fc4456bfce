"""Strategies for what storage records: audit entries, anchors and reports, and notifications.

Audit entries are chained from the histories of drawn aggregates by :func:`perfcore.audit.chain`,
so that their hashes hold; reports are what :func:`perfcore.audit.verify_audit_log` says of such a
log, whole or with its tail cut off.
"""

from __future__ import annotations

from hypothesis import strategies as st

from perfcore.audit import AuditAnchor, AuditReport, chain, verify_audit_log
from perfcore.ports import AuditEntry, Notification
from perfcore.testing.strategies._common import aware_datetimes, choice, distinct_people, ids
from perfcore.testing.strategies.aggregates import aggregates

__all__ = ["audit_anchors", "audit_entries", "audit_logs", "audit_reports", "notifications"]

NOTIFICATION_KINDS = ("plan_attained", "feedback_requested", "review_due")


def audit_logs() -> st.SearchStrategy[list[AuditEntry]]:
    """A whole audit log: the chained entries of one drawn object's history.

    .. versionadded:: 0.1.0
    """
    return aggregates().map(lambda obj: chain(obj.history, None))


def audit_entries() -> st.SearchStrategy[AuditEntry]:
    """One entry of a drawn audit log.

    .. versionadded:: 0.1.0
    """
    return audit_logs().flatmap(st.sampled_from)


def audit_anchors() -> st.SearchStrategy[AuditAnchor]:
    """What a log must hold, taken from a drawn object (:meth:`AuditAnchor.of`).

    .. versionadded:: 0.1.0
    """
    return aggregates().map(lambda obj: AuditAnchor.of([obj]))


@st.composite
def _reports(draw: st.DrawFn) -> AuditReport:
    obj = draw(aggregates())
    entries = chain(obj.history, None)
    kept = choice(draw, range(len(entries), -1, -1), label="entries kept")
    return verify_audit_log(entries[:kept], expected=AuditAnchor.of([obj]))


def audit_reports() -> st.SearchStrategy[AuditReport]:
    """What verifying a drawn log says: intact, or (its tail cut off) truncated.

    .. versionadded:: 0.1.0
    """
    return _reports()


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
