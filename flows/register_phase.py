"""The loop every waiting phase runs: reconcile, publish, then finish or wait without a process."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from send_inspection.catalogue.phases import phase_catalogue
from send_inspection.engine.mail_problems import MAY_PASS
from send_inspection.engine.register_phase import PassResult
from send_inspection.runtime import current_runtime
from tasks.inspection_tasks import finish_phase_task, start_phase_task
from tasks.mail_problem_tasks import mail_problem_task
from tasks.register_tasks import publish_register_task, reconcile_register_task
from tasks.retry_policy import MAIL_RETRY_DELAYS


def run_phase_loop(
    inspection_id: str,
    phase: str,
    *,
    reconcile: Callable[[], PassResult],
    publish: Callable[[PassResult], None],
) -> str:
    """Reconcile the phase until it is done, publishing each pass and waiting between passes."""
    rt = current_runtime()
    while True:
        result, retry_at = reconcile_trying_mail_again(inspection_id, phase, reconcile=reconcile)
        publish(result)
        if result.done:
            finish_phase_task(inspection_id, phase, result.reason)
            if (then := phase_catalogue().spec(phase).then) is not None:
                start_phase_task(inspection_id, then)
            return result.reason
        wake_at = min((t for t in (result.next_wake_at, retry_at) if t is not None), default=None)
        if not rt.waiter.wait(inspection_id, phase, reason=result.reason, next_wake_at=wake_at):
            return result.reason


def reconcile_trying_mail_again(
    inspection_id: str, phase: str, *, reconcile: Callable[[], PassResult]
) -> tuple[PassResult, datetime | None]:
    """Reconcile; while emails fail in a way that may pass, show it and try again after each delay but the last.

    Return the last pass and, if emails still fail that way, when the waiting phase should try again (after the
    last delay). Only the live runtime waits in real time; a rehearsal keeps the engine's own retry time.
    """
    rt = current_runtime()
    result = reconcile()
    delays = MAIL_RETRY_DELAYS if rt.mode == "live" else []
    for tries, delay in enumerate(delays, start=1):
        if not result.mail_failures:
            break
        retry_at = rt.context.clock.now() + timedelta(seconds=delay)
        shown = mail_problem_task(inspection_id, phase, result.mail_failures, retry_at, return_state=True)
        if shown.name != MAY_PASS:
            break
        if tries == len(delays):
            return result, retry_at
        time.sleep(delay)
        result = reconcile()
    return result, None


def run_register_phase(inspection_id: str, phase: str) -> str:
    """Reconcile the phase's register until every item is uploaded or explained, waiting between passes."""
    return run_phase_loop(inspection_id, phase, reconcile=lambda: reconcile_register_task(inspection_id, phase),
                          publish=publish_register_task)
