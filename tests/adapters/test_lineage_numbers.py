"""A job description's number is drafted once in its lineage, in every shipped store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from perfcore import Actor, JobDescription, LineageConflict
from perfcore.adapters.memory import MemoryStore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.ports import Store
from perfcore.testing.drivers import driver_for

HR = Actor(id="hana", roles={"hr"})


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "db")
    yield made
    made.close()


def _published(store: Store) -> JobDescription:
    published: JobDescription = driver_for(JobDescription).reach("published")
    with store.unit_of_work() as uow:
        uow.job_descriptions.add(published)
        uow.commit()
    return published


def test_two_racing_new_versions_cannot_both_be_the_next_number(store: Store) -> None:
    published = _published(store)
    at = published.history[-1].at
    first = published.new_version(id="jd-first", by=HR, at=at)
    second = published.new_version(id="jd-second", by=HR, at=at)
    # The loser opened its unit of work before the winner committed.
    winner, loser = store.unit_of_work(), store.unit_of_work()
    with winner, loser:
        winner.job_descriptions.add(first)
        winner.commit()
        with pytest.raises(LineageConflict) as refused:
            loser.job_descriptions.add(second)
        loser.rollback()
    assert (refused.value.lineage_id, refused.value.number) == (published.lineage_id, 2)
    with store.unit_of_work() as uow:
        lineage = uow.job_descriptions.by_lineage(published.lineage_id)
    assert [(jd.id, jd.number) for jd in lineage] == [(published.id, 1), ("jd-first", 2)]


def test_one_unit_of_work_cannot_add_a_number_twice(store: Store) -> None:
    published = _published(store)
    at = published.history[-1].at
    with store.unit_of_work() as uow:
        uow.job_descriptions.add(published.new_version(id="jd-a", by=HR, at=at))
        with pytest.raises(LineageConflict):
            uow.job_descriptions.add(published.new_version(id="jd-b", by=HR, at=at))


def test_a_memory_store_checks_numbers_again_at_commit() -> None:
    """Two units of work that each added number 2 before either committed: the second to commit
    loses, since the memory store checks at commit as well as at add."""
    store = MemoryStore()
    published = _published(store)
    at = published.history[-1].at
    first, second = store.unit_of_work(), store.unit_of_work()
    with first, second:
        first.job_descriptions.add(published.new_version(id="jd-a", by=HR, at=at))
        second.job_descriptions.add(published.new_version(id="jd-b", by=HR, at=at))
        first.commit()
        with pytest.raises(LineageConflict):
            second.commit()
