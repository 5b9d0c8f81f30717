"""Rehearse a whole inspection on a virtual clock: the notification call to the published report.

The demo inspection is notified on Monday 13 November 2023 at 09:00. Every phase runs on the real flows, started
the way the product starts them: day 1 (notification lists, the core group, the surveys once the coordinator
gives the links an hour later; the forum cascades the family survey and families are reminded the Friday before it
closes), Annex A day 2 and day 5 (30 register items), the six children the inspectors choose to track on day 2 (one
family declines), the staff bulletin three times a week, the days before the inspectors arrive (the set-up call,
the logistics tasks, one of them late and escalated, the opening meeting's headlines, presentation and Appendix H
list, the forum's views on the self-evaluation), the forum's meeting with the inspectors on the Wednesday of week 2
(on the timetable they send that Monday), fieldwork in the week of 27 November (the inspectors' timetable of 40
meetings arrives the Friday before and one slot moves on Tuesday;
8 requests are made in meetings and 2 more are asked for in debriefs; one debrief is red), the feedback meeting
on Friday 1 December, the draft report on Monday 18 December with its response due over Christmas, the final
report on Monday 15 January, its publication, and the outcome's follow-up.

The cast is the demo's: most answer in 45 minutes; one head of service is absent throughout (her deputy is
escalated to), one is slow, one is late every time, a director returns a self-evaluation once, a practitioner
named for a tracked case answers a day after each ask, one head of service explains every request instead of
sending a document, and the facilities officer leaves the inspectors' parking to his deputy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from send_inspection.calendar import london_time, to_london
from send_inspection.catalogue.phases import ONSITE
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.setup import inspection_id_for, milestones
from send_inspection.fieldwork.store import save_timetable
from send_inspection.rehearsal.after_fieldwork import FINAL_ARRIVES, NOTIFIED, REPORT_ARRIVALS, record_demo_feedback
from send_inspection.rehearsal.driver import RehearsalReport, World, rehearsal_context, report_of, run_world
from send_inspection.rehearsal.fieldwork import DOCUMENT_SLOTS, RED_SLOT, fieldwork_events, week3_timetable
from send_inspection.rehearsal.forum import forum_meeting
from send_inspection.rehearsal.scenarios import demo_behaviours
from send_inspection.rehearsal.staff import Behaviour
from send_inspection.timeline import compute_timeline

# The head of service who explains every additional request instead of sending a document.
EXPLAINS_REQUESTS = "hos-inclusion"


@dataclass(frozen=True)
class LateAnswer:
    """One answer given after its step's deadline: which item and step, by whom, how late."""

    ref: str
    step: str
    decided_by: str
    late_by: timedelta


@dataclass(frozen=True)
class TaskDone:
    """One task before the inspectors arrive: how it ended, who did it, and when against its deadline."""

    ref: str
    outcome: str
    decided_by: str
    done_at: datetime
    due_at: datetime
    escalated: bool

    def line(self) -> str:
        """Say the task's end in one golden line: reference, outcome, who, when, on time or how late, escalated."""
        late = self.done_at - self.due_at
        timing = f"late {int(late.total_seconds())}s" if late > timedelta(0) else "on time"
        return (f"onsite {self.ref} {self.outcome} {self.decided_by} {to_london(self.done_at):%m-%d %H:%M} {timing}"
                + (" escalated" if self.escalated else ""))


@dataclass(frozen=True)
class InspectionSummary:
    """What a whole-inspection rehearsal sent, decided and got late, in figures an operator can check."""

    emails_by_template: dict[str, int]
    answers_by_step: dict[str, int]
    register_items: dict[str, int]
    late_answers: list[LateAnswer]
    phases: dict[str, str]
    # Before the inspectors arrive: every task's end; the forum's meetings with the inspectors (slot, start).
    onsite: list[TaskDone] = field(default_factory=list)
    forum_meetings: list[tuple[str, datetime]] = field(default_factory=list)

    def describe(self) -> str:
        """Say the figures in a few lines."""
        def counts(values: dict[str, int]) -> str:
            return ", ".join(f"{k} {n}" for k, n in sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))

        open_phases = {p: s for p, s in self.phases.items() if s != "done"}
        lines = [
            f"Sent: {sum(self.emails_by_template.values())} emails ({counts(self.emails_by_template)})",
            f"Decided: {sum(self.answers_by_step.values())} answers ({counts(self.answers_by_step)})",
            f"Items: {sum(self.register_items.values())} ({counts(self.register_items)})",
            f"Late: {len(self.late_answers)} answers after their deadline"
            + "".join(f"\n  {a.ref} {a.step} by {a.decided_by}, {_hours(a.late_by)} late" for a in self.late_answers),
            f"Phases: {sum(s == 'done' for s in self.phases.values())} of {len(self.phases)} done"
            + (f"; still open: {', '.join(f'{p} ({s})' for p, s in sorted(open_phases.items()))}" if open_phases
               else ""),
            *self._before_arrival(),
        ]
        return "\n".join(lines)

    def _before_arrival(self) -> list[str]:
        """Say how the days before the inspectors arrived went: logistics, the opening meeting, the forum."""
        if not self.onsite:
            return []
        done = {t.ref: t for t in self.onsite}
        late = [t for t in self.onsite if t.done_at > t.due_at]
        heads = sum(r.startswith("headlines-") for r in done)
        attend = [t for t in self.onsite if t.ref.startswith("attend-")]
        lines = [f"Before the inspectors arrived: {len(done)} tasks done, the last "
                 f"{_at(max(t.done_at for t in self.onsite))}"
                 + "".join(f"\n  {t.ref} done by {t.decided_by} {_hours(t.done_at - t.due_at)} late"
                           + (", after escalation" if t.escalated else "") for t in late)]
        if "logistics-set-up-call" in done:
            lines.append(f"  logistics: {sum(r.startswith('logistics-') for r in done)} tasks, the set-up call "
                         f"{_at(done['logistics-set-up-call'].done_at)}")
        if "opening-presentation" in done:
            represented = sum(t.outcome == "representative" for t in attend)
            sent = f", sent to the lead inspector {_at(done['appendix-h'].done_at)}" if "appendix-h" in done else ""
            lines.append(f"  opening meeting: {heads} heads of service's headlines, the presentation "
                         f"{_at(done['opening-presentation'].done_at)}, Appendix H: {len(attend)} attendees "
                         f"({represented} represented){sent}")
        forum = [f"views on the self-evaluation {_at(done['forum-views'].done_at)}"] if "forum-views" in done else []
        forum += [f"met the inspectors {_at(at)}" for _, at in self.forum_meetings]
        if forum:
            lines.append("  parent carer forum: " + "; ".join(forum))
        return lines

    def golden_lines(self) -> list[str]:
        """Return the figures as sorted lines for the golden file: one count, late answer or phase a line."""
        late = sorted((a.ref, a.step, a.decided_by, int(a.late_by.total_seconds())) for a in self.late_answers)
        return [
            *(f"email {k} {n}" for k, n in sorted(self.emails_by_template.items())),
            *(f"answer {k} {n}" for k, n in sorted(self.answers_by_step.items())),
            *(f"items {k} {n}" for k, n in sorted(self.register_items.items())),
            *(f"late {ref} {step} {who} {seconds}s" for ref, step, who, seconds in late),
            *(f"phase {k} {v}" for k, v in sorted(self.phases.items())),
            *(t.line() for t in sorted(self.onsite, key=lambda t: t.ref)),
            *(f"forum-meeting {slot} {to_london(at):%m-%d %H:%M}" for slot, at in self.forum_meetings),
        ]


GOLDEN_HEADER = """\
# The whole-inspection rehearsal's summary (outcome 2): emails by template, answers by step, register items by
# phase, every answer given after its deadline (ref, step, who, seconds late) and each phase's end.
# tests/rehearsal/test_whole_inspection.py compares a fresh rehearsal with it. After a change of behaviour made on
# purpose, regenerate it and review the diff:
#   .venv/bin/send-inspection rehearse --whole 2 --write-golden tests/rehearsal/whole_inspection.golden
"""


def write_golden(summary: InspectionSummary, path: Path) -> None:
    """Write the summary's golden lines under their header to `path`."""
    path.write_text(GOLDEN_HEADER + "\n".join(summary.golden_lines()) + "\n")


def read_golden(path: Path) -> list[str]:
    """Return the golden lines of `path` (comments and blank lines left out)."""
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def _at(moment: datetime) -> str:
    return f"{to_london(moment):%a %d %b %H:%M}"


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def whole_behaviours() -> dict[str, Behaviour]:
    """Return the cast by person id: the demo's, plus the head of service who explains every request."""
    return {**demo_behaviours(),
            EXPLAINS_REQUESTS: Behaviour(explains=frozenset(f"request-{n}" for n in range(1, 30)))}


def rehearse_whole_inspection(workdir: Path, *, outcome: int = 2) -> tuple[RehearsalReport, InspectionSummary]:
    """Run notification → day 2 → day 5 → tracked cases → fieldwork → feedback → report → publication."""
    ctx, staff = rehearsal_context(workdir, notified_at=NOTIFIED, behaviours=whole_behaviours())
    staff.red_debriefs, staff.documents_in = {RED_SLOT}, dict(DOCUMENT_SLOTS)
    staff.arrivals = dict(REPORT_ARRIVALS)
    iid = inspection_id_for(ctx.config, NOTIFIED)
    world = World(ctx=ctx, staff=staff, inspection_id=iid, links_at=NOTIFIED + timedelta(hours=1),
                  end=FINAL_ARRIVES + timedelta(days=2), tracked_cases=6, declining_families=1)
    world.events = _events(ctx, iid, outcome=outcome)
    run_world(world, notified_at=NOTIFIED, start_with_notification=True)
    report = report_of(ctx, iid, staff)
    return report, summarise(ctx, report)


def _events(ctx: EngineContext, iid: str, *, outcome: int) -> list[tuple[datetime, Callable[[], int]]]:
    """Return the inspectors' part: the timetable, the week's requests and changes, the feedback."""
    # The inspection opens when the notification flow first runs: its milestones come from the same timeline.
    monday = to_london(compute_timeline(NOTIFIED, ctx.config.timeline.rules(), ctx.calendar)["onsite_start"]).date()
    forum = forum_meeting(monday)
    slots = [forum, *week3_timetable(monday)]

    def send_week2() -> int:
        save_timetable(ctx, iid, [forum])
        return 1

    def send_timetable() -> int:
        save_timetable(ctx, iid, slots)
        return 1

    feedback_at = london_time(monday + timedelta(days=4), time(16, 0))
    return [
        (london_time(monday - timedelta(days=7), time(12, 0)), send_week2),
        (london_time(monday - timedelta(days=3), time(12, 0)), send_timetable),
        *fieldwork_events(ctx, iid, monday=monday, slots=slots),
        (feedback_at, lambda: record_demo_feedback(ctx, iid, outcome=outcome)),
    ]


def summarise(ctx: EngineContext, report: RehearsalReport) -> InspectionSummary:
    """Count what the rehearsal sent and decided, and list every answer given after its deadline."""
    late: list[LateAnswer] = []
    items: Counter[str] = Counter()
    with ctx.session() as session:
        due = milestones(session, report.inspection_id)
        rows = session.execute(
            select(m.RegisterItem, m.Decision).join(m.Decision, m.Decision.item_id == m.RegisterItem.id)
            .where(m.RegisterItem.inspection_id == report.inspection_id).order_by(m.Decision.decided_at)
        ).all()
        for item in session.scalars(select(m.RegisterItem).where(m.RegisterItem.inspection_id == report.inspection_id)):
            items[item.phase.split(":", 1)[0]] += 1
    for item, decision in rows:
        deadline = due.get(item.deadlines.get(decision.step, ""))
        if deadline is not None and decision.decided_at > deadline:
            late.append(LateAnswer(ref=item.ref, step=decision.step, late_by=decision.decided_at - deadline,
                                   decided_by=decision.decided_by))
    return InspectionSummary(
        emails_by_template=dict(Counter(e.template for e in report.emails)),
        answers_by_step=dict(Counter(a[3] for a in report.answers if a[4] == 200)),
        register_items=dict(items),
        late_answers=late,
        phases=dict(report.phases),
        onsite=_onsite_tasks(ctx, report),
        forum_meetings=_forum_meetings(ctx, report.inspection_id),
    )


def _onsite_tasks(ctx: EngineContext, report: RehearsalReport) -> list[TaskDone]:
    """Return how each task before the inspectors arrived ended, and whether anyone was escalated to about it."""
    escalated = {e.key.split(":")[2] for e in report.emails if e.key.startswith(f"{report.inspection_id}:onsite:")
                 and ":escalate-" in e.key}
    with ctx.session() as session:
        due = milestones(session, report.inspection_id)
        rows = session.execute(
            select(m.RegisterItem, m.Decision).join(m.Decision, m.Decision.item_id == m.RegisterItem.id)
            .where(m.RegisterItem.inspection_id == report.inspection_id, m.RegisterItem.phase == ONSITE.key)).all()
    return [TaskDone(ref=item.ref, outcome=decision.outcome, decided_by=decision.decided_by,
                     done_at=decision.decided_at, due_at=due[item.deadlines[decision.step]],
                     escalated=item.ref in escalated) for item, decision in rows]


def _forum_meetings(ctx: EngineContext, inspection_id: str) -> list[tuple[str, datetime]]:
    """Return the forum's meetings with the inspectors on the timetable: (slot, start)."""
    forum = ctx.config.partnership.parent_carer_forum
    with ctx.session() as session:
        slots = session.scalars(select(m.FieldworkSlot).where(m.FieldworkSlot.inspection_id == inspection_id,
                                                              ~m.FieldworkSlot.cancelled)
                                .order_by(m.FieldworkSlot.start_at))
        return [(s.slot_id, s.start_at) for s in slots if forum is not None and forum.id in s.attendees]

