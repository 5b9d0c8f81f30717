"""The live runtime: Prefect suspend/resume for waiting, deployments for phases, the system clock."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.context import FlowRunContext
from prefect.exceptions import NotPausedError, ObjectNotFound
from prefect.flow_runs import resume_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.states import Crashed, State

from send_inspection.calendar import to_london
from send_inspection.catalogue.phases import NOTIFICATION, phase_catalogue, phase_label
from send_inspection.childdata.columns import child_data_config_if_any
from send_inspection.clock import SystemClock
from send_inspection.config.loader import calendar_for, load_config
from send_inspection.db.session import migrate
from send_inspection.engine.context import EngineContext
from send_inspection.engine.notification import SurveyLinks
from send_inspection.engine.phases import beat, begin_wait, get_phase, record_flow_run
from send_inspection.engine.recovery import MAX_RECOVERIES, CarriedPhase, carried_phases, give_up, take_over
from send_inspection.mail.outbox import OutboxTransport
from send_inspection.mail.smtp import SmtpTransport
from send_inspection.mail.transport import MailTransport
from send_inspection.runtime import Runtime
from send_inspection.settings import Settings, load_settings

log = logging.getLogger(__name__)

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
            secret=graph.secret.read if graph.secret else None,
            certificate=graph.certificate.read if graph.certificate else None,
            thumbprint=graph.thumbprint,
            authority=graph.authority,
            graph_base=graph.graph_base,
            max_wait=graph.max_wait,
            timeout=graph.timeout,
            ca_bundle=graph.ca_bundle,
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


class Heartbeat:
    """Renew, from a daemon thread, the lease of the phases this flow run carries while its process lives."""

    def __init__(self, ctx: EngineContext, flow_run_id: str, *, every: float) -> None:
        self.ctx, self.flow_run_id, self.every = ctx, flow_run_id, every

    def start(self) -> None:
        """Beat now and then every `every` seconds until the process ends."""
        threading.Thread(target=self._run, name="phase-heartbeat", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                beat(self.ctx, self.flow_run_id)
            except Exception as exc:  # a missed beat is harmless; a dead thread would let the lease run out
                log.warning("phase heartbeat of %s missed: %s", self.flow_run_id, exc)
            time.sleep(self.every)


class SuspendWaiter:
    """Wait by suspending the flow run: no process is held; a decision or the ticker resumes it."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    def wait(self, inspection_id: str, phase: str, *, reason: str, next_wake_at: datetime | None) -> bool:
        """Suspend with a fresh key; return True at once if news arrived while reconciling."""
        ticket = begin_wait(
            self.ctx, inspection_id, phase, reason=reason, next_wake_at=next_wake_at, flow_run_id=_flow_run_id()
        )
        if ticket.superseded:
            # The ticker took this run for dead and a fresh run carries the phase now: leave it to that run.
            log.warning("%s %s is carried by another run now; this run stops here", inspection_id, phase)
            return False
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
        ticket = begin_wait(self.ctx, inspection_id, NOTIFICATION.key, flow_run_id=_flow_run_id(), next_wake_at=None,
                            reason="Waiting for the coordinator to enter the three survey links (Resume this run)")
        if ticket.superseded:
            return None  # a fresh run carries the phase now
        given = suspend_flow_run(wait_for_input=SurveyLinksInput, key="survey-links", timeout=None)
        return SurveyLinks.model_validate(given.model_dump(include=set(SurveyLinks.model_fields)))


class DeploymentLauncher:
    """Start a phase as a run of its deployment; Prefect's idempotency key makes a repeat harmless."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    def start(self, inspection_id: str, phase: str) -> None:
        """Create the phase's flow run once and remember its id."""
        flow_run_id = self.launch(inspection_id, phase, idempotency_key=f"{inspection_id}:{phase}")
        record_flow_run(self.ctx, inspection_id, phase, flow_run_id)

    def launch(self, inspection_id: str, phase: str, *, idempotency_key: str) -> str:
        """Create a run of the phase's deployment (once per key) and return its id."""
        from prefect.deployments import run_deployment

        flow_run = run_deployment(
            name=phase_catalogue().spec(phase).deployment.name,
            parameters=self._parameters(inspection_id, phase),
            timeout=0,
            idempotency_key=idempotency_key,
            as_subflow=False,
        )
        return str(flow_run.id)

    def _parameters(self, inspection_id: str, phase: str) -> dict[str, object]:
        spec = phase_catalogue().spec(phase)
        if not spec.starts.by_coordinator:
            return spec.run_parameters(inspection_id, phase)
        from send_inspection.db import models as m

        with self.ctx.session() as session:  # the coordinator's run: started again with what it was given
            inspection = session.get(m.Inspection, inspection_id)
            assert inspection is not None, inspection_id
            return {"notified_at": inspection.notified_at.isoformat(), "inspection_id": inspection_id,
                    "kind": inspection.kind}


# Prefect states of a phase's run that may mean its process died (checked against the lease) or that it ended
# without finishing the phase (a run that finishes it marks the phase done first).
SUSPECT = (StateType.RUNNING, StateType.PENDING, StateType.CRASHED, StateType.FAILED, StateType.COMPLETED)
# A Pending run has no process yet: the worker is starting one, which on a busy machine takes a while. It is taken
# for dead (the worker died before starting it) only after this many leases.
PENDING_LEASES = 5


class ZombieRecovery:
    """Find phases whose flow run died (worker killed, machine restarted) and give each a fresh run.

    A run is dead when Prefect says it crashed or failed, or when it is Running or Pending in Prefect but neither
    its state nor its process's heartbeat has moved for longer than the lease. The dead run is marked Crashed with
    a message saying so, and a fresh run of the phase's deployment takes over; the reconciler does what is due.
    """

    def __init__(self, ctx: EngineContext, *, lease: timedelta, launcher: DeploymentLauncher | None = None) -> None:
        self.ctx, self.lease = ctx, lease
        self.launcher = launcher or DeploymentLauncher(ctx)

    def recover(self) -> list[str]:
        """Start a fresh run for every dead phase; return "<inspection> <phase>" of each phase taken over."""
        carried = {c.flow_run_id: c for c in carried_phases(self.ctx) if _is_uuid(c.flow_run_id)}
        recovered = []
        for flow_run in self._suspects(list(carried)):
            phase = carried[str(flow_run.id)]
            assert flow_run.state is not None
            last_seen = max(t for t in (flow_run.state.timestamp, phase.heartbeat_at) if t is not None)
            why = why_dead(flow_run.state, last_seen=last_seen, now=self.ctx.clock.now(), lease=self.lease)
            if why is not None and self._take_over(phase, flow_run, why=why, last_seen=last_seen):
                recovered.append(f"{phase.inspection_id} {phase.phase}")
        return recovered

    def _suspects(self, flow_run_ids: list[str]) -> list[FlowRun]:
        if not flow_run_ids:
            return []
        with get_client(sync_client=True) as client:
            return client.read_flow_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[UUID(i) for i in flow_run_ids]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=list(SUSPECT)))))

    def _take_over(self, phase: CarriedPhase, flow_run: FlowRun, *, why: str, last_seen: datetime) -> bool:
        label = f"{phase_label(phase.phase)} of {phase.inspection_id}"
        if phase.recoveries >= MAX_RECOVERIES:
            give_up(self.ctx, phase, reason=f"STUCK: {label} died {phase.recoveries + 1} times in a row, last "
                                            f"because {why}. Look at run {flow_run.id}, then run its deployment.")
            log.error("%s is stuck: %s fresh runs died in a row (%s)", label, phase.recoveries + 1, why)
            return False
        fresh = self.launcher.launch(phase.inspection_id, phase.phase,
                                     idempotency_key=f"{phase.inspection_id}:{phase.phase}:after:{flow_run.id}")
        # Recorded at once: the fresh run must find itself the phase's run when it first waits.
        taken = take_over(self.ctx, phase, fresh, reason=f"started afresh: {why}",
                          claimed_before=last_seen + self.lease / 3)
        message = f"Dead run: {why}. A fresh run ({fresh}) has taken over {label}."
        assert flow_run.state is not None
        if flow_run.state.type in (StateType.RUNNING, StateType.PENDING):
            with get_client(sync_client=True) as client:
                client.set_flow_run_state(flow_run.id, Crashed(message=message), force=True)
        if taken:
            log.error("%s", message)
        return taken


def why_dead(state: State, *, last_seen: datetime, now: datetime, lease: timedelta) -> str | None:
    """Say why a phase's run in `state`, last seen alive at `last_seen`, is dead; None if it may be alive."""
    if state.type in (StateType.CRASHED, StateType.FAILED, StateType.COMPLETED):
        return f"its run ended {state.name} without finishing the phase ({state.message or 'no message'})"
    if state.type not in (StateType.RUNNING, StateType.PENDING):
        return None  # suspended, or scheduled and waiting for a worker
    allowed = lease * (PENDING_LEASES if state.type == StateType.PENDING else 1)
    if now - last_seen > allowed:
        return (f"its run has been {state.name} with no sign of life since {to_london(last_seen):%H:%M:%S} "
                f"London time (allowed {allowed.total_seconds():g}s): its process stopped")
    return None


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


class PrefectWaker:
    """Resume a suspended phase run; retry briefly if it is still finishing its pass."""

    def __init__(self, ctx: EngineContext, *, attempts: int = 10, pause: float = 0.5) -> None:
        self.ctx = ctx
        self.attempts, self.pause = attempts, pause
        self._busy: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def wake(self, inspection_id: str, phase: str, *, reason: str, due_at: datetime | None = None) -> None:
        """Resume the phase's run once, however many decisions arrive together (the ticker covers any miss).

        With `due_at` (the ticker's time) the run is resumed only while it is still due then: news not yet read,
        or its wake time come; a pass that ran meanwhile may have made the wake pointless.
        """
        with self._lock:
            if (inspection_id, phase) in self._busy:
                # A wake is already on its way: the resumed run reads every decision recorded so far, and
                # one recorded after its pass makes it go again instead of waiting (the change counter).
                return
            self._busy.add((inspection_id, phase))
        try:
            self._wake(inspection_id, phase, reason=reason, due_at=due_at)
        except (httpx.HTTPError, OSError) as exc:
            # The decision is in our database already; the ticker wakes the phase once the server is back.
            log.warning("wake %s/%s: the Prefect server is not answering (%s); the ticker wakes it later",
                        inspection_id, phase, exc)
        finally:
            with self._lock:
                self._busy.discard((inspection_id, phase))

    def _wake(self, inspection_id: str, phase: str, *, reason: str, due_at: datetime | None) -> None:
        for _ in range(self.attempts):
            run = get_phase(self.ctx, inspection_id, phase)
            if run is None or run.status == "done" or not run.flow_run_id:
                return
            if run.status == "waiting":
                if due_at is not None and run.changes <= run.seen_changes and (
                        run.next_wake_at is None or run.next_wake_at > due_at):
                    return
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
    """Build the live runtime from settings; inside a flow run, start the heartbeat of the phases it carries."""
    settings = settings or load_settings()
    ctx = build_context(settings)
    flow_run_id = _flow_run_id()
    if flow_run_id is not None:
        Heartbeat(ctx, flow_run_id, every=settings.phase_lease / 3).start()
    return Runtime(
        context=ctx, waiter=SuspendWaiter(ctx), launcher=DeploymentLauncher(ctx), waker=PrefectWaker(ctx)
    )
