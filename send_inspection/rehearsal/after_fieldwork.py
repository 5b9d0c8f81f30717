"""Rehearse the weeks after fieldwork on a virtual clock, once per outcome: feedback to the published report.

The demo inspection is notified on Monday 13 November 2023, so its feedback meeting is on Friday 1 December and
the 10 working days for the response to a draft received on Monday 18 December run over Christmas, Boxing Day
and New Year's Day: the response is due on Thursday 4 January 2024. The final report arrives on Monday 15
January; each partner publishes it, the forum gets a copy, and the strategic plan is updated. Outcome 3 adds the
priority action plan for the two areas the inspectors named; so does a monitoring inspection's "ineffective
action" (its outcome 2).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from send_inspection.calendar import LONDON
from send_inspection.catalogue.phases import NOTIFICATION
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.phase_rows import finish_phase
from send_inspection.rehearsal.driver import RehearsalReport, World, rehearsal_context, report_of, run_world
from send_inspection.report.feedback import PriorityAction, record_feedback

NOTIFIED = datetime(2023, 11, 13, 9, 0, tzinfo=LONDON)
FEEDBACK_RECORDED = datetime(2023, 12, 1, 16, 0, tzinfo=LONDON)
DRAFT_ARRIVES = datetime(2023, 12, 18, 10, 0, tzinfo=LONDON)
FINAL_ARRIVES = datetime(2024, 1, 15, 10, 0, tzinfo=LONDON)
PRIORITY_ACTIONS = (PriorityAction(area="Timeliness and quality of EHC plans", partners=("council",)),
                    PriorityAction(area="Waiting times for neurodevelopmental assessment", partners=("icb", "council")))


# When the scripted LANO receives each report from the inspectorate (by register item ref).
REPORT_ARRIVALS = {"draft-report": DRAFT_ARRIVES, "final-report": FINAL_ARRIVES}


def record_demo_feedback(ctx: EngineContext, iid: str, *, outcome: int, kind: str = "full") -> int:
    """Record the inspectors' feedback as the coordinator would, with priority actions for the worst outcome."""
    worst = 2 if kind == "monitoring" else 3
    record_feedback(ctx, iid, outcome, effective="Leaders know the area's strengths and weaknesses well.",
                    improve="The timeliness of EHC plans and waiting times for assessment.",
                    priority_actions=list(PRIORITY_ACTIONS) if outcome == worst else [],
                    recorded_by=ctx.config.partnership.roles.coordinator)
    return 1


def rehearse_after_fieldwork(workdir: Path, *, outcome: int, kind: str = "full") -> RehearsalReport:
    """Run feedback → response → final report → publication (and any action plan); report it."""
    ctx, staff = rehearsal_context(workdir, notified_at=NOTIFIED)
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal", kind=kind)
    finish_phase(ctx, iid, NOTIFICATION.key, reason="not rehearsed here")
    ctx.clock.set(FEEDBACK_RECORDED)  # type: ignore[attr-defined]
    record_demo_feedback(ctx, iid, outcome=outcome, kind=kind)
    staff.arrivals = dict(REPORT_ARRIVALS)
    world = World(ctx=ctx, staff=staff, inspection_id=iid, links_at=FEEDBACK_RECORDED,
                  end=FINAL_ARRIVES + timedelta(days=2), links_given=True)
    run_world(world, notified_at=NOTIFIED, start_with_notification=False)
    return report_of(ctx, iid, staff)
