"""Strategies for job descriptions: criteria, criteria sets, feedback responses, and descriptions
in any state of their lifecycle.

A drawn description is ready for feedback: at least one responsibility, measurable criteria whose
weights sum to exactly 100, and an audience of three to five people other than its author, so
that the default endorsement policy (three responses, 60% support) can be met.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st

from perfcore.actor import Actor
from perfcore.job_description import (
    Criterion,
    FeedbackResponse,
    JobDescription,
    JobDescriptionState,
)
from perfcore.policy import DEFAULT_POLICY, EndorsementPolicy
from perfcore.testing.strategies._common import (
    Ranges,
    aware_datetimes,
    choice,
    decimals,
    distinct_people,
    hr,
    ids,
    manager,
    optional_people,
    optional_text,
    outsider,
    people,
    reasons,
    texts,
)
from perfcore.testing.strategies._engine import (
    Arguments,
    Kit,
    checked_states,
    fire,
    reached,
    register,
)

__all__ = [
    "criteria",
    "criteria_sets",
    "criterion_names",
    "feedback_responses",
    "job_descriptions",
    "weights",
]

CRITERION_NAMES = ("Delivery", "Quality", "Teamwork", "Ownership", "Communication", "Reply time")
MEASURES = ("peer review", "median first reply", "post-ticket survey", "release notes")
LEVELS = ("meets", "4 on a 1-5 scale", "under 4 hours", "B2")
TITLES = ("Support engineer", "Release manager", "Data analyst")
DEPARTMENTS = ("Customer support", "Engineering", "Finance")
RESPONSIBILITIES = ("Answer customer tickets", "Write help-centre articles", "Run the release")
COMMENTS = ("fair", "add the on-call rota", "too vague")

_HUNDRED = 10_000  # 100 points, in hundredths


def criterion_names() -> st.SearchStrategy[str]:
    """Criterion names: a few readable ones, sometimes any text.

    .. versionadded:: 0.1.0
    """
    return texts(CRITERION_NAMES)


def weights() -> st.SearchStrategy[Decimal]:
    """A criterion's weight on its own: 0 to 100 points, to the hundredth.

    .. versionadded:: 0.1.0
    """
    return decimals(0, 100)


#: The lowest score meeting a criterion's required level: unsaid (the scale's middle), or a
#: point on the default 1..5 scale.
_REQUIRED_SCORES = st.none() | st.integers(1, 5).map(Decimal)


@functools.cache
def criteria(*, measurable: bool = True) -> st.SearchStrategy[Criterion]:
    """Single criteria (their weights need not sum to anything: see :func:`criteria_sets`),
    safety-critical or not, with or without a required score.

    Args:
        measurable: whether each says how it is measured and what level is required.

    .. versionadded:: 0.1.0
    """
    return st.builds(
        Criterion,
        name=criterion_names(),
        weight=weights(),
        description=optional_text(),
        measured_by=texts(MEASURES) if measurable else optional_text(MEASURES),
        required_level=texts(LEVELS) if measurable else optional_text(LEVELS),
        safety_critical=st.booleans(),
        required_score=_REQUIRED_SCORES,
    )


@functools.cache
def _cuts(parts: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, _HUNDRED), min_size=parts - 1, max_size=parts - 1)


def _name_key(name: str) -> str:
    """Criterion names are unique ignoring case and surrounding spaces, as descriptions check."""
    return name.strip().casefold()


@functools.cache
def _names(low: int, high: int) -> st.SearchStrategy[list[str]]:
    return st.lists(criterion_names(), min_size=low, max_size=high, unique_by=_name_key)


def _split_hundred(draw: st.DrawFn, parts: int) -> list[Decimal]:
    """``parts`` non-negative weights, to the hundredth, that sum to exactly 100: the gaps
    between sorted cut points (cuts shrink to 0, so weights shrink to 0, ..., 0, 100)."""
    bounds = [0, *sorted(draw(_cuts(parts), label="cuts")), _HUNDRED]
    return [Decimal(high - low) / 100 for low, high in itertools.pairwise(bounds)]


@st.composite
def criteria_sets(
    draw: st.DrawFn, *, min_size: int = 1, max_size: int = 4, measurable: bool = True
) -> tuple[Criterion, ...]:
    """Criteria for one description: names unique (ignoring case), weights summing to exactly
    100, each measurable unless ``measurable`` is False.

    Args:
        min_size: the fewest criteria (at least 1).
        max_size: the most.
        measurable: whether every criterion says how it is measured and the level required.

    .. versionadded:: 0.1.0
    """
    names = draw(_names(max(1, min_size), max_size), label="criterion names")
    shares = _split_hundred(draw, len(names))
    each = criteria(measurable=measurable)
    return tuple(
        attrs.evolve(draw(each), name=name, weight=weight)
        for name, weight in zip(names, shares, strict=True)
    )


def feedback_responses() -> st.SearchStrategy[FeedbackResponse]:
    """One audience member's view: who, whether they support it, when, and a comment.

    .. versionadded:: 0.1.0
    """
    return st.builds(
        FeedbackResponse,
        by=people(),
        supports=st.booleans(),
        at=aware_datetimes(),
        comment=optional_text(COMMENTS),
    )


def job_descriptions(
    states: Iterable[JobDescriptionState | str] | None = None,
    *,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[JobDescription]:
    """Job descriptions in any state (or one of ``states``), built by real commands.

    Args:
        states: the states to draw from; by default every state of the lifecycle.
        actors: the people descriptions are by and for: authors, employees and audiences are
            drawn from their ids (and from perfcore's pool, for an audience of three or more
            besides the author, when they are fewer).
        ranges: how far dates range (see :class:`Ranges`).

    Raises:
        hypothesis.errors.InvalidArgument: a state the lifecycle does not have.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``actors`` and ``ranges``.
    """
    return reached(KIT, checked_states(KIT, states), actors=actors, ranges=ranges)


# -- content ------------------------------------------------------------------------------------

_RESPONSIBILITIES = st.lists(texts(RESPONSIBILITIES), min_size=1, max_size=3)
_CRITERIA_SETS = criteria_sets()
_COMMENTS = optional_text(COMMENTS)
_REASONS_OR_NONE = optional_text()
_TITLES = texts(TITLES)
_DEPARTMENTS = texts(DEPARTMENTS)
_EDITS: dict[str, st.SearchStrategy[Any]] = {
    "title": _TITLES,
    "department": _DEPARTMENTS,
    "responsibilities": _RESPONSIBILITIES,
    "criteria": _CRITERIA_SETS,
}
#: Edits that leave a draft ready for feedback; "audience" and "employee_id" depend on the author.
_EDIT_KINDS = (*_EDITS, "audience", "employee_id")
_WILD_EDITS: tuple[Arguments, ...] = (
    {},  # no field: refused
    {"lineage_id": "jd-9"},  # not editable: refused
    {"title": " "},  # blank: refused
    {"responsibilities": ["", "Answer tickets"]},  # a blank one: refused
    {"audience": []},  # accepted in a draft; feedback cannot open
)
_LOOSE_CRITERIA = st.lists(criteria(measurable=False), max_size=3)
_DEMANDS = st.builds(
    EndorsementPolicy,
    min_responses=st.integers(0, 6),
    min_support=st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(1)]),
)


def _audience(author: str) -> st.SearchStrategy[list[str]]:
    return distinct_people(3, exclude={author}, max_count=5)


def _edit(draw: st.DrawFn, jd: JobDescription) -> Arguments:
    kind = choice(draw, _EDIT_KINDS, label="edit")
    if kind == "audience":
        audience = draw(_audience(jd.author_id))
        # The employee a description is written for is always asked.
        return {"audience": sorted({*audience, *_described(jd.employee_id)})}
    if kind == "employee_id":
        employee = draw(optional_people(exclude={jd.author_id}))
        return {"employee_id": employee, "audience": sorted({*jd.audience, *_described(employee)})}
    return {kind: draw(_EDITS[kind])}


def _described(employee_id: str | None) -> set[str]:
    return set() if employee_id is None else {employee_id}


def _wild_edit(draw: st.DrawFn, jd: JobDescription) -> Arguments:
    kind = choice(draw, ("fixed", "criteria", "author"), label="wild edit")
    if kind == "criteria":
        # Accepted in a draft, whatever they weigh; feedback opens only when they sum to 100.
        return {"criteria": draw(_LOOSE_CRITERIA)}
    if kind == "author":
        return {"audience": [jd.author_id]}  # accepted; the author may not give feedback
    return choice(draw, _WILD_EDITS)


class JobDescriptionKit(Kit[JobDescription]):
    """Descriptions by a manager (or HR for them), put to three to five other people."""

    kind = JobDescription

    def create(self, draw: st.DrawFn) -> JobDescription:
        author = draw(people(), label="author")
        number = draw(st.integers(1, 3), label="number")
        employee = draw(optional_people(exclude={author}), label="employee")
        return JobDescription.create(
            id=draw(ids("jd"), label="id"),
            by=choice(draw, (manager(author), hr(besides={employee or ""})), label="created by"),
            at=draw(aware_datetimes(), label="created at"),
            title=draw(_TITLES, label="title"),
            department=draw(_DEPARTMENTS, label="department"),
            employee_id=employee,
            author_id=author,
            lineage_id=None if number == 1 else draw(ids("lineage"), label="lineage"),
            number=number,
            responsibilities=draw(_RESPONSIBILITIES, label="responsibilities"),
            criteria=draw(_CRITERIA_SETS, label="criteria"),
            audience={*draw(_audience(author), label="audience"), *_described(employee)},
        )

    def cast(self, obj: JobDescription) -> tuple[Actor, ...]:
        stranger = outsider({obj.author_id, *obj.audience})
        audience = tuple(Actor(id=member) for member in sorted(obj.audience))
        officer = hr(besides={obj.employee_id or ""})
        return (manager(obj.author_id), officer, *audience, Actor(id=stranger))

    def arguments(
        self, draw: st.DrawFn, obj: JobDescription, trigger: str, dest: str | None, at: dt.datetime
    ) -> Arguments:
        if trigger == "edit":
            return _edit(draw, obj)
        if trigger == "give_feedback":
            return {"supports": draw(st.booleans()), "comment": draw(_COMMENTS)}
        if trigger == "revise":
            return {"reason": draw(reasons())}
        return {"reason": draw(_REASONS_OR_NONE)}

    def wild_arguments(
        self, draw: st.DrawFn, obj: JobDescription, trigger: str, at: dt.datetime
    ) -> Arguments:
        if trigger == "edit":
            return _wild_edit(draw, obj)
        if trigger == "give_feedback":
            return {"supports": "yes"}  # not a bool: refused
        if trigger == "revise":
            return {"reason": " "}
        if trigger == "endorse":
            return {"endorsement": draw(_DEMANDS)}
        return self.arguments(draw, obj, trigger, None, at)

    def prepare(
        self, draw: st.DrawFn, obj: JobDescription, trigger: str, dest: str | None
    ) -> JobDescription:
        if trigger != "endorse":
            return obj
        # Supportive responses, one member at a time, until the default policy is met; earlier
        # detours may have left some members against, which the others then outweigh.
        for member in sorted(obj.audience - {obj.author_id}):
            if _endorsable(obj):
                break
            if any(response.by == member and response.supports for response in obj.feedback):
                continue
            obj = fire(draw, self, obj, "give_feedback", by=Actor(id=member), arguments=_support)
        return obj


def _support(draw: st.DrawFn, _at: dt.datetime) -> Arguments:
    return {"supports": True, "comment": draw(_COMMENTS)}


def _endorsable(jd: JobDescription) -> bool:
    rules = DEFAULT_POLICY.endorsement
    supporting = sum(1 for response in jd.feedback if response.supports)
    return jd.responses_count >= rules.min_responses and supporting >= rules.min_support * (
        jd.responses_count
    )


KIT = JobDescriptionKit()
register(KIT)
