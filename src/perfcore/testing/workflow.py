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
:attr:`WorkflowMachine.snapshot`. Set ``focus = "Goal"`` (or several lifecycle names) to spend
every step on one lifecycle; ``actors`` and ``ranges`` to draw with your own people, dates and
numbers. The run's size follows the hypothesis profile in force (see
:meth:`WorkflowMachine.workflow_settings`); ``@settings(...)`` on the subclass replaces it.

A failing run prints one line per step, the call it made::

    state.work_on_goals(call=pc.goals.approve('goal-1', by=ana, reason=''))

Its assertions say what broke in words of their own; pytest is asked not to rewrite them
(PYTEST_DONT_REWRITE), so that a failing run prints the same few lines under pytest as anywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from typing import Any, ClassVar

from hypothesis import HealthCheck, Phase, settings
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
from perfcore.survey import Survey
from perfcore.testing._fakes import CountingIds, SteppingClock
from perfcore.testing._workflow import checks, steps
from perfcore.testing._workflow.arguments import ARGUMENTS, SETBACKS
from perfcore.testing._workflow.calls import SERVICES, Call, Outcome
from perfcore.testing._workflow.creations import CREATIONS
from perfcore.testing._workflow.snapshot import ObjectKey, Reader, Snapshot
from perfcore.testing._workflow.story import NEEDS, story
from perfcore.testing._workflow.world import World, lean, pick
from perfcore.testing.strategies._common import Ranges

__all__ = [
    "CAST",
    "Call",
    "CountingIds",
    "LIFECYCLES",
    "Outcome",
    "Ranges",
    "Snapshot",
    "SteppingClock",
    "StoryCalls",
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
#: The lifecycles the machine works on, which ``focus`` may name.
LIFECYCLES = tuple(NEEDS)


class StoryCalls(tuple[Call, ...]):
    """The calls of the story a run tells, printed one to a line in a failing run."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        with printer.group(1, "[", "]"):
            for number, call in enumerate(self):
                if number:
                    printer.text(",")
                    printer.breakable()
                printer.text(repr(call))


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
        focus: a lifecycle name (``"Goal"``), or several, to spend every step on: the other
            lifecycles' rules are left out, and so is every part of the story those lifecycles
            do not need. ``None`` (the default): all of them.
        ranges: how far the dates and numbers of the calls range (see
            :class:`~perfcore.testing.strategies.Ranges`): how many days from today a goal's
            start and due day, a check-in, a plan's end and an evaluation's period end may be,
            and the range of a goal's baseline, target and check-ins.

    Commands go only to objects some transition leaves: one in a final state (an achieved
    goal, a closed plan) is left alone, since every command on it is refused for that alone.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``focus`` and ``ranges``; one invariant step checks them all.
    """

    make_store: ClassVar[Callable[[], Store]] = staticmethod(memory_store)
    make_reference_store: ClassVar[Callable[[], Store] | None] = None
    policy: ClassVar[Policy] = DEFAULT_POLICY
    actors: ClassVar[tuple[Actor, ...]] = CAST
    clock_start: ClassVar[dt.datetime] = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    clock_step: ClassVar[dt.timedelta] = dt.timedelta(hours=6)
    audit_key: ClassVar[bytes | None] = None
    hand_off: ClassVar[int] = HAND_OFF
    focus: ClassVar[str | Collection[str] | None] = None
    ranges: ClassVar[Ranges] = Ranges()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._focused()  # an unknown name fails here, when the class is made
        setattr(cls.TestCase, "settings", _ProfileSettings(cls))  # noqa: B010 (typed as Settings)

    @classmethod
    def _focused(cls) -> frozenset[str] | None:
        """The lifecycle names of :attr:`focus` (``None``: every lifecycle)."""
        if cls.focus is None:
            return None
        names = frozenset({cls.focus} if isinstance(cls.focus, str) else cls.focus)
        unknown = names - set(LIFECYCLES)
        if unknown or not names:
            raise ValueError(f"focus={cls.focus!r}: name one or more of {LIFECYCLES}")
        return names

    def _in_focus(self, name: str) -> bool:
        focused = type(self)._focused()
        return focused is None or name in focused

    @classmethod
    def workflow_settings(cls, profile: settings | None = None) -> settings:
        """The settings a run uses: those of ``profile`` (by default the profile in force),
        with a quarter of its examples but at least 10 (each is a whole workflow), 30 steps
        each, no deadline, no too-slow health check, and no explain phase (which traces every
        line of a whole workflow, again and again: seconds of every failure, to point at the
        line of the invariant that failed).

        Override this classmethod, or decorate a subclass with ``@settings(...)``, to change
        them.
        """
        profile = settings() if profile is None else profile
        return settings(
            profile,
            max_examples=max(10, profile.max_examples // 4),
            stateful_step_count=30,
            deadline=None,
            phases=[phase for phase in profile.phases if phase is not Phase.explain],
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
        self._verified: tuple[Event, ...] | None = None
        self._reader = Reader(self.store)
        self._reference_reader = None if self.reference is None else Reader(self.reference.store)
        self.snapshot: Snapshot = self.take()

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

    def take(self) -> Snapshot:
        """A snapshot of the store now (with every idempotency key the run has used)."""
        return self._reader.take(self.keys)

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
            ranges=type(self).ranges,
        )

    def execute(self, call: Call) -> Outcome:
        """Run ``call`` (on the reference too, if there is one) and check what it changed.

        Raises:
            AssertionError: the store and the reference disagree, a refused command changed
                something, or an accepted one changed more (or less) than it should.
        """
        key = call.stored_key
        if key is not None and key not in self.keys:
            self.keys.append(key)
        before = self.snapshot
        outcome = self._run(call)
        after = self.take()
        if outcome.accepted:
            self.logged += steps.check_accepted(call, outcome, before, after, type(self).policy)
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

    def _reuses_a_key(self, call: Call) -> bool:
        """Whether ``call`` carries the key of the last keyed request, a different command by
        the same person (a key is each person's own)."""
        if call.idempotency_key is None or self.last_keyed is None:
            return False
        first, _ = self.last_keyed
        return call.stored_key == first.stored_key and (first.service, first.method) != (
            call.service,
            call.method,
        )

    def _command(self, call: Call) -> None:
        reused = self._reuses_a_key(call)
        outcome = self.execute(call)
        if reused:
            assert outcome.refusal.startswith("IdempotencyConflict"), (
                f"{call!r} reused a key taken by another command, and got {outcome}"
            )

    def calls(self, name: str) -> st.SearchStrategy[Call]:
        """The next call on lifecycle ``name``: mostly a command on one of its objects that
        some transition leaves, sometimes a creation; now and then with an idempotency key."""
        return _next_call(self, name)

    def _fire(self, draw: st.DrawFn, world: World, name: str, live: list[Any]) -> Call:
        obj = pick(draw, live)
        available = sorted(ARGUMENTS[name])
        trigger = draw(world.triggers(obj, available, SETBACKS))
        arguments = draw(ARGUMENTS[name][trigger](world, obj))
        by = draw(world.actor(name, obj, trigger))
        return Call(SERVICES[name], trigger, obj.id, {"by": by, **arguments})

    # -- rules ------------------------------------------------------------------------------------

    def story(self) -> list[Call]:
        """The calls every run starts with, some or all of them: by default one review cycle
        told to its end through every lifecycle (see ``perfcore.testing._workflow.story``),
        so that random commands start from objects deep in their lifecycles; with a
        :attr:`focus`, only the parts the focused lifecycles need.

        Override it to tell your own story; return ``[]`` for none. The default needs the
        people of :data:`CAST`, and tells nothing without them.
        """
        people = {actor.id: actor for actor in type(self).actors}
        if not {actor.id for actor in CAST} <= set(people):
            return []
        return story(people, self.world().today, type(self)._focused())

    def story_prefixes(self) -> st.SearchStrategy[StoryCalls]:
        """How much of the story a run tells: mostly all of it, sometimes only its start; a
        failing run shrinks to the shortest start it needs."""
        calls = self.story()
        # One choice: a length, every length once and the whole story three times more, so that
        # three runs in four tell it all, and shrinking (to an earlier option) shortens it.
        whole = len(calls)
        lengths = [*range(whole + 1), *[whole] * (3 * (whole + 1))]
        return st.sampled_from(lengths).map(lambda length: StoryCalls(calls[:length]))

    @initialize(calls=st.runner().flatmap(lambda machine: machine.story_prefixes()))
    def tell_the_story(self, calls: list[Call]) -> None:
        """Run the first calls of :meth:`story` (printed, in a failing run, as they ran)."""
        for call in calls:
            self.execute(call)

    @precondition(lambda self: self._in_focus("Goal"))
    @rule(call=st.runner().flatmap(lambda machine: machine.calls("Goal")))
    def work_on_goals(self, call: Call) -> None:
        """Create a goal, or fire any goal command on any goal, by anyone."""
        self._command(call)

    @precondition(lambda self: self._in_focus("JobDescription"))
    @rule(call=st.runner().flatmap(lambda machine: machine.calls("JobDescription")))
    def work_on_job_descriptions(self, call: Call) -> None:
        """Create a job description, fire any of its commands, or draft the next number of a
        lineage."""
        self._command(call)

    @precondition(lambda self: self._in_focus("Plan"))
    @rule(call=st.runner().flatmap(lambda machine: machine.calls("Plan")))
    def work_on_plans(self, call: Call) -> None:
        """Create a plan, or fire any of its commands (attaining one reads its goals)."""
        self._command(call)

    @precondition(lambda self: self._in_focus("Evaluation"))
    @rule(call=st.runner().flatmap(lambda machine: machine.calls("Evaluation")))
    def work_on_evaluations(self, call: Call) -> None:
        """Create an evaluation, or fire any of its commands."""
        self._command(call)

    @precondition(lambda self: self._in_focus("ReviewCycle"))
    @rule(call=st.runner().flatmap(lambda machine: machine.calls("ReviewCycle")))
    def work_on_review_cycles(self, call: Call) -> None:
        """Create a review cycle, fire any of its commands, or move one on to its next stage,
        whichever that is (each stage's advance reads the participants' work from storage)."""
        self._command(call)

    @precondition(lambda self: self._in_focus("Survey"))
    @rule(call=st.runner().flatmap(lambda machine: machine.calls("Survey")))
    def work_on_surveys(self, call: Call) -> None:
        """Create a survey, open it to its people, answer it (the answers kept apart from who
        gave them), close it, or release its results."""
        self._command(call)

    @precondition(lambda self: self._in_focus("Note"))
    @rule(call=st.runner().flatmap(lambda machine: machine.calls("Note")))
    def work_on_notes(self, call: Call) -> None:
        """Write a note or praise about someone (or one of their goals), edit or withdraw
        one."""
        self._command(call)

    @precondition(lambda self: self.last_keyed is not None)
    @rule()
    def repeat_the_last_keyed_request(self) -> None:
        """Send the last accepted request with an idempotency key again: the same answer, and
        nothing changes."""
        assert self.last_keyed is not None
        call, first = self.last_keyed
        before = self.snapshot
        again = self._run(call)
        after = self.take()
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
        after = self.take()
        steps.check_delivery(delivery, type(self).hand_off, before, after)
        self.delivered |= set(delivery.delivered)
        self.snapshot = after

    def _deliver(self, pc: Perfcore, mailbox: _Mailbox, failing: set[str]) -> Delivery:
        mailbox.failing = failing
        return pc.deliver_notifications(limit=type(self).hand_off)

    # -- invariants -------------------------------------------------------------------------------

    @invariant()
    def every_invariant_holds(self) -> None:
        """Every workflow invariant below, in turn: one step of the run, so that a failing
        run prints one line for them after each call, not one for each."""
        for name in INVARIANTS:
            getattr(self, name)()

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

    def states_are_reached_only_through_the_table(self) -> None:
        """Every object's state is one of its lifecycle's, reached by transitions in its table."""
        for obj in self._changed("lifecycle"):
            checks.check_lifecycle(obj)

    def stored_objects_replay_their_history(self) -> None:
        """Every stored object equals the replay of its history."""
        for obj in self._changed("replay"):
            checks.check_replay(obj)

    def audit_log_verifies_and_holds_the_accepted_commands(self) -> None:
        """The log holds exactly the accepted commands' events, in order; and it verifies (the
        store is proven against it) each time it changes."""
        logged = list(self.snapshot.audit)
        assert logged == self.logged, "the audit log is not the accepted commands, in order"
        if self._verified != self.snapshot.audit:
            report = self.pc.verify_audit_log()
            assert report.intact, f"the audit log does not verify: {report.detail}"
            self._verified = self.snapshot.audit

    def duties_are_segregated(self) -> None:
        """No author approved their own plan, no owner their goal, no subject reviewed
        themselves."""
        checks.check_segregation(self.snapshot.objects)

    def published_job_descriptions_were_endorsed(self) -> None:
        """A published job description had its endorsement."""
        for jd in self._changed("endorsement", JobDescription):
            checks.check_endorsement(jd, type(self).policy)

    def attained_plans_had_every_goal_achieved(self) -> None:
        """An attained plan had every goal achieved."""
        for plan in self.snapshot.of_type(Plan):
            checks.check_attainment(plan, self.snapshot.objects)

    def finalized_evaluations_rested_on_evidence(self) -> None:
        """A finalized evaluation had evidence for every criterion and no unresolved
        divergence."""
        for ev in self._changed("finalization", Evaluation):
            checks.check_finalization(ev, type(self).policy)

    def subjects_see_no_reviewer_and_no_small_group(self) -> None:
        """What a subject can see never names a reviewer or shows a group below the
        threshold."""
        for ev in self._changed("visibility", Evaluation):
            checks.check_subject_view(ev, type(self).policy)

    def survey_answers_are_kept_apart_from_who_gave_them(self) -> None:
        """A survey's participation events carry no answer; answers come in batches of at least
        the threshold, released by the ballot box, never more than took part."""
        for survey in self._changed("anonymity", Survey):
            checks.check_survey_anonymity(survey)

    def one_number_of_a_lineage_is_published(self) -> None:
        """At most one number of a job description's lineage is published at a time."""
        checks.check_one_published(self.snapshot.of_type(JobDescription))

    def no_notification_is_lost(self) -> None:
        """Every notification ever pending is still pending or was delivered."""
        pending = {notification.id for notification in self.snapshot.pending}
        self.seen |= pending
        lost = self.seen - pending - self.delivered
        assert not lost, f"notifications {sorted(lost)} were neither delivered nor kept"

    def the_store_agrees_with_the_reference(self) -> None:
        """With a reference store, both hold the same objects, log, outbox and keys."""
        if self.reference is None:
            return
        assert self._reference_reader is not None
        expected = self._reference_reader.take(self.keys)
        assert self.snapshot.objects == expected.objects, "the stored objects differ"
        assert self.snapshot.audit == expected.audit, "the audit logs differ"
        assert self.snapshot.pending == expected.pending, "the outboxes differ"
        assert self.snapshot.keys == expected.keys, "the idempotency keys differ"


#: The machine's invariants, by method name: :meth:`WorkflowMachine.every_invariant_holds` checks
#: them in this order (override one by name to change it).
INVARIANTS = (
    "states_are_reached_only_through_the_table",
    "stored_objects_replay_their_history",
    "audit_log_verifies_and_holds_the_accepted_commands",
    "duties_are_segregated",
    "published_job_descriptions_were_endorsed",
    "attained_plans_had_every_goal_achieved",
    "finalized_evaluations_rested_on_evidence",
    "subjects_see_no_reviewer_and_no_small_group",
    "survey_answers_are_kept_apart_from_who_gave_them",
    "one_number_of_a_lineage_is_published",
    "no_notification_is_lost",
    "the_store_agrees_with_the_reference",
)


def _live(obj: Aggregate) -> bool:
    """Whether some transition leaves ``obj``'s state."""
    return bool(type(obj).lifecycle.triggers_from(str(obj.state)))


@st.composite
def _next_call(draw: st.DrawFn, machine: WorkflowMachine, name: str) -> Call:
    world = machine.world()
    objects = world.objects(name)
    live = [obj for obj in objects if _live(obj)]
    otherwise = name in _OTHERWISE and draw(_ONE_IN_FOUR) == 0
    existing: bool = bool(live) and draw(EXISTING)
    if otherwise and bool(live if name == "ReviewCycle" else objects):
        call = _OTHERWISE[name](draw, world, objects, live)
    elif existing:
        call = machine._fire(draw, world, name, live)
    else:
        call = draw(CREATIONS[name](world))
    return machine._keyed(call, draw(KEYS))


def _advance(draw: st.DrawFn, world: World, _cycles: list[Any], live: list[Any]) -> Call:
    """Move a cycle that is not over to its next stage, whichever that is."""
    cycle = pick(draw, live)
    by = draw(world.actor("ReviewCycle", cycle, "start"))
    return Call("cycles", "advance", cycle.id, {"by": by, "reason": ""})


def _new_version(draw: st.DrawFn, world: World, descriptions: list[Any], _live: list[Any]) -> Call:
    """Draft the next number of a lineage: mostly from its newest number."""
    newest = {jd.lineage_id: jd for jd in sorted(descriptions, key=lambda jd: jd.number)}
    source = draw(lean(list(newest.values()), descriptions))
    by = draw(world.actor("JobDescription", source, "create"))
    return Call("job_descriptions", "new_version", source.id, {"by": by})


_ONE_IN_FOUR = st.integers(0, 3)
#: The calls a lifecycle's rule makes one time in four, besides its commands and creations.
_OTHERWISE = {"ReviewCycle": _advance, "JobDescription": _new_version}


setattr(WorkflowMachine.TestCase, "settings", _ProfileSettings(WorkflowMachine))  # noqa: B010
