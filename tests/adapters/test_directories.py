"""The shipped directories pass the directory contract."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from perfcore.adapters.sqlite_directory import SQLiteDirectory
from perfcore.directory import Directory, MemoryDirectory, Placement
from perfcore.testing.conformance import DirectoryContract


def _fill(directory: MemoryDirectory | SQLiteDirectory, placements: Sequence[Placement]) -> None:
    for placement in placements:
        person = placement.person
        if person is None:
            directory.leave(placement.person_id, on=placement.effective)
        else:
            directory.place(
                person.id, on=placement.effective, manager_id=person.manager_id,
                department=person.department, roles=person.roles, position=person.position,
            )  # fmt: skip


class TestMemoryDirectory(DirectoryContract):
    def directory_holding(self, placements: Sequence[Placement]) -> Directory:
        directory = MemoryDirectory()
        _fill(directory, placements)
        return directory


class TestSQLiteDirectory(DirectoryContract):
    def directory_holding(self, placements: Sequence[Placement]) -> Directory:
        directory = SQLiteDirectory(":memory:")
        _fill(directory, placements)
        assert list(directory.placements()) == sorted(
            placements, key=lambda p: (p.person_id, p.effective)
        )
        return directory


def test_a_sqlite_file_from_before_positions_gains_the_column(tmp_path: Path) -> None:
    """A directory file written before positions were kept opens, keeps its placements (with
    no position), and takes placements in positions from then on."""
    path = tmp_path / "org.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE directory_placements (person TEXT NOT NULL, effective TEXT NOT NULL,"
            " present INTEGER NOT NULL CHECK (present IN (0, 1)), manager TEXT, department TEXT,"
            " roles TEXT NOT NULL, PRIMARY KEY (person, effective))"
        )
        conn.execute(
            "INSERT INTO directory_placements VALUES ('ana', '2020-01-01', 1, 'ben', NULL,"
            " '[\"employee\"]')"
        )
    conn.close()
    directory = SQLiteDirectory(path)
    ana = directory.person("ana", dt.date(2026, 1, 1))
    assert ana is not None
    assert (ana.manager_id, ana.position) == ("ben", None)
    directory.place("ana", on=dt.date(2026, 2, 1), manager_id="ben", position="agent")
    assert directory.holders("agent", dt.date(2026, 2, 1)) == ("ana",)
    assert directory.holders("agent", dt.date(2026, 1, 31)) == ()
    directory.close()
    reopened = SQLiteDirectory(path)  # the column is there: nothing to add again
    assert reopened.holders("agent", dt.date(2026, 2, 1)) == ("ana",)
    reopened.close()
