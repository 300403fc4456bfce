"""The memory store checks lineage numbers again at commit (the shared contract checks the rest)."""

from __future__ import annotations

import pytest

from perfcore import Actor, JobDescription, LineageConflict
from perfcore.adapters.memory import MemoryStore
from perfcore.testing.drivers import driver_for

HR = Actor(id="hana", roles={"hr"})


def test_two_units_of_work_that_both_added_number_two_cannot_both_commit() -> None:
    """Both added number 2 before either committed: the one that commits second loses."""
    store = MemoryStore()
    published: JobDescription = driver_for(JobDescription).reach("published")
    with store.unit_of_work() as uow:
        uow.job_descriptions.add(published)
        uow.commit()
    at = published.history[-1].at
    first, second = store.unit_of_work(), store.unit_of_work()
    with first, second:
        first.job_descriptions.add(published.new_version(id="jd-a", by=HR, at=at))
        second.job_descriptions.add(published.new_version(id="jd-b", by=HR, at=at))
        first.commit()
        with pytest.raises(LineageConflict):
            second.commit()
