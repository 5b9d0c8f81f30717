"""Tasks that reconcile an Annex A phase and show the register to operators."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.catalogue.gates import gate_spec
from send_inspection.catalogue.phases import phase_artifact_key
from send_inspection.catalogue.steps import step_label
from send_inspection.childdata.items import DATA_ITEMS, stored_summary
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.passes import PassResult
from send_inspection.live.wiring import current_runtime
from tasks.artifacts import publish_markdown, publish_table


@task(name="reconcile-register", cache_policy=NO_CACHE, persist_result=False)
def reconcile_annex_a_task(inspection_id: str, phase: str) -> PassResult:
    """Send every ask, reminder and escalation now due in the phase; return what it waits for."""
    return reconcile_annex_a(current_runtime().context, inspection_id, phase)


def register_rows(result: PassResult) -> list[dict[str, object]]:
    """Return the register as operators read it: one row per item, its owner by name (staff, never a child)."""
    return [
        {
            "ref": s.ref,
            "item": s.title,
            "group": s.group,
            "waiting for": "—" if s.outcome else gate_spec(s.waits_for).label if s.waits_for else step_label(s.step),
            "owner": s.owner_name or "—",
            "due": s.due_at,
            "round": s.round,
            "state": s.outcome or ("LATE" if s.late else "open"),
        }
        for s in result.items
    ]


def publish_annex_a(result: PassResult) -> None:
    """Show the register, the waiting reason and the accepted data lists' counts as artifacts."""
    iid, phase = result.inspection_id, result.phase
    publish_table(key=phase_artifact_key(iid, phase, "register"), table=register_rows(result),
                  description=f"Annex A register, {phase}")
    publish_markdown(key=phase_artifact_key(iid, phase, "status"), markdown=f"**{result.reason}**",
                     description="What this phase is waiting for")
    ctx = current_runtime().context
    for ref in DATA_ITEMS:
        summary = stored_summary(ctx, result.inspection_id, ref)
        if summary is not None and any(s.ref == ref for s in result.items):
            from send_inspection.childdata.returns import summary_markdown  # pandas only when there is a summary

            publish_markdown(key=phase_artifact_key(iid, phase, ref, "summary"), markdown=summary_markdown(summary),
                             description=f"What the accepted {ref} lists hold (counts only)")
