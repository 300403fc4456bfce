"""The repositories the services read through: each aggregate type's objects, found by the
query columns of their stream heads and loaded through :class:`~perfcore.streams.Streams`.

A store implements none of this: it keeps streams (:mod:`perfcore.ports`), and perfcore turns
them back into objects here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from perfcore._aggregate import Aggregate
from perfcore.errors import NotFound
from perfcore.lifecycle import lifecycle_of
from perfcore.ports import (
    EventStore,
    IdempotencyStore,
    IndexValue,
    Outbox,
    SealLog,
    SnapshotStore,
)
from perfcore.streams import Streams

if TYPE_CHECKING:
    from perfcore.evaluation import Evaluation
    from perfcore.goal import Goal
    from perfcore.job_description import JobDescription
    from perfcore.plan import Plan
    from perfcore.review_cycle import ReviewCycle

__all__ = ["Repositories", "Repository"]

A = TypeVar("A", bound=Aggregate)


class Repository(Generic[A]):
    """One aggregate type's objects, read in one unit of work."""

    def __init__(self, streams: Streams, kind: str) -> None:
        self._streams = streams
        self.kind = kind

    def get(self, id: str) -> A:
        """The stored object.

        Raises:
            NotFound: nothing of this type is stored under ``id``.
        """
        found = self.find(id)
        if found is None:
            raise NotFound(self.kind, id)
        return found

    def find(self, id: str) -> A | None:
        """The stored object, or ``None``."""
        return cast("A | None", self._streams.load(self.kind, id))

    def by_state(self, state: str) -> list[A]:
        """Every stored object in ``state``, ordered by id."""
        return self._by("state", str(state))

    def _by(
        self, column: str, value: IndexValue, order: Callable[[A], Any] | None = None
    ) -> list[A]:
        found = cast("list[A]", self._streams.find(self.kind, column, value))
        return found if order is None else sorted(found, key=order)


class JobDescriptions(Repository["JobDescription"]):
    """Job descriptions."""

    def by_lineage(self, lineage_id: str) -> list[JobDescription]:
        """Every number of one lineage, ordered by number."""
        return self._by("lineage", lineage_id, lambda jd: jd.number)

    def by_employee(self, employee_id: str) -> list[JobDescription]:
        """Every description written for one employee, ordered by lineage, then number."""
        return self._by("employee", employee_id, lambda jd: (jd.lineage_id, jd.number))


class Goals(Repository["Goal"]):
    """Goals."""

    def by_owner(self, owner_id: str) -> list[Goal]:
        """Every goal of one person, ordered by id."""
        return self._by("owner", owner_id)

    def by_manager(self, manager_id: str) -> list[Goal]:
        """Every goal one manager oversees, ordered by id."""
        return self._by("manager", manager_id)


class Plans(Repository["Plan"]):
    """Plans."""

    def by_subject(self, subject_id: str) -> list[Plan]:
        """Every plan for one employee or team, ordered by id."""
        return self._by("subject", subject_id)

    def by_cycle(self, cycle_id: str) -> list[Plan]:
        """Every plan of one review cycle, ordered by id."""
        return self._by("cycle", cycle_id)


class Evaluations(Repository["Evaluation"]):
    """Evaluations."""

    def by_subject(self, subject_id: str) -> list[Evaluation]:
        """Every evaluation of one person, ordered by id."""
        return self._by("subject", subject_id)

    def by_cycle(self, cycle_id: str) -> list[Evaluation]:
        """Every evaluation of one review cycle, ordered by id."""
        return self._by("cycle", cycle_id)


class Repositories:
    """What a command or a query reads through: a repository per aggregate type, and the unit
    of work's outbox, idempotency keys, events, snapshots and seals."""

    def __init__(self, streams: Streams) -> None:
        self.streams = streams
        uow = streams.uow
        self.job_descriptions = JobDescriptions(streams, "JobDescription")
        self.goals = Goals(streams, "Goal")
        self.plans = Plans(streams, "Plan")
        self.evaluations = Evaluations(streams, "Evaluation")
        self.cycles: Repository[ReviewCycle] = Repository(streams, "ReviewCycle")
        self._by_kind: dict[str, Repository[Any]] = {
            repository.kind: repository
            for repository in (
                self.job_descriptions,
                self.goals,
                self.plans,
                self.evaluations,
                self.cycles,
            )
        }
        self.outbox: Outbox = uow.outbox
        self.idempotency: IdempotencyStore = uow.idempotency
        self.events: EventStore = uow.events
        self.snapshots: SnapshotStore = uow.snapshots
        self.seals: SealLog = uow.seals

    def of(self, kind: str) -> Repository[Any]:
        """The repository of aggregate type ``kind``: one of the above, or a plain
        :class:`Repository` for any other registered type."""
        found = self._by_kind.get(kind)
        if found is None:
            lifecycle_of(kind)  # the readable error for a name that is not a type
            found = self._by_kind[kind] = Repository(self.streams, kind)
        return found
