"""The coordinator's actions, one function each, shared by the console and the command line; each is audited.

Each action checks what it is given, does what the engine does for it, writes one line to the audit log (who,
what, in words and ids: never a child's details nor what was typed about one) and asks the runner to act now rather
than at the next tick. A refusal raises the engine's own error, with a message naming the field; nothing changes
and nothing is audited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from send_inspection.calendar import to_london
from send_inspection.cases.selection import Coverage, select_from_stored
from send_inspection.catalogue.phases import NOTIFICATION
from send_inspection.coordinator.audit import Actor, record
from send_inspection.coordinator.runner import InspectionRunner
from send_inspection.db import models as m
from send_inspection.engine.absences import AbsenceView, end_absence, record_absence
from send_inspection.engine.additional_requests import record_request
from send_inspection.engine.context import EngineContext
from send_inspection.engine.handover import OWNER_FIELDS, FreshLink, Handover, change_owner, send_fresh_link
from send_inspection.engine.inspection import inspection_id_for, open_requested
from send_inspection.engine.notification import SurveyLinks, record_survey_links
from send_inspection.engine.phase_rows import record_flow_run
from send_inspection.engine.tracked_case import start_tracked_cases
from send_inspection.evidence.library import Loaded, add_to_library
from send_inspection.fieldwork.invitations import CalendarMessage
from send_inspection.fieldwork.store import preview_timetable, save_timetable
from send_inspection.fieldwork.timetable import Timetable, TimetableChanges, read_timetable
from send_inspection.report.feedback import PriorityAction, record_feedback
from send_inspection.report.outcomes import outcome_words
from send_inspection.retention.holds import HOLD_KINDS
from send_inspection.retention.record import Exported
from send_inspection.retention.service import export_now, lift, put_on_hold


class PreviewOutdated(ValueError):
    """The timetable or what it would send changed since the preview; nothing was imported."""


@dataclass(frozen=True)
class Started:
    """An inspection started: its id and the Prefect run carrying its notification phase."""

    inspection_id: str
    flow_run_id: str
    # What a deliberately back- or forward-dated start says of itself (None for a start from today's call).
    note: str | None = None


@dataclass(frozen=True)
class Selection:
    """The tracked children recorded: how the choice covers the usual mix, and the case phases started now."""

    coverage: Coverage
    started: list[str]


@dataclass(frozen=True)
class TimetablePreview:
    """What importing a timetable file would send, before anything is saved; `digest` names exactly this."""

    timetable: Timetable
    messages: list[CalendarMessage]
    digest: str

    def of(self, method: str, *, first: bool) -> list[CalendarMessage]:
        """Return the invitations (first requests), the updates (later requests) or the cancellations."""
        return [x for x in self.messages if x.method == method and (x.sequence == 0) == first]


def start_inspection(ctx: EngineContext, runner: InspectionRunner, actor: Actor, *, notified_at: datetime,
                     kind: str = "full", deliberate: bool = False) -> Started:
    """Open the inspection from the time of the call and start its notification run (the past/future check first)."""
    # Recorded before the run is created: a run that never comes, or dies before it opens the phase, is seen by
    # `status` and started again by the ticker (ADR 0003); the run's idempotency key makes a repeat the same run.
    inspection_id = inspection_id_for(ctx.config, notified_at)
    note = open_requested(ctx, notified_at, inspection_id=inspection_id, kind=kind, deliberate=deliberate,
                          by=f"{actor.name} ({actor.channel})")
    flow_run_id = runner.start_notification(inspection_id, notified_at, kind=kind, deliberate=deliberate)
    record_flow_run(ctx, inspection_id, NOTIFICATION.key, flow_run_id)
    dated = " (deliberately back- or forward-dated)" if deliberate else ""
    record(ctx, actor, "start inspection", f"started the {kind} inspection notified at "
           f"{to_london(notified_at):%a %d %b %Y %H:%M}{dated}", inspection_id=inspection_id)
    return Started(inspection_id=inspection_id, flow_run_id=flow_run_id, note=note)


def give_survey_links(ctx: EngineContext, runner: InspectionRunner, actor: Actor, inspection_id: str,
                      links: SurveyLinks) -> None:
    """Record the inspectors' survey links (and their close time, if given) and hand them to the waiting run."""
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        if inspection is not None and inspection.kind == "full" and links.parents_carers is None:
            raise ValueError("parents_carers: a full inspection has the survey for parents and carers too")
    record_survey_links(ctx, inspection_id, links)
    runner.give_survey_links(inspection_id, links)
    closes = f"; the surveys close {to_london(links.closes_at):%a %d %b %H:%M}" if links.closes_at else ""
    record(ctx, actor, "survey links", f"gave the survey links ({', '.join(sorted(links.given()))}){closes}",
           inspection_id=inspection_id)


def select_cases(ctx: EngineContext, runner: InspectionRunner, actor: Actor, inspection_id: str,
                 child_ids: Sequence[str]) -> Selection:
    """Record the children the inspectors chose (case ids) and start their tracked cases."""
    coverage = select_from_stored(ctx, inspection_id, child_ids, selected_by=actor.key)
    started = start_tracked_cases(ctx, inspection_id)
    runner.nudge(inspection_id)
    ids = ", ".join(dict.fromkeys(i.strip() for i in child_ids if i.strip()))
    record(ctx, actor, "select cases", f"selected {coverage.selected} case(s) to track: {ids}",
           inspection_id=inspection_id)
    return Selection(coverage=coverage, started=started)


def preview_timetable_file(ctx: EngineContext, inspection_id: str, path: Path) -> TimetablePreview:
    """Read a timetable file and say what importing it would send; nothing is saved (TimetableRefused on problems)."""
    timetable = read_timetable(path, people=ctx.config.partnership.parties())
    messages = preview_timetable(ctx, inspection_id, timetable)
    plain = [(x.slot_id, x.method, x.sequence, x.to) for x in messages]
    digest = hashlib.sha256(repr((path.read_bytes(), plain)).encode()).hexdigest()
    return TimetablePreview(timetable=timetable, messages=messages, digest=digest)


def import_timetable(ctx: EngineContext, runner: InspectionRunner, actor: Actor, inspection_id: str, path: Path, *,
                     confirmed: str | None) -> TimetableChanges:
    """Import the timetable the coordinator previewed; refuse if it would now send anything else.

    `confirmed` is the digest of the preview the coordinator saw (None: the command line's --yes, no preview).
    """
    preview = preview_timetable_file(ctx, inspection_id, path)
    if confirmed is not None and confirmed != preview.digest:
        raise PreviewOutdated("the timetable changed since your preview, so what would be sent changed too; "
                              "check the new preview before it goes")
    changes = save_timetable(ctx, inspection_id, preview.timetable)
    runner.nudge(inspection_id)
    record(ctx, actor, "import timetable", f"imported the timetable {preview.timetable.file}: "
           f"{len(preview.timetable)} slots; {len(changes.added)} new, {len(changes.changed)} changed, "
           f"{len(changes.removed)} cancelled; {len(preview.messages)} calendar message(s) to go",
           inspection_id=inspection_id)
    return changes


def record_additional_request(ctx: EngineContext, runner: InspectionRunner, actor: Actor, inspection_id: str, *,
                              asked: str, inspector: str, head_of_service: str,
                              accountable_lead: str | None = None) -> int:
    """Record an additional evidence request from the inspectors; it starts at once. Return its number."""
    number = record_request(ctx, inspection_id, asked, inspector=inspector, head_of_service=head_of_service,
                            accountable_lead=accountable_lead, source="console" if actor.channel == "console"
                            else "cli", recorded_by=actor.key)
    runner.nudge(inspection_id)
    record(ctx, actor, "additional request", f"recorded additional evidence request {number} from "
           f"{' '.join(inspector.split())} for {_name(ctx, head_of_service)}", inspection_id=inspection_id)
    return number


def record_inspection_feedback(ctx: EngineContext, runner: InspectionRunner, actor: Actor, inspection_id: str, *,
                               outcome: int, effective: str, improve: str,
                               priority_actions: list[PriorityAction]) -> str:
    """Record the inspectors' feedback (emailed to the leadership group only); the report phase starts."""
    record_feedback(ctx, inspection_id, outcome, effective=effective, improve=improve,
                    priority_actions=priority_actions, recorded_by=actor.key)
    runner.nudge(inspection_id)
    with ctx.session() as session:
        kind = session.get(m.Inspection, inspection_id).kind  # type: ignore[union-attr]
    words = outcome_words(outcome, kind=kind)
    record(ctx, actor, "feedback", f"recorded the feedback: outcome {outcome} ({words[:80]}…), "
           f"{len(priority_actions)} area(s) for priority action", inspection_id=inspection_id)
    return words


def load_library(ctx: EngineContext, actor: Actor, ref: str, filename: str, data: bytes) -> Loaded:
    """Load a document into the evidence library as the next version of row `ref`'s evidence."""
    loaded = add_to_library(ctx, ref, filename, data, loaded_by=actor.key)
    record(ctx, actor, "library", f"loaded {loaded.filename} as version {loaded.version} of {loaded.ref}"
           f"{'' if loaded.new else ' (unchanged: the library already held this content)'}")
    return loaded


def mark_away(ctx: EngineContext, runner: InspectionRunner, actor: Actor, inspection_id: str, person_key: str, *,
              from_at: datetime, until_at: datetime) -> AbsenceView:
    """Mark a person away from–to in this inspection: their deputy is asked instead, from the start."""
    absence = record_absence(ctx, inspection_id, person_key, from_at=from_at, until_at=until_at,
                             recorded_by=actor.key)
    runner.nudge(inspection_id)
    record(ctx, actor, "away", f"marked {absence.person_name} away from {to_london(from_at):%a %d %b %H:%M} until "
           f"{to_london(until_at):%a %d %b %H:%M}; {absence.deputy_name} is asked instead", inspection_id=inspection_id)
    return absence


def end_away(ctx: EngineContext, runner: InspectionRunner, actor: Actor, inspection_id: str,
             absence_id: int) -> AbsenceView:
    """End an absence now: the person is back, and asked again for what is still theirs."""
    absence = end_absence(ctx, inspection_id, absence_id)
    runner.nudge(inspection_id)
    record(ctx, actor, "back", f"ended {absence.person_name}'s absence: they are back", inspection_id=inspection_id)
    return absence


def give_fresh_link(ctx: EngineContext, actor: Actor, inspection_id: str, ref: str, person_key: str) -> FreshLink:
    """Email a person a fresh link to an item's open step; the links they had to it stop working."""
    fresh = send_fresh_link(ctx, inspection_id, ref, person_key)
    record(ctx, actor, "fresh link", f"sent {_name(ctx, person_key)} a fresh link to {ref} ({fresh.step}); "
           f"{fresh.replaced} earlier link(s) stopped working", inspection_id=inspection_id)
    return fresh


def change_item_owner(ctx: EngineContext, runner: InspectionRunner, actor: Actor, inspection_id: str, ref: str, *,
                      field: str, person_key: str) -> Handover:
    """Make someone else an item's evidence lead or accountable lead for this inspection."""
    handover = change_owner(ctx, inspection_id, ref, field, person_key)
    runner.nudge(inspection_id)
    now = " (asked now; the earlier links stopped working)" if handover.asked_now else ""
    record(ctx, actor, "change owner", f"made {_name(ctx, handover.after)} the {OWNER_FIELDS[field]} of {ref} instead "
           f"of {_name(ctx, handover.before)}{now}", inspection_id=inspection_id)
    return handover


def hold_deletion(ctx: EngineContext, actor: Actor, inspection_id: str, *, kind: str, reason: str) -> int:
    """Stop every deletion of the inspection's data (a complaint, a legal hold), saying why; return its number."""
    number = put_on_hold(ctx, inspection_id, kind=kind, reason=reason, by=actor.key)
    record(ctx, actor, "retention hold", f"placed hold {number} ({HOLD_KINDS[kind]}) on deleting the inspection's "
           "data", inspection_id=inspection_id)
    return number


def lift_deletion_hold(ctx: EngineContext, actor: Actor, inspection_id: str, hold_id: int, *, reason: str) -> None:
    """Lift a hold on deletion, saying why: what fell due meanwhile goes at the next retention run."""
    lift(ctx, inspection_id, hold_id, reason=reason, by=actor.key)
    record(ctx, actor, "retention hold lifted", f"lifted hold {hold_id} on deleting the inspection's data",
           inspection_id=inspection_id)


def export_inspection_record(ctx: EngineContext, actor: Actor, inspection_id: str, *,
                             to: Path | None = None) -> Exported:
    """Export the inspection's record now as one archive for the council's records system."""
    exported = export_now(ctx, inspection_id, by=actor.key, to=to)
    record(ctx, actor, "record export", f"exported the inspection's record ({exported.entries} files, "
           f"sha256 {exported.sha256[:12]}…)", inspection_id=inspection_id)
    return exported


def inspection_exists(ctx: EngineContext, inspection_id: str) -> bool:
    """Say whether the inspection is in the database."""
    with ctx.session() as session:
        return session.scalar(select(m.Inspection.id).where(m.Inspection.id == inspection_id)) is not None


def _name(ctx: EngineContext, person_key: str) -> str:
    try:
        return ctx.config.partnership.person(person_key).name
    except KeyError:
        return person_key
