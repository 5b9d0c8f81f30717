"""Additional evidence requests during fieldwork: record one, and reconcile it until the LANO has sent it.

Each request is the phase "request:<number>" with one item, "request-<number>", whose chain is
  confirm  the head of service says at once whether the evidence exists, and by when
  submit   the head of service sends the evidence, or an explanation of why it does not exist
  approve  the accountable lead signs it off
  upload   the LANO sends it to the inspector and confirms
with deadlines counted back from the request's due time (timeline.yaml, additional_requests). Operators
see "Additional evidence request N" only: what was asked stays in our database and in the emails.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from send_inspection.calendar import london_time, to_london
from send_inspection.catalogue.phases import ADDITIONAL_REQUEST
from send_inspection.catalogue.steps import step_label
from send_inspection.config.models import parse_clock_time
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import milestones, people
from send_inspection.engine.item_chasing import chase_items, waiting_reason
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.outgoing import joined_names, send_notice, when
from send_inspection.engine.passes import PassResult, pass_result
from send_inspection.engine.phase_rows import claim_pass, ensure_phase

STEPS = ("confirm", "submit", "approve", "upload")


class RequestRefused(ValueError):
    """The request cannot be recorded; the message says which field is wrong."""


def due_time(ctx: EngineContext, received_at: datetime) -> datetime:
    """Return when a request received at `received_at` is due: the same working day, or the next if it came late."""
    rules = ctx.config.timeline.additional_requests
    local = to_london(received_at)
    day = local.date()
    if ctx.calendar.is_working_day(day) and local.time() <= parse_clock_time(rules.arriving_after):
        return london_time(day, parse_clock_time(rules.due_same_day_at))
    return london_time(ctx.calendar.next_working_day(day + timedelta(days=1)), parse_clock_time(rules.next_day_due_at))


def _step_deadlines(ctx: EngineContext, received_at: datetime, due: datetime) -> dict[str, datetime]:
    rules = ctx.config.timeline.additional_requests
    confirm = min(received_at + rules.confirm_within, due)
    submit = max(due - rules.submit_before_due, confirm)
    approve = max(due - rules.signoff_before_due, submit)
    return {"confirm": confirm, "submit": submit, "approve": approve, "upload": due}


def record_request(
    ctx: EngineContext,
    inspection_id: str,
    asked: str,
    *,
    inspector: str,
    head_of_service: str,
    accountable_lead: str | None = None,
    source: str = "cli",
    recorded_by: str = "inspection-coordinator",
    due_at: datetime | None = None,
    forwarded_by: str | None = None,
    head_of_service_line: str | None = None,
    lano_stands_in: bool = False,
) -> int:
    """Record a request, its item and deadlines, and start its phase; return its number.

    A request forwarded to the comms inbox names its forwarder and what its "Head of service:" line said; when
    that named nobody known, the LANO stands in (`lano_stands_in`) and the request's run tells them why.
    """
    asked, inspector = " ".join(asked.split()), " ".join(inspector.split())
    if not asked:
        raise RequestRefused("what the inspector asked for is missing")
    if not inspector:
        raise RequestRefused("the inspector's name is missing")
    partnership = ctx.config.partnership
    known = {p.id for p in partnership.people}
    accountable_lead = accountable_lead or _accountable_for(ctx, head_of_service)
    for field, person in (("head of service", head_of_service), ("accountable lead", accountable_lead)):
        if person not in known:
            raise RequestRefused(f"{field}: {person!r} is not a person id in partnership.yaml")
    now = ctx.clock.now()
    due = due_at or due_time(ctx, now)
    with ctx.session() as session:
        if session.get(m.Inspection, inspection_id) is None:
            raise RequestRefused(f"no inspection {inspection_id!r}")
        number = (session.scalar(select(func.max(m.EvidenceRequest.number))
                                 .where(m.EvidenceRequest.inspection_id == inspection_id)) or 0) + 1
        session.add(m.EvidenceRequest(inspection_id=inspection_id, number=number, asked=asked[:4000],
                                      inspector=inspector[:200], source=source, head_of_service=head_of_service,
                                      accountable_lead=accountable_lead, received_at=now, due_at=due,
                                      recorded_by=recorded_by, forwarded_by=forwarded_by,
                                      head_of_service_line=head_of_service_line, lano_stands_in=lano_stands_in))
        deadlines = {}
        for step, moment in _step_deadlines(ctx, now, due).items():
            name = f"request-{number}-{step}"
            session.add(m.Milestone(inspection_id=inspection_id, name=name, due_at=moment))
            deadlines[step] = name
        session.add(m.RegisterItem(
            inspection_id=inspection_id, ref=f"request-{number}", title=f"Additional evidence request {number}",
            group_name="Additional evidence requests", phase=ADDITIONAL_REQUEST.phase(number),
            evidence_lead=head_of_service, accountable_lead=accountable_lead, deadlines=deadlines, step="confirm",
            round=1, step_started_at=now,
        ))
        session.commit()
    ensure_phase(ctx, inspection_id, ADDITIONAL_REQUEST.phase(number))
    return number


def _accountable_for(ctx: EngineContext, head_of_service: str) -> str:
    """Return who signs off evidence from this head of service: the accountable lead of a register item they lead."""
    register = ctx.config.annex_a
    for item in register.items:
        if item.evidence_lead == head_of_service:
            return register.accountable_lead(item)
    return ctx.config.partnership.roles.director_final_check


def reconcile_request(ctx: EngineContext, inspection_id: str, number: int) -> PassResult:
    """Tell the LANO and head of service (and why the LANO stands in), chase the open step, report lateness once."""
    now = ctx.clock.now()
    phase = ADDITIONAL_REQUEST.phase(number)
    with ctx.session() as session:
        claim_pass(session, inspection_id, phase, now=now)
        request = session.scalars(select(m.EvidenceRequest).where(
            m.EvidenceRequest.inspection_id == inspection_id, m.EvidenceRequest.number == number)).one()
        items = list(session.scalars(select(m.RegisterItem).where(
            m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == phase)))
        due = milestones(session, inspection_id)
        staff = people(session, inspection_id)
    mail = MailFailures(ctx.mail_retry)
    wake_times: list[datetime] = []
    roles = ctx.config.partnership.roles
    lano, hos = staff[roles.lano], staff[request.head_of_service]
    sent = 0
    if request.lano_stands_in and request.forwarded_by in staff:
        key = f"{inspection_id}:{phase}:head-of-service-missing"
        with mail.guard(key):
            sent += _tell_lano(ctx, inspection_id, key, request, lano=lano, forwarder=staff[request.forwarded_by],
                               now=now)
    key = f"{inspection_id}:{phase}:received"
    # A reply to a request's notice, like one to its asks, goes to the evidence inbox that takes the request's mail.
    with mail.guard(key):
        sent += send_notice(ctx, inspection_id, key, "request_received", to=[lano.email, hos.email], now=now,
                            sender_inbox="evidence", cc=[ctx.config.partnership.inboxes.evidence.address],
                            reply_inbox="evidence", request=request, due=when(request.due_at), lano_name=lano.name,
                            hos_name=hos.name, names=joined_names((lano.name, hos.name)))
    chased, statuses = chase_items(ctx, items, staff=staff, due=due, now=now, mail=mail, wake_times=wake_times)
    sent += chased
    finished = all(s.outcome is not None for s in statuses)
    if not finished and now >= request.due_at:
        key = f"{inspection_id}:{phase}:late"
        to = [staff[k].email for k in dict.fromkeys((roles.lano, roles.coordinator, request.accountable_lead))]
        with mail.guard(key):
            sent += send_notice(ctx, inspection_id, key, "request_late", to=to, now=now, sender_inbox="evidence",
                                reply_inbox="evidence", request=request, due=when(request.due_at), waiting=statuses,
                                step_label=step_label)
    elif not finished:
        wake_times.append(request.due_at)
    label = f"Additional evidence request {number}"
    reason = (f"{label}: {statuses[0].outcome} {to_london(now):%a %d %b %H:%M}" if finished
              else f"{label} (due {to_london(request.due_at):%a %d %b %H:%M}). "
              + waiting_reason(phase, statuses, staff))
    return pass_result(inspection_id, phase, finished=finished, sent=sent, reason=reason, statuses=statuses,
                       mail=mail, wake_times=wake_times, now=now)


def _tell_lano(ctx: EngineContext, inspection_id: str, key: str, request: m.EvidenceRequest, *, lano: m.Person,
               forwarder: m.Person, now: datetime) -> int:
    """Tell the LANO and the forwarder (comms inbox copied) that the request named no known head of service."""
    comms = ctx.config.partnership.inboxes.comms.address
    return send_notice(ctx, inspection_id, key, "request_head_of_service_missing", to=[lano.email, forwarder.email],
                       now=now, sender_inbox="comms", cc=[comms], request=request,
                       given=request.head_of_service_line, due=when(request.due_at), lano_name=lano.name,
                       forwarder_name=forwarder.name)


def requests_overview(ctx: EngineContext, inspection_id: str) -> list[dict[str, object]]:
    """Return one row per request for operators: number, source, received, due, step, state (no request text)."""
    now = ctx.clock.now()
    with ctx.session() as session:
        requests = list(session.scalars(select(m.EvidenceRequest).where(
            m.EvidenceRequest.inspection_id == inspection_id).order_by(m.EvidenceRequest.number)))
        items = {i.ref: i for i in session.scalars(select(m.RegisterItem).where(
            m.RegisterItem.inspection_id == inspection_id,
            m.RegisterItem.phase.startswith(f"{ADDITIONAL_REQUEST.key}:")))}
    rows = []
    for r in requests:
        item = items.get(f"request-{r.number}")
        state = item.outcome if item and item.outcome else ("LATE" if now >= r.due_at else "open")
        took = (item.done_at - r.received_at) if item and item.done_at else None
        rows.append({"request": r.number, "source": r.source, "received": f"{to_london(r.received_at):%a %d %b %H:%M}",
                     "due": f"{to_london(r.due_at):%a %d %b %H:%M}", "step": item.step if item else "—",
                     "state": state, "took": _hours(took) if took else "—"})
    return rows


def _hours(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}"
