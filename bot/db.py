"""The database: one async engine per process, one session per update, job or request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def sync_url(url: str) -> str:
    """The same database for synchronous drivers (Alembic runs before the event loop)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _prepare_sqlite_path(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if make_url(url).get_backend_name() == "sqlite":
        _prepare_sqlite_path(url)
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_reset_on_return=None, **kwargs
        )
        _serialize_sqlite_writers(engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def _serialize_sqlite_writers(engine: AsyncEngine) -> None:
    """WAL, a busy timeout, BEGIN IMMEDIATE on every transaction, and no needless rollback.

    A plain BEGIN takes the write lock only at the first write, and two transactions that
    both read then write deadlock into "database is locked". BEGIN IMMEDIATE queues them.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.connection.info["ended"] = False
        # Straight on the driver connection: one trip to aiosqlite's thread, where
        # exec_driver_sql takes three (open a cursor, execute, close it).
        connection.connection.dbapi_connection.execute("BEGIN IMMEDIATE")

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def _on_end(connection: Any) -> None:
        connection.connection.info["ended"] = True

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, record: Any, state: Any) -> None:
        # The pool rolls back every connection it takes back, even one whose transaction
        # was just committed or rolled back; under load each trip to aiosqlite's thread
        # costs a GIL hand-over, so that rollback is skipped. Not after a BEGIN whose caller
        # was cancelled: it may still be queued in the thread, and a rollback must follow.
        ended = record.info.pop("ended", False) if record is not None else False
        if state.terminate_only or state.transaction_was_reset:
            return
        if not ended or dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()


class Database:
    """The engine and a session factory; `async with db.session() as s:` commits on success."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


def run_migrations(url: str, revision: str = "heads") -> None:
    """Apply Alembic migrations synchronously (call before the event loop starts)."""
    from alembic import command
    from alembic.config import Config

    if make_url(url).get_backend_name() == "sqlite":
        _prepare_sqlite_path(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    command.upgrade(config, revision)
