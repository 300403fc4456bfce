"""What a manager asks of storage: the team's goals and how each stands, reviews coming due.

Questions "as of" a day are answered as the records stood at the end of that day (UTC): each
object is replayed from the events recorded by then, so a report for a past day does not change
when later commands arrive. Progress is what the check-ins known by then show.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from perfcore._validate import check_date, check_flag, check_id, check_optional_id
from perfcore.cycle_status import ProgressReport
from perfcore.errors import ValidationError
from perfcore.goal import Goal, Standing
from perfcore.plan import Plan, PlanState
from perfcore.repositories import Repositories
from perfcore.services._as_of import as_of
from perfcore.services._runner import Runner
from perfcore.services.cycles import cycle_status

__all__ = ["GoalStatus", "PlanReview", "Queries"]


@attrs.frozen(kw_only=True)
class GoalStatus:
    """One goal as it stood on a day.

    Attributes:
        goal: the goal as it stood at the end of ``on``.
        on: the day.
        progress: its progress by then (0..1).
        expected: where a steady pace from start to due would have it (0..1).
        standing: on track, behind, achieved, missed, cancelled or not started.
    """

    goal: Goal
    on: dt.date
    progress: Decimal
    expected: Decimal
    standing: Standing

    @property
    def owner_id(self) -> str:
        """Whose goal it is."""
        return self.goal.owner_id

    @classmethod
    def of(cls, goal: Goal, on: dt.date) -> GoalStatus:
        """The status of ``goal`` (as it stood on ``on``) on day ``on``."""
        return cls(
            goal=goal,
            on=on,
            progress=goal.progress_on(on),
            expected=goal.expected_progress_on(on),
            standing=goal.standing(on),
        )


@attrs.frozen(kw_only=True)
class PlanReview:
    """An active plan whose next review falls due, and the day it does."""

    plan: Plan
    due: dt.date


class Queries:
    """Read-only questions, each answered from one unit of work."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    def team_goals(self, manager_id: str, *, on: dt.date) -> list[GoalStatus]:
        """Every goal ``manager_id`` oversees that existed on day ``on``, with its progress and
        standing then; ordered by owner, then goal id."""
        check_id("manager_id", manager_id)
        day = check_date("on", on)

        def work(uow: Repositories) -> list[GoalStatus]:
            goals = (as_of(goal, day, uow.streams) for goal in uow.goals.by_manager(manager_id))
            found = [GoalStatus.of(goal, day) for goal in goals if goal is not None]
            return sorted(found, key=lambda status: (status.owner_id, status.goal.id))

        return self._runner.read(work)

    def standings(self, manager_id: str, *, on: dt.date) -> dict[Standing, list[GoalStatus]]:
        """The team's goals by how they stood on day ``on``: who is on track, behind, achieved,
        missed (every standing is a key, with an empty list when no goal has it)."""
        grouped: dict[Standing, list[GoalStatus]] = {standing: [] for standing in Standing}
        for status in self.team_goals(manager_id, on=on):
            grouped[status.standing].append(status)
        return grouped

    def plans_due_for_review(
        self,
        start: dt.date,
        end: dt.date,
        *,
        author_id: str | None = None,
        include_overdue: bool = True,
    ) -> list[PlanReview]:
        """Active plans whose next review (:attr:`Plan.review_due`, from each plan's schedule)
        falls from ``start`` to ``end``, both included; ordered by that day, then plan id.

        Args:
            start: the first day of the range.
            end: the last day of the range.
            author_id: only the plans this person wrote (a manager's own), if given.
            include_overdue: also the plans whose review fell due before ``start`` and has not
                started: they are still due.
        """
        first, last = check_date("start", start), check_date("end", end)
        check_optional_id("author_id", author_id)
        check_flag("include_overdue", include_overdue)
        if last < first:
            raise ValidationError("end", f"{last} comes before the start {first}")

        def work(uow: Repositories) -> list[PlanReview]:
            found = []
            for plan in uow.plans.by_state(PlanState.ACTIVE):
                due = plan.review_due
                if due is None or due > last or (due < first and not include_overdue):
                    continue
                if author_id is None or plan.author_id == author_id:
                    found.append(PlanReview(plan=plan, due=due))
            return sorted(found, key=lambda review: (review.due, review.plan.id))

        return self._runner.read(work)

    def cycle_progress(self, cycle_id: str, *, on: dt.date) -> ProgressReport:
        """Where every stage and every participant of a cycle stands on day ``on``: what is
        done, who holds each stage up and why, who is meeting their goals (see
        :meth:`perfcore.review_cycle.ReviewCycle.progress`)."""
        check_id("cycle_id", cycle_id)
        day = check_date("on", on)

        def work(uow: Repositories) -> ProgressReport:
            cycle = uow.cycles.get(cycle_id)
            return cycle.progress(cycle_status(uow, cycle, day), day)

        return self._runner.read(work)
