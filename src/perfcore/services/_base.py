"""The shape every aggregate's service shares: ``get``, ``create`` and firing one trigger.

Every read names its reader and every command its actor; each gets the object as that person
may see it (:meth:`AggregateService._shown`), and a person who may not read an object is told
it is not there (:class:`~perfcore.errors.NotFound`), whether it is or not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast

from perfcore._aggregate import Aggregate
from perfcore._validate import check_id, check_optional_id
from perfcore.actor import Actor
from perfcore.errors import NotFound, ValidationError
from perfcore.lifecycle import lifecycle_of
from perfcore.services._limited import Limited
from perfcore.services._runner import Runner, Session, repository

__all__ = ["AggregateService"]

A = TypeVar("A", bound=Aggregate)
#: What a reader gets: the object itself, or (for evaluations) a view of it.
V = TypeVar("V")


class AggregateService(Limited, Generic[A, V]):
    """The commands of one aggregate type, each run in its own unit of work.

    Subclasses set :attr:`kind` and write one short method per command, so that each has its
    own signature and docstring; the work is done here. ``A`` is the type, ``V`` what a reader
    gets of it (the type itself, unless :meth:`_shown` says otherwise).
    """

    kind: ClassVar[type[Aggregate]]
    #: The name of the commands' first argument, the object's id (``goal_id``), for errors.
    id_argument: ClassVar[str] = "id"
    #: The fields ``edit`` may change: those the domain's ``edit`` takes.
    editable: ClassVar[frozenset[str]] = frozenset()
    #: The name of what a reader gets, when it is not the type itself (``"EvaluationView"``):
    #: the generated commands (:mod:`perfcore.services._commands`) answer with it.
    view_name: ClassVar[str | None] = None

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    @property
    def _name(self) -> str:
        return lifecycle_of(self.kind).name

    def get(self, id: str, *, by: Actor | str) -> V:
        """The stored object, as ``by`` may see it (the policy's ``read`` rule: see
        :mod:`perfcore.reading`).

        Raises:
            NotFound: nothing is stored under ``id`` that ``by`` may read.
            ValidationError: ``id`` is not an id, or ``by`` not an Actor (or, with a
                directory, an id).
            PermissionDenied: ``by`` claims a role the directory does not give them.
        """
        found = self.find(id, by=by)
        if found is None:
            raise NotFound(self._name, id, self._runner.reader(by).id)
        return found

    def find(self, id: str, *, by: Actor | str) -> V | None:
        """The stored object as ``by`` may see it, or ``None`` when there is none they may
        read."""
        check_id("id", id)
        reader = self._runner.reader(by)
        obj = cast("A | None", self._runner.read(lambda uow: repository(uow, self._name).find(id)))
        if obj is None or not self._runner.policy.may_read(reader, self._name, obj):
            return None
        return self._shown(obj, reader)

    def _shown(self, obj: A, reader: Actor) -> V:
        """What ``reader``, who may read ``obj``, sees of it: the object itself, by default."""
        return cast(V, obj)

    def _result(self, obj: A, by: Actor | str) -> V:
        """A command's result as its actor sees it (:meth:`_shown`); services whose readers all
        see the object whole need not resolve the actor again."""
        return cast(V, obj)

    def _create(
        self,
        *,
        id: str | None,
        by: Actor | str,
        fields: Mapping[str, Any],
        idempotency_key: str | None,
    ) -> V:
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
        created = self._runner.run(f"{self._name}.create", args, work, idempotency_key)
        return self._result(created, by)

    def _fire(
        self,
        id: str,
        trigger: str,
        *,
        by: Actor | str,
        idempotency_key: str | None,
        **arguments: Any,
    ) -> V:
        """Load ``id`` (which the actor must be able to read), run its ``trigger`` command with
        ``arguments`` at the clock's time under the policy, and save the result."""
        check_id(self.id_argument, id)
        kind = cast(type[A], self.kind)

        def work(session: Session) -> A:
            actor = session.actor(by)
            obj = session.load_for(actor, kind, id)
            command: Callable[..., A] = getattr(obj, trigger)
            return session.changed(
                command(by=actor, at=session.at, policy=session.policy, **arguments)
            )

        args = {"id": id, "by": by, **arguments}
        changed = self._runner.run(f"{self._name}.{trigger}", args, work, idempotency_key)
        return self._result(changed, by)

    def _edit(
        self, id: str, fields: Mapping[str, Any], *, by: Actor | str, idempotency_key: str | None
    ) -> V:
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
    ) -> V:
        """Run a command that spans objects (``work`` loads and notes them itself, the one it
        acts on with :meth:`~perfcore.services._runner.Session.load_for`)."""
        changed = self._runner.run(f"{self._name}.{trigger}", args, work, idempotency_key)
        return self._result(changed, args["by"])
