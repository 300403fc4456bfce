"""The table commands dispatch through agrees with the ``transitions`` Machine it is compiled from.

Each lifecycle is defined by its one Machine; :meth:`Lifecycle.fire` runs a table compiled from
that Machine when the type is built. These tests prove the two agree on every (state, trigger)
and on every outcome of every guard: for each lifecycle, a copy of its table whose guards are
switches, fired both ways with every combination of switches; and the real guards, on real
objects, fired both ways along every driver path.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from perfcore import Actor, GuardFailed, lifecycle_of
from perfcore.lifecycle import Command, Guard, Lifecycle, Step
from perfcore.policy import Policy
from perfcore.rules import anyone
from perfcore.testing.drivers import drivers

DRIVERS = drivers()
NAMES = sorted(DRIVERS)
AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


def _outcome(lifecycle: Lifecycle, obj: Any, command: Command, fire: str) -> tuple[Any, ...]:
    try:
        return ("dest", getattr(lifecycle, fire)(obj, command))
    except GuardFailed as refused:
        return ("refused", refused.rule, refused.why, refused.state, refused.trigger)


@pytest.mark.parametrize("name", NAMES)
def test_the_compiled_table_holds_every_row_of_the_machine_in_its_order(name: str) -> None:
    lifecycle = lifecycle_of(name)
    expected: dict[tuple[str, str], list[tuple[str, tuple[Guard, ...]]]] = {}
    for step in lifecycle.steps:
        for source in step.sources:
            expected.setdefault((source, step.trigger), []).append((step.dest, step.guards))
    compiled = lifecycle.compiled()
    assert set(compiled) == set(expected)
    for key, rows in compiled.items():
        assert [(dest, tuple(g.name for g in guards)) for dest, guards in rows] == [
            (dest, tuple(g.name for g in guards)) for dest, guards in expected[key]
        ], key
        assert all(
            got is want
            for (_d, guards), (_e, wanted) in zip(rows, expected[key], strict=True)
            for got, want in zip(guards, wanted, strict=True)
        )
    machine = lifecycle._machine
    for (source, trigger), rows in compiled.items():
        transitions = machine.events[trigger].transitions[source]
        assert [t.dest for t in transitions] == [dest for dest, _guards in rows]
    allowed = {(s, t) for s in lifecycle.states for t in lifecycle.triggers_from(s)}
    assert allowed == set(compiled)


class _Subject:
    """The object a switched table fires on: only what ``fire`` reads."""

    id = "x-1"

    def __init__(self, state: str) -> None:
        self.state = state


def _switched(lifecycle: Lifecycle) -> tuple[Lifecycle, list[tuple[int, int]]]:
    """A copy of ``lifecycle`` whose guards hold or fail as ``command.args["holds"]`` says,
    each named by its place in the table."""
    places: list[tuple[int, int]] = []

    def switch(place: tuple[int, int], name: str) -> Guard:
        def check(_obj: Any, command: Command) -> str | None:
            return None if command.args["holds"][place] else f"{name} at {place} does not hold"

        return Guard(f"{name}@{place}", check)

    steps = []
    for row, step in enumerate(lifecycle.steps):
        guards = []
        for column, guard in enumerate(step.guards):
            places.append((row, column))
            guards.append(switch((row, column), guard.name))
        steps.append(
            Step(
                trigger=step.trigger,
                sources=step.sources,
                dest=step.dest,
                who=anyone,
                guards=guards,
            )
        )
    copy = Lifecycle(
        name=lifecycle.name,
        states=lifecycle.states,
        initial=lifecycle.initial,
        steps=steps,
        create_rule=anyone,
    )
    return copy, places


def _switch_settings(
    lifecycle: Lifecycle, places: list[tuple[int, int]], source: str, trigger: str
) -> Iterator[dict[tuple[int, int], bool]]:
    """Every combination of outcomes of the guards that bear on (source, trigger)."""
    bearing = [
        (row, column)
        for row, column in places
        if lifecycle.steps[row].trigger == trigger and source in lifecycle.steps[row].sources
    ]
    for values in itertools.product((True, False), repeat=len(bearing)):
        yield dict.fromkeys(places, True) | dict(zip(bearing, values, strict=True))


@pytest.mark.parametrize("name", NAMES)
def test_the_table_and_the_machine_agree_on_every_state_trigger_and_guard_outcome(
    name: str,
) -> None:
    switched, places = _switched(lifecycle_of(name))
    actor = Actor(id="ana")
    tried = 0
    for state in switched.states:
        for trigger in switched.triggers_from(state):
            for holds in _switch_settings(switched, places, state, trigger):
                command = Command(
                    trigger=trigger,
                    actor=actor,
                    at=AT,
                    reason="",
                    args={"holds": holds},
                    policy=Policy(),
                )
                subject = _Subject(state)
                assert _outcome(switched, subject, command, "fire") == _outcome(
                    switched, subject, command, "fire_machine"
                ), (state, trigger, holds)
                tried += 1
    assert tried >= len(switched.transitions)


@pytest.mark.parametrize("name", NAMES)
def test_real_commands_take_the_same_way_through_the_table_and_the_machine(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every trigger the driver fires from every state, with the real guards, both ways."""
    driver = DRIVERS[name]
    lifecycle = driver.lifecycle
    compared: list[tuple[str, str]] = []
    compiled_fire = Lifecycle.fire

    def both(self: Lifecycle, obj: Any, command: Command) -> str:
        table = _outcome_of(compiled_fire, self, obj, command)
        machine = _outcome_of(Lifecycle.fire_machine, self, obj, command)
        assert table[1:] == machine[1:], (str(obj.state), command.trigger)
        compared.append((str(obj.state), command.trigger))
        if isinstance(table[0], GuardFailed):
            raise table[0]
        return str(table[1])

    monkeypatch.setattr(Lifecycle, "fire", both)
    for state in lifecycle.states:
        obj = driver.reach(state)
        for _trigger, source, dest in lifecycle.transitions:
            if source == state:
                driver.fire(obj, _trigger, dest)
    assert {(source, trigger) for trigger, source, _dest in lifecycle.transitions} <= set(compared)


def _outcome_of(fire: Any, lifecycle: Lifecycle, obj: Any, command: Command) -> tuple[Any, ...]:
    try:
        return (None, fire(lifecycle, obj, command))
    except GuardFailed as refused:
        return (refused, "refused", refused.rule, refused.why)


def test_a_refusal_from_several_rows_reads_the_same_both_ways() -> None:
    guards = [Guard("latch", lambda _o, _c: "the latch is down"), Guard("key", lambda _o, _c: None)]
    lifecycle = Lifecycle(
        name="Door",
        states=["shut", "open", "locked"],
        initial="shut",
        create_rule=anyone,
        steps=[
            Step(trigger="push", sources=["shut"], dest="open", who=anyone, guards=guards),
            Step(
                trigger="push",
                sources=["shut"],
                dest="locked",
                who=anyone,
                guards=[Guard("bolt", lambda _o, _c: "no bolt")],
            ),
        ],
    )
    command = Command(
        trigger="push", actor=Actor(id="ana"), at=AT, reason="", args={}, policy=Policy()
    )
    subject = _Subject("shut")
    table = _outcome(lifecycle, subject, command, "fire")
    assert table == _outcome(lifecycle, subject, command, "fire_machine")
    assert table[1:3] == ("latch", "the latch is down; or no bolt")
