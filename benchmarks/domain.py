"""Figure 1: one ``Goal.check_in`` in memory, by the length of the goal's history.

Two baselines do the same change on the same frozen attrs objects, with the same guard (the
check-in is not dated after the command) but no permission check and no event:

- **the floor**: a dict transition table ``{(state, trigger): dest}`` and ``attrs.evolve``
  appending the same kind of :class:`CheckIn` (``evolve`` runs every validator again);
- **transitions used well**: ONE class-level ``Machine(model=None, ...)`` built at import, its
  ``check_in`` event fired on a tiny slotted carrier, then the same ``attrs.evolve``.

All in memory, so timed in this process's CPU time (see :data:`benchmarks.harness.CPU`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import attrs
from transitions import EventData, Machine

from perfcore import Goal, lifecycle_of
from perfcore.goal import CheckIn

from .harness import (
    CPU,
    MANAGER,
    OWNER,
    START,
    Row,
    SteppingClock,
    check_in_args,
    interleaved,
    per_call,
)

HISTORIES = (10, 5_000)
AT = dt.datetime(2027, 1, 4, 9, tzinfo=dt.UTC)
LIFECYCLE = lifecycle_of(Goal)
TABLE = {(source, trigger): dest for trigger, source, dest in LIFECYCLE.transitions}


def _not_in_future(event: EventData) -> bool:
    return bool(event.kwargs["entry"].on <= event.kwargs["at"].date())


MACHINE = Machine(
    model=None,
    states=list(LIFECYCLE.states),
    transitions=[
        {
            "trigger": trigger,
            "source": source,
            "dest": dest,
            "conditions": [_not_in_future] if trigger == "check_in" else [],
        }
        for trigger, source, dest in LIFECYCLE.transitions
    ],
    initial=None,
    auto_transitions=False,
    send_event=True,
)


class _Carrier:
    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def active_goal(events: int) -> Goal:
    """An active goal with ``events`` events (created, proposed, approved, check-ins)."""
    clock = SteppingClock()
    goal = Goal.create(
        id="g-1",
        by=OWNER,
        at=clock.now(),
        owner_id=OWNER.id,
        manager_id=MANAGER.id,
        title="Resolve more tickets",
        metric="tickets a week",
        baseline=0,
        target=10,
        start=START,
        due=START + dt.timedelta(days=180),
    )
    goal = goal.propose(by=OWNER, at=clock.now()).approve(by=MANAGER, at=clock.now())
    for number in range(events - goal.version):
        goal = goal.check_in(by=OWNER, at=clock.now(), **check_in_args(number))
    return goal


def _perfcore(goal: Goal, args: dict[str, Any]) -> Goal:
    return goal.check_in(by=OWNER, at=AT, **args)


def _floor(goal: Goal, args: dict[str, Any]) -> Goal:
    dest = TABLE[(str(goal.state), "check_in")]  # KeyError: not allowed from this state
    entry = CheckIn(by=OWNER.id, **args)
    if entry.on > AT.date():
        raise ValueError("a check-in cannot be dated after the day it is recorded")
    # The check-ins' own ``+`` (it shares the items already there; ``(*x, entry)`` would copy).
    check_ins = goal.check_ins + (entry,)  # noqa: RUF005
    return attrs.evolve(goal, state=dest, check_ins=check_ins, version=goal.version + 1)


def _machine(goal: Goal, args: dict[str, Any]) -> Goal:
    entry = CheckIn(by=OWNER.id, **args)
    carrier = _Carrier(str(goal.state))
    if not MACHINE.events["check_in"].trigger(carrier, entry=entry, at=AT):
        raise ValueError("a check-in cannot be dated after the day it is recorded")
    check_ins = goal.check_ins + (entry,)  # noqa: RUF005 (as the floor)
    return attrs.evolve(goal, state=carrier.state, check_ins=check_ins, version=goal.version + 1)


VARIANTS = {
    "perfcore Goal.check_in": _perfcore,
    "floor: dict table + attrs.evolve": _floor,
    "transitions: one Machine + attrs.evolve": _machine,
}


def run(quick: bool, directory: Path) -> list[Row]:
    count, repeats = (300, 5) if quick else (1_000, 11)
    args = check_in_args(7)
    cases = {}
    for history in HISTORIES:
        goal = active_goal(history)
        assert goal.version == history
        for name, command in VARIANTS.items():
            assert command(goal, args).check_ins[-1] == CheckIn(by=OWNER.id, **args)
            cases[(name, history)] = per_call(lambda c=command, g=goal: c(g, args), count, CPU)
    timed = interleaved({f"{n} @{h}": case for (n, h), case in cases.items()}, repeats)
    stats = {key: timed[f"{key[0]} @{key[1]}"].scaled(1e6) for key in cases}
    rows = []
    short, long = HISTORIES
    ours = "perfcore Goal.check_in"
    for history in HISTORIES:
        for name in VARIANTS:
            versus: dict[str, Any] = {}
            if name != ours:
                versus = {
                    "baseline": f"{ours}, {history:,} events",
                    "ratio": stats[(ours, history)].over(stats[(name, history)]),
                    "ratio_means": "perfcore's time / this",
                }
            name_at = f"{name}, {history:,} events"
            rows.append(Row(1, name_at, "µs/cmd CPU", stats[(name, history)], **versus))
    for name in VARIANTS:
        flat = stats[(name, long)].over(stats[(name, short)])
        is_ours = name == ours
        rows.append(
            Row(
                1,
                f"{name}: {long:,} vs {short:,} events",
                "ratio",
                None,
                baseline=f"{name}, {short:,} events",
                ratio=flat,
                ratio_means=f"time at {long:,} / time at {short:,}",
                goal="flat: near 1 (<= 1.3x)" if is_ours else "",
                met=(flat.median <= 1.3) if is_ours else None,
            )
        )
    return rows
