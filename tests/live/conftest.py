"""The real local stacks of the live tests, each started once and shared by the modules that use it.

`stack`: SQLite, one worker serving the deployments. `pool`: the production shape on PostgreSQL (the PostgreSQL pass
of scripts/test.sh; skipped without it): two pool workers, the Prefect API behind its auth string.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.live.stack import LiveStack, start_pool_stack, start_stack, stop_stack

TEST_DB_URL = os.environ.get("SEND_INSPECTION_TEST_DB_URL", "")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """Start the Prefect server, the web app, the worker and the SMTP server once for all live tests."""
    live = start_stack(Path(tmp_path_factory.mktemp("live")))
    try:
        yield live
    finally:
        stop_stack(live)


def fresh_database(name: str) -> str:
    """Create (or empty) database `name` on the test PostgreSQL server; return its psycopg URL.

    Each pytest-xdist process has databases of its own: two processes may each start the pool stack at once.
    """
    if worker := os.environ.get("PYTEST_XDIST_WORKER"):
        name = f"{name}_{worker}"
    url = make_url(TEST_DB_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """Start the stack on PostgreSQL with two workers on the work pool, once for the session."""
    if not TEST_DB_URL.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: run through scripts/with-postgres.sh (scripts/test.sh does)")
    product = fresh_database("send_inspection_pool")
    prefect = make_url(fresh_database("prefect_pool")).set(drivername="postgresql+asyncpg")
    live = start_pool_stack(Path(tmp_path_factory.mktemp("pool")), product_db=product,
                            prefect_db=prefect.render_as_string(hide_password=False), workers=2)
    try:
        yield live
    finally:
        stop_stack(live)
