"""Column finds (:class:`~perfcore.ports.ColumnFinds`), for a store that offers them: the rows
``find_columns`` gives are the heads ``find`` gives, column for column, in the same order, after
every change and inside the unit of work that made it. A store that does not offer them is asked
through ``find``, and these tests are skipped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from perfcore.errors import ValidationError
from perfcore.ports import ColumnFinds, EventStore, IndexValue, Store
from perfcore.testing.conformance._support import batch, commit
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["ColumnFindsContract"]

#: The questions asked after every change: (kind, column, value, columns).
_ASKED: tuple[tuple[str, str, IndexValue, tuple[str, ...]], ...] = (
    ("Goal", "state", "active", ("owner", "start", "due", "behind", "changed")),
    ("Goal", "state", "achieved", ("owner",)),
    ("Goal", "owner", "ana", ("behind", "owner")),
    ("Goal", "owner", None, ("changed",)),
    ("Plan", "cycle", "c-1", ("subject", "changed", "team")),
    ("Plan", "team", 3, ("subject",)),
    ("Plan", "number", 2, ()),
    ("JobDescription", "state", "published", ("employee", "number")),
)


def _rows_of_heads(
    events: EventStore, kind: str, column: str, value: IndexValue, columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    return [
        (head.id, head.state, *(head.columns.get(name) for name in columns))
        for head in events.find(kind, column, value)
    ]


def _check_all(events: EventStore, when: str) -> None:
    assert isinstance(events, ColumnFinds)
    for kind, column, value, columns in _ASKED:
        found = [tuple(row) for row in events.find_columns(kind, column, value, list(columns))]
        expected = _rows_of_heads(events, kind, column, value, columns)
        assert found == expected, f"find_columns({kind}, {column}, {value!r}, {columns}) {when}"


def _offered(store: Store) -> None:
    with store.unit_of_work() as uow:
        if not isinstance(uow.events, ColumnFinds):
            pytest.skip("the store offers no column finds: the services read the heads instead")


class ColumnFindsContract(StoreFixture):
    """``find_columns`` gives what ``find`` gives, a row of plain values per head.

    .. versionadded:: 0.3.0
    """

    def test_the_rows_are_the_heads_find_gives_after_every_change(self, store: Store) -> None:
        _offered(store)
        g1 = batch("Goal", "g-1", 1, "active", {"owner": "ana", "behind": "2026-01-15"})
        g2 = batch("Goal", "g-2", 2, "active", {"owner": "ben", "start": "2026-01-01"})
        g3 = batch("Goal", "g-3", 1, "draft", {"changed": "2026-01-01"})
        p1 = batch("Plan", "p-1", 1, "active", {"cycle": "c-1", "subject": "ana", "team": 3})
        p2 = batch("Plan", "p-2", 1, "draft", {"cycle": "c-1", "number": 2})
        jd = batch("JobDescription", "jd-1", 3, "published", {"employee": "ana", "number": 1})
        g1b = g1.then(1, "achieved", {"owner": "ana", "changed": "2026-02-01"})  # behind cleared
        g3b = g3.then(2, "active", {"owner": "ana", "due": "2026-12-31"})
        for step, each in enumerate([g1, g2, g3, p1, p2, jd, g1b, g3b]):
            commit(store, each)
            with store.unit_of_work() as uow:
                _check_all(uow.events, f"after step {step}")

    def test_the_rows_see_their_own_unit_of_work(self, store: Store) -> None:
        _offered(store)
        first = batch("Goal", "g-2", 1, "active", {"owner": "ana"})
        commit(store, first)
        with store.unit_of_work() as uow:
            first.then(1, "achieved", {"owner": "ana"}).append_to(uow)
            batch("Goal", "g-1", 1, "active", {"owner": "ana"}).append_to(uow)
            _check_all(uow.events, "inside the unit of work")
            found = uow.events.find_columns("Goal", "owner", "ana", ["owner"])  # type: ignore[attr-defined]
            assert [tuple(row) for row in found] == [
                ("g-1", "active", "ana"),
                ("g-2", "achieved", "ana"),
            ]
            uow.rollback()

    def test_only_query_columns_may_be_asked_for(self, store: Store) -> None:
        _offered(store)
        with store.unit_of_work() as uow:
            events = uow.events
            assert isinstance(events, ColumnFinds)
            for column, columns in (
                ("owner", ["hash"]),
                ("owner", ["owner; DROP TABLE streams"]),
                ("owner", "owner"),
                ("nowhere", ["owner"]),
            ):
                with pytest.raises(ValidationError):
                    events.find_columns("Goal", column, "ana", columns)
