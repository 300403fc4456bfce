"""Objects kept as streams of events: how they are loaded, saved, cached and found.

This is the shared logic every store gets for free: an adapter only keeps bytes (see
:mod:`perfcore.ports`).

- **Loading** is the object cached in this process if the stream has not moved since, else the
  cached object (or the newest snapshot) with the events after it applied. A command's cost does
  not depend on the length of the object's history.
- **Saving** appends the object's new events, chained after the stream's head, with the version
  it was loaded at; the head carries the new state and query columns.
- **Snapshots** are taken when a stream crosses a threshold that grows with its length (every
  ``snapshot_every`` events at first, then every half of its length), so that writing them
  costs a small constant share of each command and a cold load replays at most a third of the
  history.

>>> from perfcore.adapters.memory import MemoryStore
>>> from perfcore.testing.drivers import driver_for
>>> goal = driver_for("Goal").reach("active", id="g-1")
>>> store = MemoryStore()
>>> with store.unit_of_work() as uow:
...     streams = Streams(uow)
...     head = streams.save(goal, loaded=None)
...     uow.commit()
>>> streams.publish()                 # cache what was saved, now that it is committed
>>> head.version, head.state, head.columns["owner"], head.columns["manager"]
(3, 'active', 'ana', 'ben')
>>> sorted(head.columns)      # the query columns, worked out from the object when it is saved
['behind', 'changed', 'due', 'manager', 'owner', 'person', 'start']
>>> with store.unit_of_work() as uow:
...     found = Streams(uow).load("Goal", "g-1")
>>> found == goal, found.history
(True, ())
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from perfcore._aggregate import Aggregate
from perfcore._codec import canonical_json, to_json_data
from perfcore.errors import Erased, NotFound, StorageError
from perfcore.events import Event
from perfcore.lifecycle import PerType, lifecycle_of, registered_types
from perfcore.ports import IndexValue, Snapshot, StreamHead, UnitOfWork
from perfcore.recording import decode, record
from perfcore.serialization import SCHEMA_VERSIONS, from_envelope

__all__ = [
    "DERIVED_COLUMNS",
    "QUERY_COLUMNS",
    "ObjectCache",
    "Streams",
    "aggregate_type",
    "behind_from",
    "index_of",
    "restore",
    "snapshot_due",
    "snapshot_of",
]

#: For each aggregate type, the attribute each query column of its stream head is read from.
#: ``person`` names the data subject: whose personal data the stream holds. Every registered
#: aggregate type is in it (a type without a row has no columns); a stream of any other kind
#: (a lineage's claims) is not an object's.
QUERY_COLUMNS: Final[Mapping[str, Mapping[str, str]]] = PerType({
    "JobDescription": {
        "lineage": "lineage_id",
        "number": "number",
        "employee": "employee_id",
        "person": "employee_id",
    },
    "Goal": {"owner": "owner_id", "manager": "manager_id", "person": "owner_id"},
    # A plan's owner is its author: the manager whose plans due for review are asked for.
    "Plan": {
        "subject": "subject_id",
        "cycle": "cycle_id",
        "person": "subject_id",
        "owner": "author_id",
    },
    "Evaluation": {"subject": "subject_id", "cycle": "cycle_id", "person": "subject_id"},
    # A survey is nobody's personal data: it has no person.
    "Survey": {"manager": "manager_id"},
    "Note": {"subject": "subject_id", "person": "subject_id", "owner": "author_id"},
}, default={})  # fmt: skip

#: Events between snapshots while a stream is short.
SNAPSHOT_EVERY: Final = 100
#: Objects a cache keeps by default.
CACHE_SIZE: Final = 10_000


def aggregate_type(kind: str) -> type[Aggregate]:
    """The aggregate class whose streams are of ``kind``.

    Raises:
        ValidationError: ``kind`` is not one of perfcore's aggregate types.
    """
    found = _TYPES.get(kind)
    if found is None:
        lifecycle_of(kind)  # raises the readable error for an unknown name
        for cls in registered_types():
            if cls.__name__ == kind and issubclass(cls, Aggregate):
                _TYPES[kind] = found = cls
                break
        else:
            raise StorageError(f"{kind} has a lifecycle but is not an aggregate type")
    return found


_TYPES: dict[str, type[Aggregate]] = {}


def index_of(obj: Aggregate) -> dict[str, IndexValue]:
    """The query columns of ``obj``'s stream head: its fields', then those worked out from
    the object (:data:`DERIVED_COLUMNS`)."""
    kind = lifecycle_of(type(obj)).name
    columns = QUERY_COLUMNS.get(kind, {})
    found = {column: getattr(obj, attribute) for column, attribute in columns.items()}
    derived = DERIVED_COLUMNS.get(kind)
    if derived is not None:
        found.update(derived(obj))
    return found


def _day(moment: dt.datetime | None) -> str | None:
    """The UTC day of ``moment``, as ISO 8601 text."""
    return None if moment is None else moment.astimezone(dt.UTC).date().isoformat()


def behind_from(goal: Any) -> dt.date | None:
    """The first day on which an active ``goal``, as it stands, is behind (its progress under
    a steady pace from start to due), counting from its start and from the day it last changed;
    ``None`` when it is not active or never will be behind as it stands.

    From the day it last changed on, its progress is its latest value's (no check-in is dated
    after the day it was recorded), and the steady pace only grows with the day, so the goal is
    behind on every day from this one on, until it changes again. The day is found with the
    goal's own progress and expected progress, which :meth:`~perfcore.goal.Goal.standing`
    compares, so the two cannot disagree.
    """
    if str(goal.state) != "active":
        return None
    start: dt.date = goal.start
    changed: dt.date = goal.updated_at.astimezone(dt.UTC).date() if goal.updated_at else start
    first = max(start, changed)
    last: dt.date = max(goal.due, first)
    progress = goal.progress

    def behind(day: dt.date) -> bool:
        return bool(progress < goal.expected_progress_on(day))

    if behind(first):
        return first
    if progress >= 1 or not behind(last):
        return None
    # Bisect the days from ``first`` (not behind) to the due day (behind).
    low, high = first, last
    while (high - low).days > 1:
        middle = low + (high - low) // 2
        if behind(middle):
            high = middle
        else:
            low = middle
    return high


def _goal_columns(goal: Any) -> dict[str, IndexValue]:
    behind = behind_from(goal)
    return {
        "start": goal.start.isoformat(),
        "due": goal.due.isoformat(),
        "behind": None if behind is None else behind.isoformat(),
        "changed": _day(goal.updated_at),
    }


def _plan_columns(plan: Any) -> dict[str, IndexValue]:
    due = plan.review_due if str(plan.state) == "active" else None
    team = len(plan.team_member_ids) if str(plan.kind) == "team" else None
    return {
        "review": None if due is None else due.isoformat(),
        "team": team,
        "changed": _day(plan.updated_at),
    }


#: Query columns worked out from the object rather than read from one field, so that the store
#: answers the organisation-wide questions without decoding an object (ISO 8601 days compare as
#: text as they do as days):
#:
#: - a goal's ``start`` and ``due``; ``behind``, the day from which it is behind as it stands
#:   (:func:`behind_from`: only an active goal has one); ``changed``, the UTC day it last changed
#:   (an answer "as of" an earlier day replays the goals changed since);
#: - an active plan's ``review``, the day its next review falls due
#:   (:attr:`~perfcore.plan.Plan.review_due`); ``team``, a team plan's number of members (only a
#:   team plan names others than its subject); ``changed``, as for a goal.
#:
#: A head written before these columns existed has none of them (``changed`` is then missing):
#: the questions decode such an object, as they did before.
DERIVED_COLUMNS: Final[Mapping[str, Callable[[Any], dict[str, IndexValue]]]] = {
    "Goal": _goal_columns,
    "Plan": _plan_columns,
}


def head_of(obj: Aggregate, hash: bytes) -> StreamHead:
    """The stream head that stands for ``obj`` whose last event's chain hash is ``hash``."""
    return StreamHead(
        kind=lifecycle_of(type(obj)).name,
        id=obj.id,
        version=obj.version,
        hash=hash,
        state=str(obj.state),
        columns=index_of(obj),
    )


def snapshot_of(obj: Aggregate) -> Snapshot:
    """``obj`` as a snapshot: its fields as JSON bytes, without its history."""
    kind = lifecycle_of(type(obj)).name
    return Snapshot(
        kind=kind,
        id=obj.id,
        version=obj.version,
        schema=SCHEMA_VERSIONS[kind],
        data=canonical_json(to_json_data(obj)).encode("utf-8"),
    )


def restore(snapshot: Snapshot) -> Aggregate:
    """The object a snapshot holds, its schema migrated forward.

    Raises:
        StorageError: the snapshot does not make a valid object of its stream.
    """
    try:
        data = json.loads(snapshot.data)
    except (ValueError, TypeError) as bad:
        raise StorageError(
            f"the snapshot of {snapshot.kind} {snapshot.id!r} is not JSON: {bad}"
        ) from None
    obj = from_envelope({"type": snapshot.kind, "schema": snapshot.schema, "data": data})
    if (obj.id, obj.version) != (snapshot.id, snapshot.version):
        raise StorageError(
            f"the snapshot of {snapshot.kind} {snapshot.id!r} version {snapshot.version} holds"
            f" {obj.id!r} version {obj.version}"
        )
    return obj


def snapshot_due(before: int, after: int, every: int = SNAPSHOT_EVERY) -> bool:
    """Whether a stream going from version ``before`` to ``after`` crosses a snapshot threshold.

    The thresholds are ``every``, then each one plus the larger of ``every`` and half of it:
    snapshots of a long stream grow with it, so they are taken less often, and writing them stays
    a small constant share of each command (a cold load replays at most a third of the stream).
    """
    threshold = every
    while threshold <= before:
        threshold += max(every, threshold // 2)
    return threshold <= after


class ObjectCache:
    """The newest objects this process has loaded or saved, by stream: most recently used kept.

    Objects are immutable, so one cached object may serve many threads; a load uses it only
    when the stream's head is still at its version, or applies the events after it.
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._objects: OrderedDict[tuple[str, str], Aggregate] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kind: str, id: str) -> Aggregate | None:
        """The cached object of the stream, or ``None``."""
        with self._lock:
            found = self._objects.get((kind, id))
            if found is not None:
                self._objects.move_to_end((kind, id))
            return found

    def put(self, kind: str, obj: Aggregate) -> None:
        """Cache ``obj`` unless a later version of it is cached."""
        if self._size <= 0:
            return
        with self._lock:
            key = (kind, obj.id)
            known = self._objects.get(key)
            if known is not None and known.version > obj.version:
                return
            self._objects[key] = obj
            self._objects.move_to_end(key)
            while len(self._objects) > self._size:
                self._objects.popitem(last=False)

    def forget(self, kind: str, id: str) -> None:
        """Drop the stream's cached object (its person's data was erased)."""
        with self._lock:
            self._objects.pop((kind, id), None)


class Streams:
    """Loading and saving objects in one unit of work.

    Args:
        uow: the unit of work.
        cache: objects already loaded in this process; a private one when ``None``.
        key: the audit key for HMAC-SHA256 chain hashes; ``None`` for SHA-256.
        snapshot_every: events between snapshots while a stream is short.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        cache: ObjectCache | None = None,
        *,
        key: bytes | None = None,
        snapshot_every: int = SNAPSHOT_EVERY,
    ) -> None:
        self.uow = uow
        self.cache = cache if cache is not None else ObjectCache()
        self.key = key
        self.snapshot_every = snapshot_every
        self.heads: dict[tuple[str, str], StreamHead] = {}
        #: What :meth:`save` appended, for the caller to :meth:`publish` once it has committed.
        self.saved: dict[tuple[str, str], Aggregate] = {}

    # -- loading --------------------------------------------------------------------------------

    def load(self, kind: str, id: str) -> Aggregate | None:
        """The stream's object at its head, holding no history, or ``None`` if there is none.

        Raises:
            StorageError: a stored event or snapshot cannot be read.
        """
        head = self.uow.events.head(kind, id)
        if head is None:
            return None
        return self.load_head(head)

    def load_head(self, head: StreamHead) -> Aggregate:
        """The object at ``head``, a head this unit of work has just read (from
        :meth:`~perfcore.ports.EventStore.find`, say), without asking the store for it again.

        Raises:
            Erased: the stream's personal data was erased.
            StorageError: a stored event or snapshot cannot be read.
        """
        kind, id = head.kind, head.id
        if head.erased:
            self.cache.forget(kind, id)
            raise Erased(kind, id)
        self.heads[(kind, id)] = head
        cached = self.cache.get(kind, id)
        if cached is not None and cached.version == head.version:
            return cached
        base = cached if cached is not None and cached.version < head.version else None
        if base is None:
            snapshot = self.uow.snapshots.get(kind, id)
            if snapshot is not None and snapshot.version <= head.version:
                base = restore(snapshot)
        obj = self._replay(kind, id, head.version, base)
        self.cache.put(kind, obj)
        return obj

    def get(self, kind: str, id: str) -> Aggregate:
        """Like :meth:`load`, raising :class:`~perfcore.errors.NotFound` when there is none."""
        found = self.load(kind, id)
        if found is None:
            raise NotFound(kind, id)
        return found

    def events(self, kind: str, id: str, *, after: int = 0) -> Iterator[Event]:
        """The stream's events after version ``after``, read from the store, in order."""
        for recorded in self.uow.events.read(kind, id, after=after):
            yield decode(recorded)

    def _replay(self, kind: str, id: str, upto: int, base: Aggregate | None) -> Aggregate:
        cls = aggregate_type(kind)
        after = 0 if base is None else base.version
        events = (event for event in self.events(kind, id, after=after) if event.version <= upto)
        try:
            obj = cls.replay(events, start=base)
        except StorageError:
            raise
        except Exception as bad:
            raise StorageError(
                f"the stored stream of {kind} {id!r} does not replay: {bad}"
            ) from bad
        if obj.version != upto:
            raise StorageError(
                f"the stored stream of {kind} {id!r} ends at version {obj.version}, but its head"
                f" says {upto}: events are missing"
            )
        # A loaded object holds no history: the store has it, and the cache should not.
        object.__setattr__(obj, "_trail", None)
        return obj

    # -- saving ---------------------------------------------------------------------------------

    def save(self, obj: Aggregate, *, loaded: int | None) -> StreamHead:
        """Append ``obj``'s events after version ``loaded`` (``None``: a new object) to its
        stream, with that version expected, and return the new head.

        Raises:
            ConcurrencyError: the stream moved since ``loaded`` (now or at commit).
        """
        kind = lifecycle_of(type(obj)).name
        base = 0 if loaded is None else loaded
        new = obj.events_after(base)
        if not new or new[0].version != base + 1 or new[-1].version != obj.version:
            raise StorageError(
                f"{kind} {obj.id!r} version {obj.version} does not hold its events after"
                f" version {base}: save the object the command returned"
            )
        previous = self._previous_hash(kind, obj.id, base)
        recorded = record(new, previous, self.key)
        head = head_of(obj, recorded[-1].hash)
        self.uow.events.append(head, recorded, expected_version=base)
        if snapshot_due(base, obj.version, self.snapshot_every):
            self.uow.snapshots.put(snapshot_of(obj))
        self.heads[(kind, obj.id)] = head
        # Not cached yet: a unit of work that is rolled back must never be served from a cache.
        self.saved[(kind, obj.id)] = obj
        return head

    def publish(self) -> None:
        """Cache what :meth:`save` appended: call it once the unit of work has committed."""
        for (kind, _id), obj in self.saved.items():
            bare = copy.copy(obj)
            # The cached copy holds no events: the store has them, and a cache must not grow
            # with use.
            object.__setattr__(bare, "_trail", None)
            self.cache.put(kind, bare)
        self.saved.clear()

    def _previous_hash(self, kind: str, id: str, base: int) -> bytes:
        if base == 0:
            return b""
        head = self.heads.get((kind, id))
        if head is None or head.version != base:
            head = self.uow.events.head(kind, id)
        if head is None or head.version != base:
            found = "nothing" if head is None else f"version {head.version}"
            raise StorageError(f"{kind} {id!r} was loaded at version {base}; {found} is stored")
        return head.hash

    # -- finding --------------------------------------------------------------------------------

    def find(self, kind: str, column: str, value: IndexValue) -> list[Aggregate]:
        """The objects of ``kind`` whose stream head has ``column`` equal to ``value``, by id."""
        return [self.load_head(head) for head in self.uow.events.find(kind, column, value)]


def history_of(uow: UnitOfWork, kind: str, id: str) -> tuple[Event, ...]:
    """Every event of one stream, read from the store."""
    return tuple(decode(recorded) for recorded in uow.events.read(kind, id))
