"""Tests for the ask/remind/escalate schedule and quiet hours."""

from __future__ import annotations

from datetime import datetime

from send_inspection.calendar import LONDON, WorkingCalendar
from send_inspection.config.models import Chasing
from send_inspection.engine.chasing import Chain, chase_plan

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


def test_an_ask_held_by_the_quiet_hours_goes_when_they_end_and_the_reminders_after_it() -> None:
    """A step started at 19:55 for 10:00 the next day is asked at 07:30, with no reminder at the same time."""
    chain = Chain(owner="lead", deputy=None, escalation=())
    plan = chase_plan(chain, at(26, 19, 55), at(27, 10), chasing=RULES, calendar=CAL)
    assert plan_times(plan) == [("ask", "Tue 07:30", "lead"), ("remind-1h", "Tue 09:00", "lead")]


def test_an_ask_whose_deadline_falls_in_the_quiet_hours_goes_at_once() -> None:
    """A step started at 19:30 and due at 20:30 cannot wait for the morning: it is asked at once."""
    chain = Chain(owner="lead", deputy=None, escalation=())
    plan = chase_plan(chain, at(26, 19, 30), at(26, 20, 30), chasing=RULES, calendar=CAL)
    assert plan_times(plan)[0] == ("ask", "Mon 19:30", "lead")


def test_an_escalation_the_partnership_marks_urgent_is_not_held() -> None:
    """With escalations to the deputy marked urgent, one due at 19:00 goes at 19:00; the next level still waits."""
    rules = RULES.model_copy(update={"quiet_hours": RULES.quiet_hours.model_copy(
        update={"urgent": ["action-escalate-deputy"]})})
    chain = Chain(owner="lead", deputy="deputy", escalation=("head",))
    plan = chase_plan(chain, at(26, 9), at(26, 19), chasing=rules, calendar=CAL)
    assert plan_times(plan)[-2:] == [("escalate-deputy", "Mon 19:00", "deputy"), ("escalate-up-1", "Tue 07:30", "head")]
