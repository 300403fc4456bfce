"""The organisation decides who may act: the directory, not the caller's word, through the services.

Each attack the issue names is tried through the services with a directory, and refused with a
typed error that leaves the store as it was.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from perfcore import Actor, PermissionDenied, ValidationError
from perfcore.adapters.memory import MemoryStore
from perfcore.directory import MemoryDirectory, Relations, resolve_actor
from perfcore.plan import Approver, Objective
from perfcore.services import Perfcore
from perfcore.testing._workflow.snapshot import take

#: Reads name their reader: HR reads everything.
READER = "hana"  # HR in the directory

START = dt.date(2026, 1, 5)
AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.at = AT

    def now(self) -> dt.datetime:
        return self.at


def organisation() -> MemoryDirectory:
    """mia manages ben and cleo; ben manages ana and bo; hana is HR; cleo approves for people."""
    directory = MemoryDirectory()
    since = dt.date(2020, 1, 1)
    directory.place("mia", on=since, department="Support", roles={"employee", "manager"})
    directory.place("ben", on=since, manager_id="mia", department="Support",
                    roles={"employee", "manager"})  # fmt: skip
    directory.place("cleo", on=since, manager_id="mia", department="people",
                    roles={"employee", "approver"})  # fmt: skip
    directory.place("hana", on=since, department="people", roles={"employee", "hr"})
    for person in ("ana", "bo"):
        directory.place(person, on=since, manager_id="ben", department="Support")
    return directory


@pytest.fixture
def directory() -> MemoryDirectory:
    return organisation()


@pytest.fixture
def pc(directory: MemoryDirectory) -> Perfcore:
    return Perfcore(MemoryStore(), clock=Clock(), directory=directory)


def goal(pc: Perfcore, by: str = "ana", **fields: Any) -> Any:
    values: dict[str, Any] = {
        "id": "g-1", "owner_id": "ana", "manager_id": "ben", "title": "Faster replies",
        "metric": "hours", "baseline": 8, "target": 2, "direction": "decrease",
        "start": START, "due": START + dt.timedelta(days=180),
    }  # fmt: skip
    values.update(fields)
    return pc.goals.create(by=by, **values)


def refused(pc: Perfcore, command: Any, error: type[Exception] = PermissionDenied) -> Exception:
    before = take(pc.store, ())
    with pytest.raises(error) as raised:
        command()
    assert take(pc.store, ()) == before
    return raised.value


# -- who the acting person is ----------------------------------------------------------------------


def test_the_acting_person_may_be_named_by_id_with_the_directory_s_roles(pc: Perfcore) -> None:
    goal(pc)
    pc.goals.propose("g-1", by="ana")
    assert str(pc.goals.approve("g-1", by="ben").state) == "active"


def test_a_role_the_directory_does_not_give_is_refused(pc: Perfcore) -> None:
    goal(pc)
    hr_claimed = Actor(id="bo", roles={"hr"})
    error = refused(pc, lambda: pc.goals.cancel("g-1", by=hr_claimed, reason="not needed"))
    assert "hr" in str(error)


def test_someone_not_in_the_directory_on_the_day_is_refused(
    pc: Perfcore, directory: MemoryDirectory
) -> None:
    refused(pc, lambda: goal(pc, by="zed", owner_id="zed"))
    directory.leave("bo", on=dt.date(2025, 12, 31))
    refused(pc, lambda: goal(pc, by="bo", owner_id="bo"))


def test_an_actor_without_a_directory_is_taken_at_its_word() -> None:
    pc = Perfcore(MemoryStore(), clock=Clock())
    with pytest.raises(ValidationError, match="by"):
        goal(pc, by="ana")  # an id alone means nothing without a directory


# -- relationships as rules ------------------------------------------------------------------------


def test_an_employee_cannot_draft_a_colleague_s_goal_as_its_manager(pc: Perfcore) -> None:
    refused(pc, lambda: goal(pc, by="bo", manager_id="bo"))


def test_an_owner_cannot_pick_the_manager_who_approves_her_goal(pc: Perfcore) -> None:
    error = refused(pc, lambda: goal(pc, by="ana", manager_id="cleo"))
    assert "the owner's manager in the directory" in str(error)


def test_an_owner_cannot_be_her_own_goal_s_manager(pc: Perfcore) -> None:
    refused(pc, lambda: goal(pc, by="ana", manager_id="ana"), ValidationError)


def test_a_goal_is_approved_by_the_owner_s_manager_on_the_day_of_approval(
    pc: Perfcore, directory: MemoryDirectory
) -> None:
    goal(pc)
    pc.goals.propose("g-1", by="ana")
    # ana moves to mia's team before ben approves: ben no longer manages her.
    directory.place("ana", on=START, manager_id="mia", department="Support")
    refused(pc, lambda: pc.goals.approve("g-1", by="ben"))
    assert str(pc.goals.approve("g-1", by="hana").state) == "active"  # or HR


def test_a_manager_higher_up_the_line_is_not_the_goal_s_manager(pc: Perfcore) -> None:
    goal(pc)
    pc.goals.propose("g-1", by="ana")
    refused(pc, lambda: pc.goals.approve("g-1", by="mia"))


def test_a_colleague_cannot_make_herself_evaluator_of_someone(pc: Perfcore) -> None:
    from perfcore.job_description import Criterion

    pc.job_descriptions.create(
        by="mia", id="jd-1", title="Support engineer", department="Support", employee_id="ana",
        responsibilities=["Answer tickets"], audience={"ana", "bo", "cleo", "hana"},
        criteria=[Criterion(name="Reply time", measured_by="hours", weight=100,
                            required_level="4h")],
    )  # fmt: skip

    def evaluate(by: str, evaluator: str) -> Any:
        return pc.evaluations.create(
            by=by, id=f"ev-{by}", subject_id="ana", evaluator_id=evaluator,
            job_description_id="jd-1", period_start=dt.date(2025, 1, 1),
            period_end=dt.date(2025, 12, 31),
        )  # fmt: skip

    error = refused(pc, lambda: evaluate("bo", "bo"))
    assert "subject's manager in the directory" in str(error)
    assert evaluate("ben", "ben").evaluator_id == "ben"
    assert evaluate("hana", "cleo").evaluator_id == "cleo"  # a delegate HR names


def test_nobody_approves_a_plan_they_drafted_or_are_subject_of(pc: Perfcore) -> None:
    goal(pc)

    def plan(id: str, by: str, approver: str) -> Any:
        return pc.plans.create(
            by=by, id=id, kind="improvement", subject_id="ana", author_id="ben",
            approver=Approver.person(approver), start=START, end=START + dt.timedelta(days=90),
            objectives=[Objective(goal_id="g-1", success="under 4 hours")],
            review_schedule="FREQ=WEEKLY;INTERVAL=4",
        )  # fmt: skip

    plan("p-1", "ben", "ana")
    pc.plans.submit("p-1", by="ben")
    refused(pc, lambda: pc.plans.approve("p-1", by="ana"))
    plan("p-2", "hana", "hana")
    pc.plans.submit("p-2", by="hana")
    refused(pc, lambda: pc.plans.approve("p-2", by="hana"))


# -- what an event records ------------------------------------------------------------------------


def test_each_event_records_the_directory_facts_that_authorised_it(
    pc: Perfcore, directory: MemoryDirectory
) -> None:
    goal(pc)
    pc.goals.propose("g-1", by="ana")
    pc.goals.approve("g-1", by="ben")
    directory.place("ben", on=START, manager_id="mia", department="Sales", roles={"employee"})
    approval = pc.history("Goal", "g-1", by=READER)[-1]
    assert approval.grounds == {
        "on": "2026-01-05", "roles": ["employee", "manager"], "department": "Support",
        "manager": "mia",
    }  # fmt: skip
    assert pc.verify_audit_log().intact


# -- the directory itself --------------------------------------------------------------------------


def test_reporting_lines_take_effect_from_their_day() -> None:
    directory = organisation()
    directory.place("ana", on=dt.date(2026, 3, 1), manager_id="mia", department="Support")
    person = directory.person("ana", dt.date(2026, 2, 28))
    assert person is not None
    assert person.manager_id == "ben"
    later = directory.person("ana", dt.date(2026, 3, 1))
    assert later is not None
    assert later.manager_id == "mia"
    assert directory.reports("ben", dt.date(2026, 3, 1)) == ("bo",)
    assert directory.person("ana", dt.date(2019, 12, 31)) is None


def test_a_loop_in_the_reporting_lines_does_not_hang_the_rules() -> None:
    directory = MemoryDirectory()
    directory.place("a", on=START, manager_id="b")
    directory.place("b", on=START, manager_id="a")
    a = directory.person("a", START)
    assert a is not None
    relations = Relations(directory, START, a)
    assert relations.line_above("a") == ("b", "a")
    assert not relations.manages("zed")


def test_a_person_cannot_manage_themselves_and_a_day_holds_one_placement() -> None:
    directory = MemoryDirectory()
    with pytest.raises(ValidationError, match="own manager"):
        directory.place("a", on=START, manager_id="a")
    directory.place("a", on=START)
    with pytest.raises(ValidationError, match="placement"):
        directory.place("a", on=START, department="Sales")


def test_resolving_refuses_what_is_neither_an_id_nor_an_actor() -> None:
    with pytest.raises(ValidationError, match="by"):
        resolve_actor(organisation(), ["ana"], START)  # type: ignore[arg-type]


def test_a_position_is_in_the_grounds_and_the_relations_only_when_held() -> None:
    org = MemoryDirectory()
    day = dt.date(2026, 1, 5)
    org.place("mia", on=dt.date(2020, 1, 1), roles={"employee", "manager"}, position="head")
    org.place("ana", on=dt.date(2020, 1, 1), manager_id="mia")
    org.place("ana", on=day, manager_id="mia", position="agent")
    mia = org.person("mia", day)
    assert mia is not None
    relations = Relations(org, day, mia)
    assert relations.grounds()["position"] == "head"
    assert relations.holders("agent") == ("ana",)
    assert Relations(org, day - dt.timedelta(days=1), mia).holders("agent") == ()
    before = org.person("ana", day - dt.timedelta(days=1))
    assert before is not None
    assert "position" not in Relations(org, day, before).grounds()  # as events recorded it
    actor = resolve_actor(org, "ana", day)
    assert actor.relations is not None
    assert actor.relations.grounds()["position"] == "agent"
