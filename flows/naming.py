"""Run names operators read in the Prefect UI: the inspection and the phase."""

from __future__ import annotations

from datetime import datetime

from prefect.runtime import flow_run

from send_inspection.calendar import LONDON


def phase_run_name(label: str, *, param: str | None = None):  # noqa: ANN201
    """Return a callable naming a run '<inspection id> · <label>[ <value of param>]' from its parameters."""

    def name() -> str:
        params = flow_run.parameters or {}
        inspection = params.get("inspection_id") or _inspection_from_notified(params.get("notified_at"))
        suffix = f" {params.get(param, '')}" if param else ""
        return f"{inspection or 'inspection'} · {label}{suffix}"

    return name


def _inspection_from_notified(notified: object) -> str | None:
    """Return the id the inspection will get from its notification time, if it can be read."""
    from send_inspection.engine.inspection import inspection_id_for
    from send_inspection.live.wiring import current_runtime

    if isinstance(notified, str):
        try:
            notified = datetime.fromisoformat(notified)
        except ValueError:
            return None
    if not isinstance(notified, datetime):
        return None
    if notified.tzinfo is None:
        notified = notified.replace(tzinfo=LONDON)
    return inspection_id_for(current_runtime().context.config, notified)
