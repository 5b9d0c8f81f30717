"""Task that polls the watched shared inboxes once and starts or wakes what their messages call for."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.catalogue.phases import ADDITIONAL_REQUEST
from send_inspection.intake.mailboxes import poll_inboxes
from send_inspection.live.wiring import current_runtime
from send_inspection.settings import INTAKE_TRANSPORTS, load_settings


# No retries: the next run, two minutes later, is the retry (and a message that failed is handed over again).
@task(name="poll-inboxes", cache_policy=NO_CACHE, persist_result=False)
def poll_inboxes_task(inspection_id: str | None = None) -> str:
    """Take the new messages in the watched inboxes once; start each request recorded, wake each step answered."""
    rt = current_runtime()
    ctx = rt.context
    if ctx.transport.name not in INTAKE_TRANSPORTS:
        return (f"Mailbox intake needs SEND_INSPECTION_MAIL=ews or graph (mail goes by {ctx.transport.name}): "
                "no inbox polled.")
    inboxes = load_settings().watch_inboxes
    if not inboxes:
        return "SEND_INSPECTION_WATCH_INBOXES is empty: no inbox polled."
    result = poll_inboxes(ctx, ctx.transport, inboxes=inboxes, inspection_id=inspection_id)
    if result.inspection_id is not None:
        for number in result.recorded:
            rt.launcher.start(result.inspection_id, ADDITIONAL_REQUEST.phase(number))
        for phase in result.to_wake:
            rt.waker.wake(result.inspection_id, phase, reason="evidence received by email")
    return result.summary()
