"""One policy per ``Perfcore``: guards added to and waived from the lifecycle tables, and rules that
decide on the command (its time and arguments), in force for commands through the services,
with no global registry touched."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from perfcore import (
    Actor,
    Command,
    Goal,
    Guard,
    GuardFailed,
    PermissionDenied,
    Policy,
    Rule,
    ValidationError,
)
from perfcore.adapters.memory import MemoryStore
from perfcore.rules import has_role, is_person, never
from perfcore.services import Perfcore

#: Reads name their reader: HR reads everything.
READER = Actor(id="hr-reader", roles={"hr"})

UTC = dt.UTC
ANA = Actor(id="ana")
BEN = Actor(id="ben", roles={"manager"})
HANA = Actor(id="hana", roles={"hr"})
MONDAY = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)
FRIDAY = dt.datetime(2026, 1, 9, 9, tzinfo=UTC)


class Clock:
    def __init__(self, at: dt.datetime = MONDAY) -> None:
        self.at = at

    def now(self) -> dt.datetime:
        return self.at


def _perfcore(policy: Policy | None = None, clock: Clock | None = None) -> Perfcore:
    return Perfcore(MemoryStore(), clock=clock or Clock(), policy=policy or Policy())


def _draft(pc: Perfcore, id: str = "g1", target: int = 10) -> Goal:
    return pc.goals.create(
        by=ANA,
        id=id,
        owner_id="ana",
        manager_id="ben",
        title="More articles",
        metric="articles",
        baseline=0,
        target=target,
        start=dt.date(2026, 1, 5),
        due=dt.date(2026, 3, 31),
    )


def _active_goal(pc: Perfcore, id: str = "g1", target: int = 10) -> Goal:
    _draft(pc, id, target)
    pc.goals.propose(id, by=ANA)
    return pc.goals.approve(id, by=BEN)


def _no_fridays(_goal: Any, command: Command) -> str | None:
    return "nothing is approved on a Friday" if command.at.weekday() == 4 else None


NO_FRIDAYS = Guard("not on a Friday", _no_fridays)


def test_a_guard_of_ones_own_refuses_the_command_and_changes_nothing() -> None:
    clock = Clock(FRIDAY)
    pc = _perfcore(Policy().with_guards({("Goal", "approve"): NO_FRIDAYS}), clock)
    _draft(pc)
    proposed = pc.goals.propose("g1", by=ANA)

    with pytest.raises(GuardFailed) as refused:
        pc.goals.approve("g1", by=BEN)

    assert (refused.value.rule, refused.value.why) == (
        "not on a Friday",
        "nothing is approved on a Friday",
    )
    assert pc.goals.get("g1", by=READER) == proposed
    clock.at = MONDAY + dt.timedelta(days=7)
    assert pc.goals.approve("g1", by=BEN).state == "active"


def test_two_perfcores_in_one_process_keep_their_own_policies() -> None:
    strict = _perfcore(Policy().with_guards({("Goal", "approve"): NO_FRIDAYS}), Clock(FRIDAY))
    plain = _perfcore(clock=Clock(FRIDAY))
    for pc in (strict, plain):
        _draft(pc)
        pc.goals.propose("g1", by=ANA)

    assert plain.goals.approve("g1", by=BEN).state == "active"
    with pytest.raises(GuardFailed):
        strict.goals.approve("g1", by=BEN)
    assert Policy().guards_for("Goal", "approve") == ()


def test_a_waived_guard_of_the_table_is_not_checked() -> None:
    pc = _perfcore()
    _active_goal(pc)
    pc.goals.check_in("g1", by=ANA, on=dt.date(2026, 1, 5), value=3)
    with pytest.raises(GuardFailed, match="target met"):
        pc.goals.achieve("g1", by=BEN)

    lenient = _perfcore(Policy().without_guards({("Goal", "achieve"): "target met"}))
    _active_goal(lenient)
    lenient.goals.check_in("g1", by=ANA, on=dt.date(2026, 1, 5), value=3)
    assert lenient.goals.achieve("g1", by=BEN, reason="close enough").state == "achieved"


def test_a_guard_is_replaced_by_waiving_it_and_adding_ones_own() -> None:
    def most_of_the_target(goal: Goal, _command: Command) -> str | None:
        latest = goal.latest_value
        if latest is None or latest < goal.target * 8 / 10:
            return f"the latest value {latest} is under 80% of the target {goal.target}"
        return None

    policy = (
        Policy()
        .without_guards({("Goal", "achieve"): "target met"})
        .with_guards({("Goal", "achieve"): Guard("80% of the target", most_of_the_target)})
    )
    assert [guard.name for guard in policy.guards_for("Goal", "achieve")] == ["80% of the target"]
    pc = _perfcore(policy)
    _active_goal(pc)
    pc.goals.check_in("g1", by=ANA, on=dt.date(2026, 1, 5), value=7)
    with pytest.raises(GuardFailed) as refused:
        pc.goals.achieve("g1", by=BEN)
    assert refused.value.rule == "80% of the target"
    pc.goals.check_in("g1", by=ANA, on=dt.date(2026, 1, 5), value=8)
    assert pc.goals.achieve("g1", by=BEN).state == "achieved"


def test_a_guard_sees_the_commands_arguments() -> None:
    def at_most_a_hundred(_goal: Goal, command: Command) -> str | None:
        value = command.args["check_in"].value
        return f"{value} is not a plausible count" if value > 100 else None

    pc = _perfcore(
        Policy().with_guards({("Goal", "check_in"): Guard("plausible", at_most_a_hundred)})
    )
    _active_goal(pc)
    with pytest.raises(GuardFailed, match="101 is not a plausible count"):
        pc.goals.check_in("g1", by=ANA, on=dt.date(2026, 1, 5), value=101)
    assert pc.goals.check_in("g1", by=ANA, on=dt.date(2026, 1, 5), value=100).latest_value == 100


def test_a_guard_on_create_sees_the_new_objects_fields() -> None:
    def within_a_year(goal: Goal, _command: Command) -> str | None:
        return "a goal runs a year at most" if (goal.due - goal.start).days > 366 else None

    pc = _perfcore(Policy().with_guards({("Goal", "create"): Guard("a year", within_a_year)}))
    with pytest.raises(GuardFailed, match="a year at most"):
        pc.goals.create(
            by=ANA,
            id="g1",
            owner_id="ana",
            manager_id="ben",
            title="More articles",
            metric="articles",
            baseline=0,
            target=10,
            start=dt.date(2026, 1, 5),
            due=dt.date(2028, 1, 5),
        )
    assert pc.goals.find("g1", by=READER) is None


def test_an_edit_shows_its_fields_to_guards() -> None:
    seen: list[dict[str, Any]] = []

    def record(_goal: Goal, command: Command) -> None:
        seen.append(dict(command.args))

    pc = _perfcore(Policy().with_guards({("Goal", "edit"): Guard("recorded", record)}))
    _draft(pc)
    pc.goals.edit("g1", by=ANA, title="Ten articles")
    assert seen == [{"title": "Ten articles"}]


def test_a_rule_on_the_command_sees_its_time() -> None:
    weekdays = Rule.on_command(
        "the owner's manager, on a weekday",
        lambda actor, goal, command: actor.id == goal.manager_id and command.at.weekday() < 5,
    )
    clock = Clock(dt.datetime(2026, 1, 10, 9, tzinfo=UTC))  # a Saturday
    pc = _perfcore(Policy().with_rules({("Goal", "approve"): weekdays}), clock)
    _draft(pc)
    proposed = pc.goals.propose("g1", by=ANA)
    # Before a command exists, the rule cannot be decided: the trigger is offered.
    assert "approve" in proposed.allowed_triggers(BEN, pc.policy)

    with pytest.raises(PermissionDenied, match="on a weekday"):
        pc.goals.approve("g1", by=BEN)
    clock.at = MONDAY + dt.timedelta(days=7)
    assert pc.goals.approve("g1", by=BEN).state == "active"


def test_a_rule_on_the_command_sees_its_arguments_and_composes() -> None:
    small = Rule.on_command(
        "a check-in of at most 5",
        lambda _actor, _goal, command: command.args["check_in"].value <= 5,
    )
    rule = has_role_hr() | (is_person("owner_id", "the owner") & small)
    assert rule.sees_command
    pc = _perfcore(Policy().with_rules({("Goal", "check_in"): rule}))
    _active_goal(pc)
    with pytest.raises(PermissionDenied):
        pc.goals.check_in("g1", by=ANA, on=dt.date(2026, 1, 5), value=6)
    assert pc.goals.check_in("g1", by=ANA, on=dt.date(2026, 1, 5), value=5).latest_value == 5
    assert pc.goals.check_in("g1", by=HANA, on=dt.date(2026, 1, 5), value=9).latest_value == 9


def has_role_hr() -> Rule:
    from perfcore.actor import Role

    return has_role(Role.HR)


def test_never_of_a_rule_on_the_command_still_sees_it() -> None:
    late = Rule.on_command("after 17:00", lambda _a, _g, command: command.at.hour >= 17)
    rule = never(late)
    assert rule.sees_command
    command = Command(trigger="approve", actor=BEN, at=MONDAY, reason="", args={}, policy=Policy())
    assert rule(BEN, None, command)
    assert not rule(
        BEN,
        None,
        Command(
            trigger="approve",
            actor=BEN,
            at=MONDAY.replace(hour=18),
            reason="",
            args={},
            policy=Policy(),
        ),
    )


def test_authorising_a_rule_on_the_command_without_one_refuses() -> None:
    policy = Policy().with_rules(
        {("Person", "export"): Rule.on_command("HR, in office hours", lambda *_: True)}
    )
    with pytest.raises(PermissionDenied):
        policy.authorize(HANA, "Person", None, "export")
    assert policy.permits(HANA, "Person", None, "export")
    with pytest.raises(TypeError, match="decides on the command"):
        policy.rule_for("Person", "export")(HANA, None)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p.without_guards({("Goal", "achieve"): "no such guard"}), "waived"),
        (lambda p: p.without_guards({("Goal", "no_such_trigger"): "target met"}), "guards"),
        (lambda p: p.with_guards({("Goal", "no_such_trigger"): NO_FRIDAYS}), "guards"),
        (lambda p: p.with_guards({("Nothing", "approve"): NO_FRIDAYS}), "kind"),
        (lambda p: p.with_guards({("Goal", "approve"): "not a guard"}), "guards"),
        (lambda p: p.with_guards({"Goal.approve": NO_FRIDAYS}), "guards"),
    ],
)
def test_a_mistyped_guard_change_is_refused_at_once(change: Any, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        change(Policy())
    assert refused.value.field == field


def test_guards_for_shows_the_table_then_ones_own() -> None:
    policy = Policy().with_guards({("Goal", "approve"): [NO_FRIDAYS, NO_FRIDAYS]})
    names = [guard.name for guard in policy.guards_for("Goal", "approve")]
    assert names == ["not on a Friday", "not on a Friday"]
    assert [guard.name for guard in Policy().guards_for("Goal", "check_in")] == [
        "check-in not in the future"
    ]


def test_the_testing_kit_finds_a_bug_in_a_guard_of_ones_own() -> None:
    from hypothesis import Phase, find, settings

    from perfcore.testing import strategies as pst

    def not_at_weekends(_goal: Goal, command: Command) -> str | None:  # meant: >= 5
        return "nothing is approved at weekends" if command.at.weekday() >= 4 else None

    ours = Policy().with_guards({("Goal", "approve"): Guard("not at weekends", not_at_weekends)})

    def refused_on_a_weekday(sequence: Any) -> bool:
        return any(
            isinstance(outcome.error, GuardFailed)
            and outcome.error.rule == "not at weekends"
            and outcome.command.at.weekday() < 5
            for outcome in sequence.run()
        )

    found = find(
        pst.command_sequences(Goal, policy=ours),
        refused_on_a_weekday,
        settings=settings(
            max_examples=1000, database=None, phases=[Phase.generate], derandomize=True
        ),
    )
    refused = [
        outcome.command.at.weekday()
        for outcome in found.run()
        if isinstance(outcome.error, GuardFailed) and outcome.error.rule == "not at weekends"
    ]
    assert 4 in refused  # a Friday
