"""Figure 7: PostgreSQL beside SQLite, with 1, 4 and 8 concurrent writers.

A writer is a process of its own (a ``spawn`` child: threads would share one GIL), as an
application server is. Each writer does goal check-ins through the services on a goal of its own,
one command per unit of work, for a fixed window of wall time; all writers of a run start
together, and a run's figure is every writer's commands over the time from the first start to the
last finish: commands per second, all writers together. The writers are started once, before the
first run, and kept; each run gives each writer a new goal (created, proposed, approved and
checked in once, untimed, so that the object is loaded and the connection open, as in a running
server).

Four cases at each number of writers, taking turns run by run:

- **perfcore on PostgreSQL**: ``PostgresStore(dsn, schema="bench_<random>")``, one store per
  writer (its pool of at most 2 connections), on one schema made for this figure and dropped
  after it;
- **raw psycopg**, its baseline: each writer on one connection sends ``BEGIN`` with one INSERT of
  a comparable row (a recorded perfcore check-in event's columns and bytes, into a table of the
  same shape as perfcore's ``events``) in one pipeline, then ``COMMIT``: what perfcore's append
  costs the server at the least. Both run at the server's ``synchronous_commit``, reported;
- **perfcore on SQLite**: ``SQLiteStore(path, synchronous="FULL")`` (WAL), every writer on one new
  file per run;
- **raw sqlite3**, its baseline: ``BEGIN IMMEDIATE``, the same INSERT, ``COMMIT``, WAL with
  ``synchronous=FULL``, every writer on one new file per run (as in figure 6).

Without ``PERFCORE_POSTGRES_DSN`` (or without psycopg, or with a server that cannot be reached),
the PostgreSQL lines stay empty with a note saying why; the SQLite lines are measured all the same.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from perfcore import Perfcore
from perfcore.recording import record

from . import durability
from .domain import active_goal
from .harness import (
    OWNER,
    Row,
    SteppingClock,
    check_in_args,
    create_active_goal,
    fresh_path,
    interleaved,
    remove_database,
)

FIGURE = 7
DSN_VARIABLE = "PERFCORE_POSTGRES_DSN"
INSTALL = "pip install -e '.[postgres]'"
#: What the raw psycopg writers insert into: perfcore's ``events`` table's shape.
PG_TABLE = """CREATE TABLE {schema}.events (
    position bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
    stream bigint NOT NULL,
    version bigint NOT NULL,
    schema integer NOT NULL,
    header bytea NOT NULL,
    body bytea NOT NULL,
    hash bytea NOT NULL,
    UNIQUE (stream, version)
)"""
PG_INSERT = (
    "INSERT INTO {schema}.events (stream, version, schema, header, body, hash)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)
SQLITE_INSERT = (
    "INSERT INTO events (stream, version, schema, header, body, hash) VALUES (?, ?, ?, ?, ?, ?)"
)
#: Seconds a writer waits for the main process before it gives up (and the main for a writer).
PATIENCE = 180.0
CASES = ("pg raw", "pg perfcore", "sqlite raw", "sqlite perfcore")


def settings(quick: bool) -> tuple[tuple[int, ...], float, int]:
    """The numbers of writers, the seconds each run's writers write, and the runs per case."""
    return ((1, 8), 0.5, 2) if quick else ((1, 4, 8), 2.0, 7)


# -- the writers (each in a process of its own) ---------------------------------------------------


def _serve(slot: int, inbox: Any, outbox: Any) -> None:
    """A writer: for each task, prepare (untimed), say ``ready``, wait for ``go``, write for the
    window, and report what it did; ``None`` ends it."""
    held: dict[str, Any] = {}  # what it keeps open between runs: a PostgresStore, a connection
    try:
        while (task := inbox.get()) is not None:
            try:
                command = _prepare(task, slot, held)
            except Exception as error:  # reported to the main process, which stops the figure
                outbox.put(("failed", slot, f"{type(error).__name__}: {error}"))
                continue
            try:
                outbox.put(("ready", slot))
                window = inbox.get(timeout=PATIENCE)
                if window is None:  # the main process gave up on this run
                    return
                outbox.put(("done", slot, *_write(command.run, window)))
            finally:
                command.close()
    finally:
        for closing in held.values():
            closing.close()


class _Command:
    """One writer's command for a run, and what to close after it."""

    def __init__(self, run: Callable[[int], None], close: Callable[[], None] = lambda: None):
        self.run = run
        self.close = close


def _write(
    command: Callable[[int], None], window: float
) -> tuple[int, float, float, list[str], float]:
    """Run ``command`` until ``window`` seconds have passed: the commands done, when it started
    and ended (``time.perf_counter``, the same clock in every process), any error, and the CPU
    time this process used meanwhile."""
    done, errors = 0, []
    cpu = time.process_time()
    started = time.perf_counter()
    deadline = started + window
    while time.perf_counter() < deadline:
        try:
            command(done)
        except Exception as error:  # counted and reported: a figure never hides a failure
            errors.append(type(error).__name__)
            continue
        done += 1
    ended = time.perf_counter()
    return done, started, ended, errors, time.process_time() - cpu


def _prepare(task: dict[str, Any], slot: int, held: dict[str, Any]) -> _Command:
    case, run = task["case"], task["run"]
    goal_id = f"g-{run}-{slot}"
    if case == "pg perfcore":
        if "store" not in held:
            from perfcore.adapters.postgres import PostgresStore

            held["store"] = PostgresStore(task["dsn"], schema=task["schema"], pool_size=2)
        return _perfcore(Perfcore(held["store"], clock=SteppingClock()), goal_id)
    if case == "sqlite perfcore":
        from perfcore.adapters.sqlite import SQLiteStore

        store = SQLiteStore(task["path"], synchronous="FULL")
        command = _perfcore(Perfcore(store, clock=SteppingClock()), goal_id)
        return _Command(command.run, store.close)
    row = task["row"]
    stream = run * 100 + slot
    if case == "pg raw":
        if "connection" not in held:
            import psycopg

            held["connection"] = psycopg.connect(task["dsn"], autocommit=True)
        from psycopg import sql

        connection = held["connection"]
        insert = sql.SQL(PG_INSERT).format(schema=sql.Identifier(task["raw_schema"]))

        def pg_raw(number: int) -> None:
            with connection.pipeline():
                connection.execute("BEGIN")
                connection.execute(insert, (stream, number + 1, *row))
            connection.execute("COMMIT")

        pg_raw(-1)  # a first row: the statement prepared, as perfcore's are after a command
        return _Command(pg_raw)
    if case == "sqlite raw":
        database = sqlite3.connect(task["path"], isolation_level=None, timeout=5.0)
        database.execute("PRAGMA synchronous=FULL")

        def sqlite_raw(number: int) -> None:
            database.execute("BEGIN IMMEDIATE")
            try:
                database.execute(SQLITE_INSERT, (stream, number + 1, *row))
            except BaseException:
                database.execute("ROLLBACK")
                raise
            database.execute("COMMIT")

        sqlite_raw(-1)
        return _Command(sqlite_raw, database.close)
    raise ValueError(f"no such case: {case}")


def _perfcore(pc: Perfcore, goal_id: str) -> _Command:
    """A new active goal and one check-in (untimed), then a check-in per command."""
    create_active_goal(pc, goal_id)
    pc.goals.check_in(goal_id, by=OWNER, **check_in_args(0))
    arguments = [check_in_args(number) for number in range(1, 301)]

    def check_in(number: int) -> None:
        pc.goals.check_in(goal_id, by=OWNER, **arguments[number % len(arguments)])

    return _Command(check_in)


# -- the main process -----------------------------------------------------------------------------


class _Writers:
    """``count`` writer processes, started once; :meth:`run` sets some of them writing."""

    def __init__(self, count: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._outbox = context.Queue()
        self._inboxes = [context.Queue() for _ in range(count)]
        self._processes = [
            context.Process(target=_serve, args=(slot, inbox, self._outbox), daemon=True)
            for slot, inbox in enumerate(self._inboxes)
        ]
        for process in self._processes:
            process.start()
        self._runs = 0
        self.errors: dict[str, list[str]] = {}
        #: By case and writers: the writers' CPU seconds and their commands, over every run.
        self.cpu: dict[str, list[float]] = {}

    def run(self, writers: int, window: float, **task: Any) -> float:
        """One run of ``writers`` writers: their commands per second, all together."""
        self._runs += 1
        for inbox in self._inboxes[:writers]:
            inbox.put({**task, "run": self._runs})
        self._expect("ready", writers)
        for inbox in self._inboxes[:writers]:
            inbox.put(window)
        reports = self._expect("done", writers)
        done = sum(report[2] for report in reports)
        started = min(report[3] for report in reports)
        ended = max(report[4] for report in reports)
        key = f"{task['case']} {writers}"
        spent = self.cpu.setdefault(key, [0.0, 0.0])
        for report in reports:
            self.errors.setdefault(key, []).extend(report[5])
            spent[0] += report[6]
            spent[1] += report[2]
        return float(done / (ended - started))

    def _expect(self, what: str, count: int) -> list[tuple[Any, ...]]:
        reports: list[tuple[Any, ...]] = []
        while len(reports) < count:
            try:
                report = self._outbox.get(timeout=PATIENCE)
            except queue.Empty:
                raise RuntimeError(f"a writer fell silent ({len(reports)} of {count})") from None
            if report[0] == "failed":
                raise RuntimeError(f"writer {report[1]} failed: {report[2]}")
            assert report[0] == what, report
            reports.append(report)
        return reports

    def close(self) -> None:
        for inbox in self._inboxes:
            inbox.put(None)
        for process in self._processes:
            process.join(30)
            if process.is_alive():
                process.kill()


def _server(dsn: str) -> tuple[dict[str, str] | None, str]:
    """The server's version and durability settings, or ``None`` and why the PostgreSQL lines
    are skipped."""
    if not dsn:
        return None, (
            f"PostgreSQL skipped: {DSN_VARIABLE} is not set (a server where the benchmark may"
            " create and drop schemas, such as postgresql://postgres@127.0.0.1:5432/test)"
        )
    try:
        import psycopg
    except ImportError as error:
        return None, f"PostgreSQL skipped: psycopg is not importable ({error}); {INSTALL}"
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            found = {}
            for name in ("server_version", "synchronous_commit", "fsync", "wal_sync_method"):
                found[name] = str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            return found, ""
    except psycopg.Error as error:
        where = f"{DSN_VARIABLE} names a server that cannot be reached"
        return None, f"PostgreSQL skipped: {where} ({type(error).__name__})"


@contextmanager
def _schemas(dsn: str) -> Iterator[tuple[str, str]]:
    """A new schema for perfcore's store (made by the store itself) and one for the raw table,
    dropped after."""
    import psycopg
    from psycopg import sql

    from perfcore.adapters.postgres import PostgresStore

    name = f"bench_{uuid.uuid4().hex[:12]}"
    ours, raw = name, f"{name}_raw"
    try:
        PostgresStore(dsn, schema=ours, pool_size=1).close()  # its tables, before writers race
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(raw)))
            conn.execute(sql.SQL(PG_TABLE).format(schema=sql.Identifier(raw)))
        yield ours, raw
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for schema in (ours, raw):
                drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                conn.execute(drop)


def _sqlite_case(
    pool: _Writers, directory: Path, writers: int, window: float, case: str, row: tuple[Any, ...]
) -> Callable[[], float]:
    def one_run() -> float:
        database = fresh_path(directory, f"writers-{writers}")
        if case == "sqlite perfcore":
            from perfcore.adapters.sqlite import SQLiteStore

            SQLiteStore(database, synchronous="FULL").close()  # its schema, before writers race
        else:
            connection = sqlite3.connect(database, isolation_level=None)
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute(durability.TABLE)
            finally:
                connection.close()
        try:
            return pool.run(writers, window, case=case, path=str(database), row=row)
        finally:
            remove_database(database)

    return one_run


def run(quick: bool, directory: Path) -> list[Row]:
    counts, window, repeats = settings(quick)
    dsn = os.environ.get(DSN_VARIABLE, "")
    server, why = _server(dsn)
    event = record(active_goal(10).history, previous_hash=b"")[-1]
    row = (event.schema, event.header, event.body, event.hash)
    pool = _Writers(max(counts))
    try:
        with _schemas(dsn) if server else _nothing() as names:
            cases: dict[str, Callable[[], float]] = {}
            for writers in counts:
                if names is not None:
                    ours, raw = names
                    for case in ("pg raw", "pg perfcore"):
                        cases[f"{case} {writers}"] = _pg_case(
                            pool, writers, window, case, dsn, ours, raw, row
                        )
                for case in ("sqlite raw", "sqlite perfcore"):
                    cases[f"{case} {writers}"] = _sqlite_case(
                        pool, directory, writers, window, case, row
                    )
            stats = interleaved(cases, repeats)
    finally:
        pool.close()
    return _rows(counts, stats, server, why, pool.errors, pool.cpu)


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def _pg_case(
    pool: _Writers,
    writers: int,
    window: float,
    case: str,
    dsn: str,
    ours: str,
    raw: str,
    row: tuple[Any, ...],
) -> Callable[[], float]:
    def one_run() -> float:
        return pool.run(writers, window, case=case, dsn=dsn, schema=ours, raw_schema=raw, row=row)

    return one_run


def _rows(
    counts: tuple[int, ...],
    stats: dict[str, Any],
    server: dict[str, str] | None,
    why: str,
    errors: dict[str, list[str]],
    cpu: dict[str, list[float]],
) -> list[Row]:
    def note(*parts: str, case: str) -> str:
        """The parts given, the writers' own CPU time per command, and any failures."""
        seconds, done = cpu.get(case, (0.0, 0.0))
        spent = f"writers' CPU {seconds / done * 1e6:,.0f} µs/cmd" if done else ""
        names = errors.get(case, [])
        failed = f"{len(names)} commands failed: {', '.join(sorted(set(names)))}" if names else ""
        return "; ".join(part for part in (*parts, spent, failed) if part)

    unit = "cmds/s"
    setting = (
        f"PostgreSQL {server['server_version'].split()[0]},"
        f" synchronous_commit={server['synchronous_commit']}, fsync={server['fsync']}"
        if server
        else why
    )
    rows = []
    for writers in counts:
        them = "writer" if writers == 1 else "writers"
        pg_raw_name = f"psycopg BEGIN+INSERT, COMMIT, {writers} {them}"
        pg_name = f"perfcore check-in, PostgresStore, {writers} {them}"
        sqlite_raw_name = f"sqlite3 INSERT + COMMIT, WAL FULL, {writers} {them}"
        sqlite_name = f"perfcore check-in, SQLiteStore FULL, {writers} {them}"
        pg_raw, pg = stats.get(f"pg raw {writers}"), stats.get(f"pg perfcore {writers}")
        sqlite_raw, sqlite = stats[f"sqlite raw {writers}"], stats[f"sqlite perfcore {writers}"]
        rows.append(
            Row(FIGURE, pg_raw_name, unit, pg_raw, note=note(setting, case=f"pg raw {writers}"))
        )
        rows.append(
            Row(
                FIGURE,
                pg_name,
                unit,
                pg,
                baseline=pg_raw_name if pg else "",
                ratio=pg.over(pg_raw) if pg and pg_raw else None,
                ratio_means="perfcore's cmds/s / raw psycopg's" if pg else "",
                note=note(why, case=f"pg perfcore {writers}"),
            )
        )
        rows.append(
            Row(FIGURE, sqlite_raw_name, unit, sqlite_raw, note=note(case=f"sqlite raw {writers}"))
        )
        rows.append(
            Row(
                FIGURE,
                sqlite_name,
                unit,
                sqlite,
                baseline=sqlite_raw_name,
                ratio=sqlite.over(sqlite_raw),
                ratio_means="perfcore's cmds/s / raw sqlite3's",
                note=note(case=f"sqlite perfcore {writers}"),
            )
        )
        rows.append(
            Row(
                FIGURE,
                f"PostgresStore against SQLiteStore, {writers} {them}",
                "ratio",
                None,
                baseline=sqlite_name,
                ratio=pg.over(sqlite) if pg else None,
                ratio_means="PostgresStore's cmds/s / SQLiteStore's",
                note=why,
            )
        )
    first = counts[0]
    for store, case in (("PostgresStore", "pg perfcore"), ("SQLiteStore FULL", "sqlite perfcore")):
        for writers in counts[1:]:
            more, one = stats.get(f"{case} {writers}"), stats.get(f"{case} {first}")
            rows.append(
                Row(
                    FIGURE,
                    f"{store}: {writers} vs {first} writer",
                    "ratio",
                    None,
                    baseline=f"the same, {first} writer",
                    ratio=more.over(one) if more and one else None,
                    ratio_means=f"cmds/s with {writers} writers / with {first}",
                    note="" if more else why,
                )
            )
    return rows
