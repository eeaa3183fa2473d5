"""What a capability gives the scheduler: a provider answering "what is due at time T?".

A provider is a pure function of the database and the clock. Moving an event moves its
reminders (they are computed from its dates), cancelling it removes them, and nothing
depends on pickled jobs. Each `DueItem.key` is sent at most once (models.reminders).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbound import Outgoing
from bot.settings import Settings
from models.members import Member


@dataclass
class DueItem:
    key: str  # unique per (item, recipient, reminder), e.g. "event:12:member:7:1d"
    member: Member
    message: Outgoing  # already in the member's language
    due_at: datetime  # when it should go (UTC)
    not_after: datetime | None = None  # grace rule: skipped (and logged) if not sent by then
    urgent: bool = False  # urgent items ignore quiet hours and holidays
    kind: str = "reminder"


class Provider(Protocol):
    name: str

    async def due(
        self, *, session: AsyncSession, now: datetime, settings: Settings
    ) -> list[DueItem]:
        """Items whose `due_at` <= now, not yet past `not_after` (the engine re-checks both)."""
        ...
