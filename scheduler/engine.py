"""The scheduler: a short APScheduler tick asks every provider what is due and queues it once.

Each tick (SCHEDULER_TICK_SECONDS) in the one active process (scheduler.leader):

1. asks every provider for its due items (and, near a night or a holiday, the items a little
   ahead, which may have to go the evening before: scheduler.timing);
2. drops the keys `reminder_log` already has (sent, skipped, ...);
3. plans each item around quiet hours and public holidays, and for each one whose time came:
   skipped by the secretariat → `cancelled`; past its grace time (`not_after`, e.g. the bot was
   down) → `skipped` with a log line; otherwise the key is claimed in `reminder_log` and the
   message queued through bot.outbound in the same transaction (a lost race queues nothing).

The database is the source of truth: nothing is kept between ticks but caches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.outbound import queue_for_member
from models.base import utcnow
from models.holidays import HolidayFileError, Holidays, load_holidays
from models.members import Member
from models.reminders import (
    claim_key,
    logged_keys,
    record_tick,
    restore_ref,
    set_outcome,
    skip_ref,
    skipped_refs,
)
from scheduler.digest import DigestProvider, DigestSection, holiday_section
from scheduler.leader import (
    LEASE_NAME,
    Leadership,
    LeaseLeadership,
    election_interval,
    leadership_for,
)
from scheduler.notices import NoticeProvider
from scheduler.providers import DueItem, DueProvider, Planned, Planner, Provider
from scheduler.timing import Calendar, Move, Plan

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 180  # the outbox adds ":telegram" to it, in a 200-character column
STATUS_TTL = timedelta(minutes=1)


@dataclass
class Pending:
    """One item not yet handled, with the time it is planned to go."""

    provider: str
    item: DueItem
    plan: Plan


@dataclass
class PendingGroup:
    """One line of /reminders: one reminder of one subject, for all its recipients."""

    ref: str
    provider: str
    title: str
    title_key: str | None
    send_at: datetime
    move: Move
    reason: str
    recipients: int
    urgent: bool
    skipped: bool
    items: list[Pending]


class Scheduler:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.providers: list[DueProvider] = []
        self.digest_sections: list[DigestSection] = []
        self.clock: Callable[[], datetime] = utcnow
        self.leadership: Leadership | None = None
        self.last_tick_at: datetime | None = None
        self._aps: AsyncIOScheduler | None = None
        self._busy = asyncio.Lock()
        self._calendar: Calendar | None = None
        self._holiday_error: str | None = None
        self.register(NoticeProvider())
        self.register(DigestProvider(self))
        self.add_digest_section(holiday_section(lambda: self.calendar))

    # -- what capabilities call ---------------------------------------------------------------
    def register(self, provider: DueProvider) -> None:
        if any(p.name == provider.name for p in self.providers):
            raise ValueError(f"a scheduler provider named {provider.name!r} is registered twice")
        self.providers.append(provider)

    def add_digest_section(self, section: DigestSection) -> None:
        """Add lines to the weekly digest (see scheduler.digest.DigestSection)."""
        self.digest_sections.append(section)
        self.digest_sections.sort(key=lambda s: (s.order, s.name))

    @property
    def calendar(self) -> Calendar:
        """Quiet hours and holidays; the holidays file is re-read when it changes.

        A broken file is reported (once per error) and the last good one kept, or none:
        reminders keep going rather than stop over a typo.
        """
        path = self.rt.settings.holidays_file
        try:
            holidays = load_holidays(path)
        except HolidayFileError as exc:
            if str(exc) != self._holiday_error:
                self._holiday_error = str(exc)
                log.error("scheduler: %s; until it is fixed the last good holidays apply", exc)
            holidays = self._calendar.holidays if self._calendar is not None else Holidays()
        else:
            self._holiday_error = None
        if self._calendar is None or self._calendar.holidays is not holidays:
            self._calendar = Calendar(self.rt.settings, holidays)
        return self._calendar

    @property
    def is_leader(self) -> bool:
        return self.leadership is not None and self.leadership.is_leader

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        settings = self.rt.settings
        self.leadership = leadership_for(self.rt)
        now = datetime.now(settings.tz)
        self._aps = AsyncIOScheduler(timezone=settings.tz)
        interval = election_interval(settings.scheduler_tick_seconds)
        self._aps.add_job(
            self._elect, "interval", seconds=interval, id="elect", next_run_time=now,
            max_instances=1, coalesce=True, misfire_grace_time=max(1, int(interval)),
        )  # fmt: skip
        self._aps.add_job(
            self._tick_job, "interval", seconds=settings.scheduler_tick_seconds, id="tick",
            max_instances=1, coalesce=True,
            misfire_grace_time=max(1, int(settings.scheduler_tick_seconds)),
        )  # fmt: skip
        self._aps.start()

    async def stop(self) -> None:
        if self._aps is not None:
            self._aps.pause()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await self._busy.acquire()
                    self._busy.release()
            self._aps.shutdown(wait=False)
            self._aps = None
        if self.leadership is not None:
            await self.leadership.release()

    async def _elect(self) -> None:
        assert self.leadership is not None
        was = self.leadership.is_leader
        now_leader = await self.leadership.refresh()
        if now_leader and not was and self._aps is not None:
            self._aps.modify_job("tick", next_run_time=datetime.now(self.rt.settings.tz))

    async def _tick_job(self) -> None:
        if not self.is_leader:
            return
        async with self._busy:
            await self.tick()
            assert self.leadership is not None
            leased = isinstance(self.leadership, LeaseLeadership)
            try:
                async with self.rt.db.session() as session:
                    await record_tick(
                        session=session, name=LEASE_NAME, holder=self.leadership.holder,
                        now=utcnow(), status_ttl=None if leased else STATUS_TTL,
                    )  # fmt: skip
            except Exception:
                log.warning("scheduler: could not record the tick", exc_info=True)

    # -- the tick -----------------------------------------------------------------------------
    async def tick(self, now: datetime | None = None) -> int:
        """Queue everything whose time came by `now`; returns how many items were queued."""
        now = now or self.clock()
        until = self.calendar.lookahead_until(now)
        async with self.rt.db.session() as session:
            skipped = await skipped_refs(session=session)
        queued = 0
        for provider in list(self.providers):
            try:
                pending = await self._pending(provider, now, until if until > now else None)
                for entry in pending:
                    if await self._decide(entry, now, skipped):
                        queued += 1
            except Exception:
                log.exception("scheduler provider %s failed", provider.name)
        self.last_tick_at = now
        if queued:
            log.info("scheduler: queued %d item(s)", queued)
            self.rt.delivery.wake()
        return queued

    async def _pending(
        self, provider: DueProvider, now: datetime, until: datetime | None
    ) -> list[Pending]:
        settings = self.rt.settings
        async with self.rt.db.session() as session:
            items = await provider.due(session=session, now=now, settings=settings)
            if until is not None and isinstance(provider, Provider):
                items = items + await provider.upcoming(
                    session=session, now=now, until=until, settings=settings
                )
            unique: dict[str, DueItem] = {}
            for item in items:
                if len(item.key) > MAX_KEY_LENGTH:
                    log.error(
                        "scheduler: %s gave a key over %d chars", provider.name, MAX_KEY_LENGTH
                    )
                    continue
                unique.setdefault(item.key, item)
            done = await logged_keys(session=session, keys=unique)
        calendar = self.calendar
        return [
            Pending(
                provider.name,
                item,
                calendar.plan(item.due_at, not_after=item.not_after, urgent=item.urgent),
            )
            for key, item in unique.items()
            if key not in done
        ]

    async def _decide(self, entry: Pending, now: datetime, skipped: set[str]) -> bool:
        item, plan = entry.item, entry.plan
        if plan.send_at > now:
            return False
        if item.group in skipped:
            await self._record(entry, "cancelled", now, detail="skipped in /reminders")
            return False
        if item.not_after is not None and now >= item.not_after:
            log.info(
                "scheduler: skipped %s (%s): due %s, past its grace time %s",
                item.key, entry.provider, self._local(item.due_at), self._local(item.not_after),
            )  # fmt: skip
            await self._record(entry, "skipped", now, detail="past its grace time")
            return False
        if not item.urgent and self.calendar.blocked(now) is not None:
            later = self.calendar.next_open(now)
            if item.not_after is None or later < item.not_after:
                return False  # late, and now is night or a holiday: wait for the morning
            log.info("scheduler: %s is late; sending now rather than after it", item.key)
        return await self._send(entry, now, "queued")

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self.rt.settings.tz).isoformat(timespec="minutes")

    async def _record(self, entry: Pending, outcome: str, now: datetime, detail: str) -> None:
        item = entry.item
        async with self.rt.db.session() as session:
            await claim_key(
                session=session, key=item.key, provider=entry.provider, member_id=item.member.id,
                outcome=outcome, due_at=item.due_at, ref=item.ref, planned_at=entry.plan.send_at,
                detail=detail,
            )  # fmt: skip

    async def _send(
        self, entry: Pending, now: datetime, outcome: str, *, urgent: bool = False
    ) -> bool:
        """Claim the key and queue the message in one transaction; False if it was not queued."""
        item = entry.item
        async with self.rt.db.session() as session:
            claimed = await claim_key(
                session=session, key=item.key, provider=entry.provider, member_id=item.member.id,
                outcome=outcome, due_at=item.due_at, ref=item.ref, planned_at=entry.plan.send_at,
            )  # fmt: skip
            if claimed is None:
                return False  # another tick or process took it
            member = await session.get(Member, item.member.id) if item.member.id else None
            rows = []
            if member is not None:
                rows = await queue_for_member(
                    session=session, settings=self.rt.settings, member=member,
                    message=item.message, kind=item.kind, priority=item.priority,
                    urgent=item.urgent or urgent, now=now, dedupe_key=item.key,
                )  # fmt: skip
            if not rows:
                await set_outcome(session=session, entry=claimed, outcome="unreachable")
        return bool(rows)

    # -- what /reminders shows and does ---------------------------------------------------------
    async def pending(self, *, now: datetime | None = None, days: float = 7) -> list[PendingGroup]:
        """Everything not yet handled that goes within `days`, grouped by ref, soonest first."""
        now = now or self.clock()
        horizon = now + timedelta(days=days)
        async with self.rt.db.session() as session:
            skipped = await skipped_refs(session=session)
        groups: dict[tuple[str, str], PendingGroup] = {}
        for provider in list(self.providers):
            if not isinstance(provider, Provider):
                continue
            try:
                entries = await self._pending(provider, now, horizon)
            except Exception:
                log.exception("scheduler provider %s failed", provider.name)
                continue
            for entry in entries:
                item = entry.item
                if entry.plan.send_at > horizon:
                    continue
                if item.not_after is not None and now >= item.not_after:
                    continue  # the next tick logs it as skipped
                group = groups.get((entry.provider, item.group))
                if group is None:
                    group = groups[(entry.provider, item.group)] = PendingGroup(
                        ref=item.group, provider=entry.provider, title=item.title,
                        title_key=item.title_key, send_at=entry.plan.send_at,
                        move=entry.plan.move, reason=entry.plan.reason, recipients=0,
                        urgent=item.urgent, skipped=item.group in skipped, items=[],
                    )  # fmt: skip
                group.items.append(entry)
                if entry.plan.send_at < group.send_at:
                    group.send_at, group.move = entry.plan.send_at, entry.plan.move
                    group.reason = entry.plan.reason
        for group in groups.values():
            group.recipients = len({e.item.member.id for e in group.items})
        return sorted(groups.values(), key=lambda g: (g.send_at, g.ref))

    async def planned(self, *, now: datetime | None = None, days: float = 7) -> list[Planned]:
        """What providers managed elsewhere (scheduled broadcasts) will send within `days`."""
        now = now or self.clock()
        until = now + timedelta(days=days)
        found: list[Planned] = []
        for provider in list(self.providers):
            if not isinstance(provider, Planner):
                continue
            try:
                async with self.rt.db.session() as session:
                    found += await provider.planned(
                        session=session, now=now, until=until, settings=self.rt.settings
                    )
            except Exception:
                log.exception("scheduler provider %s failed", provider.name)
        return sorted(found, key=lambda p: (p.send_at, p.ref))

    async def send_now(
        self, group: PendingGroup, *, now: datetime | None = None, sms_tonight: bool = False
    ) -> int:
        """The secretariat sends one reminder now (each recipient still gets it once).

        In quiet hours the SMS copies wait for the morning unless `sms_tonight` (the secretariat
        chose to wake villagers: it is sent as urgent)."""
        now = now or self.clock()
        sent = 0
        for entry in group.items:
            if await self._send(entry, now, "sent_now", urgent=sms_tonight):
                sent += 1
        if sent:
            self.rt.delivery.wake()
        return sent

    async def skip(self, group: PendingGroup, *, actor_member_id: int | None) -> bool:
        async with self.rt.db.session() as session:
            return await skip_ref(
                session=session, ref=group.ref, provider=group.provider, title=group.title,
                actor_member_id=actor_member_id,
            )  # fmt: skip

    async def restore(self, group: PendingGroup) -> bool:
        async with self.rt.db.session() as session:
            return await restore_ref(session=session, ref=group.ref)
