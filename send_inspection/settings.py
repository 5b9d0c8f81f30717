"""Runtime settings, read once from the environment with embedded defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from send_inspection import PROJECT_ROOT

MAIL_TRANSPORTS = ("outbox", "smtp", "ews", "graph")
EWS_VERSIONS = ("Exchange2013", "Exchange2013_SP1", "Exchange2016", "Exchange2019", "ExchangeOnline")
EWS_AUTH_KINDS = ("oauth2", "ntlm", "basic")
EWS_ACCESS_TYPES = ("delegate", "impersonation")
# The shared inboxes the mailbox intake can watch (through EWS or Graph): forwarded requests, and evidence by email.
WATCHABLE_INBOXES = ("comms", "evidence")
# The mail transports whose shared inboxes the mailbox intake can watch (its schedule runs only with these).
INTAKE_TRANSPORTS = ("ews", "graph")
DEFAULT_PHASE_LEASE = 90.0
# A Pending run has no process yet: its worker is starting one (a process, or a container whose image may first be
# pulled), which on a busy machine takes a while. By default it is taken for dead after this many leases.
DEFAULT_PENDING_LEASES = 5
DEFAULT_MAIL_RETRY_DELAYS = (10.0, 60.0, 300.0)


@dataclass(frozen=True)
class SecretRef:
    """Where a mail secret is kept: in an environment variable, a file, or a Prefect Secret block read when needed."""

    variable: str
    value: str | None = field(default=None, repr=False)
    block: str | None = None
    path: Path | None = None

    def read(self) -> str:
        """Return the secret, reading the file or loading the Prefect Secret block now if that is where it is kept."""
        if self.value is not None:
            return self.value
        if self.path is not None:
            try:
                return self.path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"{self.variable}={str(self.path)!r}: cannot be read ({exc})") from exc
        if self.block is None:
            raise ValueError(f"{self.variable} is not set (nor {self.variable}_BLOCK)")
        from prefect.blocks.system import Secret

        try:
            block = Secret.load(self.block, _sync=True)
        except ValueError as exc:
            raise ValueError(f"{self.variable}_BLOCK={self.block!r}: no such Prefect Secret block ({exc})") from exc
        value = block.value.get_secret_value()
        if not isinstance(value, str):
            raise ValueError(f"{self.variable}_BLOCK={self.block!r}: the Secret block must hold a plain string")
        return value


@dataclass(frozen=True)
class EwsSettings:
    """How to reach Exchange Web Services: endpoint, version, login and the ceiling on throttling waits."""

    endpoint: str
    version: str
    auth: str
    username: str | None
    tenant_id: str | None
    client_id: str | None
    token_url: str | None
    access_type: str | None
    max_wait: float
    secret: SecretRef


@dataclass(frozen=True)
class GraphSettings:
    """How to reach Microsoft Graph: tenant, app registration and its credential, authority, base URL, limits."""

    tenant_id: str
    client_id: str
    # The sign-in authority's host (the tenant is added to it): Microsoft's global cloud unless told otherwise.
    authority: str
    graph_base: str
    max_wait: float
    timeout: float
    # The client secret, or the certificate's private key (PEM, with the certificate itself when it is there).
    secret: SecretRef | None = None
    certificate: SecretRef | None = None
    # The certificate's SHA-1 thumbprint as Entra ID shows it; not needed when the PEM holds the certificate.
    thumbprint: str | None = None
    # A PEM file of certificate authorities to trust for the authority and Graph (a TLS-inspecting proxy's).
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class Settings:
    """Where data lives, which database and mail transport to use, and the public URL of the web app."""

    home: Path
    database_url: str
    config_dir: Path
    mail_transport: str
    outbox_dir: Path
    uploads_dir: Path
    base_url: str
    web_host: str
    web_port: int
    smtp_host: str
    smtp_port: int
    smtp_username: str | None
    smtp_password: str | None
    smtp_starttls: bool
    ews: EwsSettings | None = None
    graph: GraphSettings | None = None
    # The shared inboxes the mailbox intake watches (SEND_INSPECTION_WATCH_INBOXES).
    watch_inboxes: tuple[str, ...] = WATCHABLE_INBOXES
    # Seconds a running phase may go without a heartbeat before the ticker takes it for dead and starts it afresh.
    phase_lease: float = DEFAULT_PHASE_LEASE
    # Seconds a phase's run may stay Pending (its worker starting its process) before the ticker takes it for dead
    # (SEND_INSPECTION_PENDING_GRACE; five leases unless set).
    pending_grace: float = DEFAULT_PENDING_LEASES * DEFAULT_PHASE_LEASE
    # Seconds between the tries of a pass whose emails failed in a way that may pass; the last is also how often a
    # phase waiting on such a failure wakes to try again.
    mail_retry_delays: tuple[float, ...] = DEFAULT_MAIL_RETRY_DELAYS


def _required(env: Mapping[str, str], name: str, *, why: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ValueError(f"{name} is not set: it is required {why}")
    return value


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _choice(env: Mapping[str, str], name: str, *, choices: tuple[str, ...], default: str | None = None) -> str | None:
    value = _optional(env, name) or default
    if value is not None and value not in choices:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


def _seconds(env: Mapping[str, str], name: str, *, default: float) -> float:
    raw = _optional(env, name)
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a number of seconds") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r}: must not be negative")
    return value


def _url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if (parts.scheme == "https" and parts.hostname) or (
        parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"}
    ):
        return value
    raise ValueError(f"{name}={value!r}: expected an https:// URL")


def _secret(env: Mapping[str, str], prefix: str, *, why: str) -> SecretRef:
    variable = f"{prefix}_SECRET"
    value, block = env.get(variable) or None, _optional(env, f"{variable}_BLOCK")
    if value is not None and block is not None:
        raise ValueError(f"set {variable} or {variable}_BLOCK, not both")
    if value is None and block is None:
        raise ValueError(f"{variable} is not set: it is required {why} (or name a Prefect Secret block in "
                         f"{variable}_BLOCK)")
    return SecretRef(variable=variable, value=value, block=block)


def _ews_settings(env: Mapping[str, str]) -> EwsSettings:
    why = "when SEND_INSPECTION_MAIL=ews"
    endpoint = _url("SEND_INSPECTION_EWS_ENDPOINT", _required(env, "SEND_INSPECTION_EWS_ENDPOINT", why=why))
    auth = _choice(env, "SEND_INSPECTION_EWS_AUTH", choices=EWS_AUTH_KINDS)
    if auth is None:
        raise ValueError(f"SEND_INSPECTION_EWS_AUTH is not set: it is required {why} "
                         f"(one of {', '.join(EWS_AUTH_KINDS)})")
    oauth = auth == "oauth2"
    why_auth = f"when SEND_INSPECTION_EWS_AUTH={auth}"
    token_url = _optional(env, "SEND_INSPECTION_EWS_TOKEN_URL")
    return EwsSettings(
        endpoint=endpoint,
        version=str(_choice(env, "SEND_INSPECTION_EWS_VERSION", choices=EWS_VERSIONS, default="Exchange2016")),
        auth=auth,
        username=None if oauth else _required(env, "SEND_INSPECTION_EWS_USERNAME", why=why_auth),
        tenant_id=_required(env, "SEND_INSPECTION_EWS_TENANT_ID", why=why_auth) if oauth else None,
        client_id=_required(env, "SEND_INSPECTION_EWS_CLIENT_ID", why=why_auth) if oauth else None,
        token_url=None if token_url is None else _url("SEND_INSPECTION_EWS_TOKEN_URL", token_url),
        access_type=_choice(env, "SEND_INSPECTION_EWS_ACCESS_TYPE", choices=EWS_ACCESS_TYPES),
        max_wait=_seconds(env, "SEND_INSPECTION_EWS_MAX_WAIT", default=300.0),
        secret=_secret(env, "SEND_INSPECTION_EWS", why=why),
    )


def _https(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value
    raise ValueError(f"{name}={value!r}: expected an https:// URL (the sign-in library speaks only https)")


def _thumbprint(env: Mapping[str, str], name: str) -> str | None:
    raw = _optional(env, name)
    if raw is None:
        return None
    digits = raw.replace(":", "").replace(" ", "")
    if len(digits) != 40 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError(f"{name}={raw!r}: expected the certificate's SHA-1 thumbprint, 40 hexadecimal digits "
                         "as Entra ID shows it")
    return digits.upper()


def _graph_credential(env: Mapping[str, str], *, why: str) -> tuple[SecretRef | None, SecretRef | None]:
    """Return (client secret, certificate): exactly one of the two, from a variable, a file or a Secret block."""
    prefix = "SEND_INSPECTION_GRAPH"
    certificate_file = _optional(env, f"{prefix}_CERTIFICATE_FILE")
    certificate_block = _optional(env, f"{prefix}_CERTIFICATE_BLOCK")
    has_secret = bool(env.get(f"{prefix}_SECRET") or _optional(env, f"{prefix}_SECRET_BLOCK"))
    if certificate_file is None and certificate_block is None:
        return _secret(env, prefix, why=f"{why} (or a certificate: {prefix}_CERTIFICATE_FILE or "
                                           f"{prefix}_CERTIFICATE_BLOCK)"), None
    if has_secret:
        raise ValueError(f"set a client secret ({prefix}_SECRET or {prefix}_SECRET_BLOCK) or a certificate "
                         f"({prefix}_CERTIFICATE_FILE or {prefix}_CERTIFICATE_BLOCK), not both")
    if certificate_file is not None and certificate_block is not None:
        raise ValueError(f"set {prefix}_CERTIFICATE_FILE or {prefix}_CERTIFICATE_BLOCK, not both")
    variable = f"{prefix}_CERTIFICATE"
    if certificate_block is not None:
        return None, SecretRef(variable=variable, block=certificate_block)
    path = Path(certificate_file or "")
    if not path.is_file():
        raise ValueError(f"{variable}_FILE={certificate_file!r}: no such file (a PEM file with the private key)")
    return None, SecretRef(variable=f"{variable}_FILE", path=path)


def _graph_settings(env: Mapping[str, str]) -> GraphSettings:
    why = "when SEND_INSPECTION_MAIL=graph"
    if _optional(env, "SEND_INSPECTION_GRAPH_TOKEN_URL") is not None:
        raise ValueError("SEND_INSPECTION_GRAPH_TOKEN_URL is no longer read: tokens come from the authority in "
                         "SEND_INSPECTION_GRAPH_AUTHORITY (https://login.microsoftonline.com unless another cloud)")
    secret, certificate = _graph_credential(env, why=why)
    ca_bundle = _optional(env, "SEND_INSPECTION_GRAPH_CA_BUNDLE")
    if ca_bundle is not None and not Path(ca_bundle).is_file():
        raise ValueError(f"SEND_INSPECTION_GRAPH_CA_BUNDLE={ca_bundle!r}: no such file (a PEM file of "
                         "certificate authorities)")
    timeout = _seconds(env, "SEND_INSPECTION_GRAPH_TIMEOUT", default=30.0)
    if timeout == 0:
        raise ValueError("SEND_INSPECTION_GRAPH_TIMEOUT='0': a request needs more than 0 seconds")
    return GraphSettings(
        tenant_id=_required(env, "SEND_INSPECTION_GRAPH_TENANT_ID", why=why),
        client_id=_required(env, "SEND_INSPECTION_GRAPH_CLIENT_ID", why=why),
        authority=_https("SEND_INSPECTION_GRAPH_AUTHORITY",
                         _optional(env, "SEND_INSPECTION_GRAPH_AUTHORITY") or "https://login.microsoftonline.com"),
        graph_base=_url("SEND_INSPECTION_GRAPH_BASE",
                        _optional(env, "SEND_INSPECTION_GRAPH_BASE") or "https://graph.microsoft.com/v1.0"),
        max_wait=_seconds(env, "SEND_INSPECTION_GRAPH_MAX_WAIT", default=300.0),
        timeout=timeout,
        secret=secret,
        certificate=certificate,
        thumbprint=_thumbprint(env, "SEND_INSPECTION_GRAPH_CERTIFICATE_THUMBPRINT"),
        ca_bundle=None if ca_bundle is None else Path(ca_bundle),
    )


def _delays(env: Mapping[str, str], name: str, *, default: tuple[float, ...]) -> tuple[float, ...]:
    raw = _optional(env, name)
    if raw is None:
        return default
    try:
        delays = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected seconds separated by commas, e.g. 10,60,300") from None
    if any(d <= 0 for d in delays):
        raise ValueError(f"{name}={raw!r}: every delay must be more than 0 seconds")
    return delays


def _inboxes(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return WATCHABLE_INBOXES
    names = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    unknown = [n for n in names if n not in WATCHABLE_INBOXES]
    if unknown:
        raise ValueError(f"{name}={raw!r}: {', '.join(map(repr, unknown))} cannot be watched; expected a "
                         f"comma-separated list of {', '.join(WATCHABLE_INBOXES)} (or empty to watch none)")
    return names


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from SEND_INSPECTION_* environment variables, defaulting to a local demo."""
    env = os.environ if env is None else env
    home = Path(env.get("SEND_INSPECTION_HOME", str(PROJECT_ROOT / "var"))).resolve()
    port = int(env.get("SEND_INSPECTION_WEB_PORT", "8080"))
    transport = env.get("SEND_INSPECTION_MAIL", "outbox")
    if transport not in MAIL_TRANSPORTS:
        raise ValueError(f"SEND_INSPECTION_MAIL={transport!r}: expected one of {', '.join(MAIL_TRANSPORTS)}")
    lease = _lease(env, "SEND_INSPECTION_PHASE_LEASE")
    return Settings(
        home=home,
        database_url=env.get("SEND_INSPECTION_DB_URL", f"sqlite:///{home / 'send_inspection.db'}"),
        config_dir=Path(env.get("SEND_INSPECTION_CONFIG", str(PROJECT_ROOT / "config" / "demo-county"))),
        mail_transport=transport,
        outbox_dir=Path(env.get("SEND_INSPECTION_OUTBOX", str(home / "outbox"))),
        uploads_dir=Path(env.get("SEND_INSPECTION_UPLOADS", str(home / "uploads"))),
        base_url=env.get("SEND_INSPECTION_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/"),
        web_host=env.get("SEND_INSPECTION_WEB_HOST", "127.0.0.1"),
        web_port=port,
        smtp_host=env.get("SEND_INSPECTION_SMTP_HOST", "127.0.0.1"),
        smtp_port=int(env.get("SEND_INSPECTION_SMTP_PORT", "25")),
        smtp_username=env.get("SEND_INSPECTION_SMTP_USERNAME"),
        smtp_password=env.get("SEND_INSPECTION_SMTP_PASSWORD"),
        smtp_starttls=env.get("SEND_INSPECTION_SMTP_STARTTLS", "0") == "1",
        ews=_ews_settings(env) if transport == "ews" else None,
        graph=_graph_settings(env) if transport == "graph" else None,
        watch_inboxes=_inboxes(env, "SEND_INSPECTION_WATCH_INBOXES"),
        phase_lease=lease,
        pending_grace=_pending_grace(env, lease=lease),
        mail_retry_delays=mail_retry_delays(env),
    )


def mail_retry_delays(env: Mapping[str, str] | None = None) -> tuple[float, ...]:
    """Return the seconds between tries of a failed email that may pass (SEND_INSPECTION_MAIL_RETRY_DELAYS)."""
    return _delays(os.environ if env is None else env, "SEND_INSPECTION_MAIL_RETRY_DELAYS",
                   default=DEFAULT_MAIL_RETRY_DELAYS)


def _lease(env: Mapping[str, str], name: str) -> float:
    lease = _seconds(env, name, default=DEFAULT_PHASE_LEASE)
    if lease < 3:
        raise ValueError(f"{name}={lease:g}: a lease shorter than 3 seconds takes live runs for dead")
    return lease


def _pending_grace(env: Mapping[str, str], *, lease: float) -> float:
    name = "SEND_INSPECTION_PENDING_GRACE"
    grace = _seconds(env, name, default=DEFAULT_PENDING_LEASES * lease)
    if grace < lease:
        raise ValueError(f"{name}={grace:g}: shorter than the lease ({lease:g} s) takes runs still starting for dead")
    return grace
