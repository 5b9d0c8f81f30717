"""Where an inspection stands, for the console's dashboard: phases, what is late and whom to chase, today's deadlines.

Read-only: staff by name and role, items by reference, children by case id only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from send_inspection.calendar import to_london
from send_inspection.catalogue.phases import phase_label
from send_inspection.catalogue.steps import step_label
from send_inspection.db import models as m
from send_inspection.engine.absences import absences_of, covering
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import milestones, people
from send_inspection.engine.owners import step_owner

# The milestones people steer by, in the words of the guidance (the others show under their own names).
MILESTONE_LABELS = {
    "evidence_leads_initial_due": "Day-2 evidence to accountable leads",
    "annex_a_initial_due": "Initial Annex A evidence to the inspectors",
    "cases_selected_expected": "Inspectors choose the children to track",
    "tracked_cases_info_due": "Tracked cases ready",
    "annex_a_final_due": "Remaining Annex A evidence to the inspectors",
    "surveys_close": "The online surveys close",
    "setup_call_due": "Set-up call, lead inspector and LANO",
    "opening_attendee_list_due": "Appendix H list to the lead inspector",
    "welcome_pack_due": "Welcome pack ready",
    "onsite_start": "Inspectors on site",
    "feedback_meeting": "Feedback meeting",
    "draft_report_expected_by": "Draft report expected",
    "final_report_expected_by": "Final report expected",
}
# The milestones the picture marks, in order.
PICTURED = ("annex_a_initial_due", "annex_a_final_due", "surveys_close", "onsite_start", "feedback_meeting",
            "draft_report_expected_by", "final_report_expected_by")


def milestone_label(name: str) -> str:
    """Return how people read a milestone's name."""
    return MILESTONE_LABELS.get(name) or name.replace("_", " ").replace("-", " ").capitalize()


@dataclass(frozen=True)
class PhaseView:
    """One phase: what it is, its state, what it waits for, when it wakes, its Prefect run and its items."""

    phase: str
    label: str
    status: str
    reason: str
    next_wake_at: datetime | None
    flow_run_id: str | None
    open_items: int
    late_items: int
    done_items: int


@dataclass(frozen=True)
class LateItem:
    """An open step past its deadline, and whom to chase: who is asked now, their email, and who stands behind."""

    phase_label: str
    ref: str
    title: str
    step: str
    due_at: datetime
    asked_name: str
    asked_role: str
    asked_email: str
    owner_away: bool
    backup_name: str | None


@dataclass(frozen=True)
class DueToday:
    """A deadline that falls today, and how many open steps it still holds."""

    name: str
    label: str
    due_at: datetime
    open_steps: int


@dataclass(frozen=True)
class Overview:
    """Everything the dashboard shows about one inspection, as of `now`."""

    inspection_id: str
    kind: str
    notified_at: datetime
    now: datetime
    phases: list[PhaseView]
    late: list[LateItem]
    today: list[DueToday]
    milestones: dict[str, datetime]
    requests: int = 0
    tracked_cases: int = 0
    people: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InspectionRow:
    """An inspection in the console's list."""

    id: str
    kind: str
    mode: str
    notified_at: datetime
    open_phases: int


def inspection_rows(ctx: EngineContext) -> list[InspectionRow]:
    """Return every inspection, newest first, with how many of its phases are unfinished."""
    with ctx.session() as session:
        rows = list(session.scalars(select(m.Inspection).order_by(m.Inspection.notified_at.desc())))
        open_phases = Counter(session.scalars(select(m.PhaseRun.inspection_id).where(m.PhaseRun.status != "done")))
    return [InspectionRow(id=i.id, kind=i.kind, mode=i.mode, notified_at=i.notified_at,
                          open_phases=open_phases[i.id]) for i in rows]


def inspection_overview(ctx: EngineContext, inspection_id: str) -> Overview | None:
    """Return where the inspection stands now, or None if there is no such inspection."""
    now = ctx.clock.now()
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        if inspection is None:
            return None
        due = milestones(session, inspection_id)
        staff = people(session, inspection_id)
        away = absences_of(session, inspection_id)
        runs = list(session.scalars(select(m.PhaseRun).where(m.PhaseRun.inspection_id == inspection_id)
                                    .order_by(m.PhaseRun.id)))
        items = list(session.scalars(select(m.RegisterItem).where(m.RegisterItem.inspection_id == inspection_id)
                                     .order_by(m.RegisterItem.id)))
        requests = len(list(session.scalars(select(m.EvidenceRequest.id).where(
            m.EvidenceRequest.inspection_id == inspection_id))))
        cases = len(list(session.scalars(select(m.TrackedCase.id).where(m.TrackedCase.inspection_id == inspection_id))))
    late: list[LateItem] = []
    by_phase: dict[str, Counter[str]] = {}
    open_by_deadline: Counter[str] = Counter()
    for item in items:
        counts = by_phase.setdefault(item.phase, Counter())
        if item.outcome is not None:
            counts["done"] += 1
            continue
        deadline_name = item.deadlines[item.step]
        open_by_deadline[deadline_name] += 1
        counts["open"] += 1
        if now < due[deadline_name]:
            continue
        counts["late"] += 1
        late.append(_late(ctx, item, staff, away, due=due[deadline_name], now=now))
    phases = [PhaseView(phase=r.phase, label=phase_label(r.phase), status=r.status, reason=r.reason,
                        next_wake_at=r.next_wake_at, flow_run_id=r.flow_run_id,
                        open_items=by_phase.get(r.phase, Counter())["open"],
                        late_items=by_phase.get(r.phase, Counter())["late"],
                        done_items=by_phase.get(r.phase, Counter())["done"]) for r in runs]
    today = to_london(now).date()
    due_today = [DueToday(name=name, label=milestone_label(name), due_at=at, open_steps=open_by_deadline[name])
                 for name, at in sorted(due.items(), key=lambda kv: kv[1]) if _on(at, today)]
    return Overview(inspection_id=inspection_id, kind=inspection.kind, notified_at=inspection.notified_at, now=now,
                    phases=phases, late=sorted(late, key=lambda x: x.due_at), today=due_today, milestones=due,
                    requests=requests, tracked_cases=cases,
                    people={key: f"{p.name} ({p.role})" for key, p in sorted(staff.items(), key=lambda kv: kv[1].name)})


def _on(moment: datetime, day: date) -> bool:
    return to_london(moment).date() == day


def _late(ctx: EngineContext, item: m.RegisterItem, staff: dict[str, m.Person], away: list[m.Absence], *,
          due: datetime, now: datetime) -> LateItem:
    owner = staff[step_owner(ctx, item)]
    is_away = covering(away, owner.person_key, now) is not None and bool(owner.deputy_key)
    asked = staff[owner.deputy_key] if is_away and owner.deputy_key else owner
    backup_key = asked.escalates_to_key if is_away else (owner.deputy_key or owner.escalates_to_key)
    backup = staff.get(backup_key) if backup_key else None
    return LateItem(phase_label=phase_label(item.phase), ref=item.ref, title=item.title,
                    step=step_label(item.step), due_at=due, asked_name=asked.name,
                    asked_role=asked.role, asked_email=asked.email, owner_away=is_away,
                    backup_name=backup.name if backup else None)
