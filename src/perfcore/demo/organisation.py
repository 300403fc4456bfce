"""A made-up organisation, the same for the same seed: departments, managers and people.

>>> from perfcore.demo.organisation import generate
>>> org = generate(50, seed=7, departments=3)
>>> len(org), org.head.id, org.head.manager_id, org.departments
(50, 'p000000', None, ('people', 'engineering', 'support', 'sales'))
>>> org == generate(50, seed=7, departments=3), org == generate(50, seed=8, departments=3)
(True, False)
>>> ana = org.members[20]
>>> org.member(ana.manager_id).department == ana.department or ana.manager_id == org.head.id
True
>>> sorted({m.department for m in org.members[1:]}) == sorted(org.departments)
True

The head of the organisation manages the department heads; within a department each manager
has up to ``span`` direct reports. One department, ``people`` (HR), holds HR and the plan
approvers. Ids are ``p`` and six digits (``p000000`` is the head), in the order the members were
made: the head, then each department's members from its head down.

:meth:`Organisation.directory` places everyone in a :class:`~perfcore.directory.MemoryDirectory`;
:meth:`Organisation.participants` gives a review cycle's participants (everyone but the head,
who has no manager to evaluate them).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence

import attrs

from perfcore.actor import Role
from perfcore.cycle_status import Participant
from perfcore.directory import MemoryDirectory
from perfcore.errors import ValidationError

__all__ = ["HR_DEPARTMENT", "Member", "Organisation", "generate"]

#: The HR department: its members are HR and approve plans for the organisation.
HR_DEPARTMENT = "people"
_DEPARTMENT_NAMES = (
    "engineering",
    "support",
    "sales",
    "operations",
    "finance",
    "marketing",
    "legal",
    "research",
    "logistics",
    "product",
)


@attrs.frozen(kw_only=True)
class Member:
    """One person of the organisation.

    Attributes:
        id: their id (``p`` and six digits).
        department: their department.
        manager_id: their direct manager (``None`` for the head of the organisation).
        roles: what they act as (``employee`` always; ``manager`` when someone reports to them;
            ``hr`` and ``approver`` in the HR department).
    """

    id: str
    department: str
    manager_id: str | None
    roles: frozenset[Role]


@attrs.frozen
class Organisation:
    """A generated organisation: its members (the head first) and its departments."""

    members: tuple[Member, ...]
    departments: tuple[str, ...]
    _by_id: dict[str, int] = attrs.field(init=False, eq=False, repr=False)
    _reports: dict[str, tuple[str, ...]] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {m.id: n for n, m in enumerate(self.members)})
        reports: dict[str, list[str]] = {}
        for member in self.members:
            if member.manager_id is not None:
                reports.setdefault(member.manager_id, []).append(member.id)
        object.__setattr__(self, "_reports", {k: tuple(v) for k, v in reports.items()})

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members)

    @property
    def head(self) -> Member:
        """The head of the organisation (no manager)."""
        return self.members[0]

    def member(self, id: str) -> Member:
        """The member with ``id``.

        Raises:
            ValidationError: nobody has that id.
        """
        found = self._by_id.get(id)
        if found is None:
            raise ValidationError("id", f"{id!r} is not a member of the organisation")
        return self.members[found]

    def reports(self, manager_id: str) -> tuple[str, ...]:
        """The direct reports of ``manager_id``, in order."""
        return self._reports.get(manager_id, ())

    def in_department(self, department: str) -> list[Member]:
        """The members of ``department``, in order."""
        return [m for m in self.members if m.department == department]

    @property
    def hr(self) -> list[Member]:
        """The members of the HR department."""
        return self.in_department(HR_DEPARTMENT)

    def neighbours(self, id: str, count: int) -> list[str]:
        """``count`` other members after ``id`` in order (wrapping), the head never among them:
        colleagues to ask for feedback."""
        start = self._by_id[id]
        size = len(self.members)
        found: list[str] = []
        step = 1
        while len(found) < count and step < size:
            other = self.members[(start + step) % size]
            if other.manager_id is not None:
                found.append(other.id)
            step += 1
        return found

    def participants(self) -> list[Participant]:
        """Everyone but the head, each with their manager: a review cycle's participants."""
        return [
            Participant(employee_id=m.id, manager_id=m.manager_id)
            for m in self.members
            if m.manager_id is not None
        ]

    def directory(self, on: dt.date) -> MemoryDirectory:
        """A directory with every member placed from day ``on``."""
        found = MemoryDirectory()
        for m in self.members:
            found.place(
                m.id, on=on, manager_id=m.manager_id, department=m.department, roles=m.roles
            )
        return found


def _sizes(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights``, each at least 1."""
    whole = sum(weights)
    sizes = [max(1, int(total * w / whole)) for w in weights]
    sizes[0] += total - sum(sizes)
    return sizes


def generate(
    size: int, *, seed: int = 0, span: int = 8, departments: int | None = None
) -> Organisation:
    """An organisation of ``size`` people, the same for the same arguments.

    Args:
        size: how many people, the head included (at least 5).
        seed: which organisation: department sizes vary with it.
        span: the most direct reports a manager has (at least 2).
        departments: how many departments besides HR (default: one for about 2,000 people,
            from 1 to 10).

    Raises:
        ValidationError: an argument out of range.
    """
    for name, value, least in (("size", size, 5), ("span", span, 2), ("seed", seed, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValidationError(name, f"must be a whole number of at least {least}")
    if departments is None:
        departments = min(len(_DEPARTMENT_NAMES), max(1, size // 2000))
    if not isinstance(departments, int) or not 1 <= departments <= len(_DEPARTMENT_NAMES):
        raise ValidationError("departments", f"must be from 1 to {len(_DEPARTMENT_NAMES)}")
    rng = random.Random(seed)
    names = _DEPARTMENT_NAMES[:departments]
    # HR is about 2% of the organisation, never fewer than 4 (so that a plan's approver and an
    # evaluation's independent HR are never its author, subject or evaluator).
    hr_size = max(4, (size - 1) // 50)
    rest = size - 1 - hr_size
    if rest < departments:
        raise ValidationError("size", f"is too small for {departments} departments and HR")
    sizes = [hr_size, *_sizes(rest, [rng.uniform(0.5, 1.5) for _ in names])]
    members = [
        Member(
            id="p000000",
            department="leadership",
            manager_id=None,
            roles=frozenset({Role.EMPLOYEE, Role.MANAGER}),
        )
    ]
    for department, count in zip((HR_DEPARTMENT, *names), sizes, strict=True):
        first = len(members)
        for n in range(count):
            # A balanced tree: the department's n-th member reports to its ((n - 1) // span)-th.
            manager = members[0].id if n == 0 else f"p{first + (n - 1) // span:06d}"
            roles = {Role.EMPLOYEE}
            if n * span + 1 < count:
                roles.add(Role.MANAGER)
            if department == HR_DEPARTMENT:
                roles |= {Role.HR, Role.APPROVER}
            members.append(
                Member(
                    id=f"p{len(members):06d}",
                    department=department,
                    manager_id=manager,
                    roles=frozenset(roles),
                )
            )
    return Organisation(tuple(members), (HR_DEPARTMENT, *names))
