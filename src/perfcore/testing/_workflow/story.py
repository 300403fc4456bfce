"""A story told through the services: one review cycle run to its end, with every lifecycle.

Random commands seldom reach the far end of a lifecycle (a finalized evaluation takes a dozen
accepted commands by the right people in the right order), so every run of the workflow machine
first plays some or all of this story, each call checked like any other, and then goes on at
random from where it left off: disputing the evaluation, revising the plan, retiring the job
description.

First, requests wait for a decision, as in any working week: ana proposes a second goal, ivy (in
HR, and an employee with goals of her own) proposes one, and ben submits a second plan for ana
(attaining two goals), so that random commands start with approvals to give, or to refuse. Then
the cycle:
mia writes ana's job description, which bo, cy and dan endorse; ana's goal is approved by ben;
HR (hana) runs a cycle for ana; ben evaluates her with feedback from three peers; ana's plan on
her goal is approved by the people department's approver (cleo) and attained once the goal is
achieved; the cycle closes, and a second number of the job description supersedes the first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

from perfcore.actor import Actor
from perfcore.cycle_status import Participant
from perfcore.evaluation import Rating
from perfcore.plan import Approver, Objective
from perfcore.survey import Reply
from perfcore.testing._workflow.calls import Call
from perfcore.testing._workflow.creations import CRITERIA_SETS, SURVEY_QUESTIONS

__all__ = ["NEEDS", "story"]

JD, JD_2, GOAL, CYCLE, EVALUATION, PLAN, WAITING_GOAL, WAITING_HR_GOAL, WAITING_PLAN = (
    "story-jd-1",
    "story-jd-2",
    "story-goal",
    "story-cycle",
    "story-evaluation",
    "story-plan",
    # Named to come before the story's other objects (objects are drawn from a list sorted by
    # id), so that a failing run shrunk to fewer calls of the story still draws the same one.
    "goal-awaiting-approval",
    "goal-awaiting-approval-of-hr",
    "plan-awaiting-approval",
)
CRITERIA = CRITERIA_SETS[0]
SURVEY, NOTE = "story-survey", "story-note"


def _call(service: str, method: str, on: str | None, by: Actor, /, **args: Any) -> Call:
    # Positional-only, so that an argument may be called "target" (a goal's is).
    return Call(service, method, on, {"by": by, **args})


def _ratings(evidence: str = "") -> list[Rating]:
    return [Rating(criterion=c.name, score=4, evidence=evidence) for c in CRITERIA]


def _endorsed(jd: str, people: Mapping[str, Actor]) -> list[Call]:
    """Feedback opened, three supporters, endorsed and published (by the author, mia)."""
    mia = people["mia"]
    return [
        _call("job_descriptions", "open_feedback", jd, mia),
        *(
            _call("job_descriptions", "give_feedback", jd, people[who], supports=True)
            for who in ("bo", "cy", "dan")
        ),
        _call("job_descriptions", "endorse", jd, mia),
        _call("job_descriptions", "publish", jd, mia),
    ]


def _job_description(people: Mapping[str, Actor]) -> list[Call]:
    return [
        _call(
            "job_descriptions",
            "create",
            None,
            people["mia"],
            id=JD,
            title="Support engineer",
            department="Support",
            employee_id="ana",
            responsibilities=("Answer tickets",),
            criteria=CRITERIA,
            audience=frozenset({"ana", "bo", "cy", "dan"}),
        ),
        *_endorsed(JD, people),
    ]


def _new_goal(
    owner: Actor, id: str, today: dt.date, title: str = "Resolve more tickets", manager: str = "ben"
) -> Call:
    return _call(
        "goals",
        "create",
        None,
        owner,
        id=id,
        owner_id=owner.id,
        manager_id=manager,
        title=title,
        metric="tickets a week",
        baseline=0,
        target=10,
        start=today - dt.timedelta(days=1),
        due=today + dt.timedelta(days=60),
    )


def _goal(people: Mapping[str, Actor], today: dt.date) -> list[Call]:
    ana, ben = people["ana"], people["ben"]
    return [
        _new_goal(ana, GOAL, today),
        _call("goals", "propose", GOAL, ana),
        _call("goals", "approve", GOAL, ben),
    ]


def _waiting(people: Mapping[str, Actor], today: dt.date) -> list[Call]:
    """A goal proposed for ben's approval, one of HR's own (ivy's) for mia's, and a plan
    submitted for an approver's."""
    ana, ben, ivy = people["ana"], people["ben"], people["ivy"]
    return [
        _new_goal(ana, WAITING_GOAL, today, title="Write two help articles a week"),
        _call("goals", "propose", WAITING_GOAL, ana),
        _new_goal(ivy, WAITING_HR_GOAL, today, title="Shorter onboarding", manager="mia"),
        _call("goals", "propose", WAITING_HR_GOAL, ivy),
        _new_plan(ben, WAITING_PLAN, today, (WAITING_GOAL,), cycle=None),
        _call("plans", "submit", WAITING_PLAN, ben),
    ]


def _evaluation(people: Mapping[str, Actor], today: dt.date) -> list[Call]:
    ben = people["ben"]
    return [
        _call(
            "evaluations",
            "create",
            None,
            ben,
            id=EVALUATION,
            subject_id="ana",
            evaluator_id="ben",
            job_description_id=JD,
            cycle_id=CYCLE,
            period_start=today - dt.timedelta(days=91),
            period_end=today - dt.timedelta(days=1),
        ),
        _call("evaluations", "open", EVALUATION, ben),
        _call("evaluations", "submit_self_review", EVALUATION, people["ana"], ratings=_ratings()),
        *(
            _call(
                "evaluations",
                "request_feedback",
                EVALUATION,
                ben,
                reviewer_id=who,
                relationship="peer",
            )
            for who in ("bo", "cy", "mia")
        ),
        *(
            _call(
                "evaluations",
                "give_feedback",
                EVALUATION,
                people[who],
                scores={c.name: 4 for c in CRITERIA},
            )
            for who in ("bo", "cy", "mia")
        ),
        _call(
            "evaluations",
            "submit_manager_review",
            EVALUATION,
            ben,
            ratings=_ratings("answered every ticket within the day"),
        ),
        # Left finalized: the random commands that follow acknowledge it, or dispute it.
        _call("evaluations", "finalize", EVALUATION, people["hana"]),
    ]


def _new_plan(
    ben: Actor, id: str, today: dt.date, goals: tuple[str, ...], cycle: str | None
) -> Call:
    return _call(
        "plans",
        "create",
        None,
        ben,
        id=id,
        kind="development",
        subject_id="ana",
        author_id="ben",
        start=today,
        end=today + dt.timedelta(days=40),
        approver=Approver.department("people"),
        objectives=tuple(Objective(goal_id=goal, success="ten tickets a week") for goal in goals),
        review_schedule="FREQ=WEEKLY",
        cycle_id=cycle,
    )


def _plan(people: Mapping[str, Actor], today: dt.date) -> list[Call]:
    ben = people["ben"]
    return [
        _new_plan(ben, PLAN, today, (GOAL,), cycle=CYCLE),
        _call("plans", "submit", PLAN, ben),
        _call("plans", "approve", PLAN, people["cleo"]),
        _call("plans", "acknowledge", PLAN, people["ana"]),
    ]


#: The services whose part of the story each lifecycle needs told: a plan's goal is achieved
#: before the plan is attained; an evaluation is of a published job description; a cycle's
#: stages wait for every other lifecycle.
NEEDS: Mapping[str, frozenset[str]] = {
    "Goal": frozenset({"goals"}),
    "JobDescription": frozenset({"job_descriptions"}),
    "Plan": frozenset({"goals", "plans"}),
    "Evaluation": frozenset({"job_descriptions", "evaluations"}),
    "ReviewCycle": frozenset({"job_descriptions", "goals", "plans", "evaluations", "cycles"}),
    "Survey": frozenset({"surveys"}),
    "Note": frozenset({"notes"}),
}


def story(
    people: Mapping[str, Actor], today: dt.date, focus: Collection[str] | None = None
) -> list[Call]:
    """The calls of the story, for the cast ``people`` (by id), starting on ``today``; with a
    ``focus`` (lifecycle names), only the parts those lifecycles need (see :data:`NEEDS`)."""
    calls = _whole(people, today)
    if focus is None:
        return calls
    services = frozenset().union(*(NEEDS[name] for name in focus))
    return [call for call in calls if call.service in services]


def _whole(people: Mapping[str, Actor], today: dt.date) -> list[Call]:
    hana, ana, ben = people["hana"], people["ana"], people["ben"]
    return [
        *_waiting(people, today),
        *_job_description(people),
        *_goal(people, today),
        _call(
            "cycles",
            "create",
            None,
            hana,
            id=CYCLE,
            name="Reviews",
            period_start=today - dt.timedelta(days=30),
            period_end=today + dt.timedelta(days=60),
            participants=(Participant(employee_id="ana", manager_id="ben"),),
        ),
        _call("cycles", "start", CYCLE, hana),
        _call("cycles", "begin_evaluations", CYCLE, hana),
        *_evaluation(people, today),
        _call("cycles", "begin_planning", CYCLE, hana),
        *_plan(people, today),
        _call("cycles", "begin_attainment", CYCLE, hana),
        _call("goals", "check_in", GOAL, ana, on=today, value=10),
        _call("goals", "achieve", GOAL, ben),
        _call("plans", "attain", PLAN, ben),
        _call("cycles", "close", CYCLE, hana),
        _call("job_descriptions", "new_version", JD, people["mia"], id=JD_2),
        *_endorsed(JD_2, people),
        *_survey(people, today),
        _call(
            "notes", "create", None, people["bo"], id=NOTE, subject_id="ana", kind="praise",
            text="Took my on-call shift at a day's notice.",
        ),
    ]  # fmt: skip


def _survey(people: Mapping[str, Actor], today: dt.date) -> list[Call]:
    """ben's survey of the three employees, answered by all three: one batch released."""
    ben = people["ben"]
    answers = [
        _call("surveys", "respond", SURVEY, people[person], replies=[
            Reply(question="clear", score=score), Reply(question="help", text="fewer meetings"),
        ])
        for person, score in (("ana", 4), ("bo", 3), ("cy", 5))
    ]  # fmt: skip
    return [
        _call(
            "surveys", "create", None, ben, id=SURVEY, title="Team health", manager_id="ben",
            questions=SURVEY_QUESTIONS, opens_on=today, closes_on=today + dt.timedelta(days=30),
        ),
        _call("surveys", "open", SURVEY, ben, population=("ana", "bo", "cy")),
        *answers,
        _call("surveys", "close", SURVEY, ben),
        _call("surveys", "release", SURVEY, ben),
    ]  # fmt: skip
