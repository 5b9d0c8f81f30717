"""Prefect settings for this product's processes: a local server by default, no analytics."""

from __future__ import annotations

import os
from pathlib import Path

from send_inspection.settings import Settings

# The Prefect server's database pool for the product's pool shape (docs/scale.md): every flow-run process at once
# (two per core), the workers, the web app and the server's own services each hold a connection at busy moments.
SERVER_DB_POOL_SIZE = 20
SERVER_DB_MAX_OVERFLOW = 20


def prefect_env(settings: Settings, *, port: int = 4200) -> dict[str, str]:
    """Return the environment variables the product's Prefect processes run with."""
    env = {
        "PREFECT_HOME": str(settings.home / "prefect"),
        "PREFECT_API_URL": os.environ.get("PREFECT_API_URL", f"http://127.0.0.1:{port}/api"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": os.environ.get("PREFECT_RUNNER_POLL_FREQUENCY", "1"),
        "PREFECT_LOGGING_LOG_PRINTS": "true",
        # The engine's own log lines (emails sent, mail failures) show in each run's logs in the UI.
        "PREFECT_LOGGING_EXTRA_LOGGERS": "send_inspection",
        # The Prefect server's own connections to PostgreSQL (no effect on SQLite): Prefect's 5 + 10 run out under a
        # full pool (HTTP 500 "QueuePool limit ... reached"). Sized in docs/scale.md.
        "PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE": os.environ.get(
            "PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE", str(SERVER_DB_POOL_SIZE)),
        "PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW": os.environ.get(
            "PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW", str(SERVER_DB_MAX_OVERFLOW)),
        # Schedule the every-minute ticker five minutes ahead, not Prefect's hour: the Runs list then holds a few
        # future ticks above the phases instead of sixty (the scheduler tops them up every minute).
        "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME": os.environ.get(
            "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME", "PT5M"),
    }
    return env


def apply_prefect_env(settings: Settings) -> None:
    """Set the product's Prefect environment in this process unless already set (call before importing flows)."""
    for key, value in prefect_env(settings).items():
        os.environ.setdefault(key, value)


def rehearsal_prefect_home(settings: Settings) -> Path:
    """Return where rehearsals keep their Prefect store: in the product's home, apart from the live server's."""
    return settings.home / "rehearsals" / "prefect"


def apply_rehearsal_prefect_env(settings: Settings) -> Path:
    """Point this process's Prefect at a temporary server on the rehearsals' own store; return the store's folder.

    Call before importing Prefect. A rehearsal's runs never go to the live server (PREFECT_API_URL) nor to a
    Prefect home outside the product's.
    """
    home = rehearsal_prefect_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_HOME"] = str(home)
    os.environ.pop("PREFECT_API_URL", None)
    os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "true"
    # The first start creates the store's schema, and a busy machine is slow: Prefect's 20 s is not always enough.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    return home
