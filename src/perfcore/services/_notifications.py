"""Which events people must be told about, and whom to tell: one table, read by the services.

Each row maps an (aggregate type, trigger) to the notifications it calls for: a kind, a function
that names the recipients and one that gives the details, from the object as the command left
it, the event and a :class:`NotificationContext` (the directory on the event's day, the HR
mailbox, a department's approvers). Every notification says why it was sent (``data["why"]``)
and links to its object (``aggregate_type``, ``aggregate_id``, ``version``, and
``data["link"]``). It is written to the outbox in the same unit of work as the change.

The table is open at the composition root: ``Perfcore(store, notifications=Notifications()
.with_rules({...}).with_handlers({...}))`` adds or replaces rows, and hands chosen kinds to
handlers of their own (see docs/notifications.md).

>>> rules = NOTIFICATIONS[("Plan", "attain")]
>>> [rule.kind for rule in rules]
['plan_attained']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from perfcore._aggregate import Aggregate
from perfcore._validate import check_id
from perfcore.directory import Directory
from perfcore.errors import ValidationError
from perfcore.events import Event
from perfcore.ports import IdFactory, Notification, Notifier

__all__ = [
    "DEFAULT_NOTIFICATIONS",
    "HR_MAILBOX",
    "NOTIFICATIONS",
    "NotificationContext",
    "NotificationRule",
    "Notifications",
    "department_approvers",
    "notifications_for",
]

#: The recipient HR notifications go to unless the composition root names others: a mailbox
#: your notifier maps to your HR team.
HR_MAILBOX = "hr"

RuleKey = tuple[str, str]


def department_approvers(department: str) -> tuple[str, ...]:
    """The default recipient for a plan whose approver is a department: the mailbox
    ``"approvers:<department>"``, which your notifier maps to that department's approvers
    (the directory names no one by role)."""
    return (f"approvers:{department}",)


@attrs.frozen(kw_only=True)
class NotificationContext:
    """What a rule may consult besides the object and the event.

    Attributes:
        on: the event's day (UTC): the directory is read as it stood then.
        directory: the organisation, or ``None`` (then nobody is found through it).
        hr: the recipients of notifications meant for HR.
        approvers: a department's approvers, by the department's name.
    """

    on: dt.date
    directory: Directory | None = None
    hr: tuple[str, ...] = (HR_MAILBOX,)
    approvers: Callable[[str], Iterable[str]] = department_approvers

    def manager_of(self, person_id: object) -> str | None:
        """``person_id``'s manager in the directory on :attr:`on`, or ``None``."""
        if self.directory is None or not isinstance(person_id, str):
            return None
        person = self.directory.person(person_id, self.on)
        return None if person is None else person.manager_id


def _nothing(_obj: Any, _event: Event, _context: NotificationContext) -> Mapping[str, Any]:
    return {}


@attrs.frozen
class NotificationRule:
    """A kind of notification, and who receives it (with what details) for one event.

    Attributes:
        kind: the notification's kind ("plan_attained").
        recipients: ``(obj, event, context) -> ids``: who is told (duplicates are dropped;
            none means no notification).
        data: ``(obj, event, context) -> JSON data``: the details for the message.
        why: one sentence saying why the recipients are told, put in ``data["why"]``.
        when: ``(obj, event) -> bool``: whether this event calls for it at all; always, if
            ``None``.
    """

    kind: str
    recipients: Callable[[Any, Event, NotificationContext], Iterable[str]]
    data: Callable[[Any, Event, NotificationContext], Mapping[str, Any]] = _nothing
    why: str = ""
    when: Callable[[Any, Event], bool] | None = None


# -- recipients and details ---------------------------------------------------------------------


def _plan_managers(plan: Any, _event: Event, context: NotificationContext) -> list[str]:
    # Whoever answers for the plan: its author, whoever approved it, and the subject's manager
    # in the directory that day ("the manager is informed", even of an HR-written plan).
    return [
        plan.author_id,
        *([plan.approved_by] if plan.approved_by else []),
        *_manager_of_subject(plan, context),
    ]


def _manager_of_subject(obj: Any, context: NotificationContext) -> list[str]:
    manager = context.manager_of(obj.subject_id)
    return [] if manager is None else [manager]


def _plan_approver(plan: Any, _event: Event, context: NotificationContext) -> list[str]:
    approver = plan.approver
    if approver is None:
        return []
    if str(approver.kind) == "person":
        return [approver.id]
    return list(context.approvers(approver.id))


def _plan_people(plan: Any, _event: Event, _context: NotificationContext) -> list[str]:
    people = sorted(plan.team_member_ids) if plan.team_member_ids else [plan.subject_id]
    return [*people, plan.author_id]


def _plan_details(plan: Any, _event: Event, _context: NotificationContext) -> dict[str, Any]:
    return {"subject_id": plan.subject_id, "kind": str(plan.kind), "author_id": plan.author_id}


def _plan_attained(plan: Any, event: Event, context: NotificationContext) -> dict[str, Any]:
    return {**_plan_details(plan, event, context), "goal_ids": list(plan.goal_ids)}


def _audience(jd: Any, _event: Event, _context: NotificationContext) -> list[str]:
    return sorted(jd.audience)


def _jd_details(jd: Any, _event: Event, _context: NotificationContext) -> dict[str, Any]:
    return {"title": jd.title, "number": jd.number, "lineage_id": jd.lineage_id}


def _requested_reviewers(
    _evaluation: Any, event: Event, _context: NotificationContext
) -> list[str]:
    # The event's payload holds the requests this command appended (or, replaced, all of them).
    payload = event.payload
    requests = payload.get("append", {}).get("feedback_requests")
    if requests is None:
        requests = payload.get("set", {}).get("feedback_requests", [])
    return [request["reviewer_id"] for request in requests]


def _subject(evaluation: Any, _event: Event, _context: NotificationContext) -> list[str]:
    return [evaluation.subject_id]


def _subject_and_evaluator(evaluation: Any, _event: Event, _c: NotificationContext) -> list[str]:
    return [evaluation.subject_id, evaluation.evaluator_id]


def _hr(_obj: Any, _event: Event, context: NotificationContext) -> list[str]:
    return list(context.hr)


def _evaluation_details(
    evaluation: Any, _event: Event, _context: NotificationContext
) -> dict[str, Any]:
    return {
        "subject_id": evaluation.subject_id,
        "period_start": evaluation.period_start.isoformat(),
        "period_end": evaluation.period_end.isoformat(),
    }


def _evaluation_safety(evaluation: Any, _event: Event, context: NotificationContext) -> list[str]:
    # The evaluator, the subject's manager that day (if someone else), and HR.
    return [evaluation.evaluator_id, *_manager_of_subject(evaluation, context), *context.hr]


def _has_shortfalls(evaluation: Any, _event: Event) -> bool:
    return bool(evaluation.safety_shortfalls())


def _shortfall_details(
    evaluation: Any, event: Event, context: NotificationContext
) -> dict[str, Any]:
    return {
        **_evaluation_details(evaluation, event, context),
        "criteria": [
            {"criterion": item.criterion, "score": str(item.score), "required": str(item.required)}
            for item in evaluation.safety_shortfalls()
        ],
        "improvement_plan_id": evaluation.improvement_plan_id,
    }


def _goal_people(goal: Any, _event: Event, _context: NotificationContext) -> list[str]:
    return [goal.owner_id, goal.manager_id]


def _goal_manager(goal: Any, _event: Event, _context: NotificationContext) -> list[str]:
    return [goal.manager_id]


def _goal_owner(goal: Any, _event: Event, _context: NotificationContext) -> list[str]:
    return [goal.owner_id]


def _goal_safety(goal: Any, _event: Event, context: NotificationContext) -> list[str]:
    manager = context.manager_of(goal.owner_id)
    return [goal.manager_id, *([manager] if manager else []), *context.hr]


def _safety_critical_goal(goal: Any, _event: Event) -> bool:
    return bool(goal.safety_critical)


def _goal_details(goal: Any, _event: Event, _context: NotificationContext) -> dict[str, Any]:
    return {
        "owner_id": goal.owner_id,
        "title": goal.title,
        "due": goal.due.isoformat(),
        "horizon": str(goal.horizon),
        "safety_critical": goal.safety_critical,
    }


def _goal_reassigned(goal: Any, _event: Event, _context: NotificationContext) -> list[str]:
    # The new manager now answers for it, and its owner works to them.
    return [goal.manager_id, goal.owner_id]


def _plan_reassigned(plan: Any, event: Event, context: NotificationContext) -> list[str]:
    return [plan.author_id, *_plan_people(plan, event, context)]


def _evaluation_reassigned(
    evaluation: Any, _event: Event, _context: NotificationContext
) -> list[str]:
    return [evaluation.evaluator_id, evaluation.subject_id]


def _reassigned(person: str, to: str) -> Callable[[Any, Event, NotificationContext], Any]:
    """The details of a reassignment: whom it concerns and who has it now (the ``person`` and
    ``to`` fields of the object); the reason stays in the record."""

    def details(obj: Any, _event: Event, _context: NotificationContext) -> dict[str, Any]:
        return {"person_id": getattr(obj, person), "to": getattr(obj, to)}

    return details


_REASSIGNED = "the open work of someone who moved to a new manager now goes to that manager"


def _asked(survey: Any, _event: Event, _context: NotificationContext) -> list[str]:
    return sorted(survey.population)


def _survey_details(survey: Any, _event: Event, _context: NotificationContext) -> dict[str, Any]:
    return {"title": survey.title, "closes_on": survey.closes_on.isoformat()}


#: The notifications perfcore writes, by (aggregate type, trigger).
NOTIFICATIONS: Mapping[RuleKey, tuple[NotificationRule, ...]] = {
    ("Plan", "submit"): (
        NotificationRule(
            "plan_submitted", _plan_approver, _plan_details, "a plan awaits your approval"
        ),
    ),
    ("Plan", "approve"): (
        NotificationRule(
            "plan_approved",
            _plan_people,
            _plan_details,
            "the plan was approved: the employee acknowledges it to start it",
        ),
    ),
    ("Plan", "attain"): (
        NotificationRule(
            "plan_attained",
            _plan_managers,
            _plan_attained,
            "every goal of the plan was achieved",
        ),
    ),
    ("JobDescription", "open_feedback"): (
        NotificationRule(
            "feedback_opened",
            _audience,
            _jd_details,
            "a job description asks for your feedback",
        ),
    ),
    ("Evaluation", "request_feedback"): (
        NotificationRule(
            "feedback_requested",
            _requested_reviewers,
            _evaluation_details,
            "your feedback on a colleague was asked for",
        ),
    ),
    ("Evaluation", "open"): (
        NotificationRule(
            "evaluation_opened",
            _subject,
            _evaluation_details,
            "your evaluation is open for your self review",
        ),
    ),
    ("Evaluation", "finalize"): (
        NotificationRule(
            "evaluation_finalized",
            _subject_and_evaluator,
            _evaluation_details,
            "the evaluation's result is final",
        ),
        NotificationRule(
            "safety_shortfall",
            _evaluation_safety,
            _shortfall_details,
            "a safety-critical expectation was rated below its required level",
            when=_has_shortfalls,
        ),
    ),
    ("Evaluation", "dispute"): (
        NotificationRule(
            "dispute_raised",
            _hr,
            _evaluation_details,
            "an employee disputes their evaluation's result: HR resolves it",
        ),
    ),
    ("Evaluation", "resolve_dispute"): (
        NotificationRule(
            "dispute_resolved", _subject, _evaluation_details, "your dispute was resolved"
        ),
    ),
    ("Goal", "propose"): (
        NotificationRule("goal_proposed", _goal_manager, _goal_details, "a goal awaits approval"),
    ),
    ("Goal", "approve"): (
        NotificationRule("goal_approved", _goal_owner, _goal_details, "your goal was approved"),
    ),
    ("Goal", "achieve"): (
        NotificationRule("goal_achieved", _goal_people, _goal_details, "a goal was achieved"),
    ),
    ("Goal", "miss"): (
        NotificationRule("goal_missed", _goal_people, _goal_details, "a goal was missed"),
        NotificationRule(
            "safety_shortfall",
            _goal_safety,
            _goal_details,
            "a safety-critical goal was missed",
            when=_safety_critical_goal,
        ),
    ),
    ("Goal", "reassign"): (
        NotificationRule(
            "work_reassigned",
            _goal_reassigned,
            _reassigned("owner_id", "manager_id"),
            _REASSIGNED,
        ),
    ),
    ("Plan", "reassign"): (
        NotificationRule(
            "work_reassigned",
            _plan_reassigned,
            _reassigned("subject_id", "author_id"),
            _REASSIGNED,
        ),
    ),
    ("Evaluation", "reassign"): (
        NotificationRule(
            "work_reassigned",
            _evaluation_reassigned,
            _reassigned("subject_id", "evaluator_id"),
            _REASSIGNED,
        ),
    ),
    ("Survey", "open"): (
        NotificationRule(
            "survey_opened", _asked, _survey_details, "a survey asks for your anonymous answers"
        ),
    ),
}


def _rule_table(
    value: Mapping[RuleKey, NotificationRule | Iterable[NotificationRule] | None],
) -> dict[RuleKey, tuple[NotificationRule, ...] | None]:
    if not isinstance(value, Mapping):
        raise ValidationError("rules", "must map (aggregate type, trigger) to notification rules")
    table: dict[RuleKey, tuple[NotificationRule, ...] | None] = {}
    for key, given in value.items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
            raise ValidationError("rules", f"{key!r} is not an (aggregate type, trigger) pair")
        if given is None:
            table[key] = None
            continue
        rules = (given,) if isinstance(given, NotificationRule) else tuple(given)
        for rule in rules:
            if not isinstance(rule, NotificationRule):
                raise ValidationError(
                    "rules", f"{key[0]}.{key[1]}: each must be a NotificationRule"
                )
            check_id("kind", rule.kind)
        table[key] = rules
    return table


def _recipients(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("hr", "must be a list of recipient ids")
    return tuple(check_id("hr", item) for item in value)


@attrs.frozen(kw_only=True)
class Notifications:
    """The notification table in force, and where each kind is delivered: given to
    :class:`~perfcore.services.Perfcore` where it is put together.

    Attributes:
        rules: the table, by (aggregate type, trigger): :data:`NOTIFICATIONS` by default.
        handlers: a :class:`~perfcore.ports.Notifier` of its own for a kind
            (``{"safety_shortfall": pager}``); other kinds go to ``Perfcore``'s notifier.
        hr: who notifications meant for HR go to (disputes, safety shortfalls):
            ``("hr",)``, a mailbox, by default.
        approvers: the recipients for a plan whose approver is a department, by the
            department's name (:func:`department_approvers` by default).
    """

    rules: Mapping[RuleKey, tuple[NotificationRule, ...]] = attrs.field(
        factory=lambda: dict(NOTIFICATIONS)
    )
    handlers: Mapping[str, Notifier] = attrs.field(factory=dict)
    hr: tuple[str, ...] = attrs.field(default=(HR_MAILBOX,), converter=_recipients)
    approvers: Callable[[str], Iterable[str]] = department_approvers

    def with_rules(
        self, rules: Mapping[RuleKey, NotificationRule | Iterable[NotificationRule] | None]
    ) -> Notifications:
        """A copy whose table has ``rules`` in place of the rows of the same keys (``None``
        removes a row: that event notifies nobody)."""
        table = dict(self.rules)
        for key, given in _rule_table(rules).items():
            if given is None:
                table.pop(key, None)
            else:
                table[key] = given
        return attrs.evolve(self, rules=table)

    def adding(
        self, rules: Mapping[RuleKey, NotificationRule | Iterable[NotificationRule]]
    ) -> Notifications:
        """A copy that also writes ``rules``, after the rows already there for each key."""
        table = dict(self.rules)
        for key, given in _rule_table(rules).items():
            table[key] = (*table.get(key, ()), *(given or ()))
        return attrs.evolve(self, rules=table)

    def with_handlers(self, handlers: Mapping[str, Notifier]) -> Notifications:
        """A copy that hands the notifications of each kind named to its own notifier."""
        if not isinstance(handlers, Mapping):
            raise ValidationError("handlers", "must map notification kinds to notifiers")
        for kind, handler in handlers.items():
            check_id("handlers", kind)
            if not isinstance(handler, Notifier):
                raise ValidationError("handlers", f"{kind}: must have a notify(notification)")
        return attrs.evolve(self, handlers={**self.handlers, **handlers})

    def handler_for(self, kind: str, default: Notifier | None) -> Notifier | None:
        """Who delivers notifications of ``kind``: its handler, else ``default``."""
        return self.handlers.get(kind, default)

    def context(self, on: dt.date, directory: Directory | None) -> NotificationContext:
        """The context rules see for an event on day ``on``."""
        return NotificationContext(on=on, directory=directory, hr=self.hr, approvers=self.approvers)

    def for_event(
        self, obj: Aggregate, event: Event, ids: IdFactory, directory: Directory | None = None
    ) -> list[Notification]:
        """The notifications ``event`` calls for (one per row whose ``when`` holds and which
        names someone), addressed from ``obj`` as the command left it."""
        rules = self.rules.get((event.aggregate_type, event.trigger), ())
        if not rules:
            return []
        context = self.context(event.at.astimezone(dt.UTC).date(), directory)
        found = []
        for rule in rules:
            if rule.when is not None and not rule.when(obj, event):
                continue
            recipients = tuple(dict.fromkeys(rule.recipients(obj, event, context)))
            if not recipients:
                continue
            found.append(
                Notification(
                    id=ids.new_id("notification"),
                    kind=rule.kind,
                    recipients=recipients,
                    aggregate_type=event.aggregate_type,
                    aggregate_id=event.aggregate_id,
                    version=event.version,
                    at=event.at,
                    data={
                        "trigger": event.trigger,
                        "actor_id": event.actor_id,
                        "why": rule.why,
                        "link": {"type": event.aggregate_type, "id": event.aggregate_id},
                        **rule.data(obj, event, context),
                    },
                )
            )
        return found


#: The table perfcore writes when the composition root names none.
DEFAULT_NOTIFICATIONS = Notifications()


def notifications_for(
    obj: Aggregate,
    event: Event,
    ids: IdFactory,
    table: Notifications = DEFAULT_NOTIFICATIONS,
    directory: Directory | None = None,
) -> list[Notification]:
    """The notifications ``event`` calls for under ``table`` (perfcore's own by default)."""
    return table.for_event(obj, event, ids, directory)
