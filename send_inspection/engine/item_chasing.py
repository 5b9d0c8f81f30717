"""Chase a phase's open items: each ask, reminder and escalation due, sent once with the person's own link."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from send_inspection.calendar import to_london
from send_inspection.catalogue.gates import gate_spec
from send_inspection.catalogue.phases import phase_label
from send_inspection.catalogue.steps import step_label, step_spec
from send_inspection.db import models as m
from send_inspection.engine.absences import absences_of, covering, next_change
from send_inspection.engine.chasing import Chain, Chase, chase_plan
from send_inspection.engine.context import EngineContext
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.outgoing import action_message, item_label
from send_inspection.engine.owners import step_owner
from send_inspection.tokens import mint_token

log = logging.getLogger(__name__)


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
    # The owner as people and operators read it: a name from partnership.yaml, else their key (`shown_as`).
    owner_name: str = ""

    @property
    def label(self) -> str:
        """Return the item as people read it ("1.3 Self-evaluation"; a title alone where the ref is the engine's)."""
        return item_label(self.ref, self.title)


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
    token_grace = ctx.config.timeline.token_valid_after_deadline
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
        statuses.append(_status(item, chain.owner, due, now,
                                owner_name=shown_as(staff, chain.owner)))
    return sent, statuses


def is_late(item: m.RegisterItem, due: dict[str, datetime], now: datetime) -> bool:
    """Say whether the item's open step is past its deadline."""
    return item.outcome is None and now >= due[item.deadlines[item.step]]


def _status(item: m.RegisterItem, owner: str, due: dict[str, datetime], now: datetime, *,
            owner_name: str = "") -> ItemStatus:
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
        owner_name=owner_name,
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

    # The ask carries the step's deadline: one that falls in the quiet hours cannot wait for them to end.
    return int(ctx.ledger.send_once(key, build, inspection_id=item.inspection_id, template=chase.email_kind,
                                    now=now, due_at=chase.due_at, deadline=deadline if chase.kind == "ask" else None))
