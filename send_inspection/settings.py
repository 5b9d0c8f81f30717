"""Runtime settings, read once from the environment with embedded defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from send_inspection import PROJECT_ROOT


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


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from SEND_INSPECTION_* environment variables, defaulting to a local demo."""
    env = os.environ if env is None else env
    home = Path(env.get("SEND_INSPECTION_HOME", str(PROJECT_ROOT / "var"))).resolve()
    port = int(env.get("SEND_INSPECTION_WEB_PORT", "8080"))
    transport = env.get("SEND_INSPECTION_MAIL", "outbox")
    if transport not in {"outbox", "smtp"}:
        raise ValueError(f"SEND_INSPECTION_MAIL={transport!r}: expected 'outbox' or 'smtp'")
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
    )
