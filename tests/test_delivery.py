"""The delivery engine against the fake Telegram: pacing, priorities, retries, blocked users."""

from __future__ import annotations

import time

import pytest

from bot import delivery_outcomes
from models.outbox import OutStatus, Priority, enqueue
from tests.broadcast_helpers import (
    delivery_bot,
    member_for,
    outbox,
    queue_bulk,
    reload,
    wait_rows,
)


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery_outcomes, "BACKOFF_BASE", 0.02)


async def test_a_bulk_message_reaches_every_member_once_with_the_stop_line(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        users = [bot.tg.user(language_code="ka") for _ in range(6)]
        members = [await member_for(bot, u) for u in users]
        await queue_bulk(bot, members, "ხვალ 11:00-ზე საერთო კრებაა", broadcast_id=1)
        for user in users:
            message = await user.reply()
            assert message.text.startswith("ხვალ 11:00-ზე საერთო კრებაა")
            assert "შეტყობინებების შესაწყვეტად: /stop" in message.text
        rows = await wait_rows(bot, broadcast_id=1)
        assert {r.status for r in rows} == {OutStatus.DELIVERED}
        assert all(r.provider_message_id for r in rows)  # the Telegram message id, for edits
        assert set(bot.tg.send_count_by_chat().values()) == {1}


async def test_a_reply_never_waits_behind_a_running_broadcast(db_url: str) -> None:
    async with delivery_bot(db_url, telegram_rate_per_second=20) as bot:
        users = [bot.tg.user() for _ in range(120)]  # 6 s of broadcast at 20 msg/s
        members = [await member_for(bot, u) for u in users]
        asker = bot.tg.user(language_code="en")
        asker_member = await member_for(bot, asker, language="en")
        await queue_bulk(bot, members, "Grant call opens Monday", broadcast_id=7)
        await bot.tg.wait_until(lambda: sum(bot.tg.send_count_by_chat().values()) >= 10, timeout=15)
        # A villager writes while the broadcast runs: the handler's answer goes first…
        asked = time.monotonic()
        await asker.send("/help")
        assert "/help" in (await asker.reply(timeout=3)).text
        assert time.monotonic() - asked < 2.0  # not the 5 s the broadcast still needs
        # …and so does a reply queued in the outbox (e.g. an answer from the inbox).
        async with bot.rt.db.session() as session:
            await enqueue(
                session=session, channel="telegram", provider="telegram",
                address=str(asker.id), text="Answer from the secretariat",
                member_id=asker_member.id, priority=Priority.REPLY,
            )  # fmt: skip
        queued = time.monotonic()
        bot.rt.delivery.wake("telegram")
        assert (await asker.reply(timeout=3)).text == "Answer from the secretariat"
        assert time.monotonic() - queued < 2.0
        pending = [r for r in await outbox(bot, broadcast_id=7) if r.status != "delivered"]
        assert len(pending) > 40, "the broadcast was still running when both answers arrived"
        await wait_rows(bot, broadcast_id=7, timeout=30)
        assert bot.tg.too_many_requests == 0


async def test_broadcast_pacing_stays_under_the_flood_limit(db_url: str) -> None:
    async with delivery_bot(db_url, telegram_rate_per_second=36) as bot:
        bot.tg.set_rate_limit(per_second=40, per_chat_per_second=1)  # Telegram's, scaled
        users = [bot.tg.user() for _ in range(60)]
        members = [await member_for(bot, u) for u in users]
        started = time.monotonic()
        await queue_bulk(bot, members, "Training in Kabali on Friday", broadcast_id=3)
        await wait_rows(bot, broadcast_id=3, timeout=30)
        elapsed = time.monotonic() - started
        assert bot.tg.too_many_requests == 0
        assert elapsed >= 59 / 36 * 0.9  # paced, not a burst


async def test_a_paced_broadcast_keeps_its_rate_when_each_call_takes_a_while(
    db_url: str,
) -> None:
    """Telegram answers in about a tenth of a second from here: enough calls go at once."""
    async with delivery_bot(db_url, telegram_rate_per_second=30) as bot:
        users = [bot.tg.user() for _ in range(60)]
        members = [await member_for(bot, u) for u in users]
        bot.tg.delay_next("sendMessage", 0.12, times=60)
        started = time.monotonic()
        await queue_bulk(bot, members, "Assembly moved to Saturday", broadcast_id=5)
        await wait_rows(bot, broadcast_id=5, timeout=30)
        elapsed = time.monotonic() - started
        assert set(bot.tg.send_count_by_chat().values()) == {1}
    # 2 s at 30 msg/s; two calls at a time would need at least 60 / 2 × 0.12 = 3.6 s.
    assert elapsed < 3.2, elapsed


async def test_429_waits_retry_after_and_sends_the_same_row_once(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        user = bot.tg.user()
        member = await member_for(bot, user)
        bot.tg.fail_next("sendMessage", 429, retry_after=1)
        started = time.monotonic()
        await queue_bulk(bot, [member], "Assembly moved to 12:00", broadcast_id=4)
        await user.reply(timeout=5)
        assert time.monotonic() - started >= 0.9
        [row] = await wait_rows(bot, broadcast_id=4)
        assert row.status == OutStatus.DELIVERED
        assert bot.tg.send_count_by_chat()[user.id] == 1
        assert [c.error_code for c in bot.tg.calls("sendMessage", include_rejected=True)] == [
            429,
            None,
        ]


async def test_server_errors_are_retried_a_bounded_number_of_times(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        lucky, unlucky = bot.tg.user(), bot.tg.user()
        first = await member_for(bot, lucky, phone=False)
        second = await member_for(bot, unlucky, phone=False)
        bot.tg.fail_next("sendMessage", 502, chat_id=lucky.id, times=2)
        bot.tg.fail_next("sendMessage", 500, chat_id=unlucky.id, times=50)
        await queue_bulk(bot, [first, second], "Meeting notes are online", broadcast_id=5)
        rows = await wait_rows(bot, broadcast_id=5)
        by_member = {r.member_id: r for r in rows}
        assert by_member[first.id].status == OutStatus.DELIVERED
        assert by_member[first.id].attempts == 3
        failed = by_member[second.id]
        assert failed.status == OutStatus.FAILED
        assert failed.attempts == delivery_outcomes.MAX_ATTEMPTS
        assert failed.error_reason is not None and failed.error_reason.startswith("gave up after")


async def test_blocked_member_gets_the_sms_version_instead(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        user = bot.tg.user(language_code="ru")
        member = await member_for(bot, user, language="ru", phone="+995599300001")
        bot.tg.block(user.id)
        await queue_bulk(bot, [member], "Собрание в четверг", broadcast_id=6)
        [sms] = await bot.sms_replies("+995599300001", 1, timeout=15)
        assert sms.startswith("Собрание в четверг") and "STOP" in sms
        rows = await wait_rows(bot, broadcast_id=6)
        telegram = next(r for r in rows if r.channel == "telegram")
        assert (telegram.status, telegram.error_code) == (OutStatus.SKIPPED, "403")
        assert (await reload(bot, member)).telegram_unreachable_at is not None


async def test_urgent_message_to_a_blocked_member_does_not_send_a_second_sms(
    db_url: str,
) -> None:
    async with delivery_bot(db_url) as bot:
        user = bot.tg.user()
        member = await member_for(bot, user, phone="+995599300002")
        bot.tg.block(user.id)
        await queue_bulk(bot, [member], "ქარიშხლის გაფრთხილება", broadcast_id=8, urgent=True)
        rows = await wait_rows(bot, broadcast_id=8)
        assert sorted((r.channel, r.status) for r in rows) == [
            ("sms", OutStatus.SENT),
            ("telegram", OutStatus.SKIPPED),
        ]
        assert len(bot.tw.messages_to("+995599300002")) == 1


async def test_chat_not_found_fails_with_the_reason_and_falls_back_to_sms(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        member = await member_for(bot, telegram=777000111, phone="+995599300003")  # no such chat
        await queue_bulk(bot, [member], "Welcome to the LAG newsletter", broadcast_id=9)
        rows = await wait_rows(bot, broadcast_id=9, ready=lambda rs: len(rs) == 2 and all(
            r.status not in ("queued", "sending") for r in rs))  # fmt: skip
        telegram = next(r for r in rows if r.channel == "telegram")
        assert telegram.status == OutStatus.FAILED
        assert telegram.error_reason == "telegram 400: Chat not found"
        assert len(bot.tw.messages_to("+995599300003")) == 1


async def test_a_member_who_opted_out_after_publishing_is_skipped(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        stays, leaves = bot.tg.user(), bot.tg.user()
        first = await member_for(bot, stays)
        second = await member_for(bot, leaves)
        await bot.rt.delivery.stop()  # publish while the engine is not sending
        await queue_bulk(bot, [first, second], "Survey results", broadcast_id=10)
        async with bot.rt.db.session() as session:
            from models.members import Member

            gone = await session.get(Member, second.id)
            assert gone is not None
            gone.consent_announcements = False
            session.add(gone)
        await bot.rt.delivery.start()
        rows = await wait_rows(bot, broadcast_id=10)
        by_member = {r.member_id: r for r in rows}
        assert by_member[first.id].status == OutStatus.DELIVERED
        assert (by_member[second.id].status, by_member[second.id].error_code) == (
            OutStatus.SKIPPED,
            "opted_out",
        )
        assert leaves.id not in bot.tg.send_count_by_chat()
