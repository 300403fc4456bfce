"""The SQLite store: round trips, queries, units of work, the schema, bad input, errors, goldens.

The behaviour contract both stores share runs against it in :class:`TestSQLite`; the tests here
are what only SQLite has: a file that outlives the store, SQL, triggers and SQLite's own errors.
The multi-process and crash tests are in ``test_sqlite_durability.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import itertools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfcore import (
    Actor,
    ConcurrencyError,
    Goal,
    NotFound,
    PerfcoreError,
    StorageError,
    ValidationError,
)
from perfcore._aggregate import Aggregate
from perfcore.adapters import _sqlite_schema as schema
from perfcore.adapters import sqlite as sqlite_adapter
from perfcore.adapters.sqlite import (
    DatabaseBusy,
    DatabaseCorrupt,
    DatabaseFull,
    DatabaseReadOnly,
    DatabaseUnavailable,
    SQLiteStore,
    SQLiteStoreError,
    UnreadableRecord,
    translate,
)
from perfcore.audit import AuditAnchor, AuditProblem, chain, verify_audit_log
from perfcore.job_description import JobDescription
from perfcore.ports import (
    AUDIT_LOG,
    IDEMPOTENCY_KEY,
    AuditEntry,
    IdempotencyRecord,
    Notification,
    Store,
    UnitOfWork,
)
from perfcore.serialization import SCHEMA_VERSIONS, UnsupportedSchema, loads
from perfcore.testing.conformance import StoreContract
from perfcore.testing.drivers import EPOCH, drivers, path_to

GOLDEN = Path(__file__).with_name("golden")
#: Numbers the workflow comparison's database files, one per example.
WORKFLOW_FILES = itertools.count()

#: The unit-of-work attribute holding each aggregate type.
REPOSITORIES = {
    "JobDescription": "job_descriptions",
    "Goal": "goals",
    "Plan": "plans",
    "Evaluation": "evaluations",
    "ReviewCycle": "cycles",
}

#: Each type's queries beyond by_state: (method, the attribute it selects on).
QUERIES = {
    "JobDescription": (("by_lineage", "lineage_id"), ("by_employee", "employee_id")),
    "Goal": (("by_owner", "owner_id"), ("by_manager", "manager_id")),
    "Plan": (("by_subject", "subject_id"), ("by_cycle", "cycle_id")),
    "Evaluation": (("by_subject", "subject_id"), ("by_cycle", "cycle_id")),
    "ReviewCycle": (),
}


def reachable() -> list[tuple[str, str]]:
    """Every (type, state) a driver reaches, in a stable order."""
    found = []
    for type_name, driver in sorted(drivers().items()):
        for state in driver.lifecycle.states:
            with contextlib.suppress(ValueError):
                path_to(driver.lifecycle, state)
                found.append((type_name, state))
    return found


EVERY_STATE = reachable()


def repository(uow: UnitOfWork, type_name: str) -> Any:
    """The repository of ``type_name`` in ``uow``."""
    return getattr(uow, REPOSITORIES[type_name])


def put(store: SQLiteStore, *objects: Aggregate) -> None:
    """Add objects, with their audit entries, in one committed unit of work."""
    with store.unit_of_work() as uow:
        for obj in objects:
            repository(uow, type(obj).__name__).add(obj)
            uow.audit.append(chain(obj.history, uow.audit.last()))
        uow.commit()


def save(store: SQLiteStore, obj: Aggregate, *, loaded: Aggregate) -> None:
    """Save ``obj``, a later version of ``loaded``, with its new audit entries."""
    with store.unit_of_work() as uow:
        repository(uow, type(obj).__name__).save(obj, expected_version=loaded.version)
        uow.audit.append(chain(obj.history[loaded.version :], uow.audit.last()))
        uow.commit()


def active_goal(id: str = "g-1") -> Goal:
    """ana's goal, approved by ben."""
    goal: Goal = drivers()["Goal"].reach("active", id=id)
    return goal


def goal_of(id: str, owner: str, manager: str) -> Goal:
    """A draft goal of ``owner``, overseen by ``manager``."""
    return Goal.create(
        id=id,
        by=Actor(id=owner),
        at=EPOCH,
        owner_id=owner,
        manager_id=manager,
        title="Resolve more tickets",
        baseline=0,
        target=10,
        start=EPOCH.date(),
        due=EPOCH.date() + dt.timedelta(days=90),
    )


def job_description(id: str, lineage: str, number: int, employee: str) -> JobDescription:
    """A draft job description for ``employee``, number ``number`` of ``lineage``."""
    return JobDescription.create(
        id=id,
        by=Actor(id="mia", roles={"manager"}),
        at=EPOCH,
        title="Support engineer",
        department="Support",
        employee_id=employee,
        lineage_id=lineage,
        number=number,
    )


@contextlib.contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection, to do what perfcore never does."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def digest(path: Path) -> str:
    """The file's bytes, hashed: to show that nothing was changed."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def connection_of(uow: UnitOfWork) -> sqlite3.Connection:
    """The unit of work's own connection (for settings only a connection has)."""
    conn: sqlite3.Connection = cast(Any, uow)._connection()
    return conn


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where a test's database file goes."""
    return tmp_path / "perfcore.sqlite3"


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, path: Path) -> Iterator[SQLiteStore]:
    """A new store on a file, and on ``:memory:``."""
    opened = SQLiteStore(path) if request.param == "file" else SQLiteStore()
    yield opened
    opened.close()


@pytest.fixture
def file_store(path: Path) -> Iterator[SQLiteStore]:
    """A new store on a file the test can also open itself."""
    opened = SQLiteStore(path)
    yield opened
    opened.close()


# -- the behaviour contract -----------------------------------------------------------------------


class TestSQLite(StoreContract):
    """:class:`SQLiteStore` against the whole contract, on a file and on ``:memory:``."""

    supports_threads = True
    supports_processes = True
    supports_tampering = True
    supports_new_stores = True

    @pytest.fixture(params=["file", "memory"])
    def store(self, request: pytest.FixtureRequest, path: Path) -> Iterator[SQLiteStore]:
        opened = SQLiteStore(path) if request.param == "file" else SQLiteStore()
        yield opened
        opened.close()

    def new_store(self, store: Store) -> Store:
        # A file next to the test's own (pytest removes the directory), or another :memory:.
        assert isinstance(store, SQLiteStore)
        if store.path == ":memory:":
            return SQLiteStore()
        return SQLiteStore(Path(store.path).with_name(f"workflow-{next(WORKFLOW_FILES)}.sqlite3"))

    def process_store_factory(self, store: Store) -> Callable[[], Store]:
        assert isinstance(store, SQLiteStore)
        if store.path == ":memory:":
            pytest.skip("a :memory: store lives in one process")
        return functools.partial(SQLiteStore, store.path)

    def rewrite_audit_log(self, store: Store, entries: Sequence[AuditEntry]) -> None:
        # As someone with write access to the file would: drop the triggers, rewrite, restore.
        assert isinstance(store, SQLiteStore)
        with raw(cast(Any, store)._file) as conn:
            triggers = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                " AND tbl_name = 'audit_log'"
            ).fetchall()
            conn.execute("BEGIN IMMEDIATE")
            for name, _sql in triggers:
                conn.execute(f"DROP TRIGGER {name}")
            conn.execute("DELETE FROM audit_log")
            rows = [sqlite_adapter._audit_row(entry) for entry in entries]
            conn.executemany(schema.AUDIT_INSERT, rows)
            for _name, sql in triggers:
                conn.execute(sql)
            conn.execute("COMMIT")


# -- round trips and queries ----------------------------------------------------------------------


@pytest.mark.parametrize(("type_name", "state"), EVERY_STATE)
def test_every_aggregate_in_every_state_round_trips(
    store: SQLiteStore, type_name: str, state: str
) -> None:
    obj = drivers()[type_name].reach(state, id="obj-1")
    put(store, obj)
    with store.unit_of_work() as uow:
        repo = repository(uow, type_name)
        assert repo.get("obj-1") == obj
        assert repo.find("obj-1") == obj
        assert repo.by_state(state) == [obj]
        for query, attribute in QUERIES[type_name]:
            value = getattr(obj, attribute)
            if value is not None:
                assert getattr(repo, query)(value) == [obj]


@pytest.mark.parametrize("type_name", sorted(drivers()))
@given(data=st.data())
def test_any_walk_through_a_lifecycle_is_saved_and_loaded_exactly(
    type_name: str, data: st.DataObject
) -> None:
    driver = drivers()[type_name]
    table = set(driver.lifecycle.transitions)
    obj = driver.create("walk-1")
    with SQLiteStore() as store:
        put(store, obj)
        for trigger in data.draw(st.lists(st.sampled_from(driver.lifecycle.triggers), max_size=8)):
            dests = sorted({d for t, s, d in table if (t, s) == (trigger, str(obj.state))})
            if not dests:
                continue
            try:
                after = driver.fire(obj, trigger, data.draw(st.sampled_from(dests)))
            except PerfcoreError:
                continue
            save(store, after, loaded=obj)
            obj = after
            with store.unit_of_work() as uow:
                assert repository(uow, type_name).get(obj.id) == obj
        with store.unit_of_work() as uow:
            assert verify_audit_log(uow.audit.read(), expected=AuditAnchor.of([obj]))


def test_stored_objects_outlive_the_store(path: Path) -> None:
    objects = [drivers()[kind].reach(state, id=f"{kind}-{state}") for kind, state in EVERY_STATE]
    with SQLiteStore(path) as store:
        put(store, *objects)
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        for obj in objects:
            assert repository(uow, type(obj).__name__).get(obj.id) == obj
        assert len(list(uow.audit.read())) == sum(obj.version for obj in objects)


def test_queries_select_on_their_column_and_order_by_id(store: SQLiteStore) -> None:
    put(
        store,
        goal_of("g-3", "ana", "ben"),
        goal_of("g-1", "ana", "cleo"),
        goal_of("g-2", "cy", "ben"),
    )
    with store.unit_of_work() as uow:
        assert [goal.id for goal in uow.goals.by_owner("ana")] == ["g-1", "g-3"]
        assert [goal.id for goal in uow.goals.by_manager("ben")] == ["g-2", "g-3"]
        assert [goal.id for goal in uow.goals.by_state("draft")] == ["g-1", "g-2", "g-3"]
        assert uow.goals.by_owner("nobody") == []
        assert uow.plans.by_state("draft") == []


def test_job_descriptions_come_by_lineage_then_number(store: SQLiteStore) -> None:
    put(
        store,
        job_description("b-2", "lineage-b", 2, "ana"),
        job_description("a-1", "lineage-a", 1, "ana"),
        job_description("b-1", "lineage-b", 1, "ana"),
        job_description("c-1", "lineage-c", 1, "cy"),
    )
    with store.unit_of_work() as uow:
        lineage = uow.job_descriptions.by_lineage("lineage-b")
        assert [(jd.id, jd.number) for jd in lineage] == [("b-1", 1), ("b-2", 2)]
        employee = uow.job_descriptions.by_employee("ana")
        assert [jd.id for jd in employee] == ["a-1", "b-1", "b-2"]


def test_every_query_is_served_by_an_index(file_store: SQLiteStore) -> None:
    with file_store.unit_of_work() as uow:
        conn = connection_of(uow)
        for column, sql in schema.SELECT_AGGREGATES_BY.items():
            plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("T", 1)))
            assert f"INDEX aggregates_by_{column}" in plan, plan
            assert "TEMP B-TREE" not in plan, plan  # no sort after the index
        pending = " ".join(
            row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {schema.OUTBOX_PENDING}", (5,))
        )
        assert "outbox_pending" in pending


def test_a_repository_refuses_another_type(store: SQLiteStore) -> None:
    with store.unit_of_work() as uow, pytest.raises(ValidationError, match="stores Plan"):
        uow.plans.add(active_goal())


# -- optimistic concurrency -----------------------------------------------------------------------


def test_adding_a_stored_id_is_a_concurrency_error(store: SQLiteStore) -> None:
    put(store, active_goal())
    with store.unit_of_work() as uow:
        with pytest.raises(ConcurrencyError) as caught:
            uow.goals.add(goal_of("g-1", "cy", "ben"))
        assert (caught.value.aggregate_type, caught.value.actual_version) == ("Goal", 3)
        # The refused insert leaves the unit of work usable.
        uow.goals.add(goal_of("g-2", "cy", "ben"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.goals.get("g-1") == active_goal()
        assert uow.goals.get("g-2").owner_id == "cy"


def test_a_stale_save_raises_and_writes_nothing(store: SQLiteStore) -> None:
    goal = active_goal()
    put(store, goal)
    driver = drivers()["Goal"]
    first, second = driver.fire(goal, "check_in"), driver.fire(goal, "cancel")
    with store.unit_of_work() as uow:
        uow.goals.save(first, expected_version=goal.version)
        uow.commit()
    with store.unit_of_work() as uow:
        with pytest.raises(ConcurrencyError) as caught:
            uow.goals.save(second, expected_version=goal.version)
        assert (caught.value.expected_version, caught.value.actual_version) == (3, 4)
    with store.unit_of_work() as uow:
        assert uow.goals.get(goal.id) == first


def test_a_save_must_move_the_version_on(store: SQLiteStore) -> None:
    goal = active_goal()
    put(store, goal)
    with store.unit_of_work() as uow, pytest.raises(ConcurrencyError):
        uow.goals.save(goal, expected_version=goal.version)


def test_saving_what_is_not_stored_is_not_found(store: SQLiteStore) -> None:
    with store.unit_of_work() as uow, pytest.raises(NotFound, match="no Goal with id 'g-1'"):
        uow.goals.save(active_goal(), expected_version=2)


def test_getting_what_is_not_stored_is_not_found(store: SQLiteStore) -> None:
    with store.unit_of_work() as uow:
        assert uow.goals.find("g-1") is None
        with pytest.raises(NotFound):
            uow.goals.get("g-1")


@pytest.mark.parametrize(("type_name", "source"), [("Plan", "submitted"), ("Goal", "proposed")])
def test_two_threads_approving_one_object_one_wins(
    store: SQLiteStore, type_name: str, source: str
) -> None:
    driver = drivers()[type_name]
    put(store, driver.reach(source, id="x-1"))
    both_loaded = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def approve() -> None:
        with store.unit_of_work() as uow:
            repo = repository(uow, type_name)
            loaded = repo.get("x-1")
            both_loaded.wait()
            approved = driver.fire(loaded, "approve")
            try:
                repo.save(approved, expected_version=loaded.version)
                uow.audit.append(chain(approved.history[loaded.version :], uow.audit.last()))
                uow.commit()
            except ConcurrencyError:
                outcomes.append("conflict")
                return
            outcomes.append("won")

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "won"]
    with store.unit_of_work() as uow:
        stored = repository(uow, type_name).get("x-1")
        logged = [entry.event.trigger for entry in uow.audit.read()]
    assert [event.trigger for event in stored.history].count("approve") == 1
    assert logged.count("approve") == 1
    assert str(stored.state) == {"Plan": "approved", "Goal": "active"}[type_name]


# -- units of work --------------------------------------------------------------------------------


def test_nothing_is_visible_before_commit(store: SQLiteStore) -> None:
    with store.unit_of_work() as writer:
        writer.goals.add(active_goal())
        assert writer.goals.get("g-1") == active_goal()  # its own write
        with store.unit_of_work() as reader:
            assert reader.goals.find("g-1") is None
        writer.commit()
    with store.unit_of_work() as reader:
        assert reader.goals.find("g-1") == active_goal()


def add_then_fail(store: SQLiteStore, goal: Goal) -> None:
    """Add a goal and its audit entries, then fail before the commit."""
    with store.unit_of_work() as uow:
        uow.goals.add(goal)
        uow.audit.append(chain(goal.history, uow.audit.last()))
        raise RuntimeError("the command failed half way")


def test_leaving_without_commit_or_with_an_error_keeps_nothing(store: SQLiteStore) -> None:
    with store.unit_of_work() as uow:
        uow.goals.add(active_goal("g-1"))
    with pytest.raises(RuntimeError, match="half way"):
        add_then_fail(store, active_goal("g-2"))
    with store.unit_of_work() as uow:
        assert uow.goals.by_state("active") == []
        assert uow.audit.last() is None


def test_rollback_discards_and_the_unit_of_work_goes_on(store: SQLiteStore) -> None:
    with store.unit_of_work() as uow:
        uow.goals.add(active_goal("g-1"))
        uow.rollback()
        uow.goals.add(active_goal("g-2"))
        uow.commit()
        uow.goals.add(active_goal("g-3"))  # after the commit: a new transaction, rolled back
    with store.unit_of_work() as uow:
        assert [goal.id for goal in uow.goals.by_state("active")] == ["g-2"]


def test_an_ended_unit_of_work_refuses_to_work(store: SQLiteStore) -> None:
    with store.unit_of_work() as uow:
        pass
    with pytest.raises(StorageError, match="open a new one"):
        uow.goals.find("g-1")


def test_a_closed_store_refuses_to_work(path: Path) -> None:
    store = SQLiteStore(path)
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StorageError, match="closed"):
        store.unit_of_work()


def test_memory_stores_are_private_and_leave_nothing_behind() -> None:
    with SQLiteStore() as first, SQLiteStore() as second:
        put(first, active_goal())
        with second.unit_of_work() as uow:
            assert uow.goals.find("g-1") is None
        directory = cast(Any, first)._file.parent
        assert directory.exists()
    assert not directory.exists()
    assert repr(first) == "SQLiteStore(':memory:')"


def test_connections_are_set_up_as_asked(path: Path) -> None:
    with SQLiteStore(path, synchronous="normal") as store, store.unit_of_work() as uow:
        conn = connection_of(uow)
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        assert connection_of(uow).execute("PRAGMA synchronous").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"synchronous": "SOMETIMES"}, "synchronous"),
        ({"busy_timeout_ms": -1}, "busy_timeout_ms"),
        ({"busy_timeout_ms": 1.5}, "busy_timeout_ms"),
        ({"read_only": True}, "read_only"),
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SQLiteStore(**arguments)
    assert caught.value.field == field


# -- the audit log, the outbox, idempotency keys --------------------------------------------------


def test_the_audit_log_reads_in_order_after_a_sequence(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_adapter, "_AUDIT_PAGE", 2)  # several pages
    goals = [active_goal(f"g-{number}") for number in range(3)]
    put(store, *goals)
    with store.unit_of_work() as uow:
        entries = list(uow.audit.read())
        assert [entry.sequence for entry in entries] == list(range(1, 10))
        assert [entry.sequence for entry in uow.audit.read(after=7)] == [8, 9]
        assert uow.audit.last() == entries[-1]
    assert entries == chain([event for goal in goals for event in goal.history], None)


def test_audit_entries_must_follow_the_last_one(store: SQLiteStore) -> None:
    goal = active_goal()
    put(store, goal)
    stale = chain(goal.history, None)  # chained as if the log were empty
    with store.unit_of_work() as uow:
        with pytest.raises(ConcurrencyError) as caught:
            uow.audit.append(stale)
        assert caught.value.aggregate_type == AUDIT_LOG
        assert caught.value.actual_version == 3


@pytest.mark.parametrize(
    "tampering",
    [
        "UPDATE audit_log SET hash = 'forged' WHERE sequence = 2",
        "DELETE FROM audit_log WHERE sequence = 2",
        "INSERT OR REPLACE INTO audit_log SELECT sequence, event, '', hash, scheme"
        " FROM audit_log WHERE sequence = 1",
        "INSERT INTO audit_log SELECT 9, event, previous_hash, hash, scheme"
        " FROM audit_log WHERE sequence = 1",
    ],
)
def test_the_database_refuses_to_rewrite_the_audit_log(
    file_store: SQLiteStore, path: Path, tampering: str
) -> None:
    put(file_store, active_goal())
    with raw(path) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute(tampering)
    with file_store.unit_of_work() as uow:
        assert verify_audit_log(uow.audit.read(), expected=AuditAnchor.of([active_goal()]))


#: Swaps entries 2 and 3 (by way of 1002 and 1003: the primary key is unique at every step).
_SWAP = (
    "UPDATE audit_log SET sequence = sequence + 1000 WHERE sequence IN (2, 3)",
    "UPDATE audit_log SET sequence = 1005 - sequence WHERE sequence > 1000",
)


@pytest.mark.parametrize(
    ("tampering", "problem", "index"),
    [
        (
            ("UPDATE audit_log SET event = replace(event, 'ana', 'eve') WHERE sequence = 2",),
            "edited",
            1,
        ),
        (("DELETE FROM audit_log WHERE sequence = 2",), "deleted", 1),
        (_SWAP, "reordered", 1),
        (("DELETE FROM audit_log WHERE sequence > 4",), "truncated", 4),
    ],
    ids=["edited", "deleted", "reordered", "truncated"],
)
def test_tampering_that_bypasses_the_triggers_is_reported_at_its_index(
    file_store: SQLiteStore, path: Path, tampering: tuple[str, ...], problem: str, index: int
) -> None:
    goals = [active_goal("g-1"), active_goal("g-2")]
    put(file_store, *goals)
    with raw(path) as conn:
        for trigger in ("insert", "update", "delete"):
            conn.execute(f"DROP TRIGGER audit_log_append_only_{trigger}")
        for statement in tampering:
            conn.execute(statement)
    with file_store.unit_of_work() as uow:
        report = verify_audit_log(uow.audit.read(), expected=AuditAnchor.of(goals))
    assert (report.problem, report.index) == (AuditProblem(problem), index)


def notification(id: str = "n-1") -> Notification:
    """A notification about goal g-1."""
    return Notification(
        id=id,
        kind="goal_approved",
        recipients=("ana",),
        aggregate_type="Goal",
        aggregate_id="g-1",
        version=3,
        at=EPOCH,
        data={"title": "Resolve more tickets", "progress": "0.4"},
    )


def test_the_outbox_hands_over_each_notification_once(store: SQLiteStore) -> None:
    with store.unit_of_work() as uow:
        for number in (2, 1, 3):
            uow.outbox.put(notification(f"n-{number}"))
        uow.commit()
    with store.unit_of_work() as uow:
        pending = uow.outbox.pending()
        assert [item.id for item in pending] == ["n-2", "n-1", "n-3"]  # oldest first
        assert pending[0] == notification("n-2")
        assert [item.id for item in uow.outbox.pending(limit=1)] == ["n-2"]
        assert uow.outbox.pending(limit=-1) == []
        uow.outbox.mark_delivered("n-2", EPOCH)
        uow.outbox.mark_delivered("n-2", EPOCH)  # a second deliverer changes nothing
        with pytest.raises(NotFound):
            uow.outbox.mark_delivered("n-9", EPOCH)
        with pytest.raises(ConcurrencyError):
            uow.outbox.put(notification("n-1"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [item.id for item in uow.outbox.pending()] == ["n-1", "n-3"]


def test_the_database_refuses_to_rewrite_the_outbox(file_store: SQLiteStore, path: Path) -> None:
    with file_store.unit_of_work() as uow:
        uow.outbox.put(notification())
        uow.outbox.mark_delivered("n-1", EPOCH)
        uow.commit()
    for tampering in (
        "DELETE FROM outbox",
        "UPDATE outbox SET notification = '{}'",
        "UPDATE outbox SET delivered_at = NULL",
    ):
        with raw(path) as conn, pytest.raises(sqlite3.IntegrityError, match="outbox"):
            conn.execute(tampering)


def test_an_idempotency_key_is_taken_once(store: SQLiteStore) -> None:
    record = IdempotencyRecord(
        key="request-7",
        fingerprint="abc",
        aggregate_type="Goal",
        aggregate_id="g-1",
        version=3,
        at=EPOCH,
    )
    with store.unit_of_work() as uow:
        assert uow.idempotency.get("request-7") is None
        uow.idempotency.put(record)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.idempotency.get("request-7") == record
        with pytest.raises(ConcurrencyError) as caught:
            uow.idempotency.put(record)
        assert caught.value.aggregate_type == IDEMPOTENCY_KEY


# -- the schema -----------------------------------------------------------------------------------


def test_a_new_file_gets_the_current_schema(path: Path) -> None:
    SQLiteStore(path).close()
    SQLiteStore(path).close()  # opening again migrates nothing
    with raw(path) as conn:
        assert schema.read_version(conn) == schema.SCHEMA_VERSION
        assert schema.journal_mode(conn) == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"meta", "aggregates", "audit_log", "outbox", "idempotency"} <= tables


def test_an_older_schema_is_migrated_forward_on_open(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SQLiteStore(path) as store:
        put(store, active_goal())
    upgrade = ("CREATE TABLE extra (x)", "INSERT INTO extra VALUES (1)")
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, upgrade))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        assert uow.goals.get("g-1") == active_goal()
    with raw(path) as conn:
        assert schema.read_version(conn) == schema.SCHEMA_VERSION == 2
        assert conn.execute("SELECT x FROM extra").fetchall() == [(1,)]


def test_stores_opening_one_new_file_together_migrate_it_once(path: Path) -> None:
    ready = threading.Barrier(4, timeout=30)
    errors: list[BaseException] = []

    def open_store() -> None:
        ready.wait()
        try:
            SQLiteStore(path).close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with raw(path) as conn:
        assert schema.read_version(conn) == schema.SCHEMA_VERSION


@pytest.mark.parametrize(
    ("version", "error", "words"),
    [
        (str(schema.SCHEMA_VERSION + 1), UnsupportedSchema, r"newer perfcore.*upgrade perfcore"),
        ("seven", DatabaseCorrupt, "not a number"),
    ],
)
@pytest.mark.parametrize("read_only", [False, True])
def test_a_database_from_a_newer_perfcore_is_refused_untouched(
    path: Path, version: str, error: type[StorageError], words: str, read_only: bool
) -> None:
    with SQLiteStore(path) as store:
        put(store, active_goal())
    with raw(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))
    before = digest(path)
    with pytest.raises(error, match=words):
        SQLiteStore(path, read_only=read_only)
    assert digest(path) == before


def test_any_path_a_file_system_allows_will_do(tmp_path: Path) -> None:
    path = tmp_path / "HR data (2026) #1? ünï.sqlite3"
    with SQLiteStore(str(path)) as store:
        put(store, active_goal())
    assert path.exists()
    with SQLiteStore(path, read_only=True) as store, store.unit_of_work() as uow:
        assert uow.goals.get("g-1") == active_goal()


# -- bad rows -------------------------------------------------------------------------------------


def _corrupt_row(path: Path, envelope: str) -> None:
    with raw(path) as conn:
        conn.execute("UPDATE aggregates SET envelope = ? WHERE id = 'g-1'", (envelope,))


def _good_envelope(path: Path) -> dict[str, Any]:
    with raw(path) as conn:
        text = conn.execute("SELECT envelope FROM aggregates WHERE id = 'g-1'").fetchone()[0]
    envelope: dict[str, Any] = json.loads(text)
    return envelope


def _edited(envelope: dict[str, Any], **changes: Any) -> str:
    data = {**envelope["data"], **changes.pop("data", {})}
    return json.dumps({**envelope, **changes, "data": data})


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda envelope: '{"type": "Goal", "schema": 1, "data": {', "not JSON"),
        (lambda envelope: "[1, 2]", "not an envelope"),
        (lambda envelope: _edited(envelope, data={"baseline": "many"}), "'many'"),
        (lambda envelope: _edited(envelope, data={"version": 7}), "version 7"),
        (lambda envelope: _edited(envelope, data={"id": "g-2"}), "'g-2'"),
    ],
    ids=["truncated JSON", "not an object", "invalid field", "wrong version", "wrong id"],
)
def test_a_corrupted_row_names_itself_and_changes_nothing(
    file_store: SQLiteStore, path: Path, damage: Any, words: str
) -> None:
    put(file_store, active_goal(), active_goal("g-2"))
    _corrupt_row(path, damage(_good_envelope(path)))
    before = digest(path)
    with file_store.unit_of_work() as uow:
        for read in (lambda: uow.goals.get("g-1"), lambda: uow.goals.by_owner("ana")):
            with pytest.raises(
                UnreadableRecord, match="stored Goal 'g-1' cannot be read"
            ) as caught:
                read()
            assert words in str(caught.value)
        assert uow.goals.get("g-2") == active_goal("g-2")  # the others still load
    assert digest(path) == before


@pytest.mark.parametrize(
    ("changes", "words"), [({"schema": 99}, "schema 99"), ({"type": "Bonus"}, "'Bonus'")]
)
def test_a_row_from_a_newer_perfcore_is_refused_by_name(
    file_store: SQLiteStore, path: Path, changes: dict[str, Any], words: str
) -> None:
    put(file_store, active_goal())
    _corrupt_row(path, _edited(_good_envelope(path), **changes))
    with file_store.unit_of_work() as uow, pytest.raises(UnsupportedSchema) as caught:
        uow.goals.get("g-1")
    assert "stored Goal 'g-1'" in str(caught.value)
    assert words in str(caught.value)


def test_a_corrupted_audit_entry_is_reported_where_it_is(
    file_store: SQLiteStore, path: Path
) -> None:
    goal = active_goal()
    put(file_store, goal)
    with raw(path) as conn:
        conn.execute("DROP TRIGGER audit_log_append_only_update")
        conn.execute("UPDATE audit_log SET event = '{\"version\": ' WHERE sequence = 2")
    with file_store.unit_of_work() as uow:
        with pytest.raises(UnreadableRecord, match="audit entry 2"):
            list(uow.audit.read())
        report = verify_audit_log(uow.audit.read(), expected=AuditAnchor.of([goal]))
    assert (report.problem, report.index) == (AuditProblem.EDITED, 1)


def test_a_corrupted_notification_names_itself(file_store: SQLiteStore, path: Path) -> None:
    with file_store.unit_of_work() as uow:
        uow.outbox.put(notification())
        uow.commit()
    with raw(path) as conn:
        conn.execute("DROP TRIGGER outbox_only_delivery")
        conn.execute("UPDATE outbox SET notification = '{}'")
    with file_store.unit_of_work() as uow, pytest.raises(UnreadableRecord, match="'n-1'"):
        uow.outbox.pending()


# -- SQLite's errors ------------------------------------------------------------------------------


def test_a_writer_kept_waiting_past_the_busy_timeout_is_told_so(path: Path) -> None:
    with SQLiteStore(path, busy_timeout_ms=0) as store, raw(path) as other:
        other.execute("BEGIN IMMEDIATE")
        with store.unit_of_work() as uow:
            assert uow.goals.find("g-1") is None  # readers do not wait in WAL mode
            with pytest.raises(DatabaseBusy, match="busy_timeout_ms") as caught:
                uow.goals.add(active_goal())
            assert caught.value.code.startswith("SQLITE_BUSY")
        other.execute("ROLLBACK")
        put(store, active_goal())  # the pooled connection still works


def with_many_check_ins(goal: Goal, count: int) -> Goal:
    """``goal`` after ``count`` check-ins: a large row."""
    at = EPOCH + dt.timedelta(days=1)
    for value in range(count):
        goal = goal.check_in(by=Actor(id="ana"), at=at, on=at.date(), value=value, note="x" * 50)
    return goal


def test_a_full_disk_is_told_and_keeps_nothing(file_store: SQLiteStore) -> None:
    with file_store.unit_of_work() as uow:
        conn = connection_of(uow)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        # A size limit is how SQLite lets a test meet SQLITE_FULL without filling a disk.
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        uow.goals.add(active_goal("g-0"))
        with pytest.raises(DatabaseFull, match="free some space"):
            uow.goals.save(with_many_check_ins(active_goal("g-0"), 200), expected_version=3)
        # SQLite rolled the whole transaction back: g-0 must not be committed without it.
        with pytest.raises(StorageError, match="rolled back"):
            uow.goals.add(active_goal("g-1"))
        with pytest.raises(StorageError, match="rolled back"):
            uow.commit()
        uow.rollback()  # which also drops the connection that met the error, and its limit
        uow.goals.add(active_goal("g-2"))
        uow.commit()
    with file_store.unit_of_work() as uow:
        assert [goal.id for goal in uow.goals.by_state("active")] == ["g-2"]


def test_a_file_that_is_not_a_database_is_called_corrupt(path: Path) -> None:
    path.write_bytes(b"these are the minutes of the board meeting\n" * 200)
    before = digest(path)
    with pytest.raises(DatabaseCorrupt, match="not a SQLite database"):
        SQLiteStore(path)
    assert digest(path) == before


def read_all_goals(path: Path) -> None:
    """Open a store on ``path`` and read every active goal."""
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        uow.goals.by_state("active")


def test_a_damaged_page_is_called_corrupt(path: Path) -> None:
    with SQLiteStore(path) as store:
        put(store, *[active_goal(f"g-{number}") for number in range(50)])
    assert not path.with_name(path.name + "-wal").exists()  # all in the main file
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size:] = b"\xa5" * (len(data) - page_size)  # every page but the schema's
    path.write_bytes(bytes(data))
    with pytest.raises(DatabaseCorrupt, match="restore it from a backup"):
        read_all_goals(path)


def test_a_missing_directory_is_told(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="directory exists"):
        SQLiteStore(tmp_path / "no such directory" / "perfcore.sqlite3")


def test_a_read_only_store_reads_and_refuses_to_write(path: Path) -> None:
    with SQLiteStore(path) as store:
        put(store, active_goal())
    before = digest(path)
    with SQLiteStore(path, read_only=True) as store, store.unit_of_work() as uow:
        assert uow.goals.get("g-1") == active_goal()
        assert uow.audit.last() is not None
        with pytest.raises(DatabaseReadOnly, match="read_only=True"):
            uow.goals.save(drivers()["Goal"].fire(active_goal(), "cancel"), expected_version=3)
        with pytest.raises(DatabaseReadOnly):
            uow.outbox.put(notification())
    assert digest(path) == before


def test_a_read_only_store_cannot_migrate(path: Path) -> None:
    with raw(path) as conn:
        conn.execute("CREATE TABLE unrelated (x)")
    with pytest.raises(DatabaseReadOnly, match="open it once without read_only"):
        SQLiteStore(path, read_only=True)
    with pytest.raises(DatabaseUnavailable):
        SQLiteStore(path.with_name("missing.sqlite3"), read_only=True)


def _error(kind: type[sqlite3.Error], name: str) -> sqlite3.Error:
    error = kind("what SQLite said")
    error.sqlite_errorname = name  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("name", "expected", "advice"),
    [
        ("SQLITE_BUSY", DatabaseBusy, "busy_timeout_ms"),
        ("SQLITE_BUSY_SNAPSHOT", DatabaseBusy, "retry"),
        ("SQLITE_LOCKED", DatabaseBusy, "retry"),
        ("SQLITE_READONLY", DatabaseReadOnly, "permissions"),
        ("SQLITE_READONLY_DIRECTORY", DatabaseReadOnly, "directory"),
        ("SQLITE_READONLY_ROLLBACK", DatabaseReadOnly, "permissions"),
        ("SQLITE_CORRUPT", DatabaseCorrupt, "backup"),
        ("SQLITE_NOTADB", DatabaseCorrupt, "not a SQLite database"),
        ("SQLITE_FULL", DatabaseFull, "free some space"),
        ("SQLITE_CANTOPEN", DatabaseUnavailable, "directory exists"),
        ("SQLITE_IOERR_FSYNC", DatabaseUnavailable, "disk"),
        ("SQLITE_PERM", DatabaseUnavailable, "permissions"),
        ("SQLITE_MISMATCH", SQLiteStoreError, "report it"),
        ("", SQLiteStoreError, "report it"),
    ],
)
def test_every_sqlite_error_becomes_a_perfcore_error_with_advice(
    name: str, expected: type[SQLiteStoreError], advice: str
) -> None:
    translated = translate(_error(sqlite3.OperationalError, name), "/data/hr.sqlite3")
    assert type(translated) is expected
    assert isinstance(translated, StorageError)
    assert (translated.code, translated.path) == (name, "/data/hr.sqlite3")
    assert advice in str(translated)
    assert "what SQLite said" in str(translated)


# -- golden files ---------------------------------------------------------------------------------


def _golden_name(type_name: str, state: str) -> str:
    # As make_golden.py names them.
    return f"{type_name}.v{SCHEMA_VERSIONS[type_name]}.{state}.json"


def _golden_object(golden: Path) -> Aggregate:
    type_name, _schema, state = golden.name.removesuffix(".json").split(".")
    obj: Aggregate = drivers()[type_name].reach(state, id=f"golden-{state}")
    return obj


GOLDEN_FILES = sorted(GOLDEN.glob("*.json"))


@pytest.mark.parametrize("golden", GOLDEN_FILES, ids=[golden.name for golden in GOLDEN_FILES])
def test_a_golden_envelope_still_loads_to_the_object_a_driver_builds(golden: Path) -> None:
    assert loads(golden.read_text(encoding="utf-8")) == _golden_object(golden)


@pytest.mark.parametrize("golden", GOLDEN_FILES, ids=[golden.name for golden in GOLDEN_FILES])
def test_a_golden_envelope_loads_from_a_stored_row(
    file_store: SQLiteStore, path: Path, golden: Path
) -> None:
    expected = _golden_object(golden)
    type_name = type(expected).__name__
    with raw(path) as conn:
        conn.execute(
            "INSERT INTO aggregates (type, id, version, state, envelope) VALUES (?, ?, ?, ?, ?)",
            (type_name, expected.id, expected.version, str(expected.state), golden.read_text()),
        )
    with file_store.unit_of_work() as uow:
        assert repository(uow, type_name).get(expected.id) == expected


def test_every_type_and_state_has_a_golden_file() -> None:
    missing = [
        _golden_name(type_name, state)
        for type_name, state in EVERY_STATE
        if not (GOLDEN / _golden_name(type_name, state)).exists()
    ]
    assert missing == [], "run: python tests/adapters/make_golden.py"
