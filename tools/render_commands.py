"""Write src/perfcore/services/_commands.py: each service's commands, from the domain's.

A trigger is declared once, by its domain method (``Goal.check_in``): its keyword parameters,
their types and defaults, and its docstring. The service method that runs it in a unit of work
(``pc.goals.check_in(goal_id, by=..., on=..., value=...)``) is the same parameters, less the ones
the services supply (``at``, ``policy``), with the object's id first and an idempotency key last;
it is written here from the declaration, typed, so that mypy checks every call. A service writes
a command by hand only when it does more than fire the trigger (it reads other objects, say);
then the generated one is left out, and ``tests/unit/test_commands.py`` checks the hand-written
one takes the same arguments.

Run ``python tools/render_commands.py`` after adding or changing a domain command; the tests fail
while the committed file and the domain disagree.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

from perfcore.commands import declared, edits_of, fired_through, service_types
from perfcore.lifecycle import lifecycle_of

TARGET = Path(__file__).resolve().parent.parent / "src" / "perfcore" / "services" / "_commands.py"

HEADER = '''\
"""Each service's commands, written from the domain's by ``tools/render_commands.py``.

Do not edit: change the domain method (the declaration), then run the tool. A service class
inherits its type's class here and writes by hand only the commands that do more than fire
their trigger.
"""

from __future__ import annotations

'''


def _names(annotation: str) -> set[str]:
    """The top-level names an annotation string uses (``dt`` of ``dt.date``)."""
    return {match.group(1) for match in re.finditer(r"(?<![\w.])([A-Za-z_]\w*)", annotation)}


_BUILTINS = {"str", "int", "bool", "None", "float", "bytes", "tuple", "list", "dict", "set"}


class _Imports:
    def __init__(self) -> None:
        self.lines: set[str] = set()

    def need(self, annotation: str, module: types.ModuleType) -> None:
        for name in _names(annotation) - _BUILTINS:
            value = getattr(module, name, None)
            if value is None:
                raise SystemExit(f"{module.__name__}: cannot resolve {name!r} in {annotation!r}")
            if isinstance(value, types.ModuleType):
                alias = "" if value.__name__ == name else f" as {name}"
                self.lines.add(f"import {value.__name__}{alias}")
            else:
                home = getattr(value, "__module__", None)
                if not isinstance(home, str) or getattr(sys.modules.get(home), name, None) is None:
                    home = module.__name__  # an alias defined there (Score = Decimal | int)
                self.lines.add(f"from {home} import {name}")

    def text(self) -> str:
        plain = sorted(line for line in self.lines if line.startswith("import "))
        froms = sorted(line for line in self.lines if line.startswith("from "))
        return "\n".join([*plain, *froms]) + "\n"


def _home_of(name: str, near: types.ModuleType) -> str:
    """The module that defines ``name`` (a class, or a type alias such as ``EvaluationView``,
    which is a string at run time and so carries no module of its own)."""
    import perfcore.visibility

    value = getattr(near, name)
    home = getattr(value, "__module__", None) if isinstance(value, type) else None
    if home is not None:
        return str(home)
    for module in (perfcore.visibility, near):
        if name in vars(module) and name in getattr(module, "__all__", (name,)):
            return module.__name__
    return near.__name__


def _summary(method: Any) -> str:
    """The first paragraph of the domain method's docstring, indented for a method's."""
    doc = inspect.getdoc(method) or ""
    first = doc.split("\n\n", 1)[0].strip() or "Fire the trigger."
    return "\n        ".join(line.strip() for line in first.splitlines())


def _parameter(parameter: inspect.Parameter) -> str:
    text = f"{parameter.name}: {parameter.annotation}"
    if parameter.default is not inspect.Parameter.empty:
        text += f" = {parameter.default!r}"
    return text


def render() -> str:
    imports = _Imports()
    checking: set[str] = set()
    imports.lines |= {
        "from perfcore.actor import Actor",
        "from perfcore.services._base import AggregateService",
    }
    classes: list[str] = []
    for service, kind, view in service_types():
        module = sys.modules[kind.__module__]
        name = lifecycle_of(kind).name
        imports.lines.add(f"from {kind.__module__} import {kind.__name__}")
        home = sys.modules[service.__module__]
        for shown in _names(view) - {kind.__name__}:
            # What a reader gets may be defined beside the service, which imports this module:
            # named for the type checker only.
            checking.add(f"    from {_home_of(shown, home)} import {shown}")
        body: list[str] = []
        edits = edits_of(kind)
        if edits is not None:
            imports.lines.add(f"from {kind.__module__} import {edits.__name__}")
            imports.lines.add("from typing import Unpack")
            body.append(
                f'''    def edit(
        self,
        {service.id_argument}: str,
        *,
        by: Actor | str,
        idempotency_key: str | None = None,
        **fields: Unpack[{edits.__name__}],
    ) -> {view}:
        """Change the fields named (any of :class:`~{kind.__module__}.{edits.__name__}`).

        See :meth:`{kind.__module__}.{kind.__name__}.edit`.

        Raises:
            ValidationError: a name that is not an editable field, before anything else.
        """
        return self._edit({service.id_argument}, fields, by=by, idempotency_key=idempotency_key)
'''
            )
        for trigger in lifecycle_of(kind).triggers:
            if trigger == "edit" or trigger in vars(service) or fired_through(kind, trigger):
                continue
            method = getattr(kind, trigger)
            parameters = declared(kind, trigger)
            for parameter in parameters:
                imports.need(str(parameter.annotation), module)
            signature = "".join(f"        {_parameter(p)},\n" for p in parameters)
            passed = "".join(f"            {p.name}={p.name},\n" for p in parameters)
            body.append(
                f'''    def {trigger}(
        self,
        {service.id_argument}: str,
        *,
        by: Actor | str,
{signature}        idempotency_key: str | None = None,
    ) -> {view}:
        """{_summary(method)}

        See :meth:`{kind.__module__}.{kind.__name__}.{trigger}`.
        """
        return self._fire(
            {service.id_argument},
            "{trigger}",
            by=by,
{passed}            idempotency_key=idempotency_key,
        )
'''
            )
        methods = "\n".join(body) if body else "    pass\n"
        classes.append(
            f'''class {name}Commands(AggregateService[{kind.__name__}, "{view}"]):
    """The commands of a {name} that only fire their trigger."""

{methods}'''
        )
    names = ", ".join(f'"{lifecycle_of(kind).name}Commands"' for _s, kind, _v in service_types())
    if checking:
        imports.lines.add("from typing import TYPE_CHECKING")
    guarded = "\nif TYPE_CHECKING:\n" + "\n".join(sorted(checking)) + "\n" if checking else ""
    listed = f"\n__all__ = [{names}]\n\n\n"
    return HEADER + imports.text() + guarded + listed + "\n\n".join(classes)


def main() -> None:
    text = render()
    TARGET.write_text(text)
    # The same formatting as every other file, so that the check compares like with like.
    subprocess.run(["ruff", "format", "--quiet", str(TARGET)], check=False)
    subprocess.run(["ruff", "check", "--quiet", "--fix", str(TARGET)], check=False)
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
