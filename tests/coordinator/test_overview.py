"""The dashboard's reading of an inspection: phases, what is late and whom to chase, today's deadlines, the picture."""

from __future__ import annotations

from datetime import timedelta

from send_inspection.clock import VirtualClock
from send_inspection.coordinator.overview import inspection_overview, inspection_rows
from send_inspection.coordinator.picture import lay_out
from send_inspection.db import models as m
from send_inspection.engine.absences import record_absence
from send_inspection.engine.context import EngineContext
from tests.conftest import NOTIFIED


def test_at_the_start_today_holds_the_day_one_deadline_and_nothing_is_late(
        ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """On day 1 at 09:00 the 17:00 deadlines are today: the day-2 evidence with 7 open steps (the health template is
    due on day 2), and the set-up call (its task is asked once the phase before the inspectors arrive runs)."""
    iid, _ = started
    overview = inspection_overview(ctx, iid)
    assert overview is not None and overview.late == []
    assert [(d.label, d.open_steps) for d in overview.today] == [("Day-2 evidence to accountable leads", 7),
                                                                  ("Set-up call, lead inspector and LANO", 0)]
    assert [(p.label, p.open_items, p.late_items) for p in overview.phases if p.phase == "day2"] == [
        ("Annex A day 2", 8, 0)]
    assert [(r.id, r.open_phases) for r in inspection_rows(ctx)] == [(iid, 2)]
    assert inspection_overview(ctx, "no-such-inspection") is None


def test_after_the_deadline_the_late_steps_name_whom_to_chase(ctx: EngineContext, clock: VirtualClock,
                                                              started: tuple[str, m.RegisterItem]) -> None:
    """Past 17:00 the day-1 submits are late: the person asked, their email and who stands behind them;
    for someone away, their deputy is the one to chase."""
    iid, _ = started
    record_absence(ctx, iid, "hos-data", from_at=NOTIFIED, until_at=NOTIFIED + timedelta(days=2),
                   recorded_by="inspection-coordinator")
    clock.set(NOTIFIED + timedelta(hours=8, minutes=5))
    overview = inspection_overview(ctx, iid)
    late = {x.ref: x for x in overview.late}
    assert len(late) == 7  # the health template is due on day 2
    assert (late["1.1"].asked_name, late["1.1"].asked_email, late["1.1"].backup_name) == (
        "Owen Garside", "owen.garside@demo-county.example", "Leah Marchetti")
    assert (late["1.2"].asked_name, late["1.2"].owner_away) == ("Owen Garside", True)  # Ben Hollinshead is away

    picture = lay_out(overview)
    lanes = {lane.label: lane for lane in picture.lanes}
    assert (lanes["Annex A day 2"].state, lanes["Annex A day 2"].words) == ("late", "7 late")
    assert lanes["Fieldwork"].state == "not started"
    assert [w.label for w in picture.weeks][:3] == ["Week 1", "Week 2", "Week 3"]
    assert picture.today_x is not None and picture.chart_left < picture.today_x < picture.chart_right
    assert picture.marks[0].label == "Initial Annex A evidence to the inspectors" and not picture.marks[0].passed
    assert picture.summary.startswith("The inspection from the call on Mon 26 Jun 2023 to the final report expected")
    assert "Annex A day 2: 7 late" in picture.summary
