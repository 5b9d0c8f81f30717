"""Retention on the virtual clock: past its dates no child's name or birth date is in any store, Prefect's or ours.

One rehearsal (send_inspection/rehearsal/retention.py): children's lists uploaded, a tracked child's documents,
a child's name typed with a link and an image into every free-text field, the report published, a complaint's hold,
then the retention runs. It also shows issue 22's promise on the running flows: typed text reaches no Prefect store.
"""

from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.settings import (
    PREFECT_LOCAL_STORAGE_PATH,
    PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW,
    PREFECT_RESULTS_PERSIST_BY_DEFAULT,
    temporary_settings,
)
from sqlalchemy import select

from send_inspection.childdata.names import REMOVED
from send_inspection.db import models as m
from send_inspection.mail.outbox import list_outbox, read_outbox_raw
from send_inspection.rehearsal.driver import child_data_removed
from send_inspection.rehearsal.privacy_scan import (
    Needles,
    Scan,
    capture_logs,
    child_needles,
    flush_prefect,
    logs_to_prefect,
    scan_files,
    scan_our_stores,
    scan_prefect,
)
from send_inspection.rehearsal.privacy_scan import main as privacy_scan
from send_inspection.rehearsal.retention import HOLD_REASON, MARKER, RetentionRehearsal, rehearse_retention
from send_inspection.rehearsal.staff import LINK
from send_inspection.retention.record import records_folder
from send_inspection.tokens import hash_token
from send_inspection.web.app import create_app

EVERY_KIND = ["child_data", "tracked_cases", "restricted_draft", "uploads", "outbox", "links", "named_people"]


@dataclass
class Retained:
    """The rehearsal, its needles, and the scans: our stores under the hold and at the end, the export, Prefect."""

    rehearsal: RetentionRehearsal
    needles: Needles
    ours_while_held: Scan
    ours_at_the_end: Scan
    export: Scan
    prefect: Scan
    link_while_held: int
    link_at_the_end: int


def _unused_link(rehearsal: RetentionRehearsal, outbox: Path) -> str:
    """Return the token of a personal link in the outbox that nobody used (a reminder's, say)."""
    for entry in list_outbox(outbox):
        found = LINK.search(read_outbox_raw(outbox, entry.id).decode("utf-8", "replace"))
        with rehearsal.ctx.session() as session:
            token = session.scalars(select(m.ActionToken).where(
                m.ActionToken.token_hash == hash_token(found.group(1)))).first() if found else None
        if token is not None and token.used_at is None:
            return found.group(1)  # type: ignore[union-attr]
    raise AssertionError("no unused personal link in the outbox")


@contextmanager
def log_file(folder: Path) -> Iterator[Path]:
    """Write every log record to a file in `folder`, as `send-inspection up` keeps each process's log."""
    folder.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(folder / "engine.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        yield folder
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


@pytest.fixture(scope="module")
def retained(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Retained:
    """Rehearse retention with results persisted and the engine's logs sent to Prefect, scanning as it goes."""
    workdir = tmp_path_factory.mktemp("retention")
    results = workdir / "prefect-results"
    settings = {PREFECT_LOCAL_STORAGE_PATH: results, PREFECT_RESULTS_PERSIST_BY_DEFAULT: True,
                PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW: "ignore"}
    seen: dict[str, object] = {}

    def ours(rehearsal: RetentionRehearsal, records: list[tuple[str, str]]) -> Scan:
        ctx = rehearsal.ctx
        return scan_our_stores(needles_of(rehearsal), database_url=ctx.db_url, uploads=ctx.uploads_dir,
                               outbox=workdir / "outbox", log_folder=workdir / "logs",
                               records=records_folder(ctx.uploads_dir), log_records=records)

    def needles_of(rehearsal: RetentionRehearsal) -> Needles:
        if "needles" not in seen:
            seen["needles"] = Needles([pair for c in rehearsal.children for pair in child_needles(
                c.child_id, first_name=c.first_name, last_name=c.last_name, born=c.born).items()])
        return seen["needles"]  # type: ignore[return-value]

    with capture_logs("send_inspection", "flows", "tasks") as logs, log_file(workdir / "logs"), \
            logs_to_prefect("send_inspection"), temporary_settings(updates=settings), child_data_removed(workdir):
        def while_held(rehearsal: RetentionRehearsal) -> None:
            seen["link"] = _unused_link(rehearsal, workdir / "outbox")
            seen["ours"] = ours(rehearsal, list(logs.records))
            seen["link while held"] = TestClient(create_app(rehearsal.ctx)).get(f"/a/{seen['link']}").status_code

        rehearsal = rehearse_retention(workdir, while_held=while_held)
        flush_prefect()
    needles = needles_of(rehearsal)
    with rehearsal.ctx.session() as session:
        first_export = session.scalars(select(m.RecordExport.path).order_by(m.RecordExport.id)).first()
    return Retained(
        rehearsal=rehearsal, needles=needles, ours_while_held=seen["ours"],  # type: ignore[arg-type]
        ours_at_the_end=ours(rehearsal, logs.records),
        export=scan_files(Path(first_export).parent, needles, store="record export"),
        prefect=scan_prefect(needles, storage=results, log_records=logs.records),
        link_while_held=seen["link while held"],  # type: ignore[arg-type]
        link_at_the_end=TestClient(create_app(rehearsal.ctx)).get(f"/a/{seen['link']}").status_code)


def test_the_rehearsal_runs_to_the_published_report_with_childrens_data_in_our_stores(retained: Retained) -> None:
    """Every phase ends; under the hold the names are in our database, uploads, child-data folder and outbox."""
    assert set(retained.rehearsal.report.phases.values()) == {"done"}
    assert sum(p.startswith("case:") for p in retained.rehearsal.report.phases) == 1
    found = {h.store for h in retained.ours_while_held.hits}
    assert found >= {"our database", "uploads", "child-data folder", "outbox"}, found


def test_a_hold_stops_deletion_and_its_removal_lets_it_go_on(retained: Retained) -> None:
    """Past the children's data's date under a complaint's hold nothing goes; lifted, all that fell due goes (the
    children's data, the tracked case, the draft, and the outbox's copies and links of the finished inspection);
    past the last date the uploads go too."""
    held, lifted, last = retained.rehearsal.runs
    assert (held.state, held.deleted) == ("Completed", [])
    assert retained.rehearsal.kept_while_held
    assert lifted.deleted == ["child_data", "tracked_cases", "restricted_draft", "outbox", "links", "named_people"]
    assert last.deleted == [*lifted.deleted, "uploads"]


def test_past_the_last_date_no_childs_name_or_birth_date_is_in_our_stores(retained: Retained) -> None:
    """Our database, uploads, child-data folders, outbox, log file and log records hold no name or date of birth of
    a child."""
    assert [str(h) for h in retained.ours_at_the_end.hits] == []
    scanned = retained.ours_at_the_end.scanned
    assert scanned["log files:files"] == 1 and scanned["our log records:records"] > 100
    assert retained.ours_at_the_end.scanned["our database:deletion_records"] == len(EVERY_KIND)


def test_no_childs_name_typed_anywhere_reaches_prefect(retained: Retained) -> None:
    """A name typed into every free-text field (and the lists themselves) is in none of Prefect's stores."""
    assert [str(h) for h in retained.prefect.hits] == []
    assert retained.prefect.scanned["artifacts (API):artifacts"] > 10


def test_the_record_holds_no_child_and_lists_everything_else(retained: Retained) -> None:
    """Neither export (before each run that deleted) holds a name; the manifest lists every part of the record."""
    assert [str(h) for h in retained.export.hits] == []
    assert retained.export.scanned["record export:files"] == 2
    with retained.rehearsal.ctx.session() as session:
        exports = list(session.scalars(select(m.RecordExport).order_by(m.RecordExport.id)))
    assert [e.why for e in exports] == ["before deletion", "before deletion"]
    with zipfile.ZipFile(exports[0].path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        listed = {f["path"] for f in manifest["files"]}
        assert listed | {"manifest.json"} == set(archive.namelist())
        decisions = archive.read("decisions.csv").decode("utf-8-sig")
    assert {"register.csv", "decisions.csv", "submissions.csv", "emails.csv", "requests.csv", "timeline.csv",
            "outcome.json", "factual-accuracy/comments.csv", "retention/holds.csv",
            "retention/deletions.csv"} <= listed
    assert any(p.startswith("report/") for p in listed)  # the final report as received
    assert REMOVED in decisions and "returned" in decisions  # the returned request's comment, its name removed
    assert {"child-level data lists and returns", "tracked children's documents and case work",
            "the restricted draft report"} <= set(manifest["not_included"])


def test_links_stop_when_the_inspection_finishes_and_their_rows_go_at_retention(retained: Retained) -> None:
    """A personal link answers 'expired' once every phase is done, and 'not recognised' once its row is deleted."""
    assert (retained.link_while_held, retained.link_at_the_end) == (410, 404)


def test_the_schedule_says_what_goes_when_and_the_run_shows_figures_only(retained: Retained) -> None:
    """Before deletion each kind has its date and rule; the run's artifact shows kinds and counts, never a reason."""
    schedule = "\n".join(retained.rehearsal.schedule)
    assert "child-level data lists and returns: to be deleted on" in schedule
    assert "20 working days after the final report was published" in schedule
    with get_client(sync_client=True) as client:
        shown = json.dumps([a.model_dump(mode="json") for a in client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["retention"])))])
    assert "deleted now" in shown and "held" in shown and "complaint" not in shown


def test_the_rehearsal_tells_what_went_when_and_where_the_records_are(retained: Retained) -> None:
    """What `send-inspection rehearse --retention` prints: the schedule, each run's figures, the records' folder."""
    said = retained.rehearsal.describe()
    assert said[0] == "Once the report was published:" and said[1:-4] == retained.rehearsal.schedule
    held, lifted, last = said[-4:-1]
    assert held.startswith("retention run, under the hold, past the children's data's date: ")
    assert lifted.startswith("retention run, the hold lifted: ") and last.startswith("retention run, past the last")
    assert said[-1] == f"The records exported before each deletion are in {retained.rehearsal.workdir / 'records'}."
    assert not any(needle in line for line in said for needle in (MARKER, HOLD_REASON))  # no name, no reason


def test_the_privacy_scan_of_our_stores_finds_no_child_and_would_say_where_it_did(
        retained: Retained, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`privacy_scan --ours` on the installation's settings searches every store of ours and finds no child there;
    a needle that is there (the partnership's name) is reported by store and line, never quoted."""
    rehearsal = retained.rehearsal
    workdir = rehearsal.workdir
    settings = {"SEND_INSPECTION_HOME": workdir, "SEND_INSPECTION_DB_URL": rehearsal.ctx.db_url,
                "SEND_INSPECTION_UPLOADS": rehearsal.ctx.uploads_dir, "SEND_INSPECTION_OUTBOX": workdir / "outbox"}
    for name, value in settings.items():
        monkeypatch.setenv(name, str(value))
    needles = workdir / "needles.txt"
    needles.write_text("".join(f"{c.first_name} {c.last_name}\n{c.born:%Y-%m-%d}\n" for c in rehearsal.children))
    assert privacy_scan(["--needles-file", str(needles), "--ours"]) == 0
    said = capsys.readouterr().out
    assert said.endswith("\n0 hits\n")
    for store in ("our database", "uploads", "outbox", "log files", "record exports"):
        assert f"{store}: " in said.splitlines()[0], store
    needles.write_text(needles.read_text() + "Demo County\n")
    assert privacy_scan(["--needles-file", str(needles), "--ours"]) == 1
    said = capsys.readouterr().out
    assert "outbox" in said and "line " in said and "Demo County" not in said
