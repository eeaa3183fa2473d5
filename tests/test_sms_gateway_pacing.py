"""The phone's limits: Android's SMS window, the broadcast preview's arithmetic, a phone that
goes away and comes back, and Android refusing a send over its limit."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from bot.outbound import Outgoing, queue_for_member
from bot.sms.gateway_gate import GatewayGate, expected_duration
from bot.sms.gateway_provider import GatewayProvider
from models.base import utcnow
from models.gateway import LIMIT_EXCEEDED, WAITING_FOR_PHONE, gateway_health
from models.members import Member
from models.outbox import OutboxMessage, OutStatus
from tests.conftest import make_settings
from tests.factories import make_member
from tests.harness import RunningBot, running_bot

VILLAGER = "+995599123456"


async def rows(bot: RunningBot) -> list[OutboxMessage]:
    async with bot.rt.db.session() as session:
        result = await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.provider == "gateway")
            .order_by(col(OutboxMessage.id))
        )
        return list(result.scalars())


async def announce(bot: RunningBot, phone: str, text: str = "Info session on Friday") -> None:
    async with bot.rt.db.session() as session:
        result = await session.execute(select(Member).where(Member.phone == phone))
        member = result.scalars().first() or await make_member(session, telegram=False, phone=phone)
        await queue_for_member(
            session=session,
            settings=bot.settings,
            member=member,
            message=Outgoing(text=text),
            kind="announcement",
            urgent=True,  # no quiet hours in tests
        )
    bot.rt.delivery.wake("sms")


async def eventually(check: object, within: float = 6.0) -> None:
    deadline = time.monotonic() + within
    while True:
        assert callable(check)
        if await check():
            return
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def test_preview_shows_the_real_duration_of_a_broadcast_via_the_phone(db_url: str) -> None:
    settings = make_settings(db_url, sms_rate_per_second=1.0)
    # Stock Android: 30 parts / 30 min, 5 kept for replies -> 25 per window.
    assert expected_duration(settings, "gateway", 100) == timedelta(minutes=90, seconds=25)
    assert expected_duration(settings, "gateway", 25) == timedelta(seconds=25)
    # Georgian text of 2 parts each: 12 per window.
    two_parts = expected_duration(settings, "gateway", 100, parts_per_message=2)
    assert two_parts == timedelta(hours=4, seconds=4)
    # Twilio is limited only by its steady rate; a phone with the limit raised, likewise.
    assert expected_duration(settings, "twilio", 100) == timedelta(seconds=100)
    raised = make_settings(db_url, sms_rate_per_second=1.0, gateway_rate_per_window=0)
    assert expected_duration(raised, "gateway", 100) == timedelta(seconds=100)
    assert expected_duration(settings, "gateway", 0) == timedelta(0)


async def test_a_broadcast_waits_for_androids_window_and_then_finishes(db_url: str) -> None:
    async with running_bot(
        db_url,
        gateway=True,
        sms_outbound_provider="gateway",
        gateway_rate_per_window=6,
        gateway_rate_window_seconds=1800,
    ) as bot:
        bot.gw.android_limit = (6, 1800)
        bot.gw.android_limit_action = "fail"
        phones = [f"+99559900{n:04d}" for n in range(7)]
        for phone in phones:
            await announce(bot, phone)
        await bot.tg.wait_until(lambda: len(bot.gw.messages) >= 5)
        await asyncio.sleep(0.3)
        assert len(bot.gw.messages) == 5  # 6 per window, 1 kept for replies
        async with bot.rt.db.session() as session:
            health = await gateway_health(session=session)
        assert health.queued == 2
        # Half an hour later (for the gate and for the phone), the rest goes out.
        gate = bot.rt.delivery.gates["gateway"]
        assert isinstance(gate, GatewayGate)
        later = time.time() + 1801
        gate.clock = lambda: datetime.fromtimestamp(later, UTC)
        bot.gw.clock = lambda: later
        await _make_due(bot)
        await bot.tg.wait_until(lambda: len(bot.gw.messages) == 7)
        assert {r.status for r in await rows(bot)} == {OutStatus.SENT}
        assert all(m.state != "Failed" for m in bot.gw.messages)


async def _make_due(bot: RunningBot) -> None:
    async with bot.rt.db.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.status) == OutStatus.QUEUED)
            .values(next_attempt_at=utcnow())
        )
    bot.rt.delivery.wake("sms")


async def test_android_refusing_over_its_limit_requeues_instead_of_failing(db_url: str) -> None:
    """GATEWAY_RATE_PER_WINDOW says 30 but nobody raised the phone's limit above 2."""
    async with running_bot(db_url, gateway=True, sms_outbound_provider="gateway") as bot:
        bot.gw.android_limit = (2, 1800)
        bot.gw.android_limit_action = "fail"
        for n in range(3):
            await announce(bot, f"+9955990000{n:02d}")

        async def refused_one_requeued() -> bool:
            return any(r.error_code == LIMIT_EXCEEDED for r in await rows(bot))

        await eventually(refused_one_requeued)
        refused = next(r for r in await rows(bot) if r.error_code == LIMIT_EXCEEDED)
        assert refused.status == OutStatus.QUEUED
        assert refused.next_attempt_at.timestamp() > time.time() + 1700
        async with bot.rt.db.session() as session:
            health = await gateway_health(session=session)
        assert health.failed_24h == 0
        assert health.last_error is not None and "GATEWAY_RATE_PER_WINDOW" in health.last_error


async def test_an_unreachable_phone_holds_sms_without_spending_attempts(db_url: str) -> None:
    async with running_bot(db_url, gateway=True, sms_outbound_provider="gateway") as bot:
        provider = bot.rt.sms_providers["gateway"]
        assert isinstance(provider, GatewayProvider)
        real_url = provider.base_url
        await provider.close()
        provider.base_url = "http://127.0.0.1:9/3rdparty/v1"  # nothing listens there
        await announce(bot, VILLAGER)

        async def held() -> bool:
            found = await rows(bot)
            return bool(found) and found[0].error_code == WAITING_FOR_PHONE

        await eventually(held)  # tried once, then held for the phone, not retried
        [row] = await rows(bot)
        assert row.attempts == 1 and provider.link.is_down(utcnow())
        # The phone is back: the monitor's probe finds it, and the SMS goes at once.
        await provider.close()
        provider.base_url = real_url
        await bot.rt.hooks["gateway.monitor"]()
        await bot.gateway_replies(VILLAGER, 1)
        [row] = await rows(bot)
        assert row.attempts == 2 and bot.gw.messages_to(VILLAGER)[0].text == row.text
