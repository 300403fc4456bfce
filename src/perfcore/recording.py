"""How an event is recorded: the bytes a store keeps, the hash chain over them, and upcasting.

An :class:`~perfcore.events.Event` becomes a :class:`~perfcore.ports.RecordedEvent` in two parts:

- the **header**, JSON ``[trigger, from_state, to_state, actor_id, at]`` (and, when a directory
  authorised it, the grounds: the acting person's roles, department and manager that day): what
  was done, by whom, when and on what authority, kept for as long as the record is kept;
- the **body**, a marker byte, 16 random bytes of salt and JSON ``[reason, payload]``: why and
  what changed, which is personal data and can be erased (:func:`~perfcore.ports.erased_body`
  keeps only its SHA-256, and the salt makes that digest useless for guessing what it was).

Each event's ``hash`` chains it to the one before it in its stream: SHA-256 (or HMAC-SHA256 with
the audit key) over the previous hash, the stream, the version, the schema, the header and the
body's digest. Editing, removing or reordering an event of a stream breaks its chain there; the
seals (:mod:`perfcore.audit`) chain the streams together in the global order.

Stored events are never rewritten when their shape changes: each event type has a schema
number, and upcasters registered with :func:`register_upcaster` bring an older event's data to
the current shape as it is read.

>>> import datetime as dt
>>> from perfcore.testing.drivers import driver_for
>>> goal = driver_for("Goal").reach("active")
>>> recorded = record(goal.history, previous_hash=b"")
>>> [r.version for r in recorded], len(recorded[0].hash)
([1, 2, 3], 32)
>>> [decode(r) for r in recorded] == list(goal.history)
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable
from typing import Any, Final

from perfcore._codec import canonical_json_of
from perfcore.errors import StorageError, ValidationError
from perfcore.events import Event
from perfcore.ports import BODY_LIVE, RecordedEvent, body_digest

__all__ = [
    "EVENT_SCHEMAS",
    "Upcaster",
    "chain_hash",
    "decode",
    "encode",
    "expected_hash",
    "record",
    "register_upcaster",
    "schema_of",
]

_SALT_BYTES: Final = 16
_LIVE: Final = bytes((BODY_LIVE,))

#: The schema number each ``(aggregate type, trigger)`` is written with now; 1 where not named.
EVENT_SCHEMAS: dict[tuple[str, str], int] = {}

#: Turns the data of an event of one schema into the next: ``{"header": [...], "reason": str,
#: "payload": {...}}`` in, the same keys out.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
_UPCASTERS: dict[tuple[str, str, int], Upcaster] = {}


def schema_of(kind: str, trigger: str) -> int:
    """The schema number events of ``kind`` fired by ``trigger`` are written with now."""
    return EVENT_SCHEMAS.get((kind, trigger), 1)


def register_upcaster(kind: str, trigger: str, from_schema: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function that turns an event of ``kind`` and ``trigger`` from ``from_schema``
    into ``from_schema + 1``, applied when such an event is read; raise the type's schema in
    :data:`EVENT_SCHEMAS` beside it.

    >>> @register_upcaster("Example", "check_in", 1)
    ... def add_unit(data):
    ...     data["payload"].setdefault("set", {})["unit"] = ""
    ...     return data
    """

    def register(upcaster: Upcaster) -> Upcaster:
        _UPCASTERS[(kind, trigger, from_schema)] = upcaster
        return upcaster

    return register


def chain_hash(
    previous_hash: bytes,
    kind: str,
    id: str,
    version: int,
    schema: int,
    header: bytes,
    digest: bytes,
    key: bytes | None = None,
) -> bytes:
    """The chain hash of one event (32 bytes): SHA-256, or HMAC-SHA256 when ``key`` is given.

    Every variable-length part is preceded by its length, so no two events share an input.
    """
    names = f"{kind}\x00{id}".encode()
    data = b"".join(
        (
            previous_hash,
            len(names).to_bytes(4, "big"),
            names,
            version.to_bytes(8, "big"),
            schema.to_bytes(4, "big"),
            len(header).to_bytes(4, "big"),
            header,
            digest,
        )
    )
    if key is None:
        return hashlib.sha256(data).digest()
    return hmac.new(key, data, hashlib.sha256).digest()


def encode(
    event: Event, previous_hash: bytes, key: bytes | None = None, salt: bytes | None = None
) -> RecordedEvent:
    """``event`` as a store keeps it, chained after ``previous_hash`` (``b""`` for version 1).

    Args:
        event: the event.
        previous_hash: the chain hash of the stream's event before it.
        key: the audit key for HMAC-SHA256; ``None`` for SHA-256.
        salt: the body's salt; random unless given (tests give one to get the same bytes).
    """
    facts = [event.trigger, event.from_state, event.to_state, event.actor_id, event.at.isoformat()]
    # The directory facts that authorised it, when there were any: part of the header, kept for
    # as long as the record is kept.
    header = _json([*facts, event.grounds] if event.grounds else facts)
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    if len(salt) != _SALT_BYTES:
        raise ValidationError("salt", f"must be {_SALT_BYTES} bytes")
    body = _LIVE + salt + _json([event.reason, event.payload])
    schema = schema_of(event.aggregate_type, event.trigger)
    digest = hashlib.sha256(body).digest()
    return RecordedEvent(
        kind=event.aggregate_type,
        id=event.aggregate_id,
        version=event.version,
        schema=schema,
        header=header,
        body=body,
        hash=chain_hash(
            previous_hash,
            event.aggregate_type,
            event.aggregate_id,
            event.version,
            schema,
            header,
            digest,
            key,
        ),
    )


def record(
    events: Iterable[Event], previous_hash: bytes, key: bytes | None = None
) -> list[RecordedEvent]:
    """``events`` (of one stream, in version order) encoded and chained after
    ``previous_hash``."""
    recorded: list[RecordedEvent] = []
    for event in events:
        one = encode(event, previous_hash, key)
        recorded.append(one)
        previous_hash = one.hash
    return recorded


def expected_hash(recorded: RecordedEvent, previous_hash: bytes, key: bytes | None = None) -> bytes:
    """The hash ``recorded`` must carry if nothing in it was changed since it was chained."""
    return chain_hash(
        previous_hash,
        recorded.kind,
        recorded.id,
        recorded.version,
        recorded.schema,
        recorded.header,
        body_digest(recorded.body),
        key,
    )


def decode(recorded: RecordedEvent) -> Event:
    """The :class:`~perfcore.events.Event` a recorded event holds, upcast to the current schema.

    Raises:
        StorageError: the bytes do not make an event (a damaged or hand-edited row), the body
            was erased, or the schema is newer than this perfcore knows.
    """
    if recorded.erased:
        raise StorageError(
            f"{recorded.kind} {recorded.id!r} event {recorded.version} was erased (its person's"
            " data was erased on request): it cannot be read back"
        )
    where = f"{recorded.kind} {recorded.id!r} event {recorded.version}"
    try:
        # Decoded first: json.loads would otherwise guess the encoding of every event.
        header = json.loads(recorded.header.decode("utf-8"))
        reason, payload = json.loads(recorded.body[1 + _SALT_BYTES :].decode("utf-8"))
    except (ValueError, TypeError, UnicodeDecodeError) as bad:
        raise StorageError(f"the stored {where} is not readable: {bad}") from None
    data: dict[str, Any] = {"header": header, "reason": reason, "payload": payload}
    data = _upcast(recorded.kind, recorded.schema, data, where)
    try:
        trigger, from_state, to_state, actor_id, at, *grounds = data["header"]
        return Event(
            aggregate_type=recorded.kind,
            aggregate_id=recorded.id,
            version=recorded.version,
            trigger=trigger,
            from_state=from_state,
            to_state=to_state,
            actor_id=actor_id,
            at=_moment(at),
            reason=data["reason"],
            payload=data["payload"],
            grounds=grounds[0] if grounds else {},
        )
    except (ValueError, TypeError, KeyError, ValidationError) as bad:
        raise StorageError(f"the stored {where} is not a valid event: {bad}") from None


def _moment(text: object) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(text))
    if moment.tzinfo is None:
        raise ValidationError("at", f"{text!r} has no time zone")
    return moment


def _upcast(kind: str, schema: int, data: dict[str, Any], where: str) -> dict[str, Any]:
    trigger = data["header"][0] if isinstance(data["header"], list) and data["header"] else ""
    current = schema_of(kind, str(trigger))
    if not isinstance(schema, int) or schema < 1 or schema > current:
        raise StorageError(
            f"the stored {where} has schema {schema!r}; this perfcore reads schemas 1 to"
            f" {current} of {kind}.{trigger}: upgrade perfcore to read it"
        )
    while schema < current:
        upcaster = _UPCASTERS.get((kind, str(trigger), schema))
        if upcaster is None:
            raise StorageError(f"no upcaster for {kind}.{trigger} from schema {schema}")
        data = upcaster(data)
        schema += 1
    return data


def _json(data: Any) -> bytes:
    return canonical_json_of(data).encode("utf-8")


# The upcasters of the event shapes that changed, registered once this module is whole.
from perfcore import _event_shapes  # noqa: E402, F401
