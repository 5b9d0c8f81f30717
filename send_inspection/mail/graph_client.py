"""Call Microsoft Graph for the partnership's shared mailboxes: tokens, per-mailbox limits, back-off, errors.

Every request for a mailbox waits for one of its `PER_MAILBOX` slots: Exchange Online serves at most four
concurrent requests per app and mailbox and throttles the rest. A 429 or 503 answer (refused before any work
was done) is tried again after the server's Retry-After, until one call has waited `max_wait` seconds in all; a
401 is tried once more with a fresh token. Any other failure becomes a GraphError that says what to fix. One call
never lasts longer than `longest_call` seconds, so a claim older than that belongs to a process that is gone.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from send_inspection.mail.graph_auth import GraphTokens, NoToken
from send_inspection.mail.transport import MailTransportError

GRAPH_BASE = "https://graph.microsoft.com/v1.0"
# Exchange Online's limit of concurrent requests per app and mailbox.
PER_MAILBOX = 4
# Refused before any work was done: safe to try again in place. (A 504 may come after the work: not tried again.)
RETRY_STATUSES = {429, 503}
# Ids that stay the same when a message moves to another folder (the handled folder).
IMMUTABLE_IDS = 'IdType="ImmutableId"'
_RECIPIENT_CODES = {"ErrorInvalidRecipients", "ErrorMailRecipientNotFound", "ErrorRecipientNotFound"}
_MAILBOX_CODES = {"ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "ErrorNonExistentMailbox"}


class GraphError(MailTransportError):
    """A Graph failure; `applies_to_all` says the next requests would fail the same way (login, outage)."""

    def __init__(self, message: str, *, retryable: bool, refused: tuple[str, ...] = (),
                 applies_to_all: bool = False, status: int | None = None, code: str = "") -> None:
        super().__init__(message, retryable=retryable, refused=refused)
        self.applies_to_all = applies_to_all
        self.status = status
        self.code = code


def loopback_or_https(url: str) -> bool:
    """Say whether `url` is https, or plain http on this machine (a local test endpoint)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"})


def retry_after(response: httpx.Response) -> float | None:
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


def error_of(response: httpx.Response) -> tuple[str, str]:
    """Return the (code, message) of a Graph error answer, or the HTTP status when the body is not Graph's."""
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or f"HTTP {response.status_code}"), " ".join(str(error.get("message", "")).split())
    return f"HTTP {response.status_code}", ""


def tls_verify(ca_bundle: Path | None) -> ssl.SSLContext | bool:
    """Return what httpx verifies servers with: the system's authorities, or only those in `ca_bundle`."""
    return True if ca_bundle is None else ssl.create_default_context(cafile=str(ca_bundle))


class GraphClient:
    """Make Graph requests as the app for a shared mailbox, within Exchange Online's limits."""

    def __init__(self, tokens: GraphTokens, *, graph_base: str = GRAPH_BASE, max_wait: float = 300.0,
                 timeout: float = 30.0, per_mailbox: int = PER_MAILBOX, ca_bundle: Path | None = None) -> None:
        if not loopback_or_https(graph_base):
            raise ValueError(f"graph_base {graph_base!r}: must be an https:// URL")
        if max_wait < 0:
            raise ValueError("max_wait: must not be negative")
        if timeout <= 0 or per_mailbox < 1:
            raise ValueError("timeout: more than 0 seconds; per_mailbox: at least 1")
        self.tokens = tokens
        self.graph_base = graph_base.rstrip("/")
        self.max_wait = max_wait
        self.timeout = timeout
        self.per_mailbox = per_mailbox
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, verify=tls_verify(ca_bundle))
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()

    @property
    def longest_call(self) -> float:
        """Return the most seconds one call can take: its waits, its last try, and a token fetched on the way."""
        return self.max_wait + 3 * self.timeout

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def fail(self, cause: str, **kwargs: Any) -> GraphError:
        """Return a GraphError naming the Graph base URL."""
        return GraphError(f"graph {self.graph_base}: {cause}", **kwargs)

    def user_url(self, mailbox: str, path: str = "") -> str:
        """Return the URL of `path` under the shared mailbox's /users/{address}."""
        return f"{self.graph_base}/users/{quote(mailbox, safe='@')}{path}"

    def _slot(self, mailbox: str) -> threading.BoundedSemaphore:
        with self._slots_lock:
            return self._slots.setdefault(mailbox.casefold(), threading.BoundedSemaphore(self.per_mailbox))

    def call(self, method: str, url: str, *, mailbox: str, needs: str, json: Any = None,
             params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
             content: bytes | None = None, signed: bool = True, allow: Iterable[int] = (),
             recipients: tuple[str, ...] = ()) -> httpx.Response:
        """Make one request for `mailbox`; return its answer if it succeeded (or its status is in `allow`).

        `needs` names the application permission the request needs (Mail.Send...), for the error if refused;
        `signed=False` sends no token (an upload session's pre-authenticated URL).
        """
        allowed = set(allow)
        started = time.monotonic()
        waited = 0.0
        tries = 0
        renewed = False
        while True:
            sent_headers = dict(headers or {})
            # Every answer gives ids that stay the same when an item moves, whatever else the caller prefers.
            sent_headers["Prefer"] = ", ".join(p for p in (IMMUTABLE_IDS, sent_headers.get("Prefer")) if p)
            token = self._token() if signed else None
            if token is not None:
                sent_headers["Authorization"] = f"Bearer {token}"
            remaining = max(1.0, self.max_wait + self.timeout - (time.monotonic() - started))
            with self._slot(mailbox):
                try:
                    response = self._http.request(method, url, json=json, params=params, content=content,
                                                  headers=sent_headers, timeout=min(self.timeout, remaining))
                except httpx.HTTPError as exc:
                    raise self.fail(f"cannot reach the server ({type(exc).__name__}: {exc})", retryable=True,
                                    applies_to_all=True) from exc
            if response.is_success or response.status_code in allowed:
                return response
            if response.status_code == 401 and signed and not renewed:
                self.tokens.forget()  # revoked or expired early: one more try with a fresh token
                renewed = True
                continue
            if response.status_code in RETRY_STATUSES:
                asked = retry_after(response)
                pause = asked if asked is not None else min(2.0**tries, 60.0)
                if waited + pause > self.max_wait:
                    raise self.fail(
                        f"server busy (HTTP {response.status_code}), still busy after {waited:g}s of waiting; it "
                        f"asked for {pause:g}s more; will try again later (the ceiling is {self.max_wait:g}s of "
                        "waiting per request)", retryable=True, applies_to_all=True, status=response.status_code)
                time.sleep(pause)
                waited += pause
                tries += 1
                continue
            raise self.refusal(response, mailbox=mailbox, needs=needs, recipients=recipients)

    def _token(self) -> str:
        try:
            return self.tokens.token()
        except NoToken as exc:
            raise self.fail(str(exc), retryable=exc.retryable, applies_to_all=True) from exc

    def refusal(self, response: httpx.Response, *, mailbox: str, needs: str,
                recipients: tuple[str, ...] = ()) -> GraphError:
        """Turn a failed answer into an error that says what to fix."""
        status = response.status_code
        code, text = error_of(response)
        detail = f"HTTP {status} {code}" + (f": {text}" if text else "")
        if status == 401:
            return self.fail(f"login refused ({detail}): check the tenant id ({self.tokens.tenant_id}), client id "
                             f"({self.tokens.client_id}) and {self.tokens.credential.describe()}", retryable=False,
                             applies_to_all=True, status=status, code=code)
        if status == 403:
            return self.fail(
                f"not allowed on the mailbox {mailbox} ({detail}): give the app the {needs} application permission "
                "with admin consent, and check that its RBAC for Applications scope or application access policy "
                "includes this mailbox", retryable=False, applies_to_all=True, status=status, code=code)
        if code in _RECIPIENT_CODES:
            return self.fail(f"recipients refused ({detail}); the server does not say which of these: "
                             f"{', '.join(recipients)}", retryable=False, refused=recipients, status=status, code=code)
        if status == 404 and (code in _MAILBOX_CODES or code == "ResourceNotFound"):
            return self.fail(f"no mailbox {mailbox} ({detail}): check the inbox addresses in partnership.yaml",
                             retryable=False, applies_to_all=True, status=status, code=code)
        if status >= 500:
            return self.fail(f"server error ({detail})", retryable=True, applies_to_all=True, status=status,
                             code=code)
        # Any other 4xx: the request as built is refused (too large, malformed...); the same request fails again.
        return self.fail(f"request refused ({detail})", retryable=False, status=status, code=code)

    def download(self, url: str, *, mailbox: str, needs: str) -> bytes:
        """Return the raw bytes at `url` (an attachment's $value: its bytes as they are, not base64 in JSON)."""
        return self.call("GET", url, mailbox=mailbox, needs=needs, headers={"Accept": "*/*"}).content
