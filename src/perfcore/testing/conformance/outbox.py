"""The outbox: notifications wait, oldest first, until marked delivered; none is ever lost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from perfcore.errors import NotFound
from perfcore.ports import Notification, Store
from perfcore.testing.conformance._support import (
    BEN,
    DRIVERS,
    notification,
    pending,
    perfcore,
    seed,
    write_and_commit,
)
from perfcore.testing.conformance.fixture import StoreFixture
from perfcore.testing.drivers import EPOCH

__all__ = ["OutboxContract"]


class _Notifier:
    """Records what it is handed; raises for the ids in ``failing`` (once each, if ``once``)."""

    def __init__(self, failing: Sequence[str] = (), *, once: bool = True) -> None:
        self.handed: list[str] = []
        self.failing = set(failing)
        self.once = once

    def notify(self, notification: Notification) -> None:
        self.handed.append(notification.id)
        if notification.id in self.failing:
            if self.once:
                self.failing.discard(notification.id)
            raise ConnectionError("the mail server is down")


class _UnmarkableStore:
    """A store whose ``mark_delivered`` fails: the process died right after the hand-off."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner

    def unit_of_work(self) -> Any:
        uow = self._inner.unit_of_work()

        def refuse(notification_id: str, at: dt.datetime) -> None:
            raise OSError("killed")

        uow.outbox.mark_delivered = refuse  # type: ignore[method-assign]
        return uow

    def close(self) -> None:
        self._inner.close()


class OutboxContract(StoreFixture):
    """Notifications wait, oldest first, until marked delivered; none is ever lost.

    .. versionadded:: 0.1.0
    """

    def test_pending_notifications_come_back_oldest_first(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for id in ("n-3", "n-1", "n-2"):
                uow.outbox.put(notification(id))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.outbox.put(notification("n-0"))
            uow.commit()
        assert [n.id for n in pending(store)] == ["n-3", "n-1", "n-2", "n-0"]
        assert pending(store)[0] == notification("n-3")
        with store.unit_of_work() as uow:
            assert [n.id for n in uow.outbox.pending(limit=2)] == ["n-3", "n-1"]

    def test_a_delivered_notification_is_not_offered_again(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.outbox.put(notification("n-1"))
            uow.outbox.put(notification("n-2"))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.outbox.mark_delivered("n-1", EPOCH)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.outbox.mark_delivered("n-1", EPOCH)  # two deliverers raced: nothing changes
            uow.commit()
        assert [n.id for n in pending(store)] == ["n-2"]

    def test_marking_an_unknown_notification_is_not_found(self, store: Store) -> None:
        with store.unit_of_work() as uow, pytest.raises(NotFound):
            write_and_commit(uow, lambda: uow.outbox.mark_delivered("nobody", EPOCH))

    def test_a_rolled_back_notification_is_never_offered(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.outbox.put(notification("n-1"))
            uow.rollback()
        assert pending(store) == []

    def test_a_failed_hand_off_loses_nothing(self, store: Store) -> None:
        notifier = _Notifier()
        pc = perfcore(store, notifier=notifier)
        plan = DRIVERS["Plan"].reach("active", id="plan-1")
        goal = DRIVERS["Goal"].reach("achieved", id="g-1")
        seed(store, plan, goal)
        pc.plans.attain("plan-1", by=BEN)
        [waiting] = pending(store)
        notifier.failing = {waiting.id}
        first = pc.deliver_notifications()
        assert (first.delivered, list(first.failed)) == ((), [waiting.id])
        assert pending(store) == [waiting]
        second = pc.deliver_notifications()
        assert second.delivered == (waiting.id,)
        assert pending(store) == []
        assert notifier.handed == [waiting.id, waiting.id]

    def test_a_crash_after_the_hand_off_hands_it_over_again(self, store: Store) -> None:
        notifier = _Notifier()
        plan = DRIVERS["Plan"].reach("active", id="plan-1")
        seed(store, plan, DRIVERS["Goal"].reach("achieved", id="g-1"))
        perfcore(store).plans.attain("plan-1", by=BEN)
        with pytest.raises(OSError, match="killed"):
            perfcore(_UnmarkableStore(store), notifier=notifier).deliver_notifications()
        perfcore(store, notifier=notifier).deliver_notifications()
        assert len(notifier.handed) == 2
        assert len(set(notifier.handed)) == 1, "the same id both times, so it can be dropped"
        assert pending(store) == []
