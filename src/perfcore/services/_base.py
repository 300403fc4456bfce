"""The shape every aggregate's service shares: ``get``, ``create`` and firing one trigger."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast

from perfcore._aggregate import Aggregate
from perfcore._validate import check_id, check_optional_id
from perfcore.actor import Actor
from perfcore.errors import ValidationError
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
    #: The name of the commands' first argument, the object's id (``goal_id``), for errors.
    id_argument: ClassVar[str] = "id"
    #: The fields ``edit`` may change: those the domain's ``edit`` takes.
    editable: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    @property
    def _name(self) -> str:
        return lifecycle_of(self.kind).name

    def get(self, id: str) -> A:
        """The stored object.

        Raises:
            NotFound: nothing is stored under ``id``.
            ValidationError: ``id`` is not an id.
        """
        check_id("id", id)
        return cast(A, self._runner.read(lambda uow: repository(uow, self._name).get(id)))

    def find(self, id: str) -> A | None:
        """The stored object, or ``None``."""
        check_id("id", id)
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
        check_optional_id("id", id)
        kind = cast(type[A], self.kind)

        def work(session: Session) -> A:
            actor = session.actor(by)
            new_id = id if id is not None else session.new_id(self._name)
            create: Callable[..., A] = cast(Any, kind).create
            obj = create(id=new_id, by=actor, at=session.at, policy=session.policy, **fields)
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
        check_id(self.id_argument, id)
        kind = cast(type[A], self.kind)

        def work(session: Session) -> A:
            actor = session.actor(by)
            obj = session.load(kind, id)
            command: Callable[..., A] = getattr(obj, trigger)
            return session.changed(
                command(by=actor, at=session.at, policy=session.policy, **arguments)
            )

        args = {"id": id, "by": by, **arguments}
        return self._runner.run(f"{self._name}.{trigger}", args, work, idempotency_key)

    def _edit(
        self, id: str, fields: Mapping[str, Any], *, by: Actor, idempotency_key: str | None
    ) -> A:
        """Fire ``edit`` with ``fields``, each of which must be one of :attr:`editable`:
        checked before anything else, so that no name reaches a keyword of its own (``id``,
        ``by``, ``at``, ``policy``) or a field no command may set (``version``, ``state``)."""
        unknown = sorted(name for name in fields if name not in self.editable)
        if unknown:
            raise ValidationError(
                unknown[0], f"cannot be edited; editable: {', '.join(sorted(self.editable))}"
            )
        if not fields:
            raise ValidationError("fields", "name at least one field to change")
        return self._fire(id, "edit", by=by, idempotency_key=idempotency_key, **fields)

    def _run(
        self,
        trigger: str,
        args: Mapping[str, Any],
        work: Callable[[Session], A],
        idempotency_key: str | None,
    ) -> A:
        """Run a command that spans objects (``work`` loads and notes them itself)."""
        return self._runner.run(f"{self._name}.{trigger}", args, work, idempotency_key)
