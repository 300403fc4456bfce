"""The audit log's hash chain: pure functions that chain events and verify a log.

Each :class:`~perfcore.ports.AuditEntry` carries a hash of the canonical JSON of
``{"scheme", "sequence", "event", "previous_hash"}``: SHA-256 (scheme 1), or HMAC-SHA256 with a
secret key (scheme 2). Each entry names the hash of the one before it, so that editing, deleting or
reordering any entry breaks the chain at that entry. An HMAC key makes the chain unforgeable by
someone who can rewrite the whole table but does not hold the key.

A chain alone cannot show that its *tail* was cut off: the shortened log is a valid chain. So
:func:`verify_audit_log` takes an :class:`AuditAnchor`, what the log must hold as known from
somewhere else: the stored objects' versions and events (every event of every stored object is
logged, in version order), and/or checkpoints (entries noted earlier, kept outside the database).

>>> import datetime as dt
>>> from perfcore.testing.drivers import driver_for
>>> goal = driver_for("Goal").reach("active")
>>> entries = chain(goal.history, None)
>>> [entry.sequence for entry in entries]
[1, 2, 3]
>>> verify_audit_log(entries, expected=AuditAnchor.of([goal])).intact
True
>>> report = verify_audit_log(entries[:2], expected=AuditAnchor.of([goal]))
>>> report.problem, report.index
(<AuditProblem.TRUNCATED: 'truncated'>, 2)
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Iterable, Iterator, Mapping, Sequence

import attrs

from perfcore._aggregate import Aggregate
from perfcore._codec import canonical_json
from perfcore.errors import StorageError, ValidationError
from perfcore.events import Event
from perfcore.ports import AuditEntry
from perfcore.serialization import event_to_json_data

__all__ = [
    "SCHEME_HMAC_SHA256",
    "SCHEME_SHA256",
    "AuditAnchor",
    "AuditProblem",
    "AuditReport",
    "chain",
    "entry_hash",
    "event_digest",
    "verify_audit_log",
]

#: Scheme 1: SHA-256 over the canonical JSON of the entry (anyone can recompute it).
SCHEME_SHA256 = 1
#: Scheme 2: HMAC-SHA256 with a secret key (only a key holder can recompute it).
SCHEME_HMAC_SHA256 = 2

AggregateKey = tuple[str, str]
EventKey = tuple[str, str, int]


# -- chaining -------------------------------------------------------------------------------------


def _check_key(key: object) -> bytes | None:
    if key is None:
        return None
    if not isinstance(key, bytes) or not key:
        raise ValidationError("key", "an audit key must be non-empty bytes")
    return key


def _hash_input(scheme: int, sequence: int, event: Event, previous_hash: str) -> bytes:
    body = {
        "scheme": scheme,
        "sequence": sequence,
        "event": event_to_json_data(event),
        "previous_hash": previous_hash,
    }
    return canonical_json(body).encode("utf-8")


def entry_hash(
    *, scheme: int, sequence: int, event: Event, previous_hash: str, key: bytes | None = None
) -> str:
    """The hash an entry with these contents must carry, as lowercase hex.

    Raises:
        ValidationError: the scheme is unknown, or scheme 2 is asked for without a key.
    """
    data = _hash_input(scheme, sequence, event, previous_hash)
    if scheme == SCHEME_SHA256:
        return hashlib.sha256(data).hexdigest()
    if scheme == SCHEME_HMAC_SHA256:
        secret = _check_key(key)
        if secret is None:
            raise ValidationError("key", "scheme 2 (HMAC-SHA256) needs the audit key")
        return hmac.new(secret, data, hashlib.sha256).hexdigest()
    raise ValidationError("scheme", f"unknown audit hash scheme {scheme!r}; known: 1, 2")


def chain(
    events: Iterable[Event], previous: AuditEntry | None, key: bytes | None = None
) -> list[AuditEntry]:
    """Audit entries for ``events``, chained after ``previous`` (the log's last entry, or None).

    Args:
        events: the events to record, in commit order.
        previous: the entry the new ones follow; ``None`` for an empty log.
        key: the secret for HMAC-SHA256 (scheme 2); ``None`` for plain SHA-256 (scheme 1).

    Returns:
        One entry per event, with sequences following ``previous``'s.
    """
    secret = _check_key(key)
    scheme = SCHEME_SHA256 if secret is None else SCHEME_HMAC_SHA256
    sequence = 0 if previous is None else previous.sequence
    previous_hash = "" if previous is None else previous.hash
    entries: list[AuditEntry] = []
    for event in events:
        sequence += 1
        digest = entry_hash(
            scheme=scheme,
            sequence=sequence,
            event=event,
            previous_hash=previous_hash,
            key=secret,
        )
        entries.append(
            AuditEntry(
                sequence=sequence,
                event=event,
                previous_hash=previous_hash,
                hash=digest,
                scheme=scheme,
            )
        )
        previous_hash = digest
    return entries


def event_digest(event: Event) -> str:
    """A SHA-256 of one event's canonical JSON: how an anchor remembers a stored event."""
    return hashlib.sha256(canonical_json(event_to_json_data(event)).encode("utf-8")).hexdigest()


# -- anchors and reports --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AuditAnchor:
    """What the log must hold, known from outside the log: how a cut-off tail is seen.

    Attributes:
        count: the log holds at least this many entries.
        checkpoints: ``{sequence: hash}`` of entries noted earlier and kept outside the
            database (a daily note, a ticket, a signed e-mail): they must still be there.
        versions: ``{(type, id): version}`` of stored objects: each one's events 1..version
            must all be in the log.
        digests: ``{(type, id, version): event_digest(event)}`` of the stored objects' events:
            the logged event must be the one the object's own history holds.

    The log may hold more than the anchor (it grew since the anchor was taken); never less.
    """

    count: int = 0
    checkpoints: Mapping[int, str] = attrs.field(factory=dict)
    versions: Mapping[AggregateKey, int] = attrs.field(factory=dict)
    digests: Mapping[EventKey, str] = attrs.field(factory=dict)

    @classmethod
    def of(cls, objects: Iterable[Aggregate]) -> AuditAnchor:
        """The anchor stored objects give: their versions and the digests of their events.

        Read the objects *before* the log, so that anything saved in between only makes the
        log longer than the anchor, which is allowed.
        """
        versions: dict[AggregateKey, int] = {}
        digests: dict[EventKey, str] = {}
        for obj in objects:
            for event in obj.history:
                key = (event.aggregate_type, event.aggregate_id)
                versions[key] = max(versions.get(key, 0), event.version)
                digests[(*key, event.version)] = event_digest(event)
        return cls(count=sum(versions.values()), versions=versions, digests=digests)

    @classmethod
    def checkpoint(cls, entry: AuditEntry) -> AuditAnchor:
        """An anchor from one entry noted earlier (say, :attr:`AuditReport.last` of the last
        verification), kept outside the database: the log must still reach it, unchanged."""
        return cls().with_checkpoint(entry)

    def with_checkpoint(self, entry: AuditEntry) -> AuditAnchor:
        """This anchor, and also ``entry``'s sequence and hash."""
        return attrs.evolve(
            self,
            count=max(self.count, entry.sequence),
            checkpoints={**self.checkpoints, entry.sequence: entry.hash},
        )


class AuditProblem(enum.StrEnum):
    """What :func:`verify_audit_log` found wrong at the first bad entry."""

    EDITED = "edited"
    DELETED = "deleted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    UNVERIFIABLE = "unverifiable"


@attrs.frozen(kw_only=True)
class AuditReport:
    """The outcome of :func:`verify_audit_log`. True when the log is intact.

    Attributes:
        intact: whether every entry checked out and the log reaches its anchor.
        checked: how many entries were read.
        last: the last entry read (``None`` for an empty log): when the log is intact, keep it
            outside the database as a checkpoint for the next verification.
        index: the 0-based position, in the entries read, of the first bad entry (for a
            truncated log: the position where the first missing entry belongs); ``None`` when
            intact.
        sequence: the sequence number that position should hold; ``None`` when intact.
        problem: what is wrong there; ``None`` when intact.
        detail: what was found, in words.
    """

    intact: bool
    checked: int
    last: AuditEntry | None
    index: int | None = None
    sequence: int | None = None
    problem: AuditProblem | None = None
    detail: str = "the audit log is intact"

    def __bool__(self) -> bool:
        return self.intact

    @property
    def head(self) -> str:
        """The hash of the last entry read ("" for an empty log)."""
        return "" if self.last is None else self.last.hash


@attrs.frozen
class _Finding:
    index: int
    problem: AuditProblem
    detail: str


# -- verifying ------------------------------------------------------------------------------------


def verify_audit_log(
    entries: Iterable[AuditEntry],
    key: bytes | None = None,
    expected: AuditAnchor | None = None,
    *,
    after: AuditEntry | None = None,
) -> AuditReport:
    """Check a log, and report the first entry that was edited, deleted, reordered or cut off.

    Every entry is checked, in the order given (sequence order), for: its sequence (the next
    number), its scheme (keyed logs must be keyed throughout, so that nobody downgrades an entry
    to plain SHA-256), its link (``previous_hash`` is the hash of the entry before), its own hash,
    its place in its object's history (versions 1, 2, ... in order), and, with an anchor, that it
    holds the event the stored object holds. Then the log must reach the anchor.

    Args:
        entries: the log, in sequence order (``AuditLog.read()``). It is read into memory.
        key: the HMAC key the log was written with; ``None`` for an unkeyed log.
        expected: what the log must hold at least, known from elsewhere; without it a cut-off
            tail cannot be seen.
        after: a trusted entry the given ones follow (to verify only the entries after a
            checkpoint); ``None`` when ``entries`` start at sequence 1.

    Returns:
        An :class:`AuditReport`: ``intact``, or the first bad position and what is wrong there.
    """
    secret = _check_key(key)
    anchor = expected if expected is not None else AuditAnchor()
    rows, unreadable = _read_all(entries)
    walk = _Walk(rows, secret, anchor, after)
    finding = walk.run()
    if finding is None and unreadable is not None:
        finding = _Finding(
            len(rows), AuditProblem.EDITED, f"the entry cannot be read: {unreadable}"
        )
    if finding is None:
        finding = _missing_tail(walk, anchor)
    last = rows[-1] if rows else after
    if finding is None:
        return AuditReport(intact=True, checked=len(rows), last=last)
    return AuditReport(
        intact=False,
        checked=len(rows),
        last=last,
        index=finding.index,
        sequence=walk.first + finding.index,
        problem=finding.problem,
        detail=finding.detail,
    )


def _read_all(entries: Iterable[AuditEntry]) -> tuple[list[AuditEntry], str | None]:
    """The entries up to the first one the store cannot read, and why it could not."""
    rows: list[AuditEntry] = []
    iterator: Iterator[AuditEntry] = iter(entries)
    while True:
        try:
            rows.append(next(iterator))
        except StopIteration:
            return rows, None
        except StorageError as error:
            return rows, str(error)


class _Walk:
    """One pass over the entries, remembering what the tail check needs."""

    def __init__(
        self,
        rows: Sequence[AuditEntry],
        key: bytes | None,
        anchor: AuditAnchor,
        after: AuditEntry | None,
    ) -> None:
        self.rows = rows
        self.key = key
        self.anchor = anchor
        self.first = 1 if after is None else after.sequence + 1
        self.start_hash = "" if after is None else after.hash
        self.partial = after is not None
        # Where each stored hash and sequence sits, to tell a moved entry from a lost one.
        self.position_of_hash = {row.hash: index for index, row in enumerate(rows)}
        self.positions_of_sequence: dict[int, list[int]] = {}
        for index, row in enumerate(rows):
            self.positions_of_sequence.setdefault(row.sequence, []).append(index)
        self.seen: dict[AggregateKey, int] = {}

    def run(self) -> _Finding | None:
        for index, row in enumerate(self.rows):
            finding = self._check(index, row)
            if finding is not None:
                return finding
            key = (row.event.aggregate_type, row.event.aggregate_id)
            self.seen[key] = row.event.version
        return None

    def _check(self, index: int, row: AuditEntry) -> _Finding | None:
        checks = (
            self._sequence,
            self._scheme,
            self._link,
            self._own_hash,
            self._history_order,
            self._anchored,
        )
        for check in checks:
            finding = check(index, row)
            if finding is not None:
                return finding
        return None

    def _previous_hash(self, index: int) -> str:
        return self.rows[index - 1].hash if index else self.start_hash

    def _sequence(self, index: int, row: AuditEntry) -> _Finding | None:
        expected = self.first + index
        if row.sequence == expected:
            return None
        if row.sequence < expected:
            why = f"holds sequence {row.sequence} after {expected - 1}: out of order"
            return _Finding(index, AuditProblem.REORDERED, f"entry {expected} {why}")
        later = any(p > index for p in self.positions_of_sequence.get(expected, ()))
        if later:
            why = f"entry {expected} comes after entry {row.sequence}: out of order"
            return _Finding(index, AuditProblem.REORDERED, why)
        missing = (
            f"{expected}" if row.sequence == expected + 1 else f"{expected}-{row.sequence - 1}"
        )
        return _Finding(index, AuditProblem.DELETED, f"entries {missing} are missing")

    def _scheme(self, index: int, row: AuditEntry) -> _Finding | None:
        expected = self.first + index
        if row.scheme not in (SCHEME_SHA256, SCHEME_HMAC_SHA256):
            why = f"entry {expected} has unknown hash scheme {row.scheme!r}"
            return _Finding(index, AuditProblem.UNVERIFIABLE, why)
        if self.key is None and row.scheme == SCHEME_HMAC_SHA256:
            why = f"entry {expected} is keyed (HMAC): verify with the audit key"
            return _Finding(index, AuditProblem.UNVERIFIABLE, why)
        if self.key is not None and row.scheme == SCHEME_SHA256:
            why = f"entry {expected} is not keyed in a keyed log: it was rewritten without the key"
            return _Finding(index, AuditProblem.EDITED, why)
        return None

    def _link(self, index: int, row: AuditEntry) -> _Finding | None:
        expected = self.first + index
        if row.previous_hash == self._previous_hash(index):
            return None
        elsewhere = self.position_of_hash.get(row.previous_hash)
        if elsewhere is not None:
            why = f"entry {expected} follows entry {self.first + elsewhere}, not {expected - 1}"
            return _Finding(index, AuditProblem.REORDERED, why)
        if index and self._hash_holds(row):
            # This entry is whole, so the one before it was rewritten with a fresh hash.
            why = f"entry {expected - 1} was rewritten: entry {expected} recorded another hash"
            return _Finding(index - 1, AuditProblem.EDITED, why)
        why = f"the entry before entry {expected} is missing: its link leads nowhere"
        return _Finding(index, AuditProblem.DELETED, why)

    def _hash_holds(self, row: AuditEntry) -> bool:
        digest = entry_hash(
            scheme=row.scheme,
            sequence=row.sequence,
            event=row.event,
            previous_hash=row.previous_hash,
            key=self.key,
        )
        return hmac.compare_digest(digest, row.hash)

    def _own_hash(self, index: int, row: AuditEntry) -> _Finding | None:
        if self._hash_holds(row):
            return None
        why = f"entry {self.first + index} does not match its hash: its contents were changed"
        return _Finding(index, AuditProblem.EDITED, why)

    def _history_order(self, index: int, row: AuditEntry) -> _Finding | None:
        event = row.event
        key = (event.aggregate_type, event.aggregate_id)
        name = f"{event.aggregate_type} {event.aggregate_id!r}"
        if key not in self.seen and self.partial:
            return None
        wanted = self.seen.get(key, 0) + 1
        if event.version == wanted:
            return None
        at = f"entry {self.first + index}"
        if event.version < wanted:
            why = f"{at} logs {name} version {event.version} again, after version {wanted - 1}"
            return _Finding(index, AuditProblem.REORDERED, why)
        why = f"{at} logs {name} version {event.version}; version {wanted} is missing before it"
        return _Finding(index, AuditProblem.DELETED, why)

    def _anchored(self, index: int, row: AuditEntry) -> _Finding | None:
        event = row.event
        at = f"entry {self.first + index}"
        noted = self.anchor.checkpoints.get(row.sequence)
        if noted is not None and noted != row.hash:
            return _Finding(index, AuditProblem.EDITED, f"{at} is not the checkpointed entry")
        digest = self.anchor.digests.get((event.aggregate_type, event.aggregate_id, event.version))
        if digest is not None and digest != event_digest(event):
            why = (
                f"{at} logs {event.aggregate_type} {event.aggregate_id!r} version"
                f" {event.version} other than the stored object's history holds it"
            )
            return _Finding(index, AuditProblem.EDITED, why)
        return None


def _missing_tail(walk: _Walk, anchor: AuditAnchor) -> _Finding | None:
    """Whether the log stops short of its anchor: a cut-off tail."""
    end = len(walk.rows)
    last = walk.first - 1 + end
    for (kind, id), version in sorted(anchor.versions.items()):
        logged = walk.seen.get((kind, id), 0)
        if logged < version and not (walk.partial and (kind, id) not in walk.seen):
            why = (
                f"the log ends at entry {last} without {kind} {id!r} version {logged + 1}"
                f" (the stored object is at version {version})"
            )
            return _Finding(end, AuditProblem.TRUNCATED, why)
    if last < anchor.count:
        why = f"the log ends at entry {last}, but at least {anchor.count} entries were written"
        return _Finding(end, AuditProblem.TRUNCATED, why)
    return None
