"""Read what a step's form holds beyond its buttons, by the form its step catalogue entry names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from send_inspection.calendar import to_london
from send_inspection.cases.people_form import parse_case_people, record_case_people
from send_inspection.catalogue.phases import FIELDWORK, TRACKED_CASE
from send_inspection.catalogue.steps import step_spec
from send_inspection.checklist import CHECKLIST_IDS, checklist_answers, note_field
from send_inspection.childdata.items import DATA_ITEMS
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import DecisionRefused, FormAnswer, SubmissionData
from send_inspection.engine.onsite_phase import page_details
from send_inspection.evidence.file_submission import file_submission
from send_inspection.evidence.library import latest_in_library
from send_inspection.fieldwork.debrief_form import FIELDS as DEBRIEF_FIELDS
from send_inspection.fieldwork.debrief_form import parse_debrief, record_debrief
from send_inspection.files.storage import MAX_UPLOAD_BYTES
from send_inspection.web.case_fields import IDENTIFY_FIELDS, booked_meeting
from send_inspection.web.child_data_upload import data_submission
from send_inspection.web.kit_forms import KIT_FIELDS, KIT_LISTS, KIT_PREFIXES
from send_inspection.web.kit_forms import PAGES as KIT_PAGES
from send_inspection.web.kit_forms import READERS as KIT_READERS
from send_inspection.web.onsite_forms import ONSITE_FIELDS, headlines_form, presentation_form, views_form
from send_inspection.web.report_forms import REPORT_FIELDS, accuracy_comments, published_at, received_report

# The button that submits the evidence library's latest version of the row as it is.
LIBRARY_OUTCOME = "library"
# Typed fields shown again when an answer is refused, so nothing typed is lost.
KEPT_FIELDS = (*IDENTIFY_FIELDS, *DEBRIEF_FIELDS, *REPORT_FIELDS, *KIT_FIELDS, *ONSITE_FIELDS, "rating", "comment",
               "explanation", "link_url", "slot", "location", *(note_field(cid) for cid in CHECKLIST_IDS))


def kept_fields(form: FormData) -> dict[str, Any]:
    """Return what was typed in a refused form, to show it again: every kept field, the ticked boxes as lists."""
    kept: dict[str, Any] = {k: str(form.get(k) or "") for k in KEPT_FIELDS}
    kept["check"] = " ".join(str(v) for v in form.getlist("check"))  # the checklist's ticked points
    kept.update({k: [str(v) for v in form.getlist(k)] for k in KIT_LISTS})
    kept.update({k: str(v) for k, v in form.multi_items() if k.startswith(KIT_PREFIXES) and isinstance(v, str)})
    return kept


def step_page_context(ctx: EngineContext, session: Session, item: m.RegisterItem, token: m.ActionToken, *,
                      now: datetime) -> dict[str, Any]:
    """Return what the page of the token's step shows beyond the item (the days offered, the meetings to come, the
    headlines, the attendee list)."""
    page = KIT_PAGES.get(step_spec(token.step).form or "")
    return {**(page(ctx, session, item, now=now) if page else {}), **page_details(session, item, token.step)}


async def read_step_form(ctx: EngineContext, session: Session, form: FormData, item: m.RegisterItem,
                         token: m.ActionToken, *, now: datetime) -> FormAnswer:
    """Read (and for some forms, keep) what the form of the token's step holds; DecisionRefused says what is wrong."""
    name = step_spec(token.step).form
    if name == "evidence":
        return FormAnswer(submission=await _evidence(ctx, form, item, token))
    if name == "presentation":
        return FormAnswer(submission=await presentation_form(ctx, form, item, token))
    reader = _COMMENT_FORMS.get(name or "")
    answer = await reader(ctx, session, form, item, token, now=now) if reader else None
    return answer if isinstance(answer, FormAnswer) else FormAnswer(comment=answer)


class ChecklistIncomplete(DecisionRefused):
    """Evidence submitted with a checklist point neither ticked nor explained; `fields` names each such point."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(f"nothing was recorded: {len(fields)} point(s) of the Evidence Quality Assurance Checklist "
                         "are neither ticked nor explained; tick each, or say in its note why not")
        self.fields = fields


async def _evidence(ctx: EngineContext, form: FormData, item: m.RegisterItem, token: m.ActionToken) -> SubmissionData:
    """Read the evidence handed in, with its checklist each point ticked or explained (an explanation needs none)."""
    outcome = str(form.get("outcome", ""))
    checklist, notes, missing = checklist_answers(
        form.getlist("check"), {cid: str(form.get(note_field(cid)) or "") for cid in CHECKLIST_IDS})
    if outcome != "explained" and missing:
        raise ChecklistIncomplete(missing)
    submission = await _handed_in(ctx, form, item, token, checklist=checklist, outcome=outcome)
    return replace(submission, checklist_notes=notes or None)


async def _handed_in(ctx: EngineContext, form: FormData, item: m.RegisterItem, token: m.ActionToken, *,
                     checklist: dict[str, bool], outcome: str) -> SubmissionData:
    """Read what was handed in: the library's version, an explanation, the data lists, a file or a link."""
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
            notified_at = session.get_one(m.Inspection, item.inspection_id).notified_at
        return await data_submission(ctx, form, inspection_id=item.inspection_id, ref=item.ref,
                                     notified_on=to_london(notified_at).date(), checklist=checklist)
    upload = form.get("file")
    link = str(form.get("link_url") or "").strip()
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_UPLOAD_BYTES + 1)  # never more than the limit in memory
        # Off the event loop: storing and checking the file must never hold up anyone else's page.
        return await run_in_threadpool(file_submission, ctx, item, upload.filename, data, checklist=checklist,
                               submitted_by=token.person_key)
    if link:
        if not link.startswith(("https://", "http://")):
            raise DecisionRefused("the hyperlink must start with https:// or http://", field="link_url")
        return SubmissionData(kind="link", checklist=checklist, link_url=link[:2000],
                              machine_checks={"links": {link[:2000]: "not checked"}})
    raise DecisionRefused("choose a file to upload or give a hyperlink", field="file")


async def _case_people(ctx: EngineContext, session: Session, form: FormData, item: m.RegisterItem,
                       token: m.ActionToken, *, now: datetime) -> str | None:
    """Record the practitioners and settings named for a tracked case; return the comment to record."""
    if str(form.get("outcome")) != "identified":
        return None
    people = parse_case_people({k: str(form.get(k) or "") for k in IDENTIFY_FIELDS})
    case = session.scalars(select(m.TrackedCase).where(
        m.TrackedCase.inspection_id == item.inspection_id,
        m.TrackedCase.child_id == TRACKED_CASE.value_of(item.phase))).one()
    record_case_people(session, case, people, identified_by=token.person_key)
    named = {case.practitioner_key, *case.other_practitioner_keys}
    return f"{len(people.settings)} setting(s), {len(named)} practitioner(s) named"


async def _debrief(ctx: EngineContext, session: Session, form: FormData, item: m.RegisterItem,
                   token: m.ActionToken, *, now: datetime) -> str | None:
    """Record a meeting's debrief (Appendix E); return the comment to record."""
    answers = parse_debrief({k: str(form.get(k) or "") for k in (*DEBRIEF_FIELDS, "rating")})
    record_debrief(session, item, answers, debriefer=token.person_key, now=now)
    return (f"rated {answers.rating}; {len(answers.documents_provided)} document(s) provided, "
            f"{len(answers.documents_requested)} requested")


async def _meeting_slot(ctx: EngineContext, session: Session, form: FormData, item: m.RegisterItem,
                        token: m.ActionToken, *, now: datetime) -> FormAnswer:
    """Read the time and place a team booked for a meeting; return the comment and the booking to record."""
    ends = session.scalar(select(m.Milestone.due_at).where(m.Milestone.inspection_id == item.inspection_id,
                                                          m.Milestone.name == FIELDWORK.closes_at))
    booked = booked_meeting(str(form.get("slot") or ""), str(form.get("location") or ""),
                            note=str(form.get("comment") or ""), now=now, latest=ends)
    return FormAnswer(comment=booked.comment, details=booked.details)


CommentForm = Callable[..., Awaitable[str | FormAnswer | None]]
# The forms whose fields are kept with the answer and summed up as its comment, by the name a step gives them.
_COMMENT_FORMS: dict[str, CommentForm] = {
    "people": _case_people, "debrief": _debrief, "meeting-slot": _meeting_slot,
    "report-file": received_report, "accuracy-comments": accuracy_comments, "website": published_at,
    **KIT_READERS,
    "headlines": headlines_form, "views": views_form,
}
# Every form a step may name: the evidence handed in, the presentation, and those above.
FORMS = frozenset({"evidence", "presentation", *_COMMENT_FORMS})
