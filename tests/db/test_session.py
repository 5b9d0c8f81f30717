"""The migrations build exactly the schema the models describe, on SQLite and (in CI) PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from send_inspection.db.models import Base
from send_inspection.db.session import MIGRATIONS, database_revision, engine_for, migrate, newest_revision


def test_migrations_match_the_models(tmp_path: Path) -> None:
    """After every migration has run, autogenerate finds nothing left to change."""
    url = os.environ.get("SEND_INSPECTION_TEST_DB_URL") or f"sqlite:///{tmp_path / 'schema.db'}"
    migrate(url)
    assert database_revision(url) == newest_revision()  # what the next process's `migrate` reads to skip Alembic
    with engine_for(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_each_migration_file_is_named_for_its_revision_and_the_newest_is_the_head() -> None:
    """The fast check of `migrate` takes the newest file name's number for the head: Alembic must agree."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS))
    assert all(Path(s.path).name.startswith(f"{s.revision}_") for s in scripts.walk_revisions())
    assert scripts.get_heads() == [newest_revision()]


def test_migrate_brings_a_database_from_nothing_to_the_newest_revision_and_then_leaves_it(tmp_path: Path) -> None:
    """A new database is migrated to the head; a later process finds it there and does not even import Alembic."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert database_revision(url) is None
    migrate(url)
    assert database_revision(url) == newest_revision()
    again = ("import sys\nfrom send_inspection.db.session import migrate\n"
             f"migrate({url!r})\nprint('alembic' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", again], capture_output=True, text=True, check=True,
                          timeout=120).stdout.split() == ["False"]
