"""Reassignment: an object's manager-side person moves with the person it concerns.

When someone changes manager, the open work their old manager held for them follows them to the
new one: a goal's ``manager_id``, an evaluation's ``evaluator_id``, an individual plan's
``author_id``. Each is the aggregate's own ``reassign`` command, a self-loop in every open state
of its table, so that ``allowed_triggers``, the docs and the testing kit see it; the rules are
the same for the three:

- **who**: HR, never the person the object concerns (the table's ``who``);
- **someone new**: the object names someone else already;
- **the manager in the directory**: the new person is the concerned person's manager in the
  directory on the day (when the acting person comes with the directory, ``actor.relations``:
  the domain used alone has nothing to check against, and takes the caller's word).

The services' :meth:`perfcore.services.Perfcore.reassign` finds the open work that follows a
person and reassigns each object in one unit of work, with the reason in each history.

>>> import datetime as dt
>>> from perfcore import Actor
>>> from perfcore.goal import Goal
>>> at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
>>> goal = Goal.create(id="g-1", by=Actor(id="ana"), at=at, owner_id="ana", manager_id="ben",
...     title="Replies", metric="replies a day", baseline=1, target=5,
...     start=dt.date(2026, 1, 5), due=dt.date(2026, 6, 30))
>>> goal = goal.reassign(by=Actor(id="hana", roles={"hr"}), at=at, manager_id="mia",
...     reason="ana moved to mia's team on 1 March")
>>> goal.manager_id, goal.history[-1].trigger, goal.history[-1].reason
('mia', 'reassign', "ana moved to mia's team on 1 March")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from perfcore._aggregate import Aggregate, Changes, check_reason
from perfcore._validate import check_id
from perfcore.actor import Actor
from perfcore.lifecycle import Command, Guard, Step
from perfcore.policy import Policy
from perfcore.rules import Rule

__all__ = ["reassign", "reassign_steps"]

A = TypeVar("A", bound=Aggregate)


def reassign(
    obj: A,
    field: str,
    to: str,
    *,
    by: Actor,
    at: dt.datetime,
    reason: str,
    policy: Policy | None,
) -> A:
    """Fire ``obj``'s ``reassign``: ``field`` becomes ``to``, with ``reason`` in the event."""
    check_reason(reason, required=True)
    check_id(field, to)
    return obj._execute(
        "reassign",
        by=by,
        at=at,
        reason=reason,
        policy=policy,
        args={field: to},
        changes=lambda _obj: Changes(set={field: to}),
    )


def _someone_new(field: str, what: str) -> Callable[[Any, Command], str | None]:
    def check(obj: Any, command: Command) -> str | None:
        to = command.args[field]
        return f"{to} is its {what} already" if getattr(obj, field) == to else None

    return check


def _manager_now(field: str, concerned: str) -> Callable[[Any, Command], str | None]:
    def check(obj: Any, command: Command) -> str | None:
        relations = command.actor.relations
        if relations is None:
            return None  # no directory to ask: the caller's word is taken
        person = getattr(obj, concerned)
        to = command.args[field]
        manager = relations.manager_of(person)
        if manager == to:
            return None
        day = command.at.date()
        now = "nobody" if manager is None else manager
        return f"{to} is not {person}'s manager in the directory on {day} ({now} is)"

    return check


def reassign_steps(
    states: Sequence[str],
    *,
    field: str,
    concerned: str,
    what: str,
    who: Rule,
    guards: Sequence[Guard] = (),
) -> list[Step]:
    """The ``reassign`` self-loop in each of ``states``: ``field`` moves to the manager in the
    directory of the person named by ``concerned``, by ``who``, after ``guards`` of the type's
    own."""
    checks = [
        Guard("someone new", _someone_new(field, what)),
        Guard("the manager in the directory", _manager_now(field, concerned)),
        *guards,
    ]
    return [
        Step(trigger="reassign", sources=[state], dest=state, who=who, guards=checks)
        for state in states
    ]
