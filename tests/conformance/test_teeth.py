"""The conformance suite has teeth: it fails each deliberately broken store, for its bug.

Each test writes a small test module that certifies a store the way an adapter author would
(``class TestCertified(StoreContract)``, with the capabilities the memory store has), runs it with
``pytest.main`` in this process (see :mod:`tests.conformance.harness`), and checks which tests
failed. The store comes from the harness's ``store`` fixture, so the module imports nothing from
these tests; its property tests run briefly and without shrinking, since only the failure matters
here.

A control run certifies the unbroken memory store through the same harness: every test passes,
so the failures below come from the bugs and not from the harness.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conformance.broken_stores import (
    BROKEN,
    CaseInsensitiveStore,
    ErasureRehashesStore,
    HalfCommitStore,
    IgnoresExpectStore,
    IgnoresVersionStore,
    OlderSnapshotStore,
    RawErrorStore,
    ReaderWaitsStore,
    ReusedPositionStore,
    StaleColumnsStore,
    StaleFindStore,
    TailOnlyStore,
)
from tests.conformance.harness import Outcomes, failed, run_module

from perfcore.adapters.memory import MemoryStore
from perfcore.ports import Store

MODULE = """
import sqlite3

from hypothesis import Phase, settings

from perfcore.testing.conformance import {mixins}

QUICK = settings(
    max_examples=30, stateful_step_count=10, deadline=None, database=None,
    phases=[Phase.explicit, Phase.generate],
)
# A workflow example runs the services through a whole story: a few are enough here.
WORKFLOWS = settings(QUICK, max_examples=3)


class TestCertified({mixins}):
    supports_failure_injection = True
    supports_new_stores = True
    deadlock_guard = 10.0

    def break_store(self, store):
        store._inject_failure(lambda: sqlite3.OperationalError("disk I/O error"))

    def new_store(self, store):
        return type(store)()

    def hypothesis_settings(self):
        return QUICK

    def workflow_settings(self):
        return WORKFLOWS
"""


def certify(tmp_path: Path, make: Callable[[], Store], *mixins: str) -> Outcomes:
    """Run the contract ``mixins`` (by default all of it) against stores ``make`` builds: each
    test's outcome, by name."""
    names = ", ".join(mixins or ("StoreContract",))
    return run_module(tmp_path, textwrap.dedent(MODULE.format(mixins=names)), make)


def test_the_harness_passes_a_sound_store(tmp_path: Path) -> None:
    outcomes = certify(tmp_path, MemoryStore)
    assert set(outcomes.values()) <= {"passed", "skipped"}, failed(outcomes)
    passed = {name.split("[")[0] for name, outcome in outcomes.items() if outcome == "passed"}
    assert {
        "test_a_long_history_comes_back_whole",
        "test_find_answers_from_the_newest_heads_after_every_change",
        "test_a_failing_store_raises_storage_errors_only",
        "test_random_units_of_work_agree_with_a_model",
        "test_a_reader_finishes_while_a_writer_has_not_committed",
    } <= passed


#: For each broken store, tests of the suite that must fail it: each names its bug.
CAUGHT_BY: dict[type[Store], set[str]] = {
    StaleColumnsStore: {
        "test_find_answers_from_the_newest_heads_after_every_change",
        "test_random_units_of_work_agree_with_a_model",
    },
    StaleFindStore: {
        "test_find_answers_from_the_newest_heads_after_every_change",
        "test_random_units_of_work_agree_with_a_model",
    },
    CaseInsensitiveStore: {
        "test_ids_that_differ_only_in_case_are_different_streams",
        "test_random_units_of_work_agree_with_a_model",
    },
    TailOnlyStore: {"test_a_long_history_comes_back_whole"},
    IgnoresVersionStore: {
        "test_an_append_from_another_version_is_refused_and_writes_nothing",
        "test_an_absent_stream_can_only_be_created_from_version_0",
        "test_an_append_from_a_stale_read_is_refused",
        "test_threads_appending_to_one_stream_one_wins",
        "test_random_units_of_work_agree_with_a_model",
    },
    IgnoresExpectStore: {"test_a_commit_fails_if_an_expected_stream_moved_meanwhile"},
    HalfCommitStore: {"test_commit_makes_every_write_visible"},
    ReusedPositionStore: {"test_positions_are_never_reused_after_a_rollback_or_a_conflict"},
    ErasureRehashesStore: {"test_erase_replaces_every_body_and_nothing_else"},
    OlderSnapshotStore: {
        "test_the_newest_snapshot_is_kept",
        "test_the_newest_of_one_unit_of_work_is_kept",
    },
    RawErrorStore: {"test_a_failing_store_raises_storage_errors_only"},
    ReaderWaitsStore: {
        "test_a_reader_finishes_while_a_writer_has_not_committed",
        "test_writes_are_not_visible_to_others_before_commit",
    },
}


def test_every_broken_store_is_tried() -> None:
    assert set(CAUGHT_BY) == set(BROKEN.values())


#: Cases that take seconds (a reader held up behind a writer's lock), for the thorough run.
_SLOW = {"readers wait for writers"}


@pytest.mark.parametrize(
    "bug",
    [
        pytest.param(bug, marks=pytest.mark.thorough) if bug in _SLOW else bug
        for bug in sorted(BROKEN)
    ],
)
def test_the_suite_fails_a_broken_store_for_its_bug(tmp_path: Path, bug: str) -> None:
    store = BROKEN[bug]
    outcomes = certify(tmp_path, store)
    missed = CAUGHT_BY[store] - failed(outcomes)
    assert not missed, f"{bug}: the suite passed {sorted(missed)}"


# -- the process tests ----------------------------------------------------------------------------

PROCESSES = """
import functools

from perfcore.adapters.memory import MemoryStore
from perfcore.testing.conformance import ConcurrencyContract


class TestCertified(ConcurrencyContract):
    supports_processes = True
    deadlock_guard = 60.0

    def process_store_factory(self, store):
        return {factory}
"""


def certify_processes(tmp_path: Path, factory: str) -> Outcomes:
    """Run the process tests against a memory store, the child processes opening a store with
    ``factory`` (Python source)."""
    source = textwrap.dedent(PROCESSES.format(factory=factory))
    return run_module(tmp_path, source, MemoryStore, select="process")


def test_a_child_that_fails_is_reported_in_its_own_words(tmp_path: Path) -> None:
    outcomes = certify_processes(tmp_path, 'functools.partial(int, "no store here")')
    assert failed(outcomes) == {
        "test_a_child_process_appends_to_the_same_store",
        "test_processes_appending_to_one_stream_one_wins",
    }
    for report in outcomes.reports.values():
        assert "ValueError: invalid literal for int() with base 10: 'no store here'" in report
        assert "Traceback" in report


def test_a_store_that_processes_do_not_share_fails_the_process_tests(tmp_path: Path) -> None:
    # Each child opens an empty memory store of its own: the stream it loads is not there.
    outcomes = certify_processes(tmp_path, "MemoryStore")
    assert failed(outcomes) == {
        "test_a_child_process_appends_to_the_same_store",
        "test_processes_appending_to_one_stream_one_wins",
    }
    assert "conflicted" in outcomes.reports["test_a_child_process_appends_to_the_same_store"]
