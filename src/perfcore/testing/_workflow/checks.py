"""The workflow's invariants, as functions of stored objects that fail with an AssertionError
saying which object broke which rule.

They read only the objects (their fields and histories) and the policy, so they hold for any
store and say nothing about how a store is built.

Its assertions say what broke in words of their own; pytest is asked not to rewrite them
(PYTEST_DONT_REWRITE), so that a failing run prints the same few lines under pytest as anywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import attrs

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.evaluation import Evaluation
from perfcore.events import CREATED
from perfcore.goal import Goal, GoalState
from perfcore.job_description import JobDescription, JobDescriptionState
from perfcore.plan import Plan
from perfcore.policy import Policy
from perfcore.survey import BALLOT_BOX, Survey
from perfcore.visibility import SubjectView

__all__ = [
    "check_attainment",
    "check_endorsement",
    "check_finalization",
    "check_lifecycle",
    "check_one_published",
    "check_replay",
    "check_segregation",
    "check_subject_view",
    "with_reviewers_renamed",
]


def check_lifecycle(obj: Aggregate) -> None:
    """``obj`` is in one of its lifecycle's states, reached from the initial state only by
    transitions in its table, one version per event."""
    lifecycle = type(obj).lifecycle
    name = f"{lifecycle.name} {obj.id!r}"
    assert str(obj.state) in lifecycle.states, f"{name} is in {obj.state!r}, not a state"
    first, *rest = obj.history
    assert (first.trigger, first.from_state, first.to_state, first.version) == (
        CREATED,
        None,
        lifecycle.initial,
        1,
    ), f"{name} was not created in {lifecycle.initial!r}: {first}"
    state = first.to_state
    for version, event in enumerate(rest, start=2):
        assert event.version == version, f"{name}: event {version} says version {event.version}"
        assert event.from_state == state, f"{name}: event {version} leaves {event.from_state!r}"
        assert lifecycle.has_transition(event.trigger, state, event.to_state), (
            f"{name}: {event.trigger} from {state!r} to {event.to_state!r} is not in the table"
        )
        state = event.to_state
    assert state == str(obj.state), f"{name} is {obj.state!r} but its history ends in {state!r}"
    assert obj.version == len(obj.history), f"{name} is version {obj.version}, not its history's"


def check_replay(obj: Aggregate) -> None:
    """``obj`` is what its history replays to."""
    assert type(obj).replay(obj.history) == obj, f"{obj.id!r} is not the replay of its history"


def _actors_of(obj: Aggregate, trigger: str) -> Iterator[str]:
    return (event.actor_id for event in obj.history if event.trigger == trigger)


def check_segregation(objects: Mapping[Any, Aggregate]) -> None:
    """No author approved their own plan, no owner their own goal, no subject reviewed
    themselves (as a reviewer, or by writing, calibrating or finalising their own review)."""
    for obj in objects.values():
        if isinstance(obj, Goal):
            assert obj.owner_id not in set(_actors_of(obj, "approve")), (
                f"goal {obj.id!r} was approved by its owner {obj.owner_id!r}"
            )
        elif isinstance(obj, Plan):
            assert obj.author_id not in set(_actors_of(obj, "approve")), (
                f"plan {obj.id!r} was approved by its author {obj.author_id!r}"
            )
        elif isinstance(obj, Evaluation):
            _check_no_self_review(obj)


def _check_no_self_review(ev: Evaluation) -> None:
    subject = ev.subject_id
    assert ev.evaluator_id != subject, f"evaluation {ev.id!r}: the subject is the evaluator"
    reviewers = {request.reviewer_id for request in ev.feedback_requests}
    reviewers |= {response.reviewer_id for response in ev.feedback_responses}
    assert subject not in reviewers, f"evaluation {ev.id!r}: {subject!r} reviewed themselves"
    for trigger in ("submit_manager_review", "calibrate", "finalize", "resolve_dispute"):
        assert subject not in set(_actors_of(ev, trigger)), (
            f"evaluation {ev.id!r}: the subject {subject!r} fired {trigger} on their own review"
        )


def _before(obj: Aggregate, trigger: str) -> Iterator[tuple[int, Aggregate]]:
    """For each event firing ``trigger``, its index and the object as it stood just before."""
    for index, event in enumerate(obj.history):
        if event.trigger == trigger:
            yield index, type(obj).replay(obj.history[:index])


def check_endorsement(jd: JobDescription, policy: Policy) -> None:
    """A published description had its endorsement: every ``publish`` follows an ``endorse``
    (with no revision between) that the policy's endorsement numbers allowed."""
    endorsements = dict(_before(jd, "endorse"))
    for index, _ in _before(jd, "publish"):
        earlier = [i for i in endorsements if i < index]
        assert earlier, f"job description {jd.id!r} was published without an endorsement"
        endorsed = max(earlier)
        revised = [e for e in jd.history[endorsed:index] if e.trigger == "revise"]
        assert not revised, f"job description {jd.id!r} was revised after its endorsement"
        then = endorsements[endorsed]
        assert isinstance(then, JobDescription)
        rules = policy.endorsement
        assert then.responses_count >= rules.min_responses, (
            f"job description {jd.id!r} was endorsed on {then.responses_count} responses"
        )
        assert then.support_share >= rules.min_support or not then.feedback, (
            f"job description {jd.id!r} was endorsed with support {then.support_share}"
        )


def check_one_published(descriptions: Iterable[JobDescription]) -> None:
    """At most one number of each lineage is published: publishing one supersedes the other."""
    published: dict[str, str] = {}
    for jd in descriptions:
        if jd.state is JobDescriptionState.PUBLISHED:
            other = published.setdefault(jd.lineage_id, jd.id)
            assert other == jd.id, (
                f"lineage {jd.lineage_id!r} has {other!r} and {jd.id!r} published"
            )


def check_attainment(plan: Plan, objects: Mapping[Any, Aggregate]) -> None:
    """An attained plan had every goal achieved: each objective's goal is stored, achieved, and
    was achieved before the plan was attained."""
    attained = [event.at for event in plan.history if event.trigger == "attain"]
    if not attained:
        return
    for goal_id in plan.goal_ids:
        goal = objects.get(("Goal", goal_id))
        assert isinstance(goal, Goal), f"plan {plan.id!r} was attained without goal {goal_id!r}"
        assert goal.state is GoalState.ACHIEVED, (
            f"plan {plan.id!r} was attained, but goal {goal_id!r} is {goal.state}"
        )
        achieved: dt.datetime = next(e.at for e in goal.history if e.trigger == "achieve")
        assert achieved <= attained[0], (
            f"plan {plan.id!r} was attained before its goal {goal_id!r} was achieved"
        )


def check_finalization(ev: Evaluation, policy: Policy) -> None:
    """A finalized evaluation had evidence for every criterion and no unresolved divergence,
    each time it was finalised."""
    for _, then in _before(ev, "finalize"):
        assert isinstance(then, Evaluation)
        evidence = {r.criterion for r in then.manager_ratings if r.evidence.strip()}
        missing = [name for name in then.criterion_weights if name not in evidence]
        assert not missing, f"evaluation {ev.id!r} was finalised without evidence for {missing}"
        unresolved = [item.criterion for item in then.unresolved_divergences(policy)]
        assert not unresolved, f"evaluation {ev.id!r} was finalised diverging on {unresolved}"
    if ev.released and ev.safety_shortfalls():
        assert ev.improvement_plan_id is not None, (
            f"evaluation {ev.id!r} was finalised with a safety shortfall and no improvement plan"
        )


#: The fields of an event's payload records that hold a person's id.
_PERSON_FIELDS = frozenset({"reviewer_id", "requested_by", "by"})


def _stand_in(number: int) -> str:
    """An id no word of a view holds by chance: a reviewer is renamed to it, then looked for."""
    return f"~reviewer~{number}~stand-in~"


def _renamed(value: Any, names: Mapping[str, str], field: str | None = None) -> Any:
    """``value`` (an event payload) with every person's id in ``names`` renamed, wherever it
    stands as a person (the fields of :data:`_PERSON_FIELDS`), and nowhere else."""
    if isinstance(value, str):
        return names.get(value, value) if field in _PERSON_FIELDS else value
    if isinstance(value, Mapping):
        return {key: _renamed(item, names, key) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_renamed(item, names, field) for item in value)
    return value


def _strings(value: Any) -> Iterator[str]:
    """Every string in a view, field names, keys and values, however deep (and any other
    value's repr)."""
    if isinstance(value, str):
        yield value
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield field.name
            yield from _strings(getattr(value, field.name))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item)
    elif value is not None and not isinstance(value, bool | int | Decimal | dt.date):
        yield repr(value)


def with_reviewers_renamed(ev: Evaluation) -> tuple[Evaluation, dict[str, str]]:
    """``ev`` replayed with each reviewer renamed to a stand-in no view can hold by chance,
    and the stand-ins, by reviewer: everywhere the history names them as a person (who asked,
    who answered or declined, who fired a command), and nowhere else, so that a reviewer called
    ``max`` leaves the scale's ``max`` alone. The subject and the evaluator keep their ids: the
    subject may see them."""
    kept = {ev.subject_id, ev.evaluator_id}
    reviewers = sorted({request.reviewer_id for request in ev.feedback_requests} - kept)
    names = {reviewer: _stand_in(number) for number, reviewer in enumerate(reviewers, 1)}
    history = [
        attrs.evolve(
            event,
            actor_id=names.get(event.actor_id, event.actor_id),
            payload=_renamed(event.payload, names),
        )
        for event in ev.history
    ]
    return Evaluation.replay(history), names


def check_subject_view(ev: Evaluation, policy: Policy) -> None:
    """What the subject can see never names a reviewer, nor shows a feedback group (or a
    criterion's average within one) that fewer reviewers than the threshold gave.

    Identities are compared, not words: each reviewer is renamed to a stand-in (see
    :func:`with_reviewers_renamed`) and the subject's view of the renamed evaluation must hold
    no stand-in, in any key, value or text."""
    renamed, names = with_reviewers_renamed(ev)
    shown = list(_strings(renamed.view_for(Actor(id=ev.subject_id), policy)))
    named = sorted(
        reviewer for reviewer, stand_in in names.items() if any(stand_in in s for s in shown)
    )
    assert not named, f"evaluation {ev.id!r} shows its subject the reviewers {named}"
    view = ev.view_for(Actor(id=ev.subject_id), policy)
    threshold = policy.evaluation.anonymity_threshold
    groups = ev.responses_by_relationship()
    assert isinstance(view, SubjectView), f"the subject of {ev.id!r} is shown {type(view)}"
    for group in view.feedback or ():
        responses = groups[group.relationship]
        assert len(responses) >= threshold, (
            f"evaluation {ev.id!r} shows a group of {len(responses)} {group.relationship}"
        )
        scores = ev.feedback_scores(responses)
        for criterion in group.averages:
            assert len(scores[criterion]) >= threshold, (
                f"evaluation {ev.id!r} shows an average of {len(scores[criterion])} scores"
            )


def check_survey_anonymity(survey: Survey) -> None:
    """A survey's record keeps who took part apart from what was answered: a participation
    event carries no answer, answers reach the record only in batches of at least the threshold,
    fired by the ballot box (no person, no directory facts), never more of them than took part."""
    name = f"survey {survey.id!r}"
    taken = survey.participants
    assert len(set(taken)) == len(taken), f"{name}: someone took part twice: {taken}"
    assert set(taken) <= survey.population, f"{name}: someone not asked took part"
    assert len(survey.ballots) <= len(taken), f"{name}: more answers than people who took part"
    for event in survey.history:
        if event.trigger == "respond":
            changed = {field for part in event.payload.values() for field in part}
            assert changed == {"participants"}, (
                f"{name}: {event.actor_id}'s participation (version {event.version}) records"
                f" {sorted(changed)}, not only that they took part"
            )
        if event.trigger == "release_answers" or event.actor_id == BALLOT_BOX:
            assert event.trigger == "release_answers", f"{name}: the ballot box fired {event}"
            assert event.actor_id == BALLOT_BOX, f"{name}: {event.actor_id} released answers"
            assert not event.grounds, f"{name}: a release records directory facts"
            batch = event.payload.get("append", {}).get("ballots", [])
            least = max(1, survey.threshold)
            assert len(batch) >= least, (
                f"{name}: a batch of {len(batch)} answers at version {event.version}, below the"
                f" threshold {least}"
            )
