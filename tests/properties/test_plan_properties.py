"""Plan under random command sequences by random actors: the table, versions, refusals, replay."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from dateutil.rrule import rrulestr
from hypothesis import event, given
from hypothesis import strategies as st

from perfcore import (
    Actor,
    GoalState,
    PerfcoreError,
    PermissionDenied,
    TransitionNotAllowed,
    lifecycle_of,
)
from perfcore.plan import Approver, Objective, Plan, Support

UTC = dt.UTC
AT = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)
START = AT.date()
END = START + dt.timedelta(days=180)
LIFECYCLE = lifecycle_of(Plan)

BEN = Actor(id="ben", roles={"employee", "manager"})
ACTORS = (
    BEN,  # the author
    Actor(id="ana"),  # the employee, and a team member
    Actor(id="tom"),  # a team member
    Actor(id="cleo", roles={"employee", "approver"}, department="people"),
    Actor(id="olga", roles={"approver"}, department="people"),
    Actor(id="quinn", roles={"approver"}, department="finance"),
    Actor(id="hana", roles={"hr"}),
    Actor(id="dan", roles={"employee", "manager"}),
)
GOALS = ("g-1", "g-2", "g-3")
SCHEDULES = (
    "FREQ=WEEKLY",
    "FREQ=WEEKLY;INTERVAL=4",
    "FREQ=MONTHLY",
    "FREQ=DAILY;COUNT=3",
    "FREQ=YEARLY",  # no review inside a 180-day plan: submit refuses it
    "FREQ=WEEKLY;INTERVAL=0",  # not a schedule at all: edit refuses it
)
APPROVERS = (
    None,
    Approver.person("cleo"),
    Approver.department("people"),
    Approver.person("ben"),  # the author: nobody may approve
)
REASONS = st.sampled_from(["", "because", " "])
DAYS = st.dates(min_value=START - dt.timedelta(days=30), max_value=END + dt.timedelta(days=200))


def _objectives(goal_ids: list[str]) -> tuple[Objective, ...]:
    return tuple(Objective(goal_id=goal_id, success=f"{goal_id} done") for goal_id in goal_ids)


OBJECTIVES = st.lists(st.sampled_from(GOALS), unique=True, max_size=3).map(_objectives)
EDITS: dict[str, st.SearchStrategy[Any]] = {
    "objectives": OBJECTIVES,
    "review_schedule": st.sampled_from((None, *SCHEDULES)),
    "approver": st.sampled_from(APPROVERS),
    "start": DAYS,
    "end": DAYS,
    "support": st.just((Support(kind="time", description="Friday afternoons"),)),
}


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """Mostly plans ready to submit, sometimes ones that are not."""
    team = draw(st.booleans())
    whole = draw(st.integers(0, 3)) > 0
    return Plan.create(
        id="p-1",
        by=BEN,
        at=AT,
        kind="team" if team else draw(st.sampled_from(["development", "improvement"])),
        subject_id="team-7" if team else "ana",
        team_member_ids={"ana", "tom"} if team else (),
        author_id="ben",
        approver=draw(st.sampled_from(APPROVERS[1:3] if whole else APPROVERS)),
        objectives=draw(OBJECTIVES.filter(bool) if whole else OBJECTIVES),
        review_schedule=draw(st.sampled_from(SCHEDULES[:3] if whole else (None, *SCHEDULES[:-1]))),
        start=START,
        end=END,
    )


def _fire(plan: Plan, trigger: str, actor: Actor, at: dt.datetime, data: st.DataObject) -> Plan:
    """Fire ``trigger`` with arguments drawn at random: some valid, some not."""
    if trigger == "edit":
        field = data.draw(st.sampled_from(sorted(EDITS)))
        return plan.edit(by=actor, at=at, **{field: data.draw(EDITS[field])})
    if trigger in {"request_changes", "revise", "close", "cancel"}:
        reason = data.draw(REASONS)
        return getattr(plan, trigger)(by=actor, at=at, reason=reason)  # type: ignore[no-any-return]
    if trigger == "conclude_review":
        notes = data.draw(st.sampled_from(["", "on track"]))
        moved = data.draw(st.fixed_dictionaries({}, optional={"start": DAYS, "end": DAYS}))
        return plan.conclude_review(by=actor, at=at, notes=notes, **moved)
    if trigger == "attain":
        achieved = dict.fromkeys(plan.goal_ids, GoalState.ACHIEVED)
        states = data.draw(
            st.just(achieved) | st.dictionaries(st.sampled_from(GOALS), st.sampled_from(GoalState))
        )
        return plan.attain(by=actor, at=at, goal_states=states)
    if trigger == "reassign":
        author = data.draw(st.sampled_from(["mia", "ben", "ana", "cleo"]))
        return plan.reassign(by=actor, at=at, author_id=author, reason=data.draw(REASONS))
    return getattr(plan, trigger)(by=actor, at=at)  # type: ignore[no-any-return]


def _actor_for(plan: Plan, data: st.DataObject) -> Actor:
    # Mostly someone the policy lets fire something now, so that sequences get somewhere.
    permitted = [actor for actor in ACTORS if plan.allowed_triggers(actor)]
    if permitted and data.draw(st.integers(0, 3)):
        return data.draw(st.sampled_from(permitted))
    return data.draw(st.sampled_from(ACTORS))


def _trigger_for(plan: Plan, actor: Actor, data: st.DataObject) -> str:
    # Mostly a trigger that moves the plan on: cancelling ends a sequence, editing marks time.
    allowed = [t for t in plan.allowed_triggers(actor) if t not in {"cancel", "edit"}]
    if allowed and data.draw(st.integers(0, 3)):
        return data.draw(st.sampled_from(allowed))
    return data.draw(st.sampled_from(LIFECYCLE.triggers))


@given(plans(), st.data())
def test_random_commands_keep_to_the_table(plan: Plan, data: st.DataObject) -> None:
    at = AT
    states = set(LIFECYCLE.states)
    transitions = set(LIFECYCLE.transitions)
    for _ in range(data.draw(st.integers(5, 40))):
        at += dt.timedelta(days=data.draw(st.integers(0, 40)), hours=data.draw(st.integers(0, 9)))
        actor = _actor_for(plan, data)
        trigger = _trigger_for(plan, actor, data)
        before = attrs.evolve(plan)
        permitted = trigger in plan.allowed_triggers(actor)
        try:
            after = _fire(plan, trigger, actor, at, data)
        except TransitionNotAllowed:
            assert trigger not in LIFECYCLE.triggers_from(str(plan.state))
            assert plan == before
            continue
        except PermissionDenied:
            assert not permitted
            assert plan == before
            continue
        except PerfcoreError:
            # a guard or a validation refused it: nothing changed
            assert plan == before
            continue
        last = after.history[-1]
        assert permitted
        assert str(after.state) in states
        assert after.version == plan.version + 1 == last.version
        assert (last.trigger, last.from_state, last.to_state) == (
            trigger,
            str(plan.state),
            str(after.state),
        )
        assert (trigger, str(plan.state), str(after.state)) in transitions
        assert after.history[:-1] == plan.history
        plan = after
    for state in sorted({record.to_state for record in plan.history}):
        event(f"visited {state}")
    replayed = Plan.replay(plan.history)
    assert replayed == plan
    assert [event.to_state for event in replayed.history] == [
        event.to_state for event in plan.history
    ]
    assert [event.version for event in plan.history] == list(range(1, plan.version + 1))


def _plainly(schedule: str, start: dt.date, end: dt.date, after: dt.date) -> dt.date | None:
    """The next review asked of dateutil directly, for rules that match days often."""
    midnight = dt.datetime.combine(start, dt.time())
    found = rrulestr(schedule, dtstart=midnight).after(dt.datetime.combine(after, dt.time()))
    return found.date() if found is not None and found.date() <= end else None


@given(plans(), st.sampled_from(SCHEDULES[:-1]), DAYS, DAYS, DAYS)
def test_next_review_is_what_dateutil_says(
    plan: Plan, schedule: str, start: dt.date, end: dt.date, after: dt.date
) -> None:
    plan = attrs.evolve(plan, review_schedule=schedule, start=start, end=end)
    found = plan.next_review(after)
    assert found == _plainly(schedule, start, end, after)
    if found is not None:
        assert after < found <= end
        assert start <= found
