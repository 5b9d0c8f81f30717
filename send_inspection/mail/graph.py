"""Send mail through Microsoft Graph (Exchange Online without EWS), as the partnership's shared mailbox."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from send_inspection.mail.message import KEY_HEADER, OutgoingMessage, all_recipients, message_id_for, to_email_message
from send_inspection.mail.transport import MailTransportError

GRAPH_BASE = "https://graph.microsoft.com/v1.0"
TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
SCOPE = "https://graph.microsoft.com/.default"
# Renew a token this long before it expires, so it never runs out between the check and the request.
TOKEN_MARGIN = 120.0
_RECIPIENT_CODES = {"ErrorInvalidRecipients", "ErrorMailRecipientNotFound", "ErrorRecipientNotFound"}
# Refused before any work was done: safe to retry in place. (A 504 may come after the send: not retried here.)
_RETRY_STATUSES = {429, 503}


class GraphError(MailTransportError):
    """A Graph send failure; `applies_to_all` says the next messages would fail the same way (login, outage)."""

    def __init__(self, message: str, *, retryable: bool, refused: tuple[str, ...] = (),
                 applies_to_all: bool = False) -> None:
        super().__init__(message, retryable=retryable, refused=refused)
        self.applies_to_all = applies_to_all


def _loopback_or_https(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"})


def _retry_after(response: httpx.Response) -> float | None:
    """Return the seconds a Retry-After header asks for (a number or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _graph_error(response: httpx.Response) -> tuple[str, str]:
    """Return the (code, message) of a Graph error answer, or the HTTP status when the body is not Graph's."""
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or f"HTTP {response.status_code}"), " ".join(str(error.get("message", "")).split())
    return f"HTTP {response.status_code}", ""


def message_json(message: OutgoingMessage) -> dict[str, Any]:
    """Return the Graph message resource for `message`, with the idempotency key as an internet header."""

    def recipients(addresses: Sequence[str]) -> list[dict[str, dict[str, str]]]:
        return [{"emailAddress": {"address": address}} for address in addresses]

    sender: dict[str, str] = {"address": message.sender}
    if message.sender_name:
        sender["name"] = message.sender_name
    body = (
        {"contentType": "HTML", "content": message.html}
        if message.html is not None
        else {"contentType": "Text", "content": message.text}
    )
    result: dict[str, Any] = {
        "subject": message.subject,
        # Graph takes one body: the HTML one when there is one (Exchange derives the plain text part).
        "body": body,
        "from": {"emailAddress": sender},
        "toRecipients": recipients(message.to),
        "ccRecipients": recipients(message.cc),
        "bccRecipients": recipients(message.bcc),
        "internetMessageHeaders": [{"name": KEY_HEADER, "value": message.key}],
    }
    if message.reply_to is not None:
        result["replyTo"] = recipients([message.reply_to])
    if message.attachments:
        result["attachments"] = [
            {
                "@odata.type": "#microsoft.graph.fileAttachment",
                "name": attachment.filename,
                "contentType": attachment.content_type.split(";")[0].strip(),
                "contentBytes": base64.b64encode(attachment.data).decode("ascii"),
            }
            for attachment in message.attachments
        ]
    return result


class GraphTransport:
    """POST each message to Graph's sendMail for its sender, the shared mailbox, with an app-only token."""

    name = "graph"

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        *,
        secret: str | Callable[[], str],
        token_url: str | None = None,
        graph_base: str = GRAPH_BASE,
        scope: str = SCOPE,
        max_wait: float = 300.0,
        timeout: float = 30.0,
    ) -> None:
        token_url = token_url or TOKEN_URL.format(tenant=tenant_id)
        for what, url in (("token_url", token_url), ("graph_base", graph_base)):
            if not _loopback_or_https(url):
                raise ValueError(f"{what} {url!r}: must be an https:// URL")
        if max_wait < 0:
            raise ValueError("max_wait: must not be negative")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.token_url = token_url
        self.graph_base = graph_base.rstrip("/")
        self.scope = scope
        self.max_wait = max_wait
        self.timeout = timeout
        self._secret = secret
        self._token: tuple[str, float] | None = None  # (access token, monotonic time it must be renewed by)
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    @property
    def server(self) -> str:
        """Return the Graph base URL for error messages and logs."""
        return self.graph_base

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def _fail(self, cause: str, *, retryable: bool, refused: tuple[str, ...] = (),
              applies_to_all: bool = False) -> GraphError:
        return GraphError(f"graph {self.server}: {cause}", retryable=retryable, refused=refused,
                          applies_to_all=applies_to_all)

    def _login_what(self) -> str:
        return f"tenant id ({self.tenant_id}), client id ({self.client_id}) and client secret"

    def _read_secret(self) -> str:
        if isinstance(self._secret, str):
            return self._secret
        try:
            return self._secret()
        except ValueError as exc:
            raise self._fail(f"cannot read the client secret: {exc}", retryable=False, applies_to_all=True) from exc
        except Exception as exc:  # noqa: BLE001 - e.g. the Prefect API holding the Secret block is down
            raise self._fail(f"cannot read the client secret: {type(exc).__name__}: {exc}", retryable=True,
                             applies_to_all=True) from exc

    def _access_token(self) -> str:
        """Return a cached app-only token, fetching a new one when it is near its expiry."""
        with self._lock:
            if self._token is not None and time.monotonic() < self._token[1]:
                return self._token[0]
            form = {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._read_secret(),
                "scope": self.scope,
            }
            try:
                response = self._client.post(self.token_url, data=form)
            except httpx.HTTPError as exc:
                raise self._fail(f"cannot reach the token endpoint {self.token_url} ({type(exc).__name__}: {exc})",
                                 retryable=True, applies_to_all=True) from exc
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            if not isinstance(answer, dict):
                answer = {}
            if response.status_code != 200 or not answer.get("access_token"):
                error = answer.get("error", f"HTTP {response.status_code}")
                description = " ".join(str(answer.get("error_description", "")).split())
                # A 4xx is a refusal of these credentials; a 5xx or a throttle is the endpoint's own trouble.
                retryable = response.status_code >= 500 or response.status_code == 429
                raise self._fail(
                    f"the token endpoint {self.token_url} refused the client credentials ({error}: {description})"
                    + ("" if retryable else f": check the {self._login_what()}"),
                    retryable=retryable,
                    applies_to_all=True,
                )
            lifetime = float(answer.get("expires_in", 3599))
            self._token = (answer["access_token"], time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN))
            return self._token[0]

    def _forget_token(self, token: str) -> None:
        with self._lock:
            if self._token is not None and self._token[0] == token:
                self._token = None

    def send(self, message: OutgoingMessage, *, sent_at: datetime) -> str:
        """Send `message` from its sender's mailbox to every recipient and return its Message-ID."""
        to_email_message(message, sent_at=sent_at)  # the same checks as every transport: raises ValueError
        # Not saved in Sent Items: the messages carry personal links, which anyone with access to the shared
        # mailbox could otherwise open, and the email ledger already records every send.
        payload = {"message": message_json(message), "saveToSentItems": False}
        url = f"{self.graph_base}/users/{quote(message.sender, safe='@')}/sendMail"
        waited = 0.0
        attempts = 0
        renewed = False
        while True:
            token = self._access_token()
            try:
                response = self._client.post(url, json=payload, headers={"Authorization": f"Bearer {token}"})
            except httpx.HTTPError as exc:
                raise self._fail(f"cannot reach the server ({type(exc).__name__}: {exc})", retryable=True,
                                 applies_to_all=True) from exc
            if response.status_code in (200, 202):
                return message_id_for(message.key)
            if response.status_code == 401 and not renewed:
                # The token may have been revoked or expired early: one more try with a fresh one.
                self._forget_token(token)
                renewed = True
                continue
            if response.status_code in _RETRY_STATUSES:
                asked = _retry_after(response)
                pause = asked if asked is not None else min(2.0**attempts, 60.0)
                if waited + pause > self.max_wait:
                    raise self._fail(
                        f"server busy (HTTP {response.status_code}), still busy after {waited:g}s of waiting; "
                        f"it asked for {pause:g}s more; will try again later (the ceiling is {self.max_wait:g}s "
                        "of waiting per send)",
                        retryable=True,
                        applies_to_all=True,
                    )
                time.sleep(pause)
                waited += pause
                attempts += 1
                continue
            raise self._refusal(response, message)

    def _refusal(self, response: httpx.Response, message: OutgoingMessage) -> GraphError:
        """Turn a failed sendMail answer into an error that says what to fix."""
        status = response.status_code
        code, text = _graph_error(response)
        detail = f"HTTP {status} {code}" + (f": {text}" if text else "")
        if status == 401:
            return self._fail(f"login refused ({detail}): check the {self._login_what()}", retryable=False,
                              applies_to_all=True)
        if status == 403:
            return self._fail(
                f"not allowed to send as {message.sender} ({detail}): give the app the Mail.Send application "
                "permission with admin consent, and check any application access policy includes this mailbox",
                retryable=False,
                applies_to_all=True,
            )
        if code in _RECIPIENT_CODES:
            recipients = tuple(all_recipients(message))
            return self._fail(f"recipients refused ({detail}); the server does not say which of these: "
                              f"{', '.join(recipients)}", retryable=False, refused=recipients)
        if status == 404:
            return self._fail(f"no mailbox {message.sender} ({detail}): check the sender address in the config",
                              retryable=False, applies_to_all=True)
        if status >= 500:
            return self._fail(f"server error ({detail})", retryable=True, applies_to_all=True)
        # Any other 4xx: the request as built is refused (too large, malformed...); the same send fails again.
        return self._fail(f"message refused ({detail})", retryable=False)

    def send_many(
        self, messages: Sequence[OutgoingMessage], *, sent_at: datetime
    ) -> list[str | MailTransportError]:
        """Send `messages` one by one; return, in order, each one's Message-ID or the error that stopped it."""
        outcomes: list[str | MailTransportError] = []
        stopped: GraphError | None = None
        for message in messages:
            if stopped is not None:
                outcomes.append(stopped)
                continue
            try:
                outcomes.append(self.send(message, sent_at=sent_at))
            except GraphError as exc:
                outcomes.append(exc)
                if exc.applies_to_all:
                    # A login failure or an outage: the next messages would fail the same way; none is tried.
                    stopped = exc
            except ValueError as exc:
                outcomes.append(self._fail(f"{message.key}: not sent: {exc}", retryable=False))
        return outcomes
