"""The questions answered from the query columns worked out from each object (a goal's days and
the day it is behind from, a plan's next review) give exactly what decoding every object gives:
on every day asked, before and after later changes, on heads written before the columns existed,
and on a store that cannot find by a range. verify_store proves the columns, and accepts heads
that have none of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from perfcore import Perfcore
from perfcore.actor import Actor
from perfcore.adapters.memory import MemoryStore, MemoryUnitOfWork
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.audit import verify_store
from perfcore.goal import Goal, GoalState, Standing
from perfcore.plan import Approver, Objective
from perfcore.ports import RangeFinds, RecordedEvent, Store, StreamHead
from perfcore.streams import DERIVED_COLUMNS, behind_from

YEAR = 2026
HR = Actor(id="hr", roles={"hr"})
BEN = Actor(id="ben", roles={"manager"})
_DERIVED = frozenset({"start", "due", "behind", "changed", "review", "team"})


class Clock:
    def __init__(self) -> None:
        self.day = dt.date(YEAR, 1, 5)

    def now(self) -> dt.datetime:
        return dt.datetime.combine(self.day, dt.time(9), tzinfo=dt.UTC)


class _PlainEvents:
    """A store's events without ``find_between``: the services must decode instead."""

    def __init__(self, events: Any, strip: bool) -> None:
        self._events = events
        self._strip = strip

    def append(
        self, head: StreamHead, events: Sequence[RecordedEvent], *, expected_version: int
    ) -> None:
        if self._strip:  # as a perfcore before the derived columns wrote it
            kept = {k: v for k, v in head.columns.items() if k not in _DERIVED}
            head = attrs.evolve(head, columns=kept)
        self._events.append(head, events, expected_version=expected_version)

    def __getattr__(self, name: str) -> Any:
        if name == "find_between":
            raise AttributeError(name)
        return getattr(self._events, name)


class PlainStore(MemoryStore):
    """A memory store that cannot find by a range, and, with ``strip``, writes heads without
    the derived columns (a store written before them)."""

    def __init__(self, strip: bool = False) -> None:
        super().__init__()
        self._strip = strip

    def unit_of_work(self) -> MemoryUnitOfWork:
        uow = super().unit_of_work()
        uow.events = _PlainEvents(uow.events, self._strip)  # type: ignore[assignment]
        return uow


def _history(pc: Perfcore, clock: Clock) -> None:
    """Goals and plans on several days: check-ins ahead and behind, achieved, missed, a review
    concluded, a team plan."""
    people = ["ana", "bo", "cy", "di", "ed", "fa"]
    clock.day = dt.date(YEAR, 1, 5)
    for n, person in enumerate(people):
        goal = f"g-{person}"
        pc.goals.create(
            by=Actor(id=person),
            id=goal,
            owner_id=person,
            manager_id="ben",
            title="Tickets",
            metric="tickets",
            baseline=n % 3,
            target=10 + n,
            direction="increase" if n % 4 else "decrease",
            start=dt.date(YEAR, 1 + n % 3, 1),
            due=dt.date(YEAR, 6 + n % 5, 28),
        ) if n % 4 else pc.goals.create(
            by=Actor(id=person),
            id=goal,
            owner_id=person,
            manager_id="ben",
            title="Reopened",
            metric="tickets reopened",
            baseline=12,
            target=2,
            direction="decrease",
            start=dt.date(YEAR, 2, 1),
            due=dt.date(YEAR, 2, 2) if n == 4 else dt.date(YEAR, 9, 30),
        )
        pc.goals.propose(goal, by=Actor(id=person))
        if person != "fa":  # one never approved
            pc.goals.approve(goal, by=BEN)
        pc.plans.create(
            by=BEN,
            id=f"p-{person}",
            kind="team" if person == "cy" else "development",
            subject_id=person,
            author_id="ben",
            team_member_ids=frozenset({"ana", "bo"}) if person == "cy" else frozenset(),
            start=dt.date(YEAR, 2, 1),
            end=dt.date(YEAR, 12, 31),
            approver=Approver.person("hr"),
            objectives=(
                Objective(goal_id="g-ana" if person == "cy" else goal, success="ten a week"),
            ),
            review_schedule="FREQ=MONTHLY;COUNT=3"
            if person == "di"
            else f"FREQ=MONTHLY;INTERVAL={1 + n % 2}",
        )
        if person != "ed":
            pc.plans.submit(f"p-{person}", by=BEN)
            pc.plans.approve(f"p-{person}", by=HR)
            pc.plans.acknowledge(f"p-{person}", by=Actor(id="ana" if person == "cy" else person))
    for day, values in (
        (dt.date(YEAR, 3, 2), [3, 9, 1, 11, 4, 0]),
        (dt.date(YEAR, 4, 15), [5, 1, 8, 6, 12, 0]),
        (dt.date(YEAR, 6, 1), [1, 2, 3, 3, 2, 0]),
    ):
        clock.day = day
        for person, value in zip(people[:5], values, strict=False):
            goal = pc.goals.get(f"g-{person}", by=HR)
            if goal.state is GoalState.ACTIVE:
                pc.goals.check_in(
                    f"g-{person}", by=Actor(id=person), on=day - dt.timedelta(days=3), value=value
                )
    clock.day = dt.date(YEAR, 6, 2)
    pc.goals.achieve("g-ana", by=BEN)
    pc.goals.cancel("g-bo", by=BEN, reason="not this year")
    pc.plans.start_review("p-ana", by=BEN)
    pc.plans.conclude_review("p-ana", by=BEN, notes="on course")


def _days() -> Iterator[dt.date]:
    day = dt.date(YEAR - 1, 12, 30)
    while day <= dt.date(YEAR + 1, 1, 5):
        yield day
        day += dt.timedelta(days=9)


def _answers(pc: Perfcore) -> list[Any]:
    found: list[Any] = []
    for day in _days():
        found.append(
            [(s.goal.id, s.goal.version, s.standing) for s in pc.queries.behind(by=HR, on=day)]
        )
        found.append([s.goal.id for s in pc.queries.behind(by=HR, on=day, limit=2)])
        found.append([s.goal.id for s in pc.queries.behind(by=HR, on=day, after=("bo", "g-bo"))])
        for overdue in (True, False):
            month = (day, day + dt.timedelta(days=30))
            reviews = pc.queries.plans_due_for_review(*month, by=HR, include_overdue=overdue)
            found.append([(r.plan.id, r.due) for r in reviews])
            page = pc.queries.plans_due_for_review(
                *month, by=HR, include_overdue=overdue, limit=1, after=(day, "p-bo")
            )
            found.append([(r.plan.id, r.due) for r in page])
        found.append(
            [(s.goal.id, s.standing) for s in pc.queries.team_goals("ben", by=BEN, on=day)]
        )
    return found


def _perfcore(store: Store, clock: Clock) -> Perfcore:
    pc = Perfcore(store, clock=clock)
    _history(pc, clock)
    return pc


@pytest.fixture
def reference() -> list[Any]:
    """The answers decoding every object gives (a store without range finds)."""
    return _answers(_perfcore(PlainStore(), Clock()))


@pytest.mark.parametrize("kind", ["memory", "sqlite", "legacy"])
def test_the_columns_give_what_decoding_gives(
    kind: str, reference: list[Any], tmp_path: Any
) -> None:
    store: Store
    if kind == "memory":
        store = MemoryStore()
    elif kind == "sqlite":
        store = SQLiteStore(tmp_path / "q.sqlite3")
    else:
        store = PlainStore(strip=True)
    pc = _perfcore(store, Clock())
    with store.unit_of_work() as uow:
        assert isinstance(uow.events, RangeFinds) == (kind != "legacy")
        heads = uow.events.find("Goal", "owner", "ana")
        assert _DERIVED.isdisjoint(heads[0].columns) == (kind == "legacy")
    assert _answers(pc) == reference
    assert verify_store(store).intact
    assert verify_store(store, replay=True).intact


def test_a_legacy_head_then_changed_gets_every_column() -> None:
    clock = Clock()
    store = PlainStore(strip=True)
    pc = _perfcore(store, clock)
    store._strip = False  # upgraded: the next save writes the derived columns
    clock.day = dt.date(YEAR, 7, 1)
    pc.goals.check_in("g-cy", by=Actor(id="cy"), on=clock.day, value=4)
    with store.unit_of_work() as uow:
        head = uow.events.head("Goal", "g-cy")
    assert head is not None
    assert _DERIVED - {"review", "team"} <= set(head.columns)
    assert verify_store(store, replay=True).intact


def test_a_head_whose_derived_column_was_edited_is_reported() -> None:
    store = MemoryStore()
    _perfcore(store, Clock())
    data = store._data
    key = ("Goal", "g-cy")
    head = data.heads[key]
    forged = attrs.evolve(head, columns={**head.columns, "behind": "2026-01-01"})
    data.heads[key] = forged
    report = verify_store(store, replay=True)
    assert not report.intact
    assert (report.kind, report.id) == ("Goal", "g-cy")


_GOALS = st.builds(
    lambda start, span, baseline, target, down, value, changed: (
        start,
        start + dt.timedelta(days=span),
        baseline,
        target,
        down,
        value,
        changed,
    ),
    start=st.dates(dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)),
    span=st.integers(1, 400),
    baseline=st.integers(-5, 20),
    target=st.integers(-5, 20),
    down=st.booleans(),
    value=st.none() | st.decimals(-10, 30, places=2),
    changed=st.integers(-30, 500),
)


@settings(max_examples=300, deadline=None)
@given(_GOALS)
def test_behind_from_is_the_first_day_the_goal_stands_behind(case: tuple[Any, ...]) -> None:
    start, due, baseline, target, down, value, changed = case
    assume(baseline != target and (target < baseline) == down)
    at = dt.datetime.combine(start + dt.timedelta(days=changed), dt.time(9), tzinfo=dt.UTC)
    goal = Goal.create(
        id="g",
        by=Actor(id="ana"),
        at=at,
        owner_id="ana",
        manager_id="ben",
        title="Tickets",
        metric="tickets a week",
        baseline=baseline,
        target=target,
        direction="decrease" if down else "increase",
        start=start,
        due=due,
    )
    goal = goal.propose(by=Actor(id="ana"), at=at).approve(by=BEN, at=at)
    if value is not None:
        goal = goal.check_in(by=Actor(id="ana"), at=at, on=at.date(), value=Decimal(value))
    first = behind_from(goal)
    today = at.date()
    for offset in range(0, 420, 3):
        day = today + dt.timedelta(days=offset)
        is_behind = goal.standing(day) is Standing.BEHIND
        assert is_behind == (first is not None and first <= day), (day, first)
    if first is not None:
        assert first >= today
        assert goal.standing(first) is Standing.BEHIND
        before = first - dt.timedelta(days=1)
        assert before < today or goal.standing(before) is not Standing.BEHIND
    assert set(DERIVED_COLUMNS["Goal"](goal)) == {"start", "due", "behind", "changed"}
