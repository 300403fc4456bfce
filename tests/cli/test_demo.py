"""``perfcore demo``: the organisation and its year, the same for the same seed, never written
over an existing file without ``--force``; in-process (``perfcore.cli.main``) and as a process."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from perfcore import Perfcore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.adapters.sqlite_directory import SQLiteDirectory
from perfcore.audit import verify_store
from perfcore.cli import main
from perfcore.demo.cycle import CYCLE_ID, LAST_DAY, DemoResult, run

HR = "p000001"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoResult]:
    """The library's scenario, run once for the module (24 people, seed 3)."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    return path, run(path, people=24, seed=3)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_default_demo_writes_its_database_and_prints_hrs_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out, err = capsys.readouterr()
    assert (tmp_path / "perfcore-demo.sqlite3").is_file()
    assert not list(tmp_path.glob(".*partial*"))
    lines = out.splitlines()
    assert lines[0].startswith("perfcore demo: 40 people, ")
    assert "written to perfcore-demo.sqlite3 (seed 0)" in lines[0]
    assert f"perfcore report for {HR} on {LAST_DAY} (sees everyone)" in out
    assert f"Review cycle {CYCLE_ID} (2026 reviews): stage attainment" in out
    assert "Not meeting their goals" in out
    assert "Evaluations outstanding" in out
    # the progress bar went to stderr, and reached the end
    assert err.splitlines()[-1].startswith("[" + "#" * 30 + "] 100%")
    assert "Traceback" not in err


def test_the_story_is_all_there(demo: tuple[Path, DemoResult]) -> None:
    path, result = demo
    directory = SQLiteDirectory(path)
    with SQLiteStore(path, read_only=True) as store:
        pc = Perfcore(store, directory=directory)
        assert pc.cycles.get(CYCLE_ID, by=result.hr_id).state.value == "attainment"
        triggers: dict[str, set[str]] = {}
        with store.unit_of_work() as uow:
            for head in uow.events.streams(limit=100_000):
                if head.kind not in ("JobDescription", "Evaluation", "Goal", "Plan"):
                    continue
                # HR reads every history but their own evaluation's, which another HR reads
                hr = "p000002" if head.id == f"ev-{result.hr_id}" else result.hr_id
                events = pc.history(head.kind, head.id, by=hr)
                triggers.setdefault(head.kind, set()).update(e.trigger for e in events)
        # descriptions drafted, discussed, one revised, endorsed, published
        assert {"create", "open_feedback", "give_feedback", "revise", "edit", "endorse"} <= (
            triggers["JobDescription"]
        )
        assert "publish" in triggers["JobDescription"]
        # evaluations: self reviews, feedback, a calibrated divergence, a dispute resolved
        assert {"submit_self_review", "give_feedback", "calibrate", "finalize"} <= (
            triggers["Evaluation"]
        )
        assert {"dispute", "resolve_dispute", "acknowledge"} <= triggers["Evaluation"]
        # goals sent back, approved, checked in, achieved, missed; plans reviewed and attained
        assert {"request_changes", "approve", "check_in", "achieve", "miss"} <= triggers["Goal"]
        assert {"approve", "acknowledge", "start_review", "conclude_review", "attain"} <= (
            triggers["Plan"]
        )
        assert result.diverged
        assert result.disputed
        # one manager far behind on their own goals
        behind = pc.queries.behind(by=result.hr_id, on=LAST_DAY)
        assert result.manager_behind in {status.owner_id for status in behind}
        assert result.manager_behind in result.managers
        assert verify_store(store).intact
    directory.close()


def test_the_same_seed_gives_the_same_report_and_another_seed_another(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    reports = []
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        db = str(tmp_path / f"{name}.sqlite3")
        assert main(["demo", "--db", db, "--people", "24", "--seed", seed]) == 0
        capsys.readouterr()
        assert main(["report", "--db", db, "--as", HR, "--format", "json"]) == 0
        reports.append(capsys.readouterr().out)
    assert reports[0] == reports[1]
    assert reports[0] != reports[2]


def test_the_demo_never_overwrites_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "mine.sqlite3"
    assert main(["demo", "--db", str(db), "--people", "20"]) == 0
    capsys.readouterr()
    before = _digest(db)
    assert main(["demo", "--db", str(db), "--people", "20", "--seed", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"perfcore: {db} exists: the demo never overwrites a file; pass --force to replace it,"
        " or choose another file with --db\n"
    )
    assert _digest(db) == before
    assert main(["demo", "--db", str(db), "--people", "20", "--seed", "1", "--force"]) == 0
    assert "(seed 1)" in capsys.readouterr().out
    assert _digest(db) != before


def test_force_never_replaces_a_file_that_is_not_a_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    assert main(["demo", "--db", str(notes), "--force"]) == 2
    _, err = capsys.readouterr()
    assert err == f"perfcore: {notes} is not a SQLite database: not replaced, even with --force\n"
    assert notes.read_text() == "my notes\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--people", "5"], "--people 5: must be from 20 to 100,000"),
        (["--people", "many"], "argument --people: 'many' is not a whole number"),
        (["--seed", "-1"], "--seed -1: must be 0 or more"),
        (["--db", "{tmp}/no/such/folder/x.sqlite3"], "no such folder"),
        (["--db", "{tmp}"], "is a folder; name the database file to write with --db"),
    ],
)
def test_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    try:
        code = main(["demo", *argv])
    except SystemExit as exit:  # argparse's refusals
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert message in err
    assert not list(tmp_path.glob("*.sqlite3"))


def test_the_demo_runs_as_a_process_with_a_progress_bar(tmp_path: Path) -> None:
    db = tmp_path / "process.sqlite3"
    argv = [sys.executable, "-m", "perfcore", "demo", "--db", str(db), "--people", "20"]
    started = dt.datetime.now(dt.UTC)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert (dt.datetime.now(dt.UTC) - started).total_seconds() < 120
    assert done.stdout.startswith("perfcore demo: 20 people, ")
    lines = done.stderr.splitlines()
    assert lines
    assert all(line.startswith("[") and "%" in line for line in lines)
    assert lines[-1].startswith("[" + "#" * 30 + "] 100%")
    assert db.is_file()
