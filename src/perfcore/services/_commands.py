"""Each service's commands, written from the domain's by ``tools/render_commands.py``.

Do not edit: change the domain method (the declaration), then run the tool. A service class
inherits its type's class here and writes by hand only the commands that do more than fire
their trigger.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Unpack

from perfcore.actor import Actor
from perfcore.cycle_status import Participant
from perfcore.evaluation import Evaluation, Score
from perfcore.evaluation_records import Relationship
from perfcore.goal import Goal, GoalEdits
from perfcore.job_description import JobDescription, JobDescriptionEdits
from perfcore.note import Note, NoteEdits
from perfcore.plan import Plan, PlanEdits
from perfcore.review_cycle import ReviewCycle, ReviewCycleEdits
from perfcore.services._base import AggregateService
from perfcore.survey import Survey, SurveyEdits

if TYPE_CHECKING:
    from perfcore.services.surveys import SurveyView
    from perfcore.visibility import EvaluationView

__all__ = [
    "GoalCommands",
    "JobDescriptionCommands",
    "PlanCommands",
    "EvaluationCommands",
    "ReviewCycleCommands",
    "SurveyCommands",
    "NoteCommands",
]


class GoalCommands(AggregateService[Goal, "Goal"]):
    """The commands of a Goal that only fire their trigger."""

    def edit(
        self,
        goal_id: str,
        *,
        by: Actor | str,
        idempotency_key: str | None = None,
        **fields: Unpack[GoalEdits],
    ) -> Goal:
        """Change the fields named (any of :class:`~perfcore.goal.GoalEdits`).

        See :meth:`perfcore.goal.Goal.edit`.

        Raises:
            ValidationError: a name that is not an editable field, before anything else.
        """
        return self._edit(goal_id, fields, by=by, idempotency_key=idempotency_key)

    def propose(
        self,
        goal_id: str,
        *,
        by: Actor | str,
        idempotency_key: str | None = None,
    ) -> Goal:
        """Put the draft to the manager for approval.

        See :meth:`perfcore.goal.Goal.propose`.
        """
        return self._fire(
            goal_id,
            "propose",
            by=by,
            idempotency_key=idempotency_key,
        )

    def request_changes(
        self,
        goal_id: str,
        *,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> Goal:
        """Send a proposed goal back to draft, saying what should change.

        See :meth:`perfcore.goal.Goal.request_changes`.
        """
        return self._fire(
            goal_id,
            "request_changes",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def approve(
        self,
        goal_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Goal:
        """Approve a proposed goal (its owner's manager or HR; never its owner).

        See :meth:`perfcore.goal.Goal.approve`.
        """
        return self._fire(
            goal_id,
            "approve",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def check_in(
        self,
        goal_id: str,
        *,
        by: Actor | str,
        on: dt.date,
        value: Decimal | int | str,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> Goal:
        """Record the metric's value on day ``on``.

        See :meth:`perfcore.goal.Goal.check_in`.
        """
        return self._fire(
            goal_id,
            "check_in",
            by=by,
            on=on,
            value=value,
            note=note,
            idempotency_key=idempotency_key,
        )

    def achieve(
        self,
        goal_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Goal:
        """Mark the goal achieved: only when the latest value meets the target.

        See :meth:`perfcore.goal.Goal.achieve`.
        """
        return self._fire(
            goal_id,
            "achieve",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def miss(
        self,
        goal_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Goal:
        """Mark the goal missed: only on or after its due date, with the target not met.

        See :meth:`perfcore.goal.Goal.miss`.
        """
        return self._fire(
            goal_id,
            "miss",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def cancel(
        self,
        goal_id: str,
        *,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> Goal:
        """Cancel the goal, saying why.

        See :meth:`perfcore.goal.Goal.cancel`.
        """
        return self._fire(
            goal_id,
            "cancel",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )


class JobDescriptionCommands(AggregateService[JobDescription, "JobDescription"]):
    """The commands of a JobDescription that only fire their trigger."""

    def edit(
        self,
        jd_id: str,
        *,
        by: Actor | str,
        idempotency_key: str | None = None,
        **fields: Unpack[JobDescriptionEdits],
    ) -> JobDescription:
        """Change the fields named (any of :class:`~perfcore.job_description.JobDescriptionEdits`).

        See :meth:`perfcore.job_description.JobDescription.edit`.

        Raises:
            ValidationError: a name that is not an editable field, before anything else.
        """
        return self._edit(jd_id, fields, by=by, idempotency_key=idempotency_key)

    def open_feedback(
        self,
        jd_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> JobDescription:
        """Invite the audience to give feedback on the draft. A role description's audience
        becomes its position's holders as the directory has them that day (when ``by`` comes
        with the directory), recorded in this command's event.

        See :meth:`perfcore.job_description.JobDescription.open_feedback`.
        """
        return self._fire(
            jd_id,
            "open_feedback",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def give_feedback(
        self,
        jd_id: str,
        *,
        by: Actor | str,
        supports: bool,
        comment: str = "",
        idempotency_key: str | None = None,
    ) -> JobDescription:
        """Record ``by``'s view; a later response from the same person replaces theirs.

        See :meth:`perfcore.job_description.JobDescription.give_feedback`.
        """
        return self._fire(
            jd_id,
            "give_feedback",
            by=by,
            supports=supports,
            comment=comment,
            idempotency_key=idempotency_key,
        )

    def endorse(
        self,
        jd_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> JobDescription:
        """Endorse the description once the feedback meets the endorsement policy.

        See :meth:`perfcore.job_description.JobDescription.endorse`.
        """
        return self._fire(
            jd_id,
            "endorse",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def revise(
        self,
        jd_id: str,
        *,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> JobDescription:
        """Take the description back to draft, saying what must change; the feedback is
        cleared, since it was about the text as it stood (it stays in the history).

        See :meth:`perfcore.job_description.JobDescription.revise`.
        """
        return self._fire(
            jd_id,
            "revise",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def supersede(
        self,
        jd_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> JobDescription:
        """Mark the published description as replaced by a newer number of its lineage.

        See :meth:`perfcore.job_description.JobDescription.supersede`.
        """
        return self._fire(
            jd_id,
            "supersede",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def retire(
        self,
        jd_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> JobDescription:
        """Withdraw the published description with no successor (the role is gone).

        See :meth:`perfcore.job_description.JobDescription.retire`.
        """
        return self._fire(
            jd_id,
            "retire",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )


class PlanCommands(AggregateService[Plan, "Plan"]):
    """The commands of a Plan that only fire their trigger."""

    def edit(
        self,
        plan_id: str,
        *,
        by: Actor | str,
        idempotency_key: str | None = None,
        **fields: Unpack[PlanEdits],
    ) -> Plan:
        """Change the fields named (any of :class:`~perfcore.plan.PlanEdits`).

        See :meth:`perfcore.plan.Plan.edit`.

        Raises:
            ValidationError: a name that is not an editable field, before anything else.
        """
        return self._edit(plan_id, fields, by=by, idempotency_key=idempotency_key)

    def request_changes(
        self,
        plan_id: str,
        *,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> Plan:
        """Send a submitted plan back to draft, saying what should change (the approver).

        See :meth:`perfcore.plan.Plan.request_changes`.
        """
        return self._fire(
            plan_id,
            "request_changes",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def approve(
        self,
        plan_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Plan:
        """Approve a submitted plan: the named approver, or an approver of the named
        department; never the plan's author.

        See :meth:`perfcore.plan.Plan.approve`.
        """
        return self._fire(
            plan_id,
            "approve",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def acknowledge(
        self,
        plan_id: str,
        *,
        by: Actor | str,
        idempotency_key: str | None = None,
    ) -> Plan:
        """The employee (for a team plan, a team member) acknowledges the approved plan: they
        have been told how to reach it and when it is reviewed (:attr:`review_due`). The plan
        becomes active.

        See :meth:`perfcore.plan.Plan.acknowledge`.
        """
        return self._fire(
            plan_id,
            "acknowledge",
            by=by,
            idempotency_key=idempotency_key,
        )

    def start_review(
        self,
        plan_id: str,
        *,
        by: Actor | str,
        idempotency_key: str | None = None,
    ) -> Plan:
        """Start a review: only on or after the day :attr:`review_due` gives, that is, the
        first scheduled day after the latest review (or after the start).

        See :meth:`perfcore.plan.Plan.start_review`.
        """
        return self._fire(
            plan_id,
            "start_review",
            by=by,
            idempotency_key=idempotency_key,
        )

    def conclude_review(
        self,
        plan_id: str,
        *,
        by: Actor | str,
        notes: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> Plan:
        """Conclude the review with notes; the start and end may move (the end must still come
        after the start), the objectives may not (use :meth:`revise`).

        See :meth:`perfcore.plan.Plan.conclude_review`.
        """
        return self._fire(
            plan_id,
            "conclude_review",
            by=by,
            notes=notes,
            start=start,
            end=end,
            idempotency_key=idempotency_key,
        )

    def revise(
        self,
        plan_id: str,
        *,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> Plan:
        """Take a plan under review back to draft so that its objectives can change; it then
        needs approval, and the employee's acknowledgement, again (the old one is cleared).

        See :meth:`perfcore.plan.Plan.revise`.
        """
        return self._fire(
            plan_id,
            "revise",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def close(
        self,
        plan_id: str,
        *,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> Plan:
        """Close the plan on or after its end day, saying why (say, not every goal was met).

        See :meth:`perfcore.plan.Plan.close`.
        """
        return self._fire(
            plan_id,
            "close",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def cancel(
        self,
        plan_id: str,
        *,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> Plan:
        """Cancel the plan, saying why (from any state but attained and closed).

        See :meth:`perfcore.plan.Plan.cancel`.
        """
        return self._fire(
            plan_id,
            "cancel",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )


class EvaluationCommands(AggregateService[Evaluation, "EvaluationView"]):
    """The commands of a Evaluation that only fire their trigger."""

    def open(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Open the evaluation for the self review.

        See :meth:`perfcore.evaluation.Evaluation.open`.
        """
        return self._fire(
            evaluation_id,
            "open",
            by=by,
            idempotency_key=idempotency_key,
        )

    def skip_self_review(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Pass the evaluation to the manager without a self review, saying why.

        See :meth:`perfcore.evaluation.Evaluation.skip_self_review`.
        """
        return self._fire(
            evaluation_id,
            "skip_self_review",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def request_feedback(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        reviewer_id: str,
        relationship: Relationship | str,
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Ask ``reviewer_id`` for feedback on the subject.

        See :meth:`perfcore.evaluation.Evaluation.request_feedback`.
        """
        return self._fire(
            evaluation_id,
            "request_feedback",
            by=by,
            reviewer_id=reviewer_id,
            relationship=relationship,
            idempotency_key=idempotency_key,
        )

    def decline_feedback(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Record that a requested reviewer will not give feedback, and why.

        See :meth:`perfcore.evaluation.Evaluation.decline_feedback`.
        """
        return self._fire(
            evaluation_id,
            "decline_feedback",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def waive_feedback(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Let the manager review go ahead without the feedback minimum, saying why.

        See :meth:`perfcore.evaluation.Evaluation.waive_feedback`.
        """
        return self._fire(
            evaluation_id,
            "waive_feedback",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def calibrate(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        criterion: str,
        score: Score | None,
        reason: str,
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Note HR's calibration of one criterion: a new score, or ``None`` to keep it.

        See :meth:`perfcore.evaluation.Evaluation.calibrate`.
        """
        return self._fire(
            evaluation_id,
            "calibrate",
            by=by,
            criterion=criterion,
            score=score,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def acknowledge(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        comment: str = "",
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Record that the subject has seen the final result (a comment is optional).

        See :meth:`perfcore.evaluation.Evaluation.acknowledge`.
        """
        return self._fire(
            evaluation_id,
            "acknowledge",
            by=by,
            comment=comment,
            idempotency_key=idempotency_key,
        )

    def dispute(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Record that the subject disputes the final result, and why.

        See :meth:`perfcore.evaluation.Evaluation.dispute`.
        """
        return self._fire(
            evaluation_id,
            "dispute",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def resolve_dispute(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        resolution: str,
        reopen: bool = False,
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Resolve the dispute: keep the result final, or reopen it for calibration.

        See :meth:`perfcore.evaluation.Evaluation.resolve_dispute`.
        """
        return self._fire(
            evaluation_id,
            "resolve_dispute",
            by=by,
            resolution=resolution,
            reopen=reopen,
            idempotency_key=idempotency_key,
        )


class ReviewCycleCommands(AggregateService[ReviewCycle, "ReviewCycle"]):
    """The commands of a ReviewCycle that only fire their trigger."""

    def edit(
        self,
        cycle_id: str,
        *,
        by: Actor | str,
        idempotency_key: str | None = None,
        **fields: Unpack[ReviewCycleEdits],
    ) -> ReviewCycle:
        """Change the fields named (any of :class:`~perfcore.review_cycle.ReviewCycleEdits`).

        See :meth:`perfcore.review_cycle.ReviewCycle.edit`.

        Raises:
            ValidationError: a name that is not an editable field, before anything else.
        """
        return self._edit(cycle_id, fields, by=by, idempotency_key=idempotency_key)

    def start(
        self,
        cycle_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> ReviewCycle:
        """Open the job descriptions stage: participants' job descriptions are written and
        published.

        See :meth:`perfcore.review_cycle.ReviewCycle.start`.
        """
        return self._fire(
            cycle_id,
            "start",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def close(
        self,
        cycle_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> ReviewCycle:
        """Close the cycle, whatever its goals' outcomes (the report keeps them).

        See :meth:`perfcore.review_cycle.ReviewCycle.close`.
        """
        return self._fire(
            cycle_id,
            "close",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def add_participant(
        self,
        cycle_id: str,
        *,
        by: Actor | str,
        participant: Participant,
        reason: str,
        idempotency_key: str | None = None,
    ) -> ReviewCycle:
        """Bring someone into a running cycle (a new hire, a transfer), saying why.

        See :meth:`perfcore.review_cycle.ReviewCycle.add_participant`.
        """
        return self._fire(
            cycle_id,
            "add_participant",
            by=by,
            participant=participant,
            reason=reason,
            idempotency_key=idempotency_key,
        )


class SurveyCommands(AggregateService[Survey, "Survey | SurveyView"]):
    """The commands of a Survey that only fire their trigger."""

    def edit(
        self,
        survey_id: str,
        *,
        by: Actor | str,
        idempotency_key: str | None = None,
        **fields: Unpack[SurveyEdits],
    ) -> Survey | SurveyView:
        """Change the fields named (any of :class:`~perfcore.survey.SurveyEdits`).

        See :meth:`perfcore.survey.Survey.edit`.

        Raises:
            ValidationError: a name that is not an editable field, before anything else.
        """
        return self._edit(survey_id, fields, by=by, idempotency_key=idempotency_key)

    def release(
        self,
        survey_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Survey | SurveyView:
        """Show the results to the manager and the people asked.

        See :meth:`perfcore.survey.Survey.release`.
        """
        return self._fire(
            survey_id,
            "release",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )


class NoteCommands(AggregateService[Note, "Note"]):
    """The commands of a Note that only fire their trigger."""

    def edit(
        self,
        note_id: str,
        *,
        by: Actor | str,
        idempotency_key: str | None = None,
        **fields: Unpack[NoteEdits],
    ) -> Note:
        """Change the fields named (any of :class:`~perfcore.note.NoteEdits`).

        See :meth:`perfcore.note.Note.edit`.

        Raises:
            ValidationError: a name that is not an editable field, before anything else.
        """
        return self._edit(note_id, fields, by=by, idempotency_key=idempotency_key)

    def withdraw(
        self,
        note_id: str,
        *,
        by: Actor | str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> Note:
        """Withdraw it, saying why (its author, or HR).

        See :meth:`perfcore.note.Note.withdraw`.
        """
        return self._fire(
            note_id,
            "withdraw",
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )
