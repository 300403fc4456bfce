"""Write docs/lifecycle.md from the lifecycle tables, so the diagrams can never drift.

Run ``python tools/render_lifecycles.py`` after changing a table; ``tests/docs`` fails while the
committed page and the tables disagree.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import perfcore
from perfcore.commands import declared, edits_of, fired_through
from perfcore.lifecycle import Lifecycle, lifecycle_of, registered_names, registered_types

PAGE = Path(__file__).resolve().parent.parent / "docs" / "lifecycle.md"

#: The four stages and the cycle that ties them first; every other lifecycle after them, in the
#: order it was registered.
ORDER = ("JobDescription", "Goal", "Plan", "Evaluation", "ReviewCycle")

INTRO = """\
# Lifecycles

Every perfcore object moves through one lifecycle: a table of states and of the triggers that move
it between them, each with the rule for who may fire it and the guards that must hold. The tables
are data in the code (`perfcore.lifecycle_of(Goal)`); this page is generated from them by
`tools/render_lifecycles.py`, and a test fails if the two ever disagree.

A command is checked in this order, and a refusal changes nothing:

1. the table: is the trigger possible from the current state? (`TransitionNotAllowed`, which lists
   the triggers that are)
2. the policy: may this actor fire it on this object? (`PermissionDenied`, naming the rule)
3. the guards: do the business rules hold? (`GuardFailed`, naming the guard and saying why)

The "who" column is the default policy; an organisation replaces any rule with
`Policy.with_rules({("Goal", "approve"): rule})`. Anything without a rule is refused.
It adds guards of its own with `Policy.with_guards` and waives the table's with
`Policy.without_guards` (see
[organisation.md](organisation.md#your-organisations-own-rules-and-guards)).
"""


def _section(lifecycle: Lifecycle) -> str:
    lines = [
        f"## {lifecycle.name}",
        "",
        "States: " + ", ".join(f"`{state}`" for state in lifecycle.states) + ".",
        f"A new {lifecycle.name} starts in `{lifecycle.initial}`; "
        f"created by {lifecycle.create_rule.description}.",
        "",
        "| trigger | from | to | who may | guards |",
        "|---|---|---|---|---|",
    ]
    for step in lifecycle.steps:
        guards = ", ".join(guard.name for guard in step.guards) or "none"
        sources = ", ".join(f"`{source}`" for source in step.sources)
        lines.append(
            f"| `{step.trigger}` | {sources} | `{step.dest}` | {step.who.description} | {guards} |"
        )
    lines += ["", "```mermaid", lifecycle.to_mermaid().rstrip("\n"), "```", ""]
    lines += _arguments(lifecycle)
    return "\n".join(lines)


def _arguments(lifecycle: Lifecycle) -> list[str]:
    """Each trigger's arguments, from its declaration (:mod:`perfcore.commands`): what a caller
    passes besides the object's id, ``by`` and an ``idempotency_key``."""
    kind = next(kind for kind in registered_types() if lifecycle_of(kind) is lifecycle)
    lines = ["| trigger | arguments |", "|---|---|"]
    for trigger in lifecycle.triggers:
        if trigger == "edit":
            edits = edits_of(kind)
            names = sorted(edits.__annotations__) if edits is not None else []
            shown = "any of " + ", ".join(f"`{name}`" for name in names)
        else:
            shown = ", ".join(_argument(p) for p in declared(kind, trigger)) or "none"
        where = fired_through(kind, trigger)
        if where is not None:
            shown += f" (fired by `{where}`)"
        lines.append(f"| `{trigger}` | {shown} |")
    return [*lines, ""]


def _argument(parameter: inspect.Parameter) -> str:
    text = f"`{parameter.name}: {parameter.annotation}`"
    if parameter.default is not inspect.Parameter.empty:
        text = f"`{parameter.name}: {parameter.annotation} = {parameter.default!r}`"
    return text.replace("|", "\\|")


def render() -> str:
    """The whole page, from the tables registered in perfcore."""
    assert perfcore.__all__  # importing perfcore registers every lifecycle
    names = [name for name in ORDER if _known(name)]
    names += [name for name in registered_names() if name not in ORDER]
    return INTRO + "\n" + "\n".join(_section(lifecycle_of(name)) for name in names)


def _known(name: str) -> bool:
    try:
        lifecycle_of(name)
    except perfcore.ValidationError:
        return False
    return True


if __name__ == "__main__":
    PAGE.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {PAGE}\n")
