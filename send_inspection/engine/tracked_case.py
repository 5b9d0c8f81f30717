"""Reconcile one tracked child's work: open each step when the one before allows, and chase what is open.

The steps (tracked_cases.yaml) as items of the phase "case:<case id>":
  <id>:practitioners   identify  the SEND QA and Audit Manager names practitioners and settings
  (settings told)                 the engine tells each setting lead the case was selected
  <id>:family          agree     the practitioner who knows the child best records the family's answer
  <id>:inspectors      inform    only if the family declined: the LANO records the inspectors' answer
  <id>:<document>      submit -> review   each document, reviewed by the LANO
  <id>:<meeting>       arrange   the logistics team books the briefing and the tracking meetings: each becomes a slot
                                 on the timetable (origin "case:<id>"), and the people the meeting invites (the
                                 practitioners and setting leads named on the case) get its invitation
Once every document is reviewed the case's documents are marked reviewed, and the Annex A tracked-cases row, which
waits for every case's (gate tracked-cases-reviewed), is told to look again.
Everything here names the child by case id only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.catalogue.phases import TRACKED_CASE
from send_inspection.config.models import CaseMeeting
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.gates import CLOSED, flag_gated_phases
from send_inspection.engine.inspection import milestones, people
from send_inspection.engine.item_chasing import chase_items, waiting_reason
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.outgoing import joined_names, send_notice
from send_inspection.engine.passes import PassResult, pass_result
from send_inspection.engine.phase_rows import claim_pass
from send_inspection.fieldwork.slot_invitations import send_slot_invitations
from send_inspection.fieldwork.store import save_slots
from send_inspection.fieldwork.timetable import Slot

# A case is finished in these states: nothing more is asked.
FINISHED = frozenset({"complete", "replaced"})


@dataclass(frozen=True)
class _Step:
    """An item to open for the case: its short ref, title, steps with milestones and owners."""

    name: str
    title: str
    deadlines: dict[str, str]
    lead: str
    reviewer: str


def _load(session: Session, inspection_id: str, child_id: str) -> tuple[m.TrackedCase, dict[str, m.RegisterItem]]:
    case = session.scalars(
        select(m.TrackedCase).where(m.TrackedCase.inspection_id == inspection_id, m.TrackedCase.child_id == child_id)
    ).one()
    items = session.scalars(
        select(m.RegisterItem).where(m.RegisterItem.inspection_id == inspection_id,
                                     m.RegisterItem.phase == TRACKED_CASE.phase(child_id)).order_by(m.RegisterItem.id)
    )
    return case, {item.ref.split(":", 1)[1]: item for item in items}


def _open(session: Session, case: m.TrackedCase, step: _Step, *, now: datetime) -> m.RegisterItem:
    item = m.RegisterItem(
        inspection_id=case.inspection_id, ref=f"{case.child_id}:{step.name}", title=f"{case.child_id}: {step.title}",
        group_name=f"Tracked case {case.child_id}", phase=TRACKED_CASE.phase(case.child_id), evidence_lead=step.lead,
        accountable_lead=step.reviewer, deadlines=step.deadlines, step=next(iter(step.deadlines)), round=1,
        step_started_at=now,
    )
    session.add(item)
    return item


def _work(ctx: EngineContext, case: m.TrackedCase, *, with_family: bool) -> list[_Step]:
    """Return the documents and meetings the case needs, given what the family agreed to."""
    cfg = ctx.config.tracked_cases
    lano = ctx.config.partnership.roles.lano
    providers = {"practitioner": case.practitioner_key or cfg.roles.qa_manager, "qa_manager": cfg.roles.qa_manager}
    steps = [
        _Step(doc.id, doc.title, {"submit": cfg.deadlines["submit"], "review": cfg.deadlines["review"]},
              providers.get(doc.provided_by, doc.provided_by), lano)
        for doc in cfg.documents
        if doc.only_if != "alternative_provision" or case.alternative_provision
    ]
    steps += [
        _Step(meeting.id, meeting.title, {"arrange": cfg.deadlines["arrange"]}, cfg.roles.logistics, lano)
        for meeting in cfg.meetings
        if with_family or not meeting.needs_family
    ]
    return steps


def advance_case(ctx: EngineContext, session: Session, case: m.TrackedCase, items: dict[str, m.RegisterItem], *,
                 now: datetime) -> str:
    """Open the items the case has reached and return its state; the caller commits."""
    cfg = ctx.config.tracked_cases
    lano = ctx.config.partnership.roles.lano
    qa = cfg.roles.qa_manager

    def ensure(step: _Step) -> m.RegisterItem:
        if step.name not in items:
            items[step.name] = _open(session, case, step, now=now)
        return items[step.name]

    ident = ensure(_Step("practitioners", "Practitioners and settings",
                         {"identify": cfg.deadlines["identify"]}, qa, qa))
    if ident.outcome is None:
        return "selected"
    family = ensure(_Step("family", "The family's agreement to take part", {"agree": cfg.deadlines["agree"]},
                          case.practitioner_key or qa, qa))
    if family.outcome is None:
        return "identified"
    with_family = family.outcome == "agreed"
    if not with_family:
        told = ensure(_Step("inspectors", "Lead inspector told the family declined",
                            {"inform": cfg.deadlines["inform"]}, lano, lano))
        if told.outcome is None:
            return "declined"
        if told.outcome == "replace":
            return "replaced"
    work = [ensure(step) for step in _work(ctx, case, with_family=with_family)]
    if all(item.outcome is not None for item in work):
        return "complete"
    return "agreed" if with_family else "records-only"


def _note_documents_reviewed(ctx: EngineContext, session: Session, case: m.TrackedCase,
                             items: dict[str, m.RegisterItem], *, was: str, now: datetime) -> None:
    """Mark the case's documents reviewed once they all are; tell gated items when that happens or the case closes."""
    documents = [items[d.id] for d in ctx.config.tracked_cases.documents if d.id in items]
    reviewed = case.documents_reviewed_at is None and documents and all(i.outcome is not None for i in documents)
    if reviewed:
        case.documents_reviewed_at = now
    if reviewed or (case.status in CLOSED and was not in CLOSED):
        flag_gated_phases(session, case.inspection_id, now=now)


def origin_of(child_id: str) -> str:
    """Return the origin of a tracked child's meetings on the timetable."""
    return TRACKED_CASE.phase(child_id)


def _invitees(meeting: CaseMeeting, case: m.TrackedCase) -> tuple[str, ...]:
    """Return the person keys a case's meeting invites: the case's people its `invite` names, and person ids."""
    groups = {"practitioner": [case.practitioner_key] if case.practitioner_key else [],
              "practitioners": list(case.other_practitioner_keys or []),
              "setting_leads": [s["lead"] for s in case.settings or []]}
    return tuple(dict.fromkeys(k for who in meeting.invite for k in groups.get(who, [who])))


def case_slots(ctx: EngineContext, session: Session, case: m.TrackedCase,
               items: dict[str, m.RegisterItem]) -> list[Slot]:
    """Return the case's meetings booked so far as timetable slots (none once the case is closed)."""
    if case.status in CLOSED:
        return []
    slots = []
    for meeting in ctx.config.tracked_cases.meetings:
        item = items.get(meeting.id)
        if item is None or item.outcome != "requested":
            continue
        booked = session.scalars(select(m.Decision.details).where(m.Decision.item_id == item.id, m.Decision.step ==
                                                                  "arrange").order_by(m.Decision.id.desc())).first()
        if not booked:
            continue
        start = datetime.fromisoformat(booked["start"])
        slots.append(Slot(slot_id=f"{case.child_id}-{meeting.id}", kind=meeting.kind,
                          title=f"{meeting.title}: case {case.child_id}"[:300], start=start,
                          end=start + timedelta(minutes=meeting.minutes), location=booked["location"],
                          attendees=_invitees(meeting, case)))
    return slots


def reconcile_case(ctx: EngineContext, inspection_id: str, child_id: str) -> PassResult:
    """Open what the case has reached, send what is due, and say whether it is finished and when to wake."""
    now = ctx.clock.now()
    phase = TRACKED_CASE.phase(child_id)
    with ctx.session() as session:
        claim_pass(session, inspection_id, phase, now=now)
        case, by_name = _load(session, inspection_id, child_id)
        was = case.status
        case.status = advance_case(ctx, session, case, by_name, now=now)
        _note_documents_reviewed(ctx, session, case, by_name, was=was, now=now)
        session.commit()
        slots = case_slots(ctx, session, case, by_name)
        status, settings, practitioner = case.status, list(case.settings), case.practitioner_key
        due = milestones(session, inspection_id)
        staff = people(session, inspection_id)
        items = sorted(by_name.values(), key=lambda i: i.id)
        for item in items:
            session.expunge(item)
    mail = MailFailures(ctx.mail_retry)
    wake_times: list[datetime] = []
    sent = 0
    if status not in ("selected",):
        by_lead: dict[str, list[str]] = {}
        for setting in settings:
            by_lead.setdefault(setting["lead"], []).append(setting["setting"])
        for lead, names in by_lead.items():  # one notice per lead, naming every setting they lead
            key = f"{inspection_id}:{phase}:setting-lead:{lead}"
            with mail.guard(key):
                sent += send_notice(ctx, inspection_id, key, "case_setting_lead", to=[staff[lead].email], now=now,
                                    sender_inbox="logistics", case_id=child_id, setting=" and ".join(names),
                                    lead_name=staff[lead].name,
                                    practitioner=staff[practitioner].name if practitioner else "")
    if status == "replaced":
        key = f"{inspection_id}:{phase}:replaced"
        roles = ctx.config.partnership.roles
        to = [staff[k].email for k in dict.fromkeys((roles.coordinator, ctx.config.tracked_cases.roles.qa_manager))]
        with mail.guard(key):
            sent += send_notice(ctx, inspection_id, key, "case_replaced", to=to, now=now, sender_inbox="logistics",
                                case_id=child_id, names=joined_names(staff[k].name for k in dict.fromkeys(
                                    (roles.coordinator, ctx.config.tracked_cases.roles.qa_manager))))
    chased, statuses = chase_items(ctx, items, staff=staff, due=due, now=now, mail=mail, wake_times=wake_times)
    sent += chased
    save_slots(ctx, inspection_id, slots, origin=origin_of(child_id))
    if slots or status in CLOSED:
        sent += send_slot_invitations(ctx, inspection_id, origin=origin_of(child_id), key_prefix=f"{inspection_id}:"
                                      f"{phase}", staff=staff, now=now, mail=mail,
                                      wake_times=wake_times)
    if status in FINISHED:
        reason = f"Tracked case {child_id}: {status}"
    else:
        reason = f"Tracked case {child_id} ({status}). " + waiting_reason(phase, statuses, staff)
    return pass_result(inspection_id, phase, finished=status in FINISHED, sent=sent, reason=reason,
                       statuses=statuses, mail=mail, wake_times=wake_times, now=now)


def start_tracked_cases(ctx: EngineContext, inspection_id: str) -> list[str]:
    """Create a phase for every selected child that has none yet (due now); return the new phases."""
    from send_inspection.engine.phase_rows import ensure_phase

    with ctx.session() as session:
        ids = list(session.scalars(select(m.TrackedCase.child_id).where(m.TrackedCase.inspection_id == inspection_id)
                                   .order_by(m.TrackedCase.id)))
    return [TRACKED_CASE.phase(i) for i in ids if ensure_phase(ctx, inspection_id, TRACKED_CASE.phase(i))]


def case_overview(ctx: EngineContext, inspection_id: str) -> list[dict[str, object]]:
    """Return one row per tracked case for operators: case id, state, steps done and late."""
    now = ctx.clock.now()
    with ctx.session() as session:
        cases = list(session.scalars(select(m.TrackedCase).where(m.TrackedCase.inspection_id == inspection_id)
                                     .order_by(m.TrackedCase.id)))
        due = milestones(session, inspection_id)
        items = list(session.scalars(select(m.RegisterItem).where(m.RegisterItem.inspection_id == inspection_id,
                                                                  m.RegisterItem.phase.startswith(f"{TRACKED_CASE.key}:"))))
    rows = []
    for case in cases:
        mine = [i for i in items if i.phase == TRACKED_CASE.phase(case.child_id)]
        late = [i for i in mine if i.outcome is None and now >= due[i.deadlines[i.step]]]
        rows.append({"case": case.child_id, "list": case.list_kind, "alternative provision": case.alternative_provision,
                     "state": case.status, "steps done": f"{sum(i.outcome is not None for i in mine)} of {len(mine)}",
                     "late": len(late)})
    return rows
