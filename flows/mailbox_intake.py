"""The mailbox intake: every two minutes, take what arrived in the comms and evidence inboxes (EWS or Graph)."""

from __future__ import annotations

from prefect import flow

from tasks.intake_tasks import poll_inboxes_task


@flow(name="mailbox-intake", flow_run_name="mailbox intake", log_prints=True)
def mailbox_intake(inspection_id: str | None = None) -> str:
    """Record forwarded requests and take emailed evidence from the watched shared inboxes, once.

    Args:
        inspection_id: The inspection; empty for the live inspection notified most recently.
    """
    summary = poll_inboxes_task(inspection_id)
    print(summary)
    return summary
