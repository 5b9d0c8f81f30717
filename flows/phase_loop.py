"""The loop every waiting phase runs: reconcile, publish, then finish or wait without a process."""

from __future__ import annotations

import time
from collections.abc import Callable

from prefect import get_run_logger

from send_inspection.catalogue.phases import phase_catalogue
from send_inspection.engine.mail_problems import MAY_PASS
from send_inspection.engine.passes import PassResult
from send_inspection.live.wiring import current_runtime
from tasks.inspection_tasks import finish_phase_task, start_phase_task
from tasks.mail_problem_tasks import mail_problem_task


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
        result = reconcile_trying_mail_again(inspection_id, phase, reconcile=reconcile)
        publish(result)
        get_run_logger().info("%s: this pass sent %d email(s)", phase, result.sent)
        if result.done:
            finish_phase_task(inspection_id, phase, result.reason)
            if (then := phase_catalogue().spec(phase).then) is not None:
                start_phase_task(inspection_id, then)
            return result.reason
        if not rt.waiter.wait(inspection_id, phase, reason=result.reason, next_wake_at=result.next_wake_at):
            return result.reason


def reconcile_trying_mail_again(
    inspection_id: str, phase: str, *, reconcile: Callable[[], PassResult]
) -> PassResult:
    """Reconcile; while emails fail in a way that may pass, show it and try again after each in-process delay.

    Every pass whose emails failed is shown to operators (a failed "Mail problem" task with an ERROR log and an
    artifact). Once the delays the mail retry policy tries in the process are spent, the pass's own wake time says
    when the waiting phase tries again (engine/mail_retry.py decides both; ADR 0003).
    """
    ctx = current_runtime().context
    retry = ctx.mail_retry
    result = reconcile()
    for delay in (*retry.in_process, None):
        if not result.mail_failures:
            break
        retry_at = ctx.clock.now() + (retry.then_every if delay is None else delay)
        shown = mail_problem_task(inspection_id, phase, result.mail_failures, retry_at, return_state=True)
        if delay is None or shown.name != MAY_PASS:
            break
        time.sleep(delay.total_seconds())
        result = reconcile()
    return result
