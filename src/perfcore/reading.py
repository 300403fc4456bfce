"""Who may read what: the default ``(type, "read")`` rules of the policy.

Reading is authorised like acting: each aggregate type has a ``read`` rule in the policy's table
(:meth:`perfcore.policy.Policy.table` shows them, :meth:`~perfcore.policy.Policy.with_rules`
replaces them), and the services check it on every read and before every command, so that a
person who may not read an object learns nothing of it: not its state, not even that it exists.

By default:

- a **goal**: its owner, its named manager, the owner's managers up the line in the directory,
  and HR;
- a **plan**: its subject (and, for a team plan, its members), its author, its approver, the
  subject's managers up the line, and HR;
- an **evaluation**: its subject, its evaluator, a reviewer who was asked, and HR; each sees what
  :mod:`perfcore.visibility` gives their audience;
- a **job description**: once published (or superseded, or retired), anyone; before that, its
  author, the employee it is written for, its audience, and HR;
- a **review cycle**: HR, whoever created it, managers, and its participants.
- a **survey**: HR, whoever created it, the manager whose people it asks and the managers above
  them, and the people asked; each sees what :mod:`perfcore.services.surveys` gives them (only
  HR sees who took part);
- a **note**: HR, its author, the managers up the line of the person it is about, and that
  person if it is shared and not withdrawn.

An object's whole **history** (who did what, when and why: ``Perfcore.history``) is the
``(type, "history")`` rule: by default whoever may read the object, but for an evaluation only
its evaluator and HR (never its subject), since its events name every reviewer and hold what each
said; and for a survey only HR, since its events name who took part, and when.

"Up the line" needs the directory: without one (``actor.relations`` is ``None``) it admits
nobody, unlike the relationship rules of commands, which take the caller's word. A read has no
command, so a read rule is an ordinary :class:`~perfcore.rules.Rule` of the actor and the object.

>>> from perfcore import Actor, Policy
>>> Policy().rule_for("Goal", "read").description
"HR or the owner or the owner's manager or a manager of the owner up the line"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfcore.actor import Actor, Role
from perfcore.rules import Rule, has_role, is_member, is_person, never

__all__ = ["HISTORY", "HISTORY_RULES", "READ", "READ_RULES", "up_the_line"]

#: The trigger name of a read in the policy's table: ``("Goal", "read")``.
READ = "read"
#: The trigger name of reading an object's whole history: ``("Goal", "history")``.
HISTORY = "history"

#: The states in which a job description is public to everyone in the organisation.
_PUBLIC = frozenset({"published", "superseded", "retired"})


def up_the_line(attribute: str, description: str) -> Rule:
    """A manager, in the directory, of the person whose id is the object's ``attribute`` (their
    manager or one above). Without a directory there is no line to read, so nobody passes."""

    def check(actor: Actor, aggregate: Any) -> bool:
        relations = actor.relations
        return relations is not None and relations.manages(getattr(aggregate, attribute))

    return Rule(description, check)


def _plan_approver(actor: Actor, plan: Any) -> bool:
    approver = plan.approver
    return approver is not None and bool(approver.admits(actor))


def _reviewer(actor: Actor, evaluation: Any) -> bool:
    return evaluation.relationship_of(actor.id) is not None


def _public(_actor: Actor, description: Any) -> bool:
    return str(description.state) in _PUBLIC


def _shared_with_subject(actor: Actor, note: Any) -> bool:
    return (
        actor.id == note.subject_id
        and str(note.visibility) == "shared"
        and str(note.state) != "withdrawn"
    )


def _participant(actor: Actor, cycle: Any) -> bool:
    return any(participant.employee_id == actor.id for participant in cycle.participants)


_HR = has_role(Role.HR)

#: The default read rule of each aggregate type.
READ_RULES: Mapping[str, Rule] = {
    # HR first: it reads everything, with no walk up the directory.
    "Goal": _HR
    | is_person("owner_id", "the owner")
    | is_person("manager_id", "the owner's manager")
    | up_the_line("owner_id", "a manager of the owner up the line"),
    "Plan": _HR
    | is_person("subject_id", "the subject")
    | is_member("team_member_ids", "a member of the team")
    | is_person("author_id", "the author")
    | Rule("the approver", _plan_approver)
    | up_the_line("subject_id", "a manager of the subject up the line"),
    "Evaluation": is_person("subject_id", "the subject")
    | is_person("evaluator_id", "the evaluator")
    | Rule("a reviewer who was asked", _reviewer)
    | _HR,
    "JobDescription": Rule("anyone, once published", _public)
    | is_person("author_id", "the author")
    | is_person("employee_id", "the employee it describes")
    | is_member("audience", "its audience")
    | _HR,
    "ReviewCycle": _HR
    | is_person("created_by", "whoever created it")
    | has_role(Role.MANAGER)
    | Rule("a participant", _participant),
    "Survey": _HR
    | is_person("created_by", "whoever created it")
    | is_person("manager_id", "the manager of the people asked")
    | up_the_line("manager_id", "a manager above them")
    | is_member("population", "one of the people asked"),
    "Note": _HR
    | is_person("author_id", "its author")
    | up_the_line("subject_id", "a manager of the person it is about up the line")
    | Rule("the person it is about, if it is shared with them", _shared_with_subject),
}

#: The default history rule of each aggregate type.
HISTORY_RULES: Mapping[str, Rule] = {
    **READ_RULES,
    "Evaluation": never(is_person("subject_id", "the subject"))
    & (is_person("evaluator_id", "the evaluator") | _HR),
    "Survey": _HR,
}
