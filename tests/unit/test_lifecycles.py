"""Every lifecycle against its own table: the transition oracle, reachability, replay, diagrams."""

from __future__ import annotations

from collections import deque
from typing import Any

import attrs
import pytest

from perfcore import Actor, TransitionNotAllowed, lifecycle_of
from perfcore.lifecycle import Lifecycle
from perfcore.testing.drivers import Driver, drivers

DRIVERS = drivers()
NAMES = sorted(DRIVERS)


def _pairs() -> list[tuple[str, str, str]]:
    return [
        (name, state, trigger)
        for name in NAMES
        for state in DRIVERS[name].lifecycle.states
        for trigger in DRIVERS[name].lifecycle.triggers
    ]


def _reachable(lifecycle: Lifecycle, start: str) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for _trigger, source, dest in lifecycle.transitions:
            if source == here and dest not in seen:
                seen.add(dest)
                queue.append(dest)
    return seen


@pytest.mark.parametrize(("name", "state", "trigger"), _pairs())
def test_every_state_and_trigger_matches_the_table(name: str, state: str, trigger: str) -> None:
    driver: Driver[Any] = DRIVERS[name]
    lifecycle = driver.lifecycle
    obj = driver.reach(state)
    dests = {d for t, s, d in lifecycle.transitions if (t, s) == (trigger, state)}
    if dests:
        for dest in sorted(dests):
            after = driver.fire(obj, trigger, dest)
            assert str(after.state) == dest
            assert after.history[-1].trigger == trigger
            assert after.history[-1].from_state in {state, dest}
    else:
        before = attrs.evolve(obj)
        with pytest.raises(TransitionNotAllowed) as raised:
            driver.fire(obj, trigger)
        assert raised.value.state == state
        assert raised.value.trigger == trigger
        assert raised.value.allowed == lifecycle.triggers_from(state)
        assert obj == before


@pytest.mark.parametrize("name", NAMES)
def test_every_state_is_reachable_and_can_end(name: str) -> None:
    lifecycle = lifecycle_of(name)
    assert _reachable(lifecycle, lifecycle.initial) == set(lifecycle.states)
    assert lifecycle.terminal_states
    for state in lifecycle.states:
        assert _reachable(lifecycle, state) & set(lifecycle.terminal_states), state


@pytest.mark.parametrize("name", NAMES)
def test_reaching_each_state_replays_to_the_same_object(name: str) -> None:
    driver = DRIVERS[name]
    for state in driver.lifecycle.states:
        obj = driver.reach(state)
        assert type(obj).replay(obj.history) == obj
        assert [event.version for event in obj.history] == list(range(1, obj.version + 1))
        path = [event.to_state for event in obj.history]
        assert path[-1] == state


@pytest.mark.parametrize("name", NAMES)
def test_allowed_triggers_are_what_the_table_and_policy_allow(name: str) -> None:
    driver = DRIVERS[name]
    stranger = Actor(id="stranger-with-no-relation", roles={"employee"})
    for state in driver.lifecycle.states:
        obj = driver.reach(state)
        assert obj.allowed_triggers(stranger) == ()  # deny by default
        assert set(obj.allowed_triggers(Actor(id="x", roles={"hr"}))) <= set(
            driver.lifecycle.triggers_from(state)
        )
