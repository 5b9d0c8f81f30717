"""Database engines and sessions: SQLite by default, any SQLAlchemy URL (PostgreSQL) by setting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """Return one shared engine per database URL."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):  # noqa: ANN001
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def relax_durability(url: str) -> None:
    """Let a throwaway SQLite database (a rehearsal's, a test's) commit without waiting for the disk."""
    if not url.startswith("sqlite"):
        return
    engine = engine_for(url)

    @event.listens_for(engine, "connect")
    def _no_sync(conn, _record):  # noqa: ANN001
        conn.execute("PRAGMA synchronous=OFF")

    engine.dispose()  # connections opened before now reconnect with the pragma


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """Open a session that commits on success and rolls back on error."""
    session = sessionmaker(engine_for(url), expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def newest_revision() -> str:
    """Return the revision of the newest migration: the number its file name starts with (tests/db checks this)."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def database_revision(url: str) -> str | None:
    """Return the Alembic revision the database at `url` is at (None before its first migration)."""
    with engine_for(url).connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(url: str) -> None:
    """Bring the database at `url` up to the latest Alembic revision.

    Every flow-run process checks this as it starts: a database already at the newest revision is left alone
    without importing Alembic (most of the check's cost).
    """
    if database_revision(url) == newest_revision():
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    with engine_for(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def compact(url: str) -> None:
    """Rewrite the database's files so that deleted rows and replaced text cannot be read back from them.

    SQLite keeps old page images in its write-ahead log and free pages; PostgreSQL keeps dead row versions in its
    table files until they are rewritten. Run after deleting personal data (it takes a lock while it runs).
    """
    engine = engine_for(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if url.startswith("sqlite"):
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            conn.exec_driver_sql("VACUUM FULL")
