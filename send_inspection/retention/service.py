"""Retention for the command line, the console and the scheduled flow: the schedule, holds, exports, deletion.

Each function takes the engine context and does one thing the coordinator or the `retention` deployment asks for.
Refusals raise HoldRefused (or ValueError for an unknown inspection) with a message naming the field; nothing
changes then. What the scheduled run reports (`RetentionPass`) is counts, kinds and inspection ids only: a hold's
reason, like everything typed, stays in our database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from send_inspection.calendar import to_london
from send_inspection.catalogue.phases import AFTER_FIELDWORK, phase_label
from send_inspection.db import models as m
from send_inspection.db.session import compact
from send_inspection.engine.context import EngineContext
from send_inspection.retention.deletion import DELETERS
from send_inspection.retention.holds import HOLD_KINDS, every_hold, holds_in_force, lift_hold, place_hold
from send_inspection.retention.plan import DUE, HELD, Deletion, Facts, plan_deletions
from send_inspection.retention.record import Exported, export_record, records_folder

# Who the scheduled run acts as, in the exports and deletion records it leaves.
RETENTION_RUN = "retention"
# How long after a deletion each run rewrites the database's files (once would do, unless that one failed).
COMPACT_AFTER_DELETION = timedelta(days=7)


def facts_of(session: Session, inspection_id: str) -> Facts:
    """Read what retention needs to know of the inspection: publication, the end of its phases, holds, deletions."""
    published = list(session.execute(select(m.RegisterItem.outcome, m.RegisterItem.done_at).where(
        m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == AFTER_FIELDWORK.key,
        m.RegisterItem.ref.startswith("publish-"))))
    report_published_at = max(at for _, at in published) if published and all(
        outcome and at for outcome, at in published) else None
    runs = list(session.execute(select(m.PhaseRun.phase, m.PhaseRun.status, m.PhaseRun.updated_at).where(
        m.PhaseRun.inspection_id == inspection_id).order_by(m.PhaseRun.id)))
    open_phases = tuple(phase_label(phase) for phase, status, _ in runs if status != "done")
    finished_at = max(at for _, _, at in runs) if runs and not open_phases else None
    deleted = dict(session.execute(select(m.DeletionRecord.kind, m.DeletionRecord.deleted_at).where(
        m.DeletionRecord.inspection_id == inspection_id)).tuples().all())
    return Facts(inspection_id=inspection_id, report_published_at=report_published_at, finished_at=finished_at,
                 open_phases=open_phases, holds=holds_in_force(session, inspection_id), deleted=deleted)


@dataclass(frozen=True)
class InspectionRetention:
    """One inspection's retention: each kind's deletion, every hold, the record exports, whether its links work."""

    inspection_id: str
    deletions: list[Deletion]
    holds: list[m.RetentionHold]
    exports: list[m.RecordExport]
    finished_at: datetime | None
    # Person id -> name, for who placed and lifted the holds.
    names: dict[str, str]

    def lines(self, now: datetime) -> list[str]:
        """Say it for the coordinator, a line each: links, each kind, each hold, each export."""
        links = (f"the personal links stopped working when it finished, {to_london(self.finished_at):%a %d %b %Y %H:%M}"
                 if self.finished_at else "the personal links work until every phase is done")
        lines = [f"{self.inspection_id}: {links}"]
        lines += [f"  {d.describe(now)}" for d in self.deletions]
        for h in self.holds:
            lifted = self.names.get(h.lifted_by or "", h.lifted_by)
            state = (f"lifted {to_london(h.lifted_at):%d %b %Y} by {lifted}: {h.lift_reason}" if h.lifted_at
                     else "IN FORCE: nothing is deleted")
            lines.append(f"  hold {h.id} ({HOLD_KINDS.get(h.kind, h.kind)}) placed {to_london(h.placed_at):%d %b %Y} "
                         f"by {self.names.get(h.placed_by, h.placed_by)}: {h.reason}; {state}")
        lines += [f"  record exported {to_london(e.made_at):%d %b %Y %H:%M} ({e.why}): {e.path}" for e in self.exports]
        return lines


def retention_schedule(ctx: EngineContext, inspection_id: str | None = None) -> list[InspectionRetention]:
    """Return what will be deleted when, for one inspection or every one, with its holds and exports."""
    with ctx.session() as session:
        ids = [inspection_id] if inspection_id else list(session.scalars(
            select(m.Inspection.id).order_by(m.Inspection.notified_at)))
        found = []
        for iid in ids:
            if session.get(m.Inspection, iid) is None:
                raise ValueError(f"inspection: there is no inspection {iid!r}")
            facts = facts_of(session, iid)
            exports = list(session.scalars(select(m.RecordExport).where(m.RecordExport.inspection_id == iid)
                                           .order_by(m.RecordExport.id)))
            names = {p.person_key: p.name for p in session.scalars(select(m.Person).where(
                m.Person.inspection_id == iid))}
            found.append(InspectionRetention(iid, plan_deletions(facts, ctx.config.retention, ctx.calendar),
                                             every_hold(session, iid), exports, facts.finished_at, names))
        return found


def put_on_hold(ctx: EngineContext, inspection_id: str, *, kind: str, reason: str, by: str) -> int:
    """Stop every deletion of the inspection's data until the hold is lifted; return the hold's number."""
    with ctx.session() as session:
        hold = place_hold(session, inspection_id, kind=kind, reason=reason, by=by, now=ctx.clock.now())
        session.commit()
        return hold.id


def lift(ctx: EngineContext, inspection_id: str, hold_id: int, *, reason: str, by: str) -> None:
    """Lift a hold, saying why: deletions that fell due meanwhile go at the next run."""
    with ctx.session() as session:
        lift_hold(session, inspection_id, hold_id, reason=reason, by=by, now=ctx.clock.now())
        session.commit()


def default_export_path(ctx: EngineContext, inspection_id: str) -> Path:
    """Return where an export made now is written: the records folder, by inspection and time."""
    stamp = f"{to_london(ctx.clock.now()):%Y%m%d-%H%M%S}"
    return records_folder(ctx.uploads_dir) / inspection_id / f"{inspection_id}-record-{stamp}.zip"


def export_now(ctx: EngineContext, inspection_id: str, *, by: str, to: Path | None = None) -> Exported:
    """Export the inspection's record now, on demand."""
    return export_record(ctx, inspection_id, to=to or default_export_path(ctx, inspection_id), made_by=by,
                         why="on demand")


@dataclass(frozen=True)
class RetentionPass:
    """What one run of the rules did: per inspection and kind, its state and what went (figures and ids only)."""

    rows: list[dict[str, object]]

    def summary(self) -> str:
        """Say it in one line."""
        deleted = [r for r in self.rows if r["state"] == "deleted now"]
        held = {r["inspection"] for r in self.rows if r["state"] == HELD}
        return (f"retention: {len(deleted)} kind(s) of data deleted ({sum(int(r['files']) for r in deleted)} files, "
                f"{sum(int(r['rows']) for r in deleted)} rows); {len(held)} inspection(s) on hold")


def apply_retention(ctx: EngineContext) -> RetentionPass:
    """Delete what has fallen due and is not held, after exporting each inspection's record; say what happened."""
    now = ctx.clock.now()
    with ctx.session() as session:
        ids = list(session.scalars(select(m.Inspection.id).order_by(m.Inspection.notified_at)))
    rows: list[dict[str, object]] = []
    for iid in ids:
        with ctx.session() as session:
            plan = plan_deletions(facts_of(session, iid), ctx.config.retention, ctx.calendar)
        due = [d for d in plan if d.state(now) == DUE]
        rows += [_row(iid, d, d.state(now)) for d in plan if d.state(now) == HELD]
        if not due:
            continue
        exported = export_record(ctx, iid, to=default_export_path(ctx, iid), made_by=RETENTION_RUN,
                                 why="before deletion")
        for deletion in due:
            rows.append(_delete(ctx, iid, deletion, export_id=exported.id, now=now))
    with ctx.session() as session:  # also the nights after a deletion: a compaction that failed is done again
        recent = session.scalar(select(m.DeletionRecord.id).where(
            m.DeletionRecord.deleted_at >= now - COMPACT_AFTER_DELETION).limit(1))
    if recent is not None:
        compact(ctx.db_url)  # what was deleted or replaced must not linger in the database's files
    return RetentionPass(rows)


def _row(iid: str, deletion: Deletion, state: str, *, files: int = 0, rows: int = 0) -> dict[str, object]:
    return {"inspection": iid, "kind": deletion.kind, "due": deletion.due_at, "state": state, "files": files,
            "rows": rows}


def _delete(ctx: EngineContext, iid: str, deletion: Deletion, *, export_id: int, now: datetime) -> dict[str, object]:
    """Delete one kind and leave its deletion record, in one transaction (the files go first)."""
    with ctx.session() as session:
        done = DELETERS[deletion.kind](ctx, session, iid)
        session.add(m.DeletionRecord(inspection_id=iid, kind=deletion.kind, files=done.files, bytes=done.bytes,
                                     rows=done.rows, redacted=done.redacted, rule=deletion.rule,
                                     due_at=deletion.due_at, deleted_at=now, record_export_id=export_id))
        try:
            session.commit()
        except IntegrityError:  # another run recorded it first: what it left is gone now as well
            session.rollback()
            return _row(iid, deletion, "deleted by another run")
    return _row(iid, deletion, "deleted now", files=done.files, rows=done.rows)
