"""Run names operators read in the Prefect UI: the inspection and the phase."""

from __future__ import annotations

from prefect.runtime import flow_run


def phase_run_name(label: str):  # noqa: ANN201
    """Return a callable naming a run '<inspection id> · <label>' from its parameters."""

    def name() -> str:
        params = flow_run.parameters or {}
        inspection = params.get("inspection_id")
        if not inspection and params.get("notified_at") is not None:
            notified = params["notified_at"]
            inspection = f"notified {str(notified)[:16]}"
        return f"{inspection or 'inspection'} · {label}"

    return name
