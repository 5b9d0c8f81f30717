"""When to ask, remind and escalate for one step: a pure schedule, respecting quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from send_inspection.calendar import WorkingCalendar, london_time, to_london
from send_inspection.config.models import Chasing, parse_clock_time


@dataclass(frozen=True)
class Chase:
    """One email the schedule calls for: its kind, when it is due and to whom."""

    kind: str
    due_at: datetime
    person_key: str


@dataclass(frozen=True)
class Chain:
    """Who is responsible for a step, and who stands behind them."""

    owner: str
    deputy: str | None
    escalation: tuple[str, ...]


def next_allowed(moment: datetime, *, chasing: Chasing, calendar: WorkingCalendar) -> datetime:
    """Return `moment`, or the end of the quiet hours it falls in (Europe/London wall time)."""
    quiet = chasing.quiet_hours
    start, end = parse_clock_time(quiet.start), parse_clock_time(quiet.end)
    local = to_london(moment)
    day, clock = local.date(), local.time()
    if clock < end:
        candidate = london_time(day, end)
    elif clock >= start:
        candidate = london_time(day + timedelta(days=1), end)
    else:
        candidate = local
    if quiet.non_working_days:
        cday = to_london(candidate).date()
        if not calendar.is_working_day(cday):
            candidate = london_time(calendar.next_working_day(cday), end)
    return candidate


def chase_plan(
    chain: Chain,
    started_at: datetime,
    deadline: datetime,
    *,
    chasing: Chasing,
    calendar: WorkingCalendar,
) -> list[Chase]:
    """Return the ask, the reminders and the escalations for a step that started at `started_at`."""
    plan = [Chase("ask", started_at, chain.owner)]
    for before in chasing.reminders_before:
        due = deadline - before
        if due <= started_at:
            continue
        due = next_allowed(due, chasing=chasing, calendar=calendar)
        if due < deadline:
            plan.append(Chase(f"remind-{before.text}", due, chain.owner))
    up_gap = chasing.escalate_up_after
    # A step that only began after its deadline gets one gap of grace before anyone is escalated to.
    late_base = max(deadline, started_at + up_gap) if started_at >= deadline else deadline
    if chain.deputy and chain.deputy != chain.owner:
        due = late_base + chasing.escalate_to_deputy_after
        plan.append(Chase("escalate-deputy", next_allowed(due, chasing=chasing, calendar=calendar), chain.deputy))
    for level, person in enumerate(chain.escalation, start=1):
        due = late_base + up_gap * level
        plan.append(Chase(f"escalate-up-{level}", next_allowed(due, chasing=chasing, calendar=calendar), person))
    return plan
