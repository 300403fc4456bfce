"""The PostgreSQL store: the whole conformance suite against a live server, and what is
PostgreSQL's own: the schema and its migrations, the stable position under writers in flight,
connections killed underneath a unit of work, errors, the outbox with several consumers, and races
between processes through the services.

Every test runs against the server ``PERFCORE_POSTGRES_DSN`` names (``.ci/run`` sets it), each in
a schema of its own, dropped after it; without the variable, every test here is skipped, saying
so. The concurrency test (8 processes on 100 goals and 100 plans) is in
``test_postgres_concurrency.py``.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import multiprocessing
import pickle
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import ConnectionPool
from tests.adapters import _postgres_worker as worker
from tests.adapters._postgres_worker import DSN, SKIP_REASON, admin, drop_schemas

from perfcore import Perfcore
from perfcore.actor import Actor
from perfcore.adapters import _postgres_schema as schema
from perfcore.adapters.postgres import (
    AccessDenied,
    ChangeRefused,
    CommitOutcomeUnknown,
    ConnectionLost,
    DatabaseBusy,
    DatabaseFull,
    DatabaseReadOnly,
    DatabaseUnavailable,
    PostgresDirectory,
    PostgresOutbox,
    PostgresStore,
    PostgresStoreError,
    PostgresUnitOfWork,
    SchemaMissing,
    TransactionConflict,
    _Events,
    _Idempotency,
    _Snapshots,
    translate,
)
from perfcore.directory import Directory, Placement
from perfcore.errors import ConcurrencyError, PerfcoreError, StorageError, ValidationError
from perfcore.plan import Approver, Objective, Support
from perfcore.ports import INDEX_COLUMNS, Notification, Store
from perfcore.serialization import UnsupportedSchema
from perfcore.services._runner import scoped_key
from perfcore.testing.conformance import DirectoryContract, StoreContract
from perfcore.testing.conformance._support import (
    EPOCH,
    assert_events,
    batch,
    commit,
    finish_within,
    head_of,
    pending,
    read,
    scan_all,
    seal,
)

#: Reads name their reader: HR reads everything.
READER = Actor(id="hr-reader", roles={"hr"})

pytestmark = pytest.mark.skipif(not DSN, reason=SKIP_REASON)

#: Numbers the extra stores a test opens (the workflow comparison's, one per example).
EXTRA = itertools.count()
_WAIT = 60.0


@pytest.fixture
def schema_name() -> Iterator[str]:
    """A new schema for the test; it, and every schema named after it, dropped after."""
    name = worker.new_schema()
    yield name
    drop_schemas(name)


@pytest.fixture
def store(schema_name: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(DSN, schema=schema_name)
    yield opened
    opened.close()


def quoted(name: str) -> sql.Composable:
    return sql.Identifier(name)


# -- the conformance suite ------------------------------------------------------------------------


class TestPostgres(StoreContract):
    """:class:`PostgresStore` against the whole contract, the workflow comparison included."""

    supports_threads = True
    supports_processes = True
    supports_failure_injection = True
    supports_new_stores = True

    @pytest.fixture
    def store(self, schema_name: str) -> Iterator[PostgresStore]:
        opened = PostgresStore(DSN, schema=schema_name)
        yield opened
        opened.close()

    def new_store(self, store: Store) -> Store:
        # A schema named after the test's (dropped with it).
        assert isinstance(store, PostgresStore)
        return PostgresStore(DSN, schema=f"{store.schema}_{next(EXTRA)}", pool_size=4)

    def process_store_factory(self, store: Store) -> Callable[[], Store]:
        assert isinstance(store, PostgresStore)
        return functools.partial(PostgresStore, DSN, schema=store.schema)

    def break_store(self, store: Store) -> None:
        # As an administrator would: drop the store's schema, tables and all, underneath it.
        assert isinstance(store, PostgresStore)
        with admin() as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(quoted(store.schema)))


class TestPostgresDirectory(DirectoryContract):
    """:class:`PostgresDirectory` against the directory contract, in a schema of its own."""

    @pytest.fixture(autouse=True)
    def _store(self, store: PostgresStore) -> None:
        self.opened = store

    def directory_holding(self, placements: Sequence[Placement]) -> Directory:
        directory = PostgresDirectory(self.opened)
        for placement in placements:
            person = placement.person
            if person is None:
                directory.leave(placement.person_id, on=placement.effective)
            else:
                directory.place(
                    person.id, on=placement.effective, manager_id=person.manager_id,
                    department=person.department, roles=person.roles,
                    position=person.position,
                )  # fmt: skip
        assert directory.placements() == sorted(
            placements, key=lambda p: (p.person_id, p.effective)
        )
        return directory


def test_a_placement_is_made_once_a_day(store: PostgresStore) -> None:
    directory = PostgresDirectory(store)
    directory.place("ana", on=dt.date(2026, 1, 5), manager_id="ben")
    with pytest.raises(ValidationError, match="has a placement on 2026-01-05"):
        directory.leave("ana", on=dt.date(2026, 1, 5))
    assert directory.reports("ben", dt.date(2026, 2, 1)) == ("ana",)


# -- helpers --------------------------------------------------------------------------------------


def named_dsn(name: str) -> str:
    """The test server's connection string, its connections named ``name`` (to find them in
    ``pg_stat_activity``)."""
    return psycopg.conninfo.make_conninfo(DSN, application_name=name)


def backend_pids(name: str) -> list[int]:
    """The server processes of the connections named ``name``."""
    with admin() as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def terminate(name: str) -> int:
    """End every connection named ``name``, as an administrator would; how many there were."""
    pids = backend_pids(name)
    with admin() as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return len(pids)


def raw(schema_name: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run ``query`` (``{schema}`` standing for the store's schema) on a plain connection."""
    with admin() as conn:
        cursor = conn.execute(sql.SQL(query).format(schema=quoted(schema_name)), params)
        return cursor.fetchall() if cursor.description else []


def in_thread(command: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=command, daemon=True)
    thread.start()
    return thread


# -- the schema and its migrations ----------------------------------------------------------------


def test_the_query_columns_are_the_ports() -> None:
    assert schema.STREAM_COLUMNS == INDEX_COLUMNS


def test_a_new_schema_is_made_with_its_version(store: PostgresStore, schema_name: str) -> None:
    version = raw(schema_name, "SELECT value FROM {schema}.meta WHERE key = 'schema_version'")
    assert version == [(str(schema.SCHEMA_VERSION),)]
    tables = raw(
        schema_name,
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
        (schema_name,),
    )
    assert [name for (name,) in tables] == [
        "directory_placements", "events", "idempotency", "meta", "outbox", "seals",
        "snapshots", "streams",
    ]  # fmt: skip


def test_a_store_opened_again_finds_its_data(schema_name: str) -> None:
    first = batch("Goal", "g-1", 3, "active", {"owner": "ana"})
    with PostgresStore(DSN, schema=schema_name) as store:
        commit(store, first)
    with PostgresStore(DSN, schema=schema_name) as store:
        assert_events(read(store, "Goal", "g-1"), first.events)


def test_a_schema_of_a_newer_perfcore_is_refused_and_left_alone(schema_name: str) -> None:
    PostgresStore(DSN, schema=schema_name).close()
    raw(schema_name, "UPDATE {schema}.meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(UnsupportedSchema, match="upgrade perfcore"):
        PostgresStore(DSN, schema=schema_name)
    assert raw(schema_name, "SELECT value FROM {schema}.meta") == [("99",)]


def store_at(schema_name: str, version: int) -> None:
    """Make ``schema_name`` a store at schema ``version``: its first migrations alone."""
    with admin() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(quoted(schema_name)))
        for statements in schema.Statements(schema_name).migrations[:version]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(schema.Statements(schema_name)["write_version"], (str(version),))


def test_a_schema_1_store_gains_the_directory_positions(schema_name: str) -> None:
    """Schema 1 had no positions: opening it migrates to schema 2 and keeps every placement."""
    store_at(schema_name, 1)
    raw(
        schema_name,
        "INSERT INTO {schema}.directory_placements VALUES"
        " ('ana', '2020-01-01', true, 'ben', NULL, ARRAY['employee'])",
    )
    with PostgresStore(DSN, schema=schema_name) as store:
        directory = PostgresDirectory(store)
        ana = directory.person("ana", dt.date(2026, 1, 1))
        assert ana is not None
        assert (ana.manager_id, ana.position) == ("ben", None)
        directory.place("ana", on=dt.date(2026, 2, 1), manager_id="ben", position="agent")
        assert directory.holders("agent", dt.date(2026, 2, 1)) == ("ana",)
        assert directory.holders("agent", dt.date(2026, 1, 31)) == ()
    version = raw(schema_name, "SELECT value FROM {schema}.meta WHERE key = 'schema_version'")
    assert version == [(str(schema.SCHEMA_VERSION),)] == [("3",)]


def test_a_schema_2_store_gains_the_derived_query_columns(schema_name: str) -> None:
    """Schema 2's heads keep their columns and lack the new ones; appends then write them."""
    store_at(schema_name, 2)
    raw(
        schema_name,
        "INSERT INTO {schema}.streams (kind, id, version, hash, state, owner)"
        " VALUES ('Goal', 'g-0', 1, '\\x00', 'active', 'bo')",
    )
    with PostgresStore(DSN, schema=schema_name) as store:
        old = head_of(store, "Goal", "g-0")
        assert old is not None
        assert (old.version, old.state, dict(old.columns)) == (1, "active", {"owner": "bo"})
        first = batch("Goal", "g-1", 2, "active", {"owner": "ana"})
        commit(store, first)
        commit(store, first.then(1, "active", {"owner": "ana", "behind": "2026-03-01"}))
        with store.unit_of_work() as uow:
            found = uow.events.find_between("Goal", "behind", None, "2026-12-31")  # type: ignore[attr-defined]
            assert [(head.id, dict(head.columns)) for head in found] == [
                ("g-1", {"owner": "ana", "behind": "2026-03-01"})
            ]
    version = raw(schema_name, "SELECT value FROM {schema}.meta WHERE key = 'schema_version'")
    assert version == [("3",)]


def test_a_damaged_schema_version_is_refused(schema_name: str) -> None:
    PostgresStore(DSN, schema=schema_name).close()
    raw(schema_name, "UPDATE {schema}.meta SET value = 'two' WHERE key = 'schema_version'")
    with pytest.raises(SchemaMissing, match="'two'"):
        PostgresStore(DSN, schema=schema_name)


def test_servers_starting_together_make_the_schema_once(schema_name: str) -> None:
    opened: list[PostgresStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6, timeout=_WAIT)

    def open_one() -> None:
        try:
            start.wait()
            opened.append(PostgresStore(DSN, schema=schema_name, pool_size=1))
        except BaseException as error:
            errors.append(error)

    threads = [in_thread(open_one) for _ in range(6)]
    for thread in threads:
        thread.join(_WAIT)
    try:
        assert not errors, errors
        assert len(opened) == 6
        commit(opened[0], batch("Goal", "g-1"))
        assert [e.version for e in read(opened[5], "Goal", "g-1")] == [1]
    finally:
        for one in opened:
            one.close()


def test_the_stores_own_every_query_an_index(store: PostgresStore, schema_name: str) -> None:
    # With sequential scans made dear, the plan of each query the store runs on streams and
    # events must use an index (tiny tables would otherwise be scanned whole).
    commit(store, batch("Goal", "g-1", 2, "draft", {"owner": "ana", "number": 2}))
    statements = store._statements
    queries: list[tuple[bytes, tuple[Any, ...]]] = [
        (statements["select_head"], ("Goal", "g-1")),
        (statements["stream_key"], ("Goal", "g-1")),
        (statements["read_events"], (1, 0, 500)),
        (statements["scan_events"], (0, 10, 500)),
        (statements["select_streams_after"], ("Goal", "a", 10)),
        (statements["outbox_pending"], (10,)),
        (statements["idempotency_get"], ("k",)),
        (statements["snapshot_get"], ("Goal", "g-1")),
        (statements["seal_read"], (0, 10)),
    ]
    for column, query in statements.heads_by.items():
        queries.append((query, ("Goal", 2 if column in schema.NUMBER_COLUMNS else "ana")))
    for query in statements.heads_between.values():
        queries.append((query, ("Goal", "2026-01-01", "2026-12-31", "2026-12-31")))
        queries.append((query, ("Goal", None, None, None)))
    queries.append((statements.heads_without["changed"], ("Goal",)))
    with admin() as conn:
        conn.execute("SET enable_seqscan = off")
        for query, params in queries:
            plan = "\n".join(row[0] for row in conn.execute(b"EXPLAIN " + query, params).fetchall())
            assert "Seq Scan" not in plan, f"{query.decode()}\n{plan}"


def test_the_store_uses_a_pool_it_is_given_and_leaves_it_open(schema_name: str) -> None:
    pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
        DSN,
        min_size=1,
        max_size=2,
        open=True,  # connections not in autocommit mode
    )
    try:
        with PostgresStore(pool, schema=schema_name) as store:
            one = batch("Goal", "g-1", 2)
            commit(store, one)
            assert_events(read(store, "Goal", "g-1"), one.events)
        with pool.connection() as conn:
            assert conn.autocommit is False, "the store did not set the connection back"
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.close()


@pytest.mark.parametrize(
    "arguments",
    [{"schema": ""}, {"schema": "pg_mine"}, {"schema": "x" * 64}, {"pool_size": 0},
     {"timeout": 0}],
)  # fmt: skip
def test_wrong_arguments_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PostgresStore(DSN, **arguments)


def test_a_store_is_made_from_a_connection_string_or_a_pool_only() -> None:
    with pytest.raises(ValidationError, match="connection string"):
        PostgresStore(42)  # type: ignore[arg-type]


def test_a_server_that_cannot_be_reached_is_unavailable() -> None:
    with pytest.raises(DatabaseUnavailable) as raised:
        PostgresStore("postgresql://postgres@127.0.0.1:1/test", connect_timeout=2)
    assert raised.value.retryable


def test_the_store_never_shows_its_connection_string(store: PostgresStore) -> None:
    assert repr(store) == f"PostgresStore(schema={store.schema!r})"


# -- query columns, ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "columns", [{"number": "1"}, {"number": True}, {"owner": 1}, {"owner": "a\x00b"}]
)
def test_query_columns_hold_their_own_type(store: PostgresStore, columns: dict[str, Any]) -> None:
    with store.unit_of_work() as uow, pytest.raises(ValidationError):
        batch("Goal", "g-1", 1, "draft", columns).append_to(uow)


def test_a_number_is_never_text_nor_text_a_number(store: PostgresStore) -> None:
    commit(store, batch("Goal", "g-1", 1, "draft", {"owner": "1", "number": 1}))
    with store.unit_of_work() as uow:
        assert [h.id for h in uow.events.find("Goal", "number", 1)] == ["g-1"]
        assert uow.events.find("Goal", "number", "1") == []
        assert uow.events.find("Goal", "owner", 1) == []
        assert [h.id for h in uow.events.find("Goal", "owner", "1")] == ["g-1"]


def test_an_id_with_a_nul_is_refused(store: PostgresStore) -> None:
    with store.unit_of_work() as uow, pytest.raises(ValidationError):
        batch("Goal", "g\x00", 1).append_to(uow)


# -- the stable position --------------------------------------------------------------------------


def test_a_scan_never_passes_a_write_in_flight(store: PostgresStore) -> None:
    first = batch("Goal", "a", 2)
    commit(store, first)
    early, late = batch("Goal", "early", 3), batch("Goal", "late", 2)
    with store.unit_of_work() as slow:
        early.append_to(slow)  # takes positions 3 to 5, and does not commit yet
        commit(store, late)  # takes 6 and 7, and commits first
        with store.unit_of_work() as reader:
            stable = reader.events.stable_position()
            scanned = list(reader.events.scan())
        assert stable == 2
        assert_events(scanned, first.events)  # not late's: early may still commit below it
        slow.commit()
    everything = scan_all(store)
    assert [(e.id, e.position) for e in everything] == [
        ("a", 1), ("a", 2), ("early", 3), ("early", 4), ("early", 5), ("late", 6), ("late", 7),
    ]  # fmt: skip
    with store.unit_of_work() as reader:
        assert reader.events.stable_position() == 7


def test_a_rolled_back_write_leaves_a_gap_and_holds_nothing_back(store: PostgresStore) -> None:
    with store.unit_of_work() as uow:
        batch("Goal", "gone", 3).append_to(uow)
        uow.rollback()
    kept = batch("Goal", "kept", 1)
    commit(store, kept)
    assert [(e.id, e.position) for e in scan_all(store)] == [("kept", 4)]
    with store.unit_of_work() as uow:
        assert uow.events.stable_position() == 4


def test_writers_of_another_schema_hold_nothing_back(store: PostgresStore) -> None:
    commit(store, batch("Goal", "a", 2))
    with (
        PostgresStore(DSN, schema=f"{store.schema}_other") as other,
        other.unit_of_work() as elsewhere,
    ):
        batch("Goal", "b", 1).append_to(elsewhere)  # in flight in the other schema
        commit(store, batch("Goal", "c", 1))
        with store.unit_of_work() as reader:
            assert reader.events.stable_position() == 3
            assert [e.id for e in reader.events.scan()] == ["a", "a", "c"]


def test_a_unit_of_work_that_only_reads_holds_no_transaction(store: PostgresStore) -> None:
    commit(store, batch("Goal", "a", 2, "draft", {"owner": "ana"}))
    with store.unit_of_work() as uow:
        uow.events.head("Goal", "a")
        list(uow.events.read("Goal", "a"))
        uow.events.find("Goal", "owner", "ana")
        uow.events.scan()
        uow.outbox.pending()
        conn = uow._conn
        assert conn is not None
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_verification_holds_from_a_checkpoint_while_writers_are_in_flight(
    store: PostgresStore,
) -> None:
    from tests.adapters.test_races import _proposed_goal

    pc = Perfcore(store, cache_size=0)
    for round in range(3):
        _proposed_goal(pc, round)
    pc.seal_audit_log()
    first = pc.verify_audit_log()
    assert first.intact, first
    assert first.checkpoint is not None
    with store.unit_of_work() as writer:
        batch("Goal", "in-flight", 2).append_to(writer)  # below every later position
        _proposed_goal(pc, 3)
        report = pc.verify_audit_log(checkpoint=first.checkpoint)
        assert report.intact, report
        assert report.checkpoint is not None
        assert report.checkpoint.position == first.checkpoint.position  # held back, not past
        writer.rollback()
    pc.seal_audit_log()
    last = pc.verify_audit_log(checkpoint=first.checkpoint)
    assert last.intact, last
    assert last.checkpoint is not None
    assert last.checkpoint.position > first.checkpoint.position


# -- connections killed underneath ----------------------------------------------------------------


def test_a_connection_killed_between_two_appends_leaves_nothing(schema_name: str) -> None:
    with PostgresStore(named_dsn(schema_name), schema=schema_name) as store:
        first, second = batch("Goal", "g-1", 2), batch("Plan", "p-1", 3)
        with store.unit_of_work() as uow:
            first.append_to(uow)
            assert terminate(schema_name) >= 1
            with pytest.raises(StorageError) as raised:
                second.append_to(uow)
        assert isinstance(raised.value, ConnectionLost), raised.value
        assert raised.value.retryable
        assert "nothing of it was kept" in str(raised.value)
        assert head_of(store, "Goal", "g-1") is None
        assert head_of(store, "Plan", "p-1") is None
        assert scan_all(store) == []
        commit(store, first, second)  # the store goes on, on a new connection
        assert [e.id for e in scan_all(store)] == ["g-1"] * 2 + ["p-1"] * 3


def test_a_connection_killed_before_the_commit_keeps_nothing(schema_name: str) -> None:
    with PostgresStore(named_dsn(schema_name), schema=schema_name) as store:
        with store.unit_of_work() as uow:
            batch("Goal", "g-1", 2).append_to(uow)
            terminate(schema_name)
            with pytest.raises(ConnectionLost):
                uow.commit()
        assert head_of(store, "Goal", "g-1") is None


#: Where a command's unit of work loses its connection: after its event is appended (the
#: snapshot, notification and idempotency record still to come), after each of those, or just
#: before ``COMMIT``.
KILL_POINTS = {
    "after the append": (_Events, "append", "after"),
    "after the snapshot": (_Snapshots, "put", "after"),
    "after the notification": (PostgresOutbox, "put", "after"),
    "after the idempotency record": (_Idempotency, "put", "after"),
    "before the commit": (PostgresUnitOfWork, "commit", "before"),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_command_whose_connection_is_killed_mid_way_leaves_nothing_half_written(
    schema_name: str, point: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the services: a plan's attainment, its 100th event, writes the event, a snapshot,
    a notification and an idempotency record in one unit of work. Killed at any point of it,
    every time, the command fails and none of them is kept; killed once, the services run it
    again and it is kept once, whole."""
    cls, method, when = KILL_POINTS[point]
    kills = [0]  # how many more units of work lose their connection at the point
    original = getattr(cls, method)

    def killing(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kills[0] and when == "before":
            kills[0] -= 1
            terminate(schema_name)
        result = original(self, *args, **kwargs)
        if kills[0] and when == "after":
            kills[0] -= 1
            terminate(schema_name)
        return result

    monkeypatch.setattr(cls, method, killing)
    with PostgresStore(named_dsn(schema_name), schema=schema_name) as store:
        pc = Perfcore(store, clock=worker.SlotClock(0, time.time()))
        _plan_one_event_from_attained(pc)
        before = scan_all(store)
        told = pending(store)  # what the commands before it called for

        kills[0] = 1_000  # every attempt
        with pytest.raises(ConnectionLost):
            pc.plans.attain("p-1", by=worker.MANAGER, idempotency_key="attain-p-1")
        kills[0] = 0
        fresh = Perfcore(store, cache_size=0)
        assert fresh.plans.get("p-1", by=READER).version == 99
        assert scan_all(store) == before
        assert pending(store) == told
        with store.unit_of_work() as uow:
            assert uow.idempotency.get(scoped_key(worker.MANAGER.id, "attain-p-1")) is None
            snapshot = uow.snapshots.get("Plan", "p-1")
            assert snapshot is None or snapshot.version < 100
        assert fresh.verify_audit_log().intact

        kills[0] = 1  # the first attempt only: the services run the command again
        attained = pc.plans.attain("p-1", by=worker.MANAGER, idempotency_key="attain-p-1")
        assert kills[0] == 0
        assert attained.version == 100
        again = pc.plans.attain("p-1", by=worker.MANAGER, idempotency_key="attain-p-1")
        assert again == attained
        fresh = Perfcore(store, cache_size=0)
        assert fresh.plans.get("p-1", by=READER) == attained
        after = scan_all(store)
        assert after[: len(before)] == before
        assert [(e.kind, e.id, e.version) for e in after[len(before) :]] == [("Plan", "p-1", 100)]
        assert [(n.kind, n.aggregate_id, n.version) for n in pending(store)[len(told) :]] == [
            ("plan_attained", "p-1", 100)
        ]
        with store.unit_of_work() as uow:
            record = uow.idempotency.get(scoped_key(worker.MANAGER.id, "attain-p-1"))
            assert record is not None
            assert record.version == 100
            snapshot = uow.snapshots.get("Plan", "p-1")
            assert snapshot is not None
            assert snapshot.version == 100
        assert fresh.verify_audit_log().intact


def _plan_one_event_from_attained(pc: Perfcore) -> None:
    """Goal g-1 achieved; plan p-1 on it, active, at version 99: its attainment is its 100th
    event, which the services snapshot."""
    owner, manager = worker.OWNER, worker.MANAGER
    pc.goals.create(
        by=owner, id="g-1", owner_id=owner.id, manager_id=manager.id, title="Resolve more tickets",
        metric="tickets a week", baseline=0, target=10, start=worker.START, due=worker.DUE,
    )  # fmt: skip
    pc.goals.propose("g-1", by=owner)
    pc.goals.approve("g-1", by=manager)
    pc.goals.check_in("g-1", by=owner, on=worker.START, value=10)
    pc.goals.achieve("g-1", by=manager)
    plan = pc.plans.create(
        by=manager, id="p-1", kind="development", subject_id=owner.id, author_id=manager.id,
        approver=Approver.person(worker.APPROVER.id),
        objectives=[Objective(goal_id="g-1", success="ten tickets a week")],
        support=[Support(kind="mentoring", description="an hour a week")],
        review_schedule="FREQ=WEEKLY;INTERVAL=4", start=worker.START, end=worker.DUE,
    )  # fmt: skip
    while plan.version < 96:
        support = [Support(kind="mentoring", description=f"take {plan.version}")]
        plan = pc.plans.edit("p-1", by=manager, support=support)
    pc.plans.submit("p-1", by=manager)
    pc.plans.approve("p-1", by=worker.APPROVER)
    assert pc.plans.acknowledge("p-1", by=owner).version == 99


def test_idle_connections_killed_are_replaced_unseen(schema_name: str) -> None:
    one = batch("Goal", "g-1", 2)
    with PostgresStore(named_dsn(schema_name), schema=schema_name, pool_size=2) as store:
        commit(store, one)
        assert terminate(schema_name) >= 1
        assert_events(read(store, "Goal", "g-1"), one.events)  # a read, run again
        terminate(schema_name)
        commit(store, one.then(1))  # BEGIN, sent again on a new connection
        assert len(read(store, "Goal", "g-1")) == 3


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "phase", "kind", "retryable"),
    [
        (psycopg.errors.DeadlockDetected("deadlock detected"), "work", TransactionConflict, True),
        (psycopg.errors.SerializationFailure("could not serialize"), "work", TransactionConflict,
         True),
        (psycopg.errors.LockNotAvailable("lock timeout"), "work", DatabaseBusy, True),
        (psycopg.errors.QueryCanceled("statement timeout"), "work", DatabaseBusy, True),
        (psycopg.errors.AdminShutdown("terminating connection"), "work", ConnectionLost, True),
        (psycopg.errors.AdminShutdown("terminating connection"), "commit", CommitOutcomeUnknown,
         False),
        (psycopg.OperationalError("server closed the connection"), "work", ConnectionLost, True),
        (psycopg.OperationalError("connection refused"), "connect", DatabaseUnavailable, True),
        (psycopg.errors.TooManyConnections("too many"), "connect", DatabaseUnavailable, True),
        (psycopg.errors.CannotConnectNow("starting up"), "connect", DatabaseUnavailable, True),
        (psycopg.errors.DiskFull("no space"), "work", DatabaseFull, False),
        (psycopg.errors.ReadOnlySqlTransaction("read-only"), "work", DatabaseReadOnly, False),
        (psycopg.errors.InvalidPassword("password"), "connect", AccessDenied, False),
        (psycopg.errors.InsufficientPrivilege("denied"), "work", AccessDenied, False),
        (psycopg.errors.InvalidSchemaName("no schema"), "work", SchemaMissing, False),
        (psycopg.errors.UndefinedTable("no table"), "work", SchemaMissing, False),
        (psycopg.errors.RaiseException("perfcore: refused"), "work", ChangeRefused, False),
        (psycopg.errors.UniqueViolation("duplicate"), "work", ChangeRefused, False),
        (psycopg.errors.DivisionByZero("odd"), "work", PostgresStoreError, False),
    ],
)  # fmt: skip
def test_driver_errors_become_perfcore_errors_with_advice(
    error: psycopg.Error, phase: str, kind: type[PostgresStoreError], retryable: bool
) -> None:
    translated = translate(error, schema="hr", phase=phase)
    assert type(translated) is kind
    assert translated.retryable is retryable
    assert isinstance(translated, StorageError)
    assert "'hr'" in str(translated)
    again = pickle.loads(pickle.dumps(translated))
    assert (type(again), str(again), again.retryable, again.sqlstate) == (
        kind, str(translated), retryable, translated.sqlstate,
    )  # fmt: skip


def test_rows_changed_behind_perfcores_back_are_refused(
    store: PostgresStore, schema_name: str
) -> None:
    commit(store, batch("Goal", "g-1", 3))
    with store.unit_of_work() as uow:
        uow.seals.add(seal(1, 3))
        uow.outbox.put(worker.notification(1))
        uow.commit()
    tampering = [
        "DELETE FROM {schema}.events WHERE version = 2",
        "TRUNCATE {schema}.events CASCADE",
        "UPDATE {schema}.events SET header = 'x'::bytea WHERE version = 1",
        "UPDATE {schema}.events SET body = '\\x00'::bytea || sha256('other') WHERE version = 1",
        "UPDATE {schema}.events SET position = position + 100 WHERE version = 1",
        "UPDATE {schema}.streams SET version = 2",
        "DELETE FROM {schema}.streams",
        "DELETE FROM {schema}.seals",
        "UPDATE {schema}.seals SET upto = 7",
        "INSERT INTO {schema}.seals VALUES (3, 1, 1, ''::bytea, ''::bytea, ''::bytea, now())",
        "DELETE FROM {schema}.outbox",
        "UPDATE {schema}.outbox SET notification = '{{}}'::jsonb",
    ]
    for statement in tampering:
        with pytest.raises(psycopg.Error, match=r"perfcore: |DEFAULT"):
            raw(schema_name, statement)
    # The one change allowed: a body replaced by its erased form, once.
    raw(schema_name, "UPDATE {schema}.events SET body = '\\x00'::bytea || sha256(body)"
        " WHERE version = 1")  # fmt: skip
    with pytest.raises(psycopg.Error, match="perfcore: "):
        raw(schema_name, "UPDATE {schema}.events SET body = '\\x00'::bytea || sha256(body)"
            " WHERE version = 1")  # fmt: skip
    assert [e.erased for e in read(store, "Goal", "g-1")] == [True, False, False]


def test_a_deadlock_between_two_appenders_is_a_concurrency_error(store: PostgresStore) -> None:
    a, b = batch("Goal", "a", 1), batch("Goal", "b", 1)
    commit(store, a, b)
    both = threading.Barrier(2, timeout=_WAIT)
    outcomes: dict[int, str] = {}

    def write(number: int) -> None:
        first, second = (a, b) if number == 0 else (b, a)
        try:
            with store.unit_of_work() as uow:
                first.then(1, tag=f"w{number}").append_to(uow)
                both.wait()  # each holds its first stream, and reaches for the other's
                second.then(1, tag=f"w{number}").append_to(uow)
                uow.commit()
            outcomes[number] = "won"
        except PerfcoreError as error:
            outcomes[number] = type(error).__name__

    threads = [in_thread(functools.partial(write, n)) for n in (0, 1)]
    for thread in threads:
        thread.join(_WAIT)
    assert sorted(outcomes.values()) == ["ConcurrencyError", "won"], outcomes
    assert [e.version for e in read(store, "Goal", "a")] == [1, 2]
    assert [e.version for e in read(store, "Goal", "b")] == [1, 2]


def test_an_expectation_never_waits_for_a_writer(store: PostgresStore) -> None:
    a = batch("Goal", "a", 2)
    commit(store, a)
    with store.unit_of_work() as writer:
        a.then(1).append_to(writer)  # holds a's row until it ends

        def expect_and_commit() -> str:
            with store.unit_of_work() as reader:
                reader.events.expect("Goal", "a", 2)
                batch("Goal", "other", 1).append_to(reader)
                try:
                    reader.commit()
                except ConcurrencyError:
                    return "conflict"
            return "committed"

        started = time.monotonic()
        result = finish_within(expect_and_commit, _WAIT, "a commit expecting a stream")
        assert result == "conflict"
        assert time.monotonic() - started < 5
        writer.commit()
    assert head_of(store, "Goal", "other") is None


def test_an_absent_stream_expected_stays_absent_until_the_commit(store: PostgresStore) -> None:
    with store.unit_of_work() as reader:
        reader.events.expect("Goal", "new", 0)
        batch("Goal", "other", 1).append_to(reader)
        reader.commit()  # takes its shared lock on 'new', checks, commits
    with store.unit_of_work() as creator:
        batch("Goal", "new", 1).append_to(creator)  # holds the lock on the name 'new'

        def expect_absent() -> str:
            with store.unit_of_work() as reader:
                reader.events.expect("Goal", "new", 0)
                batch("Goal", "third", 1).append_to(reader)
                try:
                    reader.commit()
                except ConcurrencyError:
                    return "conflict"
            return "committed"

        assert TestPostgres().meanwhile(expect_absent, "a commit expecting absence") == ("conflict")
        creator.commit()


# -- the outbox with several consumers ------------------------------------------------------------


def put_notifications(store: PostgresStore, count: int) -> list[Notification]:
    made = [worker.notification(n) for n in range(count)]
    with store.unit_of_work() as uow:
        for one in made:
            uow.outbox.put(one)
        uow.commit()
    return made


def test_consumers_skip_each_others_claims(store: PostgresStore) -> None:
    put_notifications(store, 6)
    with store.unit_of_work() as first:
        assert [n.id for n in first.outbox.claim(2)] == ["n-0000", "n-0001"]
        with store.unit_of_work() as second:
            assert [n.id for n in second.outbox.claim(2)] == ["n-0002", "n-0003"]
            second.outbox.mark_delivered("n-0002", EPOCH)
            second.commit()
        first.rollback()  # handed over nothing: offered again
    with store.unit_of_work() as third:
        assert [n.id for n in third.outbox.claim(10)] == [
            "n-0000", "n-0001", "n-0003", "n-0004", "n-0005",
        ]  # fmt: skip
    with store.unit_of_work() as fourth:
        assert [n.id for n in fourth.outbox.claim(2, skip=["n-0000", "n-0003"])] == [
            "n-0001", "n-0004",
        ]  # fmt: skip
    assert [n.id for n in pending(store)] == ["n-0000", "n-0001", "n-0003", "n-0004", "n-0005"]


class Recorder:
    """A notifier that keeps every notification it is handed (from any thread)."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.lock = threading.Lock()
        self.got: list[str] = []
        self.refuse = refuse

    def notify(self, notification: Notification) -> None:
        if notification.id in self.refuse:
            raise RuntimeError("the mail server said no")
        with self.lock:
            self.got.append(notification.id)


def test_a_refused_notification_stays_pending(store: PostgresStore) -> None:
    put_notifications(store, 3)
    notifier = Recorder(refuse=frozenset({"n-0001"}))
    delivery = store.deliver_notifications(notifier)
    assert delivery.delivered == ("n-0000", "n-0002")
    assert set(delivery.failed) == {"n-0001"}
    assert [n.id for n in pending(store)] == ["n-0001"]


def test_several_consumers_lose_nothing_when_one_dies(store: PostgresStore) -> None:
    made = put_notifications(store, 120)
    context = multiprocessing.get_context("spawn")
    claimed, go = context.Queue(), context.Event()
    dying = context.Process(
        target=worker.dying_consumer, args=(DSN, store.schema, 10, claimed, go), daemon=True
    )
    dying.start()
    try:
        taken = set(claimed.get(timeout=_WAIT))  # the dying consumer holds these
        assert len(taken) == 10
        notifier = Recorder()
        stop = threading.Event()

        def consume() -> None:
            while not stop.is_set():
                if not store.deliver_notifications(notifier, limit=7).delivered:
                    time.sleep(0.02)

        consumers = [in_thread(consume) for _ in range(3)]
        deadline = time.monotonic() + _WAIT
        while len(set(notifier.got)) < 110 and time.monotonic() < deadline:
            time.sleep(0.02)
        # While the dying consumer held its claim, the others delivered everything else.
        assert set(notifier.got) == {n.id for n in made} - taken
        go.set()  # it dies; its claim ends with its connection
        dying.join(_WAIT)
        while pending(store) and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()
        for thread in consumers:
            thread.join(_WAIT)
    finally:
        go.set()
        dying.join(_WAIT)
        if dying.is_alive():
            dying.kill()
    assert pending(store) == []
    assert set(notifier.got) == {n.id for n in made}, "a notification was lost"
    # Only what the dead consumer had handed over went out twice.
    assert len(notifier.got) == len(made), "two live consumers handed one notification over"


# -- races between servers, through the services --------------------------------------------------

LINEAGE_ROUNDS = 15
KEY_ROUNDS = 10


def _workers(target: Callable[..., None], arguments: list[tuple[Any, ...]]) -> list[Any]:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=target, args=args, daemon=True) for args in arguments]
    for process in processes:
        process.start()
    return processes


def _collect(results: Any, count: int) -> list[Any]:
    found = []
    for _ in range(count):
        try:
            found.append(results.get(timeout=_WAIT))
        except queue.Empty:
            pytest.fail(f"a worker fell silent after {len(found)} of {count} results")
    return found


def _end(processes: list[Any], barrier: Any) -> None:
    barrier.abort()
    for process in processes:
        process.join(10)
        if process.is_alive():
            process.kill()


def test_two_numbers_of_one_lineage_are_never_both_published(store: PostgresStore) -> None:
    from tests.adapters.test_races import _lineage

    pc = Perfcore(store)
    for round in range(LINEAGE_ROUNDS):
        _lineage(pc, round)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(3), context.Queue()
    arguments = [(DSN, store.schema, number, LINEAGE_ROUNDS, barrier, results) for number in (1, 2)]
    processes = _workers(worker.publisher, arguments)
    try:
        outcomes: dict[int, dict[int, str]] = {}
        for _round in range(LINEAGE_ROUNDS):
            barrier.wait(_WAIT)
            for round, number, outcome in _collect(results, 2):
                outcomes.setdefault(round, {})[number] = outcome
    finally:
        _end(processes, barrier)
    pc = Perfcore(store, cache_size=0)
    for round in range(LINEAGE_ROUNDS):
        states = [str(pc.job_descriptions.get(f"L{round}-{n}", by=READER).state) for n in (1, 2)]
        assert states.count("published") == 1, (round, states, outcomes[round])
        assert set(outcomes[round].values()) <= {"published", "GuardFailed"}, outcomes[round]
    assert pc.verify_audit_log().intact


def test_one_request_sent_four_times_at_once_gets_the_first_result(store: PostgresStore) -> None:
    from tests.adapters.test_races import _proposed_goal

    pc = Perfcore(store)
    for round in range(KEY_ROUNDS):
        _proposed_goal(pc, round)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(5), context.Queue()
    arguments = [(DSN, store.schema, KEY_ROUNDS, barrier, results) for _worker in range(4)]
    processes = _workers(worker.approver, arguments)
    try:
        answers: dict[int, list[tuple[int, str]]] = {}
        for _round in range(KEY_ROUNDS):
            barrier.wait(_WAIT)
            for round, version, state in _collect(results, 4):
                answers.setdefault(round, []).append((version, state))
    finally:
        _end(processes, barrier)
    for round, got in answers.items():
        assert got == [(3, "active")] * 4, (round, got)
    pc = Perfcore(store, cache_size=0)
    for round in range(KEY_ROUNDS):
        assert pc.goals.get(f"g{round}", by=READER).version == 3
    assert pc.verify_audit_log().intact
