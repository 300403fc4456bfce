"""The audit log: entries kept exactly, in order, only ever appended; tampering is found."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from perfcore.actor import Actor
from perfcore.audit import AuditProblem, chain
from perfcore.errors import ConcurrencyError
from perfcore.ports import AUDIT_LOG, AuditEntry, Store
from perfcore.services import Perfcore
from perfcore.testing.conformance._support import (
    ANA,
    BEN,
    DRIVERS,
    audit_entries,
    perfcore,
    proposed_goal,
    seed,
    write_and_commit,
)
from perfcore.testing.conformance.fixture import StoreFixture
from perfcore.testing.drivers import EPOCH

__all__ = ["AuditLogContract"]


def _commands(pc: Perfcore) -> None:
    """A few commands on two goals: eight audit entries."""
    proposed_goal(pc, "g-1")
    proposed_goal(pc, "g-2", owner=Actor(id="bo"))
    pc.goals.approve("g-1", by=BEN)
    pc.goals.check_in("g-1", by=ANA, on=EPOCH.date(), value=4)
    pc.goals.cancel("g-2", by=BEN, reason="the team was reorganised")
    pc.goals.check_in("g-1", by=ANA, on=EPOCH.date(), value=5)


def _edit(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    event = attrs.evolve(entries[index].event, reason="nothing to see here")
    return [*entries[:index], attrs.evolve(entries[index], event=event), *entries[index + 1 :]]


def _delete(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    return [*entries[:index], *entries[index + 1 :]]


def _swap(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    # Rows keep their sequence numbers; their contents trade places, as an UPDATE would do.
    first, second = entries[index], entries[index + 1]
    swapped = [
        attrs.evolve(second, sequence=first.sequence),
        attrs.evolve(first, sequence=second.sequence),
    ]
    return [*entries[:index], *swapped, *entries[index + 2 :]]


def _truncate(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    return entries[:index]


TAMPERING: dict[AuditProblem, Callable[[list[AuditEntry], int], list[AuditEntry]]] = {
    AuditProblem.EDITED: _edit,
    AuditProblem.DELETED: _delete,
    AuditProblem.REORDERED: _swap,
    AuditProblem.TRUNCATED: _truncate,
}


class AuditLogContract(StoreFixture):
    """The log keeps entries exactly, in order, only ever appended; tampering is found.

    .. versionadded:: 0.1.0
    """

    def test_entries_come_back_exactly_in_order(self, store: Store) -> None:
        goal = DRIVERS["Goal"].reach("achieved", id="g-1")
        entries = chain(goal.history, None)
        with store.unit_of_work() as uow:
            uow.audit.append(entries[:2])
            uow.audit.append(chain(goal.history[2:], entries[1]))
            uow.commit()
        with store.unit_of_work() as uow:
            assert list(uow.audit.read()) == entries
            assert list(uow.audit.read(after=2)) == entries[2:]
            assert uow.audit.last() == entries[-1]

    def test_an_empty_log_has_no_last_entry(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.audit.last() is None
            assert list(uow.audit.read()) == []

    @pytest.mark.parametrize("start", [0, 2, 4])
    def test_append_must_follow_the_last_entry(self, store: Store, start: int) -> None:
        goal = DRIVERS["Goal"].reach("active", id="g-1")
        entries = chain(goal.history, None)
        seed(store, goal)
        wrong = [attrs.evolve(entry, sequence=start + n + 1) for n, entry in enumerate(entries)]
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError) as raised:
            write_and_commit(uow, lambda: uow.audit.append(wrong))
        assert raised.value.aggregate_type == AUDIT_LOG
        assert audit_entries(store) == entries

    def test_two_appends_of_one_sequence_cannot_both_commit(self, store: Store) -> None:
        first, second = (DRIVERS["Goal"].create(id) for id in ("g-1", "g-2"))
        seed(store, DRIVERS["Goal"].create("g-0"))
        with store.unit_of_work() as uow:
            stale_last = uow.audit.last()
        with store.unit_of_work() as early:
            early.audit.append(chain(first.history, early.audit.last()))
            early.commit()
        stale = chain(second.history, stale_last)
        with store.unit_of_work() as late, pytest.raises(ConcurrencyError) as raised:
            write_and_commit(late, lambda: late.audit.append(stale))
        assert raised.value.aggregate_type == AUDIT_LOG
        assert [entry.event.aggregate_id for entry in audit_entries(store)] == ["g-0", "g-1"]

    def test_services_log_every_event_in_commit_order(self, store: Store) -> None:
        pc = perfcore(store)
        _commands(pc)
        logged = [(e.event.aggregate_id, e.event.version) for e in audit_entries(store)]
        assert logged == [
            ("g-1", 1), ("g-1", 2), ("g-2", 1), ("g-2", 2),
            ("g-1", 3), ("g-1", 4), ("g-2", 3), ("g-1", 5),
        ]  # fmt: skip
        assert [entry.sequence for entry in audit_entries(store)] == list(range(1, 9))
        report = pc.verify_audit_log()
        assert report.intact, report.detail
        assert report.checked == 8

    def test_earlier_entries_never_change(self, store: Store) -> None:
        pc = perfcore(store)
        proposed_goal(pc, "g-1")
        before = audit_entries(store)
        pc.goals.approve("g-1", by=BEN)
        after = audit_entries(store)
        assert after[: len(before)] == before
        assert len(after) == len(before) + 1

    def test_a_keyed_log_verifies_only_with_its_key(self, store: Store) -> None:
        _commands(perfcore(store, audit_key=b"secret"))
        assert perfcore(store, audit_key=b"secret").verify_audit_log().intact
        wrong = perfcore(store, audit_key=b"another secret").verify_audit_log()
        assert (wrong.intact, wrong.index) == (False, 0)
        unkeyed = perfcore(store).verify_audit_log()
        assert (unkeyed.problem, unkeyed.index) == (AuditProblem.UNVERIFIABLE, 0)

    @pytest.mark.parametrize("problem", sorted(TAMPERING))
    @pytest.mark.parametrize("index", [0, 3, 6])
    def test_tampering_is_reported_at_its_index(
        self, store: Store, problem: AuditProblem, index: int
    ) -> None:
        self.require("supports_tampering")
        pc = perfcore(store)
        _commands(pc)
        entries = audit_entries(store)
        self.rewrite_audit_log(store, TAMPERING[problem](entries, index))
        report = pc.verify_audit_log()
        assert not report.intact
        assert (report.index, report.problem) == (index, problem), report.detail
        assert report.sequence == index + 1

    def test_an_edit_with_a_fresh_hash_is_found_at_its_index(self, store: Store) -> None:
        self.require("supports_tampering")
        pc = perfcore(store)
        _commands(pc)
        entries = audit_entries(store)
        forged = chain([attrs.evolve(entries[4].event, reason="forged")], entries[3])[0]
        self.rewrite_audit_log(store, [*entries[:4], forged, *entries[5:]])
        report = pc.verify_audit_log()
        assert (report.index, report.problem) == (4, AuditProblem.EDITED), report.detail

    def test_a_rewritten_keyed_log_is_found_without_the_key(self, store: Store) -> None:
        self.require("supports_tampering")
        pc = perfcore(store, audit_key=b"secret")
        _commands(pc)
        entries = audit_entries(store)
        # Someone who can rewrite the table, but has no key, re-chains everything unkeyed.
        events = [entry.event for entry in entries]
        events[2] = attrs.evolve(events[2], reason="forged")
        self.rewrite_audit_log(store, chain(events, None))
        report = pc.verify_audit_log()
        assert (report.index, report.problem) == (0, AuditProblem.EDITED), report.detail
