"""Reconcile fieldwork (weeks 2 and 3): invite to the inspectors' slots, chase debriefs, act on red ones and documents.

One phase, "fieldwork", per inspection. Each pass:
  - sends the invitations, updates and cancellations the inspectors' timetable left pending;
  - asks each slot's debriefer for the debrief when the slot ends, reminding and escalating as usual;
  - sends a red debrief at once to the relevant director and the comms inbox;
  - starts an additional evidence request for each document an inspector asked for in a meeting.
The day's debriefs are combined in each keeping-in-touch meeting's summary (`kit_summary`, sent by the kit phase).
The phase ends after the feedback meeting once every debrief is in.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import select

from send_inspection.calendar import to_london
from send_inspection.catalogue.phases import FIELDWORK
from send_inspection.db import models as m
from send_inspection.engine.additional_requests import record_request, requests_overview
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import milestones, people
from send_inspection.engine.item_chasing import chase_items, shown_as, waiting_reason
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.outgoing import send_notice, when
from send_inspection.engine.passes import PassResult, pass_result
from send_inspection.engine.phase_rows import claim_pass
from send_inspection.fieldwork.slot_invitations import send_slot_invitations
from send_inspection.fieldwork.store import TIMETABLE
from send_inspection.fieldwork.timetable import KIND_TITLES
from send_inspection.mail.render import day_and_month

PHASE = FIELDWORK.key


def relevant_director(staff: dict[str, m.Person], person_key: str, *, fallback: str) -> str:
    """Return the first director up the person's escalation chain (the person themself if a director)."""
    seen: set[str] = set()
    cursor: str | None = person_key
    while cursor and cursor not in seen and cursor in staff:
        if "director" in staff[cursor].role.lower():
            return cursor
        seen.add(cursor)
        cursor = staff[cursor].escalates_to_key
    return fallback


def kit_summary(ctx: EngineContext, inspection_id: str, day: date) -> dict[str, object]:
    """Return the day's debriefs combined: ratings, headlines, themes, documents and tomorrow's slots."""
    with ctx.session() as session:
        slots = {s.slot_id: s for s in session.scalars(select(m.FieldworkSlot).where(
            m.FieldworkSlot.inspection_id == inspection_id, ~m.FieldworkSlot.cancelled))}
        debriefs = [d for d in session.scalars(select(m.Debrief).where(m.Debrief.inspection_id == inspection_id)
                                               .order_by(m.Debrief.id))
                    if d.slot_id in slots and to_london(slots[d.slot_id].start_at).date() == day]
        staff = people(session, inspection_id)
    today = [s for s in slots.values() if to_london(s.start_at).date() == day and s.origin != "kit"]
    later = sorted((s for s in slots.values() if to_london(s.start_at).date() > day), key=lambda s: s.start_at)
    next_day = to_london(later[0].start_at).date() if later else None
    missing = [s for s in today if s.debriefer and s.slot_id not in {d.slot_id for d in debriefs}]
    ratings = {r: sum(d.rating == r for d in debriefs) for r in ("red", "amber", "green")}
    # Each question once, with how many of the day's meetings raised it.
    themes = Counter(" ".join(d.unexpected_questions.split()) for d in debriefs if d.unexpected_questions.strip())
    return {
        "day": day, "ratings": ratings, "slots_today": len(today), "missing": missing,
        "headlines": [(slots[d.slot_id], d, staff[d.debriefer].name if d.debriefer in staff else d.debriefer)
                      for d in sorted(debriefs, key=lambda d: slots[d.slot_id].start_at)],
        # Who debriefed each slot as operators read it (someone named by address: by key, never by name).
        "debriefed_by": {d.slot_id: shown_as(staff, d.debriefer) for d in debriefs},
        "themes": list(themes.items()),
        "documents": [(doc, slots[d.slot_id].title) for d in debriefs for doc in d.documents_requested],
        "documents_by_slot": {d.slot_id: len(d.documents_requested) for d in debriefs if d.documents_requested},
        "requests": requests_overview(ctx, inspection_id),
        # The next day on the timetable (tomorrow, or after a weekend) and its meetings, in order.
        "next_heading": ("Next on the timetable" if next_day is None else
                         f"{'Tomorrow' if next_day == day + timedelta(days=1) else 'Next'}, {day_and_month(next_day)}"),
        "next_slots": [s for s in later if to_london(s.start_at).date() == next_day],
    }


def kit_markdown(summary: dict[str, object]) -> str:
    """Return a KIT summary for the Prefect artifact: figures, slot ids, kinds, times and who debriefs.

    Nothing typed is shown (a debrief's focus, the documents asked for, a slot's title or room): what people
    write about a meeting can name a child, and Prefect keeps artifacts for good.
    """
    day: date = summary["day"]  # type: ignore[assignment]
    r: dict[str, int] = summary["ratings"]  # type: ignore[assignment]
    documents: dict[str, int] = summary["documents_by_slot"]  # type: ignore[assignment]
    lines = [f"# Keeping in touch: {day:%A %d %B %Y}", "",
             f"{summary['slots_today']} meetings; debriefs: {r['red']} red, {r['amber']} amber, {r['green']} green; "
             f"{len(summary['missing'])} not yet in.", "", "## Debriefs"]  # type: ignore[arg-type]
    who: dict[str, str] = summary["debriefed_by"]  # type: ignore[assignment]
    lines += [f"- **{d.rating.upper()}** {slot.slot_id}: {KIND_TITLES.get(slot.kind, slot.kind)} "
              f"({to_london(slot.start_at):%H:%M}, debrief by {who[d.slot_id]})"
              for slot, d, _ in summary["headlines"]] or ["- none yet"]  # type: ignore[attr-defined]
    lines += ["", "## Documents requested (each is an additional evidence request)"]
    lines += [f"- {slot_id}: {n}" for slot_id, n in documents.items()] or ["- none"]
    lines += ["", f"## {summary['next_heading']}"]
    lines += [f"- {to_london(s.start_at):%H:%M}–{to_london(s.end_at):%H:%M} {s.slot_id}: "
              f"{KIND_TITLES.get(s.kind, s.kind)}"
              for s in summary["next_slots"]] or ["- nothing on the timetable"]  # type: ignore[attr-defined]
    return "\n".join(lines) + "\n"


def reconcile_fieldwork(ctx: EngineContext, inspection_id: str) -> PassResult:
    """Do everything fieldwork needs now and say what it waits for."""
    now = ctx.clock.now()
    with ctx.session() as session:
        claim_pass(session, inspection_id, PHASE, now=now)
        items = list(session.scalars(select(m.RegisterItem).where(
            m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == PHASE).order_by(m.RegisterItem.id)))
        debriefs = list(session.scalars(select(m.Debrief).where(m.Debrief.inspection_id == inspection_id)
                                        .order_by(m.Debrief.id)))
        slots = {s.slot_id: s for s in session.scalars(select(m.FieldworkSlot).where(
            m.FieldworkSlot.inspection_id == inspection_id))}
        known_requests = set(session.scalars(select(m.EvidenceRequest.recorded_by).where(
            m.EvidenceRequest.inspection_id == inspection_id, m.EvidenceRequest.source == "debrief")))
        due = milestones(session, inspection_id)
        staff = people(session, inspection_id)
    mail = MailFailures(ctx.mail_retry)
    wake_times: list[datetime] = []
    sent, statuses = chase_items(ctx, items, staff=staff, due=due, now=now, mail=mail, wake_times=wake_times)
    sent += send_slot_invitations(ctx, inspection_id, origin=TIMETABLE, key_prefix=f"{inspection_id}:{PHASE}",
                                  staff=staff, now=now, mail=mail, wake_times=wake_times)
    roles = ctx.config.partnership.roles
    comms = ctx.config.partnership.inboxes.comms.address
    for d in debriefs:
        slot = slots[d.slot_id]
        if d.rating == "red":
            director = relevant_director(staff, d.debriefer, fallback=roles.director_final_check)
            key = f"{inspection_id}:{PHASE}:red:{d.slot_id}"
            with mail.guard(key):
                sent += send_notice(ctx, inspection_id, key, "debrief_red", to=[staff[director].email, comms],
                                    now=now, sender_inbox="comms", slot=slot, debrief=d,
                                    debriefer=staff[d.debriefer].name, director=staff[director].name,
                                    start=when(slot.start_at))
        for index, document in enumerate(d.documents_requested, start=1):
            marker = f"debrief:{d.slot_id}:{index}"  # one request per document, however often this runs
            if marker not in known_requests:
                record_request(ctx, inspection_id, f"{document} (asked for in: {slot.title})",
                               inspector="the inspector in the meeting", head_of_service=d.debriefer,
                               source="debrief", recorded_by=marker)
                known_requests.add(marker)
    feedback = due.get(FIELDWORK.closes_at or "")  # the feedback meeting
    open_items = [s for s in statuses if s.outcome is None]
    finished = feedback is not None and now >= feedback and not open_items
    if feedback is not None and now < feedback:
        wake_times.append(feedback)
    reason = (f"Fieldwork: {len(items)} debriefs in" if finished
              else f"Fieldwork: {len(debriefs)} of {len(items)} debriefs in. " + (
                  waiting_reason(PHASE, statuses, staff) if open_items else "Waiting for the next meeting."))
    return pass_result(inspection_id, PHASE, finished=finished, sent=sent, reason=reason, statuses=statuses,
                       mail=mail, wake_times=wake_times, now=now)
