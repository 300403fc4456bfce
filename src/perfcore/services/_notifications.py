"""Which events people must be told about, and whom to tell: one table, read by the services.

Each row maps an (aggregate type, trigger) to a notification kind and a function that names the
recipients and the details, from the object as the command left it and the event. The
notification is written to the outbox in the same unit of work as the change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from perfcore._aggregate import Aggregate
from perfcore.events import Event
from perfcore.ports import IdFactory, Notification

__all__ = ["NOTIFICATIONS", "NotificationRule", "notifications_for"]


@attrs.frozen
class NotificationRule:
    """A kind of notification, and who receives it (with what details) for one event."""

    kind: str
    recipients: Callable[[Any, Event], Iterable[str]]
    data: Callable[[Any, Event], Mapping[str, Any]] = lambda _obj, _event: {}


def _plan_managers(plan: Any, _event: Event) -> list[str]:
    # The plan's manager is whoever answers for it: its author, and whoever approved it.
    return [plan.author_id, *([plan.approved_by] if plan.approved_by else [])]


def _plan_attained(plan: Any, _event: Event) -> dict[str, Any]:
    return {"subject_id": plan.subject_id, "goal_ids": list(plan.goal_ids)}


def _audience(jd: Any, _event: Event) -> list[str]:
    return sorted(jd.audience)


def _jd_details(jd: Any, _event: Event) -> dict[str, Any]:
    return {"title": jd.title, "number": jd.number, "lineage_id": jd.lineage_id}


def _requested_reviewers(evaluation: Any, event: Event) -> list[str]:
    # The event's payload holds the requests this command appended (or, replaced, all of them).
    payload = event.payload
    requests = payload.get("append", {}).get("feedback_requests")
    if requests is None:
        requests = payload.get("set", {}).get("feedback_requests", [])
    return [request["reviewer_id"] for request in requests]


def _subject(evaluation: Any, _event: Event) -> list[str]:
    return [evaluation.subject_id]


def _evaluation_details(evaluation: Any, _event: Event) -> dict[str, Any]:
    return {
        "subject_id": evaluation.subject_id,
        "period_start": evaluation.period_start.isoformat(),
        "period_end": evaluation.period_end.isoformat(),
    }


#: The notifications perfcore writes, by (aggregate type, trigger).
NOTIFICATIONS: Mapping[tuple[str, str], NotificationRule] = {
    ("Plan", "attain"): NotificationRule("plan_attained", _plan_managers, _plan_attained),
    ("JobDescription", "open_feedback"): NotificationRule(
        "feedback_opened", _audience, _jd_details
    ),
    ("Evaluation", "request_feedback"): NotificationRule(
        "feedback_requested", _requested_reviewers, _evaluation_details
    ),
    ("Evaluation", "open"): NotificationRule("evaluation_opened", _subject, _evaluation_details),
}


def notifications_for(obj: Aggregate, event: Event, ids: IdFactory) -> list[Notification]:
    """The notifications ``event`` calls for (none, or one per row), addressed from ``obj`` as
    the command left it."""
    rule = NOTIFICATIONS.get((event.aggregate_type, event.trigger))
    if rule is None:
        return []
    recipients = tuple(dict.fromkeys(rule.recipients(obj, event)))
    if not recipients:
        return []
    return [
        Notification(
            id=ids.new_id("notification"),
            kind=rule.kind,
            recipients=recipients,
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            version=event.version,
            at=event.at,
            data={"trigger": event.trigger, "actor_id": event.actor_id, **rule.data(obj, event)},
        )
    ]
