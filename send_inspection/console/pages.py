"""The console's pages: the inspections, each one's dashboard, and a page for every coordinator action.

Every page shows to coordinators and viewers; only a coordinator's form, carrying its session's CSRF token, changes
anything, through the one function of send_inspection.coordinator.actions that the command line calls too. After an
action the browser is sent back to the page, which shows what was done as the audit log recorded it.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from send_inspection.calendar import LONDON, to_london
from send_inspection.cases.selection import SelectionRefused, refused_entries, selection_coverage
from send_inspection.catalogue.phases import phase_label
from send_inspection.catalogue.steps import step_label
from send_inspection.console.guard import HEADERS, Pages, actor
from send_inspection.console.sessions import SignedIn
from send_inspection.coordinator import actions
from send_inspection.coordinator.audit import entries
from send_inspection.coordinator.overview import inspection_overview, inspection_rows
from send_inspection.coordinator.picture import lay_out
from send_inspection.db import models as m
from send_inspection.engine.absences import AbsenceRefused, absence_views
from send_inspection.engine.additional_requests import RequestRefused, requests_overview
from send_inspection.engine.handover import OWNER_FIELDS, HandoverRefused
from send_inspection.engine.notification import LinksNotTaken, SurveyLinks
from send_inspection.engine.owners import step_owner
from send_inspection.engine.start_time import NotificationTimeRefused
from send_inspection.evidence.library import LibraryRefused, library_versions
from send_inspection.fieldwork.store import InspectionNotFound, stored_slots
from send_inspection.fieldwork.timetable import TimetableRefused
from send_inspection.files.storage import MAX_UPLOAD_BYTES, UploadRefused
from send_inspection.report.feedback import FeedbackRefused, parse_priority_action
from send_inspection.report.outcomes import outcomes_for
from send_inspection.retention.holds import HOLD_KINDS, HoldRefused
from send_inspection.retention.service import retention_schedule

T = TypeVar("T")
STAGED_FOR = 24 * 3600  # seconds a timetable file waits for its preview to be confirmed
_STAGED = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")


def parse_local(text: str | None, field: str) -> datetime:
    """Read a date-time typed in a form as Europe/London wall time; refuse naming the field."""
    try:
        moment = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise ValueError(f"{field}: give a date and time, like 2026-11-23 09:30") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _field_error(message: str) -> tuple[str, str]:
    """Split an engine message 'field: what is wrong' into the field and the message."""
    field, sep, rest = message.partition(": ")
    return (field.strip().replace(" ", "_"), rest) if sep and " " not in field.strip() else ("", message)


def console_routes(router: APIRouter, pages: Pages) -> None:
    """Add the console's own pages: inspections, start, dashboard, the actions, the library and the audit log."""
    console = pages.console
    ctx = console.ctx
    runner = console.runner

    def last_done(request: Request, me: SignedIn, inspection_id: str | None = None) -> m.AuditEntry | None:
        if request.query_params.get("done") != "1":
            return None
        return next((e for e in entries(ctx, limit=20) if e.actor == me.person_key
                     and (inspection_id is None or e.inspection_id == inspection_id)), None)

    def inspection_page(request: Request, me: SignedIn, inspection_id: str, name: str, *, status: int = 200,
                        **context: object) -> Response:
        overview = inspection_overview(ctx, inspection_id)
        if overview is None:
            return pages.refuse(request, 404, "No such inspection",
                                "There is no inspection with this id. Choose one from the list.", me=me)
        return pages.page(request, name, status=status, me=me, overview=overview, iid=inspection_id,
                          done=last_done(request, me, inspection_id), **context)

    def exists(inspection_id: str) -> bool:
        return actions.inspection_exists(ctx, inspection_id)

    async def do(action: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run an action in a worker thread: it calls Prefect's client and the database, which would block the loop."""
        return await run_in_threadpool(action, ctx, *args, **kwargs)

    # ------------------------------------------------------------------ the list and the start

    @router.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        """Send the browser to the console (the list of inspections is behind sign-in)."""
        return RedirectResponse("/console/", status_code=303, headers=HEADERS)

    @router.get("/console/", response_class=HTMLResponse)
    def inspections(request: Request) -> Response:
        """List every inspection with its open phases."""
        me = pages.viewing(request)
        if isinstance(me, Response):
            return me
        return pages.page(request, "inspections.html.j2", me=me, rows=inspection_rows(ctx),
                          done=last_done(request, me))

    def start_page(request: Request, me: SignedIn, *, status: int = 200, errors: dict | None = None,
                   kept: dict | None = None) -> Response:
        now = to_london(ctx.clock.now())
        kept = kept or {"notified_at": f"{now:%Y-%m-%dT%H:%M}", "kind": "full", "deliberate": ""}
        return pages.page(request, "start.html.j2", status=status, me=me, errors=errors or {}, kept=kept)

    @router.get("/console/start", response_class=HTMLResponse)
    def start_form(request: Request) -> Response:
        """Show the start form: the time of the lead inspector's call, the kind of inspection."""
        me = pages.viewing(request)
        return me if isinstance(me, Response) else start_page(request, me)

    @router.post("/console/start", response_class=HTMLResponse)
    async def start(request: Request) -> Response:
        """Start an inspection from the time of the call (one far in the past, or in the future, must be deliberate)."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        kept = {k: _text(form, k) for k in ("notified_at", "kind", "deliberate")}
        try:
            notified_at = parse_local(kept["notified_at"], "notified_at")
            started = await do(actions.start_inspection, runner, actor(me), notified_at=notified_at,
                                               kind=kept["kind"] or "full", deliberate=kept["deliberate"] == "yes")
        except NotificationTimeRefused as exc:
            return start_page(request, me, status=422, errors={"notified_at": str(exc)}, kept=kept)
        except ValueError as exc:
            field, message = _field_error(str(exc))
            return start_page(request, me, status=422, errors={field or "notified_at": message}, kept=kept)
        return pages.done(f"/console/i/{started.inspection_id}")

    # ------------------------------------------------------------------ the dashboard

    @router.get("/console/i/{inspection_id}", response_class=HTMLResponse)
    def dashboard(request: Request, inspection_id: str) -> Response:
        """Show the inspection: the picture, each phase and what it waits for, what is late, today's deadlines."""
        me = pages.viewing(request)
        if isinstance(me, Response):
            return me
        overview = inspection_overview(ctx, inspection_id)
        picture = lay_out(overview) if overview is not None else None
        return inspection_page(request, me, inspection_id, "dashboard.html.j2", picture=picture,
                               prefect_ui=console.settings.prefect_ui_url)

    # ------------------------------------------------------------------ survey links

    @router.get("/console/i/{inspection_id}/survey-links", response_class=HTMLResponse)
    def survey_links_form(request: Request, inspection_id: str) -> Response:
        """Show the survey links given so far and the form to give them."""
        me = pages.viewing(request)
        return me if isinstance(me, Response) else survey_page(request, me, inspection_id)

    def survey_page(request: Request, me: SignedIn, inspection_id: str, *, status: int = 200,
                    errors: dict | None = None, kept: dict | None = None) -> Response:
        with ctx.session() as session:
            inspection = session.get(m.Inspection, inspection_id)
            given = dict(inspection.survey_links or {}) if inspection else {}
        return inspection_page(request, me, inspection_id, "survey_links.html.j2", status=status, given=given,
                               errors=errors or {}, kept=kept or given)

    @router.post("/console/i/{inspection_id}/survey-links", response_class=HTMLResponse)
    async def survey_links(request: Request, inspection_id: str) -> Response:
        """Record the inspectors' survey links (and their close time) and hand them to the waiting run."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        names = ("children_young_people", "parents_carers", "practitioners", "health_template", "closes_at")
        kept = {k: _text(form, k) for k in names}
        try:
            closes = parse_local(kept["closes_at"], "closes_at") if kept["closes_at"] else None
            links = SurveyLinks.model_validate({k: v or None for k, v in kept.items() if k != "closes_at"}
                                               | {"closes_at": closes})
            await do(actions.give_survey_links, runner, actor(me), inspection_id, links)
        except ValidationError as exc:
            errors = {str(e["loc"][0]): "give the full web address, starting https://" if e["type"].startswith("url")
                      else e["msg"] for e in exc.errors()}
            return survey_page(request, me, inspection_id, status=422, errors=errors, kept=kept)
        except LinksNotTaken as exc:  # recorded, but the run was not suspended yet: the coordinator tries again
            return survey_page(request, me, inspection_id, status=503, errors={"form": str(exc)}, kept=kept)
        except (ValueError, KeyError) as exc:
            field, message = _field_error(str(exc).strip("'\""))
            return survey_page(request, me, inspection_id, status=422, errors={field or "form": message}, kept=kept)
        return pages.done(f"/console/i/{inspection_id}/survey-links")

    # ------------------------------------------------------------------ cases

    @router.get("/console/i/{inspection_id}/cases", response_class=HTMLResponse)
    def cases_form(request: Request, inspection_id: str) -> Response:
        """Show the children chosen so far (case ids), how they cover the usual mix, and the form to add more."""
        me = pages.viewing(request)
        return me if isinstance(me, Response) else cases_page(request, me, inspection_id)

    def cases_page(request: Request, me: SignedIn, inspection_id: str, *, status: int = 200,
                   error: str | None = None) -> Response:
        coverage = selection_coverage(ctx, inspection_id) if exists(inspection_id) else None
        with ctx.session() as session:
            cases = list(session.scalars(select(m.TrackedCase).where(m.TrackedCase.inspection_id == inspection_id)
                                         .order_by(m.TrackedCase.id)))
        return inspection_page(request, me, inspection_id, "cases.html.j2", status=status, coverage=coverage,
                               cases=cases, error=error)

    @router.post("/console/i/{inspection_id}/cases", response_class=HTMLResponse)
    async def choose_cases(request: Request, inspection_id: str) -> Response:
        """Record the case ids the inspectors chose; their tracked cases start."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        ids = [i for i in re.split(r"[\s,;]+", _text(form, "case_ids")) if i]
        try:
            await do(actions.select_cases, runner, actor(me), inspection_id, ids)
        except SelectionRefused as exc:
            # What was typed is not shown again: an entry that is not a case id may be a child's name.
            message = refused_entries(ids, exc.unknown) if exc.unknown else str(exc)
            return cases_page(request, me, inspection_id, status=422, error=message)
        return pages.done(f"/console/i/{inspection_id}/cases")

    # ------------------------------------------------------------------ timetable

    def staging() -> Path:
        return ctx.uploads_dir.parent / "console-staging"

    def forget_old_previews() -> None:
        """Remove the files of previews nobody confirmed within a day."""
        if staging().is_dir():
            for folder in staging().iterdir():
                if time.time() - folder.stat().st_mtime > STAGED_FOR:
                    shutil.rmtree(folder, ignore_errors=True)

    def timetable_page(request: Request, me: SignedIn, inspection_id: str, *, status: int = 200,
                       problems: list[str] | None = None, preview: actions.TimetablePreview | None = None,
                       staged: str | None = None, notice: str | None = None) -> Response:
        slots = stored_slots(ctx, inspection_id) if exists(inspection_id) else []
        return inspection_page(request, me, inspection_id, "timetable.html.j2", status=status, slots=slots,
                               problems=problems or [], preview=preview, staged=staged, notice=notice,
                               names=_names())

    @router.get("/console/i/{inspection_id}/timetable", response_class=HTMLResponse)
    def timetable_form(request: Request, inspection_id: str) -> Response:
        """Show the timetable as last imported and the form to import (or re-import) it."""
        me = pages.viewing(request)
        return me if isinstance(me, Response) else timetable_page(request, me, inspection_id)

    @router.post("/console/i/{inspection_id}/timetable", response_class=HTMLResponse)
    async def timetable_preview(request: Request, inspection_id: str) -> Response:
        """Check a timetable file and show what importing it would send; nothing is saved or sent yet."""
        checked = await pages.acting(request, files=True)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return timetable_page(request, me, inspection_id, status=422, problems=["choose the timetable file"])
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        forget_old_previews()
        staged = secrets.token_urlsafe(24)
        name = _SAFE_NAME.sub("_", Path(upload.filename).name)[-120:] or "timetable.csv"
        folder = staging() / staged
        folder.mkdir(parents=True)
        (folder / name).write_bytes(data[:MAX_UPLOAD_BYTES])
        try:
            preview = actions.preview_timetable_file(ctx, inspection_id, folder / name)
        except TimetableRefused as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return timetable_page(request, me, inspection_id, status=422, problems=[str(p) for p in exc.problems])
        except InspectionNotFound as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return timetable_page(request, me, inspection_id, status=422, problems=[str(exc)])
        return timetable_page(request, me, inspection_id, preview=preview, staged=staged)

    @router.post("/console/i/{inspection_id}/timetable/confirm", response_class=HTMLResponse)
    async def timetable_import(request: Request, inspection_id: str) -> Response:
        """Import the previewed timetable: its invitations, updates and cancellations go."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        staged = _text(form, "staged")
        folder = staging() / staged
        files = sorted(folder.iterdir()) if _STAGED.match(staged) and folder.is_dir() else []
        if not files:
            return timetable_page(request, me, inspection_id, status=422,
                                  problems=["this preview is no longer kept: choose the file again"])
        try:
            await do(actions.import_timetable, runner, actor(me), inspection_id, files[0],
                                     confirmed=_text(form, "digest"))
        except actions.PreviewOutdated as exc:
            preview = actions.preview_timetable_file(ctx, inspection_id, files[0])
            return timetable_page(request, me, inspection_id, status=409, preview=preview, staged=staged,
                                  notice=str(exc))
        except (TimetableRefused, InspectionNotFound) as exc:
            return timetable_page(request, me, inspection_id, status=422, problems=[str(exc)])
        shutil.rmtree(folder, ignore_errors=True)
        return pages.done(f"/console/i/{inspection_id}/timetable")

    # ------------------------------------------------------------------ additional requests

    def requests_page(request: Request, me: SignedIn, inspection_id: str, *, status: int = 200,
                      errors: dict | None = None, kept: dict | None = None) -> Response:
        rows = requests_overview(ctx, inspection_id) if exists(inspection_id) else []
        return inspection_page(request, me, inspection_id, "requests.html.j2", status=status, rows=rows,
                               errors=errors or {}, kept=kept or {}, people=_people())

    @router.get("/console/i/{inspection_id}/requests", response_class=HTMLResponse)
    def requests_form(request: Request, inspection_id: str) -> Response:
        """List the inspectors' additional evidence requests and show the form to record one."""
        me = pages.viewing(request)
        return me if isinstance(me, Response) else requests_page(request, me, inspection_id)

    @router.post("/console/i/{inspection_id}/requests", response_class=HTMLResponse)
    async def add_request(request: Request, inspection_id: str) -> Response:
        """Record an additional evidence request; it starts at once."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        kept = {k: _text(form, k) for k in ("asked", "inspector", "head_of_service", "accountable_lead")}
        try:
            await do(actions.record_additional_request, runner, actor(me), inspection_id, asked=kept["asked"],
                                              inspector=kept["inspector"], head_of_service=kept["head_of_service"],
                                              accountable_lead=kept["accountable_lead"] or None)
        except RequestRefused as exc:
            field = {"what the inspector asked for is missing": "asked",
                     "the inspector's name is missing": "inspector"}.get(str(exc))
            field = field or ("head_of_service" if str(exc).startswith("head of service") else
                              "accountable_lead" if str(exc).startswith("accountable lead") else "form")
            return requests_page(request, me, inspection_id, status=422, errors={field: str(exc)}, kept=kept)
        return pages.done(f"/console/i/{inspection_id}/requests")

    # ------------------------------------------------------------------ feedback

    def feedback_page(request: Request, me: SignedIn, inspection_id: str, *, status: int = 200,
                      errors: dict | None = None, kept: dict | None = None) -> Response:
        with ctx.session() as session:
            inspection = session.get(m.Inspection, inspection_id)
            kind = inspection.kind if inspection else "full"
            recorded = session.scalars(select(m.FeedbackRecord).where(
                m.FeedbackRecord.inspection_id == inspection_id)).first()
        return inspection_page(request, me, inspection_id, "feedback.html.j2", status=status, errors=errors or {},
                               kept=kept or {}, outcomes=outcomes_for(kind), recorded=recorded,
                               partners=ctx.config.partnership.report_partners, names=_names())

    @router.get("/console/i/{inspection_id}/feedback", response_class=HTMLResponse)
    def feedback_form(request: Request, inspection_id: str) -> Response:
        """Show the feedback form (the outcomes in the inspectorate's words), or that it is recorded."""
        me = pages.viewing(request)
        return me if isinstance(me, Response) else feedback_page(request, me, inspection_id)

    @router.post("/console/i/{inspection_id}/feedback", response_class=HTMLResponse)
    async def feedback(request: Request, inspection_id: str) -> Response:
        """Record the inspectors' feedback (emailed, embargoed, to the leadership group only); the report starts."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        kept = {k: _text(form, k) for k in ("outcome", "effective", "improve", "priority")}
        partners = {p.id for p in ctx.config.partnership.report_partners}
        try:
            if not kept["outcome"].isdigit():
                raise FeedbackRefused("outcome: choose the outcome the inspectors gave")
            priority = [parse_priority_action(line, partner_ids=partners)
                        for line in kept["priority"].splitlines() if line.strip()]
            await do(actions.record_inspection_feedback, runner, actor(me), inspection_id, outcome=int(kept["outcome"]),
                                               effective=kept["effective"], improve=kept["improve"],
                                               priority_actions=priority)
        except FeedbackRefused as exc:
            field, message = _field_error(str(exc))
            field = field if field in ("outcome", "effective", "improve") else (
                "priority" if str(exc).startswith("priority") else "form")
            return feedback_page(request, me, inspection_id, status=422, errors={field: message or str(exc)},
                                 kept=kept)
        return pages.done(f"/console/i/{inspection_id}/feedback")

    # ------------------------------------------------------------------ away

    def away_page(request: Request, me: SignedIn, inspection_id: str, *, status: int = 200,
                  errors: dict | None = None, kept: dict | None = None) -> Response:
        absences = absence_views(ctx, inspection_id) if exists(inspection_id) else []
        return inspection_page(request, me, inspection_id, "away.html.j2", status=status, absences=absences,
                               errors=errors or {}, kept=kept or {}, people=_people(inspection_id))

    @router.get("/console/i/{inspection_id}/away", response_class=HTMLResponse)
    def away_form(request: Request, inspection_id: str) -> Response:
        """List who is away and show the form to mark someone away from–to."""
        me = pages.viewing(request)
        return me if isinstance(me, Response) else away_page(request, me, inspection_id)

    @router.post("/console/i/{inspection_id}/away", response_class=HTMLResponse)
    async def away(request: Request, inspection_id: str) -> Response:
        """Mark someone away: their deputy is asked instead, from the start, while they are away."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        kept = {k: _text(form, k) for k in ("person", "from_at", "until_at")}
        try:
            if not kept["person"]:
                raise AbsenceRefused("person: choose who is away")
            await do(actions.mark_away, runner, actor(me), inspection_id, kept["person"],
                              from_at=parse_local(kept["from_at"], "from_at"),
                              until_at=parse_local(kept["until_at"], "until_at"))
        except ValueError as exc:
            field, message = _field_error(str(exc))
            field = {"until": "until_at"}.get(field, field)
            return away_page(request, me, inspection_id, status=422, errors={field or "form": message}, kept=kept)
        return pages.done(f"/console/i/{inspection_id}/away")

    @router.post("/console/i/{inspection_id}/away/{absence_id}/end", response_class=HTMLResponse)
    async def back(request: Request, inspection_id: str, absence_id: int) -> Response:
        """End an absence now: the person is back."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, _ = checked
        try:
            await do(actions.end_away, runner, actor(me), inspection_id, absence_id)
        except AbsenceRefused as exc:
            return away_page(request, me, inspection_id, status=422, errors={"form": str(exc)})
        return pages.done(f"/console/i/{inspection_id}/away")

    # ------------------------------------------------------------------ retention and records

    def retention_page(request: Request, me: SignedIn, inspection_id: str, *, status: int = 200,
                       errors: dict | None = None, kept: dict | None = None) -> Response:
        [shown] = retention_schedule(ctx, inspection_id) if exists(inspection_id) else [None]
        return inspection_page(request, me, inspection_id, "retention.html.j2", status=status, retention=shown,
                               hold_kinds=HOLD_KINDS, errors=errors or {}, kept=kept or {})

    @router.get("/console/i/{inspection_id}/retention", response_class=HTMLResponse)
    def retention(request: Request, inspection_id: str) -> Response:
        """Show what will be deleted when, the holds on deletion and the record's exports."""
        me = pages.viewing(request)
        return me if isinstance(me, Response) else retention_page(request, me, inspection_id)

    @router.post("/console/i/{inspection_id}/retention/hold", response_class=HTMLResponse)
    async def hold(request: Request, inspection_id: str) -> Response:
        """Put a hold on deleting the inspection's data (a complaint, a legal hold), saying why."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        kept = {k: _text(form, k) for k in ("kind", "reason")}
        try:
            await do(actions.hold_deletion, actor(me), inspection_id, kind=kept["kind"], reason=kept["reason"])
        except HoldRefused as exc:
            field, message = _field_error(str(exc))
            return retention_page(request, me, inspection_id, status=422, errors={field or "form": message}, kept=kept)
        return pages.done(f"/console/i/{inspection_id}/retention")

    @router.post("/console/i/{inspection_id}/retention/hold/{hold_id}/lift", response_class=HTMLResponse)
    async def lift_hold(request: Request, inspection_id: str, hold_id: int) -> Response:
        """Lift a hold, saying why: what fell due meanwhile goes at the next retention run."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        try:
            await do(actions.lift_deletion_hold, actor(me), inspection_id, hold_id,
                     reason=_text(form, f"lift_reason_{hold_id}"))
        except HoldRefused as exc:
            field, message = _field_error(str(exc))
            name = f"lift_reason_{hold_id}" if field == "reason" else "form"
            return retention_page(request, me, inspection_id, status=422, errors={name: message})
        return pages.done(f"/console/i/{inspection_id}/retention")

    @router.post("/console/i/{inspection_id}/retention/export", response_class=HTMLResponse)
    async def export(request: Request, inspection_id: str) -> Response:
        """Export the inspection's record now, for the council's records system."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, _ = checked
        await do(actions.export_inspection_record, actor(me), inspection_id)
        return pages.done(f"/console/i/{inspection_id}/retention")

    # ------------------------------------------------------------------ fresh link and owner

    def items_page(request: Request, me: SignedIn, inspection_id: str, name: str, *, status: int = 200,
                   errors: dict | None = None, kept: dict | None = None) -> Response:
        return inspection_page(request, me, inspection_id, name, status=status, errors=errors or {},
                               kept=kept or {}, items=_open_items(inspection_id), people=_people(inspection_id),
                               owner_fields=OWNER_FIELDS)

    @router.get("/console/i/{inspection_id}/fresh-link", response_class=HTMLResponse)
    def fresh_link_form(request: Request, inspection_id: str) -> Response:
        """Show the form to send someone a fresh link to an open item."""
        me = pages.viewing(request)
        return me if isinstance(me, Response) else items_page(request, me, inspection_id, "fresh_link.html.j2")

    @router.post("/console/i/{inspection_id}/fresh-link", response_class=HTMLResponse)
    async def fresh_link(request: Request, inspection_id: str) -> Response:
        """Email a fresh link; the person's earlier links to the item stop working."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        kept = {k: _text(form, k) for k in ("item", "person")}
        try:
            await do(actions.give_fresh_link, actor(me), inspection_id, kept["item"], kept["person"])
        except HandoverRefused as exc:
            field, message = _field_error(str(exc))
            return items_page(request, me, inspection_id, "fresh_link.html.j2", status=422,
                              errors={field or "form": message}, kept=kept)
        return pages.done(f"/console/i/{inspection_id}/fresh-link")

    @router.get("/console/i/{inspection_id}/owner", response_class=HTMLResponse)
    def owner_form(request: Request, inspection_id: str) -> Response:
        """Show the form to change an open item's evidence lead or accountable lead for this inspection."""
        me = pages.viewing(request)
        return me if isinstance(me, Response) else items_page(request, me, inspection_id, "owner.html.j2")

    @router.post("/console/i/{inspection_id}/owner", response_class=HTMLResponse)
    async def owner(request: Request, inspection_id: str) -> Response:
        """Change an item's owner for this inspection; if they answer its open step, they are asked now."""
        checked = await pages.acting(request)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        kept = {k: _text(form, k) for k in ("item", "field", "person")}
        try:
            await do(actions.change_item_owner, runner, actor(me), inspection_id, kept["item"], field=kept["field"],
                                      person_key=kept["person"])
        except HandoverRefused as exc:
            field, message = _field_error(str(exc))
            field = {"owner": "field"}.get(field, field)
            return items_page(request, me, inspection_id, "owner.html.j2", status=422,
                              errors={field or "form": message}, kept=kept)
        return pages.done(f"/console/i/{inspection_id}/owner")

    # ------------------------------------------------------------------ library and audit

    def library_page(request: Request, me: SignedIn, *, status: int = 200, error: str | None = None,
                     kept_ref: str = "") -> Response:
        rows = [(item, library_versions(ctx, item.ref)) for item in ctx.config.annex_a.items]
        return pages.page(request, "library.html.j2", status=status, me=me, rows=rows, error=error,
                          kept_ref=kept_ref, done=last_done(request, me), names=_names())

    @router.get("/console/library", response_class=HTMLResponse)
    def library(request: Request) -> Response:
        """List what the evidence library holds for each Annex A row, and the form to load more."""
        me = pages.viewing(request)
        return me if isinstance(me, Response) else library_page(request, me)

    @router.post("/console/library", response_class=HTMLResponse)
    async def load(request: Request) -> Response:
        """Load files into the evidence library as the next version of a row's evidence."""
        checked = await pages.acting(request, files=True)
        if isinstance(checked, Response):
            return checked
        me, form = checked
        ref = _text(form, "ref")
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        if not uploads:
            return library_page(request, me, status=422, error="choose at least one file", kept_ref=ref)
        for upload in uploads:
            try:
                await do(actions.load_library, actor(me), ref, upload.filename or "file",
                                     await upload.read(MAX_UPLOAD_BYTES + 1))
            except (LibraryRefused, UploadRefused) as exc:
                return library_page(request, me, status=422, error=f"{upload.filename}: {exc}", kept_ref=ref)
        return pages.done("/console/library")

    @router.get("/console/audit", response_class=HTMLResponse)
    def audit(request: Request) -> Response:
        """List the coordinator actions recorded: who, when, through which door, what."""
        me = pages.viewing(request)
        return me if isinstance(me, Response) else pages.page(request, "audit.html.j2", me=me,
                                                              rows=entries(ctx, limit=1000))

    # ------------------------------------------------------------------ helpers reading the inspection

    def _people(inspection_id: str | None = None) -> list[tuple[str, str]]:
        """Return (id, "Name (role)") of the partnership's people, or of the inspection's (tracked-case staff too)."""
        if inspection_id is None:
            return sorted(((p.id, f"{p.name} ({p.role})") for p in ctx.config.partnership.people),
                          key=lambda x: x[1])
        with ctx.session() as session:
            rows = session.scalars(select(m.Person).where(m.Person.inspection_id == inspection_id))
            return sorted(((p.person_key, f"{p.name} ({p.role})") for p in rows), key=lambda x: x[1])

    def _names() -> dict[str, str]:
        return {p.id: p.name for p in ctx.config.partnership.people}

    def _open_items(inspection_id: str) -> list[dict[str, str]]:
        """Return the inspection's open items: reference, title, phase, step and who answers it."""
        with ctx.session() as session:
            items = list(session.scalars(select(m.RegisterItem).where(
                m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.outcome.is_(None))
                .order_by(m.RegisterItem.id)))
            names = {p.person_key: p.name for p in session.scalars(select(m.Person).where(
                m.Person.inspection_id == inspection_id))}
        return [{"ref": i.ref, "title": i.title, "phase": phase_label(i.phase),
                 "step": step_label(i.step), "owner": names.get(step_owner(ctx, i), step_owner(ctx, i)),
                 "evidence_lead": names.get(i.evidence_lead, i.evidence_lead),
                 "accountable_lead": names.get(i.accountable_lead, i.accountable_lead)} for i in items]
