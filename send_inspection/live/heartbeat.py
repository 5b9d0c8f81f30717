"""Renew the lease of the phases a flow run carries while its process lives, so a dead run can be told (ADR 0003)."""

from __future__ import annotations

import logging
import threading
import time

from send_inspection.engine.context import EngineContext
from send_inspection.engine.phase_rows import beat

log = logging.getLogger(__name__)


class Heartbeat:
    """Renew, from a daemon thread, the lease of the phases this flow run carries while its process lives."""

    def __init__(self, ctx: EngineContext, flow_run_id: str, *, every: float) -> None:
        self.ctx, self.flow_run_id, self.every = ctx, flow_run_id, every

    def start(self) -> None:
        """Beat now and then every `every` seconds until the process ends."""
        threading.Thread(target=self._run, name="phase-heartbeat", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                beat(self.ctx, self.flow_run_id)
            except Exception as exc:  # a missed beat is harmless; a dead thread would let the lease run out
                log.warning("phase heartbeat of %s missed: %s", self.flow_run_id, exc)
            time.sleep(self.every)
