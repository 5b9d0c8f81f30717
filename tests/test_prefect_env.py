"""The Prefect settings of the product's processes, and of rehearsals: both stores in the product's home."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from prefect.settings import Settings

from send_inspection.prefect_env import apply_rehearsal_prefect_env, prefect_env
from send_inspection.settings import load_settings


def test_a_rehearsal_keeps_its_prefect_store_in_the_products_home(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With a live server and the user's own Prefect home in the environment, a rehearsal's Prefect (a temporary
    server, its database, its results) is in the product's home, apart from the live server's."""
    monkeypatch.setenv("SEND_INSPECTION_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "user" / ".prefect"))
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    for name in ("PREFECT_SERVER_EPHEMERAL_ENABLED", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)  # put back as they were after the test
    settings = load_settings()
    home = apply_rehearsal_prefect_env(settings)
    prefect = Settings()  # what Prefect makes of this process's environment
    assert home == tmp_path / "var" / "rehearsals" / "prefect"
    assert home.is_dir() and home != Path(prefect_env(settings)["PREFECT_HOME"])
    assert prefect.home == home
    assert prefect.api.url is None  # a temporary server of its own, never the live one
    assert prefect.server.ephemeral.enabled and prefect.server.ephemeral.startup_timeout_seconds == 120
    url = prefect.server.database.connection_url
    assert url is not None and url.get_secret_value() == f"sqlite+aiosqlite:///{home / 'prefect.db'}"
    assert prefect.results.local_storage_path == home / "storage"


def test_the_products_info_lines_reach_prefects_handlers_in_a_flow_process() -> None:
    """In a process set up as a flow run's is, Prefect gives the product's logger its handlers but not a level, so an
    INFO line (what a phase waits for, what it sent) is dropped until the live wiring lets it through."""
    script = (
        "import logging\n"
        "from prefect.logging.configuration import setup_logging\n"
        "setup_logging()\n"  # as a flow run's engine does
        "from send_inspection.live.wiring import show_product_logs\n"
        "product = logging.getLogger('send_inspection.engine')\n"
        "before = product.isEnabledFor(logging.INFO)\n"
        "show_product_logs()\n"
        "handlers = [type(h).__name__ for h in logging.getLogger('send_inspection').handlers]\n"
        "print(before, product.isEnabledFor(logging.INFO), 'APILogHandler' in handlers)\n"
    )
    env = {**os.environ, "PREFECT_LOGGING_EXTRA_LOGGERS": "send_inspection"}
    env.pop("PREFECT_LOGGING_SETTINGS_PATH", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "True", "True"], done.stderr[-2000:]


def test_the_prefect_servers_database_pool_is_sized_for_the_pool_shape(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect reads the product's server database pool (20 + 20, not its own 5 + 10) and its ticks scheduled five
    minutes ahead (not an hour), under the names it knows."""
    monkeypatch.setenv("SEND_INSPECTION_HOME", str(tmp_path / "var"))
    for name in ("PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE", "PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW",
                 "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in prefect_env(load_settings()).items():
        monkeypatch.setenv(name, value)
    sqlalchemy = Settings().server.database.sqlalchemy
    assert (sqlalchemy.pool_size, sqlalchemy.max_overflow) == (20, 20)
    assert Settings().server.services.scheduler.min_scheduled_time == timedelta(minutes=5)
