"""The Evaluation driver: ben evaluates ana, hana is HR, peers ``peer-1``, ``peer-2``... give
feedback; the period ended the day before the drivers' epoch."""

from __future__ import annotations

import datetime as dt

from perfcore.actor import Actor, Role
from perfcore.evaluation import Evaluation, Rating, Relationship
from perfcore.testing.drivers import EPOCH, Driver

__all__ = ["EvaluationDriver"]

SUBJECT = Actor(id="ana", roles={Role.EMPLOYEE})
EVALUATOR = Actor(id="ben", roles={Role.EMPLOYEE, Role.MANAGER})
HR = Actor(id="hana", roles={Role.HR})
CRITERIA = {"Delivery": 60, "Collaboration": 40}
PERIOD_END = EPOCH.date() - dt.timedelta(days=1)
PERIOD_START = PERIOD_END - dt.timedelta(days=364)
#: Every score the driver gives: the same from everyone, so nothing ever diverges.
SCORE = 4


def ratings(evidence: str = "") -> list[Rating]:
    """A rating of every criterion at :data:`SCORE`."""
    return [Rating(criterion=name, score=SCORE, evidence=evidence) for name in CRITERIA]


class EvaluationDriver(Driver[Evaluation]):
    """Drives ana's evaluation by ben; each feedback self-loop asks a new peer first."""

    kind = Evaluation

    def create(self, id: str = "x-1") -> Evaluation:
        return Evaluation.create(
            id=id,
            by=EVALUATOR,
            at=EPOCH,
            subject_id=SUBJECT.id,
            evaluator_id=EVALUATOR.id,
            job_description_id="jd-1",
            job_description_number=1,
            criteria=CRITERIA,
            period_start=PERIOD_START,
            period_end=PERIOD_END,
        )

    def fire(self, obj: Evaluation, trigger: str, dest: str | None = None) -> Evaluation:
        at = EPOCH + dt.timedelta(days=1)
        if trigger == "open":
            return obj.open(by=EVALUATOR, at=at)
        if trigger == "submit_self_review":
            return obj.submit_self_review(by=SUBJECT, at=at, ratings=ratings())
        if trigger == "skip_self_review":
            return obj.skip_self_review(by=EVALUATOR, at=at, reason="on parental leave")
        if trigger == "request_feedback":
            return self._request(obj, at)
        if trigger in {"give_feedback", "decline_feedback"}:
            return self._answer(obj, trigger, at)
        if trigger == "waive_feedback":
            return obj.waive_feedback(by=HR, at=at, reason="a team of one this year")
        if trigger == "submit_manager_review":
            if self.allows(obj, trigger):
                while len(obj.feedback_responses) < 2:
                    obj = self._answer(obj, "give_feedback", at)
            return obj.submit_manager_review(
                by=EVALUATOR, at=at, ratings=ratings("met every release date")
            )
        if trigger == "calibrate":
            return obj.calibrate(
                by=HR, at=at, criterion="Delivery", score=SCORE, reason="in line with peers"
            )
        return self._after_calibration(obj, trigger, dest, at)

    def _after_calibration(
        self, obj: Evaluation, trigger: str, dest: str | None, at: dt.datetime
    ) -> Evaluation:
        if trigger == "finalize":
            return obj.finalize(by=HR, at=at)
        if trigger == "acknowledge":
            return obj.acknowledge(by=SUBJECT, at=at)
        if trigger == "dispute":
            return obj.dispute(by=SUBJECT, at=at, reason="my on-call work is missing")
        if trigger == "resolve_dispute":
            reopen = dest == "calibration"
            return obj.resolve_dispute(by=HR, at=at, resolution="reviewed", reopen=reopen)
        if trigger == "reassign":
            to = "ben" if obj.evaluator_id == "mia" else "mia"
            return obj.reassign(by=HR, at=at, evaluator_id=to, reason="ana moved to mia's team")
        raise ValueError(f"Evaluation has no trigger {trigger!r}")

    @staticmethod
    def _request(obj: Evaluation, at: dt.datetime) -> Evaluation:
        reviewer_id = f"peer-{len(obj.feedback_requests) + 1}"
        return obj.request_feedback(
            by=EVALUATOR, at=at, reviewer_id=reviewer_id, relationship=Relationship.PEER
        )

    def _answer(self, obj: Evaluation, trigger: str, at: dt.datetime) -> Evaluation:
        """A new peer is asked, then answers (only where the table allows ``trigger``)."""
        if self.allows(obj, trigger):
            obj = self._request(obj, at)
        reviewer = Actor(id=f"peer-{max(1, len(obj.feedback_requests))}")
        if trigger == "give_feedback":
            scores = dict.fromkeys(CRITERIA, SCORE)
            return obj.give_feedback(by=reviewer, at=at, scores=scores, comment="reliable")
        return obj.decline_feedback(by=reviewer, at=at, reason="we have not worked together")
