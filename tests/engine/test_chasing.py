"""Tests for the ask/remind/escalate schedule and quiet hours."""

from __future__ import annotations

from datetime import datetime

from send_inspection.calendar import LONDON, WorkingCalendar
from send_inspection.config.models import Chasing
from send_inspection.engine.chasing import Chain, chase_plan, next_allowed

CAL = WorkingCalendar()
RULES = Chasing()


def at(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    """Return a Europe/London time in June 2023."""
    return datetime(2023, month, day, hour, minute, tzinfo=LONDON)


def plan_times(plan: list) -> list[tuple[str, str, str]]:
    """Return (kind, London time, person) for a plan, for readable asserts."""
    return [(c.kind, c.due_at.astimezone(LONDON).strftime("%a %H:%M"), c.person_key) for c in plan]


def test_day_one_evidence_lead_schedule() -> None:
    """An ask at 09:00 due 17:00 gets reminders at 14:00 and 16:00, the deputy at 17:00 and managers after."""
    chain = Chain(owner="lead", deputy="deputy", escalation=("head", "director"))
    plan = chase_plan(chain, at(26, 9), at(26, 17), chasing=RULES, calendar=CAL)
    assert plan_times(plan) == [
        ("ask", "Mon 09:00", "lead"),
        ("remind-3h", "Mon 14:00", "lead"),
        ("remind-1h", "Mon 16:00", "lead"),
        ("escalate-deputy", "Mon 17:00", "deputy"),
        ("escalate-up-1", "Mon 18:00", "head"),
        # 19:00 is quiet: the next person up hears at 07:30 the next working day.
        ("escalate-up-2", "Tue 07:30", "director"),
    ]


def test_reminder_in_quiet_hours_moves_to_morning() -> None:
    """A reminder due at 06:00 before a 09:00 deadline is sent at 07:30 instead."""
    chain = Chain(owner="icb", deputy=None, escalation=())
    plan = chase_plan(chain, at(26, 9), at(27, 9), chasing=RULES, calendar=CAL)
    assert plan_times(plan) == [("ask", "Mon 09:00", "icb"), ("remind-3h", "Tue 07:30", "icb"),
                                ("remind-1h", "Tue 08:00", "icb")]


def test_step_started_after_deadline_gets_grace() -> None:
    """A step entered after its deadline gets no reminders and escalates only after one gap of grace."""
    chain = Chain(owner="dir", deputy="dep", escalation=("dcs",))
    plan = chase_plan(chain, at(27, 11, 30), at(27, 11), chasing=RULES, calendar=CAL)
    assert plan_times(plan) == [("ask", "Tue 11:30", "dir"), ("escalate-deputy", "Tue 12:30", "dep"),
                                ("escalate-up-1", "Tue 13:30", "dcs")]


def test_weekend_is_quiet() -> None:
    """An escalation falling on Saturday waits for Monday 07:30."""
    moment = datetime(2023, 7, 1, 10, 0, tzinfo=LONDON)
    assert next_allowed(moment, chasing=RULES, calendar=CAL) == datetime(2023, 7, 3, 7, 30, tzinfo=LONDON)


def test_bank_holiday_is_quiet() -> None:
    """An escalation on the late-August bank holiday waits for Tuesday 07:30."""
    moment = datetime(2023, 8, 28, 10, 0, tzinfo=LONDON)
    assert next_allowed(moment, chasing=RULES, calendar=CAL) == datetime(2023, 8, 29, 7, 30, tzinfo=LONDON)
