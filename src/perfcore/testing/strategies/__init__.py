"""Hypothesis strategies for every public perfcore type, and for commands on perfcore objects.

Install with ``pip install perfcore[testing]``. What they draw is valid by construction: weights
sum to exactly 100, dates are in order, times are timezone-aware, ids are never blank, and every
aggregate is built by real commands from its creation, so that its history replays to it.

- **Values**: :func:`actors`, :func:`aware_datetimes`, :func:`dates`, :func:`decimals`,
  :func:`criteria_sets`, :func:`check_ins`, and one strategy per value type (:func:`criteria`,
  :func:`objectives`, :func:`ratings`, :func:`participants`, ...).
- **Aggregates** in any reachable state, or in one of ``states``: :func:`goals`,
  :func:`job_descriptions`, :func:`plans`, :func:`evaluations`, :func:`review_cycles`,
  :func:`surveys`, :func:`notes`, and
  :func:`aggregates` for any of them. Their content is drawn (people, numbers, dates, criteria),
  and so is their path: the shortest one to the state, with a few detours (check-ins, feedback,
  a request for changes) that shrink away.
- **Commands**: :func:`commands` draws one :class:`Command` for an object as it stands, mostly
  one the policy allows now; :func:`command_sequences` draws a start and a sequence of them, which
  :meth:`CommandSequence.run` tries one by one, yielding an :class:`Outcome` for each, accepted
  or refused.

Importing this module registers a strategy for every public type with
:func:`hypothesis.strategies.register_type_strategy`, so ``st.from_type(Goal)`` works too.

People come from small pools (``ana``, ``ben``, ``cleo``... and ``hana`` for HR), so that a
shrunk example reads like a story:

>>> from hypothesis import find, given, settings, strategies as st
>>> from perfcore import Goal
>>> from perfcore.testing import strategies as pst
>>> goal = find(pst.goals(), lambda goal: goal.state == "achieved")
>>> [(event.trigger, event.actor_id) for event in goal.history]
[('create', 'ana'), ('propose', 'ana'), ('approve', 'ben'), ('check_in', 'ana'), ('achieve', 'ben')]
>>> @settings(max_examples=20, deadline=None)
... @given(st.from_type(Goal))
... def test_goals_replay(goal):
...     assert Goal.replay(goal.history) == goal
>>> test_goals_replay()

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from perfcore.testing.strategies._common import (
    Ranges,
    actors,
    aware_datetimes,
    dates,
    decimals,
    ids,
    people,
    reasons,
    texts,
)
from perfcore.testing.strategies._registry import register_types
from perfcore.testing.strategies.aggregates import aggregates, events
from perfcore.testing.strategies.audit import (
    audit_checkpoints,
    audit_reports,
    notifications,
    recorded_events,
    recorded_streams,
    snapshots,
    stream_heads,
)
from perfcore.testing.strategies.commands import (
    Command,
    CommandSequence,
    Outcome,
    command_sequences,
    commands,
)
from perfcore.testing.strategies.evaluation import (
    calibration_notes,
    criterion_snapshots,
    disputes,
    evaluations,
    feedback_declines,
    feedback_requests,
    feedback_waivers,
    linked_plans,
    rating_scales,
    ratings,
    resolutions,
    reviewer_feedback,
    reviewer_views,
    safety_shortfalls,
    scores,
    subject_views,
)
from perfcore.testing.strategies.goal import check_ins, goals, metric_values
from perfcore.testing.strategies.job_description import (
    criteria,
    criteria_sets,
    criterion_names,
    feedback_responses,
    job_descriptions,
    weights,
)
from perfcore.testing.strategies.lifecycle import guards, lifecycles, steps
from perfcore.testing.strategies.note import notes
from perfcore.testing.strategies.plan import (
    approvers,
    attainments,
    objectives,
    plans,
    review_notes,
    review_schedules,
    supports,
)
from perfcore.testing.strategies.policy import (
    endorsement_policies,
    evaluation_policies,
    policies,
    rules,
    score_weights,
)
from perfcore.testing.strategies.records import acknowledgements
from perfcore.testing.strategies.review_cycle import (
    blockers,
    cycle_schedules,
    cycle_statuses,
    evaluation_refs,
    goal_counts,
    goal_refs,
    job_description_refs,
    participant_lists,
    participant_progress,
    participant_statuses,
    participants,
    plan_refs,
    progress_reports,
    review_cycles,
    stage_progress,
)
from perfcore.testing.strategies.survey import (
    ballots,
    questions,
    replies,
    survey_results,
    surveys,
)

__all__ = [
    "Command",
    "CommandSequence",
    "Outcome",
    "Ranges",
    "acknowledgements",
    "actors",
    "aggregates",
    "approvers",
    "attainments",
    "audit_checkpoints",
    "audit_reports",
    "ballots",
    "aware_datetimes",
    "blockers",
    "calibration_notes",
    "check_ins",
    "command_sequences",
    "commands",
    "criteria",
    "criteria_sets",
    "criterion_names",
    "criterion_snapshots",
    "cycle_schedules",
    "cycle_statuses",
    "dates",
    "decimals",
    "disputes",
    "endorsement_policies",
    "evaluation_policies",
    "evaluation_refs",
    "evaluations",
    "events",
    "feedback_declines",
    "feedback_requests",
    "feedback_responses",
    "feedback_waivers",
    "goal_counts",
    "goal_refs",
    "goals",
    "guards",
    "ids",
    "job_description_refs",
    "job_descriptions",
    "lifecycles",
    "linked_plans",
    "metric_values",
    "notes",
    "notifications",
    "recorded_events",
    "recorded_streams",
    "snapshots",
    "stream_heads",
    "objectives",
    "participant_lists",
    "participant_progress",
    "participant_statuses",
    "participants",
    "people",
    "plan_refs",
    "plans",
    "policies",
    "progress_reports",
    "questions",
    "rating_scales",
    "ratings",
    "reasons",
    "replies",
    "resolutions",
    "review_cycles",
    "review_notes",
    "review_schedules",
    "reviewer_feedback",
    "reviewer_views",
    "rules",
    "score_weights",
    "safety_shortfalls",
    "scores",
    "stage_progress",
    "steps",
    "subject_views",
    "supports",
    "survey_results",
    "surveys",
    "texts",
    "weights",
]

register_types()
