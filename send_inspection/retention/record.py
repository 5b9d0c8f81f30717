"""The inspection's record as one archive for the council's records system, its contents listed in a manifest.

It holds the register with every decision (who, when, outcome, comment), the evidence as submitted, the list of
emails sent (subject, recipients, time: the messages and their links are not kept), the additional requests, the
factual-accuracy response, the timeline, the outcome, and the holds and deletions so far. It never holds the
child-level data, a tracked child's documents or case work, the restricted draft or a personal link. While the
child-level lists are still kept, each child's name and date of birth is removed from what people typed, and a
file handed in that holds one is left out (the manifest says so); once the lists are gone, the database's typed
text no longer holds them (retention removed them first).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.calendar import to_london
from send_inspection.catalogue.phases import TRACKED_CASE, phase_label
from send_inspection.childdata.items import DATA_ITEMS, data_folder
from send_inspection.childdata.names import ChildNames, names_in_lists
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.files.storage import safe_filename
from send_inspection.report.outcomes import outcome_words
from send_inspection.retention.plan import KIND_TITLES

MANIFEST = "manifest.json"
WITHHELD = "left out: it holds a name or date of birth on the child-level lists"
NOT_INCLUDED = {
    "child-level data lists and returns": "children's personal data: deleted under the retention rules",
    "tracked children's documents and case work": "each child's own records: the originals stay with the partners",
    "the restricted draft report": "restricted to named readers; the published report replaces it",
    "the emails' text and personal links": "the list of emails sent is here; the links opened each person's answers",
    "debrief notes": "internal notes of each meeting with the inspectors; the ratings are in the register",
}


def records_folder(uploads_dir: Path) -> Path:
    """Return the folder where the record exports are kept until the council's records system takes them."""
    return uploads_dir.parent / "records"


def _when(moment: datetime | None) -> str:
    return f"{to_london(moment):%Y-%m-%d %H:%M}" if moment else ""


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """Return a CSV file (UTF-8 with a BOM, for spreadsheets) of `rows` under `header`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


@dataclass
class _Archive:
    """The archive being written: its entries and the manifest's list of them."""

    zip: zipfile.ZipFile
    names: ChildNames
    entries: list[dict[str, Any]] = field(default_factory=list)
    left_out: list[dict[str, str]] = field(default_factory=list)

    def add(self, path: str, data: bytes, *, what: str, rows: int | None = None) -> None:
        """Write one file and list it."""
        self.zip.writestr(path, data)
        entry = {"path": path, "what": what, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        self.entries.append(entry | ({"rows": rows} if rows is not None else {}))

    def table(self, path: str, what: str, header: Sequence[str], rows: list[Sequence[Any]]) -> None:
        """Write a CSV table with every text cell's children's names removed."""
        clean = [[self.names.redact(v) if isinstance(v, str) else v for v in row] for row in rows]
        self.add(path, _csv(header, clean), what=what, rows=len(clean))

    def document(self, path: str, stored: str | None, *, what: str) -> str:
        """Copy a file handed in, unless it is gone or holds a child's name; return its place or why not."""
        if not stored or not Path(stored).is_file():
            self.left_out.append({"what": what, "why": "no longer kept (see the deletions)"})
            return "not kept"
        data = Path(stored).read_bytes()
        if self.names.found_in_file(data):
            self.left_out.append({"what": what, "why": WITHHELD})
            return WITHHELD
        self.add(path, data, what=what)
        return path


@dataclass(frozen=True)
class Exported:
    """An export made: where, how many files it holds, its digest and size."""

    id: int
    path: Path
    entries: int
    sha256: str
    size_bytes: int


def export_record(ctx: EngineContext, inspection_id: str, *, to: Path, made_by: str, why: str) -> Exported:
    """Write the inspection's record to the zip file `to` (replacing it once complete) and record the export."""
    names = names_in_lists(data_folder(ctx, inspection_id, "child-level-data"))
    now = ctx.clock.now()
    to = Path(to)
    to.parent.mkdir(parents=True, exist_ok=True)
    partial = to.with_name(f".{to.name}.part")
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        if inspection is None:
            raise ValueError(f"inspection: there is no inspection {inspection_id!r}")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            out = _Archive(archive, names)
            _write_contents(out, session, inspection)
            manifest = {
                "inspection": inspection_id, "partnership": inspection.partnership_name, "made_at": _when(now),
                "made_by": made_by, "why": why, "files": out.entries, "left_out": out.left_out,
                "not_included": NOT_INCLUDED,
                "children's names": "removed from typed text while the lists were kept, as '[name removed]'",
            }
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
        os.replace(partial, to)
        data = to.read_bytes()
        row = m.RecordExport(inspection_id=inspection_id, path=str(to), sha256=hashlib.sha256(data).hexdigest(),
                             size_bytes=len(data), entries=len(out.entries) + 1, why=why, made_by=made_by, made_at=now)
        session.add(row)
        session.commit()
        return Exported(row.id, to, row.entries, row.sha256, row.size_bytes)


def _write_contents(out: _Archive, session: Session, inspection: m.Inspection) -> None:
    """Write every part of the record of `inspection` to the archive."""
    iid = inspection.id
    staff = {p.person_key: p.name for p in session.scalars(select(m.Person).where(m.Person.inspection_id == iid))}
    items = [i for i in session.scalars(select(m.RegisterItem).where(m.RegisterItem.inspection_id == iid)
                                        .order_by(m.RegisterItem.id)) if not TRACKED_CASE.matches(i.phase)]
    by_id = {i.id: i for i in items}
    out.table("register.csv", "every item of the register: its phase, leads, outcome and when it was done",
              ["ref", "title", "group", "phase", "evidence lead", "accountable lead", "outcome", "done at"],
              [[i.ref, i.title, i.group_name, phase_label(i.phase), staff.get(i.evidence_lead, i.evidence_lead),
                staff.get(i.accountable_lead, i.accountable_lead), i.outcome or "open", _when(i.done_at)]
               for i in items])
    decisions = session.scalars(select(m.Decision).where(m.Decision.item_id.in_(by_id)).order_by(m.Decision.id))
    out.table("decisions.csv", "every decision: who, when, the outcome and the comment",
              ["ref", "step", "round", "outcome", "decided by", "name", "decided at", "comment"],
              [[by_id[d.item_id].ref, d.step, d.round, d.outcome, d.decided_by, staff.get(d.decided_by, ""),
                _when(d.decided_at), d.comment or ""] for d in decisions])
    _evidence(out, session, by_id)
    _emails(out, session, iid)
    _requests(out, session, iid, by_id)
    _factual_accuracy(out, session, iid)
    _timeline(out, session, iid)
    _outcome(out, session, inspection)
    _retention(out, session, iid)


def _evidence(out: _Archive, session: Session, by_id: dict[int, m.RegisterItem]) -> None:
    """Write what was submitted for each item (never the child-level data) and copy each file handed in."""
    data_items = {i for i, item in by_id.items() if item.ref in DATA_ITEMS}
    rows = []
    for s in session.scalars(select(m.Submission).where(m.Submission.item_id.in_(set(by_id) - data_items))
                             .order_by(m.Submission.id)):
        ref = by_id[s.item_id].ref
        place = ""
        if s.kind == "file":
            place = out.document(f"evidence/{safe_filename(ref)}/r{s.round}-{safe_filename(s.filename or 'file')}",
                                 s.stored_path, what=f"evidence for {ref}, round {s.round}, as submitted")
        rows.append([ref, s.round, s.kind, s.filename or "", s.link_url or "", s.explanation or "",
                     ", ".join(k for k, v in sorted(s.checklist.items()) if v), s.submitted_by, _when(s.submitted_at),
                     place])
    out.table("submissions.csv", "what was submitted for each item: a file, a hyperlink or an explanation",
              ["ref", "round", "kind", "file name", "hyperlink", "explanation", "checklist ticked", "submitted by",
               "submitted at", "file in this record"], rows)


def _emails(out: _Archive, session: Session, iid: str) -> None:
    """Write the list of emails sent: time, template, subject, recipients (a survey batch by its count)."""
    rows = []
    for e in session.scalars(select(m.EmailRecord).where(m.EmailRecord.inspection_id == iid)
                             .order_by(m.EmailRecord.sent_at, m.EmailRecord.id)):
        recipients = (f"{len(e.recipients)} families and practitioners (survey batch, Bcc)" if e.template == "survey"
                      else "; ".join(e.recipients))
        rows.append([_when(e.sent_at), e.template, e.subject, recipients, e.status])
    out.table("emails.csv", "every email sent: when, what, to whom (the text and its personal links are not kept)",
              ["sent at", "template", "subject", "recipients", "status"], rows)


def _requests(out: _Archive, session: Session, iid: str, by_id: dict[int, m.RegisterItem]) -> None:
    """Write the inspectors' additional evidence requests and how each ended."""
    items = {i.ref: i for i in by_id.values()}
    rows = []
    for r in session.scalars(select(m.EvidenceRequest).where(m.EvidenceRequest.inspection_id == iid)
                             .order_by(m.EvidenceRequest.number)):
        item = items.get(f"request-{r.number}")
        rows.append([r.number, r.source, r.inspector, r.asked, r.head_of_service, _when(r.received_at),
                     _when(r.due_at), item.outcome if item and item.outcome else "open",
                     _when(item.done_at if item else None)])
    out.table("requests.csv", "the inspectors' additional evidence requests",
              ["number", "source", "inspector", "asked", "head of service", "received", "due", "outcome", "done at"],
              rows)


def _factual_accuracy(out: _Archive, session: Session, iid: str) -> None:
    """Write the factual-accuracy comments and the response as submitted (Word and Excel)."""
    comments = session.scalars(select(m.AccuracyCommentRow).where(m.AccuracyCommentRow.inspection_id == iid)
                               .order_by(m.AccuracyCommentRow.id))
    out.table("factual-accuracy/comments.csv", "each reviewer's factual-accuracy comments on the draft report",
              ["partner", "reviewer", "paragraph", "comment", "evidence", "submitted at"],
              [[c.partner, c.reviewer, c.paragraph, c.comment, c.evidence, _when(c.submitted_at)] for c in comments])
    for kind in ("response-docx", "response-xlsx", "final"):
        document = _latest(session, iid, kind)
        if document is not None:
            folder = "report" if kind == "final" else "factual-accuracy"
            what = "the final report as received" if kind == "final" else "the factual-accuracy response as submitted"
            out.document(f"{folder}/{safe_filename(document.filename)}", document.stored_path, what=what)


def _latest(session: Session, iid: str, kind: str) -> m.RestrictedDocument | None:
    return session.scalars(select(m.RestrictedDocument).where(
        m.RestrictedDocument.inspection_id == iid, m.RestrictedDocument.kind == kind)
        .order_by(m.RestrictedDocument.version.desc()).limit(1)).first()


def _timeline(out: _Archive, session: Session, iid: str) -> None:
    """Write every deadline and every phase with how it ended (tracked cases counted, not named)."""
    rows: list[Sequence[Any]] = [["deadline", ms.name, _when(ms.due_at), ""] for ms in session.scalars(
        select(m.Milestone).where(m.Milestone.inspection_id == iid).order_by(m.Milestone.due_at))]
    cases = 0
    for run in session.scalars(select(m.PhaseRun).where(m.PhaseRun.inspection_id == iid).order_by(m.PhaseRun.id)):
        if TRACKED_CASE.matches(run.phase):
            cases += 1
            continue
        rows.append(["phase", phase_label(run.phase), _when(run.updated_at), run.status])
    tracked = session.scalar(select(m.TrackedCase.id).where(m.TrackedCase.inspection_id == iid).limit(1))
    if cases or tracked is not None:
        rows.append(["phase", "tracked cases (their work is not in this record)", "", f"{cases} phase(s)"])
    out.table("timeline.csv", "the inspection's deadlines and phases", ["what", "name", "when", "status"], rows)


def _outcome(out: _Archive, session: Session, inspection: m.Inspection) -> None:
    """Write the inspection's outcome: the feedback, the areas for priority action and when it was recorded."""
    feedback = session.scalars(select(m.FeedbackRecord).where(
        m.FeedbackRecord.inspection_id == inspection.id)).first()
    outcome: dict[str, Any] = {"inspection": inspection.id, "kind": inspection.kind,
                               "notified at": _when(inspection.notified_at), "feedback": None}
    if feedback is not None:
        outcome["feedback"] = {
            "outcome": feedback.outcome, "in words": outcome_words(feedback.outcome, kind=inspection.kind),
            "effective": out.names.redact(feedback.effective), "to improve": out.names.redact(feedback.improve),
            "priority actions": [{**a, "area": out.names.redact(str(a.get("area", "")))}
                                 for a in feedback.priority_actions],
            "recorded by": feedback.recorded_by, "recorded at": _when(feedback.recorded_at)}
    out.add("outcome.json", json.dumps(outcome, indent=2, ensure_ascii=False).encode(),
            what="the outcome: the inspectors' feedback and the areas for priority action")


def _retention(out: _Archive, session: Session, iid: str) -> None:
    """Write the holds placed on deletion and what has been deleted so far (kinds and counts)."""
    holds = session.scalars(select(m.RetentionHold).where(m.RetentionHold.inspection_id == iid)
                            .order_by(m.RetentionHold.id))
    out.table("retention/holds.csv", "holds placed on deleting the inspection's data",
              ["hold", "kind", "reason", "placed by", "placed at", "lifted by", "lifted at", "why lifted"],
              [[h.id, h.kind, h.reason, h.placed_by, _when(h.placed_at), h.lifted_by or "", _when(h.lifted_at),
                h.lift_reason or ""] for h in holds])
    deleted = session.scalars(select(m.DeletionRecord).where(m.DeletionRecord.inspection_id == iid)
                              .order_by(m.DeletionRecord.id))
    out.table("retention/deletions.csv", "what has been deleted so far under the retention rules",
              ["kind", "what", "files", "bytes", "rows", "texts with a name removed", "rule", "due", "deleted at"],
              [[d.kind, KIND_TITLES.get(d.kind, d.kind), d.files, d.bytes, d.rows, d.redacted, d.rule, _when(d.due_at),
                _when(d.deleted_at)] for d in deleted])
