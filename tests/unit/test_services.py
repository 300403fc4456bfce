"""The application services on the memory store: every command path, cross-aggregate atomicity
under injected failures, idempotency, retries, notifications, queries, audit verification."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest

from perfcore import (
    Actor,
    ConcurrencyError,
    GuardFailed,
    NotFound,
    PermissionDenied,
    Standing,
    StorageError,
    TransitionNotAllowed,
    ValidationError,
)
from perfcore.adapters.memory import MemoryStore
from perfcore.audit import AuditProblem
from perfcore.evaluation import Rating
from perfcore.events import Event
from perfcore.job_description import Criterion, JobDescription
from perfcore.plan import Approver, Objective
from perfcore.ports import IDEMPOTENCY_KEY, Notification, Store
from perfcore.services import IdempotencyConflict, Perfcore
from perfcore.services._runner import scoped_key
from perfcore.testing._fakes import CountingIds
from perfcore.testing._workflow.snapshot import take
from perfcore.testing.conformance._support import pending

UTC = dt.UTC
START = dt.date(2026, 1, 5)  # a Monday
ANA = Actor(id="ana")
BO = Actor(id="bo")
BEN = Actor(id="ben", roles={"employee", "manager"})
MIA = Actor(id="mia", roles={"employee", "manager"})
CLEO = Actor(id="cleo", roles={"employee", "approver"}, department="people")
HANA = Actor(id="hana", roles={"hr"})
AUDIENCE = (Actor(id="ali"), Actor(id="bo"), Actor(id="cy"))
#: Reads name their reader: HR reads everything.
READER = Actor(id="hr-reader", roles={"hr"})


class ManualClock:
    """A clock the test sets; it never moves by itself."""

    def __init__(self, at: dt.datetime = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)) -> None:
        self.at = at

    def now(self) -> dt.datetime:
        return self.at

    def on(self, day: dt.date, hour: int = 10) -> None:
        self.at = dt.datetime.combine(day, dt.time(hour), tzinfo=UTC)


class Recorder:
    """A notifier that keeps what it is handed."""

    def __init__(self) -> None:
        self.handed: list[Notification] = []

    def notify(self, notification: Notification) -> None:
        self.handed.append(notification)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def pc(store: MemoryStore, clock: ManualClock) -> Perfcore:
    return Perfcore(store, clock=clock, ids=CountingIds(), notifier=Recorder())


def snapshot(store: Store) -> dict[str, Any]:
    """Everything a store holds, to show that a failed command changed nothing."""
    taken = take(store, ())
    return {"objects": taken.objects, "audit": taken.audit, "outbox": taken.pending}


def audit_entries(store: Store) -> list[Event]:
    """Every event of every object, in the global order."""
    return list(take(store, ()).audit)


# -- building blocks -------------------------------------------------------------------------------


def goal(pc: Perfcore, id: str = "g-1", owner: Actor = ANA, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "title": "Resolve more tickets",
        "metric": "tickets a week",
        "baseline": 0,
        "target": 10,
        "start": START,
        "due": START + dt.timedelta(days=90),
    }
    values.update(fields)
    return pc.goals.create(by=owner, id=id, owner_id=owner.id, manager_id=BEN.id, **values)


def active_goal(pc: Perfcore, id: str = "g-1", owner: Actor = ANA, **fields: Any) -> Any:
    goal(pc, id, owner, **fields)
    pc.goals.propose(id, by=owner)
    return pc.goals.approve(id, by=BEN)


def achieved_goal(pc: Perfcore, id: str = "g-1") -> Any:
    active_goal(pc, id)
    pc.goals.check_in(id, by=ANA, on=START, value=10)
    return pc.goals.achieve(id, by=BEN)


CRITERIA = (
    Criterion(name="Reply time", measured_by="median hours", weight=60, required_level="4h"),
    Criterion(name="Rating", measured_by="survey score", weight=40, required_level=4),
)


def published_jd(pc: Perfcore, id: str = "jd-1", source: str | None = None) -> JobDescription:
    if source is None:
        pc.job_descriptions.create(
            by=MIA, id=id, title="Support engineer", department="Support",
            responsibilities=["Answer tickets"], criteria=CRITERIA,
            audience={member.id for member in AUDIENCE},
        )  # fmt: skip
    else:
        pc.job_descriptions.new_version(source, by=MIA, id=id)
    pc.job_descriptions.open_feedback(id, by=MIA)
    for member in AUDIENCE:
        pc.job_descriptions.give_feedback(id, by=member, supports=True)
    pc.job_descriptions.endorse(id, by=MIA)
    return pc.job_descriptions.publish(id, by=MIA)


def active_plan(pc: Perfcore, goal_ids: tuple[str, ...] = ("g-1",), id: str = "p-1") -> Any:
    pc.plans.create(
        by=BEN, id=id, kind="development", subject_id="ana", author_id="ben",
        approver=Approver.person("cleo"),
        objectives=[Objective(goal_id=g, success=f"{g} achieved") for g in goal_ids],
        review_schedule="FREQ=WEEKLY;INTERVAL=4", start=START, end=START + dt.timedelta(days=180),
    )  # fmt: skip
    pc.plans.submit(id, by=BEN)
    pc.plans.approve(id, by=CLEO)
    return pc.plans.acknowledge(id, by=ANA)


def kinds(pc: Perfcore) -> list[tuple[str, tuple[str, ...]]]:
    return [(n.kind, n.recipients) for n in pending(pc.store)]


# -- goals -----------------------------------------------------------------------------------------


def test_every_goal_command_runs_through_the_service(pc: Perfcore, clock: ManualClock) -> None:
    created = goal(pc)
    assert (created.id, created.version, created.created_at) == ("g-1", 1, clock.at)
    pc.goals.edit("g-1", by=ANA, description="from the ticket system")
    pc.goals.propose("g-1", by=ANA)
    pc.goals.request_changes("g-1", by=BEN, reason="a weekly target")
    pc.goals.propose("g-1", by=ANA)
    pc.goals.approve("g-1", by=BEN)
    pc.goals.check_in("g-1", by=ANA, on=START, value=10, note="a good week")
    achieved = pc.goals.achieve("g-1", by=BEN)
    assert (str(achieved.state), achieved.version) == ("achieved", 8)
    assert pc.goals.get("g-1", by=READER) == achieved
    assert [event.trigger for event in audit_entries(pc.store)] == [
        "create", "edit", "propose", "request_changes", "propose", "approve", "check_in", "achieve",
    ]  # fmt: skip
    assert pc.verify_audit_log().intact


def test_a_goal_may_be_missed_or_cancelled(pc: Perfcore, clock: ManualClock) -> None:
    active_goal(pc, "g-1")
    active_goal(pc, "g-2")
    clock.on(START + dt.timedelta(days=90))
    assert str(pc.goals.miss("g-1", by=BEN, reason="too ambitious").state) == "missed"
    assert str(pc.goals.cancel("g-2", by=BEN, reason="reorganised").state) == "cancelled"


def test_a_new_goal_gets_an_id_from_the_factory(pc: Perfcore) -> None:
    created = pc.goals.create(
        by=ANA, owner_id="ana", manager_id="ben", baseline=0, target=1, start=START,
        due=START + dt.timedelta(days=1),
    )  # fmt: skip
    assert created.id == "goal-1"
    assert pc.goals.find("goal-1", by=READER) == created
    assert pc.goals.find("nothing", by=READER) is None


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (lambda pc: pc.goals.approve("g-1", by=ANA), PermissionDenied),
        (lambda pc: pc.goals.achieve("g-1", by=BEN), TransitionNotAllowed),
        (lambda pc: pc.goals.approve("missing", by=BEN), NotFound),
        (lambda pc: pc.goals.edit("g-1", by=ANA, owner_id="bo"), ValidationError),
        (lambda pc: pc.goals.cancel("g-1", by=BEN, reason=" "), ValidationError),
    ],
)
def test_a_refused_command_changes_nothing(
    pc: Perfcore, command: Callable[[Perfcore], object], error: type[Exception]
) -> None:
    goal(pc)
    pc.goals.propose("g-1", by=ANA)
    before = snapshot(pc.store)
    with pytest.raises(error):
        command(pc)
    assert snapshot(pc.store) == before


def test_the_policy_of_the_services_applies(store: MemoryStore) -> None:
    from perfcore import Policy
    from perfcore.rules import nobody

    closed = Policy().with_rules({("Goal", "approve"): nobody})
    pc = Perfcore(store, clock=ManualClock(), policy=closed)
    goal(pc)
    pc.goals.propose("g-1", by=ANA)
    with pytest.raises(PermissionDenied):
        pc.goals.approve("g-1", by=BEN)
    assert pc.policy is closed


def test_a_clock_without_a_time_zone_is_refused(store: MemoryStore) -> None:
    naive = ManualClock(dt.datetime(2026, 1, 5, 9))
    with pytest.raises(ValidationError, match="timezone"):
        goal(Perfcore(store, clock=naive))


@pytest.mark.parametrize("key", ["text", b""])
def test_the_audit_key_must_be_bytes(store: MemoryStore, key: Any) -> None:
    with pytest.raises(ValidationError, match="audit_key"):
        Perfcore(store, audit_key=key)


# -- job descriptions ------------------------------------------------------------------------------


def test_every_job_description_command_runs_through_the_service(pc: Perfcore) -> None:
    pc.job_descriptions.create(
        by=MIA, id="jd-1", title="Support engineer", department="Support",
        responsibilities=["Answer tickets"], criteria=CRITERIA, audience={"ali", "bo", "cy"},
    )  # fmt: skip
    pc.job_descriptions.edit("jd-1", by=MIA, title="Senior support engineer")
    pc.job_descriptions.open_feedback("jd-1", by=MIA)
    pc.job_descriptions.give_feedback("jd-1", by=AUDIENCE[0], supports=False, comment="on-call?")
    pc.job_descriptions.revise("jd-1", by=MIA, reason="add the on-call rota")
    published = published_jd_from_draft(pc, "jd-1")
    assert str(published.state) == "published"
    retired = pc.job_descriptions.retire("jd-1", by=HANA, reason="merged")
    assert str(retired.state) == "retired"
    assert pc.verify_audit_log().intact


def published_jd_from_draft(pc: Perfcore, id: str) -> JobDescription:
    pc.job_descriptions.open_feedback(id, by=MIA)
    for member in AUDIENCE:
        pc.job_descriptions.give_feedback(id, by=member, supports=True)
    pc.job_descriptions.endorse(id, by=MIA)
    return pc.job_descriptions.publish(id, by=MIA)


def test_publishing_number_two_supersedes_number_one_together(pc: Perfcore) -> None:
    published_jd(pc, "jd-1")
    log = len(audit_entries(pc.store))
    second = published_jd(pc, "jd-2", source="jd-1")
    first = pc.job_descriptions.get("jd-1", by=READER)
    assert (second.number, str(second.state)) == (2, "published")
    assert str(first.state) == "superseded"
    assert (
        pc.history("JobDescription", "jd-1", by=READER)[-1].reason
        == "superseded by number 2 (jd-2)"
    )
    publish, supersede = audit_entries(pc.store)[-2:]
    assert (publish.aggregate_id, publish.trigger) == ("jd-2", "publish")
    assert (supersede.aggregate_id, supersede.trigger) == ("jd-1", "supersede")
    assert publish.at == supersede.at
    assert len(audit_entries(pc.store)) > log
    assert pc.verify_audit_log().intact


def test_an_older_number_cannot_replace_a_newer_one(pc: Perfcore) -> None:
    published_jd(pc, "jd-1")
    pc.job_descriptions.new_version("jd-1", by=MIA, id="jd-2")
    published_jd(pc, "jd-3", source="jd-2")
    with pytest.raises(GuardFailed, match="number 3"):
        published_jd_from_draft(pc, "jd-2")
    assert str(pc.job_descriptions.get("jd-3", by=READER).state) == "published"


def test_a_new_version_is_drafted_from_the_newest_number(pc: Perfcore) -> None:
    published_jd(pc, "jd-1")
    second = pc.job_descriptions.new_version("jd-1", by=MIA)
    assert second.id.startswith("jobdescription-")
    assert (second.number, second.lineage_id) == (2, "jd-1")
    with pytest.raises(GuardFailed, match="number 2"):
        pc.job_descriptions.new_version("jd-1", by=MIA, id="jd-x")
    assert pc.job_descriptions.find("jd-x", by=READER) is None


def test_supersede_may_be_fired_on_its_own(pc: Perfcore) -> None:
    published_jd(pc, "jd-1")
    assert str(pc.job_descriptions.supersede("jd-1", by=HANA).state) == "superseded"


def test_opening_feedback_tells_the_audience(pc: Perfcore) -> None:
    pc.job_descriptions.create(
        by=MIA, id="jd-1", title="Support engineer", department="Support",
        responsibilities=["Answer tickets"], criteria=CRITERIA, audience={"cy", "ali", "bo"},
    )  # fmt: skip
    pc.job_descriptions.open_feedback("jd-1", by=MIA)
    [sent] = pending(pc.store)
    assert (sent.kind, sent.recipients) == ("feedback_opened", ("ali", "bo", "cy"))
    assert (sent.aggregate_type, sent.aggregate_id, sent.version) == ("JobDescription", "jd-1", 2)
    assert sent.data["title"] == "Support engineer"


# -- injected failures in a cross-aggregate command ------------------------------------------------


class InjectedFailure(Exception):
    """Raised where the test said the store would fail."""


class _Part:
    def __init__(self, inner: Any, fail: Callable[[str], None], name: str) -> None:
        self._inner, self._fail, self._name = inner, fail, name

    def __getattr__(self, attribute: str) -> Any:
        found = getattr(self._inner, attribute)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            self._fail(f"{self._name}.{attribute}")
            return found(*args, **kwargs)

        return call


class FailingStore:
    """A store that raises :class:`InjectedFailure` at the ``nth`` call of ``where`` (such as
    ``"events.append"`` or ``"commit"``), counted from when it is armed."""

    PARTS = ("events", "snapshots", "seals", "outbox", "idempotency")

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.where: str | None = None
        self.nth = 0

    def arm(self, where: str, nth: int = 1) -> None:
        self.where, self.nth = where, nth

    def fail(self, call: str) -> None:
        if call == self.where:
            self.nth -= 1
            if self.nth == 0:
                raise InjectedFailure(call)

    def unit_of_work(self) -> Any:
        uow = self.inner.unit_of_work()
        store = self

        class Unit:
            def __init__(self) -> None:
                for part in FailingStore.PARTS:
                    setattr(self, part, _Part(getattr(uow, part), store.fail, part))

            def __enter__(self) -> Unit:
                uow.__enter__()
                return self

            def __exit__(self, *exc: Any) -> None:
                uow.__exit__(*exc)

            def commit(self) -> None:
                store.fail("commit")
                uow.commit()

            def rollback(self) -> None:
                uow.rollback()

        return Unit()

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def failing(store: MemoryStore) -> FailingStore:
    return FailingStore(store)


@pytest.mark.parametrize(
    "where",
    [
        ("events.append", 1),
        ("events.append", 2),
        ("events.append", 3),
        ("idempotency.put", 1),
        ("commit", 1),
    ],
)
def test_a_failure_in_the_middle_of_publishing_changes_nothing(
    failing: FailingStore, where: tuple[str, int]
) -> None:
    pc = Perfcore(failing, clock=ManualClock(), ids=CountingIds())  # type: ignore[arg-type]
    published_jd(pc, "jd-1")
    pc.job_descriptions.new_version("jd-1", by=MIA, id="jd-2")
    pc.job_descriptions.open_feedback("jd-2", by=MIA)
    for member in AUDIENCE:
        pc.job_descriptions.give_feedback("jd-2", by=member, supports=True)
    pc.job_descriptions.endorse("jd-2", by=MIA)
    before = snapshot(failing.inner)
    failing.arm(*where)
    with pytest.raises(InjectedFailure):
        pc.job_descriptions.publish("jd-2", by=MIA, idempotency_key="publish-2")
    assert snapshot(failing.inner) == before
    with failing.inner.unit_of_work() as uow:
        assert uow.idempotency.get(scoped_key(MIA.id, "publish-2")) is None
    # The same request, once the store works again, does all of it.
    pc.job_descriptions.publish("jd-2", by=MIA, idempotency_key="publish-2")
    assert str(pc.job_descriptions.get("jd-1", by=READER).state) == "superseded"
    assert pc.verify_audit_log().intact


@pytest.mark.parametrize("where", [("events.append", 1), ("outbox.put", 1), ("commit", 1)])
def test_a_failure_while_attaining_a_plan_changes_nothing(
    failing: FailingStore, where: tuple[str, int]
) -> None:
    pc = Perfcore(failing, clock=ManualClock(), ids=CountingIds())  # type: ignore[arg-type]
    achieved_goal(pc, "g-1")
    active_plan(pc)
    before = snapshot(failing.inner)
    failing.arm(*where)
    with pytest.raises(InjectedFailure):
        pc.plans.attain("p-1", by=BEN)
    assert snapshot(failing.inner) == before


# -- plans -----------------------------------------------------------------------------------------


def test_every_plan_command_runs_through_the_service(pc: Perfcore, clock: ManualClock) -> None:
    active_goal(pc, "g-1")
    pc.plans.create(by=BEN, id="p-1", kind="development", subject_id="ana", author_id="ben",
                    start=START, end=START + dt.timedelta(days=180))  # fmt: skip
    pc.plans.edit(
        "p-1", by=BEN, approver=Approver.person("cleo"),
        objectives=(Objective(goal_id="g-1", success="done"),),
        review_schedule="FREQ=WEEKLY;INTERVAL=4",
    )  # fmt: skip
    pc.plans.submit("p-1", by=BEN)
    pc.plans.request_changes("p-1", by=CLEO, reason="say what done means")
    pc.plans.submit("p-1", by=BEN)
    pc.plans.approve("p-1", by=CLEO)
    pc.plans.acknowledge("p-1", by=ANA)
    clock.on(START + dt.timedelta(weeks=4))
    pc.plans.start_review("p-1", by=BEN)
    pc.plans.conclude_review("p-1", by=BEN, notes="on track")
    clock.on(START + dt.timedelta(weeks=8))
    pc.plans.start_review("p-1", by=BEN)
    revised = pc.plans.revise("p-1", by=BEN, reason="a second goal")
    assert str(revised.state) == "draft"
    pc.plans.cancel("p-1", by=BEN, reason="ana moved team")
    active_plan(pc, id="p-2")
    clock.on(START + dt.timedelta(days=180), hour=17)
    closed = pc.plans.close("p-2", by=BEN, reason="the plan ended")
    assert str(closed.state) == "closed"
    assert pc.verify_audit_log().intact


@pytest.mark.parametrize(
    ("goal_ids", "why"),
    [
        (("g-none",), "goal g-none is not stored"),
        (("g-1", "g-bo"), "goal g-bo is bo's, not ana's"),
    ],
)
def test_a_plans_objectives_are_its_subjects_stored_goals(
    pc: Perfcore, goal_ids: tuple[str, ...], why: str
) -> None:
    active_goal(pc, "g-1")
    active_goal(pc, "g-bo", owner=BO)
    pc.plans.create(by=BEN, id="p-1", kind="development", subject_id="ana", author_id="ben",
                    approver=Approver.person("cleo"),
                    objectives=[Objective(goal_id=g, success="done") for g in goal_ids],
                    review_schedule="FREQ=WEEKLY;INTERVAL=4",
                    start=START, end=START + dt.timedelta(days=180))  # fmt: skip
    before = snapshot(pc.store)
    with pytest.raises(GuardFailed) as refused:
        pc.plans.submit("p-1", by=BEN)
    assert (refused.value.rule, refused.value.why) == ("objectives are the subject's goals", why)
    assert snapshot(pc.store) == before


def test_attaining_a_plan_reads_its_goals_from_storage(pc: Perfcore) -> None:
    achieved_goal(pc, "g-1")
    active_goal(pc, "g-2")
    active_plan(pc, goal_ids=("g-1", "g-2"))
    with pytest.raises(GuardFailed, match="goal g-2 is active"):
        pc.plans.attain("p-1", by=BEN)
    pc.goals.check_in("g-2", by=ANA, on=START, value=10)
    pc.goals.achieve("g-2", by=BEN)
    attained = pc.plans.attain("p-1", by=BEN)
    assert str(attained.state) == "attained"
    assert attained.attainment is not None
    assert attained.attainment.goal_ids == ("g-1", "g-2")


def test_an_attained_plan_tells_its_author_and_approver(pc: Perfcore) -> None:
    achieved_goal(pc, "g-1")
    active_plan(pc)
    pc.plans.attain("p-1", by=BEN)
    [sent] = [n for n in pending(pc.store) if n.kind == "plan_attained"]
    assert (sent.kind, sent.recipients) == ("plan_attained", ("ben", "cleo"))
    assert sent.data == {
        "trigger": "attain", "actor_id": "ben", "subject_id": "ana", "goal_ids": ["g-1"],
        "why": "every goal of the plan was achieved", "link": {"type": "Plan", "id": "p-1"},
        "kind": "development", "author_id": "ben",
    }  # fmt: skip


# -- evaluations -----------------------------------------------------------------------------------


def scheduled(pc: Perfcore, id: str = "ev-1", **fields: Any) -> Any:
    if pc.job_descriptions.find("jd-1", by=READER) is None:
        published_jd(pc, "jd-1")
    values: dict[str, Any] = {
        "subject_id": "ana",
        "evaluator_id": "ben",
        "job_description_id": "jd-1",
        "period_start": START - dt.timedelta(days=365),
        "period_end": START - dt.timedelta(days=1),
    }
    values.update(fields)
    return pc.evaluations.create(by=BEN, id=id, **values)


def ratings(evidence: str = "") -> list[Rating]:
    return [Rating(criterion=c.name, score=4, evidence=evidence) for c in CRITERIA]


def test_an_evaluation_takes_its_criteria_from_the_stored_job_description(pc: Perfcore) -> None:
    evaluation = scheduled(pc)
    assert evaluation.job_description_number == 1
    assert [(c.name, c.weight) for c in evaluation.criteria] == [
        ("Reply time", Decimal(60)),
        ("Rating", Decimal(40)),
    ]
    given = scheduled(pc, "ev-2", job_description_number=1, criteria={"Delivery": 100})
    assert [c.name for c in given.criteria] == ["Delivery"]
    with pytest.raises(NotFound):
        scheduled(pc, "ev-3", job_description_id="jd-none")


def test_every_evaluation_command_runs_through_the_service(pc: Perfcore) -> None:
    scheduled(pc)
    pc.evaluations.open("ev-1", by=BEN)
    pc.evaluations.submit_self_review("ev-1", by=ANA, ratings=ratings())
    for reviewer in ("cy", "dee", "eve"):
        pc.evaluations.request_feedback("ev-1", by=BEN, reviewer_id=reviewer, relationship="peer")
    pc.evaluations.give_feedback("ev-1", by=Actor(id="cy"), scores={"Reply time": 4})
    pc.evaluations.decline_feedback("ev-1", by=Actor(id="dee"), reason="never worked together")
    pc.evaluations.waive_feedback("ev-1", by=HANA, reason="a small team")
    pc.evaluations.submit_manager_review("ev-1", by=BEN, ratings=ratings("the ticket data"))
    pc.evaluations.calibrate("ev-1", by=HANA, criterion="Rating", score=None, reason="looked")
    pc.evaluations.finalize("ev-1", by=HANA)
    pc.evaluations.dispute("ev-1", by=ANA, reason="my on-call work is missing")
    pc.evaluations.resolve_dispute("ev-1", by=HANA, resolution="kept", reopen=False)
    done = pc.evaluations.acknowledge("ev-1", by=ANA, comment="thanks")
    assert str(done.state) == "acknowledged"
    assert pc.verify_audit_log().intact


def test_an_evaluation_may_skip_the_self_review(pc: Perfcore) -> None:
    scheduled(pc)
    pc.evaluations.open("ev-1", by=BEN)
    skipped = pc.evaluations.skip_self_review("ev-1", by=BEN, reason="on leave")
    assert str(skipped.state) == "manager_review"


def test_opening_tells_the_subject_and_a_request_tells_the_reviewer(pc: Perfcore) -> None:
    scheduled(pc)
    pc.evaluations.open("ev-1", by=BEN)
    pc.evaluations.request_feedback("ev-1", by=BEN, reviewer_id="cy", relationship="peer")
    sent = [n for n in pending(pc.store) if n.aggregate_type == "Evaluation"]
    assert [(n.kind, n.recipients) for n in sent] == [
        ("evaluation_opened", ("ana",)),
        ("feedback_requested", ("cy",)),
    ]


# -- idempotency -----------------------------------------------------------------------------------


def test_a_create_repeated_with_its_key_returns_the_first_object(pc: Perfcore) -> None:
    args: dict[str, Any] = {
        "by": ANA, "owner_id": "ana", "manager_id": "ben", "baseline": 0, "target": 5,
        "start": START, "due": START + dt.timedelta(days=30),
    }  # fmt: skip
    first = pc.goals.create(**args, idempotency_key="create-1")
    again = pc.goals.create(**args, idempotency_key="create-1")
    assert again == first
    assert len(audit_entries(pc.store)) == 1
    with pytest.raises(IdempotencyConflict) as raised:
        pc.goals.create(**{**args, "target": 6}, idempotency_key="create-1")
    assert raised.value.key == "create-1"
    assert raised.value.first.aggregate_id == first.id
    assert isinstance(raised.value, ValidationError)


def test_a_cross_aggregate_command_repeated_changes_nothing_more(pc: Perfcore) -> None:
    achieved_goal(pc, "g-1")
    active_plan(pc)
    first = pc.plans.attain("p-1", by=BEN, idempotency_key="attain")
    before = snapshot(pc.store)
    assert pc.plans.attain("p-1", by=BEN, idempotency_key="attain") == first
    assert snapshot(pc.store) == before


def test_an_idempotency_key_must_be_text(pc: Perfcore) -> None:
    goal(pc)
    with pytest.raises(ValidationError, match="idempotency_key"):
        pc.goals.propose("g-1", by=ANA, idempotency_key=" ")


class _ConflictOnce:
    """A store whose first commit (once armed) loses a race on stream ``(kind, id)``."""

    def __init__(self, inner: Store, kind: str, id: str = "x") -> None:
        self.inner, self.kind, self.id, self.conflicts = inner, kind, id, 0

    def unit_of_work(self) -> Any:
        uow = self.inner.unit_of_work()
        store = self
        real_commit = uow.commit

        def commit() -> None:
            if store.conflicts == 0:
                store.conflicts += 1
                raise ConcurrencyError(store.kind, store.id, 1, 2)
            real_commit()

        uow.commit = commit  # type: ignore[method-assign]
        return uow

    def close(self) -> None:
        self.inner.close()


def test_a_lost_race_on_a_key_is_run_again(store: MemoryStore) -> None:
    racy = _ConflictOnce(store, IDEMPOTENCY_KEY)
    pc = Perfcore(racy, clock=ManualClock())  # type: ignore[arg-type]
    created = goal(pc)
    assert racy.conflicts == 1
    assert Perfcore(store).goals.get("g-1", by=READER) == created


def test_a_lost_race_on_an_object_only_read_is_run_again(store: MemoryStore) -> None:
    """Attaining a plan reads its goals: one of them moving before the commit means the plan's
    guard saw stale data, so the command runs again on fresh data."""
    pc = Perfcore(store, clock=ManualClock(), ids=CountingIds())
    achieved_goal(pc, "g-1")
    active_plan(pc)
    racy = _ConflictOnce(store, "Goal", "g-1")
    again = Perfcore(racy, clock=ManualClock())  # type: ignore[arg-type]
    assert str(again.plans.attain("p-1", by=BEN).state) == "attained"
    assert racy.conflicts == 1


class _FailsOnce:
    """A store whose first commit fails with a storage error the store says is safe to retry
    (a serialization failure, say), or not."""

    def __init__(self, inner: Store, retryable: bool) -> None:
        self.inner, self.retryable, self.failures = inner, retryable, 0

    def unit_of_work(self) -> Any:
        uow = self.inner.unit_of_work()
        store = self
        real_commit = uow.commit

        def commit() -> None:
            if store.failures == 0:
                store.failures += 1
                failure = StorageError("could not serialize access")
                failure.retryable = store.retryable
                raise failure
            real_commit()

        uow.commit = commit  # type: ignore[method-assign]
        return uow

    def close(self) -> None:
        self.inner.close()


def test_a_failure_the_store_calls_retryable_is_run_again(store: MemoryStore) -> None:
    flaky = _FailsOnce(store, retryable=True)
    created = goal(Perfcore(flaky, clock=ManualClock()))  # type: ignore[arg-type]
    assert flaky.failures == 1
    assert Perfcore(store).goals.get("g-1", by=READER) == created


def test_any_other_storage_failure_is_not(store: MemoryStore) -> None:
    flaky = _FailsOnce(store, retryable=False)
    with pytest.raises(StorageError):
        goal(Perfcore(flaky, clock=ManualClock()))  # type: ignore[arg-type]
    assert Perfcore(store).goals.find("g-1", by=READER) is None


def test_a_lost_race_on_an_object_is_not_run_again(store: MemoryStore) -> None:
    racy = _ConflictOnce(store, "Goal", "g-1")
    with pytest.raises(ConcurrencyError):
        goal(Perfcore(racy, clock=ManualClock()))  # type: ignore[arg-type]
    assert Perfcore(store).goals.find("g-1", by=READER) is None


# -- notifications ---------------------------------------------------------------------------------


def test_notifications_are_delivered_once_handed_over(pc: Perfcore) -> None:
    achieved_goal(pc, "g-1")
    active_plan(pc)
    pc.plans.attain("p-1", by=BEN)
    delivery = pc.deliver_notifications()
    recorder = pc.notifier
    assert isinstance(recorder, Recorder)
    assert delivery.delivered == tuple(n.id for n in recorder.handed)
    assert [n.kind for n in recorder.handed] == [
        "goal_proposed",
        "goal_approved",
        "goal_achieved",
        "plan_submitted",
        "plan_approved",
        "plan_attained",
    ]
    assert pending(pc.store) == []
    assert pc.deliver_notifications().delivered == ()


def test_one_failing_notification_does_not_hold_back_the_others(store: MemoryStore) -> None:
    class Flaky(Recorder):
        def notify(self, notification: Notification) -> None:
            if notification.kind == "feedback_requested":
                raise TimeoutError("chat is down")
            super().notify(notification)

    pc = Perfcore(store, clock=ManualClock(), ids=CountingIds(), notifier=Flaky())
    scheduled(pc)
    pc.evaluations.open("ev-1", by=BEN)
    pc.evaluations.request_feedback("ev-1", by=BEN, reviewer_id="cy", relationship="peer")
    delivery = pc.deliver_notifications()
    # The job description's audience, and the subject (the failed one is the reviewer's).
    handed = pc.notifier.handed  # type: ignore[union-attr]
    assert [n.kind for n in handed] == ["feedback_opened", "evaluation_opened"]
    assert len(delivery.delivered) == 2
    [(failed_id, why)] = delivery.failed.items()
    assert why == "TimeoutError: chat is down"
    assert [n.id for n in pending(store)] == [failed_id]


def test_delivering_needs_a_notifier(store: MemoryStore) -> None:
    with pytest.raises(ValidationError, match="notifier"):
        Perfcore(store).deliver_notifications()


# -- queries ---------------------------------------------------------------------------------------


def test_team_goals_show_progress_and_standing(pc: Perfcore, clock: ManualClock) -> None:
    active_goal(pc, "g-1", owner=ANA)
    active_goal(pc, "g-2", owner=BO)
    day = START + dt.timedelta(days=45)  # half way
    clock.on(day)
    pc.goals.check_in("g-1", by=ANA, on=day, value=6)
    pc.goals.check_in("g-2", by=BO, on=day, value=2)
    statuses = pc.queries.team_goals("ben", on=day, by=READER)
    assert [(s.owner_id, s.progress, s.expected, s.standing) for s in statuses] == [
        ("ana", Decimal("0.6"), Decimal("0.5"), Standing.ON_TRACK),
        ("bo", Decimal("0.2"), Decimal("0.5"), Standing.BEHIND),
    ]
    assert pc.queries.team_goals("nobody", on=day, by=READER) == []


def test_standings_are_as_the_records_stood_that_day(pc: Perfcore, clock: ManualClock) -> None:
    achieved_goal(pc, "g-1")  # at 2026-01-05
    clock.on(START + dt.timedelta(days=10))
    goal(pc, "g-2", owner=BO)  # created later: not there before
    clock.on(START + dt.timedelta(days=20))
    pc.goals.cancel("g-2", by=BEN, reason="reorganised")
    earlier = pc.queries.standings("ben", on=START - dt.timedelta(days=1), by=READER)
    assert all(statuses == [] for statuses in earlier.values())
    middle = pc.queries.standings("ben", on=START + dt.timedelta(days=10), by=READER)
    assert [s.goal.id for s in middle[Standing.ACHIEVED]] == ["g-1"]
    assert [s.goal.id for s in middle[Standing.NOT_STARTED]] == ["g-2"]
    later = pc.queries.standings("ben", on=START + dt.timedelta(days=20), by=READER)
    assert [s.goal.id for s in later[Standing.CANCELLED]] == ["g-2"]
    assert set(later) == set(Standing)


def test_plans_due_for_review_come_from_their_schedules(pc: Perfcore, clock: ManualClock) -> None:
    active_goal(pc, "g-1")
    active_plan(pc, id="p-1")  # reviews every 4 weeks from 2026-01-05: first due 2026-02-02
    first_due = START + dt.timedelta(weeks=4)
    in_range = pc.queries.plans_due_for_review(
        first_due, first_due + dt.timedelta(days=6), by=READER
    )
    assert [(r.plan.id, r.due) for r in in_range] == [("p-1", first_due)]
    assert pc.queries.plans_due_for_review(START, first_due - dt.timedelta(days=1), by=READER) == []
    later = first_due + dt.timedelta(days=10)
    assert [r.plan.id for r in pc.queries.plans_due_for_review(later, later, by=READER)] == ["p-1"]
    assert pc.queries.plans_due_for_review(later, later, include_overdue=False, by=READER) == []
    assert pc.queries.plans_due_for_review(first_due, later, author_id="someone", by=READER) == []
    clock.on(first_due)
    pc.plans.start_review("p-1", by=BEN)
    assert pc.queries.plans_due_for_review(first_due, later, by=READER) == []
    pc.plans.conclude_review("p-1", by=BEN, notes="fine")
    [next_review] = pc.queries.plans_due_for_review(
        first_due, first_due + dt.timedelta(weeks=4), by=READER
    )
    assert next_review.due == first_due + dt.timedelta(weeks=4)


def test_a_review_range_must_be_in_order(pc: Perfcore) -> None:
    with pytest.raises(ValidationError, match="end"):
        pc.queries.plans_due_for_review(START, START - dt.timedelta(days=1), by=READER)


# -- the audit log through the services ------------------------------------------------------------


def test_the_audit_log_verifies_against_a_checkpoint(pc: Perfcore) -> None:
    achieved_goal(pc)
    pc.seal_audit_log()
    first = pc.verify_audit_log()
    assert first.intact
    assert first.checkpoint is not None
    active_goal(pc, "g-2")
    assert pc.verify_audit_log(checkpoint=first.checkpoint).intact
    beyond = attrs.evolve(first.checkpoint, position=first.checkpoint.position + 50)
    report = pc.verify_audit_log(checkpoint=beyond)
    assert report.problem is AuditProblem.TAIL_CUT


def test_the_services_seal_the_log_as_it_grows(store: MemoryStore) -> None:
    pc = Perfcore(store, clock=ManualClock(), ids=CountingIds(), seal_every=5)
    achieved_goal(pc, "g-1")
    achieved_goal(pc, "g-2")
    with store.unit_of_work() as uow:
        last = uow.seals.last()
    assert last is not None
    assert last.count >= 5
    assert pc.seal_audit_log() >= 0
    report = pc.verify_audit_log()
    assert report.intact
    assert report.seals >= 1


def test_the_history_of_an_object_is_read_from_the_store(pc: Perfcore) -> None:
    achieved_goal(pc)
    loaded = pc.goals.get("g-1", by=READER)
    assert loaded.history == ()
    history = pc.history("Goal", "g-1", by=READER)
    assert [event.version for event in history] == list(range(1, loaded.version + 1))
    assert type(loaded).replay(history) == loaded
    with pytest.raises(NotFound):
        pc.history("Goal", "nothing", by=READER)
    with pytest.raises(ValidationError, match="kind"):
        pc.history("Nothing", "g-1", by=READER)


# -- review cycles ---------------------------------------------------------------------------------


def cycle(pc: Perfcore) -> Any:
    from perfcore.cycle_status import Participant

    return pc.cycles.create(
        by=HANA, id="c-1", name="2026 reviews", period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31),
        participants=[Participant(employee_id="ana", manager_id="ben"),
                      Participant(employee_id="bo", manager_id="ben")],
    )  # fmt: skip


def published_for(pc: Perfcore, employee: str) -> JobDescription:
    id = f"jd-{employee}"
    pc.job_descriptions.create(
        by=MIA, id=id, title="Support engineer", department="Support", employee_id=employee,
        responsibilities=["Answer tickets"], criteria=CRITERIA,
        audience={member.id for member in AUDIENCE} | {"dee", employee},
    )  # fmt: skip
    pc.job_descriptions.open_feedback(id, by=MIA)
    for member in {*(a.id for a in AUDIENCE), "dee", employee}:
        pc.job_descriptions.give_feedback(id, by=Actor(id=member), supports=True)
    pc.job_descriptions.endorse(id, by=MIA)
    return pc.job_descriptions.publish(id, by=MIA)


def finalized_for(pc: Perfcore, employee: str) -> Any:
    id = f"ev-{employee}"
    pc.evaluations.create(
        by=BEN, id=id, subject_id=employee, evaluator_id="ben", job_description_id=f"jd-{employee}",
        period_start=START - dt.timedelta(days=365), period_end=START - dt.timedelta(days=1),
        cycle_id="c-1",
    )  # fmt: skip
    pc.evaluations.open(id, by=BEN)
    pc.evaluations.skip_self_review(id, by=BEN, reason="on leave")
    pc.evaluations.waive_feedback(id, by=HANA, reason="a small team")
    pc.evaluations.submit_manager_review(id, by=BEN, ratings=ratings("the ticket data"))
    return pc.evaluations.finalize(id, by=HANA)


def test_a_cycle_advances_on_the_work_stored_for_its_participants(pc: Perfcore) -> None:
    cycle(pc)
    assert str(pc.cycles.edit("c-1", by=HANA, name="The 2026 reviews").state) == "planned"
    assert str(pc.cycles.advance("c-1", by=HANA).state) == "job_descriptions"
    published_for(pc, "ana")
    with pytest.raises(GuardFailed, match="no published job description: bo"):
        pc.cycles.advance("c-1", by=HANA)
    published_for(pc, "bo")
    assert str(pc.cycles.begin_evaluations("c-1", by=HANA).state) == "evaluations"
    finalized_for(pc, "ana")
    with pytest.raises(GuardFailed, match="no evaluation: bo"):
        pc.cycles.begin_planning("c-1", by=HANA)
    finalized_for(pc, "bo")
    assert str(pc.cycles.advance("c-1", by=HANA).state) == "planning"
    pc.plans.create(by=BEN, id="p-ana", kind="development", subject_id="ana", author_id="ben",
                    start=START, end=START + dt.timedelta(days=180), cycle_id="c-1")  # fmt: skip
    with pytest.raises(GuardFailed, match="plan p-ana is draft"):
        pc.cycles.begin_attainment("c-1", by=HANA)
    pc.plans.cancel("p-ana", by=BEN, reason="moved team")
    assert str(pc.cycles.advance("c-1", by=HANA).state) == "attainment"
    assert str(pc.cycles.close("c-1", by=HANA).state) == "closed"
    with pytest.raises(TransitionNotAllowed):
        pc.cycles.advance("c-1", by=HANA)
    assert pc.verify_audit_log().intact


def test_a_cycle_status_is_built_from_storage(pc: Perfcore) -> None:
    cycle(pc)
    published_for(pc, "ana")
    active_goal(pc, "g-1", owner=ANA)
    active_goal(pc, "g-old", owner=ANA, start=dt.date(2025, 1, 1), due=dt.date(2025, 6, 30))
    status = pc.cycles.status("c-1", on=START, by=READER)
    ana = status.of("ana")
    assert ana.job_description is not None
    assert (ana.job_description.id, ana.job_description.number) == ("jd-ana", 1)
    assert [(g.id, g.standing) for g in ana.goals] == [("g-1", Standing.ON_TRACK)]
    assert status.of("bo").job_description is None


def test_a_cycle_progress_report_names_who_holds_each_stage_up(pc: Perfcore) -> None:
    cycle(pc)
    pc.cycles.start("c-1", by=HANA)
    published_for(pc, "ana")
    report = pc.queries.cycle_progress("c-1", on=START, by=READER)
    assert report.state == "job_descriptions"
    stage = report.stage("job_descriptions")
    assert (stage.done, stage.waiting_on) == (("ana",), ("bo",))
    with pytest.raises(NotFound):
        pc.queries.cycle_progress("c-none", on=START, by=READER)


def test_an_advance_refused_by_a_guard_changes_nothing(pc: Perfcore) -> None:
    cycle(pc)
    pc.cycles.start("c-1", by=HANA)
    before = snapshot(pc.store)
    with pytest.raises(PermissionDenied):
        pc.cycles.advance("c-1", by=BEN)
    with pytest.raises(GuardFailed):
        pc.cycles.advance("c-1", by=HANA, idempotency_key="advance-1")
    assert snapshot(pc.store) == before


def test_a_leaver_is_taken_out_of_a_running_cycle_and_no_longer_holds_it_up(
    pc: Perfcore,
) -> None:
    from perfcore.cycle_status import Participant

    cycle(pc)
    pc.cycles.advance("c-1", by=HANA)
    published_for(pc, "ana")
    with pytest.raises(GuardFailed, match="no published job description: bo"):
        pc.cycles.advance("c-1", by=HANA)
    pc.cycles.remove_participant("c-1", by=HANA, employee_id="bo", reason="left the company")
    assert str(pc.cycles.advance("c-1", by=HANA).state) == "evaluations"
    joined = pc.cycles.add_participant(
        "c-1", by=HANA, participant=Participant(employee_id="cy"), reason="a new hire"
    )
    assert joined.employee_ids == ("ana", "cy")
    assert [e.trigger for e in pc.history("ReviewCycle", "c-1", by=READER)[-3:]] == [
        "remove_participant",
        "begin_evaluations",
        "add_participant",
    ]
    assert pc.verify_audit_log().intact
