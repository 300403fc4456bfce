"""Notifications for every event someone should hear of, reminders sent once, each person's
to-do list, the reports per department and person, safety-critical expectations and career
paths (issue 11)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from perfcore import Actor, GuardFailed, MemoryDirectory, NotFound, PermissionDenied
from perfcore.adapters.memory import MemoryStore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.errors import ValidationError
from perfcore.evaluation import Evaluation, LinkedPlan, Rating
from perfcore.goal import Goal, Horizon
from perfcore.job_description import Criterion
from perfcore.lifecycle import lifecycle_of
from perfcore.plan import Approver, Objective, Plan, Support
from perfcore.ports import Notification, Store, UuidIds
from perfcore.serialization import from_envelope, to_envelope
from perfcore.services import (
    NOTIFICATIONS,
    NotificationRule,
    Notifications,
    Perfcore,
    TodoKind,
)
from perfcore.services.reminders import REMINDER_KINDS, reminder_key
from perfcore.survey import Question
from perfcore.testing._fakes import CountingIds, ManualClock
from perfcore.testing.conformance._support import pending
from perfcore.testing.drivers import driver_for

START = dt.date(2026, 1, 5)
AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
LONG_AGO = dt.date(2020, 1, 1)


def organisation() -> MemoryDirectory:
    """Two departments: Support (mia, ben managing ana, cy and dee) and Sales (ola, eve); HR
    (hana) and an approver (cleo) in People."""
    org = MemoryDirectory()
    org.place("hana", on=LONG_AGO, department="People", roles={"employee", "hr"})
    org.place("cleo", on=LONG_AGO, department="People", roles={"employee", "approver"})
    org.place("mia", on=LONG_AGO, department="Support", roles={"employee", "manager"})
    org.place("ben", on=LONG_AGO, manager_id="mia", department="Support",
              roles={"employee", "manager"})  # fmt: skip
    for person in ("ana", "cy", "dee"):
        org.place(person, on=LONG_AGO, manager_id="ben", department="Support")
    org.place("ola", on=LONG_AGO, department="Sales", roles={"employee", "manager"})
    org.place("eve", on=LONG_AGO, manager_id="ola", department="Sales")
    return org


class Recorder:
    def __init__(self) -> None:
        self.handed: list[Notification] = []

    def notify(self, notification: Notification) -> None:
        self.handed.append(notification)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(AT)


def make(store: Store, clock: ManualClock, **options: Any) -> Perfcore:
    options.setdefault("notifications", Notifications(hr=("hana",)))
    options.setdefault("ids", CountingIds())
    return Perfcore(store, clock=clock, directory=organisation(), **options)


@pytest.fixture
def pc(clock: ManualClock) -> Perfcore:
    return make(MemoryStore(), clock, notifier=Recorder())


def goal(pc: Perfcore, id: str = "g-1", owner: str = "ana", **fields: Any) -> Goal:
    values: dict[str, Any] = {
        "owner_id": owner, "manager_id": "ben", "title": "Resolve tickets",
        "metric": "tickets a week", "baseline": 0, "target": 10, "start": START,
        "due": START + dt.timedelta(days=90),
    }  # fmt: skip
    values.update(fields)
    return pc.goals.create(by=owner, id=id, **values)


def active_goal(pc: Perfcore, id: str = "g-1", owner: str = "ana", **fields: Any) -> Goal:
    goal(pc, id, owner, **fields)
    pc.goals.propose(id, by=owner)
    return pc.goals.approve(id, by=fields.get("manager_id", "ben"))


def plan(pc: Perfcore, id: str = "p-1", *, by: str = "ben", **fields: Any) -> Plan:
    values: dict[str, Any] = {
        "kind": "development", "subject_id": "ana", "author_id": by,
        "approver": Approver.person("cleo"),
        "objectives": [Objective(goal_id="g-1", success="ten a week")],
        "support": [Support(kind="mentoring", description="an hour a week with mia")],
        "review_schedule": "FREQ=WEEKLY;INTERVAL=4", "start": START,
        "end": START + dt.timedelta(days=180),
    }  # fmt: skip
    values.update(fields)
    return pc.plans.create(by=by, id=id, **values)


def active_plan(pc: Perfcore, id: str = "p-1", **fields: Any) -> Plan:
    plan(pc, id, **fields)
    pc.plans.submit(id, by=fields.get("by", "ben"))
    pc.plans.approve(id, by="cleo")
    return pc.plans.acknowledge(id, by="ana")


SAFETY = Criterion(
    name="Lockout procedure", weight=50, measured_by="site audit", required_level="always",
    safety_critical=True, required_score=4,
)  # fmt: skip
TICKETS = Criterion(name="Tickets", weight=50, measured_by="ticket system", required_level="40")


def rated(pc: Perfcore, lockout: int, id: str = "ev-1", subject: str = "ana") -> Any:
    """An evaluation in calibration whose safety-critical criterion was rated ``lockout``."""
    pc.evaluations.create(
        by="ben", id=id, subject_id=subject, evaluator_id="ben", job_description_id="jd-1",
        job_description_number=1, criteria=[SAFETY, TICKETS],
        period_start=START - dt.timedelta(days=365), period_end=START - dt.timedelta(days=1),
    )  # fmt: skip
    pc.evaluations.open(id, by="ben")
    pc.evaluations.skip_self_review(id, by="ben", reason="on leave")
    pc.evaluations.waive_feedback(id, by="hana", reason="a small team")
    return pc.evaluations.submit_manager_review(id, by="ben", ratings=[
        Rating(criterion="Lockout procedure", score=lockout, evidence="two audits"),
        Rating(criterion="Tickets", score=4, evidence="the ticket system"),
    ])  # fmt: skip


def sent(pc: Perfcore, kind: str | None = None) -> list[tuple[str, tuple[str, ...]]]:
    return [(n.kind, n.recipients) for n in pending(pc.store) if kind in (None, n.kind)]


# -- notifications ----------------------------------------------------------------------------


def test_a_goal_proposed_approved_and_achieved_tells_whoever_must_act_or_know(
    pc: Perfcore,
) -> None:
    active_goal(pc)
    pc.goals.check_in("g-1", by="ana", on=START, value=10)
    pc.goals.achieve("g-1", by="ben")
    assert sent(pc) == [
        ("goal_proposed", ("ben",)),
        ("goal_approved", ("ana",)),
        ("goal_achieved", ("ana", "ben")),
    ]
    achieved = pending(pc.store)[-1]
    assert (achieved.aggregate_type, achieved.aggregate_id, achieved.version) == ("Goal", "g-1", 5)
    assert achieved.data["why"] == "a goal was achieved"
    assert achieved.data["link"] == {"type": "Goal", "id": "g-1"}


def test_a_plan_submitted_goes_to_its_approver_and_a_department_to_its_mailbox(
    pc: Perfcore,
) -> None:
    goal(pc, "g-1")
    plan(pc, "p-1")
    pc.plans.submit("p-1", by="ben")
    plan(pc, "p-2", approver=Approver.department("People"))
    pc.plans.submit("p-2", by="ben")
    assert sent(pc, "plan_submitted") == [
        ("plan_submitted", ("cleo",)),
        ("plan_submitted", ("approvers:People",)),
    ]


def test_an_hr_written_plan_attained_tells_the_subjects_manager_from_the_directory(
    pc: Perfcore,
) -> None:
    active_goal(pc)
    pc.goals.check_in("g-1", by="ana", on=START, value=10)
    pc.goals.achieve("g-1", by="ben")
    active_plan(pc, by="hana")
    pc.plans.attain("p-1", by="hana")
    # The author (HR), the approver, and ana's manager in the directory: ben.
    assert sent(pc, "plan_attained") == [("plan_attained", ("hana", "cleo", "ben"))]


def test_a_finalized_evaluation_tells_the_subject_and_a_dispute_tells_hr(pc: Perfcore) -> None:
    rated(pc, lockout=4)
    pc.evaluations.finalize("ev-1", by="hana")
    pc.evaluations.dispute("ev-1", by="ana", reason="the audit was before my training")
    pc.evaluations.resolve_dispute("ev-1", by="hana", resolution="kept")
    assert sent(pc, "evaluation_finalized") == [("evaluation_finalized", ("ana", "ben"))]
    assert sent(pc, "dispute_raised") == [("dispute_raised", ("hana",))]
    assert sent(pc, "dispute_resolved") == [("dispute_resolved", ("ana",))]
    assert sent(pc, "safety_shortfall") == []  # rated at its required level
    [raised] = [n for n in pending(pc.store) if n.kind == "dispute_raised"]
    assert "the audit" not in str(raised.data)  # the reason stays in the record, not the mail


def test_integrators_add_replace_and_remove_rows_and_route_kinds_to_handlers(
    clock: ManualClock,
) -> None:
    pager, mail = Recorder(), Recorder()
    coach = NotificationRule(
        "coach_check_in", lambda goal, _event, _context: ["coach"], why="a check-in arrived"
    )
    table = (
        Notifications(hr=["hana"])
        .with_rules({("Goal", "approve"): None})  # no "goal approved" any more
        .with_rules(
            {
                ("Goal", "propose"): NotificationRule(
                    "please_approve",
                    lambda goal, _e, context: [context.manager_of(goal.owner_id)],
                )
            }
        )
        .adding({("Goal", "check_in"): [coach]})
        .with_handlers({"coach_check_in": pager})
    )
    pc = make(MemoryStore(), clock, notifier=mail, notifications=table)
    active_goal(pc)
    pc.goals.check_in("g-1", by="ana", on=START, value=3)
    assert sent(pc) == [("please_approve", ("ben",)), ("coach_check_in", ("coach",))]
    delivery = pc.deliver_notifications()
    assert len(delivery.delivered) == 2
    assert [n.kind for n in pager.handed] == ["coach_check_in"]
    assert [n.kind for n in mail.handed] == ["please_approve"]
    assert pc.notifications is table
    assert ("Goal", "approve") in NOTIFICATIONS  # perfcore's own table is unchanged


def test_handlers_alone_deliver_their_kinds_and_leave_the_rest_pending(clock: ManualClock) -> None:
    pager = Recorder()
    pc = make(
        MemoryStore(), clock, notifications=Notifications().with_handlers({"goal_approved": pager})
    )
    active_goal(pc)
    delivery = pc.deliver_notifications()
    assert [n.kind for n in pager.handed] == ["goal_approved"]
    assert list(delivery.failed.values()) == ["no handler for goal_proposed and no notifier"]


@pytest.mark.parametrize(
    "build",
    [
        lambda: Notifications(hr="hana"),
        lambda: Notifications(hr=["not an id "]),
        lambda: Notifications().with_rules({"Goal": NOTIFICATIONS[("Goal", "miss")]}),
        lambda: Notifications().with_rules({("Goal", "miss"): ["a rule"]}),
        lambda: Notifications().adding({("Goal", "miss"): NotificationRule("", lambda *_: [])}),
        lambda: Notifications().with_handlers({"goal_missed": object()}),
    ],
)
def test_a_table_that_is_not_one_is_refused(build: Any) -> None:
    with pytest.raises(ValidationError):
        build()


def test_perfcore_takes_only_a_notification_table(clock: ManualClock) -> None:
    with pytest.raises(ValidationError, match="notifications"):
        Perfcore(MemoryStore(), notifications={("Goal", "miss"): []})  # type: ignore[arg-type]


# -- safety-critical expectations -------------------------------------------------------------


def test_a_safety_shortfall_cannot_be_finalized_without_an_open_improvement_plan_for_the_subject(
    pc: Perfcore,
) -> None:
    rated(pc, lockout=2)
    with pytest.raises(GuardFailed, match=r"Lockout procedure \(2 < 4\).*link an improvement plan"):
        pc.evaluations.finalize("ev-1", by="hana")
    plan(pc, "p-dev")  # a development plan does not answer for it
    with pytest.raises(GuardFailed, match="development plan"):
        pc.evaluations.finalize("ev-1", by="hana", improvement_plan_id="p-dev")
    plan(pc, "p-cy", kind="improvement", subject_id="cy")  # nor cy's
    with pytest.raises(GuardFailed, match="is for cy"):
        pc.evaluations.finalize("ev-1", by="hana", improvement_plan_id="p-cy")
    with pytest.raises(NotFound):
        pc.evaluations.finalize("ev-1", by="hana", improvement_plan_id="p-none")
    plan(pc, "p-safe", kind="improvement")
    pc.plans.cancel("p-safe", by="ben", reason="written twice")
    with pytest.raises(GuardFailed, match="cancelled"):
        pc.evaluations.finalize("ev-1", by="hana", improvement_plan_id="p-safe")
    plan(pc, "p-fix", kind="improvement")
    final = pc.evaluations.finalize("ev-1", by="hana", improvement_plan_id="p-fix")
    assert isinstance(final, Evaluation)
    assert final.improvement_plan_id == "p-fix"
    assert [(s.criterion, s.score, s.required) for s in final.safety_shortfalls()] == [
        ("Lockout procedure", Decimal(2), Decimal(4))
    ]
    # The manager (the evaluator, and ana's manager in the directory) and HR are told.
    assert sent(pc, "safety_shortfall") == [("safety_shortfall", ("ben", "hana"))]
    [told] = [n for n in pending(pc.store) if n.kind == "safety_shortfall"]
    assert told.data["criteria"] == [
        {"criterion": "Lockout procedure", "score": "2", "required": "4"}
    ]
    assert told.data["improvement_plan_id"] == "p-fix"


def test_a_reopened_dispute_is_finalized_again_with_the_plan_it_was_linked_to(
    pc: Perfcore,
) -> None:
    rated(pc, lockout=1)
    plan(pc, "p-fix", kind="improvement")
    pc.evaluations.finalize("ev-1", by="hana", improvement_plan_id="p-fix")
    pc.evaluations.dispute("ev-1", by="ana", reason="wrong audit")
    pc.evaluations.resolve_dispute("ev-1", by="hana", resolution="looked again", reopen=True)
    again = pc.evaluations.finalize("ev-1", by="hana")
    assert isinstance(again, Evaluation)
    assert (str(again.state), again.improvement_plan_id) == ("finalized", "p-fix")


def test_the_safety_guard_is_in_the_evaluations_table() -> None:
    names = {guard.name for step in lifecycle_of("Evaluation").steps for guard in step.guards}
    assert "safety shortfalls planned" in names
    page = (Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md").read_text("utf-8")
    assert "safety shortfalls planned" in page


def test_a_criterion_without_a_required_score_needs_the_scales_middle() -> None:
    evaluation = driver_for("Evaluation").reach("calibration")
    flagged = Evaluation.create(
        id="ev-9", by=Actor(id="ben", roles={"manager"}), at=AT, subject_id="ana",
        evaluator_id="ben", job_description_id="jd-1", job_description_number=1,
        criteria=[Criterion(name=c.name, weight=c.weight, safety_critical=True)
                  for c in evaluation.criteria],
        period_start=evaluation.period_start, period_end=evaluation.period_end,
    )  # fmt: skip
    assert all(c.required_on(flagged.scale) == Decimal(3) for c in flagged.criteria)


def test_the_domain_guard_takes_the_plan_it_is_told_of() -> None:
    hana = Actor(id="hana", roles={"hr"})
    calibrating = Evaluation.create(
        id="ev-1", by=Actor(id="ben", roles={"manager"}), at=AT, subject_id="ana",
        evaluator_id="ben", job_description_id="jd-1", job_description_number=1,
        criteria=[SAFETY, TICKETS], period_start=START - dt.timedelta(days=30),
        period_end=START - dt.timedelta(days=1),
    )  # fmt: skip
    ben = Actor(id="ben", roles={"manager"})
    calibrating = calibrating.open(by=ben, at=AT).skip_self_review(by=ben, at=AT, reason="away")
    calibrating = calibrating.waive_feedback(by=hana, at=AT, reason="small team")
    calibrating = calibrating.submit_manager_review(by=ben, at=AT, ratings=[
        Rating(criterion="Lockout procedure", score=3, evidence="audit"),
        Rating(criterion="Tickets", score=5, evidence="tickets"),
    ])  # fmt: skip
    with pytest.raises(GuardFailed, match="safety shortfalls planned"):
        calibrating.finalize(by=hana, at=AT)
    closed = LinkedPlan(id="p-1", kind="improvement", subject_id="ana", state="closed")
    with pytest.raises(GuardFailed, match="closed"):
        calibrating.finalize(by=hana, at=AT, improvement_plan=closed)
    with pytest.raises(ValidationError, match="improvement_plan"):
        calibrating.finalize(by=hana, at=AT, improvement_plan="p-1")  # type: ignore[arg-type]
    final = calibrating.finalize(
        by=hana, at=AT, improvement_plan=LinkedPlan(
            id="p-1", kind="improvement", subject_id="ana", state="draft")
    )  # fmt: skip
    assert Evaluation.replay(final.history) == final


def test_a_safety_critical_goal_missed_tells_the_manager_and_hr(
    pc: Perfcore, clock: ManualClock
) -> None:
    active_goal(pc, safety_critical=True)
    clock.set(dt.datetime(2026, 4, 6, 9, tzinfo=dt.UTC))  # past its due day
    pc.goals.check_in("g-1", by="ana", on=dt.date(2026, 4, 6), value=4)
    pc.goals.miss("g-1", by="ben")
    assert sent(pc, "goal_missed") == [("goal_missed", ("ana", "ben"))]
    assert sent(pc, "safety_shortfall") == [("safety_shortfall", ("ben", "hana"))]


def test_the_reports_list_safety_shortfalls_per_department(
    pc: Perfcore, clock: ManualClock
) -> None:
    rated(pc, lockout=2)
    plan(pc, "p-fix", kind="improvement")
    pc.evaluations.finalize("ev-1", by="hana", improvement_plan_id="p-fix")
    active_goal(pc, "g-eve", owner="eve", manager_id="ola", safety_critical=True)
    active_goal(pc, "g-cy", owner="cy", safety_critical=True)
    day = START + dt.timedelta(days=45)  # half way: nothing checked in, both behind
    found = pc.reports.safety_shortfalls(by="hana", on=day)
    assert [(r.department, r.person_id, r.aggregate_type, r.aggregate_id) for r in found] == [
        ("Sales", "eve", "Goal", "g-eve"),
        ("Support", "ana", "Evaluation", "ev-1"),
        ("Support", "cy", "Goal", "g-cy"),
    ]
    assert found[1].improvement_plan_id == "p-fix"
    in_sales = pc.reports.safety_shortfalls(by="hana", on=day, department="Sales")
    assert [r.person_id for r in in_sales] == ["eve"]
    # ben hears of his own line only; before the evaluation was final there was none.
    assert [r.person_id for r in pc.reports.safety_shortfalls(by="ben", on=day)] == ["ana", "cy"]
    assert pc.reports.safety_shortfalls(by="hana", on=START - dt.timedelta(days=1)) == []
    summary = {d.department: d for d in pc.reports.departments(by="hana", on=day)}
    assert (summary["Support"].safety_shortfalls, summary["Sales"].safety_shortfalls) == (2, 1)


# -- career paths -----------------------------------------------------------------------------


def test_a_career_path_is_a_development_plan_toward_a_role_with_long_term_goals(
    pc: Perfcore,
) -> None:
    active_goal(pc, "g-1", horizon=Horizon.LONG, title="Lead a release")
    active_goal(pc, "g-2", title="Resolve tickets")  # short term, by default
    plan(pc, "p-1", target_role_id="jd-team-lead")
    with pytest.raises(ValidationError, match="target_role_id"):
        plan(pc, "p-2", kind="improvement", target_role_id="jd-team-lead")
    path = pc.reports.career_path("ana", by="ana", on=START)
    assert path.target_role_ids == ("jd-team-lead",)
    assert [p.id for p in path.plans] == ["p-1"]
    assert [s.goal.id for s in path.long_term_goals] == ["g-1"]
    assert pc.goals.get("g-2", by="ana").horizon is Horizon.SHORT
    # A colleague sees none of it.
    assert pc.reports.career_path("ana", by="cy", on=START).plans == ()


def test_old_stored_objects_load_with_the_new_fields_defaults() -> None:
    goal_ = driver_for("Goal").reach("active")
    envelope = to_envelope(goal_)
    for name in ("safety_critical", "horizon"):
        del envelope["data"][name]
    assert from_envelope(envelope) == goal_
    plan_ = driver_for("Plan").reach("draft")
    envelope = to_envelope(plan_)
    del envelope["data"]["target_role_id"]
    assert from_envelope(envelope) == plan_
    evaluation = driver_for("Evaluation").reach("finalized")
    envelope = to_envelope(evaluation)
    del envelope["data"]["improvement_plan_id"]
    for criterion in envelope["data"]["criteria"]:
        del criterion["safety_critical"], criterion["required_score"]
    assert from_envelope(envelope) == evaluation


# -- reminders --------------------------------------------------------------------------------


def test_reminders_are_sent_once_whatever_how_often_the_schedule_runs(
    pc: Perfcore, clock: ManualClock
) -> None:
    active_goal(pc, due=START + dt.timedelta(days=10))
    active_plan(pc)
    day = START + dt.timedelta(days=5)
    first = pc.reminders(on=day)
    assert [(n.kind, n.recipients) for n in first.sent] == [("goal_due", ("ana", "ben"))]
    assert first.sent[0].data["due"] == "2026-01-15"
    assert pc.reminders(on=day).sent == ()
    assert pc.reminders(on=day + dt.timedelta(days=1)).already_sent == 1
    # The plan's review (every four weeks from the start) comes within a week on 28 January.
    later = pc.reminders(on=dt.date(2026, 1, 28))
    assert [(n.kind, n.recipients) for n in later.sent] == [
        ("plan_review_due", ("ben", "cleo", "ana"))
    ]
    assert later.already_sent == 1


def test_pending_work_is_reminded_once_it_has_waited(pc: Perfcore, clock: ManualClock) -> None:
    pc.evaluations.create(
        by="ben", id="ev-1", subject_id="ana", evaluator_id="ben", job_description_id="jd-1",
        job_description_number=1, criteria={"Tickets": 100},
        period_start=START - dt.timedelta(days=365), period_end=START + dt.timedelta(days=3),
    )  # fmt: skip
    goal(pc, "g-1")
    pc.goals.propose("g-1", by="ana")
    plan(pc, "p-1", objectives=[Objective(goal_id="g-1", success="ten")])
    pc.plans.submit("p-1", by="ben")
    # Nothing has waited three days yet; the evaluation's period ends within the week.
    assert [r.kind for r in pc.reminders_due(on=START, waited=3)] == ["evaluation_due"]
    due = {(r.kind, r.recipients) for r in pc.reminders_due(on=START, waited=0)}
    assert due == {
        ("evaluation_due", ("ben",)),  # its period ends within the week
        ("goal_approval_due", ("ben",)),
        ("plan_approval_due", ("cleo",)),
    }
    clock.set(dt.datetime(2026, 1, 9, 9, tzinfo=dt.UTC))
    pc.evaluations.open("ev-1", by="ben")
    for reviewer in ("cy", "dee"):
        pc.evaluations.request_feedback("ev-1", by="ben", reviewer_id=reviewer,
                                        relationship="peer")  # fmt: skip
    pc.evaluations.give_feedback("ev-1", by="dee", scores={"Tickets": 4})
    run = pc.reminders(on=dt.date(2026, 1, 12))
    # The evaluation is open now (no longer due to be opened); dee answered, cy did not.
    assert [(n.kind, n.recipients) for n in run.sent] == [
        ("feedback_due", ("cy",)),  # one each: a reviewer is not told who else was asked
        ("goal_approval_due", ("ben",)),
        ("plan_approval_due", ("cleo",)),
        ("self_review_due", ("ana",)),
    ]
    assert all(n.data["why"] == REMINDER_KINDS[n.kind] for n in run.sent)
    assert pc.reminders(on=dt.date(2026, 1, 13)).sent == ()


def test_a_description_waiting_for_feedback_reminds_each_silent_audience_member(
    pc: Perfcore, clock: ManualClock
) -> None:
    pc.job_descriptions.create(
        by="ben", id="jd-1", title="Support engineer", department="Support",
        responsibilities=["Answer tickets"], criteria=[SAFETY, TICKETS],
        audience={"ana", "cy", "dee"},
    )  # fmt: skip
    pc.job_descriptions.open_feedback("jd-1", by="ben")
    pc.job_descriptions.give_feedback("jd-1", by="ana", supports=True)
    run = pc.reminders(on=START + dt.timedelta(days=3))
    assert [(n.kind, n.recipients) for n in run.sent] == [
        ("description_feedback_due", ("cy",)),
        ("description_feedback_due", ("dee",)),
    ]


def test_reminders_run_at_once_from_two_processes_send_each_once(tmp_path: Path) -> None:
    path = tmp_path / "hr.sqlite3"
    clock = ManualClock(AT)
    setup = make(SQLiteStore(path), clock)
    for n in range(12):
        active_goal(setup, f"g-{n}", due=START + dt.timedelta(days=1 + n % 5))
    barrier = threading.Barrier(2)
    runs: list[Any] = []

    def run() -> None:
        pc = make(SQLiteStore(path), clock, ids=UuidIds())  # each process its own ids
        barrier.wait()
        runs.append(pc.reminders(on=START))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent_ = [n.aggregate_id for result in runs for n in result.sent]
    assert sorted(sent_) == sorted(f"g-{n}" for n in range(12))
    outbox = [n for n in pending(setup.store) if n.kind == "goal_due"]
    assert len(outbox) == 12


def test_reminders_are_not_sent_from_inside_a_bulk(pc: Perfcore) -> None:
    with pc.bulk(), pytest.raises(ValidationError, match="bulk"):
        pc.reminders(on=START)


def test_a_reminder_key_holds_no_personal_data() -> None:
    key = reminder_key("feedback_due", "Evaluation", "ev-1", "cy")
    assert key.startswith("reminder/")
    assert "cy" not in key.removeprefix("reminder/")
    assert key != reminder_key("feedback_due", "Evaluation", "ev-1", "dee")


@pytest.mark.parametrize("bad", [{"within": -1}, {"waited": 1.5}, {"on": "2026-01-05"}])
def test_a_reminder_run_refuses_bad_arguments(pc: Perfcore, bad: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"on": START, **bad}
    with pytest.raises(ValidationError):
        pc.reminders(**arguments)


def test_a_window_wider_than_the_calendar_reaches_its_end(pc: Perfcore) -> None:
    active_goal(pc, due=dt.date(2099, 12, 31))
    far = pc.reminders_due(on=START, within=10**12, waited=10**12)
    assert [(r.kind, r.aggregate_id) for r in far] == [("goal_due", "g-1")]
    assert pc.reminders(on=START, within=10**12).sent[0].aggregate_id == "g-1"


# -- to-do lists ------------------------------------------------------------------------------


def test_each_person_sees_what_waits_for_them(pc: Perfcore, clock: ManualClock) -> None:
    goal(pc, "g-1")
    pc.goals.propose("g-1", by="ana")
    plan(pc, "p-1")
    pc.plans.submit("p-1", by="ben")
    pc.evaluations.create(
        by="ben", id="ev-1", subject_id="cy", evaluator_id="ben", job_description_id="jd-1",
        job_description_number=1, criteria={"Tickets": 100},
        period_start=START - dt.timedelta(days=365), period_end=START - dt.timedelta(days=1),
    )  # fmt: skip
    day = START + dt.timedelta(days=1)
    assert [(i.kind, i.aggregate_id) for i in pc.todo("ben", by="ben", on=day)] == [
        (TodoKind.EVALUATION_TO_OPEN, "ev-1"),
        (TodoKind.GOAL_APPROVAL, "g-1"),
    ]
    assert [(i.kind, i.aggregate_id) for i in pc.todo("cleo", by="cleo", on=day)] == [
        (TodoKind.PLAN_APPROVAL, "p-1")
    ]
    pc.evaluations.open("ev-1", by="ben")
    pc.evaluations.request_feedback("ev-1", by="ben", reviewer_id="ana", relationship="peer")
    pc.goals.approve("g-1", by="ben")
    pc.plans.approve("p-1", by="cleo")
    later = START + dt.timedelta(days=20)
    assert [(i.kind, i.aggregate_id) for i in pc.todo("ana", by="ana", on=later)] == [
        (TodoKind.PLAN_ACKNOWLEDGEMENT, "p-1"),
        (TodoKind.GOAL_CHECK_IN, "g-1"),  # none for 14 days since its start
        (TodoKind.FEEDBACK_REQUEST, "ev-1"),
    ]
    assert [i.kind for i in pc.todo("cy", by="cy", on=later)] == [TodoKind.SELF_REVIEW]


def test_a_to_do_list_is_read_by_its_person_their_managers_and_hr_only(pc: Perfcore) -> None:
    pc.evaluations.create(
        by="ben", id="ev-1", subject_id="cy", evaluator_id="ben", job_description_id="jd-1",
        job_description_number=1, criteria={"Tickets": 100},
        period_start=START - dt.timedelta(days=365), period_end=START - dt.timedelta(days=1),
    )  # fmt: skip
    pc.evaluations.open("ev-1", by="ben")
    pc.evaluations.request_feedback("ev-1", by="ben", reviewer_id="eve", relationship="peer")
    day = START + dt.timedelta(days=1)
    assert [i.kind for i in pc.todo("eve", by="eve", on=day)] == [TodoKind.FEEDBACK_REQUEST]
    assert [i.kind for i in pc.todo("eve", by="hana", on=day)] == [TodoKind.FEEDBACK_REQUEST]
    # eve's manager may read her list, but not cy's evaluation: the item is not shown to him.
    assert pc.todo("eve", by="ola", on=day) == []
    for stranger in ("ana", "ben"):
        with pytest.raises(PermissionDenied):
            pc.todo("eve", by=stranger, on=day)
    # cy's managers may read her list; only ben, her evaluator, may read the evaluation.
    assert [i.kind for i in pc.todo("cy", by="ben", on=day)] == [TodoKind.SELF_REVIEW]
    assert pc.todo("cy", by="mia", on=day) == []


def test_a_to_do_list_is_read_a_page_at_a_time(pc: Perfcore) -> None:
    for n in range(5):
        goal(pc, f"g-{n}")
        pc.goals.propose(f"g-{n}", by="ana")
    day = START + dt.timedelta(days=1)
    whole = pc.todo("ben", by="ben", on=day)
    first = pc.todo("ben", by="ben", on=day, limit=2)
    rest = pc.todo("ben", by="ben", on=day, after=first[-1].key)
    assert first + rest == whole
    assert [i.aggregate_id for i in whole] == [f"g-{n}" for n in range(5)]
    with pytest.raises(ValidationError, match="after"):
        pc.todo("ben", by="ben", on=day, after=("g-1",))  # type: ignore[arg-type]


# -- reports ----------------------------------------------------------------------------------


def test_who_is_meeting_their_goals_per_department_and_person_as_of_a_day(
    pc: Perfcore, clock: ManualClock
) -> None:
    active_goal(pc, "g-ana")
    active_goal(pc, "g-cy", owner="cy")
    active_goal(pc, "g-eve", owner="eve", manager_id="ola")
    halfway = START + dt.timedelta(days=45)
    clock.set(dt.datetime.combine(halfway, dt.time(9), tzinfo=dt.UTC))
    pc.goals.check_in("g-ana", by="ana", on=halfway, value=6)
    pc.goals.check_in("g-eve", by="eve", on=halfway, value=9)
    people = pc.reports.goals(by="hana", on=halfway)
    assert [(p.person_id, p.department, p.meets_goals) for p in people] == [
        ("ana", "Support", True),
        ("cy", "Support", False),
        ("eve", "Sales", True),
    ]
    assert [p.person_id for p in pc.reports.goals(by="hana", on=halfway, department="Sales")] == [
        "eve"
    ]
    assert [p.person_id for p in pc.reports.goals(by="hana", on=halfway, person_id="cy")] == ["cy"]
    assert [p.person_id for p in pc.reports.goals(by="ben", on=halfway)] == ["ana", "cy"]
    assert [p.person_id for p in pc.reports.goals(by="hana", on=halfway, limit=1,
                                                  after="ana")] == ["cy"]  # fmt: skip
    # As the records stood before the check-ins: both behind.
    before = pc.reports.goals(by="hana", on=halfway - dt.timedelta(days=1), person_id="ana")
    assert not before[0].meets_goals
    summary = pc.reports.departments(by="hana", on=halfway)
    assert [(d.department, d.meeting, d.not_meeting) for d in summary] == [
        ("Sales", ("eve",), ()),
        ("Support", ("ana",), ("cy",)),
    ]


def test_plans_due_and_the_support_they_promised(pc: Perfcore) -> None:
    active_goal(pc)
    active_plan(pc)
    review = dt.date(2026, 2, 2)
    assert pc.reports.plans_due(by="hana", on=review - dt.timedelta(days=1)) == []
    assert [r.plan.id for r in pc.reports.plans_due(by="hana", on=review)] == ["p-1"]
    assert [r.plan.id for r in pc.reports.plans_due(by="mia", on=review,
                                                    department="Support")] == ["p-1"]  # fmt: skip
    assert pc.reports.plans_due(by="hana", on=review, department="Sales") == []
    [promise] = pc.reports.support(by="hana", on=review)
    assert (promise.plan_id, promise.subject_id, promise.department) == ("p-1", "ana", "Support")
    assert [s.kind for s in promise.support] == ["mentoring"]
    assert pc.reports.support(by="eve", on=review) == []  # not hers to read
    assert pc.reports.support(by="hana", on=START - dt.timedelta(days=1)) == []


def test_a_department_needs_a_directory_and_not_a_person_too(clock: ManualClock) -> None:
    bare = Perfcore(MemoryStore(), clock=clock)
    with pytest.raises(ValidationError, match="directory"):
        bare.reports.goals(by=Actor(id="hana", roles={"hr"}), on=START, department="Sales")
    with pytest.raises(ValidationError, match="directory"):
        bare.reports.departments(by=Actor(id="hana", roles={"hr"}), on=START)
    pc = make(MemoryStore(), clock)
    with pytest.raises(ValidationError, match="person_id"):
        pc.reports.goals(by="hana", on=START, department="Sales", person_id="eve")


def test_work_that_follows_a_person_to_a_new_manager_tells_them_and_a_survey_its_people(
    clock: ManualClock,
) -> None:
    org = organisation()
    org.place("lea", on=LONG_AGO, manager_id="mia", department="Support",
              roles={"employee", "manager"})  # fmt: skip
    pc = Perfcore(MemoryStore(), clock=clock, directory=org, ids=CountingIds())
    active_goal(pc)
    plan(pc, "p-1")
    pc.surveys.create(by="ben", id="s-1", title="Team health", manager_id="ben",
                      questions=[Question(key="clear", text="My goals are clear")],
                      opens_on=START, closes_on=START + dt.timedelta(days=9))  # fmt: skip
    pc.surveys.open("s-1", by="ben")
    assert sent(pc, "survey_opened") == [("survey_opened", ("ana", "cy", "dee"))]
    org.place("ana", on=START + dt.timedelta(days=1), manager_id="lea", department="Support")
    clock.set(AT + dt.timedelta(days=1))
    pc.reassign("ana", on=START + dt.timedelta(days=1), by="hana", reason="moved to lea's team")
    moved = [n for n in pending(pc.store) if n.kind == "work_reassigned"]
    assert [(n.aggregate_id, n.recipients, n.data["to"]) for n in moved] == [
        ("g-1", ("lea", "ana"), "lea"),
        ("p-1", ("lea", "ana"), "lea"),
    ]
    assert "moved to lea" not in str(moved[0].data)  # the reason stays in the record
