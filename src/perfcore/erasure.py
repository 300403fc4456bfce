"""A person's personal data: erased on request, or exported (a subject-access request).

**Erasure.** Every stream whose head names the person in its ``person`` query column (the data
subject: a goal's owner, a plan's or an evaluation's subject, the employee of a job description;
see :data:`perfcore.streams.QUERY_COLUMNS`) has the *body* of each of its events replaced by its
SHA-256 (:meth:`perfcore.ports.EventStore.erase`), and its snapshot dropped. What stays is the
header of each event (what was done, by whom, when) and the stream's head: the hash chains and
the seals cover only the header and the body's digest, so the log still verifies. The erasure is
itself recorded, as an event of the stream ``("Erasure", person_id)`` naming the erased streams;
:func:`perfcore.audit.verify_store` accepts an erased body only where such a record names its
stream. An erased object can no longer be loaded (:class:`~perfcore.errors.StorageError` says it
was erased); the caller drops it from its :class:`~perfcore.streams.ObjectCache`
(:attr:`ErasureReport.streams`).

Only the subject's streams are erased: the person's name as the *actor* of events in other
people's streams (a manager's approval of someone else's goal) is part of that other person's
record and stays.

**Export.** :func:`export_person` gathers, as JSON data, every stream about the person (the
object and its events; for an erased stream, only the headers that remain), every event the
person fired anywhere else, and the erasure records. It reads the whole log once (linear in its
size, in constant memory).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any, Final

import attrs

from perfcore._codec import canonical_json, to_json_data
from perfcore._validate import check_aware
from perfcore.errors import StorageError, ValidationError
from perfcore.events import Event
from perfcore.ports import RecordedEvent, StreamHead, UnitOfWork
from perfcore.recording import decode, record
from perfcore.serialization import event_to_json_data
from perfcore.streams import QUERY_COLUMNS, ObjectCache, Streams

__all__ = [
    "ERASED",
    "ERASURE",
    "ErasureReport",
    "erase_person",
    "erased_streams",
    "export_person",
    "person_kinds",
]

#: The kind of the streams that record erasures: one stream per person, id the person's id.
ERASURE: Final = "Erasure"
#: The state of an erasure stream.
ERASED: Final = "erased"
#: The trigger of an erasure event.
ERASE: Final = "erase"

_PAGE: Final = 1000


@attrs.frozen(kw_only=True)
class ErasureReport:
    """What :func:`erase_person` did.

    Attributes:
        person_id: whose data was erased.
        streams: the ``(kind, id)`` of every stream about the person, now erased: drop them
            from every :class:`~perfcore.streams.ObjectCache`.
        events: how many event bodies were erased now (those erased before are not counted).
        version: the erasure record's version in the stream ``("Erasure", person_id)``.
        at: when.
    """

    person_id: str
    streams: tuple[tuple[str, str], ...]
    events: int
    version: int
    at: dt.datetime


def person_kinds() -> tuple[str, ...]:
    """The aggregate types whose streams name their data subject (a ``person`` column)."""
    return tuple(kind for kind, columns in QUERY_COLUMNS.items() if "person" in columns)


def erase_person(
    uow: UnitOfWork,
    person_id: str,
    *,
    by: str,
    at: dt.datetime,
    reason: str,
    key: bytes | None,
) -> ErasureReport:
    """Erase the personal data of every stream about ``person_id``, and record the erasure,
    in ``uow`` (the caller commits, then drops :attr:`ErasureReport.streams` from its caches).

    Args:
        uow: the unit of work.
        person_id: the data subject.
        by: the id of who erases (HR, on the person's request).
        at: when.
        reason: why (the request); kept in the erasure record.
        key: the audit key the store's hash chains use (``None`` for SHA-256).

    Raises:
        ValidationError: an argument is blank or of the wrong type.
        ConcurrencyError: (at commit) another unit of work recorded an erasure of the same
            person first; run it again.
    """
    for name, value in (("person_id", person_id), ("by", by)):
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(name, f"must be a non-blank id, not {value!r}")
    check_aware("at", at)
    if not isinstance(reason, str):
        raise ValidationError("reason", f"must be text, not {type(reason).__name__}")
    streams: list[tuple[str, str]] = []
    erased = 0
    for kind in person_kinds():
        for head in uow.events.find(kind, "person", person_id):
            erased += uow.events.erase(kind, head.id)
            uow.snapshots.delete(kind, head.id)
            streams.append((kind, head.id))
    last = uow.events.head(ERASURE, person_id)
    version = 1 if last is None else last.version + 1
    event = Event(
        aggregate_type=ERASURE,
        aggregate_id=person_id,
        version=version,
        trigger=ERASE,
        from_state=None if version == 1 else ERASED,
        to_state=ERASED,
        actor_id=by,
        at=at,
        reason=reason,
        payload={"set": {"streams": [[kind, id] for kind, id in streams]}},
    )
    recorded = record([event], b"" if last is None else last.hash, key)
    head = StreamHead(
        kind=ERASURE,
        id=person_id,
        version=version,
        hash=recorded[-1].hash,
        state=ERASED,
        columns={"person": person_id},
    )
    uow.events.append(head, recorded, expected_version=version - 1)
    return ErasureReport(
        person_id=person_id, streams=tuple(streams), events=erased, version=version, at=at
    )


def erased_streams(uow: UnitOfWork, person_id: str) -> frozenset[tuple[str, str]]:
    """The streams the erasure records of ``person_id`` name (empty when there are none, or
    when they cannot be read)."""
    found: set[tuple[str, str]] = set()
    try:
        for recorded in uow.events.read(ERASURE, person_id):
            event = decode(recorded)
            for pair in event.payload.get("set", {}).get("streams", ()):
                if isinstance(pair, list) and len(pair) == 2:
                    found.add((str(pair[0]), str(pair[1])))
    except StorageError:
        return frozenset()
    return frozenset(found)


def export_person(uow: UnitOfWork, person_id: str) -> dict[str, Any]:
    """Everything stored about ``person_id``, as JSON data.

    Returns:
        ``{"person": id, "objects": [...], "actions": [...], "erasures": [...]}``:

        - ``objects``: each stream about the person (``kind``, ``id``, ``object``: the object as
          loaded, ``events``: its events); for an erased stream, ``erased: true`` and only the
          headers that remain (who did what when), no object and nothing of the content;
        - ``actions``: every event the person fired in other streams (headers only where the
          body was erased);
        - ``erasures``: the person's erasure records.

    Reads every event once, through :meth:`~perfcore.ports.EventStore.scan`, decoding only the
    headers of events not fired by the person: linear in the size of the log, in constant
    memory (besides the export itself).
    """
    if not isinstance(person_id, str) or not person_id.strip():
        raise ValidationError("person_id", f"must be a non-blank id, not {person_id!r}")
    objects: list[dict[str, Any]] = []
    about: set[tuple[str, str]] = set()
    for kind in person_kinds():
        for head in uow.events.find(kind, "person", person_id):
            about.add((kind, head.id))
            objects.append(_export_stream(uow, kind, head.id))
    erasures = [
        event_to_json_data(decode(recorded))
        for recorded in uow.events.read(ERASURE, person_id)
        if not recorded.erased
    ]
    actions: list[dict[str, Any]] = []
    needle = canonical_json(person_id).encode("utf-8")
    for recorded in _every_event(uow):
        if needle not in recorded.header or (recorded.kind, recorded.id) in about:
            continue
        if recorded.kind == ERASURE and recorded.id == person_id:
            continue
        if _actor_of(recorded) != person_id:
            continue
        actions.append(_event_json(recorded))
    return {"person": person_id, "objects": objects, "actions": actions, "erasures": erasures}


def _export_stream(uow: UnitOfWork, kind: str, id: str) -> dict[str, Any]:
    recorded = list(uow.events.read(kind, id))
    if any(one.erased for one in recorded):
        return {
            "kind": kind,
            "id": id,
            "erased": True,
            "events": [_header_json(one) for one in recorded],
        }
    obj = Streams(uow, ObjectCache(0)).load(kind, id)
    return {
        "kind": kind,
        "id": id,
        "erased": False,
        "object": None if obj is None else to_json_data(obj),
        "events": [event_to_json_data(decode(one)) for one in recorded],
    }


def _every_event(uow: UnitOfWork) -> Iterator[RecordedEvent]:
    after = 0
    while True:
        page = uow.events.scan(after=after, limit=_PAGE)
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1].position


def _header(recorded: RecordedEvent) -> list[Any]:
    try:
        header = json.loads(recorded.header)
    except (ValueError, TypeError) as bad:
        raise StorageError(
            f"the stored {recorded.kind} {recorded.id!r} event {recorded.version} is not"
            f" readable: {bad}"
        ) from None
    # What, who, when; and, for an event a directory authorised, its grounds.
    if not isinstance(header, list) or len(header) not in (5, 6):
        raise StorageError(
            f"the stored {recorded.kind} {recorded.id!r} event {recorded.version} has no header"
        )
    return header


def _actor_of(recorded: RecordedEvent) -> object:
    return _header(recorded)[3]


def _header_json(recorded: RecordedEvent) -> dict[str, Any]:
    trigger, from_state, to_state, actor_id, at = _header(recorded)
    return {
        "aggregate_type": recorded.kind,
        "aggregate_id": recorded.id,
        "version": recorded.version,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "actor_id": actor_id,
        "at": at,
        "erased": True,
    }


def _event_json(recorded: RecordedEvent) -> dict[str, Any]:
    if recorded.erased:
        return _header_json(recorded)
    return event_to_json_data(decode(recorded))
