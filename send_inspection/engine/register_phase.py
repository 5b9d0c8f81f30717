"""Reconcile an Annex A phase: do every ask, reminder and escalation that is due, and say what is awaited."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.calendar import to_london
from send_inspection.catalogue.gates import gate_spec
from send_inspection.catalogue.phases import phase_catalogue, phase_label
from send_inspection.catalogue.steps import step_label, step_spec
from send_inspection.config.models import parse_duration
from send_inspection.db import models as m
from send_inspection.engine.absences import absences_of, covering, next_change
from send_inspection.engine.chasing import Chain, Chase, chase_plan
from send_inspection.engine.context import EngineContext
from send_inspection.engine.gates import open_gates
from send_inspection.engine.outgoing import action_message, phase_message
from send_inspection.engine.owners import step_owner
from send_inspection.engine.setup import milestones, people
from send_inspection.mail.transport import MailTransportError
from send_inspection.tokens import mint_token

log = logging.getLogger(__name__)

# After a mail failure that may pass (server down, busy), the phase wakes again this much later.
MAIL_RETRY_AFTER = timedelta(minutes=5)

@dataclass(frozen=True)
class ItemStatus:
    """One register item as operators see it (ids and staff only: no child's data)."""

    ref: str
    title: str
    group: str
    step: str
    round: int
    owner: str
    due_at: str
    late: bool
    outcome: str | None
    # The gate (catalogue/gates.py) the item waits for before anyone is asked, if any.
    waits_for: str | None = None


@dataclass(frozen=True)
class PassResult:
    """What one reconcile pass did and what the phase now waits for."""

    inspection_id: str
    phase: str
    done: bool
    sent: int
    next_wake_at: datetime | None
    reason: str
    items: list[ItemStatus] = field(default_factory=list)
    mail_failures: list[str] = field(default_factory=list)
    # Summaries this pass sent (fieldwork: the KIT days, as ISO dates), for the operators' artifacts.
    summaries_sent: list[str] = field(default_factory=list)


def _chain(owner: str, staff: dict[str, m.Person], *, away: bool = False) -> Chain:
    person = staff[owner]
    deputy = person.deputy_key
    ups: list[str] = []
    cursor = person.escalates_to_key
    while cursor and cursor not in ups and cursor != owner and len(ups) < 3:
        ups.append(cursor)
        cursor = staff[cursor].escalates_to_key
    if away and deputy:
        # Someone away is not asked at all: their deputy is, from the start.
        return Chain(owner=deputy, deputy=None, escalation=tuple(ups))
    return Chain(owner=owner, deputy=deputy, escalation=tuple(ups))


def _fmt(moment: datetime) -> str:
    return to_london(moment).strftime("%a %d %b %H:%M")


def claim_pass(session: Session, inspection_id: str, phase: str, *, now: datetime) -> None:
    """Mark the phase running and every decision so far as seen by this pass; commit."""
    run = session.scalars(
        select(m.PhaseRun).where(m.PhaseRun.inspection_id == inspection_id, m.PhaseRun.phase == phase)
    ).one()
    run.seen_changes = run.changes
    run.status, run.updated_at = "running", now
    session.commit()


def reconcile_register_phase(ctx: EngineContext, inspection_id: str, phase: str) -> PassResult:
    """Send what is due for every open item of `phase`; return whether it is done and when to wake."""
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
    mail = MailFailures()
    sent, statuses = chase_items(ctx, items, staff=staff, due=due, now=now, mail=mail, wake_times=wake_times)
    open_items = [s for s in statuses if s.outcome is None]
    phase_deadline = due[phase_catalogue().spec(phase).closes_at]  # at it, what is still open is reported late
    done = not open_items
    if done:
        with mail.guard(f"{inspection_id}:{phase}:phase_complete"):
            sent += _phase_email(ctx, inspection_id, phase, "phase_complete", statuses, now)
    elif now >= phase_deadline:
        with mail.guard(f"{inspection_id}:{phase}:late_report"):
            sent += _phase_email(ctx, inspection_id, phase, "late_report", statuses, now)
    else:
        wake_times.append(phase_deadline)
    return pass_result(inspection_id, phase, finished=done, sent=sent, reason=waiting_reason(phase, statuses, staff),
                       statuses=statuses, mail=mail, wake_times=wake_times, now=now)


def pass_result(
    inspection_id: str,
    phase: str,
    *,
    finished: bool,
    sent: int,
    reason: str,
    statuses: list[ItemStatus],
    mail: MailFailures,
    wake_times: list[datetime],
    now: datetime,
    summaries_sent: list[str] | None = None,
) -> PassResult:
    """Close a pass: stay awake until every due email has gone, wake at the earliest time due, say what failed."""
    done = finished and not mail.retry  # the completion notice too must have gone
    if mail.retry:
        wake_times.append(now + MAIL_RETRY_AFTER)
    next_wake = min(wake_times) if wake_times and not done else None
    if mail.failures:
        reason = f"{mail.summary(next_wake)} {reason}"
    return PassResult(inspection_id=inspection_id, phase=phase, done=done, sent=sent, next_wake_at=next_wake,
                      reason=reason, items=statuses, mail_failures=mail.failures,
                      summaries_sent=summaries_sent or [])


def chase_items(
    ctx: EngineContext,
    items: list[m.RegisterItem],
    *,
    staff: dict[str, m.Person],
    due: dict[str, datetime],
    now: datetime,
    mail: MailFailures,
    wake_times: list[datetime],
) -> tuple[int, list[ItemStatus]]:
    """Send every ask, reminder and escalation due for the open items; add later ones to `wake_times`."""
    chasing = ctx.config.timeline.chasing
    token_grace = parse_duration(ctx.config.timeline.token_valid_after_deadline)
    sent = 0
    statuses: list[ItemStatus] = []
    away: list[m.Absence] = []
    if items:
        with ctx.session() as session:
            away = absences_of(session, items[0].inspection_id)
    for item in items:
        if item.outcome is not None:
            statuses.append(_status(item, "", due, now))
            continue
        owner = step_owner(ctx, item)
        if item.waits_for is not None:  # nobody is asked until its gate opens (a pass after that asks)
            statuses.append(_status(item, owner, due, now))
            continue
        deadline = due[item.deadlines[item.step]]
        absence = covering(away, owner, now) if staff[owner].deputy_key else None
        chain = _chain(owner, staff, away=absence is not None)
        started = item.step_started_at
        # A new owner (a handover) or a deputy covering an absence is asked afresh, under keys of their own.
        prefix = f"{item.inspection_id}:{item.phase}:{item.ref}:{item.step}:r{item.round}:"
        prefix += f"h{item.handovers}:" if item.handovers else ""
        if absence is not None:
            started = max(started, absence.from_at, absence.recorded_at)
            prefix += f"away{absence.id}:"
        change = next_change(away, owner, now)
        if change is not None:
            wake_times.append(change)
        plan = chase_plan(chain, started, deadline, chasing=chasing, calendar=ctx.calendar)
        if not step_spec(item.step).chased:
            plan = plan[:1]  # asked once: nobody is reminded or escalated to
        for chase in plan:
            if chase.due_at > now:
                wake_times.append(chase.due_at)
                continue
            with mail.guard(prefix + chase.kind):
                late_answers = step_spec(item.step).late_answers_for
                grace = max(token_grace, late_answers) if late_answers else token_grace
                sent += _send_chase(ctx, item, chase, staff=staff, key=prefix + chase.kind, deadline=deadline,
                                    expires_at=max(deadline, now) + grace, now=now)
        statuses.append(_status(item, chain.owner, due, now))
    return sent, statuses


class MailFailures:
    """Collect the emails a pass could not send, so one bad address or a down server stops nothing else."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.retry = False

    @contextmanager
    def guard(self, key: str) -> Iterator[None]:
        """Run one send; on a mail failure, note it and carry on with the next."""
        try:
            yield
        except MailTransportError as exc:
            self.failures.append(f"{key}: {exc}")
            self.retry = self.retry or exc.retryable
            log.error("email %s not sent (%s): %s", key, "will retry" if exc.retryable else "refused", exc)

    def summary(self, retry_at: datetime | None) -> str:
        """Say how many emails failed and when they are tried again."""
        when = f"; trying again at {to_london(retry_at):%H:%M}" if self.retry and retry_at else ""
        return f"MAIL PROBLEM: {len(self.failures)} email(s) not sent{when} (see the logs)."


def is_late(item: m.RegisterItem, due: dict[str, datetime], now: datetime) -> bool:
    """Say whether the item's open step is past its deadline."""
    return item.outcome is None and now >= due[item.deadlines[item.step]]


def _status(item: m.RegisterItem, owner: str, due: dict[str, datetime], now: datetime) -> ItemStatus:
    deadline = due[item.deadlines[item.step]]
    return ItemStatus(
        ref=item.ref,
        title=item.title,
        group=item.group_name,
        step="done" if item.outcome else item.step,
        round=item.round,
        owner=owner,
        due_at=_fmt(deadline),
        late=is_late(item, due, now),
        outcome=item.outcome,
        waits_for=item.waits_for if item.outcome is None else None,
    )


def shown_as(staff: dict[str, m.Person], key: str, *, role: bool = False) -> str:
    """Return how operators are told who someone is: their name (or role) if partnership.yaml has them, else their key.

    Someone named during the inspection (a practitioner, a setting lead, a representative) is kept in our database
    only: what operators read goes to Prefect, so it names them by key.
    """
    person = staff.get(key)
    if person is None or person.origin != "partnership":
        return key
    return person.role if role else person.name


def waiting_reason(phase: str, statuses: list[ItemStatus], staff: dict[str, m.Person]) -> str:
    """Say which items the phase waits for, whose answer and by when (the first six)."""
    waiting = [s for s in statuses if s.outcome is None]
    if not waiting:
        return f"{phase_label(phase)}: all {len(statuses)} items uploaded or explained"
    parts = [
        f"{s.ref} waits for {gate_spec(s.waits_for).label}, due {s.due_at}{' LATE' if s.late else ''}" if s.waits_for
        else f"{s.ref} {step_label(s.step)} ({shown_as(staff, s.owner)}) due {s.due_at}{' LATE' if s.late else ''}"
        for s in waiting[:6]
    ]
    more = f"; and {len(waiting) - 6} more" if len(waiting) > 6 else ""
    return f"Waiting for {len(waiting)} of {len(statuses)} items: " + "; ".join(parts) + more


def _send_chase(
    ctx: EngineContext,
    item: m.RegisterItem,
    chase: Chase,
    *,
    staff: dict[str, m.Person],
    key: str,
    deadline: datetime,
    expires_at: datetime,
    now: datetime,
) -> int:
    person = staff[chase.person_key]

    def build():  # noqa: ANN202 - called only after the ledger claimed the key
        with ctx.session() as session:
            raw = mint_token(
                session,
                item.inspection_id,
                person.person_key,
                item_id=item.id,
                step=item.step,
                round_no=item.round,
                now=now,
                expires_at=expires_at,
            )
            comment = None
            if item.round > 1 and item.step == "submit":
                comment = session.scalar(
                    select(m.Decision.comment)
                    .where(m.Decision.item_id == item.id, m.Decision.round == item.round - 1,
                           m.Decision.outcome == "returned")
                )
            session.commit()
        return action_message(ctx, item, chase=chase, person=person, staff=staff, key=key, token=raw,
                              deadline=deadline, returned_comment=comment)

    return int(ctx.ledger.send_once(key, build, inspection_id=item.inspection_id, template=f"action-{chase.kind}",
                                    now=now, due_at=chase.due_at))


def _phase_email(
    ctx: EngineContext, inspection_id: str, phase: str, kind: str, statuses: list[ItemStatus], now: datetime
) -> int:
    key = f"{inspection_id}:{phase}:{kind}"
    return int(ctx.ledger.send_once(
        key,
        lambda: phase_message(ctx, inspection_id, phase=phase, kind=kind, statuses=statuses, key=key),
        inspection_id=inspection_id,
        template=kind,
        now=now,
    ))
