"""The worked example of docs/testing.md ("Certifying your adapter") certifies a store as it is
written: its fixture and hooks work, and a capability it leaves out is skipped, saying so."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.conformance.harness import run_module

from perfcore.adapters.sqlite import SQLiteStore

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"

#: A few tests that need the example's fixture and each of its hooks (the whole suite runs in
#: tests/adapters, on the same store).
SELECTED = " or ".join(
    [
        "test_events_come_back_exactly_in_order_after_any_version",
        "test_processes_appending_to_one_stream_one_wins",
        "test_a_failing_store_raises_storage_errors_only",
    ]
)


def example() -> str:
    """The first Python block after the "A worked example" heading."""
    section = PAGE.read_text(encoding="utf-8").split("### A worked example", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_worked_example_certifies_its_store(tmp_path: Path) -> None:
    outcomes = run_module(tmp_path, example(), select=SELECTED)
    assert outcomes == {
        "test_events_come_back_exactly_in_order_after_any_version": "passed",
        "test_processes_appending_to_one_stream_one_wins": "passed",
        "test_a_failing_store_raises_storage_errors_only": "skipped",
    }


def test_the_worked_example_makes_new_stores_of_its_own(tmp_path: Path) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(example(), str(PAGE), "exec"), namespace)
    first = SQLiteStore(tmp_path / "perfcore.sqlite3")
    made = namespace["TestMyStore"]().new_store(first)
    assert isinstance(made, SQLiteStore)
    assert made.path != first.path
    made.close()
    first.close()
