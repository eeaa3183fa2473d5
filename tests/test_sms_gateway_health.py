"""The phone's health: /gateway for the secretariat, and Telegram alerts when it goes silent,
when sends fail, and when it is back - each once, day or night."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.outbound import Outgoing, queue_for_member
from handlers.gateway_health import ALERT_KIND, send_alerts
from models.audit import AuditLog
from models.base import utcnow
from models.gateway import gateway_health, gateway_status
from models.members import Role
from models.outbox import OutboxMessage
from tests.factories import make_member
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot, running_bot

VILLAGER = "+995599123456"


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, gateway=True, sms_outbound_provider="gateway") as running:
        yield running


async def secretary(bot: RunningBot) -> VirtualUser:
    user = bot.tg.user(language_code="ka")
    async with bot.rt.db.session() as session:
        await make_member(session, telegram=user.id, role=Role.SECRETARIAT, language="ka")
    return user


async def phone_last_heard(bot: RunningBot, ago: timedelta) -> None:
    async with bot.rt.db.session() as session:
        status = await gateway_status(session=session)
        status.last_contact_at = status.monitoring_since = utcnow() - ago
        session.add(status)


async def sent_through_the_phone(bot: RunningBot, count: int) -> None:
    """Wait until the outbox has recorded `count` sends through the phone."""
    for _ in range(100):
        async with bot.rt.db.session() as session:
            if (await gateway_health(session=session)).sent_24h >= count:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the send was never recorded")


async def tick(bot: RunningBot) -> None:
    """The gateway monitor's periodic check (every minute in production)."""
    await bot.rt.hooks["gateway.monitor"]()


async def test_secretariat_is_told_once_when_the_phone_is_silent_and_when_it_is_back(
    bot: RunningBot,
) -> None:
    admin = await secretary(bot)
    await phone_last_heard(bot, timedelta(minutes=59))
    await tick(bot)
    assert admin.texts() == []  # under an hour: nothing yet
    await phone_last_heard(bot, timedelta(minutes=61))
    await tick(bot)
    alert = await admin.reply()
    assert "SMS ტელეფონი დუმს" in alert.text
    await tick(bot)
    await tick(bot)
    assert len(admin.texts()) == 1  # one alert per silence
    # A villager's SMS reaches the bot again: the phone is back.
    await bot.gateway_sms(VILLAGER, "HELP")
    await tick(bot)
    back = await admin.reply()
    assert "ისევ კავშირზეა" in back.text
    await tick(bot)
    assert len(admin.texts()) == 2


async def test_two_monitors_ticking_at_once_tell_the_secretariat_once(bot: RunningBot) -> None:
    admin = await secretary(bot)
    await phone_last_heard(bot, timedelta(minutes=61))
    # Two processes notice the silence together, each in its own session.
    queued = await asyncio.gather(send_alerts(bot.rt), send_alerts(bot.rt))
    assert sorted(queued) == [0, 1]
    async with bot.rt.db.session() as session:
        rows = await session.execute(select(OutboxMessage).where(OutboxMessage.kind == ALERT_KIND))
    assert len(rows.all()) == 1
    assert "SMS ტელეფონი დუმს" in (await admin.reply()).text


async def test_secretariat_is_told_once_when_sends_through_the_phone_fail(
    bot: RunningBot,
) -> None:
    admin = await secretary(bot)
    phones = [f"+9955990000{n:02d}" for n in range(3)]
    async with bot.rt.db.session() as session:
        for phone in phones:
            member = await make_member(session, telegram=False, phone=phone)
            await queue_for_member(
                session=session,
                settings=bot.settings,
                member=member,
                message=Outgoing(text="Grant results are out"),
                kind="announcement",
                urgent=True,
            )
    bot.rt.delivery.wake("sms")
    await bot.tg.wait_until(lambda: len(bot.gw.messages) == 3)
    for message in bot.gw.messages[:2]:
        await bot.gw.emit_state(message.id, "sms:failed", reason="RESULT_ERROR_NO_SERVICE")
    await tick(bot)
    assert admin.texts() == []  # two failures are not yet a pattern
    await bot.gw.emit_state(bot.gw.messages[2].id, "sms:failed", reason="RESULT_ERROR_NO_SERVICE")
    await tick(bot)
    alert = await admin.reply()
    assert "3 SMS" in alert.text and "RESULT_ERROR_NO_SERVICE" in alert.text
    assert "ბალანსი" in alert.text  # check the SIM's balance
    await tick(bot)
    assert len(admin.texts()) == 1
    async with bot.rt.db.session() as session:
        health = await gateway_health(session=session)
    assert health.failing and health.failed_1h == 3 and health.queued == 0


async def test_members_without_telegram_are_not_alerted_by_sms(bot: RunningBot) -> None:
    async with bot.rt.db.session() as session:
        await make_member(session, telegram=False, phone=VILLAGER, role=Role.SECRETARIAT)
    await phone_last_heard(bot, timedelta(hours=3))
    await tick(bot)
    async with bot.rt.db.session() as session:
        alerts = (
            (
                await session.execute(
                    select(OutboxMessage).where(col(OutboxMessage.kind) == "gateway_alert")
                )
            )
            .scalars()
            .all()
        )
    assert alerts == []


async def test_gateway_command_shows_health_to_the_secretariat_only(bot: RunningBot) -> None:
    admin = await secretary(bot)
    await bot.gateway_sms(VILLAGER, "HELP")
    await sent_through_the_phone(bot, 1)
    await admin.send("/gateway")
    text = (await admin.reply()).text
    assert "SMS ტელეფონი" in text and "✓ მუშაობს" in text
    assert "ბოლო კავშირი" in text and "გაიგზავნა 1" in text
    villager = bot.tg.user(language_code="en")
    async with bot.rt.db.session() as session:
        await make_member(session, telegram=villager.id, language="en")
    await villager.send("/gateway")
    refusal = (await villager.reply()).text
    assert "SMS phone" not in refusal


async def test_gateway_check_reregisters_webhooks_and_is_audited(bot: RunningBot) -> None:
    admin = await secretary(bot)
    await bot.gw.receive_sms(VILLAGER, "HELP")  # webhooks work before the check
    for hook in bot.gw.webhooks:
        if hook.event == "sms:received":
            await _delete_webhook(bot, hook.id)
    await admin.send("/gateway check")
    checked, health = await admin.replies(2)
    assert "დაემატა 1" in checked.text and "უკვე იყო 4" in checked.text
    assert "SMS ტელეფონი" in health.text
    assert len(bot.gw.webhooks) == 5
    async with bot.rt.db.session() as session:
        audit = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "gateway.check")))
            .scalars()
            .all()
        )
    assert len(audit) == 1 and audit[0].details == {"webhooks": "ok"}


async def _delete_webhook(bot: RunningBot, hook_id: str) -> None:
    from android_sms_gateway import AsyncAPIClient

    async with AsyncAPIClient(bot.gw.username, bot.gw.password, base_url=bot.gw.base_url) as api:
        await api.delete_webhook(hook_id)


async def test_health_record_counts_the_queue_and_the_last_contact(bot: RunningBot) -> None:
    await bot.gateway_sms(VILLAGER, "HELP")
    await sent_through_the_phone(bot, 1)
    async with bot.rt.db.session() as session:
        health = await gateway_health(session=session)
    assert health.last_contact_kind == "sms:received" and not health.silent
    assert health.sent_24h == 1 and health.awaiting_report == 1 and health.queued == 0
    assert health.webhooks_registered_at is not None
    data = health.as_dict()
    assert data["failing"] is False and isinstance(data["last_contact_at"], str)
    async with bot.rt.db.session() as session:
        lines = await bot.rt.hooks["stats.section.gateway"](session, "en")
    assert lines[0] == "SMS phone (local SIM)" and "✓ Working" in lines


async def test_stats_carries_the_phones_health_after_the_members_numbers(bot: RunningBot) -> None:
    admin = await secretary(bot)
    await bot.gateway_sms(VILLAGER, "HELP")
    await sent_through_the_phone(bot, 1)
    await admin.send("/stats")
    text = (await admin.reply()).text
    members, _, phone = text.partition("SMS ტელეფონი")
    assert "მონაწილე" in members  # the members' numbers come first
    assert "✓ მუშაობს" in phone and "გაიგზავნა 1" in phone
