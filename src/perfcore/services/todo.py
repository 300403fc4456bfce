"""Each person's to-do list: the work waiting for them, across every kind of object.

``pc.todo(person_id, by=..., on=day)`` lists what ``person_id`` has to do, judged on day ``on``:

- ``feedback_request``: a colleague's evaluation waits for their feedback;
- ``description_feedback``: a job description in feedback waits for theirs;
- ``plan_approval`` / ``goal_approval``: a plan or a goal waits for their approval (the
  policy's ``approve`` rule admits them);
- ``evaluation_to_open``: an evaluation they run whose period has ended;
- ``self_review`` / ``manager_review``: a review waiting for them to write it;
- ``plan_review``: a plan they wrote or approved whose review is due by ``on``;
- ``plan_acknowledgement`` / ``evaluation_acknowledgement``: an approved plan or a final
  result waiting for them to acknowledge it;
- ``goal_check_in``: an active goal of theirs without a check-in for ``check_in_every`` days.

The list is the work pending now; ``on`` is the day due dates are judged against. Who may read
someone's list is the policy's ``("Person", "todo")`` rule (themselves, their managers up the
line, HR), and each item is one the reader may read too: a manager reading a report's list does
not learn of a colleague's evaluation the report was asked about.

The person's own objects are found by the store's indexed columns (``owner``, ``subject``,
``manager``); the work others ask of them, by the state index (objects in the states that wait
on someone), never by reading everything.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterator
from typing import Any, cast

import attrs

from perfcore._validate import check_date, check_id, check_page, check_whole, shown
from perfcore.actor import Actor
from perfcore.directory import resolve_actor
from perfcore.errors import PermissionDenied, ValidationError
from perfcore.evaluation import Evaluation
from perfcore.goal import Goal
from perfcore.job_description import JobDescription
from perfcore.lifecycle import lifecycle_of
from perfcore.plan import Plan
from perfcore.repositories import Repositories
from perfcore.services._runner import Runner

__all__ = ["PersonRecord", "TodoItem", "TodoKind", "TodoList"]

#: The policy's trigger for reading someone's to-do list: ``("Person", "todo")``.
TODO = "todo"


class TodoKind(enum.StrEnum):
    """What kind of work an item of a to-do list is."""

    FEEDBACK_REQUEST = "feedback_request"
    DESCRIPTION_FEEDBACK = "description_feedback"
    PLAN_APPROVAL = "plan_approval"
    GOAL_APPROVAL = "goal_approval"
    EVALUATION_TO_OPEN = "evaluation_to_open"
    SELF_REVIEW = "self_review"
    MANAGER_REVIEW = "manager_review"
    PLAN_REVIEW = "plan_review"
    PLAN_ACKNOWLEDGEMENT = "plan_acknowledgement"
    EVALUATION_ACKNOWLEDGEMENT = "evaluation_acknowledgement"
    GOAL_CHECK_IN = "goal_check_in"


@attrs.frozen(kw_only=True)
class PersonRecord:
    """The person a ``("Person", ...)`` rule is asked about (its ``id``)."""

    id: str


@attrs.frozen(kw_only=True)
class TodoItem:
    """One piece of work waiting for someone.

    Attributes:
        kind: what is to be done.
        aggregate_type, aggregate_id: the object it is done on (the link).
        due: the day it falls (or fell) due, or ``None`` when it has no date.
        why: what is waiting, in words.
    """

    kind: TodoKind
    aggregate_type: str
    aggregate_id: str
    due: dt.date | None
    why: str

    @property
    def key(self) -> tuple[dt.date, str, str]:
        """Its place in the list (``after`` takes it): the due day (undated last), the kind,
        the object's id."""
        return (self.due or dt.date.max, self.kind.value, self.aggregate_id)


class TodoList:
    """Reads each person's to-do list (see the module's documentation)."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    def __call__(
        self,
        person_id: str,
        *,
        by: Actor | str,
        on: dt.date,
        check_in_every: int = 14,
        limit: int | None = None,
        after: tuple[dt.date, str, str] | None = None,
    ) -> list[TodoItem]:
        """What ``person_id`` has to do, judged on day ``on``: ordered by due day (undated
        last), kind and object id (:attr:`TodoItem.key`, which ``after`` takes), at most
        ``limit`` items.

        Raises:
            PermissionDenied: ``by`` may not read ``person_id``'s list.
            ValidationError: a bad id, day, page or ``check_in_every`` (a whole number from 1).
        """
        check_id("person_id", person_id)
        day = check_date("on", on)
        check_whole("check_in_every", check_in_every, least=1)
        if limit is not None:
            check_page("limit", limit)
        if after is not None and not (
            isinstance(after, tuple)
            and len(after) == 3
            and isinstance(after[0], dt.date)
            and all(isinstance(item, str) for item in after[1:])
        ):
            raise ValidationError(
                "after", f"must be None or a (date, str, str), not {shown(after)}"
            )
        reader = self._runner.reader(by)
        policy = self._runner.policy
        policy.authorize(reader, "Person", PersonRecord(id=person_id), TODO)
        person = self._person(person_id, reader, day)

        def readable(kind: str, obj: Any) -> bool:
            return policy.may_read(reader, kind, obj)

        def work(uow: Repositories) -> list[TodoItem]:
            items = [
                item
                for kind, obj, item in _items(uow, person, day, check_in_every, policy.permits)
                if readable(kind, obj)
            ]
            items.sort(key=lambda item: item.key)
            if after is not None:
                items = [item for item in items if item.key > after]
            return items if limit is None else items[:limit]

        return self._runner.read(work)

    def _person(self, person_id: str, reader: Actor, day: dt.date) -> Actor:
        """``person_id`` as the directory has them on ``day`` (their roles and department
        decide which approvals are theirs); without a directory, the reader if it is them,
        else an employee with that id."""
        directory = self._runner.directory
        if directory is not None:
            try:
                return resolve_actor(directory, person_id, day)
            except PermissionDenied:
                return Actor(id=person_id)  # not in the organisation that day: no roles
        return reader if reader.id == person_id else Actor(id=person_id)


Permits = Callable[[Actor, str, Any, str], bool]


def _item(kind: TodoKind, obj: Any, due: dt.date | None, why: str) -> tuple[str, Any, TodoItem]:
    name = lifecycle_of(type(obj)).name
    return (
        name,
        obj,
        TodoItem(kind=kind, aggregate_type=name, aggregate_id=obj.id, due=due, why=why),
    )


def _in_states(uow: Repositories, kind: str, *states: str) -> Iterator[Any]:
    for state in states:
        for head in uow.events.find(kind, "state", state):
            yield uow.streams.load_head(head)


def _mine(uow: Repositories, kind: str, column: str, person: str, *states: str) -> Iterator[Any]:
    for head in uow.events.find(kind, column, person):
        if head.state in states:
            yield uow.streams.load_head(head)


def _items(
    uow: Repositories, person: Actor, day: dt.date, check_in_every: int, permits: Permits
) -> Iterator[tuple[str, Any, TodoItem]]:
    me = person.id
    # Work others ask of them: found by state.
    for obj in _in_states(uow, "Evaluation", "self_review", "manager_review"):
        evaluation = cast(Evaluation, obj)
        if me in evaluation.pending_reviewer_ids:
            yield _item(
                TodoKind.FEEDBACK_REQUEST,
                evaluation,
                None,
                f"feedback on {evaluation.subject_id}'s evaluation",
            )
        if evaluation.state == "manager_review" and evaluation.evaluator_id == me:
            yield _item(
                TodoKind.MANAGER_REVIEW,
                evaluation,
                evaluation.period_end,
                f"the manager review of {evaluation.subject_id}",
            )
    for obj in _in_states(uow, "Evaluation", "scheduled"):
        evaluation = cast(Evaluation, obj)
        if evaluation.evaluator_id == me and evaluation.period_end <= day:
            yield _item(
                TodoKind.EVALUATION_TO_OPEN,
                evaluation,
                evaluation.period_end,
                f"open {evaluation.subject_id}'s evaluation: its period has ended",
            )
    for obj in _in_states(uow, "JobDescription", "in_feedback"):
        jd = cast(JobDescription, obj)
        answered = any(response.by == me for response in jd.feedback)
        if me in jd.audience and me != jd.author_id and not answered:
            yield _item(TodoKind.DESCRIPTION_FEEDBACK, jd, None, f"feedback on {jd.title!r}")
    for obj in _in_states(uow, "Plan", "submitted"):
        plan = cast(Plan, obj)
        if plan.approver is not None and permits(person, "Plan", plan, "approve"):
            yield _item(
                TodoKind.PLAN_APPROVAL, plan, plan.start, f"approve {plan.subject_id}'s plan"
            )
    for obj in _in_states(uow, "Plan", "active"):
        plan = cast(Plan, obj)
        due = plan.review_due
        if due is not None and due <= day and me in (plan.author_id, plan.approved_by):
            yield _item(TodoKind.PLAN_REVIEW, plan, due, f"review {plan.subject_id}'s plan")
    for obj in _mine(uow, "Goal", "manager", me, "proposed"):
        goal = cast(Goal, obj)
        if permits(person, "Goal", goal, "approve"):
            yield _item(TodoKind.GOAL_APPROVAL, goal, goal.start, f"approve {goal.owner_id}'s goal")
    # Their own: found by the columns that name them.
    for obj in _mine(uow, "Evaluation", "subject", me, "self_review", "finalized"):
        evaluation = cast(Evaluation, obj)
        if evaluation.state == "self_review":
            yield _item(TodoKind.SELF_REVIEW, evaluation, None, "write your self review")
        else:
            yield _item(
                TodoKind.EVALUATION_ACKNOWLEDGEMENT,
                evaluation,
                None,
                "acknowledge (or dispute) your evaluation's result",
            )
    for obj in _mine(uow, "Plan", "subject", me, "approved"):
        yield _item(TodoKind.PLAN_ACKNOWLEDGEMENT, obj, obj.start, "acknowledge your plan")
    for obj in _mine(uow, "Goal", "owner", me, "active"):
        goal = cast(Goal, obj)
        latest = max((check_in.on for check_in in goal.check_ins), default=goal.start)
        due = latest + dt.timedelta(days=check_in_every)
        if due <= day:
            yield _item(TodoKind.GOAL_CHECK_IN, goal, due, f"check in on {goal.title!r}")
