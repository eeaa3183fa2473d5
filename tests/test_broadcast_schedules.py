"""Scheduled and recurring broadcasts: Tbilisi wall-clock times, runs published once, the grace
rule after downtime, the budget guard, and /scheduled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.settings import Settings
from handlers.broadcast_schedules import ScheduledBroadcasts
from models.audit import AuditLog
from models.broadcast_schedules import (
    BroadcastSchedule,
    ScheduleKind,
    ScheduleStatus,
    create_schedule,
    next_run,
    parse_when,
)
from models.broadcasts import Broadcast
from tests.broadcast_helpers import delivery_bot, member_for, outbox
from tests.conftest import make_settings
from tests.harness import RunningBot
from tests.test_broadcasts import step


@pytest.fixture
def tbilisi() -> Settings:
    return make_settings("sqlite+aiosqlite:///unused.sqlite3")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text + "+04:00")


def test_weekly_runs_fall_on_the_chosen_days_at_tbilisi_time(tbilisi: Settings) -> None:
    schedule = BroadcastSchedule(kind=ScheduleKind.WEEKLY, weekdays=[0, 3], local_time="10:00")
    wednesday_noon = local("2026-11-25T12:00")
    thursday = next_run(schedule, tbilisi, wednesday_noon)
    assert thursday == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)  # 10:00 in Tbilisi
    assert next_run(schedule, tbilisi, thursday) == local("2026-11-30T10:00")  # then Monday
    assert next_run(schedule, tbilisi, local("2026-11-26T09:59")) == thursday


def test_monthly_runs_move_to_the_last_day_of_short_months(tbilisi: Settings) -> None:
    schedule = BroadcastSchedule(kind=ScheduleKind.MONTHLY, month_day=31, local_time="09:30")
    february = next_run(schedule, tbilisi, local("2027-02-01T00:00"))
    assert february == local("2027-02-28T09:30")
    assert next_run(schedule, tbilisi, february) == local("2027-03-31T09:30")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("25.12 10:00", "2026-12-25T10:00"),
        ("1.1 9:30", "2027-01-01T09:30"),  # next year: 1 January has passed
        ("2026-12-25 10:00", "2026-12-25T10:00"),
        ("25.12.26 18.45", "2026-12-25T18:45"),
        ("31.02 10:00", None),
        ("10:00", None),
        ("tomorrow 10:00", None),
    ],
)
def test_send_at_is_read_in_tbilisi_time(
    tbilisi: Settings, typed: str, expected: str | None
) -> None:
    now = local("2026-11-26T12:00")
    assert parse_when(typed, tbilisi, now) == (local(expected) if expected else None)


async def weekly(bot: RunningBot, creator_id: int | None, **fields: object) -> BroadcastSchedule:
    async with bot.rt.db.session() as session:
        return await create_schedule(
            session=session, settings=bot.settings, kind=ScheduleKind.WEEKLY,
            texts={"ka": "შეხსენება: ხვალ საერთო კრებაა"}, audience={}, urgent=False,
            created_by=creator_id, weekdays=[3], local_time="18:30", **fields,  # type: ignore[arg-type]
        )  # fmt: skip


def test_the_provider_is_registered_with_the_scheduler(db_url: str) -> None:
    from bot.runtime import Runtime

    rt = Runtime(make_settings(db_url))
    assert rt.scheduler is not None
    assert any(isinstance(p, ScheduledBroadcasts) for p in rt.scheduler.providers)


async def broadcasts(bot: RunningBot) -> list[Broadcast]:
    async with bot.rt.db.session() as session:
        return list((await session.execute(select(Broadcast))).scalars())


async def test_a_weekly_broadcast_goes_at_its_time_once_and_moves_to_next_week(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        nino = bot.tg.user()
        creator = await member_for(bot, nino, role="secretariat", phone=False)
        await member_for(bot, telegram=False, phone="+995599700001")
        schedule = await weekly(bot, creator.id)
        run_at = schedule.next_run_at
        assert run_at is not None and run_at.astimezone(bot.settings.tz).strftime("%a %H:%M") == (
            "Thu 18:30"
        )
        assert bot.rt.scheduler is not None
        await bot.rt.scheduler.tick(now=run_at - timedelta(minutes=1))
        assert await broadcasts(bot) == []
        await bot.rt.scheduler.tick(now=run_at + timedelta(seconds=20))
        await bot.rt.scheduler.tick(now=run_at + timedelta(seconds=50))  # a second tick: no-op
        [broadcast] = await broadcasts(bot)
        assert broadcast.schedule_id == schedule.id and broadcast.recipients == 2
        [sms] = await bot.sms_replies("+995599700001", 1, timeout=15)
        assert sms.startswith("შეხსენება: ხვალ საერთო კრებაა")
        expected = f"S{schedule.id} გაიგზავნა როგორც #{broadcast.id}: 2 მიმღები"
        await bot.tg.wait_until(lambda: any(expected in m.text for m in nino.inbox), timeout=15)
        await bot.tg.wait_until(
            lambda: any(m.text.startswith("შეხსენება") for m in nino.inbox), timeout=15
        )
        assert sum(m.text.startswith("შეხსენება") for m in nino.inbox) == 1  # she is in "everyone"
        async with bot.rt.db.session() as session:
            fresh = await session.get(BroadcastSchedule, schedule.id)
        assert fresh is not None and fresh.runs == 1
        assert fresh.next_run_at == run_at + timedelta(days=7)


async def test_two_processes_publishing_the_same_run_publish_it_once(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        creator = await member_for(bot, bot.tg.user(), role="secretariat", phone=False)
        schedule = await weekly(bot, creator.id)
        assert schedule.id is not None and schedule.next_run_at is not None
        now = schedule.next_run_at + timedelta(seconds=5)
        first, second = ScheduledBroadcasts(bot.rt), ScheduledBroadcasts(bot.rt)
        results = await asyncio.gather(first.run(schedule.id, now), second.run(schedule.id, now))
        assert sorted(results) == [False, True]
        assert len(await broadcasts(bot)) == 1


async def test_a_run_missed_by_hours_is_skipped_and_the_creator_is_told(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        nino = bot.tg.user()
        creator = await member_for(bot, nino, role="secretariat", phone=False)
        schedule = await weekly(bot, creator.id)
        assert schedule.next_run_at is not None
        assert bot.rt.scheduler is not None
        await bot.rt.scheduler.tick(now=schedule.next_run_at + timedelta(hours=7))
        assert await broadcasts(bot) == []
        assert "გამოტოვდა: ბოტი იმ დროს არ მუშაობდა" in (await nino.reply()).text
        async with bot.rt.db.session() as session:
            fresh = await session.get(BroadcastSchedule, schedule.id)
        assert fresh is not None and (fresh.runs, fresh.skipped_runs) == (0, 1)
        assert fresh.next_run_at == schedule.next_run_at + timedelta(days=7)


async def test_a_run_over_the_sms_budget_pauses_the_schedule(db_url: str) -> None:
    async with delivery_bot(db_url, sms_monthly_budget=0.01) as bot:
        nino = bot.tg.user()
        creator = await member_for(bot, nino, role="secretariat", phone=False)
        await member_for(bot, telegram=False, phone="+995599700002")
        schedule = await weekly(bot, creator.id)
        assert schedule.next_run_at is not None and bot.rt.scheduler is not None
        await bot.rt.scheduler.tick(now=schedule.next_run_at + timedelta(seconds=5))
        assert await broadcasts(bot) == []
        assert "შეჩერდა: გადააჭარბებდა თვის SMS ბიუჯეტს" in (await nino.reply()).text
        async with bot.rt.db.session() as session:
            fresh = await session.get(BroadcastSchedule, schedule.id)
        assert fresh is not None and fresh.status == ScheduleStatus.PAUSED


async def test_secretariat_schedules_a_weekly_broadcast_and_manages_it(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        nino = bot.tg.user()
        await member_for(bot, nino, role="secretariat", phone=False)
        await nino.send("/broadcast")
        await nino.reply()
        await nino.send("ყოველ ხუთშაბათს: ბიბლიოთეკა ღიაა 18:00-მდე")
        await nino.reply()
        await step(bot, nino, "გაგრძელება ➜", "ვის გავუგზავნოთ?")
        await step(bot, nino, "გაგრძელება ➜", "როგორ გავგზავნოთ?")
        await step(bot, nino, "ჩვეულებრივი", "როდის გავგზავნოთ?")
        await step(bot, nino, "ყოველკვირეულად…", "აირჩიეთ კვირის დღეები")
        await nino.press("ხუთ")
        await bot.tg.wait_until(
            lambda: ["ორშ", "სამ", "ოთხ", "✓ ხუთ"] in nino.buttons(), timeout=15
        )
        await step(bot, nino, "გაგრძელება ➜", "რომელ საათზე?")
        await nino.send("25:00")
        assert "ვერ გავიგე დრო" in (await nino.reply()).text
        await nino.send("10:00")
        *_, summary = await nino.replies(2)
        assert "დრო: ყოველ კვირას — ხუთ, 10:00" in summary.text
        await step(bot, nino, "✓ დაგეგმვა", "დაგეგმილია S1")
        assert await outbox(bot) == []  # nothing goes now
        await nino.send("/scheduled")
        _, line = await nino.replies(2)
        assert "S1 · აქტიური" in line.text and "ხუთ, 10:00" in line.text
        await step(bot, nino, "⏸ პაუზა", "S1 · შეჩერებული")
        await step(bot, nino, "▶ განახლება", "S1 · აქტიური")
        await nino.press("✕ გაუქმება")
        await bot.tg.wait_until(
            lambda: ["დიახ, გაუქმდეს", "არა, დარჩეს"] in nino.buttons(), timeout=15
        )
        await step(bot, nino, "დიახ, გაუქმდეს", "S1 · გაუქმებული")
        assert nino.buttons() == []
        async with bot.rt.db.session() as session:
            actions = [a.action for a in (await session.execute(select(AuditLog))).scalars()]
        assert actions == [
            "broadcast.schedule",
            "broadcast.schedule_paused",
            "broadcast.schedule_active",
            "broadcast.schedule_cancelled",
        ]
