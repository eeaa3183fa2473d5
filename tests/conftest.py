"""Shared fixtures: a fresh database per test (SQLite file or PostgreSQL), a network guard,
and a Runtime wired to the fake Telegram and Twilio servers.

Set DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test to run on PostgreSQL:
the suite creates its own database on that server and drops it at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db import Database, run_migrations, sync_url
from bot.runtime import Runtime
from bot.settings import Settings
from tests.harness import RunningBot, running_bot
from tests.netguard import install_network_guard

install_network_guard()

ROOT = Path(__file__).resolve().parent.parent
BASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = BASE_URL.startswith(("postgresql", "postgres"))


def pytest_report_header() -> str:
    return f"lagbot database: {'PostgreSQL' if ON_POSTGRES else 'SQLite'}"


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[str | None]:
    """A private PostgreSQL database for this test session, migrated once."""
    if not ON_POSTGRES:
        yield None
        return
    server = make_url(sync_url(BASE_URL))
    name = f"lagbot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)
    run_migrations(url)
    yield url
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "lagbot.sqlite3"
    run_migrations(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def db_url(_pg_database: str | None, _sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for one test."""
    if _pg_database is None:
        path = tmp_path / "lagbot.sqlite3"
        shutil.copy(_sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    _truncate_all(_pg_database)
    yield _pg_database


def _truncate_all(url: str) -> None:
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{name}"' for name in tables)
        if names:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def make_settings(db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": db_url,
        "telegram_bot_token": None,
        "twilio_account_sid": None,
        "twilio_auth_token": None,
        "twilio_from": None,
        "sms_gateway_url": None,
        "public_base_url": None,
        "web_secret_key": "test-secret-key-0123456789",
        "sms_rate_per_second": 0,
        "telegram_rate_per_second": 0,
        "scheduler_tick_seconds": 3600,
        "secretariat_telegram_ids": [],
        "secretariat_phones": [],
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
async def rt(settings: Settings) -> AsyncIterator[Runtime]:
    """A Runtime with no channels configured and nothing started (for domain tests)."""
    runtime = Runtime(settings)
    await runtime.prepare_data()
    yield runtime
    await runtime.db.dispose()


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    """A whole lagbot running in-process against the fake Telegram and Twilio servers."""
    async with running_bot(db_url) as running:
        yield running
