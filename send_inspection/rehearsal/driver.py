"""Rehearse an inspection: the real flows on a virtual clock, scripted staff, every email kept."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from sqlalchemy import select

from send_inspection.calendar import to_london
from send_inspection.cases.selection import select_from_stored
from send_inspection.catalogue.phases import NOTIFICATION, phase_catalogue
from send_inspection.childdata.columns import child_data_config_if_any
from send_inspection.childdata.items import data_folder
from send_inspection.childdata.store import MANIFEST, load_stored
from send_inspection.childdata.synthetic import generate
from send_inspection.clock import VirtualClock
from send_inspection.config.loader import calendar_for, default_config_dir, load_config
from send_inspection.db import models as m
from send_inspection.db.session import migrate, relax_durability
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import inspection_id_for, milestone_at
from send_inspection.engine.notification import SurveyLinks, given_survey_links, record_survey_links
from send_inspection.engine.phase_rows import (
    all_done,
    begin_wait,
    due_phases,
    inspection_phases,
    make_due_now,
    next_wake,
)
from send_inspection.engine.tracked_case import start_tracked_cases
from send_inspection.mail.outbox import OutboxTransport
from send_inspection.rehearsal.parked_runs import ParkedRuns
from send_inspection.rehearsal.scenarios import choose_demo_cases
from send_inspection.rehearsal.staff import Behaviour, ScriptedStaff
from send_inspection.runtime import Runtime, use_runtime
from send_inspection.web.app import create_app

DEMO_LINKS = SurveyLinks(
    children_young_people="https://surveys.inspectorate.example/cyp-demo",
    parents_carers="https://surveys.inspectorate.example/parents-demo",
    practitioners="https://surveys.inspectorate.example/practitioners-demo",
    health_template="https://files.demo-county.example/cqc-health-structure-template.xlsx",
)


# Fictional children in the lists the rehearsal's data lead uploads (enough to exercise every check).
DEMO_CHILDREN = 300
# Where in its folder a rehearsal writes those lists (the returns made from them go under its uploads).
CHILD_LISTS = "child-data"


class RehearsalWaiter:
    """Wait on the virtual clock: record the wait, then park the phase's run until the driver finds it due."""

    def __init__(self, ctx: EngineContext, parked: ParkedRuns) -> None:
        self.ctx = ctx
        self.parked = parked

    def wait(self, inspection_id: str, phase: str, *, reason: str, next_wake_at: datetime | None) -> bool:
        """Record the wait; go again at once if news arrived, else park until due (False: the rehearsal ended)."""
        ticket = begin_wait(self.ctx, inspection_id, phase, reason=reason, next_wake_at=next_wake_at,
                            flow_run_id=None)
        return ticket.go_again or self.parked.park()

    def survey_links(self, inspection_id: str) -> SurveyLinks | None:
        """Return the links if the scripted coordinator gave them, else record the wait and end the run."""
        if (given := given_survey_links(self.ctx, inspection_id)) is not None:
            return given
        begin_wait(self.ctx, inspection_id, NOTIFICATION.key, next_wake_at=None, flow_run_id=None,
                   reason="Waiting for the coordinator to enter the three survey links")
        return None


class InlineLauncher:
    """Leave a new phase pending and due now: the driver runs due pending phases itself."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    def start(self, inspection_id: str, phase: str) -> None:
        """Make the pending phase due at once (a later start time no longer holds it back)."""
        make_due_now(self.ctx, inspection_id, phase)


class NoWaker:
    """The driver sees decisions through the change counter; nothing to resume."""

    def wake(self, inspection_id: str, phase: str, *, reason: str) -> None:
        """Do nothing."""


@dataclass(frozen=True)
class SentEmail:
    """One email of the rehearsal: when (London time), which template, to whom."""

    at: str
    template: str
    key: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class RehearsalReport:
    """What a rehearsal sent and decided, and how its phases ended."""

    inspection_id: str
    emails: list[SentEmail]
    answers: list[tuple[str, str, str, str, int]]
    phases: dict[str, str]
    finished_at: str


def rehearse(
    workdir: Path,
    *,
    notified_at: datetime,
    behaviours: dict[str, Behaviour] | None = None,
    links_after: timedelta = timedelta(hours=1),
    config_dir: Path | None = None,
    until: timedelta = timedelta(days=6),
    tracked_cases: int = 6,
    declining_families: int = 1,
) -> RehearsalReport:
    """Run notification → day-5 upload on a virtual clock and return what happened.

    At the case-selection milestone the scripted coordinator enters `tracked_cases` children chosen from the
    accepted lists; the families of the last `declining_families` of them decline, and the inspectors track
    those from the records.
    """
    ctx, staff = rehearsal_context(workdir, notified_at=notified_at, behaviours=behaviours, config_dir=config_dir)
    inspection_id = inspection_id_for(ctx.config, notified_at)
    world = World(ctx=ctx, staff=staff, inspection_id=inspection_id, links_at=notified_at + links_after,
                  end=notified_at + until, tracked_cases=tracked_cases, declining_families=declining_families)
    run_world(world, notified_at=notified_at, start_with_notification=True)
    return report_of(ctx, inspection_id, staff)


def rehearsal_context(workdir: Path, *, notified_at: datetime, behaviours: dict[str, Behaviour] | None = None,
                      config_dir: Path | None = None) -> tuple[EngineContext, ScriptedStaff]:
    """Build a rehearsal's engine context (own SQLite database, outbox, virtual clock) and its scripted staff."""
    config = load_config(config_dir or default_config_dir())
    clock = VirtualClock(notified_at)
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{workdir / 'rehearsal.db'}"
    migrate(db_url)
    relax_durability(db_url)  # a rehearsal's database and outbox are thrown away: no waiting for the disk
    outbox = workdir / "outbox"
    ctx = EngineContext(config=config, calendar=calendar_for(config), db_url=db_url, clock=clock,
                        transport=OutboxTransport(outbox, durable=False), base_url="http://rehearsal.invalid",
                        uploads_dir=workdir / "uploads",
                        child_data=child_data_config_if_any(config_dir or default_config_dir()), check_links=False)
    emails_by_person = {p.id: p.email for p in config.partnership.people}
    staff = ScriptedStaff(
        outbox=outbox,
        client=TestClient(create_app(ctx)),
        behaviours={emails_by_person.get(k, k): v for k, v in (behaviours or {}).items()},
        data_files=_demo_data(ctx, workdir / CHILD_LISTS, notified_at),
    )
    return ctx, staff


def run_world(world: World, *, notified_at: datetime, start_with_notification: bool) -> None:
    """Run every due phase flow, let the world act, and move the clock on until nothing is left to happen."""
    ctx = world.ctx
    parked = ParkedRuns()
    runtime = Runtime(context=ctx, waiter=RehearsalWaiter(ctx, parked), launcher=InlineLauncher(ctx),
                      waker=NoWaker(), mode="rehearsal")
    catalogue = phase_catalogue()
    from tasks.artifacts import publish_deferred

    # Heartbeats detect crashed runs in real time; on a virtual clock in one process they only add a second's
    # wait to the end of every flow run. The staff's web client is opened once for the whole run: unopened, each
    # request would start a thread and an event loop of its own.
    with use_runtime(runtime), temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), \
            world.staff.client:
        try:
            if start_with_notification:
                parked.run((world.inspection_id, NOTIFICATION.key), NOTIFICATION.deployment.load_flow(),
                           params={"notified_at": notified_at, "inspection_id": world.inspection_id})
            while True:
                acted = world.settle()
                ran = False
                for run in due_phases(ctx, now=ctx.clock.now(), mode="rehearsal"):
                    spec = catalogue.spec(run.phase)
                    params = spec.run_parameters(run.inspection_id, run.phase)
                    if spec.starts.by_coordinator:
                        params["notified_at"] = notified_at  # the coordinator's run, given the time of the call
                    parked.run((run.inspection_id, run.phase), spec.deployment.load_flow(), params=params)
                    ran = True
                if ran or acted:
                    continue
                if not world.step():
                    break
        finally:
            parked.end_all()
            publish_deferred()  # the last version of each operator artifact, kept back while the runs passed


@dataclass
class World:
    """The rehearsal's world outside the flows: the virtual clock, the coordinator and the staff."""

    ctx: EngineContext
    staff: ScriptedStaff
    inspection_id: str
    links_at: datetime
    end: datetime
    tracked_cases: int = 0
    declining_families: int = 0
    links_given: bool = False
    cases_selected: bool = False
    # Scripted happenings (a request arriving, the timetable changing): (when, what; returns how many acts).
    events: list[tuple[datetime, Callable[[], int]]] = field(default_factory=list)

    def settle(self) -> int:
        """Let the coordinator and staff do what is due now; return how many answers were given."""
        now = self.ctx.clock.now()
        done = 0
        if not self.links_given and now >= self.links_at:
            record_survey_links(self.ctx, self.inspection_id, DEMO_LINKS)
            self.links_given = True
            done += 1
        if self.tracked_cases and not self.cases_selected and now >= self._select_at():
            done += self._select_cases()
        due = [e for e in self.events if e[0] <= now]
        self.events = [e for e in self.events if e[0] > now]
        for _, happen in sorted(due, key=lambda e: e[0]):
            done += 1 + happen()
        return done + self.staff.act(now)

    def _select_at(self) -> datetime:
        return milestone_at(self.ctx, self.inspection_id, "cases_selected_expected")

    def _select_cases(self) -> int:
        """Enter the inspectors' choice once the child-level data lists are accepted; return 1 if entered."""
        folder = data_folder(self.ctx, self.inspection_id, "child-level-data")
        if not (folder / MANIFEST).exists():
            return 0
        ids = choose_demo_cases(load_stored(folder), count=self.tracked_cases)
        select_from_stored(self.ctx, self.inspection_id, ids, selected_by="inspection-coordinator")
        start_tracked_cases(self.ctx, self.inspection_id)
        self.staff.family_declines.update(ids[len(ids) - self.declining_families:] if self.declining_families else [])
        self.cases_selected = True
        return 1

    def next_event(self) -> datetime | None:
        """Return when the next thing happens: a phase's wake-up, a staff answer or the survey links."""
        now = self.ctx.clock.now()
        candidates = [t for t in (next_wake(self.ctx), self.staff.next_time(now)) if t is not None and t > now]
        if not self.links_given:
            candidates.append(self.links_at)
        candidates += [at for at, _ in self.events if at > now]
        if self.tracked_cases and not self.cases_selected and self._select_at() > now:
            candidates.append(self._select_at())
        if not candidates or min(candidates) > self.end or all_done(self.ctx):
            return None
        return min(candidates)

    def step(self) -> bool:
        """Move the clock to the next event; False when there is none."""
        nxt = self.next_event()
        if nxt is None:
            return False
        self.ctx.clock.set(nxt)  # type: ignore[attr-defined]
        return True


def _demo_data(ctx: EngineContext, folder: Path, notified_at: datetime) -> dict[str, Path]:
    """Generate the small fictional lists the scripted data lead uploads for the data items."""
    if ctx.child_data is None:
        return {}
    return dict(generate(folder, children=DEMO_CHILDREN, seed=1, as_of=to_london(notified_at).date(),
                         config=ctx.child_data))


def remove_child_data(workdir: Path) -> list[Path]:
    """Remove a rehearsal's children's lists and the checked lists and returns made from them; return what went."""
    # The checked lists and returns of each inspection are kept under <uploads>/<inspection>/child-data/ (data_folder).
    folders = [workdir / CHILD_LISTS, *sorted((workdir / "uploads").glob("*/child-data"))]
    removed = [folder for folder in folders if folder.is_dir()]
    for folder in removed:
        shutil.rmtree(folder)
    return removed


@contextmanager
def child_data_removed(workdir: Path, *, keep: bool = False) -> Iterator[list[Path]]:
    """Run a rehearsal in `workdir`, then remove the children's lists and returns it made, unless `keep`.

    Yields the list of the folders removed, filled when the block ends (however it ends).
    """
    removed: list[Path] = []
    try:
        yield removed
    finally:
        if not keep:
            removed += remove_child_data(workdir)


def report_of(ctx: EngineContext, inspection_id: str, staff: ScriptedStaff) -> RehearsalReport:
    """Return what the rehearsal sent and decided, and how its phases ended."""
    with ctx.session() as session:
        rows = list(session.scalars(select(m.EmailRecord).order_by(m.EmailRecord.sent_at, m.EmailRecord.id)))
    phases = {p.phase: p.status for p in inspection_phases(ctx)}
    emails = [
        SentEmail(
            at=to_london(r.sent_at).isoformat(timespec="minutes") if r.sent_at else "",
            template=r.template,
            key=r.key,
            recipients=tuple(r.recipients),
        )
        for r in rows
    ]
    answers = [(to_london(t).isoformat(timespec="minutes"), who, ref, what, code)
               for t, who, ref, what, code in staff.log]
    return RehearsalReport(inspection_id=inspection_id, emails=emails, answers=answers, phases=phases,
                           finished_at=to_london(ctx.clock.now()).isoformat(timespec="minutes"))
