"""Repositories keep objects: whole, exactly, never silently overwritten."""

from __future__ import annotations

import itertools
from typing import TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.errors import ConcurrencyError, LineageConflict, NotFound
from perfcore.ports import Store
from perfcore.testing import strategies
from perfcore.testing.conformance._support import (
    DRIVERS,
    every_state,
    repository,
    seed,
    stored,
    write_and_commit,
)
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["ObjectsContract"]

A = TypeVar("A", bound=Aggregate)

HR = Actor(id="hana", roles={"hr"})

#: Drawn objects per test: each is a whole history built by real commands.
DRAWN = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _renamed(obj: A, id: str) -> A:
    """``obj`` under another id (its history replayed under it), so that every drawn object
    goes into the one store of a test under an id of its own, however often ids repeat."""
    events = [attrs.evolve(event, aggregate_id=id) for event in obj.history]
    created = dict(events[0].payload.get("set", {}))
    if "lineage_id" in created:
        # A number is taken once in a lineage: the copy starts a lineage of its own.
        created["lineage_id"] = id
        events[0] = attrs.evolve(events[0], payload={**events[0].payload, "set": created})
    return type(obj).replay(events)


class ObjectsContract(StoreFixture):
    """Objects come back exactly as stored (every type in every state, and drawn objects with
    any text, numbers and histories); a missing one is not found; ids are never overwritten; a
    save must name the version it replaces.

    .. versionadded:: 0.1.0
    """

    @pytest.mark.parametrize(("name", "state"), every_state())
    def test_every_aggregate_in_every_state_round_trips(
        self, store: Store, name: str, state: str
    ) -> None:
        obj = DRIVERS[name].reach(state, id=f"{name}-{state}")
        with store.unit_of_work() as uow:
            repository(uow, name).add(obj)
            uow.commit()
        with store.unit_of_work() as uow:
            loaded = repository(uow, name).get(obj.id)
        assert loaded == obj
        assert type(loaded).replay(loaded.history) == loaded

    def test_any_aggregate_with_any_content_round_trips(self, store: Store) -> None:
        numbers = itertools.count()

        @DRAWN
        @given(strategies.aggregates())
        def round_trip(drawn: Aggregate) -> None:
            obj = _renamed(drawn, f"drawn-{next(numbers)}")
            name = type(obj).lifecycle.name
            with store.unit_of_work() as uow:
                repository(uow, name).add(obj)
                uow.commit()
            with store.unit_of_work() as uow:
                assert repository(uow, name).get(obj.id) == obj

        round_trip()

    @pytest.mark.parametrize("name", sorted(DRIVERS))
    def test_a_missing_object_is_not_found(self, store: Store, name: str) -> None:
        with store.unit_of_work() as uow:
            assert repository(uow, name).find("nobody") is None
            with pytest.raises(NotFound) as raised:
                repository(uow, name).get("nobody")
        assert (raised.value.aggregate_type, raised.value.aggregate_id) == (name, "nobody")

    @pytest.mark.parametrize("name", sorted(DRIVERS))
    def test_add_refuses_an_id_that_is_stored(self, store: Store, name: str) -> None:
        first = DRIVERS[name].create("same")
        second = DRIVERS[name].reach(DRIVERS[name].lifecycle.states[1], id="same")
        with store.unit_of_work() as uow:
            repository(uow, name).add(first)
            uow.commit()
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            write_and_commit(uow, lambda: repository(uow, name).add(second))
        assert stored(store, first) == first

    def test_add_refuses_an_id_added_in_the_same_unit_of_work(self, store: Store) -> None:
        goal = DRIVERS["Goal"].create("g-1")
        with store.unit_of_work() as uow:
            uow.goals.add(goal)
            with pytest.raises(ConcurrencyError):
                uow.goals.add(goal)

    def test_a_number_is_drafted_once_in_a_lineage(self, store: Store) -> None:
        published = DRIVERS["JobDescription"].reach("published", id="jd-1")
        at = published.history[-1].at
        first, second = (published.new_version(id=id, by=HR, at=at) for id in ("jd-a", "jd-b"))
        seed(store, published)
        with store.unit_of_work() as uow:
            uow.job_descriptions.add(first)
            with pytest.raises(LineageConflict) as refused:
                write_and_commit(uow, lambda: uow.job_descriptions.add(second))
        assert (refused.value.lineage_id, refused.value.number) == ("jd-1", 2)
        with store.unit_of_work() as uow:
            assert [jd.id for jd in uow.job_descriptions.by_lineage("jd-1")] == ["jd-1"]

    def test_racing_new_versions_cannot_both_be_the_next_number(self, store: Store) -> None:
        published = DRIVERS["JobDescription"].reach("published", id="jd-1")
        at = published.history[-1].at
        first, second = (published.new_version(id=id, by=HR, at=at) for id in ("jd-a", "jd-b"))
        seed(store, published)
        # The loser opened its unit of work before the winner committed; it may be refused
        # when it adds, or when it commits.
        with store.unit_of_work() as winner, store.unit_of_work() as loser:
            winner.job_descriptions.add(first)
            winner.commit()
            with pytest.raises(LineageConflict):
                write_and_commit(loser, lambda: loser.job_descriptions.add(second))
        with store.unit_of_work() as uow:
            lineage = uow.job_descriptions.by_lineage("jd-1")
        assert [(jd.id, jd.number) for jd in lineage] == [("jd-1", 1), ("jd-a", 2)]

    def test_save_of_an_object_never_added_is_not_found(self, store: Store) -> None:
        goal = DRIVERS["Goal"].reach("proposed", id="g-1")
        with store.unit_of_work() as uow, pytest.raises(NotFound):
            uow.goals.save(goal, expected_version=1)

    def test_save_replaces_the_whole_record(self, store: Store) -> None:
        driver = DRIVERS["Goal"]
        draft = driver.create("g-1")
        active = driver.reach("active", id="g-1")
        with store.unit_of_work() as uow:
            uow.goals.add(draft)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.goals.save(active, expected_version=draft.version)
            uow.commit()
        assert stored(store, draft) == active

    def test_save_from_another_version_is_refused_and_writes_nothing(self, store: Store) -> None:
        driver = DRIVERS["Goal"]
        proposed = driver.reach("proposed", id="g-1")
        active = driver.fire(proposed, "approve")
        with store.unit_of_work() as uow:
            uow.goals.add(proposed)
            uow.commit()
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError) as raised:
            write_and_commit(
                uow, lambda: uow.goals.save(active, expected_version=proposed.version - 1)
            )
        assert raised.value.actual_version == proposed.version
        assert stored(store, proposed) == proposed

    def test_save_of_an_object_that_is_not_later_is_refused(self, store: Store) -> None:
        proposed = DRIVERS["Goal"].reach("proposed", id="g-1")
        with store.unit_of_work() as uow:
            uow.goals.add(proposed)
            uow.commit()
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            write_and_commit(
                uow, lambda: uow.goals.save(proposed, expected_version=proposed.version)
            )
