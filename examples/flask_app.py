"""perfcore inside a small Flask application: goals over HTTP.

The application keeps one :class:`~perfcore.Perfcore` for the process (its store is safe to share
between threads) and calls it from each request handler. Three habits matter:

- **Who is acting comes from your authentication, never from the request body.** Here a
  reverse proxy is assumed to have checked the user and to pass their id in ``X-Person``; the
  directory then says who they are that day, and perfcore checks every rule against it.
- **A retried request must not act twice**: the client's ``Idempotency-Key`` header is passed
  to the command, so the second request gets the first one's result.
- **perfcore's errors map to HTTP statuses** in one place (:data:`STATUSES`): a refused command
  changed nothing, and its message says why, in words a user can read.

Run it with ``flask --app examples/flask_app.py run`` (``pip install -e '.[examples]'``);
``tests/examples`` drives it through Flask's test client.

Endpoints:

- ``POST /goals``: draft a goal (JSON: ``id``, ``owner_id``, ``manager_id``, ``title``,
  ``metric``, ``baseline``, ``target``, ``direction``, ``start``, ``due``).
- ``POST /goals/<id>/propose``, ``/approve``, ``/request-changes``, ``/achieve``, ``/miss``,
  ``/cancel``: fire that command (JSON: ``reason``, optional).
- ``POST /goals/<id>/check-ins``: record a value (JSON: ``on``, ``value``, ``note``).
- ``GET /teams/<manager_id>/goals?on=YYYY-MM-DD``: the manager's team report, for that manager.
- ``GET /audit``: whether the audit log verifies (HR only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Flask, Response, jsonify, request

from perfcore import (
    ConcurrencyError,
    Directory,
    Goal,
    GuardFailed,
    IdempotencyConflict,
    MemoryDirectory,
    NotFound,
    Perfcore,
    PerfcoreError,
    PermissionDenied,
    TransitionNotAllowed,
    ValidationError,
)
from perfcore.actor import Role
from perfcore.adapters.memory import MemoryStore
from perfcore.directory import resolve_actor

#: perfcore's refusals as HTTP statuses, most specific first.
STATUSES: tuple[tuple[type[PerfcoreError], int], ...] = (
    (PermissionDenied, 403),
    (NotFound, 404),
    (TransitionNotAllowed, 409),
    (GuardFailed, 409),
    (IdempotencyConflict, 409),
    (ConcurrencyError, 409),
    (ValidationError, 422),
)

#: The goal commands a client may fire by name, each with the service method that fires it.
COMMANDS: dict[str, Callable[[Perfcore], Callable[..., Goal]]] = {
    "propose": lambda pc: pc.goals.propose,
    "approve": lambda pc: pc.goals.approve,
    "request-changes": lambda pc: pc.goals.request_changes,
    "achieve": lambda pc: pc.goals.achieve,
    "miss": lambda pc: pc.goals.miss,
    "cancel": lambda pc: pc.goals.cancel,
}
#: The commands that take a reason (the others take none).
WITH_REASON = frozenset({"approve", "request-changes", "achieve", "miss", "cancel"})


def goal_json(goal: Goal) -> dict[str, Any]:
    """What the API shows of a goal."""
    return {
        "id": goal.id,
        "state": str(goal.state),
        "version": goal.version,
        "owner_id": goal.owner_id,
        "manager_id": goal.manager_id,
        "title": goal.title,
        "target": str(goal.target),
        "progress": str(goal.progress),
    }


def create_app(pc: Perfcore | None = None, directory: Directory | None = None) -> Flask:
    """The application, over ``pc`` made with ``directory`` (which it also reads, to decide who
    may see a team report or the audit). Without them (``flask --app examples/flask_app.py
    run``): a memory store and :func:`demo_organisation`."""
    if pc is None or directory is None:
        directory = demo_organisation()
        pc = Perfcore(MemoryStore(), directory=directory)
    app = Flask(__name__)

    def person() -> str:
        """The authenticated caller (here, what the proxy put in ``X-Person``)."""
        who = request.headers.get("X-Person", "")
        if not who:
            raise PermissionDenied(
                "anonymous", "Request", request.path, "call", "a signed-in person"
            )
        return who

    def today() -> dt.date:
        return dt.datetime.now(dt.UTC).date()

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ValidationError("body", "must be a JSON object")
        return data

    @app.errorhandler(PerfcoreError)
    def refused(error: PerfcoreError) -> tuple[Response, int]:
        for kind, status in STATUSES:
            if isinstance(error, kind):
                return jsonify(error=type(error).__name__, message=str(error)), status
        return jsonify(error=type(error).__name__, message=str(error)), 500

    @app.post("/goals")
    def create_goal() -> tuple[Response, int]:
        data = body()
        for day in ("start", "due"):
            data[day] = _date(day, data.get(day))
        goal = pc.goals.create(
            by=person(), idempotency_key=request.headers.get("Idempotency-Key"), **data
        )
        return jsonify(goal_json(goal)), 201

    @app.post("/goals/<goal_id>/<command>")
    def fire(goal_id: str, command: str) -> Response | tuple[Response, int]:
        if command == "check-ins":
            data = body()
            goal = pc.goals.check_in(
                goal_id, by=person(), on=_date("on", data.get("on")),
                value=Decimal(str(data.get("value"))), note=str(data.get("note", "")),
                idempotency_key=request.headers.get("Idempotency-Key"),
            )  # fmt: skip
            return jsonify(goal_json(goal)), 201
        if command not in COMMANDS:
            return jsonify(error="NotFound", message=f"no goal command {command!r}"), 404
        extra = {"reason": str(body().get("reason", ""))} if command in WITH_REASON else {}
        goal = COMMANDS[command](pc)(
            goal_id, by=person(), idempotency_key=request.headers.get("Idempotency-Key"), **extra
        )
        return jsonify(goal_json(goal))

    @app.get("/teams/<manager_id>/goals")
    def team_goals(manager_id: str) -> Response:
        on = _date("on", request.args.get("on", today().isoformat()))
        reader = resolve_actor(directory, person(), on)
        if reader.id != manager_id and not reader.is_a(Role.HR):
            raise PermissionDenied(reader.id, "Team", manager_id, "read", "the manager or HR")
        rows = [
            {**goal_json(status.goal), "standing": status.standing.value}
            for status in pc.queries.team_goals(manager_id, by=reader, on=on)
        ]
        return jsonify(rows)

    @app.get("/audit")
    def audit() -> Response:
        reader = resolve_actor(directory, person(), today())
        if not reader.is_a(Role.HR):
            raise PermissionDenied(reader.id, "Audit", "log", "verify", "HR")
        report = pc.verify_audit_log()
        return jsonify(intact=report.intact, events=report.events, detail=report.detail)

    return app


def _date(name: str, value: object) -> dt.date:
    if not isinstance(value, str):
        raise ValidationError(name, "must be a date, YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(name, f"{value!r} is not a date, YYYY-MM-DD") from None


def demo_organisation() -> MemoryDirectory:
    """A small team, for running the example by hand."""
    org = MemoryDirectory()
    org.place("mia", on=dt.date(2020, 1, 1), roles={"employee", "manager"})
    org.place("hana", on=dt.date(2020, 1, 1), roles={"employee", "hr"})
    for person in ("ana", "cy"):
        org.place(person, on=dt.date(2020, 1, 1), manager_id="mia")
    return org
