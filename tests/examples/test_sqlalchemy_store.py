"""The SQLAlchemy Core adapter in ``examples/`` keeps every promise the shipped stores keep: it
passes perfcore's conformance suite against SQLite files, as docs/testing.md tells an
integrator to certify theirs."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from perfcore import Actor, Perfcore
from perfcore.errors import ValidationError
from perfcore.ports import Store
from perfcore.testing.conformance import StoreContract

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sqlalchemy_store.py"
FILES = itertools.count()


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("examples_sqlalchemy_store", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # so that a child process unpickles the factory
    spec.loader.exec_module(module)
    return module


example = _load()
SQLAlchemyStore = example.SQLAlchemyStore


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


class TestSQLAlchemyStore(StoreContract):
    supports_threads = True
    supports_processes = True
    supports_failure_injection = True
    supports_new_stores = True

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        opened = SQLAlchemyStore(_url(tmp_path / "perfcore.sqlite3"))
        yield opened
        opened.close()

    def process_store_factory(self, store: Store) -> Callable[[], Store]:
        return functools.partial(_open_in_child, str(EXAMPLE), store.url)  # type: ignore[attr-defined]

    def new_store(self, store: Store) -> Store:
        database = Path(store.engine.url.database)  # type: ignore[attr-defined]
        return SQLAlchemyStore(_url(database.with_name(f"new-{next(FILES)}.sqlite3")))

    @pytest.mark.thorough
    def test_workflows_match_the_memory_reference(self, store: Store) -> None:
        # The suite's longest test (a new SQLAlchemy engine per example): the shipped SQLite
        # store runs it in every run; this adapter in the thorough one (.ci/run).
        super().test_workflows_match_the_memory_reference(store)

    def break_store(self, store: Store) -> None:
        # As someone with the file would: drop every table underneath the open store.
        conn = sqlite3.connect(store.engine.url.database, isolation_level=None)  # type: ignore[attr-defined]
        tables = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        for (name,) in tables:
            conn.execute(f'DROP TABLE "{name}"')
        conn.close()


def _open_in_child(example_path: str, url: str) -> Store:
    """The store on ``url``, opened in another process (which loads the example by its path)."""
    spec = importlib.util.spec_from_file_location("examples_sqlalchemy_store", example_path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    store: Store = module.SQLAlchemyStore(url)
    return store


def test_the_services_run_on_it(tmp_path: Path) -> None:
    store = SQLAlchemyStore(_url(tmp_path / "hr.sqlite3"))
    pc = Perfcore(store)
    mia = Actor(id="mia", roles={"manager"})
    made = pc.job_descriptions.create(by=mia, id="jd-1", title="Engineer", department="Support")
    assert made.version == 1
    with store.unit_of_work() as uow:
        head = uow.events.head("JobDescription", "jd-1")
    assert head is not None
    assert (head.version, head.state) == (1, "draft")
    assert pc.verify_audit_log().intact
    store.close()


def test_a_database_in_memory_is_refused() -> None:
    with pytest.raises(ValidationError, match="must name a SQLite file"):
        SQLAlchemyStore("sqlite://")
