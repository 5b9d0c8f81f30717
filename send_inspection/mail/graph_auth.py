"""App-only tokens for Microsoft Graph through MSAL: client credentials with a client secret or a certificate.

MSAL (Microsoft's own library) asks the tenant's authority for its endpoints, signs the certificate's client
assertion, keeps the token in its cache and asks for a new one shortly before it expires. Nothing is asked of
the authority until the first token is wanted, so building the transport makes no network call.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msal
import requests

SCOPE = "https://graph.microsoft.com/.default"
_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
# Answers of the authority that mean these credentials are wrong (a setting to fix), not that it is unwell.
_REFUSALS = {"invalid_client", "unauthorized_client", "invalid_request", "invalid_grant", "invalid_scope",
             "invalid_resource", "unsupported_grant_type"}


class NoToken(Exception):
    """No token: the authority refused the credentials, or could not be reached; `retryable` says which."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class ClientCredential:
    """What the app proves itself with: a client secret, or a certificate's private key (and thumbprint)."""

    # Returns the client secret, or the PEM text holding the private key (and the certificate, if there).
    read: Callable[[], str]
    kind: str  # "secret" or "certificate"
    thumbprint: str | None = None

    def describe(self) -> str:
        """Say which credential this is, for error messages (never its value)."""
        return "client secret" if self.kind == "secret" else "certificate"


def msal_credential(credential: ClientCredential, pem_or_secret: str) -> str | dict[str, str]:
    """Return MSAL's client_credential for the secret, or for the certificate's PEM (thumbprint or certificate)."""
    if credential.kind == "secret":
        return pem_or_secret
    if "PRIVATE KEY-----" not in pem_or_secret:
        raise ValueError("the certificate's PEM holds no private key (-----BEGIN PRIVATE KEY-----)")
    given: dict[str, str] = {"private_key": pem_or_secret}
    if credential.thumbprint:
        given["thumbprint"] = credential.thumbprint  # SHA-1, as Entra ID shows it: an RS256 assertion
        return given
    found = _CERTIFICATE.search(pem_or_secret)
    if found is None:
        raise ValueError("the certificate's PEM holds no certificate (-----BEGIN CERTIFICATE-----): add it, or give "
                         "SEND_INSPECTION_GRAPH_CERTIFICATE_THUMBPRINT")
    given["public_certificate"] = found.group(0)  # MSAL takes its SHA-256 thumbprint: a PS256 assertion
    return given


class _TrustingSession(requests.Session):
    """A requests session that verifies servers only against one CA bundle, whatever REQUESTS_CA_BUNDLE says."""

    def __init__(self, ca_bundle: Path, timeout: float) -> None:
        super().__init__()
        self._ca_bundle, self._timeout = str(ca_bundle), timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Send the request, verifying the server with the CA bundle (requests lets the environment win otherwise)."""
        kwargs["verify"] = self._ca_bundle
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


class GraphTokens:
    """Hand out app-only Graph tokens from one MSAL confidential client, built when the first token is wanted."""

    def __init__(self, tenant_id: str, client_id: str, credential: ClientCredential, *,
                 authority: str = "https://login.microsoftonline.com", ca_bundle: Path | None = None,
                 timeout: float = 30.0, scope: str = SCOPE) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.credential = credential
        self.authority = f"{authority.rstrip('/')}/{tenant_id}"
        self.ca_bundle = ca_bundle
        self.timeout = timeout
        self.scope = scope
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def _fail(self, cause: str, *, retryable: bool) -> NoToken:
        return NoToken(f"sign-in at {self.authority}: {cause}", retryable=retryable)

    def _what(self) -> str:
        return f"tenant id ({self.tenant_id}), client id ({self.client_id}) and {self.credential.describe()}"

    def _build(self) -> msal.ConfidentialClientApplication:
        try:
            pem_or_secret = self.credential.read()
        except ValueError as exc:
            # A missing secret, file or Secret block: a setting to fix, not a passing failure.
            raise self._fail(f"cannot read the {self.credential.describe()}: {exc}", retryable=False) from exc
        except Exception as exc:  # noqa: BLE001 - e.g. the Prefect API holding the Secret block is down
            raise self._fail(f"cannot read the {self.credential.describe()}: {type(exc).__name__}: {exc}",
                             retryable=True) from exc
        try:
            given = msal_credential(self.credential, pem_or_secret)
            return msal.ConfidentialClientApplication(
                self.client_id, client_credential=given, authority=self.authority,
                # Client credentials need no check that the authority is Microsoft's: it is a setting.
                instance_discovery=False, timeout=self.timeout,
                http_client=_TrustingSession(self.ca_bundle, self.timeout) if self.ca_bundle else None,
            )
        except ValueError as exc:
            # MSAL's own words for a bad authority or key; its tenant discovery's refusal is a wrong tenant id.
            raise self._fail(f"{exc}; check the {self._what()}", retryable=False) from exc
        except requests.RequestException as exc:
            raise self._fail(f"cannot reach the authority ({type(exc).__name__}: {exc})", retryable=True) from exc

    def token(self) -> str:
        """Return a valid app-only access token (MSAL's cached one while it lasts)."""
        with self._lock:
            if self._app is None:
                self._app = self._build()
            try:
                answer = self._app.acquire_token_for_client(scopes=[self.scope])
            except requests.RequestException as exc:
                raise self._fail(f"cannot reach the token endpoint ({type(exc).__name__}: {exc})",
                                 retryable=True) from exc
        if answer.get("access_token"):
            return str(answer["access_token"])
        error = str(answer.get("error") or "no token")
        description = " ".join(str(answer.get("error_description", "")).split())
        refused = error in _REFUSALS
        raise self._fail(f"the token endpoint refused the client credentials ({error}: {description})"
                         + (f": check the {self._what()}" if refused else ""), retryable=not refused)

    def forget(self) -> None:
        """Drop the cached token (Graph said it is no longer good), so the next one is fetched afresh."""
        with self._lock:
            if self._app is not None:
                self._app.remove_tokens_for_client()
