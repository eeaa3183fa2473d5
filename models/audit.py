"""The audit log: who did what, when. Never holds erased personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, select

from models.base import UTCDateTime, utcnow


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_member_id: int | None = Field(default=None, index=True)
    actor_label: str = Field(default="", max_length=120)  # "telegram:123", "cli", "web:3"
    action: str = Field(max_length=80, index=True)
    target: str = Field(default="", max_length=120)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


async def record_audit(
    *,
    session: AsyncSession,
    action: str,
    actor_member_id: int | None = None,
    actor_label: str = "",
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    entry = AuditLog(
        action=action,
        actor_member_id=actor_member_id,
        actor_label=actor_label,
        target=target,
        details=details or {},
    )
    session.add(entry)
    await session.flush()
    return entry


async def recent_audit(*, session: AsyncSession, limit: int = 50) -> list[AuditLog]:
    result = await session.execute(
        select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)  # type: ignore[union-attr]
    )
    return list(result.scalars())
