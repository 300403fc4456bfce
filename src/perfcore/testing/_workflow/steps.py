"""What one command may change: checks on the snapshots taken just before and just after it.

Its assertions say what broke in words of their own; pytest is asked not to rewrite them
(PYTEST_DONT_REWRITE), so that a failing run prints the same few lines under pytest as anywhere.
"""

from __future__ import annotations

from typing import cast

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.evaluation import Evaluation
from perfcore.events import Event
from perfcore.policy import Policy
from perfcore.services import Delivery
from perfcore.services.surveys import survey_view
from perfcore.survey import BALLOT_BOX, Survey
from perfcore.testing._workflow.calls import Call, Outcome
from perfcore.testing._workflow.snapshot import Snapshot
from perfcore.visibility import view_for

__all__ = ["check_accepted", "check_delivery", "check_refused", "check_repeated"]


def _event_key(event: Event) -> tuple[str, str, int]:
    return (event.aggregate_type, event.aggregate_id, event.version)


def _unchanged_keys(before: Snapshot, after: Snapshot) -> dict[str, object]:
    """The keys ``after`` asked about, as ``before`` knew them (a key new to the machine was
    not taken before)."""
    return {key: before.keys.get(key) for key in after.keys}


def _check_unchanged(said: str, before: Snapshot, after: Snapshot) -> None:
    assert after.objects == before.objects, f"{said} changed the stored objects"
    assert after.audit == before.audit, f"{said} changed the audit log"
    assert after.pending == before.pending, f"{said} changed the outbox"
    assert after.keys == _unchanged_keys(before, after), f"{said} changed an idempotency key"


def check_refused(call: Call, outcome: Outcome, before: Snapshot, after: Snapshot) -> None:
    """A refused command changed nothing anywhere: objects, log, outbox, keys."""
    _check_unchanged(f"{call!r} was refused ({outcome.refusal}) but", before, after)


def check_repeated(
    call: Call, first: Outcome, again: Outcome, before: Snapshot, after: Snapshot
) -> None:
    """A request repeated with its idempotency key got the first answer and changed nothing."""
    assert again == first, f"{call!r} repeated gave {again}, not the first answer {first}"
    _check_unchanged(f"{call!r} repeated with its key", before, after)


def check_accepted(
    call: Call, outcome: Outcome, before: Snapshot, after: Snapshot, policy: Policy | None = None
) -> list[Event]:
    """An accepted command moved each object it changed on by exactly one version, appended
    exactly their new events to the log, and touched nothing else; it returned the object as
    stored, or exactly the view of it its caller may see (under ``policy``). Returns those
    events."""
    result = outcome.result
    assert result is not None
    vanished = set(before.objects) - set(after.objects)
    assert not vanished, f"{call!r} made {sorted(vanished)} vanish"
    changed = {k: obj for k, obj in after.objects.items() if before.objects.get(k) != obj}
    key = outcome.key
    stored = after.objects.get(key)
    assert stored is not None, f"{call!r} returned what was not stored"
    if isinstance(result, Aggregate):
        assert stored == result, f"{call!r} returned what was not stored"
    else:
        shown = _view(stored, call.by, policy)
        assert shown == result, f"{call!r} returned {result!r}, not its caller's view {shown!r}"
    assert key in changed, f"{call!r} was accepted but did not change its object"
    new: list[Event] = []
    for key, obj in changed.items():
        old = before.objects.get(key)
        since = 0 if old is None else old.version
        added = obj.history[since:]
        # One event per command; a response that completes a batch is followed by the ballot
        # box's release of it (perfcore.survey), which no person fires.
        released = [event for event in added[1:] if event.actor_id == BALLOT_BOX]
        expected = since + 1 + len(released)
        assert obj.version == expected, f"{call!r} took {key} to version {obj.version}"
        assert all(event.actor_id == BALLOT_BOX for event in added[1:]), (
            f"{call!r} recorded {len(added)} events on {key}"
        )
        if old is not None:
            assert obj.history[: old.version] == old.history, f"{call!r} rewrote {key}'s past"
        new.extend(added)
    assert after.audit[: len(before.audit)] == before.audit, f"{call!r} changed earlier entries"
    logged = list(after.audit[len(before.audit) :])
    assert sorted(logged, key=_event_key) == sorted(new, key=_event_key), (
        f"{call!r} logged {[_event_key(e) for e in logged]}, not {[_event_key(e) for e in new]}"
    )
    _check_new_notifications(call, before, after, new)
    request = call.stored_key
    if request is not None:
        taken = after.keys.get(request)
        assert taken is not None, f"{call!r} did not take its idempotency key"
        assert (taken.aggregate_id, taken.version) == (stored.id, stored.version), (
            f"{call!r} recorded {taken} for its key"
        )
    return logged


def _check_new_notifications(
    call: Call, before: Snapshot, after: Snapshot, new: list[Event]
) -> None:
    assert after.pending[: len(before.pending)] == before.pending, f"{call!r} changed the outbox"
    sources = {(e.aggregate_type, e.aggregate_id, e.version) for e in new}
    for notification in after.pending[len(before.pending) :]:
        source = (notification.aggregate_type, notification.aggregate_id, notification.version)
        assert source in sources, f"{call!r} put {notification.id} for {source}, not its change"


def check_delivery(delivery: Delivery, limit: int, before: Snapshot, after: Snapshot) -> None:
    """A hand-off offered the oldest ``limit`` pending notifications, marked delivered exactly
    those the notifier took, and kept the failed ones pending: none is lost."""
    offered = [notification.id for notification in before.pending[:limit]]
    handled = [*delivery.delivered, *delivery.failed]
    assert sorted(handled) == sorted(offered), f"offered {offered}, handled {handled}"
    left = tuple(n for n in before.pending if n.id not in delivery.delivered)
    assert after.pending == left, "the outbox does not hold exactly what was not delivered"
    assert after.objects == before.objects, "delivering notifications changed objects"
    assert after.audit == before.audit, "delivering notifications changed the audit log"


def _view(stored: Aggregate, reader: Actor, policy: Policy | None) -> object:
    """What ``reader`` is shown of ``stored`` by its service."""
    if isinstance(stored, Survey):
        return survey_view(stored, reader)
    return view_for(cast(Evaluation, stored), reader, policy)
