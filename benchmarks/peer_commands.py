"""Figure 3: goal check-ins on SQLite, perfcore against the peer (``peer_eventsourcing``).

Both at the same durability: a file database in WAL mode with ``synchronous=FULL``, each
command its own transaction, at 10 and at 1,000 events of history. The peer's rounds are 100
commands (one snapshot period of its, see its docstring); perfcore's are one snapshot period of
its own (see :mod:`benchmarks.commands`). The two are timed in turn, round by round. Also shown
in full runs (it is slow): perfcore with its object cache off (``cache_size=0``), which loads
the newest snapshot and the events after it for every command, as the peer does.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from . import commands
from .harness import Row, interleaved, journal_mode

HISTORIES = (10, 1_000)
INSTALL = "pip install -e '.[bench]'"


def load_peer() -> tuple[ModuleType | None, str]:
    """The peer module imported as ``peer_eventsourcing`` (the name its stored topics carry,
    as when it is run alone), or ``None`` and why not."""
    folder = str(Path(__file__).resolve().parent)
    if folder not in sys.path:
        sys.path.append(folder)
    try:
        return importlib.import_module("peer_eventsourcing"), ""
    except ImportError as error:
        return None, f"peer skipped: eventsourcing is not importable ({error}); {INSTALL}"


def run(quick: bool, directory: Path) -> list[Row]:
    repeats = 3 if quick else 7
    caches = (10_000,) if quick else (10_000, 0)  # cache_size=0 is slow: full runs only
    cases = {
        f"perfcore {cache} {history}": commands.case(directory, "sqlite", history, "FULL", cache)
        for history in HISTORIES
        for cache in caches
    }
    mode = journal_mode(commands.template(directory, HISTORIES[0] - 1))
    peer, why = load_peer()
    if peer is not None:
        pragmas = peer.peer_sqlite_pragmas(directory)
        expected = (peer.PEER_SQLITE_SYNCHRONOUS, peer.PEER_SQLITE_JOURNAL_MODE)
        if pragmas != expected:
            why = f"peer's SQLite runs {pragmas}, not the documented {expected}"
        for history in HISTORIES:
            cases[f"peer {history}"] = _peer_case(peer, history, directory)
    stats = {name: value.scaled(1e6) for name, value in interleaved(cases, repeats).items()}
    rows = []
    for history in HISTORIES:
        peer_name = f"peer: eventsourcing on SQLite, {history:,} events"
        theirs = stats.get(f"peer {history}")
        rows.append(Row(3, peer_name, "µs/cmd", theirs, note=why or "100/round"))
        for cache in caches:
            ours = stats[f"perfcore {cache} {history}"]
            speed = None if theirs is None else theirs.over(ours)
            goal = cache != 0
            rows.append(
                Row(
                    3,
                    f"perfcore SQLite FULL+{mode}{'' if cache else ', cache_size=0'}, {history:,}"
                    " events",
                    "µs/cmd",
                    ours,
                    baseline=peer_name if speed else "",
                    ratio=speed,
                    ratio_means="perfcore's cmds/s / the peer's" if speed else "",
                    goal=">= 1.5x the peer's cmds/s" if goal else "",
                    met=(speed.median >= 1.5) if goal and speed is not None else None,
                    note=f"{commands.round_length(history)}/round",
                )
            )
    return rows


def _peer_case(peer: ModuleType, history: int, directory: Path) -> Callable[[], float]:
    """One round of the peer's: its seconds per command over one snapshot interval."""

    def case() -> float:
        figure = peer.measure_commands(history, peer.SNAPSHOT_INTERVAL, directory, repeats=1)
        return float(figure.median)

    return case
