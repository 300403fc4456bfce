"""Role descriptions and a cycle that schedules its own evaluations, from the directory.

An organisation of a head, two managers and their teams, where the support agents share one
position (and so one role description) and one agent has a description written for her alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import pytest

from perfcore import Actor, MemoryDirectory, Perfcore, PermissionDenied, ValidationError
from perfcore.adapters.memory import MemoryStore
from perfcore.adapters.sqlite_directory import SQLiteDirectory
from perfcore.cycle_status import Participant
from perfcore.errors import GuardFailed, NotFound, TransitionNotAllowed
from perfcore.evaluation import Evaluation, EvaluationState, Relationship
from perfcore.job_description import Criterion, JobDescription
from perfcore.review_cycle import ReviewCycle, ReviewCycleState
from perfcore.services.cycles import EvaluationSchedule

SINCE = dt.date(2020, 1, 1)
PLANNED = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 6, 30))
AFTER = dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC)
CRITERIA = [
    Criterion(name="Replies", weight=60, measured_by="median first reply", required_level="4h"),
    Criterion(name="Quality", weight=40, measured_by="reopened tickets", required_level="5%"),
]
AGENTS = ("ana", "bo", "cy", "dee")
Org = TypeVar("Org", MemoryDirectory, SQLiteDirectory)


class Clock:
    def __init__(self) -> None:
        self.at = PLANNED

    def now(self) -> dt.datetime:
        return self.at


def organisation(org: Org) -> Org:
    """Mia heads Support; Ben and Lea manage; the agents report to Ben, Eli to Lea; Hana is HR."""
    manager = {"employee", "manager"}
    org.place("mia", on=SINCE, department="support", roles=manager, position="head")
    for lead in ("ben", "lea"):
        org.place(lead, on=SINCE, manager_id="mia", department="support", roles=manager,
                  position="team-lead")  # fmt: skip
    for agent in AGENTS:
        org.place(agent, on=SINCE, manager_id="ben", department="support", position="agent")
    org.place("eli", on=SINCE, manager_id="lea", department="support", position="agent")
    org.place("hana", on=SINCE, department="people", roles={"employee", "hr"})
    return org


@pytest.fixture(params=["memory", "sqlite"])
def org(request: pytest.FixtureRequest) -> MemoryDirectory | SQLiteDirectory:
    """The organisation, in memory and in a SQLite directory (the same answers)."""
    return organisation(MemoryDirectory() if request.param == "memory" else SQLiteDirectory())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pc(org: MemoryDirectory | SQLiteDirectory, clock: Clock) -> Perfcore:
    return Perfcore(MemoryStore(), clock=clock, directory=org)


def publish(pc: Perfcore, jd: JobDescription, supporters: tuple[str, ...]) -> JobDescription:
    pc.job_descriptions.open_feedback(jd.id, by="mia")
    for person in supporters:
        pc.job_descriptions.give_feedback(jd.id, by=person, supports=True)
    pc.job_descriptions.endorse(jd.id, by="mia")
    return pc.job_descriptions.publish(jd.id, by="mia")


def role(pc: Perfcore, position: str, id: str, **fields: Any) -> JobDescription:
    return pc.job_descriptions.create(
        by="mia", id=id, title=position.title(), department="support", position_id=position,
        responsibilities=["Answer tickets"], criteria=CRITERIA, **fields,
    )  # fmt: skip


def described(pc: Perfcore) -> None:
    """The agents' role description, the leads', and one written for ana alone."""
    publish(pc, role(pc, "agent", "jd-agent"), ("bo", "cy", "dee"))
    pc.job_descriptions.create(
        by="mia", id="jd-lead", title="Team lead", department="support", position_id="team-lead",
        responsibilities=["Lead"], criteria=CRITERIA,
    )  # fmt: skip
    # Two leads are too few for the default quorum of 3: their role description stays a draft,
    # and each lead has one written for them alone, which comes first anyway.
    for lead in ("ben", "lea"):
        jd = pc.job_descriptions.create(
            by="mia", id=f"jd-{lead}", title="Team lead", department="support",
            employee_id=lead, responsibilities=["Lead"], criteria=CRITERIA,
            audience={lead, "ana", "bo", "eli"},
        )  # fmt: skip
        publish(pc, jd, (lead, "ana", "eli"))
    jd = pc.job_descriptions.create(
        by="mia", id="jd-ana", title="Senior agent", department="support", employee_id="ana",
        responsibilities=["Answer the hardest tickets"], criteria=CRITERIA,
        audience={"ana", "bo", "cy"},
    )  # fmt: skip
    publish(pc, jd, ("ana", "bo", "cy"))
    head = pc.job_descriptions.create(
        by="hana", id="jd-mia", title="Head of support", department="support",
        employee_id="mia", responsibilities=["Run support"], criteria=CRITERIA,
        audience={"mia", "ben", "lea"},
    )  # fmt: skip
    pc.job_descriptions.open_feedback(head.id, by="hana")
    for person in ("mia", "ben", "lea"):
        pc.job_descriptions.give_feedback(head.id, by=person, supports=True)
    pc.job_descriptions.endorse(head.id, by="hana")
    pc.job_descriptions.publish(head.id, by="hana")


def a_cycle(pc: Perfcore, people: tuple[str, ...] | None = None) -> ReviewCycle:
    everyone = people or ("mia", "ben", "lea", *AGENTS, "eli")
    managers = {"ben": "mia", "lea": "mia", "eli": "lea", **dict.fromkeys(AGENTS, "ben")}
    cycle = pc.cycles.create(
        by="hana", id="c-26", name="2026 H1", period_start=PERIOD[0], period_end=PERIOD[1],
        participants=[Participant(employee_id=p, manager_id=managers.get(p)) for p in everyone],
    )  # fmt: skip
    pc.cycles.start(cycle.id, by="hana")
    return pc.cycles.begin_evaluations(cycle.id, by="hana")


def evaluation(pc: Perfcore, id: str) -> Evaluation:
    found = pc.evaluations.get(id, by="hana")
    assert isinstance(found, Evaluation)
    return found


# -- role descriptions ----------------------------------------------------------------------------


def test_a_role_descriptions_audience_is_its_positions_holders(pc: Perfcore) -> None:
    jd = role(pc, "agent", "jd-agent")
    assert (jd.position_id, jd.employee_id) == ("agent", None)
    assert jd.audience == {"ana", "bo", "cy", "dee", "eli"}


def test_the_caller_gives_no_audience_for_a_role(pc: Perfcore) -> None:
    with pytest.raises(ValidationError, match="holders in the directory"):
        role(pc, "agent", "jd-agent", audience={"ana", "zed"})


def test_feedback_opens_to_the_holders_on_that_day(
    pc: Perfcore, org: MemoryDirectory | SQLiteDirectory, clock: Clock
) -> None:
    role(pc, "agent", "jd-agent")
    org.place("fay", on=dt.date(2026, 1, 10), manager_id="lea", position="agent")
    org.place("eli", on=dt.date(2026, 1, 10), manager_id="lea", position="team-lead")
    clock.at = dt.datetime(2026, 1, 12, 9, tzinfo=dt.UTC)
    opened = pc.job_descriptions.open_feedback("jd-agent", by="mia")
    assert opened.audience == {"ana", "bo", "cy", "dee", "fay"}
    event = pc.history("JobDescription", "jd-agent", by="mia")[-1]
    assert event.trigger == "open_feedback"
    assert sorted(event.payload["set"]["audience"]) == ["ana", "bo", "cy", "dee", "fay"]
    with pytest.raises(NotFound):  # eli no longer holds the position: not his to read
        pc.job_descriptions.give_feedback("jd-agent", by="eli", supports=True)
    assert pc.job_descriptions.give_feedback("jd-agent", by="fay", supports=True).responses_count


def test_a_position_nobody_holds_cannot_open_feedback(pc: Perfcore) -> None:
    role(pc, "auditor", "jd-auditor")
    with pytest.raises(GuardFailed, match="nobody holds the position 'auditor'"):
        pc.job_descriptions.open_feedback("jd-auditor", by="mia")


def test_a_description_is_for_a_role_or_for_one_employee() -> None:
    with pytest.raises(ValidationError, match="not both"):
        JobDescription.create(
            id="jd-1", by=Actor(id="mia", roles={"manager"}), at=PLANNED, title="Agent",
            department="support", employee_id="ana", position_id="agent",
        )  # fmt: skip


def test_a_new_version_keeps_the_position(pc: Perfcore) -> None:
    publish(pc, role(pc, "agent", "jd-agent"), ("bo", "cy", "dee"))
    v2 = pc.job_descriptions.new_version("jd-agent", by="mia", id="jd-agent-2")
    assert (v2.position_id, v2.number) == ("agent", 2)


def test_a_participant_is_measured_against_their_positions_description(pc: Perfcore) -> None:
    described(pc)
    cycle = pc.cycles.create(
        by="hana", id="c-26", name="2026 H1", period_start=PERIOD[0], period_end=PERIOD[1],
        participants=[Participant(employee_id=p, manager_id="ben") for p in ("ana", "bo")],
    )  # fmt: skip
    pc.cycles.start(cycle.id, by="hana")
    status = pc.cycles.status(cycle.id, by="hana", on=PLANNED.date())
    found = {p.employee_id: p.job_description for p in status.participants}
    assert found["bo"] is not None
    assert found["bo"].id == "jd-agent"  # her position's
    assert found["ana"] is not None
    assert found["ana"].id == "jd-ana"  # one written for her alone comes first
    assert pc.cycles.begin_evaluations(cycle.id, by="hana").state is ReviewCycleState.EVALUATIONS


def test_without_a_published_role_description_the_cycle_waits(pc: Perfcore) -> None:
    role(pc, "agent", "jd-agent")  # a draft
    cycle = pc.cycles.create(
        by="hana", id="c-26", name="2026 H1", period_start=PERIOD[0], period_end=PERIOD[1],
        participants=[Participant(employee_id="bo", manager_id="ben")],
    )  # fmt: skip
    pc.cycles.start(cycle.id, by="hana")
    with pytest.raises(GuardFailed, match="no published job description: bo"):
        pc.cycles.begin_evaluations(cycle.id, by="hana")


# -- scheduling -----------------------------------------------------------------------------------


def test_scheduling_creates_every_evaluation_from_the_directory(pc: Perfcore) -> None:
    described(pc)
    a_cycle(pc)
    schedule = pc.cycles.schedule_evaluations("c-26", by="hana")
    assert isinstance(schedule, EvaluationSchedule)
    assert sorted(schedule.created) == sorted(f"c-26.{p}" for p in ("ben", "lea", *AGENTS, "eli"))
    assert schedule.waiting == (
        ("mia", "no manager in the directory to evaluate them: HR names a delegate by hand"),
    )
    assert schedule.opened == schedule.requested == ()  # the period has not ended
    bo, ana, ben = (evaluation(pc, f"c-26.{p}") for p in ("bo", "ana", "ben"))
    assert (bo.evaluator_id, bo.job_description_id, bo.subject_is_manager) == (
        "ben", "jd-agent", False,
    )  # fmt: skip
    assert (ana.job_description_id, ana.cycle_id) == ("jd-ana", "c-26")
    assert (ben.evaluator_id, ben.job_description_id, ben.subject_is_manager) == (
        "mia", "jd-ben", True,
    )  # fmt: skip
    assert [c.name for c in bo.criteria] == ["Replies", "Quality"]
    assert bo.state is EvaluationState.SCHEDULED


def test_once_the_period_ends_it_opens_them_and_asks_each_managers_reports(
    pc: Perfcore, clock: Clock
) -> None:
    described(pc)
    a_cycle(pc)
    pc.cycles.schedule_evaluations("c-26", by="hana")
    clock.at = AFTER
    schedule = pc.cycles.schedule_evaluations("c-26", by="hana")
    assert schedule.created == ()
    assert len(schedule.opened) == 7
    assert sorted(schedule.requested) == sorted(
        [("c-26.ben", agent) for agent in AGENTS] + [("c-26.lea", "eli")]
    )
    ben = evaluation(pc, "c-26.ben")
    assert ben.state is EvaluationState.SELF_REVIEW
    assert {r.reviewer_id: r.relationship for r in ben.feedback_requests} == dict.fromkeys(
        AGENTS, Relationship.DIRECT_REPORT
    )
    again = pc.cycles.schedule_evaluations("c-26", by="hana")  # nothing is missing now
    assert (again.created, again.opened, again.requested) == ((), (), ())


def test_a_run_cut_short_is_resumed_by_running_it_again(
    pc: Perfcore, monkeypatch: pytest.MonkeyPatch
) -> None:
    described(pc)
    a_cycle(pc)
    real = Evaluation.create
    calls = {"n": 0}

    def crash_on_the_fourth(**kwargs: Any) -> Evaluation:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # the process dies in the middle of the third batch
        return real(**kwargs)

    monkeypatch.setattr(pc.cycles, "batch_size", 2)
    monkeypatch.setattr(Evaluation, "create", staticmethod(crash_on_the_fourth))
    with pytest.raises(KeyboardInterrupt):
        pc.cycles.schedule_evaluations("c-26", by="hana")
    monkeypatch.setattr(Evaluation, "create", real)
    first = pc.cycles.status("c-26", by="hana", on=PLANNED.date())
    made = sorted(p.employee_id for p in first.participants if p.evaluation is not None)
    # Batches of two, in the cycle's order: (mia, ben), (lea, ana) committed; (bo, cy) did not.
    assert made == ["ana", "ben", "lea"]
    resumed = pc.cycles.schedule_evaluations("c-26", by="hana")
    assert sorted(resumed.created) == sorted(f"c-26.{p}" for p in ("bo", "cy", "dee", "eli"))
    final = pc.cycles.status("c-26", by="hana", on=PLANNED.date())
    assert all(p.evaluation is not None for p in final.participants if p.employee_id != "mia")


def test_joiners_are_brought_in_and_leavers_excused(
    pc: Perfcore, org: MemoryDirectory | SQLiteDirectory, clock: Clock
) -> None:
    described(pc)
    a_cycle(pc)
    pc.goals.create(
        by="dee", id="g-dee", owner_id="dee", manager_id="ben", title="Replies",
        metric="replies a day", baseline=1, target=5, start=PERIOD[0], due=PERIOD[1],
    )  # fmt: skip
    org.place("fay", on=dt.date(2026, 3, 1), manager_id="ben", position="agent")
    org.place("gus", on=dt.date(2026, 8, 1), manager_id="ben", position="agent")  # too late
    org.leave("dee", on=dt.date(2026, 5, 1))
    clock.at = AFTER + dt.timedelta(days=40)
    schedule = pc.cycles.schedule_evaluations("c-26", by="hana")
    assert (schedule.joined, schedule.left) == (("fay",), ("dee",))
    assert schedule.closed == (("Goal", "g-dee"),)
    assert "c-26.fay" in schedule.created
    assert "c-26.dee" not in schedule.created
    assert ("c-26.ben", "fay") in schedule.requested
    assert ("c-26.ben", "dee") not in schedule.requested
    cycle = pc.cycles.get("c-26", by="hana")
    assert "fay" in cycle.employee_ids
    assert "dee" not in cycle.employee_ids
    history = pc.history("ReviewCycle", "c-26", by="hana")
    reasons = {e.trigger: e.reason for e in history if e.trigger.endswith("_participant")}
    assert "not in the organisation on 2026-08-10" in reasons["remove_participant"]
    assert "joined the organisation after the cycle was planned" in reasons["add_participant"]
    goal = pc.goals.get("g-dee", by="hana")
    assert goal.state.value == "cancelled"


def test_what_leavers_leave_open_is_told(
    pc: Perfcore, org: MemoryDirectory | SQLiteDirectory, clock: Clock
) -> None:
    """dee's evaluation was open when she left, and she had been asked for upward feedback
    on ben's: both are told to HR, and dee no longer holds the cycle up."""
    described(pc)
    a_cycle(pc)
    clock.at = AFTER
    pc.cycles.schedule_evaluations("c-26", by="hana")
    org.leave("dee", on=dt.date(2026, 7, 10))
    clock.at = AFTER + dt.timedelta(days=10)
    schedule = pc.cycles.schedule_evaluations("c-26", by="hana")
    assert schedule.left == ("dee",)
    assert dict(schedule.unresolved) == {
        "c-26.dee": "dee is no longer a participant: it stays self_review, since no command"
        " closes an evaluation",
        "c-26.ben": "dee was asked for feedback and has left without answering: waive the"
        " feedback, or go without",
    }
    status = pc.cycles.status("c-26", by="hana", on=clock.at.date())
    assert "dee" not in status.employee_ids


def test_only_hr_schedules_and_only_in_the_evaluations_stage(pc: Perfcore) -> None:
    described(pc)
    cycle = pc.cycles.create(
        by="hana", id="c-26", name="2026 H1", period_start=PERIOD[0], period_end=PERIOD[1],
        participants=[Participant(employee_id="bo", manager_id="ben")],
    )  # fmt: skip
    with pytest.raises(TransitionNotAllowed):
        pc.cycles.schedule_evaluations(cycle.id, by="hana")
    pc.cycles.start(cycle.id, by="hana")
    pc.cycles.begin_evaluations(cycle.id, by="hana")
    with pytest.raises(PermissionDenied):
        pc.cycles.schedule_evaluations(cycle.id, by="mia")
    hana = Actor(id="hana", roles={"employee", "hr"})
    assert "schedule_evaluations" in pc.cycles.get(cycle.id, by="hana").allowed_triggers(hana)


def test_scheduling_needs_a_directory() -> None:
    bare = Perfcore(MemoryStore(), clock=Clock())
    with pytest.raises(ValidationError, match="directory"):
        bare.cycles.schedule_evaluations("c-26", by="hana")


def test_an_evaluation_made_by_hand_is_kept_and_its_id_never_taken(pc: Perfcore) -> None:
    """bo's evaluation was created by hand, and another evaluation took the id scheduling would
    give cy's: bo keeps hers, cy gets one under a new id."""
    described(pc)
    a_cycle(pc)
    by_hand = pc.evaluations.create(
        by="ben", id="ev-bo", subject_id="bo", evaluator_id="ben", job_description_id="jd-agent",
        period_start=PERIOD[0], period_end=PERIOD[1], cycle_id="c-26",
    )  # fmt: skip
    pc.evaluations.create(
        by="ben", id="c-26.cy", subject_id="dee", evaluator_id="ben",
        job_description_id="jd-agent", period_start=PERIOD[0], period_end=PERIOD[1],
    )  # fmt: skip
    schedule = pc.cycles.schedule_evaluations("c-26", by="hana")
    assert by_hand.id not in schedule.created
    assert "c-26.bo" not in schedule.created
    status = {p.employee_id: p.evaluation for p in pc.cycles.status("c-26", by="hana",
              on=PLANNED.date()).participants}  # fmt: skip
    assert status["bo"] is not None
    assert status["bo"].id == "ev-bo"
    assert status["cy"] is not None
    assert status["cy"].id not in {"c-26.cy", "ev-bo"}
    assert evaluation(pc, status["cy"].id).subject_id == "cy"
