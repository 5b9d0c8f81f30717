"""Fixtures shared by the mail tests: the local EWS endpoint and a migrated database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from exchangelib.protocol import close_connections
from sqlalchemy.orm import Session, sessionmaker

from send_inspection.db.session import engine_for
from tests.conftest import fresh_database


@pytest.fixture(autouse=True)
def fresh_protocols() -> Iterator[None]:
    """Drop exchangelib's cached connections after each test, so no test reuses another's server."""
    yield
    close_connections()


@pytest.fixture
def sessions(tmp_path: Path) -> Callable[[], Session]:
    """Return a session factory on a new, migrated database (SQLite, or PostgreSQL when the tests are given one).

    Objects outlive their commits, as in the product's own sessions (EngineContext): a stale copy shows here too.
    """
    return sessionmaker(engine_for(fresh_database(tmp_path)), expire_on_commit=False)
