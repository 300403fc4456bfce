"""The Note driver: bo praises ana, whom ben manages; hana is HR."""

from __future__ import annotations

import datetime as dt

from perfcore.actor import Actor, Role
from perfcore.note import Note
from perfcore.testing.drivers import EPOCH, Driver

__all__ = ["NoteDriver"]

AUTHOR = Actor(id="bo", roles={Role.EMPLOYEE})
HR = Actor(id="hana", roles={Role.HR})


class NoteDriver(Driver[Note]):
    """Drives bo's praise of ana."""

    kind = Note

    def create(self, id: str = "x-1") -> Note:
        return Note.create(
            id=id,
            by=AUTHOR,
            at=EPOCH,
            author_id=AUTHOR.id,
            subject_id="ana",
            kind="praise",
            text="Took my on-call shift at a day's notice.",
        )

    def fire(self, obj: Note, trigger: str, dest: str | None = None) -> Note:
        at = EPOCH + dt.timedelta(days=1)
        if trigger == "edit":
            return obj.edit(by=AUTHOR, at=at, text="Took my on-call shift, twice.")
        if trigger == "withdraw":
            return obj.withdraw(by=AUTHOR, at=at, reason="posted twice")
        raise ValueError(f"Note has no trigger {trigger!r}")
