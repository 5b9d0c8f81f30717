"""The sign-off web app: personal links open a page; only a button's POST records a decision."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile

from send_inspection.calendar import to_london
from send_inspection.cases.people_form import parse_case_people, record_case_people
from send_inspection.checklist import CHECKLIST, CHECKLIST_IDS
from send_inspection.childdata.items import DATA_ITEMS, stored_summary
from send_inspection.childdata.returns import summary_markdown
from send_inspection.console.guard import Console
from send_inspection.console.router import console_router
from send_inspection.db import models as m
from send_inspection.engine.additional_requests import request_of
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import (
    DecisionRefused,
    SubmissionData,
    latest_submission,
    record_decision,
)
from send_inspection.engine.outgoing import ACTION_WORDS, when
from send_inspection.engine.report_phase import PHASE as REPORT_PHASE
from send_inspection.engine.tracked_case import child_of
from send_inspection.evidence.document_checks import summary_lines
from send_inspection.evidence.file_submission import check_submission_links, file_submission
from send_inspection.evidence.library import latest_in_library
from send_inspection.fieldwork.debrief_form import FIELDS as DEBRIEF_FIELDS
from send_inspection.fieldwork.debrief_form import parse_debrief, record_debrief
from send_inspection.files.storage import MAX_UPLOAD_BYTES, UploadRefused
from send_inspection.report.documents import KINDS, open_document
from send_inspection.report.web_steps import COMMENT_ROWS, REPORT_FIELDS, partner_for, report_step
from send_inspection.runtime import Waker
from send_inspection.tokens import TokenStatus, check_token
from send_inspection.web.case_fields import IDENTIFY_FIELDS, requested_slot
from send_inspection.web.child_data_upload import data_fields, data_submission
from send_inspection.web.outbox_pages import outbox_router
from send_inspection.web.templating import web_templates

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    # Personal links must not leak through the Referer header or caches.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-src 'self'; "
    "script-src 'none'; form-action 'self'",
}
PROBLEMS = {
    TokenStatus.UNKNOWN: (404, "This link is not recognised",
                          "The link may have been copied incompletely or changed. Nothing has been recorded. "
                          "Please use the link in your most recent email from the inspection team."),
    TokenStatus.EXPIRED: (410, "This link has expired",
                          "Nothing has been recorded. Please contact the inspection team, who can send a new link."),
    TokenStatus.USED: (409, "This link has already been used",
                       "An answer has already been recorded with this link, and it cannot be used again."),
    TokenStatus.REPLACED: (410, "This link has been replaced",
                           "A newer link was sent to you, or the request passed to someone else. Nothing has been "
                           "recorded. Please use the link in your most recent email from the inspection team."),
}
OUTCOMES = {
    "submit": [("submitted", "Submit evidence"), ("explained", "Submit an explanation instead")],
    "approve": [("approved", "Approve"), ("returned", "Return with comment")],
    "check": [("approved", "Final check passed"), ("returned", "Return with comment")],
    "upload": [("confirmed", "Confirm uploaded to the inspectorate")],
    "confirm": [("exists", "It exists: I will send it by the time given"),
                ("not-held", "It does not exist: I will explain why")],
    "identify": [("identified", "Record the practitioners and settings")],
    "agree": [("agreed", "The family agrees to take part"), ("declined", "The family declines")],
    "inform": [("records", "The inspectors will track this child from the records"),
               ("replace", "The inspectors will choose another child")],
    "review": [("approved", "Reviewed: it can go to the inspectors"), ("returned", "Return with comment")],
    "arrange": [("requested", "Record the meeting as requested")],
    "debrief": [("debriefed", "Record the debrief")],
    "receive": [("received", "Record the report as received")],
    "comment": [("commented", "Send my comments"), ("no-comments", "No comments on the draft")],
    "publish": [("published", "Confirm it is published")],
}


# Typed fields shown again when an answer is refused, so nothing typed is lost.
KEPT_FIELDS = (*IDENTIFY_FIELDS, *DEBRIEF_FIELDS, *REPORT_FIELDS, "rating", "comment", "explanation", "link_url",
               "slot")

# The button that submits the evidence library's latest version of the row as it is.
LIBRARY_OUTCOME = "library"

def create_app(ctx: EngineContext, *, waker: Waker | None = None, outbox_dir: Path | None = None,
               console: Console | None = None) -> FastAPI:
    """Build the web app around an engine context; `waker` resumes the waiting phase after a decision.

    With `console` the coordinator's console is served too, behind sign-in (its home is the app's home).
    """
    app = FastAPI(title="SEND inspection sign-off", docs_url=None, redoc_url=None, openapi_url=None)
    templates = web_templates()
    if outbox_dir is not None:
        app.include_router(outbox_router(outbox_dir, templates))
    if console is not None:
        app.include_router(console_router(console, templates))

    def page(name: str, status: int = 200, **context) -> HTMLResponse:  # noqa: ANN003
        html = templates.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def problem(status: TokenStatus | None, *, code: int = 409, title: str = "", detail: str = "") -> HTMLResponse:
        if status is not None:
            code, title, detail = PROBLEMS[status]
        return page("link_problem.html.j2", code, title=title, detail=detail)

    def context_for(session, token: m.ActionToken) -> dict:  # noqa: ANN001
        item = session.get(m.RegisterItem, token.item_id)
        person = session.scalars(
            select(m.Person).where(m.Person.inspection_id == token.inspection_id,
                                   m.Person.person_key == token.person_key)
        ).one()
        deadline = session.scalars(
            select(m.Milestone).where(m.Milestone.inspection_id == token.inspection_id,
                                      m.Milestone.name == item.deadlines[token.step])
        ).one()
        submission = latest_submission(session, item.id) if token.step != "submit" else None
        request = _request_for(session, item)
        returned = session.scalars(
            select(m.Decision).where(m.Decision.item_id == item.id, m.Decision.outcome == "returned")
            .order_by(m.Decision.id.desc()).limit(1)
        ).first()
        return {
            "item": item, "person": person, "step": token.step, "round": token.round,
            "action_words": ACTION_WORDS[token.step], "deadline": when(deadline.due_at),
            "submission": submission, "outcomes": OUTCOMES[token.step], "checklist": CHECKLIST,
            "returned": returned if token.step == "submit" and token.round > 1 else None,
            "data_fields": data_fields(item.ref),
            "library_doc": latest_in_library(ctx, item.ref) if token.step == "submit" else None,
            "library_outcome": LIBRARY_OUTCOME,
            "machine_lines": summary_lines(submission.machine_checks) if submission and submission.machine_checks
            else [],
            "data_summary": _summary_text(ctx, item) if submission is not None else None,
            "request": request,
            "request_due": when(request.due_at) if request is not None else None,
            "report_phase": item.phase == REPORT_PHASE, "comment_rows": COMMENT_ROWS,
            "report_partner": partner_for(ctx, item) if item.phase == REPORT_PHASE else None,
        }

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Say the app is up."""
        return {"status": "ok"}

    @app.api_route("/a/{raw}", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def show(raw: str) -> HTMLResponse:
        """Show what is asked, by when, and the buttons; never change anything (scanners open links)."""
        with ctx.session() as session:
            check = check_token(session, raw, now=ctx.clock.now())
            if check.status is not TokenStatus.VALID:
                return problem(check.status)
            token = check.token
            assert token is not None
            info = context_for(session, token)
            if info["item"].step != token.step or info["item"].round != token.round or info["item"].outcome:
                return problem(None, title="This request has already been answered",
                               detail="The item has moved on since this link was sent. Nothing has been recorded.")
            return page("sign_off.html.j2", raw=raw, **info)

    @app.get("/a/{raw}/file")
    def download(raw: str) -> Response:
        """Let the person asked to review an item download the submitted file."""
        with ctx.session() as session:
            check = check_token(session, raw, now=ctx.clock.now())
            if check.status is not TokenStatus.VALID:
                return problem(check.status)
            token = check.token
            assert token is not None
            submission = latest_submission(session, token.item_id)
        if submission is None or not submission.stored_path:
            return problem(None, code=404, title="No file", detail="No file was submitted for this item.")
        return FileResponse(submission.stored_path, filename=submission.filename, headers=SECURITY_HEADERS)

    @app.get("/a/{raw}/report/{kind}")
    def restricted(raw: str, kind: str, request: Request) -> Response:
        """Let a named reader open a restricted report document through their own link; record every attempt."""
        if kind not in KINDS:
            return problem(None, code=404, title="No such document", detail="Nothing has been recorded.")
        with ctx.session() as session:
            check = check_token(session, raw, now=ctx.clock.now())
            refused = {TokenStatus.UNKNOWN: "link not recognised", TokenStatus.EXPIRED: "link expired",
                       TokenStatus.REPLACED: "link replaced"}.get(check.status)
            document = open_document(session, ctx, check.token, kind, refused_because=refused,
                                     remote_addr=request.client.host if request.client else None)
        if document is None:
            return problem(None, code=403, title="You cannot open this document",
                           detail="It is restricted to the people the partnership named, through their own links. "
                                  "This attempt has been recorded.")
        return FileResponse(document.stored_path, filename=document.filename, headers=SECURITY_HEADERS)

    @app.post("/a/{raw}", response_class=HTMLResponse)
    async def decide(raw: str, request: Request, background: BackgroundTasks) -> HTMLResponse:
        """Record the decision the person's button asks for, then wake the waiting phase."""
        form = await request.form()
        now = ctx.clock.now()
        with ctx.session() as session:
            check = check_token(session, raw, now=now)
            if check.status is not TokenStatus.VALID:
                return problem(check.status)
            token = check.token
            assert token is not None
            item = session.get(m.RegisterItem, token.item_id)
            if (str(form.get("item_ref")), str(form.get("step")), str(form.get("round"))) != (
                item.ref, token.step, str(token.round)
            ):
                return problem(None, code=403, title="This link is for a different request",
                               detail="The form does not match the request this link was issued for. "
                                      "Nothing has been recorded.")
            outcome = str(form.get("outcome", ""))
            if outcome == LIBRARY_OUTCOME:  # "submit the library's version as it is" is a submission
                outcome = "submitted"
            try:
                submission = await _submission(ctx, form, item, token) if token.step == "submit" else None
                extra = (await report_step(ctx, session, form, item, token, now=now) if item.phase == REPORT_PHASE
                         else _step_form(session, form, item, token, now=now))
                comment = extra or str(form.get("comment") or "") or None
                record_decision(
                    session, token, outcome, now=now, comment=comment,
                    submission=submission, remote_addr=request.client.host if request.client else None,
                    user_agent=request.headers.get("user-agent"),
                )
            except (DecisionRefused, UploadRefused) as exc:
                session.rollback()
                info = context_for(session, token)
                kept = {k: str(form.get(k) or "") for k in KEPT_FIELDS}  # what was typed comes back, not lost
                return page("sign_off.html.j2", 422, raw=raw, error=str(exc), problems=getattr(exc, "lines", None),
                            kept=kept, field_errors=getattr(exc, "fields", {}), **info)
            phase, inspection_id = item.phase, item.inspection_id
        if submission is not None and ctx.check_links and (submission.machine_checks or {}).get("links"):
            background.add_task(check_submission_links, ctx, item.id)
        if waker is not None:
            background.add_task(waker.wake, inspection_id, phase, reason=f"decision on {item.ref}")
        return page("answer_recorded.html.j2", item=item, outcome=outcome, step=token.step)

    return app


async def _submission(ctx: EngineContext, form: FormData, item: m.RegisterItem, token: m.ActionToken) -> SubmissionData:
    checklist = {cid: cid in form.getlist("check") for cid in CHECKLIST_IDS}
    outcome = str(form.get("outcome", ""))
    if outcome == LIBRARY_OUTCOME:
        held = latest_in_library(ctx, item.ref)
        if held is None:
            raise DecisionRefused("the evidence library holds nothing for this row: upload a file or give a link")
        return SubmissionData(kind="file", checklist=checklist, filename=held.filename, stored_path=held.stored_path,
                              sha256=held.sha256, size_bytes=held.size_bytes, machine_checks=held.machine_checks)
    if outcome == "explained":
        explanation = str(form.get("explanation") or "").strip()
        if not explanation:
            raise DecisionRefused("write the explanation of why this evidence is not available", field="explanation")
        return SubmissionData(kind="explanation", checklist=checklist, explanation=explanation)
    if item.ref in DATA_ITEMS:
        with ctx.session() as session:
            notified_at = session.get(m.Inspection, item.inspection_id).notified_at
        return await data_submission(ctx, form, inspection_id=item.inspection_id, ref=item.ref,
                                     notified_on=to_london(notified_at).date(), checklist=checklist)
    upload = form.get("file")
    link = str(form.get("link_url") or "").strip()
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_UPLOAD_BYTES + 1)  # never more than the limit in memory
        return file_submission(ctx, item, upload.filename, data, checklist=checklist,
                               submitted_by=token.person_key)
    if link:
        if not link.startswith(("https://", "http://")):
            raise DecisionRefused("the hyperlink must start with https:// or http://", field="link_url")
        return SubmissionData(kind="link", checklist=checklist, link_url=link[:2000],
                              machine_checks={"links": {link[:2000]: "not checked"}})
    raise DecisionRefused("choose a file to upload or give a hyperlink", field="file")


def _step_form(session, form: FormData, item: m.RegisterItem, token: m.ActionToken, *,  # noqa: ANN001
               now: datetime) -> str | None:
    """Apply the extra fields of a tracked-case step; return the comment to record, if the step makes one."""
    if token.step == "identify" and str(form.get("outcome")) == "identified":
        people = parse_case_people({k: str(form.get(k) or "") for k in IDENTIFY_FIELDS})
        case = session.scalars(select(m.TrackedCase).where(m.TrackedCase.inspection_id == item.inspection_id,
                                                           m.TrackedCase.child_id == child_of(item.phase))).one()
        record_case_people(session, case, people, identified_by=token.person_key)
        named = {case.practitioner_key, *case.other_practitioner_keys}
        return f"{len(people.settings)} setting(s), {len(named)} practitioner(s) named"
    if token.step == "debrief":
        answers = parse_debrief({k: str(form.get(k) or "") for k in (*DEBRIEF_FIELDS, "rating")})
        record_debrief(session, item, answers, debriefer=token.person_key, now=now)
        return f"rated {answers.rating}; {len(answers.documents_requested)} document(s) requested"
    if token.step == "arrange":
        return requested_slot(str(form.get("slot") or ""), note=str(form.get("comment") or ""))
    return None


def _request_for(session, item: m.RegisterItem) -> m.EvidenceRequest | None:  # noqa: ANN001
    """Return the inspectors' request an item answers, if it is one."""
    number = request_of(item.phase)
    if number is None:
        return None
    return session.scalars(select(m.EvidenceRequest).where(m.EvidenceRequest.inspection_id == item.inspection_id,
                                                           m.EvidenceRequest.number == number)).one()


def _summary_text(ctx: EngineContext, item: m.RegisterItem) -> str | None:
    """Return the counts of a data item's last accepted lists as text, for its reviewers."""
    if item.ref not in DATA_ITEMS:
        return None
    summary = stored_summary(ctx, item.inspection_id, item.ref)
    return summary_markdown(summary) if summary else None

