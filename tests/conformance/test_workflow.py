"""The workflow machine: an integrator's three lines run it; its story reaches every lifecycle's
far end; each invariant fails when its rule is broken; its settings follow the profile."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import invariant, run_state_machine_as_test
from tests.conformance.broken_stores import HalfCommitStore

from perfcore import Actor, Policy
from perfcore._aggregate import holding
from perfcore.evaluation import Evaluation, Rating
from perfcore.policy import EndorsementPolicy, EvaluationPolicy
from perfcore.rules import anyone
from perfcore.testing._workflow import checks, steps
from perfcore.testing.drivers import EPOCH, driver_for
from perfcore.testing.workflow import Call, Outcome, WorkflowMachine, memory_store


class MemoryWorkflow(WorkflowMachine):
    """The documented use, with an invariant of the integrator's own."""

    make_store = staticmethod(memory_store)

    @invariant()
    def every_notification_names_someone(self) -> None:
        assert all(notification.recipients for notification in self.snapshot.pending)


TestMemoryWorkflow = MemoryWorkflow.TestCase

#: Quick runs for the tests that expect a failure: nothing to shrink, nothing to remember.
QUICK = settings(max_examples=5, database=None, deadline=None, phases=[Phase.generate])

#: Every invariant of the machine, by method name.
INVARIANTS = (
    "states_are_reached_only_through_the_table",
    "stored_objects_replay_their_history",
    "audit_log_verifies_and_holds_the_accepted_commands",
    "duties_are_segregated",
    "published_job_descriptions_were_endorsed",
    "attained_plans_had_every_goal_achieved",
    "finalized_evaluations_rested_on_evidence",
    "subjects_see_no_reviewer_and_no_small_group",
    "no_notification_is_lost",
    "one_number_of_a_lineage_is_published",
    "the_store_agrees_with_the_reference",
)


def check_everything(machine: WorkflowMachine) -> None:
    for name in INVARIANTS:
        getattr(machine, name)()


def told(machine: WorkflowMachine) -> WorkflowMachine:
    """``machine`` after the whole story, each call accepted and followed by every invariant,
    as a run checks them."""
    for call in machine.story():
        outcome = machine.execute(call)
        assert outcome.accepted, (call, outcome.refusal)
        check_everything(machine)
    return machine


# -- the story -------------------------------------------------------------------------------------


def test_the_story_reaches_the_far_end_of_every_lifecycle() -> None:
    machine = told(WorkflowMachine())
    check_everything(machine)
    states = {key: str(obj.state) for key, obj in machine.snapshot.objects.items()}
    assert states == {
        ("JobDescription", "story-jd-1"): "superseded",
        ("JobDescription", "story-jd-2"): "published",
        ("Goal", "story-goal"): "achieved",
        ("ReviewCycle", "story-cycle"): "closed",
        ("Evaluation", "story-evaluation"): "finalized",
        ("Plan", "story-plan"): "attained",
    }
    assert len(machine.snapshot.pending) == 7
    machine.teardown()


def test_a_cast_without_the_storys_people_tells_no_story() -> None:
    class Strangers(WorkflowMachine):
        actors = (Actor(id="zoe", roles={"hr"}),)

    assert Strangers().story() == []


class HalfCommits(WorkflowMachine):
    """The story on a store whose commits write half: publishing number 2 of a lineage saves it,
    but not number 1 superseded."""

    make_store = staticmethod(HalfCommitStore)


def test_the_reference_catches_a_store_that_disagrees() -> None:
    class AgainstTheReference(HalfCommits):
        make_reference_store = staticmethod(memory_store)

    machine = AgainstTheReference()
    for call in machine.story():
        machine.execute(call)
    with pytest.raises(AssertionError, match="the stored objects differ"):
        machine.the_store_agrees_with_the_reference()


def test_two_published_numbers_of_a_lineage_are_caught() -> None:
    machine = HalfCommits()
    for call in machine.story():
        machine.execute(call)
    with pytest.raises(AssertionError, match="'story-jd-1' and 'story-jd-2' published"):
        machine.one_number_of_a_lineage_is_published()


# -- each invariant fails when its rule is broken -------------------------------------------------


def test_a_step_outside_the_table_is_caught() -> None:
    goal = driver_for("Goal").reach("active")
    forged = attrs.evolve(goal.history[-1], trigger="achieve", to_state="active")
    with pytest.raises(AssertionError, match="not in the table"):
        checks.check_lifecycle(holding(goal, (*goal.history[:-1], forged)))


def test_an_object_that_is_not_its_history_is_caught() -> None:
    goal = driver_for("Goal").reach("active")
    with pytest.raises(AssertionError, match="replay"):
        checks.check_replay(attrs.evolve(goal, title="Something else"))


def test_an_owner_approving_their_own_goal_is_caught() -> None:
    class Lax(WorkflowMachine):
        policy = Policy().with_rules({("Goal", "approve"): anyone})

    machine = Lax()
    ana = Actor(id="ana")
    for call in [
        Call("goals", "create", None, {
            "by": ana, "id": "g-1", "owner_id": "ana", "manager_id": "ben", "title": "t",
            "metric": "m", "baseline": 0, "target": 10, "start": EPOCH.date(),
            "due": EPOCH.date() + dt.timedelta(days=30),
        }),
        Call("goals", "propose", "g-1", {"by": ana}),
        Call("goals", "approve", "g-1", {"by": ana}),
    ]:  # fmt: skip
        assert machine.execute(call).accepted
    with pytest.raises(AssertionError, match="approved by its owner 'ana'"):
        machine.duties_are_segregated()


def test_publishing_below_the_endorsement_numbers_is_caught() -> None:
    published = driver_for("JobDescription").reach("published")  # three supporters
    stricter = Policy(endorsement=EndorsementPolicy(min_responses=4))
    checks.check_endorsement(published, Policy())
    with pytest.raises(AssertionError, match="endorsed on 3 responses"):
        checks.check_endorsement(published, stricter)


def test_attaining_a_plan_without_its_goal_is_caught() -> None:
    plan = driver_for("Plan").reach("attained")
    goal = driver_for("Goal").reach("achieved", id=plan.goal_ids[0])
    checks.check_attainment(plan, {("Goal", goal.id): goal})
    with pytest.raises(AssertionError, match="without goal"):
        checks.check_attainment(plan, {})


def _finalized_with_divergence(policy: Policy) -> Evaluation:
    """An evaluation the manager scored 5 where three peers said 1, finalised under
    ``policy`` (whose threshold lets it through)."""
    driver = driver_for("Evaluation")
    evaluation = driver.reach("manager_review")
    at, ben, hana = EPOCH + dt.timedelta(days=2), Actor(id="ben"), Actor(id="hana", roles={"hr"})
    for reviewer in ("x-1", "x-2", "x-3"):
        evaluation = evaluation.request_feedback(
            by=ben, at=at, reviewer_id=reviewer, relationship="other", policy=policy
        )
        scores = dict.fromkeys(evaluation.criterion_weights, 1)
        evaluation = evaluation.give_feedback(by=Actor(id=reviewer), at=at, scores=scores)
    ratings = [
        Rating(criterion=name, score=5, evidence="e") for name in evaluation.criterion_weights
    ]
    evaluation = evaluation.submit_manager_review(by=ben, at=at, ratings=ratings, policy=policy)
    return evaluation.finalize(by=hana, at=at, policy=policy)


def test_finalizing_over_an_unresolved_divergence_is_caught() -> None:
    lenient = Policy(evaluation=EvaluationPolicy(divergence_threshold=Decimal(4)))
    evaluation = _finalized_with_divergence(lenient)
    checks.check_finalization(evaluation, lenient)
    with pytest.raises(AssertionError, match="diverging"):
        checks.check_finalization(evaluation, Policy())


def test_a_view_that_names_a_reviewer_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    evaluation = driver_for("Evaluation").reach("finalized")
    checks.check_subject_view(evaluation, Policy())

    def leaky(self: Evaluation, actor: Actor, policy: Any = None) -> dict[str, Any]:
        return {"feedback": None, "from": [r.reviewer_id for r in self.feedback_requests]}

    monkeypatch.setattr(Evaluation, "view_for", leaky)
    with pytest.raises(AssertionError, match="shows its subject the reviewers"):
        checks.check_subject_view(evaluation, Policy())


def test_a_lost_notification_is_caught() -> None:
    machine = told(WorkflowMachine())
    machine.no_notification_is_lost()
    machine.seen.add("notification-that-vanished")
    with pytest.raises(AssertionError, match="notification-that-vanished"):
        machine.no_notification_is_lost()


def test_a_refused_command_that_changed_something_is_caught() -> None:
    machine = told(WorkflowMachine())
    before = machine.snapshot
    after = attrs.evolve(before, audit=before.audit[:-1])
    call = Call("goals", "propose", "story-goal", {"by": Actor(id="ana")})
    with pytest.raises(AssertionError, match="changed the audit log"):
        steps.check_refused(call, machine.execute(call), before, after)


def test_an_accepted_command_that_skipped_a_version_is_caught() -> None:
    machine = WorkflowMachine()
    before, call = machine.snapshot, machine.story()[0]
    result = machine.execute(call).result
    assert result is not None
    skipped = attrs.evolve(result, version=2)
    after = attrs.evolve(machine.snapshot, objects={("JobDescription", result.id): skipped})
    with pytest.raises(AssertionError, match="to version 2"):
        steps.check_accepted(call, Outcome(result=skipped), before, after)


def test_an_integrators_invariant_fails_the_run() -> None:
    class NoGoalIsApproved(WorkflowMachine):
        @invariant()
        def no_goal_is_active(self) -> None:
            goals = [obj for (kind, _), obj in self.snapshot.objects.items() if kind == "Goal"]
            assert all(str(goal.state) in {"draft", "proposed"} for goal in goals)

    with pytest.raises(AssertionError):
        run_state_machine_as_test(NoGoalIsApproved, settings=QUICK)


# -- settings --------------------------------------------------------------------------------------


def test_the_settings_follow_the_profile_in_force() -> None:
    chosen = MemoryWorkflow.TestCase.settings
    assert chosen.stateful_step_count == 30
    assert chosen.max_examples == max(5, settings().max_examples // 4)
    assert chosen.deadline is None


def test_a_subclass_may_choose_its_own_settings() -> None:
    @settings(max_examples=3, stateful_step_count=7)
    class Small(WorkflowMachine):
        pass

    chosen = Small.TestCase.settings
    assert (chosen.max_examples, chosen.stateful_step_count) == (3, 7)
