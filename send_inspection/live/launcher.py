"""Start a phase live: a run of the deployment its catalogue entry declares, once per idempotency key."""

from __future__ import annotations

from send_inspection.catalogue.phases import phase_catalogue
from send_inspection.engine.context import EngineContext
from send_inspection.engine.phase_rows import record_flow_run


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
