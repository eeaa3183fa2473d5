"""Shared column types and helpers for every table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, String
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import class_mapper
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

RowT = TypeVar("RowT", bound=SQLModel)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    SQLite keeps no offset, so values are stored as naive UTC and given their
    tzinfo back on load; naive input is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def compare_type(_context: Any, inspected: Any, metadata: Any, *_: Any) -> bool | None:
    """For Alembic: our UTC type is a timezone-aware DateTime; AutoString is a String."""
    if isinstance(metadata, UTCDateTime) and isinstance(inspected, DateTime):
        return False
    if isinstance(metadata, String) and isinstance(inspected, String):
        return metadata.length != inspected.length if metadata.length else False
    return None


async def insert_if_absent(
    session: AsyncSession, table: Any, values: dict[str, Any], unique: list[str] | None
) -> Any:
    """INSERT … ON CONFLICT (unique) DO NOTHING RETURNING the primary key: None if it existed.

    `unique=None` gives ON CONFLICT DO NOTHING with no target: a clash on any unique
    constraint of the table (a member's phone or Telegram id) counts as "it existed".

    One statement, no exception and no savepoint: under concurrency the loser simply gets
    nothing back (PostgreSQL waits for the winner's commit; SQLite writers are serialized). A
    savepoint rolled back after an IntegrityError could leave SQLite's write lock held.
    """
    bind = session.get_bind()
    insert_fn = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    sa_table = table.__table__
    pk = next(iter(sa_table.primary_key.columns))
    statement = (
        insert_fn(sa_table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=unique)
        .returning(pk)
    )
    return (await session.execute(statement)).scalar()


async def add_if_absent(session: AsyncSession, row: RowT, unique: list[str] | None) -> RowT | None:
    """`session.add(row)`, unless a row with the same unique key exists (then None), as one
    insert_if_absent. The model's before_insert listeners run first, as on a flush — a Core
    INSERT skips them, and models.simulator marks simulated members and captures SMS to the
    simulator's numbers there."""
    mapper = class_mapper(type(row))
    connection = await session.connection()
    mapper.dispatch.before_insert(mapper, connection.sync_connection, instance_state(row))
    new_id = await insert_if_absent(session, type(row), row.model_dump(exclude={"id"}), unique)
    return None if new_id is None else await session.get_one(type(row), new_id)
