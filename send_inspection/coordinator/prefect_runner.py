"""The coordinator's actions on Prefect: the notification deployment, resuming its run, launching and waking phases."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from uuid import UUID

import httpx
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run

from send_inspection.catalogue.phases import NOTIFICATION
from send_inspection.engine.context import EngineContext
from send_inspection.engine.notification import SurveyLinks
from send_inspection.engine.phase_rows import due_phases, get_phase
from send_inspection.live.launcher import DeploymentLauncher
from send_inspection.live.waker import PrefectWaker

log = logging.getLogger(__name__)


class PrefectRunner:
    """Start, resume and wake runs through the Prefect API (the web app's and the command line's runner)."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.launcher = DeploymentLauncher(ctx)
        self.waker = PrefectWaker(ctx)

    def start_notification(self, inspection_id: str, notified_at: datetime, *, kind: str,
                           deliberate: bool = False) -> str:
        """Run the notification deployment once per inspection (Prefect's idempotency key); return the run's id."""
        run = run_deployment(NOTIFICATION.deployment.name, timeout=0,
                             parameters={"notified_at": notified_at.isoformat(), "inspection_id": inspection_id,
                                         "kind": kind, "deliberate": deliberate},
                             idempotency_key=f"{inspection_id}:{NOTIFICATION.key}")
        return str(run.id)

    def give_survey_links(self, inspection_id: str, links: SurveyLinks) -> None:
        """Resume the notification run with the links if it is suspended for them; else wake it to read them."""
        run = get_phase(self.ctx, inspection_id, "notification")
        if run is None or not run.flow_run_id or run.status != "waiting":
            return  # not suspended yet: it reads the recorded links when it gets there
        try:
            resume_flow_run(UUID(run.flow_run_id), run_input=json.loads(links.model_dump_json()))
        except RuntimeError:
            # The run waits to retry its day-1 mail, not for the links: wake it; it reads the links just recorded.
            resume_flow_run(UUID(run.flow_run_id), run_input={"reason": "survey links given"})

    def nudge(self, inspection_id: str) -> None:
        """Do for one live inspection at once what the ticker would within a minute; a failure leaves it to the
        ticker (a rehearsal's phases are the rehearsal's to run)."""
        try:
            for run in due_phases(self.ctx, now=self.ctx.clock.now(), mode="live"):
                if run.inspection_id != inspection_id:
                    continue
                if run.status == "pending" and run.flow_run_id is None:
                    if run.phase != "notification":  # the coordinator's own run carries it
                        self.launcher.start(inspection_id, run.phase)
                elif run.status == "waiting":
                    self.waker.wake(inspection_id, run.phase, reason="the coordinator changed something")
        except (httpx.HTTPError, OSError, RuntimeError) as exc:  # RuntimeError: Prefect found no server
            log.warning("could not reach Prefect to start %s's phases now (%s): the ticker does it", inspection_id, exc)
