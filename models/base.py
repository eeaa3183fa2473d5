"""Shared column types and helpers for every table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


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
