"""What one reconcile pass of a phase did, and what the phase now waits for and until when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from send_inspection.calendar import to_london
from send_inspection.engine.item_chasing import ItemStatus
from send_inspection.engine.mail_retry import MailFailures


@dataclass(frozen=True)
class PassResult:
    """What one reconcile pass did and what the phase now waits for."""

    inspection_id: str
    phase: str
    done: bool
    sent: int
    next_wake_at: datetime | None
    reason: str
    items: list[ItemStatus] = field(default_factory=list)
    mail_failures: list[str] = field(default_factory=list)
    # Summaries this pass sent (fieldwork: the KIT days, as ISO dates), for the operators' artifacts.
    summaries_sent: list[str] = field(default_factory=list)


def pass_result(
    inspection_id: str,
    phase: str,
    *,
    finished: bool,
    sent: int,
    reason: str,
    statuses: list[ItemStatus],
    mail: MailFailures,
    wake_times: list[datetime],
    now: datetime,
    summaries_sent: list[str] | None = None,
) -> PassResult:
    """Close a pass: stay awake until every due email has gone, wake at the earliest time due, say what failed."""
    done = finished and not mail.retry and not mail.deferred  # the completion notice too must have gone
    if (retry_at := mail.retry_at(now)) is not None:
        wake_times.append(retry_at)
    if mail.deferred:
        held_until = min(mail.deferred.values())
        wake_times.append(held_until)
        reason = (f"{reason} ({len(mail.deferred)} email(s) held for the quiet hours until "
                  f"{to_london(held_until):%a %d %b %H:%M})")
    next_wake = min(wake_times) if wake_times and not done else None
    if mail.failures:
        reason = f"{mail.summary(next_wake)} {reason}"
    return PassResult(inspection_id=inspection_id, phase=phase, done=done, sent=sent, next_wake_at=next_wake,
                      reason=reason, items=statuses, mail_failures=mail.failures,
                      summaries_sent=summaries_sent or [])
