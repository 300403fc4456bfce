"""perfcore's hypothesis entry point: ``st.from_type`` knows perfcore's types from the start.

Hypothesis calls :func:`_hypothesis_setup_hook` when it is imported, in any environment perfcore
is installed in (the ``hypothesis`` entry point group). It registers, for every public perfcore
type, a function that imports :mod:`perfcore.testing.strategies` the first time hypothesis asks
for one of them, so that ``st.from_type(Goal)`` works without importing the strategies first,
and importing hypothesis costs no more than importing perfcore's types. Importing the strategies
puts each type's own strategy in place of the function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["_hypothesis_setup_hook", "public_types"]


def public_types() -> tuple[type[Any], ...]:
    """Every type ``perfcore.testing.strategies`` registers a strategy for."""
    from perfcore import cycle_status, evaluation, goal, job_description, note, plan, survey
    from perfcore._aggregate import Aggregate
    from perfcore.actor import Actor
    from perfcore.audit import AuditCheckpoint, AuditReport
    from perfcore.directory import Person, Placement
    from perfcore.events import Event
    from perfcore.lifecycle import Command, Guard, Lifecycle, Step
    from perfcore.policy import EndorsementPolicy, EvaluationPolicy, Policy, ScoreWeights
    from perfcore.ports import Notification, RecordedEvent, Snapshot, StreamHead
    from perfcore.records import Acknowledgement
    from perfcore.review_cycle import ReviewCycle
    from perfcore.rules import Rule
    from perfcore.visibility import ReviewerView, SubjectView

    return (
        Actor, Person, Placement, Aggregate, Event, Acknowledgement,
        goal.Goal, goal.CheckIn,
        job_description.JobDescription, job_description.Criterion,
        job_description.FeedbackResponse,
        plan.Plan, plan.Objective, plan.Support, plan.Approver, plan.ReviewNote, plan.Attainment,
        evaluation.Evaluation, evaluation.RatingScale, evaluation.Rating,
        evaluation.CriterionSnapshot, evaluation.FeedbackRequest, evaluation.ReviewerFeedback,
        evaluation.FeedbackDecline, evaluation.FeedbackWaiver, evaluation.CalibrationNote,
        evaluation.Dispute, evaluation.Resolution, evaluation.LinkedPlan,
        evaluation.SafetyShortfall,
        ReviewCycle, cycle_status.Participant, cycle_status.JobDescriptionRef,
        cycle_status.EvaluationRef, cycle_status.PlanRef, cycle_status.GoalRef,
        cycle_status.ParticipantStatus, cycle_status.CycleStatus, cycle_status.Blocker,
        cycle_status.GoalCounts, cycle_status.StageProgress, cycle_status.ParticipantProgress,
        cycle_status.ProgressReport,
        survey.Survey, survey.Question, survey.Reply, survey.Ballot, survey.SurveyResults,
        survey.QuestionResult, note.Note,
        Policy, EndorsementPolicy, EvaluationPolicy, ScoreWeights, Rule,
        Lifecycle, Step, Guard, Command, SubjectView, ReviewerView,
        RecordedEvent, StreamHead, Snapshot, AuditCheckpoint, AuditReport, Notification,
    )  # fmt: skip


def _hypothesis_setup_hook() -> None:
    """Register a strategy for every public perfcore type, made when it is first asked for."""
    from hypothesis import strategies as st

    for kind in public_types():
        st.register_type_strategy(kind, _deferred)


def _deferred(kind: type[Any]) -> SearchStrategy[Any]:
    # Importing the strategies registers every type's own strategy in place of this function.
    from perfcore.testing.strategies._registry import strategies_by_type

    return strategies_by_type()[kind]
