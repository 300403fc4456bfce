"""ReviewCycle properties: an advance succeeds exactly when nobody blocks it, and names exactly who
does; random commands with random summaries keep to the table and replay."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from hypothesis import event, given
from hypothesis import strategies as st

from perfcore import Actor, GuardFailed, PerfcoreError, Standing, lifecycle_of
from perfcore.cycle_status import (
    EVALUATION_STATES,
    PLAN_STATES,
    CycleStatus,
    EvaluationRef,
    GoalRef,
    JobDescriptionRef,
    Participant,
    ParticipantStatus,
    PlanRef,
    Stage,
)
from perfcore.review_cycle import ReviewCycle
from perfcore.testing.drivers import path_to
from perfcore.testing.drivers.review_cycle import HR, ready_status

LIFECYCLE = lifecycle_of(ReviewCycle)
TABLE = set(LIFECYCLE.transitions)
AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
# Fixed-width ids: no id is part of another, nor of a plan's or evaluation's id, so a reason text
# names a participant exactly when the id appears in it.
EMPLOYEES = tuple(f"e-{number:02}" for number in range(1, 9))
PEOPLE = (HR, Actor(id="e-01", roles={"manager"}), Actor(id="zed"))

#: The advance that leaves each stage, and the stage whose work its guard checks.
ADVANCES = {
    "begin_evaluations": Stage.JOB_DESCRIPTIONS,
    "begin_planning": Stage.EVALUATIONS,
    "begin_attainment": Stage.PLANNING,
}


@st.composite
def participants(draw: st.DrawFn) -> tuple[Participant, ...]:
    chosen = draw(st.lists(st.sampled_from(EMPLOYEES), min_size=1, max_size=6, unique=True))
    people = []
    for employee in chosen:
        managers = [None, *(other for other in EMPLOYEES if other != employee)]
        manager = draw(st.sampled_from(managers), label="manager")
        people.append(Participant(employee_id=employee, manager_id=manager))
    return tuple(people)


@st.composite
def entry(draw: st.DrawFn, employee: str) -> ParticipantStatus:
    number = EMPLOYEES.index(employee)
    plan_states = draw(st.lists(st.sampled_from(PLAN_STATES), max_size=3), label="plans")
    return ParticipantStatus(
        employee_id=employee,
        job_description=draw(
            st.one_of(
                st.none(),
                st.builds(JobDescriptionRef, id=st.just(f"jd{number}"), number=st.integers(1, 4)),
            )
        ),
        evaluation=draw(
            st.one_of(
                st.none(),
                st.builds(
                    EvaluationRef,
                    id=st.just(f"ev{number}"),
                    state=st.sampled_from(EVALUATION_STATES),
                ),
            )
        ),
        plans=[PlanRef(id=f"pl{number}x{k}", state=s) for k, s in enumerate(plan_states)],
        goals=[
            GoalRef(id=f"g{number}x{k}", standing=s)
            for k, s in enumerate(draw(st.lists(st.sampled_from(Standing), max_size=3)))
        ],
    )


@st.composite
def statuses(draw: st.DrawFn, people: tuple[Participant, ...]) -> CycleStatus:
    """A summary of some of ``people`` (the rest have no entry), in any order."""
    ids = [person.employee_id for person in people]
    listed = draw(st.lists(st.sampled_from(ids), unique=True) if ids else st.just([]))
    return CycleStatus(participants=[draw(entry(employee)) for employee in listed])


def _fails(stage: Stage, item: ParticipantStatus) -> bool:
    """The issue's condition, written out again independently of perfcore's checks."""
    if stage is Stage.JOB_DESCRIPTIONS:
        return item.job_description is None
    if stage is Stage.EVALUATIONS:
        return item.evaluation is None or item.evaluation.state not in {
            "finalized",
            "acknowledged",
            "disputed",
        }
    return any(plan.state in {"draft", "submitted", "approved"} for plan in item.plans)


def _cycle_in(state: str, people: tuple[Participant, ...]) -> ReviewCycle:
    cycle = ReviewCycle.create(
        id="c-1",
        by=HR,
        at=AT,
        name="cycle",
        participants=people,
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31),
    )
    ready = ready_status(cycle.employee_ids)
    for trigger, _dest in path_to(LIFECYCLE, state):
        args = {} if trigger == "start" else {"status": ready}
        cycle = getattr(cycle, trigger)(by=HR, at=AT, **args)
    return cycle


@given(data=st.data(), trigger=st.sampled_from(sorted(ADVANCES)))
def test_an_advance_succeeds_iff_nobody_blocks_it(data: st.DataObject, trigger: str) -> None:
    stage = ADVANCES[trigger]
    people = data.draw(participants(), label="participants")
    cycle = _cycle_in(stage.value, people)
    status = data.draw(statuses(people), label="status")
    failing = {p.employee_id for p in people if _fails(stage, status.of(p.employee_id))}

    found = cycle.blockers(status)
    assert {blocker.employee_id for blocker in found} == failing
    assert all(blocker.stage is stage for blocker in found)
    before = attrs.evolve(cycle)
    try:
        after = getattr(cycle, trigger)(by=HR, at=AT, status=status)
    except GuardFailed as error:
        event("blocked")
        assert failing
        named = {employee for employee in EMPLOYEES if employee in error.why}
        assert named == failing
        assert cycle == before
    else:
        event("advanced")
        assert not failing
        assert after.version == cycle.version + 1
        assert (after.history[-1].trigger, str(after.state)) == (
            trigger,
            next(d for t, s, d in TABLE if (t, s) == (trigger, stage.value)),
        )


@given(data=st.data())
def test_the_report_agrees_with_the_blockers(data: st.DataObject) -> None:
    people = data.draw(participants(), label="participants")
    cycle = _cycle_in("planned", people)
    status = data.draw(statuses(people), label="status")
    report = cycle.progress(status, on=dt.date(2026, 6, 30))
    for stage in ADVANCES.values():
        progress = report.stage(stage)
        assert progress.blockers == cycle.blockers(status, stage)
        assert set(progress.done) | set(progress.waiting_on) == set(cycle.employee_ids)
        assert not set(progress.done) & set(progress.waiting_on)
    groups = (report.meeting, report.not_meeting, report.none_under_way)
    assert sorted(e for group in groups for e in group) == sorted(cycle.employee_ids)
    assert report.goals.total == sum(len(status.of(e).goals) for e in cycle.employee_ids)


def _arguments(data: st.DataObject, trigger: str, cycle: ReviewCycle) -> dict[str, Any]:
    if trigger == "edit":
        return data.draw(
            st.sampled_from([{"name": "renamed"}, {"participants": ()}, {"schedule": "FREQ=X"}]),
            label="edit",
        )
    if trigger in ADVANCES:
        ready = ready_status(cycle.employee_ids)
        # Mostly a summary that lets the cycle on, so that walks get to the later stages.
        summaries = st.one_of(st.just(ready), st.just(ready), statuses(cycle.participants))
        return {"status": data.draw(summaries, label="status")}
    if trigger == "add_participant":
        joiner = data.draw(st.sampled_from(EMPLOYEES[:3]), label="joiner")
        return {"participant": Participant(employee_id=joiner), "reason": "joined"}
    if trigger == "remove_participant":
        leaver = data.draw(st.sampled_from(EMPLOYEES[:3]), label="leaver")
        return {"employee_id": leaver, "reason": "left"}
    return {}


@given(data=st.data())
def test_random_commands_keep_to_the_table_and_replay(data: st.DataObject) -> None:
    cycle = _cycle_in("planned", data.draw(participants(), label="participants"))
    for _ in range(data.draw(st.integers(0, 15), label="length")):
        # Mostly what the table allows now, by HR; sometimes anything, by anyone.
        plausible = data.draw(st.integers(0, 9), label="plausible") > 0
        choices = LIFECYCLE.triggers_from(str(cycle.state)) if plausible else ()
        trigger = data.draw(st.sampled_from(choices or LIFECYCLE.triggers), label="trigger")
        by = HR if plausible else data.draw(st.sampled_from(PEOPLE), label="by")
        args = _arguments(data, trigger, cycle)
        before = attrs.evolve(cycle)
        try:
            after: ReviewCycle = getattr(cycle, trigger)(by=by, at=AT, **args)
        except PerfcoreError:
            assert cycle == before  # a refused command changes nothing
            continue
        assert cycle == before
        assert after.version == cycle.version + 1
        last = after.history[-1]
        assert (last.trigger, last.from_state, last.to_state) in TABLE
        assert str(after.state) in LIFECYCLE.states
        cycle = after
    event(f"reached {cycle.state}")
    assert ReviewCycle.replay(cycle.history) == cycle
