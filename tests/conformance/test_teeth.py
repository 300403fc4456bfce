"""The conformance suite has teeth: it fails each deliberately broken store, for its bug.

Each test writes a small test module that certifies a broken store the way an adapter author
would (``class TestCertified(<contract mixins>)``), runs it with ``pytest.main`` in this process
(see :mod:`tests.conformance.harness`), and checks which tests failed. The store comes from the
harness's ``store`` fixture, so the module imports nothing from these tests; its workflow
comparison runs without shrinking, since only the failure matters here.

A control run certifies the unbroken memory store through the same harness: every test passes,
so the failures below come from the bugs and not from the harness.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from tests.conformance.broken_stores import (
    DropsARowStore,
    HalfCommitStore,
    IgnoresVersionStore,
    UpdatableAuditStore,
)
from tests.conformance.harness import failed, run_module

from perfcore.adapters.memory import MemoryStore
from perfcore.ports import Store

MODULE = """
from hypothesis import Phase, settings

from perfcore.testing.conformance import {mixins}


class TestCertified({mixins}):
    supports_new_stores = True

    def new_store(self, store):
        return type(store)()

    def workflow_settings(self):
        return settings(
            max_examples=10, stateful_step_count=10, deadline=None, database=None,
            phases=[Phase.explicit, Phase.generate],
        )
"""


def certify(tmp_path: Path, make: Callable[[], Store], *mixins: str) -> dict[str, str]:
    """Run the contract ``mixins`` against stores ``make`` builds: each test's outcome."""
    return run_module(tmp_path, textwrap.dedent(MODULE.format(mixins=", ".join(mixins))), make)


def test_the_harness_passes_a_sound_store(tmp_path: Path) -> None:
    outcomes = certify(
        tmp_path, MemoryStore, "ObjectsContract", "QueriesContract", "ConcurrencyContract",
        "UnitOfWorkContract", "AuditLogContract",
    )  # fmt: skip
    assert set(outcomes.values()) <= {"passed", "skipped"}, failed(outcomes)
    assert "test_queries_give_the_reference_answer" in outcomes


def test_a_save_that_ignores_the_version_fails(tmp_path: Path) -> None:
    outcomes = certify(tmp_path, IgnoresVersionStore, "ObjectsContract", "ConcurrencyContract")
    assert failed(outcomes) >= {
        "test_save_from_another_version_is_refused_and_writes_nothing",
        "test_two_copies_loaded_at_one_version_exactly_one_save_wins",
        "test_threads_approving_one_plan_one_wins",
    }


def test_a_unit_of_work_that_commits_half_fails(tmp_path: Path) -> None:
    outcomes = certify(tmp_path, HalfCommitStore, "UnitOfWorkContract", "WorkflowContract")
    assert failed(outcomes) >= {
        "test_commit_makes_every_write_visible",
        "test_workflows_match_the_memory_reference",
    }


def test_an_audit_log_that_allows_an_update_fails(tmp_path: Path) -> None:
    outcomes = certify(tmp_path, UpdatableAuditStore, "AuditLogContract")
    assert failed(outcomes) >= {
        "test_append_must_follow_the_last_entry",
        "test_two_appends_of_one_sequence_cannot_both_commit",
    }


def test_a_query_that_drops_one_row_fails(tmp_path: Path) -> None:
    outcomes = certify(tmp_path, DropsARowStore, "QueriesContract")
    assert failed(outcomes) >= {
        "test_queries_give_the_reference_answer",
        "test_cycle_progress_matches_the_reference_store",
    }
