"""The privacy scan: needles found ignoring case, in every table, through result-file layers, never shown."""

from __future__ import annotations

import base64
import gzip
import io
import json
import logging
import lzma
import pickle
import sqlite3
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.rehearsal.privacy_scan import (
    Needles,
    capture_logs,
    child_needles,
    date_forms,
    main,
    read_needles,
    scan_database,
    scan_files,
    scan_log_records,
)

BORN = date(2015, 3, 5)


@pytest.fixture
def needles() -> Needles:
    """Return one fictional child's needles, labelled by the case id."""
    return Needles(child_needles("DC1000001", first_name="Qzvfaaab", last_name="Zoë-Qzvlaaab", born=BORN))


def test_needles_are_found_ignoring_case_and_inside_longer_ones() -> None:
    """A needle is found in any case, a shorter needle inside a longer one is found too, and shared needles keep all."""
    found = Needles([("Qzvfaaab", "a"), ("Qzvfaaabc", "b"), ("12/03/2015", "c"), ("12/03/2015", "d")])
    assert found.find("xx QZVFAAABC yy") == {"a", "b"}
    assert found.find("born 12/03/2015.") == {"c", "d"}
    assert found.find("qzvfaaa 12/03/201") == set()
    assert Needles([("abcd", "a"), ("cdef", "b")]).find("xabcdefx") == {"a", "b"}  # overlapping


def test_a_needle_too_short_to_mean_anything_is_refused() -> None:
    """A needle under three characters is refused, naming its label; so is an empty set."""
    with pytest.raises(ValueError, match="needle 'line 4' is shorter than 3 characters"):
        Needles({"Al": "line 4"})
    with pytest.raises(ValueError, match="no needles"):
        Needles({})


def test_a_date_of_birth_is_searched_in_every_usual_form() -> None:
    """ISO, dd/mm/yyyy, '5 March 2015', '05 March 2015', '5 Mar 2015', 'March 5, 2015' and a date's repr."""
    assert date_forms(BORN) == ["2015-03-05", "05/03/2015", "5 March 2015", "05 March 2015", "5 Mar 2015",
                                "March 5, 2015", "date(2015, 3, 5)"]


def test_every_table_and_column_of_a_sqlite_database_is_searched(tmp_path: Path, needles: Needles) -> None:
    """Text, JSON with escapes and blobs are searched in every table; a hit names table, column and row id."""
    path = tmp_path / "prefect.db"
    with sqlite3.connect(path) as db:
        db.execute("create table log (id text primary key, message text)")
        db.execute("create table flow_run (id text primary key, parameters json, state blob)")
        db.execute("create table loose (note text)")
        db.executemany("insert into log values (?, ?)", [("a1", "nothing here"), ("a2", "child QZVFAAAB seen")])
        db.execute("insert into flow_run values (?, ?, ?)", (
            "r1", json.dumps({"who": "Zoë-Qzvlaaab"}), base64.b64encode(lzma.compress(b"born 05/03/2015"))))
        db.execute("insert into loose values ('March 5, 2015')")
    scan = scan_database(f"sqlite+aiosqlite:///{path}", needles)
    columns = {(h.where, h.label) for h in scan.hits if not h.where.startswith("raw bytes")}
    assert columns == {("log.message id=a2", "DC1000001 first name"),
                       ("flow_run.parameters id=r1", "DC1000001 last name"),
                       ("flow_run.state id=r1", "DC1000001 date of birth"),
                       ("loose.note id=row 1", "DC1000001 date of birth")}
    assert scan.scanned["database:log"] == 2 and scan.scanned["database:flow_run"] == 1
    assert all("Qzv" not in str(h) and "2015" not in str(h) for h in scan.hits)


def test_our_schema_is_searched_on_sqlite_and_postgresql(ctx: EngineContext, started: tuple[str, m.RegisterItem],
                                                          needles: Needles) -> None:
    """On our own schema (PostgreSQL when SEND_INSPECTION_TEST_DB_URL is set) JSON, text and dates are searched."""
    iid, item = started
    with ctx.session() as session:
        session.add(m.TrackedCase(inspection_id=iid, child_id="DC1000001", list_kind="ehc_plans",
                                  selected_at=datetime(2015, 3, 5, 12, tzinfo=UTC),
                                  selected_by="coordinator", settings=[{"setting": "Zoë-Qzvlaaab", "lead": "x"}]))
        session.get(m.RegisterItem, item.id).title = "qzvfaaab"  # type: ignore[union-attr]
        session.commit()
    scan = scan_database(ctx.db_url, needles)
    columns = {(h.where.split(" id=")[0], h.label) for h in scan.hits if not h.where.startswith("raw bytes")}
    assert columns == {("tracked_cases.settings", "DC1000001 last name"),
                       ("register_items.title", "DC1000001 first name"),
                       ("tracked_cases.selected_at", "DC1000001 date of birth")}
    assert scan.scanned["database:register_items"] > 10 and scan.scanned["database:tracked_cases"] == 1


def test_a_deleted_row_still_in_the_file_is_found(tmp_path: Path, needles: Needles) -> None:
    """A row deleted from a SQLite table but left in its free pages is reported from the file's raw bytes."""
    path = tmp_path / "prefect.db"
    with sqlite3.connect(path) as db:
        db.execute("pragma secure_delete = off")
        db.execute("create table log (id integer primary key, message text)")
        db.execute("insert into log values (1, 'Qzvfaaab was here')")
    with sqlite3.connect(path) as db:
        db.execute("pragma secure_delete = off")
        db.execute("delete from log")
    scan = scan_database(f"sqlite:///{path}", needles)
    assert [str(h) for h in scan.hits] == ["database: raw bytes of prefect.db: DC1000001 first name"]


def test_result_files_are_searched_through_base64_compression_and_zip(tmp_path: Path, needles: Needles) -> None:
    """Pickled results in base64, gzip or a zip are searched without unpickling; clean files give no hit."""
    folder = tmp_path / "storage"
    (folder / "deep").mkdir(parents=True)
    record = {"metadata": {"serializer": "pickle"}, "result": base64.b64encode(pickle.dumps({"name": "Qzvfaaab"}))
              .decode()}
    (folder / "r1").write_text(json.dumps(record))
    (folder / "deep" / "r2").write_bytes(gzip.compress(pickle.dumps(BORN.strftime("%d/%m/%Y"))))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("sheet.xml", "<c>Zoë-Qzvlaaab</c>")
    (folder / "r3.xlsx").write_bytes(archive.getvalue())
    (folder / "r4").write_bytes(pickle.dumps({"case": "DC1000001", "when": BORN}))  # a date object: not text
    scan = scan_files(folder, needles)
    assert sorted(map(str, scan.hits)) == [
        "result storage: deep/r2: DC1000001 date of birth", "result storage: r1: DC1000001 first name",
        "result storage: r3.xlsx: DC1000001 last name"]
    assert scan.scanned["result storage:files"] == 4
    assert scan_files(tmp_path / "missing", needles).scanned["result storage:files"] == 0


def test_log_records_are_captured_with_their_exceptions(needles: Needles) -> None:
    """Records reaching the root logger are kept with their tracebacks; the loggers' levels are put back."""
    engine = logging.getLogger("send_inspection.privacy_test")
    before = engine.level
    with capture_logs("send_inspection.privacy_test") as logs:
        engine.debug("case %s opened", "DC1000001")
        try:
            raise ValueError("ZOË-QZVLAAAB is not valid")
        except ValueError:
            engine.exception("import failed")
    assert engine.level == before
    scan = scan_log_records(logs.records, needles)
    assert [str(h) for h in scan.hits] == [
        "log records: record 2 (send_inspection.privacy_test): DC1000001 last name"]
    assert scan.scanned["log records:records"] == 2


def test_a_needles_file_names_its_bad_line(tmp_path: Path) -> None:
    """Dates in the file stand for all their forms; blank and # lines are skipped; a bad line is named."""
    path = tmp_path / "needles.txt"
    path.write_text("# children\nQzvfaaab\n\n2015-03-05\n")
    assert read_needles(path).find("born 5 Mar 2015, Qzvfaaab") == {"line 2", "line 4"}
    path.write_text("Qzvfaaab\n2015-02-30\n")
    with pytest.raises(ValueError, match="needles.txt line 2: day is out of range for month"):
        read_needles(path)
    path.write_text("Qzvfaaab\nAl\n")
    with pytest.raises(ValueError, match="needles.txt: needle 'line 2' is shorter than 3 characters"):
        read_needles(path)


def test_the_command_line_exits_1_on_a_hit_and_never_prints_a_needle(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The scan prints what it searched and where each needle is (by line), exit 1 on a hit, 0 clean, 2 on bad input."""
    db = tmp_path / "prefect.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table log (id text primary key, message text)")
        conn.execute("insert into log values ('a1', 'child Qzvfaaab')")
    (tmp_path / "storage").mkdir()
    needles = tmp_path / "needles.txt"
    needles.write_text("Qzvfaaab\n2015-03-05\n")
    args = ["--needles-file", str(needles), "--database-url", f"sqlite:///{db}", "--storage",
            str(tmp_path / "storage"), "--no-api"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "database: log.message id=a1: line 1" in out and out.rstrip().endswith("hits")
    assert "Qzvfaaab" not in out and "2015" not in out
    needles.write_text("Qzvlzzzz\n")
    assert main(args) == 0
    assert capsys.readouterr().out.rstrip().endswith("0 hits")
    assert main([*args[:3], f"sqlite:///{tmp_path / 'none.db'}", *args[4:]]) == 2
    assert "no SQLite database at" in capsys.readouterr().err
    assert main([*args[:3], "prefect.db", *args[4:]]) == 2
    assert "'prefect.db' is not a database URL" in capsys.readouterr().err
