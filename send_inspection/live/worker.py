"""Serve the product's deployments from one process, as the phase catalogue declares them; outlive server restarts."""

from __future__ import annotations

import os
import sys
import threading
import time

import httpx
from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from send_inspection.catalogue.phases import DEPLOYMENT_NAME, PhaseCatalogue, phase_catalogue
from send_inspection.settings import load_settings


def runner_deployments(catalogue: PhaseCatalogue, *, mail_transport: str) -> list[RunnerDeployment]:
    """Return the deployments of every phase and service in `catalogue`, as the worker serves them."""
    served = []
    for declared in catalogue.deployments():
        schedule = declared.schedule
        served.append(declared.load_flow().to_deployment(
            name=DEPLOYMENT_NAME, description=declared.description, tags=list(declared.tags),
            parameters=dict(declared.parameters) or None,
            schedule=Cron(schedule.cron, timezone=schedule.timezone)
            if schedule is not None and schedule.serves_with(mail_transport) else None,
        ))
    return served


def serve_deployments() -> None:
    """Serve every deployment of the phase catalogue: the phase flows, the case selection, the intake, the ticker."""
    serve(
        *runner_deployments(phase_catalogue(), mail_transport=load_settings().mail_transport),
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
