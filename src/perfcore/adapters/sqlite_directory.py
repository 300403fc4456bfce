"""The directory kept in a SQLite file, beside (or apart from) the store's own tables.

For an organisation that keeps its reporting lines in perfcore rather than answering from its HR
system: :class:`SQLiteDirectory` implements :class:`perfcore.directory.Directory` over one table of
placements, each in force from its day until the next.

>>> import datetime as dt
>>> directory = SQLiteDirectory(":memory:")
>>> directory.place("ben", on=dt.date(2020, 1, 1), roles={"manager"})
>>> directory.place("ana", on=dt.date(2020, 1, 1), manager_id="ben")
>>> directory.person("ana", dt.date(2026, 1, 1)).manager_id
'ben'
>>> directory.reports("ben", dt.date(2026, 1, 1))
('ana',)
>>> directory.place("bo", on=dt.date(2021, 1, 1), manager_id="ben", position="support-engineer")
>>> directory.holders("support-engineer", dt.date(2026, 1, 1))
('bo',)

A file written before positions were kept gains the ``position`` column (empty: nobody holds a
position until placed in one) the first time it is opened.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Final

from perfcore.adapters.sqlite import translate
from perfcore.directory import Person, PlacedDirectory, Placement
from perfcore.errors import ValidationError

__all__ = ["SQLiteDirectory"]

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS directory_placements (
        person TEXT NOT NULL,
        effective TEXT NOT NULL,
        present INTEGER NOT NULL CHECK (present IN (0, 1)),
        manager TEXT,
        department TEXT,
        roles TEXT NOT NULL,
        position TEXT,
        PRIMARY KEY (person, effective)
    )""",
    "CREATE INDEX IF NOT EXISTS directory_by_manager ON directory_placements (manager, person)",
)
#: A file made before positions were kept gains the column, then its index.
_ADD_POSITION: Final = "ALTER TABLE directory_placements ADD COLUMN position TEXT"
_BY_POSITION: Final = (
    "CREATE INDEX IF NOT EXISTS directory_by_position ON directory_placements (position, person)"
)
_AT: Final = (
    "SELECT present, manager, department, roles, position FROM directory_placements"
    " WHERE person = ? AND effective <= ? ORDER BY effective DESC LIMIT 1"
)
_EVER_UNDER: Final = "SELECT DISTINCT person FROM directory_placements WHERE manager = ?"
_EVER_IN: Final = "SELECT DISTINCT person FROM directory_placements WHERE position = ?"
_INSERT: Final = (
    "INSERT INTO directory_placements"
    " (person, effective, present, manager, department, roles, position)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_ALL: Final = (
    "SELECT person, effective, present, manager, department, roles, position"
    " FROM directory_placements ORDER BY person, effective"
)


class SQLiteDirectory(PlacedDirectory):
    """A directory in a SQLite file (``":memory:"`` for a private one).

    Implements :class:`perfcore.directory.Directory`; one connection, shared by threads under
    a lock (the directory is read far more than written, and each read is one indexed row).
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            for statement in _SCHEMA:
                self._conn.execute(statement)
            columns = {
                row[1] for row in self._conn.execute("PRAGMA table_info(directory_placements)")
            }
            if "position" not in columns:
                self._conn.execute(_ADD_POSITION)
            self._conn.execute(_BY_POSITION)
        except sqlite3.Error as error:
            raise translate(error, self.path) from error

    def _record(self, placement: Placement) -> None:
        person = placement.person
        values: tuple[object, ...] = (0, None, None, "[]", None)
        if person is not None:
            roles = json.dumps(sorted(role.value for role in person.roles))
            values = (1, person.manager_id, person.department, roles, person.position)
        day = placement.effective.isoformat()
        try:
            with self._lock:
                self._conn.execute(_INSERT, (placement.person_id, day, *values))
        except sqlite3.IntegrityError:
            who = placement.person_id
            raise ValidationError("on", f"{who!r} has a placement on {day}") from None
        except sqlite3.Error as error:
            raise translate(error, self.path) from error

    def person(self, id: str, on: dt.date) -> Person | None:
        """Who ``id`` is on day ``on``, or ``None``."""
        try:
            with self._lock:
                row = self._conn.execute(_AT, (id, on.isoformat())).fetchone()
        except sqlite3.Error as error:
            raise translate(error, self.path) from error
        if row is None or not row[0]:
            return None
        _present, manager, department, roles, position = row
        return Person(
            id=id,
            manager_id=manager,
            department=department,
            roles=json.loads(roles),
            position=position,
        )

    def reports(self, manager_id: str, on: dt.date) -> tuple[str, ...]:
        """Who reports directly to ``manager_id`` on day ``on``, sorted."""
        return tuple(
            candidate
            for candidate, person in self._candidates(_EVER_UNDER, manager_id, on)
            if person.manager_id == manager_id
        )

    def holders(self, position: str, on: dt.date) -> tuple[str, ...]:
        """Who holds ``position`` on day ``on``, sorted."""
        return tuple(
            candidate
            for candidate, person in self._candidates(_EVER_IN, position, on)
            if person.position == position
        )

    def _candidates(self, query: str, value: str, on: dt.date) -> list[tuple[str, Person]]:
        """Everyone ``query`` finds ever placed so, as they are on ``on`` (if still there)."""
        try:
            with self._lock:
                candidates = [row[0] for row in self._conn.execute(query, (value,))]
        except sqlite3.Error as error:
            raise translate(error, self.path) from error
        found = []
        for candidate in sorted(candidates):
            person = self.person(candidate, on)
            if person is not None:
                found.append((candidate, person))
        return found

    def placements(self) -> list[Placement]:
        """Every placement, by person, then date."""
        with self._lock:
            rows = self._conn.execute(_ALL).fetchall()
        return [
            Placement(
                effective=dt.date.fromisoformat(effective),
                person_id=person,
                person=Person(
                    id=person,
                    manager_id=manager,
                    department=department,
                    roles=json.loads(roles),
                    position=position,
                )
                if present
                else None,
            )
            for person, effective, present, manager, department, roles, position in rows
        ]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
