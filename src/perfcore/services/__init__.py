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

from collections.abc import Mapping

import attrs

from perfcore._aggregate import Aggregate
from perfcore.audit import AuditAnchor, AuditReport, verify_audit_log
from perfcore.errors import IdempotencyConflict, ValidationError
from perfcore.lifecycle import lifecycle_of, registered_types
from perfcore.policy import DEFAULT_POLICY, Policy
from perfcore.ports import (
    AuditEntry,
    Clock,
    IdFactory,
    Notifier,
    Store,
    SystemClock,
    UnitOfWork,
    UuidIds,
)
from perfcore.services._notifications import NOTIFICATIONS, NotificationRule
from perfcore.services._runner import REPOSITORIES, Runner, repository
from perfcore.services.cycles import CycleService
from perfcore.services.evaluations import EvaluationService
from perfcore.services.goals import GoalService
from perfcore.services.job_descriptions import JobDescriptionService
from perfcore.services.plans import PlanService
from perfcore.services.queries import GoalStatus, PlanReview, Queries

__all__ = [
    "NOTIFICATIONS",
    "CycleService",
    "Delivery",
    "EvaluationService",
    "GoalService",
    "GoalStatus",
    "IdempotencyConflict",
    "JobDescriptionService",
    "NotificationRule",
    "Perfcore",
    "PlanReview",
    "PlanService",
    "Queries",
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


class Perfcore:
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
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        ids: IdFactory | None = None,
        policy: Policy = DEFAULT_POLICY,
        notifier: Notifier | None = None,
        audit_key: bytes | None = None,
    ) -> None:
        if audit_key is not None and (not isinstance(audit_key, bytes) or not audit_key):
            raise ValidationError("audit_key", "must be non-empty bytes or None")
        self.store = store
        self.notifier = notifier
        self._runner = Runner(
            store=store,
            clock=clock if clock is not None else SystemClock(),
            ids=ids if ids is not None else UuidIds(),
            policy=policy,
            audit_key=audit_key,
        )
        self.goals = GoalService(self._runner)
        self.job_descriptions = JobDescriptionService(self._runner)
        self.plans = PlanService(self._runner)
        self.evaluations = EvaluationService(self._runner)
        self.cycles = CycleService(self._runner)
        self.queries = Queries(self._runner)

    @property
    def policy(self) -> Policy:
        """The policy every command runs under."""
        return self._runner.policy

    def deliver_notifications(self, limit: int = 100) -> Delivery:
        """Hand up to ``limit`` pending notifications to the notifier, oldest first.

        Each is marked delivered only after the notifier returned, so a crash in between means
        it is handed over again later: delivery is at least once, and the notifier drops
        duplicates by :attr:`~perfcore.ports.Notification.id`. One that raises stays pending;
        the others still go.

        Raises:
            ValidationError: no notifier was given.
        """
        notifier = self.notifier
        if notifier is None:
            raise ValidationError("notifier", "Perfcore was made without a notifier")
        batch = self._runner.read(lambda uow: list(uow.outbox.pending(limit)))
        delivered: list[str] = []
        failed: dict[str, str] = {}
        for notification in batch:
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

    def verify_audit_log(self, *, checkpoint: AuditEntry | None = None) -> AuditReport:
        """Check the audit log against itself and against the stored objects.

        Every event of every stored object must be in the log, in order, as the object's own
        history holds it: this is what shows a cut-off tail. A ``checkpoint`` (say, the
        :attr:`~perfcore.audit.AuditReport.last` entry of an earlier report, kept outside the
        database) must still be there, unchanged.
        """

        def work(uow: UnitOfWork) -> AuditReport:
            # The objects first: whatever is committed after this only lengthens the log.
            anchor = AuditAnchor.of(_every_object(uow))
            if checkpoint is not None:
                anchor = anchor.with_checkpoint(checkpoint)
            return verify_audit_log(uow.audit.read(), self._runner.audit_key, anchor)

        return self._runner.read(work)


def _every_object(uow: UnitOfWork) -> list[Aggregate]:
    """Every stored object of every registered aggregate type."""
    found: list[Aggregate] = []
    for kind in registered_types():
        lifecycle = lifecycle_of(kind)
        if lifecycle.name not in REPOSITORIES:
            continue
        repo = repository(uow, lifecycle.name)
        for state in lifecycle.states:
            found.extend(repo.by_state(state))
    return found
