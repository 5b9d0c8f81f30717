"""Retry policy shared by the tasks that talk to a mail server."""

from __future__ import annotations

from typing import Any

from send_inspection.mail.transport import MailTransportError

MAIL_RETRY_DELAYS = [10, 60, 300]


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only when the mail server's failure may pass (down, busy, 4xx)."""
    try:
        state.result()
    except MailTransportError as exc:
        return exc.retryable
    except Exception:
        return False
    return False
