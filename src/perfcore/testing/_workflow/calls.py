"""Commands as data: one call of a service method, and what became of it.

A :class:`Call` names a service (``"goals"``), a method (``"approve"``), the object it acts on
and its keyword arguments, so that the same call can run against two services (the store under
test and the reference) and be printed in a failing example as the code that ran.

Its assertions say what broke in words of their own; pytest is asked not to rewrite them
(PYTEST_DONT_REWRITE), so that a failing run prints the same few lines under pytest as anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from perfcore._aggregate import Aggregate
from perfcore.actor import Actor
from perfcore.errors import (
    GuardFailed,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    ValidationError,
)
from perfcore.lifecycle import lifecycle_of
from perfcore.services import Perfcore, service_names
from perfcore.services._runner import scoped_key
from perfcore.services.surveys import SurveyView
from perfcore.visibility import ReviewerView, SubjectView

__all__ = ["REFUSALS", "SERVICES", "Call", "Outcome"]

#: The errors that mean "refused": the command was wrong, not the store. Anything else a command
#: raises (a ConcurrencyError with nobody else writing, a StorageError) fails the test.
REFUSALS = (ValidationError, TransitionNotAllowed, PermissionDenied, GuardFailed, NotFound)

#: What a command may answer besides the object: a reader's view of it, and its type's name.
VIEWS: dict[type, str] = {
    SubjectView: "Evaluation",
    ReviewerView: "Evaluation",
    SurveyView: "Survey",
}

#: Each aggregate type's service on :class:`~perfcore.services.Perfcore`.
SERVICES = service_names()


def _shown(value: Any) -> str:
    return value.id if isinstance(value, Actor) else repr(value)


@attrs.frozen(repr=False)
class Call:
    """One call of a service method: ``pc.<service>.<method>(<target>, **args)``.

    Attributes:
        service: the attribute of :class:`~perfcore.services.Perfcore` ("goals").
        method: the service's method ("approve").
        target: the id of the object the method acts on, or ``None`` (a ``create``).
        args: the keyword arguments, ``by`` among them.

    .. versionadded:: 0.1.0
    """

    service: str
    method: str
    target: str | None
    args: Mapping[str, Any]

    @property
    def by(self) -> Actor:
        """Who makes the call."""
        actor: Actor = self.args["by"]
        return actor

    @property
    def idempotency_key(self) -> str | None:
        """The call's idempotency key, if it has one."""
        key: str | None = self.args.get("idempotency_key")
        return key

    @property
    def stored_key(self) -> str | None:
        """The key its idempotency record is stored under: the caller's, within their own."""
        key = self.idempotency_key
        return None if key is None else scoped_key(self.by.id, key)

    def with_key(self, key: str) -> Call:
        """The same call, with an idempotency key."""
        return attrs.evolve(self, args={**self.args, "idempotency_key": key})

    def run(self, pc: Perfcore) -> Any:
        """Call the method on ``pc``'s service, returning what it returns."""
        method = getattr(getattr(pc, self.service), self.method)
        if self.target is None:
            return method(**self.args)
        return method(self.target, **self.args)

    def __repr__(self) -> str:
        shown = [repr(self.target)] if self.target is not None else []
        shown += [f"{name}={_shown(value)}" for name, value in self.args.items()]
        return f"pc.{self.service}.{self.method}({', '.join(shown)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis would print an attrs record field by field: the code that ran reads better.
        printer.text(repr(self))


@attrs.frozen(kw_only=True)
class Outcome:
    """What a call did: the object it returned, or the refusal it raised.

    Attributes:
        result: the returned object, or the view of it the caller may see (the subject's or a
            reviewer's view of an evaluation); ``None`` when refused.
        refusal: ``"ErrorType: message"`` when refused, else ``""``.

    .. versionadded:: 0.1.0
    """

    result: Aggregate | SubjectView | ReviewerView | SurveyView | None = None
    refusal: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """The (type name, id) of the object the call returned."""
        result = self.result
        assert result is not None, "a refused call returned nothing"
        if isinstance(result, Aggregate):
            return (lifecycle_of(type(result)).name, result.id)
        return (VIEWS[type(result)], result.id)

    @property
    def accepted(self) -> bool:
        """Whether the call was accepted."""
        return self.result is not None

    @classmethod
    def of(cls, call: Call, pc: Perfcore) -> Outcome:
        """Run ``call`` on ``pc``; a refusal becomes an outcome, any other error propagates."""
        try:
            result = call.run(pc)
        except REFUSALS as error:
            return cls(refusal=f"{type(error).__name__}: {error}")
        assert isinstance(result, Aggregate) or type(result) in VIEWS, (
            f"{call!r} returned {result!r}"
        )
        return cls(result=result)
