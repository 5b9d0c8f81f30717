"""The product's deployments, served from one process: the phase flows and the ticker."""

from __future__ import annotations

import os
import sys
import threading
import time

import httpx
from prefect import serve
from prefect.schedules import Cron

from send_inspection.live import DEPLOYMENT_NAME
from send_inspection.settings import INTAKE_TRANSPORTS, load_settings


def serve_deployments() -> None:
    """Serve the phase flows, case selection, tracked cases and the every-minute ticker (Europe/London)."""
    from flows.additional_request import additional_request
    from flows.annex_a_day2 import annex_a_day2
    from flows.annex_a_day5 import annex_a_day5
    from flows.case_selection import case_selection
    from flows.fieldwork import fieldwork
    from flows.inspection_report import inspection_report
    from flows.mailbox_intake import mailbox_intake
    from flows.notification import notification
    from flows.priority_action_plan import priority_action_plan
    from flows.staff_bulletin import staff_bulletin
    from flows.ticker import ticker
    from flows.tracked_case import tracked_case

    # (flow, what operators read in the UI, tags); every phase flow is started by the engine by this name.
    served = (
        (notification, "Start an inspection: give the time of the inspectors' call (Europe/London).", "phase"),
        (annex_a_day2, "Annex A day 2: started by the notification phase.", "phase"),
        (annex_a_day5, "Annex A day 5: started when day 2 is done or at its deadline.", "phase"),
        (case_selection, "Day 2, 17:00: enter the case ids of the children to track.", "cases"),
        (tracked_case, "One tracked child's work (by case id): started by the case selection.", "cases"),
        (additional_request, "One additional evidence request: started when it is recorded.", "fieldwork"),
        (fieldwork, "Fieldwork (weeks 2-3): started when the timetable is imported.", "fieldwork"),
        (staff_bulletin, "The staff bulletin: started on notification day, sent until feedback.", "bulletin"),
        (inspection_report, "After fieldwork: draft report, response in 10 working days, final report.", "report"),
        (priority_action_plan, "Outcome 3: the priority action plan, per area, after the final report.", "report"),
    )
    serve(
        *(f.to_deployment(name=DEPLOYMENT_NAME, description=text, tags=["send-inspection", tag])
          for f, text, tag in served),
        ticker.to_deployment(
            name=DEPLOYMENT_NAME, schedule=Cron("* * * * *", timezone="Europe/London"),
            description="Wake phases whose reminders or deadlines are due.", tags=["send-inspection", "ticker"],
        ),
        mailbox_intake.to_deployment(
            name=DEPLOYMENT_NAME, tags=["send-inspection", "intake"],
            schedule=Cron("*/2 * * * *", timezone="Europe/London")
            if load_settings().mail_transport in INTAKE_TRANSPORTS else None,
            description="Every two minutes with SEND_INSPECTION_MAIL=ews or graph: forwarded requests and emailed "
                        "evidence.",
        ),
        limit=8,
        # A worker that stops must not pause the ticker's schedule: another worker may still be serving.
        pause_on_shutdown=False,
    )


def prefect_answers(api_url: str) -> bool:
    """Say whether the Prefect server at `api_url` answers its health check."""
    try:
        return httpx.get(f"{api_url}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def prefect_gone(api_url: str) -> bool:
    """Say whether nothing listens at `api_url` (a server that is only slow or busy is not gone)."""
    try:
        httpx.get(f"{api_url}/health", timeout=5)
    except httpx.ConnectError:
        return True
    except httpx.HTTPError:
        return False
    return False


def serve_through_server_restarts(*, every: float = 2.0, misses: int = 3) -> None:
    """Serve the deployments; after the Prefect server was gone a while, start this worker afresh once it answers.

    Prefect's runner does not survive its server going away: it gives up polling (and may exit or hang). A
    restart of the server (an upgrade, a reboot in the wrong order) must not leave the inspection without a worker,
    so a watchdog asks the server's health every `every` seconds; after `misses` refused connections in a row it
    says the server is gone (a slow or busy server is not), and once the server answers again it replaces this
    process with a fresh worker (same process id, same log). The phases waiting meanwhile are suspended in the
    server, so they wait through it.
    """
    api_url = os.environ["PREFECT_API_URL"]
    threading.Thread(target=_watch_server, args=(api_url,), kwargs={"every": every, "misses": misses},
                     name="prefect-server-watchdog", daemon=True).start()
    try:
        serve_deployments()
        return
    except Exception as exc:  # the runner gave up (its server gone or failing): serve afresh, never in a hot loop
        print(f"the worker stopped serving ({type(exc).__name__}: {exc}); it starts afresh once the Prefect server "
              f"answers", file=sys.stderr, flush=True)
    time.sleep(every * misses)
    while not prefect_answers(api_url):
        time.sleep(every)
    _start_afresh()


def _watch_server(api_url: str, *, every: float, misses: int) -> None:
    missed = 0
    while True:
        time.sleep(every)
        if missed < misses:
            missed = missed + 1 if prefect_gone(api_url) else 0
            if missed == misses:
                print(f"the Prefect server at {api_url} stopped answering; the worker starts afresh as soon as it "
                      f"answers again", file=sys.stderr, flush=True)
        elif prefect_answers(api_url):
            _start_afresh()


def _start_afresh() -> None:
    print("the Prefect server answers: starting the worker afresh", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "send_inspection.cli", "worker"])
