"""When an email may go: not in the quiet hours, nor on a non-working day, unless it is urgent or cannot wait.

The rule is the partnership's (timeline.yaml, `chasing.quiet_hours`, with its reason). Every email the engine
sends waits for the quiet hours to end, except:
  - the kinds listed as `urgent` (a red debrief: the partnership wants its director told at once), and
  - an ask whose deadline falls before the quiet hours end: waiting would make it impossible to meet. An ask
    whose deadline has already passed waits like any other email: nobody can answer it sooner at night.
Deadlines never move. The mail ledger asks `SendWindow.may_send_at` before every email (`MailLedger.send_once`
raises MailDeferred), and the pass that tried to send it notes it (`MailFailures.guard`) and wakes its phase when it
may go (`pass_result`). The chasing schedule, the survey batches' plan and Outlook meeting requests ask the same
rule, so nothing is planned for a time the ledger would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from send_inspection.calendar import WorkingCalendar, london_time, to_london
from send_inspection.config.models import QuietHours, parse_clock_time


def quiet_until(moment: datetime, *, rules: QuietHours, calendar: WorkingCalendar) -> datetime:
    """Return `moment`, or the end of the quiet hours (or non-working days) it falls in, in London wall time."""
    start, end = parse_clock_time(rules.start), parse_clock_time(rules.end)
    local = to_london(moment)
    day, clock = local.date(), local.time()
    candidate = local
    if start > end:  # overnight, e.g. 19:00 to 07:30
        if clock < end:
            candidate = london_time(day, end)
        elif clock >= start:
            candidate = london_time(day + timedelta(days=1), end)
    elif start < end and start <= clock < end:  # within one day
        candidate = london_time(day, end)
    # start == end: no quiet hours in the day
    if rules.non_working_days:
        cday = to_london(candidate).date()
        if not calendar.is_working_day(cday):
            candidate = london_time(calendar.next_working_day(cday), end)
    return candidate


@dataclass(frozen=True)
class SendWindow:
    """The partnership's quiet hours and urgent kinds, on its working calendar."""

    rules: QuietHours
    calendar: WorkingCalendar

    def may_send_at(self, kind: str, now: datetime, deadline: datetime | None = None) -> datetime:
        """Return when an email of `kind` (its ledger template) due `now` may go: `now`, or when quiet hours end.

        `deadline` is the deadline an ask asks to meet (None for any other email).
        """
        if kind in self.rules.urgent:
            return now
        allowed = quiet_until(now, rules=self.rules, calendar=self.calendar)
        if deadline is not None and now <= deadline < allowed:
            return now
        return allowed
