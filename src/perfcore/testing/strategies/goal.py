"""Strategies for goals: metric values, check-ins, and goals in any state of their lifecycle.

A drawn goal is measurable (a title, a metric, a target in its direction from the baseline) and
dated (due after it starts), so that it can be proposed; its owner, manager, numbers and dates
vary, and so does its history (edits, requests for changes, check-ins on the way).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from perfcore.actor import Actor
from perfcore.goal import CheckIn, Direction, Goal, GoalState, Horizon
from perfcore.testing.strategies._common import (
    Ranges,
    aware_datetimes,
    choice,
    dates,
    day_start,
    decimals,
    distinct_people,
    employee,
    hr,
    ids,
    in_force,
    integers,
    manager,
    optional_text,
    outsider,
    people,
    reasons,
    texts,
)
from perfcore.testing.strategies._engine import (
    Arguments,
    Kit,
    checked_states,
    fire,
    reached,
    register,
)

__all__ = ["check_ins", "goals", "metric_values"]

TITLES = ("Resolve more tickets", "Faster first replies", "Fewer escalations", "Ship billing")
METRICS = ("tickets resolved a week", "median first reply", "escalations a month")
UNITS = ("tickets", "hours", "escalations")
NOTES = ("from the ticket system", "estimated", "after the holidays")


def metric_values() -> st.SearchStrategy[Decimal]:
    """Values of a goal's metric (baselines, targets, check-ins): -1000 to 1000, to the cent.

    .. versionadded:: 0.1.0
    """
    return decimals(-1000, 1000, places=2)


def check_ins() -> st.SearchStrategy[CheckIn]:
    """Check-ins: a day, a metric value, who noted it and, sometimes, a note.

    .. versionadded:: 0.1.0
    """
    return st.builds(
        CheckIn, on=dates(), value=metric_values(), by=people(), note=optional_text(NOTES)
    )


def goals(
    states: Iterable[GoalState | str] | None = None,
    *,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[Goal]:
    """Goals in any state (or one of ``states``), built by real commands, so that
    ``Goal.replay(goal.history) == goal``.

    Args:
        states: the states to draw from; by default every state of the lifecycle.
        actors: the people goals are for: owners and managers are drawn from their ids (HR
            people too); by default perfcore's pool.
        ranges: how far dates and metric values range (see :class:`Ranges`).

    Raises:
        hypothesis.errors.InvalidArgument: a state the goal lifecycle does not have.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``actors`` and ``ranges``.
    """
    return reached(KIT, checked_states(KIT, states), actors=actors, ranges=ranges)


# -- content ------------------------------------------------------------------------------------

_METRIC_VALUES = metric_values()
_SPANS = decimals(Decimal("0.01"), 100)
_BEYOND = decimals(0, 50)
#: Each kind of day offset's own span, where no ranges say otherwise.
_DAYS_BACK, _DAYS_AHEAD, _START_SHIFT, _LENGTH = 14, 30, 30, 365
_WEIGHTS = decimals(0, 10)
_PARENTS = st.none() | ids("g")
_REASONS_OR_NONE = optional_text()
_TITLES = texts(TITLES)
_UNITS = optional_text(UNITS)
_NOTES = optional_text(NOTES)
_SAFETY = st.booleans()
_HORIZONS = st.sampled_from(Horizon)
_EDITS: dict[str, st.SearchStrategy[Any]] = {
    "description": _NOTES,
    "title": _TITLES,
    "unit": _UNITS,
    "weight": _WEIGHTS,
    "parent_goal_id": _PARENTS,
    "safety_critical": _SAFETY,
    "horizon": _HORIZONS,
}
#: Edits that leave a draft proposable; "numbers" and "dates" change fields together.
_EDIT_KINDS = (*_EDITS, "numbers", "dates")
_WILD_EDITS: tuple[Arguments, ...] = (
    {},  # no field: refused
    {"owner_id": "zed"},  # not editable: refused
    {"weight": Decimal(-1)},  # refused
    {"baseline": "lots"},  # not a number: refused
    {"title": ""},  # accepted in a draft; propose refuses it
)


_CENT = Decimal("0.01")


def _days(draw: st.DrawFn, low: int, default: int, label: str) -> int:
    """A day offset from ``low`` (or ``-span`` when ``low`` is negative) to the span in force."""
    span = in_force().ranges.day_span(default)
    return draw(integers(-span if low < 0 else min(low, span), span), label=label)


def _metric(draw: st.DrawFn, low: Decimal, high: Decimal, label: str) -> Decimal:
    return draw(decimals(low, high, places=2), label=label)


def _numbers(draw: st.DrawFn) -> Arguments:
    """A baseline, a target and a direction in which the target lies (a measurable goal),
    within the metric's range when ranges set one."""
    direction = choice(draw, tuple(Direction), label="direction")
    numbers = in_force().ranges.numbers
    if numbers is None:
        baseline = draw(_METRIC_VALUES, label="baseline")
        span = draw(_SPANS, label="span")
        target = baseline + span if direction is Direction.INCREASE else baseline - span
        return {"baseline": baseline, "target": target, "direction": direction}
    low, high = numbers
    if direction is Direction.INCREASE:
        baseline = _metric(draw, low, high - _CENT, "baseline")
        target = _metric(draw, baseline + _CENT, high, "target")
    else:
        baseline = _metric(draw, low + _CENT, high, "baseline")
        target = _metric(draw, low, baseline - _CENT, "target")
    return {"baseline": baseline, "target": target, "direction": direction}


def _dates(draw: st.DrawFn, around: dt.date) -> Arguments:
    """A start near ``around`` and a due date after it."""
    start = around + dt.timedelta(days=_days(draw, -1, _START_SHIFT, "start"))
    return {"start": start, "due": start + dt.timedelta(days=_days(draw, 1, _LENGTH, "days"))}


def _edit(draw: st.DrawFn, goal: Goal) -> Arguments:
    kind = choice(draw, _EDIT_KINDS, label="edit")
    if kind == "numbers":
        return _numbers(draw)
    if kind == "dates":
        return _dates(draw, goal.start)
    return {kind: draw(_EDITS[kind])}


def _wild_edit(draw: st.DrawFn, goal: Goal) -> Arguments:
    # Accepted in a draft, which propose then refuses: nothing to measure, or due on day one.
    refused_later = ({"target": goal.baseline}, {"due": goal.start})
    return choice(draw, (*_WILD_EDITS, *refused_later), label="wild edit")


def _meeting(draw: st.DrawFn, goal: Goal) -> Decimal:
    """A value that meets the target (in the goal's direction)."""
    numbers = in_force().ranges.numbers
    increase = goal.direction is Direction.INCREASE
    if numbers is not None:
        low, high = numbers
        if (increase and goal.target <= high) or (not increase and goal.target >= low):
            bounds = (goal.target, high) if increase else (low, goal.target)
            return _metric(draw, *bounds, "meeting the target")
    extra = draw(_BEYOND, label="beyond the target")
    return goal.target + extra if increase else goal.target - extra


def _short(draw: st.DrawFn, goal: Goal) -> Decimal:
    """A value that falls short of the target."""
    numbers = in_force().ranges.numbers
    increase = goal.direction is Direction.INCREASE
    if numbers is not None:
        low, high = numbers
        if (increase and goal.target - _CENT >= low) or (not increase and goal.target < high):
            bounds = (low, goal.target - _CENT) if increase else (goal.target + _CENT, high)
            return _metric(draw, *bounds, "short of the target")
    gap = draw(_SPANS, label="short of the target")
    return goal.target - gap if increase else goal.target + gap


def _value(draw: st.DrawFn, goal: Goal) -> Decimal:
    kind = choice(draw, ("any", "target", "meeting"), label="value")
    if kind == "target":
        return goal.target
    if kind == "meeting":
        return _meeting(draw, goal)
    numbers = in_force().ranges.numbers
    return draw(_METRIC_VALUES) if numbers is None else _metric(draw, *numbers, "value")


class GoalKit(Kit[Goal]):
    """Goals for two different people (an owner and their manager), with HR as ``hana``."""

    kind = Goal

    def create(self, draw: st.DrawFn) -> Goal:
        owner, manager_id = draw(distinct_people(2), label="owner and manager")
        creator = choice(draw, (employee(owner), manager(manager_id), hr()), label="created by")
        at = draw(aware_datetimes(), label="created at")
        return Goal.create(
            id=draw(ids("g"), label="id"),
            by=creator,
            at=at,
            owner_id=owner,
            manager_id=manager_id,
            title=draw(_TITLES, label="title"),
            metric=draw(texts(METRICS), label="metric"),
            unit=draw(_UNITS, label="unit"),
            description=draw(_NOTES, label="description"),
            weight=draw(_WEIGHTS, label="weight"),
            parent_goal_id=draw(_PARENTS, label="parent"),
            safety_critical=draw(_SAFETY, label="safety-critical"),
            horizon=draw(_HORIZONS, label="horizon"),
            **_numbers(draw),
            **_dates(draw, at.date()),
        )

    def cast(self, obj: Goal) -> tuple[Actor, ...]:
        stranger = outsider({obj.owner_id, obj.manager_id})
        return (employee(obj.owner_id), manager(obj.manager_id), hr(), manager(stranger))

    def arguments(
        self, draw: st.DrawFn, obj: Goal, trigger: str, dest: str | None, at: dt.datetime
    ) -> Arguments:
        if trigger == "edit":
            return _edit(draw, obj)
        if trigger == "check_in":
            on = at.date() - dt.timedelta(days=_days(draw, 0, _DAYS_BACK, "days back"))
            return {"on": on, "value": _value(draw, obj), "note": draw(_NOTES)}
        if trigger in {"request_changes", "cancel"}:
            return {"reason": draw(reasons())}
        if trigger in {"approve", "achieve", "miss"}:
            return {"reason": draw(_REASONS_OR_NONE)}
        if trigger == "reassign":
            exclude = {obj.owner_id, obj.manager_id}
            # Nobody left to take it: its manager again, which a guard refuses.
            left = set(in_force().cast.people) - exclude
            new = draw(people(exclude), label="new manager") if left else obj.manager_id
            return {"manager_id": new, "reason": draw(reasons())}
        return {}

    def wild_arguments(
        self, draw: st.DrawFn, obj: Goal, trigger: str, at: dt.datetime
    ) -> Arguments:
        if trigger == "edit":
            return _wild_edit(draw, obj)
        if trigger == "check_in":
            ahead = at.date() + dt.timedelta(days=_days(draw, 1, _DAYS_AHEAD, "days ahead"))
            # In the future (a guard refuses it), or not a number (validation refuses it).
            return choice(
                draw, ({"on": ahead, "value": obj.target}, {"on": at.date(), "value": "n/a"})
            )
        if trigger in {"request_changes", "cancel"}:
            return {"reason": choice(draw, ("", " "))}
        if trigger == "reassign":
            # Its manager already (a guard refuses it), the owner, or no reason (validation).
            who = choice(draw, (obj.manager_id, obj.owner_id, "hana"))
            return {"manager_id": who, "reason": "moved" if who != "hana" else " "}
        return self.arguments(draw, obj, trigger, None, at)

    def feasible(self, obj: Goal, trigger: str) -> bool:
        if trigger == "reassign":  # someone of the cast neither its owner nor its manager
            return bool(set(in_force().cast.people) - {obj.owner_id, obj.manager_id})
        return True

    def earliest(self, obj: Goal, trigger: str) -> dt.datetime | None:
        return day_start(obj.due) if trigger == "miss" else None

    def prepare(self, draw: st.DrawFn, obj: Goal, trigger: str, dest: str | None) -> Goal:
        if trigger == "achieve" and not obj.meets_target():
            value = _meeting
        elif trigger == "miss" and obj.meets_target():
            value = _short
        else:
            return obj

        def check_in(draw: st.DrawFn, at: dt.datetime) -> Arguments:
            # Dated the day it is recorded, so that it is the latest (later-recorded wins ties).
            return {"on": at.date(), "value": value(draw, obj)}

        return fire(draw, self, obj, "check_in", arguments=check_in)


KIT = GoalKit()
register(KIT)
