"""Read the forms of the steps after fieldwork: a report received, factual-accuracy comments, a website link."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from send_inspection.config.models import ReportPartner
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import DecisionRefused
from send_inspection.files.storage import MAX_UPLOAD_BYTES
from send_inspection.report.comments import FIELDS, CommentRefused, parse_comment_rows
from send_inspection.report.documents import keep_document

COMMENT_ROWS = 8  # rows on the comments form; a reviewer with more sends them in a second round of rows
COMMENT_FIELDS = tuple(f"{field}_{n}" for n in range(1, COMMENT_ROWS + 1) for field in FIELDS)
REPORT_FIELDS = (*COMMENT_FIELDS, "website_url")


def partner_for(ctx: EngineContext, item: m.RegisterItem) -> ReportPartner | None:
    """Return the partner a report item is for (its comments, sign-off or publication), if any."""
    for partner in ctx.config.partnership.report_partners:
        if item.ref.startswith((f"comments-{partner.id}-", f"publish-{partner.id}", f"signoff-{partner.id}")):
            return partner
    return None


def _partner_of(ctx: EngineContext, item: m.RegisterItem) -> str:
    partner = partner_for(ctx, item)
    if partner is None:
        raise DecisionRefused("this item is not for a partner named in partnership.yaml")
    return partner.name


async def received_report(ctx: EngineContext, session: Session, form: FormData, item: m.RegisterItem,
                          token: m.ActionToken, *, now: datetime) -> str | None:
    """Keep the report the LANO uploads as received (restricted); return the comment to record."""
    if str(form.get("outcome") or "") != "received":
        return None
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise DecisionRefused("choose the report's file to upload (as the inspectorate sent it)", field="file")
    kind = "draft" if item.ref == "draft-report" else "final"
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    document = keep_document(session, ctx, item.inspection_id, kind, filename=upload.filename, data=data,
                             recorded_by=token.person_key, now=now)
    return f"received {document.filename} ({document.size_bytes} bytes)"


async def accuracy_comments(ctx: EngineContext, session: Session, form: FormData, item: m.RegisterItem,
                            token: m.ActionToken, *, now: datetime) -> str | None:
    """Record a reviewer's factual-accuracy comment rows; return the comment to record."""
    if str(form.get("outcome") or "") != "commented":
        return None
    rows = [{field: str(form.get(f"{field}_{n}") or "") for field in FIELDS} for n in range(1, COMMENT_ROWS + 1)]
    try:
        comments = parse_comment_rows(rows, partner=_partner_of(ctx, item), reviewer=token.person_key,
                                      submitted_at=now)
    except CommentRefused as exc:
        refused = DecisionRefused(str(exc))
        refused.fields = {f"{p.field}_{p.row}": str(p) for p in exc.problems if p.field in FIELDS}
        raise refused from exc
    if not comments:
        raise DecisionRefused("type at least one comment, or press 'No comments on the draft'")
    for c in comments:
        session.add(m.AccuracyCommentRow(inspection_id=item.inspection_id, item_id=item.id, partner=c.partner,
                                         reviewer=c.reviewer, paragraph=c.paragraph, comment=c.comment,
                                         evidence=c.evidence, submitted_at=now))
    return f"{len(comments)} comment(s)"


async def published_at(ctx: EngineContext, session: Session, form: FormData, item: m.RegisterItem,
                       token: m.ActionToken, *, now: datetime) -> str | None:
    """Read the web address something was published at; return the comment to record."""
    url = " ".join(str(form.get("website_url") or "").split())
    if not url.startswith("https://"):
        raise DecisionRefused("give the web address where the report is published, starting https://")
    return f"published at {url[:500]}"
