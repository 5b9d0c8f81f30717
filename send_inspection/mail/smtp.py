"""Send mail through an SMTP relay (the council's mail server or a local test server)."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage

from send_inspection.mail.message import OutgoingMessage, all_recipients, message_id_for, to_email_message
from send_inspection.mail.transport import MailTransportError


def _retryable_code(code: int) -> bool:
    """Return whether an SMTP reply code is a transient (4xx) failure."""
    return 400 <= code < 500


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


class SmtpTransport:
    """Deliver messages to an SMTP server with smtplib; Bcc recipients go in the envelope only."""

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        use_ssl: bool = False,
        timeout: float = 30.0,
    ) -> None:
        if starttls and use_ssl:
            raise ValueError("starttls and use_ssl are exclusive: use_ssl is TLS from the first byte")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.use_ssl = use_ssl
        self.timeout = timeout

    @property
    def server(self) -> str:
        """Return "host:port" for error messages and logs."""
        return f"{self.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def _error(
        self, cause: str, *, retryable: bool, refused: tuple[str, ...] = (), partial: bool = False,
        reason: str | None = None,
    ) -> MailTransportError:
        """Return the error; `reason` is `cause` without the server's own words (the whole `cause` when not given)."""
        return MailTransportError(f"smtp {self.server}: {cause}", retryable=retryable, refused=refused,
                                  partial=partial, reason=f"smtp {self.server}: {reason or cause}")

    def send(self, message: OutgoingMessage, *, sent_at: datetime) -> str:
        """Send `message` to every recipient (to, cc and bcc) and return its Message-ID."""
        email = to_email_message(message, sent_at=sent_at)
        recipients = all_recipients(message)
        try:
            refused = self._deliver(email, sender=message.sender, recipients=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            # Every recipient was refused; a 4xx here is greylisting or a full mailbox: try later.
            codes = [code for code, _reply in exc.recipients.values()]
            details = "; ".join(
                f"{address}: {code} {_reply_text(reply)}" for address, (code, reply) in exc.recipients.items()
            )
            raise self._error(
                f"all recipients refused ({details})",
                retryable=bool(codes) and all(_retryable_code(code) for code in codes),
                refused=tuple(exc.recipients), reason=f"all {len(exc.recipients)} recipient(s) refused",
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise self._error(
                f"authentication failed: {exc.smtp_code} {_reply_text(exc.smtp_error)}",
                retryable=_retryable_code(exc.smtp_code), reason=f"authentication failed ({exc.smtp_code})",
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # SMTPSenderRefused, SMTPDataError, SMTPHeloError...: the reply code decides.
            raise self._error(
                f"{type(exc).__name__}: {exc.smtp_code} {_reply_text(exc.smtp_error)}",
                retryable=_retryable_code(exc.smtp_code), reason=f"{type(exc).__name__} ({exc.smtp_code})",
            ) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise self._error(f"server disconnected: {exc}", retryable=True, reason="server disconnected") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise self._error(f"not supported by the server: {exc}", retryable=False,
                              reason="not supported by the server") from exc
        except ssl.SSLCertVerificationError as exc:
            raise self._error(f"TLS certificate not trusted: {exc.verify_message}", retryable=False,
                              reason="TLS certificate not trusted") from exc
        except ssl.SSLError as exc:
            raise self._error(f"TLS error: {exc.reason or exc}", retryable=True, reason="TLS error") from exc
        except TimeoutError as exc:
            raise self._error(f"timed out after {self.timeout:g}s", retryable=True) from exc
        except ConnectionRefusedError as exc:
            raise self._error("connection refused", retryable=True) from exc
        except smtplib.SMTPException as exc:
            # SMTPException is an OSError: it must be caught before the generic network errors.
            raise self._error(f"{type(exc).__name__}: {exc}", retryable=True, reason=type(exc).__name__) from exc
        except OSError as exc:
            # Network unreachable, DNS failure, connection reset...
            raise self._error(f"{type(exc).__name__}: {exc.strerror or exc}", retryable=True,
                              reason=type(exc).__name__) from exc
        if refused:
            # Some recipients got the message: a retry would send it to them twice, so do not retry.
            details = "; ".join(
                f"{address}: {code} {_reply_text(reply)}" for address, (code, reply) in refused.items()
            )
            raise self._error(
                f"delivered to {len(recipients) - len(refused)} of {len(recipients)} recipients; "
                f"refused: {details}",
                retryable=False,
                refused=tuple(refused),
                partial=True,
                reason=f"delivered to {len(recipients) - len(refused)} of {len(recipients)} recipients",
            )
        return message_id_for(message.key)

    def _deliver(
        self, email: EmailMessage, *, sender: str, recipients: list[str]
    ) -> dict[str, tuple[int, bytes]]:
        client = self._connect()
        try:
            client.ehlo_or_helo_if_needed()
            if self.starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if self.username is not None and self.password is not None:
                client.login(self.username, self.password)
            refused = client.send_message(email, from_addr=sender, to_addrs=recipients)
        except BaseException:
            # Do not say QUIT to a server that just failed or timed out: that could block again.
            with contextlib.suppress(OSError):
                client.close()
            raise
        try:
            client.quit()
        except OSError:  # smtplib errors are OSErrors too; the message is already accepted.
            with contextlib.suppress(OSError):
                client.close()
        return refused
