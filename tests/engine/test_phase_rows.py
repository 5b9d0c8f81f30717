"""Phase rows: a phase that may start later is not due before its time, and waiting phases wake on time or news."""

from __future__ import annotations

from datetime import timedelta

from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.phase_rows import begin_wait, due_phases, ensure_phase
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


def test_a_heartbeat_renews_only_the_unfinished_phases_its_run_carries(ctx: EngineContext) -> None:
    """A beat stamps the rows carried by that flow run and not done; others keep their stamp."""
    from send_inspection.engine.phase_rows import beat, finish_phase, get_phase, record_flow_run

    iid = open_inspection(ctx, NOTIFIED, mode="live")
    for phase, run in (("day2", "run-a"), ("day5", "run-b"), ("bulletin", "run-a")):
        ensure_phase(ctx, iid, phase)
        record_flow_run(ctx, iid, phase, run)
    finish_phase(ctx, iid, "bulletin", reason="done")
    assert beat(ctx, "run-a") == 1
    assert get_phase(ctx, iid, "day2").heartbeat_at == ctx.clock.now()  # type: ignore[union-attr]
    assert get_phase(ctx, iid, "day5").heartbeat_at is None  # type: ignore[union-attr]
    assert get_phase(ctx, iid, "bulletin").heartbeat_at is None  # type: ignore[union-attr]


def test_a_run_replaced_by_a_fresh_one_is_told_so_and_changes_nothing(ctx: EngineContext) -> None:
    """Waiting from a run the phase no longer points at is refused as superseded; the phase's own run waits."""
    from send_inspection.engine.phase_rows import get_phase, record_flow_run

    iid = open_inspection(ctx, NOTIFIED, mode="live")
    ensure_phase(ctx, iid, "day2")
    record_flow_run(ctx, iid, "day2", "fresh-run")
    old = begin_wait(ctx, iid, "day2", reason="old", next_wake_at=None, flow_run_id="dead-run")
    assert (old.superseded, old.go_again) == (True, False)
    row = get_phase(ctx, iid, "day2")
    assert row is not None and (row.flow_run_id, row.status, row.wake_seq) == ("fresh-run", "launched", 0)
    own = begin_wait(ctx, iid, "day2", reason="mine", next_wake_at=None, flow_run_id="fresh-run")
    assert (own.key, own.superseded) == ("wake-1", False)
