"""The quiet-hours rule: when an email may go."""

from __future__ import annotations

from datetime import datetime

from send_inspection.calendar import LONDON, WorkingCalendar
from send_inspection.config.models import QuietHours
from send_inspection.engine.send_window import SendWindow, quiet_until

CAL = WorkingCalendar()
WINDOW = SendWindow(QuietHours(urgent=["debrief_red"]), CAL)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Return a Europe/London time in 2023."""
    return datetime(2023, month, day, hour, minute, tzinfo=LONDON)


def test_weekend_is_quiet() -> None:
    """An email falling on Saturday waits for Monday 07:30."""
    assert quiet_until(at(7, 1, 10), rules=QuietHours(), calendar=CAL) == at(7, 3, 7, 30)


def test_bank_holiday_is_quiet() -> None:
    """An email on the late-August bank holiday waits for Tuesday 07:30."""
    assert quiet_until(at(8, 28, 10), rules=QuietHours(), calendar=CAL) == at(8, 29, 7, 30)


def test_every_kind_of_email_waits_for_the_quiet_hours_to_end() -> None:
    """A notice, a phase's completion, a bulletin or an ask due tomorrow, due at 19:55, goes at 07:30 the next day."""
    for kind in ("request_received", "phase_complete", "staff_bulletin", "kit_summary", "survey", "action-ask"):
        assert WINDOW.may_send_at(kind, at(11, 13, 19, 55), at(11, 16, 17)) == at(11, 14, 7, 30), kind
    assert WINDOW.may_send_at("notification", at(11, 17, 23, 10)) == at(11, 20, 7, 30)  # Friday night: Monday
    assert WINDOW.may_send_at("notification", at(11, 13, 9)) == at(11, 13, 9)  # the working day: at once


def test_an_urgent_kind_goes_at_once() -> None:
    """A red debrief at 21:00 or on a Sunday is not held: the partnership marks it urgent."""
    assert WINDOW.may_send_at("debrief_red", at(11, 29, 21)) == at(11, 29, 21)
    assert WINDOW.may_send_at("debrief_red", at(12, 3, 10)) == at(12, 3, 10)


def test_an_ask_whose_deadline_falls_before_the_quiet_hours_end_goes_at_once() -> None:
    """Due at 22:00 or 07:00, it could not be met if it waited; already past, it waits like any other email."""
    assert WINDOW.may_send_at("action-ask", at(11, 13, 20), at(11, 13, 22)) == at(11, 13, 20)
    assert WINDOW.may_send_at("action-ask", at(11, 13, 20), at(11, 14, 7)) == at(11, 13, 20)
    assert WINDOW.may_send_at("action-ask", at(11, 13, 20), at(11, 14, 7, 30)) == at(11, 14, 7, 30)
    assert WINDOW.may_send_at("action-ask", at(11, 13, 20), at(11, 13, 17)) == at(11, 14, 7, 30)
    assert WINDOW.may_send_at("request_received", at(11, 13, 20), None) == at(11, 14, 7, 30)


def test_quiet_hours_within_a_day_or_none() -> None:
    """Quiet from 12:00 to 13:00 holds 12:30 until 13:00 only; equal start and end (no days off) hold nothing."""
    lunch = QuietHours(start="12:00", end="13:00", non_working_days=False)
    assert quiet_until(at(11, 13, 12, 30), rules=lunch, calendar=CAL) == at(11, 13, 13)
    assert quiet_until(at(11, 13, 20), rules=lunch, calendar=CAL) == at(11, 13, 20)
    never = QuietHours(start="00:00", end="00:00", non_working_days=False)
    assert quiet_until(at(11, 18, 23, 59), rules=never, calendar=CAL) == at(11, 18, 23, 59)  # a Saturday night
