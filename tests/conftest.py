"""Shared fixtures: the demo config, an engine context on a virtual clock, a temporary database."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from send_inspection.calendar import LONDON  # noqa: E402
from send_inspection.clock import VirtualClock  # noqa: E402
from send_inspection.config.loader import calendar_for, default_config_dir, load_config  # noqa: E402
from send_inspection.config.models import PartnershipConfig  # noqa: E402
from send_inspection.db.session import migrate  # noqa: E402
from send_inspection.engine.context import EngineContext  # noqa: E402
from send_inspection.mail.outbox import OutboxTransport  # noqa: E402

NOTIFIED = datetime(2023, 6, 26, 9, 0, tzinfo=LONDON)


@pytest.fixture(scope="session")
def demo_config() -> PartnershipConfig:
    """Load the shipped Demo County config once."""
    return load_config(default_config_dir())


@pytest.fixture
def clock() -> VirtualClock:
    """Return a virtual clock at the demo notification time (Monday 26 June 2023, 09:00)."""
    return VirtualClock(NOTIFIED)


@pytest.fixture
def ctx(tmp_path: Path, demo_config: PartnershipConfig, clock: VirtualClock) -> EngineContext:
    """Return an engine context on SQLite in tmp_path, the outbox transport and the virtual clock."""
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    migrate(url)
    return EngineContext(
        config=demo_config,
        calendar=calendar_for(demo_config),
        db_url=url,
        clock=clock,
        transport=OutboxTransport(tmp_path / "outbox"),
        base_url="http://testserver",
        uploads_dir=tmp_path / "uploads",
    )
