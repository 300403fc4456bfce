"""The strategies in perfcore.testing.strategies draw what they promise.

Valid values (constructing them again raises nothing), aggregates whose histories replay, every
requested state honoured and every state reachable, ``st.from_type`` for every public attrs type,
and command sequences with both accepted and refused commands.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import perfcore
from perfcore import (
    Goal,
    GuardFailed,
    JobDescription,
    PerfcoreError,
    PermissionDenied,
    Role,
    TransitionNotAllowed,
    ValidationError,
    lifecycle_of,
)
from perfcore._aggregate import Aggregate
from perfcore.cycle_status import Stage, blockers
from perfcore.recurrence import parse_rule
from perfcore.rules import Rule, anyone, has_role
from perfcore.testing import strategies as pst
from perfcore.testing.drivers import path_to
from perfcore.testing.strategies._registry import strategies_by_type

AGGREGATES: dict[str, Callable[..., st.SearchStrategy[Any]]] = {
    "Goal": pst.goals,
    "JobDescription": pst.job_descriptions,
    "Plan": pst.plans,
    "Evaluation": pst.evaluations,
    "ReviewCycle": pst.review_cycles,
}
STATES = [(name, state) for name in AGGREGATES for state in lifecycle_of(name).states]
REFUSALS = (TransitionNotAllowed, PermissionDenied, GuardFailed, ValidationError)

#: Find an example without shrinking it: reachability needs one, not the smallest.
FIRST_FOUND = settings(max_examples=2000, database=None, phases=[Phase.generate])
#: Many strategies are checked; each needs fewer examples than a property of its own.
FEW = settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])


def _valid(value: Any) -> None:
    """Building ``value`` again (and every attrs value inside it) runs every converter and
    validator: it raises nothing and gives an equal value."""
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            if field.init and field.name != "history":
                _valid(getattr(value, field.name))
        assert attrs.evolve(value) == value
    elif isinstance(value, tuple | list | frozenset):
        for item in value:
            _valid(item)


def _value_strategies() -> list[str]:
    """The public strategy functions that draw values (not commands) with no arguments."""
    return [
        name
        for name in pst.__all__
        if name[0].islower()
        and name not in {"commands", "command_sequences"}
        and all(
            parameter.default is not inspect.Parameter.empty
            for parameter in inspect.signature(getattr(pst, name)).parameters.values()
        )
    ]


# -- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", _value_strategies())
@FEW
@given(data=st.data())
def test_every_value_strategy_draws_valid_values(name: str, data: st.DataObject) -> None:
    value = data.draw(getattr(pst, name)(), label=name)
    if isinstance(value, Aggregate):
        assert type(value).replay(value.history) == value
    for item in value if isinstance(value, list | tuple) else [value]:
        _valid(item)


@given(pst.criteria_sets())
def test_criteria_sets_weigh_exactly_100_with_unique_measurable_names(criteria: Any) -> None:
    assert sum(criterion.weight for criterion in criteria) == Decimal(100)
    names = [criterion.name.strip().casefold() for criterion in criteria]
    assert len(names) == len(set(names)) >= 1
    assert all(criterion.measurable for criterion in criteria)


@given(pst.aware_datetimes(), pst.dates(), pst.decimals(places=2), pst.ids("g"), pst.texts())
def test_basic_values_are_aware_dated_exact_and_not_blank(
    moment: dt.datetime, day: dt.date, number: Decimal, id_: str, text: str
) -> None:
    assert moment.utcoffset() is not None
    assert type(day) is dt.date
    assert number.is_finite()
    assert number.as_tuple().exponent >= -2  # type: ignore[operator]
    assert id_.strip()
    assert text.strip()


@given(pst.actors(roles={"hr", "manager"}))
def test_actors_hold_exactly_the_roles_asked_for(actor: perfcore.Actor) -> None:
    assert actor.roles == {perfcore.Role.HR, perfcore.Role.MANAGER}


@given(pst.review_schedules(), pst.cycle_schedules())
def test_schedules_are_rules_perfcore_accepts(review: str, cycle: str | None) -> None:
    parse_rule(review, "review_schedule")
    if cycle is not None:
        parse_rule(cycle, "schedule")


@given(pst.rating_scales().flatmap(lambda scale: st.tuples(st.just(scale), pst.ratings(scale))))
def test_ratings_fall_on_their_scale(case: tuple[Any, Any]) -> None:
    scale, rating = case
    assert scale.contains(rating.score)


@given(
    pst.participant_lists().flatmap(
        lambda people: pst.cycle_statuses([person.employee_id for person in people], ready=True)
    )
)
def test_ready_summaries_satisfy_every_stage(status: perfcore.CycleStatus) -> None:
    for stage in Stage:
        assert blockers(stage, status.employee_ids, status) == ()


# -- aggregates ---------------------------------------------------------------------------------


def _check_history(obj: Aggregate) -> None:
    lifecycle = obj.lifecycle
    assert type(obj).replay(obj.history) == obj
    assert [event.version for event in obj.history] == list(range(1, obj.version + 1))
    assert str(obj.state) in lifecycle.states
    times = [event.at for event in obj.history]
    assert all(moment.utcoffset() is not None for moment in times)
    assert times == sorted(times)  # time only moves on
    for event in obj.history[1:]:
        assert lifecycle.has_transition(event.trigger, str(event.from_state), event.to_state)


@pytest.mark.parametrize("name", sorted(AGGREGATES))
@given(data=st.data())
def test_aggregates_are_built_by_commands_that_replay(name: str, data: st.DataObject) -> None:
    obj = data.draw(AGGREGATES[name](), label=name)
    assert type(obj).__name__ == name
    _check_history(obj)
    _valid(obj)


@given(pst.aggregates())
def test_any_aggregate_replays(obj: Aggregate) -> None:
    _check_history(obj)


@pytest.mark.parametrize("name", sorted(AGGREGATES))
@given(data=st.data())
def test_requested_states_are_honoured(name: str, data: st.DataObject) -> None:
    states = lifecycle_of(name).states
    wanted = data.draw(st.sets(st.sampled_from(states), min_size=1), label="states")
    obj = data.draw(AGGREGATES[name](states=wanted), label=name)
    assert str(obj.state) in wanted


@pytest.mark.parametrize(("name", "state"), STATES)
def test_every_state_is_reached_by_the_default_strategy(name: str, state: str) -> None:
    found = find(
        AGGREGATES[name](),
        lambda obj: str(obj.state) == state,
        settings=FIRST_FOUND,
        random=Random(0),
    )
    _check_history(found)


def test_a_shrunk_aggregate_took_the_shortest_path() -> None:
    goal = find(pst.goals(), lambda goal: goal.state == "achieved", random=Random(0))
    moves = [event.trigger for event in goal.history if event.from_state != event.to_state]
    shortest = [trigger for trigger, _dest in path_to(lifecycle_of(Goal), "achieved")]
    assert moves == ["create", *shortest]
    assert [event.trigger for event in goal.history].count("check_in") == 1  # what achieve needs


@pytest.mark.parametrize(
    ("strategy", "condition"),
    [
        (pst.goals(), lambda goal: goal.direction == "decrease" and len(goal.check_ins) > 1),
        (pst.job_descriptions(), lambda jd: len(jd.criteria) > 2 and "revise" in _triggers(jd)),
        (pst.plans(), lambda plan: plan.kind == "team" and plan.review_notes),
        (pst.evaluations(), lambda ev: ev.scale.max != 5 and ev.feedback_declines),
        (pst.evaluations(), lambda ev: ev.resolutions and ev.resolutions[-1].reopened),
        (pst.review_cycles(), lambda cycle: "add_participant" in _triggers(cycle)),
    ],
    ids=["goal", "job-description", "plan", "evaluation-scale", "evaluation-reopened", "cycle"],
)
def test_content_and_histories_vary(
    strategy: st.SearchStrategy[Aggregate], condition: Callable[[Any], bool]
) -> None:
    found = find(strategy, condition, settings=FIRST_FOUND, random=Random(0))
    _check_history(found)


def _triggers(obj: Aggregate) -> list[str]:
    return [event.trigger for event in obj.history]


def test_unknown_states_and_kinds_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="no state"):
        pst.goals(states=["finished"])
    with pytest.raises(InvalidArgument, match="at least one"):
        pst.plans(states=[])
    with pytest.raises(InvalidArgument, match="no strategies"):
        pst.command_sequences("Payslip")


# -- from_type ----------------------------------------------------------------------------------


def _public_attrs_types() -> list[type[Any]]:
    exported = (getattr(perfcore, name) for name in perfcore.__all__)
    found = {kind for kind in exported if isinstance(kind, type) and attrs.has(kind)}
    return sorted(found | set(strategies_by_type()), key=lambda kind: kind.__qualname__)


@pytest.mark.parametrize("kind", _public_attrs_types(), ids=lambda kind: kind.__qualname__)
@FEW
@given(data=st.data())
def test_from_type_draws_valid_values_of_every_public_type(
    kind: type[Any], data: st.DataObject
) -> None:
    value = data.draw(st.from_type(kind))
    assert isinstance(value, kind)
    _valid(value)
    if isinstance(value, Aggregate):
        assert type(value).replay(value.history) == value


# -- commands -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(AGGREGATES))
@given(data=st.data())
def test_command_sequences_keep_to_the_table(name: str, data: st.DataObject) -> None:
    sequence = data.draw(pst.command_sequences(name, max_size=12), label="sequence")
    table = set(lifecycle_of(name).transitions)
    obj = sequence.start
    for outcome in sequence.run():
        assert outcome.before is obj
        if outcome.accepted:
            event = outcome.after.history[-1]
            assert outcome.after.version == obj.version + 1
            assert outcome.after.history[:-1] == obj.history
            assert (event.trigger, event.actor_id) == (
                outcome.command.trigger,
                outcome.command.by.id,
            )
            assert (event.trigger, event.from_state, event.to_state) in table
        else:
            assert isinstance(outcome.error, PerfcoreError)
            assert outcome.after is obj
        obj = outcome.after
    assert sequence.final() == obj
    assert type(obj).replay(obj.history) == obj


@pytest.mark.parametrize("name", sorted(AGGREGATES))
def test_command_sequences_have_accepted_and_refused_commands(name: str) -> None:
    def mixed(sequence: pst.CommandSequence[Any]) -> bool:
        accepted = [outcome.accepted for outcome in sequence.run()]
        return any(accepted) and not all(accepted)

    find(pst.command_sequences(name), mixed, settings=FIRST_FOUND, random=Random(0))


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda error: error.__name__)
@pytest.mark.parametrize("name", sorted(AGGREGATES))
def test_every_kind_of_refusal_is_drawn(name: str, refusal: type[PerfcoreError]) -> None:
    def refused(sequence: pst.CommandSequence[Any]) -> bool:
        return any(isinstance(outcome.error, refusal) for outcome in sequence.run())

    find(pst.command_sequences(name), refused, settings=FIRST_FOUND, random=Random(0))


@given(
    pst.job_descriptions(states=["in_feedback"]).flatmap(
        lambda jd: st.tuples(st.just(jd), pst.commands(jd))
    )
)
def test_a_command_applies_to_a_copy(case: tuple[JobDescription, pst.Command]) -> None:
    jd, command = case
    before = attrs.evolve(jd)
    try:
        after = command.apply(jd)
    except PerfcoreError:
        after = jd
    assert jd == before
    assert after is jd or after.version == jd.version + 1
    assert repr(command).startswith(f"{command.trigger}(by={command.by.id!r}")


def test_a_shrunk_refusal_is_one_command() -> None:
    sequence = find(
        pst.command_sequences(Goal),
        lambda seq: any(not outcome.accepted for outcome in seq.run()),
        random=Random(0),
    )
    assert len(sequence.commands) == 1
    # The start took the shortest path to its state: every detour fell away.
    start = sequence.start
    shortest = [trigger for trigger, _dest in path_to(lifecycle_of(Goal), str(start.state))]
    assert [event.trigger for event in start.history] == ["create", *shortest]


# -- your own people, your own ranges, and no commands after the end ------------------------------

#: A team's own people: HR people are employees with goals too.
TEAM = (
    perfcore.Actor(id="ana"),
    perfcore.Actor(id="ben", roles={"employee", "manager"}),
    perfcore.Actor(id="hana", roles={"employee", "hr"}),
    perfcore.Actor(id="hugo", roles={"employee", "hr"}),
)
#: Find an example and shrink it, remembering nothing between runs.
FIND = settings(max_examples=500, database=None, deadline=None, print_blob=False)


@pytest.mark.parametrize("name", sorted(AGGREGATES))
@FEW
@given(data=st.data())
def test_objects_name_the_people_given_and_commands_are_theirs(name: str, data: Any) -> None:
    sequence = data.draw(pst.command_sequences(name, actors=TEAM, max_size=6))
    ids = {actor.id for actor in TEAM}
    start = sequence.start
    principal = [
        getattr(start, field)
        for field in ("owner_id", "manager_id", "author_id", "subject_id", "evaluator_id")
        if isinstance(getattr(start, field, None), str)
        and not getattr(start, field).startswith("team")
    ]
    assert set(principal) <= ids
    assert all(command.by in TEAM for command in sequence.commands)


def test_hr_people_own_goals_and_a_lax_hr_rule_is_found() -> None:
    """The default policy never lets an owner approve their own goal, HR or not; a policy that
    lets HR approve any goal lets an HR owner approve their own, and the strategies find it."""
    lax = perfcore.DEFAULT_POLICY.with_rules({("Goal", "approve"): has_role(Role.HR)})

    def self_approved(sequence: pst.CommandSequence[Any]) -> bool:
        return any(
            outcome.accepted
            and outcome.command.trigger == "approve"
            and outcome.command.by.id == outcome.after.owner_id
            for outcome in sequence.run()
        )

    found = find(
        pst.command_sequences(Goal, actors=TEAM, policy=lax),
        self_approved,
        settings=FIRST_FOUND,
        random=Random(0),
    )
    assert found.start.owner_id in {"hana", "hugo"}
    assert "approve" in [command.trigger for command in found.commands]


#: A team's rule: a manager approves a goal of at most 400 days. Its code says 4000: a guard
#: wrong by a factor of ten about dates.
LONGEST = 400


def _quarterly(actor: perfcore.Actor, goal: Goal) -> bool:
    return actor.id == goal.manager_id and (goal.due - goal.start).days <= 10 * LONGEST


def _too_long_approved(sequence: pst.CommandSequence[Any]) -> bool:
    return any(
        outcome.accepted
        and outcome.command.trigger == "approve"
        and (outcome.after.due - outcome.after.start).days > LONGEST
        for outcome in sequence.run()
    )


TEAM_POLICY = perfcore.DEFAULT_POLICY.with_rules(
    {("Goal", "approve"): Rule("the manager, for a goal of at most 400 days", _quarterly)}
)


@FIND
@given(pst.command_sequences(Goal, policy=TEAM_POLICY))
def test_default_dates_never_reach_the_edge_of_the_rule(sequence: Any) -> None:
    # A goal lasts up to a year by default: the guard's bug is out of reach.
    assert not _too_long_approved(sequence)


def test_wider_ranges_find_a_guard_wrong_by_a_factor_of_ten() -> None:
    found = find(
        pst.command_sequences(Goal, policy=TEAM_POLICY, ranges=pst.Ranges(days=5000)),
        _too_long_approved,
        settings=FIRST_FOUND,
        random=Random(0),
    )
    assert _too_long_approved(found)  # found, and it replays


@FEW
@given(pst.command_sequences(Goal, ranges=pst.Ranges(days=3, numbers=(0, 100))))
def test_the_ranges_hold_for_the_start_and_every_command(sequence: Any) -> None:
    goal = sequence.start
    assert 0 <= goal.baseline <= 100
    assert 0 <= goal.target <= 100
    assert 1 <= (goal.due - goal.start).days <= 3
    for command in sequence.commands:
        if command.trigger == "check_in" and isinstance(command.args.get("value"), Decimal):
            assert 0 <= command.args["value"] <= 100 or command.args["on"] > command.at.date()
            assert command.at.date() - command.args["on"] <= dt.timedelta(days=3)


def test_ranges_are_checked() -> None:
    with pytest.raises(InvalidArgument, match="days=0"):
        pst.Ranges(days=0)
    with pytest.raises(InvalidArgument, match="numbers"):
        pst.Ranges(numbers=(5, 5))
    with pytest.raises(InvalidArgument, match="give one or more perfcore Actors"):
        pst.command_sequences(Goal, actors=["ana"])  # type: ignore[list-item]


@pytest.mark.parametrize("name", sorted(AGGREGATES))
@FEW
@given(data=st.data())
def test_no_command_is_tried_after_a_final_state(name: str, data: Any) -> None:
    sequence = data.draw(pst.command_sequences(name))
    terminal = set(lifecycle_of(name).terminal_states)
    tried_on = [outcome.before.state for outcome in sequence.run()]
    assert not [state for state in tried_on if str(state) in terminal]


# -- what a failure prints ------------------------------------------------------------------------


@pytest.mark.thorough
def test_a_failing_sequence_prints_in_a_few_lines() -> None:
    lax = perfcore.DEFAULT_POLICY.with_rules({("Goal", "approve"): anyone})

    @FIND
    @given(pst.command_sequences(Goal, policy=lax))
    def test_no_owner_approves(sequence: Any) -> None:
        for outcome in sequence.run():
            if outcome.accepted and outcome.command.trigger == "approve":
                assert outcome.command.by.id != outcome.after.owner_id, "owner approved"

    with pytest.raises(AssertionError, match="owner approved") as failure:
        test_no_owner_approves()
    report = "\n".join(getattr(failure.value, "__notes__", []))
    assert len(report.splitlines()) <= 15, report
    assert "approve(by='ana' [employee], at='2024-01-01T00:00:00+00:00', reason='')" in report
    assert "policy=Policy(the default but Goal.approve: 'anyone')" in report
    assert "_trail" not in report
    assert "Event(" not in report


# -- the reference page ---------------------------------------------------------------------------

PAGE = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"


def test_the_reference_page_names_every_strategy() -> None:
    page = PAGE.read_text(encoding="utf-8")
    headings = set(re.findall(r"^#### `(\w+)", page, re.MULTILINE))
    assert headings == set(pst.__all__), (
        f"missing: {sorted(set(pst.__all__) - headings)}; not exported: "
        f"{sorted(headings - set(pst.__all__))}"
    )
