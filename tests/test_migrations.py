"""Migrations and models agree, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import models
from bot.db import sync_url
from models.base import compare_type


def test_models_and_migrations_do_not_drift(db_url: str) -> None:
    models.load_all()
    engine = create_engine(sync_url(db_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": compare_type})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"run `alembic revision --autogenerate`: {diff}"


def test_the_migrations_have_one_head() -> None:
    """New migrations build on the one head (`alembic revision --autogenerate` needs it)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(Config(str(Path(__file__).parents[1] / "alembic.ini")))
    assert len(script.get_heads()) == 1, script.get_heads()
