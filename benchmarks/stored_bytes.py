"""Figure 4: stored bytes per event, perfcore's SQLite file against the peer's.

Each store is filled through its own application code (perfcore's services, one command at a
time, with ``synchronous=OFF``: durability does not change the bytes), its WAL checkpointed
into the file with ``PRAGMA wal_checkpoint(TRUNCATE)``, and the file's size divided by the
events in it. Everything in the file counts: stream heads, snapshots, seals, indexes, free pages.
Two shapes: one goal of 1,000 events (created, proposed, approved, 997 check-ins) and 1,000 goals
of 10 events each. Sizes do not vary between runs beyond a page (random salts and ids have fixed
lengths), so the quick run measures each once. It keeps the sizes: with fewer events, the
schema's fixed pages (about 25 tables and indexes of one 4 KB page each) would weigh more in
perfcore's figure than in the peer's three tables, and the comparison would flip.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from perfcore import Perfcore
from perfcore.adapters.sqlite import SQLiteStore

from .harness import Row, Stats, SteppingClock, checkpoint, fresh_path, remove_database, seed_goal
from .peer_commands import load_peer

SHAPES = ((1, 1_000), (1_000, 10))
#: The peer's bytes per event as the issue gives it.
ISSUE_PEER = 226


def perfcore_bytes_per_event(directory: Path, goals: int, events: int) -> float:
    database = fresh_path(directory, f"size-{goals}x{events}")
    try:
        with SQLiteStore(database, synchronous="OFF") as store:
            pc = Perfcore(store, clock=SteppingClock())
            for number in range(goals):
                seed_goal(pc, f"g-{number}", events)
        checkpoint(database)
        connection = sqlite3.connect(database)
        try:
            (stored,) = connection.execute("SELECT count(*) FROM events").fetchone()
        finally:
            connection.close()
        if stored != goals * events:
            raise AssertionError(f"{stored} events stored, {goals * events} expected")
        return database.stat().st_size / stored
    finally:
        remove_database(database)


def run(quick: bool, directory: Path) -> list[Row]:
    repeats = 1 if quick else 3
    peer, why = load_peer()
    rows = []
    for goals, events in SHAPES:
        shape = f"{goals:,} goal{'s' if goals > 1 else ''} x {events:,} events"
        ours = Stats.of(
            [perfcore_bytes_per_event(directory, goals, events) for _ in range(repeats)]
        )
        theirs: Stats | None = None
        if peer is None:
            rows.append(Row(4, f"peer: eventsourcing, {shape}", "B/event", None, note=why))
        else:
            samples = [
                peer.bytes_per_event(events, directory)
                if goals == 1
                else peer.bytes_per_event_of_many(goals, events, directory)
                for _ in range(repeats)
            ]
            theirs = Stats.of(samples)
            rows.append(Row(4, f"peer: eventsourcing, {shape}", "B/event", theirs))
        ratio = None if theirs is None else ours.over(theirs)
        rows.append(
            Row(
                4,
                f"perfcore SQLite, {shape}",
                "B/event",
                ours,
                baseline=f"peer: eventsourcing, {shape}" if ratio else "",
                ratio=ratio,
                ratio_means="perfcore's bytes / the peer's" if ratio else "",
                goal="<= the peer's (about 226 B)",
                met=None if ratio is None else ratio.median <= 1.0,
                note=f"{'under' if ours.median <= ISSUE_PEER else 'over'} the issue's 226 B",
            )
        )
    return rows
