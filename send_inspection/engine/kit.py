"""Reconcile the keeping-in-touch (KIT) phase, weeks 1 to 3: the day-1 agreement, the meetings, representatives,
the actions raised and each meeting's summary.

One phase, "kit", per inspection, started on notification day. Its items, each asked through a personal link:
  core-group-agreement       settle     the coordinator records what the core group agreed at its day-1 meeting: the
                                        days of the KIT meetings and where each manager will be based
  kit-attendance-<member>    represent  each member may name a representative for a meeting they cannot come to
                                        (asked once, never chased; closed as attending when the last meeting starts)
  kit-<date>                 minute     the KIT organiser records each meeting: the issues raised and the notes
  kit-<date>-<n>             act        each issue raised, with its owner and deadline, chased until it is done
Each pass puts the agreed meetings on the timetable (origin "kit"; a representative is invited to the meeting they go
to), sends their invitations the way every slot's go, and sends each meeting's summary once it is recorded (or its
record is due): the day's debriefs, the actions, and tomorrow's meetings with their times.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.calendar import london_time, to_london
from send_inspection.catalogue.phases import KEEPING_IN_TOUCH
from send_inspection.config.models import parse_clock_time
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.fieldwork_phase import kit_summary
from send_inspection.engine.inspection import milestones, people
from send_inspection.engine.item_chasing import ItemStatus, chase_items, shown_as
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.named_people import NamedPerson, add_named_person
from send_inspection.engine.notification import core_meeting_times
from send_inspection.engine.outgoing import compose, when
from send_inspection.engine.passes import PassResult, pass_result
from send_inspection.engine.phase_rows import claim_pass
from send_inspection.fieldwork.slot_invitations import send_slot_invitations
from send_inspection.fieldwork.store import save_slots
from send_inspection.fieldwork.timetable import Slot
from send_inspection.kit.forms import OfferedMeeting
from send_inspection.mail.message import OutgoingMessage

PHASE = KEEPING_IN_TOUCH.key
# The KIT meetings' origin on the timetable.
ORIGIN = PHASE
AGREEMENT = "core-group-agreement"
GROUP = "Keeping in touch"
# What a member's representatives item is marked when the last meeting starts without their answer.
ATTENDING = "attending"
KIT_KIND = "internal-kit"
KIT_TITLE = "Keeping-in-touch (KIT) meeting"


def slot_id_of(day: date) -> str:
    """Return the timetable slot id of the KIT meeting on `day`."""
    return f"KIT-{day.isoformat()}"


def meeting_ref(day: date) -> str:
    """Return the register ref of the record of the KIT meeting on `day` (its actions are `<ref>-<n>`)."""
    return f"kit-{day.isoformat()}"


_ACTION = re.compile(r"^kit-\d{4}-\d{2}-\d{2}-\d+$")


def is_action(ref: str) -> bool:
    """Say whether `ref` is an action raised at a KIT meeting (`kit-<date>-<n>`)."""
    return bool(_ACTION.match(ref))


def attendance_ref(member: str) -> str:
    """Return the register ref of a member's representatives."""
    return f"kit-attendance-{member}"


def offered_meetings(ctx: EngineContext, inspection_id: str) -> list[OfferedMeeting]:
    """Return the KIT meetings the core group may agree: each working day from its first meeting to the feedback."""
    rules = ctx.config.timeline.keeping_in_touch
    at = parse_clock_time(rules.at)
    first, _ = core_meeting_times(ctx, inspection_id)
    with ctx.session() as session:
        last = milestones(session, inspection_id)[KEEPING_IN_TOUCH.closes_at or ""]
    day, offered = to_london(first).date(), []
    while day <= to_london(last).date():
        if ctx.calendar.is_working_day(day):
            offered.append(OfferedMeeting(day=day, slot_id=slot_id_of(day), start=london_time(day, at)))
        day += timedelta(days=1)
    return offered


def _details(session: Session, inspection_id: str, step: str) -> list[tuple[m.RegisterItem, m.Decision]]:
    """Return the kit phase's decisions of `step` that carry details, with their items, oldest first."""
    return list(session.execute(
        select(m.RegisterItem, m.Decision).join(m.Decision, m.Decision.item_id == m.RegisterItem.id)
        .where(m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == PHASE, m.Decision.step == step,
               m.Decision.details.is_not(None))
        .order_by(m.Decision.id)).tuples())


def agreement(session: Session, inspection_id: str) -> dict[str, Any] | None:
    """Return what the core group agreed (the days, as ISO dates, and each member's base), once recorded."""
    found = _details(session, inspection_id, "settle")
    return found[-1][1].details if found else None


def _person(session: Session, inspection_id: str, who: dict[str, str], *, role: str, escalates_to: str) -> str:
    """Return the key of the person a form named: known by key, or added to the inspection's people."""
    if "key" in who:
        return who["key"]
    return add_named_person(session, inspection_id, NamedPerson(who["name"], who["email"], role), origin=PHASE,
                            key_prefix=PHASE, escalates_to=escalates_to)


def _representatives(session: Session, inspection_id: str, staff: dict[str, m.Person]) -> dict[str, list[str]]:
    """Return slot id -> the representatives named for it (added to the inspection's people if new)."""
    sent: dict[str, list[str]] = {}
    for item, decision in _details(session, inspection_id, "represent"):
        member = item.evidence_lead
        name = staff[member].name if member in staff else member
        for slot_id, who in (decision.details or {}).get("representatives", {}).items():
            key = _person(session, inspection_id, who, role=f"Representative of {name}", escalates_to=member)
            sent.setdefault(slot_id, []).append(key)
    return sent


class _Register:
    """The kit phase's items and milestones, created once each and moved when their time changes."""

    def __init__(self, session: Session, inspection_id: str) -> None:
        self.session, self.inspection_id = session, inspection_id
        self.items = {i.ref: i for i in session.scalars(select(m.RegisterItem).where(
            m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == PHASE))}
        self.marks = {x.name: x for x in session.scalars(select(m.Milestone).where(
            m.Milestone.inspection_id == inspection_id, m.Milestone.name.startswith("kit-")))}

    def due(self, name: str, at: datetime) -> str:
        """Make milestone `name` fall at `at`; return its name."""
        if name in self.marks:
            self.marks[name].due_at = at
        else:
            self.marks[name] = m.Milestone(inspection_id=self.inspection_id, name=name, due_at=at)
            self.session.add(self.marks[name])
        return name

    def item(self, ref: str, *, title: str, group: str, lead: str, reviewer: str, step: str, due: datetime,
             started: datetime) -> m.RegisterItem:
        """Return item `ref`, created if new (asked at `started`); its deadline moved to `due`."""
        milestone = self.due(f"kit-{ref.removeprefix('kit-')}", due)
        if ref not in self.items:
            self.items[ref] = m.RegisterItem(
                inspection_id=self.inspection_id, ref=ref, title=title[:300], group_name=group, phase=PHASE,
                evidence_lead=lead, accountable_lead=reviewer, deadlines={step: milestone}, step=step, round=1,
                step_started_at=started)
            self.session.add(self.items[ref])
        return self.items[ref]


def _plan(ctx: EngineContext, session: Session, inspection_id: str, *, now: datetime) -> list[Slot]:
    """Create what the phase has reached (its items, milestones and people); return the KIT meetings as slots."""
    cfg = ctx.config.partnership
    rules = ctx.config.timeline.keeping_in_touch
    coordinator, organiser = cfg.roles.coordinator, cfg.roles.person_for("kit_organiser")
    register = _Register(session, inspection_id)
    start, end = core_meeting_times(ctx, inspection_id)
    register.item(AGREEMENT, title="What the core group agreed at its first meeting", group=GROUP, lead=coordinator,
                  reviewer=coordinator, step="settle", due=end + rules.agree_within, started=start)
    agreed = agreement(session, inspection_id)
    if agreed is None:
        return []
    staff = people(session, inspection_id)
    reps = _representatives(session, inspection_id, staff)
    record_within = rules.record_within
    days = sorted(date.fromisoformat(d) for d in agreed["days"])
    slots = []
    for day in days:
        begins = london_time(day, parse_clock_time(rules.at))
        finishes = begins + timedelta(minutes=rules.minutes)
        slot_id = slot_id_of(day)
        attendees = tuple(dict.fromkeys([*cfg.core_group, *reps.get(slot_id, [])]))
        slots.append(Slot(slot_id=slot_id, kind=KIT_KIND, title=f"{KIT_TITLE}, {begins:%a %d %b}", start=begins,
                          end=finishes, location=rules.location or "Teams", attendees=attendees))
        register.item(meeting_ref(day), title=f"Record of the {KIT_TITLE} of {begins:%a %d %b}",
                      group=f"KIT meeting {begins:%a %d %b}", lead=organiser, reviewer=coordinator, step="minute",
                      due=finishes + record_within, started=finishes)
    for ref, item in register.items.items():  # a day no longer agreed: its record is not asked for
        if item.step == "minute" and item.outcome is None and date.fromisoformat(ref.removeprefix("kit-")) not in days:
            item.outcome, item.done_at = "cancelled", now
    last_start = london_time(days[-1], parse_clock_time(rules.at))
    for member in cfg.core_group:
        item = register.item(attendance_ref(member), title="Representatives at the KIT meetings you cannot come to",
                             group=GROUP, lead=member, reviewer=coordinator, step="represent", due=last_start,
                             started=now)
        if item.outcome is None and now >= last_start:
            item.outcome, item.done_at = ATTENDING, now
    for item, decision in _details(session, inspection_id, "minute"):
        for number, issue in enumerate((decision.details or {}).get("issues", []), start=1):
            owner = _person(session, inspection_id, issue["owner"], role="Named at a keeping-in-touch meeting",
                            escalates_to=coordinator)
            register.item(f"{item.ref}-{number}", title=issue["text"], group=item.group_name, lead=owner,
                          reviewer=coordinator, step="act", due=datetime.fromisoformat(issue["due"]),
                          started=decision.decided_at)
    return slots


def _summary(ctx: EngineContext, session: Session, inspection_id: str, day: date,
             staff: dict[str, m.Person]) -> dict[str, object]:
    """Return the summary of the KIT meeting on `day`: the day's debriefs, its record, the actions, tomorrow."""
    ref = meeting_ref(day)
    record = next((d for i, d in _details(session, inspection_id, "minute") if i.ref == ref), None)
    actions = list(session.scalars(select(m.RegisterItem).where(
        m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == PHASE, m.RegisterItem.step == "act",
        m.RegisterItem.outcome.is_(None)).order_by(m.RegisterItem.id)))
    due = milestones(session, inspection_id)

    def action(item: m.RegisterItem) -> dict[str, str]:
        owner = staff.get(item.evidence_lead)
        return {"ref": item.ref, "text": item.title, "owner": owner.name if owner else item.evidence_lead,
                "due": when(due[item.deadlines["act"]])}

    return {**kit_summary(ctx, inspection_id, day), "recorded": record is not None,
            "notes": (record.details or {}).get("notes", "") if record else "",
            "raised": [action(a) for a in actions if a.ref.startswith(f"{ref}-")],
            "open_actions": [action(a) for a in actions if not a.ref.startswith(f"{ref}-")]}


def reconcile_kit(ctx: EngineContext, inspection_id: str) -> PassResult:
    """Do what the keeping-in-touch meetings need now and say what the phase waits for."""
    now = ctx.clock.now()
    with ctx.session() as session:
        claim_pass(session, inspection_id, PHASE, now=now)
        slots = _plan(ctx, session, inspection_id, now=now)
        session.commit()
        items = list(session.scalars(select(m.RegisterItem).where(
            m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == PHASE).order_by(m.RegisterItem.id)))
        due = milestones(session, inspection_id)
        staff = people(session, inspection_id)
    save_slots(ctx, inspection_id, slots, origin=ORIGIN)
    mail = MailFailures(ctx.mail_retry)
    wake_times: list[datetime] = []
    sent = send_slot_invitations(ctx, inspection_id, origin=ORIGIN, key_prefix=f"{inspection_id}:{PHASE}",
                                 staff=staff, now=now, mail=mail, wake_times=wake_times)
    chased, statuses = chase_items(ctx, items, staff=staff, due=due, now=now, mail=mail, wake_times=wake_times)
    sent += chased
    summaries, pending = _send_summaries(ctx, inspection_id, slots, items, due=due, staff=staff, now=now, mail=mail)
    sent += len(summaries)
    gone = len(ctx.ledger.sent_keys(f"{inspection_id}:{PHASE}:summary:"))
    wake_times += pending
    last_start = max((s.start for s in slots), default=None)
    if last_start is not None and last_start > now:
        wake_times.append(last_start)  # the representatives' items close when the last meeting starts
    feedback = due[KEEPING_IN_TOUCH.closes_at or ""]
    open_items = [s for s in statuses if s.outcome is None]
    finished = now >= feedback and slots != [] and not open_items and not pending
    if now < feedback:
        wake_times.append(feedback)
    reason = _reason(statuses, slots, summaries_done=gone, staff=staff, finished=finished)
    return pass_result(inspection_id, PHASE, finished=finished, sent=sent, reason=reason, statuses=statuses,
                       mail=mail, wake_times=wake_times, now=now, summaries_sent=summaries)


def _send_summaries(ctx: EngineContext, inspection_id: str, slots: list[Slot], items: list[m.RegisterItem], *,
                    due: dict[str, datetime], staff: dict[str, m.Person], now: datetime,
                    mail: MailFailures) -> tuple[list[str], list[datetime]]:
    """Send each meeting's summary once it is recorded or its record is due; return the days sent, the times waited."""
    by_ref = {i.ref: i for i in items}
    prefix = f"{inspection_id}:{PHASE}:summary:"
    gone = ctx.ledger.sent_keys(prefix)
    sent: list[str] = []
    waiting: list[datetime] = []
    for slot in slots:
        day = to_london(slot.start).date()
        key = f"{prefix}{day.isoformat()}"
        record = by_ref.get(meeting_ref(day))
        ready_at = due[record.deadlines["minute"]] if record is not None else slot.end
        if key in gone:
            continue
        if (record is None or record.outcome is None) and now < ready_at:
            waiting.append(ready_at)
            continue

        def build(day: date = day, key: str = key, slot: Slot = slot) -> OutgoingMessage:
            with ctx.session() as session:
                summary = _summary(ctx, session, inspection_id, day, staff)
            return compose(ctx, "kit_summary", key=key, sender_inbox="comms",
                           to=list(dict.fromkeys(staff[k].email for k in slot.attendees if k in staff)),
                           summary=summary)

        with mail.guard(key):
            if ctx.ledger.send_once(key, build, inspection_id=inspection_id, template="kit_summary", now=now):
                sent.append(day.isoformat())
    return sent, waiting


def _reason(statuses: list[ItemStatus], slots: list[Slot], *, summaries_done: int, staff: dict[str, m.Person],
            finished: bool) -> str:
    """Say where keeping in touch stands, by item ref and role (never what an issue says)."""
    if not slots:
        return "Keeping in touch: waiting for the core group's agreement (the KIT days) to be recorded"
    actions = [s for s in statuses if is_action(s.ref)]
    head = (f"Keeping in touch: {len(slots)} meetings, {summaries_done} summaries sent; "
            f"{sum(a.outcome is not None for a in actions)} of {len(actions)} actions done")
    if finished:
        return head
    open_items = [s for s in statuses if s.outcome is None and not s.ref.startswith("kit-attendance-")]
    parts = [f"{s.ref} ({shown_as(staff, s.owner, role=True)}) due {s.due_at}{' LATE' if s.late else ''}"
             for s in open_items[:6]]
    more = f"; and {len(open_items) - 6} more" if len(open_items) > 6 else ""
    return f"{head}. " + ("Waiting for: " + "; ".join(parts) + more if parts else "Waiting for the next meeting.")


def kit_overview(ctx: EngineContext, inspection_id: str) -> list[dict[str, object]]:
    """Return one row per KIT meeting for operators: when, who is invited, its record, summary and actions (figures)."""
    with ctx.session() as session:
        rows = list(session.scalars(select(m.FieldworkSlot).where(
            m.FieldworkSlot.inspection_id == inspection_id, m.FieldworkSlot.origin == ORIGIN)
            .order_by(m.FieldworkSlot.start_at)))
        items = {i.ref: i for i in session.scalars(select(m.RegisterItem).where(
            m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == PHASE))}
    gone = ctx.ledger.sent_keys(f"{inspection_id}:{PHASE}:summary:")
    core = set(ctx.config.partnership.core_group)
    overview = []
    for row in rows:
        day = to_london(row.start_at).date()
        record = items.get(meeting_ref(day))
        actions = [i for ref, i in items.items() if ref.startswith(f"{meeting_ref(day)}-") and is_action(ref)]
        overview.append({
            "meeting": row.slot_id, "when": f"{to_london(row.start_at):%a %d %b %H:%M}",
            "state": "cancelled" if row.cancelled else "on the timetable",
            "invited": len(row.attendees), "representatives": len(set(row.attendees) - core),
            "record": record.outcome or "open" if record else "—",
            "summary": "sent" if f"{inspection_id}:{PHASE}:summary:{day.isoformat()}" in gone else "not yet",
            "actions raised": len(actions), "actions open": sum(a.outcome is None for a in actions)})
    return overview
