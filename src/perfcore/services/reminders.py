"""Reminders: what is coming due or waiting on someone, told once, by one scheduled call.

``pc.reminders(on=day)`` finds what is due, writes a notification to the outbox for each
reminder not sent before, and remembers each one in the store, in the same unit of work: a
reminder is sent **once**, however often the call runs and from however many processes (two
runs at once: one commits, the other finds the reminders taken and sends none of them again).

What is due, and to whom (``within`` days ahead for what has a date; pending work once it has
waited ``waited`` days without moving):

============================  =====================================  ==========================
kind                          what                                   to
============================  =====================================  ==========================
``plan_review_due``           an active plan's next review           its author, approver and
                                                                     subject (or team)
``goal_due``                  an active goal's due date              its owner and manager
``evaluation_due``            a scheduled evaluation's period end    its evaluator
``self_review_due``           an evaluation waiting for the self     its subject
                              review
``manager_review_due``        an evaluation waiting for the          its evaluator
                              manager review
``feedback_due``              a feedback request not answered        the reviewer (one each)
``description_feedback_due``  a description in feedback not          each audience member
                              answered                               (one each)
``plan_approval_due``         a submitted plan                       its approver
``goal_approval_due``         a proposed goal                        its manager
============================  =====================================  ==========================

Only open work is read: each kind's objects are found by their state in the store's index
(active plans and goals, evaluations and descriptions in the states that wait on someone),
never by reading every object or the event log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast

import attrs

from perfcore._validate import check_date, check_whole
from perfcore.errors import ConcurrencyError, StorageError, ValidationError
from perfcore.evaluation import Evaluation
from perfcore.goal import Goal
from perfcore.job_description import JobDescription
from perfcore.plan import ApproverKind, Plan
from perfcore.ports import IDEMPOTENCY_KEY, IdempotencyRecord, Notification
from perfcore.repositories import Repositories
from perfcore.services._runner import ATTEMPTS, Runner
from perfcore.streams import Streams

__all__ = ["REMINDER_KINDS", "Reminder", "ReminderRun", "Reminders", "reminder_key"]

#: Every kind of reminder, and why it is sent (its ``data["why"]``).
REMINDER_KINDS: Mapping[str, str] = {
    "plan_review_due": "a plan's review is coming due",
    "goal_due": "a goal's due date is coming",
    "evaluation_due": "an evaluation's period is ending: it can be opened",
    "self_review_due": "your self review is waiting",
    "manager_review_due": "a manager review is waiting for you",
    "feedback_due": "a colleague's evaluation is waiting for your feedback",
    "description_feedback_due": "a job description is waiting for your feedback",
    "plan_approval_due": "a plan is waiting for your approval",
    "goal_approval_due": "a goal is waiting for your approval",
}

#: Where the store remembers a reminder: an idempotency key of its own, apart from the keys
#: commands take (which are each person's own, and never begin so).
_PREFIX = "reminder/"


def reminder_key(kind: str, aggregate_type: str, aggregate_id: str, *detail: str) -> str:
    """The key a reminder is remembered by: a digest of what it is about (its kind, its object
    and what makes it the same thing: a due day, a reviewer), so that the key holds no
    personal data.

    >>> reminder_key("goal_due", "Goal", "g-1", "2026-06-30")[:9]
    'reminder/'
    """
    text = json.dumps([kind, aggregate_type, aggregate_id, *detail], separators=(",", ":"))
    return _PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.frozen(kw_only=True)
class Reminder:
    """One reminder that is due.

    Attributes:
        kind: one of :data:`REMINDER_KINDS`.
        recipients: who is reminded.
        aggregate_type, aggregate_id, version: the object it is about (the link).
        due: the day it falls due (or the day the work began waiting).
        key: what makes it the same thing (:func:`reminder_key`).
        data: details for the message.
    """

    kind: str
    recipients: tuple[str, ...]
    aggregate_type: str
    aggregate_id: str
    version: int
    due: dt.date
    key: str
    data: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ReminderRun:
    """What one :meth:`Reminders.run` did.

    Attributes:
        sent: the notifications written to the outbox, one per new reminder.
        already_sent: how many reminders found due had been sent before (not again).
    """

    sent: tuple[Notification, ...] = ()
    already_sent: int = 0


def _shifted(day: dt.date, days: int) -> dt.date:
    """``day`` moved by ``days``, held within the calendar: a window wider than the calendar
    reaches its end."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min


def _since(obj: Any) -> dt.date:
    """The day an object last moved (what pending work has waited since)."""
    at = obj.updated_at or obj.created_at
    return at.astimezone(dt.UTC).date() if at is not None else dt.date.min


def _objects(uow: Repositories, kind: str, states: Iterable[str]) -> Iterator[Any]:
    """The objects of ``kind`` now in one of ``states``, found by the state index."""
    for state in states:
        for head in uow.events.find(kind, "state", state):
            yield uow.streams.load_head(head)


class Reminders:
    """Finds what is due and sends each reminder once (see the module's documentation)."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    def due(self, *, on: dt.date, within: int = 7, waited: int = 3) -> list[Reminder]:
        """Every reminder due on day ``on``, sent before or not, ordered by kind, due day and
        object: dated work falling due by ``on + within`` days (or overdue), and pending work
        that has waited ``waited`` days or more.

        Raises:
            ValidationError: ``on`` is not a date, or ``within`` or ``waited`` is not a whole
                number from 0.
        """
        day = check_date("on", on)
        check_whole("within", within, least=0)
        check_whole("waited", waited, least=0)
        return self._runner.read(lambda uow: self._due(uow, day, within, waited))

    def run(self, *, on: dt.date, within: int = 7, waited: int = 3) -> ReminderRun:
        """Send every reminder due on day ``on`` (see :meth:`due`) that was not sent before: a
        notification in the outbox for each, remembered in the store in the same unit of work,
        so that no reminder is ever sent twice. Run it on a schedule (daily, say), then
        deliver the notifications (``pc.deliver_notifications()``).

        Raises:
            ValidationError: as :meth:`due`; or the call is made inside a bulk (its own unit of
                work must commit before the notifications are delivered).
            ConcurrencyError: another run kept taking the same reminders first, ten times.
        """
        day = check_date("on", on)
        check_whole("within", within, least=0)
        check_whole("waited", waited, least=0)
        if self._runner.active_bulk is not None:
            raise ValidationError("reminders", "send reminders outside a bulk, not inside one")
        attempt = 1
        while True:
            try:
                return self._send(day, within, waited)
            except StorageError as error:
                racing = isinstance(error, ConcurrencyError) and (
                    error.aggregate_type == IDEMPOTENCY_KEY
                )
                if attempt >= ATTEMPTS or not (racing or error.retryable):
                    raise
                attempt += 1  # another run sent some of them first: the rest are still due

    def _send(self, day: dt.date, within: int, waited: int) -> ReminderRun:
        runner = self._runner
        with runner.store.unit_of_work() as uow:
            repositories = Repositories(Streams(uow, runner.cache, key=runner.audit_key))
            sent: list[Notification] = []
            already = 0
            at = runner.clock.now()
            for reminder in self._due(repositories, day, within, waited):
                if uow.idempotency.get(reminder.key) is not None:
                    already += 1
                    continue
                uow.idempotency.put(
                    IdempotencyRecord(
                        key=reminder.key,
                        fingerprint=reminder.kind,
                        aggregate_type=reminder.aggregate_type,
                        aggregate_id=reminder.aggregate_id,
                        version=reminder.version,
                        at=at,
                    )
                )
                notification = Notification(
                    id=runner.ids.new_id("notification"),
                    kind=reminder.kind,
                    recipients=reminder.recipients,
                    aggregate_type=reminder.aggregate_type,
                    aggregate_id=reminder.aggregate_id,
                    version=reminder.version,
                    at=at,
                    data={
                        "why": REMINDER_KINDS[reminder.kind],
                        "link": {"type": reminder.aggregate_type, "id": reminder.aggregate_id},
                        "due": reminder.due.isoformat(),
                        **reminder.data,
                    },
                )
                uow.outbox.put(notification)
                sent.append(notification)
            if sent:
                uow.commit()
        return ReminderRun(sent=tuple(sent), already_sent=already)

    def _due(self, uow: Repositories, day: dt.date, within: int, waited: int) -> list[Reminder]:
        ahead = _shifted(day, within)
        stale = _shifted(day, -waited)
        found = [
            *self._plan_reviews(uow, ahead),
            *self._goal_deadlines(uow, ahead),
            *self._evaluations(uow, ahead, stale),
            *self._descriptions(uow, stale),
            *self._approvals(uow, stale),
        ]
        found.sort(key=lambda item: (item.kind, item.due, item.aggregate_id, item.recipients))
        return found

    def _plan_reviews(self, uow: Repositories, ahead: dt.date) -> Iterator[Reminder]:
        for obj in _objects(uow, "Plan", ("active",)):
            plan = cast(Plan, obj)
            due = plan.review_due
            if due is None or due > ahead:
                continue
            people = sorted(plan.team_member_ids) if plan.team_member_ids else [plan.subject_id]
            recipients = [plan.author_id, *([plan.approved_by] if plan.approved_by else [])]
            yield _reminder(
                "plan_review_due",
                plan,
                due,
                [*recipients, *people],
                due.isoformat(),
                subject_id=plan.subject_id,
            )

    def _goal_deadlines(self, uow: Repositories, ahead: dt.date) -> Iterator[Reminder]:
        for obj in _objects(uow, "Goal", ("active",)):
            goal = cast(Goal, obj)
            if goal.due > ahead:
                continue
            yield _reminder(
                "goal_due",
                goal,
                goal.due,
                [goal.owner_id, goal.manager_id],
                goal.due.isoformat(),
                owner_id=goal.owner_id,
                title=goal.title,
            )

    def _evaluations(self, uow: Repositories, ahead: dt.date, stale: dt.date) -> Iterator[Reminder]:
        for obj in _objects(uow, "Evaluation", ("scheduled",)):
            evaluation = cast(Evaluation, obj)
            if evaluation.period_end <= ahead:
                end = evaluation.period_end
                yield _reminder(
                    "evaluation_due",
                    evaluation,
                    end,
                    [evaluation.evaluator_id],
                    end.isoformat(),
                    subject_id=evaluation.subject_id,
                )
        for obj in _objects(uow, "Evaluation", ("self_review", "manager_review")):
            evaluation = cast(Evaluation, obj)
            since = _since(evaluation)
            if since <= stale:
                if evaluation.state == "self_review":
                    kind, person = "self_review_due", evaluation.subject_id
                else:
                    kind, person = "manager_review_due", evaluation.evaluator_id
                yield _reminder(kind, evaluation, since, [person], subject_id=evaluation.subject_id)
            pending = evaluation.pending_reviewer_ids
            for request in evaluation.feedback_requests:
                asked = request.requested_at.astimezone(dt.UTC).date()
                if request.reviewer_id in pending and asked <= stale:
                    # One each, naming nobody else: reviewers are not told who else was asked.
                    yield _reminder(
                        "feedback_due",
                        evaluation,
                        asked,
                        [request.reviewer_id],
                        request.reviewer_id,
                    )

    def _descriptions(self, uow: Repositories, stale: dt.date) -> Iterator[Reminder]:
        for obj in _objects(uow, "JobDescription", ("in_feedback",)):
            jd = cast(JobDescription, obj)
            since = _since(jd)
            if since > stale:
                continue
            answered = {response.by for response in jd.feedback}
            # Once per person and description number: a description revised and opened
            # again is the same thing to answer.
            for person in sorted(jd.audience - answered - {jd.author_id}):
                yield _reminder(
                    "description_feedback_due",
                    jd,
                    since,
                    [person],
                    person,
                    str(jd.number),
                    title=jd.title,
                )

    def _approvals(self, uow: Repositories, stale: dt.date) -> Iterator[Reminder]:
        approvers = self._runner.notifications.approvers
        for obj in _objects(uow, "Plan", ("submitted",)):
            plan = cast(Plan, obj)
            since = _since(plan)
            if since > stale or plan.approver is None:
                continue
            if plan.approver.kind is ApproverKind.PERSON:
                recipients = [plan.approver.id]
            else:
                recipients = list(approvers(plan.approver.id))
            yield _reminder(
                "plan_approval_due",
                plan,
                since,
                recipients,
                str(plan.version),
                subject_id=plan.subject_id,
            )
        for obj in _objects(uow, "Goal", ("proposed",)):
            goal = cast(Goal, obj)
            since = _since(goal)
            if since <= stale:
                yield _reminder(
                    "goal_approval_due",
                    goal,
                    since,
                    [goal.manager_id],
                    str(goal.version),
                    owner_id=goal.owner_id,
                )


def _reminder(
    kind: str, obj: Any, due: dt.date, recipients: Iterable[str], *detail: str, **data: Any
) -> Reminder:
    from perfcore.lifecycle import lifecycle_of

    name = lifecycle_of(type(obj)).name
    return Reminder(
        kind=kind,
        recipients=tuple(dict.fromkeys(recipients)),
        aggregate_type=name,
        aggregate_id=obj.id,
        version=obj.version,
        due=due,
        key=reminder_key(kind, name, obj.id, *detail),
        data=data,
    )
