"""perfcore: the performance-management lifecycle as pure domain objects on explicit state machines.

Job descriptions, goals, plans, evaluations and the review cycle that ties them are frozen attrs
objects; each command returns a new object and leaves an event in its history. Storage, clocks and
notification are ports the caller supplies (see :mod:`perfcore.ports`).
"""

from perfcore.actor import Actor, Role
from perfcore.cycle_status import (
    Blocker,
    BlockReason,
    CycleStatus,
    EvaluationRef,
    GoalCounts,
    GoalOutlook,
    GoalRef,
    JobDescriptionRef,
    Participant,
    ParticipantProgress,
    ParticipantStatus,
    PlanRef,
    ProgressReport,
    Stage,
    StageProgress,
)
from perfcore.errors import (
    ConcurrencyError,
    GuardFailed,
    NotFound,
    PerfcoreError,
    PermissionDenied,
    StorageError,
    TransitionNotAllowed,
    ValidationError,
)
from perfcore.evaluation import (
    CalibrationNote,
    CriterionSnapshot,
    Dispute,
    Evaluation,
    EvaluationState,
    FeedbackDecline,
    FeedbackRequest,
    FeedbackStatus,
    FeedbackWaiver,
    Rating,
    RatingScale,
    Relationship,
    Resolution,
    ReviewerFeedback,
)
from perfcore.events import Event
from perfcore.goal import CheckIn, Direction, Goal, GoalState, Standing
from perfcore.job_description import (
    Criterion,
    FeedbackResponse,
    JobDescription,
    JobDescriptionState,
)
from perfcore.lifecycle import Guard, Lifecycle, Step, lifecycle_of
from perfcore.plan import (
    Approver,
    ApproverKind,
    Attainment,
    Objective,
    Plan,
    PlanKind,
    PlanState,
    ReviewNote,
    Support,
    SupportKind,
)
from perfcore.policy import (
    DEFAULT_POLICY,
    EndorsementPolicy,
    EvaluationPolicy,
    Policy,
    ScoreWeights,
)
from perfcore.records import Acknowledgement
from perfcore.review_cycle import ReviewCycle, ReviewCycleState
from perfcore.rules import Rule

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_POLICY",
    "Acknowledgement",
    "Actor",
    "Approver",
    "ApproverKind",
    "Attainment",
    "Blocker",
    "BlockReason",
    "CalibrationNote",
    "CheckIn",
    "ConcurrencyError",
    "Criterion",
    "CriterionSnapshot",
    "CycleStatus",
    "Direction",
    "Dispute",
    "EndorsementPolicy",
    "Evaluation",
    "EvaluationPolicy",
    "EvaluationRef",
    "EvaluationState",
    "Event",
    "FeedbackDecline",
    "FeedbackRequest",
    "FeedbackResponse",
    "FeedbackStatus",
    "FeedbackWaiver",
    "Goal",
    "GoalCounts",
    "GoalOutlook",
    "GoalRef",
    "GoalState",
    "Guard",
    "GuardFailed",
    "JobDescription",
    "JobDescriptionRef",
    "JobDescriptionState",
    "Lifecycle",
    "lifecycle_of",
    "NotFound",
    "Objective",
    "Participant",
    "ParticipantProgress",
    "ParticipantStatus",
    "PerfcoreError",
    "PermissionDenied",
    "Plan",
    "PlanKind",
    "PlanRef",
    "PlanState",
    "Policy",
    "ProgressReport",
    "Rating",
    "RatingScale",
    "Relationship",
    "Resolution",
    "ReviewCycle",
    "ReviewCycleState",
    "ReviewerFeedback",
    "ReviewNote",
    "Role",
    "Rule",
    "ScoreWeights",
    "Stage",
    "StageProgress",
    "Standing",
    "Step",
    "StorageError",
    "Support",
    "SupportKind",
    "TransitionNotAllowed",
    "ValidationError",
]
