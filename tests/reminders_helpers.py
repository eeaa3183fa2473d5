"""Shared by the scheduler tests: Tbilisi wall-clock times and a provider over a plain list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.db import Database
from bot.outbound import Outgoing
from bot.settings import Settings
from models.members import Member
from models.outbox import OutboxMessage
from models.reminders import ReminderLog
from scheduler.providers import DueItem, WindowProvider

TBILISI = ZoneInfo("Asia/Tbilisi")


def at(text: str) -> datetime:
    """A Tbilisi wall-clock time: at("2026-05-05 09:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=TBILISI)


@dataclass
class Spec:
    key: str
    member_id: int
    text: str
    due_at: datetime
    not_after: datetime | None = None
    urgent: bool = False
    ref: str | None = None
    title: str = ""


class ListProvider(WindowProvider):
    """Reminders from a list: a pure function of the list and the clock, like a real provider."""

    def __init__(self, name: str = "test") -> None:
        self.name = name
        self.specs: list[Spec] = []

    def add(self, *specs: Spec) -> None:
        self.specs.extend(specs)

    async def items(
        self, *, session: AsyncSession, start: datetime, end: datetime, settings: Settings
    ) -> list[DueItem]:
        found = []
        for spec in self.specs:
            if start <= spec.due_at < end:
                member = await session.get(Member, spec.member_id)
                assert member is not None
                found.append(
                    DueItem(
                        key=spec.key,
                        member=member,
                        message=Outgoing(text=spec.text),
                        due_at=spec.due_at,
                        not_after=spec.not_after,
                        urgent=spec.urgent,
                        ref=spec.ref,
                        title=spec.title,
                    )
                )
        return found


async def outbox(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        result = await session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        return list(result.scalars())


async def log_rows(db: Database) -> list[ReminderLog]:
    async with db.session() as session:
        result = await session.execute(select(ReminderLog).order_by(col(ReminderLog.id)))
        return list(result.scalars())
