"""Reconcile the days before the inspectors arrive: the logistics, the opening meeting and the forum's views.

One phase, "onsite", per inspection, started on notification day. Its items come from onsite.yaml and are chased
like every other item (reminders, the owner's deputy, then up the line):
  logistics-<id>        each logistics task's owner confirms it is done: the set-up call, rooms, IT, the pack
  headlines-<person>    each head of service sends their service's key headlines for the opening presentation
  attend-<person>       each Appendix H attendee confirms, or names who comes in their place
  opening-presentation  opened when every head of service has sent headlines (at their deadline at the latest):
                        the inspection team makes the presentation, which then goes to the presenters
  appendix-h            opened when every attendee has answered (at their deadline at the latest): the LANO sends
                        the gathered list to the lead inspector
  forum-views           opened when the self-evaluation has gone to the inspectors: the parent carer forum sends
                        its views, which go to the LANO and the forum's liaison officer
What is still open when the inspectors arrive (onsite_start) is reported late. What people typed (headlines,
views, a representative's name) stays in our database and emails: operators see references, steps and owners.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.catalogue.phases import ONSITE
from send_inspection.catalogue.steps import step_label
from send_inspection.db import models as m
from send_inspection.engine.annex_a import phase_email
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import latest_submission
from send_inspection.engine.inspection import milestones, people
from send_inspection.engine.item_chasing import ItemStatus, chase_items, shown_as
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.outgoing import send_notice, when
from send_inspection.engine.passes import PassResult, pass_result
from send_inspection.engine.phase_rows import claim_pass
from send_inspection.mail.message import Attachment

PHASE = ONSITE.key
LOGISTICS, OPENING, FORUM = "Logistics for the inspectors", "Opening meeting", "Parent carer forum"
PRESENTATION, ATTENDEE_LIST, FORUM_VIEWS = "opening-presentation", "appendix-h", "forum-views"
# While the forum's views wait for a self-evaluation uploaded late, the phase looks again this often.
LOOK_AGAIN = timedelta(hours=1)


@dataclass(frozen=True)
class Attendee:
    """One line of the Appendix H list: who was asked, and whether they come or who comes instead."""

    name: str
    role: str
    answer: str


def _items(session: Session, inspection_id: str) -> dict[str, m.RegisterItem]:
    return {i.ref: i for i in session.scalars(select(m.RegisterItem).where(
        m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == PHASE).order_by(m.RegisterItem.id))}


def _open(session: Session, items: dict[str, m.RegisterItem], inspection_id: str, ref: str, *, title: str,
          group: str, step: str, milestone: str, owner: str, accountable: str, now: datetime) -> None:
    """Add the one-step item `ref` unless the phase has it already."""
    if ref not in items:
        items[ref] = m.RegisterItem(inspection_id=inspection_id, ref=ref, title=title[:300], group_name=group,
                                    phase=PHASE, evidence_lead=owner, accountable_lead=accountable,
                                    deadlines={step: milestone}, step=step, round=1, step_started_at=now)
        session.add(items[ref])


def _all_done(items: dict[str, m.RegisterItem], prefix: str) -> bool:
    return all(i.outcome is not None for ref, i in items.items() if ref.startswith(prefix))


def open_items(ctx: EngineContext, inspection_id: str, *, now: datetime) -> list[datetime]:
    """Open every item now due to be open (each once); return when an item not yet open may open."""
    onsite, p = ctx.config.onsite, ctx.config.partnership
    coordinator = p.roles.coordinator
    later: list[datetime] = []
    with ctx.session() as session:
        items = _items(session, inspection_id)
        due = milestones(session, inspection_id)
        staff = people(session, inspection_id)
        for task in onsite.logistics:
            _open(session, items, inspection_id, f"logistics-{task.id}", title=task.title, group=LOGISTICS,
                  step="task", milestone=task.due, owner=task.owner, accountable=coordinator, now=now)
        if (meeting := onsite.opening_meeting) is not None:
            for key in meeting.headlines_from:
                _open(session, items, inspection_id, f"headlines-{key}", title="Key headlines for the opening "
                      "presentation", group=OPENING, step="headlines", milestone=meeting.headlines_due, owner=key,
                      accountable=meeting.presentation_by, now=now)
            for key in meeting.attendees:
                _open(session, items, inspection_id, f"attend-{key}", title="The opening meeting with the inspectors "
                      "(day 11)", group=OPENING, step="attend", milestone=meeting.attendees_due, owner=key,
                      accountable=p.roles.lano, now=now)
            later += _open_when(session, items, inspection_id, "headlines-", due[meeting.headlines_due], now=now,
                                ref=PRESENTATION, title="The opening presentation to the inspectors", group=OPENING,
                                step="presentation", milestone=meeting.presentation_due,
                                owner=meeting.presentation_by, accountable=p.roles.lano)
            later += _open_when(session, items, inspection_id, "attend-", due[meeting.attendees_due], now=now,
                                ref=ATTENDEE_LIST, title="The opening meeting's attendee list (Appendix H)",
                                group=OPENING, step="send-list", milestone=meeting.attendee_list_due,
                                owner=p.roles.lano, accountable=p.roles.lano)
        forum = p.parent_carer_forum
        if onsite.forum_views is not None and forum is not None and forum.id in staff:
            later += _open_forum_views(session, items, inspection_id, forum_id=forum.id, due=due, now=now,
                                       liaison=forum.liaison or p.roles.lano, about=onsite.forum_views.about,
                                       milestone=onsite.forum_views.due)
        session.commit()
    return later


def _open_when(session: Session, items: dict[str, m.RegisterItem], inspection_id: str, prefix: str,
               deadline: datetime, *, now: datetime, ref: str, **item: str) -> list[datetime]:
    """Open `ref` once every item starting `prefix` is done, or at `deadline`; return when to look again."""
    if ref in items:
        return []
    if _all_done(items, prefix) or now >= deadline:
        _open(session, items, inspection_id, ref, now=now, **item)  # type: ignore[arg-type]
        return []
    return [deadline]


def _open_forum_views(session: Session, items: dict[str, m.RegisterItem], inspection_id: str, *, forum_id: str,
                      due: dict[str, datetime], now: datetime, liaison: str, about: str,
                      milestone: str) -> list[datetime]:
    """Ask the forum for its views once the item they are about has gone to the inspectors (or is not asked for)."""
    if FORUM_VIEWS in items:
        return []
    sef = session.scalars(select(m.RegisterItem).where(m.RegisterItem.inspection_id == inspection_id,
                                                       m.RegisterItem.ref == about)).first()
    if sef is not None and sef.outcome is None:
        uploaded_by = due[sef.deadlines[sef.step]]
        return [uploaded_by if uploaded_by > now else now + LOOK_AGAIN]
    title = f"The forum's views on the self-evaluation ({about})" if sef is not None else \
        "The forum's views on the partnership's self-evaluation"
    _open(session, items, inspection_id, FORUM_VIEWS, title=title, group=FORUM, step="views", milestone=milestone,
          owner=forum_id, accountable=liaison, now=now)
    return []


def attendee_list(session: Session, inspection_id: str) -> list[Attendee]:
    """Return the Appendix H list as gathered so far: each attendee asked, in the order asked, with their answer."""
    staff = people(session, inspection_id)
    rows = session.execute(
        select(m.RegisterItem, m.Decision).outerjoin(m.Decision, m.Decision.item_id == m.RegisterItem.id)
        .where(m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == PHASE,
               m.RegisterItem.ref.startswith("attend-")).order_by(m.RegisterItem.id)).all()
    listed = []
    for item, decision in rows:
        person = staff[item.evidence_lead]
        if decision is None:
            answer = "no answer yet"
        elif decision.outcome == "attending":
            answer = "attending"
        else:
            answer = f"represented by {decision.comment}"
        listed.append(Attendee(name=person.name, role=person.role, answer=answer))
    return listed


def headlines(session: Session, inspection_id: str) -> list[tuple[str, str, str]]:
    """Return each head of service's headlines as sent: (name, role, headlines), in the order asked."""
    staff = people(session, inspection_id)
    rows = session.execute(
        select(m.RegisterItem, m.Decision).join(m.Decision, m.Decision.item_id == m.RegisterItem.id)
        .where(m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == PHASE,
               m.RegisterItem.ref.startswith("headlines-")).order_by(m.RegisterItem.id)).all()
    return [(staff[d.decided_by].name, staff[d.decided_by].role, d.comment or "") for _, d in rows]


def page_details(session: Session, item: m.RegisterItem, step: str) -> dict[str, object]:
    """Return what the page of one of the phase's steps shows besides the ask: the headlines, the attendee list."""
    if item.phase != PHASE:
        return {}
    if step == "presentation":
        return {"headlines": headlines(session, item.inspection_id)}
    if step == "send-list":
        return {"attendees": attendee_list(session, item.inspection_id)}
    return {}


def _send_presentation(ctx: EngineContext, inspection_id: str, item: m.RegisterItem, *, now: datetime,
                       mail: MailFailures) -> int:
    """Send the presenters the presentation once it is made (the file attached when one was given)."""
    meeting = ctx.config.onsite.opening_meeting
    if meeting is None or item.outcome is None:
        return 0
    with ctx.session() as session:
        staff = people(session, inspection_id)
        submission = latest_submission(session, item.id)
        onsite_start = milestones(session, inspection_id)["onsite_start"]
    attachments: tuple[Attachment, ...] = ()
    if submission is not None and submission.stored_path:
        path = Path(submission.stored_path)
        attachments = (Attachment(filename=submission.filename or path.name, data=path.read_bytes(),
                                  content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream"),)
    key = f"{inspection_id}:{PHASE}:presentation"
    presenters = [staff[k] for k in meeting.presenters if k in staff]
    with mail.guard(key):
        return send_notice(ctx, inspection_id, key, "opening_presentation", to=[p.email for p in presenters],
                           now=now, sender_inbox="comms", attachments=attachments,
                           presenters=[p.name for p in presenters], made_by=staff[item.evidence_lead].name,
                           meeting=when(onsite_start))
    return 0


def _send_forum_views(ctx: EngineContext, inspection_id: str, item: m.RegisterItem, *, now: datetime,
                      mail: MailFailures) -> int:
    """Send the forum's views to the LANO and the forum's liaison officer once the forum has sent them."""
    if item.outcome is None:
        return 0
    with ctx.session() as session:
        staff = people(session, inspection_id)
        views = session.scalar(select(m.Decision.comment).where(m.Decision.item_id == item.id))
    roles = ctx.config.partnership.roles
    to = [staff[k].email for k in dict.fromkeys((roles.lano, item.accountable_lead)) if k in staff]
    key = f"{inspection_id}:{PHASE}:forum-views"
    with mail.guard(key):
        return send_notice(ctx, inspection_id, key, "forum_views", to=to, now=now, sender_inbox="comms",
                           forum=staff[item.evidence_lead].name, title=item.title, views=views or "")
    return 0


def waiting_for(statuses: list[ItemStatus], staff: dict[str, m.Person]) -> str:
    """Say which tasks the phase waits for, by reference, step and owner's role (the first six), as the keeping-in-touch
    phase does: what operators read goes to Prefect."""
    waiting = [s for s in statuses if s.outcome is None]
    parts = [f"{s.ref} {step_label(s.step)} ({shown_as(staff, s.owner, role=True)}) due {s.due_at}"
             f"{' LATE' if s.late else ''}" for s in waiting[:6]]
    more = f"; and {len(waiting) - 6} more" if len(waiting) > 6 else ""
    opening = "" if waiting else "; the next tasks open when their time comes"
    return (f"Before the inspectors arrive: waiting for {len(waiting)} of {len(statuses)} tasks"
            + (": " + "; ".join(parts) + more if parts else opening))


def reconcile_onsite(ctx: EngineContext, inspection_id: str) -> PassResult:
    """Open the items now due, chase every open one, pass on what is ready; done when every item is done."""
    now = ctx.clock.now()
    with ctx.session() as session:
        claim_pass(session, inspection_id, PHASE, now=now)
    wake_times = open_items(ctx, inspection_id, now=now)
    with ctx.session() as session:
        items = _items(session, inspection_id)
        due = milestones(session, inspection_id)
        staff = people(session, inspection_id)
    mail = MailFailures(ctx.mail_retry)
    sent, statuses = chase_items(ctx, list(items.values()), staff=staff, due=due, now=now, mail=mail,
                                 wake_times=wake_times)
    # The presentation and the forum's views are passed on out of quiet hours, like every email that is not urgent.
    allowed = max(ctx.send_window.may_send_at(kind, now) for kind in ("opening_presentation", "forum_views"))
    ready = [ref for ref, notice in ((PRESENTATION, "presentation"), (FORUM_VIEWS, "forum-views"))
             if ref in items and items[ref].outcome is not None
             and not ctx.ledger.already_sent(f"{inspection_id}:{PHASE}:{notice}")]
    if ready and allowed > now:
        wake_times.append(allowed)
    elif ready:
        if PRESENTATION in items:
            sent += _send_presentation(ctx, inspection_id, items[PRESENTATION], now=now, mail=mail)
        if FORUM_VIEWS in items:
            sent += _send_forum_views(ctx, inspection_id, items[FORUM_VIEWS], now=now, mail=mail)
    arrival = due[ONSITE.closes_at or "onsite_start"]
    finished = not wake_times and all(s.outcome is not None for s in statuses)
    if not finished and now >= arrival:
        with mail.guard(f"{inspection_id}:{PHASE}:late_report"):
            sent += phase_email(ctx, inspection_id, PHASE, "late_report", statuses, now, template="tasks_late")
    elif not finished:
        wake_times.append(arrival)
    reason = (f"Before the inspectors arrive: all {len(statuses)} tasks done" if finished
              else waiting_for(statuses, staff))
    return pass_result(inspection_id, PHASE, finished=finished, sent=sent, reason=reason, statuses=statuses,
                       mail=mail, wake_times=wake_times, now=now)
