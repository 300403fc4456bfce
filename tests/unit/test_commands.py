"""Each command declared once (perfcore.commands): the domain method is the declaration, and the
services, the strategies and the docs follow it."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcore.commands import declared, edits_of, fired_through, service_types, supplied
from perfcore.lifecycle import lifecycle_of
from perfcore.testing import strategies as pst

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import render_commands  # noqa: E402

SERVICES = service_types()
TRIGGERS = [
    (service, kind, trigger)
    for service, kind, _view in SERVICES
    for trigger in lifecycle_of(kind).triggers
]


def _id(value: Any) -> str:
    return value.__name__ if isinstance(value, type) else str(value)


def test_the_generated_commands_are_those_of_the_domain() -> None:
    committed = render_commands.TARGET.read_text()
    rendered = render_commands.render()
    # The committed file is formatted by ruff; compare what each defines, line by line.
    assert _code(committed) == _code(_formatted(rendered)), "run: python tools/render_commands.py"


def _formatted(text: str) -> str:
    import subprocess

    done = subprocess.run(
        ["ruff", "format", "--quiet", "-"], input=text, capture_output=True, text=True, check=True
    )
    fixed = subprocess.run(
        ["ruff", "check", "--quiet", "--fix", "--stdin-filename", "_commands.py", "-"],
        input=done.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    return fixed.stdout or done.stdout


def _code(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(("service", "kind", "trigger"), TRIGGERS, ids=_id)
def test_every_trigger_is_a_service_command_with_the_declared_arguments(
    service: Any, kind: type, trigger: str
) -> None:
    where = fired_through(kind, trigger)
    if where is not None:  # fired only as part of a command that spans objects
        owner, name = where.split(".")
        assert any(cls.__name__ == owner and name in vars(cls) for cls in _owners()), where
        return
    method = getattr(service, trigger, None)
    assert method is not None, f"{service.__name__} has no {trigger}"
    parameters = list(inspect.signature(method).parameters.values())
    first, rest = parameters[1], parameters[2:]  # after self: the object's id
    assert first.name == service.id_argument
    assert first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    names = [p.name for p in rest if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert names[0] == "by"
    assert names[-1] == "idempotency_key"
    if trigger == "edit":
        return  # its fields: test_no_command_takes_any_keyword
    expected = {p.name: (p.annotation, p.default) for p in declared(kind, trigger)}
    given_ = {
        p.name: (p.annotation, p.default) for p in rest if p.name not in ("by", "idempotency_key")
    }
    # A hand-written command may, besides, name a stored object the services read in place of
    # an argument the domain takes from them (a plan's id for the plan a finalize links), or
    # take one of those arguments where the store has none to give (a survey's people, without
    # a directory): the domain declares them supplied by the services.
    provided = supplied(kind, trigger)
    extra = {name for name in set(given_) - set(expected) if name.endswith("_id")}
    extra |= set(given_) & provided
    if extra:
        assert provided, f"{service.__name__}.{trigger} takes {extra}"
        given_ = {name: value for name, value in given_.items() if name not in extra}
    assert given_ == expected, f"{service.__name__}.{trigger} differs from {kind.__name__}'s"


def _owners() -> list[type]:
    from perfcore.services import Perfcore

    return [Perfcore, *(service for service, _kind, _view in SERVICES)]


@pytest.mark.parametrize(("service", "kind", "_view"), SERVICES, ids=_id)
def test_no_command_takes_any_keyword(service: Any, kind: type, _view: str) -> None:
    """A misspelt or uneditable name is a type error: ``**fields`` is a TypedDict's keys."""
    edits = edits_of(kind)
    for owner in (service, kind):
        for name, method in inspect.getmembers(owner, inspect.isfunction):
            if name.startswith("_"):
                continue
            for parameter in inspect.signature(method).parameters.values():
                if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                    assert edits is not None, f"{owner.__name__}.{name} takes **{parameter.name}"
                    assert str(parameter.annotation) == f"Unpack[{edits.__name__}]", (
                        f"{owner.__name__}.{name} takes **{parameter.name}: {parameter.annotation}"
                    )


@pytest.mark.parametrize(("service", "kind", "_view"), SERVICES, ids=_id)
def test_the_editable_fields_are_declared_once(service: Any, kind: type, _view: str) -> None:
    edits = edits_of(kind)
    if "edit" not in lifecycle_of(kind).triggers:
        assert edits is None
        return
    assert edits is not None, f"{kind.__name__} has an edit but no {kind.__name__}Edits"
    assert service.editable == frozenset(edits.__annotations__)


@pytest.mark.parametrize("kind", sorted({kind for _s, kind, _v in SERVICES}, key=_id), ids=_id)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_the_strategies_draw_the_declared_arguments(kind: type, data: st.DataObject) -> None:
    """Every command the strategies get accepted takes the declared arguments (a wild one may
    name others: it is drawn to be refused). The strategies fire the domain, so they give the
    arguments the services would supply too."""
    sequence = data.draw(pst.command_sequences(kind, max_size=8), label="sequence")
    edits = edits_of(kind)
    for outcome in sequence.run():
        command = outcome.command
        if not outcome.accepted:
            continue
        if command.trigger == "edit":
            allowed = set(edits.__annotations__) if edits is not None else set()
        else:
            allowed = {p.name for p in declared(kind, command.trigger)}
            allowed |= supplied(kind, command.trigger)
        assert set(command.args) <= allowed, (command.trigger, set(command.args) - allowed)
