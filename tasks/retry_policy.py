"""Retry policy shared by the tasks that talk to a mail server."""

from __future__ import annotations

from typing import Any

from send_inspection.mail.transport import MailTransportError
from send_inspection.settings import mail_retry_delays

# Seconds between tries (SEND_INSPECTION_MAIL_RETRY_DELAYS, default 10, 60, 300): a task that raised a failure that
# may pass is retried after each; a phase pass that could not send tries again after all but the last, then waits
# and wakes after the last, again and again until the server takes the emails.
MAIL_RETRY_DELAYS = list(mail_retry_delays())


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only when the mail server's failure may pass (down, busy, 4xx)."""
    try:
        state.result()
    except MailTransportError as exc:
        return exc.retryable
    except Exception:
        return False
    return False
