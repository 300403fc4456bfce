"""The machinery every command shares: one unit of work, the audit chain, the outbox, idempotency.

A service method describes its command as a function of a :class:`Session` (load objects, fire
domain commands, note what changed) and hands it to :meth:`Runner.run`, which does the rest in
one unit of work: saves each changed object with the version it was loaded at, chains the new
events onto the audit log, writes the notifications they call for, remembers the idempotency key,
and commits. Anything that raises before the commit leaves the store as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import attrs

from perfcore._aggregate import Aggregate
from perfcore._codec import to_json_data
from perfcore.audit import chain
from perfcore.errors import ConcurrencyError, IdempotencyConflict, ValidationError
from perfcore.events import Event
from perfcore.lifecycle import lifecycle_of
from perfcore.policy import Policy
from perfcore.ports import (
    AUDIT_LOG,
    IDEMPOTENCY_KEY,
    Clock,
    IdempotencyRecord,
    IdFactory,
    Repository,
    Store,
    UnitOfWork,
)
from perfcore.services._notifications import notifications_for

__all__ = ["Runner", "Session"]

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

#: How many times a command runs when the only conflict is the audit log's sequence or its own
#: idempotency key: neither means that an object it changed was changed by someone else.
ATTEMPTS = 10

#: The unit of work's attribute that holds each aggregate type's repository.
REPOSITORIES = {
    "JobDescription": "job_descriptions",
    "Goal": "goals",
    "Plan": "plans",
    "Evaluation": "evaluations",
    "ReviewCycle": "cycles",
}


def repository(uow: UnitOfWork, kind: str) -> Repository[Any]:
    """The unit of work's repository for aggregate type ``kind``."""
    try:
        found: Repository[Any] = getattr(uow, REPOSITORIES[kind])
    except KeyError:
        raise ValidationError(
            "kind", f"{kind!r} is not an aggregate type perfcore stores"
        ) from None
    return found


def _jsonable(value: Any) -> Any:
    """What ``json`` cannot write itself: sets (sorted) and whatever the converter knows."""
    if isinstance(value, set | frozenset):
        return sorted((to_json_data(item) for item in value), key=repr)
    data = to_json_data(value)
    if data is value:
        raise TypeError(f"{type(value).__name__} is not JSON data")
    return data


def fingerprint(command: str, args: Mapping[str, Any]) -> str:
    """A hash of a command's name and arguments, to tell a repeated request from a new one."""
    try:
        # json's own writer, with the converter as fallback: nested attrs objects (an Actor's
        # roles) keep their sets, which only the fallback can order.
        text = json.dumps(
            {"command": command, "args": to_json_data(dict(args))},
            sort_keys=True,
            separators=(",", ":"),
            default=_jsonable,
        )
    except (TypeError, ValueError) as error:
        raise ValidationError("args", f"cannot be fingerprinted for idempotency: {error}") from None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.define
class _Loaded:
    version: int | None
    current: Aggregate


class Session:
    """What one command sees: the unit of work, the time, the policy, and what it changed.

    Attributes:
        uow: the unit of work (for queries the command needs).
        at: the command's time, from the clock, the same for every object it changes.
        policy: the policy in force.
    """

    def __init__(self, uow: UnitOfWork, at: dt.datetime, policy: Policy, ids: IdFactory) -> None:
        self.uow = uow
        self.at = at
        self.policy = policy
        self._ids = ids
        self._objects: dict[tuple[str, str], _Loaded] = {}

    def load(self, kind: type[A], id: str) -> A:
        """The object as this command last left it, or as stored.

        Raises:
            NotFound: nothing of that type is stored under ``id``.
        """
        name = lifecycle_of(kind).name
        known = self._objects.get((name, id))
        if known is not None:
            return cast(A, known.current)
        obj = cast(A, repository(self.uow, name).get(id))
        self._objects[(name, id)] = _Loaded(obj.version, obj)
        return obj

    def find(self, kind: type[A], id: str) -> A | None:
        """Like :meth:`load`, or ``None`` when nothing is stored under ``id``."""
        name = lifecycle_of(kind).name
        if (name, id) in self._objects:
            return self.load(kind, id)
        found = cast("A | None", repository(self.uow, name).find(id))
        if found is not None:
            self._objects[(name, id)] = _Loaded(found.version, found)
        return found

    def new_id(self, kind: str) -> str:
        """A new id from the id factory."""
        return self._ids.new_id(kind)

    def changed(self, obj: A) -> A:
        """Note ``obj`` (loaded, or new) as changed by this command; returns it."""
        key = (lifecycle_of(type(obj)).name, obj.id)
        known = self._objects.get(key)
        if known is None:
            self._objects[key] = _Loaded(None, obj)
        else:
            known.current = obj
        return obj

    def flush(self) -> list[tuple[Aggregate, list[Event]]]:
        """Write every changed object (``add`` or a version-checked ``save``) and return each
        with its new events, in the order they were first touched."""
        written: list[tuple[Aggregate, list[Event]]] = []
        for (kind, _id), loaded in self._objects.items():
            obj = loaded.current
            base = loaded.version
            if base == obj.version:
                continue
            repo = repository(self.uow, kind)
            if base is None:
                repo.add(obj)
            else:
                repo.save(obj, expected_version=base)
            written.append((obj, list(obj.history[base or 0 :])))
        return written


@attrs.frozen(kw_only=True)
class Runner:
    """Runs commands: one unit of work each, retried only when that is safe."""

    store: Store
    clock: Clock
    ids: IdFactory
    policy: Policy
    audit_key: bytes | None = None

    def run(
        self,
        command: str,
        args: Mapping[str, Any],
        work: Callable[[Session], A],
        idempotency_key: str | None = None,
    ) -> A:
        """Run ``work`` in a unit of work and commit what it changed, with its audit entries,
        notifications and idempotency record; return what ``work`` returned.

        Raises:
            IdempotencyConflict: the key was used for another command or other arguments.
            ConcurrencyError: an object this command changed was saved by someone else first.
            PerfcoreError: whatever the domain command raised (nothing is written).
        """
        if idempotency_key is not None and (
            not isinstance(idempotency_key, str) or not idempotency_key.strip()
        ):
            raise ValidationError("idempotency_key", "must be non-blank text or None")
        digest = fingerprint(command, args) if idempotency_key is not None else ""
        attempt = 1
        while True:
            try:
                return self._attempt(work, idempotency_key, digest)
            except ConcurrencyError as error:
                retriable = error.aggregate_type in (AUDIT_LOG, IDEMPOTENCY_KEY)
                if not retriable or attempt >= ATTEMPTS:
                    raise
                attempt += 1

    def read(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run a query in a unit of work that writes nothing."""
        with self.store.unit_of_work() as uow:
            return work(uow)

    def _attempt(self, work: Callable[[Session], A], key: str | None, digest: str) -> A:
        with self.store.unit_of_work() as uow:
            if key is not None:
                record = uow.idempotency.get(key)
                if record is not None:
                    return cast(A, _first_result(uow, record, digest))
            session = Session(uow, self.clock.now(), self.policy, self.ids)
            result = work(session)
            written = session.flush()
            self._record(uow, written)
            if key is not None:
                uow.idempotency.put(_record_of(key, digest, result, session.at))
            uow.commit()
            return result

    def _record(self, uow: UnitOfWork, written: list[tuple[Aggregate, list[Event]]]) -> None:
        """Chain the new events onto the audit log; put the notifications they call for."""
        events = [event for _obj, new in written for event in new]
        if events:
            uow.audit.append(chain(events, uow.audit.last(), key=self.audit_key))
        for obj, new in written:
            for event in new:
                for notification in notifications_for(obj, event, self.ids):
                    uow.outbox.put(notification)


def _record_of(key: str, digest: str, result: Aggregate, at: dt.datetime) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=key,
        fingerprint=digest,
        aggregate_type=lifecycle_of(type(result)).name,
        aggregate_id=result.id,
        version=result.version,
        at=at,
    )


def _first_result(uow: UnitOfWork, record: IdempotencyRecord, digest: str) -> Aggregate:
    """The object as the first command with this key left it (replayed if it moved on)."""
    if record.fingerprint != digest:
        raise IdempotencyConflict(record.key, record)
    current: Aggregate = repository(uow, record.aggregate_type).get(record.aggregate_id)
    if current.version == record.version:
        return current
    return type(current).replay(current.history[: record.version])
