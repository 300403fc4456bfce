"""The Evaluation service: scheduling against a stored job description, reviews, feedback,
calibration, and the result.

Opening an evaluation notifies its subject; asking a reviewer for feedback notifies them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from perfcore._validate import check_id, check_mapping, check_optional_id, check_sequence
from perfcore.actor import Actor
from perfcore.evaluation import (
    Evaluation,
    LinkedPlan,
    Rating,
    RatingScale,
    Score,
)
from perfcore.job_description import JobDescription
from perfcore.plan import Plan
from perfcore.services._commands import EvaluationCommands
from perfcore.services._runner import Session
from perfcore.visibility import EvaluationView, view_for

__all__ = ["EvaluationService"]


class EvaluationService(EvaluationCommands):
    """Evaluations: schedule, open, self review, feedback, manager review, calibrate,
    finalize, acknowledge or dispute."""

    kind = Evaluation
    id_argument = "evaluation_id"
    view_name = "EvaluationView"

    def _shown(self, obj: Evaluation, reader: Actor) -> EvaluationView:
        """The reader's view (:mod:`perfcore.visibility`): the subject's, a reviewer's, or,
        for the evaluator and HR, the evaluation itself."""
        return view_for(obj, reader, self._runner.policy)

    def _result(self, obj: Evaluation, by: Actor | str) -> EvaluationView:
        # Only the directory knows who ``by`` is today: resolve them again for the view.
        return self._shown(obj, self._runner.reader(by))

    def create(
        self,
        *,
        by: Actor | str,
        subject_id: str,
        evaluator_id: str,
        job_description_id: str,
        period_start: dt.date,
        period_end: dt.date,
        job_description_number: int | None = None,
        criteria: Mapping[str, Score] | Sequence[Any] | None = None,
        scale: RatingScale | None = None,
        subject_is_manager: bool = False,
        cycle_id: str | None = None,
        id: str | None = None,
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Schedule an evaluation (see :meth:`perfcore.evaluation.Evaluation.create`).

        The job description's number and criteria are taken from the stored description
        unless given.

        Raises:
            NotFound: they are not given, and no such job description is stored.
        """
        check_optional_id("id", id)
        check_id("job_description_id", job_description_id)
        if isinstance(criteria, Mapping):
            criteria = check_mapping("criteria", criteria)
        elif criteria is not None:
            criteria = check_sequence("criteria", criteria)

        def work(session: Session) -> Evaluation:
            actor = session.actor(by)
            number, snapshot = job_description_number, criteria
            if number is None or snapshot is None:
                jd = session.load(JobDescription, job_description_id)
                number = jd.number if number is None else number
                snapshot = jd.criteria if snapshot is None else snapshot
            new_id = id if id is not None else session.new_id("Evaluation")
            evaluation = Evaluation.create(
                id=new_id, by=actor, at=session.at, subject_id=subject_id,
                evaluator_id=evaluator_id, job_description_id=job_description_id,
                job_description_number=number, criteria=snapshot, period_start=period_start,
                period_end=period_end, scale=scale, subject_is_manager=subject_is_manager,
                cycle_id=cycle_id, policy=session.policy,
            )  # fmt: skip
            return session.changed(evaluation)

        args = {
            "id": id,
            "by": by,
            "subject_id": subject_id,
            "evaluator_id": evaluator_id,
            "job_description_id": job_description_id,
            "job_description_number": job_description_number,
            "criteria": _plain(criteria),
            "period_start": period_start,
            "period_end": period_end,
            "scale": scale,
            "subject_is_manager": subject_is_manager,
            "cycle_id": cycle_id,
        }
        return self._run("create", args, work, idempotency_key)

    def submit_self_review(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        ratings: Sequence[Rating],
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Record the subject's own ratings."""
        return self._fire(
            evaluation_id,
            "submit_self_review",
            by=by,
            ratings=check_sequence("ratings", ratings),
            idempotency_key=idempotency_key,
        )

    def give_feedback(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        scores: Mapping[str, Score],
        comment: str = "",
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Record a requested reviewer's feedback."""
        return self._fire(
            evaluation_id,
            "give_feedback",
            by=by,
            scores=check_mapping("scores", scores),
            comment=comment,
            idempotency_key=idempotency_key,
        )

    def submit_manager_review(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        ratings: Sequence[Rating],
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Record the evaluator's ratings, each with evidence."""
        return self._fire(
            evaluation_id,
            "submit_manager_review",
            by=by,
            ratings=check_sequence("ratings", ratings),
            idempotency_key=idempotency_key,
        )

    def finalize(
        self,
        evaluation_id: str,
        *,
        by: Actor | str,
        improvement_plan_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> EvaluationView:
        """Make the result final, with the policy's score weights.

        A safety-critical criterion rated below its required level needs an improvement plan
        for the subject, linked here (``improvement_plan_id``, or the one linked when the
        evaluation was finalized before a dispute reopened it): the plan is read from the
        store, never taken from the caller.

        Raises:
            NotFound: no plan is stored under ``improvement_plan_id`` that ``by`` may read.
            GuardFailed: a safety shortfall without a suitable plan (see
                :meth:`perfcore.evaluation.Evaluation.finalize`), or another guard.
        """
        check_id(self.id_argument, evaluation_id)
        check_optional_id("improvement_plan_id", improvement_plan_id)

        def work(session: Session) -> Evaluation:
            actor = session.actor(by)
            evaluation = session.load_for(actor, Evaluation, evaluation_id)
            plan_id = improvement_plan_id or evaluation.improvement_plan_id
            linked = None
            if plan_id is not None:
                plan = session.load_for(actor, Plan, plan_id)
                linked = LinkedPlan(
                    id=plan.id,
                    kind=str(plan.kind),
                    subject_id=plan.subject_id,
                    state=str(plan.state),
                )
            final = evaluation.finalize(
                by=actor, at=session.at, improvement_plan=linked, policy=session.policy
            )
            return session.changed(final)

        # The arguments a finalize always had, so that an older request keeps its fingerprint.
        args: dict[str, Any] = {"id": evaluation_id, "by": by}
        if improvement_plan_id is not None:
            args["improvement_plan_id"] = improvement_plan_id
        return self._run("finalize", args, work, idempotency_key)


def _plain(criteria: Mapping[str, Score] | Sequence[Any] | None) -> object:
    """Criteria as fingerprintable data (objects with a name and a weight become pairs)."""
    if criteria is None or isinstance(criteria, Mapping):
        return criteria
    return [[getattr(item, "name", item), getattr(item, "weight", None)] for item in criteria]
