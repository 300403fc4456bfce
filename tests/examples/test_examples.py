"""The examples in ``examples/`` run: as a user runs them, and through their interfaces."""

from __future__ import annotations

import datetime as dt
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from perfcore import MemoryDirectory, Perfcore
from perfcore.adapters.memory import MemoryStore

#: Reads name their reader: HR reads everything.
READER = "hana"  # HR in the example's directory

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> ModuleType:
    """``examples/<name>.py`` as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# -- one employee through the four stages ---------------------------------------------------------


def test_one_employee_goes_through_the_four_stages() -> None:
    pc: Perfcore = load("one_employee").run(say=False)
    assert str(pc.job_descriptions.get("jd-ana", by=READER).state) == "published"
    assert str(pc.evaluations.get("ev-ana-2025", by=READER).state) == "acknowledged"
    assert str(pc.goals.get("g-reply", by=READER).state) == "achieved"
    assert str(pc.plans.get("p-ana", by=READER).state) == "attained"
    assert pc.verify_audit_log().intact


def test_the_script_tells_the_story() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "one_employee.py")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "1. job description jd-ana: published, number 1"
    assert lines[-2] == "4. goal g-reply: achieved; plan p-ana: attained"
    assert lines[-1].startswith("audit log: intact, ")


# -- perfcore in a Flask application --------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self.at


@pytest.fixture
def client() -> Any:
    pytest.importorskip("flask")
    flask_app = load("flask_app")
    org: MemoryDirectory = flask_app.demo_organisation()
    pc = Perfcore(MemoryStore(), clock=Clock(), directory=org)
    app = flask_app.create_app(pc, org)
    app.testing = True
    return app.test_client()


GOAL = {
    "id": "g-1", "owner_id": "ana", "manager_id": "mia", "title": "Faster first replies",
    "metric": "median hours to first reply", "baseline": 6, "target": 3,
    "direction": "decrease", "start": "2026-01-05", "due": "2026-06-30",
}  # fmt: skip


def as_(person: str, **headers: str) -> dict[str, str]:
    return {"X-Person": person, **headers}


def test_a_goal_goes_from_draft_to_checked_in_over_http(client: Any) -> None:
    created = client.post("/goals", json=GOAL, headers=as_("ana"))
    assert created.status_code == 201, created.json
    assert (created.json["state"], created.json["version"]) == ("draft", 1)
    assert client.post("/goals/g-1/propose", headers=as_("ana")).json["state"] == "proposed"
    approved = client.post("/goals/g-1/approve", json={"reason": "agreed"}, headers=as_("mia"))
    assert (approved.status_code, approved.json["state"]) == (200, "active")
    checked = client.post(
        "/goals/g-1/check-ins", json={"on": "2026-03-02", "value": 4.5}, headers=as_("ana")
    )
    assert (checked.status_code, checked.json["progress"]) == (201, "0.5")
    report = client.get("/teams/mia/goals?on=2026-03-02", headers=as_("mia"))
    assert [(row["id"], row["standing"]) for row in report.json] == [("g-1", "on_track")]


def test_a_retried_request_acts_once(client: Any) -> None:
    client.post("/goals", json=GOAL, headers=as_("ana"))
    client.post("/goals/g-1/propose", headers=as_("ana"))
    first = client.post("/goals/g-1/approve", headers=as_("mia", **{"Idempotency-Key": "r-1"}))
    again = client.post("/goals/g-1/approve", headers=as_("mia", **{"Idempotency-Key": "r-1"}))
    assert first.status_code == again.status_code == 200
    assert first.json == again.json
    twice = client.post("/goals/g-1/approve", headers=as_("mia"))
    assert (twice.status_code, twice.json["error"]) == (409, "TransitionNotAllowed")


def test_refusals_are_http_statuses_with_reasons(client: Any) -> None:
    assert client.post("/goals", json=GOAL).status_code == 403  # nobody signed in
    client.post("/goals", json=GOAL, headers=as_("ana"))
    client.post("/goals/g-1/propose", headers=as_("ana"))
    # A colleague may not read ana's goal, so is told nothing of it, not even its state.
    colleague = client.post("/goals/g-1/approve", headers=as_("cy"))
    assert (colleague.status_code, colleague.json["error"]) == (404, "NotFound")
    assert "proposed" not in colleague.json["message"]
    owner = client.post("/goals/g-1/approve", headers=as_("ana"))
    assert (owner.status_code, owner.json["error"]) == (403, "PermissionDenied")
    assert "never the owner" in owner.json["message"]
    assert client.post("/goals/g-404/propose", headers=as_("ana")).status_code == 404
    assert client.post("/goals/g-1/fly", headers=as_("ana")).status_code == 404
    bad_date = client.post(
        "/goals/g-1/check-ins", json={"on": "2026-02-30", "value": 4}, headers=as_("ana")
    )
    assert (bad_date.status_code, bad_date.json["error"]) == (422, "ValidationError")
    assert client.get("/teams/mia/goals", headers=as_("cy")).status_code == 403


def test_hr_and_only_hr_verifies_the_audit_log(client: Any) -> None:
    client.post("/goals", json=GOAL, headers=as_("ana"))
    verified = client.get("/audit", headers=as_("hana"))
    assert (verified.status_code, verified.json["intact"]) == (200, True)
    assert client.get("/audit", headers=as_("ana")).status_code == 403
