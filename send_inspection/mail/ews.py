"""Send mail through Exchange Web Services with exchangelib, as the partnership's shared mailbox.

For Exchange Server on premises (NTLM or basic login) and for Exchange Online while the tenant still allows EWS
(OAuth2 client credentials). The endpoint and the version are given: nothing is discovered, so building the
transport makes no network call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    OAUTH2,
    UTC,
    Account,
    Body,
    Configuration,
    Credentials,
    ExtendedProperty,
    FaultTolerance,
    FileAttachment,
    HTMLBody,
    Mailbox,
    Message,
    OAuth2Credentials,
    Version,
)
from exchangelib.errors import (
    CASError,
    EWSError,
    RateLimitError,
    RedirectError,
    ResponseMessageError,
    TransportError,
    UnauthorizedError,
)
from exchangelib.fields import ExtendedPropertyField
from exchangelib.folders import BaseFolder, Root
from exchangelib.items import SEND_ONLY, SEND_TO_NONE
from exchangelib.properties import DistinguishedFolderId
from exchangelib.services import CreateItem
from exchangelib.version import EXCHANGE_2013, EXCHANGE_2013_SP1, EXCHANGE_2016, EXCHANGE_2019, EXCHANGE_O365
from oauthlib.oauth2 import OAuth2Error

from send_inspection.mail.message import (
    KEY_HEADER,
    OutgoingMessage,
    all_recipients,
    message_id_for,
    to_email_message,
)
from send_inspection.mail.transport import MailTransportError

# Versions older than 2013 cannot send a message with attachments in one request, and are out of support.
VERSIONS = {
    "Exchange2013": EXCHANGE_2013,
    "Exchange2013_SP1": EXCHANGE_2013_SP1,
    "Exchange2016": EXCHANGE_2016,
    "Exchange2019": EXCHANGE_2019,
    "ExchangeOnline": EXCHANGE_O365,
}
AUTH_KINDS = {"oauth2": OAUTH2, "ntlm": NTLM, "basic": BASIC}
ACCESS_TYPES = (DELEGATE, IMPERSONATION)

# Per-recipient refusals: EWS does not say which recipient was wrong, so every recipient counts as refused.
_RECIPIENT_CODES = {"ErrorInvalidRecipients", "ErrorMailRecipientNotFound", "ErrorRecipientNotFound"}
# The account may not send as the shared mailbox, or the mailbox does not exist.
_PERMISSION_CODES = {
    "ErrorAccessDenied",
    "ErrorSendAsDenied",
    "ErrorImpersonateUserDenied",
    "ErrorImpersonationDenied",
    "ErrorNonExistentMailbox",
}
# Failures that go away by themselves: a busy or restarting server, a daily sending quota.
_TRANSIENT_CODES = {
    "ErrorServerBusy",
    "ErrorTimeoutExpired",
    "ErrorInternalServerError",
    "ErrorInternalServerTransientError",
    "ErrorTooManyObjectsOpened",
    "ErrorExceededConnectionCount",
    "ErrorMailboxMoveInProgress",
    "ErrorMailboxStoreUnavailable",
    "ErrorConnectionFailed",
    "ErrorQuotaExceeded",
    "ErrorSubmissionQuotaExceeded",
    "ErrorBatchProcessingStopped",
}
_T = TypeVar("_T")

_VERSION_CODES = {
    "ErrorInvalidServerVersion",
    "ErrorInvalidSchemaVersionForMailboxVersion",
    "ErrorIncorrectSchemaVersion",
}


class _KeyHeader(ExtendedProperty):
    """The X-Send-Inspection-Key internet header, set as a named property Exchange writes into the sent MIME."""

    distinguished_property_set_id = "InternetHeaders"
    property_name = KEY_HEADER
    property_type = "String"


def _fields_with_key() -> Any:
    fields = Message.FIELDS.copy()
    # Extended properties go where the Item schema puts them, after the Item fields, before the Message ones.
    fields.insert(
        fields.index_by_name(Message.INSERT_AFTER_FIELD) + 1,
        ExtendedPropertyField("send_inspection_key", value_cls=_KeyHeader),
    )
    return fields


class _KeyedMessage(Message):
    """An exchangelib Message carrying the idempotency key header; Message itself is left unchanged."""

    FIELDS = _fields_with_key()


class _CreateItemKeepingErrors(CreateItem):
    """CreateItem that returns every per-item error in the result list instead of raising some of them.

    exchangelib raises per-item errors it does not expect (ErrorInvalidRecipients among them) out of the whole
    bulk call, losing the results of the other items the server already sent.
    """

    ERRORS_TO_CATCH_IN_RESPONSE = TransportError


class _TokenUrlCredentials(OAuth2Credentials):
    """OAuth2 client credentials fetched from a given token URL (another cloud, or a local test endpoint)."""

    def __init__(self, *, token_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._token_url = token_url

    @property
    def token_url(self) -> str:
        """Return the URL tokens are requested from."""
        return self._token_url


class _Ceiling(FaultTolerance):
    """Honour the server's back-off, give up once one send has waited `max_wait` seconds in all; 401 is a refusal.

    exchangelib's FaultTolerance compares each single wait with max_wait, so a server asking for many short waits
    would be retried for ever; here the waits of one send add up. exchangelib also retries HTTP 401 as throttling;
    here it is a failed login, reported at once.
    """

    def __init__(self, max_wait: float) -> None:
        super().__init__(max_wait=max_wait)
        self._send = threading.local()

    def start_send(self) -> None:
        """Start counting the waits of a new send in this thread."""
        self._send.waited = 0.0

    def back_off(self, seconds: float | None) -> None:
        """Wait as the server asks, unless the send would then have waited longer than the ceiling."""
        seconds = self.DEFAULT_BACKOFF if seconds is None else seconds
        waited = getattr(self._send, "waited", 0.0)
        if waited + seconds > self.max_wait:
            # exchangelib adds "(gave up when asked to back off N seconds)" to this text.
            raise RateLimitError(f"still busy after {waited:g}s of waiting", wait=seconds)
        self._send.waited = waited + seconds
        super().back_off(seconds)

    def raise_response_errors(self, response: requests.Response) -> None:
        """Raise for a failed HTTP response; a 401 is a login failure, not a hint to slow down."""
        if response.status_code == 401:
            raise UnauthorizedError(f"HTTP 401 from {response.url}")
        super().raise_response_errors(response)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_send", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._send = threading.local()


def _code(exc: BaseException) -> str:
    return type(exc).__name__


_F = TypeVar("_F", bound=BaseFolder)


def mailbox_folder(account: Account, folder_cls: type[_F]) -> _F:
    """Return the well-known folder `folder_cls` (Inbox, Calendar...) of the account's mailbox, without a request.

    The folder is named by its distinguished id and the mailbox's address, as a delegate must name another
    mailbox's folder; exchangelib's account.inbox would first ask the server for the folder hierarchy.
    """
    mailbox = Mailbox(email_address=account.primary_smtp_address)
    root = Root(account=account, _distinguished_id=DistinguishedFolderId(id=Root.DISTINGUISHED_FOLDER_ID,
                                                                         mailbox=mailbox))
    return folder_cls(root=root, _distinguished_id=DistinguishedFolderId(id=folder_cls.DISTINGUISHED_FOLDER_ID,
                                                                         mailbox=mailbox))


class EwsTransport:
    """Send each message with EWS CreateItem as its sender, the shared mailbox; send_many sends them in bulk."""

    name = "ews"

    def __init__(
        self,
        endpoint: str,
        version: str = "Exchange2016",
        *,
        auth: str,
        secret: str | Callable[[], str],
        username: str | None = None,
        tenant_id: str | None = None,
        client_id: str | None = None,
        token_url: str | None = None,
        access_type: str | None = None,
        max_wait: float = 300.0,
        chunk_size: int = 25,
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"}):
            raise ValueError(f"endpoint {endpoint!r}: must be an https:// URL such as "
                             "https://mail.example.org/EWS/Exchange.asmx")
        if version not in VERSIONS:
            raise ValueError(f"version {version!r}: expected one of {', '.join(VERSIONS)}")
        if auth not in AUTH_KINDS:
            raise ValueError(f"auth {auth!r}: expected one of {', '.join(AUTH_KINDS)}")
        if auth == "oauth2" and not (tenant_id and client_id):
            raise ValueError("auth 'oauth2' needs tenant_id and client_id")
        if auth != "oauth2" and not username:
            raise ValueError(f"auth {auth!r} needs a username (DOMAIN\\user or user@domain)")
        # App-only OAuth2 tokens act on a mailbox by impersonation; a login with a password usually holds
        # Send As and Full Access rights on the shared mailbox (delegate).
        access_type = access_type or (IMPERSONATION if auth == "oauth2" else DELEGATE)
        if access_type not in ACCESS_TYPES:
            raise ValueError(f"access_type {access_type!r}: expected one of {', '.join(ACCESS_TYPES)}")
        if max_wait < 0:
            raise ValueError("max_wait: must not be negative")
        if chunk_size < 1:
            raise ValueError("chunk_size: must be at least 1")
        self.endpoint = endpoint
        self.version = version
        self.auth = auth
        self.username = username
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.token_url = token_url or f"https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token"
        self.access_type = access_type
        self.max_wait = max_wait
        self.chunk_size = chunk_size
        self._secret = secret
        self._policy = _Ceiling(max_wait)
        self._credentials: Credentials | OAuth2Credentials | None = None
        self._accounts: dict[str, Account] = {}
        self._lock = threading.Lock()

    @property
    def server(self) -> str:
        """Return the endpoint for error messages and logs."""
        return self.endpoint

    def _fail(self, cause: str, *, retryable: bool, refused: tuple[str, ...] = ()) -> MailTransportError:
        return MailTransportError(f"ews {self.server}: {cause}", retryable=retryable, refused=refused)

    def _read_secret(self) -> str:
        if isinstance(self._secret, str):
            return self._secret
        try:
            return self._secret()
        except ValueError as exc:
            # A missing secret or Secret block: a setting to fix, not a passing failure.
            raise self._fail(f"cannot read the secret: {exc}", retryable=False) from exc
        except Exception as exc:  # noqa: BLE001 - e.g. the Prefect API holding the Secret block is down
            raise self._fail(f"cannot read the secret: {type(exc).__name__}: {exc}", retryable=True) from exc

    def _make_credentials(self) -> Credentials | OAuth2Credentials:
        secret = self._read_secret()
        if self.auth == "oauth2":
            return _TokenUrlCredentials(token_url=self.token_url, client_id=self.client_id, client_secret=secret,
                                        tenant_id=self.tenant_id)
        return Credentials(self.username, secret)

    def _account(self, mailbox: str) -> Account:
        """Return the exchangelib account for the shared mailbox `mailbox`, built once (no network call)."""
        with self._lock:
            account = self._accounts.get(mailbox.casefold())
            if account is not None:
                return account
            if self._credentials is None:
                self._credentials = self._make_credentials()
            config = Configuration(
                service_endpoint=self.endpoint,
                credentials=self._credentials,
                auth_type=AUTH_KINDS[self.auth],
                version=Version(build=VERSIONS[self.version]),
                retry_policy=self._policy,
                max_connections=1,
            )
            account = Account(mailbox, config=config, autodiscover=False, access_type=self.access_type,
                              default_timezone=UTC)
            # exchangelib shares one protocol per endpoint and credentials: make sure it uses this ceiling.
            account.protocol.config.retry_policy = self._policy
            self._accounts[mailbox.casefold()] = account
            return account

    def account_for(self, mailbox: str) -> Account:
        """Return the exchangelib account acting as the shared mailbox `mailbox` (built once, no network call)."""
        return self._account(mailbox)

    def call(self, request: Callable[[], _T], *, mailbox: str, recipients: Sequence[str] = ()) -> _T:
        """Run one EWS request for `mailbox` under the back-off ceiling; failures become MailTransportError."""
        self._policy.start_send()
        try:
            return request()
        except (EWSError, requests.RequestException, OAuth2Error, OSError) as exc:
            raise self.classify(exc, mailbox=mailbox, recipients=tuple(recipients)) from exc

    def _item(self, message: OutgoingMessage, account: Account) -> _KeyedMessage:
        """Map an outgoing message to an exchangelib Message in the shared mailbox's account."""
        attachments = [
            FileAttachment(name=a.filename, content=a.data, content_type=a.content_type.split(";")[0].strip())
            for a in message.attachments
        ]
        return _KeyedMessage(
            account=account,
            author=Mailbox(name=message.sender_name or None, email_address=message.sender),
            to_recipients=[Mailbox(email_address=a) for a in message.to] or None,
            cc_recipients=[Mailbox(email_address=a) for a in message.cc] or None,
            bcc_recipients=[Mailbox(email_address=a) for a in message.bcc] or None,
            reply_to=[Mailbox(email_address=message.reply_to)] if message.reply_to else None,
            subject=message.subject,
            # EWS takes one body: the HTML one when there is one (Exchange derives the plain text part).
            body=HTMLBody(message.html) if message.html is not None else Body(message.text),
            attachments=attachments,
            send_inspection_key=message.key,
        )

    def send(self, message: OutgoingMessage, *, sent_at: datetime) -> str:
        """Send `message` from its sender's mailbox to every recipient and return its Message-ID."""
        to_email_message(message, sent_at=sent_at)  # the same checks as every transport: raises ValueError
        account = self._account(message.sender)
        item = self._item(message, account)
        self._policy.start_send()
        try:
            # Send only, no copy in Sent Items: the messages carry personal links, which anyone with access to
            # the shared mailbox could otherwise open, and the email ledger already records every send.
            item.send(save_copy=False)
        except (EWSError, requests.RequestException, OAuth2Error, OSError) as exc:
            raise self._classify(exc, message) from exc
        return message_id_for(message.key)

    def send_many(
        self, messages: Sequence[OutgoingMessage], *, sent_at: datetime
    ) -> list[str | MailTransportError]:
        """Send `messages` in bulk; return, in order, each one's Message-ID or the error that stopped it."""
        outcomes: list[str | MailTransportError | None] = [None] * len(messages)
        by_sender: dict[str, list[int]] = {}
        for index, message in enumerate(messages):
            try:
                to_email_message(message, sent_at=sent_at)
            except ValueError as exc:
                outcomes[index] = self._fail(f"{message.key}: not sent: {exc}", retryable=False)
                continue
            by_sender.setdefault(message.sender.casefold(), []).append(index)
        for indexes in by_sender.values():
            self._send_bulk(messages, indexes, outcomes=outcomes)
        return [
            outcome if outcome is not None else self._fail("the server gave no answer for this message", retryable=True)
            for outcome in outcomes
        ]

    def _send_bulk(
        self,
        messages: Sequence[OutgoingMessage],
        indexes: list[int],
        *,
        outcomes: list[str | MailTransportError | None],
    ) -> None:
        """Send the messages at `indexes` (one sender) and fill in their outcomes, item by item."""
        try:
            account = self._account(messages[indexes[0]].sender)
            items = [self._item(messages[i], account) for i in indexes]
        except MailTransportError as exc:
            for i in indexes:
                outcomes[i] = exc
            return
        done = 0
        for start in range(0, len(items), self.chunk_size):
            chunk = items[start:start + self.chunk_size]
            # One request per chunk, so the ceiling counts the waits of each request separately.
            self._policy.start_send()
            service = _CreateItemKeepingErrors(account=account, chunk_size=self.chunk_size)
            try:
                for result in service.call(items=chunk, folder=None, message_disposition=SEND_ONLY,
                                           send_meeting_invitations=SEND_TO_NONE):
                    if done == len(indexes):
                        break  # more answers than messages: ignore the extra ones
                    index = indexes[done]
                    message = messages[index]
                    if isinstance(result, BaseException):
                        outcomes[index] = self._classify(result, message)
                    else:
                        outcomes[index] = message_id_for(message.key)
                    done += 1
            except (EWSError, requests.RequestException, OAuth2Error, OSError) as exc:
                # The whole request failed: nothing from here on was answered, so nothing of it counts as sent.
                for index in indexes[done:]:
                    outcomes[index] = self._classify(exc, messages[index])
                return

    def _classify(self, exc: BaseException, message: OutgoingMessage) -> MailTransportError:
        """Turn a failure to send `message` into a MailTransportError that says what to fix."""
        return self.classify(exc, mailbox=message.sender, recipients=tuple(all_recipients(message)))

    def classify(self, exc: BaseException, *, mailbox: str, recipients: tuple[str, ...] = ()) -> MailTransportError:
        """Turn an exchangelib, HTTP or OAuth2 failure into a MailTransportError that says what to fix."""
        error = self._describe(exc, mailbox=mailbox, recipients=recipients)
        error.reason = f"ews {self.server}: {_code(exc)}"  # what operators see in Prefect: the error's name only
        return error

    def _describe(self, exc: BaseException, *, mailbox: str, recipients: tuple[str, ...]) -> MailTransportError:
        """Say what went wrong and what to fix, with the server's own words (kept in the ledger)."""
        code = _code(exc)
        text = " ".join(str(exc).split())
        if isinstance(exc, RateLimitError):
            return self._fail(f"server busy (throttled), {text}; will try again later "
                              f"(the ceiling is {self.max_wait:g}s of waiting per send)", retryable=True)
        if isinstance(exc, UnauthorizedError):
            return self._fail(f"login refused ({text}): check the {self._login_what()}", retryable=False)
        if isinstance(exc, CASError):
            return self._fail(f"the Client Access server refused the request ({text}): check the mailbox "
                              f"{mailbox} and the {self._login_what()}", retryable=False)
        if isinstance(exc, OAuth2Error):
            retryable = exc.error in {"server_error", "temporarily_unavailable"}
            return self._fail(f"the token endpoint {self.token_url} refused the client credentials "
                              f"({exc.error}: {exc.description or ''}): check the {self._login_what()}",
                              retryable=retryable)
        if isinstance(exc, RedirectError):
            return self._fail(f"the endpoint redirects to {exc.url}: check the EWS endpoint URL", retryable=False)
        if code in _RECIPIENT_CODES:
            return self._fail(f"recipients refused ({code}: {text}); the server does not say which of these: "
                              f"{', '.join(recipients)}", retryable=False, refused=recipients)
        if code in _PERMISSION_CODES:
            return self._fail(f"{code}: {text}; check that the mailbox {mailbox} exists and that "
                              f"{self._permission_what()}", retryable=False)
        if code in _VERSION_CODES:
            return self._fail(f"{code}: {text}; check the Exchange version (now {self.version})", retryable=False)
        if code == "ErrorTimeoutExpired":
            # exchangelib's name for a refused connection or a request that got no answer in time.
            return self._fail(f"cannot reach the server, or it did not answer in time ({text}); check that the "
                              "endpoint URL is right and the server is up", retryable=True)
        if code in _TRANSIENT_CODES:
            return self._fail(f"{code}: {text}", retryable=True)
        if isinstance(exc, ResponseMessageError):
            # The server refused this request as built (size, schema, property...): the same send fails again.
            return self._fail(f"{code}: {text}", retryable=False)
        if isinstance(exc, TransportError):
            # Unreadable answers, proxies, TLS: passing unless the certificate itself is not trusted.
            certificate = "CERTIFICATE_VERIFY_FAILED" in text
            return self._fail(f"{code}: {text}" + ("; the server's TLS certificate is not trusted" if certificate
                                                   else ""), retryable=not certificate)
        if isinstance(exc, requests.RequestException | OSError):
            return self._fail(f"cannot reach the server ({code}: {text})", retryable=True)
        return self._fail(f"{code}: {text}", retryable=True)

    def _permission_what(self) -> str:
        if self.auth == "oauth2":
            return f"the app {self.client_id} has the full_access_as_app EWS permission with admin consent"
        if self.access_type == IMPERSONATION:
            return f"{self.username} holds the ApplicationImpersonation role"
        return f"{self.username} has Send As and Full Access rights on it"

    def _login_what(self) -> str:
        if self.auth == "oauth2":
            return f"tenant id ({self.tenant_id}), client id ({self.client_id}) and client secret"
        return f"username ({self.username}) and password"
