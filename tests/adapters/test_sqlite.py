"""The SQLite store under perfcore: objects kept as streams, the services on a file, SQLite's own
settings, limits and errors, and the golden envelopes.

The port-level behaviour every store shares runs against it in :class:`TestSQLite` (the
conformance suite); the store's own port-level tests (appends, positions, triggers on events and
seals, locking, the migration of a first-release file) are in ``test_sqlite_store.py``; the
multi-process and crash tests in ``test_sqlite_durability.py``. The tests here load and save real
objects through :class:`~perfcore.streams.Streams` and :class:`~perfcore.services.Perfcore`, and
always read back cold (``ObjectCache(0)``, or a new store on the same file), so that what is
compared came from SQLite, not from a cache.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import hashlib
import itertools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcore import Actor, ConcurrencyError, PerfcoreError, StorageError, ValidationError
from perfcore._aggregate import Aggregate
from perfcore._codec import canonical_json
from perfcore.adapters import _sqlite_schema as schema
from perfcore.adapters.sqlite import (
    DatabaseBusy,
    DatabaseCorrupt,
    DatabaseFull,
    DatabaseReadOnly,
    DatabaseUnavailable,
    SQLiteStore,
    SQLiteStoreError,
    UnreadableRecord,
    _columns_sql,  # the statement a column find runs, to check its plan
    translate,
)
from perfcore.audit import AuditProblem, verify_store
from perfcore.goal import Goal
from perfcore.job_description import JobDescription
from perfcore.lifecycle import lifecycle_of
from perfcore.ports import Notification, Snapshot, Store, UnitOfWork
from perfcore.repositories import Repositories
from perfcore.serialization import SCHEMA_VERSIONS, loads
from perfcore.services import Perfcore, service_names
from perfcore.streams import ObjectCache, Streams, history_of, index_of
from perfcore.testing._fakes import CountingIds, SteppingClock
from perfcore.testing._workflow.story import story
from perfcore.testing.conformance import StoreContract
from perfcore.testing.drivers import EPOCH, drivers, path_to
from perfcore.testing.workflow import CAST

#: Reads name their reader: HR reads everything.
READER = Actor(id="hr-reader", roles={"hr"})

GOLDEN = Path(__file__).with_name("golden")
#: Numbers the workflow comparison's database files, one per example.
WORKFLOW_FILES = itertools.count()
PEOPLE = {actor.id: actor for actor in CAST}
ANA = PEOPLE["ana"]

#: The attribute of Perfcore holding each type's service.
SERVICES = service_names()
#: Each type's repository queries beyond by_state: (method, the attribute it selects on).
QUERIES = {
    "JobDescription": (("by_lineage", "lineage_id"), ("by_employee", "employee_id")),
    "Goal": (("by_owner", "owner_id"), ("by_manager", "manager_id")),
    "Plan": (("by_subject", "subject_id"), ("by_cycle", "cycle_id")),
    "Evaluation": (("by_subject", "subject_id"), ("by_cycle", "cycle_id")),
    "ReviewCycle": (),
    "Survey": (),
    "Note": (),
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


# -- helpers --------------------------------------------------------------------------------------


def kind_of(obj: Aggregate) -> str:
    return lifecycle_of(type(obj)).name


def put(store: Store, *objects: Aggregate, snapshot_every: int = 100) -> None:
    """Save new objects (their whole histories) in one committed unit of work."""
    with store.unit_of_work() as uow:
        streams = Streams(uow, snapshot_every=snapshot_every)
        for obj in objects:
            streams.save(obj, loaded=None)
        uow.commit()


@contextlib.contextmanager
def cold(store: Store) -> Iterator[Repositories]:
    """Repositories over a unit of work whose every load is read from the store."""
    with store.unit_of_work() as uow:
        yield Repositories(Streams(uow, ObjectCache(0)))


def services(store: Store, **options: Any) -> Perfcore:
    """Services that keep nothing loaded between commands (every read comes from the store),
    their clock starting after the drivers' last command."""
    return Perfcore(store, clock=clock(), ids=CountingIds(), cache_size=0, **options)


def clock() -> SteppingClock:
    """A clock six hours on at each reading, from two days after the drivers' first command
    (later than any command of theirs)."""
    return SteppingClock(EPOCH + dt.timedelta(days=2), dt.timedelta(hours=6))


class Sink:
    """A notifier that takes every notification and does nothing with it."""

    def notify(self, notification: Notification) -> None:
        pass


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
        metric="tickets a week",
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
        data={"title": "Resolve more tickets"},
    )


@contextlib.contextmanager
def raw(path: Path | str) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection, to do what perfcore never does."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def file_of(store: SQLiteStore) -> Path:
    """The file a store keeps its database in (a temporary one for ``:memory:``)."""
    found: Path = cast(Any, store)._file
    return found


def digest(path: Path) -> str:
    """The database file and its WAL, hashed: to show that nothing was changed."""
    hasher = hashlib.sha256(path.read_bytes())
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        hasher.update(wal.read_bytes())
    return hasher.hexdigest()


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


# -- the conformance suite ------------------------------------------------------------------------


class TestSQLite(StoreContract):
    """:class:`SQLiteStore` against the whole contract, on a file and on ``:memory:``."""

    supports_threads = True
    supports_processes = True
    supports_failure_injection = True
    supports_new_stores = True

    @pytest.fixture(params=["file", "memory"])
    def store(self, request: pytest.FixtureRequest, path: Path) -> Iterator[SQLiteStore]:
        opened = SQLiteStore(path) if request.param == "file" else SQLiteStore()
        yield opened
        opened.close()

    def new_store(self, store: Store) -> Store:
        # A file next to the test's own (pytest removes the directory); the comparison is of
        # behaviour, not durability, so without fsync.
        assert isinstance(store, SQLiteStore)
        name = f"workflow-{next(WORKFLOW_FILES)}.sqlite3"
        return SQLiteStore(Path(store.path).with_name(name), synchronous="OFF")

    def test_workflows_match_the_memory_reference(self, store: Store) -> None:
        assert isinstance(store, SQLiteStore)
        if store.path == ":memory:":
            # The longest test of the suite, twice over for one difference: a :memory: store is
            # a temporary file with synchronous=OFF, as new_store opens the file store's.
            pytest.skip("the workflow comparison runs on the file store")
        super().test_workflows_match_the_memory_reference(store)

    def process_store_factory(self, store: Store) -> Callable[[], Store]:
        assert isinstance(store, SQLiteStore)
        if store.path == ":memory:":
            pytest.skip("a :memory: store lives in one process")
        return functools.partial(SQLiteStore, store.path)

    def break_store(self, store: Store) -> None:
        # As someone with the file would: drop every table underneath the open store.
        assert isinstance(store, SQLiteStore)
        with raw(file_of(store)) as conn:
            tables = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
            for (name,) in tables:
                conn.execute(f"DROP TABLE {name}")


# -- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("type_name", "state"), EVERY_STATE)
def test_every_aggregate_in_every_state_round_trips(
    store: SQLiteStore, type_name: str, state: str
) -> None:
    obj = drivers()[type_name].reach(state, id="obj-1")
    put(store, obj)
    with cold(store) as repositories:
        repository = repositories.of(type_name)
        assert repository.get("obj-1") == obj
        assert repository.find("obj-1") == obj
        assert repository.find("obj-2") is None
        assert repository.by_state(state) == [obj]
        for query, attribute in QUERIES[type_name]:
            value = getattr(obj, attribute)
            if value is not None:
                assert getattr(repository, query)(value) == [obj]
        head = repositories.events.head(type_name, "obj-1")
        assert head is not None
        assert (head.version, head.state, dict(head.columns)) == (
            obj.version,
            state,
            {column: value for column, value in index_of(obj).items() if value is not None},
        )
        assert history_of(repositories.streams.uow, type_name, "obj-1") == obj.history


def test_stored_objects_outlive_the_store(path: Path) -> None:
    objects = [drivers()[kind].reach(state, id=f"{kind}-{state}") for kind, state in EVERY_STATE]
    with SQLiteStore(path) as store:
        put(store, *objects, snapshot_every=2)  # loads start from a snapshot where one is due
    with SQLiteStore(path) as store:
        pc = services(store)
        for obj in objects:
            kind = kind_of(obj)
            service: Any = getattr(pc, SERVICES[kind])
            assert service.get(obj.id, by=READER) == obj
            assert pc.history(kind, obj.id, by=READER) == obj.history
        report = pc.verify_audit_log()
        assert report.intact, report
        assert report.events == sum(obj.version for obj in objects)


#: Hypothesis walks share one store: a store per example would cost more than the walk.
_WALKS = itertools.count()


@pytest.fixture(scope="module")
def walk_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteStore]:
    path = tmp_path_factory.mktemp("walks") / "walks.sqlite3"
    with SQLiteStore(path, synchronous="OFF") as opened:
        yield opened


def _walk_settings() -> settings:
    profile = settings()
    return settings(profile, max_examples=max(10, profile.max_examples // 4), deadline=None)


@pytest.mark.parametrize("type_name", sorted(drivers()))
@_walk_settings()
@given(data=st.data())
def test_any_walk_through_a_lifecycle_is_saved_and_loaded_exactly(
    walk_store: SQLiteStore, type_name: str, data: st.DataObject
) -> None:
    driver = drivers()[type_name]
    table = set(driver.lifecycle.transitions)
    obj = driver.create(f"walk-{next(_WALKS)}")
    put(walk_store, obj, snapshot_every=2)
    for trigger in data.draw(st.lists(st.sampled_from(driver.lifecycle.triggers), max_size=8)):
        dests = sorted({d for t, s, d in table if (t, s) == (trigger, str(obj.state))})
        if not dests:
            continue
        try:
            after = driver.fire(obj, trigger, data.draw(st.sampled_from(dests)))
        except PerfcoreError:
            continue
        with walk_store.unit_of_work() as uow:
            Streams(uow, snapshot_every=2).save(after, loaded=obj.version)
            uow.commit()
        obj = after
        with cold(walk_store) as repositories:
            assert repositories.of(type_name).get(obj.id) == obj
            assert history_of(repositories.streams.uow, type_name, obj.id) == obj.history


# -- queries --------------------------------------------------------------------------------------


def test_queries_select_on_their_column_and_order_by_id(store: SQLiteStore) -> None:
    put(
        store,
        goal_of("g-3", "ana", "ben"),
        goal_of("g-1", "ana", "cleo"),
        goal_of("g-2", "cy", "ben"),
        goal_of("G-0", "ANA", "ben"),
    )
    with cold(store) as repositories:
        goals = repositories.goals
        assert [goal.id for goal in goals.by_owner("ana")] == ["g-1", "g-3"]
        assert [goal.id for goal in goals.by_owner("ANA")] == ["G-0"]  # ids compare exactly
        assert [goal.id for goal in goals.by_manager("ben")] == ["G-0", "g-2", "g-3"]
        assert [goal.id for goal in goals.by_state("draft")] == ["G-0", "g-1", "g-2", "g-3"]
        assert goals.by_owner("nobody") == []
        assert goals.by_state("active") == []
        assert repositories.plans.by_state("draft") == []
    team = services(store).queries.team_goals("ben", on=EPOCH.date(), by=READER)
    assert [(status.owner_id, status.goal.id) for status in team] == [
        ("ANA", "G-0"),
        ("ana", "g-3"),
        ("cy", "g-2"),
    ]


def test_job_descriptions_come_by_lineage_then_number(store: SQLiteStore) -> None:
    put(
        store,
        job_description("b-2", "lineage-b", 2, "ana"),
        job_description("a-1", "lineage-a", 1, "ana"),
        job_description("b-1", "lineage-b", 1, "ana"),
        job_description("c-10", "lineage-c", 10, "ana"),
        job_description("c-9", "lineage-c", 9, "ana"),
        job_description("d-1", "lineage-d", 1, "cy"),
    )
    with cold(store) as repositories:
        lineage = repositories.job_descriptions.by_lineage("lineage-c")
        assert [(jd.id, jd.number) for jd in lineage] == [("c-9", 9), ("c-10", 10)]
        employee = repositories.job_descriptions.by_employee("ana")
        assert [jd.id for jd in employee] == ["a-1", "b-1", "b-2", "c-9", "c-10"]


class _Recording(sqlite3.Connection):
    """A connection that notes every statement it runs, with its first parameters."""

    seen: ClassVar[dict[str, tuple[Any, ...]]] = {}

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        _Recording.seen.setdefault(sql, tuple(parameters))
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        rows = [tuple(row) for row in parameters]
        if rows:
            _Recording.seen.setdefault(sql, rows[0])
        return super().executemany(sql, rows)


def _plan(conn: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]) -> list[str]:
    return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", parameters)]


def _walks(step: str) -> bool:
    """Whether a step of a query plan reads rows it does not want: a table scan, a sort, or a
    search that narrows only by kind (every stream of a kind, walked by the primary key; not a
    partial index that holds only the rows wanted, such as ``streams_without_changed``)."""
    return (
        (step.startswith("SCAN") and "INDEX" not in step)
        or "TEMP B-TREE" in step
        or (step.endswith("(kind=?)") and "INDEX streams_without_" not in step)
    )


def test_every_statement_the_services_run_is_served_by_an_index(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Recording.seen = {}
    recording = functools.partial(sqlite3.connect, factory=_Recording)
    monkeypatch.setattr(sqlite3, "connect", recording)  # the module sqlite.py connects with
    with SQLiteStore(path) as store:
        _Recording.seen.clear()  # what the schema's creation ran
        today = EPOCH.date()
        pc = Perfcore(
            store,
            clock=SteppingClock(EPOCH, dt.timedelta(hours=6)),
            ids=CountingIds(),
            notifier=Sink(),
            cache_size=0,
            seal_every=10,
        )
        for call in story(PEOPLE, today):
            call.run(pc)
        pc.queries.standings("ben", on=today, by=READER)
        pc.queries.plans_due_for_review(today, today + dt.timedelta(days=90), by=READER)
        pc.queries.cycle_progress("story-cycle", on=today, by=READER)
        pc.cycles.status("story-cycle", on=today, by=READER)
        pc.history("Goal", "story-goal", by=READER)
        pc.goals.create(by=ANA, id="g-9", owner_id="ana", manager_id="ben", baseline=0,
                        target=1, start=today, due=today, idempotency_key="k-1")  # fmt: skip
        pc.goals.create(by=ANA, id="g-9", owner_id="ana", manager_id="ben", baseline=0,
                        target=1, start=today, due=today, idempotency_key="k-1")  # fmt: skip
        pc.deliver_notifications()
        pc.seal_audit_log()
        assert pc.verify_audit_log().intact
        pc.export_person("ana", by=PEOPLE["hana"])
        pc.erase_person("ana", by=PEOPLE["hana"], reason="her request")
    monkeypatch.undo()
    seen = dict(_Recording.seen)
    # The statements behind find, head and read were among them.
    for statement in (
        schema.SELECT_HEAD,
        schema.READ_STREAM,
        # A cycle's status reads only the columns it needs (ColumnFinds), by state and cycle.
        _columns_sql("state", False, ("employee", "number")),
        _columns_sql("cycle", False, ("subject",)),
        schema.SELECT_HEADS_BY["manager"],
        schema.SELECT_HEADS_BY["lineage"],
        schema.SNAPSHOT_GET,
        schema.OUTBOX_PENDING,
        schema.IDEMPOTENCY_GET,
    ):
        assert statement in seen, statement
    unindexed = {}
    with raw(path) as conn:
        for sql, parameters in seen.items():
            plan = _plan(conn, sql, parameters)
            if sql == schema.SEAL_LAST:  # ORDER BY the rowid DESC LIMIT 1: one step
                assert plan == ["SCAN seals"], plan
                continue
            if any(_walks(step) for step in plan):
                unindexed[sql] = plan
        # Each query column by its own index, which holds only the rows that set it.
        for column, sql in schema.SELECT_HEADS_BY.items():
            if sql in seen:
                wanted = f"USING INDEX streams_by_{column} (kind=? AND {column}=?)"
                plan = _plan(conn, sql, seen[sql])
                assert plan == [f"SEARCH streams {wanted}"], (column, plan)
    assert unindexed == {}


# -- threads --------------------------------------------------------------------------------------


class Hooked:
    """A store that calls ``on_append`` before each append and ``on_commit`` before each
    commit of its units of work (either may wait, or raise)."""

    def __init__(
        self,
        inner: Store,
        *,
        on_append: Callable[[], None] = lambda: None,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.inner = inner
        self.on_append = on_append
        self.on_commit = on_commit

    def unit_of_work(self) -> Any:
        return _HookedUnit(self, self.inner.unit_of_work())

    def close(self) -> None:
        self.inner.close()


class _HookedUnit:
    def __init__(self, store: Hooked, inner: UnitOfWork) -> None:
        self._store = store
        self._inner = inner
        self.events = _HookedEvents(store, inner.events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _HookedUnit:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)

    def commit(self) -> None:
        self._store.on_commit()
        self._inner.commit()


class _HookedEvents:
    def __init__(self, store: Hooked, inner: Any) -> None:
        self._store = store
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def append(self, *args: Any, **kwargs: Any) -> None:
        self._store.on_append()
        self._inner.append(*args, **kwargs)


def meeting(parties: int) -> Callable[[], None]:
    """A hook whose first ``parties`` calls wait for each other, and later calls pass."""
    barrier = threading.Barrier(parties, timeout=30)
    calls = itertools.count()

    def meet() -> None:
        if next(calls) < parties:
            barrier.wait()

    return meet


@pytest.mark.parametrize(
    ("type_name", "source", "approver", "approved"),
    [("Plan", "submitted", "cleo", "approved"), ("Goal", "proposed", "ben", "active")],
)
def test_two_threads_approving_one_object_one_wins(
    store: SQLiteStore, type_name: str, source: str, approver: str, approved: str
) -> None:
    put(store, drivers()[type_name].reach(source, id="x-1"))
    # Both commands have loaded the object and fired approve before either writes.
    pc = services(cast(Store, Hooked(store, on_append=meeting(2))))
    service = pc.plans if type_name == "Plan" else pc.goals
    outcomes: list[str] = []

    def approve() -> None:
        try:
            service.approve("x-1", by=PEOPLE[approver])
        except ConcurrencyError as lost:
            outcomes.append(f"conflict on {lost.aggregate_type} {lost.aggregate_id}")
        else:
            outcomes.append("won")

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == [f"conflict on {type_name} x-1", "won"]
    assert str(service.get("x-1", by=READER).state) == approved
    assert [event.trigger for event in pc.history(type_name, "x-1", by=READER)].count(
        "approve"
    ) == 1
    assert pc.verify_audit_log().intact


# -- units of work --------------------------------------------------------------------------------


def save_then_fail(store: SQLiteStore, goal: Goal) -> None:
    """Save a goal, then fail before the commit."""
    with store.unit_of_work() as uow:
        Streams(uow).save(goal, loaded=None)
        raise RuntimeError("the command failed half way")


def test_nothing_is_visible_before_commit(store: SQLiteStore) -> None:
    goal = active_goal()
    with store.unit_of_work() as writer:
        Streams(writer).save(goal, loaded=None)
        assert Streams(writer, ObjectCache(0)).load("Goal", "g-1") == goal  # its own write
        with cold(store) as reader:
            assert reader.goals.find("g-1") is None
        writer.rollback()
    with pytest.raises(RuntimeError, match="half way"):
        save_then_fail(store, goal)
    with cold(store) as reader:
        assert reader.goals.find("g-1") is None
        assert reader.events.scan() == []
    put(store, goal)
    with cold(store) as reader:
        assert reader.goals.get("g-1") == goal


def test_a_failed_command_is_never_served_from_the_services_cache(store: SQLiteStore) -> None:
    put(store, drivers()["Goal"].reach("proposed", id="g-1"))
    failures = iter([RuntimeError("the connection dropped at commit")])

    def commit_fails_once() -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure

    pc = Perfcore(Hooked(store, on_commit=commit_fails_once), clock=clock())
    with pytest.raises(RuntimeError, match="dropped"):
        pc.goals.approve("g-1", by=PEOPLE["ben"])  # version 3, active: never committed
    # Another server takes the goal to version 3 another way ...
    changed = services(store).goals.request_changes("g-1", by=PEOPLE["ben"], reason="weekly")
    assert (changed.version, str(changed.state)) == (3, "draft")
    # ... and this one, which cached the goal as it loaded it, serves that.
    assert pc.goals.get("g-1", by=READER) == changed
    assert pc.verify_audit_log().intact


def test_an_ended_unit_of_work_and_a_closed_store_refuse_to_work(path: Path) -> None:
    store = SQLiteStore(path)
    with store.unit_of_work() as uow:
        pass
    with pytest.raises(StorageError, match="open a new one"):
        uow.events.head("Goal", "g-1")
    pc = services(store)
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StorageError, match="closed"):
        store.unit_of_work()
    with pytest.raises(StorageError, match="closed"):
        pc.goals.find("g-1", by=READER)


def test_memory_stores_are_private_and_leave_nothing_behind() -> None:
    with SQLiteStore() as first, SQLiteStore() as second:
        put(first, active_goal())
        with cold(second) as repositories:
            assert repositories.goals.find("g-1") is None
        assert repr(first) == "SQLiteStore(':memory:')"
    forgotten = SQLiteStore()
    put(forgotten, active_goal())
    directory = file_of(forgotten).parent
    assert directory.exists()
    del forgotten  # never closed: collecting it removes its files all the same
    gc.collect()
    assert not directory.exists()


def test_connections_are_set_up_as_asked(path: Path) -> None:
    def settings_of(store: SQLiteStore) -> tuple[Any, ...]:
        with store.unit_of_work() as uow:
            conn = connection_of(uow)
            return tuple(
                conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in (
                    "synchronous",
                    "journal_mode",
                    "foreign_keys",
                    "busy_timeout",
                    "cache_size",
                )
            )

    with SQLiteStore(path, synchronous="normal", busy_timeout_ms=1234, cache_mib=8) as store:
        assert settings_of(store) == (1, "wal", 1, 1234, -8 * 1024)
    with SQLiteStore(path) as store:
        # FULL: a commit survives a power cut; 64 MiB of pages (negative: KiB, not pages)
        assert settings_of(store) == (2, "wal", 1, 5000, -64 * 1024)
    with SQLiteStore(path, synchronous="extra") as store:
        assert settings_of(store)[0] == 3
    with SQLiteStore(synchronous="FULL") as store:
        assert settings_of(store)[:2] == (0, "wal")  # :memory: does not outlive the process


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"synchronous": "SOMETIMES"}, "synchronous"),
        ({"busy_timeout_ms": -1}, "busy_timeout_ms"),
        ({"busy_timeout_ms": 1.5}, "busy_timeout_ms"),
        ({"busy_timeout_ms": True}, "busy_timeout_ms"),
        ({"cache_mib": 0}, "cache_mib"),
        ({"cache_mib": 1.5}, "cache_mib"),
        ({"cache_mib": 10**6}, "cache_mib"),
        ({"read_only": True}, "read_only"),
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SQLiteStore(**arguments)
    assert caught.value.field == field


def test_any_path_a_file_system_allows_will_do(tmp_path: Path) -> None:
    path = tmp_path / "HR data (2026) #1? 100% ünï.sqlite3"
    with SQLiteStore(str(path)) as store:
        put(store, active_goal())
    assert path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # nowhere else
    with SQLiteStore(path, read_only=True) as store, cold(store) as repositories:
        assert repositories.goals.get("g-1") == active_goal()


def test_an_older_schema_is_migrated_forward_on_open(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SQLiteStore(path) as store:
        put(store, active_goal())
    upgrade = ("CREATE TABLE extra (x)", "INSERT INTO extra VALUES (1)")
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, upgrade))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with SQLiteStore(path) as store:
        with cold(store) as repositories:
            assert repositories.goals.get("g-1") == active_goal()
        assert verify_store(store).intact
    with SQLiteStore(path):  # opening again runs no migration twice
        pass
    with raw(path) as conn:
        assert schema.read_version(conn) == schema.SCHEMA_VERSION == len(schema.MIGRATIONS)
        assert conn.execute("SELECT x FROM extra").fetchall() == [(1,)]


# -- the outbox -----------------------------------------------------------------------------------


def test_the_database_refuses_to_rewrite_the_outbox(file_store: SQLiteStore, path: Path) -> None:
    with file_store.unit_of_work() as uow:
        uow.outbox.put(notification("n-1"))
        uow.outbox.put(notification("n-2"))
        uow.outbox.mark_delivered("n-1", EPOCH)
        uow.commit()
    for tampering in (
        "DELETE FROM outbox",
        "UPDATE outbox SET notification = '{}' WHERE id = 'n-2'",
        "UPDATE outbox SET id = 'n-3' WHERE id = 'n-2'",
        "UPDATE outbox SET delivered_at = NULL WHERE id = 'n-1'",
        "UPDATE outbox SET delivered_at = '2027-01-01' WHERE id = 'n-1'",
    ):
        with raw(path) as conn, pytest.raises(sqlite3.IntegrityError, match="outbox"):
            conn.execute(tampering)
    with file_store.unit_of_work() as uow:
        assert uow.outbox.pending() == [notification("n-2")]


# -- damaged rows ---------------------------------------------------------------------------------


def _read_goal(pc: Perfcore) -> object:
    return pc.goals.get("g-1", by=READER)


def _read_snapshotted(pc: Perfcore) -> object:
    return pc.goals.get("g-3", by=READER)


def _find_goals(pc: Perfcore) -> object:
    return pc.queries.team_goals("ben", on=EPOCH.date(), by=READER)


def _deliver(pc: Perfcore) -> object:
    return pc.deliver_notifications()


def _repeat_keyed(pc: Perfcore) -> object:
    return pc.goals.check_in("g-2", by=ANA, on=EPOCH.date(), value=4, idempotency_key="k-1")


@pytest.mark.parametrize(
    ("damage", "read", "record"),
    [
        (
            "DROP TRIGGER events_only_erasure;"
            " UPDATE events SET header = 'text' WHERE version = 2"
            " AND stream = (SELECT key FROM streams WHERE id = 'g-1')",
            _read_goal,
            "Goal 'g-1' event 2",
        ),
        (
            "DROP TRIGGER streams_only_forward; UPDATE streams SET hash = 'text' WHERE id = 'g-1'",
            _find_goals,
            "Goal 'g-1' stream head",
        ),
        (
            "UPDATE snapshots SET data = 'text' WHERE id = 'g-3'",
            _read_snapshotted,
            "Goal 'g-3' snapshot",
        ),
        (
            "DROP TRIGGER outbox_only_delivery;"
            " UPDATE outbox SET notification = '{\"id\": ' WHERE id = 'n-1'",
            _deliver,
            "notification 'n-1'",
        ),
        (
            "UPDATE idempotency SET at = 'yesterday' WHERE key = '3:ana/k-1'",
            _repeat_keyed,
            "idempotency key '3:ana/k-1'",
        ),
    ],
    ids=["event", "stream head", "snapshot", "notification", "idempotency key"],
)
def test_a_damaged_row_names_itself_and_changes_nothing(
    file_store: SQLiteStore,
    path: Path,
    damage: str,
    read: Callable[[Perfcore], object],
    record: str,
) -> None:
    put(file_store, active_goal("g-1"), active_goal("g-2"))
    put(file_store, active_goal("g-3"), snapshot_every=3)
    pc = services(file_store, notifier=Sink())
    pc.goals.check_in("g-2", by=ANA, on=EPOCH.date(), value=4, idempotency_key="k-1")
    with file_store.unit_of_work() as uow:
        uow.outbox.put(notification("n-1"))
        uow.commit()
    with raw(path) as conn:
        for statement in damage.split(";"):
            conn.execute(statement)
    before = digest(path)
    with pytest.raises(UnreadableRecord) as caught:
        read(pc)
    assert caught.value.record == record
    assert f"the stored {record} cannot be read" in str(caught.value)
    assert "Nothing was changed" in str(caught.value)
    assert str(pc.goals.get("g-2", by=READER).state) == "active"  # the others still load
    assert digest(path) == before


def test_a_damaged_event_is_reported_by_the_audit_where_it_is(
    file_store: SQLiteStore, path: Path
) -> None:
    put(file_store, active_goal("g-1"), active_goal("g-2"))
    with raw(path) as conn:
        conn.execute("DROP TRIGGER events_only_erasure")
        conn.execute("UPDATE events SET header = 'text' WHERE position = 5")
    report = services(file_store).verify_audit_log()
    assert (report.intact, report.problem) == (False, AuditProblem.UNREADABLE)
    assert "the stored Goal 'g-2' event 2 cannot be read" in report.detail


# -- SQLite's errors ------------------------------------------------------------------------------


def test_a_writer_kept_waiting_past_the_busy_timeout_is_told_so(path: Path) -> None:
    with SQLiteStore(path, busy_timeout_ms=0) as store, raw(path) as other:
        pc = services(store)
        put(store, goal_of("g-1", "ana", "ben"))
        other.execute("BEGIN IMMEDIATE")
        assert pc.goals.get("g-1", by=READER).version == 1  # readers do not wait in WAL mode
        with pytest.raises(DatabaseBusy, match="busy_timeout_ms") as caught:
            pc.goals.propose("g-1", by=ANA)
        assert caught.value.code.startswith("SQLITE_BUSY")
        assert caught.value.path == str(path)
        other.execute("ROLLBACK")
        assert pc.goals.propose("g-1", by=ANA).version == 2  # the pool's connections still work


def with_many_check_ins(goal: Goal, count: int) -> Goal:
    """``goal`` after ``count`` check-ins: many large events."""
    at = EPOCH + dt.timedelta(days=1)
    for value in range(count):
        goal = goal.check_in(by=ANA, at=at, on=at.date(), value=value, note="x" * 50)
    return goal


def overflow(uow: UnitOfWork, failing: str) -> None:
    """Write more than the disk holds: an append of many events, or one large snapshot."""
    if failing == "append":
        Streams(uow).save(with_many_check_ins(active_goal("g-1"), 300), loaded=None)
    else:
        uow.snapshots.put(Snapshot(kind="Goal", id="g-0", version=3, schema=2, data=bytes(100_000)))


@pytest.mark.parametrize("failing", ["append", "snapshot"])
def test_a_full_disk_is_told_and_keeps_nothing(file_store: SQLiteStore, failing: str) -> None:
    with file_store.unit_of_work() as uow:
        conn = connection_of(uow)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        # A size limit is how SQLite lets a test meet SQLITE_FULL without filling a disk.
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        streams = Streams(uow)
        streams.save(active_goal("g-0"), loaded=None)
        with pytest.raises(DatabaseFull, match="free some space"):
            overflow(uow, failing)
        if failing == "append":
            # SQLite undid the statement: the append wrote nothing, the rest is still pending.
            assert uow.events.head("Goal", "g-1") is None
            assert uow.events.head("Goal", "g-0") is not None
        else:
            # SQLite undid the whole transaction: g-0 must not be committed without the rest.
            with pytest.raises(StorageError, match="rolled back"):
                Streams(uow).save(active_goal("g-2"), loaded=None)
            with pytest.raises(StorageError, match="rolled back"):
                uow.commit()
        uow.rollback()  # which also drops the connection that met the error, and its limit
        Streams(uow).save(active_goal("g-3"), loaded=None)
        uow.commit()
    with cold(file_store) as repositories:
        assert [goal.id for goal in repositories.goals.by_state("active")] == ["g-3"]
    assert verify_store(file_store).intact


def test_a_damaged_page_is_called_corrupt(path: Path) -> None:
    with SQLiteStore(path) as store:
        put(store, *[active_goal(f"g-{number}") for number in range(50)])
    assert not path.with_name(path.name + "-wal").exists()  # all in the main file
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size:] = b"\xa5" * (len(data) - page_size)  # every page but the schema's
    path.write_bytes(bytes(data))
    with (
        pytest.raises(DatabaseCorrupt, match="restore it from a backup"),
        SQLiteStore(path) as store,
        cold(store) as repositories,
    ):
        repositories.goals.by_state("active")


def test_a_read_only_store_serves_reads_and_refuses_commands(path: Path) -> None:
    with SQLiteStore(path) as store:
        put(store, goal_of("g-1", "ana", "ben"))
    before = digest(path)
    with SQLiteStore(path, read_only=True) as store:
        pc = services(store)
        assert pc.goals.get("g-1", by=READER) == goal_of("g-1", "ana", "ben")
        assert [
            status.goal.id for status in pc.queries.team_goals("ben", on=EPOCH.date(), by=READER)
        ] == ["g-1"]
        assert pc.verify_audit_log().intact
        with pytest.raises(DatabaseReadOnly, match="read_only=True"):
            pc.goals.propose("g-1", by=ANA)
        with pytest.raises(DatabaseReadOnly):
            pc.seal_audit_log()
    assert digest(path) == before
    with pytest.raises(DatabaseUnavailable, match="directory exists"):
        SQLiteStore(path.with_name("missing.sqlite3"), read_only=True)


def _error(kind: type[sqlite3.Error], name: str) -> sqlite3.Error:
    error = kind("what SQLite said")
    error.sqlite_errorname = name
    return error


@pytest.mark.parametrize(
    ("name", "expected", "advice"),
    [
        ("SQLITE_BUSY", DatabaseBusy, "busy_timeout_ms"),
        ("SQLITE_BUSY_SNAPSHOT", DatabaseBusy, "busy_timeout_ms"),
        ("SQLITE_LOCKED", DatabaseBusy, "retry"),
        ("SQLITE_READONLY", DatabaseReadOnly, "permissions"),
        ("SQLITE_READONLY_DIRECTORY", DatabaseReadOnly, "directory"),
        ("SQLITE_READONLY_ROLLBACK", DatabaseReadOnly, "permissions"),
        ("SQLITE_CORRUPT", DatabaseCorrupt, "backup"),
        ("SQLITE_CORRUPT_INDEX", DatabaseCorrupt, "backup"),
        ("SQLITE_NOTADB", DatabaseCorrupt, "not a SQLite database"),
        ("SQLITE_FULL", DatabaseFull, "free some space"),
        ("SQLITE_CANTOPEN", DatabaseUnavailable, "directory exists"),
        ("SQLITE_IOERR_FSYNC", DatabaseUnavailable, "disk"),
        ("SQLITE_PERM", DatabaseUnavailable, "permissions"),
        ("SQLITE_CONSTRAINT_TRIGGER", SQLiteStoreError, "outside perfcore"),
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
CURRENT_GOLDEN_FILES = [GOLDEN / _golden_name(type_name, state) for type_name, state in EVERY_STATE]


@pytest.mark.parametrize("golden", GOLDEN_FILES, ids=[golden.name for golden in GOLDEN_FILES])
def test_a_golden_envelope_still_loads_to_the_object_a_driver_builds(golden: Path) -> None:
    assert loads(golden.read_text(encoding="utf-8")) == _golden_object(golden)


class _Reading(Streams):
    """Streams that note from which version on each load read the events."""

    afters: list[int]

    def events(self, kind: str, id: str, *, after: int = 0) -> Any:
        self.afters.append(after)
        return super().events(kind, id, after=after)


@pytest.mark.parametrize(
    "golden", CURRENT_GOLDEN_FILES, ids=[golden.name for golden in CURRENT_GOLDEN_FILES]
)
def test_a_golden_envelope_stored_as_a_snapshot_loads_from_the_store(
    file_store: SQLiteStore, golden: Path
) -> None:
    expected = _golden_object(golden)
    envelope = json.loads(golden.read_text(encoding="utf-8"))
    put(file_store, expected)  # its events, and no snapshot
    with file_store.unit_of_work() as uow:
        uow.snapshots.put(
            Snapshot(
                kind=envelope["type"],
                id=expected.id,
                version=expected.version,
                schema=envelope["schema"],
                data=canonical_json(envelope["data"]).encode("utf-8"),
            )
        )
        uow.commit()
    with file_store.unit_of_work() as uow:
        streams = _Reading(uow, ObjectCache(0))
        streams.afters = []
        assert streams.get(kind_of(expected), expected.id) == expected
    assert streams.afters == [expected.version]  # from the snapshot on: nothing to replay
    assert verify_store(file_store).intact  # the snapshot is the replay of the events


def test_every_type_and_state_has_a_golden_file() -> None:
    missing = [golden.name for golden in CURRENT_GOLDEN_FILES if not golden.exists()]
    assert missing == [], "run: python tests/adapters/make_golden.py"


# -- the verification's raw reads ------------------------------------------------------------------


def test_raw_reads_in_small_pages_give_every_stream_whole_and_verify(
    file_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streams longer than a page of rows, pages of heads that end inside the rows: each stream
    once, its events in order, whatever the page sizes."""
    import perfcore.adapters.sqlite as adapter

    goals = [drivers()["Goal"].reach("achieved", id=f"g-{n}") for n in range(5)]
    put(file_store, *goals, snapshot_every=2)
    expected = {}
    with file_store.unit_of_work() as uow:
        for head in uow.events.streams():
            expected[head.id] = [
                (e.version, e.schema, e.header, e.body, e.hash, e.position)
                for e in uow.events.read(head.kind, head.id)
            ]
    for heads, rows in ((2, 3), (1, 1), (3, 7), (1000, 5000)):
        monkeypatch.setattr(adapter, "_RAW_HEADS", heads)
        monkeypatch.setattr(adapter, "_RAW_ROWS", rows)
        found: dict[str, list[tuple[object, ...]]] = {}
        with file_store.unit_of_work() as uow:
            events = uow.events
            assert isinstance(events, adapter._Events)
            for head, snapshot, chunk in events.raw_streams():
                assert snapshot == head.version  # saved whole: a snapshot at its end
                found.setdefault(head.id, []).extend(chunk)
            links = list(events.raw_links(after=0, upto=2**63 - 1))
        assert found == expected
        assert [position for position, _ in links] == sorted(
            row[5] for rows in expected.values() for row in rows
        )
        assert verify_store(file_store).intact
