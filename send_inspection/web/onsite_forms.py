"""Read the forms of the steps before the inspectors arrive: the headlines, the presentation, the forum's views."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import DecisionRefused, SubmissionData
from send_inspection.evidence.file_submission import file_submission
from send_inspection.files.storage import MAX_UPLOAD_BYTES

# The typed fields of these forms, shown again when an answer is refused.
ONSITE_FIELDS = ("headlines", "views")
# Longest text kept of what people type here.
MAX_TEXT = 8000


def _text(form: FormData, name: str, missing: str) -> str:
    """Return the field's text (its lines kept, trailing spaces gone); DecisionRefused beside it if empty."""
    text = "\n".join(line.rstrip() for line in str(form.get(name) or "").strip().splitlines())
    if not text:
        raise DecisionRefused(missing, field=name)
    return text[:MAX_TEXT]


async def headlines_form(ctx: EngineContext, session: Session, form: FormData, item: m.RegisterItem,
                         token: m.ActionToken, *, now: datetime) -> str | None:
    """Read a head of service's key headlines; they are the answer's comment."""
    return _text(form, "headlines", "write your service's key headlines (a few short lines)")


async def views_form(ctx: EngineContext, session: Session, form: FormData, item: m.RegisterItem,
                     token: m.ActionToken, *, now: datetime) -> str | None:
    """Read the forum's views on the self-evaluation; they are the answer's comment."""
    return _text(form, "views", "write the forum's views on the self-evaluation")


async def presentation_form(ctx: EngineContext, form: FormData, item: m.RegisterItem,
                            token: m.ActionToken) -> SubmissionData:
    """Store the opening presentation the inspection team uploaded."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise DecisionRefused("choose the presentation's file to upload", field="file")
    data = await upload.read(MAX_UPLOAD_BYTES + 1)  # never more than the limit in memory
    return await run_in_threadpool(file_submission, ctx, item, upload.filename, data, checklist={},
                                   submitted_by=token.person_key)
