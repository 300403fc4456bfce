"""The organisation as perfcore sees it: people, their manager, department and roles, by date.

The services judge every command by the directory on the command's own date, never by what the
caller claims: who manages whom, who is HR, who approves for a department. An integrator
implements :class:`Directory` over their HR system (or keeps it in perfcore's, see
:class:`MemoryDirectory` and :class:`perfcore.adapters.sqlite_directory.SQLiteDirectory`) and
certifies it with :class:`perfcore.testing.conformance.DirectoryContract`.

Reporting lines change with time: each fact about a person is a :class:`Placement` effective from a
day until the next one (or their leaving). A question "on a day" is answered by the placement in
force that day.

>>> import datetime as dt
>>> directory = MemoryDirectory()
>>> directory.place("mia", on=dt.date(2020, 1, 1), department="Support", roles={"manager"})
>>> directory.place("ben", on=dt.date(2020, 1, 1), manager_id="mia", roles={"manager"})
>>> directory.place("ana", on=dt.date(2024, 3, 1), manager_id="ben")
>>> directory.place("ana", on=dt.date(2026, 1, 1), manager_id="mia")
>>> directory.person("ana", dt.date(2025, 6, 1)).manager_id
'ben'
>>> directory.reports("mia", dt.date(2026, 2, 1))
('ana', 'ben')
>>> directory.place("cy", on=dt.date(2024, 3, 1), manager_id="ben", position="support-engineer")
>>> directory.holders("support-engineer", dt.date(2026, 2, 1))
('cy',)
>>> mia = directory.person("mia", dt.date(2025, 6, 1))
>>> Relations(directory, dt.date(2025, 6, 1), mia).manages("ana")
True
"""

from __future__ import annotations

import abc
import bisect
import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from perfcore._validate import check_date, identifier, optional_identifier, optional_text
from perfcore.actor import Actor, Role, _to_roles
from perfcore.errors import PermissionDenied, ValidationError

__all__ = [
    "Directory",
    "MemoryDirectory",
    "PlacedDirectory",
    "Person",
    "Placement",
    "Relations",
    "resolve_actor",
]

#: How far up a reporting line perfcore walks before it calls the line a loop.
_DEEPEST_LINE = 64


@attrs.frozen(kw_only=True)
class Person:
    """A person on one day: whom they report to, their department, their roles, their position.

    Attributes:
        id: their id in the HR system.
        manager_id: their manager's id (``None`` at the top of the organisation).
        department: their department, if any.
        roles: what they may act as (:class:`~perfcore.actor.Role`).
        position: the id of the position (the job, "support-engineer") they hold that day, if
            any: the role a role description describes (``JobDescription.position_id``). Many
            people may hold one position.
    """

    id: str = attrs.field(validator=identifier)
    manager_id: str | None = attrs.field(default=None, validator=optional_identifier)
    department: str | None = attrs.field(default=None, validator=optional_text)
    roles: frozenset[Role] = attrs.field(default=frozenset({Role.EMPLOYEE}), converter=_to_roles)
    position: str | None = attrs.field(default=None, validator=optional_identifier)

    def __attrs_post_init__(self) -> None:
        if self.manager_id == self.id:
            raise ValidationError("manager_id", f"{self.id!r} cannot be their own manager")


def _day(value: object) -> dt.date:
    return check_date("on", value)


@attrs.frozen(kw_only=True)
class Placement:
    """A fact about a person, in force from ``effective`` until the next one.

    Attributes:
        effective: the first day it holds.
        person: who they are that day, or ``None`` from the day they left.
    """

    effective: dt.date = attrs.field(converter=_day)
    person_id: str = attrs.field(validator=identifier)
    person: Person | None


@runtime_checkable
class Directory(Protocol):
    """The organisation, by date: the port an integrator implements over their HR system."""

    def person(self, id: str, on: dt.date) -> Person | None:
        """Who ``id`` is on day ``on``; ``None`` if they were not (or no longer) in the
        organisation."""
        ...

    def reports(self, manager_id: str, on: dt.date) -> Sequence[str]:
        """The ids of the people who report directly to ``manager_id`` on day ``on``, sorted."""
        ...

    def holders(self, position: str, on: dt.date) -> Sequence[str]:
        """The ids of the people who hold ``position`` on day ``on``, sorted: the audience of
        its role description, and who a cycle measures against it."""
        ...


class PlacedDirectory(abc.ABC):
    """What every directory perfcore keeps itself shares: :meth:`place` and :meth:`leave` build
    a checked :class:`Placement` and hand it to the subclass's ``_record``."""

    def place(
        self,
        person_id: str,
        *,
        on: dt.date,
        manager_id: str | None = None,
        department: str | None = None,
        roles: Iterable[Role | str] = (Role.EMPLOYEE,),
        position: str | None = None,
    ) -> None:
        """Record who ``person_id`` is from day ``on`` (hired, moved, promoted): every fact
        at once, since the placement in force is the whole of who they are that day.

        Raises:
            ValidationError: a field is not acceptable, or a placement on that day exists.
        """
        person = Person(
            id=person_id,
            manager_id=manager_id,
            department=department,
            roles=frozenset(roles),
            position=position,
        )
        self._record(Placement(effective=on, person_id=person_id, person=person))

    def leave(self, person_id: str, *, on: dt.date) -> None:
        """Record that ``person_id`` leaves the organisation on day ``on``.

        Raises:
            ValidationError: the id or the day is not acceptable, or a placement on that day
                exists.
        """
        self._record(Placement(effective=on, person_id=person_id, person=None))

    @abc.abstractmethod
    def _record(self, placement: Placement) -> None:
        """Keep ``placement``; ValidationError if the person has one on that day already."""


class MemoryDirectory(PlacedDirectory):
    """A directory kept in memory: placements by person, each list in date order.

    Implements :class:`Directory`; thread-safe.
    """

    def __init__(self) -> None:
        self._placements: dict[str, list[Placement]] = {}
        #: Everyone ever placed under a manager, so ``reports`` looks at those people only.
        self._ever_under: dict[str, set[str]] = {}
        #: Everyone ever placed in a position, so ``holders`` looks at those people only.
        self._ever_in: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def _record(self, placement: Placement) -> None:
        with self._lock:
            placements = self._placements.setdefault(placement.person_id, [])
            days = [known.effective for known in placements]
            index = bisect.bisect_left(days, placement.effective)
            if index < len(days) and days[index] == placement.effective:
                raise ValidationError(
                    "on", f"{placement.person_id!r} has a placement on {placement.effective}"
                )
            placements.insert(index, placement)
            if placement.person is not None and placement.person.manager_id is not None:
                self._ever_under.setdefault(placement.person.manager_id, set()).add(
                    placement.person_id
                )
            if placement.person is not None and placement.person.position is not None:
                self._ever_in.setdefault(placement.person.position, set()).add(placement.person_id)

    def person(self, id: str, on: dt.date) -> Person | None:
        """Who ``id`` is on day ``on``, or ``None``."""
        with self._lock:
            placements = self._placements.get(id, [])
            days = [known.effective for known in placements]
            index = bisect.bisect_right(days, on) - 1
            return placements[index].person if index >= 0 else None

    def reports(self, manager_id: str, on: dt.date) -> tuple[str, ...]:
        """Who reports directly to ``manager_id`` on day ``on``, sorted."""
        with self._lock:
            candidates = sorted(self._ever_under.get(manager_id, ()))
        found = []
        for candidate in candidates:
            person = self.person(candidate, on)
            if person is not None and person.manager_id == manager_id:
                found.append(candidate)
        return tuple(found)

    def holders(self, position: str, on: dt.date) -> tuple[str, ...]:
        """Who holds ``position`` on day ``on``, sorted."""
        with self._lock:
            candidates = sorted(self._ever_in.get(position, ()))
        found = []
        for candidate in candidates:
            person = self.person(candidate, on)
            if person is not None and person.position == position:
                found.append(candidate)
        return tuple(found)

    def placements(self) -> Iterable[Placement]:
        """Every placement, by person, then date (to copy a directory elsewhere)."""
        with self._lock:
            return [p for person in sorted(self._placements) for p in self._placements[person]]


class Relations:
    """What the directory says about one acting person on one day: the facts relationship
    rules read (``actor.relations``), and the grounds an event records.

    Args:
        directory: the organisation.
        on: the day of the command.
        person: the acting person as the directory has them that day.
    """

    def __init__(self, directory: Directory, on: dt.date, person: Person) -> None:
        self.directory = directory
        self.on = on
        self.person = person
        self._managers: dict[str, tuple[str, ...]] = {}

    def manager_of(self, person_id: object) -> str | None:
        """``person_id``'s manager that day (``None`` at the top, or if not in the directory)."""
        if not isinstance(person_id, str):
            return None
        found = self.directory.person(person_id, self.on)
        return None if found is None else found.manager_id

    def line_above(self, person_id: object) -> tuple[str, ...]:
        """``person_id``'s managers that day, nearest first, up to the top."""
        if not isinstance(person_id, str):
            return ()
        if person_id not in self._managers:
            line: list[str] = []
            current = self.manager_of(person_id)
            while current is not None and current not in line and len(line) < _DEEPEST_LINE:
                line.append(current)
                current = self.manager_of(current)
            self._managers[person_id] = tuple(line)
        return self._managers[person_id]

    def manages(self, person_id: object) -> bool:
        """Whether the acting person is ``person_id``'s manager, or a manager above them."""
        return self.person.id in self.line_above(person_id)

    def holders(self, position: str) -> tuple[str, ...]:
        """Who holds ``position`` that day, sorted."""
        return tuple(self.directory.holders(position, self.on))

    def manages_directly(self, person_id: object) -> bool:
        """Whether the acting person is ``person_id``'s manager that day."""
        return self.manager_of(person_id) == self.person.id

    def grounds(self) -> dict[str, Any]:
        """The directory facts about the acting person that day, as JSON data: what an event
        records so that a decision can be shown to have been allowed later, whatever the HR
        system says by then."""
        return {
            "on": self.on.isoformat(),
            "roles": sorted(role.value for role in self.person.roles),
            "department": self.person.department,
            "manager": self.person.manager_id,
            **({"position": self.person.position} if self.person.position is not None else {}),
        }


def resolve_actor(directory: Directory, claimed: Actor | str, on: dt.date) -> Actor:
    """The acting person as the directory has them on day ``on``, with their relations.

    ``claimed`` is the caller's word: an id, or an :class:`~perfcore.actor.Actor` whose roles
    and department must be the directory's (a claim beyond them is refused, not trimmed: the
    caller's code is wrong, or someone is trying something).

    Raises:
        PermissionDenied: the person is not in the directory that day, or claims a role or a
            department the directory does not give them.
        ValidationError: ``claimed`` is neither an id nor an Actor.
    """
    if isinstance(claimed, Actor):
        person_id = claimed.id
    elif isinstance(claimed, str):
        person_id = Actor(id=claimed).id  # the same check of the id as an Actor makes
    else:
        raise ValidationError(
            "by", f"must be a person's id or an Actor, not {type(claimed).__name__}"
        )
    person = directory.person(person_id, on)
    if person is None:
        raise PermissionDenied(
            person_id, "Directory", person_id, "act", f"people in the directory on {on}"
        )
    if isinstance(claimed, Actor):
        extra = claimed.roles - person.roles
        if extra:
            names = ", ".join(sorted(role.value for role in extra))
            raise PermissionDenied(
                person_id, "Directory", person_id, f"act as {names}",
                f"people the directory gives that role on {on}",
            )  # fmt: skip
        if claimed.department is not None and claimed.department != person.department:
            raise PermissionDenied(
                person_id, "Directory", person_id, f"act for {claimed.department}",
                f"members of that department on {on}",
            )  # fmt: skip
    return Actor(
        id=person.id,
        roles=person.roles,
        department=person.department,
        relations=Relations(directory, on, person),
    )
