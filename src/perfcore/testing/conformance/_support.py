"""What the contract modules share: events and heads to append, reading a store back, comparing
what it gives with what it was given, and running things in threads.

Everything here goes through :mod:`perfcore.ports` only, so that the contract judges an adapter
by what it does, never by how it is built. The events are built as bytes directly (their bodies
hold every byte value, and their headers text beyond ASCII, so that a store that keeps text, not
bytes, shows), chained as :mod:`perfcore.recording` chains them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

import attrs
import pytest

from perfcore.errors import PerfcoreError
from perfcore.ports import (
    BODY_LIVE,
    INDEX_COLUMNS,
    IdempotencyRecord,
    IndexValue,
    Notification,
    RecordedEvent,
    Seal,
    Snapshot,
    Store,
    StreamHead,
    UnitOfWork,
    body_digest,
)
from perfcore.recording import chain_hash, record
from perfcore.testing.drivers import EPOCH, driver_for, drivers, path_to

__all__ = [
    "EPOCH",
    "Batch",
    "appended",
    "assert_events",
    "assert_head",
    "assert_heads",
    "batch",
    "batch_from",
    "kinds",
    "commit",
    "driven",
    "finish_within",
    "furthest_state",
    "head_of",
    "in_threads",
    "key_record",
    "notification",
    "outcome",
    "pending",
    "read",
    "scan_all",
    "seal",
    "snapshot",
    "write_and_commit",
]

T = TypeVar("T")

#: Every byte value, so that a store which keeps text (or drops a NUL) shows.
EVERY_BYTE = bytes(range(256))


# -- building what is appended --------------------------------------------------------------------


@attrs.frozen
class Batch:
    """Events to append to one stream in one call, the head that follows them, and the version
    the stream must be at for them."""

    head: StreamHead
    events: tuple[RecordedEvent, ...]
    expected_version: int

    def append_to(self, uow: UnitOfWork) -> None:
        """Append the batch in ``uow``."""
        uow.events.append(self.head, self.events, expected_version=self.expected_version)

    def then(
        self,
        count: int = 1,
        state: str | None = None,
        columns: Mapping[str, IndexValue] | None = None,
        *,
        tag: str = "",
    ) -> Batch:
        """The next batch of the stream: ``count`` events after this one's, leaving it in
        ``state`` with ``columns`` (by default, this head's)."""
        return _batch(
            self.head.kind,
            self.head.id,
            self.head.version,
            self.head.hash,
            count,
            self.head.state if state is None else state,
            dict(self.head.columns) if columns is None else dict(columns),
            tag,
        )


def batch(
    kind: str,
    id: str,
    count: int = 1,
    state: str = "draft",
    columns: Mapping[str, IndexValue] | None = None,
    *,
    tag: str = "",
) -> Batch:
    """The first batch of a new stream: ``count`` events, leaving it in ``state`` with
    ``columns``. ``tag`` goes into the bodies, to tell batches of two writers apart."""
    return _batch(kind, id, 0, b"", count, state, dict(columns or {}), tag)


def batch_from(
    kind: str,
    id: str,
    version: int,
    count: int = 1,
    state: str = "draft",
    columns: Mapping[str, IndexValue] | None = None,
    *,
    tag: str = "",
    previous_hash: bytes | None = None,
) -> Batch:
    """A batch for a stream taken to be at ``version``, chained after ``previous_hash`` (by
    default one made up): to append from any version, right or wrong."""
    if previous_hash is None:
        previous_hash = (
            b"" if version == 0 else hashlib.sha256(f"{kind}/{id}/{version}".encode()).digest()
        )
    return _batch(kind, id, version, previous_hash, count, state, dict(columns or {}), tag)


def _batch(
    kind: str,
    id: str,
    version: int,
    previous_hash: bytes,
    count: int,
    state: str,
    columns: dict[str, IndexValue],
    tag: str,
) -> Batch:
    made: list[RecordedEvent] = []
    for number in range(version + 1, version + count + 1):
        at = (EPOCH + dt.timedelta(minutes=number)).isoformat()
        header = json.dumps(["check_in", state, state, "anaïs", at], ensure_ascii=False).encode()
        salt = hashlib.sha256(f"{kind}\x00{id}\x00{number}\x00{tag}".encode()).digest()[:16]
        body = bytes((BODY_LIVE,)) + salt + EVERY_BYTE + json.dumps([tag, number]).encode()
        schema = 1 + number % 2
        hash = chain_hash(previous_hash, kind, id, number, schema, header, body_digest(body))
        made.append(
            RecordedEvent(
                kind=kind,
                id=id,
                version=number,
                schema=schema,
                header=header,
                body=body,
                hash=hash,
            )
        )
        previous_hash = hash
    head = StreamHead(
        kind=kind,
        id=id,
        version=version + count,
        hash=previous_hash,
        state=state,
        columns=columns,
    )
    return Batch(head, tuple(made), version)


def furthest_state(kind: str) -> str:
    """The state of ``kind`` that takes its driver the most commands to reach."""
    lifecycle = driver_for(kind).lifecycle
    steps: dict[str, int] = {}
    for state in sorted(lifecycle.states):
        with contextlib.suppress(ValueError):
            steps[state] = len(path_to(lifecycle, state))
    return max(steps, key=lambda state: steps[state])


def driven(kind: str, id: str, state: str | None = None) -> Batch:
    """The events of a real object of ``kind``, brought to ``state`` (by default the furthest)
    by a driver, recorded as perfcore records them, as one batch creating its stream."""
    state = furthest_state(kind) if state is None else state
    history = driver_for(kind).reach(state, id=id).history
    events = record(history, previous_hash=b"")
    head = StreamHead(
        kind=kind, id=id, version=len(events), hash=events[-1].hash, state=state, columns={}
    )
    return Batch(head, tuple(events), 0)


def kinds() -> list[str]:
    """Every aggregate type perfcore has a driver for."""
    return sorted(drivers())


def snapshot(kind: str, id: str, version: int) -> Snapshot:
    """A snapshot of ``kind``/``id`` at ``version``, its data telling the version."""
    data = json.dumps({"id": id, "version": version, "note": "résumé ✓"}, ensure_ascii=False)
    return Snapshot(kind=kind, id=id, version=version, schema=1, data=data.encode() + b"\x00\xff")


def seal(number: int, upto: int, previous: Seal | None = None) -> Seal:
    """Seal ``number``, covering positions up to ``upto``, after ``previous``."""
    streams = json.dumps([["Goal", "g-1", number]]).encode()
    previous_hash = b"" if previous is None else previous.hash
    return Seal(
        number=number,
        upto=upto,
        count=upto - (0 if previous is None else previous.upto),
        streams=streams,
        previous_hash=previous_hash,
        hash=hashlib.sha256(previous_hash + streams + str(upto).encode()).digest(),
        at=EPOCH + dt.timedelta(hours=number),
    )


def notification(id: str, kind: str = "review_due") -> Notification:
    """A notification for the outbox tests."""
    return Notification(
        id=id,
        kind=kind,
        recipients=("ana", "ben"),
        aggregate_type="Goal",
        aggregate_id="g-1",
        version=1,
        at=EPOCH,
        data={"note": "résumé ✓", "n": 1, "nested": {"list": [1, "two", None]}},
    )


def key_record(key: str, version: int = 1) -> IdempotencyRecord:
    """An idempotency record for the key tests."""
    return IdempotencyRecord(
        key=key,
        fingerprint="f" * 64,
        aggregate_type="Goal",
        aggregate_id="g-1",
        version=version,
        at=EPOCH,
    )


# -- writing and reading back ---------------------------------------------------------------------


def write_and_commit(uow: UnitOfWork, *writes: Callable[[], object]) -> None:
    """Run ``writes``, then commit: an adapter may refuse at a write or at the commit."""
    for write in writes:
        write()
    uow.commit()


def commit(store: Store, *batches: Batch) -> None:
    """Append ``batches`` in one unit of work, and commit it."""
    with store.unit_of_work() as uow:
        for each in batches:
            each.append_to(uow)
        uow.commit()


def read(store: Store, kind: str, id: str, after: int = 0) -> list[RecordedEvent]:
    """The stream's events after ``after``, read in a unit of work of their own."""
    with store.unit_of_work() as uow:
        return list(uow.events.read(kind, id, after=after))


def head_of(store: Store, kind: str, id: str) -> StreamHead | None:
    """The stream's head, read in a unit of work of its own."""
    with store.unit_of_work() as uow:
        return uow.events.head(kind, id)


def scan_all(store: Store, after: int = 0, page: int = 1000) -> list[RecordedEvent]:
    """Every committed event after position ``after``, paged through ``page`` at a time."""
    found: list[RecordedEvent] = []
    with store.unit_of_work() as uow:
        while True:
            events = list(uow.events.scan(after=after, limit=page))
            if not events:
                return found
            found += events
            after = events[-1].position


def pending(store: Store, limit: int = 1000) -> list[Notification]:
    """The undelivered notifications."""
    with store.unit_of_work() as uow:
        return list(uow.outbox.pending(limit))


def appended(batches: Iterable[Batch]) -> list[RecordedEvent]:
    """The events of ``batches``, one after the other."""
    return [event for each in batches for event in each.events]


# -- comparing ------------------------------------------------------------------------------------

_EVENT_BYTES = ("header", "body", "hash")


def assert_events(found: Sequence[RecordedEvent], given: Sequence[RecordedEvent]) -> None:
    """``found`` (read back) are ``given`` (appended), in order, to the byte: every field as
    given, bytes as :class:`bytes` (not text, a memoryview or a bytearray), and each with a
    position (which ``given`` may not have yet)."""
    assert len(found) == len(given), (
        f"{len(found)} events read back where {len(given)} were appended"
        f" (versions {[e.version for e in found][:5]}...)"
    )
    for number, (one, expected) in enumerate(zip(found, given, strict=True)):
        where = f"event {number} ({expected.kind} {expected.id!r} version {expected.version})"
        for field in _EVENT_BYTES:
            value = getattr(one, field)
            assert type(value) is bytes, f"{where}: {field} came back as {type(value).__name__}"
        for field in ("kind", "id", "version", "schema", *_EVENT_BYTES):
            value, wanted = getattr(one, field), getattr(expected, field)
            assert value == wanted, f"{where}: {field} is {value!r:.80}, not {wanted!r:.80}"
        for field in ("version", "schema", "position"):
            value = getattr(one, field)
            assert type(value) is int, f"{where}: {field} came back as {type(value).__name__}"
        assert one.position > 0, f"{where} was read back without a position: {one.position}"
        if expected.position:
            assert one.position == expected.position, f"{where}: its position changed"


def _columns(head: StreamHead) -> dict[str, IndexValue]:
    # A missing column is NULL: ``{}`` and ``{"owner": None}`` say the same.
    return {column: head.columns.get(column) for column in INDEX_COLUMNS}


def assert_head(found: StreamHead | None, given: StreamHead) -> None:
    """``found`` is the head ``given``: every field as given (a missing column and a ``None``
    one are the same), numbers as numbers, no column outside ``INDEX_COLUMNS``."""
    assert found is not None, f"{given.kind} {given.id!r} has no head"
    where = f"the head of {given.kind} {given.id!r}"
    assert type(found.hash) is bytes, f"{where}: hash came back as {type(found.hash).__name__}"
    assert type(found.version) is int, f"{where}: version is a {type(found.version).__name__}"
    for field in ("kind", "id", "version", "hash", "state"):
        value, wanted = getattr(found, field), getattr(given, field)
        assert value == wanted, f"{where}: {field} is {value!r}, not {wanted!r}"
    extra = set(found.columns) - set(INDEX_COLUMNS)
    assert not extra, f"{where} has columns outside INDEX_COLUMNS: {sorted(extra)}"
    found_columns, given_columns = _columns(found), _columns(given)
    for column in INDEX_COLUMNS:
        value, wanted = found_columns[column], given_columns[column]
        message = f"{where}: column {column} is {value!r}, not {wanted!r}"
        assert type(value) is type(wanted), message
        assert value == wanted, message


def assert_heads(found: Sequence[StreamHead], given: Sequence[StreamHead], what: str) -> None:
    """``found`` are the heads ``given``, in order (see :func:`assert_head`)."""
    names = [(head.kind, head.id) for head in found]
    wanted = [(head.kind, head.id) for head in given]
    assert names == wanted, f"{what}: found {names}, not {wanted}"
    for one, expected in zip(found, given, strict=True):
        assert_head(one, expected)


# -- threads --------------------------------------------------------------------------------------


def outcome(command: Callable[[], object]) -> str:
    """``"won"`` if ``command`` returns, else the class name of the perfcore error it raised
    (any other error propagates)."""
    try:
        command()
    except PerfcoreError as error:
        return type(error).__name__
    return "won"


def in_threads(count: int, command: Callable[[int], object], guard: float) -> list[str]:
    """Run ``command(n)`` in ``count`` threads started together: each one's :func:`outcome`,
    in thread order. An error other than perfcore's fails the test, with its text."""
    outcomes: list[str | None] = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count, timeout=guard)

    def run(number: int) -> None:
        try:
            start.wait()
            outcomes[number] = outcome(lambda: command(number))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(guard)
    if errors:
        raise errors[0]
    stuck = [n for n, thread in enumerate(threads) if thread.is_alive()]
    if stuck:
        pytest.fail(f"threads {stuck} did not finish within {guard} s: a deadlock?")
    return [str(each) for each in outcomes]


def finish_within(command: Callable[[], T], guard: float, what: str) -> T:
    """``command()``, run in a thread of its own; the test fails, saying ``what`` waited, if it
    has not finished within ``guard`` seconds (rather than hanging)."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(command())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(guard)
    if thread.is_alive():
        pytest.fail(f"{what} did not finish within {guard} s")
    if errors:
        raise errors[0]
    return results[0]
