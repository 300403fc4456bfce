"""``st.from_type`` for every public perfcore type: one registration per type, at import."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from perfcore import cycle_status, evaluation, goal, job_description, note, plan, survey
from perfcore._aggregate import Aggregate
from perfcore.actor import Actor, Role
from perfcore.audit import AuditCheckpoint, AuditReport
from perfcore.directory import Person, Placement
from perfcore.events import Event
from perfcore.lifecycle import Command, Guard, Lifecycle, Step, lifecycle_of, registered_types
from perfcore.policy import (
    DEFAULT_POLICY,
    EndorsementPolicy,
    EvaluationPolicy,
    Policy,
    ScoreWeights,
)
from perfcore.ports import Notification, RecordedEvent, Snapshot, StreamHead
from perfcore.records import Acknowledgement
from perfcore.review_cycle import ReviewCycle
from perfcore.rules import Rule
from perfcore.testing.strategies import _common
from perfcore.testing.strategies import audit as audit_
from perfcore.testing.strategies import evaluation as evaluation_
from perfcore.testing.strategies import goal as goal_
from perfcore.testing.strategies import job_description as job_description_
from perfcore.testing.strategies import lifecycle as lifecycle_
from perfcore.testing.strategies import note as note_
from perfcore.testing.strategies import plan as plan_
from perfcore.testing.strategies import policy as policy_
from perfcore.testing.strategies import review_cycle as review_cycle_
from perfcore.testing.strategies import survey as survey_
from perfcore.testing.strategies.aggregates import aggregates, events
from perfcore.testing.strategies.records import acknowledgements
from perfcore.visibility import ReviewerView, SubjectView


@st.composite
def _persons(draw: st.DrawFn, person_id: str | None = None) -> Person:
    id = person_id if person_id is not None else draw(_common.people(), label="person")
    return Person(
        id=id,
        manager_id=draw(st.none() | _common.people(exclude={id}), label="manager"),
        department=draw(st.none() | st.sampled_from(_common.DEPARTMENTS), label="department"),
        roles=draw(st.sets(st.sampled_from(list(Role)), min_size=1), label="roles"),
    )


@st.composite
def _placements(draw: st.DrawFn) -> Placement:
    id = draw(_common.people(), label="person")
    left = draw(st.booleans(), label="left")
    return Placement(
        effective=draw(_common.dates(), label="effective"),
        person_id=id,
        person=None if left else draw(_persons(id)),
    )


@st.composite
def _commands(draw: st.DrawFn) -> Command:
    """What a guard or a rule sees of a command: one of a lifecycle's triggers, fired by
    someone, at an aware time, with a reason, under the default policy."""
    kind = draw(
        st.sampled_from(
            sorted(lifecycle.name for lifecycle in map(lifecycle_of, registered_types()))
        )
    )
    return Command(
        trigger=draw(st.sampled_from(lifecycle_of(kind).triggers), label="trigger"),
        actor=draw(_common.actors(), label="actor"),
        at=draw(_common.aware_datetimes(), label="at"),
        reason=draw(_common.reasons(), label="reason"),
        args={},
        policy=DEFAULT_POLICY,
    )


def strategies_by_type() -> dict[type[Any], st.SearchStrategy[Any]]:
    """The strategy ``st.from_type`` uses for each public type."""
    return {
        Actor: _common.actors(),
        Person: _persons(),
        Placement: _placements(),
        Aggregate: aggregates(),
        Event: events(),
        Acknowledgement: acknowledgements(),
        # goals
        goal.Goal: goal_.goals(),
        goal.CheckIn: goal_.check_ins(),
        # job descriptions
        job_description.JobDescription: job_description_.job_descriptions(),
        job_description.Criterion: job_description_.criteria(),
        job_description.FeedbackResponse: job_description_.feedback_responses(),
        # plans
        plan.Plan: plan_.plans(),
        plan.Objective: plan_.objectives(),
        plan.Support: plan_.supports(),
        plan.Approver: plan_.approvers(),
        plan.ReviewNote: plan_.review_notes(),
        plan.Attainment: plan_.attainments(),
        # evaluations
        evaluation.Evaluation: evaluation_.evaluations(),
        evaluation.RatingScale: evaluation_.rating_scales(),
        evaluation.Rating: evaluation_.ratings(),
        evaluation.CriterionSnapshot: evaluation_.criterion_snapshots(),
        evaluation.FeedbackRequest: evaluation_.feedback_requests(),
        evaluation.ReviewerFeedback: evaluation_.reviewer_feedback(),
        evaluation.FeedbackDecline: evaluation_.feedback_declines(),
        evaluation.FeedbackWaiver: evaluation_.feedback_waivers(),
        evaluation.CalibrationNote: evaluation_.calibration_notes(),
        evaluation.Dispute: evaluation_.disputes(),
        evaluation.Resolution: evaluation_.resolutions(),
        evaluation.LinkedPlan: evaluation_.linked_plans(),
        evaluation.SafetyShortfall: evaluation_.safety_shortfalls(),
        # review cycles
        ReviewCycle: review_cycle_.review_cycles(),
        cycle_status.Participant: review_cycle_.participants(),
        cycle_status.JobDescriptionRef: review_cycle_.job_description_refs(),
        cycle_status.EvaluationRef: review_cycle_.evaluation_refs(),
        cycle_status.PlanRef: review_cycle_.plan_refs(),
        cycle_status.GoalRef: review_cycle_.goal_refs(),
        cycle_status.ParticipantStatus: review_cycle_.participant_statuses(),
        cycle_status.CycleStatus: review_cycle_.cycle_statuses(),
        cycle_status.Blocker: review_cycle_.blockers(),
        cycle_status.GoalCounts: review_cycle_.goal_counts(),
        cycle_status.StageProgress: review_cycle_.stage_progress(),
        cycle_status.ParticipantProgress: review_cycle_.participant_progress(),
        cycle_status.ProgressReport: review_cycle_.progress_reports(),
        # surveys and notes
        survey.Survey: survey_.surveys(),
        survey.Question: survey_.questions().map(lambda asked: asked[0]),
        survey.Reply: survey_.replies().map(lambda given: given[0]),
        survey.Ballot: survey_.ballots(),
        survey.SurveyResults: survey_.survey_results(),
        survey.QuestionResult: survey_.survey_results().map(lambda found: found.questions[0]),
        note.Note: note_.notes(),
        # policies and tables
        Policy: policy_.policies(),
        EndorsementPolicy: policy_.endorsement_policies(),
        EvaluationPolicy: policy_.evaluation_policies(),
        ScoreWeights: policy_.score_weights(),
        Rule: policy_.rules(),
        Command: _commands(),
        SubjectView: evaluation_.subject_views(),
        ReviewerView: evaluation_.reviewer_views(),
        Lifecycle: lifecycle_.lifecycles(),
        Step: lifecycle_.steps(),
        Guard: lifecycle_.guards(),
        # storage
        RecordedEvent: audit_.recorded_events(),
        StreamHead: audit_.stream_heads(),
        Snapshot: audit_.snapshots(),
        AuditCheckpoint: audit_.audit_checkpoints(),
        AuditReport: audit_.audit_reports(),
        Notification: audit_.notifications(),
    }


def register_types() -> None:
    """Register every strategy of :func:`strategies_by_type` (again, harmlessly, if repeated)."""
    for kind, strategy in strategies_by_type().items():
        st.register_type_strategy(kind, strategy)
