"""The outbox: notifications wait, oldest first, until marked delivered; none is ever lost."""

from __future__ import annotations

import pytest

from perfcore.errors import NotFound
from perfcore.ports import Store
from perfcore.testing.conformance._support import (
    EPOCH,
    notification,
    pending,
    write_and_commit,
)
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["OutboxContract"]


class OutboxContract(StoreFixture):
    """Notifications wait, oldest first, until marked delivered; none is ever lost.

    .. versionadded:: 0.1.0
    """

    def test_pending_notifications_come_back_exactly_oldest_first(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for id in ("n-3", "n-1", "n-2"):
                uow.outbox.put(notification(id))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.outbox.put(notification("n-0", kind="plan_attained"))
            uow.commit()
        assert [n.id for n in pending(store)] == ["n-3", "n-1", "n-2", "n-0"]
        assert pending(store)[0] == notification("n-3")
        assert pending(store)[-1] == notification("n-0", kind="plan_attained")
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
        with store.unit_of_work() as uow, pytest.raises(NotFound) as raised:
            write_and_commit(uow, lambda: uow.outbox.mark_delivered("nobody", EPOCH))
        assert raised.value.aggregate_type == "Notification"

    def test_a_rolled_back_notification_is_never_offered(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.outbox.put(notification("n-1"))
            uow.rollback()
        assert pending(store) == []

    def test_a_rolled_back_delivery_offers_the_notification_again(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.outbox.put(notification("n-1"))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.outbox.mark_delivered("n-1", EPOCH)
            uow.rollback()
        assert pending(store) == [notification("n-1")]
