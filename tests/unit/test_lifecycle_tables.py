"""The lifecycle machinery: tables are checked, machines are per type, errors say what to do."""

from __future__ import annotations

import datetime as dt
import gc

import pytest
import transitions

from perfcore import (
    Actor,
    Goal,
    GuardFailed,
    Lifecycle,
    Policy,
    Step,
    TransitionNotAllowed,
    ValidationError,
    lifecycle_of,
)
from perfcore.lifecycle import Guard
from perfcore.rules import anyone, nobody
from perfcore.testing.drivers import driver_for


def test_lifecycle_of_takes_the_class_or_its_name() -> None:
    assert lifecycle_of(Goal) is lifecycle_of("Goal")
    with pytest.raises(ValidationError, match="no lifecycle"):
        lifecycle_of("Salary")


def test_the_goal_table_as_written_in_the_issue() -> None:
    goal = lifecycle_of(Goal)
    assert goal.states == ("draft", "proposed", "active", "achieved", "missed", "cancelled")
    assert {
        ("propose", "draft", "proposed"),
        ("request_changes", "proposed", "draft"),
        ("approve", "proposed", "active"),
        ("check_in", "active", "active"),
        ("achieve", "active", "achieved"),
        ("miss", "active", "missed"),
        ("cancel", "draft", "cancelled"),
        ("cancel", "proposed", "cancelled"),
        ("cancel", "active", "cancelled"),
    } <= set(goal.transitions)
    assert goal.terminal_states == ("achieved", "missed", "cancelled")


def test_mermaid_lists_every_transition() -> None:
    text = lifecycle_of(Goal).to_mermaid()
    assert text.startswith("stateDiagram-v2\n    [*] --> draft\n")
    assert "    proposed --> active: approve\n" in text
    assert "    achieved --> [*]\n" in text


def test_a_table_with_unknown_states_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown states"):
        Lifecycle(
            name="Broken",
            states=["a"],
            initial="a",
            create_rule=anyone,
            steps=[Step(trigger="go", sources=["a"], dest="b", who=anyone)],
        )
    with pytest.raises(ValueError, match="initial state"):
        Lifecycle(name="Broken", states=["a"], initial="z", create_rule=anyone, steps=[])


def test_objects_carry_no_machine() -> None:
    """One machine per type: building many goals creates no transitions.Machine."""
    gc.collect()
    before = sum(isinstance(o, transitions.Machine) for o in gc.get_objects())
    goals = [driver_for(Goal).reach("active", id=f"g-{n}") for n in range(50)]
    gc.collect()
    after = sum(isinstance(o, transitions.Machine) for o in gc.get_objects())
    assert after == before
    assert not any(isinstance(value, transitions.Machine) for value in vars_of(goals[0]))


def vars_of(goal: Goal) -> list[object]:
    return [getattr(goal, field) for field in goal.__slots__ if hasattr(goal, field)]


def test_transition_not_allowed_lists_what_is_allowed() -> None:
    goal = driver_for(Goal).reach("proposed")
    with pytest.raises(TransitionNotAllowed) as refused:
        goal.check_in(
            by=Actor(id="ana"),
            at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
            on=dt.date(2026, 2, 1),
            value=1,
        )
    error = refused.value
    assert (error.aggregate_type, error.aggregate_id, error.state) == ("Goal", "x-1", "proposed")
    assert error.allowed == ("request_changes", "approve", "cancel", "reassign")
    assert "allowed triggers: request_changes, approve, cancel, reassign" in str(error)


def test_guard_failures_from_several_rows_are_all_reported() -> None:
    lifecycle = Lifecycle(
        name="Door",
        states=["shut", "open", "locked"],
        initial="shut",
        create_rule=anyone,
        steps=[
            Step(
                trigger="push",
                sources=["shut"],
                dest="open",
                who=anyone,
                guards=[Guard("unlatched", lambda _o, _c: "the latch is down")],
            ),
            Step(
                trigger="push",
                sources=["shut"],
                dest="locked",
                who=anyone,
                guards=[Guard("key", lambda _o, _c: "no key turned")],
            ),
        ],
    )

    class Door:
        id = "front"
        state = "shut"

    from perfcore.lifecycle import Command

    command = Command(
        trigger="push",
        actor=Actor(id="ana"),
        at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        reason="",
        args={},
        policy=Policy(),
    )
    with pytest.raises(GuardFailed) as refused:
        lifecycle.fire(Door(), command)
    assert refused.value.rule == "unlatched"
    assert refused.value.why == "the latch is down; or no key turned"


def test_a_policy_without_a_rule_denies() -> None:
    policy = Policy(rules={("Goal", "create"): anyone})
    goal = driver_for(Goal).create()
    assert goal.allowed_triggers(Actor(id="ana"), policy) == ()
    closed = Policy().with_rules({("Goal", "propose"): nobody})
    assert "propose" not in goal.allowed_triggers(Actor(id="ana"), closed)
    assert policy.table() == {("Goal", "create"): anyone}
    assert ("Goal", "approve") in Policy().table()
