"""The benchmark peer: the goal lifecycle on the ``eventsourcing`` library, on SQLite.

perfcore's event store is compared with what a careful user of ``eventsourcing`` (PyPI
``eventsourcing``, 9.3 or later) would write for the same goal, set up as its documentation
recommends: an :class:`~eventsourcing.domain.Aggregate` with ``@event`` methods, an
:class:`~eventsourcing.application.Application` subclass with ``snapshotting_intervals`` for
it, and the SQLite persistence module chosen by the ``env`` given to the constructor. Nothing
else is tuned: no aggregate cache, no compressor, no cipher, the stock JSON transcoder.

The state machine is a strong ``transitions`` baseline: ONE class-level :class:`Machine`
(``model=None``), built once at import, whose events are fired on a tiny slotted carrier
holding the state, never a Machine per command or per object.

SQLite durability, read from ``eventsourcing/sqlite.py`` (9.5.6) and checked on a live
connection by :func:`peer_sqlite_pragmas`:

- ``journal_mode``: the library switches every file database to ``WAL``
  (``SQLiteConnectionPool._create_connection``); ``:memory:`` databases keep SQLite's own.
- ``synchronous``: the library never sets it, so it is SQLite's compiled default, which
  upstream is ``FULL`` (2), in WAL mode too (and so in the 3.40.1 measured here:
  ``DEFAULT_SYNCHRONOUS=2``, ``DEFAULT_WAL_SYNCHRONOUS=2``): every commit waits for fsync.
  9.3.5 and 9.4.0 behave the same (same PRAGMAs, same bytes per event). A SQLite built
  with another ``SQLITE_DEFAULT_WAL_SYNCHRONOUS`` would differ, which is why the runner should
  compare :func:`peer_sqlite_pragmas` with :data:`PEER_SQLITE_SYNCHRONOUS` before it trusts a
  comparison.
- Each command is its own transaction (``BEGIN`` ... ``COMMIT`` on an autocommit connection);
  the lock timeout is 5 seconds.

Use it from the runner through :func:`measure_commands` and :func:`bytes_per_event`, or alone::

    python -m benchmarks.peer_eventsourcing
    python benchmarks/peer_eventsourcing.py
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import importlib.metadata
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Final, cast

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding
from eventsourcing.sqlite import Factory as SQLiteFactory
from transitions import EventData, Machine, MachineError

__all__ = [
    "PEER_SQLITE_JOURNAL_MODE",
    "PEER_SQLITE_SYNCHRONOUS",
    "SNAPSHOT_INTERVAL",
    "CheckIn",
    "Goal",
    "GoalRejected",
    "Goals",
    "PeerFigure",
    "bytes_per_event",
    "bytes_per_event_of_many",
    "measure_commands",
    "peer_env",
    "peer_sqlite_pragmas",
]

PEER_SQLITE_SYNCHRONOUS: Final = "FULL"
"""``PRAGMA synchronous`` on the peer's connections: not set by eventsourcing, SQLite's default."""

PEER_SQLITE_JOURNAL_MODE: Final = "WAL"
"""``PRAGMA journal_mode`` on the peer's file databases: eventsourcing sets it."""

SNAPSHOT_INTERVAL: Final = 100
"""Events between snapshots. The docs' examples use 2 only to show snapshots being taken;
applications built on the library commonly snapshot every 50 to 500 events, and 100 is the
usual choice there."""

SETUP_BATCH: Final = 500
"""Events saved per transaction while seeding a history. Only the seeding is batched (to keep it
fast): the rows and the snapshots written are the same as one command at a time would write,
since a snapshot is taken for every version that is a multiple of the interval either way."""

# Check-ins are dated from here on: far enough back that the "not in the future" guard holds
# on any machine's clock.
START: Final = dt.date(2020, 1, 6)
_SYNCHRONOUS_NAMES: Final = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


class GoalRejected(Exception):
    """A command the goal's lifecycle does not allow in its state, or whose guard failed."""


# -- the state machine -------------------------------------------------------------------------


class _Carrier:
    """What the shared Machine fires on: just the state, so no per-object Machine is needed."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def _goal_of(event_data: EventData) -> Goal:
    return cast(Goal, event_data.kwargs["goal"])


def _measurable(event_data: EventData) -> bool:
    goal = _goal_of(event_data)
    return bool(goal.metric) and goal.target != goal.baseline


def _dated(event_data: EventData) -> bool:
    goal = _goal_of(event_data)
    return goal.due > goal.start


def _not_in_future(event_data: EventData) -> bool:
    on = cast(dt.date, event_data.kwargs["on"])
    return on <= cast(dt.date, event_data.kwargs["today"])


STATES: Final = ["draft", "proposed", "active", "achieved", "missed", "cancelled"]
TRANSITIONS: Final[list[dict[str, Any]]] = [
    {
        "trigger": "propose",
        "source": "draft",
        "dest": "proposed",
        "conditions": [_measurable, _dated],
    },
    {"trigger": "approve", "source": "proposed", "dest": "active"},
    {"trigger": "check_in", "source": "active", "dest": "active", "conditions": [_not_in_future]},
    {"trigger": "achieve", "source": "active", "dest": "achieved"},
    {"trigger": "miss", "source": "active", "dest": "missed"},
    {"trigger": "cancel", "source": ["draft", "proposed", "active"], "dest": "cancelled"},
]

# Built once for the class: building a Machine costs far more than firing one, and a per-object
# or per-command Machine is the design a strong baseline avoids.
_MACHINE: Final = Machine(
    model=None,
    states=STATES,
    transitions=TRANSITIONS,
    initial=None,
    auto_transitions=False,
    send_event=True,
)


def _fire(trigger: str, state: str, **kwargs: Any) -> str:
    """The state after ``trigger`` from ``state``; raises when it is not allowed there."""
    carrier = _Carrier(state)
    try:
        allowed = _MACHINE.events[trigger].trigger(carrier, **kwargs)
    except MachineError as error:  # no transition from this state
        raise GoalRejected(f"{trigger} is not allowed in state {state!r}") from error
    if not allowed:  # a condition failed: transitions returns False rather than raising
        raise GoalRejected(f"{trigger} refused in state {state!r}: a guard failed")
    return carrier.state


def _dest(trigger: str, source: str) -> str:
    """Where ``trigger`` leads from ``source``. Event methods use it: a recorded event is a
    fact, so replaying it applies the transition without running the guards again."""
    return cast(str, _MACHINE.events[trigger].transitions[source][0].dest)


# -- the aggregate ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckIn:
    """One measurement: on which day, what value (a decimal string), noted by whom."""

    on: dt.date
    value: str
    by: str
    note: str


class Goal(Aggregate):
    """A measurable goal. Its check-ins are kept as a list in its state, as a plain
    eventsourcing user keeps them, so snapshots grow with them (perfcore's goal does the same)."""

    @event("Created")
    def __init__(
        self,
        owner_id: str,
        manager_id: str,
        title: str,
        metric: str,
        baseline: Decimal,
        target: Decimal,
        start: dt.date,
        due: dt.date,
    ) -> None:
        self.owner_id = owner_id
        self.manager_id = manager_id
        self.title = title
        self.metric = metric
        self.baseline = baseline
        self.target = target
        self.start = start
        self.due = due
        self.state = "draft"
        self.check_ins: list[CheckIn] = []

    # Commands check with the machine, then record the fact through an @event method.

    def propose(self) -> None:
        _fire("propose", self.state, goal=self)
        self._proposed()

    def approve(self) -> None:
        _fire("approve", self.state, goal=self)
        self._approved()

    def check_in(self, on: dt.date, value: Decimal | str, by: str, note: str = "") -> None:
        _fire("check_in", self.state, goal=self, on=on, today=dt.date.today())
        self._checked_in(on=on, value=str(Decimal(value)), by=by, note=note)

    @event("Proposed")
    def _proposed(self) -> None:
        self.state = _dest("propose", self.state)

    @event("Approved")
    def _approved(self) -> None:
        self.state = _dest("approve", self.state)

    @event("CheckedIn")
    def _checked_in(self, on: dt.date, value: str, by: str, note: str) -> None:
        self.check_ins.append(CheckIn(on=on, value=value, by=by, note=note))


# -- the application ---------------------------------------------------------------------------


class DateAsISO(Transcoding):
    """Dates as ISO strings: the stock transcoder knows datetimes, not dates."""

    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


class CheckInAsList(Transcoding):
    """A check-in in snapshots as a flat list, the compact custom transcoding the docs advise
    for value objects (rather than a dict of nested type-tagged values)."""

    type = CheckIn
    name = "check_in"

    def encode(self, obj: CheckIn) -> list[str]:
        return [obj.on.isoformat(), obj.value, obj.by, obj.note]

    def decode(self, data: list[str]) -> CheckIn:
        on, value, by, note = data
        return CheckIn(on=dt.date.fromisoformat(on), value=value, by=by, note=note)


class Goals(Application):
    """One command per method: get the goal from the repository, fire the command, save."""

    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Goal: SNAPSHOT_INTERVAL}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(CheckInAsList())

    def create_goal(
        self,
        owner_id: str,
        manager_id: str,
        title: str,
        metric: str,
        baseline: Decimal,
        target: Decimal,
        start: dt.date,
        due: dt.date,
    ) -> uuid.UUID:
        goal = Goal(owner_id, manager_id, title, metric, baseline, target, start, due)
        self.save(goal)
        return goal.id

    def propose(self, goal_id: uuid.UUID) -> None:
        goal: Goal = self.repository.get(goal_id)
        goal.propose()
        self.save(goal)

    def approve(self, goal_id: uuid.UUID) -> None:
        goal: Goal = self.repository.get(goal_id)
        goal.approve()
        self.save(goal)

    def check_in(
        self, goal_id: uuid.UUID, on: dt.date, value: Decimal | str, by: str, note: str = ""
    ) -> None:
        goal: Goal = self.repository.get(goal_id)
        goal.check_in(on=on, value=value, by=by, note=note)
        self.save(goal)


def peer_env(database: Path) -> dict[str, str]:
    """The ``env`` for :class:`Goals` on the SQLite file ``database``, as the docs set it.

    Application merges ``os.environ`` under this, so run without eventsourcing variables
    (``AGGREGATE_CACHE_MAXSIZE``, ``COMPRESSOR_TOPIC``, ...) set, or the defaults are not what
    is measured.
    """
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(database)}


# -- measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerFigure:
    """Seconds per check-in command on a goal that already had ``history`` events."""

    history: int
    commands: int
    median: float
    minimum: float
    maximum: float
    samples: tuple[float, ...]


def _check_in_args(number: int) -> tuple[dt.date, Decimal, str, str]:
    return START + dt.timedelta(days=number % 300), Decimal(number % 11), "ana", "weekly figure"


def _seed(app: Goals, history: int) -> uuid.UUID:
    """A goal with ``history`` events: created, proposed, approved, then check-ins."""
    if history < 3:
        raise ValueError(
            f"a goal's history starts with 3 events (create, propose, approve), not {history}"
        )
    goal_id = app.create_goal(
        owner_id="ana",
        manager_id="ben",
        title="Resolve more tickets",
        metric="tickets a week",
        baseline=Decimal(0),
        target=Decimal(10),
        start=START,
        due=START + dt.timedelta(days=180),
    )
    app.propose(goal_id)
    app.approve(goal_id)
    goal: Goal = app.repository.get(goal_id)
    for number in range(history - 3):
        on, value, by, note = _check_in_args(number)
        goal.check_in(on=on, value=value, by=by, note=note)
        if (number + 1) % SETUP_BATCH == 0:
            app.save(goal)
    app.save(goal)
    return goal_id


def _checkpoint(database: Path) -> None:
    """Move the WAL's pages into the database file and empty the WAL, so the file is all."""
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _remove_database(database: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


@contextmanager
def _database(directory: Path, label: str) -> Iterator[Path]:
    """A fresh database path in ``directory``, removed with its side files afterwards."""
    database = Path(directory) / f"peer-eventsourcing-{label}-{uuid.uuid4().hex[:8]}.sqlite"
    try:
        yield database
    finally:
        _remove_database(database)


def measure_commands(history: int, commands: int, directory: Path, repeats: int = 5) -> PeerFigure:
    """Seconds per check-in command (get, fire, save: one transaction each) on a goal with
    ``history`` events, over ``repeats`` rounds of ``commands`` commands.

    Every round starts from a copy of the same seeded database, so each times the same
    ``history``. Make ``commands`` a multiple of :data:`SNAPSHOT_INTERVAL` so each round pays
    its share of snapshots (one per interval), as a long run would.
    """
    samples: list[float] = []
    with _database(directory, f"seed-{history}") as template:
        with closing(Goals(env=peer_env(template))) as app:
            goal_id = _seed(app, history)
        _checkpoint(template)
        seeded = template.read_bytes()
        for _ in range(repeats):
            with _database(directory, f"round-{history}") as database:
                database.write_bytes(seeded)
                with closing(Goals(env=peer_env(database))) as app:
                    # Untimed: the first read opens the connection and checks the WAL mode.
                    app.repository.get(goal_id)
                    arguments = [_check_in_args(history + number) for number in range(commands)]
                    gc.collect()
                    started = time.perf_counter()
                    for on, value, by, note in arguments:
                        app.check_in(goal_id, on=on, value=value, by=by, note=note)
                    elapsed = time.perf_counter() - started
                samples.append(elapsed / commands)
    return PeerFigure(
        history=history,
        commands=commands,
        median=statistics.median(samples),
        minimum=min(samples),
        maximum=max(samples),
        samples=tuple(samples),
    )


def bytes_per_event(events: int, directory: Path) -> float:
    """The database file's size, after a WAL checkpoint, over the goal's ``events`` events.

    Snapshots are on, as in :class:`Goals`, and their table is in the file: its bytes count,
    its rows do not (they are not events).
    """
    with _database(directory, f"size-{events}") as database:
        with closing(Goals(env=peer_env(database))) as app:
            _seed(app, events)
        _checkpoint(database)
        connection = sqlite3.connect(database)
        try:
            (stored,) = connection.execute("SELECT count(*) FROM stored_events").fetchone()
        finally:
            connection.close()
        if stored != events:
            raise AssertionError(f"{stored} events stored, {events} expected")
        return database.stat().st_size / events


def bytes_per_event_of_many(goals: int, events: int, directory: Path) -> float:
    """Like :func:`bytes_per_event`, for ``goals`` goals of ``events`` events each."""
    with _database(directory, f"size-{goals}x{events}") as database:
        with closing(Goals(env=peer_env(database))) as app:
            for _ in range(goals):
                _seed(app, events)
        _checkpoint(database)
        connection = sqlite3.connect(database)
        try:
            (stored,) = connection.execute("SELECT count(*) FROM stored_events").fetchone()
        finally:
            connection.close()
        if stored != goals * events:
            raise AssertionError(f"{stored} events stored, {goals * events} expected")
        return database.stat().st_size / stored


def peer_sqlite_pragmas(directory: Path) -> tuple[str, str]:
    """``(synchronous, journal_mode)`` as the peer's own connection has them, on this SQLite."""
    with _database(directory, "pragmas") as database:
        with closing(Goals(env=peer_env(database))) as app:
            datastore = cast(SQLiteFactory, app.factory).datastore
            with datastore.transaction(commit=False) as cursor:
                cursor.execute("PRAGMA synchronous")
                synchronous = _SYNCHRONOUS_NAMES[cursor.fetchone()[0]]
                cursor.execute("PRAGMA journal_mode")
                journal_mode = str(cursor.fetchone()[0]).upper()
        return synchronous, journal_mode


def main() -> int:
    """Print the peer's figures: seconds per command by history, and bytes per event."""
    version = importlib.metadata.version("eventsourcing")
    with tempfile.TemporaryDirectory(prefix="peer-eventsourcing-") as name:
        directory = Path(name)
        synchronous, journal_mode = peer_sqlite_pragmas(directory)
        print(
            f"eventsourcing {version}, SQLite {sqlite3.sqlite_version}: "
            f"journal_mode={journal_mode}, synchronous={synchronous}, "
            f"snapshot every {SNAPSHOT_INTERVAL} events"
        )
        if (synchronous, journal_mode) != (PEER_SQLITE_SYNCHRONOUS, PEER_SQLITE_JOURNAL_MODE):
            print(
                f"  note: this SQLite differs from the documented defaults "
                f"({PEER_SQLITE_JOURNAL_MODE}, {PEER_SQLITE_SYNCHRONOUS})"
            )
        print(f"{'history':>8}  {'median ms/cmd':>13}  {'min':>8}  {'max':>8}")
        for history in (10, 1000, 5000):
            figure = measure_commands(history, SNAPSHOT_INTERVAL, directory)
            print(
                f"{history:>8}  {figure.median * 1e3:>13.3f}  "
                f"{figure.minimum * 1e3:>8.3f}  {figure.maximum * 1e3:>8.3f}"
            )
        for events in (1000, 5000):
            print(f"bytes per event at {events} events: {bytes_per_event(events, directory):.1f}")
    return 0


if __name__ == "__main__":
    # Run the copy imported as ``peer_eventsourcing``, as the runner imports it, not __main__:
    # every stored row names its class's module in its topic, so the bytes per event would
    # otherwise differ with how the file was started.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(importlib.import_module("peer_eventsourcing").main())
