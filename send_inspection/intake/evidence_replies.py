"""Take the files a head of service emails to the evidence inbox about additional evidence request N.

The request is found by the number its subject names, as our own emails about it write it ("Additional evidence
request 3 from the inspectors", "request-3 Additional evidence request 3 – please submit ...", and so replies
to them) or as people write it ("[Request 12]", "Request no. 12"); a subject naming no number, or two different
ones, matches nothing. Each file attached (not the pictures inline in a signature) is stored and checked as an
upload on the web page would be, against the request's item.

When the item waits for its submit step and the sender was asked for it (the head of service, or anyone sent a
link for the step), the files answer it: "submitted", recorded as from the sender, by email (the decision keeps
the message id where a web answer keeps the browser). Otherwise the files are kept with the item and nothing moves
on. The same file sent again for the same round is not kept twice. Mail from addresses not in partnership.yaml,
and from our own inboxes, is left alone.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from send_inspection.checklist import CHECKLIST_IDS, EMAILED
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import DecisionRefused, SubmissionData, record_decision
from send_inspection.evidence.file_submission import check_submission_links, file_submission
from send_inspection.files.storage import UploadRefused
from send_inspection.intake.handled import Handled, ignored, own_addresses, person_with_address
from send_inspection.mail.received import ReceivedAttachment, ReceivedMessage
from send_inspection.tokens import hash_token, mint_token

log = logging.getLogger(__name__)

_REQUEST_NUMBER = re.compile(r"\brequest[\s#:-]*(?:no\.?\s*|number\s*)?(\d{1,6})\b", re.IGNORECASE)


def request_number(subject: str) -> int | None:
    """Return the request number a subject names ("request 3", "request-3", "[Request 12]"), or None."""
    numbers = {int(found.group(1)) for found in _REQUEST_NUMBER.finditer(subject)}
    return numbers.pop() if len(numbers) == 1 else None


def take_evidence_reply(ctx: EngineContext, inspection_id: str, message: ReceivedMessage) -> Handled:
    """Keep the files sent about request N and answer its submit step with them when that is what it waits for."""
    partnership = ctx.config.partnership
    if message.sender.casefold() in own_addresses(partnership):
        return ignored("sent from one of the shared inboxes")
    number = request_number(message.subject)
    if number is None:
        return ignored("no request number in the subject")
    files = [a for a in message.attachments if not a.is_inline]
    if not files:
        return ignored(f"request {number}: no file attached")
    sender = person_with_address(partnership, message.sender)
    if sender is None:
        return ignored(f"request {number}: sent from an address not in partnership.yaml")
    with ctx.session() as session:
        item = session.scalars(select(m.RegisterItem).where(m.RegisterItem.inspection_id == inspection_id,
                                                            m.RegisterItem.ref == f"request-{number}")).first()
    if item is None:
        return ignored(f"no request {number} in this inspection")
    submissions, refused, repeated = _store(ctx, item, files, submitted_by=sender.id)
    counts = f"{len(submissions)} file(s) kept" + (
        f", {refused} refused (type, content or size)" if refused else "") + (
        f", {repeated} already held" if repeated else "")
    if not submissions:
        return Handled("ignored", f"request {number}: {counts}", request=number)
    if item.outcome is None and item.step == "submit" and _asked(ctx, item, sender.id):
        try:
            _answer(ctx, item, submissions, person=sender.id, message_id=message.internet_message_id)
        except DecisionRefused:
            pass  # answered on the web a moment ago: the files are kept below
        else:
            _check_links(ctx, item.id, submissions)
            log.info("inbox %s: request %d submit step answered by %s (%d file(s))", message.mailbox, number,
                     message.internet_message_id, len(submissions))
            return Handled("answered", f"request {number} submit step: {counts}", request=number,
                           wake_phase=item.phase)
    _keep(ctx, item.id, submissions, person=sender.id)
    _check_links(ctx, item.id, submissions)
    log.info("inbox %s: request %d: %d file(s) kept from %s", message.mailbox, number, len(submissions),
             message.internet_message_id)
    step = item.outcome or item.step
    return Handled("kept", f"request {number} at {step}: {counts}, not answered", request=number)


def _store(ctx: EngineContext, item: m.RegisterItem, files: list[ReceivedAttachment], *,
           submitted_by: str) -> tuple[list[SubmissionData], int, int]:
    """Store each file as the web upload does; return the new submissions, how many were refused or already held."""
    with ctx.session() as session:
        held = set(session.scalars(select(m.Submission.sha256).where(m.Submission.item_id == item.id,
                                                                     m.Submission.round == item.round)))
    checklist = {cid: False for cid in CHECKLIST_IDS}  # nothing ticked: an email has no checklist
    submissions: list[SubmissionData] = []
    refused = repeated = 0
    for attachment in files:
        try:
            submission = file_submission(ctx, item, attachment.name, attachment.data, checklist=checklist,
                                         submitted_by=submitted_by)
        except UploadRefused:
            refused += 1
            continue
        if submission.sha256 in held:
            repeated += 1
            continue
        held.add(submission.sha256)
        # An email has no checklist: each point says so to the accountable lead, who checks it before signing off.
        submissions.append(replace(submission, checklist_notes={cid: EMAILED for cid in CHECKLIST_IDS}))
    return submissions, refused, repeated


def _asked(ctx: EngineContext, item: m.RegisterItem, person: str) -> bool:
    """Say whether `person` may answer the item's step: its evidence lead, or anyone sent a link for it."""
    if person == item.evidence_lead:
        return True
    with ctx.session() as session:
        return session.scalars(select(m.ActionToken.id).where(
            m.ActionToken.item_id == item.id, m.ActionToken.step == item.step, m.ActionToken.round == item.round,
            m.ActionToken.person_key == person)).first() is not None


def _submission_row(item_id: int, round_no: int, data: SubmissionData, *, person: str,
                    now: datetime) -> m.Submission:
    return m.Submission(item_id=item_id, round=round_no, kind=data.kind, filename=data.filename,
                        stored_path=data.stored_path, sha256=data.sha256, size_bytes=data.size_bytes,
                        checklist=data.checklist, checklist_notes=data.checklist_notes,
                        machine_checks=data.machine_checks, submitted_by=person,
                        submitted_at=now)


def _answer(ctx: EngineContext, item: m.RegisterItem, submissions: list[SubmissionData], *, person: str,
            message_id: str) -> None:
    """Record "submitted" for the submit step with the files (the last one as the decision's submission)."""
    now = ctx.clock.now()
    with ctx.session() as session:
        # A token of its own, spent at once: the decision names who answered and how, as a link's answer does.
        raw = mint_token(session, item.inspection_id, person, item_id=item.id, step=item.step, round_no=item.round,
                         now=now, expires_at=now)  # never sent anywhere: the answer came by email
        token = session.scalars(select(m.ActionToken).where(m.ActionToken.token_hash == hash_token(raw))).one()
        for extra in submissions[:-1]:
            session.add(_submission_row(item.id, item.round, extra, person=person, now=now))
        record_decision(session, token, "submitted", now=now, submission=submissions[-1],
                        user_agent=f"email {message_id}")


def _keep(ctx: EngineContext, item_id: int, submissions: list[SubmissionData], *, person: str) -> None:
    """Keep the files with the item without answering anything."""
    now = ctx.clock.now()
    with ctx.session() as session:
        item = session.get(m.RegisterItem, item_id)
        assert item is not None
        for data in submissions:
            session.add(_submission_row(item.id, item.round, data, person=person, now=now))
        session.commit()


def _check_links(ctx: EngineContext, item_id: int, submissions: list[SubmissionData]) -> None:
    """Try the links in the latest file, as the web app does after an upload (when links are checked at all)."""
    if ctx.check_links and (submissions[-1].machine_checks or {}).get("links"):
        check_submission_links(ctx, item_id)
