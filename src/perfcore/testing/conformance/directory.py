"""The directory contract: an integrator's :class:`~perfcore.directory.Directory` answers who each
person is on a day, as the placements in force that day say.

The suite cannot write to an HR system, so it asks for a directory that holds given placements:
implement :meth:`DirectoryContract.directory_holding`::

    class TestMyDirectory(DirectoryContract):
        def directory_holding(self, placements):
            load_into_a_test_copy_of_the_hr_system(placements)
            return MyDirectory(...)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from perfcore.actor import Role
from perfcore.directory import Directory, Person, Placement

__all__ = ["DirectoryContract"]

_SINCE = dt.date(2020, 1, 1)
_MOVE = dt.date(2026, 3, 1)
_LEFT = dt.date(2026, 6, 30)


def _placed(
    person_id: str,
    on: dt.date,
    manager_id: str | None = None,
    department: str | None = None,
    roles: frozenset[Role] = frozenset({Role.EMPLOYEE}),
    position: str | None = None,
) -> Placement:
    person = Person(
        id=person_id, manager_id=manager_id, department=department, roles=roles, position=position
    )
    return Placement(effective=on, person_id=person_id, person=person)


_EMPLOYEE = frozenset({Role.EMPLOYEE})

#: mia manages ben; ben manages ana and bo until ana moves to mia on 1 March 2026, from agent to
#: lead; bo, an agent, leaves on 30 June 2026; "ANA" is another person than "ana".
ORGANISATION: tuple[Placement, ...] = (
    _placed("mia", _SINCE, department="Support", roles=frozenset({Role.MANAGER, Role.EMPLOYEE})),
    _placed("ben", _SINCE, "mia", "Support", frozenset({Role.MANAGER, Role.EMPLOYEE})),
    _placed("ana", _SINCE, "ben", "Support", _EMPLOYEE, "agent"),
    _placed("ana", _MOVE, "mia", "Support", _EMPLOYEE, "lead"),
    _placed("bo", _SINCE, "ben", "Support", _EMPLOYEE, "agent"),
    Placement(effective=_LEFT, person_id="bo", person=None),
    _placed("ANA", _SINCE, "mia", "Sales", frozenset({Role.HR})),
)


class DirectoryContract:
    """What every directory must answer.

    .. versionadded:: 0.2.0
    """

    def directory_holding(self, placements: Sequence[Placement]) -> Directory:
        """A directory that holds exactly ``placements`` (override)."""
        raise NotImplementedError("define directory_holding(placements) for your directory")

    def _organisation(self) -> Directory:
        return self.directory_holding(ORGANISATION)

    def test_a_person_is_who_the_placement_in_force_says(self) -> None:
        directory = self._organisation()
        before = directory.person("ana", _MOVE - dt.timedelta(days=1))
        after = directory.person("ana", _MOVE)
        assert before == _placed("ana", _SINCE, "ben", "Support", _EMPLOYEE, "agent").person
        assert after == _placed("ana", _MOVE, "mia", "Support", _EMPLOYEE, "lead").person

    def test_nobody_is_there_before_their_first_day_or_from_the_day_they_leave(self) -> None:
        directory = self._organisation()
        assert directory.person("ana", _SINCE - dt.timedelta(days=1)) is None
        assert directory.person("bo", _LEFT - dt.timedelta(days=1)) is not None
        assert directory.person("bo", _LEFT) is None
        assert directory.person("zed", _MOVE) is None

    def test_roles_and_departments_come_back_as_placed(self) -> None:
        directory = self._organisation()
        mia = directory.person("mia", _MOVE)
        assert mia is not None
        assert (mia.roles, mia.department, mia.manager_id) == (
            frozenset({Role.MANAGER, Role.EMPLOYEE}),
            "Support",
            None,
        )

    def test_ids_are_exact(self) -> None:
        directory = self._organisation()
        upper = directory.person("ANA", _MOVE)
        assert upper is not None
        assert (upper.department, upper.roles) == ("Sales", frozenset({Role.HR}))
        assert directory.person("Ana", _MOVE) is None

    def test_direct_reports_on_a_day_sorted(self) -> None:
        directory = self._organisation()
        assert tuple(directory.reports("ben", _MOVE - dt.timedelta(days=1))) == ("ana", "bo")
        assert tuple(directory.reports("ben", _MOVE)) == ("bo",)
        assert tuple(directory.reports("ben", _LEFT)) == ()
        assert tuple(directory.reports("mia", _MOVE)) == ("ANA", "ana", "ben")
        assert tuple(directory.reports("nobody", _MOVE)) == ()

    def test_the_holders_of_a_position_on_a_day_sorted(self) -> None:
        directory = self._organisation()
        assert tuple(directory.holders("agent", _MOVE - dt.timedelta(days=1))) == ("ana", "bo")
        assert tuple(directory.holders("agent", _MOVE)) == ("bo",)
        assert tuple(directory.holders("lead", _MOVE)) == ("ana",)
        assert tuple(directory.holders("agent", _LEFT)) == ()  # bo left; ana is a lead
        assert tuple(directory.holders("lead", _SINCE - dt.timedelta(days=1))) == ()
        assert tuple(directory.holders("Agent", _MOVE)) == ()
        ana = directory.person("ana", _MOVE)
        assert ana is not None
        assert ana.position == "lead"
