"""The sign-off web app: personal links open a page; only a button's POST records a decision."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select

from send_inspection.catalogue.phases import ADDITIONAL_REQUEST, AFTER_FIELDWORK
from send_inspection.catalogue.steps import step_spec
from send_inspection.checklist import CHECKLIST, CHECKLIST_TEXT, HIGHLIGHTED
from send_inspection.childdata.items import DATA_ITEMS, stored_summary
from send_inspection.childdata.returns import summary_markdown
from send_inspection.console.guard import Console
from send_inspection.console.router import console_router
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import DecisionRefused, latest_submission, record_decision
from send_inspection.engine.next_ask import send_next_ask
from send_inspection.engine.outgoing import item_label, when
from send_inspection.evidence.document_checks import summary_lines
from send_inspection.evidence.file_submission import check_submission_links
from send_inspection.evidence.library import latest_in_library
from send_inspection.fieldwork.debrief_form import RAG
from send_inspection.files.storage import UploadRefused
from send_inspection.report.documents import KINDS, open_document
from send_inspection.runtime import Waker
from send_inspection.tokens import TokenStatus
from send_inspection.web.child_data_upload import data_fields
from send_inspection.web.links import AnyLink, LinkRefused, ValidLink
from send_inspection.web.outbox_pages import outbox_router
from send_inspection.web.report_forms import COMMENT_ROWS, partner_for
from send_inspection.web.security_headers import add_security_headers
from send_inspection.web.step_forms import LIBRARY_OUTCOME, kept_fields, read_step_form, step_page_context
from send_inspection.web.templating import web_templates

log = logging.getLogger(__name__)

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
def create_app(ctx: EngineContext, *, waker: Waker | None = None, outbox_dir: Path | None = None,
               console: Console | None = None) -> FastAPI:
    """Build the web app around an engine context; `waker` resumes the waiting phase after a decision.

    With `console` the coordinator's console is served too, behind sign-in (its home is the app's home).
    """
    app = FastAPI(title="SEND inspection sign-off", docs_url=None, redoc_url=None, openapi_url=None)
    add_security_headers(app, base_url=ctx.base_url)
    app.state.engine = ctx  # what the link dependency checks links against
    templates = web_templates()
    if outbox_dir is not None:
        app.include_router(outbox_router(outbox_dir, templates))
    if console is not None:
        app.include_router(console_router(console, templates))

    def page(name: str, status: int = 200, **context) -> HTMLResponse:  # noqa: ANN003
        html = templates.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status)

    def problem(status: TokenStatus | None, *, code: int = 409, title: str = "", detail: str = "") -> HTMLResponse:
        if status is not None:
            code, title, detail = PROBLEMS[status]
        return page("link_problem.html.j2", code, title=title, detail=detail)

    @app.exception_handler(LinkRefused)
    def refused_link(request: Request, exc: LinkRefused) -> HTMLResponse:
        """Say why the link cannot be used; nothing was recorded."""
        return problem(exc.status)

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
        step = step_spec(token.step)
        submitter = session.scalars(select(m.Person).where(
            m.Person.inspection_id == token.inspection_id, m.Person.person_key == submission.submitted_by)
        ).first() if submission is not None else None
        return {
            "item": item, "item_name": item_label(item.ref, item.title), "person": person, "step": token.step,
            "round": token.round,
            # Who submitted, as people read it: their name and role (their id only if no longer configured).
            "submitted_by": f"{submitter.name} ({submitter.role})" if submitter is not None
            else submission.submitted_by if submission is not None else None,
            "action_words": step.asks, "deadline": when(deadline.due_at), "step_page": f"steps/{step.page}.html.j2",
            "submission": submission, "outcomes": [(b.outcome, b.text) for b in step.buttons], "checklist": CHECKLIST,
            "checklist_text": CHECKLIST_TEXT, "highlighted": HIGHLIGHTED,
            "returned": returned if token.step == "submit" and token.round > 1 else None,
            "data_fields": data_fields(item.ref),
            "library_doc": latest_in_library(ctx, item.ref) if token.step == "submit" else None,
            "library_outcome": LIBRARY_OUTCOME,
            "machine_lines": summary_lines(submission.machine_checks) if submission and submission.machine_checks
            else [],
            "data_summary": _summary_text(ctx, item) if submission is not None else None,
            "request": request,
            "request_due": when(request.due_at) if request is not None else None,
            "report_phase": item.phase == AFTER_FIELDWORK.key, "comment_rows": COMMENT_ROWS, "rag": RAG,
            "report_partner": partner_for(ctx, item) if item.phase == AFTER_FIELDWORK.key else None,
            "step_extra": step_page_context(ctx, session, item, token, now=ctx.clock.now()),
        }

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Say the app is up."""
        return {"status": "ok"}

    @app.api_route("/a/{raw}", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def show(link: ValidLink) -> HTMLResponse:
        """Show what is asked, by when, and the buttons; never change anything (scanners open links)."""
        token = link.token
        assert token is not None
        info = context_for(link.session, token)
        if info["item"].step != token.step or info["item"].round != token.round or info["item"].outcome:
            return problem(None, title="This request has already been answered",
                           detail="The item has moved on since this link was sent. Nothing has been recorded.")
        return page("sign_off.html.j2", raw=link.raw, **info)

    @app.get("/a/{raw}/file")
    def download(link: ValidLink) -> Response:
        """Let the person asked to review an item download the submitted file."""
        assert link.token is not None
        submission = latest_submission(link.session, link.token.item_id)
        if submission is None or not submission.stored_path:
            return problem(None, code=404, title="No file", detail="No file was submitted for this item.")
        return FileResponse(submission.stored_path, filename=submission.filename)

    @app.get("/a/{raw}/report/{kind}")
    def restricted(link: AnyLink, kind: str, request: Request) -> Response:
        """Let a named reader open a restricted report document through their own link; record every attempt."""
        if kind not in KINDS:
            return problem(None, code=404, title="No such document", detail="Nothing has been recorded.")
        # An answered link still opens the documents its reader was given; an unknown or expired one is refused.
        refused = {TokenStatus.UNKNOWN: "link not recognised", TokenStatus.EXPIRED: "link expired",
                   TokenStatus.REPLACED: "link replaced"}.get(link.status)
        document = open_document(link.session, ctx, link.token, kind, refused_because=refused,
                                 remote_addr=request.client.host if request.client else None)
        if document is None:
            return problem(None, code=403, title="You cannot open this document",
                           detail="It is restricted to the people the partnership named, through their own links. "
                                  "This attempt has been recorded.")
        return FileResponse(document.stored_path, filename=document.filename)

    @app.post("/a/{raw}", response_class=HTMLResponse)
    async def decide(link: ValidLink, request: Request, background: BackgroundTasks) -> HTMLResponse:
        """Record the decision the person's button asks for, then wake the waiting phase."""
        form = await request.form()
        now = ctx.clock.now()
        session, token = link.session, link.token
        assert token is not None
        item = session.get_one(m.RegisterItem, token.item_id)
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
            answer = await read_step_form(ctx, session, form, item, token, now=now)
            submission = answer.submission
            # In a worker thread: the row lock and the commit wait on the database, and other people's pages must
            # not wait behind them on the event loop.
            await run_in_threadpool(
                record_decision, session, token, outcome, now=now,
                comment=answer.comment or str(form.get("comment") or "") or None, submission=submission,
                remote_addr=request.client.host if request.client else None,
                user_agent=request.headers.get("user-agent"), details=answer.details,
            )
        except (DecisionRefused, UploadRefused) as exc:
            session.rollback()
            info = context_for(session, token)
            kept = kept_fields(form)  # what was typed comes back, not lost
            return page("sign_off.html.j2", 422, raw=link.raw, error=str(exc), problems=getattr(exc, "lines", None),
                        kept=kept, field_errors=getattr(exc, "fields", {}), **info)
        # The next person's ask first, then the wake: background tasks run one after another, and trying a
        # submission's links may take seconds (a slow host); the next ask must not wait for that.
        background.add_task(answer_decision, ctx, item.id, waker=waker, inspection_id=item.inspection_id,
                            phase=item.phase, reason=f"decision on {item.ref}")
        if submission is not None and ctx.check_links and (submission.machine_checks or {}).get("links"):
            background.add_task(check_submission_links, ctx, item.id)
        return page("answer_recorded.html.j2", item_name=item_label(item.ref, item.title), outcome=outcome)

    return app


def answer_decision(ctx: EngineContext, item_id: int, *, waker: Waker | None, inspection_id: str, phase: str,
                    reason: str) -> None:
    """Send the decided item's next ask where the phase lets the web app (ADR 0009), then wake the phase."""
    try:
        send_next_ask(ctx, item_id)
    except Exception:  # the decision is recorded: the woken phase's pass sends the ask instead
        log.exception("the next ask after %s in %s %s is left to the phase", reason, inspection_id, phase)
    if waker is not None:
        waker.wake(inspection_id, phase, reason=reason)


def _request_for(session, item: m.RegisterItem) -> m.EvidenceRequest | None:  # noqa: ANN001
    """Return the inspectors' request an item answers, if it is one."""
    number = ADDITIONAL_REQUEST.value_of(item.phase)
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

