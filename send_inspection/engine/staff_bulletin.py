"""The staff bulletin: tell all partnership staff how the inspection is going, at the coordinator's frequency.

One phase, "bulletin", per inspection, started on notification day. It sends a bulletin at `staff_bulletin.at`
on each of the configured weekdays (bank holidays skipped) from the day after notification until the day of
the `until` milestone, and waits without a process in between. A bulletin holds figures only: the register's
progress, the additional evidence requests and the debrief ratings from the KIT summaries, with what comes
next. Nothing in it is about a child, and no free text typed by staff or inspectors goes into it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from send_inspection.calendar import london_time, to_london
from send_inspection.catalogue.phases import STAFF_BULLETIN, phase_catalogue
from send_inspection.config.models import parse_clock_time
from send_inspection.db import models as m
from send_inspection.engine.additional_requests import requests_overview
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import milestones
from send_inspection.engine.item_chasing import is_late
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.outgoing import send_notice
from send_inspection.engine.passes import PassResult, pass_result
from send_inspection.engine.phase_rows import claim_pass
from send_inspection.mail.render import day_and_month

PHASE = STAFF_BULLETIN.key
# The dates staff are told are coming (milestone -> what it is).
AHEAD = {"surveys_close": "The online surveys close", "onsite_start": "Inspectors on site",
         "feedback_meeting": "The inspectors' feedback meeting"}


def bulletin_times(ctx: EngineContext, inspection_id: str) -> list[datetime]:
    """Return when each of the inspection's bulletins goes (UTC), in order."""
    rules = ctx.config.timeline.staff_bulletin
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        due = milestones(session, inspection_id)
    if inspection is None or rules.until not in due:
        return []
    at, weekdays = parse_clock_time(rules.at), rules.weekdays()
    day, last = to_london(inspection.notified_at).date() + timedelta(days=1), to_london(due[rules.until]).date()
    times = []
    while day <= last:
        if day.weekday() in weekdays and ctx.calendar.is_working_day(day):
            times.append(london_time(day, at))
        day += timedelta(days=1)
    return times


def bulletin_figures(ctx: EngineContext, inspection_id: str, *, day: date, now: datetime) -> dict[str, object]:
    """Return the figures of the bulletin for `day`: register, requests, debrief ratings and what comes next."""
    with ctx.session() as session:
        counted = phase_catalogue().in_bulletin()  # the phases whose items staff are told about, as they know them
        items = list(session.scalars(select(m.RegisterItem).where(m.RegisterItem.inspection_id == inspection_id,
                                                                   m.RegisterItem.phase.in_(counted))))
        slots = {s.slot_id: s for s in session.scalars(select(m.FieldworkSlot).where(
            m.FieldworkSlot.inspection_id == inspection_id, ~m.FieldworkSlot.cancelled))}
        ratings = list(session.scalars(select(m.Debrief.rating).where(m.Debrief.inspection_id == inspection_id)))
        due = milestones(session, inspection_id)
    register = []
    for phase, label in counted.items():
        mine = [i for i in items if i.phase == phase]
        if mine:
            register.append({"label": label, "total": len(mine), "done": sum(i.outcome is not None for i in mine),
                             "overdue": sum(is_late(i, due, now) for i in mine)})
    states = [row["state"] for row in requests_overview(ctx, inspection_id)]
    held = [s for s in slots.values() if s.end_at <= now]
    return {
        "day": day,
        "register": register,
        "requests": {"total": len(states), "sent": states.count("uploaded"), "explained": states.count("explained"),
                     "open": states.count("open") + states.count("LATE"), "late": states.count("LATE")},
        "meetings": {"held": len(held), "today": sum(to_london(s.start_at).date() == day for s in slots.values()),
                     "ahead": sum(s.start_at > now for s in slots.values())},
        "ratings": {r: ratings.count(r) for r in ("green", "amber", "red")},
        "ahead": [(label, f"{day_and_month(to_london(due[name]))}, {to_london(due[name]):%H:%M}")
                  for name, label in AHEAD.items() if name in due and due[name] > now],
        "comms": ctx.config.partnership.inboxes.comms.address,
    }


def bulletin_markdown(figures: dict[str, object]) -> str:
    """Return a bulletin's figures as markdown for the operators' artifact."""
    day: date = figures["day"]  # type: ignore[assignment]
    req: dict[str, int] = figures["requests"]  # type: ignore[assignment]
    meet: dict[str, int] = figures["meetings"]  # type: ignore[assignment]
    r: dict[str, int] = figures["ratings"]  # type: ignore[assignment]
    lines = [f"# Staff bulletin: {day:%A %d %B %Y}", "", "## Evidence"]
    lines += [f"- {row['label']}: {row['done']} of {row['total']} done, {row['overdue']} overdue"
              for row in figures["register"]] or ["- nothing yet"]  # type: ignore[attr-defined]
    lines += ["", f"Additional requests from the inspectors: {req['total']} ({req['sent']} sent, "
              f"{req['explained']} explained, {req['open']} open, {req['late']} late)",
              f"Meetings with inspectors: {meet['held']} held, {meet['today']} today, {meet['ahead']} still to come; "
              f"debriefs {r['green']} green, {r['amber']} amber, {r['red']} red", "", "## Coming up"]
    lines += [f"- {label}: {at}"
              for label, at in figures["ahead"]] or ["- nothing more"]  # type: ignore[attr-defined]
    return "\n".join(lines) + "\n"


def reconcile_bulletin(ctx: EngineContext, inspection_id: str) -> PassResult:
    """Send each bulletin now due, once; wait for the next; finish after the last."""
    now = ctx.clock.now()
    with ctx.session() as session:
        claim_pass(session, inspection_id, PHASE, now=now)
    staff_list = ctx.config.partnership.staff_bulletin_list
    times = bulletin_times(ctx, inspection_id) if staff_list else []
    mail = MailFailures(ctx.mail_retry)
    sent, bulletins, wake_times = 0, [], []
    due_now = [t for t in times if t <= now]
    # Only today's bulletin is sent: after an outage staff get today's news, not a backlog of old ones.
    for moment in [t for t in due_now[-1:] if to_london(t).date() == to_london(now).date()]:
        day = to_london(moment).date()
        key = f"{inspection_id}:{PHASE}:{day.isoformat()}"
        assert staff_list is not None
        to = [*staff_list.addresses, *(p.email for p in ctx.config.partnership.people if p.id in staff_list.members)]
        with mail.guard(key):
            fresh = send_notice(ctx, inspection_id, key, "staff_bulletin", to=to, now=now, sender_inbox="comms",
                                figures=bulletin_figures(ctx, inspection_id, day=day, now=now))
            sent += fresh
            if fresh:
                bulletins.append(day.isoformat())
    later = [t for t in times if t > now]
    wake_times.extend(later[:1])
    finished = not later
    gone = len(ctx.ledger.sent_keys(f"{inspection_id}:{PHASE}:"))  # what went, not what fell due
    reason = ("Staff bulletin: none configured" if not staff_list
              else f"Staff bulletin: {gone} of {len(times)} sent"
              + (f"; next {to_london(later[0]):%a %d %b %H:%M}" if later else "; the last has gone"))
    return pass_result(inspection_id, PHASE, finished=finished, sent=sent, reason=reason, statuses=[],
                       mail=mail, wake_times=wake_times, now=now, summaries_sent=bulletins)
