"""One employee through perfcore's four stages, on the memory store.

Ana works in Support; Mia is her manager; Cy and Ali are her colleagues; Hana is in HR and Cleo
approves development plans. Over one year:

1. **Job description**: Mia drafts Ana's role, the team gives feedback, Mia publishes it.
2. **Evaluation**: Mia evaluates Ana against it, with Ana's self review and her colleagues'
   feedback; HR finalizes it and Ana acknowledges the result.
3. **Goals and plans**: Ana proposes a measurable goal and Mia approves it; Mia drafts a
   development plan around it, which Cleo approves and Ana acknowledges.
4. **Attainment**: Ana checks in, Mia records the goal achieved, the plan is attained, and
   the manager's team report and the audit log say so.

Run it with ``python examples/one_employee.py``; ``tests/examples`` runs it too.
"""

from __future__ import annotations

import datetime as dt

from perfcore import (
    Approver,
    Criterion,
    MemoryDirectory,
    Objective,
    Perfcore,
    Rating,
)
from perfcore.adapters.memory import MemoryStore


class Calendar:
    """The clock perfcore asks for the time of each command; here, one we move by hand."""

    def __init__(self) -> None:
        self.at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self.at

    def turn_to(self, day: dt.date) -> None:
        self.at = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)


def organisation() -> MemoryDirectory:
    """Who reports to whom, and who holds which role, from the day each fact holds."""
    org = MemoryDirectory()
    since = dt.date(2024, 1, 1)
    org.place("mia", on=since, department="Support", roles={"employee", "manager"})
    org.place("hana", on=since, department="People", roles={"employee", "hr"})
    org.place("cleo", on=since, department="People", roles={"employee", "approver"})
    for colleague in ("ana", "cy", "ali"):
        org.place(colleague, on=since, department="Support", manager_id="mia")
    return org


def run(say: bool = True) -> Perfcore:
    """Take Ana through the four stages; return the services, for a caller to look around."""
    calendar = Calendar()
    pc = Perfcore(MemoryStore(), clock=calendar, directory=organisation())

    def show(text: str) -> None:
        if say:
            print(text)

    # 1. The job description: drafted, discussed with the people it concerns, published.
    criteria = [
        Criterion(name="Reply time", measured_by="median hours to first reply", weight=60,
                  required_level="4 hours"),
        Criterion(name="Satisfaction", measured_by="survey score out of 5", weight=40,
                  required_level=4),
    ]  # fmt: skip
    pc.job_descriptions.create(
        by="mia", id="jd-ana", title="Support engineer", department="Support",
        employee_id="ana", responsibilities=["Answer customer tickets", "Keep the FAQ current"],
        criteria=criteria, audience={"ana", "cy", "ali"},
    )  # fmt: skip
    pc.job_descriptions.open_feedback("jd-ana", by="mia")
    for colleague in ("ana", "cy", "ali"):
        pc.job_descriptions.give_feedback("jd-ana", by=colleague, supports=True)
    pc.job_descriptions.endorse("jd-ana", by="mia")
    jd = pc.job_descriptions.publish("jd-ana", by="mia")
    show(f"1. job description {jd.id}: {jd.state}, number {jd.number}")

    # 2. The evaluation of last year, against that description.
    pc.evaluations.create(
        by="mia", id="ev-ana-2025", subject_id="ana", evaluator_id="mia",
        job_description_id="jd-ana",
        period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 31),
    )  # fmt: skip
    pc.evaluations.open("ev-ana-2025", by="mia")
    pc.evaluations.submit_self_review(
        "ev-ana-2025", by="ana",
        ratings=[Rating(criterion="Reply time", score=4, evidence="median 3.5 hours"),
                 Rating(criterion="Satisfaction", score=4, evidence="4.3 in the survey")],
    )  # fmt: skip
    for colleague, scores in (
        ("cy", {"Reply time": 4, "Satisfaction": 5}),
        ("ali", {"Reply time": 3}),
    ):
        pc.evaluations.request_feedback(
            "ev-ana-2025", by="mia", reviewer_id=colleague, relationship="peer"
        )
        pc.evaluations.give_feedback("ev-ana-2025", by=colleague, scores=scores)
    pc.evaluations.submit_manager_review(
        "ev-ana-2025", by="mia",
        ratings=[Rating(criterion="Reply time", score=3, evidence="slower in the summer"),
                 Rating(criterion="Satisfaction", score=4, evidence="the survey")],
    )  # fmt: skip
    pc.evaluations.finalize("ev-ana-2025", by="hana")
    # Ana acknowledges it, and is answered with what she may see of it: her view.
    evaluation = pc.evaluations.acknowledge("ev-ana-2025", by="ana", comment="fair")
    score = evaluation.final_score
    show(f"2. evaluation {evaluation.id}: {evaluation.state}, final score {score}")

    # 3. A measurable goal, and a development plan built on it.
    pc.goals.create(
        by="ana", id="g-reply", owner_id="ana", manager_id="mia",
        title="Faster first replies", metric="median hours to first reply",
        baseline=6, target=3, direction="decrease",
        start=dt.date(2026, 1, 5), due=dt.date(2026, 6, 30),
    )  # fmt: skip
    pc.goals.propose("g-reply", by="ana")
    goal = pc.goals.approve("g-reply", by="mia", reason="agreed in our 1:1")
    pc.plans.create(
        by="mia", id="p-ana", kind="development", subject_id="ana", author_id="mia",
        approver=Approver.person("cleo"),
        objectives=[Objective(goal_id="g-reply", success="replies within 3 hours")],
        review_schedule="FREQ=MONTHLY", start=dt.date(2026, 1, 5), end=dt.date(2026, 6, 30),
    )  # fmt: skip
    pc.plans.submit("p-ana", by="mia")
    pc.plans.approve("p-ana", by="cleo")
    plan = pc.plans.acknowledge("p-ana", by="ana")
    show(f"3. goal {goal.id}: {goal.state}; plan {plan.id}: {plan.state}")

    # 4. Attainment: check-ins over the spring, the goal met, the plan attained.
    for day, value in ((dt.date(2026, 3, 2), 5), (dt.date(2026, 5, 4), 3)):
        calendar.turn_to(day)
        pc.goals.check_in("g-reply", by="ana", on=day, value=value)
        [status] = pc.queries.team_goals("mia", by="mia", on=day)  # what Mia's team report says
        show(f"   {day}: {value} hours, {status.standing.value}")
    goal = pc.goals.achieve("g-reply", by="mia")
    plan = pc.plans.attain("p-ana", by="mia")
    show(f"4. goal {goal.id}: {goal.state}; plan {plan.id}: {plan.state}")

    report = pc.verify_audit_log()
    show(f"audit log: {'intact' if report.intact else report.detail}, {report.events} events")
    return pc


if __name__ == "__main__":
    run()
