"""The console's settings: how people sign in, how long a session lasts, the key that signs its cookie."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from send_inspection.settings import SecretRef, Settings

SIGN_IN_LINK_VALID = timedelta(minutes=15)


@dataclass(frozen=True)
class OidcSettings:
    """The partnership's OpenID Connect provider (Microsoft Entra ID in practice) and this app's registration."""

    issuer: str
    client_id: str
    secret: SecretRef = field(repr=False)
    scopes: str = "openid email profile"

    @property
    def metadata_url(self) -> str:
        """Return the provider's discovery document's URL."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class ConsoleSettings:
    """How the console signs people in and keeps their sessions."""

    base_url: str
    secret_key: str = field(repr=False)
    idle_timeout: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=12)
    oidc: OidcSettings | None = None
    # Where the Prefect UI is, for links to each phase's run.
    prefect_ui_url: str | None = None

    @property
    def secure(self) -> bool:
        """Say whether the app is served over https (cookies are then Secure, and named __Host-)."""
        return urlsplit(self.base_url).scheme == "https"

    @property
    def origin(self) -> str:
        """Return the origin browsers send with the app's own forms."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"


def _minutes(env: Mapping[str, str], name: str, default: timedelta) -> timedelta:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        minutes = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a number of minutes") from None
    if minutes <= 0:
        raise ValueError(f"{name}={raw!r}: must be more than 0 minutes")
    return timedelta(minutes=minutes)


def _secret_key(env: Mapping[str, str], home: Path) -> str:
    """Return the key that signs the session cookie: SEND_INSPECTION_CONSOLE_SECRET, else one kept in the home."""
    given = env.get("SEND_INSPECTION_CONSOLE_SECRET", "").strip()
    if given:
        if len(given) < 32:
            raise ValueError("SEND_INSPECTION_CONSOLE_SECRET must be at least 32 characters")
        return given
    path = home / "console-secret"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _oidc(env: Mapping[str, str]) -> OidcSettings | None:
    issuer = env.get("SEND_INSPECTION_OIDC_ISSUER", "").strip()
    if not issuer:
        return None
    parts = urlsplit(issuer)
    if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"})):
        raise ValueError(f"SEND_INSPECTION_OIDC_ISSUER={issuer!r}: expected an https:// URL")
    client_id = env.get("SEND_INSPECTION_OIDC_CLIENT_ID", "").strip()
    if not client_id:
        raise ValueError("SEND_INSPECTION_OIDC_CLIENT_ID is not set: it is required with SEND_INSPECTION_OIDC_ISSUER")
    variable = "SEND_INSPECTION_OIDC_CLIENT_SECRET"
    value, block = env.get(variable) or None, env.get(f"{variable}_BLOCK", "").strip() or None
    if (value is None) == (block is None):
        raise ValueError(f"set {variable} (or {variable}_BLOCK, a Prefect Secret block's name): one of them")
    return OidcSettings(issuer=issuer, client_id=client_id, secret=SecretRef(variable, value=value, block=block),
                        scopes=env.get("SEND_INSPECTION_OIDC_SCOPES", "").strip() or "openid email profile")


def load_console_settings(settings: Settings, env: Mapping[str, str] | None = None) -> ConsoleSettings:
    """Read the console's settings from SEND_INSPECTION_CONSOLE_* and SEND_INSPECTION_OIDC_* (embedded defaults)."""
    env = os.environ if env is None else env
    api = env.get("PREFECT_API_URL", "").strip()
    return ConsoleSettings(
        base_url=settings.base_url,
        secret_key=_secret_key(env, settings.home),
        idle_timeout=_minutes(env, "SEND_INSPECTION_CONSOLE_IDLE_MINUTES", timedelta(minutes=30)),
        max_age=_minutes(env, "SEND_INSPECTION_CONSOLE_MAX_MINUTES", timedelta(hours=12)),
        oidc=_oidc(env),
        prefect_ui_url=(env.get("PREFECT_UI_URL", "").strip() or api.removesuffix("/").removesuffix("/api")
                        or None),
    )
