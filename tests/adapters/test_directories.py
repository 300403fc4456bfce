"""The shipped directories pass the directory contract."""

from __future__ import annotations

from collections.abc import Sequence

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
                department=person.department, roles=person.roles,
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
