"""The machinery every command shares: one unit of work, the event streams, the outbox, idempotency.

A service method describes its command as a function of a :class:`Session` (load objects, fire
domain commands, note what changed) and hands it to :meth:`Runner.run`, which does the rest in
one unit of work: appends each changed object's new events to its stream with the version it was
loaded at, makes the commit depend on every object it only read being unchanged, writes the
notifications the events call for, remembers the idempotency key, and commits. Anything that
raises before the commit leaves the store as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, cast

import attrs

from perfcore._aggregate import Aggregate, check_actor
from perfcore._codec import to_json_data
from perfcore._collector import paused
from perfcore._validate import check_id, check_optional_id
from perfcore.actor import Actor
from perfcore.directory import Directory, resolve_actor
from perfcore.errors import (
    ConcurrencyError,
    IdempotencyConflict,
    NotFound,
    PerfcoreError,
    StorageError,
    ValidationError,
)
from perfcore.events import Event
from perfcore.lifecycle import lifecycle_of, registered_types
from perfcore.limits import DEFAULT_LIMITS, Limits
from perfcore.policy import Policy
from perfcore.ports import (
    IDEMPOTENCY_KEY,
    Clock,
    IdempotencyRecord,
    IdFactory,
    Store,
    StreamHead,
    UnitOfWork,
)
from perfcore.recording import record
from perfcore.repositories import Repositories, Repository
from perfcore.services._notifications import DEFAULT_NOTIFICATIONS, Notifications
from perfcore.streams import ObjectCache, Streams, aggregate_type

__all__ = ["Bulk", "Runner", "Session", "scoped_key", "stored_kinds"]

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

#: How many times a command runs when the only conflicts are with objects it read but did not
#: change, or with its own idempotency key: running it again re-checks every rule on fresh data.
ATTEMPTS = 10


def stored_kinds() -> tuple[str, ...]:
    """The aggregate types perfcore stores: every registered lifecycle's type."""
    return tuple(
        lifecycle_of(kind).name for kind in registered_types() if issubclass(kind, Aggregate)
    )


def repository(uow: Repositories, kind: str) -> Repository[Any]:
    """The repository for aggregate type ``kind``."""
    if kind not in stored_kinds():
        raise ValidationError("kind", f"{kind!r} is not an aggregate type perfcore stores")
    return uow.of(kind)


def _jsonable(value: Any) -> Any:
    """What ``json`` cannot write itself: sets (sorted) and whatever the converter knows."""
    if isinstance(value, set | frozenset):
        return sorted((to_json_data(item) for item in value), key=repr)
    data = to_json_data(value)
    if data is value:
        raise TypeError(f"{type(value).__name__} is not JSON data")
    return data


def scoped_key(person_id: str, key: str) -> str:
    """The key an idempotency record is stored under: the caller's ``key`` within the acting
    person's own keys, so that one person's key can neither be claimed first nor read back by
    another (the person's id is length-prefixed, so no two pairs give one stored key).

    >>> scoped_key("ana", "req-1")
    '3:ana/req-1'
    """
    return f"{len(person_id)}:{person_id}/{key}"


def _person_of(by: object) -> str:
    """The id a command's ``by`` names (an id, or an Actor's); "" for anything else, which the
    command then refuses when it resolves the actor.

    Raises:
        ValidationError: ``by`` is text that is not an id.
    """
    if isinstance(by, str):
        return check_id("by", by)
    found = getattr(by, "id", "")
    return found if isinstance(found, str) else ""


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


def _resolved(
    directory: Directory, by: Actor | str, on: dt.date, actors: dict[str, Actor]
) -> Actor:
    """:func:`resolve_actor`, remembered in ``actors`` (one command's, or a bulk's for day
    ``on``): a person read once is given again to whoever names them, or claims no more roles
    or another department than the directory gave them."""
    key = by if isinstance(by, str) else getattr(by, "id", None)
    known = actors.get(key) if isinstance(key, str) else None
    if known is not None and (
        isinstance(by, str)
        or (by.roles <= known.roles and by.department in (None, known.department))
    ):
        return known
    found = resolve_actor(directory, by, on)
    actors[found.id] = found
    return found


@attrs.define
class _Loaded:
    version: int | None
    current: Aggregate


@attrs.frozen
class _Claim:
    """An event for a stream that is not an object's: a lineage's numbers, say."""

    kind: str
    id: str
    trigger: str
    payload: Mapping[str, Any]


class Session:
    """What one command sees: the repositories, the time, the policy, and what it changed.

    Attributes:
        uow: the repositories (for queries the command needs).
        at: the command's time, from the clock, the same for every object it changes.
        policy: the policy in force.
    """

    def __init__(
        self,
        uow: Repositories,
        at: dt.datetime,
        policy: Policy,
        ids: IdFactory,
        directory: Directory | None = None,
        bulk: Bulk | None = None,
    ) -> None:
        self.uow = uow
        self._bulk = bulk
        self.at = at
        self.policy = policy
        self._ids = ids
        self._directory = directory
        self._actors: dict[str, Actor] = {}
        self._objects: dict[tuple[str, str], _Loaded] = {}
        self._claims: list[tuple[_Claim, str, StreamHead | None]] = []
        #: Streams whose conflict does not mean that someone changed what this command changed.
        self.read_only: set[tuple[str, str]] = set()

    def actor(self, by: Actor | str) -> Actor:
        """The acting person as the directory has them on the command's day (with their
        relations, which relationship rules read, and the grounds the event records); without a
        directory, the caller's :class:`~perfcore.actor.Actor` as given.

        Raises:
            PermissionDenied: the directory does not know them that day, or they claim a role
                or department it does not give them.
            ValidationError: ``by`` is not an Actor (or, with a directory, an id).
        """
        if self._directory is None:
            return check_actor(by)
        on = self.at.date()
        # A bulk reads each person from the directory once a day it acts on (a cycle's import
        # names the same managers and HR thousands of times), as one command does.
        actors = self._actors if self._bulk is None else self._bulk.actors.setdefault(on, {})
        return _resolved(self._directory, by, on, actors)

    def load(self, kind: type[A], id: str) -> A:
        """The object as this command last left it, or as stored.

        Raises:
            NotFound: nothing of that type is stored under ``id``.
            ValidationError: ``id`` is not an id.
        """
        name = lifecycle_of(kind).name
        known = self._objects.get((name, check_id("id", id)))
        if known is not None:
            return cast(A, known.current)
        obj = cast(A, self.uow.streams.get(name, id))
        self._objects[(name, id)] = _Loaded(obj.version, obj)
        return obj

    def load_for(self, actor: Actor, kind: type[A], id: str) -> A:
        """:meth:`load` the object a command acts on, which ``actor`` must be able to read: to
        anyone else it is not there (:class:`NotFound`, the same as for a missing object), so
        that the command's refusal tells them nothing about it.

        Raises:
            NotFound: nothing of that type is stored under ``id`` that ``actor`` may read.
        """
        name = lifecycle_of(kind).name
        obj = self.find(kind, id)
        if obj is None or not self.policy.may_read(actor, name, obj):
            raise NotFound(name, id, actor.id)
        return obj

    def find(self, kind: type[A], id: str) -> A | None:
        """Like :meth:`load`, or ``None`` when nothing is stored under ``id``."""
        name = lifecycle_of(kind).name
        if (name, check_id("id", id)) in self._objects:
            return self.load(kind, id)
        found = cast("A | None", self.uow.streams.load(name, id))
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

    def claim(self, kind: str, id: str, trigger: str, actor_id: str, **payload: Any) -> None:
        """Append an event to stream ``(kind, id)`` at commit, expecting the version it has
        now: call it *before* reading what the claim protects (a lineage's numbers, say), so
        that two commands that read it at once cannot both commit. A lost race is run again."""
        head = self.uow.events.head(kind, id)
        self._claims.append((_Claim(kind, id, trigger, payload), actor_id, head))
        self.read_only.add((kind, id))

    def flush(self) -> list[tuple[Aggregate, list[Event]]]:
        """Append every changed object's new events, make the commit depend on every object
        only read being unchanged, and return each changed object with its new events, in the
        order they were first touched."""
        streams = self.uow.streams
        written: list[tuple[Aggregate, list[Event]]] = []
        for (kind, id), loaded in self._objects.items():
            obj = loaded.current
            base = loaded.version
            if base == obj.version:
                if self._bulk is None:
                    self.uow.events.expect(kind, id, obj.version)
                else:  # checked at the bulk's commit, unless the bulk changes it itself
                    self._bulk.expected.setdefault((kind, id), obj.version)
                self.read_only.add((kind, id))
                continue
            streams.save(obj, loaded=base)
            written.append((obj, list(obj.events_after(base or 0))))
        claimed: dict[tuple[str, str], StreamHead | None] = {}
        for claim, actor_id, head in self._claims:
            key = (claim.kind, claim.id)
            claimed[key] = self._append_claim(claim, actor_id, claimed.get(key, head))
        return written

    def _append_claim(self, claim: _Claim, actor_id: str, head: StreamHead | None) -> StreamHead:
        version = 0 if head is None else head.version
        event = Event(
            aggregate_type=claim.kind,
            aggregate_id=claim.id,
            version=version + 1,
            trigger=claim.trigger,
            from_state=None if head is None else head.state,
            to_state="open",
            actor_id=actor_id,
            at=self.at,
            payload={"set": to_json_data(dict(claim.payload))},
        )
        recorded = record([event], b"" if head is None else head.hash, self.uow.streams.key)
        new_head = StreamHead(
            kind=claim.kind, id=claim.id, version=version + 1, hash=recorded[0].hash, state="open"
        )
        self.uow.events.append(new_head, recorded, expected_version=version)
        return new_head


class _BulkStreams(Streams):
    """The streams of a bulk: an object a command of the bulk saved is loaded as that command
    left it (uncommitted, so never from the process-wide cache, and never put in it before the
    bulk commits)."""

    def load_head(self, head: StreamHead) -> Aggregate:
        saved = self.saved.get((head.kind, head.id))
        if saved is not None and saved.version == head.version:
            return saved
        return super().load_head(head)


class Bulk:
    """Many commands in one unit of work: see :meth:`perfcore.services.Perfcore.bulk`.

    Attributes:
        commands: how many commands of the bulk were accepted so far.
        refused: how many were refused (each raised where it was called and left nothing).
        events: how many events the accepted commands recorded.
    """

    def __init__(self, uow: UnitOfWork, repositories: Repositories) -> None:
        self.uow = uow
        self.repositories = repositories
        self.commands = 0
        self.refused = 0
        self.events = 0
        #: Streams read but not changed, with the version they were read at.
        self.expected: dict[tuple[str, str], int] = {}
        #: The idempotency keys the bulk's commands used: fingerprint and result.
        self.keys: dict[str, tuple[str, Aggregate, dt.datetime]] = {}
        #: Set when a write failed half-way: the bulk can only be rolled back.
        self.broken: BaseException | None = None
        #: Per day, the acting people the directory gave the bulk's commands (with their
        #: relations), each read from the directory once: the bulk is one unit of work.
        self.actors: dict[dt.date, dict[str, Actor]] = {}

    def written(self) -> set[tuple[str, str]]:
        """The streams the bulk appended to."""
        return set(self.repositories.streams.saved)


@attrs.frozen(kw_only=True)
class Runner:
    """Runs commands: one unit of work each, retried only when that is safe.

    Attributes:
        cache: the objects this process loaded or saved last, shared by every command (a
            load still checks that the stored stream has not moved since).
        seal_every: after this many events committed through this runner, the audit log is
            sealed (see :func:`perfcore.audit.seal`); 0 never seals on its own.
    """

    store: Store
    clock: Clock
    ids: IdFactory
    policy: Policy
    audit_key: bytes | None = None
    cache: ObjectCache = attrs.field(factory=ObjectCache)
    seal_every: int = 1000
    directory: Directory | None = None
    #: The input bounds every public method of the services runs under (see
    #: :mod:`perfcore.services._limited`).
    limits: Limits = DEFAULT_LIMITS
    #: The notification table in force (:class:`~perfcore.services.Notifications`).
    notifications: Notifications = DEFAULT_NOTIFICATIONS
    #: Pause the cyclic garbage collector during a bulk and a query (:mod:`perfcore._collector`).
    pause_collector: bool = True
    _unsealed: list[int] = attrs.field(factory=lambda: [0], init=False)
    _local: threading.local = attrs.field(factory=threading.local, init=False)

    @property
    def active_bulk(self) -> Bulk | None:
        """The bulk this thread is in, if any."""
        found: Bulk | None = getattr(self._local, "bulk", None)
        return found

    @contextlib.contextmanager
    def bulk(self) -> Iterator[Bulk]:
        """One unit of work for every command this thread runs inside the block: see
        :meth:`perfcore.services.Perfcore.bulk`. A bulk inside a bulk joins the outer one."""
        outer = self.active_bulk
        if outer is not None:
            yield outer
            return
        with paused(self.pause_collector), self.store.unit_of_work() as uow:
            streams = _BulkStreams(uow, self.cache, key=self.audit_key)
            bulk = Bulk(uow, Repositories(streams))
            self._local.bulk = bulk
            try:
                yield bulk
            finally:
                self._local.bulk = None
            if bulk.broken is not None:
                raise bulk.broken  # caught by the caller, yet nothing of the bulk may commit
            written = bulk.written()
            for (kind, id), version in bulk.expected.items():
                if (kind, id) not in written:
                    uow.events.expect(kind, id, version)
            uow.commit()
        streams.publish()
        if bulk.events and self.seal_every > 0:
            self._unsealed[0] = 0
            self.seal()  # one audit batch for the whole bulk

    def run(
        self,
        command: str,
        args: Mapping[str, Any],
        work: Callable[[Session], A],
        idempotency_key: str | None = None,
    ) -> A:
        """Run ``work`` in a unit of work and commit what it changed, with its notifications
        and idempotency record; return what ``work`` returned.

        A command whose commit conflicts only with objects it read but did not change, with a
        stream it claimed, or with its own idempotency key is run again (its rules are checked
        again on the fresh data); concurrent requests with one idempotency key all receive the
        first one's result. A key is the acting person's own (:func:`scoped_key`): the same
        key sent by two people is two requests.

        Raises:
            IdempotencyConflict: the key was used for another command or other arguments.
            ConcurrencyError: an object this command changed was saved by someone else first.
            PerfcoreError: whatever the domain command raised (nothing is written).
        """
        check_optional_id("idempotency_key", idempotency_key)
        if idempotency_key is None:
            return self._run(work, None, "")
        asked = idempotency_key
        try:
            return self._run(
                work, scoped_key(_person_of(args.get("by")), asked), fingerprint(command, args)
            )
        except IdempotencyConflict as conflict:
            # Told as the caller sent it, not as it is stored.
            raise IdempotencyConflict(asked, conflict.first) from None

    def _run(self, work: Callable[[Session], A], idempotency_key: str | None, digest: str) -> A:
        bulk = self.active_bulk
        if bulk is not None:
            return self._in_bulk(bulk, work, idempotency_key, digest)
        attempt = 1
        while True:
            read_only: set[tuple[str, str]] = set()
            try:
                return self._attempt(work, idempotency_key, digest, read_only)
            except PerfcoreError as error:
                # The same request sent at once from elsewhere may have committed between this
                # one's look at its key and its load: then the domain refuses it (the goal is
                # approved already) or the commit conflicts; either way it gets the first result.
                if idempotency_key is not None and not isinstance(error, IdempotencyConflict):
                    first = self._first_result(idempotency_key, digest)
                    if first is not None:
                        return cast(A, first)
                if isinstance(error, StorageError) and error.retryable and attempt < ATTEMPTS:
                    attempt += 1  # the store says nothing was written and trying again is safe
                    continue
                if not isinstance(error, ConcurrencyError):
                    raise
                conflict = (error.aggregate_type, error.aggregate_id)
                retriable = error.aggregate_type == IDEMPOTENCY_KEY or conflict in read_only
                if not retriable or attempt >= ATTEMPTS:
                    raise
                attempt += 1

    def _in_bulk(self, bulk: Bulk, work: Callable[[Session], A], key: str | None, digest: str) -> A:
        """Run one command of a bulk: checked as if alone, against the store as the bulk's
        earlier commands left it; its writes join the bulk's unit of work."""
        if bulk.broken is not None:
            raise StorageError("an earlier write of this bulk failed: the bulk can only end")
        repositories = bulk.repositories
        if key is not None:
            known = bulk.keys.get(key)
            if known is not None:
                first_digest, first, at = known
                if first_digest != digest:
                    raise IdempotencyConflict(key, _record_of(key, first_digest, first, at))
                return cast(A, first)
            found = repositories.idempotency.get(key)
            if found is not None:
                return cast(A, _first_result(repositories, found, digest))
        session = Session(
            repositories, self.clock.now(), self.policy, self.ids, self.directory, bulk=bulk
        )
        try:
            result = work(session)
        except BaseException:
            bulk.refused += 1  # nothing of it reached the unit of work
            raise
        try:
            written = session.flush()
            self._notify(repositories, written)
            if key is not None:
                repositories.idempotency.put(_record_of(key, digest, result, session.at))
                bulk.keys[key] = (digest, result, session.at)
        except BaseException as error:
            bulk.broken = error
            raise
        bulk.commands += 1
        bulk.events += sum(len(new) for _obj, new in written)
        return result

    def reader(self, by: Actor | str) -> Actor:
        """The person reading, as the directory has them on the clock's day (the caller's
        :class:`~perfcore.actor.Actor` as given, without a directory).

        Raises:
            PermissionDenied: the directory does not know them that day, or they claim a role
                or department it does not give them.
            ValidationError: ``by`` is not an Actor (or, with a directory, an id).
        """
        if self.directory is None:
            return check_actor(by)
        on = self.clock.now().date()
        bulk = self.active_bulk
        if bulk is None:
            return resolve_actor(self.directory, by, on)
        # Inside a bulk, as its commands do: each person read from the directory once a day.
        return _resolved(self.directory, by, on, bulk.actors.setdefault(on, {}))

    def read(self, work: Callable[[Repositories], T]) -> T:
        """Run a query in a unit of work that writes nothing (inside a bulk, in the bulk's,
        so that it sees what the bulk's commands did)."""
        bulk = self.active_bulk
        if bulk is not None:
            return work(bulk.repositories)
        with paused(self.pause_collector), self.store.unit_of_work() as uow:
            return work(Repositories(Streams(uow, self.cache, key=self.audit_key)))

    def _attempt(
        self,
        work: Callable[[Session], A],
        key: str | None,
        digest: str,
        read_only: set[tuple[str, str]],
    ) -> A:
        with self.store.unit_of_work() as uow:
            repositories = Repositories(Streams(uow, self.cache, key=self.audit_key))
            if key is not None:
                found = uow.idempotency.get(key)
                if found is not None:
                    return cast(A, _first_result(repositories, found, digest))
            session = Session(repositories, self.clock.now(), self.policy, self.ids, self.directory)
            try:
                result = work(session)
                written = session.flush()
            finally:
                read_only.update(session.read_only)
            self._notify(repositories, written)
            if key is not None:
                uow.idempotency.put(_record_of(key, digest, result, session.at))
            uow.commit()
        repositories.streams.publish()
        self._count(sum(len(new) for _obj, new in written))
        return result

    def _first_result(self, key: str, digest: str) -> Aggregate | None:
        def work(repositories: Repositories) -> Aggregate | None:
            found = repositories.idempotency.get(key)
            return None if found is None else _first_result(repositories, found, digest)

        return self.read(work)

    def _notify(
        self, repositories: Repositories, written: list[tuple[Aggregate, list[Event]]]
    ) -> None:
        """Put the notifications the new events call for."""
        for obj, new in written:
            for event in new:
                table = self.notifications
                for notification in table.for_event(obj, event, self.ids, self.directory):
                    repositories.outbox.put(notification)

    def _count(self, events: int) -> None:
        if self.seal_every <= 0 or not events:
            return
        self._unsealed[0] += events
        if self._unsealed[0] >= self.seal_every:
            self._unsealed[0] = 0
            self.seal()

    def seal(self) -> int:
        """Seal every committed event not sealed yet; return how many seals were added."""
        from perfcore.audit import seal  # the audit module reads the services' stores

        added = 0
        while True:
            try:
                with self.store.unit_of_work() as uow:
                    made = seal(uow, key=self.audit_key, at=self.clock.now())
                    if made is None:
                        return added
                    uow.commit()
                    added += 1
            except ConcurrencyError:
                continue  # another process sealed first: seal what is left after its seal


def _record_of(key: str, digest: str, result: Aggregate, at: dt.datetime) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=key,
        fingerprint=digest,
        aggregate_type=lifecycle_of(type(result)).name,
        aggregate_id=result.id,
        version=result.version,
        at=at,
    )


def _first_result(repositories: Repositories, record: IdempotencyRecord, digest: str) -> Aggregate:
    """The object as the first command with this key left it (replayed if it moved on)."""
    if record.fingerprint != digest:
        raise IdempotencyConflict(record.key, record)
    streams = repositories.streams
    current = streams.get(record.aggregate_type, record.aggregate_id)
    if current.version == record.version:
        return current
    events = (
        event
        for event in streams.events(record.aggregate_type, record.aggregate_id)
        if event.version <= record.version
    )
    return aggregate_type(record.aggregate_type).replay(events)
