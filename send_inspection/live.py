"""The live runtime: Prefect suspend/resume for waiting, deployments for phases, the system clock."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from uuid import UUID

from prefect.context import FlowRunContext
from prefect.exceptions import NotPausedError, ObjectNotFound
from prefect.flow_runs import resume_flow_run, suspend_flow_run
from prefect.input import RunInput

from send_inspection.childdata.columns import child_data_config_if_any
from send_inspection.clock import SystemClock
from send_inspection.config.loader import calendar_for, load_config
from send_inspection.db.session import migrate
from send_inspection.engine.context import EngineContext
from send_inspection.engine.notification import SurveyLinks
from send_inspection.engine.phase_flows import phase_flow
from send_inspection.engine.phases import begin_wait, get_phase, record_flow_run
from send_inspection.mail.outbox import OutboxTransport
from send_inspection.mail.smtp import SmtpTransport
from send_inspection.mail.transport import MailTransport
from send_inspection.runtime import Runtime
from send_inspection.settings import Settings, load_settings

log = logging.getLogger(__name__)

DEPLOYMENT_NAME = "send-inspection"

class Wake(RunInput):
    """Why a suspended phase run was resumed."""

    reason: str = "woken"


class SurveyLinksInput(RunInput, SurveyLinks):
    """The form the coordinator fills in the Prefect UI: the inspectors' three survey links."""


def transport_from_settings(settings: Settings) -> MailTransport:
    """Return the mail transport the settings name."""
    if settings.mail_transport == "ews":
        from send_inspection.mail.ews import EwsTransport

        ews = settings.ews
        if ews is None:
            raise ValueError("SEND_INSPECTION_MAIL=ews needs the SEND_INSPECTION_EWS_* settings")
        return EwsTransport(
            ews.endpoint,
            ews.version,
            auth=ews.auth,
            secret=ews.secret.read,
            username=ews.username,
            tenant_id=ews.tenant_id,
            client_id=ews.client_id,
            token_url=ews.token_url,
            access_type=ews.access_type,
            max_wait=ews.max_wait,
        )
    if settings.mail_transport == "graph":
        from send_inspection.mail.graph import GraphTransport

        graph = settings.graph
        if graph is None:
            raise ValueError("SEND_INSPECTION_MAIL=graph needs the SEND_INSPECTION_GRAPH_* settings")
        return GraphTransport(
            graph.tenant_id,
            graph.client_id,
            secret=graph.secret.read,
            token_url=graph.token_url,
            graph_base=graph.graph_base,
            max_wait=graph.max_wait,
        )
    if settings.mail_transport == "smtp":
        return SmtpTransport(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    return OutboxTransport(settings.outbox_dir)


def build_context(settings: Settings, *, clock=None) -> EngineContext:  # noqa: ANN001
    """Load config, migrate the database and wire the engine's adapters."""
    config = load_config(settings.config_dir)
    migrate(settings.database_url)
    return EngineContext(
        config=config,
        calendar=calendar_for(config),
        db_url=settings.database_url,
        clock=clock or SystemClock(),
        transport=transport_from_settings(settings),
        base_url=settings.base_url,
        uploads_dir=settings.uploads_dir,
        child_data=child_data_config_if_any(settings.config_dir),
    )


def _flow_run_id() -> str | None:
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else None


class SuspendWaiter:
    """Wait by suspending the flow run: no process is held; a decision or the ticker resumes it."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    def wait(self, inspection_id: str, phase: str, *, reason: str, next_wake_at: datetime | None) -> bool:
        """Suspend with a fresh key; return True at once if news arrived while reconciling."""
        ticket = begin_wait(
            self.ctx, inspection_id, phase, reason=reason, next_wake_at=next_wake_at, flow_run_id=_flow_run_id()
        )
        if ticket.go_again:
            return True
        log.info("%s", reason)
        # Never returns on first call: the process ends; on resume the flow runs again from the top.
        suspend_flow_run(wait_for_input=Wake, key=ticket.key, timeout=None)
        return True

    def survey_links(self, inspection_id: str) -> SurveyLinks | None:
        """Return links given by the CLI, else suspend until the coordinator gives them in the UI."""
        from send_inspection.db import models as m

        with self.ctx.session() as session:
            inspection = session.get(m.Inspection, inspection_id)
            stored = inspection.survey_links if inspection else None
        if stored:
            return SurveyLinks.model_validate(stored)
        begin_wait(self.ctx, inspection_id, "notification", flow_run_id=_flow_run_id(), next_wake_at=None,
                   reason="Waiting for the coordinator to enter the three survey links (Resume this run)")
        given = suspend_flow_run(wait_for_input=SurveyLinksInput, key="survey-links", timeout=None)
        return SurveyLinks.model_validate(given.model_dump(include=set(SurveyLinks.model_fields)))


class DeploymentLauncher:
    """Start a phase as a run of its deployment; Prefect's idempotency key makes a repeat harmless."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    def start(self, inspection_id: str, phase: str) -> None:
        """Create the phase's flow run once and remember its id."""
        from prefect.deployments import run_deployment

        flow_name, extra = phase_flow(phase)
        parameters = {"inspection_id": inspection_id} | extra
        flow_run = run_deployment(
            name=f"{flow_name}/{DEPLOYMENT_NAME}",
            parameters=parameters,
            timeout=0,
            idempotency_key=f"{inspection_id}:{phase}",
            as_subflow=False,
        )
        record_flow_run(self.ctx, inspection_id, phase, str(flow_run.id))


class PrefectWaker:
    """Resume a suspended phase run; retry briefly if it is still finishing its pass."""

    def __init__(self, ctx: EngineContext, *, attempts: int = 10, pause: float = 0.5) -> None:
        self.ctx = ctx
        self.attempts, self.pause = attempts, pause
        self._busy: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def wake(self, inspection_id: str, phase: str, *, reason: str) -> None:
        """Resume the phase's run once, however many decisions arrive together (the ticker covers any miss)."""
        with self._lock:
            if (inspection_id, phase) in self._busy:
                # A wake is already on its way: the resumed run reads every decision recorded so far, and
                # one recorded after its pass makes it go again instead of waiting (the change counter).
                return
            self._busy.add((inspection_id, phase))
        try:
            self._wake(inspection_id, phase, reason=reason)
        finally:
            with self._lock:
                self._busy.discard((inspection_id, phase))

    def _wake(self, inspection_id: str, phase: str, *, reason: str) -> None:
        for _ in range(self.attempts):
            run = get_phase(self.ctx, inspection_id, phase)
            if run is None or run.status == "done" or not run.flow_run_id:
                return
            if run.status == "waiting":
                try:
                    resume_flow_run(UUID(run.flow_run_id), run_input={"reason": reason})
                    return
                except (NotPausedError, RuntimeError, ObjectNotFound) as exc:
                    log.info("wake %s/%s not yet possible: %s", inspection_id, phase, exc)
            time.sleep(self.pause)

    def wake_in_background(self, inspection_id: str, phase: str, *, reason: str) -> None:
        """Wake without holding up the caller."""
        threading.Thread(
            target=self.wake, args=(inspection_id, phase), kwargs={"reason": reason}, daemon=True
        ).start()


def build_live_runtime(settings: Settings | None = None) -> Runtime:
    """Build the live runtime from settings."""
    settings = settings or load_settings()
    ctx = build_context(settings)
    return Runtime(
        context=ctx, waiter=SuspendWaiter(ctx), launcher=DeploymentLauncher(ctx), waker=PrefectWaker(ctx)
    )
