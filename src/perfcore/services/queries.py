"""What a manager asks of storage: the team's goals and how each stands, reviews coming due.

Questions "as of" a day are answered as the records stood at the end of that day (UTC): each
object is replayed from the events recorded by then, so a report for a past day does not change
when later commands arrive. Progress is what the check-ins known by then show.

Every list is filtered in the store (by the stream heads' indexed columns) before any object is
decoded, and may be read a page at a time: ``limit`` items after the ``after`` key of the last
item of the previous page (each method says what its key is).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar, cast

import attrs

from perfcore._validate import (
    check_date,
    check_flag,
    check_id,
    check_optional_id,
    check_page,
    shown,
)
from perfcore.actor import Actor
from perfcore.cycle_status import ProgressReport
from perfcore.errors import ValidationError
from perfcore.goal import Goal, GoalState, Standing
from perfcore.plan import Plan, PlanState
from perfcore.ports import StreamHead
from perfcore.repositories import Repositories
from perfcore.services._as_of import as_of
from perfcore.services._heads import behind_heads, review_heads
from perfcore.services._limited import Limited
from perfcore.services._runner import Runner
from perfcore.services.cycles import cycle_status, readable_cycle

__all__ = ["GoalStatus", "PlanReview", "Queries"]

T = TypeVar("T")
K = TypeVar("K")

#: The states a goal is in now if it could have been under way (active) on some day: a draft
#: or proposed goal has never been active.
_ONCE_ACTIVE = (GoalState.ACTIVE, GoalState.ACHIEVED, GoalState.MISSED, GoalState.CANCELLED)


def _page_args(limit: int | None, after: object, kinds: tuple[type, ...]) -> int | None:
    if limit is not None:
        check_page("limit", limit)
    if after is not None and not (
        isinstance(after, tuple)
        and len(after) == len(kinds)
        and all(isinstance(item, kind) for item, kind in zip(after, kinds, strict=True))
    ):
        names = ", ".join(kind.__name__ for kind in kinds)
        raise ValidationError("after", f"must be None or a ({names}) tuple, not {shown(after)}")
    return limit


def _paged(
    items: Iterable[T], key: Callable[[T], K], after: K | None, limit: int | None
) -> list[T]:
    """``items`` (already in ``key`` order) after ``after``, at most ``limit`` of them."""
    found: list[T] = []
    for item in items:
        if after is not None and not key(item) > after:  # type: ignore[operator]
            continue
        found.append(item)
        if limit is not None and len(found) >= limit:
            break
    return found


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
        progress, expected, standing = goal.measured(on)
        return cls(goal=goal, on=on, progress=progress, expected=expected, standing=standing)


@attrs.frozen(kw_only=True)
class PlanReview:
    """An active plan whose next review falls due, and the day it does."""

    plan: Plan
    due: dt.date


class Queries(Limited):
    """Read-only questions, each answered from one unit of work, for a reader: each names who
    asks (``by``) and answers with only what the policy lets them read (see
    :mod:`perfcore.reading`): a manager asking who is behind hears of their own line, HR of
    everyone."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    def team_goals(
        self,
        manager_id: str,
        *,
        by: Actor | str,
        on: dt.date,
        limit: int | None = None,
        after: tuple[str, str] | None = None,
    ) -> list[GoalStatus]:
        """Every goal ``manager_id`` oversees that existed on day ``on`` and ``by`` may read,
        with its progress and standing then; ordered by owner, then goal id (the key ``after``
        takes: ``(owner_id, goal_id)``), at most ``limit`` of them."""
        check_id("manager_id", manager_id)
        day = check_date("on", on)
        _page_args(limit, after, (str, str))
        readable = self._readable(by, "Goal")

        def work(uow: Repositories) -> list[GoalStatus]:
            heads = sorted(uow.events.find("Goal", "manager", manager_id), key=_owner_then_id)
            statuses = (
                GoalStatus.of(then, day)
                for head in _paged(heads, _owner_then_id, after, None)
                if (goal := cast(Goal, uow.streams.load_head(head))) is not None
                and readable(goal)
                and (then := as_of(goal, day, uow.streams)) is not None
            )
            return _paged(statuses, _status_key, None, limit)

        return self._runner.read(work)

    def behind(
        self,
        *,
        by: Actor | str,
        on: dt.date,
        department: str | None = None,
        limit: int | None = None,
        after: tuple[str, str] | None = None,
    ) -> list[GoalStatus]:
        """Who is behind on their goals: every goal ``by`` may read that stood behind on day
        ``on`` (under way, with less progress than a steady pace from start to due), in the
        whole organisation or in one ``department`` (the owner's department in the directory
        that day); ordered by owner, then goal id (the key ``after`` takes), at most ``limit``
        of them.

        Only goals that were ever under way are considered (found by state in the store), and,
        for a department, only those whose owner is in it are decoded.

        Raises:
            ValidationError: a ``department`` is asked for, but perfcore was given no
                directory.
        """
        day = check_date("on", on)
        check_optional_id("department", department)
        _page_args(limit, after, (str, str))
        directory = self._runner.directory
        if department is not None and directory is None:
            raise ValidationError("department", "perfcore was made without a directory")
        readable = self._readable(by, "Goal")

        def member(owner: object) -> bool:
            if department is None:
                return True
            if not isinstance(owner, str) or directory is None:
                return False
            person = directory.person(owner, day)
            return person is not None and person.department == department

        def work(uow: Repositories) -> list[GoalStatus]:
            # Found in the store by the goals' "behind" and "changed" columns where it can; else
            # every goal once under way, judged one by one.
            candidates = behind_heads(uow.events, day)
            if candidates is None:
                candidates = [
                    head
                    for state in _ONCE_ACTIVE
                    for head in uow.events.find("Goal", "state", state.value)
                ]
            heads = [head for head in candidates if member(head.columns.get("owner"))]
            heads.sort(key=_owner_then_id)

            def statuses() -> Iterable[GoalStatus]:
                for head in _paged(heads, _owner_then_id, after, None):
                    goal = cast(Goal, uow.streams.load_head(head))
                    if not readable(goal):
                        continue
                    then = as_of(goal, day, uow.streams)
                    if then is not None and then.standing(day) is Standing.BEHIND:
                        yield GoalStatus.of(then, day)

            return _paged(statuses(), _status_key, None, limit)

        return self._runner.read(work)

    def standings(
        self, manager_id: str, *, by: Actor | str, on: dt.date
    ) -> dict[Standing, list[GoalStatus]]:
        """The team's goals (those ``by`` may read) by how they stood on day ``on``: who is on
        track, behind, achieved, missed (every standing is a key, with an empty list when no
        goal has it)."""
        grouped: dict[Standing, list[GoalStatus]] = {standing: [] for standing in Standing}
        for status in self.team_goals(manager_id, by=by, on=on):
            grouped[status.standing].append(status)
        return grouped

    def plans_due_for_review(
        self,
        start: dt.date,
        end: dt.date,
        *,
        by: Actor | str,
        author_id: str | None = None,
        include_overdue: bool = True,
        limit: int | None = None,
        after: tuple[dt.date, str] | None = None,
    ) -> list[PlanReview]:
        """Active plans ``by`` may read whose next review (:attr:`Plan.review_due`, from each
        plan's schedule) falls from ``start`` to ``end``, both included; ordered by that day,
        then plan id (the key ``after`` takes: ``(due, plan_id)``), at most ``limit`` of them.

        Args:
            start: the first day of the range.
            end: the last day of the range.
            by: who asks.
            author_id: only the plans this person wrote (a manager's own), if given: found by
                the plans' ``owner`` query column, so only that author's plans are decoded.
            include_overdue: also the plans whose review fell due before ``start`` and has not
                started: they are still due.
            limit: the most plans to return (a page); all of them if ``None``.
            after: the key of the last plan of the previous page.
        """
        first, last = check_date("start", start), check_date("end", end)
        check_optional_id("author_id", author_id)
        check_flag("include_overdue", include_overdue)
        if last < first:
            raise ValidationError("end", f"{last} comes before the start {first}")
        _page_args(limit, after, (dt.date, str))
        active = PlanState.ACTIVE.value
        readable = self._readable(by, "Plan")

        def due_of(plan: Plan) -> dt.date | None:
            due = plan.review_due
            if due is None or due > last or (due < first and not include_overdue):
                return None
            return due

        def work(uow: Repositories) -> list[PlanReview]:
            ranged = (
                None
                if author_id is not None
                else review_heads(uow.events, None if include_overdue else first, last)
            )
            if ranged is None:
                # One author's plans (found by the owner column), or a store without range finds.
                if author_id is None:
                    heads = list(uow.events.find("Plan", "state", active))
                else:
                    heads = [
                        h for h in uow.events.find("Plan", "owner", author_id) if h.state == active
                    ]
                ranged = ([], heads)
            dated, undated = ranged
            # The heads that do not say when (written before the review column) are decoded;
            # the others are ordered by their column and decoded a page at a time.
            keyed: list[tuple[tuple[dt.date, str], StreamHead | PlanReview]] = [
                ((due, head.id), head) for due, head in dated
            ]
            for head in undated:
                plan = cast(Plan, uow.streams.load_head(head))
                due = due_of(plan)
                if due is not None:
                    keyed.append(((due, plan.id), PlanReview(plan=plan, due=due)))
            keyed.sort(key=lambda item: item[0])

            def reviews() -> Iterable[PlanReview]:
                for _key, item in _paged(keyed, lambda item: item[0], after, None):
                    if isinstance(item, PlanReview):
                        review = item
                    else:
                        plan = cast(Plan, uow.streams.load_head(item))
                        due = due_of(plan)
                        if due is None:
                            continue  # its object says it is not due in the range
                        review = PlanReview(plan=plan, due=due)
                    if (author_id is None or review.plan.author_id == author_id) and readable(
                        review.plan
                    ):
                        yield review

            return _paged(reviews(), _review_key, None, limit)

        return self._runner.read(work)

    def cycle_progress(self, cycle_id: str, *, by: Actor | str, on: dt.date) -> ProgressReport:
        """Where every stage and every participant of a cycle stands on day ``on``: what is
        done, who holds each stage up and why, who is meeting their goals (see
        :meth:`perfcore.review_cycle.ReviewCycle.progress`), for a reader of the cycle.

        Raises:
            NotFound: no cycle is stored under ``cycle_id`` that ``by`` may read.
        """
        check_id("cycle_id", cycle_id)
        day = check_date("on", on)
        reader = self._runner.reader(by)

        def work(uow: Repositories) -> ProgressReport:
            cycle = readable_cycle(uow, self._runner.policy, reader, cycle_id)
            status = cycle_status(uow, cycle, day, directory=self._runner.directory)
            return cycle.progress(status, day)

        return self._runner.read(work)

    def _readable(self, by: Actor | str, kind: str) -> Callable[[Any], bool]:
        """Whether the reader ``by`` (resolved once, through the directory) may read an object
        of ``kind``."""
        reader = self._runner.reader(by)
        policy = self._runner.policy
        return lambda obj: policy.may_read(reader, kind, obj)


def _owner_then_id(head: StreamHead) -> tuple[str, str]:
    owner = head.columns.get("owner")
    return (owner if isinstance(owner, str) else "", head.id)


def _status_key(status: GoalStatus) -> tuple[str, str]:
    return (status.owner_id, status.goal.id)


def _review_key(review: PlanReview) -> tuple[dt.date, str]:
    return (review.due, review.plan.id)
