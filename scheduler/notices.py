"""The built-in provider of one-off personal notices (models.reminders.ScheduledNotice)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbound import Outgoing
from bot.settings import Settings
from models.members import Member
from models.reminders import notices_between
from scheduler.providers import DueItem, WindowProvider


class NoticeProvider(WindowProvider):
    """Each stored notice, due at its time, once (`notice:<key>` in reminder_log)."""

    name = "notice"
    lookback = timedelta(days=7)

    async def items(
        self, *, session: AsyncSession, start: datetime, end: datetime, settings: Settings
    ) -> list[DueItem]:
        items: list[DueItem] = []
        for notice in await notices_between(session=session, start=start, end=end):
            member = await session.get(Member, notice.member_id)
            if member is None:
                continue
            items.append(
                DueItem(
                    key=f"notice:{notice.key}",
                    member=member,
                    message=Outgoing(text=notice.text, sms_text=notice.sms_text),
                    due_at=notice.due_at,
                    not_after=notice.not_after,
                    urgent=notice.urgent,
                    kind=notice.kind,
                    ref=f"notice:{notice.key}",
                    title=notice.title or notice.text[:60],
                )
            )
        return items
