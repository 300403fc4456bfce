"""The application services: what an HR system calls from its request handlers.

:class:`Perfcore` wires a store, a clock, an id factory, a policy, a notifier and an optional
audit key, and offers one service per aggregate (``pc.goals``, ``pc.job_descriptions``,
``pc.plans``, ``pc.evaluations``, ``pc.cycles``) and the manager queries (``pc.queries``).

Each command runs in one unit of work: it loads the object, fires the domain command at the
clock's time under the policy, saves the result with the version it was loaded at, appends the
new events to the audit log, writes the notifications they call for to the outbox, remembers
the idempotency key if one was given, and commits; or, on any error, writes nothing.

>>> import datetime as dt
>>> from perfcore import Actor
>>> from perfcore.adapters.memory import MemoryStore
>>> pc = Perfcore(MemoryStore())
>>> mia = Actor(id="mia", roles={"manager"})
>>> jd = pc.job_descriptions.create(by=mia, title="Support engineer", department="Support")
>>> jd.state, jd.version
(<JobDescriptionState.DRAFT: 'draft'>, 1)
>>> pc.verify_audit_log().intact
True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import typing
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from perfcore import audit, erasure
from perfcore._validate import check_flag, check_id, check_instance, check_page, check_text
from perfcore.actor import Actor
from perfcore.directory import Directory
from perfcore.errors import IdempotencyConflict, NotFound, ValidationError
from perfcore.events import Event
from perfcore.lifecycle import Command, lifecycle_of
from perfcore.limits import DEFAULT_LIMITS, Limits
from perfcore.policy import DEFAULT_POLICY, Policy
from perfcore.ports import (
    Clock,
    IdFactory,
    Notifier,
    Store,
    SystemClock,
    UuidIds,
)
from perfcore.reading import HISTORY
from perfcore.repositories import Repositories
from perfcore.services._base import AggregateService
from perfcore.services._limited import Limited
from perfcore.services._notifications import (
    NOTIFICATIONS,
    NotificationContext,
    NotificationRule,
    Notifications,
)
from perfcore.services._runner import Bulk, Runner, stored_kinds
from perfcore.services.cycles import CycleService, EvaluationSchedule
from perfcore.services.evaluations import EvaluationService
from perfcore.services.goals import GoalService
from perfcore.services.job_descriptions import JobDescriptionService
from perfcore.services.notes import NoteService
from perfcore.services.plans import PlanService
from perfcore.services.queries import GoalStatus, PlanReview, Queries
from perfcore.services.reassignment import Reassignment, Reassignments
from perfcore.services.reminders import Reminder, ReminderRun, Reminders
from perfcore.services.reports import Reports
from perfcore.services.surveys import SurveyService
from perfcore.services.todo import TodoItem, TodoKind, TodoList
from perfcore.streams import ObjectCache, history_of

__all__ = [
    "NOTIFICATIONS",
    "Bulk",
    "CycleService",
    "Delivery",
    "EvaluationSchedule",
    "EvaluationService",
    "GoalService",
    "GoalStatus",
    "IdempotencyConflict",
    "JobDescriptionService",
    "NoteService",
    "NotificationContext",
    "NotificationRule",
    "Notifications",
    "Perfcore",
    "PlanReview",
    "PlanService",
    "Queries",
    "Reassignment",
    "Reminder",
    "ReminderRun",
    "Reminders",
    "Reports",
    "TodoItem",
    "TodoKind",
    "TodoList",
    "SurveyService",
    "service_names",
]


@attrs.frozen(kw_only=True)
class Delivery:
    """What one :meth:`Perfcore.deliver_notifications` did.

    Attributes:
        delivered: the ids of the notifications the notifier took, now marked delivered.
        failed: ``{id: error}`` for those whose hand-off raised; they stay pending.
    """

    delivered: tuple[str, ...] = ()
    failed: Mapping[str, str] = attrs.field(factory=dict)


class Perfcore(Limited):
    """perfcore's entry point: every command and query, over one store.

    Args:
        store: where objects live (:class:`~perfcore.adapters.memory.MemoryStore`, the SQLite
            store, or an integrator's own).
        clock: tells the time of each command; by default the system clock in UTC.
        ids: makes ids for new objects and notifications; by default random UUIDs.
        policy: who may do what, and the organisation's numbers.
        notifier: hands notifications to people (:meth:`deliver_notifications`).
        audit_key: a secret for HMAC-SHA256 audit hashes, which someone who can rewrite the
            whole log but lacks the key cannot forge; ``None`` for plain SHA-256.
        directory: the organisation (:class:`~perfcore.directory.Directory`): who each person is
            on a command's day. With one, the acting person is whoever the directory says
            (``by`` may be their id), a claimed role it does not give is refused, relationship
            rules are checked against it (a goal's manager is the owner's manager there, an
            evaluator the subject's), and each event records the facts that authorised it.
            Without one, perfcore takes the caller's :class:`~perfcore.actor.Actor` at its word:
            for tests and demos, never for a system people use.
        notifications: the notification table in force and where each kind goes
            (:class:`~perfcore.services.Notifications`): perfcore's own table by default; add
            or replace rows with ``Notifications().with_rules(...)``, hand kinds to handlers of
            their own with ``.with_handlers(...)``, and name HR's recipients with ``hr=``.
        cache_size: how many objects this process keeps loaded between commands (each load
            still checks the stored stream has not moved since); 0 keeps none.
        seal_every: how many events this process commits between seals of the audit log.
        limits: the bounds on every input (:class:`~perfcore.limits.Limits`): every public
            method of this ``Perfcore`` and its services runs under them, whatever the thread
            or task; :data:`~perfcore.limits.DEFAULT_LIMITS` by default.
        pause_collector: pause Python's cyclic garbage collector while a bulk
            (:meth:`bulk`) or a query runs, so that the hundreds of thousands of short-lived
            objects they make do not set off walks over every object the process holds (seconds
            each in a process holding a large store or cache). Reference counting frees
            everything else as usual; the collector runs again when the last such block in the
            process ends, if it was running before. ``False`` leaves the collector alone.
    """

    # Each aggregate type's service, declared here once: :func:`service_names` reads these.
    goals: GoalService
    job_descriptions: JobDescriptionService
    plans: PlanService
    evaluations: EvaluationService
    cycles: CycleService
    surveys: SurveyService
    notes: NoteService

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        ids: IdFactory | None = None,
        policy: Policy = DEFAULT_POLICY,
        notifier: Notifier | None = None,
        audit_key: bytes | None = None,
        directory: Directory | None = None,
        notifications: Notifications | None = None,
        cache_size: int = 10_000,
        seal_every: int = 1000,
        limits: Limits = DEFAULT_LIMITS,
        pause_collector: bool = True,
    ) -> None:
        if audit_key is not None and (not isinstance(audit_key, bytes) or not audit_key):
            raise ValidationError("audit_key", "must be non-empty bytes or None")
        if notifications is None:
            notifications = Notifications()
        check_instance("notifications", notifications, Notifications)
        check_instance("limits", limits, Limits)
        self.store = store
        self.notifier = notifier
        self._runner = Runner(
            store=store,
            clock=clock if clock is not None else SystemClock(),
            ids=ids if ids is not None else UuidIds(),
            policy=policy,
            audit_key=audit_key,
            cache=ObjectCache(cache_size),
            seal_every=seal_every,
            directory=directory,
            notifications=notifications,
            limits=limits,
            pause_collector=bool(pause_collector),
        )
        for name, service in _service_classes().items():
            setattr(self, name, service(self._runner))
        self.queries = Queries(self._runner)
        #: Reports per department and per person (:class:`~perfcore.services.Reports`).
        self.reports = Reports(self._runner)
        #: Each person's to-do list: ``pc.todo(person_id, by=..., on=day)``
        #: (:class:`~perfcore.services.TodoList`).
        self.todo = TodoList(self._runner)
        self._reminders = Reminders(self._runner)
        self._reassignments = Reassignments(self._runner)

    @property
    def notifications(self) -> Notifications:
        """The notification table in force, and its handlers."""
        return self._runner.notifications

    def reminders(self, *, on: dt.date, within: int = 7, waited: int = 3) -> ReminderRun:
        """Send the reminders due on day ``on`` that were not sent before, each once: reviews,
        goals and evaluations falling due within ``within`` days, and feedback, reviews and
        approvals that have waited ``waited`` days (see :mod:`perfcore.services.reminders`).
        Run it on a schedule, then :meth:`deliver_notifications`.

        Raises:
            ValidationError: a bad day, or ``within``/``waited`` not a whole number from 0.
        """
        return self._reminders.run(on=on, within=within, waited=waited)

    def reminders_due(self, *, on: dt.date, within: int = 7, waited: int = 3) -> list[Reminder]:
        """Every reminder due on day ``on``, whether sent before or not (nothing is written)."""
        return self._reminders.due(on=on, within=within, waited=waited)

    def reassign(
        self,
        person_id: str,
        *,
        on: dt.date,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> Reassignment:
        """Move ``person_id``'s open goals, plans and evaluations to the manager the directory
        gives them from day ``on`` (record the move in the directory first), each with
        ``reason`` in its history: see :mod:`perfcore.services.reassignment`."""
        return self._reassignments.reassign(
            person_id, on=on, by=by, reason=reason, idempotency_key=idempotency_key
        )

    @property
    def policy(self) -> Policy:
        """The policy every command runs under."""
        return self._runner.policy

    @contextlib.contextmanager
    def bulk(self) -> Iterator[Bulk]:
        """Run every command called inside the block (in this thread) in one unit of work: an
        import, a cycle's scheduled creations, a batch of check-ins.

        Each command is checked exactly as if it ran alone (the directory, the policy, the
        guards, its idempotency key), against the store as the bulk's earlier commands left
        it, and returns its result at once; queries inside the block see the bulk's commands
        too. Everything is committed together when the block ends, and then sealed as one
        audit batch.

        - **A refused command** (``PermissionDenied``, ``GuardFailed``, ``ValidationError``,
          ...) raises where it is called and leaves nothing in the bulk. Catch it to go on with
          the others (they still commit), or let it leave the block: then the whole bulk is
          rolled back, and nothing of it is stored.
        - **Idempotency keys** hold within the bulk and across bulks: a key used again (in the
          bulk, or after an earlier commit) returns the first result, or raises
          ``IdempotencyConflict`` for another command. A bulk rolled back remembers no key, so
          running it again is safe.
        - **Conflicts** are not retried one command at a time: if another process changed an
          object the bulk read or changed, the commit raises ``ConcurrencyError`` and nothing
          is stored; run the bulk again (with idempotency keys, the commands that had
          succeeded return their first results). A failed write (not a refusal) leaves the
          bulk unusable: its later commands raise, and its end raises that error again.
        - **The directory** is read once for each person a bulk's commands name, for each day
          they act on: a change made in the directory while the bulk runs applies to the next
          bulk (as it applies to the next command, not to one already running).
        - **Size**: a bulk holds its writes (and, on SQLite and PostgreSQL, its transaction's
          lock) until it ends; a few thousand commands a bulk keeps both small.

        A bulk inside a bulk joins the outer one.

        Yields:
            The :class:`~perfcore.services._runner.Bulk`: how many commands were accepted
            (``commands``) and refused (``refused``), and the events recorded (``events``).
        """
        with self._runner.bulk() as bulk:
            yield bulk

    def deliver_notifications(self, limit: int = 100) -> Delivery:
        """Hand up to ``limit`` pending notifications to the notifier, oldest first.

        Each is marked delivered only after the notifier returned, so a crash in between means
        it is handed over again later: delivery is at least once, and the notifier drops
        duplicates by :attr:`~perfcore.ports.Notification.id`. One that raises stays pending;
        the others still go.

        A notification whose kind has a handler of its own
        (:meth:`Notifications.with_handlers`) goes to that handler; the others to the notifier.

        Raises:
            ValidationError: neither a notifier nor any handler was given, or ``limit`` is not
                a whole number from 1 to the limits' ``page`` (:mod:`perfcore.limits`).
        """
        check_page("limit", limit)
        table = self._runner.notifications
        if self.notifier is None and not table.handlers:
            raise ValidationError("notifier", "Perfcore was made without a notifier")
        batch = self._runner.read(lambda uow: list(uow.outbox.pending(limit)))
        delivered: list[str] = []
        failed: dict[str, str] = {}
        for notification in batch:
            notifier = table.handler_for(notification.kind, self.notifier)
            if notifier is None:
                failed[notification.id] = f"no handler for {notification.kind} and no notifier"
                continue
            try:
                notifier.notify(notification)
            except Exception as error:  # the caller's code: any failure means "try again"
                failed[notification.id] = f"{type(error).__name__}: {error}"
                continue
            self._mark_delivered(notification.id)
            delivered.append(notification.id)
        return Delivery(delivered=tuple(delivered), failed=failed)

    def _mark_delivered(self, notification_id: str) -> None:
        with self.store.unit_of_work() as uow:
            uow.outbox.mark_delivered(notification_id, self._runner.clock.now())
            uow.commit()

    def verify_audit_log(
        self, *, checkpoint: audit.AuditCheckpoint | None = None, replay: bool = True
    ) -> audit.AuditReport:
        """Prove the stored state against the events: every stream's hash chain, every snapshot
        and every object the store returns equal to the replay of its events (unless
        ``replay=False``), and the seals over the global order. A ``checkpoint`` (the
        :attr:`~perfcore.audit.AuditReport.checkpoint` of an earlier report, kept outside the
        database) must still hold. See :func:`perfcore.audit.verify_store`."""
        if checkpoint is not None:
            check_instance("checkpoint", checkpoint, audit.AuditCheckpoint)
        check_flag("replay", replay)
        return audit.verify_store(
            self.store, key=self._runner.audit_key, checkpoint=checkpoint, replay=replay
        )

    def seal_audit_log(self) -> int:
        """Seal every committed event that no seal covers yet; return how many seals were
        added. The services seal on their own every ``seal_every`` events; call this on a
        schedule too (say, nightly), and keep the last report's checkpoint outside the
        database."""
        return self._runner.seal()

    def _person_command(self, actor: Actor, trigger: str, person_id: str, reason: str) -> Command:
        """What a rule of its own for ``("Person", trigger)`` sees of the act."""
        return Command(
            trigger=trigger,
            actor=actor,
            at=self._runner.clock.now(),
            reason=reason if isinstance(reason, str) else "",
            args={"person_id": person_id},
            policy=self.policy,
        )

    def history(self, kind: str, id: str, *, by: Actor | str) -> tuple[Event, ...]:
        """Every event of one object, oldest first, read from the store, for a reader the
        policy's ``(kind, "history")`` rule admits (see :mod:`perfcore.reading`: whoever may
        read the object, but for an evaluation only its evaluator and HR).

        Raises:
            NotFound: nothing of type ``kind`` is stored under ``id`` that ``by`` may read.
            PermissionDenied: ``by`` may read the object but not its history (the subject of
                an evaluation).
        """
        kinds = stored_kinds()
        if not isinstance(kind, str) or kind not in kinds:
            raise ValidationError("kind", f"must be one of {', '.join(kinds)}")
        check_id("id", id)
        reader = self._runner.reader(by)

        def work(repositories: Repositories) -> tuple[Event, ...]:
            obj = repositories.of(kind).find(id)
            if obj is None or not self.policy.may_read(reader, kind, obj):
                raise NotFound(kind, id, reader.id)
            self.policy.authorize(reader, kind, obj, HISTORY)
            return history_of(repositories.streams.uow, kind, id)

        return self._runner.read(work)

    def erase_person(
        self, person_id: str, *, by: Actor | str, reason: str
    ) -> erasure.ErasureReport:
        """Erase a person's personal data on request: the content of every event of every
        object about them (the why and what of each change) is replaced by its digest, and
        their snapshots are dropped; who did what when stays, and the log still verifies. The
        erasure itself is recorded. HR only (the policy's ``("Person", "erase")`` rule).

        Raises:
            PermissionDenied: ``by`` may not erase personal data.
            ValidationError: the reason is blank.
        """
        actor = self._runner.reader(by)
        check_id("person_id", person_id)
        self.policy.authorize(
            actor, "Person", None, "erase", self._person_command(actor, "erase", person_id, reason)
        )
        if not check_text("reason", reason).strip():
            raise ValidationError("reason", "say why the data is erased (the request)")
        with self.store.unit_of_work() as uow:
            report = erasure.erase_person(
                uow,
                person_id,
                by=actor.id,
                at=self._runner.clock.now(),
                reason=reason,
                key=self._runner.audit_key,
            )
            uow.commit()
        for kind, id in report.streams:
            self._runner.cache.forget(kind, id)
        return report

    def export_person(self, person_id: str, *, by: Actor | str) -> dict[str, Any]:
        """Everything stored about one person, as JSON data (a subject-access request): every
        object about them with its events, and every event they fired. Reads the whole log
        once. HR only (the policy's ``("Person", "export")`` rule)."""
        actor = self._runner.reader(by)
        check_id("person_id", person_id)
        self.policy.authorize(
            actor, "Person", None, "export", self._person_command(actor, "export", person_id, "")
        )
        with self.store.unit_of_work() as uow:
            return erasure.export_person(uow, person_id)


def _service_classes() -> dict[str, type[AggregateService[Any, Any]]]:
    """The service class of each attribute of :class:`Perfcore` declared with one."""
    hints = typing.get_type_hints(Perfcore)
    return {
        name: hint
        for name, hint in hints.items()
        if isinstance(hint, type) and issubclass(hint, AggregateService)
    }


def service_names() -> dict[str, str]:
    """Each aggregate type's service: the attribute of :class:`Perfcore` that holds it.

    >>> service_names()["ReviewCycle"]
    'cycles'
    """
    return {lifecycle_of(service.kind).name: name for name, service in _service_classes().items()}
