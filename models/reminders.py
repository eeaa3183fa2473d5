"""What the scheduler already did: one row per (item, recipient, reminder) key.

The unique key is what makes a reminder go once, however many ticks or processes run.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class ReminderLog(SQLModel, table=True):
    __tablename__ = "reminder_log"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    provider: str = Field(max_length=40, index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    outcome: str = Field(max_length=20)  # queued | skipped | late
    due_at: datetime = Field(sa_type=UTCDateTime)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
