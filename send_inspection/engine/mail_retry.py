"""When an email that failed in a way that may pass is tried again: the one place that decides it (ADR 0003)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from send_inspection.calendar import to_london
from send_inspection.mail.ledger import MailDeferred
from send_inspection.mail.transport import MailTransportError

log = logging.getLogger(__name__)

# A rehearsal or a test never waits in real time: its phase wakes to try again this much later on its own clock.
DEFAULT_THEN_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class MailRetry:
    """Try a pass whose emails failed again after each of `in_process` (its process waiting), then wait and wake.

    After the delays tried in the process, the phase waits without a process and wakes `then_every` later to try
    again, again and again until the server takes the emails. A refused email (an address to correct) is not tried
    again by any of this: the next pass sends it once someone has corrected it.
    """

    in_process: tuple[timedelta, ...] = field(default_factory=tuple)
    then_every: timedelta = DEFAULT_THEN_EVERY

    @classmethod
    def from_seconds(cls, delays: Iterable[float]) -> MailRetry:
        """Return the policy of SEND_INSPECTION_MAIL_RETRY_DELAYS: each delay but the last in process, then the last."""
        *first, last = (timedelta(seconds=s) for s in delays)
        return cls(in_process=tuple(first), then_every=last)


class MailFailures:
    """Collect the emails a pass could not send, so one bad address or a down server stops nothing else."""

    def __init__(self, policy: MailRetry) -> None:
        self.policy = policy
        self.failures: list[str] = []
        self.retry = False
        # Emails held back by the quiet hours: key -> when each may go.
        self.deferred: dict[str, datetime] = {}

    @contextmanager
    def guard(self, key: str) -> Iterator[None]:
        """Run one send; on a mail failure, note it and carry on with the next; note an email held back."""
        try:
            yield
        except MailDeferred as held:
            self.deferred[key] = held.until
        except MailTransportError as exc:
            # Prefect sees the product's words only: the server's answer may quote an address or a subject (the
            # ledger keeps it).
            words = exc.for_operators()
            self.failures.append(f"{key}: {words}")
            self.retry = self.retry or exc.retryable
            log.error("email %s not sent (%s): %s", key, "will retry" if exc.retryable else "refused", words)

    def retry_at(self, now: datetime) -> datetime | None:
        """Return when the phase wakes to try its failed emails again (None: nothing to try again)."""
        return now + self.policy.then_every if self.retry else None

    def summary(self, retry_at: datetime | None) -> str:
        """Say how many emails failed and when they are tried again."""
        when = f"; trying again at {to_london(retry_at):%H:%M}" if self.retry and retry_at else ""
        return f"MAIL PROBLEM: {len(self.failures)} email(s) not sent{when} (see the logs)."
