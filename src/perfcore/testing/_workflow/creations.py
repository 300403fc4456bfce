"""Drawing a ``create`` call for each aggregate type, with fields relative to today."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from perfcore.cycle_status import Participant
from perfcore.job_description import Criterion
from perfcore.plan import Approver, Objective
from perfcore.survey import Question
from perfcore.testing._workflow.calls import Call
from perfcore.testing._workflow.world import World, draft, lean, mostly, pick

__all__ = ["CREATIONS", "CRITERIA_SETS", "objectives"]

#: Criteria a job description may be drafted with: two ready ones (the second safety-critical:
#: rated under 3, its evaluation is finalized only with an improvement plan), and one not ready
#: for feedback (unmeasured, weights short of 100).
CRITERIA_SETS = (
    (
        Criterion(name="Reply time", measured_by="median hours", weight=60, required_level="4"),
        Criterion(name="Customer rating", measured_by="survey", weight=40, required_level="4"),
    ),
    (
        Criterion(
            name="Delivery",
            measured_by="releases",
            weight=100,
            required_level="monthly",
            safety_critical=True,
            required_score=3,
        ),
    ),
    (Criterion(name="Delivery", weight=50),),
)

#: Review schedules a plan of a few days cannot be submitted with.
UNSCHEDULED = st.sampled_from(("FREQ=DAILY;INTERVAL=9", None))

#: The criteria of an evaluation of a job description perfcore does not store.
OUTSIDE_CRITERIA = {"Delivery": 60, "Teamwork": 40}


def _call(world: World, draw: st.DrawFn, kind: str, service: str, /, **fields: Any) -> Call:
    # Positional-only, so that a field may be called "kind" (a plan's is).
    by = draw(world.actor(kind, draft(**fields), "create"))
    return Call(service, "create", None, {"by": by, **fields})


def objectives(world: World, min_size: int = 0) -> st.SearchStrategy[tuple[Objective, ...]]:
    """Up to two objectives on stored goals (on a goal kept elsewhere, when none is stored)."""
    goals = world.ids("Goal") or ("goal-elsewhere",)
    chosen = st.lists(st.sampled_from(goals), min_size=min_size, max_size=2, unique=True)
    return chosen.map(lambda ids: tuple(Objective(goal_id=g, success="done") for g in ids))


@st.composite
def goal(draw: st.DrawFn, world: World) -> Call:
    """Mostly a measurable goal from 0 to 10, due within a week; sometimes any numbers."""
    start = draw(world.day(-world.span(3), 0))
    owner = draw(world.person())
    numbers = draw(
        mostly(
            st.just((0, 10, "increase")),
            st.tuples(
                world.numbers(0, 20),
                world.numbers(10, 5, 0),
                st.sampled_from(("increase", "decrease")),
            ),
        )
    )
    return _call(
        world, draw, "Goal", "goals",
        owner_id=owner,
        manager_id=draw(world.person(besides=owner)),
        title=draw(mostly(st.just("Resolve more tickets"), st.just(""))),
        metric="tickets a week",
        baseline=numbers[0],
        target=numbers[1],
        direction=numbers[2],
        start=start,
        due=start + dt.timedelta(days=draw(mostly(st.integers(1, world.span(6)), st.just(0)))),
    )  # fmt: skip


@st.composite
def job_description(draw: st.DrawFn, world: World) -> Call:
    """Mostly a description ready for feedback from an audience of three to five; sometimes
    one that is not."""
    return _call(
        world, draw, "JobDescription", "job_descriptions",
        title="Support engineer",
        department="Support",
        employee_id=draw(mostly(world.person(), st.none())),
        responsibilities=draw(mostly(st.just(("Answer tickets",)), st.just(()))),
        criteria=draw(lean(CRITERIA_SETS[:2], CRITERIA_SETS)),
        audience=draw(audience(world)),
    )  # fmt: skip


def audience(world: World) -> st.SearchStrategy[frozenset[str]]:
    """Mostly three to five people; sometimes fewer, or nobody."""
    return mostly(
        st.frozensets(st.sampled_from(world.people), min_size=3, max_size=5),
        st.frozensets(st.sampled_from(world.people), max_size=2),
    )


@st.composite
def plan(draw: st.DrawFn, world: World) -> Call:
    """Mostly a complete plan of a few days on stored goals, reviewed daily; sometimes one
    missing a part."""
    kind = draw(lean(("development", "improvement"), ("development", "improvement", "team")))
    team = frozenset[str]()
    if kind == "team":
        team = draw(st.frozensets(st.sampled_from(world.people), min_size=1, max_size=3))
    start = draw(world.day(-world.span(2), 0))
    author = draw(world.person())
    department = st.just(Approver.department("people"))
    approver = st.one_of(department, world.person(besides=author).map(Approver.person))
    return _call(
        world, draw, "Plan", "plans",
        kind=kind,
        subject_id="team-support" if kind == "team" else draw(world.person(besides=author)),
        author_id=author,
        start=start,
        end=start + dt.timedelta(
            days=draw(mostly(st.integers(3, max(3, world.span(6))), st.integers(0, 2)))
        ),
        team_member_ids=team,
        approver=draw(mostly(approver, st.none())),
        objectives=draw(mostly(objectives(world, min_size=1), st.just(()))),
        review_schedule=draw(mostly(st.just("FREQ=DAILY"), UNSCHEDULED)),
        cycle_id=draw(mostly(st.none(), _cycle(world))),
    )  # fmt: skip


def _cycle(world: World) -> st.SearchStrategy[str | None]:
    return st.sampled_from(world.ids("ReviewCycle") or (None,))


@st.composite
def evaluation(draw: st.DrawFn, world: World) -> Call:
    """Mostly an evaluation against a stored job description (sometimes one kept elsewhere,
    or a missing one) for a period that has ended."""
    source = draw(lean(world.ids("JobDescription"), ("outside", "missing")))
    end = draw(mostly(world.day(-world.span(3), 0), world.day(1, 2)))
    subject = draw(world.person())
    extra: dict[str, Any] = {}
    if source == "outside":
        extra = {"job_description_number": 1, "criteria": OUTSIDE_CRITERIA}
    return _call(
        world, draw, "Evaluation", "evaluations",
        subject_id=subject,
        evaluator_id=draw(world.person(besides=subject)),
        job_description_id=f"jobdescription-{source}" if source in ("outside", "missing")
        else source,
        period_start=end - dt.timedelta(days=90),
        period_end=end,
        subject_is_manager=draw(mostly(st.just(False), st.just(True))),
        cycle_id=draw(mostly(st.none(), _cycle(world))),
        **extra,
    )  # fmt: skip


@st.composite
def participants(draw: st.DrawFn, world: World) -> tuple[Participant, ...]:
    """One to three people, each with a manager who is someone else, or none."""
    people = draw(st.lists(world.person(), min_size=1, max_size=3, unique=True))
    return tuple(
        Participant(employee_id=person, manager_id=draw(st.one_of(_other_than(world, person),
                                                                   st.none())))
        for person in people
    )  # fmt: skip


def _other_than(world: World, person: str) -> st.SearchStrategy[str]:
    return st.sampled_from([other for other in world.people if other != person])


@st.composite
def review_cycle(draw: st.DrawFn, world: World) -> Call:
    """A cycle over a period around today."""
    return _call(
        world, draw, "ReviewCycle", "cycles",
        name="Reviews",
        period_start=world.today - dt.timedelta(days=30),
        period_end=world.today + dt.timedelta(days=60),
        participants=draw(participants(world)),
    )  # fmt: skip


#: The questions of a survey the workflow drafts: one on a scale, one in words.
SURVEY_QUESTIONS = (
    Question(key="clear", text="My goals are clear"),
    Question(key="help", text="What would help?", kind="text", required=False),
)


@st.composite
def survey(draw: st.DrawFn, world: World) -> Call:
    """A survey of a manager's people, open from today for a month (sometimes, not yet)."""
    return _call(
        world, draw, "Survey", "surveys",
        title="Team health",
        manager_id=draw(world.person()),
        scope=draw(st.sampled_from(("reports", "team", "department"))),
        questions=SURVEY_QUESTIONS,
        opens_on=draw(mostly(st.just(world.today), world.day(1, 3))),
        closes_on=world.today + dt.timedelta(days=30),
    )  # fmt: skip


@st.composite
def note(draw: st.DrawFn, world: World) -> Call:
    """A note or praise about someone (now and then about a stored goal, or oneself)."""
    goals = world.objects("Goal")
    about_goal = bool(goals) and draw(st.integers(0, 3)) == 0
    fields: dict[str, Any] = {"text": "Took my on-call shift at a day's notice."}
    if about_goal:
        fields["goal_id"] = pick(draw, goals).id
    else:
        fields["subject_id"] = draw(world.person())
    fields["kind"] = draw(st.sampled_from(("note", "praise")))
    fields["visibility"] = draw(st.sampled_from(("shared", "private")))
    by = draw(world.actor("Note", draft(author_id="", subject_id=""), "create"))
    return Call("notes", "create", None, {"by": by, **fields})


#: The ``create`` call of each aggregate type.
CREATIONS = {
    "Goal": goal,
    "JobDescription": job_description,
    "Plan": plan,
    "Evaluation": evaluation,
    "ReviewCycle": review_cycle,
    "Survey": survey,
    "Note": note,
}
