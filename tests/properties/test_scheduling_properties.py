"""Scheduling a cycle's evaluations, whatever the organisation, the batch size and where a run
is cut short: running it again leaves exactly one evaluation per participant who can have one,
made from the directory, and a run after that makes nothing."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from perfcore import EndorsementPolicy, MemoryDirectory, Perfcore, Policy
from perfcore.adapters.memory import MemoryStore
from perfcore.cycle_status import Participant
from perfcore.evaluation import Evaluation, EvaluationState
from perfcore.job_description import Criterion

SINCE = dt.date(2020, 1, 1)
AFTER = dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC)
PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 6, 30))
CRITERIA = [Criterion(name="Replies", weight=100, measured_by="tickets", required_level="4h")]
POLICY = Policy(endorsement=EndorsementPolicy(min_responses=1))


class Crash(BaseException):
    """The process dying half-way (not a refusal: nothing catches it)."""


class Clock:
    def now(self) -> dt.datetime:
        return AFTER


def organisation(teams: list[int]) -> tuple[MemoryDirectory, dict[str, str]]:
    """Mia heads; one lead per team, each with that many agents; everyone's manager by id."""
    org = MemoryDirectory()
    org.place("mia", on=SINCE, roles={"employee", "manager"}, position="head")
    org.place("hana", on=SINCE, roles={"employee", "hr"})
    managers: dict[str, str] = {}
    for t, size in enumerate(teams):
        lead = f"lead-{t}"
        org.place(lead, on=SINCE, manager_id="mia", roles={"employee", "manager"},
                  position="lead")  # fmt: skip
        managers[lead] = "mia"
        for a in range(size):
            org.place(f"agent-{t}-{a}", on=SINCE, manager_id=lead, position="agent")
            managers[f"agent-{t}-{a}"] = lead
    return org, managers


def publish_role(pc: Perfcore, position: str) -> None:
    jd = pc.job_descriptions.create(
        by="hana", id=f"jd-{position}", title=position, department="support",
        position_id=position, responsibilities=["Work"], criteria=CRITERIA,
    )  # fmt: skip
    pc.job_descriptions.open_feedback(jd.id, by="hana")
    for person in sorted(pc.job_descriptions.get(jd.id, by="hana").audience):
        pc.job_descriptions.give_feedback(jd.id, by=person, supports=True)
    pc.job_descriptions.endorse(jd.id, by="hana")
    pc.job_descriptions.publish(jd.id, by="hana")


@given(
    teams=st.lists(st.integers(0, 4), min_size=1, max_size=3).filter(lambda t: sum(t) > 0),
    batch_size=st.integers(1, 5),
    crash_at=st.none() | st.integers(1, 12),
)
def test_a_run_cut_short_and_run_again_schedules_everyone_once(
    teams: list[int], batch_size: int, crash_at: int | None
) -> None:
    org, managers = organisation(teams)
    pc = Perfcore(MemoryStore(), clock=Clock(), directory=org, policy=POLICY)
    for position in ("head", "lead", "agent"):
        publish_role(pc, position)
    people = ["mia", *managers]
    pc.cycles.create(
        by="hana", id="c", name="H1", period_start=PERIOD[0], period_end=PERIOD[1],
        participants=[Participant(employee_id=p, manager_id=managers.get(p)) for p in people],
    )  # fmt: skip
    pc.cycles.start("c", by="hana")
    pc.cycles.begin_evaluations("c", by="hana")
    pc.cycles.batch_size = batch_size
    real = Evaluation.create
    made = {"n": 0}

    def dying(**kwargs: Any) -> Evaluation:
        made["n"] += 1
        if made["n"] == crash_at:
            raise Crash
        return real(**kwargs)

    with mock.patch.object(Evaluation, "create", staticmethod(dying)), contextlib.suppress(Crash):
        pc.cycles.schedule_evaluations("c", by="hana")
    pc.cycles.schedule_evaluations("c", by="hana")
    status = pc.cycles.status("c", by="hana", on=AFTER.date())
    for participant in status.participants:
        person = participant.employee_id
        if person == "mia":  # no manager: waits for HR to name a delegate
            assert participant.evaluation is None
            continue
        assert participant.evaluation is not None, person
        evaluation = pc.evaluations.get(participant.evaluation.id, by="hana")
        assert isinstance(evaluation, Evaluation)
        assert evaluation.evaluator_id == managers[person]
        assert evaluation.subject_is_manager == bool(org.reports(person, AFTER.date()))
        assert evaluation.state is EvaluationState.SELF_REVIEW
        asked = {r.reviewer_id for r in evaluation.feedback_requests}
        assert asked == set(org.reports(person, AFTER.date()))
    again = pc.cycles.schedule_evaluations("c", by="hana")
    assert (again.created, again.opened, again.requested) == ((), (), ())
