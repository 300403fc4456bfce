"""The audit: proving the stored state against the events, and sealing the global order.

The events are the record (:mod:`perfcore.ports`). Three things make tampering with them show:

- **Each stream's hash chain** (:mod:`perfcore.recording`): every event's ``hash`` covers the
  hash before it, the stream, the version, the schema, the header and the body's digest. Editing,
  removing or reordering an event of a stream breaks its chain there, and the stream's head
  carries the last hash, so the stream's end is pinned too.
- **Seals over the global order** (:func:`seal`): every so often (the services seal after each
  ``seal_every`` committed events, and on ``Perfcore.seal_audit_log()``), a
  :class:`~perfcore.ports.Seal` commits to every event with a position after the previous seal's
  ``upto`` (up to its own ``upto``, the position of the last event it covers): its hash is
  SHA-256 (HMAC-SHA256 with the audit key) over::

      len(previous_hash) (4 bytes) | previous_hash | number (8) | upto (8) | count (8)
      | len(streams) (8) | streams | for each covered event, in position order:
        position (8) | chain hash

  (integers big-endian), where ``streams`` is the *manifest*: the canonical JSON list of
  ``[kind, id, highest version covered]``, sorted. The seals chain to each other, and the manifest
  pins each stream's version: a stream rolled back or removed after it was sealed shows against
  it, and so does a cut-off or reordered log. (A seal's ``at`` is not covered: it says when, for
  people.)
- **Checkpoints** kept outside the database (:class:`AuditCheckpoint`, from the last report):
  without a key, someone who can rewrite the whole database can also recompute every hash; a
  checkpoint (a seal's number and hash, and how far the log reached) cannot be rewritten with it.
  With an audit key, no chain or seal can be recomputed without the key at all.

**Gaps are not deletions.** Positions may have gaps: a write that was rolled back leaves one, and
so do PostgreSQL sequences. A seal commits to exactly the events present in its range when it was
made (their positions, their chain hashes and their count), so a gap inside a sealed range is
proven harmless, while an event deleted after sealing breaks the seal: the range's hash and count
no longer match, and the manifest names the stream that was rolled back or removed
(``STREAM_ROLLED_BACK``, ``STREAM_MISSING``), or the log ends before the seal's ``upto``
(``TAIL_CUT``). Events after the last seal are covered only by their streams' chains and heads
until they are sealed, and by a checkpoint: removing a whole unsealed stream, or cutting the
unsealed tail and setting the heads back, shows only against a checkpoint that saw them. A seal
covers only up to :meth:`~perfcore.ports.EventStore.stable_position`, below which no write can
still appear, so a write not yet visible when a seal is made is never skipped by it.

:func:`verify_store` checks all of it in one pass over the streams and one over the global order,
in constant memory, while commands go on committing; see its docstring.

>>> import datetime as dt
>>> from perfcore.adapters.memory import MemoryStore
>>> from perfcore.streams import Streams
>>> from perfcore.testing.drivers import driver_for
>>> store = MemoryStore()
>>> with store.unit_of_work() as uow:
...     _ = Streams(uow).save(driver_for("Goal").reach("active", id="g-1"), loaded=None)
...     uow.commit()
>>> at = dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
>>> with store.unit_of_work() as uow:
...     made = seal(uow, key=None, at=at)
...     uow.commit()
>>> made.number, made.upto, made.count, made.streams
(1, 3, 3, b'[["Goal","g-1",3]]')
>>> report = verify_store(store)
>>> report.intact, report.events, report.streams, report.seals
(True, 3, 1, 1)
>>> report.checkpoint.seal, report.checkpoint.position, report.checkpoint.count
(1, 3, 3)
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import hashlib
import hmac
import itertools
import json
import operator
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, NoReturn, Protocol

import attrs

from perfcore._aggregate import Aggregate
from perfcore._codec import canonical_json, to_json_data
from perfcore._validate import check_aware
from perfcore.erasure import erased_streams
from perfcore.errors import PerfcoreError, StorageError, ValidationError
from perfcore.events import CREATED
from perfcore.lifecycle import Lifecycle
from perfcore.ports import (
    BODY_ERASED,
    EventRow,
    EventStore,
    RawEventReads,
    RecordedEvent,
    Seal,
    Snapshot,
    Store,
    StreamHead,
    UnitOfWork,
)
from perfcore.recording import EVENT_SCHEMAS, decode
from perfcore.serialization import SCHEMA_VERSIONS, from_envelope
from perfcore.streams import (
    DERIVED_COLUMNS,
    QUERY_COLUMNS,
    ObjectCache,
    Streams,
    aggregate_type,
    head_of,
    restore,
)

__all__ = [
    "AuditCheckpoint",
    "AuditProblem",
    "AuditReport",
    "manifest",
    "seal",
    "seal_hash",
    "verify_store",
]

#: How many events a seal covers at most, by default.
SEAL_LIMIT: Final = 10_000
#: Events and stream heads read per page.
_PAGE: Final = 1000
#: Events of one stream chain-checked, then decoded and replayed, at a time.
_BATCH: Final = 256
#: ``(position, hash)`` pairs of the global order read per page.
_LINKS: Final = 1000
#: Where the JSON of a live body starts: after the marker byte and the 16 bytes of salt.
_BODY_JSON: Final = 17
_ERASED: Final = bytes((BODY_ERASED,))
#: An event's version, schema and header length, as its chain hash covers them.
_NUMBERS: Final = struct.Struct(">QII")


def _check_key(key: object) -> bytes | None:
    if key is None:
        return None
    if not isinstance(key, bytes) or not key:
        raise ValidationError("key", "an audit key must be non-empty bytes, or None")
    return key


# -- seals ----------------------------------------------------------------------------------------


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


def _seal_hasher(
    previous_hash: bytes, number: int, upto: int, count: int, streams: bytes, key: bytes | None
) -> _Hasher:
    hasher: _Hasher = hashlib.sha256() if key is None else hmac.new(key, digestmod=hashlib.sha256)
    hasher.update(
        b"".join(
            (
                len(previous_hash).to_bytes(4, "big"),
                previous_hash,
                number.to_bytes(8, "big"),
                upto.to_bytes(8, "big"),
                count.to_bytes(8, "big"),
                len(streams).to_bytes(8, "big"),
                streams,
            )
        )
    )
    return hasher


def _links(events: Iterable[RecordedEvent]) -> bytes:
    """What a seal's hash covers of each event: its position and its chain hash."""
    parts: list[bytes] = []
    for event in events:
        parts.append(event.position.to_bytes(8, "big"))
        parts.append(event.hash)
    return b"".join(parts)


def seal_hash(
    *,
    previous_hash: bytes,
    number: int,
    upto: int,
    count: int,
    streams: bytes,
    events: Iterable[RecordedEvent],
    key: bytes | None = None,
) -> bytes:
    """The hash of a seal with these fields over ``events`` (those of its range, in position
    order): SHA-256, or HMAC-SHA256 with ``key``. See the module's docstring for its input."""
    hasher = _seal_hasher(previous_hash, number, upto, count, streams, _check_key(key))
    hasher.update(_links(events))
    return hasher.digest()


def manifest(versions: dict[tuple[str, str], int]) -> bytes:
    """A seal's manifest: the canonical JSON list of ``[kind, id, version]``, sorted."""
    rows = [[kind, id, version] for (kind, id), version in sorted(versions.items())]
    return canonical_json(rows).encode("utf-8")


def _positive(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError(name, f"must be a whole number of at least 1, not {value!r}")
    return value


def seal(
    uow: UnitOfWork, *, key: bytes | None, at: dt.datetime, limit: int = SEAL_LIMIT
) -> Seal | None:
    """Add the next seal to ``uow``'s seal log, covering the committed events after the last
    seal's ``upto``, up to the store's stable position (at most ``limit`` of them); the caller
    commits. Call it again while it returns a seal to cover a long unsealed tail.

    Args:
        uow: the unit of work.
        key: the audit key (HMAC-SHA256); ``None`` for SHA-256.
        at: when.
        limit: the most events one seal covers.

    Returns:
        The seal added, or ``None`` when no event is left to seal.

    Raises:
        ConcurrencyError: (``aggregate_type`` :data:`perfcore.ports.SEALS`, now or at commit)
            another unit of work sealed first; try again in a new unit of work.
    """
    secret = _check_key(key)
    check_aware("at", at)
    _positive("limit", limit)
    last = uow.seals.last()
    after = 0 if last is None else last.upto
    stable = uow.events.stable_position()
    if stable <= after:
        return None
    covered: list[bytes] = []
    versions: dict[tuple[str, str], int] = {}
    upto = after
    count = 0
    done = False
    while count < limit and not done:
        want = min(_PAGE, limit - count)
        page = uow.events.scan(after=upto, limit=want)
        for event in page:
            if event.position > stable:
                done = True
                break
            covered.append(event.position.to_bytes(8, "big"))
            covered.append(event.hash)
            stream = (event.kind, event.id)
            if versions.get(stream, 0) < event.version:
                versions[stream] = event.version
            upto = event.position
            count += 1
        done = done or len(page) < want
    if count == 0:
        return None
    number = 1 if last is None else last.number + 1
    previous = b"" if last is None else last.hash
    streams = manifest(versions)
    hasher = _seal_hasher(previous, number, upto, count, streams, secret)
    hasher.update(b"".join(covered))
    made = Seal(
        number=number,
        upto=upto,
        count=count,
        streams=streams,
        previous_hash=previous,
        hash=hasher.digest(),
        at=at,
    )
    uow.seals.add(made)
    return made


# -- reports --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AuditCheckpoint:
    """What a verification saw, to keep outside the database (a ticket, a signed e-mail, another
    system): the next verification checks that it still holds.

    Attributes:
        seal: the number of the last seal (0: none yet).
        seal_hash: that seal's hash (empty for none).
        position: the highest position of an event seen (0: none).
        count: how many events were seen at or below ``position``.
    """

    seal: int
    seal_hash: bytes
    position: int
    count: int

    def as_text(self) -> str:
        """One line of text to keep: ``seal:hash-hex:position:count``."""
        return f"{self.seal}:{self.seal_hash.hex()}:{self.position}:{self.count}"

    @classmethod
    def from_text(cls, text: str) -> AuditCheckpoint:
        """The checkpoint :meth:`as_text` wrote.

        Raises:
            ValidationError: ``text`` is not such a line.
        """
        try:
            seal, digest, position, count = text.strip().split(":")
            return cls(
                seal=int(seal),
                seal_hash=bytes.fromhex(digest),
                position=int(position),
                count=int(count),
            )
        except ValueError:
            raise ValidationError("checkpoint", f"{text!r} is not an audit checkpoint") from None


class AuditProblem(enum.StrEnum):
    """What :func:`verify_store` found wrong first."""

    #: An event does not match its chain hash: its header, body, stream, version or schema (or
    #: its hash) was changed.
    EVENT_EDITED = "event_edited"
    #: A stream skips a version: an event in the middle of it is gone.
    EVENT_MISSING = "event_missing"
    #: A snapshot, a stream head, or the object the store loads differs from the replay of the
    #: stream's events (a goal's target or state edited in the database, say).
    STATE_EDITED = "state_edited"
    #: A stream that a seal names is gone.
    STREAM_MISSING = "stream_missing"
    #: A stream is at a lower version than a seal saw, or its events stop before its head: an
    #: object was put back to an earlier version.
    STREAM_ROLLED_BACK = "stream_rolled_back"
    #: The log ends before a seal's range or a checkpoint's position: its tail was cut off.
    TAIL_CUT = "tail_cut"
    #: Events moved between positions: a seal's hash fails while each stream is intact (without
    #: a key, also an event rewritten with its stream's chain recomputed).
    REORDERED = "reordered"
    #: A seal's own fields are wrong: its link to the seal before, its hash (against the next
    #: seal's link or a checkpoint), its count, its range or its manifest.
    SEAL_EDITED = "seal_edited"
    #: A stored row cannot be read or decoded, or a stream's events do not replay.
    UNREADABLE = "unreadable"
    #: An event's body was erased, but no erasure record of the stream's person names it.
    ERASED_WITHOUT_RECORD = "erased_without_record"


@attrs.frozen(kw_only=True)
class AuditReport:
    """The outcome of :func:`verify_store`; true when the store is intact.

    Attributes:
        intact: whether everything checked out.
        events: how many events were checked against their streams' chains.
        streams: how many streams were checked.
        seals: how many seals were checked.
        problem: what is wrong first; ``None`` when intact.
        kind, id, version, position: the first bad stream and event, where known.
        seal: the number of the seal at fault, where one is.
        detail: what was found, in words.
        checkpoint: when intact, what to keep outside the database for the next verification
            (the last seal read, and the highest position seen); ``None`` otherwise.
    """

    intact: bool
    events: int
    streams: int
    seals: int
    problem: AuditProblem | None = None
    kind: str | None = None
    id: str | None = None
    version: int | None = None
    position: int | None = None
    seal: int | None = None
    detail: str = "the store is intact"
    checkpoint: AuditCheckpoint | None = None

    def __bool__(self) -> bool:
        return self.intact


@attrs.frozen(kw_only=True)
class _Finding:
    problem: AuditProblem
    detail: str
    kind: str | None = None
    id: str | None = None
    version: int | None = None
    position: int | None = None
    seal: int | None = None
    #: Reported only if no stream shows a fault.
    weak: bool = False


class _Found(Exception):
    """Ends a verification at its first finding."""

    def __init__(self, finding: _Finding) -> None:
        super().__init__(finding.detail)
        self.finding = finding


def _fail(problem: AuditProblem, detail: str, **where: Any) -> NoReturn:
    raise _Found(_Finding(problem=problem, detail=detail, **where))


def _weak(problem: AuditProblem, detail: str, **where: Any) -> NoReturn:
    """A finding the streams' checks may explain better (see ``_Verifier._seal_broken``)."""
    raise _Found(_Finding(problem=problem, detail=detail, weak=True, **where))


def _at(event: RecordedEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "id": event.id,
        "version": event.version,
        "position": event.position,
    }


def _name(kind: str, id: str) -> str:
    return f"{kind} {id!r}"


# -- verifying ------------------------------------------------------------------------------------


def verify_store(
    store: Store,
    *,
    key: bytes | None = None,
    checkpoint: AuditCheckpoint | None = None,
    replay: bool = True,
) -> AuditReport:
    """Prove a store's state against its events, and report the first fault found.

    In one read-only unit of work:

    1. ``checkpoint`` (from an earlier report, kept outside the database): the seal it names
       still has its hash.
    2. The global order, read once with :meth:`~perfcore.ports.EventStore.scan`: each seal, up
       to the last one there was when the verification began, follows and links to the one
       before, and its hash and count match the events in its range. (Only when a seal fails
       is its manifest read, to name the stream rolled back or removed.) The log still reaches
       the checkpoint's position, with as many events up to it as the checkpoint saw.
    3. Every stream, up to the version of its head as read (later events are commands
       committing meanwhile): versions 1 to the head's without a gap, positions rising with
       them, each event's chain hash (over its stored bytes: nothing is decoded), the head's
       hash (the last event's), no event left beyond the head; an erased body only where an
       erasure record of the stream's person names the stream. With ``replay``, the events up
       to the newest snapshot are replayed and must equal it, and the object the store loads
       (that snapshot and the chain-checked events after it, replayed: the replay of all its
       events) must match its head's state and query columns. Streams of kinds that are not
       aggregate types ("Lineage", "Erasure", ...), and erased streams, are chain-checked only.
    4. The streams hold every event the global order holds up to the stable position (an event
       whose head was deleted is found here).

    A seal's failure that the seal alone cannot explain (events swapped, or gone from the
    middle of a stream, or a count edited) is reported only if no stream's check names the
    fault first.

    Each stream is read once and checked the fast way: its chain over the rows as stored, and
    (with ``replay``) its events folded into the object's fields as JSON data, which must equal
    its snapshot to the byte and its head's state and columns. A stream the fast check cannot
    prove whole is checked again the careful way (read through ``read()``, decoded, replayed
    through :meth:`~perfcore._aggregate.Aggregate.replay`, loaded as the store loads it), which
    names the fault; docs/storage.md argues why the fold proves what the replay proves. A
    store that offers :class:`~perfcore.ports.RawEventReads` hands over its rows in a few large
    reads; any other is read through ``streams()``, ``read()`` and ``scan()``.

    Memory stays constant: pages of stream heads and events, one stream's events and objects at a
    time, one seal's manifest at a time (and only when it failed).

    Args:
        store: the store.
        key: the audit key the store was written with; ``None`` for SHA-256.
        checkpoint: what an earlier verification saw (its :attr:`AuditReport.checkpoint`).
        replay: whether to rebuild every object (``False``: chains, heads and seals only, much
            faster).

    Returns:
        An :class:`AuditReport`: intact with a new checkpoint, or the first fault.
    """
    secret = _check_key(key)
    with store.unit_of_work() as uow:
        return _Verifier(uow, secret, checkpoint, replay).run()


class _Verifier:
    """One verification of one unit of work's view of a store."""

    def __init__(
        self,
        uow: UnitOfWork,
        key: bytes | None,
        checkpoint: AuditCheckpoint | None,
        replay: bool,
    ) -> None:
        self.uow = uow
        self.events: EventStore = uow.events
        self.key = key
        self.checkpoint = checkpoint
        self.replay = replay
        self.checked_events = 0
        #: Events the streams hold at or below the stable position: as many as the scan saw.
        self.stable_events = 0
        self.checked_streams = 0
        self.checked_seals = 0
        self.scanned = 0
        self.highest = 0
        self.last_seal: Seal | None = None
        self.stable = 0
        #: Events seen at or below the checkpoint's position, and whether the one at it was.
        self._below = 0
        self._reached = False
        self._types: dict[str, type[Aggregate] | None] = {}
        self._shapes: dict[str, _Shape | None] = {}
        #: By kind: whether its heads carry columns worked out from the object, not fields.
        self.derived: dict[str, bool] = {}
        self._erasures: tuple[str, frozenset[tuple[str, str]]] | None = None

    def run(self) -> AuditReport:
        try:
            self._begin()
            weak: _Found | None = None
            try:
                self._order()
            except _Found as found:
                # A seal that fails while the streams it names look whole: a stream's own check
                # may name the event (a swap within one stream, a chain recomputed without the
                # key, an event gone from the middle of a stream).
                if not found.finding.weak:
                    raise
                weak = found
            self._streams()
            if weak is not None:
                raise weak
            if self.stable_events < self.scanned:
                self._headless()
        except _Found as found:
            return self._report(found.finding)
        last = self.last_seal
        return AuditReport(
            intact=True,
            events=self.checked_events,
            streams=self.checked_streams,
            seals=self.checked_seals,
            checkpoint=AuditCheckpoint(
                seal=0 if last is None else last.number,
                seal_hash=b"" if last is None else last.hash,
                position=self.highest,
                count=self.scanned,
            ),
        )

    def _report(self, finding: _Finding) -> AuditReport:
        return AuditReport(
            intact=False,
            events=self.checked_events,
            streams=self.checked_streams,
            seals=self.checked_seals,
            problem=finding.problem,
            kind=finding.kind,
            id=finding.id,
            version=finding.version,
            position=finding.position,
            seal=finding.seal,
            detail=finding.detail,
        )

    # -- the start: what is verified, and the checkpoint's seal ---------------------------------

    def _begin(self) -> None:
        try:
            self.last_seal = self.uow.seals.last()
            # Read after the last seal, so that every seal read covers only stable positions.
            self.stable = self.events.stable_position()
        except StorageError as error:
            _fail(AuditProblem.UNREADABLE, f"the seal log cannot be read: {error}")
        checkpoint = self.checkpoint
        if checkpoint is None or checkpoint.seal <= 0:
            return
        last = self.last_seal
        if last is None or last.number < checkpoint.seal:
            _fail(
                AuditProblem.SEAL_EDITED,
                f"seal {checkpoint.seal}, which the checkpoint names, is gone: the seal log ends"
                f" at seal {0 if last is None else last.number}",
                seal=checkpoint.seal,
            )
        found = self._seal_numbered(checkpoint.seal)
        if found is None or found.hash != checkpoint.seal_hash:
            _fail(
                AuditProblem.SEAL_EDITED,
                f"seal {checkpoint.seal} is not the seal the checkpoint saw: the sealed log was"
                " rewritten",
                seal=checkpoint.seal,
            )

    def _seal_numbered(self, number: int) -> Seal | None:
        try:
            for found in self.uow.seals.read(after=number - 1):
                return found if found.number == number else None
        except StorageError as error:
            _fail(AuditProblem.UNREADABLE, f"seal {number} cannot be read: {error}", seal=number)
        return None

    # -- the global order: seals, the unsealed tail, the checkpoint's reach ---------------------

    def _order(self) -> None:
        events = self.events
        if isinstance(events, RawEventReads):
            try:
                self._order_of(_Links(events.raw_links(after=0, upto=_END)))
                return
            except _RAW_ERRORS:
                # A row that is not what it should be: read again through scan(), which
                # names what cannot be read.
                self.scanned = self.highest = self.checked_seals = self._below = 0
                self._reached = False
        self._order_of(_Links(_links_of(events)))

    def _order_of(self, scanner: _Links) -> None:
        last = self.last_seal
        previous: Seal | None = None
        if last is not None:
            seals = self.uow.seals.read()
            current = self._next_seal(seals, 1)
            while current is not None and current.number <= last.number:
                following = self._next_seal(seals, current.number + 1)
                if following is not None and following.number > last.number:
                    following = None
                self._seal(current, previous, following, scanner)
                self.checked_seals += 1
                previous = current
                current = following
            if previous is None or previous.number != last.number:
                number = 1 if previous is None else previous.number + 1
                _fail(
                    AuditProblem.SEAL_EDITED,
                    f"seal {number} is missing: the seal log went up to seal {last.number}",
                    seal=number,
                )
        for page in scanner.until(self.stable):
            self._count(page)
        self._reach()

    def _next_seal(self, seals: Iterator[Seal], number: int) -> Seal | None:
        try:
            return next(seals, None)
        except StorageError as error:
            _fail(AuditProblem.UNREADABLE, f"seal {number} cannot be read: {error}", seal=number)

    def _count(self, page: Sequence[tuple[int, bytes]]) -> None:
        self.scanned += len(page)
        self.highest = page[-1][0]
        checkpoint = self.checkpoint
        if checkpoint is not None and page[0][0] <= checkpoint.position:
            index = bisect.bisect_right(page, checkpoint.position, key=_first)
            self._below += index
            if index and page[index - 1][0] == checkpoint.position:
                self._reached = True

    def _reach(self) -> None:
        """The log must still reach the checkpoint, with every event it saw below it."""
        checkpoint = self.checkpoint
        if checkpoint is None or checkpoint.position <= 0:
            return
        if not self._reached:
            _fail(
                AuditProblem.TAIL_CUT,
                f"the event at position {checkpoint.position}, which the checkpoint saw, is gone:"
                f" the log now ends at position {self.highest}",
                position=checkpoint.position,
            )
        if self._below < checkpoint.count:
            _fail(
                AuditProblem.TAIL_CUT,
                f"{checkpoint.count - self._below} of the {checkpoint.count} events the"
                f" checkpoint saw up to position {checkpoint.position} are gone",
                position=checkpoint.position,
            )
        if self._below > checkpoint.count:
            _fail(
                AuditProblem.REORDERED,
                f"{self._below - checkpoint.count} events appeared at or below position"
                f" {checkpoint.position} after the checkpoint saw {checkpoint.count} there",
                position=checkpoint.position,
            )

    def _seal(
        self, current: Seal, previous: Seal | None, following: Seal | None, scanner: _Links
    ) -> None:
        number = 1 if previous is None else previous.number + 1
        low = 0 if previous is None else previous.upto
        link = b"" if previous is None else previous.hash
        if current.number != number:
            _fail(
                AuditProblem.SEAL_EDITED,
                f"seal {number} is missing: seal {current.number} follows seal {number - 1}",
                seal=number,
            )
        if current.previous_hash != link:
            _fail(
                AuditProblem.SEAL_EDITED,
                f"seal {number} does not link to seal {number - 1}",
                seal=number,
            )
        if current.upto <= low or current.count < 1:
            _fail(
                AuditProblem.SEAL_EDITED,
                f"seal {number} covers no range: up to position {current.upto} after"
                f" {low}, {current.count} events",
                seal=number,
            )
        try:
            hasher = _seal_hasher(
                link, number, current.upto, current.count, current.streams, self.key
            )
        except (OverflowError, TypeError):
            _fail(AuditProblem.SEAL_EDITED, f"seal {number} holds impossible numbers", seal=number)
        count = 0
        last_present = low
        for page in scanner.until(current.upto):
            hasher.update(b"".join([_POSITION.pack(at) + link for at, link in page]))
            count += len(page)
            last_present = page[-1][0]
            self._count(page)
        if hasher.digest() == current.hash:
            if count != current.count:
                _fail(
                    AuditProblem.SEAL_EDITED,
                    f"seal {number}'s hash holds, but it says it covers {current.count} events"
                    f" and its range holds {count}: the seal was forged",
                    seal=number,
                )
            return
        derived = self._derive(low, current.upto)
        self._seal_broken(current, following, scanner, count, derived, low, last_present)

    def _derive(self, low: int, upto: int) -> bytes:
        """The manifest of the events now in positions ``(low, upto]``."""
        versions: dict[tuple[str, str], int] = {}
        scanner = _Scanner(self.events, after=low)
        for page in scanner.until(upto):
            for event in page:
                stream = (event.kind, event.id)
                if versions.get(stream, 0) < event.version:
                    versions[stream] = event.version
        return manifest(versions)

    def _seal_broken(
        self,
        current: Seal,
        following: Seal | None,
        scanner: _Links,
        count: int,
        derived: bytes,
        low: int,
        last_present: int,
    ) -> NoReturn:
        """Say why a seal's hash does not match the events in its range.

        What the seal alone cannot tell apart (its count or manifest edited, or events moved,
        deleted in the middle of a stream, or rewritten) is a *weak* finding: the streams are
        checked first, and a fault one of them shows is reported instead.
        """
        number = current.number
        span = f"positions {low + 1} to {current.upto}"
        if following is not None and following.previous_hash != current.hash:
            _fail(
                AuditProblem.SEAL_EDITED,
                f"seal {number}'s hash was changed: seal {number + 1} links to another",
                seal=number,
            )
        rows = self._manifest_rows(current)
        if count < current.count:
            missing = self._gone(rows)
            # The events at the end of the range are gone, and nothing follows them.
            cut = last_present < current.upto and scanner.peek() is None
            if cut and len(missing) != 1:
                _fail(
                    AuditProblem.TAIL_CUT,
                    f"the log ends at position {last_present}, but seal {number} covers"
                    f" {current.count} events up to position {current.upto}: the tail was cut"
                    " off",
                    position=last_present + 1,
                    seal=number,
                )
            if missing:
                raise _Found(attrs.evolve(missing[0], seal=number))
        if count != current.count:
            if derived == current.streams:
                _weak(
                    AuditProblem.SEAL_EDITED,
                    f"seal {number} says it covers {current.count} events, but its range"
                    f" ({span}) holds {count} of the very streams and versions it names: its"
                    " count was changed, or events in the middle of streams are gone",
                    position=low + 1,
                    seal=number,
                )
            _weak(
                AuditProblem.REORDERED,
                f"seal {number}'s range ({span}) holds {count} events, not {current.count}:"
                " events were moved in or out of it, or its range was changed",
                position=low + 1,
                seal=number,
            )
        if derived != current.streams:
            self._moved_or_edited(current, rows)
        _weak(
            AuditProblem.REORDERED,
            f"seal {number}'s hash does not match the events in its range ({span}), though"
            " each is there and each stream's chain holds: events were swapped between"
            " positions"
            + ("" if self.key is not None else ", or rewritten with their chains recomputed"),
            position=low + 1,
            seal=number,
        )

    def _moved_or_edited(self, current: Seal, rows: list[tuple[str, str, int]]) -> NoReturn:
        """The manifest is not that of the events in range, their number is: an event moved
        out of the range to a later position (and another in), or the manifest was edited.
        (An event before the range sits in a range already proven, so it was not moved.)"""
        for kind, id, version in rows:
            event = self.event(kind, id, version)
            if event is not None and event.position > current.upto:
                _weak(
                    AuditProblem.REORDERED,
                    f"{_name(kind, id)} event {version}, which seal {current.number} covered,"
                    f" was moved to position {event.position}, out of the seal's range",
                    seal=current.number,
                    **_at(event),
                )
        _weak(
            AuditProblem.SEAL_EDITED,
            f"seal {current.number}'s manifest is not that of the events in its range",
            seal=current.number,
        )

    def _manifest_rows(self, current: Seal) -> list[tuple[str, str, int]]:
        try:
            rows = json.loads(current.streams)
            parsed = [(str(kind), str(id), int(version)) for kind, id, version in rows]
            if any(version < 1 for _, _, version in parsed):
                raise ValueError("a version below 1")  # no seal covers such an event
        except (ValueError, TypeError):
            _fail(
                AuditProblem.SEAL_EDITED,
                f"seal {current.number}'s manifest is not a list of streams",
                seal=current.number,
            )
        return parsed

    def _gone(self, rows: list[tuple[str, str, int]]) -> list[_Finding]:
        """The streams a broken seal names that are gone, or shorter than it saw."""
        found: list[_Finding] = []
        for kind, id, version in rows:
            head = self.head(kind, id)
            if head is None:
                found.append(
                    _Finding(
                        problem=AuditProblem.STREAM_MISSING,
                        detail=f"{_name(kind, id)}, covered up to version {version}, is gone",
                        kind=kind,
                        id=id,
                        version=version,
                    )
                )
                continue
            last = head.version if head.version < version else None
            if last is None and self.event(kind, id, version) is None:
                last = version - 1  # the head was left alone, the events were deleted
            if last is not None:
                found.append(
                    _Finding(
                        problem=AuditProblem.STREAM_ROLLED_BACK,
                        detail=f"{_name(kind, id)} was covered up to version {version}, but"
                        f" its events now end before it: it was rolled back to version {last}",
                        kind=kind,
                        id=id,
                        version=last + 1,
                    )
                )
        return found

    def head(self, kind: str, id: str) -> StreamHead | None:
        try:
            return self.events.head(kind, id)
        except StorageError as error:
            _fail(
                AuditProblem.UNREADABLE,
                f"the head of {_name(kind, id)} cannot be read: {error}",
                kind=kind,
                id=id,
            )

    def event(self, kind: str, id: str, version: int) -> RecordedEvent | None:
        try:
            for event in self.events.read(kind, id, after=version - 1):
                return event if event.version == version else None
        except StorageError as error:
            _fail(
                AuditProblem.UNREADABLE,
                f"{_name(kind, id)} event {version} cannot be read: {error}",
                kind=kind,
                id=id,
                version=version,
            )
        return None

    # -- the streams ----------------------------------------------------------------------------

    def _streams(self) -> None:
        events = self.events
        if isinstance(events, RawEventReads):
            try:
                self._check_streams(events.raw_streams())
                return
            except _RAW_ERRORS:
                # The store could not hand out its rows: start again through read().
                self.checked_streams = self.checked_events = self.stable_events = 0
        self._check_streams(self._rows())

    def _rows(self) -> Iterator[tuple[StreamHead, int | None, Sequence[EventRow] | None]]:
        """Every stream through the ports every store has: its head from ``streams()``, its
        events from ``read()`` (``None``: they cannot be read; the careful check says why)."""
        after: tuple[str, str] | None = None
        while True:
            try:
                page = self.events.streams(after=after, limit=_PAGE)
            except StorageError as error:
                _fail(AuditProblem.UNREADABLE, f"the stream heads cannot be read: {error}")
            for head in page:
                rows: list[EventRow] = []
                sent = False
                try:
                    for one in self.events.read(head.kind, head.id):
                        if one.kind != head.kind or one.id != head.id:
                            raise _Doubt  # stored as another stream's: the careful check says
                        rows.append(
                            (one.version, one.schema, one.header, one.body, one.hash, one.position)
                        )
                        if len(rows) >= _PAGE:
                            yield head, head.version, rows
                            rows, sent = [], True
                except (StorageError, _Doubt):
                    yield head, head.version, None
                    continue
                # The snapshot's version is not known: the head's makes the check ask for it.
                if rows or not sent:
                    yield head, head.version, rows
            if len(page) < _PAGE:
                return
            after = (page[-1].kind, page[-1].id)

    def _check_streams(
        self, source: Iterable[tuple[StreamHead, int | None, Sequence[EventRow] | None]]
    ) -> None:
        """Check each stream the fast way (:class:`_Fast`); one it cannot prove whole, the
        careful way (:class:`_Stream`), which names the fault or finds none."""
        head: StreamHead | None = None
        fast: _Fast | None = None
        for one, snapshot, rows in source:
            if one is not head:
                if head is not None:
                    self._finish(head, fast)
                head = one
                fast = self._start(one, snapshot)
            if fast is not None:
                try:
                    if rows is None:
                        raise _Doubt
                    fast.feed(rows)
                except _DOUBTS:
                    fast = None
        if head is not None:
            self._finish(head, fast)

    def _start(self, head: StreamHead, snapshot: int | None) -> _Fast | None:
        try:
            return _Fast(self, head, snapshot)
        except _DOUBTS:
            return None

    def _finish(self, head: StreamHead, fast: _Fast | None) -> None:
        if fast is not None:
            try:
                fast.finish()
            except _DOUBTS:
                pass
            else:
                self.checked_streams += 1
                return
        _Stream(self, head).check()
        self.checked_streams += 1

    def _headless(self) -> NoReturn:
        """Some events up to the stable position belong to no stream the heads list: find
        the first one's stream."""
        scanner = _Scanner(self.events)
        known: tuple[str, str] | None = None
        known_version = 0
        for page in scanner.until(self.stable):
            for event in page:
                if (event.kind, event.id) == known and event.version <= known_version:
                    continue
                head = self.head(event.kind, event.id)
                if head is None:
                    _fail(
                        AuditProblem.STREAM_MISSING,
                        f"{_name(event.kind, event.id)} has events (from position"
                        f" {event.position} on), but its head is gone",
                        **_at(event),
                    )
                if head.version < event.version:
                    _fail(
                        AuditProblem.STREAM_ROLLED_BACK,
                        f"{_name(event.kind, event.id)}'s head was set back to version"
                        f" {head.version}, but its event {event.version} remains",
                        **_at(event),
                    )
                known, known_version = (event.kind, event.id), head.version
        _fail(
            AuditProblem.STREAM_MISSING,
            f"the log holds {self.scanned} events up to position {self.stable}, but the"
            f" streams hold {self.stable_events} of them",
        )

    def aggregate(self, kind: str) -> type[Aggregate] | None:
        """The aggregate type of ``kind``'s streams; ``None`` for other streams."""
        if kind not in self._types:
            try:
                self._types[kind] = aggregate_type(kind)
            except PerfcoreError:
                self._types[kind] = None
        return self._types[kind]

    def shape(self, kind: str) -> _Shape | None:
        """How ``kind``'s events fold (``None``: not an aggregate type, or one whose fields
        the fold cannot follow, which is replayed the careful way)."""
        if kind not in self._shapes:
            cls = self.aggregate(kind)
            self._shapes[kind] = None if cls is None else _Shape.of(kind, cls)
        return self._shapes[kind]

    def erasure_recorded(self, head: StreamHead) -> bool:
        """Whether an erasure record of the stream's person names the stream."""
        person = head.columns.get("person")
        if not isinstance(person, str):
            return False
        if self._erasures is None or self._erasures[0] != person:
            self._erasures = (person, erased_streams(self.uow, person))
        return (head.kind, head.id) in self._erasures[1]


def _position(event: RecordedEvent) -> int:
    return event.position


_first = operator.itemgetter(0)
_POSITION: Final = struct.Struct(">Q")
#: The highest position there can be: what ``raw_links`` is asked up to, as scan() has no end.
_END: Final = 2**63 - 1
#: What a store that offers :class:`~perfcore.ports.RawEventReads` may raise from rows that are
#: not what they should be; the verification then reads again through the ports' records.
_RAW_ERRORS: Final = (
    StorageError,
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
    KeyError,
    OverflowError,
    struct.error,
)


def _links_of(events: EventStore) -> Iterator[tuple[int, bytes]]:
    """``(position, hash)`` of every event ``scan()`` gives, in position order."""
    after = 0
    while True:
        page = events.scan(after=after, limit=_PAGE)
        for one in page:
            yield one.position, one.hash
        if len(page) < _PAGE:
            return
        after = page[-1].position


class _Links:
    """``(position, hash)`` of the global order, read forward once in pages, handed out up to
    a position at a time."""

    def __init__(self, links: Iterator[tuple[int, bytes]]) -> None:
        self._links = links
        self._page: list[tuple[int, bytes]] = []
        self._index = 0
        self._after = 0
        self._done = False

    def _fill(self) -> bool:
        if self._index < len(self._page):
            return True
        if self._done:
            return False
        try:
            page = list(itertools.islice(self._links, _LINKS))
        except StorageError as error:
            _fail(
                AuditProblem.UNREADABLE,
                f"the events after position {self._after} cannot be read: {error}",
                position=self._after + 1,
            )
        self._page, self._index = page, 0
        if len(page) < _LINKS:
            self._done = True
        if page:
            self._after = page[-1][0]
        return bool(page)

    def until(self, upto: int) -> Iterator[Sequence[tuple[int, bytes]]]:
        """The links up to position ``upto`` not handed out yet, a page at a time."""
        while self._fill():
            page, start = self._page, self._index
            if page[start][0] > upto:
                return
            end = (
                len(page)
                if page[-1][0] <= upto
                else bisect.bisect_right(page, upto, lo=start, key=_first)
            )
            self._index = end
            yield page if start == 0 and end == len(page) else page[start:end]

    def peek(self) -> tuple[int, bytes] | None:
        """The next link not handed out yet, or ``None``."""
        return self._page[self._index] if self._fill() else None


class _Scanner:
    """The global order, read forward once in pages, handed out up to a position at a time."""

    def __init__(self, events: EventStore, *, after: int = 0) -> None:
        self._events = events
        self._page: Sequence[RecordedEvent] = ()
        self._index = 0
        self._after = after
        self._done = False

    def _fill(self) -> bool:
        if self._index < len(self._page):
            return True
        if self._done:
            return False
        try:
            page = self._events.scan(after=self._after, limit=_PAGE)
        except StorageError as error:
            _fail(
                AuditProblem.UNREADABLE,
                f"the events after position {self._after} cannot be read: {error}",
                position=self._after + 1,
            )
        self._page, self._index = page, 0
        if len(page) < _PAGE:
            self._done = True
        if page:
            self._after = page[-1].position
        return bool(page)

    def until(self, upto: int) -> Iterator[Sequence[RecordedEvent]]:
        """The events up to position ``upto`` not handed out yet, a page at a time."""
        while self._fill():
            page, start = self._page, self._index
            if page[start].position > upto:
                return
            end = (
                len(page)
                if page[-1].position <= upto
                else bisect.bisect_right(page, upto, lo=start, key=_position)
            )
            self._index = end
            yield page if start == 0 and end == len(page) else page[start:end]

    def peek(self) -> RecordedEvent | None:
        """The next event not handed out yet, or ``None``."""
        return self._page[self._index] if self._fill() else None


class _Stream:
    """The check of one stream, up to its head as read."""

    def __init__(self, verifier: _Verifier, head: StreamHead) -> None:
        self.verifier = verifier
        self.head = head
        self.kind = head.kind
        self.id = head.id
        names = f"{head.kind}\x00{head.id}".encode()
        self.prefix = len(names).to_bytes(4, "big") + names
        self.cls = verifier.aggregate(head.kind) if verifier.replay else None
        #: The snapshot to check, and its version (0: none).
        self.snapshot: Snapshot | None = None
        self.snapshot_at = 0
        #: The replay so far (up to the snapshot's version).
        self.obj: Aggregate | None = None
        self.erased = False

    def check(self) -> None:
        verifier, head = self.verifier, self.head
        if self.cls is not None:
            try:
                snapshot = verifier.uow.snapshots.get(self.kind, self.id)
            except StorageError as error:
                self._fail(AuditProblem.STATE_EDITED, f"its snapshot cannot be read: {error}")
            # A snapshot after the head read is a command's committed meanwhile; one the store
            # would not load (version < 1) is checked by loading.
            if snapshot is not None and 1 <= snapshot.version <= head.version:
                self.snapshot, self.snapshot_at = snapshot, snapshot.version
        previous, version, beyond = self._chain()
        if version < head.version:
            self._fail(
                AuditProblem.STREAM_ROLLED_BACK,
                f"its events end at version {version}, but its head is at version"
                f" {head.version}: events {version + 1} to {head.version} are gone",
                version=version + 1,
            )
        if beyond is not None:
            again = verifier.head(self.kind, self.id)
            if again is not None and (again.version, again.hash) == (head.version, head.hash):
                self._fail(
                    AuditProblem.STREAM_ROLLED_BACK,
                    f"its head was set back to version {head.version}, but its events go on to"
                    f" version {beyond.version}",
                    version=beyond.version,
                    position=beyond.position,
                )
        if head.hash != previous:
            self._fail(
                AuditProblem.STATE_EDITED,
                f"its head's hash is not that of its event {version}",
                version=head.version,
            )
        if self.cls is not None and not self.erased:
            loaded = self._loaded()
            if loaded is not None:
                self._compare(loaded)

    def _fail(self, problem: AuditProblem, why: str, **where: Any) -> NoReturn:
        where.setdefault("kind", self.kind)
        where.setdefault("id", self.id)
        _fail(problem, f"{_name(self.kind, self.id)}: {why}", **where)

    def _chain(self) -> tuple[bytes, int, RecordedEvent | None]:
        """Check the chain up to the head's version, replaying up to the snapshot's; return
        the last hash, the last version and the first event after the head (if any)."""
        verifier = self.verifier
        key, prefix, upto, stable = verifier.key, self.prefix, self.head.version, verifier.stable
        kind, id = self.kind, self.id
        sha256, digest_hmac, pack = hashlib.sha256, hmac.digest, _NUMBERS.pack
        previous = b""
        version = 0
        position = 0
        stable_seen = 0
        replay_upto = self.snapshot_at
        batch: list[RecordedEvent] = []
        try:
            for event in verifier.events.read(kind, id):
                number = event.version
                if number > upto:
                    self._flush(batch)
                    verifier.stable_events += stable_seen
                    return previous, version, event
                version += 1
                if number != version:
                    self._out_of_line(event, version)
                if event.id != id or event.kind != kind:
                    self._fail(
                        AuditProblem.EVENT_EDITED,
                        f"event {number} is stored as {_name(event.kind, event.id)}'s",
                        version=number,
                        position=event.position,
                    )
                if event.position <= position:
                    self._fail(
                        AuditProblem.REORDERED,
                        f"event {number} is at position {event.position}, before event"
                        f" {number - 1} at position {position}",
                        **_at(event),
                    )
                position = event.position
                if position <= stable:
                    stable_seen += 1
                body = event.body
                if body[:1] == _ERASED:
                    digest = body[1:]
                    if not self.erased:
                        self._erased(event)
                else:
                    digest = sha256(body).digest()
                header = event.header
                try:
                    data = b"".join(
                        (previous, prefix, pack(number, event.schema, len(header)), header, digest)
                    )
                except (struct.error, TypeError):
                    data = b""
                expected = (
                    sha256(data).digest() if key is None else digest_hmac(key, data, "sha256")
                )
                if not data or event.hash != expected:
                    self._fail(
                        AuditProblem.EVENT_EDITED,
                        f"event {number} (position {position}) does not match its chain hash:"
                        " it was changed",
                        **_at(event),
                    )
                previous = event.hash
                if number <= replay_upto and not self.erased:
                    batch.append(event)
                    if len(batch) >= _BATCH:
                        self._flush(batch)
        except StorageError as error:
            self._fail(
                AuditProblem.UNREADABLE,
                f"event {version + 1} cannot be read: {error}",
                version=version + 1,
            )
        finally:
            verifier.checked_events += version
        self._flush(batch)
        verifier.stable_events += stable_seen
        return previous, version, None

    def _out_of_line(self, event: RecordedEvent, version: int) -> NoReturn:
        if event.version > version:
            self._fail(
                AuditProblem.EVENT_MISSING,
                f"event {version} is missing: event {event.version} follows event {version - 1}",
                version=version,
            )
        self._fail(
            AuditProblem.REORDERED,
            f"event {event.version} is stored again after event {version - 1}",
            version=version,
            position=event.position,
        )

    def _erased(self, event: RecordedEvent) -> None:
        if not self.verifier.erasure_recorded(self.head):
            self._fail(
                AuditProblem.ERASED_WITHOUT_RECORD,
                f"event {event.version}'s body was erased, but no erasure record of the"
                f" stream's person ({self.head.columns.get('person')!r}) names it",
                **_at(event),
            )
        self.erased = True
        self.obj = None

    # -- replaying ------------------------------------------------------------------------------

    def _flush(self, batch: list[RecordedEvent]) -> None:
        """Decode and replay ``batch`` (then empty it); at the snapshot's version, compare."""
        if batch and self.cls is not None and not self.erased:
            self.obj = self._replay(batch, self.obj)
            if self.obj.version == self.snapshot_at and self.snapshot is not None:
                self._snapshot(self.snapshot, self.obj)
        batch.clear()

    def _replay(self, recorded: Sequence[RecordedEvent], start: Aggregate | None) -> Aggregate:
        assert self.cls is not None
        events = []
        for one in recorded:
            try:
                events.append(decode(one))
            except StorageError as error:
                self._fail(AuditProblem.UNREADABLE, str(error), **_at(one))
        try:
            obj = self.cls.replay(events, start=start)
        except Exception as error:  # whatever a damaged history makes the replay raise
            self._fail(
                AuditProblem.UNREADABLE,
                f"its events from version {recorded[0].version} on do not replay: {error}",
                version=recorded[0].version,
                position=recorded[0].position,
            )
        # Objects are compared by their fields: the events one holds are not needed.
        object.__setattr__(obj, "_trail", None)
        return obj

    def _replayed(self, upto: int) -> Aggregate:
        """The object replayed by this check itself, up to version ``upto``."""
        obj = self.obj
        batch: list[RecordedEvent] = []
        after = 0 if obj is None else obj.version
        try:
            for event in self.verifier.events.read(self.kind, self.id, after=after):
                if event.version > upto:
                    break
                batch.append(event)
                if len(batch) >= _BATCH:
                    obj = self._replay(batch, obj)
                    batch.clear()
        except StorageError as error:
            self._fail(AuditProblem.UNREADABLE, f"its events cannot be read: {error}")
        if batch:
            obj = self._replay(batch, obj)
        if obj is None or obj.version != upto:
            self._fail(
                AuditProblem.UNREADABLE,
                f"its events do not replay to version {upto}",
                version=upto,
            )
        return obj

    def _snapshot(self, snapshot: Snapshot, obj: Aggregate) -> None:
        if (snapshot.kind, snapshot.id) != (self.kind, self.id):
            self._fail(
                AuditProblem.STATE_EDITED,
                f"its snapshot is of {_name(snapshot.kind, snapshot.id)}",
                version=snapshot.version,
            )
        try:
            restored = restore(snapshot)
        except StorageError as error:
            self._fail(
                AuditProblem.STATE_EDITED,
                f"its snapshot at version {snapshot.version} is not a valid object: {error}",
                version=snapshot.version,
            )
        if restored != obj:
            self._fail(
                AuditProblem.STATE_EDITED,
                f"its snapshot at version {snapshot.version} differs from the replay of its"
                f" events in {_difference(restored, obj)}",
                version=snapshot.version,
            )

    def _loaded(self) -> Aggregate | None:
        """The object the store loads, at the head's version: its newest snapshot (checked
        against the replay up to it) and the (chain-checked) events after it, replayed, which
        is the replay of all its events; ``None`` if it was erased meanwhile."""
        verifier, head = self.verifier, self.head
        try:
            loaded = Streams(verifier.uow, ObjectCache(0), key=verifier.key).load(
                self.kind, self.id
            )
        except StorageError as error:
            if self._erased_meanwhile():
                return None
            self._replayed(head.version)  # names the event that does not replay, if one does not
            self._fail(
                AuditProblem.UNREADABLE,
                f"the store cannot load it: {error}",
                version=head.version,
            )
        if loaded is None:
            self._fail(
                AuditProblem.STREAM_MISSING,
                "the store no longer loads it",
                version=head.version,
            )
        if loaded.version == head.version:
            return loaded
        mine = self._replayed(head.version)
        if loaded.version < head.version:
            self._fail(
                AuditProblem.STATE_EDITED,
                f"the store loads it at version {loaded.version}, not {head.version}",
                version=loaded.version,
            )
        return mine  # a command committed meanwhile: the head read is checked, not the new one

    def _compare(self, obj: Aggregate) -> None:
        """The object against its head's state and query columns."""
        head = self.head
        expected = _as_written(head, head_of(obj, head.hash))
        if str(head.state) != expected.state:
            self._fail(
                AuditProblem.STATE_EDITED,
                f"its head says state {head.state!r}; its events give {expected.state!r}",
                version=head.version,
            )
        for column in sorted(set(head.columns) | set(expected.columns)):
            if head.columns.get(column) != expected.columns.get(column):
                self._fail(
                    AuditProblem.STATE_EDITED,
                    f"its head's {column!r} column differs from its events'",
                    version=head.version,
                )

    def _erased_meanwhile(self) -> bool:
        event = self.verifier.event(self.kind, self.id, 1)
        return event is not None and event.erased


def _difference(first: object, second: object) -> str:
    """The name of the first field in which two objects differ (never their values: they may
    be personal data)."""
    kind = type(first)
    if type(second) is not kind or not attrs.has(kind):
        return "its type"
    for field in attrs.fields(kind):
        if field.eq and getattr(first, field.name) != getattr(second, field.name):
            return repr(field.name)
    return "its fields"


# -- the fast check of a stream -------------------------------------------------------------------


#: The names of the query columns worked out from an object (of any kind).
_DERIVED_NAMES: Final = frozenset({"start", "due", "behind", "changed", "review", "team"})


def _as_written(head: StreamHead, expected: StreamHead) -> StreamHead:
    """``expected`` without the columns worked out from the object
    (:data:`perfcore.streams.DERIVED_COLUMNS`) when ``head`` has none of them: a head written
    before they existed, which the questions answer for by decoding its object. A head with
    any of them must have them all, as a save writes them."""
    if head.kind not in DERIVED_COLUMNS or not _DERIVED_NAMES.isdisjoint(head.columns):
        return expected
    kept = {name: value for name, value in expected.columns.items() if name not in _DERIVED_NAMES}
    return attrs.evolve(expected, columns=kept)


class _Doubt(Exception):
    """The fast check could not prove a stream whole: the careful check (:class:`_Stream`)
    looks at it again, and names the fault if there is one."""


#: Reads one JSON value from a text at an index: ``(value, where it ends)``; raises
#: StopIteration when there is none. json.loads without its wrapper (whitespace, checks).
_scan_json: Final = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]
#: What the fast check of a stream may raise on rows that are not what perfcore wrote; each
#: sends the stream to the careful check.
_DOUBTS: Final = (
    _Doubt,
    StopIteration,
    PerfcoreError,
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
    KeyError,
    OverflowError,
    RecursionError,
    struct.error,
)
_BOOKKEEPING: Final = frozenset(
    {"id", "version", "state", "created_at", "created_by", "updated_at", "_trail"}
)


@attrs.frozen
class _Shape:
    """What folding the events of one aggregate type needs, worked out once per type.

    Attributes:
        kind: the stream kind.
        lifecycle: the type's table.
        names: the fields an event may set or append to.
        required: the fields a creation event must set (they have no default).
        defaults: the others' defaults, as JSON data (as a snapshot holds them).
        columns: each query column of the head, and the field it is read from.
        schema: the type's snapshot schema now.
    """

    kind: str
    lifecycle: Lifecycle
    names: frozenset[str]
    required: frozenset[str]
    defaults: Mapping[str, Any]
    columns: tuple[tuple[str, str], ...]
    schema: int

    @classmethod
    def of(cls, kind: str, aggregate: type[Aggregate]) -> _Shape | None:
        names: set[str] = set()
        required: set[str] = set()
        defaults: dict[str, Any] = {}
        for field in attrs.fields(aggregate):
            if field.name in _BOOKKEEPING:
                continue
            if not field.init:
                return None
            names.add(field.name)
            default = field.default
            if default is attrs.NOTHING:
                required.add(field.name)
            elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                if default.takes_self:
                    return None
                defaults[field.name] = _plain(default.factory())
            else:
                defaults[field.name] = _plain(default)
        return cls(
            kind=kind,
            lifecycle=aggregate.lifecycle,
            names=frozenset(names),
            required=frozenset(required),
            defaults=defaults,
            columns=tuple(QUERY_COLUMNS.get(kind, {}).items()),
            schema=SCHEMA_VERSIONS.get(kind, 0),
        )


def _plain(value: object) -> Any:
    """``value`` as the JSON data a snapshot holds of it."""
    return json.loads(canonical_json(to_json_data(value)))


class _Fast:
    """One stream's chain checked over its rows as stored, and, with ``replay``, its events
    folded into the object's fields as JSON data and compared with its snapshot and its head.

    It proves a whole stream or raises; what it cannot prove (a fault, a row it cannot read,
    an event of an older schema it cannot fold, a command that committed meanwhile) goes to
    the careful check, :class:`_Stream`, which reports exactly what it reported before. The
    fold is argued in docs/storage.md ("How a verification is made fast").
    """

    __slots__ = (
        "appended",
        "created_at",
        "created_by",
        "erased",
        "fields",
        "head",
        "position",
        "prefix",
        "previous",
        "shape",
        "snapshot",
        "snapshot_at",
        "stable_seen",
        "state",
        "updated_at",
        "verifier",
        "version",
    )

    def __init__(self, verifier: _Verifier, head: StreamHead, snapshot_version: int | None) -> None:
        self.verifier = verifier
        self.head = head
        names = f"{head.kind}\x00{head.id}".encode()
        self.prefix = len(names).to_bytes(4, "big") + names
        self.previous = b""
        self.version = 0
        self.position = 0
        self.stable_seen = 0
        self.erased = False
        self.shape = verifier.shape(head.kind) if verifier.replay else None
        self.state: Any = None
        self.fields: dict[str, Any] = {}
        self.appended: dict[str, list[Any]] = {}
        self.created_at: Any = None
        self.created_by: Any = None
        self.updated_at: Any = None
        self.snapshot: Snapshot | None = None
        self.snapshot_at = 0
        if verifier.replay and verifier.aggregate(head.kind) is not None and self.shape is None:
            raise _Doubt  # a type the fold cannot follow: replayed the careful way
        if self.shape is not None and snapshot_version is not None:
            snapshot = verifier.uow.snapshots.get(head.kind, head.id)
            # As the careful check: a snapshot after the head read is a command's meanwhile;
            # one the store would load but cannot (a version below 1) is the careful check's.
            if snapshot is not None and snapshot.version <= head.version:
                if snapshot.version < 1:
                    raise _Doubt
                self.snapshot, self.snapshot_at = snapshot, snapshot.version

    def feed(self, rows: Iterable[EventRow]) -> None:
        """Check the next of the stream's rows (and fold them)."""
        key, prefix, upto = self.verifier.key, self.prefix, self.head.version
        stable = self.verifier.stable
        sha256, digest_hmac, pack, join = hashlib.sha256, hmac.digest, _NUMBERS.pack, b"".join
        previous, version, position = self.previous, self.version, self.position
        stable_seen = self.stable_seen
        fold = self.shape is not None and not self.erased
        for number, schema, header, body, hash_, at in rows:
            version += 1
            if number != version or number > upto or at <= position:
                raise _Doubt
            position = at
            if at <= stable:
                stable_seen += 1
            if body[:1] == _ERASED:
                digest = body[1:]
                if not self.erased:
                    if not self.verifier.erasure_recorded(self.head):
                        raise _Doubt
                    self.erased, fold = True, False
            else:
                digest = sha256(body).digest()
            data = join((previous, prefix, pack(number, schema, len(header)), header, digest))
            if key is None:
                if sha256(data).digest() != hash_:
                    raise _Doubt
            elif digest_hmac(key, data, "sha256") != hash_:
                raise _Doubt
            previous = hash_
            if fold:
                self.version = number
                self._fold(number, schema, header, body)
        self.previous, self.version, self.position = previous, version, position
        self.stable_seen = stable_seen

    def _fold(self, number: int, schema: int, header: bytes, body: bytes) -> None:
        """Apply one event's changes, as :meth:`Aggregate.replay` would, to JSON data."""
        shape = self.shape
        assert shape is not None
        # Canonical JSON, as perfcore writes it: a document with anything around it (even
        # spaces) is the careful check's.
        text = header.decode("utf-8")
        facts, end = _scan_json(text, 0)
        if end != len(text) or type(facts) is not list:
            raise _Doubt
        if len(facts) == 5:
            trigger, from_state, to_state, actor_id, at = facts
        else:
            trigger, from_state, to_state, actor_id, at, _grounds = facts
        if EVENT_SCHEMAS.get((shape.kind, trigger), 1) != schema:
            raise _Doubt  # an older schema, which an upcaster brings forward: the careful way
        text = body[_BODY_JSON:].decode("utf-8")
        data, end = _scan_json(text, 0)
        if end != len(text):
            raise _Doubt
        reason, payload = data
        if (
            dt.datetime.fromisoformat(at).tzinfo is None
            or type(payload) is not dict
            or type(reason) is not str
        ):
            raise _Doubt
        names = shape.names
        sets = payload.get("set")
        if number == 1:
            if trigger != CREATED or to_state not in shape.lifecycle.states:
                raise _Doubt
            sets = {} if sets is None else sets
            if type(sets) is not dict or not shape.required <= sets.keys() <= names:
                raise _Doubt
            self.fields = dict(sets)
            self.created_at, self.created_by = at, actor_id
        else:
            if from_state != self.state or not shape.lifecycle.has_transition(
                trigger, from_state, to_state
            ):
                raise _Doubt
            fields, appended = self.fields, self.appended
            added = payload.get("append")
            if sets:
                if added and not added.keys().isdisjoint(sets):
                    raise _Doubt  # set and appended at once: never written by a command
                for name, value in sets.items():
                    if name not in names:
                        raise _Doubt
                    fields[name] = value
                    appended.pop(name, None)
            if added:
                for name, items in added.items():
                    if name not in names or type(items) is not list:
                        raise _Doubt
                    appended.setdefault(name, []).extend(items)
        self.state = to_state
        self.updated_at = at
        if number == self.snapshot_at:
            self._compare_snapshot()

    def _value(self, name: str) -> Any:
        """One field's JSON data as the events left it."""
        shape = self.shape
        assert shape is not None
        value = self.fields[name] if name in self.fields else shape.defaults[name]
        items = self.appended.get(name)
        if items:
            if type(value) is not list:
                raise _Doubt
            value = value + items
        return value

    def _data(self) -> dict[str, Any]:
        """The object the events give, as the JSON data a snapshot holds."""
        shape = self.shape
        assert shape is not None
        data = {name: self._value(name) for name in shape.names}
        data.update(
            id=self.head.id,
            version=self.version,
            state=self.state,
            created_at=self.created_at,
            created_by=self.created_by,
            updated_at=self.updated_at,
        )
        return data

    def _compare_snapshot(self) -> None:
        snapshot, shape = self.snapshot, self.shape
        assert snapshot is not None
        assert shape is not None
        if (snapshot.kind, snapshot.id, snapshot.schema) != (
            self.head.kind,
            self.head.id,
            shape.schema,
        ):
            raise _Doubt
        # To the byte: a snapshot is the canonical JSON of the object (1, 1.0 and true differ).
        if canonical_json(self._data()).encode("utf-8") != snapshot.data:
            raise _Doubt

    def finish(self) -> None:
        """The stream's end: its head's version and hash, and, folded, its state and columns."""
        verifier, head = self.verifier, self.head
        if self.version != head.version or head.hash != self.previous:
            raise _Doubt
        shape = self.shape
        if shape is not None and not self.erased:
            # A head marked erased over bodies that are not: the store refuses to load it.
            if head.erased or self.version < self.snapshot_at or head.state != self.state:
                raise _Doubt
            derived = verifier.derived.get(shape.kind)
            if derived is False:
                expected = {column: self._value(name) for column, name in shape.columns}
            else:
                # Columns worked out from the object (or, for the kind's first stream, not
                # known not to be): the object itself, built once from the folded data, as a
                # snapshot of it would be restored, and its head as perfcore writes it. The
                # first tells for the kind: index_of gives every object of a kind the same
                # columns (a value may be None).
                data = {"type": shape.kind, "schema": shape.schema, "data": self._data()}
                made = head_of(from_envelope(data), head.hash)
                if derived is None:
                    names = {column for column, _ in shape.columns}
                    verifier.derived[shape.kind] = made.columns.keys() != names
                expected = dict(_as_written(head, made).columns)
                if made.state != head.state:
                    raise _Doubt
            for column in head.columns.keys() | expected.keys():
                if head.columns.get(column) != expected.get(column):
                    raise _Doubt
        verifier.checked_events += self.version
        verifier.stable_events += self.stable_seen
