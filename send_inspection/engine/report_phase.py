"""Reconcile the weeks after fieldwork: the draft report, the partnership's response, the final report.

One phase, "report", per inspection, started when fieldwork ends or the feedback is recorded. Its items open
as each stage is reached, and are chased like every other item:
  draft-report            the LANO records the draft's arrival (expected within 14 working days of fieldwork)
  comments-<partner>-<id> each partner's reviewers send factual-accuracy comments, or none
  signoff-<partner>       each partner's accountable officer signs off the merged response (Word and Excel)
  response                the LANO submits the response to the inspectorate, 10 working days after the draft
  final-report            the LANO records the final report's arrival (expected within 30 working days)
  publish-<partner>       each partner's publisher puts it on the partner's website and confirms the link
  strategic-plan          the improvement lead updates and publishes the strategic plan (every outcome)
Outcome 3 also starts the priority action plan (phase "action-plan") and records a monitoring inspection about
18 months after the final report; outcomes 1 and 2 record when the next full inspection is expected. After a
monitoring inspection, "ineffective action" (its outcome 2) starts a new priority action plan.
The leadership group is sent the inspectors' feedback, embargoed, once it is recorded, and the parent carer forum
the final report when it arrives. Deadlines after an arrival are counted in
working days from the arrival (timeline.yaml, after_fieldwork). What the documents say stays in our
database and files: operators see item references, owners and states.
"""

from __future__ import annotations

import calendar
import io
import mimetypes
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.calendar import london_time, to_london
from send_inspection.catalogue.phases import AFTER_FIELDWORK, PRIORITY_ACTION_PLAN
from send_inspection.config.models import AfterFieldwork, OutcomeFollowUp, ReportPartner, parse_clock_time
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import milestones, people
from send_inspection.engine.item_chasing import chase_items, waiting_reason
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.outgoing import send_notice
from send_inspection.engine.passes import PassResult, pass_result
from send_inspection.engine.phase_rows import claim_pass, ensure_phase
from send_inspection.mail.message import Attachment
from send_inspection.report.comments import AccuracyComment, merge_comments
from send_inspection.report.documents import keep_document, latest_document
from send_inspection.report.feedback import send_feedback
from send_inspection.report.response_docx import write_response_docx
from send_inspection.report.response_xlsx import write_response_xlsx

PHASE = AFTER_FIELDWORK.key
GROUP = "After fieldwork"
# Milestones set when a report arrives: name -> the after_fieldwork setting giving its working days.
DRAFT_MILESTONES = {"report_comments_due": "comments_within", "report_signoff_due": "signoff_within",
                    "draft_response_due": "response_within"}
FINAL_MILESTONES = {"report_published_due": "publish_within"}


def comment_ref(partner: ReportPartner, reviewer: str) -> str:
    """Return the item reference of one reviewer's comments for one partner."""
    return f"comments-{partner.id}-{reviewer}"


def _items(session: Session, inspection_id: str) -> dict[str, m.RegisterItem]:
    return {i.ref: i for i in session.scalars(select(m.RegisterItem).where(
        m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == PHASE).order_by(m.RegisterItem.id))}


def _open(session: Session, items: dict[str, m.RegisterItem], inspection_id: str, ref: str, title: str, step: str,
          milestone: str, *, lead: str, accountable: str, now: datetime) -> None:
    """Add the item `ref` (one step, due at `milestone`) unless the phase has it already."""
    if ref not in items:
        items[ref] = m.RegisterItem(inspection_id=inspection_id, ref=ref, title=title, group_name=GROUP, phase=PHASE,
                                    evidence_lead=lead, accountable_lead=accountable, deadlines={step: milestone},
                                    step=step, round=1, step_started_at=now)
        session.add(items[ref])


def _open_items(items: dict[str, m.RegisterItem], prefix: str) -> bool:
    """Say whether any item whose reference starts with `prefix` is still open."""
    return any(i.outcome is None for ref, i in items.items() if ref.startswith(prefix))


def _add_milestones(ctx: EngineContext, session: Session, inspection_id: str, names: dict[str, str], *,
                    arrived_at: datetime, rules: AfterFieldwork | OutcomeFollowUp | None = None) -> None:
    """Set each milestone `n` working days after the arrival day, at after_fieldwork.due_at, unless set."""
    at = parse_clock_time(ctx.config.timeline.after_fieldwork.due_at)
    rules = rules or ctx.config.timeline.after_fieldwork
    have = milestones(session, inspection_id)
    day = to_london(arrived_at).date()
    for name, setting in names.items():
        if name not in have:
            due = london_time(ctx.calendar.add_working_days(day, getattr(rules, setting)), at)
            session.add(m.Milestone(inspection_id=inspection_id, name=name, due_at=due))


def merged_comments(session: Session, inspection_id: str) -> list:
    """Return every reviewer's comments merged into one list in report order, each once."""
    rows = session.scalars(select(m.AccuracyCommentRow).where(m.AccuracyCommentRow.inspection_id == inspection_id)
                           .order_by(m.AccuracyCommentRow.id))
    return merge_comments(AccuracyComment(paragraph=r.paragraph, comment=r.comment, evidence=r.evidence,
                                          partner=r.partner, reviewer=r.reviewer, submitted_at=r.submitted_at)
                          for r in rows)


def _write_response(ctx: EngineContext, session: Session, inspection_id: str, *, now: datetime) -> None:
    """Merge the comments into the response, as Word and as Excel, kept as restricted documents."""
    draft = latest_document(session, inspection_id, "draft")
    assert draft is not None
    due = milestones(session, inspection_id)["draft_response_due"]
    details = {"area_name": ctx.config.partnership.partnership.name, "inspection_ref": inspection_id,
               "draft_received": to_london(draft.recorded_at).date(), "due": to_london(due).date(),
               "comments": merged_comments(session, inspection_id), "signed_off_by": []}
    for suffix, writer in ((".docx", write_response_docx), (".xlsx", write_response_xlsx)):
        buffer = io.BytesIO()
        writer(buffer, **details)
        keep_document(session, ctx, inspection_id, f"response-{suffix[1:]}",
                      filename=f"factual-accuracy-response{suffix}", data=buffer.getvalue(), recorded_by="engine",
                      now=now)


def open_stages(ctx: EngineContext, inspection_id: str, *, now: datetime) -> None:
    """Open the items of every stage now reached (each once)."""
    with ctx.session() as session:
        _open_reached(ctx, session, inspection_id, _items(session, inspection_id), now=now)
        session.commit()


def _open_reached(ctx: EngineContext, session: Session, inspection_id: str, items: dict[str, m.RegisterItem], *,
                  now: datetime) -> None:
    """Open each stage in turn, stopping at the first that is not finished."""
    p = ctx.config.partnership
    lano = p.roles.lano
    _open(session, items, inspection_id, "draft-report", "The restricted draft report", "receive",
          "draft_report_expected_by", lead=lano, accountable=lano, now=now)
    draft = latest_document(session, inspection_id, "draft")
    if items["draft-report"].outcome is None or draft is None:
        return
    _add_milestones(ctx, session, inspection_id, DRAFT_MILESTONES, arrived_at=draft.recorded_at)
    for partner in p.report_partners:
        for reviewer in partner.reviewers:
            _open(session, items, inspection_id, comment_ref(partner, reviewer),
                  f"Factual-accuracy comments on the draft report ({partner.name})", "comment", "report_comments_due",
                  lead=reviewer, accountable=partner.accountable_officer, now=now)
    if _open_items(items, "comments-"):
        return
    if latest_document(session, inspection_id, "response-docx") is None:
        _write_response(ctx, session, inspection_id, now=now)
    for partner in p.report_partners:
        _open(session, items, inspection_id, f"signoff-{partner.id}",
              f"The response to the draft report ({partner.name})", "approve", "report_signoff_due",
              lead=lano, accountable=partner.accountable_officer, now=now)
    if _open_items(items, "signoff-"):
        return
    _open(session, items, inspection_id, "response", "The response to the draft report", "upload",
          "draft_response_due", lead=lano, accountable=p.roles.coordinator, now=now)
    if items["response"].outcome is None:
        return
    _open(session, items, inspection_id, "final-report", "The final report", "receive",
          "final_report_expected_by", lead=lano, accountable=lano, now=now)
    final = latest_document(session, inspection_id, "final")
    if items["final-report"].outcome is None or final is None:
        return
    _add_milestones(ctx, session, inspection_id, FINAL_MILESTONES, arrived_at=final.recorded_at)
    for partner in p.report_partners:
        _open(session, items, inspection_id, f"publish-{partner.id}",
              f"The final report on the {partner.name} website", "publish", "report_published_due",
              lead=partner.publisher, accountable=partner.accountable_officer, now=now)
    if _open_items(items, "publish-"):
        return
    _open_follow_up(ctx, session, inspection_id, items, final=final, now=now)


def add_months(moment: datetime, months: int) -> datetime:
    """Return the same London wall time `months` later (the month's last day when the day does not exist)."""
    local = to_london(moment)
    year, month = divmod(local.month - 1 + months, 12)
    day = min(local.day, calendar.monthrange(local.year + year, month + 1)[1])
    return london_time(local.date().replace(year=local.year + year, month=month + 1, day=day), local.time())


def _open_follow_up(ctx: EngineContext, session: Session, inspection_id: str, items: dict[str, m.RegisterItem], *,
                    final: m.RestrictedDocument, now: datetime) -> None:
    """Ask for the strategic plan, record when inspectors come next, start a priority action plan (outcome 3)."""
    feedback = session.scalars(select(m.FeedbackRecord).where(m.FeedbackRecord.inspection_id == inspection_id)).first()
    monitoring = session.get(m.Inspection, inspection_id).kind == "monitoring"
    rules, p = ctx.config.timeline.outcome_follow_up, ctx.config.partnership
    names = {"strategic_plan_due": "strategic_plan_within"}
    # A priority action plan after outcome 3, or after a monitoring inspection found the action ineffective.
    needs_plan = feedback is not None and feedback.outcome == (2 if monitoring else 3)
    if needs_plan:
        names |= {"action_plan_draft_due": "action_plan_draft_within",
                  "action_plan_signoff_due": "action_plan_signoff_within",
                  "action_plan_submit_due": "action_plan_submit_within"}
    _add_milestones(ctx, session, inspection_id, names, arrived_at=final.recorded_at, rules=rules)
    have = milestones(session, inspection_id)
    if monitoring or feedback is None:
        pass  # what follows a monitoring inspection is for the inspectorate to say in its letter
    elif feedback.outcome == 3 and "monitoring_inspection_expected" not in have:
        session.add(m.Milestone(inspection_id=inspection_id, name="monitoring_inspection_expected",
                                due_at=add_months(final.recorded_at, rules.monitoring_inspection_after_months)))
    elif feedback.outcome in rules.next_full_inspection_after_months and "next_full_inspection_expected" not in have:
        session.add(m.Milestone(inspection_id=inspection_id, name="next_full_inspection_expected",
                                due_at=add_months(final.recorded_at,
                                                  rules.next_full_inspection_after_months[feedback.outcome])))
    _open(session, items, inspection_id, "strategic-plan", "The SEND strategic plan, updated", "publish",
          "strategic_plan_due", lead=p.improvement_lead or p.roles.lano, accountable=p.roles.director_final_check,
          now=now)
    session.commit()
    if needs_plan:
        ensure_phase(ctx, inspection_id, PRIORITY_ACTION_PLAN.key)  # carried by the priority-action-plan flow


def _send_to_forum(ctx: EngineContext, inspection_id: str, *, now: datetime, mail: MailFailures) -> int:
    """Send the parent carer forum the final report once it has arrived."""
    forum = ctx.config.partnership.parent_carer_forum
    with ctx.session() as session:
        final = latest_document(session, inspection_id, "final")
    if forum is None or final is None:
        return 0
    key = f"{inspection_id}:{PHASE}:final:forum"
    with open(final.stored_path, "rb") as handle:
        attachment = Attachment(filename=final.filename, content_type=_content_type(final.filename),
                                data=handle.read())
    with mail.guard(key):
        return send_notice(ctx, inspection_id, key, "final_report_forum", to=[forum.address], now=now,
                           sender_inbox="comms", forum=forum.name, attachments=(attachment,))
    return 0


def _content_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def reconcile_report(ctx: EngineContext, inspection_id: str) -> PassResult:
    """Open the stages reached, chase every open item, send the forum its copy; done when all have published."""
    now = ctx.clock.now()
    with ctx.session() as session:
        claim_pass(session, inspection_id, PHASE, now=now)
    open_stages(ctx, inspection_id, now=now)
    with ctx.session() as session:
        items = list(_items(session, inspection_id).values())
        due = milestones(session, inspection_id)
        staff = people(session, inspection_id)
    mail = MailFailures(ctx.mail_retry)
    wake_times: list[datetime] = []
    sent, statuses = chase_items(ctx, items, staff=staff, due=due, now=now, mail=mail, wake_times=wake_times)
    sent += send_feedback(ctx, inspection_id, now=now, mail=mail)
    sent += _send_to_forum(ctx, inspection_id, now=now, mail=mail)
    published = [i for i in items if i.ref.startswith("publish-") or i.ref == "strategic-plan"]
    finished = any(i.ref == "strategic-plan" for i in published) and all(i.outcome is not None for i in published)
    open_items = [s for s in statuses if s.outcome is None]
    reason = ("After fieldwork: the report and the strategic plan are published" if finished
              else "After fieldwork: " + (waiting_reason(PHASE, statuses, staff) if open_items
                                          else "opening the next stage"))
    return pass_result(inspection_id, PHASE, finished=finished, sent=sent, reason=reason, statuses=statuses,
                       mail=mail, wake_times=wake_times, now=now)
