"""Rehearse retention on a virtual clock: an inspection's last weeks with children's data, then past its dates.

The after-fieldwork rehearsal (outcome 3: feedback to the published report and the priority action plan) with what
retention must find and delete. On Monday 27 November 2023 the data lead uploads the child-level lists through the
sign-off page, a child is tracked (each provider hands in the child's documents, naming the child), the
inspectors' timetable brings a meeting and its debrief, and an additional request comes on the Tuesday.
Everyone types a child's name and date of birth, with a link and an image, into every free-text field: the
coordinator into the timetable, the request, the feedback and a hold's reason, staff into debriefs, comments,
explanations and returns. After publication a complaint puts a hold on deletion; the clock passes the first
retention date (nothing is deleted), the hold is lifted (the record is exported, then the children's data, the
tracked cases and the restricted draft go), and the clock passes the last date (the uploads, the outbox's copies
and the links go).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from send_inspection.calendar import london_time, to_london
from send_inspection.catalogue.phases import NOTIFICATION
from send_inspection.childdata.items import data_folder
from send_inspection.childdata.store import load_stored
from send_inspection.childdata.synthetic import generate
from send_inspection.coordinator.actions import hold_deletion, lift_deletion_hold
from send_inspection.coordinator.audit import CONSOLE, Actor
from send_inspection.db import models as m
from send_inspection.engine.additional_requests import record_request
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.phase_rows import finish_phase
from send_inspection.fieldwork.store import save_timetable
from send_inspection.fieldwork.timetable import Slot
from send_inspection.rehearsal.after_fieldwork import (
    FEEDBACK_RECORDED,
    FINAL_ARRIVES,
    NOTIFIED,
    REPORT_ARRIVALS,
)
from send_inspection.rehearsal.driver import (
    CHILD_LISTS,
    NoWaker,
    RehearsalReport,
    World,
    rehearsal_context,
    report_of,
    run_world,
)
from send_inspection.rehearsal.staff import Action, Behaviour
from send_inspection.report.feedback import PriorityAction, record_feedback
from send_inspection.retention.record import records_folder
from send_inspection.retention.service import retention_schedule
from send_inspection.runtime import Runtime, use_runtime
from send_inspection.tokens import mint_token

# Every child on the rehearsal's lists is named with it (e.g. Qzrfaaab Qzrlaaab): found by the scans, nowhere else.
MARKER = "Qzr"
MONDAY = date(2023, 11, 27)  # fieldwork, week 3
STARTS = london_time(MONDAY, time(8, 0))
SLOT = "W3-MON-3"
TRACKED = 1
CHILDREN = 80  # on the lists: enough for every check, few enough to keep the rehearsal quick
HOLD_REASON = "A parent's complaint about the inspection, received by the LANO"


@dataclass(frozen=True)
class Child:
    """A child on the rehearsal's lists: case id, names and date of birth."""

    child_id: str
    first_name: str
    last_name: str
    born: date

    def typed(self) -> str:
        """Return what careless or hostile writing about the child looks like: name, birth date, a link, an image."""
        return (f"{self.first_name} {self.last_name} (born {self.born:%d/%m/%Y}) [click me](javascript:alert(1)) "
                f"![seen](http://127.0.0.1:9/seen.png)")


@dataclass(frozen=True)
class RunSeen:
    """One run of the retention flow: its final state, what it returned, the kinds deleted so far."""

    state: str
    summary: str
    deleted: list[str]


@dataclass
class RetentionRehearsal:
    """The rehearsal's context and children, and what each retention run found and did."""

    ctx: EngineContext
    inspection_id: str
    workdir: Path
    children: list[Child]
    report: RehearsalReport
    # What `retention show` said once the report was published (before any deletion).
    schedule: list[str] = field(default_factory=list)
    # The retention runs: past the first date under the hold, once it was lifted, past the last date.
    runs: list[RunSeen] = field(default_factory=list)
    # Whether the child-level data folder was still there after the run the hold stopped.
    kept_while_held: bool = False

    def describe(self) -> list[str]:
        """Say what retention would delete when, what each run did and where the exported records are."""
        moments = ("under the hold, past the children's data's date", "the hold lifted", "past the last date")
        return ["Once the report was published:", *self.schedule,
                *(f"retention run, {when}: {run.summary}" for when, run in zip(moments, self.runs, strict=True)),
                f"The records exported before each deletion are in {records_folder(self.ctx.uploads_dir)}."]


def _children(ctx: EngineContext, inspection_id: str) -> list[Child]:
    """Return the children on the accepted lists, as the product stored them."""
    data = load_stored(data_folder(ctx, inspection_id, "child-level-data"))
    found = []
    for kind in ("ehc_plans", "sen_support"):
        frame = data.frame(kind)  # type: ignore[arg-type]
        if frame is not None:
            found += [Child(r["child_id"], r["first_name"], r["last_name"], r["date_of_birth"])
                      for r in frame.to_dict("records")]
    return found


def _upload_lists(ctx: EngineContext, staff_act: Callable[[Action], int], inspection_id: str) -> int:
    """Ask the data lead for the child-level data through a personal link, as day 2 would; they upload the lists."""
    now = ctx.clock.now()
    with ctx.session() as session:
        item = session.query(m.RegisterItem).filter_by(inspection_id=inspection_id, ref="child-level-data").one()
        lead = session.query(m.Person).filter_by(inspection_id=inspection_id, person_key=item.evidence_lead).one()
        raw = mint_token(session, inspection_id, lead.person_key, item_id=item.id, step="submit", round_no=1,
                         now=now, expires_at=now + timedelta(days=30))
        session.commit()
    return staff_act(Action(now, lead.email, raw))


def _timetable(typed: str) -> list[Slot]:
    """Return a meeting on the Monday, titled, placed and focused as a careless writer would."""
    return [Slot(slot_id=SLOT, kind="tracking-meeting", title=f"Tracking meeting: {typed}",
                 start=london_time(MONDAY, time(10)), end=london_time(MONDAY, time(10, 50)),
                 location=f"Demo House, Room 3 ({typed})", attendees=("hos-send", "sm-performance"),
                 debriefer="hos-send", focus=f"Lines of enquiry about {typed}")]


def _child_document(children: dict[str, Child]) -> Callable[[str], tuple[str, bytes] | None]:
    """Return what a provider hands in for a tracked child's document: a file naming the child."""
    def document(ref: str) -> tuple[str, bytes] | None:
        case, _, doc = ref.partition(":")
        child = children.get(case)
        if child is None:
            return None
        text = f"{doc} of {child.first_name} {child.last_name}, born {child.born:%d %B %Y} ({child.born:%d/%m/%Y})."
        return f"{doc}-{case}.txt", text.encode()

    return document


def rehearse_retention(workdir: Path, *,
                       while_held: Callable[[RetentionRehearsal], None] | None = None) -> RetentionRehearsal:
    """Run the inspection's last weeks with children's data to publication, then retention past its dates.

    `while_held` is called after the run the hold stopped, before anything is deleted (to look at the stores).
    """
    ctx, staff = rehearsal_context(workdir, notified_at=NOTIFIED)
    assert ctx.child_data is not None
    staff.data_files = dict(generate(workdir / CHILD_LISTS, children=CHILDREN, seed=3, config=ctx.child_data,
                                     as_of=to_london(NOTIFIED).date(), name_marker=MARKER))
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    finish_phase(ctx, iid, NOTIFICATION.key, reason="not rehearsed here")
    ctx.clock.set(STARTS)  # type: ignore[attr-defined]

    def act(action: Action) -> int:
        staff.pending.append(action)
        return staff.act(ctx.clock.now())

    _upload_lists(ctx, act, iid)
    children = _children(ctx, iid)
    typed = children[0].typed()
    staff.typed, staff.files_for = typed, _child_document({c.child_id: c for c in children})
    staff.case_meetings_this_week = True  # the rehearsal starts on the Monday of fieldwork
    staff.documents_in = {SLOT: "The annual reviews audit"}
    staff.arrivals = dict(REPORT_ARRIVALS)
    staff.default = Behaviour(delay=timedelta(minutes=45), returns_once=frozenset({"request-1"}))
    save_timetable(ctx, iid, _timetable(typed))

    def request() -> int:
        record_request(ctx, iid, f"The SEN support review of {typed}", inspector=f"Lead inspector ({typed})",
                       head_of_service="hos-send", source="cli")
        return 1

    def feedback() -> int:
        record_feedback(ctx, iid, 3, effective=f"Leaders know {typed} well.", improve=f"Plans such as {typed}'s.",
                        priority_actions=[PriorityAction(area=f"EHC plans, such as {typed}'s", partners=("council",))],
                        recorded_by=ctx.config.partnership.roles.coordinator)
        return 1

    world = World(ctx=ctx, staff=staff, inspection_id=iid, links_at=STARTS, links_given=True,
                  end=FINAL_ARRIVES + timedelta(days=60), tracked_cases=TRACKED,
                  events=[(london_time(MONDAY + timedelta(days=1), time(10)), request), (FEEDBACK_RECORDED, feedback)])
    run_world(world, notified_at=NOTIFIED, start_with_notification=False)
    rehearsal = RetentionRehearsal(ctx, iid, workdir, children, report_of(ctx, iid, staff))
    _past_the_dates(rehearsal, hold_reason=f"{HOLD_REASON}: {typed}", while_held=while_held)
    return rehearsal


def _past_the_dates(rehearsal: RetentionRehearsal, *, hold_reason: str,
                    while_held: Callable[[RetentionRehearsal], None] | None) -> None:
    """Hold, run past the first date, lift, run again, then run past the last date (the retention flow each time)."""
    from flows.retention import retention
    from tasks.artifacts import publish_deferred

    ctx, iid = rehearsal.ctx, rehearsal.inspection_id
    [schedule] = retention_schedule(ctx, iid)
    rehearsal.schedule = schedule.lines(ctx.clock.now())
    due = {d.kind: d.due_at for d in schedule.deletions}
    lano = ctx.config.partnership.person(ctx.config.partnership.roles.lano)
    coordinator = Actor(key=lano.id, name=lano.name, channel=CONSOLE)  # as the console's retention page would
    hold = hold_deletion(ctx, coordinator, iid, kind="complaint", reason=hold_reason)
    runtime = Runtime(context=ctx, waiter=None, launcher=None, waker=NoWaker(), mode="rehearsal")  # type: ignore[arg-type]

    def run(at: datetime) -> RunSeen:
        ctx.clock.set(max(at, ctx.clock.now()))  # type: ignore[attr-defined]
        with use_runtime(runtime):
            state = retention(return_state=True)
        publish_deferred()
        with ctx.session() as session:
            deleted = list(session.scalars(select(m.DeletionRecord.kind).where(m.DeletionRecord.inspection_id == iid)
                                           .order_by(m.DeletionRecord.id)))
        return RunSeen(state.name, str(state.result()) if state.is_completed() else state.message or "", deleted)

    rehearsal.runs.append(run(due["child_data"] + timedelta(hours=1)))  # the last of those counted from publication
    rehearsal.kept_while_held = data_folder(ctx, iid, "child-level-data").is_dir()
    if while_held is not None:
        while_held(rehearsal)
    lift_deletion_hold(ctx, coordinator, iid, hold, reason="The complaint was answered and closed")
    rehearsal.runs.append(run(ctx.clock.now() + timedelta(minutes=5)))
    rehearsal.runs.append(run(max(at for at in due.values() if at is not None) + timedelta(hours=1)))
