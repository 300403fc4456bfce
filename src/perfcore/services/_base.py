"""The shape every aggregate's service shares: ``get``, ``create`` and firing one trigger."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.lifecycle import lifecycle_of
from perfcore.services._runner import Runner, Session, repository

__all__ = ["AggregateService"]

A = TypeVar("A", bound=Aggregate)


class AggregateService(Generic[A]):
    """The commands of one aggregate type, each run in its own unit of work.

    Subclasses set :attr:`kind` and write one short method per command, so that each has its
    own signature and docstring; the work is done here.
    """

    kind: ClassVar[type[Aggregate]]

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    @property
    def _name(self) -> str:
        return lifecycle_of(self.kind).name

    def get(self, id: str) -> A:
        """The stored object.

        Raises:
            NotFound: nothing is stored under ``id``.
        """
        return cast(A, self._runner.read(lambda uow: repository(uow, self._name).get(id)))

    def find(self, id: str) -> A | None:
        """The stored object, or ``None``."""
        return cast("A | None", self._runner.read(lambda uow: repository(uow, self._name).find(id)))

    def _create(
        self,
        *,
        id: str | None,
        by: Actor,
        fields: Mapping[str, Any],
        idempotency_key: str | None,
    ) -> A:
        """Create an object with the type's ``create`` (``id`` from the id factory if None)."""
        kind = cast(type[A], self.kind)

        def work(session: Session) -> A:
            new_id = id if id is not None else session.new_id(self._name)
            create: Callable[..., A] = cast(Any, kind).create
            obj = create(id=new_id, by=by, at=session.at, policy=session.policy, **fields)
            return session.changed(obj)

        args = {"id": id, "by": by, **fields}
        return self._runner.run(f"{self._name}.create", args, work, idempotency_key)

    def _fire(
        self,
        id: str,
        trigger: str,
        *,
        by: Actor,
        idempotency_key: str | None,
        **arguments: Any,
    ) -> A:
        """Load ``id``, run its ``trigger`` command with ``arguments`` at the clock's time under
        the policy, and save the result."""
        kind = cast(type[A], self.kind)

        def work(session: Session) -> A:
            obj = session.load(kind, id)
            command: Callable[..., A] = getattr(obj, trigger)
            return session.changed(
                command(by=by, at=session.at, policy=session.policy, **arguments)
            )

        args = {"id": id, "by": by, **arguments}
        return self._runner.run(f"{self._name}.{trigger}", args, work, idempotency_key)

    def _run(
        self,
        trigger: str,
        args: Mapping[str, Any],
        work: Callable[[Session], A],
        idempotency_key: str | None,
    ) -> A:
        """Run a command that spans objects (``work`` loads and notes them itself)."""
        return self._runner.run(f"{self._name}.{trigger}", args, work, idempotency_key)
