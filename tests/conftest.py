"""Shared fixtures: the demo config, an engine context on a virtual clock, a temporary database."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from sqlalchemy import select  # noqa: E402

from send_inspection.calendar import LONDON  # noqa: E402
from send_inspection.childdata.columns import ChildDataConfig, load_child_data_config  # noqa: E402
from send_inspection.clock import VirtualClock  # noqa: E402
from send_inspection.config.loader import calendar_for, default_config_dir, load_config  # noqa: E402
from send_inspection.config.models import PartnershipConfig  # noqa: E402
from send_inspection.db import models as m  # noqa: E402
from send_inspection.db.session import migrate, relax_durability  # noqa: E402
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext  # noqa: E402
from send_inspection.engine.inspection import open_inspection  # noqa: E402
from send_inspection.engine.phase_rows import ensure_phase  # noqa: E402
from send_inspection.mail.outbox import OutboxTransport  # noqa: E402
from tests.coordinator.fake_runner import RecordingRunner  # noqa: E402

NOTIFIED = datetime(2023, 6, 26, 9, 0, tzinfo=LONDON)

# The `server` fixture: the local EWS endpoint that the real exchangelib client talks to (a module testing another
# server defines its own `server`); `graph_server`: the local Graph endpoint and authority the real MSAL talks to.
# The `oidc_provider` fixture: a real OpenID Connect provider on loopback.
pytest_plugins = ["tests.mail.ews_server", "tests.mail.graph_server", "tests.console.oidc_provider"]


# Fixtures whose tests take minutes (a real stack, a rehearsal's Prefect server), longest first: their files are
# collected first, so they are handed out first and no pytest process is left running one alone at the end.
LONG_FIXTURES = ("stack", "pool", "prefect_harness")
# Test files that share one session's stack (tests/live/conftest.py): the same pytest process runs them, so the
# stack starts once.
SHARED_STACK = {
    "tests/live/test_inspection_on_the_stack.py": "stack", "tests/live/test_start_never_lost.py": "stack",
    "tests/live/test_pool_on_postgres.py": "pool", "tests/live/test_console_on_the_stack.py": "pool",
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Collect the files of the long fixtures first, each file's tests still together and in order."""
    first: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::")[0]
        rank = min((LONG_FIXTURES.index(f) for f in item.fixturenames if f in LONG_FIXTURES),
                   default=len(LONG_FIXTURES))
        first[path] = min(first.get(path, rank), rank)
    items.sort(key=lambda item: first[item.nodeid.split("::")[0]])  # stable: a file keeps its order


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Hand each pytest-xdist process whole files (files sharing a stack together) in the order collected."""
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        """xdist's per-file scheduling, with the files of one shared stack as one unit and no reordering."""

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::")[0]
            return SHARED_STACK.get(path, path)

    config.option.loadscopereorder = False  # xdist's default puts the files with fewest tests (the live ones) last
    return FileScheduling(config, log)


@pytest.fixture(scope="session")
def demo_config() -> PartnershipConfig:
    """Load the shipped Demo County config once."""
    return load_config(default_config_dir())


@pytest.fixture(scope="session")
def demo_child_data() -> ChildDataConfig:
    """Load the shipped Demo County child-level data layout once."""
    return load_child_data_config(default_config_dir())


@pytest.fixture
def clock() -> VirtualClock:
    """Return a virtual clock at the demo notification time (Monday 26 June 2023, 09:00)."""
    return VirtualClock(NOTIFIED)


def _own_database_per_test_process() -> None:
    """Give each pytest-xdist process a PostgreSQL database of its own, so parallel tests never share a schema."""
    url, worker = os.environ.get("SEND_INSPECTION_TEST_DB_URL", ""), os.environ.get("PYTEST_XDIST_WORKER")
    if not url.startswith("postgresql") or not worker:
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    os.environ["SEND_INSPECTION_TEST_DB_URL"] = base.set(database=name).render_as_string(hide_password=False)


_own_database_per_test_process()

# Set to a PostgreSQL URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/si_test) to run the engine's
# database tests on PostgreSQL instead of SQLite; each test starts from an empty schema.
TEST_DB_URL = os.environ.get("SEND_INSPECTION_TEST_DB_URL")


_SQLITE_TEMPLATE: list[Path] = []  # one migrated SQLite file per test run, copied for each test
_POSTGRES_MIGRATED: list[bool] = []


def fresh_database(tmp_path: Path) -> str:
    """Return the URL of an empty, migrated database for one test (migrated once per run, then copied or emptied)."""
    if not TEST_DB_URL:
        if not _SQLITE_TEMPLATE:
            template = Path(tempfile.mkdtemp(prefix="send-inspection-schema-")) / "template.db"
            migrate(f"sqlite:///{template}")
            _SQLITE_TEMPLATE.append(template)
        target = tmp_path / "engine.db"
        with sqlite3.connect(_SQLITE_TEMPLATE[0]) as source, sqlite3.connect(target) as copy:
            source.backup(copy)  # the backup API also carries what is still in the write-ahead log
        relax_durability(f"sqlite:///{target}")  # a test's database is thrown away: no waiting for the disk
        return f"sqlite:///{target}"
    from sqlalchemy import create_engine, inspect, text

    url = TEST_DB_URL
    engine = create_engine(url)
    with engine.begin() as conn:
        if not _POSTGRES_MIGRATED:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:  # the schema is already at head: empty every table but Alembic's own
            tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
            if tables:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    if not _POSTGRES_MIGRATED:
        migrate(url)
        _POSTGRES_MIGRATED.append(True)
    return url


@pytest.fixture
def ctx(tmp_path: Path, demo_config: PartnershipConfig, demo_child_data: ChildDataConfig,
        clock: VirtualClock) -> EngineContext:
    """Return an engine context on an empty database, the outbox transport and the virtual clock."""
    url = fresh_database(tmp_path)
    return EngineContext(
        config=demo_config,
        calendar=calendar_for(demo_config),
        db_url=url,
        clock=clock,
        transport=OutboxTransport(tmp_path / "outbox"),
        base_url="http://testserver",
        uploads_dir=tmp_path / "uploads",
        child_data=demo_child_data,
        check_links=False,  # tests that try links turn it on and serve the pages themselves
    )


@pytest.fixture
def runner() -> RecordingRunner:
    """Return a fake orchestrator for the coordinator's actions that records what it is asked."""
    return RecordingRunner()


@pytest.fixture
def started(ctx: EngineContext) -> tuple[str, m.RegisterItem]:
    """Open the demo inspection, send the day-2 asks and return the id and day-2 item 1.1."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "day2")
    reconcile_annex_a(ctx, iid, "day2")
    with ctx.session() as session:
        item = session.scalars(select(m.RegisterItem).where(m.RegisterItem.phase == "day2",
                                                            m.RegisterItem.ref == "1.1")).one()
    return iid, item
