"""When to ask, remind and escalate for one step: a pure schedule, respecting the quiet hours (send_window)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from send_inspection.calendar import WorkingCalendar
from send_inspection.config.models import Chasing
from send_inspection.engine.send_window import SendWindow


def email_kind(kind: str) -> str:
    """Return the kind of email a chase is, as the ledger and the quiet-hours rule name it: 'action-<kind>'."""
    return f"action-{kind}"


@dataclass(frozen=True)
class Chase:
    """One email the schedule calls for: its kind, when it is due and to whom."""

    kind: str
    due_at: datetime
    person_key: str

    @property
    def email_kind(self) -> str:
        """Return the kind of email this is, as the ledger names it."""
        return email_kind(self.kind)


@dataclass(frozen=True)
class Chain:
    """Who is responsible for a step, and who stands behind them."""

    owner: str
    deputy: str | None
    escalation: tuple[str, ...]


def chase_plan(
    chain: Chain,
    started_at: datetime,
    deadline: datetime,
    *,
    chasing: Chasing,
    calendar: WorkingCalendar,
) -> list[Chase]:
    """Return the ask, the reminders and the escalations for a step that started at `started_at`.

    Each is timed by the quiet-hours rule (send_window): an ask held back by the quiet hours goes when they end,
    and a reminder goes only after the ask and before the deadline.
    """
    window = SendWindow(chasing.quiet_hours, calendar)

    def allowed(kind: str, due: datetime) -> datetime:
        return window.may_send_at(email_kind(kind), due)

    asked_at = window.may_send_at(email_kind("ask"), started_at, deadline)
    plan = [Chase("ask", asked_at, chain.owner)]
    for before in chasing.reminders_before:
        due = deadline - before
        if due <= asked_at:
            continue
        due = allowed(f"remind-{before.text}", due)
        if due < deadline:
            plan.append(Chase(f"remind-{before.text}", due, chain.owner))
    up_gap = chasing.escalate_up_after
    # A step that only began after its deadline gets one gap of grace before anyone is escalated to.
    late_base = max(deadline, started_at + up_gap) if started_at >= deadline else deadline
    if chain.deputy and chain.deputy != chain.owner:
        due = late_base + chasing.escalate_to_deputy_after
        plan.append(Chase("escalate-deputy", allowed("escalate-deputy", due), chain.deputy))
    for level, person in enumerate(chain.escalation, start=1):
        due = late_base + up_gap * level
        plan.append(Chase(f"escalate-up-{level}", allowed(f"escalate-up-{level}", due), person))
    return plan
