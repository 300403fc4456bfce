"""Reports per department and per person, as of any day: who is meeting their goals and who is
not, which plans are due, what support plans have promised, safety-critical shortfalls, and
each person's career path.

Every report names its reader (``by=``) and holds only objects the policy lets them read (HR
hears of everyone, a manager of their own line). "As of" a day means as the records stood at
the end of that day (UTC), as for the manager queries: an object changed since is replayed
from the events recorded by then.

A person's objects are found by the store's indexed columns (``owner``, ``subject``); a
department's, by state, keeping only those whose person is in the department in the directory
that day before any is decoded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import attrs

from perfcore._validate import check_date, check_optional_id, check_page, shown
from perfcore.actor import Actor
from perfcore.errors import ValidationError
from perfcore.evaluation import Evaluation, SafetyShortfall
from perfcore.goal import Goal, GoalState, Horizon, Standing
from perfcore.plan import Plan, PlanKind, PlanState, Support
from perfcore.ports import StreamHead
from perfcore.repositories import Repositories
from perfcore.services._as_of import as_of
from perfcore.services._runner import Runner
from perfcore.services.queries import GoalStatus, PlanReview

__all__ = [
    "CareerPath",
    "DepartmentSummary",
    "PersonGoals",
    "Reports",
    "SafetyReport",
    "SupportPromise",
]

#: The states a goal is in now if it was ever under way.
_ONCE_ACTIVE = tuple(
    state.value
    for state in (GoalState.ACTIVE, GoalState.ACHIEVED, GoalState.MISSED, GoalState.CANCELLED)
)
#: The states a plan is in now if it was ever approved.
_ONCE_APPROVED = tuple(
    state.value
    for state in (
        PlanState.APPROVED,
        PlanState.ACTIVE,
        PlanState.IN_REVIEW,
        PlanState.ATTAINED,
        PlanState.CLOSED,
        PlanState.CANCELLED,
    )
)
#: The plan states in which its support is promised: approved and not yet over.
_PROMISING = frozenset({PlanState.APPROVED, PlanState.ACTIVE, PlanState.IN_REVIEW})
#: The evaluation states in which its result was final.
_RELEASED = ("finalized", "acknowledged", "disputed")
_MEETING = frozenset({Standing.ON_TRACK, Standing.ACHIEVED})
_NOT_MEETING = frozenset({Standing.BEHIND, Standing.MISSED})


@attrs.frozen(kw_only=True)
class PersonGoals:
    """How one person stood on their goals on a day.

    Attributes:
        person_id: whose goals.
        department: their department in the directory that day (``None`` without one).
        on: the day.
        goals: each of their goals the reader may read that existed then, with its standing.
    """

    person_id: str
    department: str | None
    on: dt.date
    goals: tuple[GoalStatus, ...]

    @property
    def meeting(self) -> tuple[GoalStatus, ...]:
        """The goals on track or achieved."""
        return tuple(status for status in self.goals if status.standing in _MEETING)

    @property
    def not_meeting(self) -> tuple[GoalStatus, ...]:
        """The goals behind or missed."""
        return tuple(status for status in self.goals if status.standing in _NOT_MEETING)

    @property
    def meets_goals(self) -> bool:
        """Whether no goal of theirs is behind or missed."""
        return not self.not_meeting


@attrs.frozen(kw_only=True)
class SupportPromise:
    """What one plan promised, as it stood on a day."""

    plan_id: str
    subject_id: str
    kind: PlanKind
    state: PlanState
    department: str | None
    support: tuple[Support, ...]


@attrs.frozen(kw_only=True)
class SafetyReport:
    """One safety-critical shortfall as it stood on a day: an evaluation that rated
    safety-critical criteria below their required level, or a safety-critical goal missed or
    behind.

    Attributes:
        aggregate_type, aggregate_id: the evaluation or the goal.
        person_id: whose shortfall.
        department: their department in the directory that day.
        criteria: the evaluation's shortfalls (none for a goal).
        standing: the goal's standing (``None`` for an evaluation).
        improvement_plan_id: the plan linked to the evaluation, if any.
    """

    aggregate_type: str
    aggregate_id: str
    person_id: str
    department: str | None
    criteria: tuple[SafetyShortfall, ...] = ()
    standing: Standing | None = None
    improvement_plan_id: str | None = None


@attrs.frozen(kw_only=True)
class CareerPath:
    """A person's career path on a day: the roles their development plans lead toward, the
    plans, and their long-term goals with how each stands.

    Attributes:
        person_id: whose path.
        target_role_ids: the roles, in the plans' order, each once.
        plans: the development plans with a target role the reader may read.
        long_term_goals: their long-term goals the reader may read, with their standing.
    """

    person_id: str
    on: dt.date
    target_role_ids: tuple[str, ...]
    plans: tuple[Plan, ...]
    long_term_goals: tuple[GoalStatus, ...]


@attrs.frozen(kw_only=True)
class DepartmentSummary:
    """One department on a day: who is meeting their goals and who is not, the plans due for
    review, and the safety-critical shortfalls (each counted among what the reader may read).
    """

    department: str
    on: dt.date
    meeting: tuple[str, ...]
    not_meeting: tuple[str, ...]
    plans_due: int
    safety_shortfalls: int


class Reports:
    """Reports per department and per person (see the module's documentation)."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    # -- goals ----------------------------------------------------------------------------------

    def goals(
        self,
        *,
        by: Actor | str,
        on: dt.date,
        department: str | None = None,
        person_id: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[PersonGoals]:
        """Who is meeting their goals on day ``on`` and who is not: one entry per person with a
        goal the reader may read, in the whole organisation, one ``department`` or for one
        person; ordered by person id (``after`` takes the last id of the previous page).

        Raises:
            ValidationError: a department is asked for without a directory; a bad argument.
        """
        day, scope = self._scope(on, department, person_id, limit, after)
        readable = self._readable(by)

        def work(uow: Repositories) -> list[PersonGoals]:
            grouped: dict[str, list[GoalStatus]] = {}
            for goal in self._goals(uow, day, scope, readable, after):
                grouped.setdefault(goal.owner_id, []).append(GoalStatus.of(goal, day))
            found = [
                PersonGoals(
                    person_id=person,
                    department=scope.department_of(person),
                    on=day,
                    goals=tuple(sorted(grouped[person], key=lambda s: s.goal.id)),
                )
                for person in sorted(grouped)
            ]
            return found if limit is None else found[:limit]

        return self._runner.read(work)

    # -- plans ----------------------------------------------------------------------------------

    def plans_due(
        self,
        *,
        by: Actor | str,
        on: dt.date,
        department: str | None = None,
        person_id: str | None = None,
    ) -> list[PlanReview]:
        """The plans whose review was due by day ``on`` (active that day, their next review on
        or before it), in the whole organisation, one ``department`` (the subject's) or for one
        person; ordered by due day, then plan id."""
        day, scope = self._scope(on, department, person_id, None, None)
        readable = self._readable(by)

        def work(uow: Repositories) -> list[PlanReview]:
            found = []
            for plan in self._plans(uow, day, scope, readable):
                due = plan.review_due
                if plan.state is PlanState.ACTIVE and due is not None and due <= day:
                    found.append(PlanReview(plan=plan, due=due))
            found.sort(key=lambda review: (review.due, review.plan.id))
            return found

        return self._runner.read(work)

    def support(
        self,
        *,
        by: Actor | str,
        on: dt.date,
        department: str | None = None,
        person_id: str | None = None,
    ) -> list[SupportPromise]:
        """What support plans had promised on day ``on``: every plan approved and not yet over
        that day that promises support, in the whole organisation, one ``department`` or for
        one person; ordered by plan id."""
        day, scope = self._scope(on, department, person_id, None, None)
        readable = self._readable(by)

        def work(uow: Repositories) -> list[SupportPromise]:
            found = [
                SupportPromise(
                    plan_id=plan.id,
                    subject_id=plan.subject_id,
                    kind=plan.kind,
                    state=plan.state,
                    department=scope.department_of(plan.subject_id),
                    support=plan.support,
                )
                for plan in self._plans(uow, day, scope, readable)
                if plan.state in _PROMISING and plan.support
            ]
            found.sort(key=lambda promise: promise.plan_id)
            return found

        return self._runner.read(work)

    # -- safety ---------------------------------------------------------------------------------

    def safety_shortfalls(
        self,
        *,
        by: Actor | str,
        on: dt.date,
        department: str | None = None,
        person_id: str | None = None,
    ) -> list[SafetyReport]:
        """The safety-critical shortfalls as they stood on day ``on``: evaluations whose final
        result rated a safety-critical criterion below its required level, and safety-critical
        goals missed or behind; in the whole organisation, one ``department`` or for one
        person; ordered by department, person, type and id."""
        day, scope = self._scope(on, department, person_id, None, None)
        readable = self._readable(by)

        def work(uow: Repositories) -> list[SafetyReport]:
            found: list[SafetyReport] = []
            heads = self._heads(uow, "Evaluation", "subject", _RELEASED, scope)
            for evaluation in self._as_of(uow, heads, day, readable, "Evaluation"):
                evaluation = cast(Evaluation, evaluation)
                shortfalls = evaluation.safety_shortfalls()
                if evaluation.released and shortfalls:
                    found.append(
                        SafetyReport(
                            aggregate_type="Evaluation",
                            aggregate_id=evaluation.id,
                            person_id=evaluation.subject_id,
                            department=scope.department_of(evaluation.subject_id),
                            criteria=shortfalls,
                            improvement_plan_id=evaluation.improvement_plan_id,
                        )
                    )
            for goal in self._goals(uow, day, scope, readable, None):
                standing = goal.standing(day)
                if goal.safety_critical and standing in _NOT_MEETING:
                    found.append(
                        SafetyReport(
                            aggregate_type="Goal",
                            aggregate_id=goal.id,
                            person_id=goal.owner_id,
                            department=scope.department_of(goal.owner_id),
                            standing=standing,
                        )
                    )
            found.sort(
                key=lambda item: (
                    item.department or "",
                    item.person_id,
                    item.aggregate_type,
                    item.aggregate_id,
                )
            )
            return found

        return self._runner.read(work)

    # -- departments ----------------------------------------------------------------------------

    def departments(self, *, by: Actor | str, on: dt.date) -> list[DepartmentSummary]:
        """Each department on day ``on`` (the people's departments in the directory that day):
        who is meeting their goals and who is not, how many plans were due for review and how
        many safety-critical shortfalls stood; ordered by department.

        Raises:
            ValidationError: perfcore was given no directory.
        """
        if self._runner.directory is None:
            raise ValidationError("department", "perfcore was made without a directory")
        people = self.goals(by=by, on=on)
        due = self.plans_due(by=by, on=on)
        safety = self.safety_shortfalls(by=by, on=on)
        scope = _Scope(self._runner, check_date("on", on), None, None)
        names: set[str] = set()
        meeting: dict[str, list[str]] = {}
        missing: dict[str, list[str]] = {}
        for person in people:
            if person.department is None:
                continue
            names.add(person.department)
            side = meeting if person.meets_goals else missing
            side.setdefault(person.department, []).append(person.person_id)
        plans: dict[str, int] = {}
        for review in due:
            name = scope.department_of(review.plan.subject_id)
            if name is not None:
                names.add(name)
                plans[name] = plans.get(name, 0) + 1
        shortfalls: dict[str, int] = {}
        for item in safety:
            if item.department is not None:
                names.add(item.department)
                shortfalls[item.department] = shortfalls.get(item.department, 0) + 1
        return [
            DepartmentSummary(
                department=name,
                on=scope.day,
                meeting=tuple(meeting.get(name, ())),
                not_meeting=tuple(missing.get(name, ())),
                plans_due=plans.get(name, 0),
                safety_shortfalls=shortfalls.get(name, 0),
            )
            for name in sorted(names)
        ]

    # -- career paths ---------------------------------------------------------------------------

    def career_path(self, person_id: str, *, by: Actor | str, on: dt.date) -> CareerPath:
        """``person_id``'s career path on day ``on``: the development plans with a target
        role (any state but cancelled) and their long-term goals, those the reader may read."""
        day, scope = self._scope(on, None, person_id, None, None)
        readable = self._readable(by)
        person = cast(str, scope.person_id)

        def work(uow: Repositories) -> CareerPath:
            plans = [
                cast(Plan, plan)
                for plan in self._as_of(
                    uow, list(uow.events.find("Plan", "subject", person)), day, readable, "Plan"
                )
                if plan.target_role_id is not None and plan.state is not PlanState.CANCELLED
            ]
            plans.sort(key=lambda plan: plan.id)
            goals = [
                GoalStatus.of(goal, day)
                for goal in self._goals(uow, day, scope, readable, None)
                if goal.horizon is Horizon.LONG
            ]
            roles = tuple(dict.fromkeys(cast(str, plan.target_role_id) for plan in plans))
            return CareerPath(
                person_id=person,
                on=day,
                target_role_ids=roles,
                plans=tuple(plans),
                long_term_goals=tuple(sorted(goals, key=lambda status: status.goal.id)),
            )

        return self._runner.read(work)

    # -- shared ---------------------------------------------------------------------------------

    def _scope(
        self,
        on: dt.date,
        department: str | None,
        person_id: str | None,
        limit: int | None,
        after: str | None,
    ) -> tuple[dt.date, _Scope]:
        day = check_date("on", on)
        check_optional_id("department", department)
        check_optional_id("person_id", person_id)
        check_optional_id("after", after)
        if limit is not None:
            check_page("limit", limit)
        if department is not None and self._runner.directory is None:
            raise ValidationError("department", "perfcore was made without a directory")
        if department is not None and person_id is not None:
            raise ValidationError(
                "person_id", f"ask for a department or a person, not both ({shown(department)})"
            )
        return day, _Scope(self._runner, day, department, person_id)

    def _readable(self, by: Actor | str) -> Callable[[str, Any], bool]:
        reader = self._runner.reader(by)
        policy = self._runner.policy
        return lambda kind, obj: policy.may_read(reader, kind, obj)

    def _heads(
        self, uow: Repositories, kind: str, column: str, states: Iterable[str], scope: _Scope
    ) -> list[StreamHead]:
        if scope.person_id is not None:
            wanted = set(states)
            return [
                head
                for head in uow.events.find(kind, column, scope.person_id)
                if head.state in wanted
            ]
        return [
            head
            for state in states
            for head in uow.events.find(kind, "state", state)
            if scope.admits(head.columns.get(column))
        ]

    def _as_of(
        self,
        uow: Repositories,
        heads: Iterable[StreamHead],
        day: dt.date,
        readable: Callable[[str, Any], bool],
        kind: str,
    ) -> Iterator[Any]:
        for head in heads:
            obj = uow.streams.load_head(head)
            if not readable(kind, obj):
                continue
            then = as_of(obj, day, uow.streams)
            if then is not None:
                yield then

    def _goals(
        self,
        uow: Repositories,
        day: dt.date,
        scope: _Scope,
        readable: Callable[[str, Any], bool],
        after: str | None,
    ) -> Iterator[Goal]:
        heads = self._heads(uow, "Goal", "owner", _ONCE_ACTIVE, scope)
        if after is not None:
            heads = [head for head in heads if str(head.columns.get("owner")) > after]
        for goal in self._as_of(uow, heads, day, readable, "Goal"):
            goal = cast(Goal, goal)
            if goal.state is not GoalState.DRAFT and goal.state is not GoalState.PROPOSED:
                yield goal

    def _plans(
        self,
        uow: Repositories,
        day: dt.date,
        scope: _Scope,
        readable: Callable[[str, Any], bool],
    ) -> Iterator[Plan]:
        heads = self._heads(uow, "Plan", "subject", _ONCE_APPROVED, scope)
        for plan in self._as_of(uow, heads, day, readable, "Plan"):
            yield cast(Plan, plan)


class _Scope:
    """Whom a report is about: everyone, one department (by the directory on its day) or one
    person; each person's department looked up once."""

    def __init__(
        self, runner: Runner, day: dt.date, department: str | None, person_id: str | None
    ) -> None:
        self.day = day
        self.department = department
        self.person_id = person_id
        self._directory = runner.directory
        self._known: dict[str, str | None] = {}

    def department_of(self, person_id: object) -> str | None:
        if self._directory is None or not isinstance(person_id, str):
            return None
        if person_id not in self._known:
            person = self._directory.person(person_id, self.day)
            self._known[person_id] = None if person is None else person.department
        return self._known[person_id]

    def admits(self, person_id: object) -> bool:
        if self.person_id is not None:
            return person_id == self.person_id
        if self.department is None:
            return True
        return self.department_of(person_id) == self.department
