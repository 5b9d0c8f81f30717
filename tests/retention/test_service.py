"""Applying the rules on our database (SQLite, and PostgreSQL in its pass): export first, delete, record; holds."""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from send_inspection.calendar import LONDON, to_london
from send_inspection.catalogue.phases import AFTER_FIELDWORK
from send_inspection.childdata.items import data_folder
from send_inspection.childdata.store import import_and_store, load_stored
from send_inspection.childdata.synthetic import generate
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.named_people import NamedPerson, add_named_person
from send_inspection.evidence.file_submission import file_submission
from send_inspection.rehearsal.privacy_scan import Needles, child_needles, scan_database, scan_files
from send_inspection.report.documents import keep_document
from send_inspection.retention.holds import HoldRefused
from send_inspection.retention.service import apply_retention, lift, put_on_hold, retention_schedule
from tests.conftest import NOTIFIED

PUBLISHED = datetime(2023, 9, 1, 15, 0, tzinfo=LONDON)
LONG_AFTER = datetime(2024, 6, 3, 9, 0, tzinfo=LONDON)


@pytest.fixture
def finished(ctx: EngineContext, started: tuple[str, m.RegisterItem], tmp_path: Path) -> tuple[str, Needles]:
    """Return a published, finished inspection holding children's lists, a comment and a file naming a child, and a
    representative named at a keeping-in-touch meeting from outside partnership.yaml."""
    iid, item = started
    lists = generate(tmp_path / "lists", children=20, seed=5, config=ctx.child_data, as_of=NOTIFIED.date(),
                     name_marker="Qzt")  # type: ignore[arg-type]
    folder = data_folder(ctx, iid, "child-level-data")
    import_and_store(lists, config=ctx.child_data, notified_on=NOTIFIED.date(), folder=folder)  # type: ignore[arg-type]
    data = load_stored(folder)
    child = data.frame("ehc_plans").iloc[0]  # type: ignore[union-attr]
    named = f"{child['first_name']} {child['last_name']}"
    with ctx.session() as session:
        evidence = file_submission(ctx, item, "evidence.txt", b"The local offer, as published.", checklist={},
                                   submitted_by=item.evidence_lead)
        naming = file_submission(ctx, item, "case-study.txt", f"A case study of {named}.".encode(), checklist={},
                                 submitted_by=item.evidence_lead)
        for n, sub in enumerate((evidence, naming), start=1):
            session.add(m.Submission(item_id=item.id, round=n, kind="file", filename=sub.filename,
                                     stored_path=sub.stored_path, sha256=sub.sha256, size_bytes=sub.size_bytes,
                                     checklist={}, submitted_by=item.evidence_lead, submitted_at=PUBLISHED))
        session.add(m.Decision(item_id=item.id, step="approve", round=1, outcome="returned",
                               comment=f"Take out {named}'s details", decided_by=item.accountable_lead,
                               decided_at=PUBLISHED))
        add_named_person(session, iid, NamedPerson(name="Imogen Qzrepresentative", email="imogen.rep@school.example"),
                         origin="kit", key_prefix="kit-rep", escalates_to=item.accountable_lead)
        session.add(m.Decision(item_id=item.id, step="represent", round=1, outcome="named",
                               details={"representatives": {
                                   "kit-1": "Imogen Qzrepresentative <imogen.rep@school.example>"}},
                               decided_by=item.accountable_lead, decided_at=PUBLISHED))
        keep_document(session, ctx, iid, "draft", filename="draft.pdf", data=b"%PDF-1.4 draft", recorded_by="lano",
                      now=PUBLISHED)
        session.add(m.RegisterItem(inspection_id=iid, ref="publish-council", title="Publish", group_name="After",
                                   phase=AFTER_FIELDWORK.key, evidence_lead="lano", accountable_lead="lano",
                                   deadlines={"publish": "feedback_meeting"}, step="publish", round=1,
                                   step_started_at=PUBLISHED, outcome="published", done_at=PUBLISHED))
        for run in session.scalars(select(m.PhaseRun).where(m.PhaseRun.inspection_id == iid)):
            run.status, run.updated_at = "done", PUBLISHED
        session.commit()
    needles = Needles([pair for row in data.frame("ehc_plans").to_dict("records")  # type: ignore[union-attr]
                       for pair in child_needles(row["child_id"], first_name=row["first_name"],
                                                 last_name=row["last_name"], born=row["date_of_birth"]).items()])
    return iid, needles


def test_past_every_date_the_record_is_exported_then_each_kind_deleted(ctx: EngineContext,
                                                                     finished: tuple[str, Needles]) -> None:
    """Each kind is deleted once, after an export holding no child; no name is left in the database or files."""
    iid, needles = finished
    ctx.clock.set(LONG_AFTER)  # type: ignore[attr-defined]
    result = apply_retention(ctx)
    assert [r["kind"] for r in result.rows] == ["child_data", "tracked_cases", "restricted_draft", "uploads",
                                                 "outbox", "links", "named_people"]
    with ctx.session() as session:
        records = {r.kind: r for r in session.scalars(select(m.DeletionRecord))}
        export = session.scalars(select(m.RecordExport)).one()
        assert session.scalar(select(func.count()).select_from(m.ActionToken)) == 0
        assert session.scalar(select(func.count()).select_from(m.Submission)) == 0
        comment = session.scalars(select(m.Decision.comment).where(m.Decision.comment.is_not(None))).one()
        origins = set(session.scalars(select(m.Person.origin).where(m.Person.inspection_id == iid)))
        details = session.scalars(select(m.Decision.details).where(m.Decision.details.is_not(None))).one()
    assert records["child_data"].redacted == 1 and records["child_data"].files >= 3  # lists, the file naming a child
    assert records["outbox"].files == 8 and records["links"].rows == 8
    assert comment == "Take out [name removed] [name removed]'s details"
    # The representative named outside partnership.yaml is gone, from the people and from what was typed.
    assert origins == {"partnership"} and records["named_people"].rows == 1
    assert details == {"representatives": {"kit-1": "[name removed] [name removed] <[name removed]>"}}
    assert not (ctx.uploads_dir / iid).exists()
    assert list((ctx.uploads_dir.parent / "outbox").glob("*.eml")) == []
    assert scan_database(ctx.db_url, needles).hits == []
    assert scan_files(Path(export.path).parent, needles).hits == []
    with zipfile.ZipFile(export.path) as archive:
        assert "evidence/1.1/r1-evidence.txt" in archive.namelist()  # the file that names nobody is kept
        assert not [n for n in archive.namelist() if "case-study" in n]
    assert apply_retention(ctx).rows == []  # nothing twice


def test_a_hold_stops_every_deletion_until_lifted(ctx: EngineContext, finished: tuple[str, Needles]) -> None:
    """Under a hold the run deletes nothing and exports nothing; lifted, the next run deletes what is due."""
    iid, _ = finished
    hold = put_on_hold(ctx, iid, kind="legal", reason="Solicitor's letter of 2 May", by="inspection-coordinator")
    ctx.clock.set(LONG_AFTER)  # type: ignore[attr-defined]
    held = apply_retention(ctx)
    assert {r["state"] for r in held.rows} == {"held"} and len(held.rows) == 7
    assert data_folder(ctx, iid, "child-level-data").is_dir()
    [shown] = retention_schedule(ctx, iid)
    assert any(f"hold {hold} (a legal hold)" in line and "IN FORCE" in line for line in shown.lines(LONG_AFTER))
    lift(ctx, iid, hold, reason="The claim was withdrawn", by="inspection-coordinator")
    assert len(apply_retention(ctx).rows) == 7
    assert not data_folder(ctx, iid, "child-level-data").exists()


@pytest.mark.parametrize(("change", "said"), [
    ({"kind": "whim"}, "kind: choose one of complaint, legal"),
    ({"reason": "  "}, "reason: say why"),
    ({"inspection_id": "demo-county-2099-01-05"}, "inspection: there is no inspection"),
])
def test_a_hold_refused_changes_nothing(ctx: EngineContext, started: tuple[str, m.RegisterItem],
                                        change: dict[str, str], said: str) -> None:
    """A hold with no reason, an unknown kind or an unknown inspection is refused, naming the field."""
    iid, _ = started
    given = {"inspection_id": iid, "kind": "complaint", "reason": "A parent's complaint"} | change
    with pytest.raises(HoldRefused, match=said):
        put_on_hold(ctx, given.pop("inspection_id"), by="inspection-coordinator", **given)
    with ctx.session() as session:
        assert session.scalar(select(func.count()).select_from(m.RetentionHold)) == 0


def test_a_hold_is_lifted_once(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """Lifting a lifted hold, or another inspection's, is refused."""
    iid, _ = started
    hold = put_on_hold(ctx, iid, kind="complaint", reason="A parent's complaint", by="inspection-coordinator")
    lift(ctx, iid, hold, reason="Answered and closed", by="inspection-coordinator")
    with pytest.raises(HoldRefused, match="was lifted already"):
        lift(ctx, iid, hold, reason="Again", by="inspection-coordinator")
    with pytest.raises(HoldRefused, match="has no hold 99"):
        lift(ctx, iid, 99, reason="Answered", by="inspection-coordinator")


def test_the_schedule_counts_from_publication_in_london_time(ctx: EngineContext,
                                                            finished: tuple[str, Needles]) -> None:
    """Published Fri 1 Sep 2023 15:00: the children's data goes 20 working days later, Fri 29 Sep at 02:00."""
    iid, _ = finished
    [shown] = retention_schedule(ctx, iid)
    child_data = shown.deletions[0]
    assert to_london(child_data.due_at) == datetime(2023, 9, 29, 2, 0, tzinfo=LONDON)  # type: ignore[arg-type]
    assert child_data.due_at - PUBLISHED > timedelta(days=27)  # type: ignore[operator]
