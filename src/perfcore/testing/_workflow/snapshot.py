"""A whole store, read at once: every object with its whole history, the log, the outbox, the keys.

The workflow machine compares snapshots taken before and after each command: a refused command
must leave the snapshot as it was, an accepted one must change only what it says.

Its assertions say what broke in words of their own; pytest is asked not to rewrite them
(PYTEST_DONT_REWRITE), so that a failing run prints the same few lines under pytest as anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from perfcore._aggregate import Aggregate
from perfcore.events import Event
from perfcore.lifecycle import lifecycle_of
from perfcore.ports import IdempotencyRecord, Notification, RecordedEvent, Store, UnitOfWork
from perfcore.recording import decode
from perfcore.streams import QUERY_COLUMNS, aggregate_type

__all__ = ["ObjectKey", "Reader", "Snapshot", "key_of", "take"]

ObjectKey = tuple[str, str]

#: More than a workflow ever leaves pending: ``pending`` is asked for all of them.
_EVERY_NOTIFICATION = 1_000_000


def key_of(obj: Aggregate) -> ObjectKey:
    """An object's (type name, id)."""
    return (lifecycle_of(type(obj)).name, obj.id)


@attrs.frozen(kw_only=True)
class Snapshot:
    """What a store holds at one moment.

    Attributes:
        objects: every stored object, by (type name, id).
        audit: every event of every object, in the global order (the streams of other kinds,
            such as a lineage's claims, left out).
        pending: the undelivered notifications, oldest first.
        keys: the record of each idempotency key asked about (``None`` when it is not taken).

    .. versionadded:: 0.1.0
    """

    objects: Mapping[ObjectKey, Aggregate]
    audit: tuple[Event, ...]
    pending: tuple[Notification, ...]
    keys: Mapping[str, IdempotencyRecord | None]

    def of_type(self, kind: type[Any]) -> list[Any]:
        """The stored objects of one aggregate type, by id."""
        name = lifecycle_of(kind).name
        return [obj for (type_name, _), obj in sorted(self.objects.items()) if type_name == name]


def take(store: Store, keys: Iterable[str]) -> Snapshot:
    """Read everything ``store`` holds, in one unit of work, through the ports only.

    Each object is the replay of its whole stream, so that it holds its whole history; the
    same object as the store loads it is checked by the workflow machine's other invariants.

    Raises:
        AssertionError: a stream listed twice.
    """
    return Reader(store).take(keys)


class Reader:
    """Takes snapshots of one store, again and again, decoding and replaying only what changed.

    Every snapshot reads every stream's events and the whole global order, through the ports,
    as :func:`take` does; an event whose stored bytes it has decoded before is not decoded
    again, and a stream whose events are all as they were is not replayed again (objects are
    values: the same events replay to the same object). Whatever a store changes, in any
    event, is read and replayed afresh.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._decoded: dict[RecordedEvent, Event] = {}
        self._replayed: dict[ObjectKey, tuple[tuple[RecordedEvent, ...], Aggregate]] = {}

    def take(self, keys: Iterable[str]) -> Snapshot:
        """Read everything the store holds (see :func:`take`)."""
        with self.store.unit_of_work() as uow:
            objects: dict[ObjectKey, Aggregate] = {}
            after: tuple[str, str] | None = None
            while True:
                heads = uow.events.streams(after=after, limit=500)
                if not heads:
                    break
                for head in heads:
                    if head.kind not in QUERY_COLUMNS:
                        continue
                    key = (head.kind, head.id)
                    assert key not in objects, f"{key} is listed twice"
                    objects[key] = self._object(key, tuple(uow.events.read(head.kind, head.id)))
                after = (heads[-1].kind, heads[-1].id)
            return Snapshot(
                objects=objects,
                audit=tuple(self._log(uow)),
                pending=tuple(uow.outbox.pending(_EVERY_NOTIFICATION)),
                keys={key: uow.idempotency.get(key) for key in keys},
            )

    def _decode(self, recorded: RecordedEvent) -> Event:
        event = self._decoded.get(recorded)
        if event is None:
            event = self._decoded[recorded] = decode(recorded)
        return event

    def _object(self, key: ObjectKey, recorded: tuple[RecordedEvent, ...]) -> Aggregate:
        known = self._replayed.get(key)
        if known is not None and known[0] == recorded:
            return known[1]
        obj = aggregate_type(key[0]).replay(self._decode(event) for event in recorded)
        self._replayed[key] = (recorded, obj)
        return obj

    def _log(self, uow: UnitOfWork) -> Iterable[Event]:
        position = 0
        while True:
            page = uow.events.scan(after=position, limit=1000)
            if not page:
                return
            for recorded in page:
                if recorded.kind in QUERY_COLUMNS:
                    yield self._decode(recorded)
            position = page[-1].position
