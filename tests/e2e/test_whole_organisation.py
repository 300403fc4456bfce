"""Issue 11's end-to-end test: a whole organisation taken through every stage of a review cycle
through the services, on SQLite, with the organisation in a SQLite directory.

Thirty-six people in four departments (people, support, engineering, operations), each holding
a position. In 2026 (the cycle reviews January to June):

- January: the cycle is planned; role descriptions are drafted for the positions, discussed by
  their holders (one is revised after its holders say it leaves out the lockout procedure),
  endorsed and published; silent holders are reminded once. Everyone's goal is approved; the
  cycle schedules its own evaluations from the directory (none is created by hand).
- February to June: continuous feedback notes; a career path (a development plan toward the
  manager role, with a long-term goal); someone joins; anonymous surveys of two managers'
  reports (one above the anonymity threshold, one below); a reassignment on 1 June.
- July: the scheduled evaluations open with upward feedback; self reviews, feedback, manager
  reviews, reminders, calibration; a safety-critical shortfall that is finalized only with an
  improvement plan; acknowledgements and a dispute.
- August to October: plans reviewed and attained, goals achieved and checked in; the reports
  per department; everyone's to-do list is empty; the audit log verifies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from perfcore import GuardFailed, Perfcore, PermissionDenied
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.adapters.sqlite_directory import SQLiteDirectory
from perfcore.cycle_status import Participant
from perfcore.evaluation import Evaluation, EvaluationState, Rating, Relationship
from perfcore.goal import GoalState, Horizon
from perfcore.job_description import Criterion, JobDescriptionState
from perfcore.plan import Approver, Objective, PlanState, Support
from perfcore.ports import Notification
from perfcore.review_cycle import ReviewCycleState
from perfcore.services import Notifications, TodoKind
from perfcore.survey import Question, Reply, Survey

YEAR = 2026
HIRED = dt.date(2020, 1, 1)
PERIOD = (dt.date(YEAR, 1, 1), dt.date(YEAR, 6, 30))
CYCLE = "c-26"
MANAGER = frozenset({"employee", "manager"})

# -- the organisation -----------------------------------------------------------------------------

#: person -> (manager, department, position, roles)
STAFF: dict[str, tuple[str | None, str, str, frozenset[str]]] = {
    "ceo": (None, "operations", "head", MANAGER),
    # People (HR): hana leads, hugo and ines are HR, cleo approves plans.
    "hana": ("ceo", "people", "manager", frozenset({"employee", "manager", "hr"})),
    "hugo": ("hana", "people", "hr-partner", frozenset({"employee", "hr"})),
    "ines": ("hana", "people", "hr-partner", frozenset({"employee", "hr"})),
    "cleo": ("hana", "people", "hr-partner", frozenset({"employee", "approver"})),
    # Support: mia heads it; ben and lea lead its two teams of agents.
    "mia": ("ceo", "support", "manager", MANAGER),
    "ben": ("mia", "support", "manager", MANAGER),
    "lea": ("mia", "support", "manager", MANAGER),
    **{
        p: ("ben", "support", "agent", frozenset({"employee"}))
        for p in ("ana", "bo", "cy", "dee", "eve", "finn")
    },
    **{
        p: ("lea", "support", "agent", frozenset({"employee"}))
        for p in ("gus", "ivy", "jon", "kim", "liv")
    },
    # Engineering: raj heads it, tom leads a team.
    "raj": ("ceo", "engineering", "manager", MANAGER),
    "tom": ("raj", "engineering", "manager", MANAGER),
    **{
        p: ("raj", "engineering", "engineer", frozenset({"employee"}))
        for p in ("nia", "oto", "pia", "quin")
    },
    **{
        p: ("tom", "engineering", "engineer", frozenset({"employee"}))
        for p in ("ray", "sam", "tia", "uma")
    },
    # Operations: ola leads the technicians (and the head of the organisation is here).
    "ola": ("ceo", "operations", "manager", MANAGER),
    **{
        p: ("ola", "operations", "technician", frozenset({"employee"}))
        for p in ("tess", "vic", "wes", "xan", "yara")
    },
}
#: Joins lea's team on 2 March, after the cycle was planned.
JOINER = "max"
JOINED = dt.date(YEAR, 3, 2)
#: ana moves from ben's team to lea's on 1 June.
MOVED, MOVE_DAY = "ana", dt.date(YEAR, 6, 1)
#: Who falls behind on their goal, one per department.
BEHIND = {"ines", "finn", "quin", "wes"}
DEPARTMENTS = ("engineering", "operations", "people", "support")


def measured(
    name: str, weight: int, *, safety_critical: bool = False, required_score: int | None = None
) -> Criterion:
    return Criterion(
        name=name,
        weight=weight,
        measured_by="the team's records",
        required_level="4",
        safety_critical=safety_critical,
        required_score=required_score,
    )


LOCKOUT = measured("Lockout procedure", 40, safety_critical=True, required_score=4)
#: position -> (author, department, criteria)
ROLES: dict[str, tuple[str, str, tuple[Criterion, ...]]] = {
    "manager": (
        "ceo",
        "operations",
        (measured("Team results", 60), measured("Growing people", 40)),
    ),
    "hr-partner": ("hana", "people", (measured("Casework", 100),)),
    "agent": ("mia", "support", (measured("Replies", 60), measured("Quality", 40))),
    "engineer": ("raj", "engineering", (measured("Delivery", 60), measured("Quality", 40))),
    "technician": ("ola", "operations", (measured("Maintenance", 100),)),
}


class Clock:
    """9 o'clock on the day the story has reached, a microsecond later at every reading."""

    def __init__(self) -> None:
        self.day = dt.date(YEAR, 1, 5)
        self._tick = 0

    def now(self) -> dt.datetime:
        self._tick += 1
        start = dt.datetime.combine(self.day, dt.time(9), tzinfo=dt.UTC)
        return start + dt.timedelta(microseconds=self._tick)


class Mailer:
    """The integrator's notifier: keeps what it was handed."""

    def __init__(self) -> None:
        self.handed: list[Notification] = []

    def notify(self, notification: Notification) -> None:
        self.handed.append(notification)


class World:
    """The organisation, its store and its directory, and what the story needs at hand."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = Clock()
        self.mailer = Mailer()
        self.org = SQLiteDirectory(tmp_path / "directory.sqlite3")
        for person, (manager, department, position, roles) in STAFF.items():
            self.org.place(
                person,
                on=HIRED,
                manager_id=manager,
                department=department,
                roles=roles,
                position=position,
            )
        self.store = SQLiteStore(tmp_path / "hr.sqlite3", synchronous="NORMAL")
        self.pc = Perfcore(
            self.store,
            clock=self.clock,
            directory=self.org,
            notifier=self.mailer,
            notifications=Notifications(hr=("hana",)),
        )

    def on(self, month: int, day: int) -> dt.date:
        self.clock.day = dt.date(YEAR, month, day)
        return self.clock.day

    @property
    def today(self) -> dt.date:
        return self.clock.day

    def manager(self, person: str) -> str:
        found = self.org.person(person, self.today)
        assert found is not None
        assert found.manager_id is not None
        return found.manager_id

    def reports(self, manager: str) -> tuple[str, ...]:
        return tuple(self.org.reports(manager, self.today))

    def participants(self) -> list[str]:
        return [p for p in STAFF if p != "ceo"]

    def is_manager(self, person: str) -> bool:
        return bool(self.reports(person))

    def todo(self, person: str, *, check_ins: bool = False) -> set[tuple[TodoKind, str]]:
        """What waits for ``person`` today, as they read it (goals waiting for a check-in
        only if asked: everyone's come due a fortnight after each check-in)."""
        return {
            (i.kind, i.aggregate_id)
            for i in self.pc.todo(person, by=person, on=self.today)
            if check_ins or i.kind is not TodoKind.GOAL_CHECK_IN
        }

    def delivered(self) -> list[Notification]:
        """Deliver every pending notification; those the mailer was handed now."""
        before = len(self.mailer.handed)
        while True:
            delivery = self.pc.deliver_notifications(limit=500)
            assert not delivery.failed
            if not delivery.delivered:
                return self.mailer.handed[before:]

    def evaluation(self, id: str) -> Evaluation:
        reader = "ines" if id.endswith(".hugo") else "hugo"  # HR, never its subject
        found = self.pc.evaluations.get(id, by=reader)
        assert isinstance(found, Evaluation)
        return found

    def evaluation_heads(self, person: str) -> list[str]:
        """The evaluations stored about ``person``, by id: the store's record, not a service."""
        with self.store.unit_of_work() as uow:
            return [head.id for head in uow.events.find("Evaluation", "subject", person)]

    def every_evaluation(self) -> set[str]:
        """Every evaluation in the store, by id."""
        found: set[str] = set()
        after: tuple[str, str] | None = ("Evaluation", "")
        with self.store.unit_of_work() as uow:
            while after is not None:
                heads = uow.events.streams(after=after, limit=200)
                found |= {head.id for head in heads if head.kind == "Evaluation"}
                more = heads and heads[-1].kind == "Evaluation"
                after = (heads[-1].kind, heads[-1].id) if more else None
        return found

    def hr_for(self, *busy: str) -> str:
        """An HR person who is none of ``busy`` (never the subject or the evaluator)."""
        return next(person for person in ("hugo", "ines", "hana") if person not in busy)


def kinds(notifications: Iterable[Notification]) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(n.kind, n.aggregate_id, n.recipients) for n in notifications}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = World(tmp_path)
    yield made
    made.store.close()
    made.org.close()


# -- the stages -----------------------------------------------------------------------------------


def plan_the_cycle(w: World) -> None:
    w.on(1, 5)
    cycle = w.pc.cycles.create(
        by="hana",
        id=CYCLE,
        name="2026 first half",
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        participants=[
            Participant(employee_id=p, manager_id=w.manager(p)) for p in w.participants()
        ],
    )
    assert len(cycle.participants) == len(STAFF) - 1
    assert w.pc.cycles.start(CYCLE, by="hana").state is ReviewCycleState.JOB_DESCRIPTIONS


def describe_the_roles(w: World) -> None:
    """Each position's description drafted once, discussed by its holders, endorsed and
    published; the silent holders are reminded once."""
    jds = w.pc.job_descriptions
    w.on(1, 6)
    for position, (author, department, criteria) in ROLES.items():
        jd = jds.create(
            by=author,
            id=f"jd-{position}",
            title=position.replace("-", " ").title(),
            department=department,
            position_id=position,
            criteria=criteria,
            responsibilities=[f"The {position}'s work, done well"],
        )
        holders = frozenset(p for p, (_m, _d, held, _r) in STAFF.items() if held == position)
        assert (jd.position_id, jd.audience) == (position, holders)  # from the directory
        assert jds.open_feedback(jd.id, by=author).state is JobDescriptionState.IN_FEEDBACK
    assert (TodoKind.DESCRIPTION_FEEDBACK, "jd-agent") in w.todo("kim")
    opened = [n for n in w.delivered() if n.kind == "feedback_opened"]
    assert {n.aggregate_id: set(n.recipients) for n in opened}["jd-engineer"] == {
        p for p, facts in STAFF.items() if facts[2] == "engineer"
    }
    # The technicians say their description leaves out the lockout procedure: it is revised.
    for holder in ("tess", "vic"):
        jds.give_feedback(
            "jd-technician",
            by=holder,
            supports=False,
            comment="it leaves out the lockout procedure",
        )
    jds.revise("jd-technician", by="ola", reason="the holders said it leaves out lockout")
    jds.edit("jd-technician", by="ola", criteria=[measured("Maintenance", 60), LOCKOUT])
    jds.open_feedback("jd-technician", by="ola")
    silent = {"kim", "liv", "uma"}
    with w.pc.bulk():
        for position in ROLES:
            for holder in sorted(jds.get(f"jd-{position}", by="hana").audience - silent):
                supports = holder != "nia"  # one engineer is not convinced; most are
                jds.give_feedback(
                    f"jd-{position}",
                    by=holder,
                    supports=supports,
                    comment="" if supports else "too little on code review",
                )
    assert (TodoKind.DESCRIPTION_FEEDBACK, "jd-agent") not in w.todo("ana")  # she answered
    assert w.todo("kim") == {(TodoKind.DESCRIPTION_FEEDBACK, "jd-agent")}

    # Three days on, the scheduler's daily call reminds each silent holder, once.
    day = w.on(1, 9)
    with pytest.raises(GuardFailed, match="no published job description"):
        w.pc.cycles.begin_evaluations(CYCLE, by="hana")
    run = w.pc.reminders(on=day)
    assert kinds(run.sent) == {
        ("description_feedback_due", "jd-agent", ("kim",)),
        ("description_feedback_due", "jd-agent", ("liv",)),
        ("description_feedback_due", "jd-engineer", ("uma",)),
    }
    assert w.pc.reminders(on=day).sent == ()  # a second run that day sends nothing
    mailed = kinds(w.delivered())
    assert kinds(run.sent) <= mailed
    for holder in sorted(silent):
        jds.give_feedback(
            "jd-engineer" if holder == "uma" else "jd-agent", by=holder, supports=True
        )
        assert w.todo(holder) == set()  # done: off the list
    for position, (author, *_rest) in ROLES.items():
        jds.endorse(f"jd-{position}", by=author)
        assert jds.publish(f"jd-{position}", by=author).state is JobDescriptionState.PUBLISHED
    assert w.pc.cycles.begin_evaluations(CYCLE, by="hana").state is ReviewCycleState.EVALUATIONS


def set_goals(w: World, people: list[str], start: dt.date) -> None:
    """Each person's goal for the year: drafted and proposed by them, approved by their
    manager, each manager's list emptying as they approve."""
    with w.pc.bulk():
        for person in people:
            w.pc.goals.create(
                by=person,
                id=f"g-{person}",
                owner_id=person,
                manager_id=w.manager(person),
                title="This year's results",
                metric="results delivered",
                baseline=0,
                target=10,
                start=start,
                due=dt.date(YEAR, 12, 31),
            )
            w.pc.goals.propose(f"g-{person}", by=person)
    managers = {w.manager(p) for p in people}
    for manager in sorted(managers):
        waiting = {(TodoKind.GOAL_APPROVAL, f"g-{p}") for p in people if w.manager(p) == manager}
        assert waiting <= w.todo(manager)
    with w.pc.bulk():
        for person in people:
            approved = w.pc.goals.approve(
                f"g-{person}", by=w.manager(person), reason="agreed in our 1:1"
            )
            assert approved.state is GoalState.ACTIVE
    for manager in sorted(managers):
        assert not {k for k, _id in w.todo(manager)} & {TodoKind.GOAL_APPROVAL}


def schedule_the_evaluations(w: World) -> None:
    """The cycle creates every participant's evaluation: the HR person running it cannot
    create their own, which a colleague's run then does."""
    w.on(1, 12)
    first = w.pc.cycles.schedule_evaluations(CYCLE, by="hugo")
    assert [who for who, _why in first.waiting] == ["hugo"]  # never one's own evaluation
    assert len(first.created) == len(STAFF) - 2
    assert (first.opened, first.requested) == ((), ())  # the period has not ended
    second = w.pc.cycles.schedule_evaluations(CYCLE, by="ines")
    assert second.created == (f"{CYCLE}.hugo",)
    # ines's own may not be opened by her either: it waits (its period has not ended anyway).
    assert [(who, "never the subject" in why) for who, why in second.waiting] == [("ines", True)]
    assert w.pc.cycles.schedule_evaluations(CYCLE, by="ines").created == ()  # idempotent
    for person in w.participants():
        [id] = w.evaluation_heads(person)  # exactly one each
        evaluation = w.evaluation(id)
        position = STAFF[person][2]
        assert (evaluation.evaluator_id, evaluation.subject_is_manager) == (
            w.manager(person),
            w.is_manager(person),
        )
        assert (evaluation.job_description_id, evaluation.cycle_id) == (f"jd-{position}", CYCLE)
        assert evaluation.state is EvaluationState.SCHEDULED
    assert not {kind for kind, _id in w.todo("ben")} & {TodoKind.EVALUATION_TO_OPEN}  # not yet


def start_a_career_path(w: World) -> None:
    """ana aims at the manager role: a long-term goal and a development plan toward it."""
    w.on(2, 2)
    w.pc.goals.create(
        by="ana",
        id="g-ana-lead",
        owner_id="ana",
        manager_id="ben",
        horizon=Horizon.LONG,
        title="Onboard two new agents",
        metric="agents onboarded",
        baseline=0,
        target=2,
        start=dt.date(YEAR, 2, 2),
        due=dt.date(YEAR, 12, 31),
    )
    w.pc.goals.propose("g-ana-lead", by="ana")
    w.pc.goals.approve("g-ana-lead", by="ben")
    w.pc.plans.create(
        by="ben",
        id="p-ana-path",
        kind="development",
        subject_id="ana",
        author_id="ben",
        start=dt.date(YEAR, 2, 2),
        end=dt.date(YEAR, 12, 31),
        cycle_id=CYCLE,
        approver=Approver.person("cleo"),
        target_role_id="jd-manager",
        objectives=[Objective(goal_id="g-ana-lead", success="two agents onboarded")],
        support=[Support(kind="mentoring", description="an hour a month with mia")],
        review_schedule="FREQ=MONTHLY",
    )
    w.pc.plans.submit("p-ana-path", by="ben")
    assert (TodoKind.PLAN_APPROVAL, "p-ana-path") in w.todo("cleo")
    w.pc.plans.approve("p-ana-path", by="cleo", reason="a good path")
    assert w.todo("cleo") == set()
    assert w.todo("cleo", check_ins=True) == {(TodoKind.GOAL_CHECK_IN, "g-cleo")}
    assert (TodoKind.PLAN_ACKNOWLEDGEMENT, "p-ana-path") in w.todo("ana")
    w.pc.plans.acknowledge("p-ana-path", by="ana")
    assert (TodoKind.PLAN_ACKNOWLEDGEMENT, "p-ana-path") not in w.todo("ana")
    submitted = {n.kind: n.recipients for n in w.delivered()}
    assert submitted["plan_submitted"] == ("cleo",)
    # Its first monthly review.
    w.on(3, 2)
    assert (TodoKind.PLAN_REVIEW, "p-ana-path") in w.todo("ben")
    w.pc.plans.start_review("p-ana-path", by="ben")
    reviewed = w.pc.plans.conclude_review("p-ana-path", by="ben", notes="first agent onboarded")
    assert reviewed.state is PlanState.ACTIVE
    assert (TodoKind.PLAN_REVIEW, "p-ana-path") not in w.todo("ben")


def keep_notes(w: World) -> None:
    """Continuous feedback on cy, outside the cycle: praise, a private note, a note on her
    goal and one on a criterion of her role; and one after the period."""
    w.on(2, 16)
    w.pc.notes.create(
        by="bo",
        id="n-praise",
        subject_id="cy",
        kind="praise",
        text="Took my on-call shift at a day's notice.",
    )
    w.on(3, 10)
    w.pc.notes.create(
        by="ben",
        id="n-private",
        subject_id="cy",
        visibility="private",
        text="Missed two stand-ups.",
    )
    w.on(4, 14)
    w.pc.notes.create(
        by="mia", id="n-goal", goal_id="g-cy", text="Half way there by April: good pace."
    )
    w.on(5, 20)
    w.pc.notes.create(
        by="dee",
        id="n-criterion",
        subject_id="cy",
        job_description_id="jd-agent",
        criterion="Replies",
        text="Her replies are the clearest on the team.",
    )


def the_joiner_arrives(w: World) -> None:
    w.org.place(JOINER, on=JOINED, manager_id="lea", department="support", position="agent")
    w.on(3, 4)
    set_goals(w, [JOINER], start=JOINED)


def survey_the_teams(w: World) -> None:
    """Anonymous surveys of ben's and lea's reports: all six of ben's answer; only two of
    lea's, under the anonymity threshold of three, so nothing of theirs is ever shown."""
    w.on(5, 4)
    questions = [
        Question(key="clear", text="My manager makes my goals clear"),
        Question(key="help", text="What would help?", kind="text", required=False),
    ]
    for manager in ("ben", "lea"):
        w.pc.surveys.create(
            by="hana",
            id=f"s-{manager}",
            title=f"How is {manager} doing?",
            manager_id=manager,
            scope="reports",
            questions=questions,
            opens_on=dt.date(YEAR, 5, 4),
            closes_on=dt.date(YEAR, 5, 15),
        )
        opened = w.pc.surveys.open(f"s-{manager}", by="hana")
        assert isinstance(opened, Survey)  # HR's: with who is asked
        assert opened.population == set(w.reports(manager))  # the directory's answer
        assert len(opened.population) == 6
    asked = {n.aggregate_id: set(n.recipients) for n in w.delivered() if n.kind == "survey_opened"}
    assert asked == {f"s-{m}": set(w.reports(m)) for m in ("ben", "lea")}  # told to answer
    scores = {"ana": 4, "bo": 5, "cy": 4, "dee": 3, "eve": 4, "finn": 5}
    with w.pc.bulk():
        for person, score in scores.items():
            w.pc.surveys.respond(
                "s-ben",
                by=person,
                replies=[
                    Reply(question="clear", score=score),
                    Reply(question="help", text="more 1:1s"),
                ],
            )
        for person in ("gus", "ivy"):
            w.pc.surveys.respond("s-lea", by=person, replies=[Reply(question="clear", score=2)])
    with pytest.raises(PermissionDenied):  # one answer each
        w.pc.surveys.respond("s-ben", by="ana", replies=[Reply(question="clear", score=1)])
    w.on(5, 15)
    for manager in ("ben", "lea"):
        w.pc.surveys.close(f"s-{manager}", by="hana")
        w.pc.surveys.release(f"s-{manager}", by="hana")
    ben = w.pc.surveys.results("s-ben", by="ben")
    assert ben is not None
    assert (ben.answers, ben.questions[0].mean) == (6, Decimal("4.17"))
    assert ben.questions[1].texts == ("more 1:1s",) * 6
    assert w.pc.surveys.results("s-lea", by="lea") is None  # two answers: below the threshold
    [support] = w.pc.surveys.by_department(by="hana")
    assert (support.department, support.answers) == ("support", 6)
    assert [s.survey_id for s in support.surveys] == ["s-ben"]


def reassign_ana(w: World) -> None:
    """ana moves to lea's team on 1 June: her open goals, her plan and her evaluation follow
    her, each with the reason in its history."""
    w.org.place(MOVED, on=MOVE_DAY, manager_id="lea", department="support", position="agent")
    w.on(6, 1)
    reason = "ana joined lea's team on 1 June"
    done = w.pc.reassign(MOVED, on=MOVE_DAY, by="hana", reason=reason)
    assert (done.from_manager, done.to_manager) == ("ben", "lea")
    assert sorted(done.moved) == [
        ("Evaluation", f"{CYCLE}.ana"),
        ("Goal", "g-ana"),
        ("Goal", "g-ana-lead"),
        ("Plan", "p-ana-path"),
    ]
    for kind, id in done.moved:
        last = w.pc.history(kind, id, by="hana")[-1]
        assert (last.trigger, last.actor_id, last.reason) == ("reassign", "hana", reason)
    told = [n for n in w.delivered() if n.kind == "work_reassigned"]
    assert sorted((n.aggregate_type, n.aggregate_id) for n in told) == sorted(done.moved)
    assert all(set(n.recipients) == {"lea", "ana"} for n in told)  # the new manager, and her
    assert w.pc.goals.get("g-ana", by="lea").manager_id == "lea"
    assert w.pc.plans.get("p-ana-path", by="lea").author_id == "lea"
    assert w.evaluation(f"{CYCLE}.ana").evaluator_id == "lea"
    w.on(6, 30)  # the period's last day: the evaluations are the evaluators' to open
    assert (TodoKind.EVALUATION_TO_OPEN, f"{CYCLE}.ana") in w.todo("lea")
    assert (TodoKind.EVALUATION_TO_OPEN, f"{CYCLE}.ana") not in w.todo("ben")
    assert (TodoKind.EVALUATION_TO_OPEN, f"{CYCLE}.cy") in w.todo("ben")


def ratings(criteria: Iterable[str], score: int, **special: int) -> list[Rating]:
    return [
        Rating(
            criterion=name,
            score=special.get(name.split()[0].lower(), score),
            evidence="the year's records",
        )
        for name in criteria
    ]


def peers(w: World, person: str) -> list[str]:
    """Two colleagues under the same manager who manage nobody."""
    team = [p for p in w.reports(w.manager(person)) if not w.is_manager(p)]
    at = team.index(person)
    return [team[(at + 1) % len(team)], team[(at + 2) % len(team)]]


def open_the_evaluations(w: World) -> dict[str, str]:
    """The period has ended: the cycle's next run opens every evaluation (the joiner's too)
    and asks each manager's direct reports, as the directory has them after the move.
    Returns each evaluation's id by subject."""
    w.on(7, 1)
    run = w.pc.cycles.schedule_evaluations(CYCLE, by="hugo")
    assert (run.joined, run.created) == ((JOINER,), (f"{CYCLE}.{JOINER}",))
    assert [who for who, _why in run.waiting] == ["hugo"]  # his own waits for a colleague
    again = w.pc.cycles.schedule_evaluations(CYCLE, by="ines")
    assert again.opened == (f"{CYCLE}.hugo",)
    everyone = [*w.participants(), JOINER]
    ids = {}
    for person in everyone:
        [id] = w.evaluation_heads(person)
        ids[person] = id
        assert w.evaluation(id).evaluator_id == w.manager(person)
    assert sorted([*run.opened, *again.opened]) == sorted(ids.values())
    # Nothing made by hand: every evaluation in the store is one the cycle scheduled.
    assert w.every_evaluation() == {f"{CYCLE}.{person}" for person in everyone}
    expected = {(ids[m], r) for m in everyone for r in w.reports(m) if r != "ceo"}
    assert set(run.requested) == expected
    assert (ids["lea"], MOVED) in expected  # asked about her manager since June
    assert (ids["ben"], MOVED) not in expected
    ben = w.evaluation(ids["ben"])
    assert {r.reviewer_id: r.relationship for r in ben.feedback_requests} == dict.fromkeys(
        ("bo", "cy", "dee", "eve", "finn"), Relationship.DIRECT_REPORT
    )
    told = kinds(w.delivered())
    assert ("evaluation_opened", ids["cy"], ("cy",)) in told
    assert ("feedback_requested", ids["ben"], ("bo",)) in told
    assert (TodoKind.SELF_REVIEW, ids["cy"]) in w.todo("cy")
    assert (TodoKind.FEEDBACK_REQUEST, ids["ben"]) in w.todo("cy")
    return ids


def second_opinions_and_notes(w: World, ids: dict[str, str]) -> None:
    """What the evaluators weigh beside the evaluations: the survey above the threshold for
    ben, nothing for lea, and cy's notes from the period."""
    [opinion] = w.pc.surveys.second_opinion(ids["ben"], by="mia")
    assert (opinion.survey_id, opinion.answers) == ("s-ben", 6)
    assert w.pc.surveys.second_opinion(ids["lea"], by="mia") == ()
    w.pc.notes.create(
        by="bo", id="n-late", subject_id="cy", kind="praise", text="Covered the July release."
    )
    assert [n.id for n in w.pc.notes.for_evaluation(ids["cy"], by="ben")] == [
        "n-praise",
        "n-private",
        "n-goal",
        "n-criterion",
    ]
    # cy sees what is shared with her; the private note is her managers' own.
    assert [n.id for n in w.pc.notes.for_evaluation(ids["cy"], by="cy")] == [
        "n-praise",
        "n-goal",
        "n-criterion",
    ]


def review(w: World, ids: dict[str, str]) -> None:
    """Peer feedback asked, self reviews, feedback, manager reviews; reminders for the
    stragglers, sent once; then they catch up."""
    everyone = list(ids)
    criteria = {p: [c.name for c in w.evaluation(ids[p]).criteria] for p in everyone}
    asked: dict[str, list[str]] = {}
    with w.pc.bulk():
        for person in everyone:
            if w.is_manager(person):
                continue  # their direct reports were asked by the cycle
            asked[person] = peers(w, person)
            for peer in asked[person]:
                w.pc.evaluations.request_feedback(
                    ids[person], by=w.manager(person), reviewer_id=peer, relationship="peer"
                )
    reviewers = {
        p: [r.reviewer_id for r in w.evaluation(ids[p]).feedback_requests] for p in everyone
    }
    late_self = ("dee", "uma")  # their self reviews wait
    late_reviewer = (asked["ivy"][0], "ivy")  # one of ivy's colleagues does not answer yet
    slow = late_reviewer[0]
    w.on(7, 2)
    with w.pc.bulk():
        for person in everyone:
            if person not in late_self:
                w.pc.evaluations.submit_self_review(
                    ids[person], by=person, ratings=ratings(criteria[person], 4)
                )
            for reviewer in reviewers[person]:
                if (reviewer, person) == late_reviewer:
                    continue
                lockout = 3 if person == "tess" else 4
                scores = {name: lockout if name == LOCKOUT.name else 4 for name in criteria[person]}
                w.pc.evaluations.give_feedback(ids[person], by=reviewer, scores=scores)
    assert (TodoKind.SELF_REVIEW, ids["cy"]) not in w.todo("cy")
    assert (TodoKind.FEEDBACK_REQUEST, ids["ben"]) not in w.todo("cy")
    assert (TodoKind.MANAGER_REVIEW, ids["cy"]) in w.todo("ben")
    w.on(7, 3)
    waiting = {*late_self, "ivy"}
    with w.pc.bulk():
        for person in everyone:
            if person in waiting:
                continue
            # ola finds tess short of the lockout procedure; raj rates oto's delivery far
            # below what his colleagues saw.
            special = {"lockout": 2} if person == "tess" else {}
            if person == "oto":
                special = {"delivery": 1}
            w.pc.evaluations.submit_manager_review(
                ids[person], by=w.manager(person), ratings=ratings(criteria[person], 4, **special)
            )
    assert (TodoKind.MANAGER_REVIEW, ids["cy"]) not in w.todo("ben")

    day = w.on(7, 6)  # the daily reminders, after three days of waiting
    run = w.pc.reminders(on=day)
    sent = kinds(run.sent)
    assert {
        ("self_review_due", ids["dee"], ("dee",)),
        ("self_review_due", ids["uma"], ("uma",)),
        ("feedback_due", ids["ivy"], (slow,)),
        ("manager_review_due", ids["ivy"], ("lea",)),
    } <= sent
    assert {n.aggregate_id for n in run.sent if n.kind == "self_review_due"} == {
        ids["dee"],
        ids["uma"],
    }
    assert [n for n in run.sent if n.kind == "feedback_due"] == [
        n for n in run.sent if n.aggregate_id == ids["ivy"] and n.kind == "feedback_due"
    ]
    assert w.pc.reminders(on=day).sent == ()  # once
    assert sent <= kinds(w.delivered())
    for person in late_self:
        w.pc.evaluations.submit_self_review(
            ids[person], by=person, ratings=ratings(criteria[person], 4)
        )
        assert (TodoKind.SELF_REVIEW, ids[person]) not in w.todo(person)
    assert (TodoKind.FEEDBACK_REQUEST, ids["ivy"]) in w.todo(slow)
    w.pc.evaluations.give_feedback(ids["ivy"], by=slow, scores=dict.fromkeys(criteria["ivy"], 4))
    assert w.todo(slow) == set()
    for person in sorted(waiting):
        w.pc.evaluations.submit_manager_review(
            ids[person], by=w.manager(person), ratings=ratings(criteria[person], 4)
        )
    for person in everyone:
        assert w.evaluation(ids[person]).state is EvaluationState.CALIBRATION


def calibrate_and_finalize(w: World, ids: dict[str, str]) -> None:
    """HR calibrates the divergence, finalizes, and cannot finalize tess's safety shortfall
    until an improvement plan is linked; the manager and HR are told."""
    w.on(7, 7)
    oto = ids["oto"]
    with pytest.raises(GuardFailed, match="Delivery"):
        w.pc.evaluations.finalize(oto, by="hugo")
    w.pc.evaluations.calibrate(
        oto,
        by="hugo",
        criterion="Delivery",
        score=3,
        reason="the release log supports a 3, not a 1",
    )
    tess = ids["tess"]
    with w.pc.bulk():
        for person, id in ids.items():
            if person != "tess":
                w.pc.evaluations.finalize(id, by=w.hr_for(person, w.manager(person)))
    with pytest.raises(GuardFailed, match=r"Lockout procedure \(2 < 4\)"):
        w.pc.evaluations.finalize(tess, by="hugo")
    # ola writes the improvement plan: a safety-critical goal, approved by cleo.
    w.pc.goals.create(
        by="ola",
        id="g-tess-lockout",
        owner_id="tess",
        manager_id="ola",
        safety_critical=True,
        title="Pass the lockout audit",
        metric="audits passed",
        baseline=0,
        target=1,
        start=dt.date(YEAR, 7, 7),
        due=dt.date(YEAR, 9, 30),
    )
    w.pc.goals.propose("g-tess-lockout", by="ola")
    w.pc.goals.approve("g-tess-lockout", by="ola")
    w.pc.plans.create(
        by="ola",
        id="p-tess-safety",
        kind="improvement",
        subject_id="tess",
        author_id="ola",
        start=dt.date(YEAR, 7, 7),
        end=dt.date(YEAR, 12, 31),
        cycle_id=CYCLE,
        approver=Approver.person("cleo"),
        review_schedule="FREQ=MONTHLY",
        objectives=[Objective(goal_id="g-tess-lockout", success="the audit passed")],
        support=[Support(kind="training", description="the lockout course, paid")],
    )
    w.pc.plans.submit("p-tess-safety", by="ola")
    assert (TodoKind.PLAN_APPROVAL, "p-tess-safety") in w.todo("cleo")
    w.pc.plans.approve("p-tess-safety", by="cleo", reason="training first")
    assert (TodoKind.PLAN_APPROVAL, "p-tess-safety") not in w.todo("cleo")
    w.pc.plans.acknowledge("p-tess-safety", by="tess")
    final = w.pc.evaluations.finalize(tess, by="hugo", improvement_plan_id="p-tess-safety")
    assert isinstance(final, Evaluation)
    assert final.improvement_plan_id == "p-tess-safety"
    told = [n for n in w.delivered() if n.kind == "safety_shortfall"]
    assert [(n.aggregate_id, set(n.recipients)) for n in told] == [(tess, {"ola", "hana"})]
    assert told[0].data["improvement_plan_id"] == "p-tess-safety"
    [shortfall] = w.pc.reports.safety_shortfalls(by="hana", on=w.today)
    assert (shortfall.department, shortfall.person_id, shortfall.aggregate_id) == (
        "operations",
        "tess",
        tess,
    )
    assert shortfall.improvement_plan_id == "p-tess-safety"
    for person, id in ids.items():
        assert w.evaluation(id).state is EvaluationState.FINALIZED
        assert (TodoKind.EVALUATION_ACKNOWLEDGEMENT, id) in w.todo(person)


def acknowledge(w: World, ids: dict[str, str]) -> None:
    """Everyone acknowledges their result but bo, who disputes it; HR keeps it, and he
    acknowledges."""
    w.on(7, 8)
    with w.pc.bulk():
        for person, id in ids.items():
            if person != "bo":
                w.pc.evaluations.acknowledge(id, by=person, comment="thank you")
    w.pc.evaluations.dispute(ids["bo"], by="bo", reason="the spring outage was not mine")
    assert ("dispute_raised", ids["bo"], ("hana",)) in kinds(w.delivered())
    w.pc.evaluations.resolve_dispute(
        ids["bo"], by="hugo", resolution="we went through the outage report: it stands"
    )
    w.pc.evaluations.acknowledge(ids["bo"], by="bo", comment="understood")
    for person, id in ids.items():
        assert w.evaluation(id).state is EvaluationState.ACKNOWLEDGED
        assert not any(ident == id for _kind, ident in w.todo(person))
    assert w.pc.cycles.begin_planning(CYCLE, by="hana").state is ReviewCycleState.PLANNING
    assert w.pc.cycles.begin_attainment(CYCLE, by="hana").state is ReviewCycleState.ATTAINMENT


def attain(w: World) -> None:
    """tess's plan reviewed and attained; ana reaches her long-term goal, and her plan (now
    lea's) is attained: lea, its approver and her manager are told."""
    w.on(8, 7)
    assert (TodoKind.PLAN_REVIEW, "p-tess-safety") in w.todo("ola")
    w.pc.plans.start_review("p-tess-safety", by="ola")
    w.pc.plans.conclude_review("p-tess-safety", by="ola", notes="the course is done")
    w.pc.goals.check_in("g-tess-lockout", by="tess", on=w.today, value=1)
    assert w.pc.goals.achieve("g-tess-lockout", by="ola").state is GoalState.ACHIEVED
    assert w.pc.plans.attain("p-tess-safety", by="ola").state is PlanState.ATTAINED
    w.on(9, 1)
    w.pc.goals.check_in("g-ana-lead", by="ana", on=w.today, value=2)
    w.pc.goals.achieve("g-ana-lead", by="lea", reason="max and a July hire onboarded")
    w.pc.plans.attain("p-ana-path", by="lea")
    told = {
        n.aggregate_id: n for n in w.delivered() if n.kind in ("plan_attained", "goal_achieved")
    }
    assert set(told["p-ana-path"].recipients) == {"lea", "cleo"}
    assert set(told["g-ana-lead"].recipients) == {"ana", "lea"}
    assert set(told["p-tess-safety"].recipients) == {"ola", "cleo"}
    path = w.pc.reports.career_path("ana", by="ana", on=w.today)
    assert path.target_role_ids == ("jd-manager",)
    assert [p.id for p in path.plans] == ["p-ana-path"]
    assert [(s.goal.id, s.goal.state) for s in path.long_term_goals] == [
        ("g-ana-lead", GoalState.ACHIEVED)
    ]


def the_year_so_far(w: World, ids: dict[str, str]) -> None:
    """The third quarter's check-ins, then the reports per department; everyone's list is
    empty; the cycle closes; the audit log verifies."""
    w.on(9, 30)
    with w.pc.bulk():
        for person in ids:
            value = 2 if person in BEHIND else 9
            w.pc.goals.check_in(f"g-{person}", by=person, on=w.today, value=value)
    day = w.on(10, 1)
    summary = {d.department: d for d in w.pc.reports.departments(by="hana", on=day)}
    assert sorted(summary) == list(DEPARTMENTS)
    for department in DEPARTMENTS:
        people = {p for p in ids if STAFF.get(p, ("", "support"))[1] == department}
        assert set(summary[department].not_meeting) == people & BEHIND
        assert set(summary[department].meeting) == people - BEHIND
    goals = w.pc.reports.goals(by="hana", on=day, department="operations")
    assert {p.person_id: p.meets_goals for p in goals}["wes"] is False
    # mia hears of herself and her own line only.
    assert {p.person_id for p in w.pc.reports.goals(by="mia", on=day)} == {
        p for p in ids if STAFF.get(p, ("", "support"))[1] == "support"
    }
    for person in ids:
        assert w.todo(person, check_ins=True) == set(), person
    assert w.pc.cycles.close(CYCLE, by="hana").state is ReviewCycleState.CLOSED
    w.pc.seal_audit_log()
    assert w.pc.verify_audit_log().intact


# -- the test -------------------------------------------------------------------------------------


def test_a_whole_organisation_through_a_cycle(world: World) -> None:
    assert len(STAFF) + 1 >= 30
    assert {facts[1] for facts in STAFF.values()} == set(DEPARTMENTS)
    plan_the_cycle(world)
    describe_the_roles(world)
    world.on(1, 12)
    set_goals(world, world.participants(), start=dt.date(YEAR, 1, 12))
    schedule_the_evaluations(world)
    start_a_career_path(world)
    keep_notes(world)
    the_joiner_arrives(world)
    survey_the_teams(world)
    reassign_ana(world)
    ids = open_the_evaluations(world)
    second_opinions_and_notes(world, ids)
    review(world, ids)
    calibrate_and_finalize(world, ids)
    acknowledge(world, ids)
    attain(world)
    the_year_so_far(world, ids)
