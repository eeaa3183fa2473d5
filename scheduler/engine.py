"""The scheduler: a short APScheduler tick asks every provider what is due and queues it once."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.outbound import queue_for_member
from models.base import utcnow
from models.outbox import Priority
from models.reminders import ReminderLog
from scheduler.providers import DueItem, Provider

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.providers: list[Provider] = []
        self._aps: AsyncIOScheduler | None = None

    def register(self, provider: Provider) -> None:
        self.providers.append(provider)

    async def start(self) -> None:
        self._aps = AsyncIOScheduler(timezone=self.rt.settings.tz)
        self._aps.add_job(
            self.tick,
            "interval",
            seconds=self.rt.settings.scheduler_tick_seconds,
            id="tick",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(self.rt.settings.tz),
        )
        self._aps.start()

    async def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None

    async def tick(self, now: datetime | None = None) -> int:
        """Queue everything due at `now`; returns how many messages were queued."""
        now = now or utcnow()
        queued = 0
        for provider in self.providers:
            try:
                async with self.rt.db.session() as session:
                    items = await provider.due(session=session, now=now, settings=self.rt.settings)
                for item in items:
                    if await self._handle(provider.name, item, now):
                        queued += 1
            except Exception:
                log.exception("scheduler provider %s failed", provider.name)
        if queued:
            self.rt.delivery.wake()
        return queued

    async def _handle(self, provider: str, item: DueItem, now: datetime) -> bool:
        if item.due_at > now:
            return False
        late = item.not_after is not None and now > item.not_after
        async with self.rt.db.session() as session:
            seen = await session.execute(select(ReminderLog.id).where(ReminderLog.key == item.key))
            if seen.first() is not None:
                return False
            session.add(
                ReminderLog(
                    key=item.key,
                    provider=provider,
                    member_id=item.member.id,
                    outcome="skipped" if late else "queued",
                    due_at=item.due_at,
                )
            )
            try:
                await session.flush()
            except IntegrityError:
                await session.rollback()
                return False  # another tick or process took it
            if late:
                log.info("skipped %s: past its grace time", item.key)
                return False
            rows = await queue_for_member(
                session=session,
                settings=self.rt.settings,
                member=item.member,
                message=item.message,
                kind=item.kind,
                priority=Priority.BULK,
                urgent=item.urgent,
                now=now,
                dedupe_key=item.key,
            )
        return bool(rows)
