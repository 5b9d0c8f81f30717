"""The migrations build exactly the schema the models describe, on SQLite and (in CI) PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from send_inspection.db.models import Base
from send_inspection.db.session import engine_for, migrate


def test_migrations_match_the_models(tmp_path: Path) -> None:
    """After every migration has run, autogenerate finds nothing left to change."""
    url = os.environ.get("SEND_INSPECTION_TEST_DB_URL") or f"sqlite:///{tmp_path / 'schema.db'}"
    migrate(url)
    with engine_for(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
