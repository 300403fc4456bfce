"""The store against a model: random units of work append random batches to a few streams, from
right and wrong versions, commit, roll back, fail, race and erase; after every step the store must
hold what a few dicts say it should."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import ClassVar

import attrs
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from perfcore.errors import ConcurrencyError
from perfcore.ports import RecordedEvent, Store, StreamHead, erased_body
from perfcore.testing.conformance._support import (
    Batch,
    assert_events,
    assert_head,
    assert_heads,
    batch_from,
    commit,
    write_and_commit,
)
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["ModelContract"]

#: The streams a run writes to (two differ only in case), as (kind, name).
STREAMS = (("Goal", "a"), ("Goal", "b"), ("Goal", "A"), ("Plan", "a"))
STATES = ("draft", "active", "closed")
OWNERS = ("ana", "bo", None)

_write = st.tuples(
    st.integers(0, len(STREAMS) - 1),  # which stream
    st.integers(1, 4),  # how many events
    st.sampled_from([0, 0, 0, 0, -1, 1, 3]),  # how far the expected version is off
    st.sampled_from(STATES),
    st.sampled_from(OWNERS),
)


class _Abandoned(Exception):
    """Raised in a unit of work to leave it by an exception."""


@attrs.define
class _Stream:
    """A stream of the model: its events (as appended, bodies erased where erased) and head."""

    events: list[RecordedEvent] = attrs.field(factory=list)
    head: StreamHead | None = None

    @property
    def version(self) -> int:
        return 0 if self.head is None else self.head.version

    @property
    def hash(self) -> bytes:
        return b"" if self.head is None else self.head.hash


class StoreMachine(RuleBasedStateMachine):
    """The store under test against a model. Every run files its streams under ids of its own,
    so runs share one store."""

    store: ClassVar[Store]
    runs: ClassVar[Iterator[int]] = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        self.prefix = f"run-{next(self.runs)}-"
        self.model = {stream: _Stream() for stream in STREAMS}
        self.commits: list[list[tuple[str, str, int]]] = []
        self.tags = itertools.count()
        with self.store.unit_of_work() as uow:
            # Every later commit takes a position above it (GlobalOrderContract).
            self.start = uow.events.stable_position()

    def _id(self, stream: tuple[str, str]) -> str:
        return self.prefix + stream[1]

    def _next(
        self,
        stream: tuple[str, str],
        at: tuple[int, bytes],
        count: int,
        state: str,
        owner: str | None,
    ) -> Batch:
        """A batch for ``stream`` from version and hash ``at``."""
        version, previous_hash = at
        return batch_from(
            stream[0],
            self._id(stream),
            version,
            count,
            state,
            {} if owner is None else {"owner": owner},
            tag=f"{self.prefix}{next(self.tags)}",
            previous_hash=previous_hash,
        )

    def _at(self, stream: tuple[str, str]) -> tuple[int, bytes]:
        part = self.model[stream]
        return (part.version, part.hash)

    def _apply(self, batches: list[Batch]) -> None:
        names: list[tuple[str, str, int]] = []
        for one in batches:
            part = self.model[(one.head.kind, one.head.id.removeprefix(self.prefix))]
            part.events += one.events
            part.head = one.head
            names += [(e.kind, e.id, e.version) for e in one.events]
        self.commits.append(names)

    @rule(
        writes=st.lists(_write, min_size=1, max_size=4),
        end=st.sampled_from(["commit", "commit", "commit", "rollback", "exception"]),
    )
    def unit_of_work(self, writes: list[tuple[int, int, int, str, str | None]], end: str) -> None:
        at = {stream: self._at(stream) for stream in STREAMS}
        done: list[Batch] = []
        doomed = False
        try:
            with self.store.unit_of_work() as uow:
                for which, count, off, state, owner in writes:
                    stream = STREAMS[which]
                    if off == 0 or at[stream][0] + off < 0:
                        one = self._next(stream, at[stream], count, state, owner)
                        one.append_to(uow)
                        at[stream] = (one.head.version, one.head.hash)
                        done.append(one)
                        continue
                    wrong = (at[stream][0] + off, b"")
                    one = self._next(stream, wrong, count, state, owner)
                    try:
                        one.append_to(uow)
                    except ConcurrencyError:
                        return  # refused at once: the unit of work is left, rolled back
                    doomed = True  # the store may refuse it at commit instead
                    break
                if end == "exception":
                    raise _Abandoned
                if end == "rollback":
                    uow.rollback()
                    return
                if doomed:
                    with pytest.raises(ConcurrencyError):
                        uow.commit()
                    return
                uow.commit()
        except _Abandoned:
            return
        self._apply(done)

    @rule(
        first=st.integers(0, len(STREAMS) - 1),
        second=st.integers(0, len(STREAMS) - 1),
        count=st.integers(1, 3),
    )
    def race(self, first: int, second: int, count: int) -> None:
        """A unit of work loads stream ``first``; another commits to ``second``; the first then
        appends from the version it loaded: refused exactly when the two are one stream."""
        stale_stream, other = STREAMS[first], STREAMS[second]
        with self.store.unit_of_work() as late:
            head = late.events.head(stale_stream[0], self._id(stale_stream))
            loaded = 0 if head is None else head.version
            assert loaded == self.model[stale_stream].version
            stale = self._next(stale_stream, self._at(stale_stream), 1, "closed", "bo")
            early = self._next(other, self._at(other), count, "active", "ana")
            commit(self.store, early)
            self._apply([early])
            if stale_stream == other:
                with pytest.raises(ConcurrencyError):
                    write_and_commit(late, lambda: stale.append_to(late))
                return
            stale.append_to(late)
            late.commit()
        self._apply([stale])

    @rule(which=st.integers(0, len(STREAMS) - 1))
    def erase(self, which: int) -> None:
        stream = STREAMS[which]
        with self.store.unit_of_work() as uow:
            changed = uow.events.erase(stream[0], self._id(stream))
            uow.commit()
        part = self.model[stream]
        assert changed == sum(not event.erased for event in part.events)
        part.events = [attrs.evolve(e, body=erased_body(e.body)) for e in part.events]

    @invariant()
    def the_store_holds_the_model(self) -> None:
        with self.store.unit_of_work() as uow:
            for stream, part in self.model.items():
                kind, id = stream[0], self._id(stream)
                assert_events(list(uow.events.read(kind, id)), part.events)
                found = uow.events.head(kind, id)
                if part.head is None:
                    assert found is None, f"{kind} {id!r} has a head, and no events"
                else:
                    assert_head(found, part.head)
            for kind in ("Goal", "Plan"):
                for owner in OWNERS[:-1]:
                    expected = sorted(
                        (
                            part.head
                            for (k, _), part in self.model.items()
                            if k == kind
                            and part.head is not None
                            and part.head.columns.get("owner") == owner
                        ),
                        key=lambda head: head.id,
                    )
                    found_heads = [
                        head
                        for head in uow.events.find(kind, "owner", owner)
                        if head.id.startswith(self.prefix)
                    ]
                    assert_heads(found_heads, expected, f"find({kind}, owner, {owner!r})")
            scanned = list(uow.events.scan(after=self.start, limit=100_000))
        self._check_order(scanned)

    def _check_order(self, scanned: list[RecordedEvent]) -> None:
        positions = [event.position for event in scanned]
        assert positions == sorted(set(positions)), f"positions repeat or go back: {positions}"
        commit_of = {name: number for number, names in enumerate(self.commits) for name in names}
        names = [(event.kind, event.id, event.version) for event in scanned]
        assert sorted(names) == sorted(commit_of), "scan gave other events than were committed"
        order = [commit_of[name] for name in names]
        assert order == sorted(order), "scan mixed the events of two commits"


class ModelContract(StoreFixture):
    """Random units of work leave the store as a model says they should.

    .. versionadded:: 0.1.0
    """

    def test_random_units_of_work_agree_with_a_model(self, store: Store) -> None:
        machine = type(
            f"{type(self).__name__}Machine",
            (StoreMachine,),
            {"store": store, "runs": itertools.count()},
        )
        run_state_machine_as_test(machine, settings=self.hypothesis_settings())
