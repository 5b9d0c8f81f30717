"""Wire the live product: the engine context from the settings, and the runtime a flow-run process runs with."""

from __future__ import annotations

import logging

from send_inspection.childdata.columns import child_data_config_if_any
from send_inspection.clock import SystemClock
from send_inspection.config.loader import calendar_for, load_config
from send_inspection.db.session import migrate
from send_inspection.engine.context import EngineContext
from send_inspection.engine.mail_retry import MailRetry
from send_inspection.live.flow_run import current_flow_run_id
from send_inspection.live.heartbeat import Heartbeat
from send_inspection.live.launcher import DeploymentLauncher
from send_inspection.live.waiting import SuspendWaiter
from send_inspection.live.waker import PrefectWaker
from send_inspection.mail.transports import transport_from_settings
from send_inspection.runtime import Runtime, install_runtime, installed_runtime
from send_inspection.settings import Settings, load_settings


def build_context(settings: Settings, *, clock=None) -> EngineContext:  # noqa: ANN001
    """Load config, migrate the database and wire the engine's adapters."""
    config = load_config(settings.config_dir)
    migrate(settings.database_url)
    return EngineContext(
        config=config,
        calendar=calendar_for(config),
        db_url=settings.database_url,
        clock=clock or SystemClock(),
        transport=transport_from_settings(settings),
        base_url=settings.base_url,
        uploads_dir=settings.uploads_dir,
        child_data=child_data_config_if_any(settings.config_dir),
        mail_retry=MailRetry.from_seconds(settings.mail_retry_delays),
    )


def build_live_runtime(settings: Settings | None = None) -> Runtime:
    """Build the live runtime from settings; inside a flow run, start the heartbeat of the phases it carries."""
    settings = settings or load_settings()
    show_product_logs()
    ctx = build_context(settings)
    flow_run_id = current_flow_run_id()
    if flow_run_id is not None:
        Heartbeat(ctx, flow_run_id, every=settings.phase_lease / 3).start()
    return Runtime(
        context=ctx, waiter=SuspendWaiter(ctx), launcher=DeploymentLauncher(ctx), waker=PrefectWaker(ctx)
    )


def current_runtime() -> Runtime:
    """Return the runtime of this process: the one installed (a rehearsal's), else the live one, built once."""
    return installed_runtime() or install_runtime(build_live_runtime())


def show_product_logs() -> None:
    """Let the product's INFO lines through to the run's logs in Prefect (what it waits for, sent, woke).

    PREFECT_LOGGING_EXTRA_LOGGERS gives the product's loggers Prefect's handlers but not a level, so they would
    inherit the root's WARNING and every INFO line would be dropped before reaching the run's Logs tab.
    """
    product = logging.getLogger("send_inspection")
    if product.level == logging.NOTSET:
        product.setLevel(logging.INFO)
