"""The `send-inspection` command: start an inspection, print its timeline, rehearse, run the stack."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from send_inspection.calendar import LONDON, to_london
from send_inspection.settings import INTAKE_TRANSPORTS, Settings, load_settings

if TYPE_CHECKING:  # the models are imported by the commands that use them, not at the CLI's start
    from send_inspection.db.models import PhaseRun


def _parse_when(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date-time like 2023-06-26T09:00") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


def cmd_timeline(args: argparse.Namespace) -> int:
    """Print the inspection's milestones for a notification time."""
    from send_inspection.config.loader import calendar_for, load_config
    from send_inspection.timeline import compute_timeline

    config = load_config(Path(args.config) if args.config else load_settings().config_dir)
    timeline = compute_timeline(args.notified_at, config.timeline.rules(), calendar_for(config))
    if args.json:
        print(json.dumps({k: v.isoformat() for k, v in timeline.items()}, indent=2))
        return 0
    notified = to_london(args.notified_at).date()
    cal = calendar_for(config)
    width = max(len(k) for k in timeline)
    print(f"{'milestone':<{width}}  day  when (Europe/London)")
    for name, when in timeline.items():
        day = cal.day_number(notified, when.date())
        print(f"{name:<{width}}  {day if day else '-':>3}  {when.strftime('%a %d %b %Y %H:%M %Z')}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Load and validate the partnership's config; say what is wrong, where."""
    from send_inspection.config.loader import load_config

    folder = Path(args.config) if args.config else load_settings().config_dir
    config = load_config(folder)
    print(f"{folder}: {len(config.partnership.people)} people, {len(config.annex_a.items)} register items, "
          f"{len(config.timeline.milestones)} milestones, {len(config.tracked_cases.documents)} tracked-case "
          "documents: OK")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Create or upgrade the product's database."""
    from send_inspection.db.session import migrate

    settings = load_settings()
    migrate(settings.database_url)
    print(f"database at {settings.database_url} is up to date")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print each inspection's phases by name: status, what they wait for, when they wake, and its email counts."""
    from sqlalchemy import func, select

    from send_inspection.catalogue.phases import phase_label
    from send_inspection.db import models as m
    from send_inspection.engine.notification import survey_overview
    from send_inspection.engine.phase_rows import inspection_phases
    from send_inspection.live.wiring import build_context

    ctx = build_context(load_settings())
    with ctx.session() as session:
        query = select(m.Inspection).order_by(m.Inspection.notified_at)
        if args.inspection:
            query = query.where(m.Inspection.id == args.inspection)
        inspections = list(session.scalars(query))
        if not inspections:
            print(f"no inspection {args.inspection!r}" if args.inspection else "no inspections yet")
            return 1 if args.inspection else 0
        for inspection in inspections:
            print(f"{inspection.id} (notified {to_london(inspection.notified_at):%a %d %b %Y %H:%M})")
            for run in inspection_phases(ctx, inspection.id):
                print(f"  {phase_label(run.phase):<22} {run.status:<8} {_phase_line(run)}".rstrip())
            counts = dict(session.execute(
                select(m.EmailRecord.status, func.count()).where(m.EmailRecord.inspection_id == inspection.id)
                .group_by(m.EmailRecord.status)).all())
            print("  emails: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
            for line in survey_overview(ctx, inspection.id):  # the surveys' plan and progress, in counts
                print(f"  {line}")
    return 0


def _phase_line(run: PhaseRun) -> str:
    """Say what a phase waits for and when it wakes, or when a pending phase starts."""
    when = f"{to_london(run.next_wake_at):%a %d %b %H:%M}" if run.next_wake_at else None
    if run.reason:
        return run.reason + (f"; wakes {when}" if when else "")
    if when:
        return f"starts {when}" if run.status == "pending" else f"wakes {when}"
    return ""


def cmd_select_cases(args: argparse.Namespace) -> int:
    """Record the children the inspectors chose to track (case ids) and print how the choice covers the usual mix."""
    from send_inspection.cases.selection import SelectionRefused
    from send_inspection.coordinator.actions import select_cases

    ids = [i for part in args.ids for i in part.split(",")]
    ctx, runner, actor = _coordinator(args)
    try:
        selection = select_cases(ctx, runner, actor, args.inspection, ids)
    except SelectionRefused as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(selection.coverage.markdown(), end="")
    if selection.started:
        print(f"\nStarted {len(selection.started)} tracked case(s): {', '.join(selection.started)}.")
    return 0


def cmd_request(args: argparse.Namespace) -> int:
    """Record an additional evidence request from the inspectors (it starts at once), or list the requests."""
    from send_inspection.coordinator.actions import record_additional_request
    from send_inspection.engine.additional_requests import RequestRefused, requests_overview

    if args.action == "list":
        from send_inspection.live.wiring import build_context

        for row in requests_overview(build_context(load_settings()), args.inspection):
            print("  ".join(f"{k}: {v}" for k, v in row.items()))
        return 0
    ctx, runner, actor = _coordinator(args)
    try:
        number = record_additional_request(ctx, runner, actor, args.inspection, asked=args.asked,
                                           inspector=args.inspector, head_of_service=args.head_of_service,
                                           accountable_lead=args.accountable)
    except RequestRefused as exc:
        print(f"not recorded: {exc}", file=sys.stderr)
        return 1
    print(f"recorded additional evidence request {number} (phase request:{number}); its run starts now")
    return 0


def cmd_case_files(args: argparse.Namespace) -> int:
    """Record a case file an inspector opened, or list those recorded (case ids only)."""
    from send_inspection.cases.case_file_views import CaseFileViewRefused, case_files_opened, record_case_file_opened
    from send_inspection.live.wiring import build_context

    ctx = build_context(load_settings())
    if args.action == "list":
        for view in case_files_opened(ctx, args.inspection):
            tracked = " (tracked)" if view.tracked else ""
            print(f"{to_london(view.opened_at):%a %d %b %H:%M}  {view.case_id}{tracked}  {view.system}  "
                  f"{view.inspector}")
        return 0
    try:
        view = record_case_file_opened(ctx, args.inspection, case_id=args.case, inspector=args.inspector,
                                       system=args.system, opened_at=args.at or ctx.clock.now(), recorded_by=args.by)
    except CaseFileViewRefused as exc:
        print(f"not recorded: --{exc}", file=sys.stderr)
        return 2
    print(f"recorded: {view.inspector} opened case {view.case_id} in {view.system} at "
          f"{to_london(view.opened_at):%a %d %b %H:%M}{' (a tracked case)' if view.tracked else ''}")
    return 0


def cmd_debrief_sheets(args: argparse.Namespace) -> int:
    """Write every debrief as its Appendix E sheet, named date, initials, Summary, into a folder."""
    from send_inspection.fieldwork.debrief_sheet import debrief_sheets
    from send_inspection.live.wiring import build_context

    ctx = build_context(load_settings())
    folder = Path(args.to)
    folder.mkdir(parents=True, exist_ok=True)
    sheets = debrief_sheets(ctx, args.inspection)
    for name, data in sheets:
        (folder / name).write_bytes(data)
    print(f"{len(sheets)} debrief sheet(s) written to {folder}")
    return 0


def cmd_timetable(args: argparse.Namespace) -> int:
    """Import (or re-import) the inspectors' fieldwork timetable after showing what it sends; fieldwork starts."""
    from send_inspection.coordinator.actions import import_timetable, preview_timetable_file
    from send_inspection.fieldwork.store import InspectionNotFound
    from send_inspection.fieldwork.timetable import TimetableRefused

    ctx, runner, actor = _coordinator(args)
    path = Path(args.file)
    try:
        preview = preview_timetable_file(ctx, args.inspection, path)
    except TimetableRefused as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except InspectionNotFound as exc:
        print(f"not imported: {exc}", file=sys.stderr)
        return 1
    names = {p.id: p.name for p in ctx.config.partnership.people}
    slots = {s.slot_id: s for s in preview.timetable}
    for title, messages in (("invitations", preview.of("REQUEST", first=True)),
                            ("updates", preview.of("REQUEST", first=False)),
                            ("cancellations", preview.of("CANCEL", first=False) + preview.of("CANCEL", first=True))):
        print(f"{len(messages)} {title}")
        for x in messages:
            slot = slots.get(x.slot_id)
            print(f"  {x.slot_id} {slot.title if slot else ''}: to {', '.join(names.get(p, p) for p in x.to)}")
    if not preview.messages:
        print("nothing to send: the timetable is unchanged")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print("not imported: add --yes to send these (or run it in a terminal to be asked)", file=sys.stderr)
            return 1
        if input("Import the timetable and send these? [y/N] ").strip().lower() not in ("y", "yes"):
            print("not imported")
            return 1
    changes = import_timetable(ctx, runner, actor, args.inspection, path, confirmed=preview.digest)
    print(f"{len(preview.timetable)} slots: {len(changes.added)} new, {len(changes.changed)} changed, "
          f"{len(changes.removed)} cancelled; the fieldwork run sends the calendar messages now")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    """Record the inspectors' feedback (embargoed: emailed to the leadership group only); the report phase starts."""
    from send_inspection.coordinator.actions import record_inspection_feedback
    from send_inspection.report.feedback import FeedbackRefused, parse_priority_action

    ctx, runner, actor = _coordinator(args)
    partner_ids = {p.id for p in ctx.config.partnership.report_partners}
    try:
        actions = [parse_priority_action(text, partner_ids=partner_ids) for text in args.priority]
        record_inspection_feedback(ctx, runner, actor, args.inspection, outcome=args.outcome,
                                   effective=args.effective, improve=args.improve, priority_actions=actions)
    except FeedbackRefused as exc:
        print(f"not recorded: {exc}", file=sys.stderr)
        return 1
    print(f"recorded the feedback (outcome {args.outcome}); the after-fieldwork run starts now and emails it to the "
          "leadership group (after the quiet hours, if they have begun)")
    return 0


def cmd_library(args: argparse.Namespace) -> int:
    """Load evidence into the library in advance (a new version when the content changed), or list what it holds."""
    from send_inspection.coordinator.actions import load_library
    from send_inspection.coordinator.audit import command_line_actor
    from send_inspection.evidence.library import LibraryRefused, library_versions
    from send_inspection.files.storage import UploadRefused
    from send_inspection.live.wiring import build_context

    ctx = build_context(load_settings())
    if args.action == "add":
        actor = command_line_actor(ctx, args.by)
        for name in args.files:
            path = Path(name)
            try:
                loaded = load_library(ctx, actor, args.ref, path.name, path.read_bytes())
            except (LibraryRefused, UploadRefused, OSError) as exc:
                print(f"{name}: {exc}", file=sys.stderr)
                return 1
            print(f"{loaded.ref}: {loaded.filename} is version {loaded.version}"
                  f"{'' if loaded.new else ' (unchanged: the library already holds this content)'}")
        return 0
    refs = [args.ref] if args.ref else [item.ref for item in ctx.config.annex_a.items]
    names = {person.id: person.name for person in ctx.config.partnership.people}
    for ref in refs:
        for doc in library_versions(ctx, ref):
            print(f"{ref:<18} v{doc.version:<3} {to_london(doc.loaded_at):%d %b %Y %H:%M}  "
                  f"{names.get(doc.loaded_by, doc.loaded_by):<24} {doc.filename}")
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    """Show what will be deleted when, or put a hold on deletion (a complaint, a legal hold), or lift one."""
    from send_inspection.coordinator.actions import hold_deletion, lift_deletion_hold
    from send_inspection.retention.holds import HoldRefused
    from send_inspection.retention.service import retention_schedule

    ctx, _runner, actor = _coordinator(args)
    try:
        if args.action == "hold":
            number = hold_deletion(ctx, actor, args.inspection, kind=args.kind, reason=args.reason)
            print(f"hold {number} placed on {args.inspection}: nothing of it is deleted until the hold is lifted "
                  f"(send-inspection retention lift --inspection {args.inspection} --hold {number} --reason ...)")
        elif args.action == "lift":
            lift_deletion_hold(ctx, actor, args.inspection, args.hold, reason=args.reason)
            print(f"hold {args.hold} lifted: what has fallen due is deleted at the next retention run")
        for inspection in retention_schedule(ctx, args.inspection):
            print("\n".join(inspection.lines(ctx.clock.now())))
    except (HoldRefused, ValueError) as exc:
        print(f"nothing changed: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    """Export the inspection's record as one archive for the council's records system; print where and what."""
    from send_inspection.coordinator.actions import export_inspection_record

    ctx, _runner, actor = _coordinator(args)
    try:
        exported = export_inspection_record(ctx, actor, args.inspection, to=Path(args.out) if args.out else None)
    except (ValueError, OSError) as exc:
        print(f"not exported: {exc}", file=sys.stderr)
        return 1
    print(f"{exported.path}: {exported.entries} files ({exported.size_bytes:,} bytes, sha256 {exported.sha256}); "
          f"manifest.json lists them and what is left out")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    """Start an inspection by running the notification deployment with the time of the call."""
    from send_inspection.coordinator.actions import start_inspection
    from send_inspection.engine.start_time import NotificationTimeRefused

    ctx, runner, actor = _coordinator(args)
    notified_at = args.notified_at or datetime.now(LONDON).replace(second=0, microsecond=0)
    try:
        started = start_inspection(ctx, runner, actor, notified_at=notified_at,
                                   kind="monitoring" if args.monitoring else "full", deliberate=args.deliberate)
    except NotificationTimeRefused as exc:
        print(f"not started: {exc}", file=sys.stderr)
        return 2
    api = os.environ["PREFECT_API_URL"].removesuffix("/api")
    print(f"started inspection {started.inspection_id} (notified {to_london(notified_at):%a %d %b %Y %H:%M}): "
          f"{api}/runs/flow-run/{started.flow_run_id}")
    if started.note:
        print(f"{started.note}.")
    return 0


def cmd_survey_links(args: argparse.Namespace) -> int:
    """Give the inspectors' survey links (and their close time, if they gave one) to a waiting notification phase."""
    from pydantic import ValidationError

    from send_inspection.coordinator.actions import give_survey_links
    from send_inspection.engine.notification import LinksNotTaken, SurveyLinks

    try:
        links = SurveyLinks(children_young_people=args.children_young_people, parents_carers=args.parents_carers,
                            practitioners=args.practitioners, health_template=args.health_template,
                            closes_at=args.closes_at)
    except ValidationError as exc:
        for error in exc.errors():
            option = "--" + str(error["loc"][0]).replace("_", "-")
            print(f"{option}: {error['msg']} (got {error.get('input')!r})", file=sys.stderr)
        return 2
    ctx, runner, actor = _coordinator(args)
    try:
        give_survey_links(ctx, runner, actor, args.inspection, links)
    except LinksNotTaken as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except KeyError:
        print(f"no inspection {args.inspection!r} yet: its notification run opens it within seconds of "
              f"starting; check the name and the run in the Prefect UI, then try again", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"not recorded: {exc}", file=sys.stderr)
        return 1
    print(f"survey links recorded for {args.inspection}")
    return 0


def cmd_away(args: argparse.Namespace) -> int:
    """Mark a person away from one time to another in an inspection: their deputy is asked instead meanwhile."""
    from send_inspection.coordinator.actions import mark_away
    from send_inspection.engine.absences import AbsenceRefused

    ctx, runner, actor = _coordinator(args)
    try:
        absence = mark_away(ctx, runner, actor, args.inspection, args.person, from_at=args.from_at,
                            until_at=args.until)
    except AbsenceRefused as exc:
        print(f"not recorded: {exc}", file=sys.stderr)
        return 1
    print(f"{absence.person_name} is away until {to_london(absence.until_at):%a %d %b %H:%M}; "
          f"{absence.deputy_name} is asked instead")
    return 0


def cmd_handover(args: argparse.Namespace) -> int:
    """Send someone a fresh link to an item's open step, or give the item a new owner for this inspection."""
    from send_inspection.coordinator.actions import change_item_owner, give_fresh_link
    from send_inspection.engine.handover import HandoverRefused

    ctx, runner, actor = _coordinator(args)
    try:
        if args.command == "fresh-link":
            fresh = give_fresh_link(ctx, actor, args.inspection, args.item, args.person)
            print(f"sent a fresh link ({fresh.key}); {fresh.replaced} earlier link(s) stopped working")
        else:
            handover = change_item_owner(ctx, runner, actor, args.inspection, args.item, field=args.owner,
                                         person_key=args.person)
            print(f"{args.item}: {handover.after} instead of {handover.before}"
                  f"{' (asked now)' if handover.asked_now else ''}")
    except HandoverRefused as exc:
        print(f"not done: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_rehearse(args: argparse.Namespace) -> int:
    """Rehearse notification → day-5 upload on a virtual clock and print what was sent and decided."""
    from send_inspection.prefect_env import apply_rehearsal_prefect_env

    settings = load_settings()
    workdir = (Path(args.workdir) if args.workdir else settings.home / "rehearsals" / datetime.now().strftime(
        "%Y%m%d-%H%M%S")).resolve()
    prefect_home = apply_rehearsal_prefect_env(settings)  # before Prefect is imported
    from send_inspection.rehearsal.driver import child_data_removed, rehearse
    from send_inspection.rehearsal.scenarios import demo_behaviours

    started = time.perf_counter()
    summary = None
    retained = None
    # The fictional children's lists and the returns made from them go when it ends, unless asked to keep them.
    with child_data_removed(workdir, keep=args.keep) as removed:
        if args.retention:
            from send_inspection.rehearsal.retention import rehearse_retention

            retained = rehearse_retention(workdir)
            report = retained.report
        elif args.after_fieldwork:
            from send_inspection.rehearsal.after_fieldwork import rehearse_after_fieldwork

            report = rehearse_after_fieldwork(workdir, outcome=args.after_fieldwork)
        elif args.whole:
            from send_inspection.rehearsal.whole_inspection import rehearse_whole_inspection

            report, summary = rehearse_whole_inspection(workdir, outcome=args.whole)
        else:
            report = rehearse(workdir, notified_at=args.notified_at, behaviours=demo_behaviours())
    elapsed = time.perf_counter() - started
    for email in report.emails:
        print(f"{email.at}  {email.template:<24} {', '.join(email.recipients)[:90]}")
    if summary is not None:
        print("\n" + summary.describe())
        if args.write_golden:
            from send_inspection.rehearsal.whole_inspection import write_golden

            write_golden(summary, Path(args.write_golden))
            print(f"golden summary written to {args.write_golden}")
        if args.write_emails:
            from send_inspection.rehearsal.email_samples import email_samples, write_samples

            samples = email_samples(report, workdir / "outbox")
            write_samples(samples, Path(args.write_emails))
            print(f"{len(samples)} sample emails (one of each kind) written to {args.write_emails}")
    if retained is not None:
        print("\n" + "\n".join(retained.describe()))
    print(f"\n{len(report.emails)} emails, {len(report.answers)} answers; phases: {report.phases}; "
          f"virtual end {report.finished_at}; wall time {elapsed:.1f}s")
    print(f"\nThe rehearsal's files are in {workdir} (its emails in {workdir / 'outbox'}, its database "
          f"rehearsal.db); its Prefect runs are in {prefect_home}.")
    if args.keep:
        print(f"The children's lists and returns were kept (--keep): {workdir / 'child-data'} and the child-data "
              f"folders under {workdir / 'uploads'}.")
    else:
        folders = "1 folder" if len(removed) == 1 else f"{len(removed)} folders"
        print(f"The children's lists and returns it made were removed ({folders}; --keep keeps them).")
    print(f"Remove the whole rehearsal with: rm -r {workdir}")
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    """Run the web app: staff's link pages, the coordinator's console behind sign-in, and the outbox page."""
    _prefect_setup()
    import uvicorn

    from send_inspection.console.guard import Console
    from send_inspection.console.settings import load_console_settings
    from send_inspection.coordinator.prefect_runner import PrefectRunner
    from send_inspection.live.waker import PrefectWaker
    from send_inspection.live.wiring import build_context
    from send_inspection.web.app import create_app

    settings = load_settings()
    ctx = build_context(settings)
    outbox = settings.outbox_dir if settings.mail_transport == "outbox" else None
    console = Console(ctx, load_console_settings(settings), PrefectRunner(ctx), has_outbox=outbox is not None)
    app = create_app(ctx, waker=PrefectWaker(ctx), outbox_dir=outbox, console=console)
    # The product's own lines (each phase woken by a decision, a wake that failed) beside uvicorn's, with their level;
    # they carry ids only, as in Prefect.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s"))
    product = logging.getLogger("send_inspection")
    product.addHandler(handler)
    product.setLevel(logging.INFO)
    product.propagate = False
    uvicorn.run(app, host=settings.web_host, port=settings.web_port, log_level="info")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Serve the product's deployments (phase flows and the ticker), through restarts of the Prefect server."""
    _prefect_setup()
    from send_inspection.db.session import migrate
    from send_inspection.live.worker import serve_through_server_restarts

    migrate(load_settings().database_url)
    serve_through_server_restarts()
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    """Bring up a Prefect server, the web app and the deployments; stop them all on Ctrl-C."""
    settings = load_settings()
    from send_inspection.prefect_env import prefect_env

    env = {**os.environ, **prefect_env(settings)}
    if env.get("PREFECT_API_AUTH_STRING"):  # the server requires the auth string its clients are given
        env.setdefault("PREFECT_SERVER_API_AUTH_STRING", env["PREFECT_API_AUTH_STRING"])
    settings.home.mkdir(parents=True, exist_ok=True)
    logs = settings.home / "logs"
    logs.mkdir(exist_ok=True)
    exe = [sys.executable, "-m", "send_inspection.cli"]
    procs: list[subprocess.Popen] = []

    def spawn(name: str, argv: list[str]) -> None:
        log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child's lifetime
        procs.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))
        print(f"started {name} (log: {logs / (name + '.log')})")

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # a service manager's stop is a Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    try:
        spawn("prefect-server", [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                 "--port", "4200"])
        _wait_for("http://127.0.0.1:4200/api/health", seconds=120)
        spawn("web", [*exe, "web"])
        spawn("worker", [*exe, "worker"])
        _wait_for(f"http://{settings.web_host}:{settings.web_port}/healthz", seconds=60)
        print(ready_message(settings.base_url, now=datetime.now(LONDON), sign_in=_sign_in_hint(settings),
                            mail=_mail_line(settings)))
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        print("a process stopped; see the logs", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # Worker first, then the web app, then the server they talk to: each stops cleanly.
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def _mail_line(settings: Settings) -> str:
    """Say where mail goes and whether the mailbox intake reads the shared inboxes."""
    where = {
        "outbox": f"kept in the outbox, {settings.base_url}/outbox (nothing is sent)",
        "smtp": f"SMTP {settings.smtp_host}:{settings.smtp_port}",
        "ews": f"Exchange Web Services, {settings.ews.endpoint if settings.ews else ''}",
        "graph": f"Microsoft Graph, {settings.graph.graph_base if settings.graph else ''}",
    }[settings.mail_transport]
    if settings.mail_transport in INTAKE_TRANSPORTS and settings.watch_inboxes:
        where += f"; the mailbox intake reads the {' and '.join(settings.watch_inboxes)} inboxes every two minutes"
    return where


def command_name() -> str:
    """Return how to type `send-inspection` here: its name if PATH finds this one, else its path (from here)."""
    script = Path(sys.executable).with_name("send-inspection")
    if not script.exists():
        return f"{sys.executable} -m send_inspection.cli"
    found = shutil.which("send-inspection")
    if found and Path(found).resolve() == script.resolve():
        return "send-inspection"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def ready_message(base_url: str, *, now: datetime, sign_in: str = "", mail: str = "") -> str:
    """Return what `up` prints once everything answers: where things are, where mail goes, how to sign in, start."""
    return (f"\nPrefect UI:   http://127.0.0.1:4200\nConsole:      {base_url}/console/\n"
            f"Outbox:       {base_url}/outbox\n" + (f"Mail:         {mail}\n" if mail else "") + f"\n{sign_in}\n\n"
            f"Start an inspection: {command_name()} start --notified-at {to_london(now):%Y-%m-%dT%H:%M}  "
            "(or the console's 'Start an inspection' page, or Deployments → notification → Run in the Prefect UI). "
            "Ctrl-C stops everything.")


def _sign_in_hint(settings) -> str:  # noqa: ANN001
    """Say how to sign in to the console on these settings."""
    if os.environ.get("SEND_INSPECTION_OIDC_ISSUER"):
        return "Sign in to the console with your partnership account."
    from send_inspection.config.loader import load_config

    partnership = load_config(settings.config_dir).partnership
    coordinators = partnership.console.coordinators
    if not coordinators:
        return "Nobody may sign in yet: name the console's coordinators under `console:` in partnership.yaml."
    first = partnership.person(coordinators[0])
    where = f"open it in the outbox ({settings.base_url}/outbox)" if settings.mail_transport == "outbox" \
        else "open it in their mailbox"
    return (f"Sign in: on the console's sign-in page give a coordinator's address, e.g. {first.email} "
            f"({first.name}); a one-time sign-in link is emailed: {where} and follow the link.")


def _wait_for(url: str, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback health check
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not come up within {seconds:.0f}s")


def _coordinator(args: argparse.Namespace):  # noqa: ANN202
    """Return the engine context, the Prefect runner and the actor (the --by person, else the operator) of a command."""
    _prefect_setup()
    from send_inspection.coordinator.audit import command_line_actor
    from send_inspection.coordinator.prefect_runner import PrefectRunner
    from send_inspection.live.wiring import build_context

    ctx = build_context(load_settings())
    return ctx, PrefectRunner(ctx), command_line_actor(ctx, getattr(args, "by", None))


def _prefect_setup() -> None:
    from send_inspection.prefect_env import apply_prefect_env

    apply_prefect_env(load_settings())


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `send-inspection`."""
    parser = argparse.ArgumentParser(prog="send-inspection", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("timeline", help="print the milestones for a notification time")
    p.add_argument("--notified-at", type=_parse_when, required=True, help="time of the call, e.g. 2023-06-26T09:00")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--config", help="partnership config folder (default: the demo partnership)")
    p.set_defaults(func=cmd_timeline)
    p = sub.add_parser("check-config", help="validate a partnership config folder")
    p.add_argument("--config")
    p.set_defaults(func=cmd_check_config)
    sub.add_parser("migrate", help="create or upgrade the database").set_defaults(func=cmd_migrate)
    p = sub.add_parser("select-cases", help="record the children the inspectors chose to track (case ids)")
    p.add_argument("--inspection", required=True)
    p.add_argument("--by", help="the person id entering it (default: the operator's login)")
    p.add_argument("ids", nargs="+", help="case ids, separated by spaces or commas")
    p.set_defaults(func=cmd_select_cases)
    request = sub.add_parser("request", help="record an additional evidence request from the inspectors, or list them")
    request_actions = request.add_subparsers(dest="action", required=True)
    p = request_actions.add_parser("add", help="record a request; it starts at once (same day by default)")
    p.add_argument("--inspection", required=True)
    p.add_argument("--asked", required=True, help="what the inspector asked for, as they put it (no child's name)")
    p.add_argument("--inspector", required=True, help="the inspector who asked")
    p.add_argument("--head-of-service", required=True, help="person id of the head of service or partner lead")
    p.add_argument("--accountable", help="person id of the accountable lead (default: from the register)")
    p.add_argument("--by", help="the person id recording it (default: the operator's login)")
    p.set_defaults(func=cmd_request)
    p = request_actions.add_parser("list", help="list every request with its timings")
    p.add_argument("--inspection", required=True)
    p.set_defaults(func=cmd_request)
    p = sub.add_parser("feedback", help="record the inspectors' feedback at the end of fieldwork (embargoed)")
    p.add_argument("--inspection", required=True)
    p.add_argument("--outcome", type=int, required=True, choices=(1, 2, 3),
                   help="1, 2 or 3: the outcome in the order the inspectorate lists them")
    p.add_argument("--effective", required=True, help="what the inspectors said is effective")
    p.add_argument("--improve", required=True, help="what the inspectors said must improve")
    p.add_argument("--priority", action="append", default=[],
                   help="an area for priority action and the partners named: 'area: council, icb' (repeatable)")
    p.add_argument("--by", help="the person id recording it (default: the operator's login)")
    p.set_defaults(func=cmd_feedback)
    p = sub.add_parser("debrief-sheets", help="write every debrief as its Appendix E sheet ('dd.mm.yy XX Summary')")
    p.add_argument("--inspection", required=True)
    p.add_argument("--to", required=True, help="the folder to write the sheets (.docx) into")
    p.set_defaults(func=cmd_debrief_sheets)
    files = sub.add_parser("case-files", help="record a case file an inspector opened, or list them (case ids only)")
    files_actions = files.add_subparsers(dest="action", required=True)
    p = files_actions.add_parser("add", help="record that an inspector opened a case file")
    p.add_argument("--inspection", required=True)
    p.add_argument("--case", required=True, help="the council's case id (never a name)")
    p.add_argument("--inspector", required=True, help="the inspector who opened it")
    p.add_argument("--system", required=True, help="the case records system, e.g. 'EHC case management'")
    p.add_argument("--at", type=_parse_when, help="when it was opened, London time (default: now)")
    p.add_argument("--by", default="inspection-coordinator", help="who recorded it")
    p.set_defaults(func=cmd_case_files)
    p = files_actions.add_parser("list", help="list every case file recorded as opened")
    p.add_argument("--inspection", required=True)
    p.set_defaults(func=cmd_case_files)
    timetable = sub.add_parser("timetable", help="import the inspectors' fieldwork timetable (CSV or XLSX)")
    timetable_actions = timetable.add_subparsers(dest="action", required=True)
    p = timetable_actions.add_parser("import", help="import or re-import it; changes are compared slot by slot")
    p.add_argument("--inspection", required=True)
    p.add_argument("--yes", action="store_true", help="send what the preview lists without asking")
    p.add_argument("--by", help="the person id importing it (default: the operator's login)")
    p.add_argument("file")
    p.set_defaults(func=cmd_timetable)
    library = sub.add_parser("library", help="load evidence into the library in advance, or list it")
    actions = library.add_subparsers(dest="action", required=True)
    p = actions.add_parser("add", help="load files as the next version of a row's evidence")
    p.add_argument("--ref", required=True, help="the Annex A row, e.g. 2.1")
    p.add_argument("--by", help="the person id loading it (default: the operator's login)")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_library)
    p = actions.add_parser("list", help="list every version the library holds")
    p.add_argument("--ref", help="only this Annex A row")
    p.set_defaults(func=cmd_library)
    retention = sub.add_parser("retention", help="what will be deleted when; holds on deletion")
    retention_actions = retention.add_subparsers(dest="action", required=True)
    p = retention_actions.add_parser("show", help="show what will be deleted when, the holds and the exports")
    p.add_argument("--inspection", help="one inspection id (default: every inspection)")
    p.set_defaults(func=cmd_retention)
    p = retention_actions.add_parser("hold", help="stop every deletion of an inspection's data, saying why")
    p.add_argument("--inspection", required=True)
    p.add_argument("--kind", required=True, choices=("complaint", "legal"), help="a complaint or a legal hold")
    p.add_argument("--reason", required=True, help="why (kept in our database, never sent to Prefect)")
    p.add_argument("--by", help="the person id placing it (default: the operator's login)")
    p.set_defaults(func=cmd_retention)
    p = retention_actions.add_parser("lift", help="lift a hold, saying why: what fell due goes at the next run")
    p.add_argument("--inspection", required=True)
    p.add_argument("--hold", type=int, required=True, help="the hold's number (retention show lists them)")
    p.add_argument("--reason", required=True, help="why it is lifted")
    p.add_argument("--by", help="the person id lifting it (default: the operator's login)")
    p.set_defaults(func=cmd_retention)
    p = sub.add_parser("record", help="export an inspection's record as one archive for the records system")
    p.add_argument("--inspection", required=True)
    p.add_argument("--out", help="the zip file to write (default: var/records/<inspection>/...)")
    p.add_argument("--by", help="the person id asking for it (default: the operator's login)")
    p.set_defaults(func=cmd_record)
    p = sub.add_parser("status", help="show each inspection's phases and what they wait for")
    p.add_argument("--inspection", help="one inspection id, e.g. demo-county-2026-11-23")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("start", help="start an inspection (runs the notification deployment)")
    p.add_argument("--notified-at", type=_parse_when, help="time of the inspectors' call (default: now)")
    p.add_argument("--monitoring", action="store_true",
                   help="a monitoring inspection: the focused areas instead of Annex A, no family survey")
    p.add_argument("--deliberate", action="store_true",
                   help="start from a call more than a day ago (every overdue ask goes at once) or ahead of time")
    p.add_argument("--by", help="the person id starting it (default: the operator's login)")
    p.set_defaults(func=cmd_start)
    p = sub.add_parser("survey-links", help="give the inspectors' survey links to the notification phase")
    p.add_argument("--inspection", required=True)
    p.add_argument("--children-young-people", required=True)
    p.add_argument("--parents-carers", help="the family survey's link (required unless a monitoring inspection)")
    p.add_argument("--practitioners", required=True)
    p.add_argument("--health-template")
    p.add_argument("--closes-at", type=_parse_when,
                   help="when the surveys close, as the inspectors gave it (London time, e.g. 2023-07-04T09:00); "
                        "without it, the default of timeline.yaml (surveys_close)")
    p.add_argument("--by", help="the person id giving them (default: the operator's login)")
    p.set_defaults(func=cmd_survey_links)
    p = sub.add_parser("away", help="mark a person away from–to: their deputy is asked instead meanwhile")
    p.add_argument("--inspection", required=True)
    p.add_argument("--person", required=True, help="the person id who is away")
    p.add_argument("--from", dest="from_at", type=_parse_when, required=True, help="London time, e.g. 2026-11-24T09:00")
    p.add_argument("--until", type=_parse_when, required=True, help="when they are back (London time)")
    p.add_argument("--by", help="the person id recording it (default: the operator's login)")
    p.set_defaults(func=cmd_away)
    p = sub.add_parser("fresh-link", help="email someone a fresh link to an item's open step (the old one stops)")
    p.add_argument("--inspection", required=True)
    p.add_argument("--item", required=True, help="the item's reference, e.g. 1.3 or request-2")
    p.add_argument("--person", required=True, help="the person id who lost their link")
    p.add_argument("--by", help="the person id sending it (default: the operator's login)")
    p.set_defaults(func=cmd_handover)
    p = sub.add_parser("owner", help="change an item's evidence lead or accountable lead for this inspection")
    p.add_argument("--inspection", required=True)
    p.add_argument("--item", required=True, help="the item's reference, e.g. 1.3")
    p.add_argument("--owner", choices=("evidence_lead", "accountable_lead"), default="evidence_lead")
    p.add_argument("--person", required=True, help="the new owner's person id")
    p.add_argument("--by", help="the person id changing it (default: the operator's login)")
    p.set_defaults(func=cmd_handover)
    p = sub.add_parser("rehearse", help="rehearse notification → day-5 upload on a virtual clock")
    p.add_argument("--notified-at", type=_parse_when, default=_parse_when("2023-06-26T09:00"))
    p.add_argument("--workdir")
    p.add_argument("--whole", type=int, choices=(1, 2, 3), metavar="OUTCOME",
                   help="rehearse the whole inspection, notification to the published report, ending in this outcome "
                        "(30 items, 6 children, 40 meetings, 10 requests; notified Mon 13 Nov 2023)")
    p.add_argument("--write-golden", metavar="FILE",
                   help="with --whole: write the summary as golden lines to FILE")
    p.add_argument("--write-emails", metavar="DIR",
                   help="with --whole: write one email of each kind, as received (plain text and HTML), to DIR")
    p.add_argument("--after-fieldwork", type=int, choices=(1, 2, 3),
                   help="rehearse feedback → draft → response → final report → publication for this outcome")
    p.add_argument("--retention", action="store_true",
                   help="rehearse fieldwork's end to the published report with children's data, then retention past "
                        "its dates: a complaint's hold, the record exported, everything deleted in turn")
    p.add_argument("--keep", action="store_true",
                   help="keep the fictional children's lists and returns (removed when the rehearsal ends)")
    p.set_defaults(func=cmd_rehearse)
    sub.add_parser("web", help="run the sign-off web app").set_defaults(func=cmd_web)
    sub.add_parser("worker", help="serve the deployments").set_defaults(func=cmd_worker)
    sub.add_parser("up", help="run the whole product locally").set_defaults(func=cmd_up)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    args = build_parser().parse_args(argv)
    from send_inspection.config.loader import ConfigError

    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
