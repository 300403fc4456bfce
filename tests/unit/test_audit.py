"""The audit chain: hashes, keys, and the first bad entry of a tampered log, at its index."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfcore import StorageError, ValidationError
from perfcore._aggregate import Aggregate
from perfcore._codec import canonical_json
from perfcore.audit import (
    SCHEME_HMAC_SHA256,
    SCHEME_SHA256,
    AuditAnchor,
    AuditProblem,
    chain,
    entry_hash,
    event_digest,
    verify_audit_log,
)
from perfcore.events import Event
from perfcore.ports import AuditEntry
from perfcore.serialization import event_to_json_data
from perfcore.testing.drivers import driver_for

Tamper = Callable[[list[AuditEntry], int], list[AuditEntry]]


def objects() -> list[Aggregate]:
    """Two goals, their commands interleaved as separate commits would interleave them."""
    driver = driver_for("Goal")
    return [driver.reach("achieved", id="g-1"), driver.reach("cancelled", id="g-2")]


def interleaved(objs: list[Aggregate]) -> list[Event]:
    histories = [list(obj.history) for obj in objs]
    events: list[Event] = []
    while any(histories):
        for history in histories:
            if history:
                events.append(history.pop(0))
    return events


OBJECTS = objects()
EVENTS = interleaved(OBJECTS)
ANCHOR = AuditAnchor.of(OBJECTS)
LOG = chain(EVENTS, None)
KEY = b"a secret only the HR system holds"


def edit(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    event = attrs.evolve(entries[index].event, reason="nothing to see here")
    return [*entries[:index], attrs.evolve(entries[index], event=event), *entries[index + 1 :]]


def delete(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    return [*entries[:index], *entries[index + 1 :]]


def swap(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    first, second = entries[index], entries[index + 1]
    moved = [
        attrs.evolve(second, sequence=first.sequence),
        attrs.evolve(first, sequence=second.sequence),
    ]
    return [*entries[:index], *moved, *entries[index + 2 :]]


def swap_rows(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    """Whole rows trade places, sequence numbers and all (read in the order stored)."""
    return [*entries[:index], entries[index + 1], entries[index], *entries[index + 2 :]]


def truncate(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    return entries[:index]


def rehash(entries: list[AuditEntry], index: int) -> list[AuditEntry]:
    """Edit one entry and give it a fresh, valid hash (possible without a key)."""
    forged = chain([attrs.evolve(entries[index].event, reason="forged")], _before(entries, index))
    return [*entries[:index], *forged, *entries[index + 1 :]]


def _before(entries: list[AuditEntry], index: int) -> AuditEntry | None:
    return entries[index - 1] if index else None


TAMPERS: dict[str, tuple[Tamper, AuditProblem, int]] = {
    # name: (how, what is reported, the last index it applies to)
    "edit": (edit, AuditProblem.EDITED, len(LOG) - 1),
    "delete": (delete, AuditProblem.DELETED, len(LOG) - 2),
    "swap": (swap, AuditProblem.REORDERED, len(LOG) - 2),
    "swap rows": (swap_rows, AuditProblem.REORDERED, len(LOG) - 2),
    "truncate": (truncate, AuditProblem.TRUNCATED, len(LOG) - 1),
    "rehash": (rehash, AuditProblem.EDITED, len(LOG) - 1),
}

CASES = [(name, index) for name, (_, _, last) in TAMPERS.items() for index in range(last + 1)]


# -- chaining -------------------------------------------------------------------------------------


def test_entries_are_numbered_and_linked_in_order() -> None:
    assert [entry.sequence for entry in LOG] == list(range(1, len(EVENTS) + 1))
    assert [entry.event for entry in LOG] == EVENTS
    assert LOG[0].previous_hash == ""
    assert all(LOG[n].previous_hash == LOG[n - 1].hash for n in range(1, len(LOG)))
    assert {entry.scheme for entry in LOG} == {SCHEME_SHA256}


def test_the_hash_covers_scheme_sequence_event_and_link() -> None:
    entry = LOG[3]
    body = {
        "scheme": 1,
        "sequence": 4,
        "event": event_to_json_data(entry.event),
        "previous_hash": LOG[2].hash,
    }
    assert entry.hash == hashlib.sha256(canonical_json(body).encode()).hexdigest()


def test_a_keyed_chain_uses_hmac() -> None:
    entry = chain(EVENTS[:1], None, key=KEY)[0]
    body = {"scheme": 2, "sequence": 1, "event": event_to_json_data(EVENTS[0]), "previous_hash": ""}
    expected = hmac.new(KEY, canonical_json(body).encode(), hashlib.sha256).hexdigest()
    assert (entry.scheme, entry.hash) == (SCHEME_HMAC_SHA256, expected)


def test_chaining_in_parts_is_chaining_at_once() -> None:
    first = chain(EVENTS[:3], None)
    assert [*first, *chain(EVENTS[3:], first[-1])] == LOG


@pytest.mark.parametrize("key", ["text", b"", 42])
def test_a_key_must_be_bytes(key: object) -> None:
    with pytest.raises(ValidationError, match="key"):
        chain(EVENTS, None, key=key)  # type: ignore[arg-type]


def test_an_unknown_scheme_has_no_hash() -> None:
    with pytest.raises(ValidationError, match="scheme"):
        entry_hash(scheme=9, sequence=1, event=EVENTS[0], previous_hash="")
    with pytest.raises(ValidationError, match="key"):
        entry_hash(scheme=SCHEME_HMAC_SHA256, sequence=1, event=EVENTS[0], previous_hash="")


# -- intact logs ----------------------------------------------------------------------------------


def test_an_intact_log_is_reported_intact() -> None:
    report = verify_audit_log(LOG, expected=ANCHOR)
    assert report.intact
    assert report
    assert (report.checked, report.last, report.head) == (len(LOG), LOG[-1], LOG[-1].hash)
    assert (report.index, report.problem, report.sequence) == (None, None, None)


def test_an_empty_log_is_intact_without_an_anchor() -> None:
    report = verify_audit_log([])
    assert report.intact
    assert (report.last, report.head) == (None, "")


def test_a_log_longer_than_its_anchor_is_intact() -> None:
    assert verify_audit_log(LOG, expected=AuditAnchor.of(OBJECTS[:1])).intact
    assert verify_audit_log(LOG, expected=AuditAnchor.checkpoint(LOG[4])).intact


def test_a_keyed_log_verifies_with_its_key() -> None:
    assert verify_audit_log(chain(EVENTS, None, key=KEY), key=KEY, expected=ANCHOR).intact


def test_part_of_a_log_verifies_after_a_trusted_entry() -> None:
    report = verify_audit_log(LOG[5:], expected=ANCHOR, after=LOG[4])
    assert report.intact, report.detail
    assert report.checked == len(LOG) - 5


# -- tampering ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "index"), CASES)
def test_tampering_is_reported_at_its_index(name: str, index: int) -> None:
    how, problem, _last = TAMPERS[name]
    report = verify_audit_log(how(list(LOG), index), expected=ANCHOR)
    assert not report.intact
    assert (report.index, report.problem) == (index, problem), report.detail
    assert report.sequence == index + 1


#: Without an anchor, all but a cut-off tail and a fresh hash on the last entry.
WITHIN = [case for case in CASES if case[0] != "truncate" and case != ("rehash", len(LOG) - 1)]


@pytest.mark.parametrize(("name", "index"), WITHIN)
def test_tampering_within_the_log_is_found_without_an_anchor(name: str, index: int) -> None:
    how, problem, _last = TAMPERS[name]
    report = verify_audit_log(how(list(LOG), index))
    assert (report.index, report.problem) == (index, problem), report.detail


def test_a_fresh_hash_on_the_last_entry_passes_without_an_anchor() -> None:
    # Documented: the chain alone cannot tell; the stored objects' events can.
    assert verify_audit_log(rehash(list(LOG), len(LOG) - 1)).intact


@pytest.mark.parametrize("index", [0, 4, len(LOG) - 1])
def test_a_keyed_log_rewritten_without_the_key_is_found(index: int) -> None:
    keyed = chain(EVENTS, None, key=KEY)
    forged = [*keyed[:index], *chain(EVENTS[index:], _before(keyed, index))]
    report = verify_audit_log(forged, key=KEY)
    assert (report.index, report.problem) == (index, AuditProblem.EDITED), report.detail


def test_a_keyed_log_verified_with_another_key_fails_at_the_first_entry() -> None:
    report = verify_audit_log(chain(EVENTS, None, key=KEY), key=b"another")
    assert (report.index, report.problem) == (0, AuditProblem.EDITED)


def test_a_keyed_log_cannot_be_verified_without_its_key() -> None:
    report = verify_audit_log(chain(EVENTS, None, key=KEY))
    assert (report.index, report.problem) == (0, AuditProblem.UNVERIFIABLE)


def test_an_unknown_scheme_is_unverifiable() -> None:
    odd = [*LOG[:2], attrs.evolve(LOG[2], scheme=7), *LOG[3:]]
    report = verify_audit_log(odd)
    assert (report.index, report.problem) == (2, AuditProblem.UNVERIFIABLE)


def _position(events: list[Event], id: str, version: int) -> int:
    return next(n for n, e in enumerate(events) if (e.aggregate_id, e.version) == (id, version))


def test_a_rechained_log_missing_an_event_is_found_where_the_gap_is() -> None:
    # g-1's version 2 is dropped and the chain rebuilt: only the history order shows it.
    gone = _position(EVENTS, "g-1", 2)
    kept = [*EVENTS[:gone], *EVENTS[gone + 1 :]]
    report = verify_audit_log(chain(kept, None))
    assert (report.index, report.problem) == (_position(kept, "g-1", 3), AuditProblem.DELETED)


def test_a_rechained_log_with_an_event_twice_is_found_at_the_repeat() -> None:
    rebuilt = chain([*EVENTS[:4], EVENTS[2], *EVENTS[4:]], None)
    report = verify_audit_log(rebuilt)
    assert (report.index, report.problem) == (4, AuditProblem.REORDERED), report.detail


def test_a_rechained_log_cut_short_is_found_against_the_objects() -> None:
    rebuilt = chain(EVENTS[:-1], None)
    assert verify_audit_log(rebuilt).intact
    report = verify_audit_log(rebuilt, expected=ANCHOR)
    assert (report.index, report.problem) == (len(EVENTS) - 1, AuditProblem.TRUNCATED)


def test_a_rechained_log_with_an_edit_is_found_against_the_objects() -> None:
    events = [*EVENTS[:3], attrs.evolve(EVENTS[3], reason="forged"), *EVENTS[4:]]
    report = verify_audit_log(chain(events, None), expected=ANCHOR)
    assert (report.index, report.problem) == (3, AuditProblem.EDITED), report.detail


def test_a_rechained_log_is_found_against_a_checkpoint() -> None:
    events = [*EVENTS[:3], attrs.evolve(EVENTS[3], reason="forged"), *EVENTS[4:]]
    report = verify_audit_log(chain(events, None), expected=AuditAnchor.checkpoint(LOG[6]))
    assert (report.index, report.problem) == (6, AuditProblem.EDITED), report.detail


def test_a_log_cut_before_its_checkpoint_is_truncated() -> None:
    report = verify_audit_log(LOG[:5], expected=AuditAnchor.checkpoint(LOG[6]))
    assert (report.index, report.problem, report.sequence) == (5, AuditProblem.TRUNCATED, 6)


def test_an_anchor_takes_several_checkpoints() -> None:
    anchor = ANCHOR.with_checkpoint(LOG[2]).with_checkpoint(LOG[6])
    assert anchor.count == max(ANCHOR.count, 7)
    assert dict(anchor.checkpoints) == {3: LOG[2].hash, 7: LOG[6].hash}
    assert verify_audit_log(LOG, expected=anchor).intact


def test_an_anchor_remembers_every_stored_event() -> None:
    assert ANCHOR.count == len(EVENTS)
    assert dict(ANCHOR.versions) == {("Goal", obj.id): obj.version for obj in OBJECTS}
    assert ANCHOR.digests[("Goal", "g-1", 2)] == event_digest(OBJECTS[0].history[1])


def test_tampering_after_a_trusted_entry_is_found_at_its_position() -> None:
    report = verify_audit_log(edit(list(LOG), 6)[5:], after=LOG[4])
    assert (report.index, report.sequence, report.problem) == (1, 7, AuditProblem.EDITED)


def test_an_unreadable_entry_is_reported_where_it_is() -> None:
    def read() -> Iterator[AuditEntry]:
        yield from LOG[:3]
        raise StorageError("row 4 is not JSON")

    report = verify_audit_log(read(), expected=ANCHOR)
    assert (report.index, report.problem) == (3, AuditProblem.EDITED)
    assert "row 4 is not JSON" in report.detail


@given(
    name=st.sampled_from(sorted(TAMPERS)),
    data=st.data(),
)
def test_any_tampering_anywhere_is_reported_at_its_index(name: str, data: st.DataObject) -> None:
    how, problem, last = TAMPERS[name]
    index = data.draw(st.integers(0, last), label="index")
    report = verify_audit_log(how(list(LOG), index), expected=ANCHOR)
    assert (report.index, report.problem) == (index, problem)
