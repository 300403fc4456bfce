"""Queries that stay linear: filtered in the store, a fixed number of round trips, paged."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import attrs
import pytest

from perfcore import Perfcore
from perfcore.adapters import memory
from perfcore.adapters.memory import MemoryStore
from perfcore.cycle_status import ParticipantStatus
from perfcore.demo.organisation import Organisation, generate
from perfcore.errors import ValidationError
from perfcore.goal import Standing
from perfcore.plan import Approver, Objective
from perfcore.streams import Streams

#: Reads name their reader: the first HR person of every generated organisation.
READER = "p000001"

YEAR = 2026


class Clock:
    def __init__(self) -> None:
        self.day = dt.date(YEAR, 1, 5)

    def now(self) -> dt.datetime:
        return dt.datetime.combine(self.day, dt.time(9), tzinfo=dt.UTC)


def _organisation(size: int) -> tuple[Perfcore, Organisation, Clock]:
    org = generate(size, seed=3, departments=2)
    clock = Clock()
    pc = Perfcore(MemoryStore(), clock=clock, directory=org.directory(dt.date(YEAR - 1, 1, 1)))
    participants = org.participants()
    hr = org.hr[0].id
    with pc.bulk():
        pc.cycles.create(
            by=hr,
            id="c",
            name="Reviews",
            period_start=dt.date(YEAR, 1, 1),
            period_end=dt.date(YEAR, 12, 31),
            participants=participants,
        )
        pc.cycles.start("c", by=hr)
        for n, person in enumerate(participants):
            manager = person.manager_id
            assert manager is not None
            goal = f"g-{person.employee_id}"
            pc.goals.create(
                by=person.employee_id,
                id=goal,
                owner_id=person.employee_id,
                manager_id=manager,
                title="More tickets",
                metric="tickets",
                baseline=0,
                target=10,
                start=dt.date(YEAR, 1, 1),
                due=dt.date(YEAR, 12, 31),
            )
            pc.goals.propose(goal, by=person.employee_id)
            pc.goals.approve(goal, by=manager)
            plan = f"p-{person.employee_id}"
            pc.plans.create(
                by=manager,
                id=plan,
                kind="development",
                subject_id=person.employee_id,
                author_id=manager,
                start=dt.date(YEAR, 1, 5),
                end=dt.date(YEAR, 12, 31),
                approver=Approver.department("people"),
                cycle_id="c",
                objectives=(Objective(goal_id=goal, success="ten"),),
                review_schedule="FREQ=MONTHLY",
            )
            pc.plans.submit(plan, by=manager)
            approver = next(m.id for m in org.hr if m.id not in (manager, person.employee_id))
            pc.plans.approve(plan, by=approver)
            pc.plans.acknowledge(plan, by=person.employee_id)
            clock.day = dt.date(YEAR, 6, 30)
            # Every third one behind a steady pace (half the year gone, a tenth of the way).
            value = 1 if n % 3 == 0 else 6
            pc.goals.check_in(goal, by=person.employee_id, on=clock.day, value=value)
            clock.day = dt.date(YEAR, 1, 5)
    clock.day = dt.date(YEAR, 6, 30)
    return pc, org, clock


@pytest.fixture(scope="module")
def world() -> tuple[Perfcore, Organisation, Clock]:
    return _organisation(40)


def test_who_is_behind_in_the_organisation_and_in_a_department(
    world: tuple[Perfcore, Organisation, Clock],
) -> None:
    pc, org, clock = world
    behind = pc.queries.behind(on=clock.day, by=READER)
    expected = sorted(
        (p.employee_id, f"g-{p.employee_id}")
        for n, p in enumerate(org.participants())
        if n % 3 == 0
    )
    assert [(s.owner_id, s.goal.id) for s in behind] == expected
    assert all(s.standing is Standing.BEHIND for s in behind)
    department = org.departments[1]
    theirs = pc.queries.behind(on=clock.day, department=department, by=READER)
    assert theirs == [s for s in behind if org.member(s.owner_id).department == department]
    assert theirs
    # Before the check-ins, on 5 January, nobody was behind yet: the records as they stood.
    assert pc.queries.behind(on=dt.date(YEAR, 1, 1), by=READER) == []


def test_lists_are_read_a_page_at_a_time(world: tuple[Perfcore, Organisation, Clock]) -> None:
    pc, _org, clock = world
    everyone = pc.queries.behind(on=clock.day, by=READER)
    pages: list[Any] = []
    after = None
    while True:
        page = pc.queries.behind(on=clock.day, limit=4, after=after, by=READER)
        if not page:
            break
        assert len(page) <= 4
        pages += page
        after = (page[-1].owner_id, page[-1].goal.id)
    assert pages == everyone
    month = (clock.day, clock.day + dt.timedelta(days=31))
    due = pc.queries.plans_due_for_review(*month, by=READER)
    first = pc.queries.plans_due_for_review(*month, limit=5, by=READER)
    rest = pc.queries.plans_due_for_review(
        *month, after=(first[-1].due, first[-1].plan.id), by=READER
    )
    assert first + rest == due
    assert len(due) == len(_org.participants())
    manager = "p000001"
    team = pc.queries.team_goals(manager, on=clock.day, by=READER)
    assert pc.queries.team_goals(manager, on=clock.day, limit=2, by=READER) == team[:2]
    with pytest.raises(ValidationError):
        pc.queries.behind(on=clock.day, after=("only one",), by=READER)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        pc.queries.behind(on=clock.day, limit=0, by=READER)


def test_plans_due_for_one_author_decode_only_that_authors_plans(
    world: tuple[Perfcore, Organisation, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    pc, org, clock = world
    decoded: Counter[str] = Counter()
    load_head = Streams.load_head

    def counted(self: Streams, head: Any) -> Any:
        decoded[head.kind] += 1
        return load_head(self, head)

    monkeypatch.setattr(Streams, "load_head", counted)
    author = "p000001"
    mine = [p.employee_id for p in org.participants() if p.manager_id == author]
    month = (clock.day, clock.day + dt.timedelta(days=31))
    found = pc.queries.plans_due_for_review(*month, author_id=author, by=READER)
    assert sorted(review.plan.subject_id for review in found) == sorted(mine)
    assert decoded["Plan"] == len(mine)


def _round_trips(pc: Perfcore, monkeypatch: pytest.MonkeyPatch, on: dt.date) -> Counter[str]:
    calls: Counter[str] = Counter()
    for name in ("find", "head", "read"):
        original = getattr(memory._Events, name)

        def wrapped(self: Any, *args: Any, _name: str = name, _f: Any = original) -> Any:
            calls[_name] += 1
            return _f(self, *args)

        monkeypatch.setattr(memory._Events, name, wrapped)
    pc.cycles.status("c", on=on, by=READER)
    pc.queries.cycle_progress("c", on=on, by=READER)
    monkeypatch.undo()
    return calls


def test_the_cycle_status_takes_the_same_round_trips_for_any_number_of_people(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Above cycles.py's _FEW participants, goals are found state by state.
    small, _, clock = _organisation(70)
    large, _, _ = _organisation(150)
    assert _round_trips(small, monkeypatch, clock.day) == _round_trips(
        large, monkeypatch, clock.day
    )
    status = large.cycles.status("c", on=clock.day, by=READER)
    assert len(status.participants) == 149
    assert all(entry.plans and entry.goals for entry in status.participants)


def test_the_status_built_unchecked_passes_every_check_of_its_records() -> None:
    pc, _, clock = _organisation(150)
    status = pc.cycles.status("c", on=clock.day, by=READER)
    assert len(status.participants) == 149
    attrs.validate(status)
    for entry in status.participants:
        attrs.validate(entry)  # the validators the summary skipped, run now
        checked = ParticipantStatus(
            employee_id=entry.employee_id,
            job_description=entry.job_description,
            evaluation=entry.evaluation,
            plans=list(entry.plans),
            goals=list(entry.goals),
        )
        assert checked == entry
        refs = (entry.job_description, entry.evaluation, *entry.plans, *entry.goals)
        for ref in [ref for ref in refs if ref is not None]:
            attrs.validate(ref)
            assert ref == type(ref)(**attrs.asdict(ref, recurse=False))
            assert type(getattr(ref, "state", "")) is str  # plain text, as the converter keeps it
