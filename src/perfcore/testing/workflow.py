"""Workflow invariants: a hypothesis state machine that runs random commands through the services.

:class:`WorkflowMachine` drives :class:`~perfcore.services.Perfcore` over a store through random
commands by random actors, across every lifecycle (job descriptions, goals, plans, evaluations and
review cycles), with idempotency keys, repeated requests and notification hand-offs, and checks
after every step that:

- every object is in one of its lifecycle's states, reached only by transitions in its table;
- an accepted command moves each object it changes on by exactly one version and logs exactly
  their new events; a refused command changes nothing anywhere (the whole store is compared);
- every stored object equals the replay of its history; the audit log verifies and holds exactly
  the accepted commands' events, in order;
- no author approved their own plan, no owner their own goal, no subject reviewed themselves;
  a published job description had its endorsement; an attained plan had every goal achieved; a
  finalized evaluation had evidence for every criterion and no unresolved divergence;
- what a subject can see never names a reviewer, nor shows a feedback group below the threshold;
- no notification is lost.

Run it against your store and policy in three lines::

    class TestMyWorkflow(WorkflowMachine):
        make_store = staticmethod(lambda: MyStore(...))   # a new, empty store each time
        policy = MY_POLICY

    TestWorkflow = TestMyWorkflow.TestCase

Add invariants of your own with ``@invariant()`` methods on the subclass; read the store through
:attr:`WorkflowMachine.snapshot`. The run's size follows the hypothesis profile in force (see
:meth:`WorkflowMachine.workflow_settings`); ``@settings(...)`` on the subclass replaces it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.adapters.memory import MemoryStore
from perfcore.evaluation import Evaluation
from perfcore.events import Event
from perfcore.job_description import JobDescription
from perfcore.plan import Plan
from perfcore.policy import DEFAULT_POLICY, Policy
from perfcore.ports import Notification, Store
from perfcore.services import Delivery, Perfcore
from perfcore.testing._fakes import CountingIds, SteppingClock
from perfcore.testing._workflow import checks, steps
from perfcore.testing._workflow.arguments import ARGUMENTS, SETBACKS
from perfcore.testing._workflow.calls import SERVICES, Call, Outcome
from perfcore.testing._workflow.creations import CREATIONS
from perfcore.testing._workflow.snapshot import ObjectKey, Snapshot, take
from perfcore.testing._workflow.story import story
from perfcore.testing._workflow.world import World, lean, mostly

__all__ = [
    "CAST",
    "Call",
    "CountingIds",
    "Outcome",
    "Snapshot",
    "SteppingClock",
    "WorkflowMachine",
    "memory_store",
]

#: The people of a workflow: employees, managers, HR (one of them also an employee, who may be
#: evaluated), and approvers of the "people" department (one of them also a manager, who may
#: write the plans they could approve).
CAST = (
    Actor(id="ana"),
    Actor(id="bo"),
    Actor(id="cy"),
    Actor(id="ben", roles={"employee", "manager"}),
    Actor(id="mia", roles={"employee", "manager"}),
    Actor(id="hana", roles={"hr"}),
    Actor(id="ivy", roles={"employee", "hr"}),
    Actor(id="cleo", roles={"employee", "approver"}, department="people"),
    Actor(id="dan", roles={"employee", "manager", "approver"}, department="people"),
)

#: Whether a command carries an idempotency key: none, a new one, or one already taken (by a
#: command of another kind, which must be refused).
KEYS = st.sampled_from(("",) * 12 + ("new", "new", "new", "taken"))
#: Whether to work on an existing object (mostly) rather than create one.
EXISTING = st.sampled_from((True, True, True, True, False))
#: How many notifications one hand-off offers.
HAND_OFF = 3


def memory_store() -> Store:
    """A new :class:`~perfcore.adapters.memory.MemoryStore`, the default store and reference.

    .. versionadded:: 0.1.0
    """
    # MemoryStore keeps the Store protocol, but mypy reads the protocol's repository
    # attributes as invariant; the cast says what the conformance suite proves.
    return MemoryStore()


class _Mailbox:
    """A notifier that keeps what it is handed and refuses the ids in ``failing``."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.handed: list[str] = []

    def notify(self, notification: Notification) -> None:
        self.handed.append(notification.id)
        if notification.id in self.failing:
            raise ConnectionError("the mail server is down")


class _ProfileSettings:
    """A TestCase's ``settings``, worked out when the test runs rather than when the class is
    made: a test module may be imported before its conftest loads the hypothesis profile."""

    def __init__(self, machine: type[WorkflowMachine]) -> None:
        self._machine = machine

    def __get__(self, instance: object, owner: type | None = None) -> settings:
        return self._machine.workflow_settings()


class WorkflowMachine(RuleBasedStateMachine):
    """Random commands by random actors through the services, with every invariant checked
    after every step.

    Subclass it and set the class attributes to run it against your store and policy; add
    ``@invariant()`` methods for your own rules. ``TestCase`` is the unittest class to collect.

    Attributes:
        make_store: makes a new, empty store for each run (the machine closes it).
        make_reference_store: if set, every command also runs against a store it makes, and
            the two must agree, step by step: outcomes, objects, log, outbox and keys.
        policy: the policy the services run under.
        actors: the people who act (their ids are also the owners, subjects and reviewers).
        clock_start: the time before the first command.
        clock_step: how much later each command is than the one before.
        audit_key: the services' audit key, if any.
        hand_off: how many notifications one hand-off offers.

    .. versionadded:: 0.1.0
    """

    make_store: ClassVar[Callable[[], Store]] = staticmethod(memory_store)
    make_reference_store: ClassVar[Callable[[], Store] | None] = None
    policy: ClassVar[Policy] = DEFAULT_POLICY
    actors: ClassVar[tuple[Actor, ...]] = CAST
    clock_start: ClassVar[dt.datetime] = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    clock_step: ClassVar[dt.timedelta] = dt.timedelta(hours=6)
    audit_key: ClassVar[bytes | None] = None
    hand_off: ClassVar[int] = HAND_OFF

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        setattr(cls.TestCase, "settings", _ProfileSettings(cls))  # noqa: B010 (typed as Settings)

    @classmethod
    def workflow_settings(cls) -> settings:
        """The settings a run uses: the profile in force, with a quarter of its examples (each
        is a whole workflow), 30 steps each, no deadline, and no too-slow health check.

        Override this classmethod, or decorate a subclass with ``@settings(...)``, to change
        them.
        """
        profile = settings()  # the profile in force
        return settings(
            profile,
            max_examples=max(5, profile.max_examples // 4),
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[
                *profile.suppress_health_check,
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
            ],
        )

    def __init__(self) -> None:
        super().__init__()
        machine = type(self)
        self.store = machine.make_store()
        self.mailbox = _Mailbox()
        self.clock = SteppingClock(machine.clock_start, machine.clock_step)
        self.pc = self._services(self.store, self.mailbox, self.clock)
        self.reference: Perfcore | None = None
        self.reference_mailbox = _Mailbox()
        if machine.make_reference_store is not None:
            clock = SteppingClock(machine.clock_start, machine.clock_step)
            self.reference = self._services(
                machine.make_reference_store(), self.reference_mailbox, clock
            )
        self.keys: list[str] = []
        self.logged: list[Event] = []
        self.delivered: set[str] = set()
        self.seen: set[str] = set()
        self.last_keyed: tuple[Call, Outcome] | None = None
        self._checked: dict[str, dict[ObjectKey, Aggregate]] = {}
        self.snapshot: Snapshot = take(self.store, self.keys)

    def _services(self, store: Store, mailbox: _Mailbox, clock: SteppingClock) -> Perfcore:
        machine = type(self)
        return Perfcore(
            store,
            clock=clock,
            ids=CountingIds(),
            policy=machine.policy,
            notifier=mailbox,
            audit_key=machine.audit_key,
        )

    def teardown(self) -> None:
        """Close the stores."""
        self.pc.store.close()
        if self.reference is not None:
            self.reference.store.close()

    # -- running one command ----------------------------------------------------------------------

    def world(self) -> World:
        """What the next command is drawn against."""
        return World(
            today=self.clock.peek().date(),
            actors=type(self).actors,
            policy=type(self).policy,
            snapshot=self.snapshot,
        )

    def execute(self, call: Call) -> Outcome:
        """Run ``call`` (on the reference too, if there is one) and check what it changed.

        Raises:
            AssertionError: the store and the reference disagree, a refused command changed
                something, or an accepted one changed more (or less) than it should.
        """
        key = call.idempotency_key
        if key is not None and key not in self.keys:
            self.keys.append(key)
        before = self.snapshot
        outcome = self._run(call)
        after = take(self.store, self.keys)
        if outcome.accepted:
            self.logged += steps.check_accepted(call, outcome, before, after)
            if key is not None:
                self.last_keyed = (call, outcome)
        else:
            steps.check_refused(call, outcome, before, after)
        self.snapshot = after
        return outcome

    def _run(self, call: Call) -> Outcome:
        outcome = Outcome.of(call, self.pc)
        if self.reference is not None:
            expected = Outcome.of(call, self.reference)
            assert outcome == expected, f"{call!r}: the store gave {outcome}, not {expected}"
        return outcome

    def _keyed(self, call: Call, choice: str) -> Call:
        if choice == "new":
            return call.with_key(f"request-{len(self.keys) + 1}")
        if choice == "taken" and self.last_keyed is not None:
            first, _ = self.last_keyed
            if (first.service, first.method) != (call.service, call.method):
                return call.with_key(first.idempotency_key or "")
        return call

    def _has(self, name: str) -> bool:
        return any(kind == name for kind, _ in self.snapshot.objects)

    def _command(self, call: Call, choice: str) -> None:
        keyed = self._keyed(call, choice)
        outcome = self.execute(keyed)
        if keyed.idempotency_key and choice == "taken" and keyed is not call:
            assert outcome.refusal.startswith("IdempotencyConflict"), (
                f"{keyed!r} reused a key taken by another command, and got {outcome}"
            )

    def _work_on(self, data: st.DataObject, name: str, choice: str) -> None:
        world = self.world()
        if not world.objects(name) or not data.draw(EXISTING, label="existing?"):
            call = data.draw(CREATIONS[name](world), label="call")
        else:
            call = self._fire(data, world, name)
        self._command(call, choice)

    def _fire(self, data: st.DataObject, world: World, name: str) -> Call:
        objects = world.objects(name)
        live = [o for o in objects if type(o).lifecycle.triggers_from(str(o.state))]
        obj = data.draw(lean(live, objects), label="object")
        available = sorted(ARGUMENTS[name])
        trigger = data.draw(world.triggers(obj, available, SETBACKS), label="trigger")
        arguments = data.draw(ARGUMENTS[name][trigger](world, obj), label="arguments")
        by = data.draw(world.actor(name, obj, trigger), label="by")
        return Call(SERVICES[name], trigger, obj.id, {"by": by, **arguments})

    # -- rules ------------------------------------------------------------------------------------

    def story(self) -> list[Call]:
        """The calls every run starts with, some or all of them: by default one review cycle
        told to its end through every lifecycle (see ``perfcore.testing._workflow.story``),
        so that random commands start from objects deep in their lifecycles.

        Override it to tell your own story; return ``[]`` for none. The default needs the
        people of :data:`CAST`, and tells nothing without them.
        """
        people = {actor.id: actor for actor in type(self).actors}
        if not {actor.id for actor in CAST} <= set(people):
            return []
        return story(people, self.world().today)

    @initialize(data=st.data())
    def tell_the_story(self, data: st.DataObject) -> None:
        """Run the first calls of :meth:`story` (mostly all of them)."""
        calls = self.story()
        whole = st.just(len(calls))
        length = data.draw(mostly(whole, st.integers(0, len(calls))), label="story length")
        for call in calls[:length]:
            self.execute(call)

    @rule(data=st.data(), key=KEYS)
    def work_on_goals(self, data: st.DataObject, key: str) -> None:
        """Create a goal, or fire any goal command on any goal, by anyone."""
        self._work_on(data, "Goal", key)

    @rule(data=st.data(), key=KEYS)
    def work_on_job_descriptions(self, data: st.DataObject, key: str) -> None:
        """Create a job description, or fire any of its commands."""
        self._work_on(data, "JobDescription", key)

    @rule(data=st.data(), key=KEYS)
    def work_on_plans(self, data: st.DataObject, key: str) -> None:
        """Create a plan, or fire any of its commands (attaining one reads its goals)."""
        self._work_on(data, "Plan", key)

    @rule(data=st.data(), key=KEYS)
    def work_on_evaluations(self, data: st.DataObject, key: str) -> None:
        """Create an evaluation, or fire any of its commands."""
        self._work_on(data, "Evaluation", key)

    @rule(data=st.data(), key=KEYS)
    def work_on_review_cycles(self, data: st.DataObject, key: str) -> None:
        """Create a review cycle, or fire any of its commands (each stage's advance reads the
        participants' work from storage)."""
        self._work_on(data, "ReviewCycle", key)

    @precondition(lambda self: self._has("ReviewCycle"))
    @rule(data=st.data())
    def advance_a_cycle(self, data: st.DataObject) -> None:
        """Move a cycle to its next stage, whichever that is."""
        world = self.world()
        cycle = data.draw(st.sampled_from(world.objects("ReviewCycle")), label="cycle")
        by = data.draw(world.actor("ReviewCycle", cycle, "start"), label="by")
        self.execute(Call("cycles", "advance", cycle.id, {"by": by, "reason": ""}))

    @precondition(lambda self: self._has("JobDescription"))
    @rule(data=st.data())
    def draft_a_new_version(self, data: st.DataObject) -> None:
        """Draft the next number of a job description's lineage."""
        world = self.world()
        descriptions = world.objects("JobDescription")
        newest = {jd.lineage_id: jd for jd in sorted(descriptions, key=lambda jd: jd.number)}
        source = data.draw(lean(list(newest.values()), descriptions), label="source")
        by = data.draw(world.actor("JobDescription", source, "create"), label="by")
        self.execute(Call("job_descriptions", "new_version", source.id, {"by": by}))

    @precondition(lambda self: self.last_keyed is not None)
    @rule()
    def repeat_the_last_keyed_request(self) -> None:
        """Send the last accepted request with an idempotency key again: the same answer, and
        nothing changes."""
        assert self.last_keyed is not None
        call, first = self.last_keyed
        before = self.snapshot
        again = self._run(call)
        after = take(self.store, self.keys)
        steps.check_repeated(call, first, again, before, after)
        self.snapshot = after

    @precondition(lambda self: bool(self.snapshot.pending))
    @rule(fail_first=st.booleans())
    def deliver_notifications(self, fail_first: bool) -> None:
        """Hand pending notifications over; the first one's hand-off may fail."""
        before = self.snapshot
        failing = {before.pending[0].id} if fail_first else set()
        delivery = self._deliver(self.pc, self.mailbox, failing)
        if self.reference is not None:
            expected = self._deliver(self.reference, self.reference_mailbox, failing)
            assert delivery == expected, f"the store delivered {delivery}, not {expected}"
        after = take(self.store, self.keys)
        steps.check_delivery(delivery, type(self).hand_off, before, after)
        self.delivered |= set(delivery.delivered)
        self.snapshot = after

    def _deliver(self, pc: Perfcore, mailbox: _Mailbox, failing: set[str]) -> Delivery:
        mailbox.failing = failing
        return pc.deliver_notifications(limit=type(self).hand_off)

    # -- invariants -------------------------------------------------------------------------------

    def _changed(self, check: str, kind: type[Any] = Aggregate) -> list[Any]:
        """The stored objects of ``kind`` that ``check`` has not yet passed as they are now:
        objects are values, so one that passed a check and has not changed still passes it."""
        passed = self._checked.setdefault(check, {})
        fresh = []
        for key, obj in self.snapshot.objects.items():
            if isinstance(obj, kind) and passed.get(key) != obj:
                fresh.append(obj)
                passed[key] = obj
        return fresh

    @invariant()
    def states_are_reached_only_through_the_table(self) -> None:
        """Every object's state is one of its lifecycle's, reached by transitions in its table."""
        for obj in self._changed("lifecycle"):
            checks.check_lifecycle(obj)

    @invariant()
    def stored_objects_replay_their_history(self) -> None:
        """Every stored object equals the replay of its history."""
        for obj in self._changed("replay"):
            checks.check_replay(obj)

    @invariant()
    def audit_log_verifies_and_holds_the_accepted_commands(self) -> None:
        """The log verifies, and holds exactly the accepted commands' events, in order."""
        report = self.pc.verify_audit_log()
        assert report.intact, f"the audit log does not verify: {report.detail}"
        logged = list(self.snapshot.audit)
        assert logged == self.logged, "the audit log is not the accepted commands, in order"

    @invariant()
    def duties_are_segregated(self) -> None:
        """No author approved their own plan, no owner their goal, no subject reviewed
        themselves."""
        checks.check_segregation(self.snapshot.objects)

    @invariant()
    def published_job_descriptions_were_endorsed(self) -> None:
        """A published job description had its endorsement."""
        for jd in self._changed("endorsement", JobDescription):
            checks.check_endorsement(jd, type(self).policy)

    @invariant()
    def attained_plans_had_every_goal_achieved(self) -> None:
        """An attained plan had every goal achieved."""
        for plan in self.snapshot.of_type(Plan):
            checks.check_attainment(plan, self.snapshot.objects)

    @invariant()
    def finalized_evaluations_rested_on_evidence(self) -> None:
        """A finalized evaluation had evidence for every criterion and no unresolved
        divergence."""
        for ev in self._changed("finalization", Evaluation):
            checks.check_finalization(ev, type(self).policy)

    @invariant()
    def subjects_see_no_reviewer_and_no_small_group(self) -> None:
        """What a subject can see never names a reviewer or shows a group below the
        threshold."""
        for ev in self._changed("visibility", Evaluation):
            checks.check_subject_view(ev, type(self).policy)

    @invariant()
    def one_number_of_a_lineage_is_published(self) -> None:
        """At most one number of a job description's lineage is published at a time."""
        checks.check_one_published(self.snapshot.of_type(JobDescription))

    @invariant()
    def no_notification_is_lost(self) -> None:
        """Every notification ever pending is still pending or was delivered."""
        pending = {notification.id for notification in self.snapshot.pending}
        self.seen |= pending
        lost = self.seen - pending - self.delivered
        assert not lost, f"notifications {sorted(lost)} were neither delivered nor kept"

    @invariant()
    def the_store_agrees_with_the_reference(self) -> None:
        """With a reference store, both hold the same objects, log, outbox and keys."""
        if self.reference is None:
            return
        expected = take(self.reference.store, self.keys)
        assert self.snapshot.objects == expected.objects, "the stored objects differ"
        assert self.snapshot.audit == expected.audit, "the audit logs differ"
        assert self.snapshot.pending == expected.pending, "the outboxes differ"
        assert self.snapshot.keys == expected.keys, "the idempotency keys differ"


setattr(WorkflowMachine.TestCase, "settings", _ProfileSettings(WorkflowMachine))  # noqa: B010
