"""Scheduled and recurring broadcasts: once at a time, weekly on chosen days, or monthly.

Status::

    active ──/scheduled Pause──> paused ──Resume──> active (next run computed from now)
    active | paused ──Cancel──> cancelled
    active ──its only run went out (once)──> done

Times are wall-clock in the LAG's time zone (Asia/Tbilisi: UTC+4, no daylight saving):
"every Monday at 10:00" is 10:00 in Lagodekhi, stored as the next run in UTC. A monthly day
after the end of a short month falls on its last day. Each run publishes a Broadcast whose
`occurrence_key` is unique, so two ticks or two processes cannot publish a run twice; a run
missed while the bot was down goes late within RUN_GRACE, otherwise it is skipped (logged)
and the schedule moves on. Recipients are whoever the audience covers when a run goes out.
"""

from __future__ import annotations

import calendar
import enum
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import JSON, Column
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from bot.settings import Settings
from models.base import UTCDateTime, utcnow

RUN_GRACE = timedelta(hours=6)  # a run found this late (downtime) still goes; later: skipped


class ScheduleKind(enum.StrEnum):
    ONCE = "once"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class ScheduleStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class BroadcastSchedule(SQLModel, table=True):
    __tablename__ = "broadcast_schedule"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=ScheduleStatus.ACTIVE, max_length=20, index=True)
    kind: str = Field(max_length=10)
    texts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    urgent: bool = False
    weekdays: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    month_day: int | None = None
    local_time: str = Field(default="10:00", max_length=5)  # HH:MM in the LAG's time zone
    next_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    over_budget_ok: bool = False  # the secretariat confirmed going over the SMS budget
    runs: int = 0
    skipped_runs: int = 0
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="member.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScheduleError(ValueError):
    """The schedule cannot run (no weekday chosen, a time in the past, …)."""


def parse_hhmm(text: str) -> time | None:
    cleaned = text.strip().replace(".", ":").replace(" ", "")
    try:
        hour, minute = (int(part) for part in cleaned.split(":"))
    except ValueError:
        return None
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def parse_when(text: str, settings: Settings, now: datetime) -> datetime | None:
    """`25.12 10:00`, `25.12.2026 10:00`, `2026-12-25 10:00` in the LAG's time zone → UTC.

    A day and month without a year is the next such date (this year or the next).
    """
    parts = text.strip().replace(",", " ").split()
    if len(parts) != 2:
        return None
    day_text, clock = parts
    at = parse_hhmm(clock)
    if at is None:
        return None
    local_now = now.astimezone(settings.tz)
    try:
        if "-" in day_text:
            year, month, day = (int(p) for p in day_text.split("-"))
            chosen = date(year, month, day)
        else:
            pieces = [int(p) for p in day_text.replace("/", ".").split(".") if p]
            if len(pieces) == 2:
                day, month = pieces
                chosen = date(local_now.year, month, day)
                if datetime.combine(chosen, at, tzinfo=settings.tz) <= local_now:
                    chosen = date(local_now.year + 1, month, day)
            elif len(pieces) == 3:
                day, month, year = pieces
                chosen = date(year + 2000 if year < 100 else year, month, day)
            else:
                return None
    except ValueError:
        return None
    return datetime.combine(chosen, at, tzinfo=settings.tz).astimezone(now.tzinfo)


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def next_run(schedule: BroadcastSchedule, settings: Settings, after: datetime) -> datetime | None:
    """The first run strictly after `after` (UTC), or None when there is none."""
    tz = settings.tz
    at = parse_hhmm(schedule.local_time)
    if at is None:
        return None
    local_after = after.astimezone(tz)
    if schedule.kind == ScheduleKind.ONCE:
        run = schedule.next_run_at
        return run if run is not None and run > after else None
    if schedule.kind == ScheduleKind.WEEKLY:
        days = {d for d in schedule.weekdays if 0 <= d <= 6}
        if not days:
            return None
        for offset in range(8):
            day = local_after.date() + timedelta(days=offset)
            candidate = datetime.combine(day, at, tzinfo=tz)
            if day.weekday() in days and candidate > local_after:
                return candidate.astimezone(after.tzinfo)
        return None
    if schedule.kind == ScheduleKind.MONTHLY and schedule.month_day:
        year, month = local_after.year, local_after.month
        for _ in range(3):
            candidate = datetime.combine(_month_day(year, month, schedule.month_day), at, tzinfo=tz)
            if candidate > local_after:
                return candidate.astimezone(after.tzinfo)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


async def create_schedule(
    *,
    session: AsyncSession,
    settings: Settings,
    kind: str,
    texts: dict[str, str],
    audience: dict[str, Any],
    urgent: bool,
    created_by: int | None,
    send_at: datetime | None = None,
    weekdays: list[int] | None = None,
    month_day: int | None = None,
    local_time: str | None = None,
    over_budget_ok: bool = False,
    now: datetime | None = None,
) -> BroadcastSchedule:
    now = now or utcnow()
    if kind == ScheduleKind.ONCE:
        if send_at is None or send_at <= now:
            raise ScheduleError("the time is in the past")
        local_time = send_at.astimezone(settings.tz).strftime("%H:%M")
    schedule = BroadcastSchedule(
        kind=kind,
        texts=texts,
        audience=audience,
        urgent=urgent,
        weekdays=sorted(set(weekdays or [])),
        month_day=month_day,
        local_time=local_time or "10:00",
        next_run_at=send_at,
        over_budget_ok=over_budget_ok,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    schedule.next_run_at = next_run(schedule, settings, now)
    if schedule.next_run_at is None:
        raise ScheduleError("no run time")
    session.add(schedule)
    await session.flush()
    return schedule


async def set_status(
    *,
    session: AsyncSession,
    settings: Settings,
    schedule: BroadcastSchedule,
    status: str,
    now: datetime | None = None,
) -> bool:
    """Pause, resume or cancel; False when that makes no sense in the current status."""
    now = now or utcnow()
    allowed = {
        ScheduleStatus.PAUSED: {ScheduleStatus.ACTIVE},
        ScheduleStatus.ACTIVE: {ScheduleStatus.PAUSED},
        ScheduleStatus.CANCELLED: {ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED},
    }
    if schedule.status not in allowed.get(ScheduleStatus(status), set()):
        return False
    if status == ScheduleStatus.ACTIVE:
        upcoming = next_run(schedule, settings, now)
        if upcoming is None:
            return False  # a one-off whose time passed while paused
        schedule.next_run_at = upcoming
    schedule.status, schedule.updated_at = status, now
    session.add(schedule)
    return True


async def listed_schedules(*, session: AsyncSession) -> list[BroadcastSchedule]:
    result = await session.execute(
        select(BroadcastSchedule)
        .where(col(BroadcastSchedule.status).in_([ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED]))
        .order_by(col(BroadcastSchedule.next_run_at), col(BroadcastSchedule.id))
    )
    return list(result.scalars())


async def due_schedules(*, session: AsyncSession, now: datetime) -> list[BroadcastSchedule]:
    result = await session.execute(
        select(BroadcastSchedule)
        .where(
            col(BroadcastSchedule.status) == ScheduleStatus.ACTIVE,
            col(BroadcastSchedule.next_run_at) <= now,
        )
        .order_by(col(BroadcastSchedule.next_run_at))
    )
    return list(result.scalars())


def advance(
    schedule: BroadcastSchedule, settings: Settings, *, ran_at: datetime, ran: bool, now: datetime
) -> None:
    """After a run (or a skipped one): the next run, or done."""
    if ran:
        schedule.runs += 1
        schedule.last_run_at = now
    else:
        schedule.skipped_runs += 1
    if schedule.kind == ScheduleKind.ONCE:
        schedule.status, schedule.next_run_at = ScheduleStatus.DONE, None
    else:
        schedule.next_run_at = next_run(schedule, settings, max(ran_at, now - RUN_GRACE))
        if schedule.next_run_at is None:
            schedule.status = ScheduleStatus.DONE
    schedule.updated_at = now


class RunOutcome(enum.StrEnum):
    PUBLISHED = "published"
    SKIPPED_LATE = "skipped_late"  # found after RUN_GRACE (the bot was down)
    PAUSED_BUDGET = "paused_budget"  # would go over the SMS budget, nobody confirmed it
    ALREADY = "already"  # another tick or process published this run


async def run_schedule(
    *, session: AsyncSession, settings: Settings, schedule: BroadcastSchedule, now: datetime
) -> tuple[RunOutcome, Any]:
    """Publish one due run of `schedule` (caller's transaction); (outcome, Broadcast | None)."""
    from models.audiences import Audience, audience_reach
    from models.broadcast_costs import estimate_cost, month_spent
    from models.broadcasts import AlreadyPublished, Estimate, publish_broadcast

    assert schedule.id is not None and schedule.next_run_at is not None
    ran_at = schedule.next_run_at
    if now - ran_at > RUN_GRACE:
        advance(schedule, settings, ran_at=ran_at, ran=False, now=now)
        session.add(schedule)
        return RunOutcome.SKIPPED_LATE, None
    audience = Audience.from_json(schedule.audience)
    reach = await audience_reach(
        session=session,
        audience=audience,
        now=now,
        urgent=schedule.urgent,
        youth_min=settings.youth_min_age,
        youth_max=settings.youth_max_age,
    )
    spent = await month_spent(session=session, settings=settings, now=now)
    cost = estimate_cost(
        texts=schedule.texts, reach=reach, urgent=schedule.urgent, settings=settings,
        month_spent=spent,
    )  # fmt: skip
    if cost.over_budget and not schedule.over_budget_ok:
        schedule.status, schedule.updated_at = ScheduleStatus.PAUSED, now
        session.add(schedule)
        return RunOutcome.PAUSED_BUDGET, cost
    try:
        broadcast = await publish_broadcast(
            session=session,
            settings=settings,
            texts=schedule.texts,
            audience=audience,
            urgent=schedule.urgent,
            created_by=schedule.created_by,
            estimate=Estimate(cost.sms_parts, cost.cost, cost.over_budget),
            schedule_id=schedule.id,
            occurrence_key=f"s{schedule.id}@{ran_at.isoformat()}",
            now=now,
        )
    except AlreadyPublished:
        return RunOutcome.ALREADY, None
    advance(schedule, settings, ran_at=ran_at, ran=True, now=now)
    session.add(schedule)
    return RunOutcome.PUBLISHED, broadcast
