"""Random walks through every lifecycle: whatever is tried, the table and the history hold."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfcore import PerfcoreError
from perfcore.testing.drivers import Driver, drivers

DRIVERS = drivers()


@pytest.mark.parametrize("name", sorted(DRIVERS))
@given(data=st.data())
def test_random_walks_keep_to_the_table(name: str, data: st.DataObject) -> None:
    driver: Driver[Any] = DRIVERS[name]
    lifecycle = driver.lifecycle
    table = set(lifecycle.transitions)
    obj = driver.create()
    triggers = st.sampled_from(lifecycle.triggers)
    for trigger in data.draw(st.lists(triggers, max_size=12), label="triggers"):
        dests = sorted({d for t, s, d in table if (t, s) == (trigger, str(obj.state))})
        dest = data.draw(st.sampled_from(dests), label="dest") if dests else None
        before = attrs.evolve(obj)
        try:
            after = driver.fire(obj, trigger, dest)
        except PerfcoreError:
            assert obj == before  # a refused command changes nothing
            continue
        new = after.history[obj.version :]
        assert [event.version for event in new] == list(range(obj.version + 1, after.version + 1))
        assert new[-1].trigger == trigger
        for event in new:
            assert (event.trigger, event.from_state, event.to_state) in table
        assert str(after.state) in lifecycle.states
        obj = after
    assert type(obj).replay(obj.history) == obj
