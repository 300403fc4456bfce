"""The JobDescription service: drafting, feedback, endorsement, and publishing within a lineage.

Publishing number n+1 of a lineage supersedes the published number n in the same unit of work:
both change, or neither does. A role description (``position_id``) takes its audience from the
directory, never from the caller: the position's holders on the day it is drafted, and again on
the day its feedback opens (:meth:`JobDescriptionService.open_feedback`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from perfcore._validate import check_id, check_optional_id, check_sequence, check_set
from perfcore.actor import Actor
from perfcore.errors import GuardFailed, ValidationError
from perfcore.job_description import (
    _EDITABLE,
    Criterion,
    JobDescription,
    JobDescriptionState,
)
from perfcore.services._commands import JobDescriptionCommands
from perfcore.services._runner import Session

__all__ = ["JobDescriptionService"]


class JobDescriptionService(JobDescriptionCommands):
    """Job descriptions: draft, feedback, endorse, publish (superseding), retire."""

    kind = JobDescription
    id_argument = "jd_id"
    editable = _EDITABLE

    def create(
        self,
        *,
        by: Actor | str,
        title: str,
        department: str,
        employee_id: str | None = None,
        position_id: str | None = None,
        author_id: str | None = None,
        responsibilities: Sequence[str] = (),
        criteria: Sequence[Criterion] = (),
        audience: Collection[str] = frozenset(),
        reason: str = "",
        id: str | None = None,
        idempotency_key: str | None = None,
    ) -> JobDescription:
        """Draft number 1 of a new lineage (see :meth:`JobDescription.create`).

        A role description names its ``position_id``; with a directory its audience is the
        position's holders that day, and an ``audience`` passed with it is refused.

        Raises:
            ValidationError: an ``audience`` for a role description, with a directory.
        """
        check_optional_id("id", id)
        check_optional_id("position_id", position_id)
        if position_id is not None and audience and self._runner.directory is not None:
            raise ValidationError(
                "audience",
                "a role description's audience is its position's holders in the directory,"
                " not a list the caller gives",
            )
        # Checked once, here: a bare string is refused, not split into its characters.
        responsibilities = check_sequence("responsibilities", responsibilities)
        criteria = check_sequence("criteria", criteria)
        audience = check_set("audience", audience)
        fields = {
            "title": title,
            "department": department,
            "employee_id": employee_id,
            "position_id": position_id,
            "author_id": author_id,
            "responsibilities": tuple(responsibilities),
            "criteria": tuple(criteria),
            "audience": frozenset(audience),
            "reason": reason,
        }

        def work(session: Session) -> JobDescription:
            actor = session.actor(by)
            new_id = id if id is not None else session.new_id("JobDescription")
            relations = actor.relations
            invited = frozenset(audience)
            if position_id is not None and relations is not None:
                invited = frozenset(relations.holders(position_id))
            jd = JobDescription.create(
                id=new_id, by=actor, at=session.at, policy=session.policy,
                title=title, department=department, employee_id=employee_id,
                position_id=position_id, author_id=author_id,
                responsibilities=tuple(responsibilities), criteria=tuple(criteria),
                audience=invited, reason=reason,
            )  # fmt: skip
            session.claim(LINEAGE, jd.lineage_id, "draft", actor.id, number=jd.number)
            return session.changed(jd)

        args = {"id": id, "by": by, **fields}
        return self._run("create", args, work, idempotency_key)

    def new_version(
        self,
        jd_id: str,
        *,
        by: Actor | str,
        author_id: str | None = None,
        reason: str = "",
        id: str | None = None,
        idempotency_key: str | None = None,
    ) -> JobDescription:
        """Draft the next number of ``jd_id``'s lineage, with its content.

        Raises:
            GuardFailed: ``jd_id`` is not the newest number of its lineage (a later one exists:
                draft from that one).
        """
        check_id("jd_id", jd_id)
        check_optional_id("id", id)

        def work(session: Session) -> JobDescription:
            actor = session.actor(by)
            source = session.load_for(actor, JobDescription, jd_id)
            session.claim(LINEAGE, source.lineage_id, "draft", actor.id, number=source.number + 1)
            _check_newest(session, source, "new_version")
            new_id = id if id is not None else session.new_id("JobDescription")
            draft = source.new_version(
                id=new_id, by=actor, at=session.at, author_id=author_id, reason=reason,
                policy=session.policy,
            )  # fmt: skip
            return session.changed(draft)

        args = {"jd_id": jd_id, "by": by, "author_id": author_id, "reason": reason, "id": id}
        return self._run("new_version", args, work, idempotency_key)

    def publish(
        self, jd_id: str, *, by: Actor | str, reason: str = "", idempotency_key: str | None = None
    ) -> JobDescription:
        """Publish the endorsed description and supersede the published one of its lineage,
        together.

        Raises:
            GuardFailed: a later number of the lineage is published already.
            PermissionDenied: ``by`` may not publish this one, or supersede the other.
        """
        check_id("jd_id", jd_id)

        def work(session: Session) -> JobDescription:
            actor = session.actor(by)
            jd = session.load_for(actor, JobDescription, jd_id)
            session.claim(LINEAGE, jd.lineage_id, "publish", actor.id, number=jd.number)
            published = jd.publish(by=actor, at=session.at, reason=reason, policy=session.policy)
            _check_newest(session, jd, "publish", published_only=True)
            session.changed(published)
            for old in _published(session, jd):
                why = f"superseded by number {jd.number} ({jd.id})"
                session.changed(
                    old.supersede(by=actor, at=session.at, reason=why, policy=session.policy)
                )
            return published

        args = {"jd_id": jd_id, "by": by, "reason": reason}
        return self._run("publish", args, work, idempotency_key)


#: The stream kind of a lineage: every number drafted and published in it appends an event with
#: the version the command found, so two racing commands on one lineage cannot both commit.
LINEAGE = "JobDescriptionLineage"


def _published(session: Session, jd: JobDescription) -> list[JobDescription]:
    """The other published numbers of ``jd``'s lineage, as this command sees them."""
    lineage = session.uow.job_descriptions.by_lineage(jd.lineage_id)
    return [
        session.load(JobDescription, other.id)
        for other in lineage
        if other.id != jd.id and other.state is JobDescriptionState.PUBLISHED
    ]


def _check_newest(
    session: Session, jd: JobDescription, trigger: str, *, published_only: bool = False
) -> None:
    """Refuse to act on ``jd`` when a later number of its lineage exists (or is published)."""
    for other in session.uow.job_descriptions.by_lineage(jd.lineage_id):
        later = other.number > jd.number
        if later and (not published_only or other.state is JobDescriptionState.PUBLISHED):
            what = "is published" if published_only else "exists"
            raise GuardFailed(
                "JobDescription",
                jd.id,
                str(jd.state),
                trigger,
                "newest number of its lineage",
                f"number {other.number} ({other.id}) of this lineage {what} already",
            )
