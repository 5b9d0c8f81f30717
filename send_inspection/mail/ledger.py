"""Send each email at most once per key, recording every send in the email ledger."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from send_inspection.db.models import EmailRecord
from send_inspection.mail.message import OutgoingMessage, all_recipients, message_id_for
from send_inspection.mail.transport import MailTransport, MailTransportError

log = logging.getLogger(__name__)

# When an email of a kind, due now, may go: (kind, now, the deadline an ask asks to meet or None) -> the time.
SendTimeRule = Callable[[str, datetime, "datetime | None"], datetime]


class MailDeferred(Exception):  # noqa: N818 - not an error: the email waits for its time
    """An email not sent yet because it may not go before `until` (the quiet hours): try again then."""

    def __init__(self, key: str, until: datetime) -> None:
        super().__init__(f"{key} may not go before {until.isoformat()}")
        self.key = key
        self.until = until


# A claim older than this with no 'sent' mark is from a process that died mid-send: try again,
# with the same Message-ID, so a receiving server can tell the two copies apart.
STALE_CLAIM = timedelta(minutes=5)


def release_claims(session: Session, prefix: str, *, claimed_before: datetime, error: str) -> None:
    """Mark failed the claims on keys starting with `prefix` taken before `claimed_before` (their sender died).

    A fresh run then sends them at once instead of after the stale-claim wait; the caller commits.
    """
    session.execute(
        update(EmailRecord)
        .where(EmailRecord.key.startswith(prefix, autoescape=True), EmailRecord.status == "claimed",
               EmailRecord.claimed_at <= claimed_before)
        .values(status="failed", error=error)
        .execution_options(synchronize_session=False)
    )


class MailLedger:
    """Claim a key, build and send the message, mark it sent: a re-run finds the key and sends nothing.

    With a `send_window`, an email that may not go yet (the quiet hours) is not claimed: `send_once` raises
    MailDeferred, saying when it may go, and the caller tries again then.
    """

    def __init__(self, sessions: Callable[[], Session], transport: MailTransport, *,
                 send_window: SendTimeRule | None = None) -> None:
        self._sessions = sessions
        self.transport = transport
        self.send_window = send_window

    def already_sent(self, key: str) -> bool:
        """Say whether the email with this key has been sent."""
        with self._sessions() as session:
            status = session.scalar(select(EmailRecord.status).where(EmailRecord.key == key))
        return status == "sent"

    def _settled(self, key: str) -> bool:
        """Say whether the email with this key was sent or refused for good (nothing more to do)."""
        with self._sessions() as session:
            status = session.scalar(select(EmailRecord.status).where(EmailRecord.key == key))
        return status in ("sent", "refused")

    def sent_keys(self, prefix: str) -> set[str]:
        """Return the keys already sent that start with `prefix`."""
        with self._sessions() as session:
            rows = session.scalars(
                select(EmailRecord.key).where(EmailRecord.key.startswith(prefix), EmailRecord.status == "sent")
            )
            return set(rows)

    def _claim(self, key: str, *, inspection_id: str, template: str, now: datetime, due_at: datetime | None) -> bool:
        with self._sessions() as session:
            existing = session.scalars(select(EmailRecord).where(EmailRecord.key == key)).first()
            if existing is not None:
                if existing.status in ("sent", "refused"):
                    return False
                if existing.status == "claimed" and now - existing.claimed_at < STALE_CLAIM:
                    return False
                # Conditional on the attempt count read above: of two processes re-claiming at once, one wins.
                claimed = session.execute(
                    update(EmailRecord)
                    .where(EmailRecord.key == key, EmailRecord.attempts == existing.attempts)
                    .values(status="claimed", claimed_at=now, attempts=existing.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                session.commit()
                return claimed.rowcount == 1
            session.add(
                EmailRecord(
                    key=key,
                    inspection_id=inspection_id,
                    template=template,
                    recipients=[],
                    subject="",
                    status="claimed",
                    transport=self.transport.name,
                    due_at=due_at,
                    claimed_at=now,
                    attempts=1,
                )
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True

    def send_once(
        self,
        key: str,
        build: Callable[[], OutgoingMessage],
        *,
        inspection_id: str,
        template: str,
        now: datetime,
        due_at: datetime | None = None,
        deadline: datetime | None = None,
    ) -> bool:
        """Send the message `build()` makes unless `key` was sent already; return whether it was sent now.

        `template` names the kind of email; `deadline` is the deadline an ask asks to meet (an ask whose deadline
        falls in the quiet hours goes at once). Raise MailDeferred when the send window holds the email back.
        """
        if self.send_window is not None:
            may_go_at = self.send_window(template, now, deadline)
            if may_go_at > now and not self._settled(key):
                raise MailDeferred(key, may_go_at)
        if not self._claim(key, inspection_id=inspection_id, template=template, now=now, due_at=due_at):
            return False
        message: OutgoingMessage | None = None
        try:
            message = build()
            message_id = self.transport.send(message, sent_at=now)
        except MailTransportError as exc:
            if exc.partial and message is not None:
                # Delivered to some recipients: sending again would give them a second copy.
                self._mark(key, status="sent", message=message, message_id=message_id_for(message.key), sent_at=now,
                           error=str(exc))
                # Counts only: the refused addresses are in the ledger row, not in the logs.
                log.warning("sent %s to only some recipients (%d refused)", key, len(exc.refused))
                return True
            # 'refused' is never tried again by itself: a person has to correct the address or the config.
            self._mark(key, status="failed" if exc.retryable else "refused", error=str(exc))
            raise
        except Exception as exc:
            self._mark(key, status="failed", error=f"{type(exc).__name__}: {exc}")
            raise
        self._mark(key, status="sent", message=message, message_id=message_id, sent_at=now)
        log.info("sent %s (%s)", key, template)
        return True

    def _mark(
        self,
        key: str,
        *,
        status: str,
        message: OutgoingMessage | None = None,
        message_id: str | None = None,
        sent_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        with self._sessions() as session:
            record = session.scalars(select(EmailRecord).where(EmailRecord.key == key)).one()
            record.status = status
            record.error = error
            if message is not None:
                record.recipients = all_recipients(message)
                record.subject = message.subject
            record.message_id = message_id
            record.sent_at = sent_at
            session.commit()
