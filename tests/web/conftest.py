"""Fixtures for the web app's tests: an open inspection whose day-2 asks have been sent."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.phases import ensure_phase
from send_inspection.engine.register_phase import reconcile_register_phase
from send_inspection.engine.setup import open_inspection
from tests.conftest import NOTIFIED


@pytest.fixture
def started(ctx: EngineContext) -> tuple[str, m.RegisterItem]:
    """Open the demo inspection, send the day-2 asks and return the id and day-2 item 1.1."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "day2")
    reconcile_register_phase(ctx, iid, "day2")
    with ctx.session() as session:
        item = session.scalars(select(m.RegisterItem).where(m.RegisterItem.phase == "day2",
                                                            m.RegisterItem.ref == "1.1")).one()
    return iid, item
