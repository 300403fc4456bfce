"""The demo's scenario: a whole review cycle over a generated organisation, through the services.

:func:`run` generates an organisation (:mod:`perfcore.demo.organisation`), keeps its directory in
the SQLite file it is given (:class:`~perfcore.adapters.sqlite_directory.SQLiteDirectory`) and
runs one year's review cycle on a :class:`~perfcore.adapters.sqlite.SQLiteStore` in the same
file, every command through the services and so checked against the directory, the policy and
the guards, as an HR system's would be. The same ``seed`` gives the same story: the clock steps
through the year (:class:`DemoClock`), ids are counted, and every choice is drawn from the seed.

The story, in 2026 (the cycle's period):

- **January.** HR opens the cycle. Each department's head drafts the role description of its
  staff, and HR the one every manager holds; their holders discuss them (one draft is revised
  after holders say it does not describe their work, and discussed again), then each is
  endorsed and published. Everyone proposes a goal for the year (some a goal for the half
  year too); a few are sent back by their manager for a measurable target, then approved.
- **February and March.** Last year's evaluations: a self review, two colleagues' feedback and
  the manager's review; where a manager's score is far from the feedback, HR calibrates it
  before finalizing (a *divergence*); most people acknowledge their result, a few dispute it,
  and HR resolves the first dispute.
- **April.** Development and improvement plans, each tied to its subject's goals, approved by HR
  and acknowledged; reviewed every month from May, though not always on time.
- **Through the year.** Check-ins at the end of March and June and on the demo's last day: some
  people are ahead, some behind, and one manager (:attr:`DemoResult.manager_behind`) far
  behind. Half-year goals are achieved or missed at the end of June; plans whose goals were
  achieved are attained.
- **July.** Someone joins a team; HR brings them into the cycle, their goal is approved, and
  their first evaluation is opened in October.
- **30 October**, the demo's last day (:data:`LAST_DAY`): the cycle is in its attainment stage.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.sqlite3"
>>> result = run(path, people=24, seed=3)
>>> result.people, result.on, result.cycle_id
(24, datetime.date(2026, 10, 30), 'cycle-2026')
>>> result.manager_behind in result.managers
True
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs

from perfcore.actor import Role
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.adapters.sqlite_directory import SQLiteDirectory
from perfcore.cycle_status import Participant
from perfcore.demo.organisation import HR_DEPARTMENT, Member, Organisation, generate
from perfcore.directory import MemoryDirectory, PlacedDirectory
from perfcore.errors import ValidationError
from perfcore.evaluation import Rating
from perfcore.job_description import Criterion
from perfcore.plan import Approver, Objective
from perfcore.services import Perfcore

__all__ = [
    "CYCLE_ID",
    "LAST_DAY",
    "MIN_PEOPLE",
    "DemoClock",
    "DemoResult",
    "Progress",
    "run",
]

YEAR = 2026
#: The review cycle the demo runs.
CYCLE_ID = f"cycle-{YEAR}"
#: The demo's last day: the records stand as they were left that day.
LAST_DAY = dt.date(YEAR, 10, 30)
#: The fewest people the demo's organisation may have (HR, and colleagues to give feedback).
MIN_PEOPLE = 20
#: The most people.
MAX_PEOPLE = 100_000
#: Participants whose commands of one phase share a bulk unit of work.
CHUNK = 250
#: The day everyone was in the organisation from.
HIRED = dt.date(YEAR - 1, 1, 1)

#: ``progress(done, total, phase)``: called as the demo goes (``done`` of ``total`` steps).
Progress = Callable[[int, int, str], None]

_CRITERIA = {
    "engineering": (
        Criterion(name="Delivery", measured_by="changes shipped", weight=50, required_level="4"),
        Criterion(name="Quality", measured_by="defects found", weight=30, required_level="4"),
        Criterion(name="Collaboration", measured_by="feedback", weight=20, required_level="3"),
    ),
    "support": (
        Criterion(name="Reply time", measured_by="median hours", weight=60, required_level="4"),
        Criterion(name="Customer rating", measured_by="survey", weight=40, required_level="4"),
    ),
    "sales": (
        Criterion(name="Pipeline", measured_by="qualified leads", weight=50, required_level="4"),
        Criterion(name="Renewals", measured_by="renewal rate", weight=50, required_level="4"),
    ),
}
_DEFAULT_CRITERIA = (
    Criterion(name="Outcomes", measured_by="agreed results", weight=60, required_level="4"),
    Criterion(name="Collaboration", measured_by="feedback", weight=40, required_level="3"),
)
_MANAGER_CRITERIA = (
    Criterion(name="Team results", measured_by="team goals met", weight=50, required_level="4"),
    Criterion(name="Growing people", measured_by="plans attained", weight=30, required_level="3"),
    Criterion(name="Hiring", measured_by="roles filled", weight=20, required_level="3"),
)
_METRICS = {
    "engineering": ("Ship the roadmap items", "roadmap items shipped"),
    "support": ("Resolve more tickets", "tickets resolved"),
    "sales": ("Grow the pipeline", "qualified leads"),
    HR_DEPARTMENT: ("Fill the open roles", "roles filled"),
}
MANAGER_POSITION = "manager"


def staff_position(department: str) -> str:
    """The position the staff of ``department`` hold."""
    return f"{department}-staff"


def position_of(member: Member) -> str:
    """The position ``member`` would hold: every manager one, staff their department's."""
    if "manager" in member.roles:
        return MANAGER_POSITION
    return staff_position(member.department)


def authors(org: Organisation) -> dict[str, str]:
    """Who writes each position's role description: HR's lead the managers', each
    department's head its staff's."""
    found = {MANAGER_POSITION: org.hr[0].id}
    for department in org.departments:
        found[staff_position(department)] = org.in_department(department)[0].id
    return found


def positions(org: Organisation) -> dict[str, str | None]:
    """Each member's position (the head of the organisation has none). A position whose
    holders could not reach a description's endorsement quorum (three answers, its author
    aside) is not described: its would-be holders have none, and a description of their own."""
    wanted = {m.id: position_of(m) for m in org.members[1:]}
    written_by = authors(org)
    holders: dict[str, int] = {}
    for person, position in wanted.items():
        if person != written_by[position]:
            holders[position] = holders.get(position, 0) + 1
    found: dict[str, str | None] = {org.head.id: None}
    for person, position in wanted.items():
        found[person] = position if holders[position] >= 3 else None
    return found


class DemoClock:
    """The day the demo has reached, at 9 o'clock UTC, a microsecond later with every reading
    (so that events keep their order)."""

    def __init__(self, day: dt.date) -> None:
        self.day = day
        self._tick = 0

    def now(self) -> dt.datetime:
        self._tick += 1
        start = dt.datetime.combine(self.day, dt.time(9), tzinfo=dt.UTC)
        return start + dt.timedelta(microseconds=self._tick)


class _Ids:
    """Counted ids: the same run makes the same ids."""

    def __init__(self) -> None:
        self._count = 0

    def new_id(self, kind: str) -> str:
        self._count += 1
        return f"{kind.lower()}-{self._count:08d}"


@attrs.frozen(kw_only=True)
class DemoResult:
    """What the demo made.

    Attributes:
        path: the SQLite file (the store and the directory).
        people: how many people the organisation has (the joiner included).
        seed: the seed.
        on: the demo's last day.
        cycle_id: the review cycle.
        hr_id: the HR lead, who ran the cycle.
        head_id: the head of the organisation.
        managers: everyone who manages someone.
        manager_behind: a manager far behind on their own goals.
        joiner_id: the person who joined in July.
        disputed: the evaluations disputed (the first was resolved).
        diverged: the evaluations HR calibrated before finalizing.
        commands: how many commands the services ran.
    """

    path: Path
    people: int
    seed: int
    on: dt.date
    cycle_id: str
    hr_id: str
    head_id: str
    managers: tuple[str, ...]
    manager_behind: str
    joiner_id: str
    disputed: tuple[str, ...]
    diverged: tuple[str, ...]
    commands: int


def _departments(people: int) -> int:
    """How many departments besides HR: three for a small organisation, more as it grows."""
    return max(3, min(10, people // 2000))


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _next_month(day: dt.date) -> dt.date:
    """The same day of the next month (a monthly review schedule's next day)."""
    month = day.month % 12 + 1
    return day.replace(year=day.year + (day.month == 12), month=month, day=min(day.day, 28))


def _fraction(start: dt.date, due: dt.date, on: dt.date) -> float:
    """How far ``on`` is through the span from ``start`` to ``due`` (0..1)."""
    return min(1.0, max(0.0, (on - start).days / max(1, (due - start).days)))


class _Scenario:
    """One run of the story (see the module's documentation)."""

    def __init__(
        self,
        pc: Perfcore,
        org: Organisation,
        clock: DemoClock,
        seed: int,
        progress: Progress | None,
    ) -> None:
        self.pc, self.org, self.clock, self.seed = pc, org, clock, seed
        self.people = [p.employee_id for p in org.participants()]
        self.hr = [m.id for m in org.hr]
        self.hr_lead = self.hr[0]
        self.managers = tuple(m.id for m in org if "manager" in m.roles)
        self.commands = 0
        self._progress = progress
        self._done = 0
        self._total = 0
        self.pace: dict[str, float] = {}
        self.half_year: set[str] = set()
        self.plans: dict[str, str] = {}  # plan id -> subject
        self.descriptions: dict[str, str] = {}  # position -> published description id
        # description id -> its number and criteria, given with each evaluation (as an HR
        # system that has them at hand would, rather than having each creation read them)
        self.published: dict[str, tuple[int, tuple[Criterion, ...]]] = {}
        self.disputed: list[str] = []
        self.diverged: list[str] = []
        self.joiner = f"p{len(org):06d}"
        self.developing = ""
        self.manager_behind = self.choose_manager_behind(org)
        self.position = positions(org)
        joiner_position = staff_position(org.member(self.manager_behind).department)
        self.position[self.joiner] = (
            joiner_position if joiner_position in self.position.values() else None
        )
        self.achieved: set[str] = set()
        self.finished: set[str] = set()
        self.attained: set[str] = set()
        self.goals: dict[str, tuple[int, dt.date, dt.date]] = {}  # id -> target, start, due
        self.latest: dict[str, int] = {}  # goal id -> its latest value
        self.reviewed: dict[str, dt.date] = {}  # plan id -> its latest review

    # -- the pieces -----------------------------------------------------------------------------

    def _draw(self, *keys: object) -> float:
        """A number in [0, 1) drawn from the seed and ``keys``: the same for the same run."""
        return random.Random(f"{self.seed}:" + ":".join(str(key) for key in keys)).random()

    @staticmethod
    def choose_manager_behind(org: Organisation) -> str:
        """A manager below a department head, in the largest department that is not HR (a
        department head if there is none)."""
        departments = [d for d in org.departments if d != HR_DEPARTMENT]
        largest = max(departments, key=lambda d: (len(org.in_department(d)), d))
        members = org.in_department(largest)
        below_head = [m.id for m in members[1:] if "manager" in m.roles]
        return below_head[0] if below_head else members[0].id

    def _step(self, phase: str, count: int = 1) -> None:
        self._done += count
        if self._progress is not None:
            self._progress(min(self._done, self._total), self._total, phase)

    def _each(self, phase: str, people: Sequence[str], work: Callable[[str], int]) -> None:
        """``work`` for each of ``people``, in bulk units of work of :data:`CHUNK` people."""
        for chunk in _chunks(people):
            with self.pc.bulk():
                for person in chunk:
                    self.commands += work(person)
            self._step(phase, len(chunk))

    def _on(self, day: dt.date) -> None:
        self.clock.day = day

    def _manager(self, person: str) -> str:
        if person == self.joiner:
            return self.joiner_manager
        manager = self.org.member(person).manager_id
        assert manager is not None
        return manager

    def _member(self, person: str) -> Member:
        if person == self.joiner:
            return attrs.evolve(
                self.org.member(self.joiner_manager),
                id=person,
                manager_id=self.joiner_manager,
                roles=frozenset({Role.EMPLOYEE}),
            )
        return self.org.member(person)

    def _hr_for(self, *busy: str | None) -> str:
        """An HR member who is none of ``busy`` (never the subject, author or evaluator)."""
        return next(person for person in self.hr if person not in busy)

    @property
    def joiner_manager(self) -> str:
        """The joiner's manager: the manager behind, who is hiring."""
        return self.manager_behind

    # -- the year -------------------------------------------------------------------------------

    def run(self) -> None:
        people = len(self.people)
        positions = self._positions()
        # Nine phases take each participant once; the rest are steps of their own.
        self._total = 2 + len(positions) + 9 * people + 6 + 12
        self._on(dt.date(YEAR, 1, 5))
        self.pc.cycles.create(
            by=self.hr_lead,
            id=CYCLE_ID,
            name=f"{YEAR} reviews",
            period_start=dt.date(YEAR, 1, 1),
            period_end=dt.date(YEAR, 12, 31),
            participants=self.org.participants(),
        )
        self.pc.cycles.start(CYCLE_ID, by=self.hr_lead)
        self.commands += 2
        self._step("the cycle opens", 2)

        self._on(dt.date(YEAR, 1, 6))
        for position, (author, department) in positions.items():
            with self.pc.bulk():
                self.commands += self._describe(position, author, department)
            self._step("role descriptions")
        unplaced = [p for p in self.people if self.position[p] is None]
        for chunk in _chunks(unplaced):
            with self.pc.bulk():
                for person in chunk:
                    self.commands += self._describe_person(person)

        for person in self.people:
            self.pace[person] = self._pace(person)
            if person == self.manager_behind or self._draw("half-year", person) < 0.4:
                self.half_year.add(person)
        # Someone well on track has a development plan tied to a half-year goal: it is attained.
        self.developing = next(p for p in self.people if self.pace[p] > 1.08)
        self.half_year.add(self.developing)
        self._on(dt.date(YEAR, 1, 12))
        self._each("goals", self.people, self._goals)

        self._advance(dt.date(YEAR, 2, 2))
        self._on(dt.date(YEAR, 2, 9))
        self._each("evaluations", self.people, self._evaluation)
        self._on(dt.date(YEAR, 3, 9))
        self._each("calibration and results", self.people, self._results)
        self._on(dt.date(YEAR, 3, 23))
        self._resolve_first_dispute()

        self._on(dt.date(YEAR, 3, 31))
        self._each("first quarter check-ins", self.people, self._check_in)
        self._advance(dt.date(YEAR, 3, 31))

        self._on(dt.date(YEAR, 4, 1))
        self._each("plans", self.people, self._plan)
        self._advance(dt.date(YEAR, 4, 27))

        months = [dt.date(YEAR, month, 4) for month in range(5, 11)]
        for day in months[:2]:
            self._reviews(day)
        self._on(dt.date(YEAR, 6, 26))
        self._each("half-year check-ins", self.people, self._check_in)
        self._on(dt.date(YEAR, 6, 30))
        self._each("half-year goals", self.people, self._half_year_end)
        self._joiner_arrives()
        for day in months[2:]:
            self._reviews(day)
            if day.month == 7:
                self._on(dt.date(YEAR, 7, 13))
                self._each("plans attained", self.people, self._attain)
        self._on(dt.date(YEAR, 10, 5))
        self._joiner_evaluation()
        self._on(LAST_DAY)
        self._each("October check-ins", [*self.people, self.joiner], self._check_in)
        self._step("done", self._total - self._done)

    def _advance(self, day: dt.date) -> None:
        self._on(day)
        self.pc.cycles.advance(CYCLE_ID, by=self.hr_lead)
        self.commands += 1
        self._step("the cycle advances", 2)

    def _pace(self, person: str) -> float:
        """How fast ``person`` moves toward their goals: 1 is exactly on a steady line."""
        if person == self.manager_behind:
            return 0.35
        draw = self._draw("pace", person)
        if draw < 0.12:
            return 0.5 + draw  # well behind
        if draw < 0.3:
            return 0.85 + draw / 3  # a little behind
        return 1.08 + (draw - 0.3) / 2  # on track or ahead

    # -- role descriptions ----------------------------------------------------------------------

    def _positions(self) -> dict[str, tuple[str, str]]:
        """Each position described, with its description's author and department."""
        written_by = authors(self.org)
        found: dict[str, tuple[str, str]] = {}
        for position in sorted({p for p in self.position.values() if p is not None}):
            author = written_by[position]
            found[position] = (author, self.org.member(author).department)
        return found

    def _holders(self, position: str) -> list[str]:
        return [m.id for m in self.org.members[1:] if self.position[m.id] == position]

    def _description_of(self, person: str) -> str:
        position = self.position[person]
        return self.descriptions[position] if position is not None else f"jd-{person}"

    def _describe_person(self, person: str) -> int:
        """A description written for one employee by their manager, discussed with them and
        colleagues (for staff whose position has too few holders to endorse one)."""
        member = self._member(person)
        manager = self._manager(person)
        peers = [p for p in self.org.neighbours(person, 6) if p not in (manager, person)][:3]
        jds = self.pc.job_descriptions
        id = f"jd-{person}"
        jds.create(
            by=manager,
            id=id,
            title=f"{member.department.capitalize()} specialist",
            department=member.department,
            employee_id=person,
            responsibilities=(f"Do the {member.department} team's work well", "Help colleagues"),
            criteria=_CRITERIA.get(member.department, _DEFAULT_CRITERIA),
            audience=frozenset({person, *peers}),
        )
        jds.open_feedback(id, by=manager)
        for reader in (person, *peers):
            jds.give_feedback(id, by=reader, supports=True)
        jds.endorse(id, by=manager)
        published = jds.publish(id, by=manager)
        self.published[id] = (published.number, published.criteria)
        return 5 + len(peers)

    def _describe(self, position: str, author: str, department: str) -> int:
        jds = self.pc.job_descriptions
        id = f"jd-{position}"
        manager = position == MANAGER_POSITION
        criteria = _MANAGER_CRITERIA if manager else _CRITERIA.get(department, _DEFAULT_CRITERIA)
        title = "People manager" if manager else f"{department.capitalize()} staff"
        duties = ("Set and review goals with each report", "Evaluate fairly, with evidence")
        if not manager:
            duties = (f"Do the {department} team's work well", "Help colleagues")
        jds.create(
            by=author,
            id=id,
            title=title,
            department=department,
            position_id=position,
            responsibilities=duties,
            criteria=criteria,
            reason="the role as we describe it this year",
        )
        jds.open_feedback(id, by=author)
        commands = 2
        holders = [h for h in self._holders(position) if h != author]
        revised = position == staff_position(self._revised_department())
        responders = holders[:5]
        if revised:
            for holder in responders[:2]:
                jds.give_feedback(
                    id,
                    by=holder,
                    supports=False,
                    comment="it leaves out the on-call rota we all do",
                )
            jds.revise(id, by=author, reason="holders said it leaves out the on-call rota")
            jds.edit(id, by=author, responsibilities=(*duties, "Take a turn on the on-call rota"))
            jds.open_feedback(id, by=author)
            commands += 4 + len(responders[:2])
        for n, holder in enumerate(responders):
            supports = n != 3  # one of five is not convinced; the quorum still supports it
            comment = "" if supports else "the weights feel arbitrary"
            jds.give_feedback(id, by=holder, supports=supports, comment=comment)
        jds.endorse(id, by=author)
        published = jds.publish(id, by=author)
        self.descriptions[position] = id
        self.published[id] = (published.number, published.criteria)
        return commands + len(responders) + 2

    def _revised_department(self) -> str:
        departments = [d for d in self.org.departments if d != HR_DEPARTMENT]
        return departments[int(self._draw("revised") * len(departments))]

    # -- goals ----------------------------------------------------------------------------------

    def _goals(self, person: str) -> int:
        member = self._member(person)
        manager = self._manager(person)
        title, metric = _METRICS.get(member.department, ("Deliver the agreed outcomes", "outcomes"))
        if "manager" in member.roles:
            title, metric = "Grow the team's results", "team goals met (%)"
        start = dt.date(YEAR, 7, 1) if person == self.joiner else dt.date(YEAR, 1, 1)
        spans = [("year", start, dt.date(YEAR, 12, 31), title)]
        if person in self.half_year:
            spans.append(("h1", start, dt.date(YEAR, 6, 30), "Finish the first-half project"))
        commands = 0
        for name, begins, due, goal_title in spans:
            id = f"g-{person}-{name}"
            target = 80
            self.pc.goals.create(
                by=person,
                id=id,
                owner_id=person,
                manager_id=manager,
                title=goal_title,
                metric=metric,
                baseline=0,
                target=target,
                start=begins,
                due=due,
            )
            self.pc.goals.propose(id, by=person)
            commands += 2
            if self._draw("sent back", id) < 0.1:
                self.pc.goals.request_changes(
                    id, by=manager, reason="make the target one we can both measure"
                )
                target = 100
                self.pc.goals.edit(id, by=person, target=target)
                self.pc.goals.propose(id, by=person)
                commands += 3
            self.pc.goals.approve(id, by=manager, reason="agreed in our 1:1")
            self.goals[id] = (target, begins, due)
            commands += 1
        return commands

    def _goal_ids(self, person: str) -> list[str]:
        ids = [f"g-{person}-year"]
        if person in self.half_year:
            ids.append(f"g-{person}-h1")
        return ids

    def _check_in(self, person: str) -> int:
        commands = 0
        day = self.clock.day
        for id in self._goal_ids(person):
            target, start, due = self.goals[id]
            if id in self.finished or day < start:
                continue
            value = int(target * min(1.0, self.pace[person] * _fraction(start, due, day)))
            self.pc.goals.check_in(id, by=person, on=day, value=value)
            self.latest[id] = value
            commands += 1
        return commands

    def _half_year_end(self, person: str) -> int:
        if person not in self.half_year:
            return 0
        id = f"g-{person}-h1"
        manager = self._manager(person)
        target = self.goals[id][0]
        latest = self.latest.get(id, 0)
        if latest >= target:
            self.pc.goals.achieve(id, by=manager, reason="done by the end of June")
            self.achieved.add(id)
        else:
            self.pc.goals.miss(id, by=manager, reason=f"reached {latest} of {target} by June")
        self.finished.add(id)
        return 1

    # -- evaluations ----------------------------------------------------------------------------

    def _scores(self, person: str, purpose: str) -> dict[str, int]:
        criteria = self._criteria_of(person)
        return {c.name: 3 + int(self._draw(purpose, person, c.name) * 3) for c in criteria}

    def _criteria_of(self, person: str) -> tuple[Criterion, ...]:
        member = self._member(person)
        if "manager" in member.roles:
            return _MANAGER_CRITERIA
        return _CRITERIA.get(member.department, _DEFAULT_CRITERIA)

    def _diverges(self, person: str) -> bool:
        return person == self.people[len(self.people) // 3] or self._draw("diverge", person) < 0.04

    def _disputes(self, person: str) -> bool:
        first = self.people[(2 * len(self.people)) // 3]
        second = self.people[(5 * len(self.people)) // 6]
        return person in (first, second) or (
            not self._diverges(person) and self._draw("dispute", person) < 0.03
        )

    def _evaluation(self, person: str) -> int:
        manager = self._manager(person)
        id = f"ev-{person}"
        evs = self.pc.evaluations
        description = self._description_of(person)
        number, criteria = self.published[description]
        evs.create(
            by=manager,
            id=id,
            subject_id=person,
            evaluator_id=manager,
            job_description_id=description,
            job_description_number=number,
            criteria=criteria,
            cycle_id=CYCLE_ID,
            period_start=dt.date(YEAR - 1, 1, 1),
            period_end=dt.date(YEAR - 1, 12, 31),
        )
        evs.open(id, by=manager)
        own = self._scores(person, "self")
        evs.submit_self_review(
            id,
            by=person,
            ratings=[
                Rating(criterion=name, score=score, evidence="my notes from the year")
                for name, score in own.items()
            ],
        )
        managers = self._scores(person, "manager")
        peers = [p for p in self.org.neighbours(person, 4) if p != manager][:2]
        feedback = {name: min(5, score + 1) for name, score in managers.items()}
        if self._diverges(person):
            first = next(iter(managers))
            managers[first] = 1  # far below what colleagues saw
            feedback[first] = 5
        for peer in peers:
            evs.request_feedback(id, by=manager, reviewer_id=peer, relationship="peer")
        for peer in peers:
            evs.give_feedback(id, by=peer, scores=feedback, comment="good to work with")
        evs.submit_manager_review(
            id,
            by=manager,
            ratings=[
                Rating(criterion=name, score=score, evidence="our 1:1 notes and the results")
                for name, score in managers.items()
            ],
        )
        return 4 + 2 * len(peers)

    def _results(self, person: str) -> int:
        manager = self._manager(person)
        id = f"ev-{person}"
        hr = self._hr_for(person, manager)
        commands = 2
        if self._diverges(person):
            first = next(iter(self._criteria_of(person))).name
            self.pc.evaluations.calibrate(
                id,
                by=hr,
                criterion=first,
                score=4,
                reason="colleagues and the year's results support a 4, not a 1",
            )
            self.diverged.append(id)
            commands += 1
        self.pc.evaluations.finalize(id, by=hr)
        if self._disputes(person):
            self.pc.evaluations.dispute(
                id, by=person, reason="the year's second half is not reflected"
            )
            self.disputed.append(id)
        else:
            self.pc.evaluations.acknowledge(id, by=person, comment="thank you")
        return commands

    def _resolve_first_dispute(self) -> None:
        if not self.disputed:
            return
        id = self.disputed[0]
        subject = id.removeprefix("ev-")
        hr = self._hr_for(subject, self._manager(subject))
        with self.pc.bulk():
            self.pc.evaluations.resolve_dispute(
                id, by=hr, resolution="we went through the evidence together: the scores stand"
            )
            self.pc.evaluations.acknowledge(id, by=subject, comment="understood")
        self.commands += 2

    # -- plans ----------------------------------------------------------------------------------

    def _plan(self, person: str) -> int:
        pace = self.pace[person]
        if pace < 0.85 or person == self.manager_behind:
            kind = "improvement"
        elif person == self.developing or self._draw("development plan", person) < 0.08:
            kind = "development"
        else:
            return 0
        manager = self._manager(person)
        id = f"plan-{person}"
        goal = f"g-{person}-h1" if person in self.half_year else f"g-{person}-year"
        plans = self.pc.plans
        plans.create(
            by=manager,
            id=id,
            kind=kind,
            subject_id=person,
            author_id=manager,
            start=dt.date(YEAR, 4, 1),
            end=dt.date(YEAR, 12, 31),
            approver=Approver.department(HR_DEPARTMENT),
            cycle_id=CYCLE_ID,
            objectives=(Objective(goal_id=goal, success="the goal's target reached"),),
            review_schedule="FREQ=MONTHLY",
        )
        plans.submit(id, by=manager)
        plans.approve(id, by=self._hr_for(person, manager), reason="support agreed")
        plans.acknowledge(id, by=person)
        self.plans[id] = person
        self.reviewed[id] = dt.date(YEAR, 4, 1)
        return 4

    def _reviews(self, day: dt.date) -> None:
        """The plans' monthly reviews: most on time, some left waiting."""
        self._on(day)
        ids = sorted(self.plans)
        for chunk in _chunks(ids):
            with self.pc.bulk():
                for id in chunk:
                    subject = self.plans[id]
                    author = self._manager(subject)
                    if id in self.attained or _next_month(self.reviewed[id]) > day:
                        continue
                    if self._draw("review late", id, day) < 0.15:
                        continue  # the manager did not get to it this month
                    self.pc.plans.start_review(id, by=author)
                    self.pc.plans.conclude_review(
                        id, by=author, notes=f"reviewed in {day:%B}: progress discussed"
                    )
                    self.reviewed[id] = day
                    self.commands += 2
        self._step(f"plan reviews in {day:%B}")

    def _attain(self, person: str) -> int:
        id = f"plan-{person}"
        if id not in self.plans or f"g-{person}-h1" not in self.achieved:
            return 0
        self.pc.plans.attain(id, by=self._manager(person))
        self.attained.add(id)
        return 1

    # -- the joiner -----------------------------------------------------------------------------

    def _joiner_arrives(self) -> None:
        manager = self.joiner_manager
        self._on(dt.date(YEAR, 7, 6))
        self.pc.cycles.add_participant(
            CYCLE_ID,
            by=self.hr_lead,
            participant=Participant(employee_id=self.joiner, manager_id=manager),
            reason="joined the team on 1 July",
        )
        self.pace[self.joiner] = 1.2
        self._on(dt.date(YEAR, 7, 8))
        with self.pc.bulk():
            self.commands += 1 + self._goals(self.joiner)
            if self.position[self.joiner] is None:
                self.commands += self._describe_person(self.joiner)
        self._step("someone joins")

    def _joiner_evaluation(self) -> None:
        manager = self.joiner_manager
        id = f"ev-{self.joiner}"
        with self.pc.bulk():
            self.pc.evaluations.create(
                by=manager,
                id=id,
                subject_id=self.joiner,
                evaluator_id=manager,
                job_description_id=self._description_of(self.joiner),
                cycle_id=CYCLE_ID,
                period_start=dt.date(YEAR, 7, 1),
                period_end=dt.date(YEAR, 9, 30),
            )
            self.pc.evaluations.open(id, by=manager)
        self.commands += 2
        self._step("a first evaluation opens")


def place(org: Organisation, directory: PlacedDirectory, joiner: tuple[str, str]) -> None:
    """Place everyone of ``org`` in ``directory`` from :data:`HIRED`, each with their position
    (:func:`positions`), and the joiner (id, manager) from 1 July."""
    held = positions(org)
    for member in org:
        directory.place(
            member.id,
            on=HIRED,
            manager_id=member.manager_id,
            department=member.department,
            roles=member.roles,
            position=held[member.id],
        )
    joiner_id, manager_id = joiner
    department = org.member(manager_id).department
    position = staff_position(department)
    directory.place(
        joiner_id,
        on=dt.date(YEAR, 7, 1),
        manager_id=manager_id,
        department=department,
        roles={Role.EMPLOYEE},
        position=position if position in held.values() else None,
    )


def _place_at_once(directory: SQLiteDirectory, org: Organisation, joiner: str) -> None:
    """:func:`place` into the SQLite ``directory`` in one transaction (one write to the disk,
    where a placement at a time would be one each)."""
    connection = directory._conn  # the adapter offers no transaction of its own
    connection.execute("BEGIN")
    try:
        place(org, directory, (joiner, _Scenario.choose_manager_behind(org)))
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def run(
    path: str | Path,
    *,
    people: int = 40,
    seed: int = 0,
    progress: Progress | None = None,
) -> DemoResult:
    """Generate an organisation of ``people`` and run the year's review cycle in the SQLite
    file ``path`` (the store and its directory), which must not hold a perfcore store yet.

    Args:
        path: the SQLite file to write.
        people: how many people (from :data:`MIN_PEOPLE` to :data:`MAX_PEOPLE`), the head of
            the organisation and the July joiner included.
        seed: which organisation and which story.
        progress: called as the demo goes: ``progress(done, total, phase)``.

    Raises:
        ValidationError: ``people`` or ``seed`` out of range.
    """
    if not isinstance(people, int) or isinstance(people, bool):
        raise ValidationError("people", "must be a whole number")
    if not MIN_PEOPLE <= people <= MAX_PEOPLE:
        raise ValidationError("people", f"must be from {MIN_PEOPLE} to {MAX_PEOPLE:,}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValidationError("seed", "must be a whole number of at least 0")
    org = generate(people - 1, seed=seed, span=6, departments=_departments(people))
    file = Path(path)
    clock = DemoClock(dt.date(YEAR, 1, 5))
    joiner = f"p{len(org):06d}"
    # The directory is kept in the file; the run consults the same placements in memory, which
    # answers the services' many questions faster than the file.
    saved = SQLiteDirectory(file)
    try:
        _place_at_once(saved, org, joiner)
    finally:
        saved.close()
    directory = MemoryDirectory()
    manager_behind = _Scenario.choose_manager_behind(org)
    place(org, directory, (joiner, manager_behind))
    with SQLiteStore(file, synchronous="NORMAL") as store:
        pc = Perfcore(
            store,
            clock=clock,
            ids=_Ids(),
            directory=directory,
            cache_size=max(10_000, 8 * people),
        )
        scenario = _Scenario(pc, org, clock, seed, progress)
        scenario.run()
        pc.seal_audit_log()
    return DemoResult(
        path=file,
        people=people,
        seed=seed,
        on=LAST_DAY,
        cycle_id=CYCLE_ID,
        hr_id=scenario.hr_lead,
        head_id=org.head.id,
        managers=scenario.managers,
        manager_behind=scenario.manager_behind,
        joiner_id=scenario.joiner,
        disputed=tuple(scenario.disputed),
        diverged=tuple(scenario.diverged),
        commands=scenario.commands,
    )
