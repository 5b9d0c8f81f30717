"""The Prefect flow run this process carries, if any."""

from __future__ import annotations

from prefect.context import FlowRunContext


def current_flow_run_id() -> str | None:
    """Return the id of the flow run this code runs in (None outside a flow run)."""
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else None
