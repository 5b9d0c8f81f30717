"""The Prefect settings of the product's processes, and of rehearsals: both stores in the product's home."""

from __future__ import annotations

import os
import subprocess
import sys
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
