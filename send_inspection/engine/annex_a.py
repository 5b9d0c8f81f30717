"""Reconcile an Annex A phase (day 2, day 5): chase every open register item, then report it complete or late."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from send_inspection.catalogue.phases import phase_catalogue
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.gates import open_gates
from send_inspection.engine.inspection import milestones, people
from send_inspection.engine.item_chasing import ItemStatus, chase_items, waiting_reason
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.outgoing import phase_message
from send_inspection.engine.passes import PassResult, pass_result
from send_inspection.engine.phase_rows import claim_pass


def reconcile_annex_a(ctx: EngineContext, inspection_id: str, phase: str) -> PassResult:
    """Send what is due for every open item of Annex A phase `phase`; return whether it is done and when to wake."""
    now = ctx.clock.now()
    wake_times: list[datetime] = []
    with ctx.session() as session:
        claim_pass(session, inspection_id, phase, now=now)
        due = milestones(session, inspection_id)
        staff = people(session, inspection_id)
        items = list(
            session.scalars(
                select(m.RegisterItem)
                .where(m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == phase)
                .order_by(m.RegisterItem.id)
            )
        )
        if open_gates(session, items, now=now):
            session.commit()
    mail = MailFailures(ctx.mail_retry)
    sent, statuses = chase_items(ctx, items, staff=staff, due=due, now=now, mail=mail, wake_times=wake_times)
    open_items = [s for s in statuses if s.outcome is None]
    phase_deadline = due[phase_catalogue().spec(phase).closes_at]  # at it, what is still open is reported late
    done = not open_items
    if done:
        with mail.guard(f"{inspection_id}:{phase}:phase_complete"):
            sent += phase_email(ctx, inspection_id, phase, "phase_complete", statuses, now)
    elif now >= phase_deadline:
        with mail.guard(f"{inspection_id}:{phase}:late_report"):
            sent += phase_email(ctx, inspection_id, phase, "late_report", statuses, now)
    else:
        wake_times.append(phase_deadline)
    return pass_result(inspection_id, phase, finished=done, sent=sent, reason=waiting_reason(phase, statuses, staff),
                       statuses=statuses, mail=mail, wake_times=wake_times, now=now)


def phase_email(
    ctx: EngineContext, inspection_id: str, phase: str, kind: str, statuses: list[ItemStatus], now: datetime, *,
    template: str | None = None,
) -> int:
    """Send the phase's email of `kind` (phase_complete, late_report) once, worded by `template` (the kind unless
    given); return how many went (0 or 1)."""
    key = f"{inspection_id}:{phase}:{kind}"
    template = template or kind
    return int(ctx.ledger.send_once(
        key,
        lambda: phase_message(ctx, inspection_id, phase=phase, kind=template, statuses=statuses, key=key),
        inspection_id=inspection_id,
        template=template,
        now=now,
    ))
