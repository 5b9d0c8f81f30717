"""Phase rows: a phase that may start later is not due before its time, and waiting phases wake on time or news."""

from __future__ import annotations

from datetime import timedelta

from send_inspection.engine.context import EngineContext
from send_inspection.engine.phases import begin_wait, due_phases, ensure_phase
from send_inspection.engine.setup import open_inspection
from tests.conftest import NOTIFIED


def test_a_pending_phase_with_a_start_time_is_due_only_from_then(ctx: EngineContext) -> None:
    """Day 5, created to start at the day-2 deadline, is not due before it and is due from it."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    start = NOTIFIED + timedelta(days=1, hours=3)
    assert ensure_phase(ctx, iid, "day5", not_before=start) is True
    assert ensure_phase(ctx, iid, "day5") is False
    due = {r.phase for r in due_phases(ctx, now=NOTIFIED)}
    assert "day5" not in due and "notification" in due
    assert "day5" in {r.phase for r in due_phases(ctx, now=start)}


def test_a_waiting_phase_is_due_at_its_time_or_on_news(ctx: EngineContext) -> None:
    """A waiting phase is due when its wake time comes or as soon as its change counter moves."""
    from send_inspection.db import models as m

    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "day2")
    wake = NOTIFIED + timedelta(hours=5)
    ticket = begin_wait(ctx, iid, "day2", reason="waiting", next_wake_at=wake, flow_run_id=None)
    assert (ticket.key, ticket.go_again) == ("wake-1", False)
    assert "day2" not in {r.phase for r in due_phases(ctx, now=NOTIFIED)}
    assert "day2" in {r.phase for r in due_phases(ctx, now=wake)}
    with ctx.session() as session:
        run = session.query(m.PhaseRun).filter_by(inspection_id=iid, phase="day2").one()
        run.changes += 1
        session.commit()
    assert "day2" in {r.phase for r in due_phases(ctx, now=NOTIFIED)}
    assert begin_wait(ctx, iid, "day2", reason="waiting", next_wake_at=wake, flow_run_id=None).go_again is True
