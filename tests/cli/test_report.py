"""``perfcore report``: what one person may see, in each format, read through the library's
authorised reads; bad input in one line. On the demo's database (40 people, seed 0)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from perfcore.adapters.sqlite import SQLiteStore
from perfcore.adapters.sqlite_directory import SQLiteDirectory
from perfcore.cli import main
from perfcore.demo.cycle import LAST_DAY, DemoResult, run

HR = "p000001"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoResult]:
    path = tmp_path_factory.mktemp("report") / "demo.sqlite3"
    return path, run(path)


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(["report", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    return out


def as_json(capsys: pytest.CaptureFixture[str], db: Path, reader: str) -> dict[str, Any]:
    data = json.loads(report(capsys, "--db", str(db), "--as", reader, "--format", "json"))
    assert isinstance(data, dict)
    return data


def line_of(db: Path, manager: str) -> set[str]:
    """``manager`` and everyone below them in the directory on the demo's last day."""
    directory = SQLiteDirectory(db)
    found, queue = {manager}, [manager]
    while queue:
        for person in directory.reports(queue.pop(), LAST_DAY):
            found.add(person)
            queue.append(person)
    directory.close()
    return found


# -- what each reader sees ------------------------------------------------------------------------


def test_hr_sees_everyone_and_the_manager_behind(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult]
) -> None:
    db, result = demo
    data = as_json(capsys, db, HR)
    assert data["reader"] == HR
    assert data["sees"] == "everyone"
    assert data["on"] == LAST_DAY.isoformat()  # the day of the newest record
    people = {row["id"] for row in data["people"]}
    assert len(people) == result.people - 1  # every participant (the head has no goals)
    behind = {row["id"] for row in data["people"] if row["outlook"] == "not_meeting"}
    assert result.manager_behind in behind
    assert {d["department"] for d in data["departments"]} == {
        "engineering",
        "people",
        "sales",
        "support",
    }
    [cycle] = data["cycles"]
    assert cycle["state"] == "attainment"
    assert result.joiner_id in cycle["holding_up"]
    assert [e["subject_id"] for e in data["evaluations_outstanding"]] == [result.joiner_id]
    assert data["plans_due"]


def test_a_manager_sees_only_their_line(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult]
) -> None:
    db, result = demo
    manager = result.manager_behind
    data = as_json(capsys, db, manager)
    assert data["sees"] == "their line"
    people = {row["id"] for row in data["people"]}
    assert people == line_of(db, manager)
    assert all(plan["subject_id"] in people for plan in data["plans_due"])
    assert all(e["subject_id"] in people for e in data["evaluations_outstanding"])
    [cycle] = data["cycles"]
    assert cycle["participants"] == len(people)
    # their own goals are behind, and they see it
    mine = next(row for row in data["people"] if row["id"] == manager)
    assert mine["outlook"] == "not_meeting"
    assert mine["not_meeting"]


def test_an_employee_sees_themselves(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult]
) -> None:
    db, result = demo
    data = as_json(capsys, db, result.joiner_id)
    assert data["sees"] == "themselves"
    assert [row["id"] for row in data["people"]] == [result.joiner_id]
    # their own evaluation, open for their self review
    assert [e["id"] for e in data["evaluations_outstanding"]] == [f"ev-{result.joiner_id}"]


def test_a_skip_level_manager_hears_where_evaluations_stand_but_not_whose_they_are(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult]
) -> None:
    db, result = demo
    data = as_json(capsys, db, result.head_id)
    assert data["sees"] == "their line"
    assert len(data["people"]) == result.people - 1
    # the cycle's progress tells its readers where each evaluation stands; the evaluation
    # itself (its evaluator) only its own readers: the joiner, their manager and HR
    [joiners] = data["evaluations_outstanding"]
    assert joiners["id"] == f"ev-{result.joiner_id}"
    assert joiners["state"] == "self_review"
    assert joiners["evaluator_id"] is None
    manager = as_json(capsys, db, result.manager_behind)["evaluations_outstanding"]
    assert [row["evaluator_id"] for row in manager] == [result.manager_behind]


def test_the_same_day_gives_the_same_report_and_an_earlier_day_another(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult]
) -> None:
    db, _ = demo
    later = report(capsys, "--db", str(db), "--as", HR, "--as-of", LAST_DAY.isoformat())
    assert later == report(capsys, "--db", str(db), "--as", HR)
    earlier = report(capsys, "--db", str(db), "--as", HR, "--as-of", "2026-02-20")
    assert "on 2026-02-20" in earlier
    assert earlier != later
    # the cycle's stage that day, from its history; its work as recorded now, said so
    assert "stage evaluations" in earlier
    assert f"plans as recorded on {LAST_DAY}; goals as they stood on 2026-02-20" in earlier
    before = report(capsys, "--db", str(db), "--as", HR, "--as-of", "2026-01-02")
    assert "No review cycle this person may read existed on 2026-01-02." in before


# -- formats ------------------------------------------------------------------------------------


def test_the_table(capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult]) -> None:
    db, result = demo
    out = report(capsys, "--db", str(db), "--as", HR)
    assert out.startswith(f"perfcore report for {HR} on {LAST_DAY} (sees everyone)\n")
    for section in (
        "Review cycle cycle-2026 (2026 reviews): stage attainment",
        "Goals per department",
        "Not meeting their goals",
        "People",
        "Plans due for review by",
        "Evaluations outstanding",
    ):
        assert f"\n{section}" in out
    behind = out.split("Not meeting their goals")[1].split("\n\n")[0]
    assert re.search(rf"\b{result.manager_behind}\b", behind)


def test_csv_has_a_row_per_person(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult]
) -> None:
    db, result = demo
    rows = list(
        csv.DictReader(io.StringIO(report(capsys, "--db", str(db), "--as", HR, "--format", "csv")))
    )
    assert len(rows) == result.people - 1
    assert {"department", "person", "outlook", "goals_behind", "evaluation"} <= set(rows[0])
    mine = next(row for row in rows if row["person"] == result.manager_behind)
    assert mine["outlook"] == "not_meeting"


def test_html_is_one_self_contained_page(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult], tmp_path: Path
) -> None:
    db, result = demo
    page = tmp_path / "report.html"
    out = report(capsys, "--db", str(db), "--as", HR, "--format", "html", "--output", str(page))
    assert out == f"wrote the report for {HR} on {LAST_DAY} to {page}\n"
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<style>" in text
    assert "<script>" in text
    assert 'id="goals-chart"' in text
    # nothing is fetched from anywhere: no external script, style, image or font
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", text)
    assert "@import" not in text
    assert "url(" not in text
    assert result.manager_behind in text


def test_stored_text_cannot_break_out_of_the_page() -> None:
    from perfcore.cli._report_html import _json_in_html

    assert "</script>" not in _json_in_html({"x": "</script><script>alert(1)</script>"})


# -- bad input ----------------------------------------------------------------------------------


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        code = main(["report", *argv])
    except SystemExit as exit:  # argparse's refusals
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    assert code != 0
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.endswith("\n")
    assert "Traceback" not in err
    return code, err


def test_a_missing_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = refused(capsys, "--db", str(tmp_path / "none.sqlite3"), "--as", HR)
    assert code == 2
    assert "no such database" in err


def test_a_file_that_is_not_sqlite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("not a database, but long enough to have a header of sorts\n" * 20)
    code, err = refused(capsys, "--db", str(other), "--as", HR)
    assert code == 2
    assert "is not a perfcore database" in err


def test_a_sqlite_file_of_another_application(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE things (x)").connection.close()
    code, err = refused(capsys, "--db", str(other), "--as", HR)
    assert code == 2
    assert "is not a perfcore database (it has no perfcore tables)" in err


def test_a_database_of_a_newer_perfcore(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult], tmp_path: Path
) -> None:
    newer = tmp_path / "newer.sqlite3"
    shutil.copy(demo[0], newer)
    raw = sqlite3.connect(newer)
    raw.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    raw.commit()
    raw.close()
    code, err = refused(capsys, "--db", str(newer), "--as", HR)
    assert code == 2
    assert "written by a newer perfcore" in err


def test_a_database_that_keeps_no_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bare = tmp_path / "bare.sqlite3"
    SQLiteStore(bare).close()
    code, err = refused(capsys, "--db", str(bare), "--as", HR)
    assert code == 2
    assert "keeps no directory" in err
    assert "--directory" in err


def test_a_bad_date(capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult]) -> None:
    code, err = refused(capsys, "--db", str(demo[0]), "--as", HR, "--as-of", "2026-13-01")
    assert code == 2
    assert "'2026-13-01' is not a date (YYYY-MM-DD)" in err


def test_an_unknown_person(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult]
) -> None:
    code, err = refused(capsys, "--db", str(demo[0]), "--as", "nobody")
    assert code == 3
    assert err == f"perfcore: 'nobody' is not in the directory on {LAST_DAY}\n"


def test_someone_before_they_joined(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult]
) -> None:
    db, result = demo
    code, err = refused(capsys, "--db", str(db), "--as", result.joiner_id, "--as-of", "2026-06-30")
    assert code == 3
    assert "is not in the directory on 2026-06-30" in err


def test_a_bad_format_and_an_output_folder_that_is_not_there(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoResult], tmp_path: Path
) -> None:
    code, err = refused(capsys, "--db", str(demo[0]), "--as", HR, "--format", "pdf")
    assert code == 2
    assert "invalid choice: 'pdf'" in err
    missing = tmp_path / "no" / "report.html"
    code, err = refused(capsys, "--db", str(demo[0]), "--as", HR, "--output", str(missing))
    assert code == 2
    assert "no such folder" in err


def test_the_report_runs_as_a_process(demo: tuple[Path, DemoResult]) -> None:
    argv = [sys.executable, "-m", "perfcore", "report", "--db", str(demo[0]), "--as", HR]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"perfcore report for {HR} on {LAST_DAY}")
    bad = subprocess.run(
        [*argv[:-1], "nobody"], capture_output=True, text=True, timeout=120, check=False
    )
    assert bad.returncode == 3
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr
