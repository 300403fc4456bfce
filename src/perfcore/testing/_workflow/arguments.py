"""Drawing the arguments of every service command, given the object it acts on.

Each entry maps a trigger to a function of the world and the object that returns a strategy for
the keyword arguments (``by`` apart). A trigger the service does not offer has no entry, and so
is never drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from perfcore.cycle_status import Participant
from perfcore.evaluation import Evaluation, Rating
from perfcore.goal import Goal
from perfcore.survey import Reply
from perfcore.testing._workflow.creations import CRITERIA_SETS, objectives
from perfcore.testing._workflow.world import LIKELY, REASONS, World, lean, mostly

__all__ = ["ARGUMENTS", "SETBACKS", "Arguments"]

Arguments = Callable[[World, Any], st.SearchStrategy[dict[str, Any]]]

#: Triggers that send an object back, end it short of its goal, or leave it where it is: drawn
#: only now and then, so that a run also reaches the far end of each lifecycle.
SETBACKS = frozenset(
    {"edit", "cancel", "retire", "request_changes", "revise", "miss", "supersede"}
    | {"decline_feedback", "waive_feedback", "calibrate"}
    | {"add_participant", "remove_participant"}
)

#: Scores on the default 1..5 scale, the common one first (so that a failing example shrinks to
#: agreement rather than divergence).
SCORES = st.sampled_from((4, 3, 5, 2, 1))
EVIDENCE = st.sampled_from(("met every release date",) * 3 + ("",))


def _none(_world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.just({})


def _reason(_world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"reason": REASONS})


def _optional_reason(_world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"reason": st.sampled_from(("", "agreed"))})


# -- goals ----------------------------------------------------------------------------------------


def _goal_edit(world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.fixed_dictionaries({"title": st.sampled_from(("Resolve more tickets", " "))}),
        st.fixed_dictionaries({"due": world.day(1, world.span(8))}),
        st.fixed_dictionaries({"target": world.numbers(10, 5, 0)}),
    )


def _check_in(world: World, goal: Goal) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly the target reached, today; sometimes any value, or a day not yet come."""
    return st.fixed_dictionaries(
        {
            "on": mostly(world.day(-world.span(2), 0), world.day(1, 1)),
            "value": mostly(st.just(goal.target), world.numbers(*range(21))),
        }
    )


GOAL: dict[str, Arguments] = {
    "edit": _goal_edit,
    "propose": _none,
    "request_changes": _reason,
    "approve": _optional_reason,
    "check_in": _check_in,
    "achieve": _none,
    "miss": _none,
    "cancel": _reason,
}


# -- job descriptions -----------------------------------------------------------------------------


def _jd_edit(world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.fixed_dictionaries({"title": st.just("Senior support engineer")}),
        st.fixed_dictionaries({"audience": st.frozensets(world.person(), max_size=5)}),
        st.fixed_dictionaries({"criteria": st.sampled_from(CRITERIA_SETS)}),
    )


def _jd_feedback(_world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"supports": st.sampled_from((True, False)), "comment": st.sampled_from(("", "fair"))}
    )


JOB_DESCRIPTION: dict[str, Arguments] = {
    "edit": _jd_edit,
    "open_feedback": _none,
    "give_feedback": _jd_feedback,
    "endorse": _none,
    "revise": _reason,
    "publish": _none,
    "supersede": _none,
    "retire": _none,
}


# -- plans ----------------------------------------------------------------------------------------


def _plan_edit(world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.fixed_dictionaries({"objectives": objectives(world)}),
        st.fixed_dictionaries({"review_schedule": st.sampled_from(("FREQ=DAILY", None))}),
        st.fixed_dictionaries({"end": world.day(1, world.span(6))}),
    )


def _notes(_world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"notes": st.sampled_from(("on track", ""))})


PLAN: dict[str, Arguments] = {
    "edit": _plan_edit,
    "submit": _none,
    "request_changes": _reason,
    "approve": _optional_reason,
    "acknowledge": _none,
    "start_review": _none,
    "conclude_review": _notes,
    "revise": _reason,
    "attain": _none,
    "close": _reason,
    "cancel": _reason,
}


# -- evaluations ----------------------------------------------------------------------------------


@st.composite
def _ratings(draw: st.DrawFn, evaluation: Evaluation, *, evidence: bool) -> list[Rating]:
    """Mostly every criterion, scored (with evidence, for the manager); now and then one left
    out, which the guard refuses."""
    names = [name for name in evaluation.criterion_weights if draw(LIKELY)]
    return [
        Rating(criterion=name, score=draw(SCORES), evidence=draw(EVIDENCE) if evidence else "")
        for name in names
    ]


@st.composite
def _scores(draw: st.DrawFn, evaluation: Evaluation) -> dict[str, int]:
    return {name: draw(SCORES) for name in evaluation.criterion_weights if draw(LIKELY)}


def _self_review(_world: World, ev: Evaluation) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"ratings": _ratings(ev, evidence=False)})


def _manager_review(_world: World, ev: Evaluation) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"ratings": _ratings(ev, evidence=True)})


def _request(world: World, ev: Evaluation) -> st.SearchStrategy[dict[str, Any]]:
    asked = {request.reviewer_id for request in ev.feedback_requests}
    fresh = [p for p in world.people if p not in asked | {ev.subject_id, ev.evaluator_id}]
    relationship = st.sampled_from(("peer", "direct_report", "other"))
    return st.fixed_dictionaries(
        {"reviewer_id": lean(fresh, world.people), "relationship": relationship}
    )


def _feedback(_world: World, ev: Evaluation) -> st.SearchStrategy[dict[str, Any]]:
    comment = st.sampled_from(("", "reliable in a crisis"))
    return st.fixed_dictionaries({"scores": _scores(ev), "comment": comment})


def _calibrate(_world: World, ev: Evaluation) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "criterion": st.sampled_from(list(ev.criterion_weights)),
            "score": st.one_of(st.none(), SCORES),
            "reason": REASONS,
        }
    )


def _acknowledge(_world: World, _ev: Evaluation) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"comment": st.sampled_from(("", "thanks"))})


def _finalize(world: World, _ev: Evaluation) -> st.SearchStrategy[dict[str, Any]]:
    """Now and then a plan to link (any plan: the safety guard refuses one that does not answer
    for a shortfall), else none."""
    plans = world.ids("Plan")
    if not plans:
        return st.just({})
    return st.fixed_dictionaries({}, optional={"improvement_plan_id": st.sampled_from(plans)})


def _resolve(_world: World, _ev: Evaluation) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"resolution": st.sampled_from(("the result stands", "")), "reopen": st.booleans()}
    )


EVALUATION: dict[str, Arguments] = {
    "open": _none,
    "submit_self_review": _self_review,
    "skip_self_review": _reason,
    "request_feedback": _request,
    "give_feedback": _feedback,
    "decline_feedback": _reason,
    "waive_feedback": _reason,
    "submit_manager_review": _manager_review,
    "calibrate": _calibrate,
    "finalize": _finalize,
    "acknowledge": _acknowledge,
    "dispute": _reason,
    "resolve_dispute": _resolve,
}


# -- review cycles --------------------------------------------------------------------------------


def _cycle_edit(_world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"name": st.just("Annual reviews")})


def _joiner(world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "participant": world.person().flatmap(
                lambda employee: st.builds(
                    Participant,
                    employee_id=st.just(employee),
                    # A Participant refuses to be their own manager: never draw that.
                    manager_id=st.sampled_from([None, *(p for p in world.people if p != employee)]),
                )
            ),
            "reason": REASONS,
        }
    )


def _leaver(world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"employee_id": world.person(), "reason": REASONS})


REVIEW_CYCLE: dict[str, Arguments] = {
    "edit": _cycle_edit,
    "add_participant": _joiner,
    "remove_participant": _leaver,
    "start": _optional_reason,
    "begin_evaluations": _optional_reason,
    "begin_planning": _optional_reason,
    "begin_attainment": _optional_reason,
    "close": _optional_reason,
}

# -- surveys and notes ----------------------------------------------------------------------------


def _survey_edit(_world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"title": st.just("Team health, again")})


def _population(world: World, obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Without a directory the caller names who is asked: mostly three or more of the others."""
    others = [person for person in world.people if person != obj.manager_id]
    return st.fixed_dictionaries(
        {"population": st.lists(st.sampled_from(others), min_size=2, max_size=5, unique=True)}
    )


def _replies(_world: World, obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    score = mostly(st.integers(1, 5), st.integers(0, 9))
    words = st.sampled_from(("fewer meetings", ""))
    return st.builds(
        lambda value, text: {
            "replies": [
                Reply(question="clear", score=value),
                *([Reply(question="help", text=text)] if text else []),
            ]
        },
        score,
        words,
    )


SURVEY: dict[str, Arguments] = {
    "edit": _survey_edit,
    "open": _population,
    "respond": _replies,
    "close": _optional_reason,
    "release": _optional_reason,
}


def _note_edit(_world: World, _obj: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"text": st.just("Took my on-call shift, twice.")})


NOTE: dict[str, Arguments] = {"edit": _note_edit, "withdraw": _reason}

#: Every command the services offer, by aggregate type and trigger.
ARGUMENTS: dict[str, dict[str, Arguments]] = {
    "Goal": GOAL,
    "JobDescription": JOB_DESCRIPTION,
    "Plan": PLAN,
    "Evaluation": EVALUATION,
    "ReviewCycle": REVIEW_CYCLE,
    "Survey": SURVEY,
    "Note": NOTE,
}
