"""Goal: a clearly written, measurable goal, from draft through approval to achieved or missed.

Progress is computed from the check-ins, never stored apart from them: the share of the way from
the baseline to the target that the latest value has come, clamped to 0..1.

>>> import datetime as dt
>>> from perfcore import Actor, Goal, Role
>>> at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
>>> ana, ben = Actor(id="ana"), Actor(id="ben", roles={"manager"})
>>> goal = Goal.create(id="g1", by=ana, at=at, owner_id="ana", manager_id="ben",
...     title="Faster support replies", metric="median first reply", unit="hours",
...     baseline=8, target=2, direction="decrease",
...     start=dt.date(2026, 1, 5), due=dt.date(2026, 6, 30))
>>> goal = goal.propose(by=ana, at=at).approve(by=ben, at=at)
>>> march = dt.datetime(2026, 3, 1, 17, tzinfo=dt.UTC)
>>> goal = goal.check_in(by=ana, at=march, on=dt.date(2026, 3, 1), value=5)
>>> goal.state, goal.progress, goal.version
(<GoalState.ACTIVE: 'active'>, Decimal('0.5'), 4)
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypedDict, Unpack

import attrs

from perfcore._aggregate import Aggregate, Changes, check_reason
from perfcore._validate import (
    any_short_text,
    any_text,
    check_date,
    date,
    entries_of,
    identifier,
    instance_of,
    non_negative,
    number,
    optional_identifier,
    reads,
    to_decimal,
    to_enum,
)
from perfcore.actor import Actor, Role
from perfcore.commands import fired_by
from perfcore.entries import Entries, to_entries
from perfcore.errors import ValidationError
from perfcore.lifecycle import Command, Guard, Lifecycle, Step, register
from perfcore.policy import Policy
from perfcore.reassignment import reassign, reassign_steps
from perfcore.rules import Rule, has_role, in_line_of, is_person, manager_in_directory, never

__all__ = ["CheckIn", "Direction", "Goal", "GoalState", "Horizon", "Standing"]


class GoalState(enum.StrEnum):
    """Where a goal is in its lifecycle."""

    DRAFT = "draft"
    PROPOSED = "proposed"
    ACTIVE = "active"
    ACHIEVED = "achieved"
    MISSED = "missed"
    CANCELLED = "cancelled"


class Direction(enum.StrEnum):
    """Whether the metric should go up or down to reach the target."""

    INCREASE = "increase"
    DECREASE = "decrease"


class Horizon(enum.StrEnum):
    """How far ahead a goal looks: this cycle's work, or a step on a career path."""

    SHORT = "short"
    LONG = "long"


class Standing(enum.StrEnum):
    """How a goal stands on a given day (see :meth:`Goal.standing`)."""

    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    ACHIEVED = "achieved"
    MISSED = "missed"
    CANCELLED = "cancelled"


def _goal_state(value: object) -> GoalState:
    return to_enum(GoalState, "state")(value)


def _direction(value: object) -> Direction:
    return to_enum(Direction, "direction")(value)


def _horizon(value: object) -> Horizon:
    return to_enum(Horizon, "horizon")(value)


@attrs.frozen(kw_only=True)
class CheckIn:
    """One measurement of a goal's metric: on which day, what value, noted by whom."""

    on: dt.date = attrs.field(validator=date)
    value: Decimal = attrs.field(converter=to_decimal, validator=number)
    by: str = attrs.field(validator=identifier)
    note: str = attrs.field(default="", validator=any_text)


@reads("owner_id")
def _not_the_owner(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    # Reads another field, so it runs whenever either changes (it is not self-contained).
    if value == instance.owner_id:
        raise ValidationError(attribute.name, f"{value!r} cannot manage their own goal")


#: How a finished goal stands, whatever its progress.
_FINISHED_STANDINGS = {
    GoalState.ACHIEVED: Standing.ACHIEVED,
    GoalState.MISSED: Standing.MISSED,
    GoalState.CANCELLED: Standing.CANCELLED,
}


def _latest(check_ins: Iterable[CheckIn], on: dt.date | None = None) -> CheckIn | None:
    """The check-in with the latest date (on or before ``on``); the later-recorded wins a tie."""
    latest: CheckIn | None = None
    for check_in in check_ins:
        if on is not None and check_in.on > on:
            continue
        if latest is None or check_in.on >= latest.on:
            latest = check_in
    return latest


@attrs.frozen(kw_only=True)
class Goal(Aggregate):
    """A measurable goal for one person, approved by their manager.

    Create one with :meth:`Goal.create`; every command returns a new Goal.
    """

    state: GoalState = attrs.field(default=GoalState.DRAFT, converter=_goal_state)
    owner_id: str = attrs.field(validator=identifier)
    manager_id: str = attrs.field(validator=[identifier, _not_the_owner])
    title: str = attrs.field(default="", validator=any_short_text)
    description: str = attrs.field(default="", validator=any_text)
    metric: str = attrs.field(default="", validator=any_short_text)
    unit: str = attrs.field(default="", validator=any_short_text)
    baseline: Decimal = attrs.field(converter=to_decimal, validator=number)
    target: Decimal = attrs.field(converter=to_decimal, validator=number)
    direction: Direction = attrs.field(default=Direction.INCREASE, converter=_direction)
    weight: Decimal = attrs.field(default=Decimal(1), converter=to_decimal, validator=non_negative)
    start: dt.date = attrs.field(validator=date)
    due: dt.date = attrs.field(validator=date)
    parent_goal_id: str | None = attrs.field(default=None, validator=optional_identifier)
    #: Whether falling short puts people at risk: a safety-critical goal missed is reported
    #: to the manager and HR, and listed among the safety-critical shortfalls.
    safety_critical: bool = attrs.field(default=False, validator=instance_of(bool))
    #: Short term (this cycle's work) or long term (a step toward a career path's target role).
    horizon: Horizon = attrs.field(default=Horizon.SHORT, converter=_horizon)
    #: Every check-in, in the order recorded: a read-only sequence whose additions share the
    #: check-ins already there, so a check-in costs the same at 10 as at 5,000.
    check_ins: Entries[CheckIn] = attrs.field(
        factory=Entries, converter=to_entries, validator=entries_of(CheckIn)
    )

    # -- reading --------------------------------------------------------------------------------

    @property
    def latest_value(self) -> Decimal | None:
        """The value of the latest check-in, or ``None`` before the first."""
        latest = _latest(self.check_ins)
        return None if latest is None else latest.value

    @property
    def progress(self) -> Decimal:
        """The share of the way from baseline to target the latest value has come (0..1)."""
        return self._progress_of(self.latest_value)

    def progress_on(self, on: dt.date) -> Decimal:
        """Progress as it stood at the end of day ``on``."""
        latest = _latest(self.check_ins, check_date("on", on))
        return self._progress_of(None if latest is None else latest.value)

    def meets_target(self, value: Decimal | None = None) -> bool:
        """Whether ``value`` (by default the latest) reaches the target in the goal's direction."""
        value = self.latest_value if value is None else value
        if value is None:
            return False
        if self.direction is Direction.INCREASE:
            return value >= self.target
        return value <= self.target

    def expected_progress_on(self, on: dt.date) -> Decimal:
        """Where a steady pace from start to due would have the goal on day ``on`` (0..1)."""
        span = (self.due - self.start).days
        if span <= 0:
            return Decimal(1)
        elapsed = (check_date("on", on) - self.start).days
        return min(Decimal(1), max(Decimal(0), Decimal(elapsed) / Decimal(span)))

    def standing(self, on: dt.date) -> Standing:
        """How the goal stands on day ``on``: achieved, missed or cancelled once it is; on track
        while its progress keeps pace with a steady line from start to due; else behind."""
        return self.measured(on)[2]

    def measured(self, on: dt.date) -> tuple[Decimal, Decimal, Standing]:
        """:meth:`progress_on`, :meth:`expected_progress_on` and :meth:`standing` on day ``on``,
        worked out together (a question over thousands of goals asks for all three)."""
        progress, expected = self.progress_on(on), self.expected_progress_on(on)
        finished = _FINISHED_STANDINGS.get(self.state)
        if finished is not None:
            return progress, expected, finished
        if self.state is not GoalState.ACTIVE or on < self.start:
            return progress, expected, Standing.NOT_STARTED
        standing = Standing.ON_TRACK if progress >= expected else Standing.BEHIND
        return progress, expected, standing

    def _progress_of(self, value: Decimal | None) -> Decimal:
        if value is None:
            return Decimal(0)
        span = self.target - self.baseline
        if span == 0:
            return Decimal(1) if value == self.target else Decimal(0)
        share = (value - self.baseline) / span
        return min(Decimal(1), max(Decimal(0), share))

    # -- creating -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        id: str,
        by: Actor,
        at: dt.datetime,
        owner_id: str,
        manager_id: str,
        baseline: Decimal | int | str,
        target: Decimal | int | str,
        start: dt.date,
        due: dt.date,
        title: str = "",
        description: str = "",
        metric: str = "",
        unit: str = "",
        direction: Direction | str = Direction.INCREASE,
        weight: Decimal | int | str = 1,
        parent_goal_id: str | None = None,
        safety_critical: bool = False,
        horizon: Horizon | str = Horizon.SHORT,
        policy: Policy | None = None,
    ) -> Goal:
        """Draft a goal. A draft may be incomplete; :meth:`propose` checks it is measurable.

        ``safety_critical`` marks a goal whose shortfall puts people at risk; ``horizon`` says
        whether it is short term or long term (a step on a career path).

        Raises:
            ValidationError: a field has the wrong type or an impossible value.
            PermissionDenied: ``by`` is not the owner, their manager or HR.
        """
        fields = {
            "owner_id": owner_id,
            "manager_id": manager_id,
            "title": title,
            "description": description,
            "metric": metric,
            "unit": unit,
            "baseline": baseline,
            "target": target,
            "direction": direction,
            "weight": weight,
            "start": start,
            "due": due,
            "parent_goal_id": parent_goal_id,
            "safety_critical": safety_critical,
            "horizon": horizon,
        }
        return cls._create(id=id, by=by, at=at, fields=fields, policy=policy)

    # -- commands -------------------------------------------------------------------------------

    def edit(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        policy: Policy | None = None,
        **fields: Unpack[GoalEdits],
    ) -> Goal:
        """Change a draft's wording, numbers or dates (any of the fields :meth:`create` takes
        but the owner and manager)."""
        return self._edit(fields, _EDITABLE, by=by, at=at, policy=policy)

    def propose(self, *, by: Actor, at: dt.datetime, policy: Policy | None = None) -> Goal:
        """Put the draft to the manager for approval."""
        return self._execute("propose", by=by, at=at, policy=policy)

    def request_changes(
        self, *, by: Actor, at: dt.datetime, reason: str, policy: Policy | None = None
    ) -> Goal:
        """Send a proposed goal back to draft, saying what should change."""
        check_reason(reason, required=True)
        return self._execute("request_changes", by=by, at=at, reason=reason, policy=policy)

    def approve(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> Goal:
        """Approve a proposed goal (its owner's manager or HR; never its owner)."""
        return self._execute("approve", by=by, at=at, reason=reason, policy=policy)

    def check_in(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        on: dt.date,
        value: Decimal | int | str,
        note: str = "",
        policy: Policy | None = None,
    ) -> Goal:
        """Record the metric's value on day ``on``."""
        entry = CheckIn(on=on, value=value, by=getattr(by, "id", ""), note=note)
        return self._execute(
            "check_in",
            by=by,
            at=at,
            policy=policy,
            args={"check_in": entry},
            changes=lambda _goal: Changes(append={"check_ins": (entry,)}),
        )

    def achieve(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> Goal:
        """Mark the goal achieved: only when the latest value meets the target."""
        return self._execute("achieve", by=by, at=at, reason=reason, policy=policy)

    def miss(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> Goal:
        """Mark the goal missed: only on or after its due date, with the target not met."""
        return self._execute("miss", by=by, at=at, reason=reason, policy=policy)

    @fired_by("Perfcore.reassign")
    def reassign(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        manager_id: str,
        reason: str,
        policy: Policy | None = None,
    ) -> Goal:
        """Move an open goal to the owner's new manager, saying why (see
        :mod:`perfcore.reassignment`).

        Raises:
            ValidationError: the reason is blank, or ``manager_id`` is not an id or the owner.
            GuardFailed: ``manager_id`` is its manager already, or is not the owner's manager
                in the directory that day.
            TransitionNotAllowed: the goal is achieved, missed or cancelled.
            PermissionDenied: ``by`` is not HR, or is the owner.
        """
        return reassign(self, "manager_id", manager_id, by=by, at=at, reason=reason, policy=policy)

    def cancel(
        self, *, by: Actor, at: dt.datetime, reason: str, policy: Policy | None = None
    ) -> Goal:
        """Cancel the goal, saying why."""
        check_reason(reason, required=True)
        return self._execute("cancel", by=by, at=at, reason=reason, policy=policy)


class GoalEdits(TypedDict, total=False):
    """The fields :meth:`Goal.edit` may change, and what each takes: the one
    declaration of them (see :mod:`perfcore.commands`)."""

    baseline: Decimal | int | str
    description: str
    direction: Direction | str
    due: dt.date
    horizon: Horizon | str
    metric: str
    parent_goal_id: str | None
    safety_critical: bool
    start: dt.date
    target: Decimal | int | str
    title: str
    unit: str
    weight: Decimal | int | str


_EDITABLE = frozenset(GoalEdits.__annotations__)


# -- the lifecycle table ------------------------------------------------------------------------


def _measurable(goal: Goal, _command: Command) -> str | None:
    missing = [name for name in ("title", "metric") if not getattr(goal, name).strip()]
    if missing:
        return f"a goal needs a {' and a '.join(missing)} before it is proposed"
    if goal.target == goal.baseline:
        return "the target must differ from the baseline, or there is nothing to measure"
    if (goal.target > goal.baseline) != (goal.direction is Direction.INCREASE):
        return (
            f"the target {goal.target} is not in the goal's direction ({goal.direction})"
            f" from the baseline {goal.baseline}"
        )
    return None


def _dated(goal: Goal, _command: Command) -> str | None:
    if goal.due <= goal.start:
        return f"the due date {goal.due} must come after the start {goal.start}"
    return None


def _target_met(goal: Goal, _command: Command) -> str | None:
    if goal.latest_value is None:
        return "there is no check-in yet to show the target was met"
    if not goal.meets_target():
        return f"the latest value {goal.latest_value} does not meet the target {goal.target}"
    return None


def _due_and_unmet(goal: Goal, command: Command) -> str | None:
    if command.at.date() < goal.due:
        return f"the goal is not due until {goal.due}"
    if goal.meets_target():
        return f"the latest value {goal.latest_value} meets the target: achieve it instead"
    return None


def _check_in_dated(_goal: Goal, command: Command) -> str | None:
    entry: CheckIn = command.args["check_in"]
    if entry.on > command.at.date():
        return f"a check-in cannot be dated {entry.on}, after the day it is recorded"
    return None


_owner = is_person("owner_id", "the owner")
_named = is_person("manager_id", "the owner's manager")
_in_line = in_line_of("owner_id", "a manager of the owner in the directory")
#: The goal's named manager, who must also manage the owner in the directory on the day.
_manager = Rule(
    "the owner's manager", lambda actor, goal: _named(actor, goal) and _in_line(actor, goal)
)
_hr = has_role(Role.HR)
_oversight = (_manager | _hr) & never(_owner)
#: Whoever drafts a goal names, as its manager, the owner's manager in the directory.
_named_manager = manager_in_directory(
    "owner_id", "manager_id", "naming the owner's manager in the directory as its manager"
)
_author = _owner | _manager | _hr

LIFECYCLE = Lifecycle(
    name="Goal",
    states=[state.value for state in GoalState],
    initial=GoalState.DRAFT.value,
    create_rule=_author & _named_manager,
    steps=[
        Step(trigger="edit", sources=["draft"], dest="draft", who=_author),
        Step(
            trigger="propose",
            sources=["draft"],
            dest="proposed",
            who=_author,
            guards=[Guard("measurable", _measurable), Guard("dated", _dated)],
        ),
        Step(trigger="request_changes", sources=["proposed"], dest="draft", who=_oversight),
        Step(trigger="approve", sources=["proposed"], dest="active", who=_oversight),
        Step(
            trigger="check_in",
            sources=["active"],
            dest="active",
            who=_owner | _manager,
            guards=[Guard("check-in not in the future", _check_in_dated)],
        ),
        Step(
            trigger="achieve",
            sources=["active"],
            dest="achieved",
            who=_manager | _hr,
            guards=[Guard("target met", _target_met)],
        ),
        Step(
            trigger="miss",
            sources=["active"],
            dest="missed",
            who=_manager | _hr,
            guards=[Guard("due and not met", _due_and_unmet)],
        ),
        Step(
            trigger="cancel",
            sources=["draft", "proposed", "active"],
            dest="cancelled",
            who=_manager | _hr,
        ),
        *reassign_steps(
            ["draft", "proposed", "active"],
            field="manager_id",
            concerned="owner_id",
            what="manager",
            who=_hr & never(_owner),
        ),
    ],
)
Goal.lifecycle = LIFECYCLE
register(Goal, LIFECYCLE)
