"""Rehearse a whole inspection on a virtual clock: the notification call to the published report.

The demo inspection is notified on Monday 13 November 2023 at 09:00. Every phase runs on the real flows, started
the way the product starts them: day 1 (notification lists, the core group, the surveys once the coordinator
gives the links an hour later; the forum cascades the family survey and families are reminded the Friday before it
closes), Annex A day 2 and day 5 (30 register items), the six children the inspectors choose to track on day 2 (one
family declines), the staff bulletin three times a week, the keeping-in-touch (KIT) meetings the core group agrees
on day 1 (Tuesday and Thursday of week 1, Monday, Wednesday and Friday of week 2, daily in week 3; a member names a
representative from outside partnership.yaml, who is invited and answers the action raised at that meeting; a
practitioner is chased for one; the summary after each meeting), the days before the inspectors arrive (the set-up
call, the logistics tasks, one of them late and escalated, the opening meeting's headlines, presentation and
Appendix H list, the forum's views on the self-evaluation), the tracked children's briefings and tracking meetings
booked on the timetable in week 2, the inspectors' four virtual meetings of week 2 (imported on its Monday, one
naming a SENCo by address, one the forum's on the Wednesday), fieldwork in the week of 27 November (the inspectors'
timetable of 40 more meetings arrives the Friday before, merged with the partnership's own, and one slot moves on
Tuesday; 8 requests are made in meetings and 2 more are asked for in debriefs; one debrief is red, given at 19:40
that evening, and goes to its director at once as the partnership marks it urgent), the feedback meeting on Friday
1 December, the draft report on Monday 18 December with its response due over Christmas, the final report on Monday
15 January, its publication, and the outcome's follow-up.

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

from sqlalchemy import func, select

from send_inspection.calendar import london_time, to_london
from send_inspection.catalogue.phases import ONSITE
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import inspection_id_for, milestones
from send_inspection.engine.kit import is_action, kit_overview
from send_inspection.fieldwork.store import save_timetable
from send_inspection.fieldwork.timetable import Slot
from send_inspection.rehearsal.after_fieldwork import FINAL_ARRIVES, NOTIFIED, REPORT_ARRIVALS, record_demo_feedback
from send_inspection.rehearsal.driver import RehearsalReport, World, rehearsal_context, report_of, run_world
from send_inspection.rehearsal.fieldwork import (
    DOCUMENT_SLOTS,
    RED_DEBRIEF_AFTER,
    RED_SLOT,
    fieldwork_events,
    week2_timetable,
    week3_timetable,
)
from send_inspection.rehearsal.forum import forum_meeting
from send_inspection.rehearsal.scenarios import demo_behaviours
from send_inspection.rehearsal.staff import Behaviour
from send_inspection.timeline import compute_timeline

# The head of service who explains every additional request instead of sending a document.
EXPLAINS_REQUESTS = "hos-inclusion"
# The KIT meetings the core group agrees: the weekdays of each week (Monday is 0).
KIT_WEEKDAYS = {1: (1, 3), 2: (0, 2, 4), 3: (0, 1, 2, 3, 4)}
# A member who cannot come to one KIT meeting names a representative not in partnership.yaml.
REPRESENTATIVE = "Jasmine Fairweather <jasmine.fairweather@demo-icb.nhs.example>"
REPRESENTATIVES = {"simon.oduya@demo-icb.nhs.example": {"2023-11-22": REPRESENTATIVE}}
# The issues raised at KIT meetings (issue; owner; deadline): the practitioner named for a tracked child answers a
# day late (reminded, then escalated to whoever named them); the representative answers hers.
KIT_ISSUES = {
    "2023-11-14": ["Book the week-3 base room and parking at Demo House; business-delivery; 15/11/2023 12:00",
                   "Send the briefing notes to the practitioners of the tracked children; "
                   "Owen Castell <owen.castell@demo-county.example>; 15/11/2023 16:00"],
    "2023-11-22": [f"Send the therapies caseload note to the LANO; {REPRESENTATIVE}; 23/11/2023 12:00"],
    "2023-11-28": ["Prepare the follow-up on waiting times for the lead inspector; hos-send; 29/11/2023 10:00"],
}


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
    # Slots on the timetable by who put them there and the inspection's week: "kit week 1" -> 2.
    meetings: dict[str, int] = field(default_factory=dict)
    # People named outside partnership.yaml, by where they were named: "case invited" -> 8, "kit answered" -> 1.
    named_people: dict[str, int] = field(default_factory=dict)
    # The keeping-in-touch meetings: agreed, summaries, representatives, actions raised and done, chasers sent.
    kit: dict[str, int] = field(default_factory=dict)
    # The Annex A tracked-cases row: when the last child's documents were reviewed, and when it was asked, uploaded.
    tracked_cases_row: dict[str, str] = field(default_factory=dict)
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
            "Meetings on the timetable: " + "; ".join(
                f"{week}: " + ", ".join(f"{origin} {n}" for (w, origin), n in sorted(self._by_week().items())
                                        if w == week)
                for week in sorted({w for w, _ in self._by_week()})),
            "People named outside partnership.yaml: " + ", ".join(
                f"{origin} {self.named_people[f'{origin} named']} ({self.named_people.get(f'{origin} invited', 0)} "
                f"invited, {self.named_people.get(f'{origin} answered', 0)} answered)"
                for origin in sorted({k.split()[0] for k in self.named_people})),
            f"Keeping in touch: {counts(self.kit)}",
            "Annex A tracked-cases row: " + ", ".join(f"{k} {v}" for k, v in self.tracked_cases_row.items()),
            *self._before_arrival(),
        ]
        return "\n".join(lines)

    def _by_week(self) -> dict[tuple[str, str], int]:
        """Return the meetings by (week, origin)."""
        return {(k.split(" ", 1)[1], k.split(" ", 1)[0]): n for k, n in self.meetings.items()}
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
            *(f"meetings {k} {n}" for k, n in sorted(self.meetings.items())),
            *(f"named {k} {n}" for k, n in sorted(self.named_people.items())),
            *(f"kit {k} {n}" for k, n in sorted(self.kit.items())),
            *(f"tracked-cases {k} {v}" for k, v in self.tracked_cases_row.items()),
            *(t.line() for t in sorted(self.onsite, key=lambda t: t.ref)),
            *(f"forum-meeting {slot} {to_london(at):%m-%d %H:%M}" for slot, at in self.forum_meetings),
        ]


GOLDEN_HEADER = """\
# The whole-inspection rehearsal's summary (outcome 2): emails by template, answers by step, register items by
# phase, every answer given after its deadline (ref, step, who, seconds late), each phase's end, the meetings on the
# timetable by who put them there and week, the people named outside partnership.yaml (named, invited, answering),
# the keeping-in-touch figures, when the tracked-cases row was asked and uploaded after the last review, how each
# task before the inspectors arrived ended, and the forum's meetings with the inspectors.
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
    """Return the cast by person id: the demo's, the head of service who explains every request, and the KIT
    organiser, who records each meeting as it ends."""
    return {**demo_behaviours(),
            EXPLAINS_REQUESTS: Behaviour(explains=frozenset(f"request-{n}" for n in range(1, 30))),
            "business-delivery": Behaviour(delay=timedelta(minutes=20))}


def rehearse_whole_inspection(workdir: Path, *, outcome: int = 2) -> tuple[RehearsalReport, InspectionSummary]:
    """Run notification → day 2 → day 5 → tracked cases → fieldwork → feedback → report → publication."""
    ctx, staff = rehearsal_context(workdir, notified_at=NOTIFIED, behaviours=whole_behaviours())
    staff.red_debriefs, staff.documents_in = {RED_SLOT}, dict(DOCUMENT_SLOTS)
    staff.answer_after = {f"debrief-{RED_SLOT}": RED_DEBRIEF_AFTER}
    staff.arrivals = dict(REPORT_ARRIVALS)
    staff.kit_weekdays, staff.representatives, staff.kit_issues = KIT_WEEKDAYS, REPRESENTATIVES, KIT_ISSUES
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
    week2 = [*week2_timetable(monday - timedelta(days=7)), forum_meeting(monday)]
    slots = [*week2, *week3_timetable(monday)]

    def send_timetable(version: list[Slot]) -> Callable[[], int]:
        def send() -> int:
            save_timetable(ctx, iid, version)
            return 1
        return send

    feedback_at = london_time(monday + timedelta(days=4), time(16, 0))
    return [
        (london_time(monday - timedelta(days=7), time(9, 0)), send_timetable(week2)),
        (london_time(monday - timedelta(days=3), time(12, 0)), send_timetable(slots)),
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
        meetings=_meetings(ctx, report.inspection_id),
        named_people=_named_people(ctx, report.inspection_id),
        kit=_keeping_in_touch(ctx, report),
        tracked_cases_row=_tracked_cases_row(ctx, report),
        onsite=_onsite_tasks(ctx, report),
        forum_meetings=_forum_meetings(ctx, report.inspection_id),
    )


def _meetings(ctx: EngineContext, iid: str) -> dict[str, int]:
    """Count the slots on the timetable (not cancelled) by who put them there and the inspection's week."""
    with ctx.session() as session:
        notified = to_london(session.get_one(m.Inspection, iid).notified_at).date()
        rows = session.execute(select(m.FieldworkSlot.origin, m.FieldworkSlot.start_at).where(
            m.FieldworkSlot.inspection_id == iid, ~m.FieldworkSlot.cancelled)).all()
    found: Counter[str] = Counter()
    for origin, start in rows:
        number = ctx.calendar.day_number(notified, to_london(start).date()) or 0
        found[f"{origin.split(':', 1)[0]} week {(number - 1) // 5 + 1}"] += 1
    return dict(found)


def _named_people(ctx: EngineContext, iid: str) -> dict[str, int]:
    """Count the people named outside partnership.yaml by where: how many, invited to a meeting, answering a link."""
    with ctx.session() as session:
        named = dict(session.execute(select(m.Person.person_key, m.Person.origin).where(
            m.Person.inspection_id == iid, m.Person.origin != "partnership")).all())
        invited = {k for row in session.scalars(select(m.FieldworkSlot.attendees).where(
            m.FieldworkSlot.inspection_id == iid)) for k in row}
        answered = set(session.scalars(select(m.Decision.decided_by).join(
            m.RegisterItem, m.RegisterItem.id == m.Decision.item_id).where(m.RegisterItem.inspection_id == iid)))
    found: Counter[str] = Counter()
    for key, origin in named.items():
        found[f"{origin} named"] += 1
        found[f"{origin} invited"] += key in invited
        found[f"{origin} answered"] += key in answered
    return dict(found)


def _keeping_in_touch(ctx: EngineContext, report: RehearsalReport) -> dict[str, int]:
    """Count the KIT meetings agreed, their summaries, representatives, actions and the chasers sent for them."""
    overview = kit_overview(ctx, report.inspection_id)
    chasers = [e for e in report.emails if e.template != "action-ask" and e.template.startswith("action-")
               and is_action(e.key.split(":")[2])]
    return {"meetings": len(overview), "summaries": sum(r["summary"] == "sent" for r in overview),
            "representatives": sum(int(r["representatives"]) for r in overview),
            "actions": sum(int(r["actions raised"]) for r in overview),
            "actions open": sum(int(r["actions open"]) for r in overview), "action chasers": len(chasers)}


def _tracked_cases_row(ctx: EngineContext, report: RehearsalReport) -> dict[str, str]:
    """Return when the last tracked child's documents were reviewed, and when the tracked-cases row was asked, done."""
    with ctx.session() as session:
        reviewed = session.scalar(select(func.max(m.TrackedCase.documents_reviewed_at)).where(
            m.TrackedCase.inspection_id == report.inspection_id))
        row = session.scalars(select(m.RegisterItem).where(m.RegisterItem.inspection_id == report.inspection_id,
                                                           m.RegisterItem.ref == "tracked-cases")).one()
    asked = next(e.at for e in report.emails if e.key.endswith(":tracked-cases:submit:r1:ask"))
    done = to_london(row.done_at).isoformat(timespec="minutes") if row.done_at else "never"
    return {"last-review": to_london(reviewed).isoformat(timespec="minutes") if reviewed else "never",
            "asked": asked, "uploaded": done}
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

