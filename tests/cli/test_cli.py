"""The ``perfcore`` command: each subcommand in-process (``perfcore.cli.main``), and the command
itself as a user runs it (a subprocess: the console script and ``python -m perfcore``)."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from perfcore import Actor, Perfcore
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.adapters.sqlite_directory import SQLiteDirectory
from perfcore.cli import main
from perfcore.lifecycle import lifecycle_of, registered_types
from perfcore.streams import Streams
from perfcore.testing.drivers import driver_for

AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
DAY = "2026-01-06"


class Clock:
    def now(self) -> dt.datetime:
        return AT


def _organisation(directory: SQLiteDirectory) -> None:
    directory.place("mia", on=dt.date(2020, 1, 1), roles={"employee", "manager"})
    directory.place("ben", on=dt.date(2020, 1, 1), manager_id="mia", roles={"employee", "manager"})
    directory.place("hana", on=dt.date(2020, 1, 1), roles={"employee", "hr"})
    for person in ("ana", "cy", "peer-1", "peer-2"):
        directory.place(person, on=dt.date(2024, 1, 1), manager_id="ben")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with its directory in the same file: ana's goal, approved by ben."""
    path = tmp_path_factory.mktemp("cli") / "hr.sqlite3"
    directory = SQLiteDirectory(path)
    _organisation(directory)
    with SQLiteStore(path) as store:
        pc = Perfcore(store, clock=Clock(), directory=directory)
        pc.goals.create(
            by="ana", id="g-1", owner_id="ana", manager_id="ben", title="Fewer reopened tickets",
            metric="tickets reopened a week", baseline=6, target=2, direction="decrease",
            start=dt.date(2026, 1, 5), due=dt.date(2026, 6, 30),
        )  # fmt: skip
        pc.goals.propose("g-1", by="ana")
        pc.goals.approve("g-1", by="ben", reason="agreed in our 1:1\nsee the notes")
        # ana's evaluation by ben, finalized by HR, as the testing kit's driver takes it there
        with store.unit_of_work() as uow:
            Streams(uow).save(driver_for("Evaluation").reach("finalized", id="ev-1"), loaded=None)
            uow.commit()
        pc.seal_audit_log()
    directory.close()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """A refusal: nothing on stdout, one line on stderr, a non-zero status, no traceback."""
    try:
        code = main(list(argv))
    except SystemExit as exit:  # argparse's refusals
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    assert code != 0
    assert out == ""
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return code, err


# -- diagram --------------------------------------------------------------------------------------


def test_a_diagram_is_the_tables_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diagram", "Goal")
    assert code == 0
    assert out == "%% Goal\n" + lifecycle_of("Goal").to_mermaid()


@pytest.mark.parametrize("name", ["goal", "GOAL", "job_description", "review-cycle"])
def test_a_type_is_found_in_any_case_and_spelling(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert run(capsys, "diagram", name)[0] == 0


def test_every_lifecycle_is_drawn_without_a_type(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "diagram")
    names = [line[3:] for line in out.splitlines() if line.startswith("%% ")]
    assert names[:5] == ["JobDescription", "Goal", "Plan", "Evaluation", "ReviewCycle"]
    assert sorted(names) == sorted(kind.__name__ for kind in registered_types())


def test_the_dot_diagram_has_every_row_of_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "diagram", "Plan", "--format", "dot")
    lifecycle = lifecycle_of("Plan")
    assert out.startswith('digraph "Plan" {\n')
    assert f'__start__ -> "{lifecycle.initial}";' in out
    for trigger, source, dest in lifecycle.transitions:
        assert f'"{source}" -> "{dest}" [label="{trigger}"];' in out
    for state in lifecycle.terminal_states:
        assert f'"{state}" [peripheries=2];' in out


def test_an_unknown_type_is_refused_naming_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = refused(capsys, "diagram", "Goals")
    assert code == 2
    assert "no lifecycle is called 'Goals'; known: JobDescription, Goal" in err


# -- audit verify ---------------------------------------------------------------------------------


def test_an_intact_database_verifies_and_prints_its_checkpoint(
    capsys: pytest.CaptureFixture[str], database: Path
) -> None:
    code, out, _ = run(capsys, "audit", "verify", "--db", str(database))
    assert code == 0
    intact, checkpoint = out.splitlines()
    assert intact == "intact: 12 events in 2 streams, 1 seals checked"
    assert checkpoint.startswith("checkpoint: 1:")
    again = run(capsys, "audit", "verify", "--db", str(database), "--checkpoint", checkpoint[12:])
    assert again[0] == 0


def test_verification_opens_the_database_read_only(
    capsys: pytest.CaptureFixture[str], database: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(database, copy)
    copy.chmod(0o444)
    tmp_path.chmod(0o555)  # not even a journal could be written beside it
    try:
        code, out, err = run(capsys, "audit", "verify", "--db", str(copy), "--quick")
    finally:
        tmp_path.chmod(0o755)
    if code != 0 and "root" in err:  # pragma: no cover - permissions do not bind root
        pytest.skip(err)
    assert code == 0, err
    assert out.startswith("intact")


def test_a_tampered_database_exits_1_saying_what_and_where(
    capsys: pytest.CaptureFixture[str], database: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "tampered.sqlite3"
    shutil.copy(database, copy)
    raw = sqlite3.connect(copy)
    for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        raw.execute(f'DROP TRIGGER "{name}"')
    (header,) = raw.execute("SELECT header FROM events WHERE position = 3").fetchone()
    raw.execute("UPDATE events SET header = ? WHERE position = 3", (header.replace(b"ben", b"cy"),))
    raw.commit()
    raw.close()
    code, out, _ = run(capsys, "audit", "verify", "--db", str(copy))
    assert code == 1
    assert out.splitlines()[0].startswith(
        "TAMPERED: event_edited at Goal 'g-1' version 3 (position 3): "
    )


def test_the_wrong_audit_key_does_not_verify(
    capsys: pytest.CaptureFixture[str], database: Path, tmp_path: Path
) -> None:
    key = tmp_path / "audit.key"
    key.write_bytes(b"not the key")
    assert run(capsys, "audit", "verify", "--db", str(database), "--key-file", str(key))[0] == 1


def test_a_keyed_database_verifies_with_its_key_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, key = tmp_path / "keyed.sqlite3", tmp_path / "audit.key"
    key.write_bytes(b"s3cret\n")
    with SQLiteStore(path) as store:
        pc = Perfcore(store, clock=Clock(), audit_key=key.read_bytes())
        pc.goals.create(
            by=Actor(id="ana"), id="g-1", owner_id="ana", manager_id="ben",
            title="A goal", metric="things", baseline=0, target=1,
            start=dt.date(2026, 1, 5), due=dt.date(2026, 6, 30),
        )  # fmt: skip
    assert run(capsys, "audit", "verify", "--db", str(path), "--key-file", str(key))[0] == 0
    assert run(capsys, "audit", "verify", "--db", str(path))[0] == 1


# -- history --------------------------------------------------------------------------------------


def test_the_owner_reads_her_goals_timeline(
    capsys: pytest.CaptureFixture[str], database: Path
) -> None:
    code, out, _ = run(
        capsys, "history", "--db", str(database), "--as", "ana", "--as-of", DAY, "g-1"
    )
    assert code == 0
    assert out.splitlines() == [
        "Goal 'g-1': active, version 3",
        "version  at                         by   trigger  from      to        why",
        "1        2026-01-05T09:00:00+00:00  ana  create   -         draft",
        "2        2026-01-05T09:00:00+00:00  ana  propose  draft     proposed",
        "3        2026-01-05T09:00:00+00:00  ben  approve  proposed  active    "
        "agreed in our 1:1\\nsee the notes",
    ]


@pytest.mark.parametrize("reader", ["ana", "ben", "mia", "hana"])
def test_the_owner_her_managers_up_the_line_and_hr_may_read_it(
    capsys: pytest.CaptureFixture[str], database: Path, reader: str
) -> None:
    argv = ["history", "--db", str(database), "--as", reader, "--as-of", DAY, "g-1"]
    assert run(capsys, *argv)[0] == 0


def test_a_colleague_is_told_nothing_of_it(
    capsys: pytest.CaptureFixture[str], database: Path
) -> None:
    code, err = refused(
        capsys, "history", "--db", str(database), "--as", "cy", "--as-of", DAY, "g-1"
    )
    assert code == 2
    assert err == "perfcore: nothing 'cy' may read is stored under 'g-1'\n"


def test_someone_not_in_the_directory_that_day_may_not(
    capsys: pytest.CaptureFixture[str], database: Path
) -> None:
    code, err = refused(
        capsys, "history", "--db", str(database), "--as", "ana", "--as-of", "2023-01-01", "g-1"
    )
    assert code == 3
    assert "'ana' is not in the directory on 2023-01-01" in err


@pytest.mark.parametrize("reader", ["ben", "hana"])
def test_an_evaluations_history_is_its_evaluators_and_hrs(
    capsys: pytest.CaptureFixture[str], database: Path, reader: str
) -> None:
    argv = ["history", "--db", str(database), "--as", reader, "--as-of", DAY, "ev-1"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert out.splitlines()[0] == "Evaluation 'ev-1': finalized, version 9"
    assert [line.split()[2] for line in out.splitlines()[2:]] == [
        "ben", "ben", "ana", "ben", "peer-1", "ben", "peer-2", "ben", "hana",
    ]  # fmt: skip


@pytest.mark.parametrize("reader", ["ana", "peer-1"])
def test_its_subject_and_reviewers_may_not_read_who_said_what(
    capsys: pytest.CaptureFixture[str], database: Path, reader: str
) -> None:
    argv = ["history", "--db", str(database), "--as", reader, "--as-of", DAY, "ev-1"]
    code, err = refused(capsys, *argv)
    assert code == 3
    assert err.startswith(f"perfcore: '{reader}' may not read the history of Evaluation 'ev-1'")


# -- bad input ------------------------------------------------------------------------------------


def test_a_missing_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = refused(capsys, "audit", "verify", "--db", str(tmp_path / "none.sqlite3"))
    assert code == 2
    assert err == f"perfcore: {tmp_path / 'none.sqlite3'}: no such database\n"
    assert not (tmp_path / "none.sqlite3").exists()


def test_a_file_that_is_not_sqlite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = tmp_path / "notes.sqlite3"
    text.write_text("hello\n")
    code, err = refused(capsys, "audit", "verify", "--db", str(text))
    assert code == 2
    assert "is not a perfcore database (not SQLite" in err


def test_a_sqlite_file_of_another_application(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE things (x)").connection.close()
    for argv in (["audit", "verify"], ["history", "--as", "ana", "g-1"]):
        code, err = refused(capsys, *argv, "--db", str(other))
        assert code == 2
        assert "is not a perfcore database (it has no perfcore tables)" in err or (
            "keeps no directory" in err
        )


def test_a_database_of_a_newer_perfcore(
    capsys: pytest.CaptureFixture[str], database: Path, tmp_path: Path
) -> None:
    newer = tmp_path / "newer.sqlite3"
    shutil.copy(database, newer)
    raw = sqlite3.connect(newer)
    raw.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    raw.commit()
    raw.close()
    code, err = refused(capsys, "audit", "verify", "--db", str(newer))
    assert code == 2
    assert "written by a newer perfcore" in err


def test_a_bad_date(capsys: pytest.CaptureFixture[str], database: Path) -> None:
    code, err = refused(
        capsys, "history", "--db", str(database), "--as", "ana", "--as-of", "2026-13-01", "g-1"
    )
    assert code == 2
    assert "'2026-13-01' is not a date (YYYY-MM-DD)" in err


def test_an_unknown_id(capsys: pytest.CaptureFixture[str], database: Path) -> None:
    argv = ["history", "--db", str(database), "--as", "hana", "--as-of", DAY, "g-404"]
    assert refused(capsys, *argv) == (
        2,
        "perfcore: nothing 'hana' may read is stored under 'g-404'\n",
    )


def test_an_unknown_id_of_a_kind(capsys: pytest.CaptureFixture[str], database: Path) -> None:
    argv = ["history", "--db", str(database), "--as", "hana", "--as-of", DAY, "--kind", "Plan"]
    assert refused(capsys, *argv, "g-1") == (
        2,
        "perfcore: nothing 'hana' may read is stored under 'g-1'\n",
    )


def test_an_empty_key_file(
    capsys: pytest.CaptureFixture[str], database: Path, tmp_path: Path
) -> None:
    (tmp_path / "empty.key").write_bytes(b"")
    argv = ["audit", "verify", "--db", str(database), "--key-file", str(tmp_path / "empty.key")]
    assert "is empty" in refused(capsys, *argv)[1]


def test_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert refused(capsys)[0] == 2


# -- as a user runs it ----------------------------------------------------------------------------


def _command() -> list[str]:
    script = Path(sys.executable).with_name("perfcore")
    if not script.exists():  # pragma: no cover - perfcore run from a checkout, not installed
        pytest.skip("the perfcore console script is not installed next to this python")
    return [str(script)]


@pytest.mark.parametrize(
    "command", [_command, lambda: [sys.executable, "-m", "perfcore"]], ids=["script", "module"]
)
def test_the_command_runs_as_a_process(command: object, database: Path) -> None:
    assert callable(command)
    argv = [*command(), "history", "--db", str(database), "--as", "ben", "--as-of", DAY, "g-1"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "Goal 'g-1': active, version 3"


def test_bad_input_in_a_process_is_one_line_and_no_traceback(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "perfcore", "audit", "verify", "--db", str(tmp_path / "x.db")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"perfcore: {tmp_path / 'x.db'}: no such database\n"
