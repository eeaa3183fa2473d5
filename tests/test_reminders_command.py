"""/reminders: the secretariat sees what is coming and sends one now or skips it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot import cli
from bot.runtime import Runtime
from handlers.reminders import ref_hash
from models.audit import AuditLog
from models.base import utcnow
from models.broadcast_schedules import ScheduleKind, ScheduleStatus, create_schedule
from models.members import Role, member_by_telegram
from models.outbox import OutboxMessage
from models.reminders import schedule_notice
from scheduler.engine import Scheduler
from tests.conftest import make_settings
from tests.factories import make_member
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot
from tests.reminders_helpers import ListProvider, Spec, at

NOW = at("2030-06-04 12:00")  # a Tuesday, no holiday
TITLE = "Assembly in Kabali — 1 day before"


def scheduler_of(bot: RunningBot) -> Scheduler:
    assert bot.rt.scheduler is not None
    return bot.rt.scheduler


async def setup_reminder(bot: RunningBot) -> tuple[VirtualUser, list[VirtualUser]]:
    """Tamar (secretariat, English) and three villagers with tomorrow's assembly reminder."""
    tamar = bot.tg.user(first_name="Tamar", language_code="en")
    villagers = [bot.tg.user(first_name=f"V{i}", language_code="ka") for i in range(3)]
    provider = ListProvider("assembly")
    async with bot.rt.db.session() as session:
        await make_member(session, telegram=tamar.id, role=Role.SECRETARIAT, language="en")
        for villager in villagers:
            member = await make_member(session, telegram=villager.id, language="ka")
            assert member.id is not None
            provider.add(
                Spec(f"event:9:member:{member.id}:1d", member.id, "ხვალ 10:00 — კრება ყაბალში",
                     at("2030-06-05 10:00"), at("2030-06-06 10:00"), ref="event:9:1d", title=TITLE)
            )  # fmt: skip
    scheduler = scheduler_of(bot)
    scheduler.register(provider)
    scheduler.clock = lambda: NOW
    return tamar, villagers


async def test_reminders_lists_item_audience_and_local_time(bot: RunningBot) -> None:
    tamar, _ = await setup_reminder(bot)
    await tamar.send("/reminders")
    listing = await tamar.reply()
    assert "Coming up in the next 7 days:" in listing.text
    assert f"1. Wed 5 Jun, 10:00 — {TITLE} · 3 recipients" in listing.text
    assert tamar.buttons(listing) == [["▶ 1 send now", "✖ 1 skip"]]


async def test_skip_then_restore_from_the_list(bot: RunningBot) -> None:
    tamar, villagers = await setup_reminder(bot)
    await tamar.send("/reminders")
    await tamar.reply()
    await tamar.press("✖ 1 skip")
    await bot.tg.wait_until(lambda: tamar.last().text.startswith("Skipped:"))
    assert "(SKIPPED)" in tamar.last().text
    assert tamar.buttons() == [["↩ 1 restore"]]
    # A stale "send now" (an old message, a double tap) does not send a skipped reminder.
    await tamar.press_data(f"rem:y:7:{ref_hash('event:9:1d')}")
    await bot.tg.wait_until(lambda: "no longer waiting" in tamar.last().text)

    # Nobody gets it at its time.
    assert await scheduler_of(bot).tick(at("2030-06-05 10:00")) == 0
    assert all(not v.inbox for v in villagers)

    async with bot.rt.db.session() as session:
        audit = (
            await session.execute(select(AuditLog).where(AuditLog.action == "reminders.skip"))
        ).scalars().one()  # fmt: skip
    assert audit.target == "event:9:1d" and audit.details["recipients"] == 3


async def test_restored_reminder_goes_at_its_time(bot: RunningBot) -> None:
    tamar, villagers = await setup_reminder(bot)
    await tamar.send("/reminders")
    await tamar.reply()
    await tamar.press("✖ 1 skip")
    await bot.tg.wait_until(lambda: tamar.buttons() == [["↩ 1 restore"]])
    await tamar.press("↩ 1 restore")
    await bot.tg.wait_until(lambda: tamar.last().text.startswith("Restored:"))
    assert await scheduler_of(bot).tick(at("2030-06-05 10:00")) == 3
    for villager in villagers:
        assert (await villager.reply(timeout=10)).text.startswith("ხვალ 10:00")


async def test_send_now_asks_first_then_everyone_gets_it_once(bot: RunningBot) -> None:
    tamar, villagers = await setup_reminder(bot)
    await tamar.send("/reminders")
    await tamar.reply()
    await tamar.press("▶ 1 send now")
    await bot.tg.wait_until(lambda: "now to 3 recipients?" in tamar.last().text)
    await tamar.press("Yes, send now")
    await bot.tg.wait_until(lambda: tamar.last().text.startswith("Queued now:"))
    assert "Nothing is scheduled for the next 7 days." in tamar.last().text
    for villager in villagers:
        message = await villager.reply(timeout=10)
        assert message.text.startswith("ხვალ 10:00 — კრება ყაბალში")
    # At its planned time it does not go again.
    assert await scheduler_of(bot).tick(at("2030-06-05 10:00")) == 0
    assert all(len(v.inbox) == 1 for v in villagers)


async def test_a_reminder_sent_meanwhile_answers_no_longer_waiting(bot: RunningBot) -> None:
    tamar, _ = await setup_reminder(bot)
    await tamar.send("/reminders")
    await tamar.reply()
    await tamar.press("▶ 1 send now")
    await bot.tg.wait_until(lambda: "recipients?" in tamar.last().text)
    await scheduler_of(bot).tick(at("2030-06-05 10:00"))  # the scheduler sent it meanwhile
    await tamar.press("Yes, send now")
    await bot.tg.wait_until(lambda: "no longer waiting" in tamar.last().text)


async def test_plain_members_are_refused_the_list_and_its_buttons(bot: RunningBot) -> None:
    tamar, villagers = await setup_reminder(bot)
    await villagers[0].send("/reminders")
    assert (await villagers[0].reply()).text == "ეს ბრძანება მხოლოდ სამდივნოსთვისაა."
    await tamar.send("/reminders")
    await tamar.reply()
    # Tamar is demoted while her list is open: its buttons no longer work for her.
    async with bot.rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=tamar.id)
        assert member is not None
        member.role = Role.MEMBER
    await tamar.press("✖ 1 skip")
    await bot.tg.wait_until(lambda: tamar.callback_answers[-1] is not None)
    answer = tamar.callback_answers[-1]
    assert answer is not None and answer.get("text") == "This command is for the secretariat only."
    assert (await scheduler_of(bot).pending())[0].skipped is False
    async with bot.rt.db.session() as session:
        refused = (
            await session.execute(select(AuditLog).where(AuditLog.action == "access.refused"))
        ).scalars().all()  # fmt: skip
    assert any(r.target.startswith("button:rem:s:") for r in refused)


async def test_a_bad_number_of_days_is_explained(bot: RunningBot) -> None:
    tamar, _ = await setup_reminder(bot)
    await tamar.send("/reminders soon")
    assert (await tamar.reply()).text.startswith("Write /reminders, or /reminders 14")
    await tamar.send("/reminders 30")
    assert "Coming up in the next 30 days:" in (await tamar.reply()).text


def test_lagbot_reminders_prints_the_list_on_a_terminal(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def prepare() -> None:
        runtime = Runtime(make_settings(db_url))
        await runtime.prepare_data()
        async with runtime.db.session() as session:
            member = await make_member(session)
            assert member.id is not None
            await schedule_notice(
                session=session, key="grant:5:results", member_id=member.id,
                text="…", title="Grant results", due_at=utcnow() + timedelta(days=2),
            )  # fmt: skip
        await runtime.db.dispose()

    asyncio.run(prepare())
    monkeypatch.chdir(tmp_path)  # no developer .env
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    assert cli.main(["reminders", "--days", "7", "--language", "en"]) == 0
    out = capsys.readouterr().out
    assert "The scheduler has not run yet." in out
    assert "Grant results · 1 recipients" in out
    with pytest.raises(SystemExit):
        cli.main(["reminders", "--days", "0"])


async def test_send_now_at_night_lets_the_secretariat_choose_when_sms_go(bot: RunningBot) -> None:
    """Tamar opens /reminders after midnight: Telegram goes now; SMS wait for the morning unless
    she chooses to wake villagers."""
    tamar, _ = await setup_reminder(bot)
    late = [
        "+995599700001",  # an SMS-only villager for the morning
        "+995599700002",  # and one for tonight
    ]
    provider = ListProvider("night")
    async with bot.rt.db.session() as session:
        for n, phone in enumerate(late):
            member = await make_member(session, telegram=False, phone=phone, language="ka")
            assert member.id is not None
            provider.add(
                Spec(f"event:10:member:{member.id}:1d", member.id, f"ხვალ — შეხვედრა {n}",
                     at("2030-06-05 10:00"), at("2030-06-06 10:00"), ref=f"event:10:{n}",
                     title=f"Meeting {n}")
            )  # fmt: skip
    scheduler = scheduler_of(bot)
    scheduler.register(provider)
    scheduler.clock = lambda: at("2030-06-05 00:30")  # a weekday night in Tbilisi
    await tamar.send("/reminders")
    listing = await tamar.reply()
    assert "Meeting 0 · 1 recipients" in listing.text, listing.text

    await tamar.press("▶ 1 send now")
    await bot.tg.wait_until(lambda: "quiet hours" in tamar.last().text)
    assert "SMS at 08:00 in the morning" in tamar.last().text
    assert tamar.buttons() == [["Send (SMS at 08:00)"], ["Send, SMS tonight too"], ["Cancel"]]
    await tamar.press("Send (SMS at 08:00)")
    await bot.tg.wait_until(lambda: tamar.last().text.startswith("Queued now: “Meeting 0”"))

    await tamar.press("▶ 1 send now")  # Meeting 1 is now first in the list
    await bot.tg.wait_until(lambda: "quiet hours" in tamar.last().text)
    await tamar.press("Send, SMS tonight too")
    await bot.tg.wait_until(lambda: tamar.last().text.startswith("Queued now: “Meeting 1”"))

    [tonight] = await bot.sms_replies(late[1], 1)
    assert tonight.startswith("ხვალ — შეხვედრა 1")
    assert bot.tw.messages_to(late[0]) == []  # the morning one waits
    async with bot.rt.db.session() as session:
        rows = {
            r.address: r
            for r in (await session.execute(select(OutboxMessage))).scalars()
            if r.channel == "sms"
        }
    morning = rows[late[0]]
    assert morning.status == "queued" and not morning.urgent
    assert (
        morning.next_attempt_at.astimezone(bot.settings.tz).strftime("%d.%m %H:%M") == "05.06 08:00"
    )
    assert rows[late[1]].urgent
    audits = await _audits(bot, "reminders.send_now")
    assert [a.details["sms_tonight"] for a in audits] == [False, True]


async def _audits(bot: RunningBot, action: str) -> list[AuditLog]:
    async with bot.rt.db.session() as session:
        query = select(AuditLog).where(AuditLog.action == action).order_by(col(AuditLog.id))
        return list((await session.execute(query)).scalars())


async def test_reminders_also_shows_scheduled_broadcasts_and_where_to_change_them(
    bot: RunningBot,
) -> None:
    tamar, _ = await setup_reminder(bot)
    async with bot.rt.db.session() as session:
        schedule = await create_schedule(
            session=session, settings=bot.settings, kind=ScheduleKind.WEEKLY,
            texts={"ka": "ყოველკვირეული ამბები"}, audience={}, urgent=False, created_by=None,
            weekdays=[3], local_time="18:30", now=NOW,
        )  # fmt: skip
        paused = await create_schedule(
            session=session, settings=bot.settings, kind=ScheduleKind.WEEKLY,
            texts={"ka": "შეჩერებული"}, audience={}, urgent=False, created_by=None,
            weekdays=[2], local_time="09:00", now=NOW,
        )  # fmt: skip
        paused.status = ScheduleStatus.PAUSED
    await tamar.send("/reminders")
    listing = (await tamar.reply()).text
    assert f"1. Wed 5 Jun, 10:00 — {TITLE} · 3 recipients" in listing
    assert "Also scheduled broadcasts:" in listing
    # Thursday 18:30 in Tbilisi; everyone registered (Tamar and three villagers) gets it.
    assert f"• Thu 6 Jun, 18:30 — S{schedule.id} «ყოველკვირეული ამბები» · 4 recipients" in listing
    assert "(change with /scheduled)" in listing
    assert "შეჩერებული" not in listing  # a paused schedule sends nothing
    assert tamar.buttons() == [["▶ 1 send now", "✖ 1 skip"]]  # no buttons for broadcasts
